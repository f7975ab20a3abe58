/**
 * The VT-d translation structures as typed data (vtd-reference §3.1–3.3), each described by
 * one field table. `decodeEntry` turns raw 64-bit words into named fields for display and
 * JSON; `encodeEntry` builds raw words from named fields for the table builders. The walk
 * itself reads raw bits (see walk.ts) — these tables are what its steps are explained with.
 */

export interface FieldSpec {
  readonly name: string
  /** Lowest bit, counted across the whole entry (bit 64 is bit 0 of the second word). */
  readonly bit: number
  readonly width: number
  /** An address field: its value is kept in place (low bits zero), not shifted down. */
  readonly address?: boolean
}

export interface EntryLayout {
  /** Name used in steps and JSON. */
  readonly kind: string
  /** Entry size in 64-bit words. */
  readonly words: number
  readonly fields: readonly FieldSpec[]
}

const f = <N extends string>(name: N, bit: number, width: number, address = false): FieldSpec & {readonly name: N} =>
  address ? {name, bit, width, address} : {name, bit, width}

export const LEGACY_ROOT_ENTRY = {
  kind: 'root-entry',
  words: 2,
  fields: [f('present', 0, 1), f('ctp', 12, 52, true)],
} satisfies EntryLayout

export const LEGACY_CONTEXT_ENTRY = {
  kind: 'context-entry',
  words: 2,
  fields: [
    f('present', 0, 1),
    f('fpd', 1, 1),
    f('tt', 2, 2),
    f('slptptr', 12, 52, true),
    f('aw', 64, 3),
    f('avl', 67, 4),
    f('did', 72, 16),
  ],
} satisfies EntryLayout

export const SCALABLE_ROOT_ENTRY = {
  kind: 'scalable-root-entry',
  words: 2,
  fields: [f('lp', 0, 1), f('lctp', 12, 52, true), f('up', 64, 1), f('uctp', 76, 52, true)],
} satisfies EntryLayout

export const SCALABLE_CONTEXT_ENTRY = {
  kind: 'scalable-context-entry',
  words: 4,
  fields: [
    f('present', 0, 1),
    f('fpd', 1, 1),
    f('dte', 2, 1),
    f('paside', 3, 1),
    f('pre', 4, 1),
    f('pdts', 9, 3),
    f('pasiddirptr', 12, 52, true),
    f('ridPasid', 64, 20),
    f('ridPriv', 84, 1),
  ],
} satisfies EntryLayout

export const PASID_DIRECTORY_ENTRY = {
  kind: 'pasid-directory-entry',
  words: 1,
  fields: [f('present', 0, 1), f('fpd', 1, 1), f('pasidTablePointer', 12, 52, true)],
} satisfies EntryLayout

export const PASID_TABLE_ENTRY = {
  kind: 'pasid-table-entry',
  words: 8,
  fields: [
    f('present', 0, 1),
    f('fpd', 1, 1),
    f('aw', 2, 3),
    f('ssee', 5, 1),
    f('pgtt', 6, 3),
    f('ssade', 9, 1),
    f('ssptptr', 12, 52, true),
    f('did', 64, 16),
    f('pwsnp', 87, 1),
    f('pgsnp', 88, 1),
    f('sre', 128, 1),
    f('fspm', 130, 2),
    f('wpe', 132, 1),
    f('nxe', 133, 1),
    f('eafe', 135, 1),
    f('fsptptr', 140, 52, true),
  ],
} satisfies EntryLayout

export const SECOND_STAGE_PTE = {
  kind: 'sl-pte',
  words: 1,
  fields: [
    f('r', 0, 1),
    f('w', 1, 1),
    f('x', 2, 1),
    f('emt', 3, 3),
    f('ipat', 6, 1),
    f('ps', 7, 1),
    f('a', 8, 1),
    f('d', 9, 1),
    f('snp', 11, 1),
    f('addr', 12, 40, true),
    f('tm', 62, 1),
  ],
} satisfies EntryLayout

