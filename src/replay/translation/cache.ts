/**
 * Translation caching: the context-cache, the IOTLB and a device's ATC (device-TLB), with the
 * invalidation granularities software uses (global, domain-selective, page-selective /
 * device-selective). A cached translation keeps working after its page-table entry is
 * cleared until the matching invalidation — the window in which a device can still reach a
 * page the driver already unmapped. `staleWindowTimeline` plays that out under strict
 * invalidation (flush on every unmap) and lazy invalidation (Linux's flush queue, DMA-FQ).
 */
import {TableBuilder} from './build.js'
import {unitCapsFromRegisters} from './caps.js'
import type {TranslationUnit} from './unit.js'
import {RawOutcome, REQ, STATUS, splitAddress, translateRaw} from './walk.js'

interface IotlbEntry {
  /** Host page base of the leaf. */
  base: number
  level: number
  perms: number
}

export type ContextInvalidation = {granularity: 'global'} | {granularity: 'domain'; did: number} | {granularity: 'device'; sid: number}
export type IotlbInvalidation =
  | {granularity: 'global'}
  | {granularity: 'domain'; did: number}
  /** Page-selective: 2^am 4-KiB pages starting at `address` (aligned down). */
  | {granularity: 'page'; did: number; address: bigint; am?: number}
export interface DeviceTlbInvalidation {
  sid: number
  /** Omit for the whole ATC. */
  address?: bigint
  size?: bigint
}

export type CachedSource = 'device-tlb' | 'iotlb' | 'walk'

export interface CachedTranslation {
  source: CachedSource
  /** The outcome the device sees (translated/fault/…, as STATUS). */
  status: number
  reason: number
  level: number
  hpa: number
  /** A cache hit whose translation the current tables no longer give: the stale window. */
  stale: boolean
}

const PAGE_SHIFTS = [0, 12, 21, 30]

function pageKey(did: number, pasid: number, level: number, hi: number, lo: number): string {
  // Frame number at this level's page size, from the IOVA halves.
  const shift = PAGE_SHIFTS[level] ?? 12
  const frame = hi * 2 ** (32 - shift) + Math.floor((lo >>> 0) / 2 ** shift)
  return `${did}:${pasid}:${level}:${frame}`
}

export class TranslationCaches {
  /** sid → DID (what a context-cache entry gives the IOTLB lookup). */
  readonly contextCache = new Map<number, number>()
  readonly iotlb = new Map<string, IotlbEntry>()
  /** sid → (page key → entry): each ATS device's own translation cache. */
  readonly deviceTlb = new Map<number, Map<string, IotlbEntry>>()
  private readonly scratch = new RawOutcome()

  constructor(readonly unit: TranslationUnit) {}

  /**
   * One request as the hardware would serve it: the device's ATC first when it uses ATS,
   * else context-cache + IOTLB, else a walk that fills the caches.
   */
  translate(sid: number, address: bigint, write: boolean, options: {ats?: boolean; pasid?: number} = {}): CachedTranslation {
    const {hi, lo} = splitAddress(address)
    const pasid = options.pasid ?? -1
    const need = write ? 2 : 1
    const fresh = translateRaw(this.unit, sid, hi, lo, write ? REQ.write : 0, pasid, new RawOutcome(), null)
    const freshOk = fresh.status === STATUS.translated || fresh.status === STATUS.passThrough
    const hit = (source: CachedSource, entry: IotlbEntry): CachedTranslation => {
      const offset = (lo >>> 0) % 2 ** (PAGE_SHIFTS[entry.level] ?? 12)
      const hpa = entry.base + offset
      return {source, status: STATUS.translated, reason: 0, level: entry.level, hpa, stale: !freshOk || fresh.hpa !== hpa}
    }
    if (options.ats === true) {
      const atc = this.deviceTlb.get(sid)
      for (let level = 1; level <= 3 && atc !== undefined; level++) {
        const entry = atc.get(pageKey(0, pasid, level, hi, lo))
        if (entry !== undefined && (entry.perms & need) !== 0) return hit('device-tlb', entry)
      }
    }
    const did = this.contextCache.get(sid)
    if (did !== undefined) {
      for (let level = 1; level <= 3; level++) {
        const entry = this.iotlb.get(pageKey(did, pasid, level, hi, lo))
        if (entry !== undefined && (entry.perms & need) !== 0) {
          if (options.ats === true) this.fillAtc(sid, pasid, hi, lo, entry)
          return hit('iotlb', entry)
        }
      }
    }
    const out = translateRaw(this.unit, sid, hi, lo, write ? REQ.write : 0, pasid, this.scratch, null)
    if (out.did >= 0) this.contextCache.set(sid, out.did)
    if (out.status === STATUS.translated && out.did >= 0) {
      const size = 2 ** (PAGE_SHIFTS[out.pageLevel] ?? 12)
      const entry = {base: out.hpa - (out.hpa % size), level: out.pageLevel, perms: out.perms}
      this.iotlb.set(pageKey(out.did, pasid, out.pageLevel, hi, lo), entry)
      if (options.ats === true) this.fillAtc(sid, pasid, hi, lo, entry)
    }
    return {source: 'walk', status: out.status, reason: out.reason, level: out.level, hpa: out.hpa, stale: false}
  }

