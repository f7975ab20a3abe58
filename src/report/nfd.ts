/**
 * `check --format nfd`: a Node Feature Discovery local feature file (`features.d/`, one
 * `name=value` per line). NFD prefixes names without a namespace with
 * `feature.node.kubernetes.io/`, so `vtd-check.ready=true` becomes the node label
 * `feature.node.kubernetes.io/vtd-check.ready=true`. Facts that could not be determined are left
 * out (no label) rather than guessed. Names and values stay within Kubernetes label syntax.
 */
import type {DeviceClassLabel, HostFacts, Known} from '../compare/facts.js'

const PREFIX = 'vtd-check.'
/** Count labels for these classes (plural, as the label reads: vtd-check.isolated-gpus=2). */
const ISOLATED: ReadonlyArray<[DeviceClassLabel, string]> = [
  ['gpu', 'isolated-gpus'],
  ['network', 'isolated-nics'],
  ['storage', 'isolated-storage'],
  ['accelerator', 'isolated-accelerators'],
]

export function nfdLabels(facts: HostFacts): Array<[string, string]> {
  const labels: Array<[string, string]> = []
  const flag = (name: string, value: Known) => {
    if (value !== 'unknown') labels.push([PREFIX + name, String(value)])
  }
  flag('iommu', facts.iommu.active)
  if (facts.verdict.outcome !== 'unknown') labels.push([`${PREFIX}ready`, String(facts.verdict.exitCode === 0)])
  labels.push([`${PREFIX}verdict`, facts.verdict.outcome])
  if (facts.iommu.vendor !== 'unknown') labels.push([`${PREFIX}iommu-vendor`, facts.iommu.vendor])
  flag('interrupt-remapping', facts.iommu.interruptRemapping)
  flag('scalable-mode', facts.iommu.scalableMode)
  if (facts.iommu.active === true) {
    labels.push([`${PREFIX}shared-groups`, String(facts.groups.filter((g) => g.shared).length)])
    for (const [cls, name] of ISOLATED) labels.push([PREFIX + name, String(facts.devices.filter((d) => d.classLabel === cls && d.passthroughReady).length)])
  }
  return labels
}

export function renderNfd(facts: HostFacts, toolVersion: string): string {
  const header = `# vtd-check ${toolVersion}: VT-d / IOMMU passthrough readiness for Node Feature Discovery (features.d)\n`
  return header + nfdLabels(facts).map(([k, v]) => `${k}=${v}`).join('\n') + '\n'
}
