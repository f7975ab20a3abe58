/**
 * DMA aliases, as the kernel's pci_for_each_dma_alias() computes them (vtd-reference §6.4):
 * which requester IDs a device's DMA may carry, and — backwards — which real devices a
 * requester ID seen in a fault can stand for. Pure functions over PciTopology; the quirk
 * tables are data. Shared by fault triage and the grouping replay.
 */
import {PCIE_TYPE, type PciFunction, type PciTopology} from '../model/pci.js'
import {inKernel, type KernelSpan, type KernelVersion} from './kernel-version.js'

export type AliasReason =
  | 'self'
  | 'quirk-func0' // quirk_dma_func0_alias
  | 'quirk-func1' // quirk_dma_func1_alias (phantom function 1)
  | 'quirk-fixed' // quirk_fixed_dma_alias
  | 'quirk-mic-x200' // quirk_mic_x200_dma_alias
  | 'quirk-pex-vca' // quirk_pex_vca_alias
  | 'quirk-plx-ntb' // quirk_plx_ntb_dma_alias: all 256 devfns of its bus
  | 'pcie-to-pci-bridge' // type-7 bridge re-tags as (secondary bus, 00.0)
  | 'pci-bridge' // conventional bridge: its own RID
  | 'pci-to-pcie-bridge' // type-8 bridge: its own RID
  | 'pcie-bridge-alias-quirk' // quirk_use_pcie_bridge_dma_alias: conventional bridge treated as type 7
  | 'ivrs-alias' // AMD-Vi: an IVRS alias entry the PCI topology does not imply (get_alias() → pci_add_dma_alias)

export interface DmaAlias {
  segment: number
  bus: number
  devfn: number
  /** Full BDF of the alias requester ID. */
  bdf: string
  reason: AliasReason
  /** The bridge that re-tags, or the device whose quirk adds the alias. */
  via: string
}

const key = (vendor: number, device: number) => (vendor << 16) | device
const ids = (vendor: number, devices: number[]) => devices.map((d) => key(vendor, d))

/** Quirk tables from drivers/pci/quirks.c (§6.4). */
export const DMA_ALIAS_QUIRKS = {
  func0: new Set([...ids(0x1180, [0xe832, 0xe476]), ...ids(0x6766, [0x3d40, 0x3d41])]),
  func1: new Set([
    ...ids(0x1b4b, [0x9120, 0x9123, 0x9125, 0x9128, 0x9130, 0x9170, 0x9172, 0x917a, 0x9182, 0x9183, 0x91a0, 0x9215, 0x9220, 0x9230, 0x9235]),
    ...ids(0x1103, [0x0642, 0x0645]),
    key(0x197b, 0x2392),
    key(0x1c28, 0x0122),
  ]),
  /** Adaptec 9005:0285 with these subsystem ids → alias devfn 01.0. */
  fixed: {device: key(0x9005, 0x0285), subsystems: new Set(ids(0x9005, [0x02bb, 0x02bc])), devfn: (1 << 3) | 0},
  micX200: new Set(ids(0x8086, [0x2260, 0x2264])),
  pexVca: new Set(ids(0x8086, [0x2954, 0x2955, 0x2956, 0x2958, 0x2959, 0x295a])),
  pcieBridgeAlias: new Set([key(0x1b21, 0x1080), key(0x10e3, 0x8113), ...ids(0x1283, [0x8892, 0x8893]), key(0x8086, 0x244e)]),
  /** PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT: the alias walk stops here. */
  xlateRoot: new Set(ids(0x14e4, [0x9000, 0x9084])),
  /** PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS: a PCIe-to-PCI bridge that keeps requester ids. */
  bridgeNoAlias: new Set([key(0x1a03, 0x1150)]),
  /** quirk_plx_ntb_dma_alias: PLX NT endpoints proxy every devfn of their bus. */
  plxNtb: new Set(ids(0x10b5, [0x87b0, 0x87b1])),
} as const

