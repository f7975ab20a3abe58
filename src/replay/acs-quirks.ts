/**
 * The kernel's ACS quirk table `pci_dev_acs_enabled[]` (drivers/pci/quirks.c) as DATA
 * (vtd-reference §6.5; the DMA-alias quirks live in dma-alias.ts). Entries are kept in the
 * kernel's table order because the first entry that answers (isolated or not) wins.
 *
 * A quirk answers `true` ("treat as isolated for the asked flags"), `false` ("not isolated")
 * or `undefined` (the kernel's -ENOTTY: no opinion, use the standard ACS check).
 */
import {ACS, PCIE_TYPE, type PciFunction} from '../model/pci.js'
import {inKernel, type KernelSpan, type KernelVersion} from './kernel-version.js'

export type AcsQuirkKind =
  | 'amd-sb' // pci_quirk_amd_sb_acs
  | 'mf-endpoint' // pci_quirk_mf_endpoint_acs
  | 'rciep' // pci_quirk_rciep_acs
  | 'intel-pch' // pci_quirk_intel_pch_acs (needs the enable-quirk to have run)
  | 'intel-spt-pch' // pci_quirk_intel_spt_pch_acs (ACS Control is a dword at cap+8)
  | 'root-port-isolated' // qcom, cavium, xgene/ampere, brcm, loongson, al, nxp: SV|RR|CR|UF on root ports
  | 'zhaoxin-ports' // pci_quirk_zhaoxin_pcie_ports_acs
  | 'wangxun-nic' // pci_quirk_wangxun_nic_acs

/** One row: vendor, a device id or inclusive range (undefined = PCI_ANY_ID), the quirk kind. */
export interface AcsQuirkEntry {
  vendor: number
  devices?: ReadonlyArray<number | readonly [number, number]>
  kind: AcsQuirkKind
  /** The kernel function name, for explanations. */
  kernelName: string
  /** What the quirk is about, in words. */
  label: string
  /** The kernel releases that have this row (drivers/pci/quirks.c history). */
  span: KernelSpan
}

const range = (from: number, to: number): readonly [number, number] => [from, to]

const MF_ENDPOINT_FLAGS = ACS.SV | ACS.TB | ACS.RR | ACS.CR | ACS.UF | ACS.DT
export const ISOLATING_FLAGS = ACS.SV | ACS.RR | ACS.CR | ACS.UF

/** Intel NICs that isolate their functions (82598 … X710-era, 82580, 82576, 82575, I350, 82571, I219). */
const INTEL_MF_NICS = [
  0x10c6, 0x10db, 0x10dd, 0x10e1, 0x10f1, 0x10f7, 0x10f8, 0x10f9, 0x10fa, 0x10fb, 0x10fc, 0x1507, 0x1514,
  0x151c, 0x1529, 0x152a, 0x154d, 0x154f, 0x1551, 0x1558,
  0x1509, 0x150e, 0x150f, 0x1510, 0x1511, 0x1516, 0x1527,
  0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x150a, 0x150d, 0x1518, 0x1526,
  0x10a7, 0x10a9, 0x10d6,
  0x1521, 0x1522, 0x1523, 0x1524,
  0x105e, 0x105f, 0x1060, 0x10d9,
  0x15b7, 0x15b8,
]

/**
 * Intel PCH root ports without a standard ACS capability (`pci_quirk_intel_pch_acs_ids[]`):
 * Ibex Peak, Cougar Point, Panther Point, Lynx Point-H/-LP, Wildcat Point-LP, Patsburg (X79),
 * Wellsburg (X99), 9-series.
 */
export const INTEL_PCH_ACS_IDS: ReadonlyArray<number | readonly [number, number]> = [
  range(0x3b42, 0x3b51),
  range(0x1c10, 0x1c1f),
  range(0x1e10, 0x1e1f),
  range(0x8c10, 0x8c1f),
  range(0x9c10, 0x9c1b),
  range(0x9c90, 0x9c9b),
  0x1d10, 0x1d12, 0x1d14, 0x1d16, 0x1d18, 0x1d1a, 0x1d1c, 0x1d1e,
  range(0x8d10, 0x8d1e),
  0x8c90, 0x8c92, 0x8c94, 0x8c96, 0x8c98, 0x8c9a, 0x8c9c, 0x8c9e,
]

