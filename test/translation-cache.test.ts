/**
 * Translation caches and invalidation: a cached translation outlives its page-table entry
 * until the matching invalidation. Strict invalidation closes the window at unmap; lazy
 * (DMA-FQ) leaves it open until the flush queue's timeout.
 */
import {describe, expect, it} from 'vitest'
import {STATUS, staleWindowTimeline, TableBuilder, TranslationCaches, unitCapsFromRegisters} from '../src/replay/translation/index.js'

const caps = unitCapsFromRegisters(0xd2008c22260206n, 0xf00f4an, 39)

function setup() {
  const b = new TableBuilder(caps, false)
  const a = b.newDomain(2)
  const c = b.newDomain(3)
  b.attach(0x100, a)
  b.attach(0x200, c)
  b.map(a, {iova: 0x10000n, hpa: 0x50000000n, size: 0x2000n})
  b.map(c, {iova: 0x10000n, hpa: 0x60000000n, size: 0x1000n})
  b.map(a, {iova: 0x200000n, hpa: 0x70000000n, size: 0x200000n}) // a 2 MiB leaf
  const caches = new TranslationCaches(b.unit('dmar0', 'json'))
  return {b, a, c, caches}
}

describe('TranslationCaches', () => {
  it('fills on a walk and hits after', () => {
    const {caches} = setup()
    expect(caches.translate(0x100, 0x10004n, false).source).toBe('walk')
    const hit = caches.translate(0x100, 0x10008n, false)
    expect([hit.source, hit.hpa, hit.stale]).toEqual(['iotlb', 0x50000008, false])
    expect(caches.contextCache.get(0x100)).toBe(2)
  })

  it('a cleared PTE still translates from the IOTLB: a stale hit', () => {
    const {b, a, caches} = setup()
    caches.translate(0x100, 0x10000n, false)
    b.unmap(a, 0x10000n, 0x1000n)
    const r = caches.translate(0x100, 0x10000n, false)
    expect([r.source, r.status, r.stale]).toEqual(['iotlb', STATUS.translated, true])
  })

  it('page-selective invalidation drops only the pages it names, in its own domain', () => {
    const {caches} = setup()
    caches.translate(0x100, 0x10000n, false)
    caches.translate(0x100, 0x11000n, false)
    caches.translate(0x200, 0x10000n, false)
    expect(caches.invalidateIotlb({granularity: 'page', did: 2, address: 0x10000n})).toBe(1)
    expect(caches.translate(0x100, 0x11000n, false).source).toBe('iotlb')
    expect(caches.translate(0x200, 0x10000n, false).source).toBe('iotlb')
    // am=1 covers two pages; a 2 MiB entry is dropped by any page inside it
    caches.translate(0x100, 0x10000n, false)
    expect(caches.invalidateIotlb({granularity: 'page', did: 2, address: 0x10000n, am: 1})).toBe(2)
    caches.translate(0x100, 0x2fffffn, false)
    expect(caches.invalidateIotlb({granularity: 'page', did: 2, address: 0x3ff000n})).toBe(1)
  })

  it('domain-selective and global invalidation', () => {
    const {caches} = setup()
    caches.translate(0x100, 0x10000n, false)
    caches.translate(0x100, 0x11000n, false)
    caches.translate(0x200, 0x10000n, false)
    expect(caches.invalidateIotlb({granularity: 'domain', did: 3})).toBe(1)
    expect(caches.iotlb.size).toBe(2)
    expect(caches.invalidateIotlb({granularity: 'global'})).toBe(2)
    expect(caches.invalidateContext({granularity: 'device', sid: 0x200})).toBe(1)
    expect(caches.invalidateContext({granularity: 'domain', did: 2})).toBe(1)
    expect(caches.contextCache.size).toBe(0)
  })

  it('faults are not cached', () => {
    const {caches} = setup()
    const r = caches.translate(0x100, 0x90000n, false)
    expect([r.status, r.reason]).toEqual([STATUS.fault, 0x06])
    expect(caches.iotlb.size).toBe(0)
  })
})

describe('the stale-entry window', () => {
  it('strict: invalidated at unmap, every later DMA faults', () => {
    const t = staleWindowTimeline('strict')
    expect(t.window).toEqual({fromMs: 0, toMs: 0})
    expect(t.staleHits).toBe(0)
    const probes = t.events.filter((e) => e.action === 'device DMA read of the freed IOVA')
    expect(probes.map((e) => [e.outcome, e.reason])).toEqual([
      ['fault', 0x06],
      ['fault', 0x06],
      ['fault', 0x06],
      ['fault', 0x06],
    ])
  })

  it('lazy: DMAs before the 10 ms flush still reach the freed page', () => {
    const t = staleWindowTimeline('lazy')
    expect(t.window).toEqual({fromMs: 0, toMs: 10})
    const probes = t.events.filter((e) => e.action === 'device DMA read of the freed IOVA')
    expect(probes.map((e) => [e.timeMs, e.outcome, e.stale])).toEqual([
      [1, 'translated', true],
      [5, 'translated', true],
      [9, 'translated', true],
      [11, 'fault', false],
    ])
    expect(t.staleHits).toBe(3)
    const flushIndex = t.events.findIndex((e) => e.action.startsWith('flush queue timeout'))
    expect(t.events[flushIndex]?.timeMs).toBe(10)
  })

  it('with ATS the device\'s own ATC serves the stale translation until a device-TLB invalidation', () => {
    const t = staleWindowTimeline('lazy', {ats: true, probeAtMs: [2]})
    const probe = t.events.find((e) => e.action === 'device DMA read of the freed IOVA')
    expect([probe?.source, probe?.stale]).toEqual(['device-tlb', true])
    const strict = staleWindowTimeline('strict', {ats: true, probeAtMs: [2]})
    expect(strict.events.find((e) => e.action.includes('invalidation'))?.detail).toBe('1 IOTLB entry dropped, 1 device-TLB entry dropped')
    expect(strict.staleHits).toBe(0)
  })
})
