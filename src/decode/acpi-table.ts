/**
 * What every ACPI table decoder here shares (DMAR, IVRS, IORT), ACPICA style: field tables
 * (offsets from a structure's start) read by one generic reader, the common table header,
 * the checksum, and the table bytes out of a text dump (`acpidump`, `iasl -d`).
 *
 * Nothing here throws: a field the bytes do not reach is left out, and callers report it as
 * data (`<truncated at 0x3c>`).
 */
import {hex} from './pci-address.js'

// ---------------------------------------------------------------------------------------------
// Field tables and the generic reader

export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'ascii'
export interface FieldSpec {
  /** Offset from the start of the structure. */
  at: number
  kind: FieldKind
  /** Byte count, for ascii fields only. */
  size?: number
}
export type Layout = Record<string, FieldSpec>
type KindValue<K extends FieldKind> = K extends 'u64' ? bigint : K extends 'ascii' ? string : number
export type Fields<L extends Layout> = {[P in keyof L]: KindValue<L[P]['kind']>}

const KIND_SIZE: Record<Exclude<FieldKind, 'ascii'>, number> = {u8: 1, u16: 2, u32: 4, u64: 8}

/** The ACPI common table header (36 bytes), offsets from the table start. */
export const ACPI_HEADER_LAYOUT = {
  signature: {at: 0, kind: 'ascii', size: 4},
  length: {at: 4, kind: 'u32'},
  revision: {at: 8, kind: 'u8'},
  checksum: {at: 9, kind: 'u8'},
  oemId: {at: 10, kind: 'ascii', size: 6},
  oemTableId: {at: 16, kind: 'ascii', size: 8},
  oemRevision: {at: 24, kind: 'u32'},
  creatorId: {at: 28, kind: 'ascii', size: 4},
  creatorRevision: {at: 32, kind: 'u32'},
} as const satisfies Layout
export const ACPI_HEADER_LENGTH = 36

export function truncatedAt(offset: number): string {
  return `<truncated at ${hex(offset)}>`
}

/** ACPICA prints ASCII ids up to the first NUL, with non-printable bytes shown as spaces. */
export function readAscii(bytes: Uint8Array, from: number, size: number): string {
  let text = ''
  for (let i = from; i < from + size; i++) {
    const b = bytes[i] ?? 0
    if (b === 0) break
    text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ' '
  }
  return text
}

/** Little-endian unsigned of up to 4 bytes (numbers stay exact below 2^32). */
export function readNumber(bytes: Uint8Array, from: number, size: number): number {
  let value = 0
  for (let i = size - 1; i >= 0; i--) value = value * 256 + (bytes[from + i] ?? 0)
  return value
}

export function readU64(bytes: Uint8Array, from: number): bigint {
  return (BigInt(readNumber(bytes, from + 4, 4)) << 32n) | BigInt(readNumber(bytes, from, 4))
}

function fieldEnd(spec: FieldSpec): number {
  return spec.at + (spec.kind === 'ascii' ? (spec.size ?? 0) : KIND_SIZE[spec.kind])
}

/** Bytes a layout needs from its base. */
export function layoutLength(layout: Layout): number {
  return Math.max(0, ...Object.values(layout).map(fieldEnd))
}

function readField(bytes: Uint8Array, base: number, spec: FieldSpec): number | bigint | string {
  const from = base + spec.at
  if (spec.kind === 'ascii') return readAscii(bytes, from, spec.size ?? 0)
  return spec.kind === 'u64' ? readU64(bytes, from) : readNumber(bytes, from, KIND_SIZE[spec.kind])
}

/** Reads every field that fits below `end`; the rest are left out. */
export function readLayout<L extends Layout>(bytes: Uint8Array, base: number, end: number, layout: L): Partial<Fields<L>> {
  const out: Partial<Record<keyof L, number | bigint | string>> = {}
  for (const key of Object.keys(layout) as Array<keyof L>) {
    const spec = layout[key]
    if (spec !== undefined && base + fieldEnd(spec) <= end) out[key] = readField(bytes, base, spec)
  }
  return out as Partial<Fields<L>>
}

/** Reads a layout that must fit entirely, or reports where it stops. */
export function readWhole<L extends Layout>(bytes: Uint8Array, base: number, end: number, layout: L): Fields<L> | {truncatedAt: number} {
  const need = base + layoutLength(layout)
  if (need > end) return {truncatedAt: end}
  return readLayout(bytes, base, end, layout) as Fields<L>
}

export function rawHex(bytes: Uint8Array, from: number, to: number): string {
  let out = ''
  for (let i = from; i < to; i++) out += (bytes[i] ?? 0).toString(16).padStart(2, '0')
  return out
}

