/** The kernel's grouping rules one by one (vtd-reference §6), on small topologies modelled on real cases. */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeLspciVerbose} from '../src/decode/lspci-verbose.js'
import {ACS, PCIE_TYPE, REQ_ACS_FLAGS} from '../src/model/pci.js'
import {
  crossCheckGroups,
  deviceIsolation,
  dmaAliasDevfns,
  kernelProbeOrder,
  parseAcsOverride,
  replayGrouping,
} from '../src/replay/grouping.js'
import {fn, port, topology} from './fixtures/groups/make-topology.js'

const dataDir = path.resolve(import.meta.dirname, '..', 'test/fixtures/real/pci')
const coffee = () => decodeLspciVerbose(readFileSync(path.join(dataDir, 'coffeelake-h-laptop-aspm-lspci-vvv.txt'), 'utf8')).topology
const ACS_ALL = {cap: ACS.SV | ACS.TB | ACS.RR | ACS.CR | ACS.UF, ctl: REQ_ACS_FLAGS}

describe('DMA aliases: PCIe-to-PCI bridges', () => {
  // A root port with ACS, a PCIe-to-PCI bridge below it (bus 02 → 03), two conventional PCI cards.
  const build = () =>
    topology([
      port('0000:00:1c.0', 0x01, {acs: ACS_ALL}),
      fn({bdf: '0000:01:00.0', headerType: 1, classCode: 0x060400, pcieType: PCIE_TYPE.pcieToPciBridge, secondaryBus: 0x02, subordinateBus: 0x02}),
      fn({bdf: '0000:02:01.0', pcieType: undefined}),
      fn({bdf: '0000:02:02.0', pcieType: undefined}),
    ])
  it('conventional devices behind the bridge share its group; the reason names the re-tagged requester id', () => {
    const p = replayGrouping(build())
    expect(p.groupOf.get('0000:02:01.0')).toBe(p.groupOf.get('0000:01:00.0'))
    expect(p.groupOf.get('0000:02:02.0')).toBe(p.groupOf.get('0000:01:00.0'))
    expect(p.groupOf.get('0000:00:1c.0')).not.toBe(p.groupOf.get('0000:01:00.0'))
    const group = p.groups[p.groupOf.get('0000:02:01.0') ?? -1]
    expect(group?.reasons.join('\n')).toMatch(/02:01\.0 shares a requester id with 01:00\.0: its DMA is seen as coming from PCIe-to-PCI bridge 01:00\.0, which re-tags requests from behind it as 02:00\.0/)
  })
  it('ASPEED AST1150 (PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS, 7.0): a 7.0 replay keeps requester ids, the cards are still grouped via the bridge failing ACS', () => {
    const t = build()
    const bridge = t.devices.get('0000:01:00.0')
    if (!bridge) throw new Error('missing')
    bridge.vendorId = 0x1a03
    bridge.deviceId = 0x1150
    const p = replayGrouping(t, {kernelVersion: '7.0'})
    expect(p.groupOf.get('0000:02:01.0')).toBe(p.groupOf.get('0000:01:00.0'))
    expect(p.groups[p.groupOf.get('0000:02:01.0') ?? -1]?.reasons.join('\n')).toMatch(/^02:01\.0 sits below 01:00\.0 \(PCIe-to-PCI bridges never provide ACS isolation\)$/m)
    // Up to 6.18 (and by default) the flag does not exist: the bridge re-tags as 02:00.0 (search.c).
    for (const options of [{}, {kernelVersion: '6.18'}]) {
      const old = replayGrouping(t, options)
      expect(old.groups[old.groupOf.get('0000:02:01.0') ?? -1]?.reasons.join('\n')).toMatch(/02:01\.0 shares a requester id with 01:00\.0: .*re-tags requests from behind it as 02:00\.0/)
    }
  })
  it('a DMA-alias quirk merges functions that ACS would otherwise isolate (Marvell 88SE9230 aliases function 1)', () => {
    const acsMf = {cap: ACS.SV | ACS.RR | ACS.CR | ACS.UF, ctl: REQ_ACS_FLAGS}
    const t = topology([
      port('0000:00:1c.0', 0x05, {acs: ACS_ALL}),
      fn({bdf: '0000:05:00.0', multifunction: true, vendorId: 0x1b4b, deviceId: 0x9230, acs: acsMf}),
      fn({bdf: '0000:05:00.1', multifunction: true, acs: acsMf}),
    ])
    const p = replayGrouping(t)
    expect(p.groupOf.get('0000:05:00.1')).toBe(p.groupOf.get('0000:05:00.0'))
    expect(p.groups[p.groupOf.get('0000:05:00.1') ?? -1]?.reasons).toEqual(['05:00.1 and 05:00.0 are DMA aliases of each other on one bus'])
    // Same device ids without the quirk: two groups.
    const other = topology([
      port('0000:00:1c.0', 0x05, {acs: ACS_ALL}),
      fn({bdf: '0000:05:00.0', multifunction: true, acs: acsMf}),
      fn({bdf: '0000:05:00.1', multifunction: true, acs: acsMf}),
    ])
    expect(replayGrouping(other).groups).toHaveLength(3)
  })
  it('phantom-function quirks add alias devfns (Marvell 88SE9230 → function 1)', () => {
    const marvell = fn({bdf: '0000:05:00.0', vendorId: 0x1b4b, deviceId: 0x9230})
    expect(dmaAliasDevfns(topology([marvell]), marvell)).toEqual([1])
    const other = fn({bdf: '0000:05:00.0', vendorId: 0x1b4b, deviceId: 0x9999})
    expect(dmaAliasDevfns(topology([other]), other)).toEqual([])
  })
})

