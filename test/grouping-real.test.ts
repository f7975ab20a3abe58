/**
 * Oracle: every real lspci -v/-vv/-vvv listing in test/fixtures/real/pci that has a group listing beside
 * it must be predicted exactly (as a partition of the devices) by the replay, from topology alone.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeGroupListing, decodeLspciVerbose} from '../src/decode/lspci-verbose.js'
import {isIntelPchQuirkPort} from '../src/replay/acs-quirks.js'
import {crossCheckGroups, deviceIsolation, isolatingSlots, replayGrouping} from '../src/replay/grouping.js'

const repoRoot = path.resolve(import.meta.dirname, '..')
const dataDir = path.resolve(repoRoot, 'test/fixtures/real/pci')
const pairs = readdirSync(dataDir)
  .filter((f) => f.endsWith('-lspci-vvv.txt'))
  .map((f) => f.replace(/-lspci-vvv\.txt$/, ''))
  .filter((host) => existsSync(path.join(dataDir, `${host}-iommu-groups.txt`)))

const load = (host: string) => decodeLspciVerbose(readFileSync(path.join(dataDir, `${host}-lspci-vvv.txt`), 'utf8'))

/** Partition as a sorted list of sorted member lists, restricted to `only`. */
function partition(groupOf: Map<string, number>, only: Set<string>): string[][] {
  const byId = new Map<number, string[]>()
  for (const [bdf, id] of groupOf) if (only.has(bdf)) byId.set(id, [...(byId.get(id) ?? []), bdf])
  return [...byId.values()].map((g) => g.sort()).sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''))
}

describe('real group listings are predicted exactly', () => {
  it('found the real pairs', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(17)
  })
  for (const host of pairs) {
    it(host, () => {
      const parsed = load(host)
      const listing = decodeGroupListing(readFileSync(path.join(dataDir, `${host}-iommu-groups.txt`), 'utf8'))
      expect(listing.length).toBeGreaterThan(0)
      const actual = new Map(listing.map((e) => [e.bdf, e.group]))
      const prediction = replayGrouping(parsed.topology)
      const listed = new Set(actual.keys())
      // Every listed device is in the parsed lspci and gets a predicted group.
      for (const bdf of listed) expect(prediction.groupOf.has(bdf), `${bdf} predicted`).toBe(true)
      expect(partition(prediction.groupOf, listed)).toEqual(partition(actual, listed))
      // And the cross-check over lspci's own "IOMMU group" fields agrees.
      expect(crossCheckGroups(parsed.topology, prediction).mismatches).toEqual([])
    })
  }
})

describe('facts stated in the hosts notes', () => {
  it('cm238: CPU root ports without ACS swallow the whole PLX cascade and the FPGA', () => {
    const parsed = load('cm238-xeone3-plx-switch')
    const p = replayGrouping(parsed.topology)
    const big = p.groupOf.get('0000:00:01.0')
    for (const bdf of ['0000:00:01.1', '0000:01:00.0', '0000:03:00.0', '0000:04:0b.0', '0000:0c:00.0']) expect(p.groupOf.get(bdf)).toBe(big)
    const fpga = deviceIsolation(p, parsed.topology, '0000:0c:00.0')
    expect(fpga.verdict).toBe('only-with-bridges')
    const group = p.groups[big ?? -1]
    expect(group?.reasons.join('\n')).toMatch(/00:01\.1 and 00:01\.0 are functions of one multifunction root port without ACS isolation: both: no ACS capability/)
    expect(group?.reasons.join('\n')).toMatch(/01:00\.0 sits below 00:01\.0, which has no ACS capability/)
    // PCH root ports 1c.0-1c.3 (Sunrise Point a110-a11f, ACS dword erratum) are separate groups.
    const pch = ['0000:00:1c.0', '0000:00:1c.1', '0000:00:1c.2', '0000:00:1c.3'].map((b) => p.groupOf.get(b))
    expect(new Set(pch).size).toBe(4)
  })

  it('coffeelake-h: PEG root port and both GPU functions share one group; the GPU must go with its audio function', () => {
    const parsed = load('coffeelake-h-laptop-aspm')
    const p = replayGrouping(parsed.topology)
    const id = p.groupOf.get('0000:01:00.0')
    expect(p.groups[id ?? -1]?.devices.sort()).toEqual(['0000:00:01.0', '0000:01:00.0', '0000:01:00.1'])
    const gpu = deviceIsolation(p, parsed.topology, '0000:01:00.0')
    expect(gpu.verdict).toBe('shares-with-endpoints')
    expect(gpu.mustGoWith).toEqual(['0000:01:00.1'])
    expect(gpu.bridges).toEqual(['0000:00:01.0'])
  })

  it('rembrandt: the 7 functions of 07:00 each expose ACS and each get their own group', () => {
    const p = replayGrouping(load('rembrandt-zephyrus-g14').topology)
    const ids = [0, 1, 2, 3, 4, 5, 6].map((f) => p.groupOf.get(`0000:07:00.${f}`))
    expect(ids.every((i) => i !== undefined)).toBe(true)
    expect(new Set(ids).size).toBe(7)
    // The AMD IOMMU function itself is not grouped.
    expect(p.notGrouped.map((n) => n.bdf)).toContain('0000:00:00.2')
  })

  it('amd-a10: no ACS anywhere: host bridge 00:02.0, both GPP bridges, the NIC and the Wi-Fi in one group', () => {
    const p = replayGrouping(load('amd-a10-9620p-bristolridge-laptop').topology)
    const id = p.groupOf.get('0000:00:02.0')
    expect(p.groups[id ?? -1]?.devices.sort()).toEqual(['0000:00:02.0', '0000:00:02.2', '0000:00:02.4', '0000:01:00.0', '0000:02:00.0'])
  })

  it('alderlake-p xps: VMD children share the VMD controller group', () => {
    const p = replayGrouping(load('alderlake-p-xps-tb-dock').topology)
    expect(p.groupOf.get('10000:e1:00.0')).toBe(p.groupOf.get('0000:00:0e.0'))
    expect(p.groupOf.get('10000:e0:06.0')).toBe(p.groupOf.get('0000:00:0e.0'))
  })

  it('asm1812 partial host: bus 03 hangs from an unknown root port, treated as isolated, and said so', () => {
    const p = replayGrouping(load('asm1812-switch-subtree').topology)
    expect(p.assumptions.join('\n')).toMatch(/bus 0000:03 has no upstream bridge/)
  })

  it('isolating slots: raptorlake ports that show ACS isolate (1a.0, 1b.0, 1c.0, 1d.0 show no extended config: unknown, not listed); coffeelake PEG 00:01.0 does not', () => {
    const slots = isolatingSlots(load('raptorlake-s-desktop-aer').topology)
    const raptor = slots.filter((s) => s.verdict === 'isolates').map((s) => s.port)
    expect(slots.filter((s) => s.verdict === 'unknown').map((s) => s.port).sort()).toEqual(['0000:00:1a.0', '0000:00:1b.0', '0000:00:1c.0', '0000:00:1d.0'])
    expect(raptor.sort()).toEqual(['0000:00:06.0', '0000:00:1b.4', '0000:00:1c.1', '0000:00:1c.2'])
    const coffee = isolatingSlots(load('coffeelake-h-laptop-aspm').topology).map((s) => s.port)
    expect(coffee).not.toContain('0000:00:01.0')
  })
})

