/**
 * Intel VT-d DMA and interrupt-remapping fault records, every kernel era's shape (vtd-reference §5.1):
 * the 4.7+ single-line forms with their PASID/radix variants, the 2.6–4.6 and Xen two-line forms,
 * the fault-status register line and the ratelimit's "callbacks suppressed".
 */
import type {RecordBase} from './records.js'
import {hexBig, hexNum, splitBdf, type Shape} from './shape.js'

/** Which kernel printed it, by line shape (§5.1). */
export type FaultFormat =
  | 'two-line' // 2.6 – 4.6: head + "DMAR:[fault reason NN]" tail, reason decimal
  | 'single-line' // 4.7 – 5.4 DMA, 4.7 – 5.13 IR: reason decimal
  | 'pasid-field' // ≈5.5 – 5.13: "PASID %x" after the BDF, reason decimal
  | 'pasid-tag-0x-bdf' // 5.14 only: "[0x00:0x02.0]", reason hex
  | 'pasid-tag' // 5.15+: "[DMA Read NO_PASID]" / "[DMA Read PASID 0x…]", reason hex
  | 'xen' // Xen hypervisor: "[VT-D]DMAR:[DMA Read] Request device [0000:00:02.0]" + "DMAR: reason 06 - …", reason hex

export interface FaultRecord extends RecordBase {
  type: 'fault'
  kind: 'dma' | 'interrupt'
  /** DMA faults only. */
  access?: 'read' | 'write'
  /** Full form; the segment is 0000 unless the line printed one (Xen). */
  requester: string
  /** Exactly as printed between the brackets: "00:02.0", "0x00:0x02.0", "0000:00:02.0". */
  requesterAsLogged: string
  /** True when the line printed the PCI segment (Linux never does; §5 "segment is not printed"). */
  segmentPrinted: boolean
  bus: number
  device: number
  function: number
  /** DMA faults: the page-aligned faulting address; undefined when the poster redacted it ("ffxxxxxx"). */
  address?: bigint
  /** The address or index was printed redacted (digits replaced by x): unknown, the reason still parsed. */
  redacted?: true
  /** Interrupt faults: the IRTE index. */
  index?: bigint
  /** Undefined when the second line of a two-line fault never came. */
  reason?: number
  /** The kernel's description, as logged. */
  reasonText: string
  /** How the reason was printed: the radix is decided per line shape. */
  reasonRadix: 10 | 16
  /** PASID when the record had one (PP=1); undefined for NO_PASID / ffffffff / older kernels. */
  pasid?: number
  format: FaultFormat
}

export interface FaultStatusRecord extends RecordBase {
  type: 'fault-status'
  /** FSTS as printed (hex). */
  value: number
  /** FSTS bits 15:8: the first fault record with F=1. */
  recordIndex: number
  /** PFO: faults were lost. */
  overflow: boolean
  pending: boolean
  /** Invalidation-queue error bits. */
  iqe: boolean
  ice: boolean
  ite: boolean
  /** PRO (bit 7): the page-request queue overflowed, page requests were lost. */
  pageRequestOverflow: boolean
}

export interface SuppressedRecord extends RecordBase {
  type: 'suppressed'
  /** The ratelimit key (function name): "dmar_fault", "amd_iommu_report_page_fault" … */
  source: string
  count: number
}

const ACCESS: Record<string, 'read' | 'write'> = {'DMA READ': 'read', 'DMA WRITE': 'write'}

function singleLineFormat(tag: string | undefined, hexBdf: boolean, pasidField: boolean, hexReason: boolean): FaultFormat {
  if (hexBdf) return 'pasid-tag-0x-bdf'
  if (tag !== undefined) return 'pasid-tag'
  if (pasidField) return 'pasid-field'
  // INTR-REMAP kept one shape from 4.7 to 6.x; only the radix tells 5.14+ apart.
  return hexReason ? 'pasid-tag' : 'single-line'
}