describe('ACS on the upstream path and multifunction slots', () => {
  it('names the port and the ACS bits it has but does not enable', () => {
    const t = topology([port('0000:00:1c.0', 0x05, {acs: {cap: ACS_ALL.cap, ctl: ACS.SV | ACS.UF}}), fn({bdf: '0000:05:00.0'})])
    const p = replayGrouping(t, {assumeKernelEnablesAcs: false})
    expect(p.groupOf.get('0000:05:00.0')).toBe(p.groupOf.get('0000:00:1c.0'))
    expect(p.groups[0]?.reasons).toEqual(['05:00.0 sits below 00:1c.0 whose ACS has RR and CR but they are not enabled (ACS Control as read)'])
    // With the IOMMU on, the kernel sets SV RR CR UF on that port: isolated.
    const on = replayGrouping(t, {assumeKernelEnablesAcs: true})
    expect(on.groupOf.get('0000:05:00.0')).not.toBe(on.groupOf.get('0000:00:1c.0'))
  })
  it('unimplemented ACS bits are not required (kernel masks with the capability)', () => {
    const t = topology([port('0000:00:1c.0', 0x05, {acs: {cap: ACS.SV | ACS.RR | ACS.CR, ctl: ACS.SV | ACS.RR | ACS.CR}}), fn({bdf: '0000:05:00.0'})])
    const p = replayGrouping(t, {assumeKernelEnablesAcs: false})
    expect(p.groupOf.get('0000:05:00.0')).not.toBe(p.groupOf.get('0000:00:1c.0'))
  })
  it('two root ports that are functions of one slot without ACS merge, and so do their children', () => {
    const t = topology([
      port('0000:00:1c.0', 0x05, {multifunction: true}),
      port('0000:00:1c.1', 0x06, {multifunction: true}),
      fn({bdf: '0000:05:00.0'}),
      fn({bdf: '0000:06:00.0'}),
    ])
    const p = replayGrouping(t)
    expect(p.groups).toHaveLength(1)
    expect(p.groups[0]?.reasons[0]).toBe('00:1c.1 and 00:1c.0 are functions of one multifunction root port without ACS isolation: both: no ACS capability')
    const verdict = deviceIsolation(p, t, '0000:05:00.0')
    expect(verdict.verdict).toBe('shares-with-endpoints')
    expect(verdict.mustGoWith).toEqual(['0000:06:00.0'])
  })
  it('SR-IOV: VFs below an ACS root port get their own groups; below a port without ACS they join it', () => {
    const pf = fn({bdf: '0000:03:00.0', vendorId: 0x8086, deviceId: 0x10c9, virtfns: ['0000:03:10.0', '0000:03:10.2']})
    const vfs = ['0000:03:10.0', '0000:03:10.2'].map((bdf) => fn({bdf, isVirtfn: true, physfn: '0000:03:00.0'}))
    const isolated = replayGrouping(topology([port('0000:00:03.0', 0x03, {acs: ACS_ALL}), pf, ...vfs]))
    expect(new Set(['0000:03:00.0', ...vfs.map((v) => v.bdf)].map((b) => isolated.groupOf.get(b))).size).toBe(3)
    const pf2 = fn({...pf, children: [], virtfns: [...pf.virtfns]})
    const vfs2 = vfs.map((v) => fn({bdf: v.bdf, isVirtfn: true, physfn: v.physfn}))
    const merged = replayGrouping(topology([port('0000:00:03.0', 0x03), pf2, ...vfs2]))
    expect(merged.groups).toHaveLength(1)
    // VFs are probed after every boot-time device.
    expect(merged.probeOrder.slice(-2)).toEqual(['0000:03:10.0', '0000:03:10.2'])
  })
  it('probe order: each bus in devfn order, then the buses below its bridges', () => {
    const t = topology([port('0000:00:01.0', 0x01), port('0000:00:1c.0', 0x02), fn({bdf: '0000:00:02.0'}), fn({bdf: '0000:01:00.0'}), fn({bdf: '0000:02:00.0'})])
    expect(kernelProbeOrder(t)).toEqual(['0000:00:01.0', '0000:00:02.0', '0000:00:1c.0', '0000:01:00.0', '0000:02:00.0'])
  })
  it('the 2025 multifunction rework (opt-in) splits functions without an ACS capability', () => {
    const t = topology([
      port('0000:00:01.0', 0x01, {acs: ACS_ALL}),
      fn({bdf: '0000:01:00.0', multifunction: true}),
      fn({bdf: '0000:01:00.1', multifunction: true, classCode: 0x040300}),
    ])
    expect(replayGrouping(t).groupOf.get('0000:01:00.1')).toBe(replayGrouping(t).groupOf.get('0000:01:00.0'))
    const rework = replayGrouping(t, {pcieSwitchGroupsRework: true})
    expect(rework.groupOf.get('0000:01:00.1')).not.toBe(rework.groupOf.get('0000:01:00.0'))
    expect(rework.assumptions.join('\n')).toMatch(/UNMERGED 2025 pcie_switch_groups series \(in no release, not in linux-next\)/)
  })
  it('Intel multifunction NIC quirk (82576 8086:10c9) isolates its functions', () => {
    const t = topology([
      port('0000:00:01.0', 0x01, {acs: ACS_ALL}),
      fn({bdf: '0000:01:00.0', multifunction: true, vendorId: 0x8086, deviceId: 0x10c9}),
      fn({bdf: '0000:01:00.1', multifunction: true, vendorId: 0x8086, deviceId: 0x10c9}),
    ])
    const p = replayGrouping(t)
    expect(p.groupOf.get('0000:01:00.1')).not.toBe(p.groupOf.get('0000:01:00.0'))
  })
})

