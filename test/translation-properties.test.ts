/**
 * Properties over random table sets (fast-check): whatever is mapped translates to its host
 * address plus the page offset, with the page size the builder chose; what is not mapped
 * faults with the permission reason at some level; the fast raw walk and the decoded walk
 * always agree.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {RawOutcome, REQ, STATUS, TableBuilder, translateRaw, unitCapsFromRegisters, walk} from '../src/replay/translation/index.js'

const caps = unitCapsFromRegisters(0xd2008c22260206n, 0xf00f4an, 39)
// Pages below 2^39, minus the interrupt window 0xFEE00000-0xFEEFFFFF: a request there is an
// interrupt message, not a DMA translation (test/translation.test.ts covers that case).
const INTERRUPT_PAGES = {first: 0xfee00, last: 0xfeeff}
const page = fc
  .integer({min: 0, max: 2 ** 27 - 1})
  .filter((n) => n < INTERRUPT_PAGES.first || n > INTERRUPT_PAGES.last)
  .map((n) => BigInt(n) << 12n)

describe('walk properties', () => {
  it('mapped pages translate to hpa + offset; other pages fault 0x05/0x06; raw and decoded walks agree', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({iova: page, hpa: page, write: fc.boolean()}), {minLength: 1, maxLength: 24, selector: (m) => m.iova}),
        fc.array(fc.record({iova: page, offset: fc.integer({min: 0, max: 4095}), write: fc.boolean()}), {minLength: 1, maxLength: 24}),
        (mappings, probes) => {
          const b = new TableBuilder(caps, false)
          const domain = b.newDomain(2)
          b.attach(0x18, domain)
          for (const m of mappings) b.map(domain, {iova: m.iova, hpa: m.hpa, size: 0x1000n, write: m.write})
          const unit = b.unit('dmar0', 'json')
          const byIova = new Map(mappings.map((m) => [m.iova, m]))
          const targets = [...probes, ...mappings.map((m) => ({iova: m.iova, offset: 7, write: false}))]
          for (const probe of targets) {
            const address = probe.iova + BigInt(probe.offset)
            const r = walk(unit, {requester: '00:03.0', address, access: probe.write ? 'write' : 'read'})
            const raw = translateRaw(unit, 0x18, Number(address >> 32n), Number(address & 0xffffffffn), probe.write ? REQ.write : 0, -1, new RawOutcome(), null)
            const mapped = byIova.get(probe.iova)
            if (mapped !== undefined && (!probe.write || mapped.write)) {
              expect(r.ok && r.hpa).toBe(mapped.hpa + BigInt(probe.offset))
              expect(raw.status).toBe(STATUS.translated)
              expect(raw.hpa).toBe(Number(mapped.hpa + BigInt(probe.offset)))
            } else {
              expect(r.outcome === 'fault' && r.fault).toBe(probe.write ? 0x05 : 0x06)
              expect([raw.status, raw.reason, raw.level]).toEqual([STATUS.fault, probe.write ? 0x05 : 0x06, r.outcome === 'fault' ? r.level : -1])
            }
          }
        },
      ),
      {numRuns: 150},
    )
  })

  it('a range mapping is covered exactly, whatever mix of 4K/2M/1G leaves the builder picks, and nothing past it', () => {
    fc.assert(
      fc.property(fc.integer({min: 0, max: 255}), fc.integer({min: 1, max: 1 << 19}), fc.integer({min: 0, max: 255}), (startMb, pages, hpaMb) => {
        const b = new TableBuilder(caps, false)
        const domain = b.newDomain(2)
        b.attach(0x18, domain)
        const iova = BigInt(startMb) << 21n
        const hpa = BigInt(hpaMb) << 21n
        const size = BigInt(pages) << 12n
        b.map(domain, {iova, hpa, size})
        const unit = b.unit('dmar0', 'json')
        for (const at of [0n, size / 2n, size - 1n]) {
          const r = walk(unit, {requester: '00:03.0', address: iova + at})
          expect(r.ok && r.hpa).toBe(hpa + at)
        }
        // Leaves never spill past the range: the byte after it is unmapped.
        const past = walk(unit, {requester: '00:03.0', address: iova + size})
        expect(past.outcome === 'fault' && past.fault).toBe(0x06)
      }),
      {numRuns: 100},
    )
  })
})
