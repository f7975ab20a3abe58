/**
 * The translation walk: a DMA request (requester, PASID, address, access) through root →
 * context (legacy) or root → scalable context → PASID directory → PASID table (scalable),
 * then the second- or first-stage page tables, ending in a host physical address or in the
 * step that refused it and the fault reason that step produces (vtd-reference §3–4).
 *
 * Check order follows QEMU's `vtd_iova_to_slpte`, the emulated walk we compare against: the
 * address-width check comes before the walk; at each level the permission bit is tested
 * before the reserved bits (so a not-present entry reports a permission fault at its own
 * level, never a reserved-bit fault); a leaf is level 1 or an entry with PS set.
 *
 * Second-stage walks report the legacy codes (0x04–0x07, 0x0C) in scalable mode too. That is
 * what QEMU's walk does and what the lab's guest kernel printed for RID_PASID requests
 * ("[DMA Read PASID 0x0] … fault reason 0x06"); the spec's SM table also lists 0x78–0x7C and
 * 0x83–0x86 for second-stage conditions, which the model does not produce. First-stage walks
 * use the SM codes as QEMU's first-stage walk does (0x70–0x72, 0x80–0x82, 0x85, 0x87).
 *
 * The core (`translateRaw`) works on 32-bit halves and writes into a reused outcome so a warm
 * model walks millions of requests a second; `walk` wraps it with decoded steps for people.
 */
import {agawLevels, agawWidth, sagawSupports, type UnitCaps} from './caps.js'
import {entryAddress} from './memory.js'
import {REASON} from './reasons.js'
import type {TranslationUnit} from './unit.js'

/** Request flags for the raw walk. */
export const REQ = {write: 1, exec: 2, privileged: 4, translationRequest: 8, translated: 16} as const

/** Where a walk ended. */
export const STAGE = {
  request: 0,
  root: 1,
  context: 2,
  smRoot: 3,
  smContext: 4,
  pasidDirectory: 5,
  pasidEntry: 6,
  slPte: 7,
  flPte: 8,
  addressCheck: 9,
  passThrough: 10,
} as const

export const STATUS = {translated: 0, fault: 1, unknown: 2, atsNoAccess: 3, interruptRequest: 4, passThrough: 5} as const

export interface RawStep {
  stage: number
  /** Page-table level for PTE steps; 0 otherwise. */
  level: number
  table: number
  index: number
  /** The entry's 32-bit words, lowest first. */
  words: number[]
  result: 'ok' | 'leaf' | 'fault' | 'unknown' | 'checked'
  reason: number
}

/** The reused result of `translateRaw`. */
export class RawOutcome {
  status = 0
  reason = 0
  stage = 0
  level = 0
  hpa = 0
  /** Leaf level of a translation: 1 (4K), 2 (2M), 3 (1G). */
  pageLevel = 0
  did = -1
  /** A fault-processing-disable bit covered the failing step: the fault is not recorded. */
  fpd = false
  /** Read/write permission bits accumulated along the walk (R=1, W=2). */
  perms = 0
  /** Why the walk could not tell (only set when status is unknown). */
  why = ''
}

const TWO_32 = 0x1_0000_0000

/** IOVA bits of one level's index (9 bits at 12 + 9·(level−1)). */
function levelIndex(hi: number, lo: number, level: number): number {
  switch (level) {
    case 1:
      return (lo >>> 12) & 511
    case 2:
      return (lo >>> 21) & 511
    case 3:
      return ((lo >>> 30) | (hi << 2)) & 511
    case 4:
      return (hi >>> 7) & 511
    default:
      return (hi >>> 16) & 511
  }
}

/** Is hi:lo below 2^width? */
function below(hi: number, lo: number, width: number): boolean {
  if (width >= 64) return true
  if (width >= 32) return hi >>> (width - 32) === 0
  return hi === 0 && lo >>> width === 0
}

/** Mask of entry bits 51:haw in the high word (address bits the platform cannot have). */
function addressHiReserved(caps: UnitCaps): number {
  if (caps.haw >= 52) return 0
  if (caps.haw <= 32) return 0xfffff
  return ((0xfffff >>> (caps.haw - 32)) << (caps.haw - 32)) & 0xfffff
}

