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

  it('readLogFacts never throws on arbitrary lines', () => {
    fc.assert(fc.property(fc.array(fc.string({maxLength: 200}), {maxLength: 50}), (lines) => {
      readLogFacts(lines)
    }))
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
