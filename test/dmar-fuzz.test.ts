/**
 * Robustness: truncated, bit-flipped and random DMAR tables (seeded generator, >100k cases, plus a
 * fast-check property) never make decodeDmar, lintDmar, resolveDmarScopes or the renderers throw;
 * truncation is reported as data ("<truncated at 0x3c>").
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {lintDmar} from '../src/checks/dmar-lint.js'
import {decodeDmar, type DmarTable} from '../src/decode/dmar.js'
import {hex} from '../src/decode/pci-address.js'
import {resolveDmarScopes} from '../src/model/dmar-scope.js'
import {buildDmarReport, renderDmarReport, toJson} from '../src/report/dmar.js'
import {topologyOf} from './helpers/dmar-build.js'
import {realDmarTables} from './helpers/dmar-dsl.js'

/** mulberry32: small, fast, seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const corpus = realDmarTables().map((t) => t.bytes)
const topology = topologyOf([
  {bdf: '0000:00:02.0', classCode: 0x030000},
  {bdf: '0000:00:14.0', classCode: 0x0c0330},
  {bdf: '0000:00:1c.0', secondaryBus: 1, subordinateBus: 2, pcieType: 4},
  {bdf: '0000:01:00.0', parent: '0000:00:1c.0', secondaryBus: 2, subordinateBus: 2},
  {bdf: '0000:02:00.0', parent: '0000:01:00.0', ats: true, pcieType: 0},
])

/** Structural invariants every decode must satisfy, however bad the input. */
function checkInvariants(bytes: Uint8Array, table: DmarTable): void {
  const end = Math.min(table.length ?? bytes.length, bytes.length)
  let previous = -1
  for (const s of table.structures) {
    if (s.offset <= previous || s.offset < 48 || s.offset >= end) throw new Error(`structure offset ${s.offset} out of order or range`)
    previous = s.offset
    if ('scopes' in s) for (const scope of s.scopes) if (scope.offset < s.offset || scope.offset >= end) throw new Error('scope outside its structure')
  }
}

/** 0: decode only; 1: also resolve, lint and build the JSON report; 2: also render (cli-table3 is the slow part). */
function exercise(bytes: Uint8Array, depth: 0 | 1 | 2): DmarTable {
  const table = decodeDmar(bytes)
  checkInvariants(bytes, table)
  if (depth > 0) {
    JSON.stringify(toJson(table))
    const resolution = resolveDmarScopes(table, topology)
    const lint = lintDmar(table, topology, {resolution, kernelLog: ''})
    JSON.stringify(buildDmarReport(table, 'fuzz', lint, resolution, 'fuzz'))
    if (depth > 1) renderDmarReport(table, 'fuzz', lint, {resolution})
  }
  return table
}

