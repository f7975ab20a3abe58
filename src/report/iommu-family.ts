/**
 * One wording of the IOMMU family for every command (check, units, groups, the HTML report), so
 * they state it the same way: the family's id as JSON names it (`iommuFamily`), then its name.
 */
import {IOMMU_FAMILY_NAMES, type IommuFamily} from '../model/host.js'

/** "IOMMU amd-vi (AMD-Vi)", "IOMMU intel-vtd (Intel VT-d) present, DMA remapping off", "IOMMU none". */
export function iommuFamilyWords(family: IommuFamily, active?: boolean): string {
  if (family === 'none') return 'IOMMU none'
  return `IOMMU ${family} (${IOMMU_FAMILY_NAMES[family]})${active === false ? ' present, DMA remapping off' : ''}`
}