const LEAF_BASE_MASK = [0, 0xfffff000, 0xffe00000, 0xc0000000]
const LEAF_OFFSET_MASK = [0, 0xfff, 0x1fffff, 0x3fffffff]
/** Address bits that must be zero in a superpage leaf (second stage: 20:12 / 29:12). */
const SL_LARGE_LOW = [0, 0, 0x1ff000, 0x3ffff000]
/** First stage: bit 12 is PAT in a large leaf, so 20:13 / 29:13. */
const FL_LARGE_LOW = [0, 0, 0x1fe000, 0x3fffe000]

function words(page: Uint32Array, start: number, count: number): number[] {
  return Array.from(page.subarray(start, start + count))
}

function fault(out: RawOutcome, stage: number, level: number, reason: number): RawOutcome {
  out.status = STATUS.fault
  out.stage = stage
  out.level = level
  out.reason = reason
  return out
}

function unknown(out: RawOutcome, stage: number, level: number, why: string): RawOutcome {
  out.status = STATUS.unknown
  out.stage = stage
  out.level = level
  out.why = why
  return out
}

function reset(out: RawOutcome): RawOutcome {
  out.status = 0
  out.reason = 0
  out.stage = 0
  out.level = 0
  out.hpa = 0
  out.pageLevel = 0
  out.did = -1
  out.fpd = false
  out.perms = 3
  out.why = ''
  return out
}

/**
 * Walk one request. `sid` is bus<<8|devfn, the IOVA is given as its 32-bit halves, `pasid`
 * is −1 for a request without PASID. Steps are recorded into `trace` when it is not null.
 */
export function translateRaw(
  unit: TranslationUnit,
  sid: number,
  iovaHi: number,
  iovaLo: number,
  flags: number,
  pasid: number,
  out: RawOutcome,
  trace: RawStep[] | null,
): RawOutcome {
  reset(out)
  // An untranslated request to 0xFEEx_xxxx is handled as an interrupt message, not memory access.
  if (iovaHi === 0 && iovaLo >>> 20 === 0xfee && (flags & REQ.translated) === 0) {
    out.status = STATUS.interruptRequest
    out.stage = STAGE.request
    return out
  }
  if (pasid >= 0 && !unit.scalable) {
    if (trace !== null) trace.push({stage: STAGE.request, level: 0, table: 0, index: 0, words: [], result: 'fault', reason: REASON.smPasidInLegacyMode})
    return fault(out, STAGE.request, 0, REASON.smPasidInLegacyMode)
  }
  return unit.scalable
    ? walkScalable(unit, sid, iovaHi, iovaLo, flags, pasid, out, trace)
    : walkLegacy(unit, sid, iovaHi, iovaLo, flags, out, trace)
}

