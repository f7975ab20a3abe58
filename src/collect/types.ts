/**
 * What the collectors return: raw facts from the host, each with where it came from.
 * Nothing here is interpreted beyond parsing sysfs's own number formats.
 */
import type {Read} from '../host/fs.js'
import type {HostRoles} from './host-roles.js'

export interface Miss {
  path: string
  reason: 'absent' | 'unreadable'
  message: string
  /** The guard refused it (points outside the snapshot, not a regular file, too large), as opposed to a file the host kept from its reader. */
  refused?: string
}

export interface CollectedPciDevice {
  /** Full form, e.g. "0000:01:00.0". */
  bdf: string
  /** Host path of the device directory under /sys/devices (from the bus link). */
  sysfsPath: string
  /** The upstream bridge's BDF, from the sysfs path; undefined on a root bus. */
  parentBdf?: string
  vendor?: number
  device?: number
  subsystemVendor?: number
  subsystemDevice?: number
  /** 24-bit class code, e.g. 0x030000. */
  classCode?: number
  revision?: number
  /** Config space bytes: 64 for non-root readers, 256 or 4096 for root. */
  config: Read<Uint8Array>
  /** Bound driver name (basename of the `driver` link); undefined when unbound. */
  driver?: string
  driverOverride?: string
  iommuGroup?: number
  /** Remapping unit name, e.g. "dmar0" (basename of the `iommu` link). */
  iommuUnit?: string
  /** `reset_method` words in the kernel's order; absent on kernels before 5.15. */
  resetMethod: Read<string[]>
  sriov?: {totalVfs?: number; numVfs?: number; offset?: number; stride?: number; vfDevice?: number}
  /** On a VF: the PF's BDF. */
  physfn?: string
  /** On a PF: VF BDFs in virtfn index order. */
  virtfns: string[]
  /**
   * Files shown for one device at a time (`device BDF`), read on the first call: a
   * 4,000-function host is not read six files over for one device's view.
   */
  details?: () => CollectedPciDetails
  bootVga?: boolean
  /** `removable`: the kernel marks functions behind an external-facing (Thunderbolt, USB4) port. */
  removable?: boolean
}

export interface CollectedPciDetails {
  numaNode?: number
  link: {currentSpeed?: string; currentWidth?: number; maxSpeed?: string; maxWidth?: number}
  ariEnabled?: boolean
}

export interface CollectedGroup {
  id: number
  /** Member device names (PCI BDFs, or platform device names). */
  devices: string[]
  /** Default domain type: identity, DMA, DMA-FQ, unmanaged, blocked, unknown. */
  type?: string
  /** Raw `reserved_regions` text. */
  reservedRegions?: string
}

export interface CollectedUnit {
  /** "dmar0" (Intel), "ivhd0" (AMD), "smmu3.0x0000000009050000" (Arm SMMUv3) … */
  name: string
  vendor: 'intel' | 'amd' | 'arm-smmu-v3' | 'other'
  version?: string
  /** Register base, from `address` (hex without 0x in sysfs). */
  address?: bigint
  cap?: bigint
  ecap?: bigint
  domainsSupported?: number
  domainsUsed?: number
  /** AMD `amd-iommu/features` as written: "EFR", or two halves "A:B" whose order depends on the kernel. */
  features?: string
  /** BDFs the unit translates (its devices/ links). */
  devices: string[]
  /**
   * SMMU units: the device the driver's log lines name ("arm-smmu-v3.0.auto"), from where the
   * class link points (…/devices/platform/arm-smmu-v3.0.auto/iommu/smmu3.0x…).
   */
  kernelDevice?: string
}

export interface CollectedPlatform {
  cmdline: Read<string>
  cpuinfo: Read<string>
  kernelRelease: Read<string>
  kernelVersion: Read<string>
  interrupts: Read<string>
  dmarTable: Read<Uint8Array>
  ivrsTable: Read<Uint8Array>
  /** ACPI IORT: Arm SMMU and ITS topology (SMMUv3 platforms). */
  iortTable: Read<Uint8Array>
  /** Entries of /dev/vfio ("vfio", group numbers, "devices"). */
  devVfio: Read<string[]>
  devVfioDevices: Read<string[]>
  devIommuPresent: boolean
  allowUnsafeInterrupts: Read<string>
  hypervisorType: Read<string>
  dmi: {sysVendor?: string; productName?: string; biosVersion?: string; chassisAssetTag?: string}
  /** /sys/kernel/iommu_groups listing: absent means no IOMMU driver registered groups. */
  groupsDir: Read<string[]>
  /** /sys/class/iommu listing. */
  iommuClassDir: Read<string[]>
  pciDir: Read<string[]>
}

export interface CollectedHost {
  root: string
  platform: CollectedPlatform
  pci: CollectedPciDevice[]
  groups: CollectedGroup[]
  units: CollectedUnit[]
  /** PCI devices the host itself depends on (boot disk, default-route NIC, console GPU). */
  roles: HostRoles
  /** Thunderbolt domains and their `iommu_dma_protection` (undefined when unreadable). */
  thunderbolt: Array<{domain: string; iommuDmaProtection?: boolean}>
  /** Every read that failed for a reason other than "the feature is simply not there". */
  misses: Miss[]
  /** For a snapshot (not the live host): who captured it, from its meta.json (absent when it has none). */
  capture?: {uid?: number; method?: 'node' | 'sh'; capturedAt?: string}
}
