/**
 * `vtd-check device` and `vtd-check groups` end to end through oclif, on real-kernel lab snapshots
 * and real lspci dumps. Expectations come from the snapshots' own sysfs files and READMEs.
 */
import {readdirSync, readFileSync, readlinkSync} from 'node:fs'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import Device from '../commands/device.js'
import type {DeviceReport} from '../src/report/device.js'
import {renderDeviceReport} from '../src/report/device.js'
import {collectGroups} from '../src/collect/groups.js'
import {bundledPciNames} from '../src/decode/pci-ids.js'
import {RootedHostFs} from '../src/host/fs.js'
import type {PciTopology} from '../src/model/pci.js'
import {loadTopology, topologyFromLspciDump} from '../src/model/topology.js'
import {groupList, renderGroupTable, renderGroupTree, type GroupList} from '../src/report/group-list.js'
import type {PciTreeView} from '../src/report/pci-tree.js'
import {fixturesDir, repoRoot, realData} from './support/paths.js'

let out = ''
beforeEach(() => {
  out = ''
  process.exitCode = undefined
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  vi.spyOn(console, 'log').mockImplementation(() => undefined)
})
afterEach(() => {
  vi.restoreAllMocks()
  process.exitCode = undefined
})

const lab = (name: string): string => path.join(fixturesDir, name)

