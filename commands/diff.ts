import {Args} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag} from '../src/cli/base.js'
import {diffHosts, type HostDiff} from '../src/compare/diff.js'
import {hostFacts} from '../src/compare/facts.js'
import {snapshotName} from '../src/host/snapshot.js'
import {renderDiff} from '../src/report/diff.js'

export default class Diff extends BaseCommand {
  static override summary = 'What changed for isolation between two snapshots (or a snapshot and this host) — the CI gate for kernel and BIOS upgrades'
  static override description = `Compares groups (split or merged, and why: which bridge lacks which ACS bit, which kernel grouping rule), devices, ACS capability and control, RMRRs, DMA and interrupt remapping, the default domain, kernel parameters and every check's verdict. NEW defaults to the live host.

Exit codes: 0 isolation did not regress · 1 it regressed · 2 usage error · 3 could not tell (facts readable on one side only, or unknown after the change).`

  static override examples = [
    '<%= config.bin %> diff ./before-upgrade ./after-upgrade',
    'sudo <%= config.bin %> diff ./before-upgrade',
    '<%= config.bin %> diff sysfs-fixtures/lab-iommu-on sysfs-fixtures/lab-iommu-off --json',
  ]

  static override args = {
    old: Args.directory({description: 'snapshot directory from before (from `vtd-check capture`)', required: true, exists: true}),
    new: Args.directory({description: 'snapshot directory from after; default: this host', exists: true}),
  }

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, old, new, result, exitCode, changes[]}'),
  }

  async run(): Promise<HostDiff> {
    const {args, flags} = await this.parse(Diff)
    if (flags.root !== '/') this.error('diff takes its two hosts as arguments: OLD and NEW (NEW defaults to this host)', {exit: 2, suggestions: ['vtd-check diff OLD NEW']})
    const facts = async (root: string) => hostFacts(await this.loadModel({root, needsHostFiles: true}), snapshotName(root))
    const diff = diffHosts(await facts(args.old), await facts(args.new ?? '/'))
    if (!this.jsonEnabled()) this.print(renderDiff(diff))
    process.exitCode = diff.exitCode
    return diff
  }
}
