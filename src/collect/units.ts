/**
 * Remapping units from /sys/class/iommu: Intel dmarN (intel-iommu/), AMD ivhdN (amd-iommu/), Arm
 * SMMUv3 smmu3.<base address> (the driver publishes no register files: only its devices).
 */
import type {HostFs} from '../host/fs.js'
import {note, readHex64, readInt, readTrimmed} from './sysfs.js'
import type {CollectedUnit, Miss} from './types.js'

export const IOMMU_CLASS_DIR = '/sys/class/iommu'

export function collectUnits(fs: HostFs, misses: Miss[]): CollectedUnit[] {
  const names = note(fs.listDir(IOMMU_CLASS_DIR), misses) ?? []
  return names
    .sort((a, b) => a.localeCompare(b, 'en', {numeric: true}))
    .map((name) => {
      const dir = `${IOMMU_CLASS_DIR}/${name}`
      const devices = note(fs.listDir(`${dir}/devices`), misses) ?? []
      if (fs.isDirectory(`${dir}/intel-iommu`)) {
        const at = `${dir}/intel-iommu`
        return {
          name,
          vendor: 'intel' as const,
          version: readTrimmed(fs, `${at}/version`, misses),
          address: readHex64(fs, `${at}/address`, misses),
          cap: readHex64(fs, `${at}/cap`, misses),
          ecap: readHex64(fs, `${at}/ecap`, misses),
          domainsSupported: readInt(fs, `${at}/domains_supported`, misses),
          domainsUsed: readInt(fs, `${at}/domains_used`, misses),
          devices,
        }
      }
      if (fs.isDirectory(`${dir}/amd-iommu`)) {
        const at = `${dir}/amd-iommu`
        return {name, vendor: 'amd' as const, cap: readHex64(fs, `${at}/cap`, misses), features: readTrimmed(fs, `${at}/features`, misses), devices}
      }
      // arm-smmu-v3 registers its unit as "smmu3.%pa" (arm-smmu v1/v2: "smmu.%pa").
      if (name.startsWith('smmu3.')) {
        const link = fs.readLink(dir)
        const kernelDevice = link.ok ? /\/([^/]+)\/iommu\/[^/]+$/.exec(link.value)?.[1] : undefined
        return {name, vendor: 'arm-smmu-v3' as const, devices, ...(kernelDevice === undefined ? {} : {kernelDevice})}
      }
      return {name, vendor: 'other' as const, devices}
    })
}