describe('vtd-check device', () => {
  it('SR-IOV PF on a lab snapshot: identity, ACS path, group, unit, reset, VFs', async () => {
    const report = (await Device.run(['0000:01:00.0', '--root', lab('lab-sriov-nvme'), '--json'], repoRoot)) as DeviceReport
    expect(report.schemaVersion).toBe(1)
    expect(report.device.vendorId).toBe('0x1b36')
    expect(report.device.deviceId).toBe('0x0010')
    expect(report.device.driver).toBe('nvme')
    expect(report.device.kind).toBe('endpoint')
    const groupLink = readlinkSync(path.join(lab('lab-sriov-nvme'), 'sys/bus/pci/devices/0000:01:00.0/iommu_group'))
    expect(report.group !== 'unknown' && report.group.id).toBe(Number(path.basename(groupLink)))
    // README: 0000:00:1c.0 pcie-root-port (ACS) above the PF.
    expect(report.upstream.map((hop) => hop.bdf)).toEqual(['0000:00:1c.0'])
    expect(report.upstream[0]?.acs).toMatchObject({requiredEnabled: true, ctl: ['SV', 'RR', 'CR', 'UF']})
    expect(report.sriov).toMatchObject({role: 'pf', numVfs: 2, totalVfs: 2, virtfns: ['0000:01:00.1', '0000:01:00.2']})
    expect(report.reset.methods).toEqual(readFileSync(path.join(lab('lab-sriov-nvme'), 'sys/bus/pci/devices/0000:01:00.0/reset_method'), 'utf8').trim().split(' '))
    expect(report.unit?.name).toBe('dmar0')
    expect(report.rmrrs).toEqual([])
    expect(process.exitCode).toBe(0)
  })

  it('renders one screen of text with the ACS bits by name', async () => {
    await Device.run(['01:00.0', '--root', lab('lab-switch')], repoRoot)
    expect(out).toMatch(/^0000:01:00\.0 /)
    expect(out).toContain('Upstream path (to the root bus):')
    expect(out).toMatch(/0000:00:1c\.0 {2}root-port[^\n]*\n {6}ACS cap SV TB RR CR UF/)
    expect(out).toContain('Reset:')
  })

  it('a device on a non-root snapshot: unknowns said, exit 3', async () => {
    const name = readdirSync(path.join(lab('dev-vm-no-iommu-nonroot'), 'sys/bus/pci/devices')).at(-1)!
    const report = (await Device.run([name, '--root', lab('dev-vm-no-iommu-nonroot'), '--json'], repoRoot)) as DeviceReport
    expect(report.acs).toBe('unknown')
    // Kernel 6.18 hides reset_method when it knows no reset: none (what `check` says too), not unknown.
    expect(report.reset.methods).toEqual([])
    expect(report.reset.summary).toMatch(/^no reset method/)
    expect(report.warnings.join(' ')).toMatch(/run as root/)
    expect(process.exitCode).toBe(3)
  })

  it('--lspci-dump: the X99 PCH root port from a mailing-list post has no ACS capability', async () => {
    const dump = path.join(realData, 'pci/x99-i7-5930k-pch-acs-quirk-lspci-vvv-partial.txt')
    const report = (await Device.run(['00:1c.4', '--lspci-dump', dump, '--json'], repoRoot)) as DeviceReport
    expect(report.source).toBe(dump)
    expect(report.device.kind).toBe('root-port')
    expect(report.acs).toBe('absent')
    expect(report.rmrrs).toBe('unknown')
    const cpuPort = (await Device.run(['00:01.0', '--lspci-dump', dump, '--json'], repoRoot)) as DeviceReport
    expect(cpuPort.acs).toEqual({cap: ['SV', 'TB', 'RR', 'CR', 'UF'], ctl: ['SV', 'RR', 'CR', 'UF'], requiredEnabled: true, missing: []})
  })

  it('--tree on a lab with a switch nests ports and endpoints', async () => {
    const view = (await Device.run(['--tree', '--root', lab('lab-switch'), '--json'], repoRoot)) as PciTreeView
    const rootPort = view.roots[0]?.devices.find((node) => node.bdf === '0000:00:1c.0')
    expect(rootPort?.children.map((n) => n.bdf)).toEqual(['0000:01:00.0'])
    expect(rootPort?.children[0]?.children.map((n) => n.bdf)).toEqual(['0000:02:00.0', '0000:02:01.0', '0000:02:02.0'])
  })

  it('usage errors exit 2 with a message, never a stack trace', async () => {
    await expect(Device.run(['not-a-bdf', '--root', lab('lab-switch')], repoRoot)).rejects.toMatchObject({oclif: {exit: 2}, message: expect.stringMatching(/not a PCI address/)})
    await expect(Device.run(['0000:7f:00.0', '--root', lab('lab-switch')], repoRoot)).rejects.toMatchObject({oclif: {exit: 2}, message: expect.stringMatching(/no PCI device 0000:7f:00\.0/)})
    await expect(Device.run([], repoRoot)).rejects.toMatchObject({oclif: {exit: 2}})
  })

  it('the text renderer survives a report with every fact unknown', () => {
    const text = renderDeviceReport({
      schemaVersion: 1,
      source: 'x',
      device: {bdf: '0000:00:00.0', vendorId: '0xffff', deviceId: '0xffff', classCode: '0xff0000', kind: 'unknown', pcieType: 'unknown', multifunction: false, configBytes: 0, configProblems: ['<truncated at 0x0>']},
      upstream: [],
      acs: 'unknown',
      capabilities: {standard: [], standardComplete: false, extended: [], extendedComplete: false},
      features: {ari: 'unknown', ats: 'unknown', pri: 'unknown', pasid: 'unknown', flr: 'unknown'},
      group: 'unknown',
      slotSiblings: [],
      rmrrs: 'unknown',
      reset: {methods: 'unknown', summary: 'reset methods unknown'},
      sriov: {role: 'unknown', virtfns: []},
      warnings: [],
    })
    expect(text).toContain('ACS unknown')
    expect(text).toContain('<truncated at 0x0>')
  })
})

