/**
 * Kernel-log lines → typed records, for every era's DMAR / DMAR-IR / QI / PRQ / RMRR messages
 * (vtd-reference §4–5). One pass, line by line: `LogParser.push(line)` returns the records that
 * line completes (the two-line 2.6–4.6 forms complete on their second line), `end()` flushes.
 *
 * Data-driven: prefixes (timestamps, syslog/journal, level markers, Xen) are one table, message
 * shapes another. A line no shape knows is ignored; a fault-looking line no shape knows is
 * returned as an `unparsed` record, never thrown away silently.
 */
import {byteScanner, type ByteScanner} from './line-scanner.js'
import {bdfFromDevfn, formatBdf} from './pci-address.js'

// ---------------------------------------------------------------- record types

export type TimeStyle = 'monotonic' | 'ctime' | 'relative' | 'syslog' | 'iso' | 'xen'

export interface LogTime {
  /** As printed, without brackets: "144.480641", "Thu Oct 22 08:54:51 2020", "+0,000002", "Jul 19 23:11:56". */
  text: string
  style: TimeStyle
  /**
   * Comparable seconds: since boot (monotonic), since the epoch (ctime/syslog/iso; syslog assumes
   * the current year), or since the log's first stamp (dmesg -H deltas without an anchor).
   * Undefined when the stamp cannot be placed (unknown month name).
   */
  seconds?: number
}

interface RecordBase {
  /** 1-based line number of the (first) line. */
  line: number
  time?: LogTime
  /** The message text after prefixes; two-line forms joined with "\n". */
  text: string
}

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
  /** DMA faults: the page-aligned faulting address. */
  address?: bigint
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
}

export interface SuppressedRecord extends RecordBase {
  type: 'suppressed'
  /** The ratelimit key (function name): "dmar_fault", "amd_iommu_report_page_fault" … */
  source: string
  count: number
}

export type QiEvent =
  | 'queue-error' // IQE, 5.13+: Reason = IQER.IQEI
  | 'timeout' // ITE, 5.13+: SID of the device whose device-TLB invalidation timed out
  | 'completion-error' // ICE, 5.13+
  | 'invalid-descriptor' // ≤ 5.12
  | 'descriptor' // QI HEAD / QI PRIOR dump
  | 'cleared'
  | 'malfunction' // "DMAR hardware is malfunctioning"

export interface QiRecord extends RecordBase {
  type: 'qi'
  event: QiEvent
  /** ITE/ICE: the requester as a full BDF (the printed SID is a 16-bit RID in hex). */
  sid?: string
  sidRaw?: number
  /** IQE: IQER.IQEI. */
  reasonCode?: number
  /** Descriptor dumps: HEAD or PRIOR, the type name as printed, and the two quadwords. */
  position?: 'HEAD' | 'PRIOR'
  descriptor?: string
  qw0?: bigint
  qw1?: bigint
  /** "cleared" records: which error. */
  error?: 'IQE' | 'ITE' | 'ICE'
}

export interface PrqRecord extends RecordBase {
  type: 'prq'
  unit: string
  /** "invalid-request", "not-canonical", "privilege-mode", "execute", "no-pasid", "overflow", "overflow-cleared". */
  event: string
  qw0?: bigint
  qw1?: bigint
}

export interface RmrrRefusalRecord extends RecordBase {
  type: 'rmrr-refusal'
  driver: string
  device: string
  /** 3.17–6.5 "ineligible for IOMMU domain attach"; 6.6+ "have a 1:1 IOMMU mapping". */
  form: 'ineligible' | 'require-direct'
}

/** Boot-time RMRR facts: "RMRR base: … end: …", "bad RMRR […]", "Setting identity map for device …". */
export interface RmrrRecord extends RecordBase {
  type: 'rmrr'
  base: bigint
  end: bigint
  /** identity-map lines name the device. */
  device?: string
  /** "declared" (RMRR base/end), "firmware-bug" (bad RMRR / no reserved region), "identity-map". */
  source: 'declared' | 'firmware-bug' | 'identity-map'
}

export interface GroupRecord extends RecordBase {
  type: 'group'
  device: string
  group: number
}

export interface DomainTypeRecord extends RecordBase {
  type: 'domain-type'
  /** iommu: Default domain type: Translated / Passthrough / Unmanaged. */
  domainType: 'translated' | 'passthrough' | 'unmanaged'
  viaCmdline: boolean
}

export interface InterruptRemappingRecord extends RecordBase {
  type: 'ir-state'
  state: 'x2apic' | 'xapic' | 'disabled' | 'x2apic-opt-out'
}

/** CONFIG_DMAR_DEBUG walk dump lines after a fault (≈5.17+). */
export interface WalkDumpRecord extends RecordBase {
  type: 'walk-dump'
  /** "start" (Dump dmarN table entries for IOVA …), "entry", or "not-present". */
  step: 'start' | 'entry' | 'not-present'
  unit?: string
  iova?: bigint
}

export interface AmdViRecord extends RecordBase {
  type: 'amd-vi'
  event: string
  device?: string
  address?: bigint
  flags?: number
  note: 'AMD-Vi: not covered yet'
}

/** The last line of a successful intel_iommu_init: DMA translation is active from here on. */
export interface IommuReadyRecord extends RecordBase {
  type: 'iommu-ready'
}

/** A line that looks like a fault but matches no known shape: reported as data. */
export interface UnparsedRecord extends RecordBase {
  type: 'unparsed'
  why: string
}

export type LogRecord =
  | FaultRecord
  | FaultStatusRecord
  | SuppressedRecord
  | QiRecord
  | PrqRecord
  | RmrrRefusalRecord
  | RmrrRecord
  | GroupRecord
  | DomainTypeRecord
  | InterruptRemappingRecord
  | WalkDumpRecord
  | AmdViRecord
  | IommuReadyRecord
  | UnparsedRecord

// ---------------------------------------------------------------- helpers

const hexBig = (s: string): bigint => BigInt('0x' + s)
const hexNum = (s: string): number => Number.parseInt(s, 16)

/** "%02x:%02x.%d" (optionally 0x-prefixed, optionally with a 4-digit segment) → parts. */
function splitBdf(bus: string, dev: string, fn: string, segment?: string) {
  const b = hexNum(bus)
  const d = hexNum(dev)
  const f = Number(fn)
  const seg = segment === undefined ? 0 : hexNum(segment)
  return {bus: b, device: d, function: f, requester: formatBdf(seg, b, d, f), segmentPrinted: segment !== undefined}
}

/** A 16-bit requester id (bus << 8 | devfn) as a full BDF in segment 0. */
export function ridToBdf(rid: number): string {
  return bdfFromDevfn(0, (rid >> 8) & 0xff, rid & 0xff)
}

// ---------------------------------------------------------------- timestamps and prefixes

const MONTHS: Record<string, number> = {}
;[
  ['jan', 'janv', 'jän', 'ene', 'gen'],
  ['feb', 'févr', 'fevr', 'fév', 'feb'],
  ['mar', 'mars', 'mär', 'mrz'],
  ['apr', 'avr', 'abr'],
  ['may', 'mai', 'mag'],
  ['jun', 'juin', 'giu'],
  ['jul', 'juil', 'lug'],
  ['aug', 'août', 'aout', 'ago'],
  ['sep', 'sept', 'set'],
  ['oct', 'okt', 'ott'],
  ['nov'],
  ['dec', 'déc', 'dez', 'dic'],
].forEach((names, month) => names.forEach((n) => (MONTHS[n] = month)))

