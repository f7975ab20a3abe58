/**
 * ACPI IVRS (AMD I/O Virtualization Reporting Structure) decoder, ACPICA style: one field
 * table per block and per device-entry kind (AMD IOMMU spec 48882 §5.2, ACPICA actbl2.h),
 * one generic reader (acpi-table.ts).
 *
 * `decodeIvrs` never throws. A block too short for its fixed part becomes `kind: 'unknown'`
 * with `truncated`; an entry that runs past its block is reported in the block's `problems`.
 */
import {hex} from './pci-address.js'
import {type Fields, type Layout, rawHex, readAscii, readAcpiHeader, readLayout, readNumber, readU64, readWhole, truncatedAt, type AcpiHeaderFields} from './acpi-table.js'

// ---------------------------------------------------------------------------------------------
// Field tables

export const IVRS_HEADER_LENGTH = 48
const BLOCK_HEADER_LENGTH = 4
/**
 * Real tables hold a few blocks (the 40 in test/fixtures/real/ivrs: at most 5 blocks and 46
 * device entries). A hostile 1 MiB table of 4-byte entries would become a quarter of a million
 * objects and seconds of output; past these counts decoding stops with a problem saying so, as
 * DMAR's caps do (MAX_DMAR_STRUCTURES, MAX_DMAR_SCOPE_ENTRIES).
 */
export const MAX_IVRS_BLOCKS = 4096
/** Device entries (padding included), table-wide. */
export const MAX_IVRS_DEVICE_ENTRIES = 8192

/** IVHD fields common to types 0x10, 0x11 and 0x40 (offsets from the block start). */
const IVHD_LAYOUT = {
  flags: {at: 1, kind: 'u8'},
  deviceId: {at: 4, kind: 'u16'},
  capabilityOffset: {at: 6, kind: 'u16'},
  baseAddress: {at: 8, kind: 'u64'},
  segment: {at: 16, kind: 'u16'},
  info: {at: 18, kind: 'u16'},
} as const satisfies Layout
const IVHD10_LAYOUT = {...IVHD_LAYOUT, featureReporting: {at: 20, kind: 'u32'}} as const satisfies Layout
/** Types 0x11 and 0x40 carry the IOMMU's EFR register image (and EFR2 since spec 3.06). */
const IVHD11_LAYOUT = {
  ...IVHD_LAYOUT,
  attributes: {at: 20, kind: 'u32'},
  efrImage: {at: 24, kind: 'u64'},
  efr2Image: {at: 32, kind: 'u64'},
} as const satisfies Layout

const IVMD_LAYOUT = {
  flags: {at: 1, kind: 'u8'},
  deviceId: {at: 4, kind: 'u16'},
  auxData: {at: 6, kind: 'u16'},
  startAddress: {at: 16, kind: 'u64'},
  length: {at: 24, kind: 'u64'},
} as const satisfies Layout

/** Every device entry starts with type, device ID, data setting. */
const ENTRY_LAYOUT = {
  typeCode: {at: 0, kind: 'u8'},
  deviceId: {at: 1, kind: 'u16'},
  dataSetting: {at: 3, kind: 'u8'},
} as const satisfies Layout
const ALIAS_ENTRY_LAYOUT = {sourceId: {at: 5, kind: 'u16'}} as const satisfies Layout
const EXTENDED_ENTRY_LAYOUT = {extendedData: {at: 4, kind: 'u32'}} as const satisfies Layout
const SPECIAL_ENTRY_LAYOUT = {handle: {at: 4, kind: 'u8'}, sourceId: {at: 5, kind: 'u16'}, varietyCode: {at: 7, kind: 'u8'}} as const satisfies Layout
const HID_ENTRY_LAYOUT = {uidFormat: {at: 20, kind: 'u8'}, uidLength: {at: 21, kind: 'u8'}} as const satisfies Layout
const HID_ENTRY_FIXED = 22

// ---------------------------------------------------------------------------------------------
// Decoded shapes (bigint inside; JSON turns them into "0x…" strings)

export const IVHD_TYPES = [0x10, 0x11, 0x40] as const
export const IVMD_TYPES = [0x20, 0x21, 0x22] as const

