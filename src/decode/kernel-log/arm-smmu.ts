/**
 * Arm SMMU fault lines, both driver generations:
 * - arm-smmu-v3 (drivers/iommu/arm/arm-smmu-v3): "arm-smmu-v3 arm-smmu-v3.0.auto: event 0x10 received:"
 *   and the event's four raw dwords ("\t0x%016llx"), every kernel since 4.2; 6.15+ adds the decoded
 *   "event: F_TRANSLATION client: 0000:00:03.0 sid: 0x18 ssid: 0 iova: 0x… ipa: 0" and a
 *   "unpriv data read s1 …" line. The dwords are decoded as the kernel's arm_smmu_decode_event
 *   does (EVTQ_0_ID/SSV/SSID/SID, EVTQ_1_PnU/InD/RnW/S2/CLASS/STALL, EVTQ_2_ADDR, EVTQ_3_IPA).
 * - arm-smmu v1/v2 (drivers/iommu/arm/arm-smmu, Qualcomm and Tegra forks): "Unhandled context
 *   fault: fsr=0x402, iova=0x…, fsynr=0x…, cbfrsynra=0x…, cb=3" in any field order and subset, and
 *   the global fault "Blocked unknown Stream ID 0x…" (an unmatched stream, disable_bypass), and the
 *   older global-fault register line "GFSR 0x…, GFSYNR0 0x…, GFSYNR1 0x…, GFSYNR2 0x…".
 */
import type {RecordBase} from './records.js'
import {hexBig, hexNum, type Shape, type ShapeContext} from './shape.js'

export type SmmuFamily = 'arm-smmu-v3' | 'arm-smmu'

export interface SmmuRecord extends RecordBase {
  type: 'smmu'
  family: SmmuFamily
  /** The SMMU that reported it, as the kernel names it ("arm-smmu-v3.0.auto", "15000000.iommu"). */
  unit: string
  /** The event type: SMMUv3 name (F_TRANSLATION, C_BAD_STREAMID …), or "context-fault", "unknown-stream" (v1/v2). */
  event: string
  /** SMMUv3 event ID (0x10 …). */
  eventId?: number
  streamId?: number
  /** SMMUv3 SubstreamID (PASID), when SSV. */
  substreamId?: number
  /** The master the kernel found for the StreamID (6.15+ "client:"), full BDF for PCI devices. */
  client?: string
  /** Input address (IOVA). */
  address?: bigint
  ipa?: bigint
  fetchAddress?: bigint
  access?: 'read' | 'write'
  /** SMMUv3: the fault was in stage 2. */
  stage2?: boolean
  privileged?: boolean
  instruction?: boolean
  stall?: boolean
  /** SMMUv3 CLASS: what the access was when it faulted. */
  eventClass?: string
  /** v1/v2 registers as printed. */
  fsr?: number
  /** FSR bits set, by name (TF, PF, EF …). */
  fsrBits?: string[]
  fsynr?: number
  cbfrsynra?: number
  contextBank?: number
  /** The raw SMMUv3 dwords as printed (up to four). */
  raw?: string[]
  meaning: string
}

/** SMMUv3 event types (Arm IHI 0070 §7.3; the kernel's event_str[] names the ones it decodes). */
/** Who an SMMU fault is from: the master the kernel named, else the StreamID (or context bank) on its SMMU. */
export function smmuRequester(r: SmmuRecord): string {
  if (r.client !== undefined) return r.client
  if (r.streamId !== undefined) return `${r.unit} sid 0x${r.streamId.toString(16)}`
  return r.contextBank !== undefined ? `${r.unit} cb ${r.contextBank}` : r.unit
}