/** Sunrise Point-H, Union Point, SPT-LP root ports: real ACS, but Control is a dword at cap+8. */
export const INTEL_SPT_PCH_ACS_IDS: ReadonlyArray<number | readonly [number, number]> = [
  range(0xa110, 0xa11f),
  range(0xa167, 0xa16a),
  range(0xa290, 0xa29f),
  range(0xa2e7, 0xa2ee),
  range(0x9d10, 0x9d1b),
]

/** `pci_dev_acs_enabled[]` in kernel order (v6.x). */
export const ACS_QUIRKS: readonly AcsQuirkEntry[] = [
  {vendor: 0x1002, devices: [0x4385, 0x439c, 0x4383, 0x439d, 0x4384, 0x4399], kind: 'amd-sb', kernelName: 'pci_quirk_amd_sb_acs', label: 'AMD SB7xx/SB8xx/Hudson southbridge functions', span: {evidence: 'pci_quirk_amd_sb_acs, 2013 (v3.1x), before 4.19'}},
  {vendor: 0x1022, devices: [0x780f, 0x7809], kind: 'amd-sb', kernelName: 'pci_quirk_amd_sb_acs', label: 'AMD Hudson southbridge functions', span: {evidence: '1022:780f/7809 added 2015 (bugzilla 81841), before 4.19'}},
  {vendor: 0x1924, devices: [0x0903, 0x0923, 0x0a03], kind: 'mf-endpoint', kernelName: 'pci_quirk_mf_endpoint_acs', label: 'Solarflare multifunction NIC', span: {evidence: 'before 4.19'}},
  {vendor: 0x8086, devices: INTEL_MF_NICS, kind: 'mf-endpoint', kernelName: 'pci_quirk_mf_endpoint_acs', label: 'Intel multifunction NIC (functions isolated)', span: {evidence: 'before 4.19'}},
  {vendor: 0x8086, kind: 'rciep', kernelName: 'pci_quirk_rciep_acs', label: 'Intel root-complex integrated endpoint', span: {since: [5, 1], evidence: '3247bd10a450 "PCI: Add ACS quirk for Intel Root Complex Integrated Endpoints" (Ashok Raj, 2019), merge window of 5.1'}},
  {vendor: 0x17cb, devices: [0x0400, 0x0401, 0x0115, 0x0111, 0x0120], kind: 'root-port-isolated', kernelName: 'pci_quirk_qcom_rp_acs', label: 'Qualcomm root port', span: {evidence: '17cb:0400/0401 before 4.19; 0115/0111/0120 later (release not recorded)'}},
  {vendor: 0x1dbf, devices: [0x0401], kind: 'root-port-isolated', kernelName: 'pci_quirk_qcom_rp_acs', label: 'HXT root port', span: {evidence: 'release not recorded'}},
  {vendor: 0x8086, devices: INTEL_PCH_ACS_IDS, kind: 'intel-pch', kernelName: 'pci_quirk_intel_pch_acs', label: 'Intel PCH root port without ACS capability', span: {evidence: 'pci_quirk_intel_pch_acs (Red Hat bugzilla 1037684), before 4.19'}},
  {vendor: 0x8086, devices: INTEL_SPT_PCH_ACS_IDS, kind: 'intel-spt-pch', kernelName: 'pci_quirk_intel_spt_pch_acs', label: 'Intel Sunrise/Union Point PCH root port (ACS Control dword erratum)', span: {evidence: 'pci_quirk_intel_spt_pch_acs, before 4.19'}},
  {vendor: 0x19a2, devices: [0x0710], kind: 'mf-endpoint', kernelName: 'pci_quirk_mf_endpoint_acs', label: 'Emulex OneConnect', span: {evidence: 'before 4.19'}},
  {vendor: 0x10df, devices: [0x0720], kind: 'mf-endpoint', kernelName: 'pci_quirk_mf_endpoint_acs', label: 'Emulex Skyhawk', span: {evidence: 'before 4.19'}},
  {vendor: 0x177d, devices: [range(0xa000, 0xa7ff), 0xaf84, 0xb884], kind: 'root-port-isolated', kernelName: 'pci_quirk_cavium_acs', label: 'Cavium ThunderX root port', span: {evidence: 'before 4.19 (id ranges widened later; release not recorded)'}},
  {vendor: 0x177d, devices: [0xa026, 0xa059, 0xa060], kind: 'mf-endpoint', kernelName: 'pci_quirk_mf_endpoint_acs', label: 'Cavium multifunction device', span: {evidence: 'release not recorded'}},
  {vendor: 0x10e8, devices: [0xe004], kind: 'root-port-isolated', kernelName: 'pci_quirk_xgene_acs', label: 'APM X-Gene root port', span: {evidence: 'release not recorded'}},
  {vendor: 0x1def, devices: [range(0xe005, 0xe00c)], kind: 'root-port-isolated', kernelName: 'pci_quirk_xgene_acs', label: 'Ampere root port', span: {evidence: 'release not recorded'}},
  {vendor: 0x14e4, devices: [0x16d7, 0x1750, 0x1751, 0x1752, 0x1760, 0x1761, 0x1762, 0x1763], kind: 'mf-endpoint', kernelName: 'pci_quirk_mf_endpoint_acs', label: 'Broadcom BCM57xxx NIC', span: {evidence: 'BCM57414 (16d7) first, BCM5750x/5760x ids later; releases not recorded'}},
  {vendor: 0x14e4, devices: [0xd714], kind: 'root-port-isolated', kernelName: 'pci_quirk_brcm_acs', label: 'Broadcom iProc PAXB root', span: {evidence: 'release not recorded'}},
  {vendor: 0x0014, devices: [0x3c09, 0x3c19, 0x3c29, 0x7a09, 0x7a19, 0x7a29, 0x7a39, 0x7a49, 0x7a59, 0x7a69], kind: 'root-port-isolated', kernelName: 'pci_quirk_loongson_acs', label: 'Loongson root port', span: {evidence: 'release not recorded'}},
  {vendor: 0x1c36, devices: [0x0031], kind: 'root-port-isolated', kernelName: 'pci_quirk_al_acs', label: 'Amazon Annapurna Labs root port', span: {evidence: 'release not recorded'}},
  {vendor: 0x1d17, devices: [0x3038, 0x3104, 0x9083], kind: 'mf-endpoint', kernelName: 'pci_quirk_mf_endpoint_acs', label: 'Zhaoxin multifunction device', span: {since: [5, 7], evidence: '0325837c51cb "PCI: Add ACS quirk for Zhaoxin multi-function devices" (Raymond Pang), PCI pull for 5.7 (backported to 5.6 stable)'}},
  {vendor: 0x1957, devices: [range(0x8d80, 0x8d83), range(0x8d88, 0x8d8b), range(0x8d90, 0x8d93), range(0x8d98, 0x8d9b), 0x8da0, 0x8da1, 0x8da8, 0x8da9, 0x8db0, 0x8db1, 0x8db8, 0x8db9], kind: 'root-port-isolated', kernelName: 'pci_quirk_nxp_rp_acs', label: 'NXP LX2160A root port', span: {evidence: 'release not recorded'}},
  {vendor: 0x1d17, kind: 'zhaoxin-ports', kernelName: 'pci_quirk_zhaoxin_pcie_ports_acs', label: 'Zhaoxin root/downstream port', span: {since: [5, 7], evidence: '299bd044a6f3 "PCI: Add ACS quirk for Zhaoxin Root/Downstream Ports" (Raymond Pang), PCI pull for 5.7 (backported to 5.6 stable); ids 0x0733-0x0752 from e367e3c765f5 "PCI: Add ACS quirk for more Zhaoxin Root Ports" (Dec 2023, 6.8)'}},
  {vendor: 0x8088, kind: 'wangxun-nic', kernelName: 'pci_quirk_wangxun_nic_acs', label: 'Wangxun multifunction NIC', span: {since: [6, 3], evidence: '"PCI: Add ACS quirk for Wangxun NICs" (Mengyuan Lou, posted Feb 2023, PCI pull for 6.3; AUTOSEL backports to older stable trees); AML ids 5010-5140 from "PCI: Add ACS quirk for Wangxun FF5xxx NICs" (Mengyuan Lou, 6.13; AUTOSEL to 6.11/6.12 stable)'}},
]

