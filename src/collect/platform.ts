/** Host-wide facts: kernel, CPU, ACPI tables, interrupts, VFIO nodes, DMI. */
import type {HostFs} from '../host/fs.js'
import {note, readTrimmed} from './sysfs.js'
import type {CollectedPlatform, Miss} from './types.js'

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
  allowUnsafeInterrupts: '/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts',
  hypervisorType: '/sys/hypervisor/type',
  sysVendor: '/sys/class/dmi/id/sys_vendor',
  productName: '/sys/class/dmi/id/product_name',
  biosVersion: '/sys/class/dmi/id/bios_version',
  netRoute: '/proc/net/route',
  mounts: '/proc/mounts',
} as const

/** Directories whose entry names (not contents) matter. */
export const PLATFORM_LISTINGS = ['/dev/vfio', '/dev/vfio/devices', '/dev/iommu'] as const

export function collectPlatform(fs: HostFs, misses: Miss[]): CollectedPlatform {
  const text = (path: string) => {
    const read = fs.readText(path)
    note(read, misses)
    return read
  }
  const bytes = (path: string) => {
    const read = fs.readBytes(path)
    note(read, misses)
    return read
  }
  return {
    cmdline: text(PLATFORM_FILES.cmdline),
    cpuinfo: text(PLATFORM_FILES.cpuinfo),
    kernelRelease: text(PLATFORM_FILES.kernelRelease),
    kernelVersion: text(PLATFORM_FILES.kernelVersion),
    interrupts: text(PLATFORM_FILES.interrupts),
    dmarTable: bytes(PLATFORM_FILES.dmarTable),
    ivrsTable: bytes(PLATFORM_FILES.ivrsTable),
    devVfio: fs.listDir('/dev/vfio'),
    devVfioDevices: fs.listDir('/dev/vfio/devices'),
    devIommuPresent: fs.realPath('/dev/iommu').ok,
    allowUnsafeInterrupts: fs.readText(PLATFORM_FILES.allowUnsafeInterrupts),
    hypervisorType: fs.readText(PLATFORM_FILES.hypervisorType),
    dmi: {
      sysVendor: readTrimmed(fs, PLATFORM_FILES.sysVendor, misses),
      productName: readTrimmed(fs, PLATFORM_FILES.productName, misses),
      biosVersion: readTrimmed(fs, PLATFORM_FILES.biosVersion, misses),
    },
    groupsDir: fs.listDir('/sys/kernel/iommu_groups'),
    iommuClassDir: fs.listDir('/sys/class/iommu'),
    pciDir: fs.listDir('/sys/bus/pci/devices'),
  }
}
