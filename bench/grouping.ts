/**
 * Grouping replay on a generated 2,000+-function server (issue 6: "well under a second").
 *
 *   sh bench/grouping.sh
 *
 * Two sockets (root buses 00 and 80), each with: uncore multifunction devices on the root bus,
 * root ports with ACS, one root port without ACS (GPU + audio), a PCIe switch with 16 downstream
 * ports and NVMe drives, a PCIe-to-PCI bridge with conventional cards, and four dual-port SR-IOV
 * NICs (Intel 82599 ids, so the mf-endpoint quirk applies) with 120 VFs per port. As a yardstick
 * measured in the same run: JSON.parse of the same topology serialised — the ratio says how many
 * "parse the topology once" one full replay costs. Not a test: numbers vary by machine.
 */
import {ACS, PCIE_TYPE, REQ_ACS_FLAGS, type PciFunction, type PciTopology} from '../src/model/pci.js'
import {replayGrouping} from '../src/replay/grouping.js'

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0')
const bdf = (bus: number, dev: number, fn: number) => `0000:${hex(bus, 2)}:${hex(dev, 2)}.${fn}`
const ACS_ON = {cap: ACS.SV | ACS.TB | ACS.RR | ACS.CR | ACS.UF, ctl: REQ_ACS_FLAGS}

function make(bus: number, dev: number, fn: number, extra: Partial<PciFunction> = {}): PciFunction {
  return {
    bdf: bdf(bus, dev, fn), segment: 0, bus, device: dev, function: fn,
    vendorId: 0x8086, deviceId: 0x0001, classCode: 0x088000, headerType: 0, multifunction: false,
    pcieType: PCIE_TYPE.endpoint, acs: undefined, ari: undefined, ats: undefined, pri: undefined, pasid: undefined,
    sriov: undefined, flr: {pcie: true, af: false}, children: [], virtfns: [], isVirtfn: false, configLength: 4096,
    ...extra,
  }
}

function generate(): PciTopology {
  const all: PciFunction[] = []
  const add = (f: PciFunction, parent?: PciFunction) => {
    if (parent) {
      f.parent = parent.bdf
      if (!f.isVirtfn) parent.children.push(f.bdf)
    }
    all.push(f)
    return f
  }
  for (const root of [0x00, 0x80]) {
    let nextBus = root + 1
    const port = (dev: number, fn: number, acs: PciFunction['acs'], parent?: PciFunction, type: number = PCIE_TYPE.rootPort) =>
      add(make(parent ? (parent.secondaryBus ?? 0) : root, dev, fn, {headerType: 1, classCode: 0x060400, pcieType: type, acs, secondaryBus: nextBus, subordinateBus: nextBus++}), parent)
    add(make(root, 0, 0, {classCode: 0x060000, pcieType: PCIE_TYPE.rcEndpoint}))
    for (let fn = 0; fn < 8; fn++) add(make(root, 5, fn, {multifunction: true, pcieType: undefined}))
    for (let fn = 0; fn < 8; fn++) add(make(root, 8, fn, {multifunction: true, pcieType: PCIE_TYPE.rcEndpoint}))
    // GPU + audio below a root port without ACS.
    const peg = port(1, 0, undefined)
    add(make(peg.secondaryBus ?? 0, 0, 0, {classCode: 0x030000, multifunction: true, vendorId: 0x10de}), peg)
    add(make(peg.secondaryBus ?? 0, 0, 1, {classCode: 0x040300, multifunction: true, vendorId: 0x10de}), peg)
    // A switch: 16 downstream ports with ACS, each with an NVMe drive.
    const sw = port(2, 0, ACS_ON)
    const usp = add(make(sw.secondaryBus ?? 0, 0, 0, {headerType: 1, classCode: 0x060400, pcieType: PCIE_TYPE.upstreamPort, secondaryBus: nextBus, subordinateBus: nextBus++}), sw)
    for (let d = 0; d < 16; d++) {
      const dsp = port(d, 0, ACS_ON, usp, PCIE_TYPE.downstreamPort)
      add(make(dsp.secondaryBus ?? 0, 0, 0, {classCode: 0x010802, vendorId: 0x144d}), dsp)
    }
    // A PCIe-to-PCI bridge with four conventional cards.
    const rp3 = port(3, 0, ACS_ON)
    const p2p = add(make(rp3.secondaryBus ?? 0, 0, 0, {headerType: 1, classCode: 0x060400, pcieType: PCIE_TYPE.pcieToPciBridge, secondaryBus: nextBus, subordinateBus: nextBus++}), rp3)
    for (let d = 1; d <= 4; d++) add(make(p2p.secondaryBus ?? 0, d, 0, {pcieType: undefined, classCode: 0x020000}), p2p)
    // Four dual-port SR-IOV NICs, 120 VFs per port, VFs on the next bus.
    for (let n = 0; n < 4; n++) {
      const rp = port(4 + n, 0, ACS_ON)
      const nicBus = rp.secondaryBus ?? 0
      const vfBus = nextBus++
      for (let pfn = 0; pfn < 2; pfn++) {
        const pf = add(make(nicBus, 0, pfn, {classCode: 0x020000, multifunction: true, deviceId: 0x10fb}), rp)
        for (let v = 0; v < 120; v++) {
          const index = pfn * 120 + v
          const vf = add(make(vfBus, index >> 3, index & 7, {classCode: 0x020000, deviceId: 0x10ed, isVirtfn: true, physfn: pf.bdf}), rp)
          pf.virtfns.push(vf.bdf)
        }
      }
    }
  }
  return {devices: new Map(all.map((f) => [f.bdf, f])), source: 'sysfs'}
}

const topology = generate()
const serialised = JSON.stringify([...topology.devices.values()])
const time = (runs: number, f: () => void): number => {
  f() // warm up
  const start = process.hrtime.bigint()
  for (let i = 0; i < runs; i++) f()
  return Number(process.hrtime.bigint() - start) / 1e6 / runs
}
const coldStart = process.hrtime.bigint()
const first = replayGrouping(topology)
const coldMs = Number(process.hrtime.bigint() - coldStart) / 1e6
const replayMs = time(20, () => replayGrouping(topology))
const parseMs = time(20, () => JSON.parse(serialised))
console.log(`functions: ${topology.devices.size}, predicted groups: ${first.groups.length}`)
console.log(`replay (first run, cold JIT): ${coldMs.toFixed(1)} ms`)
console.log(`replay (mean of 20 warm runs): ${replayMs.toFixed(2)} ms`)
console.log(`JSON.parse of the same topology (${(serialised.length / 1024).toFixed(0)} KiB): ${parseMs.toFixed(2)} ms`)
console.log(`ratio replay / JSON.parse: ${(replayMs / parseMs).toFixed(1)}x`)
