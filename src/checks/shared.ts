/** Small facts several checks share: is an IOMMU translating, is this Intel, what is a device. */
import type {CollectedPciDevice} from '../collect/types.js'
import type {AssessmentContext} from './context.js'
import {ev, verdict, type Verdict} from './types.js'

export const PATHS = {
  iommuClass: '/sys/class/iommu',
  groups: '/sys/kernel/iommu_groups',
  dmar: '/sys/firmware/acpi/tables/DMAR',
  ivrs: '/sys/firmware/acpi/tables/IVRS',
  iort: '/sys/firmware/acpi/tables/IORT',
  cmdline: '/proc/cmdline',
  cpuinfo: '/proc/cpuinfo',
  interrupts: '/proc/interrupts',
  pci: '/sys/bus/pci/devices',
  allowUnsafe: '/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts',
} as const

/**
 * Findings that two commands state (check and units): one wording each, so they read the same.
 */
export const WORDING = {
  noIommu: 'no IOMMU: DMA remapping is not active, so no device can be passed through safely',
  noIommuHere: 'no IOMMU on this host',
  noEim: 'xAPIC mode because the remapping hardware has no extended interrupt mode (EIM): at most 255 APIC IDs, fine below 256 CPUs',
  noXt: 'xAPIC mode because the IOMMU has no x2APIC interrupt support (XT): at most 255 APIC IDs, fine below 256 CPUs',
  irOff: 'interrupt remapping is off: VFIO refuses device assignment (unless allow_unsafe_interrupts=1), and a guest could inject interrupts',
} as const

export const DOCS = {
  kernelIommu: 'https://docs.kernel.org/arch/x86/iommu.html',
  kernelParams: 'https://docs.kernel.org/admin-guide/kernel-parameters.html',
  vfio: 'https://docs.kernel.org/driver-api/vfio.html',
  iommufd: 'https://docs.kernel.org/userspace-api/iommufd.html',
  sysfsIommu: 'https://docs.kernel.org/ABI/testing/sysfs-kernel-iommu_groups',
  sysfsPci: 'https://docs.kernel.org/ABI/testing/sysfs-bus-pci',
  thunderbolt: 'https://docs.kernel.org/admin-guide/thunderbolt.html',
  sriov: 'https://docs.kernel.org/PCI/pci-iov-howto.html',
  amdIommu: 'https://docs.kernel.org/arch/x86/amd-memory-encryption.html',
  vtdSpec: 'https://www.intel.com/content/www/us/en/content-details/774206/intel-virtualization-technology-for-directed-i-o-architecture-specification.html',
  archPassthrough: 'https://wiki.archlinux.org/title/PCI_passthrough_via_OVMF',
} as const

/** DMA remapping is on: remapping units registered and groups exist (not a cmdline string). */
export function iommuActive(ctx: AssessmentContext): boolean {
  return ctx.host.units.length > 0 && ctx.host.groups.length > 0
}

/**
 * Intel-only checks answer not-applicable on AMD or on a host with no IOMMU at all, with a
 * pointer to where the real answer is (never a false fail: cnspec#3835, oci-utils#6).
 */
export function intelOnly(ctx: AssessmentContext): Verdict | undefined {
  const family = ctx.iommuFamilyView
  if (family.family === 'amd-vi')
    return verdict('not-applicable', 'AMD-Vi platform (IOMMU amd-vi): this VT-d check does not apply', [ev(`AMD-Vi: ${family.basis}; no Intel DMAR`)], [
      'AMD IOMMU readiness: see platform.dma-remapping, platform.ivrs-valid and interrupts.remapping, and https://docs.kernel.org/admin-guide/kernel-parameters.html (amd_iommu=)',
    ])
  if (family.family === 'arm-smmu-v3')
    return verdict('not-applicable', 'Arm SMMUv3 platform (IOMMU arm-smmu-v3): this VT-d check does not apply', [ev(`SMMUv3: ${family.basis}; no Intel DMAR`)])
  if (family.family === 'other')
    return verdict('not-applicable', `the active IOMMU is not VT-d (${ctx.host.units.map((u) => u.name).join(', ')}): this check does not apply`, [ev('no DMAR table, no dmar units', PATHS.iommuClass)])
  if (ctx.iommuVendor === 'none')
    return verdict('not-applicable', `${WORDING.noIommuHere}: see platform.dma-remapping`, [ev('no DMAR table, no remapping units')])
  return undefined
}

/** Checks that only mean something once DMA remapping works. */
export function needsActiveIommu(ctx: AssessmentContext): Verdict | undefined {
  if (iommuActive(ctx)) return undefined
  return verdict('not-applicable', 'DMA remapping is not active: see platform.dma-remapping', [ev(`${ctx.host.units.length} remapping units, ${ctx.host.groups.length} IOMMU groups`, PATHS.groups)])
}

export function hex4(n: number | undefined): string {
  return n === undefined ? '????' : n.toString(16).padStart(4, '0')
}

export function classBase(device: CollectedPciDevice | undefined): number | undefined {
  return device?.classCode === undefined ? undefined : device.classCode >> 16
}

/** Bridges and ports may stay on pcieport in a VFIO group (vtd-reference §10.5). */
export function isBridge(device: CollectedPciDevice | undefined): boolean {
  return device?.classCode !== undefined && device.classCode >> 8 === 0x0604
}

export function isHostBridge(device: CollectedPciDevice | undefined): boolean {
  return device?.classCode !== undefined && device.classCode >> 8 === 0x0600
}

const CLASS_NAMES: Record<number, string> = {
  0x0100: 'SCSI controller', 0x0101: 'IDE controller', 0x0104: 'RAID controller', 0x0106: 'SATA controller', 0x0107: 'SAS controller', 0x0108: 'NVMe controller',
  0x0200: 'Ethernet controller', 0x0280: 'Network controller', 0x0207: 'InfiniBand controller',
  0x0300: 'VGA controller', 0x0302: '3D controller', 0x0380: 'Display controller',
  0x0401: 'Audio device', 0x0403: 'HD audio', 0x0480: 'Multimedia controller',
  0x0600: 'Host bridge', 0x0601: 'ISA bridge', 0x0604: 'PCI bridge', 0x0680: 'Bridge',
  0x0c03: 'USB controller', 0x0c05: 'SMBus', 0x0c80: 'Serial bus controller', 0x1180: 'Signal processing controller', 0x0880: 'System peripheral', 0x0b40: 'Co-processor', 0x1200: 'Processing accelerator',
  0x0000: 'Unclassified device', 0xff00: 'Unassigned class',
}

/** "0000:01:00.0 (10de:2204 VGA controller, nvidia)". */
export function describeDevice(ctx: AssessmentContext, bdf: string): string {
  const d = ctx.devices.get(bdf)
  if (!d) return bdf
  const kind = d.classCode === undefined ? 'device' : (CLASS_NAMES[d.classCode >> 8] ?? `class ${d.classCode.toString(16).padStart(6, '0')}`)
  return `${bdf} (${hex4(d.vendor)}:${hex4(d.device)} ${kind}${d.driver ? `, ${d.driver}` : ', no driver'})`
}

export function groupMembers(ctx: AssessmentContext, bdf: string): string[] {
  return ctx.groupOf.get(bdf)?.devices ?? []
}

/** Parsed `reserved_regions` lines. */
export function reservedRegions(text: string | undefined): Array<{start: string; end: string; type: string}> {
  if (!text) return []
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f): f is [string, string, string] => f.length >= 3 && f[0] !== undefined && f[1] !== undefined && f[2] !== undefined)
    .map(([start, end, type]) => ({start, end, type}))
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`
}