/** Kernel releases of the alias rules that did not exist in every release this tool models. */
export const DMA_ALIAS_SPANS = {
  plxNtb: {
    since: [5, 6],
    evidence:
      '7b90dfc4873b "PCI: Add DMA alias quirk for PLX PEX NTB" (James Sewart, posted Dec 2019) with 09298542cd89 "PCI: Add nr_devfns parameter to pci_add_dma_alias()", PCI pull for 5.6 (backported to 5.4.y/5.5.y stable)',
  },
  bridgeNoAlias: {
    since: [7, 0],
    evidence:
      '550a190494a0 "PCI: Add PCI_BRIDGE_NO_ALIAS quirk for ASPEED AST1150" (Nirmoy Das; applied to pci/iommu "for v6.20", released as 7.0): PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS; not in 6.18 or 6.19, where devices behind an AST1150 share its alias',
  },
  /**
   * drivers/iommu/amd/iommu.c setup_aliases(): the IVRS alias becomes a PCI DMA alias whenever it
   * differs from the device and is on its bus. Before, get_alias() added it only when the device
   * had no PCI alias of its own (pci_for_each_dma_alias() ended at the device itself).
   */
  ivrsAliasAlways: {
    since: [5, 5],
    evidence: '3332364e4ebc "iommu/amd: Support multiple PCI DMA aliases in device table" (Logan Gunthorpe), IOMMU pull for 5.5; AUTOSEL backport to 5.4 stable',
  },
} as const satisfies Record<string, KernelSpan>

/**
 * Switchtec NTB endpoints (class 0680): quirk_switchtec_ntb_dma_alias() reads the requester-id
 * tables of every NT partition over MMIO and adds each proxy id as an alias. Those tables are not
 * in config space, so the aliases (and any group merge they cause) cannot be predicted offline.
 * Gen3 ids from the SWITCHTEC_QUIRK() list; later Microsemi/Microchip generations (11f8:4xxx/5xxx,
 * 1055:xxxx) are matched by vendor and class.
 */
const SWITCHTEC_GEN3 = [0x8531, 0x8541, 0x8551, 0x8561, 0x8571].flatMap((base) => [0, 1, 2, 3, 4, 5].map((i) => base + i))
export function switchtecNtbReason(d: PciFunction): string | undefined {
  if (d.classCode >> 8 !== 0x0680) return undefined
  const known = d.vendorId === 0x11f8 && SWITCHTEC_GEN3.includes(d.deviceId)
  if (!known && d.vendorId !== 0x11f8 && d.vendorId !== 0x1055) return undefined
  return `Switchtec NTB ${d.vendorId.toString(16)}:${d.deviceId.toString(16).padStart(4, '0')}: quirk_switchtec_ntb_dma_alias reads its DMA aliases from the NT partition tables over MMIO, which a snapshot does not hold; the group cannot be predicted offline`
}

/** An IVRS alias range (device entries 0x42/0x43): requester IDs first..last DMA as aliasTo. */
export interface IvrsAliasRange {
  segment: number
  first: number
  last: number
  aliasTo: number
}

export interface AliasOptions {
  /** The kernel whose alias quirks apply; undefined = the newest checked release. */
  kernelVersion?: KernelVersion
  /** The firmware's IVRS alias entries (AMD-Vi hosts whose table was read). */
  ivrsAliases?: readonly IvrsAliasRange[]
}

export function devfnOf(device: number, fn: number): number {
  return ((device & 0x1f) << 3) | (fn & 7)
}

import {bdfFromDevfn} from '../decode/pci-address.js'

function idOf(d: PciFunction): number {
  return key(d.vendorId, d.deviceId)
}

