/**
 * A 4,000-function host whose devices all share one IOMMU group (sixteen root ports without
 * ACS, 250 functions below each), built in memory. Every per-device query and the grouping report
 * must stay linear: the assertions count index builds and bound the report's size, so a quadratic
 * path (scanning every device per device, listing every group member per member) fails them.
 */
import {describe, expect, it} from 'vitest'
import type {CollectedGroup, CollectedPciDevice} from '../src/collect/types.js'
import {loadPciNames} from '../src/decode/pci-ids.js'
import {busPeers, endpointSlots, groupMembers, indexStats, resetPlan, slotFunctions, topologyFromSysfs} from '../src/model/topology.js'
import {replayGrouping} from '../src/replay/grouping.js'
import {groupList} from '../src/report/group-list.js'
import {groupingReport, MUST_GO_WITH_LISTED} from '../src/report/groups.js'
import {configHeader} from './checks-hosts.js'

const PORTS = 16
const PER_PORT = 250

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0')
}

function bigHost(): {devices: CollectedPciDevice[]; group: CollectedGroup} {
  const devices: CollectedPciDevice[] = []
  const base = (bdf: string, sysfsPath: string, classCode: number, config: Uint8Array, parentBdf?: string): CollectedPciDevice => ({
    bdf, sysfsPath, ...(parentBdf ? {parentBdf} : {}), vendor: 0x8086, device: 0x1234, classCode,
    config: {ok: true, value: config, path: `/sys/bus/pci/devices/${bdf}/config`},
    iommuGroup: 1, resetMethod: {ok: true, value: ['flr'], path: `/sys/bus/pci/devices/${bdf}/reset_method`}, virtfns: [],
  })
  for (let p = 0; p < PORTS; p++) {
    const port = `0000:00:${hex2(1 + (p >> 3))}.${p & 7}`
    const bus = p + 1
    const portConfig = configHeader(0x8086, 0x1234, 0x060400, 64, 0x81)
    portConfig[0x19] = bus
    portConfig[0x1a] = bus
    devices.push(base(port, `/sys/devices/pci0000:00/${port}`, 0x060400, portConfig))
    for (let f = 0; f < PER_PORT; f++) {
      const bdf = `0000:${hex2(bus)}:${hex2(f >> 3)}.${f & 7}`
      devices.push(base(bdf, `/sys/devices/pci0000:00/${port}/${bdf}`, 0x020000, configHeader(0x8086, 0x1234, 0x020000, 64, 0x80), port))
    }
  }
  return {devices, group: {id: 1, devices: devices.map((d) => d.bdf), type: 'DMA'}}
}

describe('a 4,000-function host in one IOMMU group', () => {
  const {devices, group} = bigHost()

  it('topology queries build their indexes once, and answer with the size of the answer', () => {
    const before = indexStats.builds
    const topology = topologyFromSysfs(devices)
    expect(topology.devices.size).toBe(PORTS * (PER_PORT + 1))
    let peerTotal = 0
    let slotTotal = 0
    for (const fn of topology.devices.values()) {
      peerTotal += busPeers(topology, fn).length
      slotTotal += slotFunctions(topology, fn).length
      expect(groupMembers(topology, fn)).toHaveLength(topology.devices.size)
    }
    for (const fn of [...topology.devices.values()].slice(0, 50)) resetPlan(topology, fn)
    // One index for the whole topology: building it per call would be 4,016 builds here.
    expect(indexStats.builds - before).toBe(1)
    // 16 ports on one root bus see 15 peers each; 250 functions per bus see 249.
    expect(peerTotal).toBe(PORTS * (PORTS - 1) + PORTS * PER_PORT * (PER_PORT - 1))
    // Every full slot holds 8 functions (31 per bus), the last one 2; ports: 8 per slot.
    expect(slotTotal).toBe(PORTS * (31 * 8 * 8 + 2 * 2) + PORTS * 8)
    // The one shared group: endpoints of 32 slots under each port.
    expect(endpointSlots(topology, group.devices).size).toBe(PORTS * 32)
  })

  it('the grouping report lists a bounded number of companions per member (linear size)', () => {
    const topology = topologyFromSysfs(devices)
    const prediction = replayGrouping(topology)
    const names = loadPciNames([])
    const list = groupList(topology, names, 'memory', [group])
    const report = groupingReport({topology, prediction, list, mode: 'kernel', source: 'memory', slots: [], names})
    expect(report.groups).toHaveLength(1)
    const [only] = report.groups
    expect(only?.shared).toBe(true)
    expect(only?.members).toHaveLength(topology.devices.size)
    const listed = only?.members.reduce((sum, m) => sum + m.mustGoWith.length, 0) ?? 0
    expect(listed).toBeLessThanOrEqual(topology.devices.size * MUST_GO_WITH_LISTED)
    const sharer = only?.members.find((m) => m.verdict === 'shares-with-endpoints')
    expect(sharer?.mustGoWith).toHaveLength(MUST_GO_WITH_LISTED)
    expect(sharer?.mustGoWithCount).toBeGreaterThan(MUST_GO_WITH_LISTED)
    // Quadratic output (every member naming every other) would be ≥ 4,000² × 12 bytes ≈ 190 MB.
    expect(JSON.stringify(report, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).length).toBeLessThan(20_000_000)
  })
})
