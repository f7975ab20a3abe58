/**
 * Untrusted input stays bounded (issue 16): a DMAR table of millions of tiny structures, IVRS and
 * IORT tables of thousands of blocks, entries, nodes or mappings (an IORT mapping chain that loops
 * back on itself), a --tables description with millions of pokes or one huge mapping, a fault storm
 * of distinct requester × page keys. Each is cut at a documented cap with a message saying so, and what is under the cap
 * still decodes. (Memory and time on the full-size inputs: bench/hostile-bounds.mjs.)
 */
import {describe, expect, it} from 'vitest'
import {decodeDmar, DMAR_HEADER_LENGTH, MAX_DMAR_SCOPE_ENTRIES, MAX_DMAR_STRUCTURES} from '../src/decode/dmar.js'
import {decodeIort, IORT_HEADER_LENGTH, MAX_IORT_ID_MAPPINGS, MAX_IORT_NODES, ridToStreamId} from '../src/decode/iort.js'
import {decodeIvrs, isIvhd, IVRS_HEADER_LENGTH, MAX_IVRS_BLOCKS, MAX_IVRS_DEVICE_ENTRIES} from '../src/decode/ivrs.js'
import {parseKernelLog} from '../src/decode/kernel-log/index.js'
import {buildFromDescription, MAX_DESCRIBED_MAPPINGS, MAX_DESCRIBED_PAGES, MAX_DESCRIBED_POKES} from '../src/replay/translation/describe.js'
import {FaultTriage, MAX_EVENT_GROUPS, MAX_FOLDED_GROUPS, MAX_GROUPS} from '../src/replay/fault-triage.js'
import {faultsToJson, renderFaultsTable} from '../src/report/faults.js'
import {dmarTable, drhd, le, rawStructure, rhsa} from './helpers/dmar-build.js'

/** A DMAR table whose header length covers `body` (the checksum is not fixed: the decoder only reports it). */
function tableOf(body: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(DMAR_HEADER_LENGTH + body.length)
  bytes.set(dmarTable({structures: []}).subarray(0, DMAR_HEADER_LENGTH))
  bytes.set(le(bytes.length, 4), 4)
  bytes.set(body, DMAR_HEADER_LENGTH)
  return bytes
}
const RHSA = rhsa({base: 0xfed90000n, domain: 1})

describe('DMAR structure lengths 1–3 are refused (mutation-style: fails if the length check is weakened)', () => {
  // A structure header at 0x30 claiming length L < 4, then a well-formed RHSA. With the check,
  // nothing is decoded. Were it weakened (`length < L`, `length === 0`, removed past 0), the stub
  // would become an unknown structure and the walk would step L bytes on into the same header.
  for (const length of [1, 2, 3]) {
    it(`length ${length}: the walk stops at 0x30 and decodes nothing`, () => {
      const table = decodeDmar(tableOf([...le(1, 2), ...le(length, 2), ...RHSA]))
      expect(table.structures).toEqual([])
      expect(table.problems).toContain(`structure at 0x30 (type 1) has invalid length ${length}; rest of the table not decoded`)
    })
  }

  it('length 4 (the header alone) is accepted: the boundary is exactly the 4-byte header', () => {
    const table = decodeDmar(tableOf([...rawStructure(0x7f, []), ...RHSA]))
    expect(table.structures.map((s) => s.type)).toEqual(['unknown', 'RHSA'])
  })
})

