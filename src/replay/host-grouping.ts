/**
 * The grouping replay of the host itself — its kernel version's rules and its boot's ACS
 * parameters (pci=disable_acs_redir=, pci=config_acs=, pcie_acs_override=) — derived from the
 * model once per run, so every reader explains the kernel's groups with the same replay.
 */
import type {HostModel} from '../model/host.js'
import {replayGrouping, type GroupingPrediction} from './grouping.js'

export function hostGrouping(model: HostModel): GroupingPrediction {
  return model.derive('grouping-replay:host', (m) => {
    const cmdline = m.host.platform.cmdline
    return replayGrouping(m.topology, {...(m.kernel ? {kernelVersion: m.kernel.release} : {}), ...(cmdline.ok ? {cmdline: cmdline.value} : {})})
  })
}
