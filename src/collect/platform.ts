/** Host-wide facts: kernel, CPU, ACPI tables, interrupts, VFIO nodes, DMI. */
import type {HostFs} from '../host/fs.js'
import {note, readTrimmed} from './sysfs.js'
import type {CollectedPlatform, Miss} from './types.js'

import {PLATFORM_FILES} from '../host/layout.js'

// The file lists are the snapshot contract (host/layout.ts), shared with the capture.
export {PLATFORM_FILES, PLATFORM_LISTINGS} from '../host/layout.js'

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
    iortTable: bytes(PLATFORM_FILES.iortTable),
    devVfio: fs.listDir('/dev/vfio'),
    devVfioDevices: fs.listDir('/dev/vfio/devices'),
    devIommuPresent: fs.realPath('/dev/iommu').ok,
    allowUnsafeInterrupts: fs.readText(PLATFORM_FILES.allowUnsafeInterrupts),
    hypervisorType: fs.readText(PLATFORM_FILES.hypervisorType),
    dmi: {
      sysVendor: readTrimmed(fs, PLATFORM_FILES.sysVendor, misses),
      productName: readTrimmed(fs, PLATFORM_FILES.productName, misses),
      biosVersion: readTrimmed(fs, PLATFORM_FILES.biosVersion, misses),
      chassisAssetTag: readTrimmed(fs, PLATFORM_FILES.chassisAssetTag, misses),
    },
    groupsDir: fs.listDir('/sys/kernel/iommu_groups'),
    iommuClassDir: fs.listDir('/sys/class/iommu'),
    pciDir: fs.listDir('/sys/bus/pci/devices'),
  }
}