const hex4 = (n: number): string => n.toString(16).padStart(4, '0')

/** pci_quirk_zhaoxin_pcie_ports_acs() switch: 0x0723-0x0732 from 5.7, widened to 0x0752 in 6.8. */
function zhaoxinPortIds(version: KernelVersion | undefined): AcsQuirkEntry['devices'] {
  const wide = inKernel({since: [6, 8]}, version)
  return [range(0x0710, 0x071e), 0x0721, range(0x0723, wide ? 0x0752 : 0x0732)]
}

/** pci_quirk_wangxun_nic_acs() switch: EM and SP from 6.3, AML (FF5xxx) from 6.13. */
function wangxunIds(version: KernelVersion | undefined): AcsQuirkEntry['devices'] {
  const em = [range(0x0100, 0x010f), 0x1001, 0x2001]
  return inKernel({since: [6, 13]}, version) ? [...em, 0x5010, 0x5025, 0x5040, 0x5110, 0x5125, 0x5140] : em
}

export function idMatches(list: AcsQuirkEntry['devices'], device: number): boolean {
  if (list === undefined) return true
  return list.some((entry) => (typeof entry === 'number' ? entry === device : device >= entry[0] && device <= entry[1]))
}

/** Facts a quirk may depend on beyond the device itself. */
export interface QuirkContext {
  /** The Intel PCH enable-quirk ran and set PCI_DEV_FLAGS_ACS_ENABLED_QUIRK (IOMMU requested ACS; not 5.9). */
  intelPchEnableQuirkApplied: boolean
  /** SPT erratum: ACS Control as the enable-quirk leaves it (the kernel sets SV|RR|CR|UF); undefined = unknown. */
  sptAcsCtlDword: number | undefined
  /** An ACPI IVRS table exists (AMD IOMMU): `pci_quirk_amd_sb_acs` only applies then. */
  acpiIvrs: boolean
  /** Device is on a root bus. */
  onRootBus: boolean
  /** The kernel's dev->multifunction (header bit, or any function after the first). */
  multifunction: boolean
  /** The kernel whose table applies; undefined = the newest checked release. */
  kernelVersion?: KernelVersion
}