/** Same-bus aliases added by quirks (pdev->dma_alias_mask). */
function quirkAliases(d: PciFunction, options: AliasOptions): Array<{devfn: number; reason: AliasReason}> {
  const id = idOf(d)
  const q = DMA_ALIAS_QUIRKS
  if (q.plxNtb.has(id) && inKernel(DMA_ALIAS_SPANS.plxNtb, options.kernelVersion)) {
    return Array.from({length: 256}, (_, devfn) => ({devfn, reason: 'quirk-plx-ntb' as const}))
  }
  if (q.func0.has(id) && d.function !== 0) return [{devfn: devfnOf(d.device, 0), reason: 'quirk-func0'}]
  if (q.func1.has(id) && d.function !== 1) return [{devfn: devfnOf(d.device, 1), reason: 'quirk-func1'}]
  if (id === q.fixed.device && d.subsystemVendorId !== undefined && d.subsystemDeviceId !== undefined
    && q.fixed.subsystems.has(key(d.subsystemVendorId, d.subsystemDeviceId))) return [{devfn: q.fixed.devfn, reason: 'quirk-fixed'}]
  if (q.micX200.has(id)) return [devfnOf(0x10, 0), devfnOf(0x11, 0), devfnOf(0x12, 3)].map((devfn) => ({devfn, reason: 'quirk-mic-x200' as const}))
  if (q.pexVca.has(id)) {
    const all: Array<{devfn: number; reason: AliasReason}> = []
    for (let slot = 0; slot < 32; slot++) for (let fn = 0; fn <= 4; fn++) all.push({devfn: devfnOf(slot, fn), reason: 'quirk-pex-vca'})
    return all
  }
  return []
}

/**
 * quirk_use_pcie_bridge_dma_alias() sets PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS only when the bridge is
 * not on a root bus, has a type-1 header, has no PCIe capability, and its upstream bridge is PCIe
 * and not itself a PCIe-to-PCI bridge (drivers/pci/quirks.c).
 */
function usesPcieBridgeAlias(topology: PciTopology, bridge: PciFunction): boolean {
  if (!DMA_ALIAS_QUIRKS.pcieBridgeAlias.has(idOf(bridge)) || bridge.headerType !== 1 || bridge.pcieType !== undefined) return false
  const upstream = bridge.parent === undefined ? undefined : topology.devices.get(bridge.parent)
  return upstream !== undefined && typeof upstream.pcieType === 'number' && upstream.pcieType !== PCIE_TYPE.pcieToPciBridge
}

/**
 * The requester IDs DMA from `bdf` may carry, in the kernel's order: its own RID, quirk aliases
 * on its bus, then one alias per re-tagging bridge on the way up. The last entry is the RID the
 * IOMMU most likely sees. Empty when the device is not in the topology.
 */