function monthIndex(name: string): number | undefined {
  return MONTHS[name.toLowerCase().replace(/\.$/, '')]
}

/** Syslog-style stamps carry no year: assume this year, or last year if that lands in the future. */
function yearlessEpoch(month: number, day: number, h: number, m: number, s: number, now = Date.now()): number {
  const year = new Date(now).getUTCFullYear()
  let t = Date.UTC(year, month, day, h, m, s)
  if (t > now + 86_400_000) t = Date.UTC(year - 1, month, day, h, m, s)
  return t / 1000
}

interface PrefixState {
  time?: LogTime
  xen: boolean
}

type PrefixRule = {re: RegExp; /** Matches every char the regex can start with (a superset is fine). */ first: RegExp; apply: (m: RegExpExecArray, p: LogParser, st: PrefixState) => void}

/** Prefixes, tried repeatedly at the start of the line until none matches. Order: most common first. */
const PREFIX_RULES: PrefixRule[] = [
  // [    0.361089]  and serial-console [ 147.069016]
  {re: /^\[\s*(\d+\.\d+)\]\s?/, first: /^[\[]/, apply: (m, _p, st) => (st.time = {text: m[1]!, style: 'monotonic', seconds: Number(m[1])})},
  // dmesg -H delta: [  +0,000002]  [  +0.000002]
  {re: /^\[\s*\+\s*(\d+)[.,](\d+)\]\s?/, first: /^[\[]/, apply: (m, p, st) => (st.time = p.relativeStamp(m))},
  // dmesg -T: [Thu Oct 22 08:54:51 2020]
  {re: /^\[([A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}))\]\s?/, first: /^[\[]/, apply: (m, _p, st) => {
    const month = monthIndex(m[2]!)
    const seconds = month === undefined ? undefined : Date.UTC(Number(m[7]), month, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000
    st.time = {text: m[1]!, style: 'ctime', seconds}
  }},
  // dmesg -H anchor: [févr.27 06:53]  [Nov24 10:00]
  {re: /^\[(([^\d\s\]]+) ?(\d{1,2}) (\d\d):(\d\d))\]\s?/, first: /^[\[]/, apply: (m, p, st) => (st.time = p.relativeAnchor(m))},
  // journal short-iso / rsyslog RFC 3339: 2024-01-09T10:03:12.035211+01:00 host kernel:
  {re: /^((\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) \S+ kernel: ?/, first: /^[\d]/, apply: (m, _p, st) => {
    const seconds = Date.parse(m[1]!.replace(' ', 'T').replace(',', '.'))
    st.time = {text: m[1]!, style: 'iso', seconds: Number.isNaN(seconds) ? undefined : seconds / 1000}
  }},
  // syslog / journal short(-precise): "Jul 19 23:11:56 host kernel: "  "févr. 12 13:47:54 ordi kernel: "
  {re: /^(([^\d\s]{3,5}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(\.\d+)?) \S+ kernel: ?/, first: /^[^\d\s]/, apply: (m, _p, st) => {
    const month = monthIndex(m[2]!)
    const seconds = month === undefined ? undefined
      : yearlessEpoch(month, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) + (m[7] ? Number(m[7]) : 0)
    st.time = {text: m[1]!, style: 'syslog', seconds}
  }},
  {re: /^<\d{1,3}>/, first: /^[<]/, apply: () => undefined}, // printk level marker
  {re: /^kern\s*:\s*[a-z]+\s*: ?/, first: /^[k]/, apply: () => undefined}, // dmesg -x
  {re: /^\(XEN\) ?/, first: /^[\(]/, apply: (_m, _p, st) => (st.xen = true)},
  {re: /^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\] ?/, first: /^[\[]/, apply: (m, _p, st) => {
    const seconds = Date.parse(m[1]!.replace(' ', 'T') + 'Z')
    st.time = {text: m[1]!, style: 'xen', seconds: Number.isNaN(seconds) ? undefined : seconds / 1000}
  }},
  {re: /^\[VT-D\]/, first: /^[\[]/, apply: (_m, _p, st) => (st.xen = true)},
  // journal short-monotonic after the stamp ("host kernel: "), or a bare "kernel: " (messages files)
  {re: /^(?:[\w.-]+ )?kernel: ?/, first: /^[\w.-]/, apply: () => undefined},
  {re: /^[ \t]+/, first: /^[ \t]/, apply: () => undefined}, // indentation (rst/mail quotes, continuation lines)
]

/**
 * The rules that can match a line starting with each ASCII char, in table order (a rule whose
 * regex cannot begin with that char is left out; the first match is still the same). Lines that
 * start beyond ASCII try the whole table.
 */
const PREFIX_RULES_BY_CHAR: PrefixRule[][] = Array.from({length: 128}, (_, c) => PREFIX_RULES.filter((r) => r.first.test(String.fromCharCode(c))))

// ---------------------------------------------------------------- message shapes

/** Lines worth a closer look contain one of these; everything else is skipped cheaply. */
const CANDIDATE = /DMAR|dmar|INTR-REMAP|AMD-Vi|IOMMU|iommu|VT-d|remapping|PCI-DMA/
/** The same keywords, for scanning a whole block at once (Xen's "[VT-D]" lines carry DMAR or INTR-REMAP). */
const CANDIDATE_SCAN = new RegExp(CANDIDATE.source, 'g')
/** "[  12.345678] " — the commonest prefix by far, taken without the rule loop. */
const MONOTONIC_FAST = /^\[\s*(\d+\.\d+)\] ?/
/** After a monotonic stamp only these can follow (journal short-monotonic "host kernel:", Xen, indentation). */
const AFTER_MONOTONIC = /^(?:[\w.-]+ )?kernel: ?|^\[VT-D\]|^[ \t]+/

/** dmesg -H stamps (a "+delta" or a "[Mon DD HH:MM]" anchor): the only stamps skipped lines must still feed. */
const RELATIVE_STAMP = /^\[\s*\+|^\[[^\d\s\]]+ ?\d{1,2} \d\d:\d\d\]/

/** A message glued onto the end of an unterminated one (5.13+ QI strings lack "\n"). */
const GLUE = /(?<=\S)(?=DMAR: |DMAR-IR: |dmar_fault: )/

interface ShapeContext {
  parser: LogParser
  base: RecordBase
  xen: boolean
}

interface Shape {
  name: string
  /** A literal the body must contain before the regex is tried (cheap pre-check). */
  probe: string
  re: RegExp
  build: (m: RegExpExecArray, cx: ShapeContext) => LogRecord | undefined
}

const ACCESS: Record<string, 'read' | 'write'> = {'DMA Read': 'read', 'DMA Write': 'write'}

function singleLineFormat(tag: string | undefined, hexBdf: boolean, pasidField: boolean, hexReason: boolean): FaultFormat {
  if (hexBdf) return 'pasid-tag-0x-bdf'
  if (tag !== undefined) return 'pasid-tag'
  if (pasidField) return 'pasid-field'
  // INTR-REMAP kept one shape from 4.7 to 6.x; only the radix tells 5.14+ apart.
  return hexReason ? 'pasid-tag' : 'single-line'
}

const SHAPES: Shape[] = [
  {
    // 4.7+ single-line DMA and IR faults, all PASID/radix variants (§5.1).
    name: 'fault-single',
    probe: '[fault reason',
    re: /\[(DMA Read|DMA Write|INTR-REMAP)(?: (NO_PASID)| PASID (?:0x)?([0-9a-f]+))?\] Request device \[((0x)?([0-9a-f]{2}):(?:0x)?([0-9a-f]{2})\.([0-7]))\](?: PASID ([0-9a-f]+))? fault (?:addr|index) (?:0x)?([0-9a-f]+) \[fault reason (0x)?([0-9a-f]+)\] ?(.*)$/,
    build: (m, cx) => {
      const [, what, noPasid, tagPasid, asLogged, hexBdf, bus, dev, fn, fieldPasid, value, hexReason, reason, text] = m
      const interrupt = what === 'INTR-REMAP'
      const pasidText = tagPasid ?? fieldPasid
      // ffffffff is the 5.5–5.13 spelling of "no PASID" (PP=0).
      const pasid = pasidText === undefined || pasidText === 'ffffffff' ? undefined : hexNum(pasidText)
      const radix = hexReason ? 16 : 10
      const rec: FaultRecord = {
        ...cx.base,
        type: 'fault',
        kind: interrupt ? 'interrupt' : 'dma',
        ...splitBdf(bus!, dev!, fn!),
        requesterAsLogged: asLogged!,
        reason: Number.parseInt(reason!, radix),
        reasonText: text!.trimEnd(),
        reasonRadix: radix,
        format: singleLineFormat(noPasid ?? tagPasid, hexBdf !== undefined, fieldPasid !== undefined, hexReason !== undefined),
      }
      if (interrupt) rec.index = hexBig(value!)
      else {
        rec.access = ACCESS[what!]
        rec.address = hexBig(value!)
      }
      if (pasid !== undefined) rec.pasid = pasid
      return rec
    },
  },
  {
    // 2.6–4.6 and Xen: first line of the two-line form; completed by the tail.
    name: 'fault-head',
    probe: 'Request device [',
    re: /(DMAR|INTR-REMAP|UNKNOWN): ?(?:\[(DMA Read|DMA Write)\] ?)?Request device \[\[?((?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]))\]\s*fault (?:addr|index) ([0-9a-f]+)/,
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
      if (interrupt) rec.index = hexBig(value!)
      else {
        if (what !== undefined) rec.access = ACCESS[what]
        rec.address = hexBig(value!)
      }
      cx.parser.holdHead(rec)
      return undefined
    },
  },
  {
    // Second line of the two-line form: "DMAR:[fault reason 06] …" (decimal) or Xen "DMAR: reason 06 - …" (hex).
    name: 'fault-tail',
    probe: 'reason',
    re: /(?:DMAR|INTR-REMAP|UNKNOWN):\s?(?:\[fault reason (\d+)\] ?|reason ([0-9a-f]+) - )(.*)$/,
    build: (m, cx) => cx.parser.completeHead(m[1] === undefined ? hexNum(m[2]!) : Number.parseInt(m[1], 10), m[3]!.trimEnd(), cx.base),
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
        iqe: (value & 0x10) !== 0, ice: (value & 0x20) !== 0, ite: (value & 0x40) !== 0,
      }
    },
  },
  {
    name: 'suppressed',
    probe: 'callbacks suppressed',
    re: /(\w+): (\d+) callbacks suppressed/,
    build: (m, cx) => ({...cx.base, type: 'suppressed', source: m[1]!, count: Number(m[2])}),
  },
  {
    name: 'qi-error',
    probe: 'VT-d detected',
    re: /VT-d detected (?:Invalidation (Queue|Time-out|Completion) Error: (Reason|SID) ([0-9a-f]+)|invalid descriptor: (?:low=|qw0 = )([0-9a-f]+), (?:high=|qw1 = )([0-9a-f]+))/,
    build: (m, cx) => {
      if (m[1] === undefined) return {...cx.base, type: 'qi', event: 'invalid-descriptor', qw0: hexBig(m[4]!), qw1: hexBig(m[5]!)}
      const value = hexNum(m[3]!)
      if (m[1] === 'Queue') return {...cx.base, type: 'qi', event: 'queue-error', reasonCode: value}
      return {...cx.base, type: 'qi', event: m[1] === 'Time-out' ? 'timeout' : 'completion-error', sidRaw: value, sid: ridToBdf(value)}
    },
  },
  {
    name: 'qi-descriptor',
    probe: 'QI ',
    re: /QI (HEAD|PRIOR): (.+?) qw0 = 0x([0-9a-f]+), qw1 = 0x([0-9a-f]+)/,
    build: (m, cx) => ({...cx.base, type: 'qi', event: 'descriptor', position: m[1] as 'HEAD' | 'PRIOR', descriptor: m[2]!, qw0: hexBig(m[3]!), qw1: hexBig(m[4]!)}),
  },
  {
    name: 'qi-cleared',
    probe: 'cleared',
    re: /Invalidation (?:Queue|Time-out|Completion) Error \((IQE|ITE|ICE)\) cleared/,
    build: (m, cx) => ({...cx.base, type: 'qi', event: 'cleared', error: m[1] as 'IQE' | 'ITE' | 'ICE'}),
  },
  {
    name: 'qi-malfunction',
    probe: 'malfunctioning',
    re: /DMAR hardware is malfunctioning/,
    build: (_m, cx) => ({...cx.base, type: 'qi', event: 'malfunction'}),
  },
  {
    name: 'prq-invalid',
    probe: 'Invalid page request',
    re: /(dmar\d+): Invalid page request: ([0-9a-f]+) ([0-9a-f]+)/,
    build: (m, cx) => ({...cx.base, type: 'prq', unit: m[1]!, event: 'invalid-request', qw0: hexBig(m[2]!), qw1: hexBig(m[3]!)}),
  },
  {
    name: 'prq-event',
    probe: 'IOMMU: dmar',
    re: /IOMMU: (dmar\d+): (Address is not canonical|Page request in Privilege Mode|Execution request not supported|Page request without PASID|PRQ overflow detected|PRQ overflow cleared)/,
    build: (m, cx) => {
      const events: Record<string, string> = {
        'Address is not canonical': 'not-canonical', 'Page request in Privilege Mode': 'privilege-mode',
        'Execution request not supported': 'execute', 'Page request without PASID': 'no-pasid',
        'PRQ overflow detected': 'overflow', 'PRQ overflow cleared': 'overflow-cleared',
      }
      return {...cx.base, type: 'prq', unit: m[1]!, event: events[m[2]!] ?? m[2]!}
    },
  },
  {
    name: 'rmrr-ineligible',
    probe: 'ineligible for IOMMU domain attach',
    re: /(\S+) ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): (?:DMAR: )?Device is ineligible for IOMMU domain attach due to platform RMRR requirement\./,
    build: (m, cx) => ({...cx.base, type: 'rmrr-refusal', driver: m[1]!, device: m[2]!, form: 'ineligible'}),
  },
  {
    name: 'rmrr-require-direct',
    probe: '1:1 IOMMU mapping',
    re: /(\S+) ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): Firmware has requested this device have a 1:1 IOMMU mapping/,
    build: (m, cx) => ({...cx.base, type: 'rmrr-refusal', driver: m[1]!, device: m[2]!, form: 'require-direct'}),
  },
  {
    name: 'rmrr-declared',
    probe: 'RMRR base',
    re: /RMRR base: (?:0x)?([0-9a-f]+) end: (?:0x)?([0-9a-f]+)/,
    build: (m, cx) => ({...cx.base, type: 'rmrr', base: hexBig(m[1]!), end: hexBig(m[2]!), source: 'declared'}),
  },
  {
    name: 'rmrr-firmware-bug',
    probe: 'bad RMRR',
    re: /bad RMRR \[0x([0-9a-f]+)-0x([0-9a-f]+)\]/,
    build: (m, cx) => ({...cx.base, type: 'rmrr', base: hexBig(m[1]!), end: hexBig(m[2]!), source: 'firmware-bug'}),
  },
  {
    name: 'rmrr-identity-map',
    probe: 'identity map for device',
    re: /Setting identity map for device ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) \[0x([0-9a-f]+) - 0x([0-9a-f]+)\]/,
    build: (m, cx) => ({...cx.base, type: 'rmrr', base: hexBig(m[2]!), end: hexBig(m[3]!), device: m[1]!, source: 'identity-map'}),
  },
  {
    name: 'group-add',
    probe: 'iommu group',
    re: /([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): Adding to iommu group (\d+)/,
    build: (m, cx) => ({...cx.base, type: 'group', device: m[1]!, group: Number(m[2])}),
  },
  {
    name: 'group-add-old',
    probe: 'to group',
    re: /iommu: Adding device ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) to group (\d+)/,
    build: (m, cx) => ({...cx.base, type: 'group', device: m[1]!, group: Number(m[2])}),
  },
  {
    name: 'domain-type',
    probe: 'Default domain type',
    re: /iommu: Default domain type: (Translated|Passthrough|Unmanaged)( \(set via kernel command line\))?/,
    build: (m, cx) => ({...cx.base, type: 'domain-type', domainType: m[1]!.toLowerCase() as 'translated' | 'passthrough' | 'unmanaged', viaCmdline: m[2] !== undefined}),
  },
  {
    name: 'ir-enabled',
    probe: 'IRQ remapping in',
    re: /Enabled IRQ remapping in (x2apic|xapic) mode/,
    build: (m, cx) => ({...cx.base, type: 'ir-state', state: m[1] as 'x2apic' | 'xapic'}),
  },
  {
    name: 'ir-failed',
    probe: 'irq remapping',
    re: /Failed to enable irq remapping/,
    build: (_m, cx) => ({...cx.base, type: 'ir-state', state: 'disabled'}),
  },
  {
    name: 'ir-opt-out',
    probe: 'x2apic opt out',
    re: /x2apic is disabled because BIOS sets x2apic opt out bit/,
    build: (_m, cx) => ({...cx.base, type: 'ir-state', state: 'x2apic-opt-out'}),
  },
  {
    // ≥4.2 "DMAR: Intel(R) Virtualization Technology for Directed I/O", 3.x "PCI-DMA: Intel(R) …"
    name: 'iommu-ready',
    probe: 'Technology for Directed I/O',
    re: /(?:DMAR|PCI-DMA): Intel\(R\) Virtualization Technology for Directed I\/O/,
    build: (_m, cx) => ({...cx.base, type: 'iommu-ready'}),
  },
  {
    name: 'iommu-ready-2.6',
    probe: 'Using DMAR IOMMU',
    re: /PCI-DMA: Using DMAR IOMMU/,
    build: (_m, cx) => ({...cx.base, type: 'iommu-ready'}),
  },
  {
    name: 'walk-start',
    probe: 'table entries for IOVA',
    re: /Dump (dmar\d+) table entries for IOVA 0x([0-9a-f]+)/,
    build: (m, cx) => ({...cx.base, type: 'walk-dump', step: 'start', unit: m[1]!, iova: hexBig(m[2]!)}),
  },
  {
    name: 'walk-entry',
    probe: 'entry',
    re: /DMAR: (?:scalable mode root entry|root entry|context entry|pasid dir entry|pasid table entry\[\d+\]|pte level: \d+, pte value): /,
    build: (_m, cx) => ({...cx.base, type: 'walk-dump', step: 'entry'}),
  },
  {
    name: 'walk-not-present',
    probe: 'not present',
    re: /DMAR: (?:PTE not present at level \d+|(?:root|context|pasid directory|pasid|legacy mode page|scalable mode page) table is not present|page table not present at level \d+)/,
    build: (_m, cx) => ({...cx.base, type: 'walk-dump', step: 'not-present'}),
  },
  {
    name: 'amd-vi-event',
    probe: 'AMD-Vi: Event logged',
    re: /(?:(?:\S+ )?([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): )?AMD-Vi: Event logged \[(\w+)(?: device=([0-9a-f:.]+))?(?: domain=0x[0-9a-f]+)?(?: pasid=0x[0-9a-f]+)?(?: address=0x([0-9a-f]+))?(?: flags=0x([0-9a-f]+))?/,
    build: (m, cx) => {
      const rec: AmdViRecord = {...cx.base, type: 'amd-vi', event: m[2]!, note: 'AMD-Vi: not covered yet'}
      const device = m[1] ?? (m[3] === undefined ? undefined : m[3].length <= 7 ? '0000:' + m[3] : m[3])
      if (device !== undefined) rec.device = device
      if (m[4] !== undefined) rec.address = hexBig(m[4])
      if (m[5] !== undefined) rec.flags = hexNum(m[5])
      return rec
    },
  },
]

/** A fault-looking line that no shape took. */
const FAULT_LOOKING = /Request device|fault reason|IO_PAGE_FAULT/

// ---------------------------------------------------------------- the parser

/** Shared empty result; frozen so a caller that pushes into it fails loudly. */
const NO_RECORDS = Object.freeze([]) as unknown as LogRecord[]

export class LogParser {
  private lineNo = 0
  private held: FaultRecord | undefined
  /** dmesg -H: seconds of the last anchor plus the deltas since. */
  private relativeClock = 0
  /** The last time seen, inherited by continuation lines that have none. */
  private lastTime: LogTime | undefined
  /** A newer stamp than `lastTime`, still as bytes (see holdStamp); 0 when none. */
  private pendingStampLength = 0
  private readonly pendingStamp = new Uint8Array(64)
  private pendingStyle: TimeStyle = 'monotonic'
  private pendingSeconds = 0
  /** readStamp's result: the stamp text's bounds in the block, and its value. */
  private stampFrom = 0
  private stampTo = 0
  private stampValue = 0
  /** readSyslogStamp's result: month index, day, where "HH:MM:SS" starts, the ".ddd" fraction. */
  private syslogMonth: number | undefined
  private syslogDay = 0
  private syslogClock = 0
  private syslogFraction = 0
  /** The last syslog stamp's bytes (length first) and its time, while they still describe it. */
  private readonly syslogStamp = new Uint8Array(64)
  private syslogTimeFor: LogTime | undefined
  /**
   * The byte path's cache: lines by the hash of their body bytes, each entry taken from
   * `bodyCache` (cleared with it, so a hit here is a hit there: records come out alike).
   */
  private readonly lineCache = new Map<number, LineCacheEntry>()
  /**
   * Parsed message bodies (text after the prefixes) of stateless shapes: fault storms repeat the
   * same body thousands of times with only the stamp changing. Bounded; cleared when full.
   */
  private readonly bodyCache = new Map<string, {shape: string; record?: LogRecord; clone?: Cloner}>()
  private static readonly BODY_CACHE_MAX = 4096

  /** Lines pushed so far. */
  get lines(): number {
    return this.lineNo
  }

  relativeStamp(m: RegExpExecArray): LogTime {
    return {text: m[0].trim().slice(1, -1).trim(), style: 'relative', seconds: this.advanceRelativeClock(Number(`${m[1]}.${m[2]}`))}
  }

  /** Adds a dmesg -H delta; rounded to the microsecond the stamps carry, so sums do not drift. */
  private advanceRelativeClock(delta: number): number {
    this.relativeClock = Math.round((this.relativeClock + delta) * 1e6) / 1e6
    return this.relativeClock
  }

  relativeAnchor(m: RegExpExecArray): LogTime {
    const month = monthIndex(m[2]!)
    if (month === undefined) return {text: m[1]!, style: 'relative'}
    this.relativeClock = yearlessEpoch(month, Number(m[3]), Number(m[4]), Number(m[5]), 0)
    return {text: m[1]!, style: 'relative', seconds: this.relativeClock}
  }

  /** Feed one line (without its newline). Returns the records it completed (often none). */
  push(rawLine: string): LogRecord[] {
    this.lineNo++
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    if (!CANDIDATE.test(line)) {
      // dmesg -H stamps are deltas: every line's delta counts, even on lines we skip.
      if (line.charCodeAt(0) === 0x5b && RELATIVE_STAMP.test(line)) this.stripPrefixes(line)
      return this.flushHeld()
    }
    return this.parseLine(line)
  }

  /** A line known to hold a candidate keyword (the block scanner found one). */
  private parseLine(line: string): LogRecord[] {
    const {body, time, xen} = this.stripPrefixes(line)
    const out: LogRecord[] = []
    const parts = mayBeGlued(body) && GLUE.test(body) ? body.split(GLUE) : [body]
    for (const part of parts) this.parseBody(part, time, xen, out)
    return out
  }

  /**
   * Fast path for big inputs: a block of whole lines ("\n"-separated; the last may be unterminated
   * only at end of input). Lines without a candidate keyword are counted, never sliced or parsed.
   * dmesg -H blocks (every line carries a delta stamp) go line by line.
   *
   * With `bytes` (the block's raw bytes) `block` is not read: a byte scanner finds the candidate
   * lines and counts the rest, and only candidate lines are decoded (UTF-8, fresh small strings,
   * so nothing kept pins the block). Without `bytes`, `block` is the text (latin1 or UTF-8).
   */
  pushText(block: string, sink: (r: LogRecord) => void, bytes?: Buffer): void {
    if (bytes !== undefined) {
      const scanner = byteScanner()
      if (scanner !== null) return this.pushBytes(bytes, scanner, sink)
      block = bytes.toString('latin1')
    }
    this.pushString(block, sink, bytes)
  }

  private pushBytes(bytes: Buffer, scanner: ByteScanner, sink: (r: LogRecord) => void): void {
    const n = bytes.length
    if (n === 0) return
    if (bytes[0] === 0x5b && RELATIVE_STAMP.test(bytes.toString('latin1', 0, Math.min(n, 1024)))) {
      const lines = bytes.toString('utf8').split('\n')
      if (lines[lines.length - 1] === '') lines.pop()
      this.pushMany(lines, sink)
      return
    }
    // Scan and parse a slice at a time: the parser then reads lines the scanner has just brought
    // into the CPU cache, rather than a multi-megabyte block that left it long ago.
    for (let from = 0; from < n;) {
      let to = n
      if (n - from > SCAN_SLICE) {
        to = bytes.lastIndexOf(10, from + SCAN_SLICE - 1) + 1
        if (to <= from) to = bytes.indexOf(10, from + SCAN_SLICE) + 1 || n // a line longer than a slice
      }
      this.scanSlice(bytes.subarray(from, to), scanner, sink)
      from = to
    }
  }

  /** pushBytes on whole lines of one block (all "\n"-terminated but maybe the block's last). */
  private scanSlice(bytes: Buffer, scanner: ByteScanner, sink: (r: LogRecord) => void): void {
    const n = bytes.length
    const {hits, count, newlines} = scanner.scan(bytes)
    const view = new DataView(bytes.buffer, bytes.byteOffset, n)
    const base = this.lineNo
    for (let k = 0; k < count * 5; k += 5) {
      const start = hits[k]!
      const lineNo = base + hits[k + 1]! + 1
      const bodyStart = hits[k + 2]!
      const end = hits[k + 3]!
      if (lineNo > this.lineNo + 1) {
        // Lines skipped since the last one parsed end a held two-line head.
        this.lineNo = lineNo - 1
        if (this.held !== undefined) for (const r of this.flushHeld()) sink(r)
      }
      this.lineNo = lineNo
      if (end > start && bytes[end - 1] === 0x0d) {
        this.slowLine(bytes.toString('utf8', start, end - 1), sink)
        continue
      }
      let stamp: StampKind = NO_STAMP
      // What the cache compares: the scanner's body, or for syslog lines everything after the stamp.
      let bodyFrom = bodyStart
      let hash = hits[k + 4]!
      if (bodyStart > start) {
        stamp = this.readStamp(bytes, start, bodyStart)
        if (stamp === NO_STAMP) {
          this.slowLine(bytes.toString('utf8', start, end), sink)
          continue
        }
      } else if (isSyslogLead(bytes[start]!)) {
        const host = this.readSyslogStamp(bytes, start, end)
        if (host !== -1) {
          stamp = SYSLOG
          bodyFrom = host
          hash = hashBytes(view, host, end)
        }
      }
      const key = hash ^ STAMP_KEY[stamp]!
      const hit = this.lineCache.get(key)
      if (hit !== undefined && hit.stamp === stamp && sameBytes(hit.body, view, bodyFrom, end)) {
        if (!hit.candidate) {
          // slowLine stops before the prefixes here: a dmesg -H delta on such a line is not counted.
          if (this.held !== undefined) for (const r of this.flushHeld()) sink(r)
          continue
        }
        // What parseBody's cache hit does, without decoding the line.
        let time: LogTime | undefined
        if (stamp === SYSLOG) {
          // Built per line: stripPrefixes makes every syslog stamp the last time, record or not.
          time = this.syslogTime(bytes, start)
          this.lastTime = time
          this.pendingStampLength = 0
        } else if (stamp !== NO_STAMP) {
          const style: TimeStyle = stamp === MONOTONIC ? 'monotonic' : 'relative'
          // A delta moves the clock on every candidate line, as stripPrefixes does.
          const seconds = stamp === MONOTONIC ? this.stampValue : this.advanceRelativeClock(this.stampValue)
          if (hit.record !== undefined) {
            time = {text: latin1(bytes, this.stampFrom, this.stampTo), style, seconds}
            this.lastTime = time
            this.pendingStampLength = 0
          } else this.holdStamp(bytes, this.stampFrom, this.stampTo, style, seconds)
        } else if (hit.record !== undefined) time = this.currentLastTime()
        if (this.held !== undefined) for (const r of this.flushHeld()) sink(r)
        if (hit.record === undefined) continue
        const rec = hit.clone!(hit.record, this.lineNo, time)
        if (hit.head) this.holdHead(rec as FaultRecord)
        else sink(rec)
        continue
      }
      const line = bytes.toString('utf8', start, end)
      const cacheable = this.slowLine(line, sink, true, stamp !== NO_STAMP)
      if (cacheable !== undefined) {
        if (this.lineCache.size >= LogParser.BODY_CACHE_MAX) this.lineCache.clear()
        const entry: LineCacheEntry = {...cacheable, body: bodyWords(bytes, bodyFrom, end), stamp}
        if (cacheable.record !== undefined) entry.clone = clonerFor(cacheable.record)
        this.lineCache.set(key, entry)
      }
    }
    const total = base + newlines + (bytes[n - 1] === 10 ? 0 : 1)
    if (total > this.lineNo) {
      this.lineNo = total
      if (this.held !== undefined) for (const r of this.flushHeld()) sink(r)
    }
  }

  /**
   * The stamp in bytes[start, bodyStart) (the scanner's leading "[…]" and one space): a monotonic
   * "[  12.345678]" as MONOTONIC_FAST takes it, or a dmesg -H delta "[  +0,000002] " as the
   * relative prefix rule takes it. Leaves the stamp text's bounds in stampFrom/stampTo and its
   * value (seconds, or the delta) in stampValue. NO_STAMP for anything else, and for deltas too
   * long to convert exactly: those lines take the slow path.
   */
  private readStamp(bytes: Buffer, start: number, bodyStart: number): StampKind {
    let p = start + 1
    while (p < bodyStart && isSpace(bytes[p]!)) p++
    const from = p
    const relative = bytes[p] === 0x2b
    if (relative) {
      p++
      while (p < bodyStart && isSpace(bytes[p]!)) p++
    }
    const digits = p
    let value = 0
    while (p < bodyStart && isDigit(bytes[p]!)) value = value * 10 + bytes[p++]! - 0x30
    if (p === digits || !(bytes[p] === 0x2e || (relative && bytes[p] === 0x2c))) return NO_STAMP
    const frac = ++p
    let scale = 1
    while (p < bodyStart && isDigit(bytes[p]!)) value = value * 10 + bytes[p++]! - 0x30, scale *= 10
    if (p === frac || bytes[p] !== 0x5d) return NO_STAMP
    // Both exact below 2^53 (at most 15 digits), so the quotient is Number(text), correctly rounded.
    const exact = p - digits <= 16
    if (relative) {
      // The rule's "\s?" would also take a tab; dmesg prints one space, anything else goes slow.
      if (!exact || p + 2 !== bodyStart || bytes[p + 1] !== 0x20) return NO_STAMP
      this.stampFrom = from // the rule's text keeps the "+"
    } else {
      if (!(p + 1 === bodyStart || (p + 2 === bodyStart && bytes[p + 1] === 0x20))) return NO_STAMP
      this.stampFrom = digits
    }
    this.stampTo = p
    this.stampValue = exact ? value / scale : Number(bytes.toString('latin1', digits, p))
    return relative ? RELATIVE : MONOTONIC
  }

  /**
   * A syslog / journal "short" stamp opening the line, exactly as the syslog prefix rule takes
   * it: "Jul 19 23:11:56 host kernel:", "févr. 12 13:47:54.035211 host kernel:". Returns where the
   * host name starts, or -1 for anything else (those lines take the slow path). The stamp's
   * fields are left in the syslog* scratch fields for syslogTime. The month name (3–5 chars)
   * may be ASCII or 2-byte UTF-8 Latin-1 letters (no whitespace among those).
   *
   * The cached body then starts at the host: the month cannot hold a CANDIDATE keyword (checked)
   * and the digits between hold none, so a line is a candidate exactly when that body is, and
   * the prefixes after the stamp ("host kernel:", level markers …) depend on the body alone.
   */
  private readSyslogStamp(bytes: Buffer, start: number, end: number): number {
    let p = start
    let chars = 0
    for (; p < end && chars <= 5; chars++) {
      const b = bytes[p]!
      if (b < 0x80) {
        if (isSpace(b) || isDigit(b)) break
        p++
      } else if (b === 0xc3 && p + 1 < end && (bytes[p + 1]! & 0xc0) === 0x80) p += 2
      else return -1
    }
    if (chars < 3 || chars > 5 || bytes[p] !== 0x20) return -1
    const monthEnd = p++
    if (bytes[p] === 0x20) p++
    const day = p
    while (p < end && isDigit(bytes[p]!)) p++
    if (p - day < 1 || p - day > 2 || bytes[p] !== 0x20) return -1
    const clock = p + 1
    if (clock + 8 > end || !isDigit(bytes[clock]!) || !isDigit(bytes[clock + 1]!) || bytes[clock + 2] !== 0x3a
      || !isDigit(bytes[clock + 3]!) || !isDigit(bytes[clock + 4]!) || bytes[clock + 5] !== 0x3a
      || !isDigit(bytes[clock + 6]!) || !isDigit(bytes[clock + 7]!)) return -1
    p = clock + 8
    let frac = 0
    if (bytes[p] === 0x2e) {
      const digits = ++p
      let value = 0
      let scale = 1
      while (p < end && isDigit(bytes[p]!)) value = value * 10 + bytes[p++]! - 0x30, scale *= 10
      // Exact below 2^53, so the quotient is Number(".ddd"), correctly rounded.
      if (p === digits || p - digits > 15) return -1
      frac = value / scale
    }
    if (bytes[p] !== 0x20) return -1
    const stampEnd = p++
    // "\S+ kernel:": an ASCII host name (a non-ASCII one might hold Unicode whitespace).
    const host = p
    while (p < end && bytes[p]! > 0x20 && bytes[p]! < 0x7f) p++
    if (p === host || p + 8 > end || latin1(bytes, p, p + 8) !== ' kernel:') return -1
    this.stampTo = stampEnd
    // Lines in the same second (or µs) repeat the stamp: the previous one's time still holds.
    if (this.syslogTimeFor !== undefined && sameStamp(this.syslogStamp, bytes, start, stampEnd)) return host
    this.syslogTimeFor = undefined
    const month = bytes.toString('utf8', start, monthEnd)
    if (CANDIDATE.test(month)) return -1
    this.syslogMonth = monthIndex(month)
    this.syslogDay = digitsValue(bytes, day, clock - 1)
    this.syslogClock = clock
    this.syslogFraction = frac
    return host
  }

  /**
   * The time stripPrefixes' syslog rule gives the stamp readSyslogStamp just read. Kept for the
   * next line with the same stamp bytes (LogTime objects are never mutated, records may share one).
   */
  private syslogTime(bytes: Buffer, start: number): LogTime {
    if (this.syslogTimeFor !== undefined) return this.syslogTimeFor
    const text = bytes.toString('utf8', start, this.stampTo)
    const month = this.syslogMonth
    const c = this.syslogClock
    const seconds = month === undefined ? undefined
      : yearlessEpoch(month, this.syslogDay, digitsValue(bytes, c, c + 2), digitsValue(bytes, c + 3, c + 5), digitsValue(bytes, c + 6, c + 8)) + this.syslogFraction
    const time: LogTime = {text, style: 'syslog', seconds}
    if (keepStamp(this.syslogStamp, bytes, start, this.stampTo)) this.syslogTimeFor = time
    return time
  }

  /**
   * One line the scanner reported, the slow way (as `push` would, the line number already
   * counted). With `cacheable`, returns what a later line with the same bytes after its stamp
   * (`stamped`: monotonic, dmesg -H, or syslog up to the host name; else the same whole line) may
   * reuse: the line was no candidate, or one stateless shape (or none) took its body, and only the
   * stamp (if any) carried a time. What the other prefixes (host "kernel:", Xen, indentation) do
   * depends on those same bytes alone.
   */
  private slowLine(line: string, sink: (r: LogRecord) => void, cacheable = false, stamped = false): {candidate: boolean; record?: LogRecord; head?: boolean} | undefined {
    if (!CANDIDATE.test(line)) {
      if (this.held !== undefined) for (const r of this.flushHeld()) sink(r)
      return {candidate: false}
    }
    const {body, time, xen, stamps} = this.stripPrefixes(line)
    const glued = mayBeGlued(body) && GLUE.test(body)
    const out: LogRecord[] = []
    for (const part of glued ? body.split(GLUE) : [body]) this.parseBody(part, time, xen, out)
    for (const r of out) sink(r)
    // A stamp after the leading one (or any stamp on an unstamped line) is more state than the cache keeps.
    if (!cacheable || glued || stamps !== (stamped ? 1 : 0)) return undefined
    const cached = this.bodyCache.get(xen ? '\u0000' + body : body)
    if (cached === undefined) return undefined
    if (cached.record === undefined) return {candidate: true}
    return cached.shape === 'fault-head' ? {candidate: true, record: cached.record, head: true} : {candidate: true, record: cached.record}
  }

  /** The last stamp, kept as bytes until a record needs it (most candidate lines make none). */
  private holdStamp(bytes: Uint8Array, from: number, to: number, style: TimeStyle, seconds: number): void {
    if (to - from > this.pendingStamp.length) {
      const text = Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1')
      this.lastTime = {text, style, seconds}
      this.pendingStampLength = 0
      return
    }
    for (let i = from; i < to; i++) this.pendingStamp[i - from] = bytes[i]!
    this.pendingStampLength = to - from
    this.pendingStyle = style
    this.pendingSeconds = seconds
  }

  private currentLastTime(): LogTime | undefined {
    if (this.pendingStampLength > 0) {
      const text = Buffer.from(this.pendingStamp.buffer, this.pendingStamp.byteOffset, this.pendingStampLength).toString('latin1')
      this.lastTime = {text, style: this.pendingStyle, seconds: this.pendingSeconds}
      this.pendingStampLength = 0
    }
    return this.lastTime
  }

  /** The regex scan over a decoded block (no WebAssembly, or text without bytes). */
  private pushString(block: string, sink: (r: LogRecord) => void, bytes?: Buffer): void {
    if (block.length === 0) return
    const lineAt = bytes === undefined
      ? (from: number, to: number) => block.slice(from, to)
      : (from: number, to: number) => bytes.toString('utf8', from, to)
    if (RELATIVE_STAMP.test(block)) {
      const text = bytes === undefined ? block : bytes.toString('utf8')
      const lines = text.split('\n')
      if (lines[lines.length - 1] === '') lines.pop()
      this.pushMany(lines, sink)
      return
    }
    const scan = CANDIDATE_SCAN
    scan.lastIndex = 0
    let pos = 0
    while (pos < block.length) {
      const m = scan.exec(block)
      if (m === null) break
      const lineStart = m.index === 0 ? 0 : block.lastIndexOf('\n', m.index - 1) + 1
      if (lineStart > pos) {
        this.lineNo += countNewlines(block, pos, lineStart)
        for (const r of this.flushHeld()) sink(r)
      }
      let lineEnd = block.indexOf('\n', m.index)
      if (lineEnd === -1) lineEnd = block.length
      this.lineNo++
      const raw = lineAt(lineStart, lineEnd)
      for (const r of this.parseLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw)) sink(r)
      pos = lineEnd + 1
      scan.lastIndex = pos
    }
    if (pos < block.length) {
      const skipped = countNewlines(block, pos, block.length) + (block.endsWith('\n') ? 0 : 1)
      if (skipped > 0) {
        this.lineNo += skipped
        for (const r of this.flushHeld()) sink(r)
      }
    }
  }

  /** Feed several lines at once (a chunk split on "\n"); records go to `sink`. */
  pushMany(lines: Iterable<string>, sink: (r: LogRecord) => void): void {
    for (const l of lines) for (const r of this.push(l)) sink(r)
  }

  /** End of input: a held two-line head becomes an incomplete fault. */
  end(): LogRecord[] {
    return this.flushHeld()
  }

  /** `stamps`: how many prefixes set the time (slowLine caches only lines with their one stamp). */
  private stripPrefixes(line: string): {body: string; time?: LogTime; xen: boolean; stamps: number} {
    const st: PrefixState = {xen: false}
    let rest = line
    const fast = MONOTONIC_FAST.exec(line)
    if (fast !== null) {
      st.time = {text: fast[1]!, style: 'monotonic', seconds: Number(fast[1])}
      rest = line.slice(fast[0].length)
      for (let m = AFTER_MONOTONIC.exec(rest); m !== null && m[0].length > 0; m = AFTER_MONOTONIC.exec(rest)) {
        if (m[0] === '[VT-D]') st.xen = true
        rest = rest.slice(m[0].length)
      }
      this.lastTime = st.time
      this.pendingStampLength = 0
      return {body: rest, time: st.time, xen: st.xen, stamps: 1}
    }
    let stamps = 0
    for (let guard = 0; guard < 8; guard++) {
      let matched = false
      const c = rest.charCodeAt(0)
      for (const rule of c < 128 ? PREFIX_RULES_BY_CHAR[c]! : PREFIX_RULES) {
        const m = rule.re.exec(rest)
        if (m === null || m[0].length === 0) continue
        const before = st.time
        rule.apply(m, this, st)
        if (st.time !== before) stamps++
        rest = rest.slice(m[0].length)
        matched = true
        break
      }
      if (!matched) break
    }
    if (st.time !== undefined) {
      this.lastTime = st.time
      this.pendingStampLength = 0
    }
    return {body: rest, time: st.time, xen: st.xen, stamps}
  }

  private parseBody(body: string, time: LogTime | undefined, xen: boolean, out: LogRecord[]): void {
    const t = time ?? this.currentLastTime()
    const cacheKey = xen ? '\u0000' + body : body
    const cached = this.bodyCache.get(cacheKey)
    if (cached !== undefined) {
      if (this.held !== undefined) out.push(...this.flushHeld())
      if (cached.record !== undefined) {
        // The template already carries this body's text; only the line and the stamp change.
        const rec = cached.clone!(cached.record, this.lineNo, t)
        // A two-line head is held for its tail, as its build does.
        if (cached.shape === 'fault-head') this.holdHead(rec as FaultRecord)
        else out.push(rec)
      }
      return
    }
    const base: RecordBase = {line: this.lineNo, text: body.trimEnd()}
    if (t !== undefined) base.time = t
    const cx: ShapeContext = {parser: this, base, xen}
    for (const shape of SHAPES) {
      if (!body.includes(shape.probe)) continue
      const m = shape.re.exec(body)
      if (m === null) continue
      // A new head, or any other message, ends a held head that never got its tail.
      if (shape.name !== 'fault-tail' && this.held !== undefined) out.push(...this.flushHeld())
      const rec = shape.build(m, cx)
      if (rec !== undefined) out.push(rec)
      if (shape.name === 'fault-head') this.remember(cacheKey, shape.name, this.held)
      else if (shape.name !== 'fault-tail') this.remember(cacheKey, shape.name, rec)
      return
    }
    if (this.held !== undefined) out.push(...this.flushHeld())
    const unparsed: LogRecord | undefined = FAULT_LOOKING.test(body) ? {...base, type: 'unparsed', why: 'looks like a fault line but matches no known kernel format'} : undefined
    if (unparsed !== undefined) out.push(unparsed)
    this.remember(cacheKey, '', unparsed)
  }

  private remember(key: string, shape: string, record: LogRecord | undefined): void {
    if (this.bodyCache.size >= LogParser.BODY_CACHE_MAX) {
      this.bodyCache.clear()
      this.lineCache.clear()
    }
    if (record === undefined) {
      this.bodyCache.set(key, {shape})
      return
    }
    // The template keeps no stamp: a hit takes the new line's (or none).
    const {time: _time, ...template} = record
    this.bodyCache.set(key, {shape, record: template as LogRecord, clone: clonerFor(template as LogRecord)})
  }

  /** Called by the two-line head shape. */
  holdHead(rec: FaultRecord): void {
    this.held = rec
  }

  /** Called by the tail shape: the held head gets its reason. */
  completeHead(reason: number, reasonText: string, base: RecordBase): LogRecord | undefined {
    const head = this.held
    this.held = undefined
    if (head === undefined) return {...base, type: 'unparsed', why: 'fault-reason line without its "Request device" line'}
    // {...head, reason, reasonText, text}, keys in that order, without a megamorphic spread.
    const rec = copierFor(head)(head) as FaultRecord
    rec.reason = reason
    rec.reasonText = reasonText
    rec.text = `${head.text}\n${base.text}`
    return rec
  }

  private flushHeld(): LogRecord[] {
    if (this.held === undefined) return NO_RECORDS
    const head = this.held
    this.held = undefined
    return [{...head, reasonText: '<missing "fault reason" line>'}]
  }
}

/** Bytes scanned and parsed at a time (pushBytes): well inside a core's L2 cache (64–256 KiB measured alike). */
const SCAN_SLICE = 128 * 1024

/** Cheap pre-check for GLUE: a message prefix somewhere after the start. */
function mayBeGlued(body: string): boolean {
  return body.indexOf('DMAR', 1) !== -1 || body.indexOf('dmar_fault: ', 1) !== -1
}

/** What precedes a cached line's body (readStamp). */
const NO_STAMP = 0
const MONOTONIC = 1
const RELATIVE = 2
const SYSLOG = 3
type StampKind = typeof NO_STAMP | typeof MONOTONIC | typeof RELATIVE | typeof SYSLOG
/**
 * Cache keys are the body hash XOR one of these per stamp kind: the same body met after another
 * kind of stamp (another boot's log in the same file, a continuation line) then has its own
 * entry rather than evicting the other on every pass.
 */
const STAMP_KEY = [0x55555555, 0, 0x2b2b2b2b, 0x4a4a4a4a]

const isSpace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d)
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39
/** Where the syslog rule can match first: an ASCII letter, or a 2-byte UTF-8 Latin-1 letter ("févr."). */
const isSyslogLead = (b: number): boolean => ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a) || b === 0xc3