export const FIRST_STAGE_PTE = {
  kind: 'fl-pte',
  words: 1,
  fields: [
    f('p', 0, 1),
    f('rw', 1, 1),
    f('us', 2, 1),
    f('a', 5, 1),
    f('d', 6, 1),
    f('ps', 7, 1),
    f('addr', 12, 40, true),
    f('xd', 63, 1),
  ],
} satisfies EntryLayout

/** PGTT values of a scalable-mode PASID-table entry. */
export const PGTT = {firstStage: 1, secondStage: 2, nested: 3, passThrough: 4} as const
/** TT values of a legacy context entry. */
export const TT = {untranslatedOnly: 0, withDeviceTlb: 1, passThrough: 2, reserved: 3} as const

export type DecodedEntry = Record<string, bigint>

/** The decoded fields of one layout, keyed by its field names (address fields kept in place). */
export type Decoded<L extends EntryLayout> = {[K in L['fields'][number]['name']]: bigint}

export type LegacyRootEntry = Decoded<typeof LEGACY_ROOT_ENTRY>
export type LegacyContextEntry = Decoded<typeof LEGACY_CONTEXT_ENTRY>
export type ScalableRootEntry = Decoded<typeof SCALABLE_ROOT_ENTRY>
export type ScalableContextEntry = Decoded<typeof SCALABLE_CONTEXT_ENTRY>
export type PasidDirectoryEntry = Decoded<typeof PASID_DIRECTORY_ENTRY>
export type PasidTableEntry = Decoded<typeof PASID_TABLE_ENTRY>
export type SecondStagePte = Decoded<typeof SECOND_STAGE_PTE>
export type FirstStagePte = Decoded<typeof FIRST_STAGE_PTE>

export function decodeEntry<L extends EntryLayout>(layout: L, words: readonly bigint[]): Decoded<L> {
  let whole = 0n
  for (let i = layout.words - 1; i >= 0; i--) whole = (whole << 64n) | (words[i] ?? 0n)
  const out: DecodedEntry = {}
  for (const spec of layout.fields) {
    const mask = (1n << BigInt(spec.width)) - 1n
    const value = (whole >> BigInt(spec.bit)) & mask
    out[spec.name] = spec.address ? value << BigInt(spec.bit % 64) : value
  }
  return out as Decoded<L>
}

/** Raw words (lowest first) from named fields; unnamed bits are zero. */
export function encodeEntry<L extends EntryLayout>(layout: L, values: Readonly<Partial<Record<L['fields'][number]['name'], bigint | number | boolean>>>): bigint[] {
  let whole = 0n
  for (const spec of layout.fields) {
    const given = (values as Readonly<Record<string, bigint | number | boolean | undefined>>)[spec.name]
    if (given === undefined) continue
    let value = typeof given === 'boolean' ? (given ? 1n : 0n) : BigInt(given)
    if (spec.address) value >>= BigInt(spec.bit % 64)
    const mask = (1n << BigInt(spec.width)) - 1n
    whole |= (value & mask) << BigInt(spec.bit)
  }
  const words: bigint[] = []
  for (let i = 0; i < layout.words; i++) words.push((whole >> BigInt(64 * i)) & 0xffff_ffff_ffff_ffffn)
  return words
}

/** Index bits per page-table level (4-KiB granule, 9 bits a level). */
export function levelShift(level: number): number {
  return 12 + 9 * (level - 1)
}

export const LEVEL_NAMES: Readonly<Record<number, string>> = {1: 'PTE', 2: 'PDE', 3: 'PDPE', 4: 'PML4E', 5: 'PML5E'}

/** Page size of a leaf at this level: 4 KiB, 2 MiB, 1 GiB. */
export function leafSize(level: number): bigint {
  return 1n << BigInt(levelShift(level))
}