describe('group listing (src/report/group-list.ts, used by `groups --table/--tree`)', () => {
  const listFor = (root: string): {list: GroupList; topology: PciTopology} => {
    const fs = new RootedHostFs(root)
    const loaded = loadTopology(fs)
    if (!loaded.ok) throw new Error(loaded.error)
    return {list: groupList(loaded.topology, bundledPciNames, loaded.source, collectGroups(fs, [])), topology: loaded.topology}
  }

  it('lists exactly the kernel groups of a lab snapshot', () => {
    const root = lab('lab-switch')
    const {list} = listFor(root)
    const groupsDir = path.join(root, 'sys/kernel/iommu_groups')
    const expected = readdirSync(groupsDir)
      .map(Number)
      .sort((a, b) => a - b)
      .map((id) => ({id, devices: readdirSync(path.join(groupsDir, String(id), 'devices')).sort()}))
    expect(list.groups.map((g) => ({id: g.id, devices: g.devices}))).toEqual(expected)
    expect(list.groups[0]?.type).toBe(readFileSync(path.join(groupsDir, '0/type'), 'utf8').trim())
    expect(renderGroupTable(list)).toContain('0000:04:00.0')
  })

  it('the tree view nests a PCIe-to-PCI bridge group under the bridge', () => {
    const {list, topology} = listFor(lab('lab-pcie-pci-bridge'))
    expect(renderGroupTree(list, topology)).toMatch(/└─ 0000:01:00\.0 [^\n]*pcie-to-pci-bridge[^\n]*\n {3}├─ 0000:02:01\.0/)
  })

  it('groups from an lspci -vvvxxxx dump with IOMMU group lines', () => {
    const file = path.join(realData, 'pci/h310-coffeelake-desktop-gpu-lspci-xxxx.txt')
    const {topology} = topologyFromLspciDump(readFileSync(file, 'utf8'))
    const list = groupList(topology, bundledPciNames, file)
    // The listing beside the dump: "/sys/kernel/iommu_groups/N/devices/BDF" per line.
    const derived = readFileSync(path.join(realData, 'pci/h310-coffeelake-desktop-gpu-iommu-groups.txt'), 'utf8')
    const expected = new Map<number, string[]>()
    for (const [, id, bdf] of derived.matchAll(/iommu_groups\/(\d+)\/devices\/(\S+)/g)) expected.set(Number(id), [...(expected.get(Number(id)) ?? []), bdf ?? ''])
    expect(expected.size).toBeGreaterThan(0)
    expect(list.groups.map((g) => [g.id, g.devices])).toEqual([...expected.entries()].sort(([a], [b]) => a - b).map(([id, devices]) => [id, devices.sort()]))
  })

  it('no groups: says why (IOMMU off)', () => {
    const {list} = listFor(lab('lab-iommu-off'))
    expect(list.groups).toEqual([])
    expect(list.note).toMatch(/IOMMU is off/)
    expect(renderGroupTable(list)).toMatch(/IOMMU is off/)
  })
})

describe('device on AMD-Vi and Arm SMMU hosts', () => {
  it('lab-smmuv3: the StreamIDs of every DMA alias from the IORT; the last (the bridge alias) is the one QEMU saw its DMA arrive with', async () => {
    const report = (await Device.run(['0000:02:01.0', '--root', lab('lab-smmuv3'), '--json'], repoRoot)) as DeviceReport
    expect(report.streamIds).toEqual([
      {requester: '0000:02:01.0', relation: 'self', streamId: '0x208', smmu: 'SMMUv3 at 0x48 (0x9050000)'},
      {requester: '0000:02:00.0', relation: 'alias', via: '0000:01:00.0', streamId: '0x200', smmu: 'SMMUv3 at 0x48 (0x9050000)'},
    ])
    // lab-injected.txt: 02:01.0 wrote IOVA 0x7700000; QEMU's own trace recorded that event's StreamID.
    const traced = readFileSync(path.join(lab('lab-smmuv3'), 'qemu-stderr.txt'), 'utf8').split('\n').filter((l) => l.startsWith('smmuv3_record_event')).map((l) => /sid=(0x[0-9a-f]+)/.exec(l)?.[1])
    expect(traced).toContain(report.streamIds?.at(-1)?.streamId)
    expect(report.rmrrs).toBe('not-applicable')
  })

  it('RMRRs do not apply on AMD-Vi or Arm (not "unknown"), and the text says what plays their role', async () => {
    const amd = (await Device.run(['0000:04:01.0', '--root', lab('lab-amd-vi'), '--json'], repoRoot)) as DeviceReport
    expect(amd.rmrrs).toBe('not-applicable')
    expect(amd.streamIds).toBeUndefined()
    expect(renderDeviceReport(amd)).toMatch(/RMRRs: do not apply \(an AMD-Vi host has no DMAR table; the IVRS table's IVMD blocks/)
    const intel = (await Device.run(['0000:00:03.0', '--root', lab('lab-dma-faults'), '--json'], repoRoot)) as DeviceReport
    expect(intel.rmrrs).toEqual([])
  })
})