export type EntryType =
  | 'all'
  | 'select'
  | 'range-start'
  | 'range-end'
  | 'alias-select'
  | 'alias-range-start'
  | 'extended-select'
  | 'extended-range-start'
  | 'special'
  | 'acpi-hid'
  | 'unknown'

/** Device entry types (spec Table 94); 0x00 and 0x40 are padding. */
const ENTRY_TYPES: Record<number, EntryType> = {
  0x01: 'all',
  0x02: 'select',
  0x03: 'range-start',
  0x04: 'range-end',
  0x42: 'alias-select',
  0x43: 'alias-range-start',
  0x46: 'extended-select',
  0x47: 'extended-range-start',
  0x48: 'special',
  0xf0: 'acpi-hid',
}
const PADDING_TYPES = new Set([0x00, 0x40])
export const SPECIAL_VARIETIES: Record<number, 'ioapic' | 'hpet'> = {1: 'ioapic', 2: 'hpet'}

export interface IvrsInfo {
  value: number
  /** EFR image fields are valid (IVinfo bit 0). */
  efrSupported: boolean
  /** Firmware asks the OS to keep DMA protection on (IVinfo bit 1, "DMA guard opt-in"). */
  dmaGuardOptIn: boolean
  /** Guest virtual address size (bits 7:5) as the spec encodes it: 2 = 48 bits, 3 = 57. */
  gvaSizeCode: number
  physicalAddressBits: number
  virtualAddressBits: number
  htAtsReserved: boolean
}

export interface IvhdFlags {
  value: number
  htTunEn: boolean
  passPw: boolean
  resPassPw: boolean
  isoc: boolean
  iotlbSupport: boolean
  coherent: boolean
  prefetchSupport: boolean
  pprSupport: boolean
}

export interface DataSetting {
  value: number
  initPass: boolean
  extIntPass: boolean
  nmiPass: boolean
  /** Bits 5:4. */
  sysMgt: number
  lint0Pass: boolean
  lint1Pass: boolean
}

export interface IvrsEntry {
  typeCode: number
  type: EntryType
  /** Offset of the entry from the table start. */
  offset: number
  entryLength: number
  /** Requester ID (bus << 8 | devfn) the entry is about; 0 for 'all'. */
  deviceId: number
  /** `deviceId` as a full BDF in the block's segment. */
  bdf: string
  dataSetting: DataSetting
  /** Alias entries: the ID the device's DMA arrives with; special entries: the IOAPIC/HPET's own ID. */
  sourceId?: number
  sourceBdf?: string
  /** Special entries: the IOAPIC ID or HPET number the entry maps. */
  handle?: number
  variety?: 'ioapic' | 'hpet' | 'unknown'
  varietyCode?: number
  extendedData?: number
  /** ACPI HID entries: _HID (string, or the integer as "0x…" text), _CID, _UID. */
  hid?: string
  cid?: string
  uidFormat?: number
  uid?: string
  problem?: string
}

interface BlockCommon {
  typeCode: number
  offset: number
  /** The block's Length field. */
  blockLength: number
  problems: string[]
}

export interface Ivhd extends BlockCommon {
  kind: 'IVHD'
  flags: IvhdFlags
  deviceId: number
  bdf: string
  capabilityOffset: number
  baseAddress: bigint
  segment: number
  /** IOMMU info: MSI number (bits 4:0), unit ID (12:8). */
  info: number
  /** Type 0x10 only. */
  featureReporting?: number
  /** Types 0x11/0x40. */
  attributes?: number
  efrImage?: bigint
  efr2Image?: bigint
  entries: IvrsEntry[]
  /** Table offsets of padding entries (types 0x00 and 0x40), which `entries` leaves out. */
  paddingOffsets: number[]
}

export interface Ivmd extends BlockCommon {
  kind: 'IVMD'
  /** 0x20 all devices, 0x21 one device, 0x22 a range of devices. */
  scope: 'all' | 'select' | 'range'
  flags: {value: number; unity: boolean; readable: boolean; writable: boolean; exclusionRange: boolean}
  deviceId: number
  /** Type 0x22: the last device ID of the range. */
  auxData: number
  startAddress: bigint
  /** Bytes of memory the block describes. */
  length: bigint
}