  private fillAtc(sid: number, pasid: number, hi: number, lo: number, entry: IotlbEntry): void {
    let atc = this.deviceTlb.get(sid)
    if (atc === undefined) this.deviceTlb.set(sid, (atc = new Map()))
    atc.set(pageKey(0, pasid, entry.level, hi, lo), entry)
  }

  invalidateContext(inv: ContextInvalidation): number {
    let dropped = 0
    for (const [sid, did] of this.contextCache) {
      const match = inv.granularity === 'global' || (inv.granularity === 'domain' && did === inv.did) || (inv.granularity === 'device' && sid === inv.sid)
      if (match) {
        this.contextCache.delete(sid)
        dropped++
      }
    }
    return dropped
  }

  invalidateIotlb(inv: IotlbInvalidation): number {
    let dropped = 0
    const pages = inv.granularity === 'page' ? 2n ** BigInt(inv.am ?? 0) : 0n
    const start = inv.granularity === 'page' ? (inv.address >> 12n) & ~(pages - 1n) : 0n
    for (const key of [...this.iotlb.keys()]) {
      const [didText, , levelText, frameText] = key.split(':')
      const did = Number(didText)
      let match: boolean
      if (inv.granularity === 'global') match = true
      else if (inv.granularity === 'domain') match = did === inv.did
      else {
        // The entry's 4-KiB frames [first, first + span) overlap the invalidated range?
        const span = 1n << BigInt((PAGE_SHIFTS[Number(levelText)] ?? 12) - 12)
        const first = BigInt(frameText ?? '0') * span
        match = did === inv.did && first < start + pages && start < first + span
      }
      if (match) {
        this.iotlb.delete(key)
        dropped++
      }
    }
    return dropped
  }

  invalidateDeviceTlb(inv: DeviceTlbInvalidation): number {
    const atc = this.deviceTlb.get(inv.sid)
    if (atc === undefined) return 0
    if (inv.address === undefined) {
      const n = atc.size
      this.deviceTlb.delete(inv.sid)
      return n
    }
    let dropped = 0
    const start = inv.address >> 12n
    const pages = (inv.size ?? 0x1000n) >> 12n
    for (const key of [...atc.keys()]) {
      const [, , levelText, frameText] = key.split(':')
      const span = 1n << BigInt((PAGE_SHIFTS[Number(levelText)] ?? 12) - 12)
      const first = BigInt(frameText ?? '0') * span
      if (first < start + (pages > 0n ? pages : 1n) && start < first + span) {
        atc.delete(key)
        dropped++
      }
    }
    return dropped
  }
}

export type InvalidationPolicy = 'strict' | 'lazy'

export interface TimelineEvent {
  timeMs: number
  action: string
  /** What the device got, for DMA events. */
  outcome?: 'translated' | 'fault'
  source?: CachedSource
  stale?: boolean
  reason?: number
  detail: string
}

export interface StaleWindow {
  policy: InvalidationPolicy
  events: TimelineEvent[]
  /** From the unmap to the invalidation that ends the window (0 wide under strict). */
  window: {fromMs: number; toMs: number}
  /** How many of the probe DMAs after the unmap still reached the old page. */
  staleHits: number
}