export const SMMU_V3_EVENTS: Record<number, [string, string]> = {
  0x01: ['F_UUT', 'an unsupported upstream transaction'],
  0x02: ['C_BAD_STREAMID', 'the StreamID is beyond the stream table: no stream table entry exists for this master'],
  0x03: ['F_STE_FETCH', 'the SMMU could not fetch the stream table entry (external abort)'],
  0x04: ['C_BAD_STE', 'the stream table entry is invalid (V=0 or an illegal configuration): the master is not attached to a domain'],
  0x05: ['F_BAD_ATS_TREQ', 'an ATS translation request the stream table entry does not allow'],
  0x06: ['F_STREAM_DISABLED', 'the stream table entry disables this stream (no substream given)'],
  0x07: ['F_TRANSL_FORBIDDEN', 'a translated (ATS) transaction the SMMU forbids'],
  0x08: ['C_BAD_SUBSTREAMID', 'the SubstreamID (PASID) is out of range or has no context descriptor'],
  0x09: ['F_CD_FETCH', 'the SMMU could not fetch the context descriptor (external abort)'],
  0x0a: ['C_BAD_CD', 'the context descriptor is invalid'],
  0x0b: ['F_WALK_EABT', 'an external abort while walking the translation tables'],
  0x10: ['F_TRANSLATION', 'the address has no valid translation (unmapped IOVA)'],
  0x11: ['F_ADDR_SIZE', 'the address is wider than the configured input or output address size'],
  0x12: ['F_ACCESS', 'the page\'s Access flag is clear (access-flag fault)'],
  0x13: ['F_PERMISSION', 'the page is mapped without the permission the access needed'],
  0x20: ['F_TLB_CONFLICT', 'conflicting TLB entries for the address'],
  0x21: ['F_CFG_CONFLICT', 'conflicting configuration cache entries'],
  0x24: ['E_PAGE_REQUEST', 'a page request (stall or PRI) the SMMU reported'],
  0x25: ['F_VMS_FETCH', 'the SMMU could not fetch the VMS structure'],
}
const EVENT_CLASS = ['CD fetch', 'Stage 1 translation table fetch', 'Input address caused fault', 'Reserved']

/** FSR bits of a v1/v2 context bank (arm-smmu.h ARM_SMMU_CB_FSR_*), with what each means. */
const FSR_BITS: Array<[number, string, string]> = [
  [1, 'TF', 'translation fault (no mapping)'],
  [2, 'AFF', 'access-flag fault'],
  [3, 'PF', 'permission fault'],
  [4, 'EF', 'external fault (bus error on a table walk)'],
  [5, 'TLBMCF', 'TLB multiple-match fault'],
  [6, 'TLBLKF', 'TLB lock fault'],
  [7, 'ASF', 'address-size fault'],
  [8, 'UUT', 'unsupported upstream transaction'],
  [30, 'SS', 'the transaction is stalled'],
  [31, 'MULTI', 'more faults followed'],
]

export function decodeSmmuFsr(fsr: number): {bits: string[]; meaning: string} {
  const set = FSR_BITS.filter(([b]) => ((fsr >>> b) & 1) === 1)
  const main = set.filter(([b]) => b < 30)
  return {bits: set.map(([, n]) => n), meaning: main.length === 0 ? 'a context fault with no fault-type bit set' : main.map(([, , m]) => m).join('; ')}
}

/** GFSR bits of an SMMUv1/v2 (Arm IHI 0062 §10.6.13; arm-smmu.h ARM_SMMU_sGFSR_*). */
const GFSR_BITS: Array<[number, string]> = [[0, 'ICF'], [1, 'USF'], [2, 'SMCF'], [3, 'UCBF'], [4, 'UCIF'], [5, 'CAF'], [6, 'EF'], [7, 'PF'], [31, 'MULTI']]

/** The event a global fault is, by its first GFSR bit: an unmatched stream, a stream-match conflict, or another configuration fault. */
function globalFault(gfsr: number): [string, string] {
  if ((gfsr >>> 1) & 1) return ['unknown-stream', 'a transaction with a StreamID no stream-match entry claims (GFSR.USF): the master has no SMMU configuration']
  if ((gfsr >>> 2) & 1) return ['stream-match-conflict', 'a transaction whose StreamID matched more than one stream-match register (GFSR.SMCF): the SMMU driver programmed overlapping entries']
  if (gfsr & 1) return ['global-fault', 'a stream mapped to a context bank that is not configured (GFSR.ICF)']
  return ['global-fault', 'an SMMU global configuration or external fault (GFSR ' + (gfsr >>> 0).toString(16) + ')']
}

