/**
 * IVRS alias entries in grouping (issue #17). The AMD driver copies every alias entry (IVHD 0x42
 * alias select, 0x43 alias range start) into its alias table (drivers/iommu/amd/init.c
 * init_iommu_from_acpi); before the device is grouped, setup_aliases() (drivers/iommu/amd/iommu.c,
 * called from iommu_init_device) adds the alias as a PCI DMA alias when it differs from the device
 * and is on the device's own bus. pci_device_group() then merges the two through
 * get_pci_alias_group() / pci_devs_are_dma_aliases(). An alias on another bus only steers the
 * device table. Topologies are hand-made and say what they model; the IVRS bytes are real tables.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeIvrs, ivrsAliases, type IvrsAlias} from '../src/decode/ivrs.js'
import {RootedHostFs} from '../src/host/fs.js'
import {memHostFs} from '../src/host/mem.js'
import {PCIE_TYPE} from '../src/model/pci.js'
import {DMA_ALIAS_SPANS, dmaAliasesOf} from '../src/replay/dma-alias.js'
import {crossCheckGroups, replayGrouping} from '../src/replay/grouping.js'
import {hostGrouping} from '../src/replay/host-grouping.js'
import {fakeHostEntries} from './checks-hosts.js'
import {fn, port, topology} from './fixtures/groups/make-topology.js'
import {modelAt, modelOf} from './support/model.js'
import {realData} from './support/paths.js'

const same = (p: ReturnType<typeof replayGrouping>, a: string, b: string) => p.groupOf.get(a) === p.groupOf.get(b)

/** An alias entry as ivrsAliases() returns it: requester ids first..last arrive as aliasTo. */
function alias(first: number, last: number, aliasTo: number): IvrsAlias {
  const bdf = (rid: number) => `0000:${(rid >> 8).toString(16).padStart(2, '0')}:${((rid >> 3) & 0x1f).toString(16).padStart(2, '0')}.${rid & 7}`
  return {segment: 0, first, last, aliasTo, firstBdf: bdf(first), lastBdf: bdf(last), aliasBdf: bdf(aliasTo), offset: 0x48}
}
const rid = (bus: number, dev: number, f: number) => (bus << 8) | (dev << 3) | f

// Two single-function endpoints on the root bus: each is its own group unless something aliases them.
const rootBus = () =>
  topology([
    fn({bdf: '0000:00:00.2', vendorId: 0x1022, deviceId: 0x1481, classCode: 0x080600, pcieType: PCIE_TYPE.rcEndpoint}),
    fn({bdf: '0000:00:11.0', vendorId: 0x1002, deviceId: 0x4391, classCode: 0x010601, pcieType: undefined}),
    fn({bdf: '0000:00:12.0', vendorId: 0x1002, deviceId: 0x4397, classCode: 0x0c0310, pcieType: undefined}),
  ])

