import {Args, Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag, lspciDumpFlag} from '../src/cli/base.js'
import {runFaults} from '../src/cli/faults-run.js'
import {triageContextOf} from '../src/replay/fault-context.js'
import type {FaultsJson} from '../src/report/faults.js'

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
    const root = flags.root
    const lspciDump = flags['lspci-dump']
    return runFaults({
      file: args.file, root, since: flags.since, follow: flags.follow, detail: flags.detail, json: this.jsonEnabled(),
      trace: flags.trace ?? (args.file === undefined || root !== '/' || lspciDump !== undefined),
    }, {
      hostFs: (r) => this.hostFs(r),
      traceContext: async () => triageContextOf(await this.loadModel({root, lspciDump, log: false, debugfs: true})),
      error: (message, options) => this.error(message, options),
      print: (text) => this.print(text),
      terminalWidth: () => this.terminalWidth(),
    })
  }
}
