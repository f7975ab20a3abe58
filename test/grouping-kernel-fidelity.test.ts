/**
 * Issue #17: each difference between the replay and the kernel, as a test built from the kernel's own
 * code path (file and function named in each test). Topologies are hand-made and say what they model.
 */
import {describe, expect, it} from 'vitest'
import {ACS, PCIE_TYPE, REQ_ACS_FLAGS} from '../src/model/pci.js'
import {parseAcsKernelParams, specMatches} from '../src/replay/acs-params.js'
import {ACS_QUIRKS} from '../src/replay/acs-quirks.js'
import {DMA_ALIAS_SPANS, dmaAliasesOf} from '../src/replay/dma-alias.js'
import {crossCheckGroups, KERNEL_RULE_CHANGES, replayGrouping} from '../src/replay/grouping.js'
import {fn, port, topology} from './fixtures/groups/make-topology.js'

const ACS_FULL = {cap: ACS.SV | ACS.TB | ACS.RR | ACS.CR | ACS.UF, ctl: REQ_ACS_FLAGS}
const same = (p: ReturnType<typeof replayGrouping>, a: string, b: string) => p.groupOf.get(a) === p.groupOf.get(b)

describe('ACS quirks that answer "not isolated" (drivers/pci/quirks.c)', () => {
  // pci_quirk_zhaoxin_pcie_ports_acs(): the row is { PCI_VENDOR_ID_ZHAOXIN, PCI_ANY_ID }; for a root or
  // downstream port outside its switch(dev->device) it returns false, so pci_dev_specific_acs_enabled()
  // answers and pci_acs_enabled() never reaches pci_acs_flags_enabled().
  const zhaoxin = (deviceId: number) =>
    topology([port('0000:00:02.0', 0x01, {vendorId: 0x1d17, deviceId, acs: ACS_FULL}), fn({bdf: '0000:01:00.0'})])

  it('a Zhaoxin root port outside the id list is not isolated even with full ACS', () => {
    const p = replayGrouping(zhaoxin(0x0760))
    expect(same(p, '0000:01:00.0', '0000:00:02.0')).toBe(true)
    expect(p.groups[p.groupOf.get('0000:01:00.0') ?? -1]?.reasons.join('\n')).toMatch(/pci_quirk_zhaoxin_pcie_ports_acs.*0760 is not in the quirk's id list/)
  })
  it('a listed Zhaoxin port (0x0715) is isolated by the quirk, ACS capability or not', () => {
    const t = zhaoxin(0x0715)
    const port = t.devices.get('0000:00:02.0')
    if (port) port.acs = undefined
    expect(same(replayGrouping(t), '0000:01:00.0', '0000:00:02.0')).toBe(false)
  })
  it('ids 0x0733-0x0752 entered in 6.8; before 5.7 there is no quirk and the ACS capability decides', () => {
    expect(same(replayGrouping(zhaoxin(0x0740), {kernelVersion: '6.7'}), '0000:01:00.0', '0000:00:02.0')).toBe(true)
    expect(same(replayGrouping(zhaoxin(0x0740), {kernelVersion: '6.8'}), '0000:01:00.0', '0000:00:02.0')).toBe(false)
    expect(same(replayGrouping(zhaoxin(0x0760), {kernelVersion: '5.6'}), '0000:01:00.0', '0000:00:02.0')).toBe(false)
  })

  // pci_quirk_wangxun_nic_acs(): { PCI_VENDOR_ID_WANGXUN, PCI_ANY_ID }, false outside its list.
  const wangxun = (deviceId: number) =>
    topology([
      port('0000:00:01.0', 0x01, {acs: ACS_FULL}),
      fn({bdf: '0000:01:00.0', multifunction: true, vendorId: 0x8088, deviceId, acs: ACS_FULL}),
      fn({bdf: '0000:01:00.1', multifunction: true, vendorId: 0x8088, deviceId, acs: ACS_FULL}),
    ])
  it('a Wangxun multifunction NIC outside the list shares one group despite its ACS capability', () => {
    const p = replayGrouping(wangxun(0x7777))
    expect(same(p, '0000:01:00.0', '0000:01:00.1')).toBe(true)
    expect(p.groups[p.groupOf.get('0000:01:00.1') ?? -1]?.reasons.join('\n')).toMatch(/not isolated per the kernel quirk pci_quirk_wangxun_nic_acs/)
    expect(same(replayGrouping(wangxun(0x1001)), '0000:01:00.0', '0000:01:00.1')).toBe(false)
  })
  it('the AML ids (FF5xxx, 0x5010) are isolated from 6.13 (899c8a18bef5), not in 6.12; the quirk itself entered in 6.3 ("PCI: Add ACS quirk for Wangxun NICs", Feb 2023), absent in 6.2', () => {
    expect(same(replayGrouping(wangxun(0x5010), {kernelVersion: '6.12'}), '0000:01:00.0', '0000:01:00.1')).toBe(true)
    expect(same(replayGrouping(wangxun(0x5010), {kernelVersion: '6.13'}), '0000:01:00.0', '0000:01:00.1')).toBe(false)
    // Up to 6.2: no Wangxun row, so the functions' own ACS (full) isolates them; 6.3 has the quirk.
    expect(same(replayGrouping(wangxun(0x7777), {kernelVersion: '6.1'}), '0000:01:00.0', '0000:01:00.1')).toBe(false)
    expect(same(replayGrouping(wangxun(0x7777), {kernelVersion: '6.2'}), '0000:01:00.0', '0000:01:00.1')).toBe(false)
    expect(same(replayGrouping(wangxun(0x7777), {kernelVersion: '6.3'}), '0000:01:00.0', '0000:01:00.1')).toBe(true)
    expect(ACS_QUIRKS.find((r) => r.kernelName === 'pci_quirk_wangxun_nic_acs')?.span.since).toEqual([6, 3])
  })
  it('pci_quirk_rciep_acs() (3247bd10a450, 5.1): multifunction Intel RCiEPs without ACS are isolated from 5.1, one group in 5.0', () => {
    // pci_quirk_rciep_acs(): PCI_EXP_TYPE_RC_END only; reports the requested flags enabled.
    const t = () =>
      topology([
        fn({bdf: '0000:00:14.0', multifunction: true, pcieType: PCIE_TYPE.rcEndpoint, vendorId: 0x8086, deviceId: 0x1234}),
        fn({bdf: '0000:00:14.2', multifunction: true, pcieType: PCIE_TYPE.rcEndpoint, vendorId: 0x8086, deviceId: 0x1235}),
      ])
    expect(same(replayGrouping(t(), {kernelVersion: '5.0'}), '0000:00:14.0', '0000:00:14.2')).toBe(true)
    expect(same(replayGrouping(t(), {kernelVersion: '5.1'}), '0000:00:14.0', '0000:00:14.2')).toBe(false)
    expect(same(replayGrouping(t()), '0000:00:14.0', '0000:00:14.2')).toBe(false)
  })
  it('every quirk row carries its kernel span, and the recorded introducing releases are versions', () => {
    for (const row of ACS_QUIRKS) expect(row.span.evidence, row.kernelName).toBeTruthy()
    const dated = ACS_QUIRKS.filter((r) => r.span.since)
    expect(dated.map((r) => r.kernelName)).toEqual(expect.arrayContaining(['pci_quirk_zhaoxin_pcie_ports_acs', 'pci_quirk_wangxun_nic_acs', 'pci_quirk_rciep_acs']))
    // Every dated row names the commit or patch subject its release was read from.
    for (const row of dated) expect(row.span.evidence, row.kernelName).toMatch(/"PCI: Add ACS quirk for /)
  })
})

describe('DMA aliases (drivers/pci/quirks.c, drivers/pci/search.c pci_for_each_dma_alias)', () => {
  it('PLX NTB 10b5:87b0/87b1: quirk_plx_ntb_dma_alias() aliases all 256 devfns, so get_pci_alias_group() pulls its bus peers into its group (from 5.6)', () => {
    const t = topology([
      port('0000:00:03.0', 0x04, {acs: ACS_FULL}),
      fn({bdf: '0000:04:00.0', vendorId: 0x10b5, deviceId: 0x87b0, classCode: 0x068000}),
      fn({bdf: '0000:04:00.1', multifunction: true, acs: ACS_FULL}),
      fn({bdf: '0000:04:02.0'}),
    ])
    t.devices.get('0000:04:00.0')!.multifunction = true
    t.devices.get('0000:04:00.0')!.acs = ACS_FULL
    expect(dmaAliasesOf(t, '0000:04:00.0').filter((a) => a.reason === 'quirk-plx-ntb')).toHaveLength(255) // itself is "self"
    const p = replayGrouping(t)
    expect(same(p, '0000:04:00.0', '0000:04:00.1')).toBe(true)
    expect(same(p, '0000:04:00.0', '0000:04:02.0')).toBe(true)
    const old = replayGrouping(t, {kernelVersion: '5.5'})
    expect(same(old, '0000:04:00.0', '0000:04:02.0')).toBe(false)
    expect(DMA_ALIAS_SPANS.plxNtb.since).toEqual([5, 6])
    // The same DECLARE_PCI_FIXUP_HEADER covers 87b1.
    t.devices.get('0000:04:00.0')!.deviceId = 0x87b1
    expect(same(replayGrouping(t), '0000:04:00.0', '0000:04:02.0')).toBe(true)
    expect(same(replayGrouping(t, {kernelVersion: '5.5'}), '0000:04:00.0', '0000:04:02.0')).toBe(false)
  })
  it('Switchtec NTB (11f8:8531, class 0680): aliases come from MMIO tables, so its group is flagged as not predictable offline', () => {
    const t = topology([port('0000:00:03.0', 0x04, {acs: ACS_FULL}), fn({bdf: '0000:04:00.1', vendorId: 0x11f8, deviceId: 0x8531, classCode: 0x068000})])
    const p = replayGrouping(t)
    expect(p.groups[p.groupOf.get('0000:04:00.1') ?? -1]?.uncertain.join('\n')).toMatch(/quirk_switchtec_ntb_dma_alias .*cannot be predicted offline/)
    // The same id with another class is the switch's management endpoint: no flag.
    t.devices.get('0000:04:00.1')!.classCode = 0x058000
    expect(replayGrouping(t).groups.flatMap((g) => g.uncertain)).toEqual([])
  })
  it('a CardBus bridge (header type 2, no PCIe) aliases like any conventional bridge: cards behind it use its requester id', () => {
    const t = topology([port('0000:00:1c.0', 0x02, {acs: ACS_FULL})])
    const cardbus = fn({bdf: '0000:02:00.0', headerType: 2, classCode: 0x060700, pcieType: undefined, secondaryBus: 3, subordinateBus: 3, parent: '0000:00:1c.0'})
    const card = fn({bdf: '0000:03:00.0', pcieType: undefined, parent: '0000:02:00.0'})
    t.devices.set(cardbus.bdf, cardbus)
    t.devices.set(card.bdf, card)
    t.devices.get('0000:00:1c.0')!.children.push(cardbus.bdf)
    cardbus.children.push(card.bdf)
    expect(dmaAliasesOf(t, '0000:03:00.0').map((a) => [a.bdf, a.reason])).toEqual([['0000:03:00.0', 'self'], ['0000:02:00.0', 'pci-bridge']])
    const p = replayGrouping(t)
    expect(p.groups[p.groupOf.get('0000:03:00.0') ?? -1]?.reasons.join('\n')).toMatch(/03:00\.0 shares a requester id with 02:00\.0/)
  })
  it('quirk_use_pcie_bridge_dma_alias() applies only off the root bus, below a PCIe bridge that is not a PCIe-to-PCI bridge', () => {
    const asm = {headerType: 1, classCode: 0x060400, pcieType: undefined, vendorId: 0x1b21, deviceId: 0x1080} as const
    // Below a root port: the quirk re-tags as (secondary bus, 00.0).
    const good = topology([port('0000:00:1c.0', 0x04, {acs: ACS_FULL, subordinateBus: 5}), fn({bdf: '0000:04:00.0', ...asm, secondaryBus: 5, subordinateBus: 5}), fn({bdf: '0000:05:03.0', pcieType: undefined})])
    expect(dmaAliasesOf(good, '0000:05:03.0').map((a) => a.reason)).toEqual(['self', 'pcie-bridge-alias-quirk'])
    // Below a PCIe-to-PCI bridge: no flag, the bridge forwards with its own id (then the type-7 alias above it).
    const belowP2p = topology([
      port('0000:00:1c.0', 0x03, {acs: ACS_FULL, subordinateBus: 5}),
      fn({bdf: '0000:03:00.0', headerType: 1, classCode: 0x060400, pcieType: PCIE_TYPE.pcieToPciBridge, secondaryBus: 4, subordinateBus: 5}),
      fn({bdf: '0000:04:00.0', ...asm, secondaryBus: 5, subordinateBus: 5}),
      fn({bdf: '0000:05:03.0', pcieType: undefined}),
    ])
    // (The type-7 bridge's own alias, (bus 04, 00.0), is the same requester id: listed once.)
    expect(dmaAliasesOf(belowP2p, '0000:05:03.0').map((a) => [a.bdf, a.reason])).toEqual([['0000:05:03.0', 'self'], ['0000:04:00.0', 'pci-bridge']])
    // On a root bus: no flag either.
    const onRoot = topology([fn({bdf: '0000:00:1e.0', ...asm, secondaryBus: 5, subordinateBus: 5}), fn({bdf: '0000:05:03.0', pcieType: undefined})])
    expect(dmaAliasesOf(onRoot, '0000:05:03.0').map((a) => a.reason)).toEqual(['self', 'pci-bridge'])
  })
  it('ASPEED AST1150 PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS (550a190494a0, 7.0): up to 6.19 its devices share its alias (pci_for_each_dma_alias)', () => {
    expect(DMA_ALIAS_SPANS.bridgeNoAlias).toMatchObject({since: [7, 0]})
    expect(DMA_ALIAS_SPANS.bridgeNoAlias.evidence).toMatch(/550a190494a0/)
    const t = topology([
      port('0000:00:1c.0', 0x01, {acs: ACS_FULL}),
      fn({bdf: '0000:01:00.0', headerType: 1, classCode: 0x060400, pcieType: PCIE_TYPE.pcieToPciBridge, secondaryBus: 2, subordinateBus: 2, vendorId: 0x1a03, deviceId: 0x1150}),
      fn({bdf: '0000:02:01.0', pcieType: undefined, classCode: 0x030000}),
    ])
    expect(dmaAliasesOf(t, '0000:02:01.0', {kernelVersion: [6, 18]}).map((a) => [a.bdf, a.reason])).toEqual([['0000:02:01.0', 'self'], ['0000:02:00.0', 'pcie-to-pci-bridge']])
    expect(dmaAliasesOf(t, '0000:02:01.0').map((a) => a.reason)).toEqual(['self', 'pcie-to-pci-bridge'])
    expect(dmaAliasesOf(t, '0000:02:01.0', {kernelVersion: [6, 19]}).map((a) => a.reason)).toEqual(['self', 'pcie-to-pci-bridge'])
    expect(dmaAliasesOf(t, '0000:02:01.0', {kernelVersion: [7, 0]}).map((a) => a.reason)).toEqual(['self'])
    const p = replayGrouping(t, {kernelVersion: '6.18'})
    expect(p.groups[p.groupOf.get('0000:02:01.0') ?? -1]?.reasons.join('\n')).toMatch(/02:01\.0 shares a requester id with 01:00\.0/)
  })
})

describe('kernel parameters from the snapshot cmdline (drivers/pci/pci.c pci_enable_acs, __pci_config_acs)', () => {
  const build = () =>
    topology([
      port('0000:00:1c.0', 0x05, {acs: ACS_FULL, vendorId: 0x8086, deviceId: 0x7ab8}),
      port('0000:00:1c.4', 0x06, {acs: ACS_FULL, vendorId: 0x8086, deviceId: 0x7abc}),
      fn({bdf: '0000:05:00.0'}),
      fn({bdf: '0000:06:00.0'}),
    ])
  it('pci=disable_acs_redir=<bdf> clears RR CR EC on that port, so its endpoint joins it (applies with the IOMMU off too)', () => {
    const cmdline = 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 pci=noaer,disable_acs_redir=0000:00:1c.0 quiet'
    for (const assumeKernelEnablesAcs of [true, false]) {
      const p = replayGrouping(build(), {cmdline, assumeKernelEnablesAcs})
      expect(same(p, '0000:05:00.0', '0000:00:1c.0')).toBe(true)
      expect(same(p, '0000:06:00.0', '0000:00:1c.4')).toBe(false)
    }
    const p = replayGrouping(build(), {cmdline})
    expect(p.groups[p.groupOf.get('0000:05:00.0') ?? -1]?.reasons.join('\n')).toMatch(/ACS has RR and CR but they are not enabled \(pci=disable_acs_redir=/)
    expect(p.assumptions.join('\n')).toMatch(/disable_acs_redir names 0000:00:1c\.0/)
    // A top-level "disable_acs_redir=" is not a kernel parameter: nothing changes.
    expect(same(replayGrouping(build(), {cmdline: 'disable_acs_redir=0000:00:1c.0'}), '0000:05:00.0', '0000:00:1c.0')).toBe(false)
    // Before 4.19 the parameter did not exist.
    expect(same(replayGrouping(build(), {cmdline, kernelVersion: '4.18'}), '0000:05:00.0', '0000:00:1c.0')).toBe(false)
  })
  it('pci=config_acs=<flags>@<dev>: from 6.15 the named bits are set, the others stay as firmware left them; 6.11-6.14 is unknown; before 6.11 ignored', () => {
    // 0000000: all seven bits named and cleared; pci:8086:7abc matches only 00:1c.4.
    const cmdline = 'pci=config_acs=0000000@pci:8086:7abc'
    const t = build()
    t.devices.get('0000:00:1c.4')!.acs = {cap: ACS_FULL.cap, ctl: REQ_ACS_FLAGS}
    const p = replayGrouping(t, {cmdline, kernelVersion: '6.15'})
    expect(same(p, '0000:06:00.0', '0000:00:1c.4')).toBe(true)
    expect(same(p, '0000:05:00.0', '0000:00:1c.0')).toBe(false)
    const mid = replayGrouping(t, {cmdline, kernelVersion: '6.12'})
    expect(mid.groups[mid.groupOf.get('0000:06:00.0') ?? -1]?.uncertain.join('\n')).toMatch(/6\.11-6\.14/)
    expect(same(replayGrouping(t, {cmdline, kernelVersion: '6.10'}), '0000:06:00.0', '0000:00:1c.4')).toBe(false)
  })
  it('pci_dev_str_match(): path specs match down from the top device, id specs treat 0 as any', () => {
    const t = topology([port('0000:00:1c.0', 0x05, {acs: ACS_FULL}), port('0000:05:00.0', 0x06, {pcieType: PCIE_TYPE.upstreamPort}), fn({bdf: '0000:06:00.0'})])
    const params = parseAcsKernelParams('pci=disable_acs_redir=00:1c.0/00.0/00.0;pci:0:0001')
    expect(params.errors).toEqual([])
    const [path, id] = params.disableAcsRedir
    expect(specMatches(t, t.devices.get('0000:06:00.0')!, path!.spec)).toBe(true)
    expect(specMatches(t, t.devices.get('0000:05:00.0')!, path!.spec)).toBe(false)
    expect(specMatches(t, t.devices.get('0000:06:00.0')!, id!.spec)).toBe(true)
    expect(parseAcsKernelParams('pci=config_acs=1q1@0000:00:1c.0').errors[0]).toMatch(/invalid ACS flags/)
  })
  it('pcie_acs_override= on the cmdline is applied (out-of-tree patch) and said so', () => {
    const t = topology([port('0000:00:1c.0', 0x05), fn({bdf: '0000:05:00.0'})])
    expect(same(replayGrouping(t), '0000:05:00.0', '0000:00:1c.0')).toBe(true)
    const p = replayGrouping(t, {cmdline: 'quiet pcie_acs_override=downstream'})
    expect(same(p, '0000:05:00.0', '0000:00:1c.0')).toBe(false)
    expect(p.groups[p.groupOf.get('0000:05:00.0') ?? -1]?.splitByAcsOverride).toBe(true)
    expect(p.assumptions.join('\n')).toMatch(/pcie_acs_override=downstream from the kernel command line applied \(out-of-tree patch/)
  })
})

describe('the 2025 pcie_switch_groups series is labelled unmerged, never implied by a version', () => {
  const t = topology([port('0000:00:01.0', 0x01, {acs: ACS_FULL}), fn({bdf: '0000:01:00.0', multifunction: true}), fn({bdf: '0000:01:00.1', multifunction: true})])
  it('kernel 6.18 and 6.19 replays do not apply it; only the explicit what-if does', () => {
    for (const kernelVersion of ['6.18', '6.19', '7.0']) expect(same(replayGrouping(t, {kernelVersion}), '0000:01:00.0', '0000:01:00.1')).toBe(true)
    expect(same(replayGrouping(t, {pcieSwitchGroupsRework: true}), '0000:01:00.0', '0000:01:00.1')).toBe(false)
    const text = KERNEL_RULE_CHANGES.find((r) => r.id === 'mf-without-acs-isolated')?.text
    expect(text).toMatch(/UNMERGED .*not in linux-next/)
    expect(text).not.toMatch(/\(linux-next\)/)
  })
  it('a ≥ 6.18 cross-check mismatch does not name the series as a cause', () => {
    const t2 = topology([port('0000:00:01.0', 0x01, {acs: ACS_FULL}), fn({bdf: '0000:01:00.0', multifunction: true, iommuGroup: 1}), fn({bdf: '0000:01:00.1', multifunction: true, iommuGroup: 2})])
    t2.devices.get('0000:00:01.0')!.iommuGroup = 0
    const check = crossCheckGroups(t2, replayGrouping(t2, {kernelVersion: '6.18'}), {kernelVersion: '6.18.1'})
    expect(check.mismatches).toHaveLength(1)
    expect(check.mismatches[0]?.likelyCause).not.toMatch(/rework|pcie_switch_groups/)
  })
})

describe('probe order and AMD IVRS', () => {
  it('groups are allocated in device-add order (pci_scan_child_bus: a bus, then each bridge subtree), not BDF order', () => {
    // 00:01.0 leads to bus 05, 00:02.0 to bus 03: the kernel adds 05:00.0 before 03:00.0.
    const t = topology([port('0000:00:01.0', 0x05, {acs: ACS_FULL}), port('0000:00:02.0', 0x03, {acs: ACS_FULL}), fn({bdf: '0000:03:00.0'}), fn({bdf: '0000:05:00.0'})])
    const p = replayGrouping(t)
    expect(p.probeOrder).toEqual(['0000:00:01.0', '0000:00:02.0', '0000:05:00.0', '0000:03:00.0'])
    expect((p.groupOf.get('0000:05:00.0') ?? 99) < (p.groupOf.get('0000:03:00.0') ?? -1)).toBe(true)
  })
  it('pci_quirk_amd_sb_acs needs the IVRS table: without one the SB functions are not isolated; with an AMD IOMMU it says the result depends on the firmware IVRS', () => {
    const sb = () =>
      topology([
        fn({bdf: '0000:00:00.2', vendorId: 0x1022, deviceId: 0x1481, classCode: 0x080600, pcieType: PCIE_TYPE.rcEndpoint}),
        fn({bdf: '0000:00:14.0', vendorId: 0x1002, deviceId: 0x4385, multifunction: true, pcieType: undefined}),
        fn({bdf: '0000:00:14.3', vendorId: 0x1002, deviceId: 0x439d, multifunction: true, pcieType: undefined}),
      ])
    const inferred = replayGrouping(sb())
    expect(same(inferred, '0000:00:14.0', '0000:00:14.3')).toBe(false)
    expect(inferred.assumptions.join('\n')).toMatch(/depend on the firmware's IVRS table/)
    expect(same(replayGrouping(sb(), {acpiIvrs: false}), '0000:00:14.0', '0000:00:14.3')).toBe(true)
  })
})
