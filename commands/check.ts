import {Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag} from '../src/cli/base.js'
import {runCheck} from '../src/cli/check-run.js'
import type {CheckReport} from '../src/report/check.js'

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
    return runCheck(flags, this.driver())
  }
}
