/**
 * ACPI DMAR (DMA Remapping Reporting) table decoder, ACPICA style: one field table per
 * structure (offsets from the structure start, vtd-reference §1), one generic reader.
 *
 * `decodeDmar` never throws. Anything that does not fit is reported as data: a structure
 * whose fixed part runs past its end becomes `type: 'unknown'` with `truncated: '<truncated
 * at 0x3c>'` and its raw bytes; table-level trouble goes to `problems[]`.
 */

import {ACPI_HEADER_LAYOUT, acpiTableBytesFromText, type AcpiHeaderFields, checksumOf, type Fields, type Layout, rawHex, readAscii, readLayout, readNumber, readWhole, truncatedAt} from './acpi-table.js'
import {hex} from './pci-address.js'

// ---------------------------------------------------------------------------------------------
// Field tables (the generic reader lives in acpi-table.ts, shared with IVRS and IORT)

/** Table header (ACPI common header + DMAR fields), offsets from the table start. */
const HEADER_LAYOUT = {
  ...ACPI_HEADER_LAYOUT,
  hostAddressWidthByte: {at: 36, kind: 'u8'},
  flags: {at: 37, kind: 'u8'},
} as const satisfies Layout

export const DMAR_HEADER_LENGTH = 48
/** Every remapping structure starts with u16 type, u16 length. */
const STRUCTURE_HEADER_LENGTH = 4
/** Device scope: type, length, flags, reserved, enumeration id, start bus; then {dev, fn} pairs. */
const SCOPE_HEADER_LENGTH = 6
/**
 * Real tables hold tens of structures (a large server: a few hundred). A hostile table of
 * 4-byte structures would otherwise become millions of objects (8 MB → 2.6 GB); past these
 * counts decoding stops with a problem saying so, as it does on a broken length.
 */
export const MAX_DMAR_STRUCTURES = 4096
/** Device scopes plus their path entries, table-wide (a scope of a real table has one to three). */
export const MAX_DMAR_SCOPE_ENTRIES = 8192

const DRHD_LAYOUT = {
  flags: {at: 4, kind: 'u8'},
  size: {at: 5, kind: 'u8'},
  segment: {at: 6, kind: 'u16'},
  registerBase: {at: 8, kind: 'u64'},
} as const satisfies Layout
const RMRR_LAYOUT = {
  flags: {at: 4, kind: 'u16'},
  segment: {at: 6, kind: 'u16'},
  base: {at: 8, kind: 'u64'},
  limit: {at: 16, kind: 'u64'},
} as const satisfies Layout
const ATSR_LAYOUT = {
  flags: {at: 4, kind: 'u8'},
  segment: {at: 6, kind: 'u16'},
} as const satisfies Layout
const RHSA_LAYOUT = {
  registerBase: {at: 8, kind: 'u64'},
  proximityDomain: {at: 16, kind: 'u32'},
} as const satisfies Layout
const ANDD_LAYOUT = {
  deviceNumber: {at: 7, kind: 'u8'},
} as const satisfies Layout
const SATC_LAYOUT = {
  flags: {at: 4, kind: 'u8'},
  segment: {at: 6, kind: 'u16'},
} as const satisfies Layout
const SIDP_LAYOUT = {
  segment: {at: 6, kind: 'u16'},
} as const satisfies Layout

const SCOPE_LAYOUT = {
  typeCode: {at: 0, kind: 'u8'},
  length: {at: 1, kind: 'u8'},
  flags: {at: 2, kind: 'u8'},
  enumerationId: {at: 4, kind: 'u8'},
  startBus: {at: 5, kind: 'u8'},
} as const satisfies Layout

// ---------------------------------------------------------------------------------------------
// Decoded shapes (bigint inside; see src/report/dmar.ts for the JSON form)

export const DMAR_FLAGS = {INTR_REMAP: 0x1, X2APIC_OPT_OUT: 0x2, DMA_CTRL_PLATFORM_OPT_IN: 0x4} as const

export interface DmarTableFlags {
  value: number
  intrRemap: boolean
  x2apicOptOut: boolean
  dmaCtrlPlatformOptIn: boolean
}

export type ScopeType = 'pci-endpoint' | 'pci-bridge' | 'ioapic' | 'hpet' | 'acpi-namespace' | 'unknown'
/** Scope type codes (vtd-reference §1.3). */
export const SCOPE_TYPES: Record<number, ScopeType> = {
  1: 'pci-endpoint',
  2: 'pci-bridge',
  3: 'ioapic',
  4: 'hpet',
  5: 'acpi-namespace',
}