export function dmaAliasesOf(topology: PciTopology, bdf: string, options: AliasOptions = {}): DmaAlias[] {
  const dev = topology.devices.get(bdf)
  if (dev === undefined) return []
  const out: DmaAlias[] = []
  const add = (bus: number, devfn: number, reason: AliasReason, via: string) => {
    const b = bdfFromDevfn(dev.segment, bus, devfn)
    if (!out.some((a) => a.bdf === b)) out.push({segment: dev.segment, bus, devfn, bdf: b, reason, via})
  }
  add(dev.bus, devfnOf(dev.device, dev.function), 'self', dev.bdf)
  for (const q of quirkAliases(dev, options)) add(dev.bus, q.devfn, q.reason, dev.bdf)

  // A VF's parent link names the PF's bridge; VFs on a virtual bus have no bridge of their own.
  let current: PciFunction | undefined = dev
  for (let guard = 0; guard < 64 && current?.parent !== undefined; guard++) {
    const bridge = topology.devices.get(current.parent)
    if (bridge === undefined) break
    const id = idOf(bridge)
    if (DMA_ALIAS_QUIRKS.xlateRoot.has(id)) break
    const type = bridge.pcieType
    if (type === PCIE_TYPE.rootPort || type === PCIE_TYPE.upstreamPort || type === PCIE_TYPE.downstreamPort || type === 'unknown') {
      // PCIe ports forward requester ids unchanged; 'unknown' (unreadable config) is treated the same and noted by callers.
    } else if (type === PCIE_TYPE.pcieToPciBridge) {
      const noAlias = DMA_ALIAS_QUIRKS.bridgeNoAlias.has(id) && inKernel(DMA_ALIAS_SPANS.bridgeNoAlias, options.kernelVersion)
      if (!noAlias && bridge.secondaryBus !== undefined) add(bridge.secondaryBus, 0, 'pcie-to-pci-bridge', bridge.bdf)
    } else if (type === PCIE_TYPE.pciToPcieBridge) {
      add(bridge.bus, devfnOf(bridge.device, bridge.function), 'pci-to-pcie-bridge', bridge.bdf)
    } else if (type === undefined) {
      // Any conventional bridge, PCI-to-PCI (header 1) or CardBus (header 2): search.c's else-branch.
      if (usesPcieBridgeAlias(topology, bridge) && bridge.secondaryBus !== undefined) add(bridge.secondaryBus, 0, 'pcie-bridge-alias-quirk', bridge.bdf)
      else add(bridge.bus, devfnOf(bridge.device, bridge.function), 'pci-bridge', bridge.bdf)
    }
    current = bridge
  }
  const ivrs = ivrsAliasFor(dev, options.ivrsAliases)
  if (ivrs !== undefined) {
    // drivers/iommu/amd/iommu.c: an IVRS alias on the device's own bus becomes a PCI DMA alias
    // (pci_add_dma_alias), which the generic grouping then honours. From 5.5 setup_aliases() adds it
    // whenever it differs from the device; before, get_alias() added it only when PCI gave the
    // device no alias of its own (pci_for_each_dma_alias() ended at the device) and it differed from that.
    const own = (dev.bus << 8) | devfnOf(dev.device, dev.function)
    const last = out[out.length - 1]
    const pciAlias = last === undefined ? own : (last.bus << 8) | last.devfn
    const always = inKernel(DMA_ALIAS_SPANS.ivrsAliasAlways, options.kernelVersion)
    if (ivrs !== own && ivrs >> 8 === dev.bus && (always || (ivrs !== pciAlias && pciAlias === own))) add(dev.bus, ivrs & 0xff, 'ivrs-alias', dev.bdf)
  }
  return out
}

/** The IVRS alias of a device (amd_iommu_alias_table[devid]), when a range names it. */
function ivrsAliasFor(dev: PciFunction, ranges: readonly IvrsAliasRange[] | undefined): number | undefined {
  if (!ranges) return undefined
  const devid = (dev.bus << 8) | devfnOf(dev.device, dev.function)
  // Later entries overwrite earlier ones in the kernel's alias table: the last range that names the device wins.
  let alias: number | undefined
  for (const r of ranges) if (r.segment === dev.segment && devid >= r.first && devid <= r.last) alias = r.aliasTo
  return alias
}

export type AliasRelation = 'self' | 'alias' | 'vf-not-present'

export interface AliasCandidate {
  /** The real device that may have issued the request. */
  bdf: string
  relation: AliasRelation
  /** For 'alias': why this requester ID stands for the device. */
  reason?: AliasReason
  via?: string
  /** For SR-IOV: the PF and the 1-based VF number. */
  vf?: {pf: string; number: number}
  /** One sentence a sysadmin reads. */
  detail: string
}

export interface AliasResolution {
  requester: string
  /** A device with exactly this BDF exists. */
  exists: boolean
  candidates: AliasCandidate[]
  /** Why nothing (or only a guess) was found. */
  note?: string
}

const REASON_WORDS: Record<AliasReason, string> = {
  'self': 'its own requester ID',
  'quirk-func0': 'DMA-alias quirk: it also issues DMA as function 0',
  'quirk-func1': 'phantom-function quirk: it also issues DMA as function 1',
  'quirk-fixed': 'fixed DMA-alias quirk (devfn 01.0)',
  'quirk-mic-x200': 'Xeon Phi x200 NTB alias quirk',
  'quirk-pex-vca': 'Visual Compute Accelerator alias quirk',
  'quirk-plx-ntb': 'PLX NTB alias quirk: the NT endpoint proxies every devfn of its bus',
  'pcie-to-pci-bridge': 'the PCIe-to-PCI bridge re-tags requests as (secondary bus, 00.0)',
  'pci-bridge': 'the conventional PCI bridge forwards requests with its own ID',
  'pci-to-pcie-bridge': 'the PCI-to-PCIe bridge forwards requests with its own ID',
  'pcie-bridge-alias-quirk': 'a PCIe-to-PCI bridge without a PCIe capability (quirk) re-tags as (secondary bus, 00.0)',
  'ivrs-alias': 'the firmware\'s IVRS alias entry: the AMD-Vi driver adds it as a DMA alias',
}