function walkLegacy(
  unit: TranslationUnit,
  sid: number,
  iovaHi: number,
  iovaLo: number,
  flags: number,
  out: RawOutcome,
  trace: RawStep[] | null,
): RawOutcome {
  const caps = unit.caps
  const memory = unit.memory
  const hiReserved = addressHiReserved(caps)
  const bus = sid >>> 8
  const devfn = sid & 0xff

  const rootPage = memory.page(unit.rootTable / 4096)
  if (rootPage === undefined) {
    if (trace !== null) trace.push({stage: STAGE.root, level: 0, table: unit.rootTable, index: bus, words: [], result: memory.complete ? 'fault' : 'unknown', reason: REASON.rootTableInvalid})
    if (!memory.complete) return unknown(out, STAGE.root, 0, 'the root table was not captured')
    return fault(out, STAGE.root, 0, REASON.rootTableInvalid)
  }
  const r = bus * 4
  const r0 = rootPage[r] ?? 0
  const r1 = rootPage[r + 1] ?? 0
  if ((r0 & 1) === 0) {
    if (trace !== null) trace.push({stage: STAGE.root, level: 0, table: unit.rootTable, index: bus, words: words(rootPage, r, 4), result: 'fault', reason: REASON.rootNotPresent})
    return fault(out, STAGE.root, 0, REASON.rootNotPresent)
  }
  if ((r0 & 0xffe) !== 0 || (r1 & hiReserved) !== 0 || (rootPage[r + 2] ?? 0) !== 0 || (rootPage[r + 3] ?? 0) !== 0) {
    if (trace !== null) trace.push({stage: STAGE.root, level: 0, table: unit.rootTable, index: bus, words: words(rootPage, r, 4), result: 'fault', reason: REASON.rootReserved})
    return fault(out, STAGE.root, 0, REASON.rootReserved)
  }
  if (trace !== null) trace.push({stage: STAGE.root, level: 0, table: unit.rootTable, index: bus, words: words(rootPage, r, 4), result: 'ok', reason: 0})

  const contextTable = entryAddress(r1, r0)
  const contextPage = memory.page(contextTable / 4096)
  if (contextPage === undefined) {
    if (trace !== null) trace.push({stage: STAGE.context, level: 0, table: contextTable, index: devfn, words: [], result: memory.complete ? 'fault' : 'unknown', reason: REASON.contextTableInvalid})
    if (!memory.complete) return unknown(out, STAGE.context, 0, 'the context table was not captured')
    return fault(out, STAGE.context, 0, REASON.contextTableInvalid)
  }
  const c = devfn * 4
  const c0 = contextPage[c] ?? 0
  const c1 = contextPage[c + 1] ?? 0
  const c2 = contextPage[c + 2] ?? 0
  const c3 = contextPage[c + 3] ?? 0
  let reason = 0
  if ((c0 & 1) === 0) reason = REASON.contextNotPresent
  else if ((c0 & 0xff0) !== 0 || (c1 & hiReserved) !== 0 || (c2 & 0xff000080) !== 0 || c3 !== 0) reason = REASON.contextReserved
  else {
    const tt = (c0 >>> 2) & 3
    // Context programming the unit cannot honour: AW outside SAGAW, TT=11, PT/DT missing.
    if (!sagawSupports(caps, c2 & 7) || tt === 3 || (tt === 2 && !caps.pt) || (tt === 1 && !caps.dt)) reason = REASON.contextInvalid
    // ATS traffic needs TT=01; anything else blocks it.
    else if ((flags & (REQ.translationRequest | REQ.translated)) !== 0 && tt !== 1) reason = REASON.translationBlocked
  }
  out.fpd = (c0 & 1) === 1 && (c0 & 2) !== 0
  out.did = (c2 >>> 8) & 0xffff
  if (trace !== null) trace.push({stage: STAGE.context, level: 0, table: contextTable, index: devfn, words: [c0, c1, c2, c3], result: reason === 0 ? 'ok' : 'fault', reason})
  if (reason !== 0) {
    if (reason === REASON.contextNotPresent) out.fpd = false
    return fault(out, STAGE.context, 0, reason)
  }

  const tt = (c0 >>> 2) & 3
  if ((flags & REQ.translated) !== 0 || tt === 2) {
    // Pre-translated ATS request (TT=01) or pass-through: the address is the host address.
    out.status = STATUS.passThrough
    out.stage = STAGE.passThrough
    out.hpa = iovaHi * TWO_32 + (iovaLo >>> 0)
    return out
  }
  const aw = c2 & 7
  const width = Math.min(agawWidth(aw), caps.mgaw)
  if (!below(iovaHi, iovaLo, width)) {
    if (trace !== null) trace.push({stage: STAGE.addressCheck, level: 0, table: 0, index: width, words: [], result: 'fault', reason: REASON.beyondMgaw})
    return fault(out, STAGE.addressCheck, 0, REASON.beyondMgaw)
  }
  return walkSecondStage(unit, entryAddress(c1, c0), agawLevels(aw), iovaHi, iovaLo, flags, false, out, trace)
}

