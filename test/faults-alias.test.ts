/**
 * DMA aliases (vtd-reference §6.4): requester IDs a device's DMA may carry, and the devices a
 * faulting requester ID can stand for. Real topologies from the QEMU lab snapshots (real kernel,
 * real sysfs), plus small hand-built ones for the quirk tables no lab machine has.
 */
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {openRoot} from '../src/host/snapshot.js'
import {PCIE_TYPE, type PciFunction, type PciTopology} from '../src/model/pci.js'
import {loadTopology} from '../src/model/topology.js'
import {dmaAliasesOf, devicesBehindAlias, devfnOf} from '../src/replay/dma-alias.js'
import {fixturesDir} from './support/paths.js'

function labTopology(name: string): PciTopology {
  const loaded = loadTopology(openRoot(path.join(fixturesDir, name)))
  if (!loaded.ok) throw new Error(loaded.error)
  return loaded.topology
}

/** A hand-built function: only what the alias rules read. */
function fn(bdf: string, over: Partial<PciFunction> = {}): PciFunction {
  const [seg, bus, rest] = bdf.split(':')
  const [dev, f] = rest!.split('.')
  return {
    bdf, segment: Number.parseInt(seg!, 16), bus: Number.parseInt(bus!, 16), device: Number.parseInt(dev!, 16), function: Number(f),
    vendorId: 0x8086, deviceId: 0x1234, classCode: 0x020000, headerType: 0, multifunction: false, pcieType: PCIE_TYPE.endpoint,
    acs: undefined, ari: undefined, ats: undefined, pri: undefined, pasid: undefined, sriov: undefined, flr: {pcie: false, af: false},
    children: [], virtfns: [], isVirtfn: false, configLength: 4096, ...over,
  }
}

function topo(...fns: PciFunction[]): PciTopology {
  return {devices: new Map(fns.map((f) => [f.bdf, f])), source: 'sysfs'}
}

const rootPort = (bdf: string, secondary: number) => fn(bdf, {headerType: 1, pcieType: PCIE_TYPE.rootPort, secondaryBus: secondary, subordinateBus: secondary, classCode: 0x060400})

describe('real lab topologies', () => {
  it('PCIe-to-PCI bridge: 02:00.0 stands for the conventional devices behind 01:00.0', () => {
    const t = labTopology('lab-pcie-pci-bridge')
    expect(dmaAliasesOf(t, '0000:02:01.0').map((a) => [a.bdf, a.reason, a.via])).toEqual([
      ['0000:02:01.0', 'self', '0000:02:01.0'],
      ['0000:02:00.0', 'pcie-to-pci-bridge', '0000:01:00.0'],
    ])
    const res = devicesBehindAlias(t, 0x02, devfnOf(0, 0))
    expect(res.exists).toBe(false)
    expect(res.candidates.map((c) => [c.bdf, c.relation, c.via])).toEqual([
      ['0000:02:01.0', 'alias', '0000:01:00.0'],
      ['0000:02:02.0', 'alias', '0000:01:00.0'],
    ])
  })

  it('a PCIe endpoint behind a root port keeps its own ID', () => {
    const t = labTopology('lab-pcie-pci-bridge')
    expect(dmaAliasesOf(t, '0000:03:00.0').map((a) => a.bdf)).toEqual(['0000:03:00.0'])
  })

  it('SR-IOV: a VF that exists is itself, with its PF and VF number', () => {
    const t = labTopology('lab-sriov-nvme')
    const res = devicesBehindAlias(t, 0x01, devfnOf(0, 2))
    expect(res.candidates).toEqual([expect.objectContaining({bdf: '0000:01:00.2', relation: 'self', vf: {pf: '0000:01:00.0', number: 2}})])
  })

  it('a multifunction function that faults names itself', () => {
    const t = labTopology('lab-multifunction-endpoints')
    expect(devicesBehindAlias(t, 0x00, devfnOf(5, 1)).candidates.map((c) => c.bdf)).toEqual(['0000:00:05.1'])
  })
})

