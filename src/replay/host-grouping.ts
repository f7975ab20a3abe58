/**
 * The grouping replay of the host itself — its kernel version's rules and its boot's ACS
 * parameters (pci=disable_acs_redir=, pci=config_acs=, pcie_acs_override=) and its firmware's IVRS
 * alias entries — derived from the model once per run, so every reader explains the kernel's groups with the same replay.
 */
import type {HostModel} from '../model/host.js'
import {acsControlChange, parseAcsKernelParams} from './acs-params.js'
import {replayGrouping, type GroupingOptions, type GroupingPrediction} from './grouping.js'
import {parseKernelVersion} from './kernel-version.js'

/**
 * What the host adds to the grouping: on AMD-Vi with a readable IVRS table, its alias entries (and
 * the IVRS itself, for pci_quirk_amd_sb_acs), so without the table the replay says the answer depends
 * on it; and, when the kernel never requested ACS (model.acsNotRequested), why its ports keep ACS
 * Control as the firmware left it — replayed as read when the IOMMU translates all the same.
 */
export function hostGroupingOptions(model: HostModel): Pick<GroupingOptions, 'acpiIvrs' | 'ivrsAliases' | 'assumeKernelEnablesAcs' | 'acsNotEnabledBecause'> {
  const {table, aliases} = model.ivrs
  const notRequested = model.acsNotRequested
  return {
    ...(table ? {acpiIvrs: true, ivrsAliases: aliases} : {}),
    ...(notRequested ? {acsNotEnabledBecause: notRequested.because} : {}),
    ...(notRequested?.iommuOn ? {assumeKernelEnablesAcs: false} : {}),
  }
}

export function hostGrouping(model: HostModel): GroupingPrediction {
  return model.derive('grouping-replay:host', (m) => {
    const cmdline = m.host.platform.cmdline
    return replayGrouping(m.topology, {...(m.kernel ? {kernelVersion: m.kernel.release} : {}), ...(cmdline.ok ? {cmdline: cmdline.value} : {}), ...hostGroupingOptions(m)})
  })
}

/**
 * Why one port's ACS Control reads as it does, for the views that show a single port's bits: the
 * boot's `pci=config_acs=` / `pci=disable_acs_redir=` entry that names it (as the replay applies it),
 * else why the kernel never requested ACS (model.acsNotRequested), else nothing.
 */
export function acsControlReason(model: HostModel): (bdf: string) => string | undefined {
  const hostWide = model.acsNotRequested?.because
  const cmdline = model.host.platform.cmdline
  const params = model.pciOnly || !cmdline.ok ? undefined : parseAcsKernelParams(cmdline.value)
  if (!params || params.disableAcsRedir.length + params.configAcs.length === 0) return () => hostWide
  const version = parseKernelVersion(model.kernel?.release)
  return (bdf) => {
    const dev = model.topology.devices.get(bdf)
    return (dev ? acsControlChange(model.topology, dev, params, version)?.text : undefined) ?? hostWide
  }
}