describe('decodeDmar never throws', () => {
  it('every truncation of every real table reports where it was cut', () => {
    let cases = 0
    for (const bytes of corpus) {
      for (let cut = 0; cut < bytes.length; cut++) {
        const table = exercise(bytes.subarray(0, cut), cut % 16 === 0 ? 1 : 0)
        expect(table.problems.join('\n')).toContain(`<truncated at ${hex(cut)}>`)
        cases++
      }
    }
    expect(cases).toBeGreaterThan(8000)
  })

  it('120k seeded random, bit-flipped and restructured tables', () => {
    const random = prng(0x7d3a2b)
    const int = (n: number): number => Math.floor(random() * n)
    let cases = 0
    let decodedStructures = 0
    for (let i = 0; i < 120_000; i++) {
      const kind = i % 4
      let bytes: Uint8Array
      const source = corpus[int(corpus.length)] ?? new Uint8Array()
      if (kind === 0) {
        // bit flips anywhere, including the length fields
        bytes = source.slice()
        for (let f = 1 + int(8); f > 0; f--) {
          const at = int(bytes.length)
          bytes[at] = (bytes[at] ?? 0) ^ (1 << int(8))
        }
      } else if (kind === 1) {
        // random bytes overwriting a random window (keeps the header most of the time)
        bytes = source.slice()
        const from = 36 + int(Math.max(1, bytes.length - 36))
        for (let k = from; k < Math.min(bytes.length, from + 1 + int(24)); k++) bytes[k] = int(256)
      } else if (kind === 2) {
        // a valid-looking header followed by random structures of random types and lengths
        const body: number[] = []
        for (let n = int(8); n > 0; n--) {
          const len = int(3) === 0 ? int(8) : 4 + int(60)
          body.push(int(9), 0, len & 0xff, len >> 8, ...Array.from({length: Math.max(0, len - 4)}, () => (int(4) === 0 ? int(256) : int(12))))
        }
        const total = 48 + body.length
        bytes = new Uint8Array([...source.subarray(0, 48), ...body])
        bytes[4] = total & 0xff
        bytes[5] = (total >> 8) & 0xff
        bytes[6] = 0
        bytes[7] = 0
        if (int(4) === 0) bytes = bytes.subarray(0, int(bytes.length + 1))
      } else {
        // plain garbage, sometimes with the signature
        bytes = Uint8Array.from({length: int(600)}, () => int(256))
        if (int(2) === 0 && bytes.length >= 4) bytes.set([0x44, 0x4d, 0x41, 0x52])
      }
      const table = exercise(bytes, i % 12_000 === 0 ? 2 : i % 40 === 0 ? 1 : 0)
      decodedStructures += table.structures.length
      cases++
    }
    expect(cases).toBe(120_000)
    // the generator really produced structures to decode, not only header failures
    // No wall-clock bound here (a shared CI machine makes it flaky): bench/hostile-bounds.mjs times hostile inputs.
    expect(decodedStructures).toBeGreaterThan(100_000)
  })

  it('fast-check: arbitrary bytes after a DMAR signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 700}), fc.nat({max: 0xffff}), (tail, length) => {
        const bytes = new Uint8Array(8 + tail.length)
        bytes.set([0x44, 0x4d, 0x41, 0x52, length & 0xff, length >> 8, 0, 0])
        bytes.set(tail, 8)
        exercise(bytes, 1)
      }),
      {numRuns: 3000, seed: 42},
    )
  })
})

describe('broken input shows up as data', () => {
  const base = corpus[0] ?? new Uint8Array()

  it('a zero-length structure stops the walk with a message', () => {
    const bytes = base.slice()
    bytes[50] = 0
    bytes[51] = 0
    const table = decodeDmar(bytes)
    expect(table.structures).toHaveLength(0)
    expect(table.problems.join()).toContain('structure at 0x30 (type 0) has invalid length 0')
  })

  it('structure lengths 1, 2 and 3 (shorter than the 4-byte header) stop the walk like 0 does', () => {
    // A check of `length === 0` alone would take these and walk on 1-3 bytes at a time.
    for (const length of [1, 2, 3]) {
      const bytes = base.slice()
      bytes[50] = length
      bytes[51] = 0
      const table = decodeDmar(bytes)
      expect(table.structures, `length ${length}`).toHaveLength(0)
      expect(table.problems.join(), `length ${length}`).toContain(`structure at 0x30 (type 0) has invalid length ${length}; rest of the table not decoded`)
    }
  })

  it('a structure too short for its fixed fields becomes "unknown" with the bytes kept', () => {
    // DRHD of length 12 (needs 16): header + 8 bytes
    const bytes = new Uint8Array([...base.subarray(0, 48), 0, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0xd9, 0xfe])
    bytes[4] = bytes.length
    const table = decodeDmar(bytes)
    expect(table.structures[0]).toMatchObject({type: 'unknown', knownAs: 'DRHD', truncated: '<truncated at 0x3c>', raw: '00000c00010000000000d9fe'})
  })

  it('a device scope shorter than 6 bytes is reported and skipped', () => {
    // DRHD of length 24: 16 fixed bytes, then a scope whose length byte says 2
    const bytes = new Uint8Array([...base.subarray(0, 48), 0, 0, 24, 0, 0, 0, 0, 0, 0, 0x10, 0xd9, 0xfe, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0])
    bytes[4] = bytes.length
    const table = decodeDmar(bytes)
    expect(table.structures[0]?.type).toBe('DRHD')
    expect(table.structures[0]?.problems.join()).toContain('has invalid length 2')
  })
})