export function checksumOf(bytes: Uint8Array, length: number): number {
  let sum = 0
  for (let i = 0; i < length; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff
  return sum
}

// ---------------------------------------------------------------------------------------------
// The header every table decoder reports the same way

export interface AcpiHeaderFields {
  signature?: string
  /** The header's Length field. */
  length?: number
  /** Bytes actually given. */
  byteLength: number
  revision?: number
  checksum?: number
  /** Sum of the first `length` bytes mod 256 is zero (undefined when the table is truncated). */
  checksumValid?: boolean
  oemId?: string
  oemTableId?: string
  oemRevision?: number
  creatorId?: string
  creatorRevision?: number
}

export interface AcpiHeaderCheck {
  header: AcpiHeaderFields
  /** Where the sub-structures end: min(header length, bytes given); undefined when nothing can be decoded. */
  end?: number
  problems: string[]
}

/**
 * Reads and checks the common header of a table whose fixed part is `fixedLength` bytes:
 * signature, declared length against the bytes given, checksum. Problems are data.
 */
export function readAcpiHeader(bytes: Uint8Array, signature: string, fixedLength: number): AcpiHeaderCheck {
  const problems: string[] = []
  const fields = readLayout(bytes, 0, bytes.length, ACPI_HEADER_LAYOUT)
  const declared = fields.length ?? bytes.length
  const checksumValid = bytes.length >= fixedLength && declared <= bytes.length ? checksumOf(bytes, declared) === 0 : undefined
  const header: AcpiHeaderFields = {...fields, ...(checksumValid !== undefined ? {checksumValid} : {}), byteLength: bytes.length}
  if (bytes.length < fixedLength) {
    problems.push(`${truncatedAt(bytes.length)}: the ${signature} header needs ${fixedLength} bytes`)
    return {header, problems}
  }
  if (fields.signature !== signature) problems.push(`signature is "${fields.signature ?? ''}", not "${signature}"`)
  if (declared > bytes.length) problems.push(`${truncatedAt(bytes.length)}: header length is ${hex(declared)} but only ${hex(bytes.length)} bytes were given`)
  if (declared < bytes.length) problems.push(`${bytes.length - declared} byte(s) after the table length ${hex(declared)} were ignored`)
  if (declared < fixedLength) {
    problems.push(`header length ${hex(declared)} is shorter than the ${fixedLength}-byte ${signature} header`)
    return {header, problems}
  }
  return {header, end: Math.min(declared, bytes.length), problems}
}

// ---------------------------------------------------------------------------------------------
// Text dumps: `acpidump` output and the "Raw Table Data" of an `iasl -d` .dsl

const TEXT_TABLE_HEAD = /^\s*([A-Z0-9_!]{4}) @ 0x[0-9a-f]+\s*$/i
const HEX_LINE = /^\s*([0-9a-f]{4,8}):((?:\s[0-9a-f]{2}){1,16})(?:\s|$)/i

/**
 * The bytes of one table in a text dump: `acpidump` output (all tables, each introduced by
 * `SIGN @ 0x…`), or an `iasl -d` disassembly whose "Raw Table Data" holds the bytes. Returns
 * undefined when the text has no such dump. Offsets must run on without gaps.
 */
export function acpiTableBytesFromText(text: string, signature: string): Uint8Array | undefined {
  const lines = text.split(/\r?\n/)
  const multiTable = lines.some((l) => TEXT_TABLE_HEAD.test(l))
  let inTable = !multiTable
  let rawSection = false
  const out: number[] = []
  for (const line of lines) {
    const head = TEXT_TABLE_HEAD.exec(line)
    if (head) {
      if (out.length > 0) break
      inTable = head[1]?.toUpperCase() === signature
      continue
    }
    if (!multiTable && /Raw Table Data/.test(line)) rawSection = true
    if (!inTable || (!multiTable && !rawSection && /^\[/.test(line))) continue
    const m = HEX_LINE.exec(line)
    if (!m) continue
    const offset = parseInt(m[1] ?? '0', 16)
    if (offset !== out.length) {
      if (out.length > 0) break
      continue
    }
    for (const byte of (m[2] ?? '').trim().split(/\s+/)) out.push(parseInt(byte, 16))
  }
  if (out.length < 4) return undefined
  // The last dump line can be followed by an ASCII column that looks like hex: trust the header length.
  const declared = out.length >= 8 ? readNumber(Uint8Array.from(out.slice(4, 8)), 0, 4) : out.length
  const bytes = new Uint8Array(declared >= ACPI_HEADER_LENGTH && declared <= out.length ? out.slice(0, declared) : out)
  return String.fromCharCode(...bytes.subarray(0, 4)) === signature ? bytes : undefined
}

/**
 * A table given as a file (`--file`): raw bytes that start with the signature are the table;
 * otherwise the file may be `acpidump` text or an `iasl -d` .dsl holding the bytes as hex.
 * Anything else is returned as given, for the decoder to report what is wrong with it.
 */
export function acpiTableFromFile(contents: Uint8Array, signature: string): Uint8Array {
  const startsWithSignature = [...signature].every((c, i) => contents[i] === c.charCodeAt(0))
  // `acpidump -n IVRS` (and `acpidump -f table.dat`) text starts with the signature too, as
  // "IVRS @ 0x…": read as raw bytes its length field would be " @ 0" (0x30204020).
  const textHead = TEXT_TABLE_HEAD.test(new TextDecoder('latin1').decode(contents.subarray(0, 64)).split(/\r?\n/)[0] ?? '')
  if (startsWithSignature && !textHead) return contents
  return acpiTableBytesFromText(new TextDecoder('latin1').decode(contents), signature) ?? contents
}
