import {Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag} from '../src/cli/base.js'
import {assessHost} from '../src/checks/assess.js'
import {normaliseBdf} from '../src/decode/pci-address.js'
import {hostFacts} from '../src/compare/facts.js'
import {snapshotName} from '../src/host/snapshot.js'
import {buildCheckReport, renderCheckReport, type CheckReport} from '../src/report/check.js'
import {renderNfd} from '../src/report/nfd.js'
import {renderPrometheus} from '../src/report/prometheus.js'

export default class Check extends BaseCommand {
  static override summary = 'Passthrough readiness: is the IOMMU really on, are interrupts remapped, what is isolated — with evidence and the fix'
  static override description = `Runs the check catalogue against this host (or a snapshot with --root) and prints a verdict, one row per check (pass / warn / fail / unknown / not-applicable) and what to do. Kernel parameters are read for their effect, not as strings. With --device, adds per-device checks (reset, driver, host-critical devices in the group, RMRR, VFIO nodes) and a passthrough plan with copy-pasteable commands; without it, devices already bound to vfio-pci are examined.

Exit codes: 0 every applicable check passes (warnings allowed) · 1 at least one fail · 2 usage error · 3 no fail but something could not be assessed (typically: not root).`

  static override examples = [
    '<%= config.bin %>',
    'sudo <%= config.bin %> check --device 0000:01:00.0',
    '<%= config.bin %> check --root ./snap-myhost --json',
    'sudo <%= config.bin %> check --format prometheus > /var/lib/prometheus/node-exporter/vtd-check.prom',
    'sudo <%= config.bin %> check --format nfd > /etc/kubernetes/node-feature-discovery/features.d/vtd-check',
  ]

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, host, verdict, results[], plans[], unreadable[]}'),
    device: Flags.string({char: 'd', description: 'also assess this device and print its passthrough plan (repeatable; 0000:01:00.0 or 01:00.0)', multiple: true}),
    verbose: Flags.boolean({char: 'v', description: 'show the evidence under each finding'}),
    all: Flags.boolean({description: 'also list checks that do not apply to this host'}),
    format: Flags.option({
      options: ['text', 'prometheus', 'nfd'] as const,
      default: 'text' as const,
      exclusive: ['json'],
      description: 'text (the report), prometheus (text exposition for node_exporter\'s textfile collector) or nfd (a Node Feature Discovery features.d file)',
    })(),
    'nfd-expiry': Flags.integer({
      min: 1,
      description: 'with --format nfd: NFD drops the labels this many seconds from now unless the file is rewritten (# +expiry-time)',
    }),
  }

  async run(): Promise<CheckReport | undefined> {
    const {flags} = await this.parse(Check)
    const devices: string[] = []
    for (const text of flags.device ?? []) {
      const bdf = normaliseBdf(text)
      if (!bdf) this.error(`"${text}" is not a PCI address`, {exit: 2, suggestions: ['use the form 0000:01:00.0 (domain:bus:device.function) or 01:00.0']})
      devices.push(bdf)
    }
    if (flags['nfd-expiry'] !== undefined && flags.format !== 'nfd') this.error('--nfd-expiry applies to --format nfd only', {exit: 2})
    const model = await this.loadModel({root: flags.root, needsHostFiles: true})
    if (flags.format !== 'text') {
      if (devices.length > 0) this.error(`--format ${flags.format} describes the whole host; --device adds a passthrough plan only to the text and JSON report`, {exit: 2})
      const facts = hostFacts(model, snapshotName(flags.root))
      const expiry = flags['nfd-expiry'] === undefined ? {} : {expiresAt: new Date(Date.now() + flags['nfd-expiry'] * 1000)}
      this.print(flags.format === 'prometheus' ? renderPrometheus(facts, this.config.version) : renderNfd(facts, this.config.version, expiry))
      process.exitCode = facts.verdict.exitCode
      return undefined
    }
    const missing = devices.filter((bdf) => !model.devices.has(bdf))
    if (missing.length > 0)
      this.error(`no PCI device ${missing.join(', ')} on ${flags.root === '/' ? 'this host' : flags.root}`, {exit: 2, suggestions: model.host.pci.slice(0, 8).map((d) => `vtd-check check --device ${d.bdf}`)})
    const report = buildCheckReport(assessHost(model, {devices}))
    if (!this.jsonEnabled()) this.printLine(renderCheckReport(report, {width: this.terminalWidth(), verbose: flags.verbose, hideNotApplicable: !flags.all}))
    process.exitCode = report.verdict.exitCode
    return report
  }
}