export interface UnknownBlock extends BlockCommon {
  kind: 'unknown'
  knownAs?: 'IVHD' | 'IVMD'
  truncated?: string
  raw: string
}

export type IvrsBlock = Ivhd | Ivmd | UnknownBlock

export interface IvrsTable extends AcpiHeaderFields {
  info?: IvrsInfo
  blocks: IvrsBlock[]
  problems: string[]
}

// ---------------------------------------------------------------------------------------------
// Bit fields

const bit = (value: number, n: number): boolean => ((value >>> n) & 1) === 1

export function decodeIvrsInfo(value: number): IvrsInfo {
  return {
    value,
    efrSupported: bit(value, 0),
    dmaGuardOptIn: bit(value, 1),
    gvaSizeCode: (value >>> 5) & 0x7,
    physicalAddressBits: (value >>> 8) & 0x7f,
    virtualAddressBits: (value >>> 15) & 0x7f,
    htAtsReserved: bit(value, 22),
  }
}

function ivhdFlags(value: number): IvhdFlags {
  return {
    value,
    htTunEn: bit(value, 0),
    passPw: bit(value, 1),
    resPassPw: bit(value, 2),
    isoc: bit(value, 3),
    iotlbSupport: bit(value, 4),
    coherent: bit(value, 5),
    prefetchSupport: bit(value, 6),
    pprSupport: bit(value, 7),
  }
}

function dataSetting(value: number): DataSetting {
  return {
    value,
    initPass: bit(value, 0),
    extIntPass: bit(value, 1),
    nmiPass: bit(value, 2),
    sysMgt: (value >>> 4) & 0x3,
    lint0Pass: bit(value, 6),
    lint1Pass: bit(value, 7),
  }
}

/** A 16-bit IVRS device ID (bus << 8 | device << 3 | function) as a full BDF. */
export function deviceIdToBdf(deviceId: number, segment = 0): string {
  const bus = (deviceId >>> 8) & 0xff
  const device = (deviceId >>> 3) & 0x1f
  const fn = deviceId & 0x7
  const h = (n: number, w: number): string => n.toString(16).padStart(w, '0')
  return `${h(segment, 4)}:${h(bus, 2)}:${h(device, 2)}.${fn}`
}

// ---------------------------------------------------------------------------------------------
// Device entries

/** Entry length from its type (the kernel's ivhd_entry_length); 0 when the length is unknown. */
function entryLength(bytes: Uint8Array, at: number, end: number): number {
  const type = bytes[at] ?? 0
  if (type < 0x80) return 4 << (type >>> 6)
  if (type === 0xf0 && at + HID_ENTRY_FIXED <= end) return HID_ENTRY_FIXED + (bytes[at + 21] ?? 0)
  return 0
}

/** ACPI ids: 8 bytes holding a string, or a 32-bit integer padded with zeros (ACPICA UtIsIdInteger). */
function acpiId(bytes: Uint8Array, at: number): string {
  const upperZero = [4, 5, 6, 7].every((i) => bytes[at + i] === 0)
  const printable = (b: number | undefined): boolean => b !== undefined && b >= 0x20 && b < 0x7f
  if (upperZero && !printable(bytes[at])) return hex(readNumber(bytes, at, 4))
  return readAscii(bytes, at, 8)
}