/** An SMMUv3 event from its dwords (as arm_smmu_decode_event). */
export function decodeSmmuV3Event(rec: SmmuRecord, dwords: bigint[]): SmmuRecord {
  const out: SmmuRecord = {...rec, raw: dwords.map((d) => '0x' + d.toString(16).padStart(16, '0'))}
  const [d0, d1, d2, d3] = dwords
  if (d0 !== undefined) {
    const id = Number(d0 & 0xffn)
    out.eventId = id
    const known = SMMU_V3_EVENTS[id]
    out.event = known?.[0] ?? `0x${id.toString(16).padStart(2, '0')}`
    out.meaning = known?.[1] ?? 'an SMMUv3 event this tool does not know'
    out.streamId = Number(d0 >> 32n)
    if ((d0 >> 11n) & 1n) out.substreamId = Number((d0 >> 12n) & 0xfffffn)
  }
  const faultWithAddress = out.eventId !== undefined && out.eventId >= 0x10 && out.eventId <= 0x13
  if (d1 !== undefined && faultWithAddress) {
    out.stall = ((d1 >> 31n) & 1n) === 1n
    out.privileged = ((d1 >> 33n) & 1n) === 1n
    out.instruction = ((d1 >> 34n) & 1n) === 1n
    out.access = ((d1 >> 35n) & 1n) === 1n ? 'read' : 'write'
    out.stage2 = ((d1 >> 39n) & 1n) === 1n
    out.eventClass = EVENT_CLASS[Number((d1 >> 40n) & 3n)]!
  }
  if (d2 !== undefined && faultWithAddress) out.address = d2
  if (d3 !== undefined && faultWithAddress) out.ipa = d3 & 0x000ffffffffff000n
  if (d3 !== undefined && (out.eventId === 0x03 || out.eventId === 0x09 || out.eventId === 0x25)) out.fetchAddress = d3 & 0x000ffffffffffff8n
  return out
}

/** "0x1f" or "0" (the kernel prints %#x, which writes zero without "0x"). */
const num = (s: string): number => (s.startsWith('0x') ? hexNum(s.slice(2)) : Number(s))
const big = (s: string): bigint => (s.startsWith('0x') ? hexBig(s.slice(2)) : BigInt(s))

function v3Head(cx: ShapeContext, unit: string, id: number): SmmuRecord {
  const known = SMMU_V3_EVENTS[id]
  return {
    ...cx.base, type: 'smmu', family: 'arm-smmu-v3', unit, event: known?.[0] ?? `0x${id.toString(16).padStart(2, '0')}`, eventId: id,
    meaning: known?.[1] ?? 'an SMMUv3 event this tool does not know', raw: [],
  }
}

const V3_DECODED = /(\S+): event: (\w+) client: (.+?) sid: (0x[0-9a-f]+|0) ssid: (0x[0-9a-f]+|0)(?: iova: (0x[0-9a-f]+|0) ipa: (0x[0-9a-f]+|0)| fetch_addr: (0x[0-9a-f]+|0))?/

/** The master named by "client:" ("(unassigned sid)" when the kernel knows none). */
function clientOf(text: string): string | undefined {
  return text.startsWith('(') ? undefined : text
}

/** The fields of a context-fault line ("fsr=0x402, iova=0x…, fsynr=0x…, cbfrsynra=0x…, cb=3", any order and subset) on `rec`. */
function contextFault(rec: SmmuRecord, text: string): SmmuRecord {
  const fields = new Map<string, string>()
  for (const f of text.matchAll(/(\w+)\s*=\s*(0x[0-9a-f]+|\d+)/gi)) fields.set(f[1]!.toLowerCase(), f[2]!.toLowerCase())
  const fsr = fields.get('fsr')
  if (fsr !== undefined) {
    rec.fsr = num(fsr)
    const d = decodeSmmuFsr(rec.fsr)
    rec.fsrBits = d.bits
    rec.meaning = d.meaning
  }
  const iova = fields.get('iova')
  if (iova !== undefined) rec.address = big(iova)
  const fsynr = fields.get('fsynr') ?? fields.get('fsynr0')
  if (fsynr !== undefined) {
    rec.fsynr = num(fsynr)
    rec.access = ((rec.fsynr >>> 4) & 1) === 1 ? 'write' : 'read' // FSYNR0.WNR
  }
  const synra = fields.get('cbfrsynra')
  if (synra !== undefined) {
    rec.cbfrsynra = num(synra)
    rec.streamId = rec.cbfrsynra & 0xffff // CBFRSYNRA.SID
  }
  const sid = fields.get('sid') // Tegra's fork prints it
  if (sid !== undefined && rec.streamId === undefined) rec.streamId = num(sid)
  const cb = fields.get('cb')
  if (cb !== undefined) rec.contextBank = num(cb)
  return rec
}

