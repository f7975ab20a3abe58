/** Broken or hostile input is reported as data, never a throw (house style). */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {runChecks} from '../src/checks/catalogue.js'
import {parseKernelParameters} from '../src/model/kernel-parameters.js'
import {readLogFacts} from '../src/model/log-facts.js'
import {contextFor} from './checks-hosts.js'

describe('robustness', () => {
  it('parseKernelParameters never throws', () => {
    fc.assert(
      fc.property(fc.string({maxLength: 300}), (text) => {
        parseKernelParameters(text)
      }),
      {numRuns: 500},
    )
    // Found by the property above: prototype names are unknown parameters, not handlers.
    expect(parseKernelParameters('__proto__ valueOf=1 constructor toString=x').tokens).toHaveLength(4)
  })

  it('readLogFacts: a fact comes from the line that states it, wherever it sits among arbitrary lines', () => {
    const init = 'DMAR: Intel(R) Virtualization Technology for Directed I/O'
    const ineligible = (bdf: string) => `pci ${bdf}: DMAR: Device is ineligible for IOMMU domain attach due to platform RMRR requirement.  Contact your platform vendor.`
    const bdf = fc.tuple(fc.nat(0xff), fc.nat(0x1f), fc.nat(7)).map(([b, d, f]) => `0000:${b.toString(16).padStart(2, '0')}:${d.toString(16).padStart(2, '0')}.${f}`)
    const booleans = (facts: ReturnType<typeof readLogFacts>) => Object.entries(facts).filter(([, v]) => typeof v === 'boolean')
    fc.assert(
      fc.property(fc.array(fc.string({maxLength: 200}), {maxLength: 50}), fc.nat(), fc.nat(), bdf, (junk, i, j, device) => {
        const lines = [...junk]
        lines.splice(i % (lines.length + 1), 0, init)
        lines.splice(j % (lines.length + 1), 0, ineligible(device), ineligible(device))
        const facts = readLogFacts(lines)
        expect(facts.vtdInitialised).toBe(true)
        // named once, however often the kernel printed it
        expect(facts.rmrrIneligible.filter((b) => b === device)).toHaveLength(1)
        // every quoted line is a line of the log, trimmed
        const trimmed = new Set(lines.map((l) => l.trim()))
        for (const quoted of [...facts.irFailed, ...facts.dmarFirmwareBugs]) expect(trimmed.has(quoted)).toBe(true)
        // yes/no facts do not depend on where their line sits
        expect(booleans(readLogFacts([...lines].reverse()))).toEqual(booleans(facts))
        // and arbitrary lines alone do not claim VT-d came up
        if (!junk.some((l) => l.includes('Virtualization Technology for Directed I/O'))) expect(readLogFacts(junk).vtdInitialised).toBe(false)
      }),
      {numRuns: 300},
    )
  })

  it('every check returns a verdict for random cmdlines, truncated DMAR tables and junk logs', () => {
    fc.assert(
      fc.property(fc.string({maxLength: 120}), fc.uint8Array({maxLength: 90}), fc.string({maxLength: 400}), (cmdline, dmar, log) => {
        const results = runChecks(contextFor({cmdline, dmar}, log, ['0000:01:00.0']))
        for (const r of results) {
          expect(['pass', 'warn', 'fail', 'unknown', 'not-applicable']).toContain(r.outcome)
          expect(r.summary).not.toMatch(/^internal error/)
        }
      }),
      {numRuns: 40},
    )
  })
})