describe('lspci -xxxx dumps (--lspci-dump) with "IOMMU group" lines are predicted exactly', () => {
  // Decoded by the topology engineer's dump loader from the hex bytes, not from the text.
  const dumps = readdirSync(dataDir).filter((f) => /-lspci-xxxx\.txt$/.test(f))
  it('found dumps with group lines', () => {
    expect(dumps.length).toBeGreaterThanOrEqual(10)
  })
  for (const file of dumps) {
    it(file, async () => {
      const {topologyFromLspciDump} = await import('../src/model/topology.js')
      const {topology} = topologyFromLspciDump(readFileSync(path.join(dataDir, file), 'utf8'))
      const prediction = replayGrouping(topology)
      const check = crossCheckGroups(topology, prediction)
      expect(check.onlyActual).toEqual([])
      expect(check.mismatches).toEqual([])
      // Every device is either grouped or said why not.
      expect(prediction.groupOf.size + prediction.notGrouped.length).toBe(topology.devices.size)
    })
  }
  it('the dumps with group lines really carry them (h310: 14, alderlake-p-gl9755: 29)', async () => {
    const {topologyFromLspciDump} = await import('../src/model/topology.js')
    for (const [file, count] of [['h310-coffeelake-desktop-gpu-lspci-xxxx.txt', 14], ['alderlake-p-gl9755-laptop-lspci-xxxx.txt', 29]] as const) {
      const {topology} = topologyFromLspciDump(readFileSync(path.join(dataDir, file), 'utf8'))
      expect([...topology.devices.values()].filter((d) => d.iommuGroup !== undefined)).toHaveLength(count)
    }
  })
  it('huananzhi X99 (its PCH root ports 8086:8c10/8c14 are on the Intel PCH quirk list): 5.9 rules merge what 5.8 rules split', async () => {
    const {topologyFromLspciDump} = await import('../src/model/topology.js')
    const {topology} = topologyFromLspciDump(readFileSync(path.join(dataDir, 'huananzhi-x99-qd4-xeon-e5v3-lspci-xxxx.txt'), 'utf8'))
    const pch = [...topology.devices.values()].filter((d) => isIntelPchQuirkPort(d))
    expect(pch.map((d) => d.bdf)).toEqual(['0000:00:1c.0', '0000:00:1c.2'])
    expect(pch.every((d) => d.acs === undefined)).toBe(true)
    const good = replayGrouping(topology, {kernelVersion: '5.8'})
    const bad = replayGrouping(topology, {kernelVersion: '5.9'})
    expect(new Set(pch.map((d) => good.groupOf.get(d.bdf))).size).toBe(pch.length)
    expect(new Set(pch.map((d) => bad.groupOf.get(d.bdf))).size).toBe(1)
  })
})