/** `kept` (length in byte 0, then the bytes) equals bytes[from, to). */
function sameStamp(kept: Uint8Array, bytes: Uint8Array, from: number, to: number): boolean {
  if (kept[0] !== to - from) return false
  for (let i = from; i < to; i++) if (kept[1 + i - from] !== bytes[i]) return false
  return true
}

/** Copies bytes[from, to) into `kept` as sameStamp reads it; false when it does not fit. */
function keepStamp(kept: Uint8Array, bytes: Uint8Array, from: number, to: number): boolean {
  if (to - from >= kept.length) return false
  kept[0] = to - from
  kept.set(bytes.subarray(from, to), 1)
  return true
}

/** The decimal number in bytes[from, to) (digits only, checked by the caller). */
function digitsValue(bytes: Uint8Array, from: number, to: number): number {
  let v = 0
  for (let i = from; i < to; i++) v = v * 10 + bytes[i]! - 0x30
  return v
}

/** FNV-1a over bytes[from, to), 4 bytes a step: the scanner's body hash, for bodies it did not hash. */
function hashBytes(view: DataView, from: number, to: number): number {
  let h = -2128831035
  let p = from
  for (; p + 4 <= to; p += 4) h = Math.imul(h ^ view.getInt32(p, true), 16777619)
  for (; p < to; p++) h = Math.imul(h ^ view.getUint8(p), 16777619)
  return h
}