/** VF RID = PF RID + First VF Offset + (n−1) × VF Stride (§6.6). */
function vfMatches(topology: PciTopology, segment: number, rid: number): AliasCandidate[] {
  const out: AliasCandidate[] = []
  for (const pf of topology.devices.values()) {
    if (pf.segment !== segment || pf.sriov === undefined || pf.sriov === 'unknown') continue
    const {firstVfOffset, vfStride, totalVfs} = pf.sriov
    const pfRid = (pf.bus << 8) | devfnOf(pf.device, pf.function)
    const delta = rid - pfRid - firstVfOffset
    if (delta < 0 || (vfStride === 0 ? delta !== 0 : delta % vfStride !== 0)) continue
    const n = (vfStride === 0 ? 0 : delta / vfStride) + 1
    if (n < 1 || n > totalVfs) continue
    out.push({bdf: bdfFromDevfn(segment, rid >> 8, rid & 0xff), relation: 'vf-not-present', vf: {pf: pf.bdf, number: n},
      detail: `VF ${n} of ${pf.bdf} (SR-IOV offset ${firstVfOffset}, stride ${vfStride}); the VF is not present now`})
  }
  return out
}

/**
 * Which real devices a requester ID (bus, devfn) seen by the IOMMU can stand for: the device
 * itself, devices whose DMA aliases to it (behind a PCIe-to-PCI bridge, quirks), or a VF that
 * is not enabled now. Empty candidates with a note when nothing matches.
 */
export function devicesBehindAlias(topology: PciTopology, bus: number, devfn: number, segment = 0): AliasResolution {
  const requester = bdfFromDevfn(segment, bus, devfn)
  const self = topology.devices.get(requester)
  const candidates: AliasCandidate[] = []
  if (self !== undefined) {
    const candidate: AliasCandidate = {bdf: requester, relation: 'self', detail: 'the device itself'}
    const vfIndex = self.physfn === undefined ? -1 : (topology.devices.get(self.physfn)?.virtfns.indexOf(self.bdf) ?? -1)
    if (self.isVirtfn && self.physfn !== undefined && vfIndex >= 0) {
      candidate.vf = {pf: self.physfn, number: vfIndex + 1}
      candidate.detail = `VF ${vfIndex + 1} of ${self.physfn}`
    }
    candidates.push(candidate)
  }
  for (const dev of topology.devices.values()) {
    if (dev.bdf === requester || dev.segment !== segment) continue
    const hit = dmaAliasesOf(topology, dev.bdf).find((a) => a.bus === bus && a.devfn === devfn && a.reason !== 'self')
    if (hit !== undefined) candidates.push({bdf: dev.bdf, relation: 'alias', reason: hit.reason, via: hit.via, detail: `${REASON_WORDS[hit.reason]} (${hit.via})`})
  }
  if (self === undefined) candidates.push(...vfMatches(topology, segment, (bus << 8) | devfn))
  const result: AliasResolution = {requester, exists: self !== undefined, candidates}
  if (candidates.length === 0) {
    const busKnown = [...topology.devices.values()].some((d) => d.segment === segment && (d.bus === bus || d.secondaryBus === bus))
    result.note = busKnown
      ? `no device ${requester} exists now: it was removed, is hidden from the OS (firmware/BMC/ME function), or is a phantom function without a quirk`
      : `bus ${bus.toString(16).padStart(2, '0')} is not a PCI bus on this host: the ID is a DMAR device-scope source ID (IOAPIC/HPET) or belongs to a hidden device`
  }
  return result
}