export interface PciPathEntry {
  device: number
  function: number
}

export interface DeviceScope {
  type: ScopeType
  typeCode: number
  /** Offset of the scope entry from the table start. */
  offset: number
  length: number
  /** Byte 2: flags (SIDP/SATC-era tables); reserved in older ones. */
  flags: number
  enumerationId: number
  startBus: number
  path: PciPathEntry[]
  /** Set when the entry runs past its structure or has an odd length. */
  problem?: string
}

interface StructureCommon {
  typeCode: number
  offset: number
  length: number
  /** Scope-list trouble ("<truncated at 0x...>", zero-length scope …). */
  problems: string[]
}

export interface Drhd extends StructureCommon {
  type: 'DRHD'
  flags: {value: number; includePciAll: boolean}
  /** Register set spans 2^size 4-KiB pages (0 in older tables). */
  size: number
  segment: number
  registerBase: bigint
  scopes: DeviceScope[]
}
export interface Rmrr extends StructureCommon {
  type: 'RMRR'
  /** Reserved in the kernel; ACPICA defines bit0 ALLOW_ALL. */
  flags: number
  segment: number
  base: bigint
  /** Inclusive end address. */
  limit: bigint
  scopes: DeviceScope[]
}
export interface Atsr extends StructureCommon {
  type: 'ATSR'
  flags: {value: number; allPorts: boolean}
  segment: number
  scopes: DeviceScope[]
}
export interface Rhsa extends StructureCommon {
  type: 'RHSA'
  registerBase: bigint
  proximityDomain: number
}
export interface Andd extends StructureCommon {
  type: 'ANDD'
  /** The enumeration id that type-5 (ACPI namespace) scopes refer to. */
  deviceNumber: number
  objectName: string
  nulTerminated: boolean
}
export interface Satc extends StructureCommon {
  type: 'SATC'
  flags: {value: number; atcRequired: boolean}
  segment: number
  scopes: DeviceScope[]
}
export interface Sidp extends StructureCommon {
  type: 'SIDP'
  segment: number
  scopes: DeviceScope[]
}
export interface UnknownStructure extends StructureCommon {
  type: 'unknown'
  /** The known name when the type is known but the structure is too short to decode. */
  knownAs?: StructureName
  truncated?: string
  /** Lowercase hex bytes of the structure (as far as the table goes). */
  raw: string
}

export type StructureName = 'DRHD' | 'RMRR' | 'ATSR' | 'RHSA' | 'ANDD' | 'SATC' | 'SIDP'
export type DmarStructure = Drhd | Rmrr | Atsr | Rhsa | Andd | Satc | Sidp | UnknownStructure
export type ScopedStructure = Drhd | Rmrr | Atsr | Satc | Sidp

export interface DmarTable extends AcpiHeaderFields {
  /** DMA physical address width in bits (header byte + 1). */
  hostAddressWidth?: number
  flags?: DmarTableFlags
  structures: DmarStructure[]
  /** Table-level problems, as data ("<truncated at 0x3c>", "zero-length structure at 0x58" …). */
  problems: string[]
}

// ---------------------------------------------------------------------------------------------
// Device scopes

/** What is left of MAX_DMAR_SCOPE_ENTRIES for the rest of the table. */
interface ScopeBudget {
  left: number
}

function decodeScopes(bytes: Uint8Array, from: number, end: number, problems: string[], budget: ScopeBudget): DeviceScope[] {
  const scopes: DeviceScope[] = []
  let at = from
  while (at < end) {
    if (budget.left <= 0) {
      problems.push(`more than ${MAX_DMAR_SCOPE_ENTRIES} device scopes and path entries in the table: the ${end - at} byte(s) of scopes from ${hex(at)} on were not decoded`)
      break
    }
    const head = readWhole(bytes, at, end, SCOPE_LAYOUT)
    if ('truncatedAt' in head) {
      problems.push(`${truncatedAt(head.truncatedAt)}: device scope at ${hex(at)} needs ${SCOPE_HEADER_LENGTH} bytes`)
      break
    }
    if (head.length < SCOPE_HEADER_LENGTH) {
      // A length below the header size would loop forever or overlap: stop, as the kernel does.
      problems.push(`device scope at ${hex(at)} has invalid length ${head.length}; remaining scopes not decoded`)
      break
    }
    const scopeEnd = Math.min(at + head.length, end)
    const path: PciPathEntry[] = []
    for (let p = at + SCOPE_HEADER_LENGTH; p + 2 <= scopeEnd; p += 2) path.push({device: bytes[p] ?? 0, function: bytes[p + 1] ?? 0})
    budget.left -= 1 + path.length
    const scope: DeviceScope = {
      type: SCOPE_TYPES[head.typeCode] ?? 'unknown',
      typeCode: head.typeCode,
      offset: at,
      length: head.length,
      flags: head.flags,
      enumerationId: head.enumerationId,
      startBus: head.startBus,
      path,
    }
    if (at + head.length > end) scope.problem = `${truncatedAt(end)}: scope length ${head.length} runs past its structure`
    else if ((head.length - SCOPE_HEADER_LENGTH) % 2 !== 0) scope.problem = `odd scope length ${head.length}: last byte is not a path entry`
    scopes.push(scope)
    at += head.length
  }
  return scopes
}