interface LineCacheEntry {
  body: BodyWords
  stamp: StampKind
  candidate: boolean
  record?: LogRecord
  /** The record is a two-line head: held for its tail, not emitted. */
  head?: boolean
  clone?: Cloner
}

/**
 * `{...template}`, then `line` set and `time` appended when defined (what parseBody's cache hit
 * builds, keys in the same order), as code made once per record shape: a spread over many record
 * shapes is a megamorphic runtime call, an object literal is not.
 */
type Cloner = (template: LogRecord, line: number, time: LogTime | undefined) => LogRecord
const CLONERS = new Map<string, Cloner>()

function clonerFor(template: LogRecord): Cloner {
  const keys = Object.keys(template)
  const signature = keys.join(',')
  let cloner = CLONERS.get(signature)
  if (cloner === undefined) {
    if (keys.some((k) => !/^[A-Za-z_$][\w$]*$/.test(k)) || keys.includes('time')) {
      cloner = (t, line, time) => {
        const rec = {...t}
        rec.line = line
        if (time !== undefined) rec.time = time
        return rec
      }
    } else {
      const fields = keys.map((k) => (k === 'line' ? 'line: line' : `${k}: t.${k}`)).join(', ')
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      cloner = new Function('t', 'line', 'time', `return time === undefined ? {${fields}} : {${fields}, time: time}`) as Cloner
    }
    CLONERS.set(signature, cloner)
  }
  return cloner
}

