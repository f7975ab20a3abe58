/** Isolation checks: the ACS override, groups shared by endpoints, RMRR-encumbered devices. */
import {rootAdvice} from './remediation.js'
import {kernelAtLeast, type AssessmentContext} from './context.js'
import {endpointSlots} from '../model/topology.js'
import type {Evidence} from './outcome.js'
import {DOCS, PATHS, classBase, describeDevice, isBridge, needsActiveIommu, plural, reservedRegions} from './shared.js'
import {ev, verdict, type HostCheck} from './types.js'

/** pcie_acs_override in effect: on the command line (needs the out-of-tree patch) and/or its boot warning. */
export function acsOverrideState(ctx: AssessmentContext): {active: boolean; evidence: Evidence[]} {
  const evidence: Evidence[] = []
  if (ctx.cmdline?.acsOverride) evidence.push(ev(`pcie_acs_override=${ctx.cmdline.acsOverride.join(',')}`, PATHS.cmdline))
  if (ctx.logFacts.acsOverrideWarning) evidence.push(ev('"PCIe ACS overrides enabled; This may allow non-IOMMU protected peer-to-peer DMA"', ctx.log.source))
  else if (ctx.cmdline?.acsOverride && ctx.log.readable) evidence.push(ev('no "PCIe ACS overrides enabled" warning: this kernel may lack the patch (then the parameter does nothing)', ctx.log.source))
  return {active: ctx.logFacts.acsOverrideWarning || ctx.cmdline?.acsOverride !== undefined, evidence}
}

const acsOverride: HostCheck = {
  id: 'isolation.acs-override',
  title: 'ACS override not in use',
  category: 'isolation',
  scope: 'host',
  reads: [PATHS.cmdline, 'dmesg'],
  docs: DOCS.archPassthrough,
  assess(ctx) {
    const state = acsOverrideState(ctx)
    if (state.active)
      return verdict(
        'warn',
        'pcie_acs_override is in effect: groups it splits are NOT really isolated (peer-to-peer DMA between them bypasses the IOMMU)',
        state.evidence,
        ['remove `pcie_acs_override=` and pass whole groups, or move the card to a slot whose root port has ACS (`vtd-check groups` shows which)'],
      )
    if (!ctx.cmdline && !ctx.log.readable) return verdict('unknown', 'neither /proc/cmdline nor the kernel log could be read')
    return verdict('pass', 'no ACS override: IOMMU groups reflect real hardware isolation', [ev('no pcie_acs_override on the command line', PATHS.cmdline)])
  },
}

/**
 * The IOMMU translates but the kernel never enabled ACS (model.acsNotRequested: a device-tree boot),
 * so ports that HAVE ACS merge their groups: another slot would not help, the boot would.
 */
export function acsNotEnabledByKernel(ctx: AssessmentContext): {evidence: Evidence; fix: string} | undefined {
  const notRequested = ctx.acsNotRequested
  if (!notRequested?.iommuOn) return undefined
  return {
    evidence: ev(`the kernel did not enable ACS on any port: ${notRequested.because}`, 'dmesg'),
    fix: 'boot with ACPI (an IORT table) instead of the device tree, so the SMMU requests ACS before PCI enumeration; or pass the whole group',
  }
}

/** Endpoints of a group, by slot: functions of one slot (GPU + its audio) count as one device. */
const sharedGroups: HostCheck = {
  id: 'isolation.shared-groups',
  title: 'Endpoints sharing an IOMMU group',
  category: 'isolation',
  scope: 'host',
  reads: [`${PATHS.groups}/*/devices`, `${PATHS.pci}/*/class`],
  docs: DOCS.vfio,
  assess(ctx) {
    const skip = needsActiveIommu(ctx)
    if (skip) return skip
    const shared = ctx.sharedGroups
    const evidence = shared.slice(0, 12).map((g) => ev(`group ${g.id}: ${[...endpointSlots(ctx.topology, g.devices).values()].flat().map((b) => describeDevice(ctx, b)).join('; ')}`, `${PATHS.groups}/${g.id}/devices`))
    if (shared.length > shared.slice(0, 12).length) evidence.push(ev(`… and ${shared.length - 12} more groups`))
    const override = acsOverrideState(ctx)
    if (override.active) evidence.push(...override.evidence)
    if (shared.length === 0)
      return verdict(
        override.active ? 'warn' : 'pass',
        override.active ? 'every endpoint has its own group — but only because of the ACS override' : `every endpoint (slot) has its own group (${plural(ctx.host.groups.length, 'group')})`,
        evidence,
      )
    const notEnabled = acsNotEnabledByKernel(ctx)
    return verdict(
      'warn',
      `${plural(shared.length, 'group')} ${shared.length === 1 ? 'holds' : 'hold'} endpoints of more than one slot: they can only be passed through together`,
      notEnabled ? [...evidence, notEnabled.evidence] : evidence,
      notEnabled ? [notEnabled.fix] : ['use `vtd-check groups` to see which bridge lacks ACS; move the card to a CPU-attached slot, or pass the whole group'],
    )
  },
}