function decodeEntry(bytes: Uint8Array, at: number, length: number, segment: number): IvrsEntry {
  const head = readLayout(bytes, at, at + length, ENTRY_LAYOUT) as Fields<typeof ENTRY_LAYOUT>
  const type = ENTRY_TYPES[head.typeCode] ?? 'unknown'
  const entry: IvrsEntry = {
    typeCode: head.typeCode,
    type,
    offset: at,
    entryLength: length,
    deviceId: head.deviceId,
    bdf: deviceIdToBdf(head.deviceId, segment),
    dataSetting: dataSetting(head.dataSetting),
  }
  if (type === 'alias-select' || type === 'alias-range-start') {
    const f = readLayout(bytes, at, at + length, ALIAS_ENTRY_LAYOUT) as Fields<typeof ALIAS_ENTRY_LAYOUT>
    entry.sourceId = f.sourceId
    entry.sourceBdf = deviceIdToBdf(f.sourceId, segment)
  } else if (type === 'extended-select' || type === 'extended-range-start') {
    entry.extendedData = (readLayout(bytes, at, at + length, EXTENDED_ENTRY_LAYOUT) as Fields<typeof EXTENDED_ENTRY_LAYOUT>).extendedData
  } else if (type === 'special') {
    const f = readLayout(bytes, at, at + length, SPECIAL_ENTRY_LAYOUT) as Fields<typeof SPECIAL_ENTRY_LAYOUT>
    entry.handle = f.handle
    entry.sourceId = f.sourceId
    entry.sourceBdf = deviceIdToBdf(f.sourceId, segment)
    entry.varietyCode = f.varietyCode
    entry.variety = SPECIAL_VARIETIES[f.varietyCode] ?? 'unknown'
  } else if (type === 'acpi-hid') {
    const f = readLayout(bytes, at, at + length, HID_ENTRY_LAYOUT) as Fields<typeof HID_ENTRY_LAYOUT>
    entry.hid = acpiId(bytes, at + 4)
    entry.cid = acpiId(bytes, at + 12)
    entry.uidFormat = f.uidFormat
    if (f.uidLength > 0) {
      // Format 1: an integer of uidLength bytes; 2: a string.
      const from = at + HID_ENTRY_FIXED
      entry.uid = f.uidFormat === 1 ? hex(f.uidLength <= 4 ? readNumber(bytes, from, f.uidLength) : readU64(bytes, from)) : readAscii(bytes, from, f.uidLength)
    }
  }
  return entry
}

/** What is left of MAX_IVRS_DEVICE_ENTRIES for the rest of the table. */
interface EntryBudget {
  left: number
}

function decodeEntries(bytes: Uint8Array, from: number, end: number, segment: number, block: {entries: IvrsEntry[]; paddingOffsets: number[]; problems: string[]}, budget: EntryBudget): void {
  let at = from
  while (at < end) {
    if (budget.left <= 0) {
      block.problems.push(`more than ${MAX_IVRS_DEVICE_ENTRIES} device entries in the table: the ${end - at} byte(s) of entries from ${hex(at)} on were not decoded`)
      return
    }
    budget.left--
    const length = entryLength(bytes, at, end)
    if (length === 0) {
      block.problems.push(`device entry at ${hex(at)} has type ${hex(bytes[at] ?? 0)} of unknown length; remaining entries not decoded`)
      return
    }
    if (at + length > end) {
      block.problems.push(`${truncatedAt(end)}: device entry at ${hex(at)} (type ${hex(bytes[at] ?? 0)}) needs ${length} bytes`)
      return
    }
    if (PADDING_TYPES.has(bytes[at] ?? 0)) block.paddingOffsets.push(at)
    else block.entries.push(decodeEntry(bytes, at, length, segment))
    at += length
  }
}

// ---------------------------------------------------------------------------------------------
// Blocks

interface BlockDecoder {
  kind: 'IVHD' | 'IVMD'
  fixedLength: number
  build(bytes: Uint8Array, start: number, end: number, common: BlockCommon, budget: EntryBudget): IvrsBlock
}

function ivhd<L extends typeof IVHD10_LAYOUT | typeof IVHD11_LAYOUT>(layout: L, entriesAt: number): BlockDecoder {
  return {
    kind: 'IVHD',
    fixedLength: entriesAt,
    build(bytes, start, end, common, budget): Ivhd {
      const f = readLayout(bytes, start, end, layout) as Fields<typeof IVHD10_LAYOUT> & Partial<Fields<typeof IVHD11_LAYOUT>>
      const block: Ivhd = {
        kind: 'IVHD',
        ...common,
        flags: ivhdFlags(f.flags),
        deviceId: f.deviceId,
        bdf: deviceIdToBdf(f.deviceId, f.segment),
        capabilityOffset: f.capabilityOffset,
        baseAddress: f.baseAddress,
        segment: f.segment,
        info: f.info,
        ...('featureReporting' in layout ? {featureReporting: f.featureReporting} : {attributes: f.attributes, efrImage: f.efrImage, efr2Image: f.efr2Image}),
        entries: [],
        paddingOffsets: [],
      }
      decodeEntries(bytes, start + entriesAt, end, f.segment, block, budget)
      return block
    },
  }
}