describe('DMAR: structures and scopes are capped', () => {
  it(`an 8 MB table of 4-byte structures decodes ${MAX_DMAR_STRUCTURES} and says where it stopped`, () => {
    const size = 8 * 1024 * 1024
    const body = new Uint8Array(size - DMAR_HEADER_LENGTH)
    for (let at = 0; at < body.length; at += 4) body.set([0x7f, 0, 4, 0], at)
    const table = decodeDmar(tableOf(body))
    expect(table.structures).toHaveLength(MAX_DMAR_STRUCTURES)
    const stopAt = DMAR_HEADER_LENGTH + MAX_DMAR_STRUCTURES * 4
    expect(table.problems).toContain(`more than ${MAX_DMAR_STRUCTURES} structures: the ${size - stopAt} byte(s) from 0x${stopAt.toString(16)} on were not decoded`)
  })

  it(`device scopes and their path entries stop at ${MAX_DMAR_SCOPE_ENTRIES} table-wide; the structures themselves still decode`, () => {
    // 12 DRHDs of 1000 one-entry scopes each: 2 entries per scope, 24 000 in all.
    const scopes = Array.from({length: 1000}, (_, i) => ({type: 1, startBus: 0, path: [[i % 32, 0]] as Array<[number, number]>}))
    const units = Array.from({length: 12}, (_, i) => drhd({base: 0xfed90000n + BigInt(i) * 0x1000n, scopes}))
    const table = decodeDmar(tableOf(units.flat()))
    expect(table.structures).toHaveLength(12)
    const decoded = table.structures.reduce((n, s) => n + ('scopes' in s ? s.scopes.length : 0), 0)
    expect(decoded).toBe(MAX_DMAR_SCOPE_ENTRIES / 2)
    const cut = table.structures.flatMap((s) => s.problems).filter((p) => p.startsWith(`more than ${MAX_DMAR_SCOPE_ENTRIES} device scopes`))
    expect(cut).toHaveLength(12 - Math.floor(MAX_DMAR_SCOPE_ENTRIES / 2 / 1000))
  })
})

