/**
 * Agreement with ACPICA 20260408 on every real IVRS table in test/fixtures/real/ivrs: each field
 * the disassembler prints (at its absolute offset) must equal what decodeIvrs produced, and every
 * field decodeIvrs produced must be one ACPICA printed. The mapping from our names to ACPICA's is
 * written out here by hand, with the offsets from the AMD IOMMU spec (48882) layouts.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeIvrs, effectiveIvhdType, ivrsAliases, type Ivhd, type IvrsBlock, type IvrsEntry, type IvrsTable} from '../src/decode/ivrs.js'
import {acpiHeaderExpectations, realAcpiTables, type DslField} from './helpers/dmar-dsl.js'
import {realData} from './support/paths.js'

interface Expected {
  offset: number
  name: string
  value: string
}

const n = (v: number | bigint | undefined): string => (v === undefined ? '<missing>' : BigInt(v).toString())
/** ACPICA prints an 8-byte _HID/_CID that is a 32-bit integer as a number, else as a string. */
const id = (v: string | undefined): string => (v === undefined ? '<missing>' : v.startsWith('0x') ? BigInt(v).toString() : v)

function headerFields(t: IvrsTable): Expected[] {
  return [
    ...acpiHeaderExpectations(t),
    {offset: 36, name: 'Virtualization Info', value: n(t.info?.value)},
  ]
}

function entryFields(e: IvrsEntry, tableLength: number): Expected[] {
  const at = e.offset
  const head: Expected[] = [
    {offset: at, name: 'Subtable Type', value: n(e.typeCode)},
    {offset: at + 1, name: 'Device ID', value: n(e.deviceId)},
    {offset: at + 3, name: 'Data Setting (decoded below)', value: n(e.dataSetting.value)},
  ]
  switch (e.type) {
    case 'alias-select':
    case 'alias-range-start':
      return [...head, {offset: at + 5, name: 'Source Used Device ID', value: n(e.sourceId)}]
    case 'extended-select':
    case 'extended-range-start':
      return [...head, {offset: at + 4, name: 'Extended Data', value: n(e.extendedData)}]
    case 'special':
      return [
        ...head,
        {offset: at + 4, name: 'Handle', value: n(e.handle)},
        {offset: at + 5, name: 'Source Used Device ID', value: n(e.sourceId)},
        {offset: at + 7, name: 'Variety', value: n(e.varietyCode)},
      ]
    case 'acpi-hid': {
      // ACPICA reads an integer UID as 8 bytes; when those run past the table it prints no UID value.
      const acpicaSkipsUid = e.uidFormat === 1 && e.offset + 22 + 8 > tableLength
      const uid: Expected[] =
        e.uid === undefined
          ? []
          : [
              {offset: at + 20, name: 'UID Format', value: n(e.uidFormat)},
              {offset: at + 21, name: 'UID Length', value: n(e.entryLength - 22)},
              ...(acpicaSkipsUid ? [] : [{offset: at + 22, name: 'UID', value: e.uidFormat === 1 ? n(BigInt(e.uid)) : e.uid}]),
            ]
      return [...head, {offset: at + 4, name: 'ACPI HID', value: id(e.hid)}, {offset: at + 12, name: 'ACPI CID', value: id(e.cid)}, ...uid]
    }
    default:
      return head
  }
}

function blockFields(b: IvrsBlock, tableLength: number): Expected[] {
  const at = b.offset
  const head: Expected[] = [
    {offset: at, name: 'Subtable Type', value: n(b.typeCode)},
    {offset: at + 2, name: 'Length', value: n(b.blockLength)},
  ]
  switch (b.kind) {
    case 'IVHD': {
      const fixed: Expected[] = [
        {offset: at + 1, name: 'Flags (decoded below)', value: n(b.flags.value)},
        {offset: at + 4, name: 'DeviceId', value: n(b.deviceId)},
        {offset: at + 6, name: 'Capability Offset', value: n(b.capabilityOffset)},
        {offset: at + 8, name: 'Base Address', value: n(b.baseAddress)},
        {offset: at + 16, name: 'PCI Segment Group', value: n(b.segment)},
        {offset: at + 18, name: 'Virtualization Info', value: n(b.info)},
      ]
      const typed: Expected[] =
        b.typeCode === 0x10
          ? [{offset: at + 20, name: 'Feature Reporting', value: n(b.featureReporting)}]
          : [
              {offset: at + 20, name: 'Attributes', value: n(b.attributes)},
              {offset: at + 24, name: 'EFR Image', value: n(b.efrImage)},
              // ACPICA 20260408 still calls the EFR2 image (spec 3.06+) "Reserved".
              {offset: at + 32, name: 'Reserved', value: n(b.efr2Image)},
            ]
      return [...head, ...fixed, ...typed, ...b.entries.flatMap((e) => entryFields(e, tableLength))]
    }
    case 'IVMD':
      return [
        ...head,
        {offset: at + 1, name: 'Flags (decoded below)', value: n(b.flags.value)},
        {offset: at + 4, name: 'DeviceId', value: n(b.deviceId)},
        {offset: at + 6, name: 'Auxiliary Data', value: n(b.auxData)},
        {offset: at + 16, name: 'Start Address', value: n(b.startAddress)},
        {offset: at + 24, name: 'Memory Length', value: n(b.length)},
      ]
    case 'unknown':
      // ACPICA prints only "**** Unknown IVRS subtable type" for a type it does not know.
      return []
  }
}