describe('quirk tables and missing devices (hand-built topologies)', () => {
  it('Marvell phantom function 1: a fault from xx:00.1 traces to function 0', () => {
    const t = topo(rootPort('0000:00:1c.0', 3), fn('0000:03:00.0', {vendorId: 0x1b4b, deviceId: 0x9230, parent: '0000:00:1c.0', classCode: 0x010601}))
    expect(dmaAliasesOf(t, '0000:03:00.0').map((a) => [a.bdf, a.reason])).toEqual([['0000:03:00.0', 'self'], ['0000:03:00.1', 'quirk-func1']])
    const res = devicesBehindAlias(t, 3, devfnOf(0, 1))
    expect(res.exists).toBe(false)
    expect(res.candidates).toEqual([expect.objectContaining({bdf: '0000:03:00.0', relation: 'alias', reason: 'quirk-func1'})])
  })

  it('Ricoh function-0 alias', () => {
    const t = topo(fn('0000:05:00.2', {vendorId: 0x1180, deviceId: 0xe832}))
    expect(dmaAliasesOf(t, '0000:05:00.2').map((a) => a.bdf)).toEqual(['0000:05:00.2', '0000:05:00.0'])
  })

  it('conventional bridge: own RID, or (secondary, 00.0) with the ASMedia quirk', () => {
    const plain = fn('0000:04:00.0', {headerType: 1, pcieType: undefined, secondaryBus: 5, subordinateBus: 5, vendorId: 0x104c, deviceId: 0xac23, classCode: 0x060400})
    // quirk_use_pcie_bridge_dma_alias needs a PCIe upstream bridge: here a root port.
    const rootPort = fn('0000:00:1c.0', {headerType: 1, pcieType: PCIE_TYPE.rootPort, secondaryBus: 4, subordinateBus: 5})
    const asm = fn('0000:04:00.0', {parent: '0000:00:1c.0', headerType: 1, pcieType: undefined, secondaryBus: 5, subordinateBus: 5, vendorId: 0x1b21, deviceId: 0x1080, classCode: 0x060400})
    const child = fn('0000:05:03.0', {parent: '0000:04:00.0', pcieType: undefined})
    expect(dmaAliasesOf(topo(plain, child), '0000:05:03.0').map((a) => [a.bdf, a.reason])).toEqual([['0000:05:03.0', 'self'], ['0000:04:00.0', 'pci-bridge']])
    expect(dmaAliasesOf(topo(rootPort, asm, child), '0000:05:03.0').map((a) => [a.bdf, a.reason])).toEqual([['0000:05:03.0', 'self'], ['0000:05:00.0', 'pcie-bridge-alias-quirk']])
  })

  it('ASPEED AST1150 does not re-tag; Broadcom XLATE_ROOT stops the walk', () => {
    const aspeed = fn('0000:06:00.0', {headerType: 1, pcieType: PCIE_TYPE.pcieToPciBridge, secondaryBus: 7, vendorId: 0x1a03, deviceId: 0x1150})
    const vga = fn('0000:07:00.0', {parent: '0000:06:00.0', pcieType: undefined})
    // The NO_ALIASES flag is posted for 7.0 (not in 6.18): only a 7.0 replay keeps the requester id.
    expect(dmaAliasesOf(topo(aspeed, vga), '0000:07:00.0', {kernelVersion: [7, 0]}).map((a) => a.bdf)).toEqual(['0000:07:00.0'])
    const card = fn('0000:07:01.0', {parent: '0000:06:00.0', pcieType: undefined})
    expect(dmaAliasesOf(topo(aspeed, card), '0000:07:01.0', {kernelVersion: [7, 0]}).map((a) => a.bdf)).toEqual(['0000:07:01.0'])
    expect(dmaAliasesOf(topo(aspeed, card), '0000:07:01.0').map((a) => [a.bdf, a.reason])).toEqual([['0000:07:01.0', 'self'], ['0000:07:00.0', 'pcie-to-pci-bridge']])
    const xlate = fn('0000:00:00.0', {headerType: 1, pcieType: PCIE_TYPE.rootPort, secondaryBus: 1, vendorId: 0x14e4, deviceId: 0x9084})
    const p2p = fn('0000:01:00.0', {headerType: 1, pcieType: PCIE_TYPE.pcieToPciBridge, secondaryBus: 2, parent: '0000:00:00.0'})
    const dev = fn('0000:02:04.0', {parent: '0000:01:00.0', pcieType: undefined})
    expect(dmaAliasesOf(topo(xlate, p2p, dev), '0000:02:04.0').map((a) => a.bdf)).toEqual(['0000:02:04.0', '0000:02:00.0'])
  })

  it('a VF number from the SR-IOV offset and stride when the VF is not enabled', () => {
    const pf = fn('0000:3b:00.0', {sriov: {totalVfs: 8, initialVfs: 8, numVfs: 0, firstVfOffset: 0x80, vfStride: 2, vfDeviceId: 0x154c, vfEnable: false, ariCapableHierarchy: true}})
    // RID 0x3b82 = 0x3b00 + 0x80 + (2 − 1) × 2 → VF 2
    const res = devicesBehindAlias(topo(pf), 0x3b, 0x82)
    expect(res.candidates).toEqual([expect.objectContaining({bdf: '0000:3b:10.2', relation: 'vf-not-present', vf: {pf: '0000:3b:00.0', number: 2}})])
  })

  it('nothing there: a removed device on a known bus, or a bus that does not exist', () => {
    const t = topo(rootPort('0000:00:1c.0', 1), fn('0000:01:00.0', {parent: '0000:00:1c.0'}))
    expect(devicesBehindAlias(t, 1, devfnOf(0, 3)).note).toMatch(/no device 0000:01:00.3 exists now/)
    expect(devicesBehindAlias(t, 0xf0, devfnOf(0x1f, 0)).note).toMatch(/bus f0 is not a PCI bus on this host/)
  })
})
