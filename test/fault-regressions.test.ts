/**
 * Known kernel regressions (src/replay/kernel-regressions.ts): the affected ranges as the fix's
 * CVE record states them, the "Linux version" banner as a context event, and the rule that leads
 * with the regression only when the banner's release is in range.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseKernelLog} from '../src/decode/kernel-log/index.js'
import {leadingExplanation, triageRecords} from '../src/replay/fault-triage.js'
import {affects, fixedIn, KERNEL_REGRESSIONS, parseRelease} from '../src/replay/kernel-regressions.js'
import {realData, repoRoot} from './support/paths.js'

const aliasOrder = KERNEL_REGRESSIONS.find((r) => r.id === 'vtd-alias-context-order')!

describe('known regression table', () => {
  it('parses banner releases, distro suffixes and -rc tags', () => {
    expect(parseRelease('6.15.2-arch1-1')).toEqual([6, 15, 2])
    expect(parseRelease('6.14.0-rc3')).toEqual([6, 14, 0])
    expect(parseRelease('6.16')).toEqual([6, 16, 0])
    expect(parseRelease('garbage')).toBeUndefined()
  })

  it('holds CVE-2025-38216\'s ranges (>=6.12.0 <6.12.35, >=6.13.0 <6.15.4)', () => {
    const at = (v: string) => affects(aliasOrder, parseRelease(v)!)
    expect(at('6.11.11-1-MANJARO')).toBe(false)
    expect(at('6.12.0')).toBe(true)
    expect(at('6.12.34')).toBe(true)
    expect(at('6.12.35')).toBe(false)
    expect(at('6.14.11')).toBe(true) // 6.14 reached end of life unfixed
    expect(at('6.15.3')).toBe(true)
    expect(at('6.15.4')).toBe(false)
    expect(at('6.16.0')).toBe(false)
    expect(fixedIn(aliasOrder)).toBe('6.16, 6.15.4, 6.12.35')
  })
})

// The fix commit's own excerpt (test/fixtures/fault-cases/applespi-alias-regression-6.15.case).
const caseText = readFileSync(path.join(repoRoot, 'test/fixtures/fault-cases/applespi-alias-regression-6.15.case'), 'utf8')
const excerpt = caseText.slice(caseText.indexOf('--- log\n') + 8)

function lead(log: string) {
  const l = leadingExplanation(triageRecords(parseKernelLog(log), log.split('\n').length))
  return {...l, text: [l.summary, ...l.causes, ...l.remediation].join('\n')}
}

describe('the banner leads to the regression', () => {
  it('reads "Linux version" as the kernel-release context (a real banner)', () => {
    const text = readFileSync(path.join(realData, 'dmesg', 'terra-rmrr-journal-k6.11-1.log'), 'utf8')
    const banner = parseKernelLog(text).find((r) => r.type === 'context' && r.event === 'kernel-release')
    expect(banner).toMatchObject({type: 'context', detail: '6.11.11-1-MANJARO'})
  })

  // The excerpt carries no banner; these prepend one (constructed) to test the rule's range check.
  it('leads with the regression, its fix and the fixed releases when the banner is in range', () => {
    const l = lead(`kernel: Linux version 6.15.2-arch1-1 (linux@archlinux) #1 SMP PREEMPT_DYNAMIC\n${excerpt}`)
    expect(l.category).toBe('kernel-bug')
    expect(l.text).toContain('320302baed05')
    expect(l.text).toContain('6.15.4')
  })

  it('does not blame the regression on a fixed kernel or without a banner', () => {
    expect(lead(`kernel: Linux version 6.15.4-arch1-1 (linux@archlinux) #1 SMP PREEMPT_DYNAMIC\n${excerpt}`).category).not.toBe('kernel-bug')
    expect(lead(excerpt).category).not.toBe('kernel-bug')
  })
})