const key = (f: {offset: number; name: string}): string => `${f.offset}:${f.name}`
const ours = (t: IvrsTable): Expected[] => [...headerFields(t), ...t.blocks.flatMap((b) => blockFields(b, t.byteLength))].sort((a, b) => a.offset - b.offset)

/** Padding entries (types 0x00/0x40) that decodeIvrs leaves out: every field ACPICA prints inside one. */
function inPadding(f: DslField, table: IvrsTable): boolean {
  const pads = table.blocks.flatMap((b) => (b.kind === 'IVHD' ? b.paddingOffsets : []))
  return pads.some((p) => f.offset >= p && f.offset < p + 4)
}

/** Reserved fields we do not expose, and padding entries. */
function ignorable(f: DslField, expected: Map<string, Expected>, table: IvrsTable): boolean {
  return (f.name === 'Reserved' && !expected.has(key(f))) || inPadding(f, table)
}

const tables = realAcpiTables(path.join(realData, 'ivrs'))

describe('decodeIvrs agrees with ACPICA 20260408 on every real table', () => {
  it('finds every table SOURCES.md lists', () => {
    // A missing directory or file must not pass silently.
    const listed = readFileSync(path.join(realData, 'ivrs', 'SOURCES.md'), 'utf8').match(/^\| [a-z0-9-]+\.dat \|/gm) ?? []
    expect(listed.length).toBeGreaterThanOrEqual(26)
    expect(tables.map((t) => `| ${t.name}.dat |`).sort()).toEqual([...listed].sort())
  })

  for (const table of tables) {
    it(table.name, () => {
      const decoded = decodeIvrs(table.bytes)
      expect(decoded.problems).toEqual([])
      expect(decoded.blocks.every((b) => b.problems.length === 0 && !(b.kind === 'unknown' && b.knownAs !== undefined))).toBe(true)
      // A block of a type nobody knows: ACPICA prints no field inside it either.
      for (const b of decoded.blocks.filter((x) => x.kind === 'unknown'))
        expect(table.dsl.filter((f) => f.offset >= b.offset && f.offset < b.offset + b.blockLength)).toEqual([])
      expect(decoded.checksumValid).toBe(true)
      const mine = ours(decoded)
      const expected = new Map(mine.map((f) => [key(f), f]))
      const theirs = table.dsl.filter((f) => !ignorable(f, expected, decoded))
      // ACPICA reads an integer UID as 8 bytes whatever UID Length says; compare the bytes the length covers.
      const uidLength = new Map(decoded.blocks.flatMap((b) => (b.kind === 'IVHD' ? b.entries : [])).filter((e) => e.uidFormat === 1).map((e) => [e.offset + 22, e.entryLength - 22]))
      const theirValues = theirs.map((f) => {
        const len = f.name === 'UID' ? uidLength.get(f.offset) : undefined
        return `${key(f)}=${len === undefined ? f.value : (BigInt(f.value) & ((1n << BigInt(8 * len)) - 1n)).toString()}`
      })
      expect(theirValues).toEqual(mine.map((f) => `${key(f)}=${f.value}`))
      // What we skip is reserved, or a padding entry of type 0x00/0x40.
      for (const f of table.dsl.filter((f) => ignorable(f, expected, decoded))) {
        if (f.name === 'Subtable Type') expect(['0', '64']).toContain(f.value)
        else if (!inPadding(f, decoded)) expect(f.name).toBe('Reserved')
      }
    })
  }
})

describe('what the real tables hold', () => {
  const decoded = tables.map((t) => ({name: t.name, table: decodeIvrs(t.bytes)}))
  const blocks = decoded.flatMap((d) => d.table.blocks)
  const entries = blocks.flatMap((b) => (b.kind === 'IVHD' ? b.entries : []))

  it('covers every IVHD type, IVMD types and the entry kinds the issue names', () => {
    const types = new Set(blocks.map((b) => b.typeCode))
    for (const t of [0x10, 0x11, 0x40, 0x21]) expect(types.has(t), `block type ${t.toString(16)}`).toBe(true)
    const kinds = new Set(entries.map((e) => e.type))
    for (const k of ['range-start', 'range-end', 'alias-range-start', 'special', 'acpi-hid'] as const) expect(kinds.has(k), k).toBe(true)
  })

  it('the kernel reads the highest IVHD type that describes the first IOMMU', () => {
    for (const {name, table} of decoded) {
      const types = table.blocks.filter((b): b is Ivhd => b.kind === 'IVHD').map((b) => b.typeCode)
      expect(effectiveIvhdType(table), name).toBe(Math.max(...types))
    }
  })

  it('alias ranges become firmware DMA aliases', () => {
    const z13 = decoded.find((d) => d.name.startsWith('asus-rog-flow-z13-2025'))
    expect(z13).toBeDefined()
    // 43 FF00 → A5 closed by 04 FFFF: bus ff aliases to 00:14.5 in the 0x40 IVHD.
    expect(ivrsAliases(z13?.table ?? decodeIvrs(new Uint8Array()))).toEqual([
      {segment: 0, first: 0xff00, last: 0xffff, aliasTo: 0xa5, firstBdf: '0000:ff:00.0', lastBdf: '0000:ff:1f.7', aliasBdf: '0000:00:14.5', offset: 0x138},
    ])
  })
})
