/** Advanced checks: ATS/PRI/PASID vs the platform, SR-IOV VF groups, external DMA, recent faults. */
import {readAdvice, rootAdvice} from './remediation.js'
import {lookupFaultReason} from '../decode/fault-reasons.js'
import type {Atsr, Satc} from '../decode/dmar.js'
import type {AssessmentContext, DeviceCaps} from './context.js'
import type {Evidence} from './outcome.js'
import {PCIE_TYPE} from '../model/pci.js'
import {DOCS, PATHS, describeDevice, intelOnly, needsActiveIommu, plural} from './shared.js'
import {ev, verdict, type HostCheck} from './types.js'

function devicesWith(ctx: AssessmentContext, pick: (caps: DeviceCaps) => unknown): string[] {
  return [...ctx.caps.entries()].filter(([, caps]) => {
    const value = pick(caps)
    return value !== undefined && value !== 'unknown'
  }).map(([bdf]) => bdf)
}

/** Config space we could not read past 64 bytes (non-root): extended capabilities unknown. */
function unreadableConfig(ctx: AssessmentContext): number {
  return [...ctx.caps.values()].filter((c) => c.ats === 'unknown').length
}

/** Why extended config space is unknown: config files this snapshot's reader refused, else root. */
function configUnknown(ctx: AssessmentContext, unknown: number): {summary: string; advice: string} {
  const refused = ctx.host.misses.filter((m) => m.refused !== undefined && m.path.endsWith('/config'))
  const first = refused[0]
  if (first !== undefined && refused.length >= unknown) return {summary: `config space of ${plural(unknown, 'device')} was refused (${first.refused})`, advice: readAdvice(ctx.host, first)}
  return {summary: `extended config space of ${plural(unknown, 'device')} needs root to read`, advice: rootAdvice(ctx.host)}
}

/** The root port above a device: the topmost bridge on its sysfs parent chain. */
function rootPortOf(ctx: AssessmentContext, bdf: string): string | undefined {
  let current = ctx.devices.get(bdf)?.parentBdf
  let root: string | undefined
  for (let hops = 0; current && hops < 16; hops++) {
    root = current
    current = ctx.devices.get(current)?.parentBdf
  }
  return root
}

const ats: HostCheck = {
  id: 'advanced.ats',
  title: 'ATS consistency (device ATS vs ECAP.DT and DMAR ATSR/SATC)',
  category: 'advanced',
  scope: 'host',
  reads: [`${PATHS.pci}/*/config`, `${PATHS.iommuClass}/*/intel-iommu/ecap`, PATHS.dmar],
  docs: DOCS.vtdSpec,
  assess(ctx) {
    const skip = intelOnly(ctx) ?? needsActiveIommu(ctx)
    if (skip) return skip
    const enabled = devicesWith(ctx, (c) => (typeof c.ats === 'object' && c.ats.enabled ? c.ats : undefined))
    const capable = devicesWith(ctx, (c) => c.ats)
    const unknown = unreadableConfig(ctx)
    const evidence: Evidence[] = [ev(`${plural(capable.length, 'device')} with an ATS capability, ${enabled.length} with ATS enabled`, `${PATHS.pci}/*/config`)]
    if (ctx.cmdline?.pciNoats) evidence.push(ev('pci=noats: ATS disabled by the kernel', PATHS.cmdline))
    const table = ctx.dmar.table
    const atsr = table?.structures.filter((s): s is Atsr => s.type === 'ATSR') ?? []
    const satc = table?.structures.filter((s): s is Satc => s.type === 'SATC') ?? []
    if (table) evidence.push(ev(`DMAR: ${plural(atsr.length, 'ATSR')}, ${plural(satc.length, 'SATC')}`, PATHS.dmar))
    const noDt = ctx.units.filter((u) => u.deviceTlb === false)
    const problems: string[] = []
    const resolution = ctx.dmar.scopes
    const atsrPorts = new Set((resolution?.scopes ?? []).filter((sc) => sc.structureType === 'ATSR' && sc.bdf).map((sc) => sc.bdf as string))
    const satcDevices = new Set((resolution?.scopes ?? []).filter((sc) => sc.structureType === 'SATC' && sc.bdf).map((sc) => sc.bdf as string))
    for (const bdf of enabled) {
      const unit = ctx.units.find((u) => u.unit.name === ctx.devices.get(bdf)?.iommuUnit)
      if (unit?.deviceTlb === false) problems.push(`${describeDevice(ctx, bdf)} has ATS enabled but ${unit.unit.name} lacks ECAP.DT (no device-TLB invalidation)`)
      if (!table) continue
      const caps = ctx.caps.get(bdf)
      if (caps?.pcieType === PCIE_TYPE.rcEndpoint) {
        // SoC-integrated endpoints are declared in SATC (parsed since 5.12), not ATSR.
        if (!satcDevices.has(bdf)) problems.push(`${describeDevice(ctx, bdf)} is an integrated endpoint using ATS but no SATC structure lists it`)
        continue
      }
      const root = rootPortOf(ctx, bdf)
      const segment = Number.parseInt(bdf.slice(0, 4), 16)
      const allPorts = atsr.some((a) => a.segment === segment && a.flags.allPorts)
      if (root && !allPorts && !atsrPorts.has(root)) problems.push(`${describeDevice(ctx, bdf)} uses ATS below root port ${root}, which no ATSR lists`)
    }
    if (noDt.length > 0 && capable.length > 0) evidence.push(ev(`no Device-TLB support (ECAP.DT=0) on ${noDt.map((u) => u.unit.name).join(', ')}`, `${PATHS.iommuClass}/*/intel-iommu/ecap`))
    for (const p of problems) evidence.push(ev(p))
    if (problems.length > 0) return verdict('warn', 'ATS state disagrees with the platform tables', evidence, ['update the firmware; as a workaround boot with `pci=noats`'])
    if (unknown > 0 && capable.length === 0) {
      const why = configUnknown(ctx, unknown)
      return verdict('unknown', why.summary, evidence, [why.advice])
    }
    return verdict('pass', enabled.length > 0 ? `ATS on ${plural(enabled.length, 'device')}, consistent with the IOMMU and DMAR` : 'no device uses ATS', evidence)
  },
}