export interface StaleWindowOptions {
  /** Linux flush-queue timeout (IOVA_FQ_TIMEOUT): 10 ms. */
  flushTimeoutMs?: number
  /** When the device retries the freed IOVA, in ms after the unmap. */
  probeAtMs?: number[]
  /** The device uses ATS: its ATC also needs a device-TLB invalidation. */
  ats?: boolean
}

/**
 * A driver maps one page, the device reads it (filling the IOTLB), the driver unmaps it, and
 * the device keeps reading the freed IOVA. Strict: page-selective invalidation at unmap.
 * Lazy: the IOVA waits in the flush queue until the timeout's domain-selective flush.
 */
export function staleWindowTimeline(policy: InvalidationPolicy, options: StaleWindowOptions = {}): StaleWindow {
  const flushAt = policy === 'strict' ? 0 : options.flushTimeoutMs ?? 10
  const probes = options.probeAtMs ?? [1, 5, 9, 11]
  const ats = options.ats === true
  // A QEMU-like unit (the lab's cap d2008c22260206: 39-bit, 2M/1G pages) with PT and device-TLB.
  const caps = unitCapsFromRegisters(0xd2008c22260206n, 0xf00f5en, 39)
  const builder = new TableBuilder(caps, false)
  const sid = 0x0100
  const iova = 0xfffff000n
  const hpa = 0x7a3b5000n
  const domain = builder.newDomain(2)
  builder.attach(sid, domain, {ats})
  const caches = new TranslationCaches(builder.unit('dmar0', 'what-if'))
  const events: TimelineEvent[] = []
  const dma = (timeMs: number, label: string) => {
    const r = caches.translate(sid, iova, false, {ats})
    const ok = r.status === STATUS.translated
    events.push({
      timeMs,
      action: label,
      outcome: ok ? 'translated' : 'fault',
      source: r.source,
      stale: r.stale,
      ...(ok ? {} : {reason: r.reason}),
      detail: ok
        ? `read of 0x${iova.toString(16)} reached 0x${r.hpa.toString(16)} via ${r.source}${r.stale ? ' — STALE: the page is unmapped in the tables' : ''}`
        : `read of 0x${iova.toString(16)} faulted (reason 0x${r.reason.toString(16).padStart(2, '0')}) after a ${r.source}`,
    })
    return r
  }
  const flush = (timeMs: number) => {
    const dropped =
      policy === 'strict'
        ? caches.invalidateIotlb({granularity: 'page', did: domain.did, address: iova, am: 0})
        : caches.invalidateIotlb({granularity: 'domain', did: domain.did})
    const atcDropped = ats ? caches.invalidateDeviceTlb(policy === 'strict' ? {sid, address: iova, size: 0x1000n} : {sid}) : 0
    events.push({
      timeMs,
      action: policy === 'strict' ? 'page-selective IOTLB invalidation' : 'flush queue timeout: domain-selective IOTLB invalidation',
      detail: `${dropped} IOTLB entr${dropped === 1 ? 'y' : 'ies'} dropped${ats ? `, ${atcDropped} device-TLB entr${atcDropped === 1 ? 'y' : 'ies'} dropped` : ''}`,
    })
  }

  builder.map(domain, {iova, hpa, size: 0x1000n, read: true, write: true})
  events.push({timeMs: 0, action: 'dma_map', detail: `IOVA 0x${iova.toString(16)} → 0x${hpa.toString(16)} in domain ${domain.did}`})
  dma(0, 'device DMA read')
  builder.unmap(domain, iova, 0x1000n)
  events.push({timeMs: 0, action: 'dma_unmap', detail: `PTE cleared; ${policy === 'strict' ? 'flushed at once (iommu.strict=1)' : `IOVA queued for the flush (DMA-FQ, up to ${flushAt} ms)`}`})
  let flushed = false
  if (policy === 'strict') {
    flush(0)
    flushed = true
  }
  let staleHits = 0
  for (const at of [...probes].sort((a, b) => a - b)) {
    if (!flushed && at >= flushAt) {
      flush(flushAt)
      flushed = true
    }
    if (dma(at, 'device DMA read of the freed IOVA').stale) staleHits++
  }
  if (!flushed) flush(flushAt)
  return {policy, events, window: {fromMs: 0, toMs: flushAt}, staleHits}
}
