import {Args, Flags} from '../src/cli/oclif.js'
import {BaseCommand, jsonFlag, lspciDumpFlag} from '../src/cli/base.js'
import type {PassthroughPlan} from '../src/checks/plan.js'
import {runDevice} from '../src/cli/device-run.js'
import type {DeviceReport} from '../src/report/device.js'
import type {PciTreeView} from '../src/report/pci-tree.js'

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
    return runDevice({...flags, bdf: args.bdf}, this.driver())
  }
}