describe('IVRS alias entries merge groups (amd/iommu.c setup_aliases → iommu.c get_pci_alias_group)', () => {
  it('a same-bus alias select (00:11.0 → 00:12.0) puts both devices in one group and says why', () => {
    const ivrs = [alias(rid(0, 0x11, 0), rid(0, 0x11, 0), rid(0, 0x12, 0))]
    const withTable = replayGrouping(rootBus(), {ivrsAliases: ivrs})
    expect(same(withTable, '0000:00:11.0', '0000:00:12.0')).toBe(true)
    expect(withTable.groups[withTable.groupOf.get('0000:00:12.0') ?? -1]?.reasons.join('\n')).toMatch(/DMA aliases of each other/)
    expect(withTable.assumptions.join('\n')).toMatch(/IVRS table read; its 1 alias range\(s\) applied as the kernel applies them \(a same-bus alias becomes a PCI DMA alias: setup_aliases\(\) from 5\.5/)
    expect(dmaAliasesOf(rootBus(), '0000:00:11.0', {ivrsAliases: ivrs}).map((a) => a.reason)).toEqual(['self', 'ivrs-alias'])
    // Without the table the two stay apart, and the replay says the answer depends on the firmware's IVRS.
    const without = replayGrouping(rootBus())
    expect(same(without, '0000:00:11.0', '0000:00:12.0')).toBe(false)
    expect(without.assumptions.join('\n')).toMatch(/depend on the firmware's IVRS table/)
  })

  it('an alias range covering the device works like a select; the last entry covering a device wins (later table writes overwrite)', () => {
    const ranged = replayGrouping(rootBus(), {ivrsAliases: [alias(rid(0, 0x10, 0), rid(0, 0x11, 7), rid(0, 0x12, 0))]})
    expect(same(ranged, '0000:00:11.0', '0000:00:12.0')).toBe(true)
    const overwritten = replayGrouping(rootBus(), {ivrsAliases: [alias(rid(0, 0x11, 0), rid(0, 0x11, 0), rid(0, 0x12, 0)), alias(rid(0, 0x11, 0), rid(0, 0x11, 0), rid(0, 0x11, 0))]})
    expect(same(overwritten, '0000:00:11.0', '0000:00:12.0')).toBe(false)
  })

  it('an alias on another bus does not change grouping (PCI_BUS_NUM(ivrs_alias) == pdev->bus->number fails)', () => {
    // Bus 01 endpoint below an ACS root port, aliased by the firmware to 00:12.0.
    const t = topology([...rootBus().devices.values(), port('0000:00:01.1', 0x01, {acs: {cap: 0x1f, ctl: 0x1d}}), fn({bdf: '0000:01:00.0'})])
    const p = replayGrouping(t, {ivrsAliases: [alias(rid(1, 0, 0), rid(1, 0x1f, 7), rid(0, 0x12, 0))]})
    expect(same(p, '0000:01:00.0', '0000:00:12.0')).toBe(false)
    expect(dmaAliasesOf(t, '0000:01:00.0', {ivrsAliases: [alias(rid(1, 0, 0), rid(1, 0x1f, 7), rid(0, 0x12, 0))]}).map((a) => a.reason)).toEqual(['self'])
  })

  it(`before ${DMA_ALIAS_SPANS.ivrsAliasAlways.since.join('.')} get_alias() added the IVRS alias only to a device without a PCI alias of its own (--kernel-version)`, () => {
    // Marvell 1b4b:9230 function 0 has the phantom-function-1 quirk alias (01:00.1); the firmware aliases it to 01:02.0.
    const t = () =>
      topology([
        port('0000:00:01.1', 0x01, {acs: {cap: 0x1f, ctl: 0x1d}}),
        fn({bdf: '0000:01:00.0', vendorId: 0x1b4b, deviceId: 0x9230, classCode: 0x010601}),
        fn({bdf: '0000:01:02.0'}),
      ])
    const ivrs = [alias(rid(1, 0, 0), rid(1, 0, 0), rid(1, 2, 0))]
    expect(same(replayGrouping(t(), {ivrsAliases: ivrs, kernelVersion: '5.5.0'}), '0000:01:00.0', '0000:01:02.0')).toBe(true)
    expect(same(replayGrouping(t(), {ivrsAliases: ivrs, kernelVersion: '5.4.0'}), '0000:01:00.0', '0000:01:02.0')).toBe(false)
    // A device with no PCI alias of its own takes the IVRS alias on 5.4 too.
    const plain = topology([port('0000:00:01.1', 0x01, {acs: {cap: 0x1f, ctl: 0x1d}}), fn({bdf: '0000:01:00.0'}), fn({bdf: '0000:01:02.0'})])
    expect(same(replayGrouping(plain, {ivrsAliases: ivrs, kernelVersion: '5.4.0'}), '0000:01:00.0', '0000:01:02.0')).toBe(true)
  })

  it('the table also satisfies pci_quirk_amd_sb_acs (acpi_get_table("IVRS")): given aliases, the SB functions are isolated', () => {
    const sb = topology([
      fn({bdf: '0000:00:14.0', vendorId: 0x1002, deviceId: 0x4385, multifunction: true, pcieType: undefined}),
      fn({bdf: '0000:00:14.3', vendorId: 0x1002, deviceId: 0x439d, multifunction: true, pcieType: undefined}),
    ])
    expect(same(replayGrouping(sb, {ivrsAliases: []}), '0000:00:14.0', '0000:00:14.3')).toBe(false)
    expect(same(replayGrouping(sb), '0000:00:14.0', '0000:00:14.3')).toBe(true)
  })
})

describe('the host model reads the snapshot\'s IVRS and the host replay uses its aliases', () => {
  // A real table (test/fixtures/real/ivrs/SOURCES.md): one alias range ff:00.0-ff:1f.7 → 00:14.5.
  const ivrsBytes = new Uint8Array(readFileSync(path.join(realData, 'ivrs', 'lenovo-thinkpad-t14-gen3-amd-2a874809.dat')))

  it('decodes the alias range the kernel logs as DEV_ALIAS_RANGE and names it in the replay\'s assumptions', () => {
    const aliases = ivrsAliases(decodeIvrs(ivrsBytes))
    expect(aliases.map((a) => [a.firstBdf, a.lastBdf, a.aliasBdf])).toEqual([['0000:ff:00.0', '0000:ff:1f.7', '0000:00:14.5']])
    const entries = fakeHostEntries({cpu: 'amd', ivrs: true})
    entries['/sys/firmware/acpi/tables/IVRS'] = ivrsBytes
    const model = modelOf(memHostFs(entries))
    expect(model.ivrs?.aliases).toHaveLength(1)
    const replay = hostGrouping(model)
    expect(replay.assumptions.join('\n')).toMatch(/IVRS table read; its 1 alias range\(s\) applied/)
    expect(replay.assumptions.join('\n')).not.toMatch(/depend on the firmware's IVRS/)
  })

  it('without an IVRS in the snapshot the model has none, and the host replay does not pretend to know it', () => {
    const model = modelOf(memHostFs(fakeHostEntries({cpu: 'intel'})))
    expect(model.ivrs.table).toBeUndefined()
    expect(model.ivrs.aliases).toEqual([])
    expect(hostGrouping(model).assumptions.join('\n')).not.toMatch(/IVRS table read/)
  })
})

describe('a real kernel with an AMD IOMMU and an IVRS alias range (sysfs-fixtures/lab-amd-vi)', () => {
  // QEMU's IVRS states the requester id of the conventional e1000 (04:01.0) behind the pcie-pci-bridge
  // as the alias range 04:00.0-04:1f.7 -> 04:00.0: on the device's own bus, so setup_aliases() adds
  // 04:00.0 as a PCI DMA alias — the requester id the bridge already re-tags with. The 6.1 kernel's
  // own groups are the oracle.
  it('the host replay reads the alias entries and still predicts the kernel\'s groups exactly', async () => {
    const model = await modelAt(new RootedHostFs(path.resolve(import.meta.dirname, '..', 'sysfs-fixtures', 'lab-amd-vi')))
    expect(model.ivrs?.aliases.map((a) => [a.firstBdf, a.lastBdf, a.aliasBdf])).toEqual([['0000:04:00.0', '0000:04:1f.7', '0000:04:00.0']])
    const replay = hostGrouping(model)
    expect(replay.assumptions.join('\n')).toMatch(/IVRS table read/)
    const check = crossCheckGroups(model.topology, replay)
    expect(check.compared).toBe([...model.topology.devices.values()].filter((d) => d.iommuGroup !== undefined).length)
    expect(check.mismatches).toEqual([])
    expect(check.onlyActual).toEqual([])
  })
})
