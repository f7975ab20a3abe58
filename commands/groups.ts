import {Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag, lspciDumpFlag} from '../src/cli/base.js'
import {runGroups} from '../src/cli/groups-run.js'
import type {GroupingReport, WhyReport} from '../src/report/groups.js'

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
    return runGroups(flags, this.driver())
  }
}
