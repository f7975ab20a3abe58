import {Args, Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag, lspciDumpFlag} from '../src/cli/base.js'
import {assessHost} from '../src/checks/assess.js'
import type {PassthroughPlan} from '../src/checks/plan.js'
import {renderPlan} from '../src/report/plan.js'
import {exitCodeFor, type Outcome} from '../src/checks/outcome.js'
import {parseBdf} from '../src/decode/pci-address.js'
import type {HostModel} from '../src/model/host.js'
import {findDevice, sysfsDetailsOf} from '../src/model/topology.js'
import {deviceReport, renderDeviceReport, type DeviceReport, type DeviceReportContext} from '../src/report/device.js'
import {parseKernelVersion} from '../src/replay/kernel-version.js'
import {acsControlReason} from '../src/replay/host-grouping.js'
import {deviceStreamIds} from '../src/replay/smmu-stream-ids.js'
import {pciTree, renderPciTree, type PciTreeView} from '../src/report/pci-tree.js'

export default class Device extends BaseCommand {
  static override summary = 'Everything about one PCI device: identity, upstream ACS path, capabilities, group, RMRRs, reset, SR-IOV'
  static override description = `Reads sysfs (or an lspci hex dump with --lspci-dump) and shows, for one device: vendor and device names, each bridge up to the root with its ACS capability and control bits, the capabilities in config space, the IOMMU group and its other members, the remapping unit and any RMRR naming the device, the bound driver, how it can be reset (FLR, or a bus reset that also hits its siblings) and its SR-IOV state.

Without root only 64 bytes of config space are readable: what lives beyond them is shown as unknown, and the exit code is 3.`

  static override examples = [
    '<%= config.bin %> device 0000:01:00.0',
    '<%= config.bin %> device 01:00.0 --json',
    'sudo <%= config.bin %> device 0000:01:00.0 --plan',
    '<%= config.bin %> device --tree',
    '<%= config.bin %> device 00:1c.4 --lspci-dump forum-post.txt',
  ]

  static override args = {
    bdf: Args.string({description: 'the device, as 0000:01:00.0 or 01:00.0 (segment 0)', required: false}),
  }

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, iommuFamily, source, device, upstream, acs, capabilities, features, group, slotSiblings, unit, rmrrs, streamIds (Arm, from the IORT), reset, sriov, warnings, plan (with --plan)}; with --tree {schemaVersion, tool, source, roots}'),
    tree: Flags.boolean({description: 'print the whole PCI hierarchy instead of one device'}),
    'lspci-dump': lspciDumpFlag,
    plan: Flags.boolean({description: 'also print the passthrough plan: what goes to vfio-pci with it, what it takes from the host, blockers and the commands to fix them', exclusive: ['tree', 'lspci-dump']}),
  }

  async run(): Promise<DeviceReport | PciTreeView | (DeviceReport & {plan: PassthroughPlan})> {
    const {args, flags} = await this.parse(Device)
    if (!flags.tree && args.bdf === undefined) this.error('which device? give a BDF, or --tree for all of them', {exit: 2, suggestions: ['vtd-check device 0000:01:00.0', 'vtd-check device --tree']})
    if (args.bdf !== undefined && !parseBdf(args.bdf)) this.error(`"${args.bdf}" is not a PCI address`, {exit: 2, suggestions: ['use the form 0000:01:00.0 (domain:bus:device.function) or 01:00.0']})
    const model = await this.loadModel({root: flags.root, lspciDump: flags['lspci-dump'], log: flags.plan, needsHostFiles: true})
    const topology = model.topology
    const names = this.pciNames(this.hostFs(flags.root))

    if (flags.tree) {
      const view = pciTree(topology, names, model.topologySource)
      if (!this.jsonEnabled()) this.print(renderPciTree(view))
      const unknown = [...topology.devices.values()].some((fn) => fn.pcieType === 'unknown')
      process.exitCode = exitCodeFor(unknown ? ['unknown'] : [])
      return view
    }
    const fn = findDevice(topology, args.bdf ?? '')
    if (!fn) {
      const wanted = args.bdf ?? ''
      const near = [...topology.devices.keys()].filter((bdf) => bdf.includes(wanted.split('.')[0]?.slice(-5) ?? '')).slice(0, 5)
      this.error(`no PCI device ${wanted} in ${model.topologySource}`, {exit: 2, suggestions: near.length ? near.map((bdf) => `vtd-check device ${bdf}`) : ['vtd-check device --tree']})
    }
    const sysfs = sysfsDetailsOf(topology, fn, model.devices.get(fn.bdf))
    const iort = model.pciOnly ? undefined : model.iort.table
    const kernelVersion = parseKernelVersion(model.kernel?.release)
    const streamIds = iort ? deviceStreamIds(topology, iort, fn.bdf, kernelVersion ? {kernelVersion} : {}) : undefined
    const report = deviceReport(topology, fn, {source: model.topologySource, names, ...dmarContext(model), ...(model.pciOnly ? {} : {iommuFamily: model.iommuFamily}), ...(sysfs ? {sysfs} : {}), ...(streamIds ? {streamIds} : {}), acsNotEnabledBecause: acsControlReason(model)})
    if (!this.jsonEnabled()) this.print(renderDeviceReport(report))
    const outcomes: Outcome[] = report.warnings.length > 0 || report.upstream.some((hop) => hop.acs === 'unknown') || report.acs === 'unknown' ? ['unknown'] : []
    if (!flags.plan) {
      process.exitCode = exitCodeFor(outcomes)
      return report
    }
    // The plan is the check engine's, for this one device: the same verdict `check --device` gives.
    const checked = assessHost(model, {devices: [fn.bdf]})
    const plan = checked.plans[0]
    if (!plan) this.error(`no passthrough plan could be made for ${fn.bdf}`, {exit: 2})
    if (!this.jsonEnabled()) this.print('\n' + renderPlan(plan) + '\n')
    process.exitCode = exitCodeFor([...outcomes, ...checked.results.filter((r) => r.subject === fn.bdf).map((r) => r.outcome)])
    return {...report, plan}
  }
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
