/**
 * What `vtd-check groups` does once its flags are parsed, shared by the oclif command
 * (commands/groups.ts) and the start without oclif (host-direct.ts).
 */
import {exitCodeFor, type Outcome} from '../checks/outcome.js'
import type {Read} from '../host/fs.js'
import {parseBdf} from '../decode/pci-address.js'
import {findDevice} from '../model/topology.js'
import {crossCheckGroups, isolatingSlots, parseAcsOverride, parseKernelVersion, replayGrouping, type GroupingOptions} from '../replay/grouping.js'
import {hostGroupingOptions} from '../replay/host-grouping.js'
import {groupList, memberView, renderGroupLines, renderGroupTable, renderGroupTree} from '../report/group-list.js'
import {groupingReport, renderGroupingTree, renderWhy, whyReport, type GroupingReport, type WhyReport} from '../report/groups.js'
import {renderDot, renderMermaid, topologyPicture} from '../report/topology-picture.js'
import {loadHostModel, openHostRoot, pciNamesOf, type CommandDriver} from './host-model.js'

/** The command's flags as oclif's parse gives them (defaults applied). */
export interface GroupsFlags {
  root: string
  predict?: boolean | undefined
  'acs-override'?: string | undefined
  'kernel-version'?: string | undefined
  'pcie-switch-groups'?: boolean | undefined
  'acs-as-read'?: boolean | undefined
  'lspci-dump'?: string | undefined
  'lspci-verbose'?: string | undefined
  why?: string | undefined
  table?: boolean | undefined
  lines?: boolean | undefined
  tree?: boolean | undefined
  format: 'text' | 'mermaid' | 'dot'
}

export async function runGroups(flags: GroupsFlags, driver: CommandDriver): Promise<GroupingReport | WhyReport> {
  if (flags['kernel-version'] !== undefined && parseKernelVersion(flags['kernel-version']) === undefined)
    driver.error(`--kernel-version "${flags['kernel-version']}" is not a kernel version`, {exit: 2, suggestions: ['--kernel-version 5.9', '--kernel-version 6.8.0-45-generic']})
  if (flags.why !== undefined && parseBdf(flags.why) === undefined)
    driver.error(`--why "${flags.why}" is not a PCI address`, {exit: 2, suggestions: ['use the form 0000:01:00.0 (domain:bus:device.function) or 01:00.0']})
  const model = await loadHostModel({root: flags.root, lspciDump: flags['lspci-dump'], lspciVerbose: flags['lspci-verbose'], needsHostFiles: true}, driver)
  const topology = model.topology
  const source = model.topologySource
  // Unreadable device or group files leave the answer open (exit 3); other host files do not matter here.
  const misses = model.misses.filter((miss) => /^\/sys\/(bus\/pci|devices|kernel\/iommu_groups)\//.test(miss.path))

  let acsOverride: GroupingOptions['acsOverride']
  if (flags['acs-override'] !== undefined) {
    const parsed = parseAcsOverride(flags['acs-override'])
    if (parsed.errors.length > 0) driver.error(`--acs-override: ${parsed.errors.join('; ')}`, {exit: 2, suggestions: ['downstream', 'multifunction', 'id:8086:1901']})
    acsOverride = parsed.override
  }
  const onHost = !model.pciOnly
  const kernelVersion = flags['kernel-version'] ?? model.kernel?.release
  // pci=disable_acs_redir= / pci=config_acs= / pcie_acs_override= of the snapshot's boot change its groups.
  const cmdline = onHost ? textOf(model.host.platform.cmdline) : undefined
  const options: GroupingOptions = {
    ...(kernelVersion ? {kernelVersion} : {}),
    ...(cmdline ? {cmdline} : {}),
    assumeKernelEnablesAcs: !flags['acs-as-read'],
    pcieSwitchGroupsRework: flags['pcie-switch-groups'],
    ...(acsOverride ? {acsOverride} : {}),
    // The firmware's IVRS aliases belong to this host only, not to an lspci dump of another machine.
    ...(onHost && topology.source === 'sysfs' ? hostGroupingOptions(model) : {}),
  }
  const prediction = replayGrouping(topology, options)
  // --acs-override is a what-if: the kernel's groups are compared with (and slots judged by) the real boot's rules.
  const {acsOverride: _whatIf, ...realOptions} = options
  const realPrediction = acsOverride ? replayGrouping(topology, realOptions) : prediction
  const kernelGroups = onHost && topology.source === 'sysfs' ? model.kernelGroups : undefined
  const names = pciNamesOf(openHostRoot(flags.root, driver))
  const list = groupList(topology, names, source, kernelGroups)
  const predict = flags.predict || acsOverride !== undefined
  const crossCheck =
    list.groups.length > 0
      ? crossCheckGroups(topology, realPrediction, {cmdline, kernelLog: textOf(model.input.log), kernelVersion})
      : undefined
  const report = groupingReport({
    topology,
    prediction,
    list,
    mode: predict ? 'predicted' : 'kernel',
    source,
    crossCheck,
    slots: isolatingSlots(topology, realOptions),
    acsOverride: flags['acs-override'],
    names,
    ...(onHost ? {iommuFamily: model.iommuFamily} : {}),
  })

  let why: WhyReport | undefined
  if (flags.why !== undefined) {
    const dev = findDevice(topology, flags.why)
    if (!dev) driver.error(`no PCI device ${flags.why} in ${source}`, {exit: 2, suggestions: [...topology.devices.keys()].slice(0, 5)})
    why = whyReport(report, dev.bdf)
    if (!driver.json) driver.print(renderWhy(report, dev.bdf))
  } else if (flags.format !== 'text') {
    const picture = topologyPicture(topology, report, (bdf) => memberView(topology, names, bdf).name)
    driver.print(flags.format === 'mermaid' ? renderMermaid(picture) : renderDot(picture))
  } else if (!driver.json) {
    if (flags.lines && !predict) driver.print(renderGroupLines(list))
    else if (flags.table && !predict) driver.print(renderGroupTable(list, {width: driver.terminalWidth()}))
    else if (flags.tree && !predict) driver.print(renderGroupTree(list, topology))
    else driver.print(renderGroupingTree(report, {color: driver.colorEnabled()}))
  }
  if (acsOverride && !driver.json) driver.warn('pcie_acs_override splits groups without real isolation: see the WARNING above')
  const outcomes: Outcome[] = [...(crossCheck?.mismatches.map((m) => m.outcome) ?? []), ...(misses.length > 0 ? (['unknown'] as const) : [])]
  process.exitCode = exitCodeFor(outcomes)
  return why ?? report
}

const textOf = (read: Read<string>): string | undefined => (read.ok ? read.value : undefined)