/** A printed address or index, or — when the poster redacted it ("ffxxxxxx") — the mark that it is unknown. */
function setValue(rec: FaultRecord, field: 'address' | 'index', value: string): void {
  if (/x/i.test(value)) rec.redacted = true
  else rec[field] = hexBig(value)
}

/** A DMA fault's access and address, or an interrupt fault's IRTE index. */
function setWhere(rec: FaultRecord, what: string | undefined, value: string): void {
  if (rec.kind === 'interrupt') return setValue(rec, 'index', value)
  const access = what === undefined ? undefined : ACCESS[what.toUpperCase()]
  if (access !== undefined) rec.access = access
  setValue(rec, 'address', value)
}

export const VTD_FAULT_SHAPES: Shape[] = [
  {
    // 4.7+ single-line DMA and IR faults, all PASID/radix variants (§5.1).
    name: 'fault-single',
    // "ault reason" and the case-blind regex also take lines users retyped ("[DMA read NO PASID]", "[Fault reason 0x02]")
    // or aligned ("[DMA Read  NO_PASID]" under "[DMA Write NO_PASID]").
    probe: 'ault reason',
    re: /\[(DMA Read|DMA Write|INTR-REMAP)(?: +(NO[_ ]PASID)| +PASID (?:0x)?([0-9a-f]+))?\] Request device \[((?:([0-9a-f]{4}):)?(0x)?([0-9a-f]{2}):(?:0x)?([0-9a-f]{2})\.([0-7]))\](?: PASID ([0-9a-f]+))? fault (?:addr|index) (?:0x)?([0-9a-fx]+) \[fault reason (0x)?([0-9a-f]+)\] ?(.*)$/i,
    build: (m, cx) => {
      const [, whatAsLogged, noPasid, tagPasid, asLogged, seg, hexBdf, bus, dev, fn, fieldPasid, value, hexReason, reason, text] = m
      const what = whatAsLogged!.toUpperCase()
      const interrupt = what === 'INTR-REMAP'
      const pasidText = tagPasid ?? fieldPasid
      // ffffffff is the 5.5–5.13 spelling of "no PASID" (PP=0).
      const pasid = pasidText === undefined || pasidText === 'ffffffff' ? undefined : hexNum(pasidText)
      const radix = hexReason ? 16 : 10
      const rec: FaultRecord = {
        ...cx.base,
        type: 'fault',
        kind: interrupt ? 'interrupt' : 'dma',
        ...splitBdf(bus!, dev!, fn!, seg),
        requesterAsLogged: asLogged!,
        reason: Number.parseInt(reason!, radix),
        reasonText: text!.trimEnd(),
        reasonRadix: radix,
        format: singleLineFormat(noPasid ?? tagPasid, hexBdf !== undefined, fieldPasid !== undefined, hexReason !== undefined),
      }
      setWhere(rec, what, value!)
      if (pasid !== undefined) rec.pasid = pasid
      return rec
    },
  },
  {
    // 2.6–4.6 and Xen: first line of the two-line form; completed by the tail. The access is
    // "DMA Read"/"DMA Write" as the kernel prints it, or lower-cased where a commit message quoted
    // the head without its reason line ("DMAR: DMAR:[DMA read] Request device [5e:00.0]fault addr fffff000").
    name: 'fault-head',
    stateful: 'head',
    probe: 'Request device [',
    re: /(DMAR|INTR-REMAP|UNKNOWN): ?(?:\[(DMA [Rr]ead|DMA [Ww]rite)\] ?)?Request device \[\[?((?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]))\]\s*fault (?:addr|index) ([0-9a-fx]+)/,
    build: (m, cx) => {
      const [, family, what, asLogged, seg, bus, dev, fn, value] = m
      const interrupt = family === 'INTR-REMAP'
      const rec: FaultRecord = {
        ...cx.base,
        type: 'fault',
        kind: interrupt ? 'interrupt' : 'dma',
        ...splitBdf(bus!, dev!, fn!, seg),
        requesterAsLogged: asLogged!,
        reasonText: '',
        reasonRadix: cx.xen ? 16 : 10,
        format: cx.xen ? 'xen' : 'two-line',
      }
      setWhere(rec, what, value!)
      cx.parser.holdHead(rec)
      return undefined
    },
  },
  {
    // Second line of the two-line form: "DMAR:[fault reason 06] …" (decimal) or Xen "DMAR: reason 06 - …" (hex);
    // also a single-line record a mail client or journal wrapped after its address, whose
    // continuation starts with the bare "[fault reason 06] …".
    name: 'fault-tail',
    stateful: 'tail',
    probe: 'reason',
    // Xen's "reason 06 -" may end the line (a mail client wrapped its text to the next one).
    re: /(?:(?:DMAR|INTR-REMAP|UNKNOWN):\s?|^\s*)(?:\[fault reason (\d+)\] ?|\[fault reason ([0-9a-f]+)h\] ?|reason ([0-9a-f]+) -(?: |$))(.*)$/,
    build: (m, cx) => cx.parser.completeHead(m[1] === undefined ? hexNum(m[2] ?? m[3]!) : Number.parseInt(m[1], 10), m[4]!.trimEnd(), cx.base),
  },
  {
    // Xen's head "… fault addr 39b5845000, iommu reg = ffff82c00021d000" wrapped before the register
    // value (its hypervisor address): the value alone on the next line belongs to the held head.
    name: 'fault-head-xen-reg',
    stateful: 'tail',
    probe: 'ffff',
    re: /^\s*ffff[0-9a-f]{12}\s*$/,
    build: (_m, cx) => {
      const held = cx.parser.takeHeld()
      if (held !== undefined) cx.parser.holdHead(held.type === 'fault' && /iommu reg =\s*$/.test(held.text) ? {...held, text: `${held.text} ${cx.base.text.trim()}`} : held)
      return undefined
    },
  },
  {
    // A terminal's hard wrap cut a two-line head inside its address ("… fault addr ca6d500" / "0 "):
    // the bare rest of the hex digits belongs to the held head.
    name: 'fault-head-address-rest',
    stateful: 'tail',
    probe: '',
    re: /^\s*([0-9a-f]{1,15})\s*$/,
    build: (m, cx) => {
      const held = cx.parser.takeHeld()
      if (held === undefined) return undefined
      const cut = held.type === 'fault' && held.address !== undefined ? /fault addr ([0-9a-f]+)$/.exec(held.text) : null
      if (cut === null || cut[1]!.length + m[1]!.length > 16) {
        cx.parser.holdHead(held)
        return undefined
      }
      cx.parser.holdHead({...held, address: hexBig(cut[1]! + m[1]!), text: held.text + m[1]!})
      return undefined
    },
  },
  {
    name: 'fault-status',
    probe: 'fault status reg',
    re: /DRHD: handling fault status reg ([0-9a-f]+)/,
    build: (m, cx) => {
      const value = hexNum(m[1]!)
      return {
        ...cx.base, type: 'fault-status', value, recordIndex: (value >> 8) & 0xff,
        overflow: (value & 1) !== 0, pending: (value & 2) !== 0,
        iqe: (value & 0x10) !== 0, ice: (value & 0x20) !== 0, ite: (value & 0x40) !== 0, pageRequestOverflow: (value & 0x80) !== 0,
      }
    },
  },
  {
    name: 'suppressed',
    probe: 'callbacks suppressed',
    re: /(\w+): (\d+) callbacks suppressed/,
    build: (m, cx) => ({...cx.base, type: 'suppressed', source: m[1]!, count: Number(m[2])}),
  },
]

/**
 * A fault-looking line that no shape took: reported as `unparsed`, never dropped. Besides the
 * record's own words, the kernel's reason texts: a hand-typed or paraphrased paste often keeps
 * only those ("DRHD: hangling fault status req xxx...PTE Read access is not set").
 */
export const FAULT_LOOKING = /Request device|fault reason|IO_PAGE_FAULT|fault addr|access is not set|bit in (?:root|context) entry is clear|compatibility format interrupt/i