/** `{...record}` as code made once per key list (see clonerFor: a spread over many shapes is slow). */
type Copier = (record: LogRecord) => LogRecord
const COPIERS = new Map<string, Copier>()

function copierFor(record: LogRecord): Copier {
  const keys = Object.keys(record)
  const signature = keys.join(',')
  let copier = COPIERS.get(signature)
  if (copier === undefined) {
    copier = keys.some((k) => !/^[A-Za-z_$][\w$]*$/.test(k))
      ? (r) => ({...r})
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      : new Function('r', `return {${keys.map((k) => `${k}: r.${k}`).join(', ')}}`) as Copier
    COPIERS.set(signature, copier)
  }
  return copier
}

/** A line body kept for comparison: its bytes as little-endian int32 words, zero-padded, and its length. */
interface BodyWords {
  words: Int32Array
  length: number
}

function bodyWords(bytes: Uint8Array, from: number, to: number): BodyWords {
  const padded = new Uint8Array((to - from + 3) & ~3)
  padded.set(bytes.subarray(from, to))
  const view = new DataView(padded.buffer)
  const words = new Int32Array(padded.length / 4)
  for (let i = 0; i < words.length; i++) words[i] = view.getInt32(4 * i, true)
  return {words, length: to - from}
}

/** bytes[from, to) equals `body`: word by word, the last 1–4 bytes one by one. */
function sameBytes(body: BodyWords, view: DataView, from: number, to: number): boolean {
  const length = to - from
  if (length !== body.length) return false
  const {words} = body
  const whole = length >> 2
  for (let i = 0; i < whole; i++) if (view.getInt32(from + 4 * i, true) !== words[i]) return false
  for (let i = whole * 4; i < length; i++) if (view.getUint8(from + i) !== ((words[i >> 2]! >>> (8 * (i & 3))) & 0xff)) return false
  return true
}

/** Buffer#latin1Slice: the short ASCII stamps, without toString's argument checks. */
const latin1 = (bytes: Buffer, from: number, to: number): string =>
  (bytes as unknown as {latin1Slice(from: number, to: number): string}).latin1Slice(from, to)

function countNewlines(text: string, from: number, to: number): number {
  let n = 0
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++
  return n
}

/** Parse a whole text (tests, small files). */
export function parseKernelLog(text: string): LogRecord[] {
  const parser = new LogParser()
  const out: LogRecord[] = []
  const lines = text.split('\n')
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  parser.pushMany(lines, (r) => out.push(r))
  out.push(...parser.end())
  return out
}
