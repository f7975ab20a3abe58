/**
 * `check --format prometheus`: the Prometheus text exposition format (0.0.4), for node_exporter's
 * textfile collector. Every metric is `vtd_check_*`; labels come from fixed sets only (check ids
 * from the catalogue, outcomes, device classes, fault reason codes), so cardinality stays bounded
 * however many devices or faults a host has. Unknown facts are NaN, never a guessed 0 or 1.
 */
import type {Outcome} from '../checks/outcome.js'
import type {DeviceClassLabel, HostFacts, Known} from '../compare/facts.js'

const OUTCOMES: readonly Outcome[] = ['pass', 'warn', 'fail', 'unknown', 'not-applicable']
const CLASSES: readonly DeviceClassLabel[] = ['gpu', 'network', 'storage', 'usb', 'audio', 'accelerator', 'other']

/** Label values: backslash, double quote and newline escaped (exposition format). */
function labelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function labels(pairs: Record<string, string>): string {
  const entries = Object.entries(pairs)
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')}}`
}

const knownValue = (k: Known): string => (k === 'unknown' ? 'NaN' : k ? '1' : '0')

export function renderPrometheus(facts: HostFacts, toolVersion: string): string {
  const out: string[] = []
  const family = (name: string, help: string, samples: Array<[Record<string, string>, string | number]>) => {
    out.push(`# HELP vtd_check_${name} ${help}`, `# TYPE vtd_check_${name} gauge`)
    for (const [l, v] of samples) out.push(`vtd_check_${name}${labels(l)} ${v}`)
  }

  family('info', 'vtd-check and kernel versions, IOMMU vendor (always 1).', [
    [{version: toolVersion, kernel: facts.host.kernel ?? 'unknown', iommu: facts.iommu.vendor}, 1],
  ])
  family('ready', 'Passthrough readiness: 1 when no applicable check fails and all could be assessed (exit code 0).', [[{}, facts.verdict.exitCode === 0 ? 1 : 0]])
  family('verdict', 'Overall verdict: 1 for the current outcome, 0 for the others.', OUTCOMES.filter((o) => o !== 'not-applicable').map((o) => [{outcome: o}, facts.verdict.outcome === o ? 1 : 0]))

  // One state set per check id: how many results (1 for host checks, one per device for device checks) had each outcome.
  const perCheck = new Map<string, Map<Outcome, number>>()
  for (const c of facts.checks) {
    const counts = perCheck.get(c.id) ?? new Map<Outcome, number>()
    counts.set(c.outcome, (counts.get(c.outcome) ?? 0) + 1)
    perCheck.set(c.id, counts)
  }
  family(
    'check_outcome',
    'Results per check and outcome (host checks: 0 or 1; device checks: devices with that outcome).',
    [...perCheck.keys()].sort().flatMap((id) => OUTCOMES.map((o): [Record<string, string>, number] => [{check: id, outcome: o}, perCheck.get(id)?.get(o) ?? 0])),
  )

  family('iommu_active', 'DMA remapping is active (NaN: could not tell).', [[{}, knownValue(facts.iommu.active)]])
  family('interrupt_remapping_active', 'Interrupt remapping is active (NaN: could not tell).', [[{}, knownValue(facts.iommu.interruptRemapping)]])
  family('scalable_mode_active', 'Intel scalable-mode translation is in use (NaN: could not tell).', [[{}, knownValue(facts.iommu.scalableMode)]])
  family('iommu_groups', 'IOMMU groups the kernel created.', [[{}, facts.groups.length]])
  family('iommu_groups_shared', 'IOMMU groups holding endpoints of more than one slot (they can only be passed through together).', [[{}, facts.groups.filter((g) => g.shared).length]])

  const endpoints = facts.devices.filter((d) => d.role === 'endpoint')
  const byClass = (list: typeof endpoints) => CLASSES.map((c): [Record<string, string>, number] => [{class: c}, list.filter((d) => (d.classLabel === 'bridge' ? 'other' : d.classLabel) === c).length])
  family('pci_endpoints', 'PCI endpoints by device class.', byClass(endpoints))
  family('passthrough_ready_devices', 'Endpoints that can be passed through alone (remapping on, own group or only their slot, no RMRR), by class.', byClass(endpoints.filter((d) => d.passthroughReady)))
  family('rmrrs', 'RMRR (firmware identity-map) entries in the DMAR table.', [[{}, facts.rmrrs.length]])
  family(
    'faults_in_log',
    'DMA and interrupt-remapping faults in the current kernel log, by kind and fault reason code.',
    facts.faults.map((f): [Record<string, string>, number] => [{kind: f.kind, reason: f.reason}, f.count]),
  )
  family('kernel_log_readable', 'The kernel log could be read (faults are only counted when it could).', [[{}, facts.logReadable ? 1 : 0]])
  family('unreadable_paths', 'Host paths that exist but could not be read (run as root for the full picture).', [[{}, facts.unreadable.length]])
  return out.join('\n') + '\n'
}