const sva: HostCheck = {
  id: 'advanced.sva',
  title: 'SVA readiness (PASID + PRI + scalable mode)',
  category: 'advanced',
  scope: 'host',
  reads: [`${PATHS.pci}/*/config`, `${PATHS.iommuClass}/*/intel-iommu/ecap`],
  docs: DOCS.iommufd,
  assess(ctx) {
    const skip = intelOnly(ctx) ?? needsActiveIommu(ctx)
    if (skip) return skip
    const pasidDevices = devicesWith(ctx, (c) => c.pasid)
    if (pasidDevices.length === 0) {
      const unknown = unreadableConfig(ctx)
      if (unknown > 0) {
        const why = configUnknown(ctx, unknown)
        return verdict('unknown', why.summary, [], [why.advice])
      }
      return verdict('not-applicable', 'no device has a PASID capability', [ev('no PASID extended capability', `${PATHS.pci}/*/config`)])
    }
    const intel = ctx.units.filter((u) => u.smts !== undefined)
    const ready = intel.filter((u) => u.smts && u.pasid && u.prs)
    const evidence = [
      ev(`PASID-capable: ${pasidDevices.map((b) => describeDevice(ctx, b)).join('; ')}`, `${PATHS.pci}/*/config`),
      ev(`units with SMTS+PASID+PRS: ${ready.length} of ${intel.length}`, `${PATHS.iommuClass}/*/intel-iommu/ecap`),
    ]
    if (ready.length === 0 || ready.length < intel.length)
      return verdict('warn', 'devices have PASID but the IOMMU cannot do SVA (needs scalable mode with PASID and page requests)', evidence)
    if (ctx.cmdline?.intelIommu.scalableMode === false) return verdict('warn', 'SVA-capable hardware, but intel_iommu=sm_off disables scalable mode', evidence, ['drop `intel_iommu=sm_off`'])
    return verdict('pass', 'hardware ready for SVA/PASID (scalable mode, PASID, PRS)', evidence)
  },
}

const sriov: HostCheck = {
  id: 'advanced.sriov',
  title: 'SR-IOV VF isolation',
  category: 'advanced',
  scope: 'host',
  reads: [`${PATHS.pci}/*/virtfn*`, `${PATHS.pci}/*/iommu_group`],
  docs: DOCS.sriov,
  assess(ctx) {
    const pfs = ctx.host.pci.filter((d) => d.virtfns.length > 0)
    if (pfs.length === 0) {
      const capable = ctx.host.pci.filter((d) => (d.sriov?.totalVfs ?? 0) > 0)
      return verdict('not-applicable', capable.length > 0 ? `${plural(capable.length, 'SR-IOV device')}, no VFs enabled` : 'no SR-IOV virtual functions enabled', capable.map((d) => ev(`${d.bdf}: sriov_totalvfs ${d.sriov?.totalVfs}`, `${PATHS.pci}/${d.bdf}/sriov_totalvfs`)))
    }
    const skip = needsActiveIommu(ctx)
    if (skip) return skip
    const shared: string[] = []
    const evidence: Evidence[] = []
    for (const pf of pfs) {
      const groups = pf.virtfns.map((vf) => ctx.groupOf.get(vf)?.id)
      const distinct = new Set(groups.filter((g) => g !== undefined))
      evidence.push(ev(`${pf.bdf}: ${plural(pf.virtfns.length, 'VF')} in ${plural(distinct.size, 'group')}`, `${PATHS.pci}/${pf.bdf}`))
      for (const vf of pf.virtfns) {
        const members = ctx.groupOf.get(vf)?.devices ?? []
        if (members.length > 1) shared.push(`${vf} shares group ${ctx.groupOf.get(vf)?.id} with ${members.filter((m) => m !== vf).join(', ')}`)
      }
    }
    for (const s of shared.slice(0, 10)) evidence.push(ev(s))
    if (shared.length > 0) return verdict('warn', `${plural(shared.length, 'VF')} share a group: the PF's upstream path lacks ACS`, evidence, ['move the PF to a slot with ACS on its root port (`vtd-check groups`)'])
    return verdict('pass', 'every VF has its own IOMMU group', evidence)
  },
}