describe('replay --tables: a description is capped before it is built', () => {
  const unit = {name: 'dmar0', cap: '0xd2008c22260206', ecap: '0xf00f4a', haw: 39}
  const errorsOf = (json: unknown): string[] => {
    const built = buildFromDescription(json)
    return built.ok ? [] : built.errors
  }

  it(`more than ${MAX_DESCRIBED_POKES} pokes are refused by count, with nothing allocated`, () => {
    const pokes = Array.from({length: MAX_DESCRIBED_POKES + 1}, () => ({address: '0x10000000', value: 1}))
    expect(errorsOf({unit, pokes})).toEqual([`pokes: ${MAX_DESCRIBED_POKES + 1} pokes, more than the ${MAX_DESCRIBED_POKES} a description may hold`])
  })

  it(`more than ${MAX_DESCRIBED_MAPPINGS} mappings (over all domains) are refused by count`, () => {
    const half = Array.from({length: MAX_DESCRIBED_MAPPINGS / 2 + 1}, (_, i) => ({iova: i * 0x1000}))
    const errors = errorsOf({unit, domains: [{name: 'a', mappings: half}, {name: 'b', mappings: half}]})
    expect(errors).toEqual([`domains[].mappings: ${MAX_DESCRIBED_MAPPINGS + 2} mappings, more than the ${MAX_DESCRIBED_MAPPINGS} a description may hold`])
  })

  it(`pokes to distinct pages stop at ${MAX_DESCRIBED_PAGES} table pages`, () => {
    const pokes = Array.from({length: MAX_DESCRIBED_PAGES + 10}, (_, i) => ({address: `0x${(0x2000_0000 + i * 0x1000).toString(16)}`, value: 1}))
    expect(errorsOf({unit, pokes}).join()).toContain(`a description may build at most ${MAX_DESCRIBED_PAGES} table pages`)
  })

  it('one mapping of 1 TiB in 4-KiB pages (unaligned) stops at the page cap instead of building 2^28 entries', () => {
    const json = {unit, domains: [{name: 'd', mappings: [{iova: '0x1000', hpa: '0x3000', size: '0x10000000000'}]}], devices: [{bdf: '0000:01:00.0', domain: 'd'}]}
    expect(errorsOf(json).join()).toContain('the tables need more than')
  })

  it('a description under the caps still builds, and the replay may then allocate past the cap', () => {
    const built = buildFromDescription({unit, domains: [{name: 'd', mappings: [{iova: '0x10000', hpa: '0x7a3b5000'}]}], devices: [{bdf: '0000:01:00.0', domain: 'd'}]})
    expect(built.ok).toBe(true)
    if (built.ok) expect(built.context.units[0]!.memory.pageLimit).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('fault triage: a storm of distinct requester × page keys stays bounded', () => {
  const bdf = (i: number) => `${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${((i >> 3) & 0x1f).toString(16).padStart(2, '0')}.${i & 7}`
  const dmaLine = (i: number) => `[ ${(i / 1000).toFixed(6)}] DMAR: [DMA Read] Request device [${bdf(i)}] fault addr 0x${(0x100000 + i * 4096).toString(16)} [fault reason 0x05] PTE Read access is not set`

  it(`past ${MAX_GROUPS} groups and ${MAX_FOLDED_GROUPS} "other pages" groups, faults are counted as "and N more"`, () => {
    const extra = 1234
    const total = MAX_GROUPS + MAX_FOLDED_GROUPS + extra
    const t = new FaultTriage()
    // every line a new requester (and page): each past MAX_GROUPS would make its own folded group
    for (const r of parseKernelLog(Array.from({length: total}, (_, i) => dmaLine(i)).join('\n'))) t.add(r)
    const r = t.finish(total)
    expect(r.faults).toHaveLength(MAX_GROUPS + MAX_FOLDED_GROUPS)
    expect(r.faults.filter((f) => f.otherPages)).toHaveLength(MAX_FOLDED_GROUPS)
    expect(r.summary.ungrouped).toBe(extra)
    expect(r.summary.faultRecords).toBe(total)
    expect(r.faults.reduce((n, f) => n + f.count, 0) + r.summary.ungrouped).toBe(total)
    const json = faultsToJson(r, {origin: 'file', path: 'storm.log', lines: total})
    expect(json.notes.join('\n')).toContain(`… and ${extra} more fault or event line(s) past the cap`)
    expect(renderFaultsTable(json)).toContain(`… and ${extra} more fault or event line(s)`)
  })

  it(`event groups (here: distinct unrecognised fault lines) stop at ${MAX_EVENT_GROUPS}; the rest are counted`, () => {
    const total = MAX_EVENT_GROUPS + 77
    const t = new FaultTriage()
    for (const r of parseKernelLog(Array.from({length: total}, (_, i) => `[ 1.0] DMAR: Request device garbled line ${i}`).join('\n'))) t.add(r)
    const r = t.finish(total)
    expect(r.events.filter((e) => e.type === 'unparsed')).toHaveLength(MAX_EVENT_GROUPS)
    expect(r.summary.ungrouped).toBe(77)
  })
})

/** A table of `signature` whose header length covers `body` (checksum not fixed: only reported). */
function acpiTableOf(signature: string, headerLength: number, body: Uint8Array, fill: (bytes: Uint8Array) => void = () => {}): Uint8Array {
  const bytes = new Uint8Array(headerLength + body.length)
  bytes.set([...signature].map((c) => c.charCodeAt(0)), 0)
  bytes.set(le(bytes.length, 4), 4)
  bytes[8] = 2
  fill(bytes)
  bytes.set(body, headerLength)
  return bytes
}

describe('IVRS: blocks and device entries are capped like DMAR', () => {
  /** An IVHD 0x10 of `length` bytes (24 fixed) whose entries are all 4-byte selects. */
  function ivhdOfSelects(length: number): Uint8Array {
    const block = new Uint8Array(length)
    block.set([0x10, 0, ...le(length, 2), ...le(2, 2), ...le(0x40, 2), ...le(0xfeb80000, 4)], 0)
    for (let at = 24, id = 0; at + 4 <= length; at += 4, id++) block.set([0x02, ...le(id & 0xffff, 2), 0], at)
    return block
  }

  it(`a 1 MiB table of select entries decodes ${MAX_IVRS_DEVICE_ENTRIES} entries and says where each block stopped`, () => {
    const perBlock = 65532
    const blocks = Array.from({length: 16}, () => ivhdOfSelects(perBlock))
    const body = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0))
    blocks.reduce((at, b) => (body.set(b, at), at + b.length), 0)
    const table = decodeIvrs(acpiTableOf('IVRS', IVRS_HEADER_LENGTH, body))
    const ivhds = table.blocks.filter(isIvhd)
    expect(ivhds).toHaveLength(16)
    expect(ivhds.reduce((n, b) => n + b.entries.length, 0)).toBe(MAX_IVRS_DEVICE_ENTRIES)
    // The first block holds (65532 - 24) / 4 = 16 377 entries: it is cut, and every later one is empty.
    const cut = ivhds.flatMap((b) => b.problems).filter((p) => p.startsWith(`more than ${MAX_IVRS_DEVICE_ENTRIES} device entries in the table`))
    expect(cut).toHaveLength(16)
    expect(ivhds[0]!.problems[0]).toBe(`more than ${MAX_IVRS_DEVICE_ENTRIES} device entries in the table: the ${perBlock - 24 - 4 * MAX_IVRS_DEVICE_ENTRIES} byte(s) of entries from 0x${(IVRS_HEADER_LENGTH + 24 + 4 * MAX_IVRS_DEVICE_ENTRIES).toString(16)} on were not decoded`)
  })

  it(`blocks stop at ${MAX_IVRS_BLOCKS}: a table of empty 24-byte IVHDs`, () => {
    const count = MAX_IVRS_BLOCKS + 100
    const body = new Uint8Array(count * 24)
    for (let i = 0; i < count; i++) body.set(ivhdOfSelects(24), i * 24)
    const table = decodeIvrs(acpiTableOf('IVRS', IVRS_HEADER_LENGTH, body))
    expect(table.blocks).toHaveLength(MAX_IVRS_BLOCKS)
    const stopAt = IVRS_HEADER_LENGTH + MAX_IVRS_BLOCKS * 24
    expect(table.problems).toContain(`more than ${MAX_IVRS_BLOCKS} blocks: the ${100 * 24} byte(s) from 0x${stopAt.toString(16)} on were not decoded`)
  })
})

describe('IORT: nodes and ID mappings are capped, and a self-referencing mapping chain ends', () => {
  /** A root-complex node (56 bytes: 36 fixed + one mapping) of `segment` mapping every RID to the node at `next`. */
  function rootComplex(segment: number, next: number, mappings = 1): Uint8Array {
    const length = 36 + 20 * mappings
    const node = new Uint8Array(length)
    node.set([2, ...le(length, 2), 1, 0, 0, 0, 0, ...le(mappings, 4), ...le(36, 4)], 0)
    node.set(le(segment, 4), 28)
    for (let i = 0; i < mappings; i++) node.set([...le(0, 4), ...le(0xffff, 4), ...le(0, 4), ...le(next, 4), ...le(0, 4)], 36 + 20 * i)
    return node
  }
  const withCount = (count: number) => (bytes: Uint8Array) => {
    bytes.set(le(count, 4), 36)
    bytes.set(le(IORT_HEADER_LENGTH, 4), 40)
  }

  it(`a chain of ${MAX_IORT_NODES + 1000} root complexes, the last mapping onto itself: ${MAX_IORT_NODES} nodes decoded, ridToStreamId ends`, () => {
    const count = MAX_IORT_NODES + 1000
    const body = new Uint8Array(count * 56)
    for (let i = 0; i < count; i++) {
      const at = IORT_HEADER_LENGTH + i * 56
      body.set(rootComplex(i, i === MAX_IORT_NODES - 1 ? at : at + 56), i * 56)
    }
    const table = decodeIort(acpiTableOf('IORT', IORT_HEADER_LENGTH, body, withCount(count)))
    expect(table.nodes).toHaveLength(MAX_IORT_NODES)
    expect(table.problems).toContain(`more than ${MAX_IORT_NODES} nodes: 1000 of the ${count} the header counts, from 0x${(IORT_HEADER_LENGTH + MAX_IORT_NODES * 56).toString(16)} on, were not decoded`)
    const found = ridToStreamId(table, 0, 0x0100)
    expect(found?.smmu).toBeUndefined()
    expect(found?.path.length).toBeLessThanOrEqual(MAX_IORT_NODES + 2)
  })

  it(`ID mappings stop at ${MAX_IORT_ID_MAPPINGS} table-wide`, () => {
    // 4 root complexes of 3000 mappings each (60 036 bytes per node, under the 16-bit length).
    const node = (i: number) => rootComplex(i, IORT_HEADER_LENGTH, 3000)
    const nodes = [0, 1, 2, 3].map(node)
    const body = new Uint8Array(nodes.reduce((n, b) => n + b.length, 0))
    nodes.reduce((at, b) => (body.set(b, at), at + b.length), 0)
    const table = decodeIort(acpiTableOf('IORT', IORT_HEADER_LENGTH, body, withCount(4)))
    expect(table.nodes).toHaveLength(4)
    expect(table.nodes.map((n) => n.mappings.length)).toEqual([3000, 3000, MAX_IORT_ID_MAPPINGS - 6000, 0])
    expect(table.nodes[2]!.problems).toEqual([`more than ${MAX_IORT_ID_MAPPINGS} ID mappings in the table: ${9000 - MAX_IORT_ID_MAPPINGS} of this node's 3000 were not decoded`])
    expect(table.nodes[3]!.problems).toEqual([`more than ${MAX_IORT_ID_MAPPINGS} ID mappings in the table: 3000 of this node's 3000 were not decoded`])
  })
})
