/**
 * `check --format nfd`: a Node Feature Discovery local feature file (`features.d/`, one
 * `namespace/name=value` per line). Names carry NFD's own namespace, `feature.node.kubernetes.io/`:
 * NFD still adds it to bare names but says not to rely on that (its DisableAutoPrefix feature
 * gate). An optional `# +expiry-time=` directive makes NFD drop the labels when the file is not
 * rewritten in time. Facts that could not be determined are left out (no label), not guessed.
 */
import type {DeviceClassLabel, HostFacts, Known} from '../compare/facts.js'

const PREFIX = 'feature.node.kubernetes.io/vtd-check.'
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

export interface NfdOptions {
  /** NFD ignores the labels after this time (RFC 3339, whole seconds, UTC). */
  expiresAt?: Date
}

export function renderNfd(facts: HostFacts, toolVersion: string, options: NfdOptions = {}): string {
  const lines = [`# vtd-check ${toolVersion}: VT-d / IOMMU passthrough readiness for Node Feature Discovery (features.d)`]
  if (options.expiresAt) lines.push(`# +expiry-time=${options.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}`)
  return [...lines, ...nfdLabels(facts).map(([k, v]) => `${k}=${v}`)].join('\n') + '\n'
}