function walkSecondStage(
  unit: TranslationUnit,
  table: number,
  topLevel: number,
  iovaHi: number,
  iovaLo: number,
  flags: number,
  scalable: boolean,
  out: RawOutcome,
  trace: RawStep[] | null,
): RawOutcome {
  const caps = unit.caps
  const memory = unit.memory
  const hiReserved = addressHiReserved(caps)
  // SNP (bit 11) is legal only with snoop control (and always in scalable mode).
  const loReserved = caps.sc || scalable ? 0 : 0x800
  const write = (flags & REQ.write) !== 0
  const need = write ? 2 : 1
  for (let level = topLevel; level >= 1; level--) {
    const page = memory.page(table / 4096)
    const index = levelIndex(iovaHi, iovaLo, level)
    if (page === undefined) {
      const reason = REASON.nextTableInvalid
      if (trace !== null) trace.push({stage: STAGE.slPte, level, table, index, words: [], result: memory.complete ? 'fault' : 'unknown', reason})
      if (!memory.complete) return unknown(out, STAGE.slPte, level, `the level-${level} table at 0x${table.toString(16)} was not captured`)
      return fault(out, STAGE.slPte, level, reason)
    }
    const lo = page[index * 2] ?? 0
    const hi = page[index * 2 + 1] ?? 0
    if ((lo & need) === 0) {
      if (trace !== null) trace.push({stage: STAGE.slPte, level, table, index, words: [lo, hi], result: 'fault', reason: write ? REASON.writeNotSet : REASON.readNotSet})
      if ((flags & REQ.translationRequest) !== 0) {
        // An ATS translation request is answered with R/W cleared, not faulted.
        out.status = STATUS.atsNoAccess
        out.stage = STAGE.slPte
        out.level = level
        return out
      }
      return fault(out, STAGE.slPte, level, write ? REASON.writeNotSet : REASON.readNotSet)
    }
    const ps = (lo & 0x80) !== 0
    const badSuperpage =
      // Bit 7 of a level-1 entry is not PS (QEMU ignores it), so only levels 2–5 are checked.
      ps && level > 1 && (level >= 4 || (level === 3 && (caps.sllps & 2) === 0) || (level === 2 && (caps.sllps & 1) === 0) || (lo & (SL_LARGE_LOW[level] ?? 0)) !== 0)
    if ((lo & loReserved) !== 0 || (hi & hiReserved) !== 0 || badSuperpage) {
      const reason = REASON.pteReserved
      if (trace !== null) trace.push({stage: STAGE.slPte, level, table, index, words: [lo, hi], result: 'fault', reason})
      return fault(out, STAGE.slPte, level, reason)
    }
    out.perms &= lo & 3
    if (level === 1 || ps) {
      if (trace !== null) trace.push({stage: STAGE.slPte, level, table, index, words: [lo, hi], result: 'leaf', reason: 0})
      return leaf(out, STAGE.slPte, level, hi, lo, iovaLo, scalable, trace)
    }
    if (trace !== null) trace.push({stage: STAGE.slPte, level, table, index, words: [lo, hi], result: 'ok', reason: 0})
    table = entryAddress(hi, lo)
  }
  return out
}

function leaf(out: RawOutcome, stage: number, level: number, hi: number, lo: number, iovaLo: number, scalable: boolean, trace: RawStep[] | null): RawOutcome {
  const base = (hi & 0xfffff) * TWO_32 + ((lo & (LEAF_BASE_MASK[level] ?? 0)) >>> 0)
  const hpa = base + ((iovaLo & (LEAF_OFFSET_MASK[level] ?? 0)) >>> 0)
  out.stage = stage
  out.level = level
  out.pageLevel = level
  out.hpa = hpa
  // Scalable mode blocks a translation whose output lands in the interrupt window.
  const size = (LEAF_OFFSET_MASK[level] ?? 0) + 1
  if (scalable && base <= 0xfeefffff && base + size - 1 >= 0xfee00000) {
    // The leaf step itself is what refuses the request: mark it rather than add a step.
    const last = trace === null ? undefined : trace[trace.length - 1]
    if (last !== undefined) {
      last.result = 'fault'
      last.reason = REASON.smInterruptAddress
    }
    return fault(out, stage, level, REASON.smInterruptAddress)
  }
  out.status = STATUS.translated
  return out
}

