/**
 * The grouping replay of the host itself — its kernel version's rules and its boot's ACS
 * parameters (pci=disable_acs_redir=, pci=config_acs=, pcie_acs_override=) and its firmware's IVRS
 * alias entries — derived from the model once per run, so every reader explains the kernel's groups with the same replay.
 */
import type {HostModel} from '../model/host.js'
import {replayGrouping, type GroupingOptions, type GroupingPrediction} from './grouping.js'

/**
 * What the host's firmware adds to the grouping: on AMD-Vi with a readable IVRS table, its alias
 * entries (and the IVRS itself, for pci_quirk_amd_sb_acs); nothing otherwise, so the replay says
 * the answer depends on the firmware's IVRS when an AMD IOMMU is seen without its table.
 */
export function hostGroupingOptions(model: HostModel): Pick<GroupingOptions, 'acpiIvrs' | 'ivrsAliases' | 'assumeKernelEnablesAcs' | 'acsNotEnabledBecause'> {
  const {table, aliases} = model.ivrs
  if (table) return {acpiIvrs: true, ivrsAliases: aliases}
  const noAcs = deviceTreeSmmuBoot(model)
  return noAcs ? {assumeKernelEnablesAcs: false, acsNotEnabledBecause: noAcs} : {}
}

/**
 * An Arm SMMU described by the device tree: the kernel requests ACS only in of_iommu_configure()
 * (drivers/iommu/of_iommu.c), when a driver first probes a device, after pci_enable_acs()
 * (drivers/pci/pci.c) has run for every enumerated device without the request — so no port's ACS
 * is enabled and the groups are those of ACS Control as the firmware left it (lab-smmuv3-dt:
 * Debian's 6.1 puts each root port in one group with its endpoint). With ACPI the IORT code
 * requests ACS before PCI enumeration (iort_init_platform_devices). Returns why, or undefined.
 */
function deviceTreeSmmuBoot(model: HostModel): string | undefined {
  if (model.iommuFamily !== 'arm-smmu-v3' || model.iort.table !== undefined) return undefined
  const cmdline = model.host.platform.cmdline
  const acpiOff = (cmdline.ok && /(^|\s)acpi=off(\s|$)/.test(cmdline.value)) || model.log.lines.some((l) => l.includes('ACPI: Interpreter disabled'))
  return acpiOff ? 'the SMMU comes from the device tree (no ACPI, no IORT), whose of_iommu_configure() requests ACS only after the PCI devices were enumerated' : undefined
}

export function hostGrouping(model: HostModel): GroupingPrediction {
  return model.derive('grouping-replay:host', (m) => {
    const cmdline = m.host.platform.cmdline
    return replayGrouping(m.topology, {...(m.kernel ? {kernelVersion: m.kernel.release} : {}), ...(cmdline.ok ? {cmdline: cmdline.value} : {}), ...hostGroupingOptions(m)})
  })
}