describe('pcie_acs_override what-if', () => {
  it('parses the kernel syntax and reports bad items as data', () => {
    const {override, errors} = parseAcsOverride('downstream,multifunction,id:8086:1901,id:zz')
    expect(override).toEqual({downstream: true, multifunction: true, ids: [{vendor: 0x8086, device: 0x1901}]})
    expect(errors).toHaveLength(1)
  })
  it('coffeelake-h (real): downstream splits the PEG port off; multifunction also splits GPU and audio — flagged not truly isolated', () => {
    const t = coffee()
    const down = replayGrouping(t, {acsOverride: parseAcsOverride('downstream').override})
    expect(down.groupOf.get('0000:01:00.0')).not.toBe(down.groupOf.get('0000:00:01.0'))
    expect(down.groupOf.get('0000:01:00.1')).toBe(down.groupOf.get('0000:01:00.0'))
    const both = replayGrouping(t, {acsOverride: parseAcsOverride('downstream,multifunction').override})
    expect(both.groupOf.get('0000:01:00.1')).not.toBe(both.groupOf.get('0000:01:00.0'))
    const gpu = deviceIsolation(both, t, '0000:01:00.0')
    expect(gpu.verdict).toBe('isolated')
    expect(gpu.text).toMatch(/NOT truly isolated/)
  })
  it('does not help a port that HAS an ACS capability (its real state is used)', () => {
    const t = topology([port('0000:00:1c.0', 0x05, {acs: {cap: ACS_ALL.cap, ctl: 0}}), fn({bdf: '0000:05:00.0'})])
    const p = replayGrouping(t, {assumeKernelEnablesAcs: false, acsOverride: parseAcsOverride('downstream').override})
    expect(p.groupOf.get('0000:05:00.0')).toBe(p.groupOf.get('0000:00:1c.0'))
  })
  it('cross-check: kernel groups split by an override are reported with the override as the cause', () => {
    const t = coffee()
    const withOverride = replayGrouping(t, {acsOverride: parseAcsOverride('downstream,multifunction').override})
    for (const d of t.devices.values()) d.iommuGroup = withOverride.groupOf.get(d.bdf)
    const plain = replayGrouping(t)
    const named = crossCheckGroups(t, plain, {cmdline: 'BOOT_IMAGE=/vmlinuz quiet pcie_acs_override=downstream,multifunction'})
    expect(named.agree).toBe(false)
    expect(named.mismatches[0]?.kind).toBe('kernel-split')
    expect(named.mismatches[0]?.likelyCause).toMatch(/ACS override patch active \(pcie_acs_override=downstream,multifunction/)
    const unnamed = crossCheckGroups(t, plain, {})
    expect(unnamed.mismatches[0]?.likelyCause).toMatch(/00:01\.0 \(no ACS capability\).*quirk this tool does not know/)
  })
})
