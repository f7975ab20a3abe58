import path from 'node:path'
import {Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag} from '../src/cli/base.js'
import {exitCodeFor} from '../src/checks/outcome.js'
import {RootedHostFs} from '../src/host/fs.js'
import type {ReplayContext} from '../src/replay/translation/context.js'
import {walkInContext} from '../src/replay/translation/context.js'
import {buildFromDescription} from '../src/replay/translation/describe.js'
import {replayContextOf} from '../src/replay/translation/host-input.js'
import {parseRequester, type Access} from '../src/replay/translation/replay.js'
import {staleWindowTimeline} from '../src/replay/translation/cache.js'
import {renderReplayReport, replayOutcome, replayReport, staleWindowJson, type ReplayReport} from '../src/report/replay.js'

export default class Replay extends BaseCommand {
  static override summary = 'Replay one DMA translation through the VT-d tables and show which step refuses it'
  static override description = `Walks one DMA request (requester, IOVA, read/write, optional PASID) through root → context (legacy) or root → scalable context → PASID directory → PASID table, then the second- or first-stage page tables, printing every entry it reads and ending in the host physical address or the step that faults and the fault reason it produces.

Tables come from the kernel's debugfs dumps when they are readable (/sys/kernel/debug/iommu/intel, root), else they are built from the host model as a what-if (each group's default domain type and direct regions; live IOVA mappings are not visible in sysfs), or from a JSON description with --tables.

Exit codes: 0 the request translates · 1 it faults · 2 usage error · 3 could not tell.`

  static override examples = [
    '<%= config.bin %> replay --device 0000:00:03.0 --address 0x1000 --write',
    '<%= config.bin %> replay --device 00:02.0 --address 0x7c346000 --root ./snapshot',
    '<%= config.bin %> replay --device 0000:01:00.0 --address 0x10000 --tables teaching.json --json',
  ]

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, tables, notes, request, ok, outcome, steps, unit, fault, did, explanation}'),
    device: Flags.string({char: 'd', description: 'requester BDF, e.g. 0000:01:00.0 (or 01:00.0 for segment 0)', required: true}),
    address: Flags.string({char: 'a', description: 'IOVA to translate (hex with 0x, or decimal)', required: true}),
    write: Flags.boolean({char: 'w', description: 'replay a write (default: read)'}),
    exec: Flags.boolean({description: 'replay an execute request', exclusive: ['write']}),
    pasid: Flags.integer({description: 'request with this PASID (scalable mode)', min: 0, max: 0xfffff}),
    tables: Flags.string({description: 'JSON description of the tables to replay on (format: src/replay/translation/README.md)'}),
    'stale-window': Flags.boolean({description: 'also show how long an unmapped page stays reachable through cached translations, strict vs lazy invalidation'}),
  }

  async run(): Promise<ReplayReport> {
    const {flags} = await this.parse(Replay)
    if (parseRequester(flags.device) === undefined) {
      this.error(`--device "${flags.device}" is not a PCI address`, {exit: 2, suggestions: ['use the full form 0000:01:00.0, as lspci -D prints it']})
    }
    const address = /^(0x[0-9a-f]+|\d+)$/i.test(flags.address.trim()) ? BigInt(flags.address.trim()) : undefined
    if (address === undefined || address >= 1n << 64n) {
      this.error(`--address "${flags.address}" is not a 64-bit address`, {exit: 2, suggestions: ['--address 0x7c346000']})
    }
    const context = await this.context(flags.root, flags.tables)
    const access: Access = flags.write ? 'write' : flags.exec ? 'exec' : 'read'
    const result = walkInContext(context, {requester: flags.device, address, access, ...(flags.pasid !== undefined ? {pasid: flags.pasid} : {})})
    const report = replayReport(context, result)
    if (flags['stale-window']) {
      const bdf = parseRequester(flags.device)?.bdf ?? flags.device
      report.staleWindow = staleWindowJson(context.domainTypes?.get(bdf), [staleWindowTimeline('strict'), staleWindowTimeline('lazy')])
    }
    if (!this.jsonEnabled()) this.print(renderReplayReport(report, {width: this.terminalWidth()}))
    process.exitCode = exitCodeFor([replayOutcome(report)])
    return report
  }

  private async context(root: string, tables: string | undefined): Promise<ReplayContext> {
    if (tables === undefined) return replayContextOf(await this.loadModel({root, log: false, debugfs: true}))
    const file = path.resolve(tables)
    const text = new RootedHostFs('/').readText(file)
    if (!text.ok) this.error(`--tables ${tables}: ${text.message}`, {exit: 2})
    let json: unknown
    try {
      json = JSON.parse(text.value)
    } catch (error) {
      this.error(`--tables ${tables} is not JSON: ${error instanceof Error ? error.message : String(error)}`, {exit: 2})
    }
    const built = buildFromDescription(json)
    if (!built.ok) this.error(`--tables ${tables} does not describe tables:\n  ${built.errors.join('\n  ')}`, {exit: 2, suggestions: ['see src/replay/translation/README.md for the format']})
    return built.context
  }
}