export interface QuirkAnswer {
  entry: AcsQuirkEntry
  /** true isolated, false not isolated, 'unknown' when the quirk reads something we do not have. */
  isolated: boolean | 'unknown'
  detail: string
}

/** `pci_acs_ctrl_enabled(req, ena)`: every requested flag must be among the asserted ones. */
const ctrlEnabled = (req: number, asserted: number): boolean => (req & asserted) === req

/** Evaluate one quirk row for a device; undefined is the kernel's -ENOTTY (no opinion). */
function evaluateQuirk(entry: AcsQuirkEntry, dev: PciFunction, flags: number, ctx: QuirkContext): QuirkAnswer | undefined {
  const type = typeof dev.pcieType === 'number' ? dev.pcieType : undefined
  const answer = (isolated: boolean | 'unknown', detail: string): QuirkAnswer => ({entry, isolated, detail})
  switch (entry.kind) {
    case 'amd-sb': {
      if (!ctx.acpiIvrs || !ctx.multifunction || !ctx.onRootBus) return undefined
      // Only RR, CR, EC and DT apply to these functions; the quirk asserts RR and CR.
      const applicable = flags & (ACS.RR | ACS.CR | ACS.EC | ACS.DT)
      return answer(ctrlEnabled(applicable, ACS.RR | ACS.CR), 'southbridge quirk asserts RR and CR')
    }
    case 'mf-endpoint':
      return answer(ctrlEnabled(flags, MF_ENDPOINT_FLAGS), 'functions isolated from each other by design')
    case 'rciep':
      if (type !== PCIE_TYPE.rcEndpoint) return undefined
      return answer(ctrlEnabled(flags, ISOLATING_FLAGS), 'Intel RCiEPs allow peer-to-peer only on translated addresses (VT-d spec 3.16)')
    case 'intel-pch':
      if (type !== PCIE_TYPE.rootPort) return undefined
      return ctx.intelPchEnableQuirkApplied
        ? answer(ctrlEnabled(flags, ISOLATING_FLAGS), 'PCH port isolation enabled by the kernel quirk (UPDCR peer decodes off, MPC IRBNCE on)')
        : answer(false, 'PCH enable-quirk did not run (IOMMU did not request ACS, or kernel 5.9 regression), so the quirk reports "not isolated"')
    case 'intel-spt-pch': {
      if (type !== PCIE_TYPE.rootPort) return undefined
      if (dev.acs === undefined) return undefined
      if (dev.acs === 'unknown' && !dev.acsPresentRegistersUnknown) return answer('unknown', 'ACS registers unreadable')
      if (ctx.sptAcsCtlDword === undefined) return answer('unknown', 'ACS Control dword at cap+8 not available')
      const cap = dev.acs === 'unknown' ? ISOLATING_FLAGS : dev.acs.cap
      const required = flags & (cap | ACS.EC)
      return answer(ctrlEnabled(required, ctx.sptAcsCtlDword), 'ACS Control read at cap+8 (SPT erratum)')
    }
    case 'root-port-isolated':
      if (entry.kernelName === 'pci_quirk_cavium_acs' || entry.kernelName === 'pci_quirk_al_acs' || entry.kernelName === 'pci_quirk_nxp_rp_acs') {
        if (type !== PCIE_TYPE.rootPort) return undefined
      }
      return answer(ctrlEnabled(flags, ISOLATING_FLAGS), 'vendor asserts its root ports isolate')
    case 'zhaoxin-ports':
      // The row matches every Zhaoxin device (PCI_ANY_ID); ports outside the id list get "false",
      // not -ENOTTY: the kernel never falls back to their ACS capability.
      if (type !== PCIE_TYPE.rootPort && type !== PCIE_TYPE.downstreamPort) return undefined
      if (idMatches(zhaoxinPortIds(ctx.kernelVersion), dev.deviceId)) return answer(ctrlEnabled(flags, ISOLATING_FLAGS), 'vendor asserts its ports isolate')
      return answer(false, `Zhaoxin port ${hex4(dev.deviceId)} is not in the quirk's id list, and the quirk answers "not isolated" without reading its ACS capability`)
    case 'wangxun-nic':
      // PCI_ANY_ID row: devices outside the list get "false" (not -ENOTTY), ACS capability or not.
      if (idMatches(wangxunIds(ctx.kernelVersion), dev.deviceId)) return answer(ctrlEnabled(flags, ISOLATING_FLAGS), 'functions isolated from each other by design')
      return answer(false, `Wangxun device ${hex4(dev.deviceId)} is not in the quirk's id list, and the quirk answers "not isolated" without reading its ACS capability`)
  }
}

/** `pci_dev_specific_acs_enabled()`: the first row whose vendor/device match and which has an opinion. */
export function quirkAcsEnabled(dev: PciFunction, flags: number, ctx: QuirkContext): QuirkAnswer | undefined {
  for (const entry of ACS_QUIRKS) {
    if (entry.vendor !== dev.vendorId || !idMatches(entry.devices, dev.deviceId)) continue
    if (!inKernel(entry.span, ctx.kernelVersion)) continue
    const answer = evaluateQuirk(entry, dev, flags, ctx)
    if (answer) return answer
  }
  return undefined
}

/** Whether a device is one of the Intel PCH root ports the enable-quirk acts on. */
export function isIntelPchQuirkPort(dev: PciFunction): boolean {
  return dev.vendorId === 0x8086 && dev.pcieType === PCIE_TYPE.rootPort && idMatches(INTEL_PCH_ACS_IDS, dev.deviceId)
}
