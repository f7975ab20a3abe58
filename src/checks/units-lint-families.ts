/**
 * `units` lint on AMD-Vi and Arm SMMUv3 hosts: the same ids as the VT-d unit lint (units.present,
 * units.interrupt-remapping, units.x2apic, units.caching-mode, units.consistency), each answered
 * from what that family publishes. Interrupt remapping and x2APIC come from the very functions
 * `check` uses, so the two commands state the same finding.
 */
import {hex} from '../decode/pci-address.js'
import type {HostModel} from '../model/host.js'
import {amdX2apic} from './amd-vi.js'
import {assessmentContext} from './context.js'
import {interruptRemappingState} from './interrupts.js'
import type {CheckResult} from './outcome.js'
import {PATHS, plural, WORDING} from './shared.js'
import {ev, verdict, type Verdict} from './types.js'

const AMD_SPEC = 'https://www.amd.com/content/dam/amd/en/documents/processor-tech-docs/specifications/48882_IOMMU.pdf'
const SMMU_SPEC = 'https://developer.arm.com/documentation/ihi0070/latest'

interface FamilyUnitLint {
  id: string
  title: string
  assess(model: HostModel): Verdict
}

/** Fields whose values must agree across AMD units (the kernel uses the common subset). */
const AMD_CONSISTENT: Array<[string, (efr: NonNullable<HostModel['amdUnits'][number]['efrDecoded']>) => unknown]> = [
  ['XT (x2APIC)', (e) => e.x2apic],
  ['GA', (e) => e.guestApic],
  ['GAM (vAPIC)', (e) => e.guestApicVapic],
  ['PPR', (e) => e.ppr],
  ['GT', (e) => e.guestTranslation],
  ['SNP', (e) => e.snp],
]

function presence(model: HostModel, family: string): Verdict {
  const units = model.host.units
  const groups = model.host.groups.length
  const evidence = [ev(units.length > 0 ? `units: ${units.map((u) => u.name).join(', ')}` : 'no /sys/class/iommu entries', PATHS.iommuClass), ev(plural(groups, 'IOMMU group'), PATHS.groups)]
  if (units.length > 0 && groups > 0) return verdict('pass', `${plural(units.length, `${family} unit`)}`, evidence)
  if (units.length > 0) return verdict('warn', 'remapping units exist but no IOMMU groups: translation is not in use for PCI devices', evidence)
  return verdict('fail', WORDING.noIommu, evidence)
}

const AMD_LINTS: readonly FamilyUnitLint[] = [
  {id: 'units.present', title: 'Remapping units are registered', assess: (model) => presence(model, 'AMD-Vi')},
  {
    id: 'units.interrupt-remapping',
    title: 'Interrupt remapping is on',
    assess(model) {
      const state = interruptRemappingState(assessmentContext(model))
      if (state.active === true) return verdict('pass', 'interrupt remapping is active', state.evidence)
      if (state.active === false) return verdict('fail', WORDING.irOff, state.evidence)
      return verdict('unknown', 'could not tell whether interrupt remapping is on', state.evidence)
    },
  },
  {id: 'units.x2apic', title: 'Units support x2APIC interrupt format (XT)', assess: (model) => amdX2apic(model, interruptRemappingState(assessmentContext(model)).active)},
  {
    id: 'units.caching-mode',
    title: 'Physical (not emulated) IOMMU',
    assess(model) {
      const withCap = model.amdUnits.filter((u) => u.capDecoded)
      if (withCap.length === 0) return verdict('unknown', 'no readable AMD-Vi capability header')
      const np = withCap.filter((u) => u.capDecoded?.npCache)
      if (np.length > 0)
        return verdict('warn', 'NpCache=1: this is an emulated AMD-Vi, so this host is a virtual machine; passthrough here is nested (vIOMMU) and the kernel uses strict invalidation', np.map((u) => ev(`${u.name} cap ${hex(u.cap ?? 0n)} (bit 26 set)`, `${u.source}/cap`)))
      return verdict('pass', 'NpCache is off on every unit (real hardware)')
    },
  },
  {
    id: 'units.consistency',
    title: 'Units report the same features',
    assess(model) {
      const units = model.amdUnits.flatMap((u) => (u.efrDecoded ? [{name: u.name, efr: u.efrDecoded}] : []))
      if (units.length < 2) return verdict('not-applicable', 'fewer than two units')
      const differing = AMD_CONSISTENT.filter(([, get]) => new Set(units.map((u) => String(get(u.efr)))).size > 1)
      if (differing.length > 0)
        return verdict('warn', `features differ across units: ${differing.map(([n]) => n).join(', ')} (the kernel uses what every unit has)`, differing.map(([n, get]) => ev(`${n}: ${units.map((u) => `${u.name}=${String(get(u.efr))}`).join(' ')}`)))
      return verdict('pass', `${units.length} units report the same features`)
    },
  },
]

const SMMU_LINTS: readonly FamilyUnitLint[] = [
  {id: 'units.present', title: 'Remapping units are registered', assess: (model) => presence(model, 'SMMUv3')},
  {
    id: 'units.registers',
    title: 'Unit registers (what the driver publishes)',
    assess(model) {
      const lines = model.logFacts.smmuV3
      if (lines.length > 0) return verdict('pass', 'arm-smmu-v3 publishes no register files in sysfs; its probe line gives the address sizes and feature word', lines.slice(0, 4).map((l) => ev(l, model.log.source)))
      return verdict('not-applicable', 'arm-smmu-v3 publishes no register files in sysfs, and the kernel log has no probe line')
    },
  },
]

/** The unit lint of a non-VT-d host, or undefined for VT-d (and no-IOMMU) hosts, which `lintUnits` answers. */
export function lintFamilyUnits(model: HostModel): CheckResult[] | undefined {
  const family = model.iommuFamily
  const lints = family === 'amd-vi' ? AMD_LINTS : family === 'arm-smmu-v3' ? SMMU_LINTS : undefined
  if (!lints) return undefined
  const docs = family === 'amd-vi' ? AMD_SPEC : SMMU_SPEC
  return lints.map((lint) => ({id: lint.id, title: lint.title, ...lint.assess(model), docs}))
}
