import {Args, Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag, lspciDumpFlag} from '../src/cli/base.js'
import {exitCodeFor} from '../src/checks/outcome.js'
import {LogParser} from '../src/decode/kernel-log/index.js'
import {hostUptime, streamKernelLog} from '../src/host/log-stream.js'
import {triageContextOf} from '../src/replay/fault-context.js'
import {FaultTriage, parseSince, type TriageContext} from '../src/replay/fault-triage.js'
import {faultOutcomes, faultsToJson, renderFaultsTable, renderLiveRecord, type FaultsJson} from '../src/report/faults.js'

export default class Faults extends BaseCommand {
  static override summary = 'Parse, group and explain IOMMU faults (Intel DMAR and interrupt remapping, AMD-Vi, Arm SMMU) from the kernel log'
  static override description = `Reads the live kernel log (dmesg, else journalctl -k), a --root snapshot's dmesg.txt, a FILE, or stdin ("-"), in every format the kernel has printed since 2.6 — two-line and single-line faults, PASID forms, scalable-mode reasons, interrupt-remapping faults, invalidation-queue errors, RMRR refusals — and AMD-Vi event-log lines (IO_PAGE_FAULT and the other events, single-line and the old split form, IVRS firmware bugs), Arm SMMUv3 events (raw dwords decoded, 6.15+ decoded lines) and arm-smmu v1/v2 context faults, with any timestamp style (dmesg, -T, -H, journal, syslog, serial). Each fault names its IOMMU family (intel-vtd, amd-vi, arm-smmu-v3, arm-smmu).

Faults are grouped by requester × reason × page, worst first, with counts, first/last time, storms and the kernel's suppressed counts. Each group is traced to real devices (PCIe-to-PCI bridge aliases, phantom functions, VFs, devices that no longer exist) and explained with its evidence and what to do.

Exit codes: 0 no faults · 1 faults, invalidation errors, RMRR refusals or AMD-Vi IOMMU errors found · 2 usage error · 3 the log could not be read, or only fault-like lines this tool could not read.`

  static override examples = [
    '<%= config.bin %> faults',
    '<%= config.bin %> faults /var/log/kern.log --since 2h',
    'journalctl -k -b -1 | <%= config.bin %> faults -',
    '<%= config.bin %> faults --root ./snapshot --json',
    '<%= config.bin %> faults --follow',
  ]

  static override args = {
    file: Args.string({description: 'a log file, a capture\'s dmesg.txt, or "-" for stdin (default: the live kernel log, or --root\'s dmesg.txt)', required: false}),
  }

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, source, summary, leading, faults[], events[], context, logContext, notes}'),
    since: Flags.string({description: 'only faults since: seconds since boot ("300"), a duration before now ("10m", "2h", "1d"), or an ISO date/time'}),
    follow: Flags.boolean({description: 'keep reading new kernel-log lines (dmesg --follow); print each fault as it arrives and the summary on Ctrl-C'}),
    trace: Flags.boolean({allowNo: true, description: 'trace requesters against this host\'s (or --root\'s) PCI topology; default: on for the live log and snapshots, off for a FILE unless --root or --lspci-dump is given'}),
    'lspci-dump': lspciDumpFlag,
    detail: Flags.integer({description: 'how many fault groups get an explanation block in the table output', default: 3, min: 0}),
  }

  async run(): Promise<FaultsJson> {
    const {args, flags} = await this.parse(Faults)
    const fs = this.hostFs(flags.root)
    let since: TriageContext['since']
    if (flags.since !== undefined) {
      since = parseSince(flags.since, Date.now(), flags.root === '/' && args.file === undefined ? hostUptime(fs) : undefined)
      if (since === undefined) this.error(`--since "${flags.since}" is not a time`, {exit: 2, suggestions: ['--since 300 (seconds since boot)', '--since 2h', '--since 2025-01-09T10:00']})
    }
    const trace = flags.trace ?? (args.file === undefined || flags.root !== '/' || flags['lspci-dump'] !== undefined)
    // The log itself is streamed below; the model supplies the host the faults are traced on.
    const {context, notes} = trace ? triageContextOf(await this.loadModel({root: flags.root, lspciDump: flags['lspci-dump'], log: false, debugfs: true})) : {context: {}, notes: []}
    const sourceLabel = args.file ?? (flags.root === '/' ? 'dmesg' : 'dmesg.txt')
    const triage = new FaultTriage({...context, ...(since ? {since} : {}), source: sourceLabel})
    const parser = new LogParser()

    const abort = new AbortController()
    // Ctrl-C ends --follow and prints the summary. Kept installed until the summary is out: a
    // second SIGINT (sudo relays the terminal's, a user presses twice) must not kill the process.
    const onInterrupt = () => abort.abort()
    if (flags.follow) process.on('SIGINT', onInterrupt)
    const live = flags.follow && !this.jsonEnabled()
    // A storm's repeated lines are counted without a record each; --follow prints every record.
    if (!live) parser.repeat = (template, line, time, stamp) => triage.repeat(template, line, time, stamp)
    const outcome = await streamKernelLog(fs, {...(args.file === undefined ? {} : {file: args.file}), follow: flags.follow, signal: abort.signal}, {
      block: (text, bytes) => parser.pushText(text, (record) => {
        triage.add(record)
        const line = live ? renderLiveRecord(record) : undefined
        if (line !== undefined) this.print(line + '\n')
      }, bytes),
    })
    for (const record of parser.end()) triage.add(record)
    if (!outcome.ok) {
      process.off('SIGINT', onInterrupt)
      const usage = outcome.reason === 'absent' && args.file !== undefined
      this.error(`cannot read the kernel log ${outcome.path}: ${outcome.message}`, {
        exit: usage ? 2 : 3,
        suggestions: usage
          ? ['give an existing file, or "-" to read stdin']
          : flags.root === '/' && args.file === undefined
            ? ['run as root (sudo vtd-check faults)', 'or: journalctl -k | vtd-check faults -']
            : outcome.refused !== undefined
              ? [`${flags.root}'s dmesg.txt was refused (${outcome.refused}): a damaged or tampered snapshot; capture the host again (sudo vtd-check capture --out DIR), or give the log as FILE`]
              : [`${flags.root} holds no readable dmesg.txt: capture again as root (sudo vtd-check capture --out DIR)`],
      })
    }
    const report = faultsToJson(triage.finish(parser.lines), {origin: outcome.origin, path: outcome.path, lines: parser.lines, bytes: outcome.bytes}, notes)
    if (!this.jsonEnabled()) this.print(renderFaultsTable(report, {width: this.terminalWidth() ?? 120, detail: flags.detail}))
    process.off('SIGINT', onInterrupt)
    process.exitCode = exitCodeFor(faultOutcomes(report))
    return report
  }
}