const IVMD_SCOPE: Record<number, Ivmd['scope']> = {0x20: 'all', 0x21: 'select', 0x22: 'range'}
const ivmd: BlockDecoder = {
  kind: 'IVMD',
  fixedLength: 32,
  build(bytes, start, end, common): Ivmd {
    const f = readLayout(bytes, start, end, IVMD_LAYOUT) as Fields<typeof IVMD_LAYOUT>
    return {
      kind: 'IVMD',
      ...common,
      scope: IVMD_SCOPE[common.typeCode] ?? 'all',
      flags: {value: f.flags, unity: bit(f.flags, 0), readable: bit(f.flags, 1), writable: bit(f.flags, 2), exclusionRange: bit(f.flags, 3)},
      deviceId: f.deviceId,
      auxData: f.auxData,
      startAddress: f.startAddress,
      length: f.length,
    }
  },
}

const BLOCK_DECODERS: Record<number, BlockDecoder> = {
  0x10: ivhd(IVHD10_LAYOUT, 24),
  0x11: ivhd(IVHD11_LAYOUT, 40),
  0x40: ivhd(IVHD11_LAYOUT, 40),
  0x20: ivmd,
  0x21: ivmd,
  0x22: ivmd,
}

function decodeBlocks(bytes: Uint8Array, from: number, end: number, problems: string[]): IvrsBlock[] {
  const blocks: IvrsBlock[] = []
  const budget: EntryBudget = {left: MAX_IVRS_DEVICE_ENTRIES}
  let at = from
  while (at < end) {
    if (blocks.length >= MAX_IVRS_BLOCKS) {
      problems.push(`more than ${MAX_IVRS_BLOCKS} blocks: the ${end - at} byte(s) from ${hex(at)} on were not decoded`)
      break
    }
    if (at + BLOCK_HEADER_LENGTH > end) {
      problems.push(`${truncatedAt(end)}: ${end - at} byte(s) after the last block are too short for a block header`)
      break
    }
    const typeCode = bytes[at] ?? 0
    const blockLength = readNumber(bytes, at + 2, 2)
    if (blockLength < BLOCK_HEADER_LENGTH) {
      // The kernel would loop on a zero length; stop here.
      problems.push(`block at ${hex(at)} (type ${hex(typeCode)}) has invalid length ${blockLength}; rest of the table not decoded`)
      break
    }
    const blockEnd = Math.min(at + blockLength, end)
    const common: BlockCommon = {typeCode, offset: at, blockLength, problems: []}
    if (at + blockLength > end) {
      common.problems.push(`${truncatedAt(end)}: block length ${blockLength} runs past the table end`)
      problems.push(`block at ${hex(at)} passes the table end (${truncatedAt(end)})`)
    }
    const decoder = BLOCK_DECODERS[typeCode]
    if (decoder !== undefined && blockEnd - at >= decoder.fixedLength) blocks.push(decoder.build(bytes, at, blockEnd, common, budget))
    else {
      const unknown: UnknownBlock = {kind: 'unknown', ...common, raw: rawHex(bytes, at, blockEnd)}
      if (decoder !== undefined) {
        unknown.knownAs = decoder.kind
        unknown.truncated = truncatedAt(blockEnd)
      }
      blocks.push(unknown)
    }
    at += blockLength
  }
  return blocks
}

// ---------------------------------------------------------------------------------------------
// Table

const IVINFO_LAYOUT = {info: {at: 36, kind: 'u32'}} as const satisfies Layout

/** Decodes an IVRS table. Never throws: broken input shows up in `problems` and `unknown` blocks. */
export function decodeIvrs(bytes: Uint8Array): IvrsTable {
  const {header, end, problems} = readAcpiHeader(bytes, 'IVRS', IVRS_HEADER_LENGTH)
  const info = readWhole(bytes, 0, bytes.length, IVINFO_LAYOUT)
  const table: IvrsTable = {...header, ...('info' in info ? {info: decodeIvrsInfo(info.info)} : {}), blocks: [], problems}
  if (end !== undefined) table.blocks = decodeBlocks(bytes, IVRS_HEADER_LENGTH, end, problems)
  return table
}

export function isIvhd(block: IvrsBlock): block is Ivhd {
  return block.kind === 'IVHD'
}