const externalDma: HostCheck = {
  id: 'advanced.external-dma',
  title: 'Thunderbolt / external-port DMA protection',
  category: 'advanced',
  scope: 'host',
  reads: ['/sys/bus/thunderbolt/devices/domain*/iommu_dma_protection', `${PATHS.pci}/*/removable`, PATHS.dmar, 'dmesg'],
  docs: DOCS.thunderbolt,
  assess(ctx) {
    const optIn = ctx.dmar.table?.flags?.dmaCtrlPlatformOptIn === true || ctx.logFacts.platformOptIn
    const tb = ctx.thunderbolt
    if (tb.length === 0 && ctx.removable.length === 0 && !optIn)
      return verdict('not-applicable', 'no Thunderbolt domain or external-facing PCIe port', [ev('no /sys/bus/thunderbolt domains; no removable PCI devices')])
    const evidence: Evidence[] = []
    if (optIn) evidence.push(ev('DMA_CTRL_PLATFORM_OPT_IN: firmware used the IOMMU for pre-boot DMA protection', ctx.dmar.table ? PATHS.dmar : ctx.log.source))
    for (const d of tb) evidence.push(ev(`${d.domain}: iommu_dma_protection=${d.iommuDmaProtection === undefined ? 'unreadable' : d.iommuDmaProtection ? '1' : '0'}`, `/sys/bus/thunderbolt/devices/${d.domain}/iommu_dma_protection`))
    if (ctx.removable.length > 0) evidence.push(ev(`untrusted (removable) devices: ${ctx.removable.join(', ')} — always translated, strict invalidation`, `${PATHS.pci}/*/removable`))
    const unprotected = tb.filter((d) => d.iommuDmaProtection === false)
    if (unprotected.length > 0 || (tb.length > 0 && ctx.host.groups.length === 0))
      return verdict('warn', 'Thunderbolt ports without IOMMU DMA protection: a plugged-in device can DMA into host memory', evidence, [
        `enable "Kernel DMA Protection" / the IOMMU in the firmware, keep it on, and do not set ${ctx.passthroughParameter} for untrusted devices`,
      ])
    if (tb.some((d) => d.iommuDmaProtection === undefined) && unprotected.length === 0 && !tb.some((d) => d.iommuDmaProtection))
      return verdict('unknown', 'could not read iommu_dma_protection', evidence)
    return verdict('pass', 'external ports are behind the IOMMU (DMA protection on)', evidence)
  },
}

const recentFaults: HostCheck = {
  id: 'advanced.recent-faults',
  title: 'Recent DMAR faults per device',
  category: 'advanced',
  scope: 'host',
  reads: ['dmesg'],
  docs: DOCS.kernelIommu,
  assess(ctx) {
    if (ctx.iommuVendor === 'none' && ctx.faults.length === 0) return verdict('not-applicable', 'no IOMMU on this host: no faults can be recorded')
    if (!ctx.log.readable) return verdict('unknown', 'the kernel log could not be read', [ev(ctx.log.message ?? 'unreadable', ctx.log.source)], [ctx.log.refused !== undefined ? readAdvice(ctx.host, {path: ctx.log.origin, refused: ctx.log.refused}) : ctx.host.capture === undefined ? 'run as root, or add the user to the adm/systemd-journal group' : rootAdvice(ctx.host)])
    if (ctx.faults.length === 0) return verdict('pass', 'no DMA or interrupt-remapping faults in the kernel log', [ev(`${plural(ctx.log.lines.length, 'log line')} scanned`, ctx.log.source)])
    const byDevice = new Map<string, Map<string, number>>()
    for (const f of ctx.faults) {
      const reason =
        f.family !== 'intel-vtd'
          ? `${f.family} ${f.reasonText}`
          : f.reason === undefined
            ? 'unknown reason'
            : `${f.kind === 'interrupt' ? 'IR ' : ''}0x${f.reason.toString(16).padStart(2, '0')} ${lookupFaultReason(f.reason)?.text ?? f.reasonText}`
      const reasons = byDevice.get(f.requester) ?? new Map<string, number>()
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
      byDevice.set(f.requester, reasons)
    }
    const evidence = [...byDevice.entries()].map(([bdf, reasons]) =>
      ev(`${describeDevice(ctx, bdf)}: ${[...reasons.entries()].map(([r, n]) => `${n}× ${r}`).join(', ')}`, ctx.log.source),
    )
    return verdict('warn', `${plural(ctx.faults.length, 'fault')} from ${plural(byDevice.size, 'requester')} in the kernel log`, evidence, ['explain them: `vtd-check faults`'])
  },
}

export const ADVANCED_CHECKS: HostCheck[] = [ats, sva, sriov, externalDma, recentFaults]
