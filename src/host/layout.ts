/**
 * The snapshot layout: which host files a capture copies (and the collectors read). It lives with
 * the host layer because writing and opening snapshots (host/snapshot.ts) is host I/O. One list
 * serves both captures (the TypeScript one and the POSIX sh script), so they cannot drift apart.
 */

/** Every single file the platform collector reads; the capture copies the same list. */
export const PLATFORM_FILES = {
  cmdline: '/proc/cmdline',
  cpuinfo: '/proc/cpuinfo',
  kernelRelease: '/proc/sys/kernel/osrelease',
  kernelVersion: '/proc/version',
  interrupts: '/proc/interrupts',
  dmesgRestrict: '/proc/sys/kernel/dmesg_restrict',
  dmarTable: '/sys/firmware/acpi/tables/DMAR',
  ivrsTable: '/sys/firmware/acpi/tables/IVRS',
  iortTable: '/sys/firmware/acpi/tables/IORT',
  allowUnsafeInterrupts: '/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts',
  hypervisorType: '/sys/hypervisor/type',
  sysVendor: '/sys/class/dmi/id/sys_vendor',
  productName: '/sys/class/dmi/id/product_name',
  biosVersion: '/sys/class/dmi/id/bios_version',
  // World-readable; Azure writes a fixed tag here (what cloud-init's Azure datasource checks).
  chassisAssetTag: '/sys/class/dmi/id/chassis_asset_tag',
  netRoute: '/proc/net/route',
  mounts: '/proc/mounts',
} as const

/** Directories whose entry names (not contents) matter. */
export const PLATFORM_LISTINGS = ['/dev/vfio', '/dev/vfio/devices', '/dev/iommu'] as const

/** Attributes copied from each PCI device directory (absent ones are skipped). */
export const PCI_DEVICE_FILES = [
  'vendor', 'device', 'subsystem_vendor', 'subsystem_device', 'class', 'revision', 'config',
  'resource', 'numa_node', 'local_cpulist', 'reset_method', 'driver_override', 'modalias', 'enable', 'irq',
  'sriov_totalvfs', 'sriov_numvfs', 'sriov_offset', 'sriov_stride', 'sriov_vf_device', 'sriov_drivers_autoprobe',
  'current_link_speed', 'current_link_width', 'max_link_speed', 'max_link_width',
  'boot_vga', 'ari_enabled', 'd3cold_allowed', 'power_state', 'removable',
] as const

/** Links kept (as links) in each PCI device directory; virtfnN are matched by prefix. */
export const PCI_DEVICE_LINKS = ['driver', 'iommu_group', 'iommu', 'physfn'] as const
export const PCI_VIRTFN_PREFIX = 'virtfn'

export const GROUP_FILES = ['type', 'reserved_regions', 'name'] as const

export const UNIT_FILES = [
  'intel-iommu/version', 'intel-iommu/address', 'intel-iommu/cap', 'intel-iommu/ecap',
  'intel-iommu/domains_supported', 'intel-iommu/domains_used',
  'amd-iommu/cap', 'amd-iommu/features',
] as const

/** Optional root-only debugfs views; copied when readable, capped because they can be large. */
export const DEBUGFS_FILES = [
  '/sys/kernel/debug/iommu/intel/iommu_regset',
  '/sys/kernel/debug/iommu/intel/dmar_translation_struct',
  '/sys/kernel/debug/iommu/intel/ir_translation_struct',
  '/sys/kernel/debug/iommu/intel/invalidation_queue',
] as const
export const DEBUGFS_MAX_BYTES = 4 * 1024 * 1024

/**
 * Class directories whose entries are links (kept as links), with what to copy at each entry's
 * real path: block devices and network interfaces tell which PCI device holds the root
 * filesystem or the default route (host-critical devices); Thunderbolt domains report DMA protection.
 */
export const CLASS_DIRS = [
  {dir: '/sys/class/block', files: ['dm/name'], linkDirs: ['slaves'], linkPrefixes: []},
  {dir: '/sys/class/net', files: [], linkDirs: ['brif'], linkPrefixes: ['lower_']},
  {dir: '/sys/bus/thunderbolt/devices', files: ['iommu_dma_protection'], linkDirs: [], linkPrefixes: []},
] as const

export const HOST_FILES = [...Object.values(PLATFORM_FILES), '/proc/net/ipv6_route', '/proc/self/mountinfo']
export const HOST_LISTINGS = PLATFORM_LISTINGS

export const SNAPSHOT_META = 'meta.json'
export const SNAPSHOT_DMESG = 'dmesg.txt'

/** meta.json's own contract version (additive fields keep it). */
export const SNAPSHOT_META_SCHEMA_VERSION = 1

export interface SnapshotMeta {
  schemaVersion: typeof SNAPSHOT_META_SCHEMA_VERSION
  tool: 'vtd-check'
  toolVersion: string
  captureMethod: 'node' | 'sh'
  capturedAt: string
  hostname: string
  uid?: number
  /** Host paths (and "/dmesg.txt") that existed but could not be read: kept so --root replays them as unreadable. */
  unreadable: string[]
}