function walkScalable(
  unit: TranslationUnit,
  sid: number,
  iovaHi: number,
  iovaLo: number,
  flags: number,
  requestPasid: number,
  out: RawOutcome,
  trace: RawStep[] | null,
): RawOutcome {
  const caps = unit.caps
  const memory = unit.memory
  const hiReserved = addressHiReserved(caps)
  const bus = sid >>> 8
  const devfn = sid & 0xff

  const rootPage = memory.page(unit.rootTable / 4096)
  if (rootPage === undefined) {
    if (trace !== null) trace.push({stage: STAGE.smRoot, level: 0, table: unit.rootTable, index: bus, words: [], result: memory.complete ? 'fault' : 'unknown', reason: REASON.smRootTableInvalid})
    if (!memory.complete) return unknown(out, STAGE.smRoot, 0, 'the root table was not captured')
    return fault(out, STAGE.smRoot, 0, REASON.smRootTableInvalid)
  }
  const r = bus * 4
  const rootWords = trace !== null ? words(rootPage, r, 4) : []
  // devfn 0x00–0x7F use the lower half of the root entry, 0x80–0xFF the upper half.
  const half = devfn < 0x80 ? r : r + 2
  const rlo = rootPage[half] ?? 0
  const rhi = rootPage[half + 1] ?? 0
  let reason = 0
  if ((rlo & 1) === 0) reason = REASON.smRootNotPresent
  else if (((rootPage[r] ?? 0) & 0xffe) !== 0 || ((rootPage[r + 1] ?? 0) & hiReserved) !== 0 || ((rootPage[r + 2] ?? 0) & 0xffe) !== 0 || ((rootPage[r + 3] ?? 0) & hiReserved) !== 0)
    reason = REASON.smRootReserved
  if (trace !== null) trace.push({stage: STAGE.smRoot, level: 0, table: unit.rootTable, index: bus, words: rootWords, result: reason === 0 ? 'ok' : 'fault', reason})
  if (reason !== 0) return fault(out, STAGE.smRoot, 0, reason)

  const contextTable = entryAddress(rhi, rlo)
  const contextPage = memory.page(contextTable / 4096)
  const contextIndex = devfn & 0x7f
  if (contextPage === undefined) {
    if (trace !== null) trace.push({stage: STAGE.smContext, level: 0, table: contextTable, index: contextIndex, words: [], result: memory.complete ? 'fault' : 'unknown', reason: REASON.smContextFetch})
    if (!memory.complete) return unknown(out, STAGE.smContext, 0, 'the context table was not captured')
    return fault(out, STAGE.smContext, 0, REASON.smContextFetch)
  }
  const c = contextIndex * 8
  const c0 = contextPage[c] ?? 0
  const c1 = contextPage[c + 1] ?? 0
  const c2 = contextPage[c + 2] ?? 0
  const c3 = contextPage[c + 3] ?? 0
  const ats = (flags & (REQ.translationRequest | REQ.translated)) !== 0
  let pasid = requestPasid
  let privileged = (flags & REQ.privileged) !== 0
  if ((c0 & 1) === 0) reason = REASON.smContextNotPresent
  else if ((c0 & 0x1e0) !== 0 || (c1 & hiReserved) !== 0 || (c2 & 0xffe00000) !== 0 || c3 !== 0 || (contextPage[c + 4] ?? 0) !== 0 || (contextPage[c + 5] ?? 0) !== 0 || (contextPage[c + 6] ?? 0) !== 0 || (contextPage[c + 7] ?? 0) !== 0)
    reason = REASON.smContextReserved
  else if (((c0 & 4) !== 0 && !caps.dt) || ((c0 & 8) !== 0 && !caps.pasid)) reason = REASON.smContextInvalid
  else if (ats && (c0 & 4) === 0) reason = REASON.smDteClear
  else if (requestPasid >= 0 && (c0 & 8) === 0) reason = REASON.smPasidDisabled
  else {
    if (requestPasid < 0) {
      // Requests without PASID use the context's RID_PASID and RID_PRIV.
      pasid = c2 & 0xfffff
      privileged = (c2 & 0x100000) !== 0
      if (pasid !== 0 && !caps.rps) reason = REASON.smRidPasidError
    }
    if (reason === 0 && pasid >>> 6 >= 1 << (((c0 >>> 9) & 7) + 7)) reason = REASON.smPasidBeyondDirectory
  }
  out.fpd = (c0 & 1) === 1 && (c0 & 2) !== 0
  if (trace !== null) trace.push({stage: STAGE.smContext, level: 0, table: contextTable, index: contextIndex, words: words(contextPage, c, 8), result: reason === 0 ? 'ok' : 'fault', reason})
  if (reason !== 0) {
    if (reason === REASON.smContextNotPresent) out.fpd = false
    return fault(out, STAGE.smContext, 0, reason)
  }
  if ((flags & REQ.translated) !== 0) {
    out.status = STATUS.passThrough
    out.stage = STAGE.passThrough
    out.hpa = iovaHi * TWO_32 + (iovaLo >>> 0)
    return out
  }

  // PASID directory: index PASID[19:6], 8-byte entries, possibly spanning several pages.
  const directory = entryAddress(c1, c0)
  const dirIndex = pasid >>> 6
  const dirPage = memory.page(directory / 4096 + (dirIndex >>> 9))
  if (dirPage === undefined) {
    if (trace !== null) trace.push({stage: STAGE.pasidDirectory, level: 0, table: directory, index: dirIndex, words: [], result: memory.complete ? 'fault' : 'unknown', reason: REASON.smPasidDirFetch})
    if (!memory.complete) return unknown(out, STAGE.pasidDirectory, 0, 'the PASID directory was not captured')
    return fault(out, STAGE.pasidDirectory, 0, REASON.smPasidDirFetch)
  }
  const d = (dirIndex & 511) * 2
  const d0 = dirPage[d] ?? 0
  const d1 = dirPage[d + 1] ?? 0
  reason = (d0 & 1) === 0 ? REASON.smPasidDirNotPresent : (d0 & 0xffc) !== 0 || (d1 & hiReserved) !== 0 ? REASON.smPasidDirReserved : 0
  if ((d0 & 2) !== 0) out.fpd = true
  if (trace !== null) trace.push({stage: STAGE.pasidDirectory, level: 0, table: directory, index: dirIndex, words: [d0, d1], result: reason === 0 ? 'ok' : 'fault', reason})
  if (reason !== 0) return fault(out, STAGE.pasidDirectory, 0, reason)

  // PASID table: 64 entries of 64 bytes, index PASID[5:0].
  const pasidTable = entryAddress(d1, d0)
  const pasidPage = memory.page(pasidTable / 4096)
  const pasidIndex = pasid & 63
  if (pasidPage === undefined) {
    if (trace !== null) trace.push({stage: STAGE.pasidEntry, level: 0, table: pasidTable, index: pasidIndex, words: [], result: memory.complete ? 'fault' : 'unknown', reason: REASON.smPasidEntryFetch})
    if (!memory.complete) return unknown(out, STAGE.pasidEntry, 0, 'the PASID table was not captured')
    return fault(out, STAGE.pasidEntry, 0, REASON.smPasidEntryFetch)
  }
  const e = pasidIndex * 16
  const e0 = pasidPage[e] ?? 0
  const e1 = pasidPage[e + 1] ?? 0
  const e2 = pasidPage[e + 2] ?? 0
  const e4 = pasidPage[e + 4] ?? 0
  const e5 = pasidPage[e + 5] ?? 0
  const pgtt = (e0 >>> 6) & 7
  const aw = (e0 >>> 2) & 7
  const fspm = (e4 >>> 2) & 3
  if ((e0 & 1) === 0) reason = REASON.smPasidEntryNotPresent
  else if ((e1 & hiReserved) !== 0 || (e5 & hiReserved) !== 0) reason = REASON.smPasidEntryReserved
  else if (
    pgtt === 0 ||
    pgtt > 4 ||
    (pgtt === 4 && !caps.pt) ||
    (pgtt === 3 && !caps.nest) ||
    (pgtt === 2 && (!caps.slts || !sagawSupports(caps, aw))) ||
    (pgtt === 1 && (!caps.flts || fspm > 1 || (fspm === 1 && !caps.fs5lp)))
  )
    reason = REASON.smPasidEntryInvalid
  else if (privileged && (e4 & 1) === 0) reason = REASON.smSupervisorDisabled
  if ((e0 & 1) === 1 && (e0 & 2) !== 0) out.fpd = true
  out.did = e2 & 0xffff
  if (trace !== null) trace.push({stage: STAGE.pasidEntry, level: 0, table: pasidTable, index: pasidIndex, words: words(pasidPage, e, 16), result: reason === 0 ? 'ok' : 'fault', reason})
  if (reason !== 0) return fault(out, STAGE.pasidEntry, 0, reason)

  if (pgtt === 4) {
    out.status = STATUS.passThrough
    out.stage = STAGE.passThrough
    out.hpa = iovaHi * TWO_32 + (iovaLo >>> 0)
    return out
  }
  if (pgtt === 3) return unknown(out, STAGE.pasidEntry, 0, 'nested (PGTT=011) translation is not modelled')
  if (pgtt === 2) {
    const width = Math.min(agawWidth(aw), caps.mgaw)
    if (!below(iovaHi, iovaLo, width)) {
      if (trace !== null) trace.push({stage: STAGE.addressCheck, level: 0, table: 0, index: width, words: [], result: 'fault', reason: REASON.beyondMgaw})
      return fault(out, STAGE.addressCheck, 0, REASON.beyondMgaw)
    }
    return walkSecondStage(unit, entryAddress(e1, e0), agawLevels(aw), iovaHi, iovaLo, flags, true, out, trace)
  }
  const wpe = (e4 & 0x10) !== 0
  const nxe = (e4 & 0x20) !== 0
  return walkFirstStage(unit, entryAddress(e5, e4), fspm === 1 ? 5 : 4, iovaHi, iovaLo, flags, privileged, wpe, nxe, out, trace)
}