// ---------------------------------------------------------------------------------------------
// Structures: one entry per type, each a layout plus where its scopes (or name) begin

interface StructureDecoder {
  name: StructureName
  /** Bytes before the variable part (scopes or name); shorter structures cannot be decoded. */
  fixedLength: number
  build(bytes: Uint8Array, start: number, end: number, common: StructureCommon, budget: ScopeBudget): DmarStructure
}

function scoped<L extends Layout>(
  name: StructureName,
  layout: L,
  scopesAt: number,
  shape: (f: Fields<L>, scopes: DeviceScope[]) => Record<string, unknown>,
): StructureDecoder {
  return {
    name,
    fixedLength: scopesAt,
    build(bytes, start, end, common, budget) {
      const fields = readLayout(bytes, start, end, layout) as Fields<L>
      const scopes = decodeScopes(bytes, start + scopesAt, end, common.problems, budget)
      return {type: name, ...common, ...shape(fields, scopes)} as unknown as DmarStructure
    },
  }
}

const STRUCTURE_DECODERS: Record<number, StructureDecoder> = {
  0: scoped('DRHD', DRHD_LAYOUT, 16, (f, scopes) => ({
    flags: {value: f.flags, includePciAll: (f.flags & 0x1) !== 0},
    size: f.size,
    segment: f.segment,
    registerBase: f.registerBase,
    scopes,
  })),
  1: scoped('RMRR', RMRR_LAYOUT, 24, (f, scopes) => ({flags: f.flags, segment: f.segment, base: f.base, limit: f.limit, scopes})),
  2: scoped('ATSR', ATSR_LAYOUT, 8, (f, scopes) => ({
    flags: {value: f.flags, allPorts: (f.flags & 0x1) !== 0},
    segment: f.segment,
    scopes,
  })),
  3: {
    name: 'RHSA',
    fixedLength: 20,
    build(bytes, start, end, common): Rhsa {
      const f = readLayout(bytes, start, end, RHSA_LAYOUT) as Fields<typeof RHSA_LAYOUT>
      return {type: 'RHSA', ...common, registerBase: f.registerBase, proximityDomain: f.proximityDomain}
    },
  },
  4: {
    name: 'ANDD',
    fixedLength: 8,
    build(bytes, start, end, common): Andd {
      const f = readLayout(bytes, start, end, ANDD_LAYOUT) as Fields<typeof ANDD_LAYOUT>
      const nameStart = start + 8
      let nul = nameStart
      while (nul < end && bytes[nul] !== 0) nul++
      return {
        type: 'ANDD',
        ...common,
        deviceNumber: f.deviceNumber,
        objectName: readAscii(bytes, nameStart, nul - nameStart),
        nulTerminated: nul < end,
      }
    },
  },
  5: scoped('SATC', SATC_LAYOUT, 8, (f, scopes) => ({
    flags: {value: f.flags, atcRequired: (f.flags & 0x1) !== 0},
    segment: f.segment,
    scopes,
  })),
  6: scoped('SIDP', SIDP_LAYOUT, 8, (f, scopes) => ({segment: f.segment, scopes})),
}

