import {Args} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag} from '../src/cli/base.js'
import {summariseFleet, type FleetSummary} from '../src/compare/fleet.js'
import {hostFacts} from '../src/compare/facts.js'
import {hostFilesMissing, notASnapshot, snapshotName, snapshotsIn} from '../src/host/snapshot.js'
import {renderFleet} from '../src/report/fleet.js'

export default class Fleet extends BaseCommand {
  static override summary = 'One table across many snapshots: verdict, failing checks, group layout, and drift between hosts of the same hardware'
  static override description = `Each argument is a snapshot (from \`vtd-check capture\`) or a directory of snapshots. Hosts with the same DMI model and the same PCI inventory are expected to group alike and reach the same verdict; when they do not, they are flagged as drift.

Exit codes: 0 every host ready and no drift · 1 a host fails or hardware drifts · 2 usage error · 3 a host could not be fully assessed.`

  static override strict = false

  static override examples = ['<%= config.bin %> fleet ./snapshots/', '<%= config.bin %> fleet host-a host-b host-c --json']

  static override args = {
    snapshots: Args.string({description: 'snapshot directories, or directories holding snapshots', required: true}),
  }

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, hosts[], drift[], exitCode}'),
  }

  async run(): Promise<FleetSummary> {
    const {argv, flags} = await this.parse(Fleet)
    if (flags.root !== '/') this.error('fleet takes its snapshots as arguments', {exit: 2, suggestions: ['vtd-check fleet DIR…']})
    const roots: string[] = []
    for (const arg of argv as string[]) {
      if (notASnapshot(arg) === undefined) roots.push(arg)
      else {
        const found = snapshotsIn(arg)
        if (found === undefined) this.error(`${arg} is not a directory`, {exit: 2})
        if (found.length === 0) this.error(`${arg} is neither a snapshot nor a directory of snapshots`, {exit: 2, suggestions: ['make snapshots with: sudo vtd-check capture --out DIR']})
        roots.push(...found)
      }
    }
    const facts = []
    // A snapshot with only its kernel log stays in the table as 'could not tell' (check refuses it, exit 3).
    for (const root of roots) facts.push(hostFacts(await this.loadModel({root}), snapshotName(root), hostFilesMissing(root)))
    const summary = summariseFleet(facts)
    if (!this.jsonEnabled()) this.print(renderFleet(summary, {width: this.terminalWidth()}))
    process.exitCode = summary.exitCode
    return summary
  }
}
