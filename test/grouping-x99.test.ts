/**
 * The X99 PCH ACS quirk regression (Linux 5.8 correct, 5.9 broken, fixed in 5.10), replayed on the
 * real host's devices (see test/fixtures/groups/README.md for what is read from where).
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeGroupListing, decodeLspciVerbose} from '../src/decode/lspci-verbose.js'
import {ACS, PCIE_TYPE, REQ_ACS_FLAGS, type PciFunction} from '../src/model/pci.js'
import {crossCheckGroups, replayGrouping} from '../src/replay/grouping.js'
import {fn, topology} from './fixtures/groups/make-topology.js'
import {realData} from './support/paths.js'

const dataDir = path.join(realData, 'pci')
const read = (f: string) => readFileSync(path.join(dataDir, f), 'utf8')
const listing58 = decodeGroupListing(read('x99-i7-5930k-pch-acs-quirk-iommu-groups-5.8.txt'))
const listing59 = decodeGroupListing(read('x99-i7-5930k-pch-acs-quirk-iommu-groups-5.9.txt'))
const partial = decodeLspciVerbose(read('x99-i7-5930k-pch-acs-quirk-lspci-vvv-partial.txt'))

const secondaryOf: Record<string, number> = {
  '0000:00:01.0': 0x04, '0000:00:01.1': 0x05, '0000:00:02.0': 0x01, '0000:00:03.0': 0x02, '0000:00:03.2': 0x03,
  '0000:00:1c.0': 0x06, '0000:00:1c.3': 0x07, '0000:00:1c.4': 0x0c, '0000:00:1c.6': 0x0d,
  '0000:07:00.0': 0x08, '0000:08:01.0': 0x09, '0000:08:03.0': 0x0a, '0000:08:04.0': 0x0b,
}

function buildHost(): PciFunction[] {
  const cpuPort = partial.topology.devices.get('0000:00:01.0')
  const pchPort = partial.topology.devices.get('0000:00:1c.4')
  if (!cpuPort || !pchPort) throw new Error('partial lspci not parsed')
  return listing58.map((e) => {
    const secondaryBus = secondaryOf[e.bdf]
    const bridge = secondaryBus !== undefined
    const cls = e.classCode ?? 0
    let pcieType: PciFunction['pcieType'] = cls >> 8 === 0x0880 || cls >> 8 === 0x1101 || e.bdf.startsWith('0000:00:1') ? undefined : PCIE_TYPE.endpoint
    let acs: PciFunction['acs'] = undefined
    if (e.bdf.startsWith('0000:00:0') && bridge) {
      pcieType = PCIE_TYPE.rootPort
      acs = cpuPort.acs // same silicon as 00:01.0: ACS with SV RR CR UF
    } else if (e.bdf.startsWith('0000:00:1c')) {
      pcieType = PCIE_TYPE.rootPort
      acs = pchPort.acs // as 00:1c.4: no ACS capability
    } else if (e.bdf === '0000:07:00.0') pcieType = PCIE_TYPE.upstreamPort
    else if (e.bdf.startsWith('0000:08:')) pcieType = PCIE_TYPE.downstreamPort
    else if (e.bdf.startsWith('0000:00:05.') || e.bdf.startsWith('0000:00:11.')) pcieType = PCIE_TYPE.rcEndpoint
    return fn({
      bdf: e.bdf,
      vendorId: e.vendorId ?? 0xffff,
      deviceId: e.deviceId ?? 0xffff,
      classCode: cls,
      headerType: bridge ? 1 : 0,
      pcieType,
      acs,
      ...(bridge ? {secondaryBus, subordinateBus: secondaryBus} : {}),
    })
  })
}

function markMultifunction(fns: PciFunction[]): PciFunction[] {
  for (const f of fns) f.multifunction = fns.some((o) => o !== f && o.bus === f.bus && o.device === f.device)
  return fns
}

function partition(entries: Array<{bdf: string; group: number}>): string[][] {
  const by = new Map<number, string[]>()
  for (const e of entries) by.set(e.group, [...(by.get(e.group) ?? []), e.bdf])
  return [...by.values()].map((g) => g.sort()).sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''))
}

describe('X99 PCH ACS quirk, 5.8 vs 5.9', () => {
  it('the partial lspci gives the facts the replay needs', () => {
    const cpu = partial.topology.devices.get('0000:00:01.0')
    expect(cpu?.pcieType).toBe(PCIE_TYPE.rootPort)
    expect(cpu?.acs).toEqual({cap: ACS.SV | ACS.TB | ACS.RR | ACS.CR | ACS.UF, ctl: REQ_ACS_FLAGS})
    expect(partial.topology.devices.get('0000:00:1c.4')?.acs).toBeUndefined()
    expect(partial.topology.devices.get('0000:00:1c.4')?.secondaryBus).toBe(0x0c)
    expect(listing58.length).toBe(94)
    expect(listing59.map((e) => e.bdf).sort()).toEqual(listing58.map((e) => e.bdf).sort())
  })

  it('5.8: the Intel PCH enable-quirk isolates every PCH root port', () => {
    const topo = topology(markMultifunction(buildHost()))
    const p = replayGrouping(topo, {kernelVersion: '5.8.18'})
    const predicted = [...p.groupOf].map(([bdf, group]) => ({bdf, group}))
    expect(partition(predicted)).toEqual(partition(listing58))
  })

  it('5.9: the enable-quirk is skipped, PCH ports and everything behind them collapse into one group', () => {
    const topo = topology(markMultifunction(buildHost()))
    const p = replayGrouping(topo, {kernelVersion: '5.9.1'})
    expect(p.rules.map((r) => r.id)).toEqual(['pch-acs-enable-skipped'])
    const predicted = [...p.groupOf].map(([bdf, group]) => ({bdf, group}))
    expect(partition(predicted)).toEqual(partition(listing59))
    const pchGroup = p.groups[p.groupOf.get('0000:00:1c.0') ?? -1]
    expect(pchGroup?.reasons.join('\n')).toMatch(/pci_quirk_intel_pch_acs/)
    // Cross-check 5.9's real groups against a 5.8-rules prediction: the cause is named.
    for (const e of listing59) {
      const d = topo.devices.get(e.bdf)
      if (d) d.iommuGroup = e.group
    }
    const check = crossCheckGroups(topo, replayGrouping(topo, {kernelVersion: '5.10.0'}), {kernelVersion: '5.9.1'})
    expect(check.agree).toBe(false)
    expect(check.mismatches.some((m) => m.kind === 'kernel-merged' && /5\.9 skipped the Intel PCH ACS enable-quirk/.test(m.likelyCause))).toBe(true)
  })
})

describe('group listing parser on the real listings', () => {
  it('Arch-wiki one-line style (x299, verbatim): 136 devices in 50 groups', () => {
    const entries = decodeGroupListing(read('x299-taichi-xe-i9-7920x-iommu-groups.txt'))
    expect(entries).toHaveLength(136)
    expect(new Set(entries.map((e) => e.group)).size).toBe(50)
    expect(entries[0]).toEqual({bdf: '0000:00:00.0', group: 0, classCode: 0x060000, vendorId: 0x8086, deviceId: 0x2020})
  })
  it('mail-wrapped heading style (x99): 45 groups on 5.8, 36 on 5.9, 94 devices each', () => {
    expect(new Set(listing58.map((e) => e.group)).size).toBe(45)
    expect(new Set(listing59.map((e) => e.group)).size).toBe(36)
    expect(listing59.filter((e) => e.group === 29).map((e) => e.bdf)).toEqual([
      '0000:00:1c.0', '0000:00:1c.3', '0000:00:1c.4', '0000:00:1c.6', '0000:07:00.0', '0000:08:01.0',
      '0000:08:03.0', '0000:08:04.0', '0000:09:00.0', '0000:0c:00.0', '0000:0d:00.0',
    ])
  })
  it('the partial lspci gives 00:1c.4 its ids from the hex dump (no -nn in the text)', () => {
    const port = partial.topology.devices.get('0000:00:1c.4')
    expect([port?.vendorId, port?.deviceId]).toEqual([0x8086, 0x8d18])
  })
})
