/**
 * What `vtd-check device` does once its argument and flags are parsed, shared by the oclif command
 * (commands/device.ts) and the start without oclif (host-direct.ts).
 */
import {assessHost} from '../checks/assess.js'
import type {PassthroughPlan} from '../checks/plan.js'
import {renderPlan} from '../report/plan.js'
import {exitCodeFor, type Outcome} from '../checks/outcome.js'
import {parseBdf} from '../decode/pci-address.js'
import type {HostModel} from '../model/host.js'
import {findDevice, sysfsDetailsOf} from '../model/topology.js'
import {deviceReport, renderDeviceReport, type DeviceReport, type DeviceReportContext} from '../report/device.js'
import {parseKernelVersion} from '../replay/kernel-version.js'
import {acsControlReason} from '../replay/host-grouping.js'
import {deviceStreamIds} from '../replay/smmu-stream-ids.js'
import {pciTree, renderPciTree, type PciTreeView} from '../report/pci-tree.js'
import {loadHostModel, openHostRoot, pciNamesOf, type CommandDriver} from './host-model.js'

/** The command's argument (`bdf`) and flags as oclif's parse gives them (defaults applied). */
export interface DeviceFlags {
  bdf?: string | undefined
  root: string
  tree?: boolean | undefined
  'lspci-dump'?: string | undefined
  plan?: boolean | undefined
}

export async function runDevice(flags: DeviceFlags, driver: CommandDriver): Promise<DeviceReport | PciTreeView | (DeviceReport & {plan: PassthroughPlan})> {
  if (!flags.tree && flags.bdf === undefined) driver.error('which device? give a BDF, or --tree for all of them', {exit: 2, suggestions: ['vtd-check device 0000:01:00.0', 'vtd-check device --tree']})
  if (flags.bdf !== undefined && !parseBdf(flags.bdf)) driver.error(`"${flags.bdf}" is not a PCI address`, {exit: 2, suggestions: ['use the form 0000:01:00.0 (domain:bus:device.function) or 01:00.0']})
  const model = await loadHostModel({root: flags.root, lspciDump: flags['lspci-dump'], log: flags.plan, needsHostFiles: true}, driver)
  const topology = model.topology
  const names = pciNamesOf(openHostRoot(flags.root, driver))

  if (flags.tree) {
    const view = pciTree(topology, names, model.topologySource)
    if (!driver.json) driver.print(renderPciTree(view))
    const unknown = [...topology.devices.values()].some((fn) => fn.pcieType === 'unknown')
    process.exitCode = exitCodeFor(unknown ? ['unknown'] : [])
    return view
  }
  const fn = findDevice(topology, flags.bdf ?? '')
  if (!fn) {
    const wanted = flags.bdf ?? ''
    const near = [...topology.devices.keys()].filter((bdf) => bdf.includes(wanted.split('.')[0]?.slice(-5) ?? '')).slice(0, 5)
    driver.error(`no PCI device ${wanted} in ${model.topologySource}`, {exit: 2, suggestions: near.length ? near.map((bdf) => `vtd-check device ${bdf}`) : ['vtd-check device --tree']})
  }
  const sysfs = sysfsDetailsOf(topology, fn, model.devices.get(fn.bdf))
  const iort = model.pciOnly ? undefined : model.iort.table
  const kernelVersion = parseKernelVersion(model.kernel?.release)
  const streamIds = iort ? deviceStreamIds(topology, iort, fn.bdf, kernelVersion ? {kernelVersion} : {}) : undefined
  const report = deviceReport(topology, fn, {source: model.topologySource, names, ...dmarContext(model), ...(model.pciOnly ? {} : {iommuFamily: model.iommuFamily}), ...(sysfs ? {sysfs} : {}), ...(streamIds ? {streamIds} : {}), acsNotEnabledBecause: acsControlReason(model)})
  if (!driver.json) driver.print(renderDeviceReport(report))
  const outcomes: Outcome[] = report.warnings.length > 0 || report.upstream.some((hop) => hop.acs === 'unknown') || report.acs === 'unknown' ? ['unknown'] : []
  if (!flags.plan) {
    process.exitCode = exitCodeFor(outcomes)
    return report
  }
  // The plan is the check engine's, for this one device: the same verdict `check --device` gives.
  const checked = assessHost(model, {devices: [fn.bdf]})
  const plan = checked.plans[0]
  if (!plan) driver.error(`no passthrough plan could be made for ${fn.bdf}`, {exit: 2})
  if (!driver.json) driver.print('\n' + renderPlan(plan) + '\n')
  process.exitCode = exitCodeFor([...outcomes, ...checked.results.filter((r) => r.subject === fn.bdf).map((r) => r.outcome)])
  return {...report, plan}
}

/** RMRRs and the owning DRHD come from the host's DMAR table; an lspci dump alone has none. */
function dmarContext(model: HostModel): Pick<DeviceReportContext, 'dmar' | 'dmarNote' | 'rmrrsDoNotApply'> {
  const {read, table, scopes} = model.dmar
  if (table && scopes) return {dmar: {table, resolution: scopes}}
  if (model.pciOnly) return {dmarNote: 'an lspci dump carries no DMAR table'}
  if (!read.ok && read.reason === 'unreadable') return {dmarNote: 'the DMAR table is readable by root only'}
  // AMD-Vi has no RMRRs: its IVMD blocks play that role (`vtd-check ivrs` lists them).
  if (model.iommuFamily === 'amd-vi') return {rmrrsDoNotApply: true, dmarNote: 'an AMD-Vi host has no DMAR table; the IVRS table\'s IVMD blocks play their role: `vtd-check ivrs`'}
  if (model.iommuFamily === 'arm-smmu-v3') return {rmrrsDoNotApply: true, dmarNote: 'an Arm SMMU host has no DMAR table; the IORT\'s RMR nodes play their role: `vtd-check iort`'}
  return {dmarNote: 'no DMAR table (VT-d off in firmware, or not an Intel VT-d platform)'}
}
