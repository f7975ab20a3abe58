/**
 * A decoded PCI function and the topology of them, as model/topology.ts builds it from sysfs or
 * an lspci dump and decode/lspci-verbose.ts from lspci text. Read-only once built; import it
 * through model/pci.ts above the decoders.
 *
 * "unknown" means the fact lives in config space we could not read (non-root readers
 * see 64 bytes); it is never the same as "absent".
 */
import type {DecodedConfig} from './pci-config.js'

/** ACS capability and control registers (16-bit each), bits per vtd-reference §6.1. */
export interface AcsRegisters {
  cap: number
  ctl: number
}

export const ACS = {SV: 0x01, TB: 0x02, RR: 0x04, CR: 0x08, UF: 0x10, EC: 0x20, DT: 0x40} as const
/** The flags the kernel's grouping requires on every hop: SV | RR | CR | UF. */
export const REQ_ACS_FLAGS = ACS.SV | ACS.RR | ACS.CR | ACS.UF

/** PCIe device/port type (PCIe capability flags bits 7:4). */
export const PCIE_TYPE = {
  endpoint: 0,
  legacyEndpoint: 1,
  rootPort: 4,
  upstreamPort: 5,
  downstreamPort: 6,
  pcieToPciBridge: 7,
  pciToPcieBridge: 8,
  rcEndpoint: 9,
  rcEventCollector: 10,
} as const

export type Unknown = 'unknown'

export interface SriovState {
  totalVfs: number
  initialVfs: number
  numVfs: number
  firstVfOffset: number
  vfStride: number
  vfDeviceId: number
  vfEnable: boolean
  ariCapableHierarchy: boolean
}

export interface PciFunction {
  bdf: string
  segment: number
  bus: number
  device: number
  function: number
  vendorId: number
  deviceId: number
  subsystemVendorId?: number
  subsystemDeviceId?: number
  classCode: number
  revision?: number
  /** Header layout: 0 normal, 1 PCI bridge, 2 CardBus. */
  headerType: number
  /** Header type bit 7. */
  multifunction: boolean
  /** Bridges: secondary and subordinate bus numbers. */
  secondaryBus?: number
  subordinateBus?: number
  /** PCIe port type; undefined for conventional PCI (no PCIe capability); 'unknown' if unreadable. */
  pcieType: number | undefined | Unknown
  /** ACS extended capability; undefined when the device has none; 'unknown' when unreadable. */
  acs: AcsRegisters | undefined | Unknown
  /**
   * With acs 'unknown': the ACS capability is known to be present but its registers were not
   * shown (plain `lspci -v` lists capability headers only). Set by decode/lspci-verbose.ts.
   */
  acsPresentRegistersUnknown?: boolean
  ari: {nextFunction: number} | undefined | Unknown
  /** PCIe DEVCAP2/DEVCTL2 ARI forwarding (on downstream-facing ports). */
  ariForwarding?: {supported: boolean; enabled: boolean}
  ats: {enabled: boolean; stu: number; invalidateQueueDepth: number} | undefined | Unknown
  pri: {enabled: boolean} | undefined | Unknown
  pasid: {enabled: boolean; maxWidth: number; exec: boolean; priv: boolean} | undefined | Unknown
  sriov: SriovState | undefined | Unknown
  /** FLR via PCIe DEVCAP or the AF capability. */
  flr: {pcie: boolean; af: boolean} | Unknown
  /** Upstream bridge (undefined on a root bus; for a VF, the PF's parent). */
  parent?: string
  children: string[]
  /** SR-IOV links. */
  physfn?: string
  virtfns: string[]
  isVirtfn: boolean
  /** sysfs-only facts (undefined when the source is an lspci dump). */
  driver?: string
  iommuGroup?: number
  iommuUnit?: string
  numaNode?: number
  resetMethods?: string[]
  /** Full decoded config space, for `device` and lspci comparison. */
  configLength: number
  /** What the device is in the hierarchy (from PCIe port type, header layout and class). */
  kind?: DeviceKind
  /** The decoded config space itself (header, capability lists, problems). */
  config?: DecodedConfig
  /** Host path under /sys/devices (sysfs source only). */
  sysfsPath?: string
  /** The host bridge (root bus) this device sits under, e.g. "pci0000:00" or "pci10000:e0". */
  hostBridge?: string
  /** Devices in a VMD domain (segment > 0xffff): the VMD controller's BDF, when known. */
  vmdController?: string
  /** PCIe link: sysfs text ("8.0 GT/s PCIe") or the LnkCap/LnkSta decode ("8GT/s"). */
  link?: {speed?: string; width?: number; maxSpeed?: string; maxWidth?: number; dlActive?: boolean}
  /** PCIe slot registers of a port with a slot. */
  slot?: {physicalSlot?: number; hotPlug?: boolean}
  /** PM No_Soft_Reset: a D3hot->D0 "pm reset" leaves state intact. */
  noSoftReset?: boolean | Unknown
  /** The power state the PM capability's status shows (lspci -vv "Status: D3 …"; D3 read from config space is D3hot). */
  powerState?: 'D0' | 'D1' | 'D2' | 'D3hot'
  /** Where `resetMethods` came from: the kernel's `reset_method`, or inferred from config bytes. */
  resetMethodsSource?: 'sysfs' | 'inferred-from-config'
  /** The lspci heading text (dump source), e.g. "PCI bridge: Intel Corporation …". */
  description?: string
}

export type DeviceKind =
  | 'host-bridge'
  | 'root-port'
  | 'switch-upstream'
  | 'switch-downstream'
  | 'pcie-to-pci-bridge'
  | 'pci-to-pcie-bridge'
  | 'pci-bridge'
  | 'cardbus-bridge'
  | 'bridge'
  | 'endpoint'
  | 'legacy-endpoint'
  | 'rc-endpoint'
  | 'rc-event-collector'
  | 'vmd-controller'
  /** A conventional PCI (not PCIe) endpoint. */
  | 'pci-endpoint'
  /** Not readable (config space beyond 64 bytes needs root) or a reserved PCIe port type. */
  | 'unknown'

export interface PciTopology {
  /** Keyed by full BDF; iteration in BDF order. */
  devices: Map<string, PciFunction>
  /** Where the topology came from, for messages. */
  source: 'sysfs' | 'lspci-dump'
}