/** Devices whose group has a non-relaxable `direct` reserved region (an RMRR the kernel will honour). */
export function rmrrDirectDevices(ctx: AssessmentContext): Array<{bdf: string; group: number; region: string}> {
  const out: Array<{bdf: string; group: number; region: string}> = []
  for (const group of ctx.host.groups) {
    const direct = reservedRegions(group.reservedRegions).filter((r) => r.type === 'direct')
    if (direct.length === 0) continue
    for (const bdf of group.devices) {
      const base = classBase(ctx.devices.get(bdf))
      // USB (0x0c03) and display (0x03) RMRRs are relaxable; a `direct` line belongs to someone else in the group.
      const relaxable = base === 0x03 || ctx.devices.get(bdf)?.classCode?.toString(16).padStart(6, '0').startsWith('0c03')
      if (!relaxable && !isBridge(ctx.devices.get(bdf))) out.push({bdf, group: group.id, region: direct.map((r) => `${r.start}-${r.end}`).join(', ')})
    }
  }
  return out
}

/** With the table (root): the RMRR scopes resolved to devices, each with whether the kernel relaxes it. */
export function rmrrTableDevices(ctx: AssessmentContext): Array<{bdf: string; relaxable: boolean}> {
  if (!ctx.dmar.table) return []
  const scopes = ctx.dmar.scopes?.scopes ?? []
  const out = new Map<string, boolean>()
  for (const scope of scopes) {
    if (scope.structureType !== 'RMRR' || scope.status !== 'resolved' || !scope.bdf) continue
    const code = ctx.devices.get(scope.bdf)?.classCode
    out.set(scope.bdf, code !== undefined && (code >> 16 === 0x03 || code >> 8 === 0x0c03))
  }
  return [...out].map(([bdf, relaxable]) => ({bdf, relaxable}))
}

export function rmrrRefusalText(ctx: AssessmentContext): string {
  const modern = kernelAtLeast(ctx.kernel, 6, 6)
  if (modern === true) return 'kernel ≥ 6.6 refuses VFIO ownership ("Firmware has requested this device have a 1:1 IOMMU mapping", EINVAL)'
  if (modern === false) return 'kernel < 6.6 refuses VFIO attach ("Device is ineligible for IOMMU domain attach due to platform RMRR requirement", EPERM)'
  return 'the kernel refuses VFIO assignment (≥ 6.6: "1:1 IOMMU mapping" / older: "ineligible for IOMMU domain attach")'
}

export const RMRR_FIX = [
  'HPE ProLiant: disable "HP Shared Memory features" for the slot (RBSU / `conrep`), see HPE advisory on RMRR',
  'other vendors: look for a BMC/ME "shared NIC" or "legacy USB" setting that drops the RMRR, or choose a device without one',
]

const rmrr: HostCheck = {
  id: 'isolation.rmrr',
  title: 'RMRR-encumbered devices',
  category: 'isolation',
  scope: 'host',
  reads: [`${PATHS.groups}/*/reserved_regions`, PATHS.dmar, 'dmesg'],
  docs: DOCS.kernelIommu,
  assess(ctx) {
    const skip = needsActiveIommu(ctx)
    if (skip) return skip
    const direct = rmrrDirectDevices(ctx)
    const fromTable = rmrrTableDevices(ctx)
    const tableLocked = fromTable.filter((d) => !d.relaxable).map((d) => d.bdf)
    const refusals = [...ctx.logFacts.rmrrIneligible, ...ctx.logFacts.rmrrRequire1to1]
    const evidence: Evidence[] = direct.map((d) => ev(`${describeDevice(ctx, d.bdf)}: direct region ${d.region} in group ${d.group}`, `${PATHS.groups}/${d.group}/reserved_regions`))
    for (const bdf of tableLocked) evidence.push(ev(`${describeDevice(ctx, bdf)} is named by an RMRR (not USB, not display: not relaxable)`, PATHS.dmar))
    for (const d of fromTable.filter((x) => x.relaxable)) evidence.push(ev(`${describeDevice(ctx, d.bdf)} has a relaxable RMRR (USB/display)`, PATHS.dmar))
    for (const bdf of refusals) evidence.push(ev(`the kernel refused assignment of ${bdf} (RMRR)`, ctx.log.source))
    const locked = new Set([...direct.map((d) => d.bdf), ...tableLocked, ...refusals])
    if (locked.size > 0) return verdict('warn', `${plural(locked.size, 'device')} cannot be assigned because firmware reserves memory for them (RMRR): ${rmrrRefusalText(ctx)}`, evidence, RMRR_FIX)
    const regionsKnown = ctx.host.groups.some((g) => g.reservedRegions !== undefined)
    if (!regionsKnown && !ctx.dmar.table) return verdict('unknown', 'no group reserved_regions file (kernel older than 4.11?) and the DMAR table is not readable', [], [rootAdvice(ctx.host)])
    return verdict('pass', 'no device is pinned by a non-relaxable RMRR (`direct` reserved region)', [ev('no "direct" lines in any reserved_regions', `${PATHS.groups}/*/reserved_regions`)])
  },
}

export const ISOLATION_CHECKS: HostCheck[] = [acsOverride, sharedGroups, rmrr]
