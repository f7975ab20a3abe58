import {Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag, lspciDumpFlag} from '../src/cli/base.js'
import {exitCodeFor, type Outcome} from '../src/checks/outcome.js'
import type {Read} from '../src/host/fs.js'
import {parseBdf} from '../src/decode/pci-address.js'
import {findDevice} from '../src/model/topology.js'
import {crossCheckGroups, isolatingSlots, parseAcsOverride, parseKernelVersion, replayGrouping, type GroupingOptions} from '../src/replay/grouping.js'
import {hostGroupingOptions} from '../src/replay/host-grouping.js'
import {groupList, memberView, renderGroupLines, renderGroupTable, renderGroupTree} from '../src/report/group-list.js'
import {groupingReport, renderGroupingTree, renderWhy, whyReport, type GroupingReport, type WhyReport} from '../src/report/groups.js'
import {renderDot, renderMermaid, topologyPicture} from '../src/report/topology-picture.js'

export default class Groups extends BaseCommand {
  static override summary = 'IOMMU groups, why devices share them, and what would change them'
  static override description = `Lists the kernel's IOMMU groups (/sys/kernel/iommu_groups, or the "IOMMU group" lines of an lspci dump) and explains every shared group by replaying the kernel's grouping algorithm: which bridge lacks which ACS bit, which functions of a multifunction device are not isolated, which PCIe-to-PCI bridge aliases its devices. The replay is cross-checked against the kernel's groups.
--predict computes the groups from the topology alone (works with the IOMMU off: ACS is modelled as the kernel sets it when the IOMMU is on). --acs-override answers "what if" for the out-of-tree pcie_acs_override patch. --why BDF explains one device.`

  static override examples = [
    '<%= config.bin %> groups',
    '<%= config.bin %> groups --why 01:00.0',
    '<%= config.bin %> groups --predict --root ./snapshot',
    '<%= config.bin %> groups --predict --acs-override downstream,multifunction',
    '<%= config.bin %> groups --predict --lspci-verbose lspci-vvv.txt --kernel-version 5.9',
    '<%= config.bin %> groups --format mermaid',
    '<%= config.bin %> groups --format dot | dot -Tsvg > groups.svg',
  ]

  static override flags = {
    json: jsonFlag('{schemaVersion, tool, iommuFamily, source, mode, groups[], ungrouped, notGrouped, assumptions, kernelRules, crossCheck, isolatingSlots}; with --why {schemaVersion, tool, source, mode, bdf, group, member}'),
    predict: Flags.boolean({description: 'compute groups from the topology alone, ignoring /sys/kernel/iommu_groups'}),
    'acs-override': Flags.string({
      description: 'what-if: replay with pcie_acs_override=downstream|multifunction|id:VVVV:DDDD (comma list); implies --predict',
    }),
    'kernel-version': Flags.string({description: 'replay the grouping rules of this kernel (e.g. 5.9); default: the snapshot\'s, else current'}),
    'pcie-switch-groups': Flags.boolean({description: 'what-if: one rule of the UNMERGED 2025 pcie_switch_groups series (in no release, not in linux-next): multifunction devices without ACS assumed isolated'}),
    'acs-as-read': Flags.boolean({description: 'use ACS Control exactly as read instead of as the kernel sets it with the IOMMU on'}),
    'lspci-dump': lspciDumpFlag,
    'lspci-verbose': Flags.file({description: 'take PCI devices from this `lspci -vvv` / `-vvvnn` text instead of sysfs', exists: true}),
    why: Flags.string({description: 'explain one device: its verdict, what must go with it, and why'}),
    table: Flags.boolean({description: 'plain table of the kernel groups (no explanations)', exclusive: ['tree', 'lines']}),
    lines: Flags.boolean({description: 'one line per device: group, BDF, [vendor:device], kind, driver, name (for grep and awk)', exclusive: ['tree']}),
    tree: Flags.boolean({description: 'each kernel group as a tree of its devices (no explanations)'}),
    format: Flags.option({
      options: ['text', 'mermaid', 'dot'] as const,
      default: 'text' as const,
      exclusive: ['json', 'why', 'table', 'tree', 'lines'],
      description: 'text (the explained report), mermaid (a flowchart that renders in GitHub issues) or dot (Graphviz): the PCI tree coloured by group, ACS on each hop',
    })(),
  }

  async run(): Promise<GroupingReport | WhyReport> {
    const {flags} = await this.parse(Groups)
    if (flags['kernel-version'] !== undefined && parseKernelVersion(flags['kernel-version']) === undefined)
      this.error(`--kernel-version "${flags['kernel-version']}" is not a kernel version`, {exit: 2, suggestions: ['--kernel-version 5.9', '--kernel-version 6.8.0-45-generic']})
    if (flags.why !== undefined && parseBdf(flags.why) === undefined)
      this.error(`--why "${flags.why}" is not a PCI address`, {exit: 2, suggestions: ['use the form 0000:01:00.0 (domain:bus:device.function) or 01:00.0']})
    const model = await this.loadModel({root: flags.root, lspciDump: flags['lspci-dump'], lspciVerbose: flags['lspci-verbose'], needsHostFiles: true})
    const topology = model.topology
    const source = model.topologySource
    // Unreadable device or group files leave the answer open (exit 3); other host files do not matter here.
    const misses = model.misses.filter((miss) => /^\/sys\/(bus\/pci|devices|kernel\/iommu_groups)\//.test(miss.path))

    let acsOverride: GroupingOptions['acsOverride']
    if (flags['acs-override'] !== undefined) {
      const parsed = parseAcsOverride(flags['acs-override'])
      if (parsed.errors.length > 0) this.error(`--acs-override: ${parsed.errors.join('; ')}`, {exit: 2, suggestions: ['downstream', 'multifunction', 'id:8086:1901']})
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
    const names = this.pciNames(this.hostFs(flags.root))
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
      if (!dev) this.error(`no PCI device ${flags.why} in ${source}`, {exit: 2, suggestions: [...topology.devices.keys()].slice(0, 5)})
      why = whyReport(report, dev.bdf)
      if (!this.jsonEnabled()) this.print(renderWhy(report, dev.bdf))
    } else if (flags.format !== 'text') {
      const picture = topologyPicture(topology, report, (bdf) => memberView(topology, names, bdf).name)
      this.print(flags.format === 'mermaid' ? renderMermaid(picture) : renderDot(picture))
    } else if (!this.jsonEnabled()) {
      if (flags.lines && !predict) this.print(renderGroupLines(list))
      else if (flags.table && !predict) this.print(renderGroupTable(list, {width: this.terminalWidth()}))
      else if (flags.tree && !predict) this.print(renderGroupTree(list, topology))
      else this.print(renderGroupingTree(report, {color: this.colorEnabled()}))
    }
    if (acsOverride && !this.jsonEnabled()) this.warn('pcie_acs_override splits groups without real isolation: see the WARNING above')
    const outcomes: Outcome[] = [...(crossCheck?.mismatches.map((m) => m.outcome) ?? []), ...(misses.length > 0 ? (['unknown'] as const) : [])]
    process.exitCode = exitCodeFor(outcomes)
    return why ?? report
  }
}

const textOf = (read: Read<string>): string | undefined => (read.ok ? read.value : undefined)