/** The rest of a context-fault line wrapped after its fsr: the record both lines make. */
function contextFaultRest(head: SmmuRecord): Shape {
  return {
    name: 'smmu-context-fault-rest',
    probe: '=',
    re: /^[\s,]*((?:iova|fsynr0?|cbfrsynra|cb)\s*=\s*(?:0x[0-9a-f]+|\d+).*)$/i,
    build: (m, cx) => contextFault({...head, text: `${head.text}\n${cx.base.text}`}, m[1]!),
  }
}

/** Lines an SMMUv3 event's dwords may come after its head (other CPUs' lines interleave). */
const DWORD_REACH = 12

export const SMMU_SHAPES: Shape[] = [
  {
    name: 'smmu-v3-event',
    probe: ' received',
    re: /(\S+): event 0x([0-9a-f]{1,2}) received:?/,
    stateful: 'head',
    build: (m, cx) => {
      cx.parser.holdHead(v3Head(cx, m[1]!, hexNum(m[2]!)))
      return undefined
    },
  },
  {
    // "\t0x%016llx" after the head: the held event takes its dwords. Pasted logs sometimes split a
    // dword in two 32-bit halves ("0x00000180 00000010"). Other CPUs' lines may come between
    // (the parser keeps the event held across lines without a keyword), but not many.
    name: 'smmu-v3-dword',
    probe: '0x',
    re: /^(?:\S+ )?(\S+):\s+0x([0-9a-f]{16}|[0-9a-f]{8} [0-9a-f]{8})\s*$/,
    stateful: 'tail',
    build: (m, cx) => {
      const held = cx.parser.takeHeld()
      if (held === undefined) return undefined
      if (held.type !== 'smmu' || held.unit !== m[1] || (held.raw?.length ?? 0) >= 4 || cx.base.line - held.line > DWORD_REACH) {
        cx.parser.holdHead(held)
        return undefined
      }
      const dwords = [...(held.raw ?? []).map((d) => BigInt(d)), hexBig(m[2]!.replace(' ', ''))]
      const next = decodeSmmuV3Event({...held, text: `${held.text}\n${cx.base.text}`}, dwords)
      cx.parser.holdHead(next)
      return undefined
    },
  },
  {
    // 6.15+: the decoded event after its dwords (completes the held one), or alone.
    name: 'smmu-v3-decoded',
    probe: 'event: ',
    re: V3_DECODED,
    stateful: 'tail',
    build: (m, cx) => {
      const held = cx.parser.takeHeld()
      const sid = num(m[4]!)
      const client = clientOf(m[3]!)
      if (held?.type === 'smmu' && held.family === 'arm-smmu-v3' && held.unit === m[1] && (held.streamId === undefined || held.streamId === sid)) {
        const rec: SmmuRecord = {...held, text: `${held.text}\n${cx.base.text}`, streamId: sid}
        if (client !== undefined) rec.client = client
        return rec
      }
      if (held !== undefined) cx.parser.holdHead(held)
      const id = Object.entries(SMMU_V3_EVENTS).find(([, [name]]) => name === m[2])?.[0]
      const rec: SmmuRecord = {...v3Head(cx, m[1]!, id === undefined ? 0 : Number(id)), event: m[2]!, streamId: sid}
      delete rec.raw
      if (id === undefined) delete rec.eventId
      if (client !== undefined) rec.client = client
      const ssid = num(m[5]!)
      if (ssid !== 0) rec.substreamId = ssid
      if (m[6] !== undefined) rec.address = big(m[6])
      if (m[7] !== undefined) rec.ipa = big(m[7])
      if (m[8] !== undefined) rec.fetchAddress = big(m[8])
      // Held for its attribute line, which says read or write (the dwords, had they come, would).
      cx.parser.holdHead(rec)
      return undefined
    },
  },
  {
    // 6.15+ second decoded line: "unpriv data read s1 "Input address caused fault" stag: 0x0": the
    // access of a decoded event that came without its dwords; after the dwords it adds nothing.
    name: 'smmu-v3-decoded-attrs',
    probe: ' stag: ',
    re: /(\S+): (un)?priv (inst|data) (read|write) s([12]) "/,
    stateful: 'tail',
    build: (m, cx) => {
      const held = cx.parser.takeHeld()
      if (held?.type !== 'smmu' || held.family !== 'arm-smmu-v3' || held.unit !== m[1] || held.raw !== undefined) {
        if (held !== undefined) cx.parser.holdHead(held)
        return undefined
      }
      return {...held, text: `${held.text}\n${cx.base.text}`, access: m[4] === 'write' ? 'write' : 'read', privileged: m[2] === undefined, instruction: m[3] === 'inst', stage2: m[5] === '2'}
    },
  },
  {
    name: 'smmu-context-fault',
    probe: 'Unhandled context fault',
    re: /(?:(\S+) )?(\S+): Unhandled context fault:? (.*)$/,
    build: (m, cx) => {
      const rec = contextFault({...cx.base, type: 'smmu', family: 'arm-smmu', unit: m[2]!, event: 'context-fault', meaning: 'a context fault'}, m[3]!)
      // Mail clients wrap the long line after "fsr=0x402," (or before that comma): the rest,
      // "iova=0x…, fsynr=0x…, cbfrsynra=0x…, cb=38", comes on the next line, which holds no keyword.
      if (rec.address === undefined && rec.fsr !== undefined && /fsr\s*=\s*0x[0-9a-f]+,?\s*$/i.test(m[3]!)) {
        cx.parser.continueOnNextLine(cx, [contextFaultRest(rec)], rec)
        return undefined
      }
      return rec
    },
  },
  {
    // arm_smmu_global_fault's first line: held until its register line; alone, it is still a global fault.
    name: 'smmu-global-fault-head',
    probe: 'Unexpected global fault',
    re: /(\S+): Unexpected global fault/,
    stateful: 'head',
    build: (m, cx) => {
      cx.parser.holdHead({...cx.base, type: 'smmu', family: 'arm-smmu', unit: m[1]!, event: 'global-fault', meaning: 'an SMMU global fault whose register line (GFSR) did not follow'})
      return undefined
    },
  },
  {
    // "\tGFSR 0x…, GFSYNR0 0x…, GFSYNR1 0x…, GFSYNR2 0x…" (Linux, and Xen's port prefixed "smmu: /iommu@…:").
    // GFSR says which global fault; GFSYNR1 bits 15:0 hold the StreamID, GFSYNR0 bit 1 (WNR) the direction.
    name: 'smmu-global-fault',
    probe: 'GFSR ',
    re: /(\S+):\s+GFSR (0x[0-9a-f]+|0), GFSYNR0 (0x[0-9a-f]+|0), GFSYNR1 (0x[0-9a-f]+|0), GFSYNR2 (0x[0-9a-f]+|0)/,
    stateful: 'tail',
    build: (m, cx) => {
      const held = cx.parser.takeHeld()
      const head = held?.type === 'smmu' && held.event === 'global-fault' && held.unit === m[1] && held.fsr === undefined ? held : undefined
      if (held !== undefined && head === undefined) cx.parser.holdHead(held)
      const gfsr = num(m[2]!)
      const [event, meaning] = globalFault(gfsr)
      const rec: SmmuRecord = {...(head ?? cx.base), ...(head === undefined ? {} : {text: `${head.text}\n${cx.base.text}`}), type: 'smmu', family: 'arm-smmu', unit: m[1]!, event, meaning, fsr: gfsr, fsrBits: GFSR_BITS.filter(([b]) => ((gfsr >>> b) & 1) === 1).map(([, n]) => n)}
      const gfsynr0 = num(m[3]!)
      rec.access = ((gfsynr0 >>> 1) & 1) === 1 ? 'write' : 'read'
      rec.streamId = num(m[4]!) & 0xffff
      return rec
    },
  },
  {
    name: 'smmu-unknown-stream',
    probe: 'Blocked unknown Stream ID',
    re: /(\S+): Blocked unknown Stream ID (0x[0-9a-f]+|\d+)/,
    build: (m, cx) => ({
      ...cx.base, type: 'smmu', family: 'arm-smmu', unit: m[1]!, event: 'unknown-stream', streamId: num(m[2]!),
      meaning: 'a transaction with a StreamID no stream-match entry claims: the SMMU blocked it (disable_bypass)',
    }),
  },
]