function decodeStructures(bytes: Uint8Array, from: number, end: number, problems: string[]): DmarStructure[] {
  const structures: DmarStructure[] = []
  const budget: ScopeBudget = {left: MAX_DMAR_SCOPE_ENTRIES}
  let at = from
  while (at < end) {
    if (structures.length >= MAX_DMAR_STRUCTURES) {
      problems.push(`more than ${MAX_DMAR_STRUCTURES} structures: the ${end - at} byte(s) from ${hex(at)} on were not decoded`)
      break
    }
    if (at + STRUCTURE_HEADER_LENGTH > end) {
      problems.push(`${truncatedAt(end)}: ${end - at} byte(s) after the last structure are too short for a structure header`)
      break
    }
    const typeCode = readNumber(bytes, at, 2)
    const length = readNumber(bytes, at + 2, 2)
    if (length < STRUCTURE_HEADER_LENGTH) {
      // The kernel aborts on this ("Invalid 0-length structure"); so do we.
      problems.push(`structure at ${hex(at)} (type ${typeCode}) has invalid length ${length}; rest of the table not decoded`)
      break
    }
    const structEnd = Math.min(at + length, end)
    const common: StructureCommon = {typeCode, offset: at, length, problems: []}
    if (at + length > end) common.problems.push(`${truncatedAt(end)}: structure length ${length} runs past the table end`)
    const decoder = STRUCTURE_DECODERS[typeCode]
    if (decoder !== undefined && structEnd - at >= decoder.fixedLength) {
      structures.push(decoder.build(bytes, at, structEnd, common, budget))
    } else {
      const unknown: UnknownStructure = {type: 'unknown', ...common, raw: rawHex(bytes, at, structEnd)}
      if (decoder !== undefined) {
        unknown.knownAs = decoder.name
        unknown.truncated = truncatedAt(structEnd)
      }
      structures.push(unknown)
    }
    if (at + length > end) problems.push(`structure at ${hex(at)} passes the table end (${truncatedAt(end)})`)
    at += length
  }
  return structures
}

// ---------------------------------------------------------------------------------------------
// Table

export function decodeDmarFlags(value: number): DmarTableFlags {
  return {
    value,
    intrRemap: (value & DMAR_FLAGS.INTR_REMAP) !== 0,
    x2apicOptOut: (value & DMAR_FLAGS.X2APIC_OPT_OUT) !== 0,
    dmaCtrlPlatformOptIn: (value & DMAR_FLAGS.DMA_CTRL_PLATFORM_OPT_IN) !== 0,
  }
}


/** Decodes a DMAR table. Never throws: broken input shows up in `problems` and `unknown` structures. */
export function decodeDmar(bytes: Uint8Array): DmarTable {
  const problems: string[] = []
  const header = readLayout(bytes, 0, bytes.length, HEADER_LAYOUT)
  const {hostAddressWidthByte, flags, ...ids} = header
  const declared = header.length ?? bytes.length
  const checksumValid = bytes.length >= DMAR_HEADER_LENGTH && declared <= bytes.length ? checksumOf(bytes, declared) === 0 : undefined
  // Header fields first (those the bytes reach), in table order, then what follows them.
  const table: DmarTable = {
    ...ids,
    ...(checksumValid !== undefined ? {checksumValid} : {}),
    ...(hostAddressWidthByte !== undefined ? {hostAddressWidth: hostAddressWidthByte + 1} : {}),
    ...(flags !== undefined ? {flags: decodeDmarFlags(flags)} : {}),
    byteLength: bytes.length,
    structures: [],
    problems,
  }

  if (bytes.length < DMAR_HEADER_LENGTH) {
    problems.push(`${truncatedAt(bytes.length)}: the DMAR header needs ${DMAR_HEADER_LENGTH} bytes`)
    return table
  }
  if (table.signature !== 'DMAR') problems.push(`signature is "${table.signature ?? ''}", not "DMAR"`)
  if (declared > bytes.length) problems.push(`${truncatedAt(bytes.length)}: header length is ${hex(declared)} but only ${hex(bytes.length)} bytes were given`)
  if (declared < bytes.length) problems.push(`${bytes.length - declared} byte(s) after the table length ${hex(declared)} were ignored`)
  if (declared < DMAR_HEADER_LENGTH) {
    problems.push(`header length ${hex(declared)} is shorter than the ${DMAR_HEADER_LENGTH}-byte DMAR header`)
    return table
  }
  table.structures = decodeStructures(bytes, DMAR_HEADER_LENGTH, Math.min(declared, bytes.length), problems)
  return table
}

/**
 * The bytes of the DMAR table in a text dump (`acpidump` output or an `iasl -d` .dsl); undefined
 * when the text has none. See acpiTableBytesFromText.
 */
export function dmarBytesFromText(text: string): Uint8Array | undefined {
  return acpiTableBytesFromText(text, 'DMAR')
}

export function hasScopes(structure: DmarStructure): structure is ScopedStructure {
  return 'scopes' in structure
}

/** Structure-level `problems` plus scope problems, for lint evidence. */
export function structureProblems(structure: DmarStructure): string[] {
  const scopeProblems = hasScopes(structure) ? structure.scopes.flatMap((s) => (s.problem ? [s.problem] : [])) : []
  return [...structure.problems, ...(structure.type === 'unknown' && structure.truncated ? [structure.truncated] : []), ...scopeProblems]
}