/**
 * The IVHD type the kernel uses (get_highest_supported_ivhd_type): the type of the last block,
 * among the leading blocks of a supported type, that describes the same IOMMU as the first.
 * Tables repeat each IOMMU as 0x10, 0x11 and 0x40; only blocks of this type count.
 */
export function effectiveIvhdType(table: IvrsTable): number | undefined {
  const first = table.blocks[0]
  if (first === undefined || first.kind === 'unknown') return undefined
  let last = first.typeCode
  for (const block of table.blocks) {
    if (block.kind === 'unknown' || block.typeCode > 0x40) break
    if (block.deviceId === first.deviceId) last = block.typeCode
  }
  return last
}

/** The IVHDs the kernel reads: those of the effective type. */
export function effectiveIvhds(table: IvrsTable): Ivhd[] {
  const type = effectiveIvhdType(table)
  return table.blocks.filter((b): b is Ivhd => isIvhd(b) && b.typeCode === type)
}

export interface DeviceIdRange {
  segment: number
  first: number
  last: number
  /** The entry (or range start) that opened it. */
  entry: IvrsEntry
  /** The ID DMA from these devices carries, for alias entries. */
  aliasTo?: number
}

/**
 * The device IDs each entry of an IVHD covers, pairing range starts with their range end as
 * the kernel does (init_iommu_from_acpi). Unpaired starts and ends are returned as problems.
 */
export function ivhdRanges(block: Ivhd): {ranges: DeviceIdRange[]; problems: string[]} {
  const ranges: DeviceIdRange[] = []
  const problems: string[] = []
  let open: IvrsEntry | undefined
  for (const entry of block.entries) {
    switch (entry.type) {
      case 'all':
        ranges.push({segment: block.segment, first: 0, last: 0xffff, entry})
        break
      case 'select':
      case 'extended-select':
      case 'alias-select':
        ranges.push({segment: block.segment, first: entry.deviceId, last: entry.deviceId, entry, ...(entry.type === 'alias-select' && entry.sourceId !== undefined ? {aliasTo: entry.sourceId} : {})})
        break
      case 'range-start':
      case 'extended-range-start':
      case 'alias-range-start':
        if (open) problems.push(`range start at ${hex(open.offset)} (${open.bdf}) has no range end before the next start at ${hex(entry.offset)}`)
        open = entry
        break
      case 'range-end':
        if (!open) problems.push(`range end at ${hex(entry.offset)} (${entry.bdf}) has no range start`)
        else {
          ranges.push({segment: block.segment, first: open.deviceId, last: entry.deviceId, entry: open, ...(open.type === 'alias-range-start' && open.sourceId !== undefined ? {aliasTo: open.sourceId} : {})})
          open = undefined
        }
        break
      default:
        break
    }
  }
  if (open) problems.push(`range start at ${hex(open.offset)} (${open.bdf}) is never closed by a range end`)
  return {ranges, problems}
}

export interface IvrsAlias {
  segment: number
  /** First and last requester ID (bus << 8 | devfn) that the firmware aliases. */
  first: number
  last: number
  /** The requester ID their DMA arrives with. */
  aliasTo: number
  firstBdf: string
  lastBdf: string
  aliasBdf: string
  /** Offset of the alias entry in the table. */
  offset: number
}

/**
 * The DMA aliases the firmware declares (alias select 0x42 and alias range 0x43 entries of the
 * IVHDs the kernel uses): AMD southbridges alias devices through the IVRS, not only through
 * PCIe-to-PCI bridges. For the DMA-alias and grouping model.
 */
export function ivrsAliases(table: IvrsTable): IvrsAlias[] {
  return effectiveIvhds(table).flatMap((block) =>
    ivhdRanges(block).ranges.flatMap((r) =>
      r.aliasTo === undefined
        ? []
        : [
            {
              segment: r.segment,
              first: r.first,
              last: r.last,
              aliasTo: r.aliasTo,
              firstBdf: deviceIdToBdf(r.first, r.segment),
              lastBdf: deviceIdToBdf(r.last, r.segment),
              aliasBdf: deviceIdToBdf(r.aliasTo, r.segment),
              offset: r.entry.offset,
            },
          ],
    ),
  )
}