function walkFirstStage(
  unit: TranslationUnit,
  table: number,
  topLevel: number,
  iovaHi: number,
  iovaLo: number,
  flags: number,
  privileged: boolean,
  wpe: boolean,
  nxe: boolean,
  out: RawOutcome,
  trace: RawStep[] | null,
): RawOutcome {
  const caps = unit.caps
  const memory = unit.memory
  const hiReserved = addressHiReserved(caps) | (nxe ? 0 : 0x80000000)
  const write = (flags & REQ.write) !== 0
  const exec = (flags & REQ.exec) !== 0
  // Canonical: bits 63 … width−1 all equal (48-bit for 4-level, 57-bit for 5-level).
  const width = topLevel === 5 ? 57 : 48
  const upper = iovaHi >> (width - 1 - 32)
  if (upper !== 0 && upper !== -1) {
    if (trace !== null) trace.push({stage: STAGE.addressCheck, level: 0, table: 0, index: width, words: [], result: 'fault', reason: REASON.smNonCanonical})
    return fault(out, STAGE.addressCheck, 0, REASON.smNonCanonical)
  }
  for (let level = topLevel; level >= 1; level--) {
    const page = memory.page(table / 4096)
    const index = levelIndex(iovaHi, iovaLo, level)
    if (page === undefined) {
      if (trace !== null) trace.push({stage: STAGE.flPte, level, table, index, words: [], result: memory.complete ? 'fault' : 'unknown', reason: REASON.smFsFetch})
      if (!memory.complete) return unknown(out, STAGE.flPte, level, `the level-${level} table at 0x${table.toString(16)} was not captured`)
      return fault(out, STAGE.flPte, level, REASON.smFsFetch)
    }
    const lo = page[index * 2] ?? 0
    const hi = page[index * 2 + 1] ?? 0
    const ps = (lo & 0x80) !== 0
    let reason = 0
    if ((lo & 1) === 0) reason = REASON.smFsNotPresent
    else if (!privileged && (lo & 4) === 0) reason = REASON.smUserToSupervisor
    else if (write && (lo & 2) === 0 && !(privileged && !wpe)) reason = REASON.smWriteDenied
    else if (exec && nxe && (hi & 0x80000000) !== 0) reason = REASON.smExecuteBlocked
    else if (
      (hi & hiReserved) !== 0 ||
      // Bit 7 of a level-1 entry is PAT, not PS.
      (ps && level > 1 && (level >= 4 || (level === 3 && !caps.fs1gp) || (lo & (FL_LARGE_LOW[level] ?? 0)) !== 0))
    )
      reason = REASON.smFsReserved
    if (reason !== 0) {
      if (trace !== null) trace.push({stage: STAGE.flPte, level, table, index, words: [lo, hi], result: 'fault', reason})
      if ((flags & REQ.translationRequest) !== 0 && (reason === REASON.smFsNotPresent || reason === REASON.smWriteDenied)) {
        out.status = STATUS.atsNoAccess
        out.stage = STAGE.flPte
        out.level = level
        return out
      }
      return fault(out, STAGE.flPte, level, reason)
    }
    if ((lo & 2) === 0) out.perms &= 1
    if (level === 1 || ps) {
      if (trace !== null) trace.push({stage: STAGE.flPte, level, table, index, words: [lo, hi], result: 'leaf', reason: 0})
      return leaf(out, STAGE.flPte, level, hi & 0xfffff, lo, iovaLo, true, trace)
    }
    if (trace !== null) trace.push({stage: STAGE.flPte, level, table, index, words: [lo, hi], result: 'ok', reason: 0})
    table = entryAddress(hi, lo)
  }
  return out
}

/** Split a 64-bit IOVA into the halves `translateRaw` takes. */
export function splitAddress(address: bigint): {hi: number; lo: number} {
  return {hi: Number((address >> 32n) & 0xffff_ffffn), lo: Number(address & 0xffff_ffffn)}
}

