/** Check outcomes and the one function that owns the exit-code policy (DESIGN.md). */

export type Outcome = 'pass' | 'warn' | 'fail' | 'unknown' | 'not-applicable'

export interface Evidence {
  /** What was observed, in words a person reads. */
  fact: string
  /** Where it was read (host path, "dmesg", "lspci dump" …). */
  source?: string
}

export interface CheckResult {
  id: string
  title: string
  outcome: Outcome
  /** One line: the verdict in words. */
  summary: string
  evidence: Evidence[]
  /** What to change; empty when nothing is needed. */
  remediation: string[]
  docs?: string
}

export type OutcomeCounts = Record<Outcome, number>

export function countOutcomes(outcomes: Iterable<Outcome>): OutcomeCounts {
  const counts: OutcomeCounts = {pass: 0, warn: 0, fail: 0, unknown: 0, 'not-applicable': 0}
  for (const outcome of outcomes) counts[outcome]++
  return counts
}

/** The one wording of a tally, wherever outcomes are counted (check, dmar, units). */
export function countsLine(c: OutcomeCounts): string {
  return `${c.pass} pass · ${c.warn} warn · ${c.fail} fail · ${c.unknown} unknown · ${c['not-applicable']} not applicable`
}

export const EXIT = {ok: 0, fail: 1, usage: 2, unknown: 3} as const

/** 0 all applicable pass (warnings allowed) · 1 any fail · 3 no fail but something unknown. */
export function exitCodeFor(outcomes: Iterable<Outcome>): number {
  let unknown = false
  for (const outcome of outcomes) {
    if (outcome === 'fail') return EXIT.fail
    if (outcome === 'unknown') unknown = true
  }
  return unknown ? EXIT.unknown : EXIT.ok
}

/**
 * Per-device results carry the device they are about (`check --device BDF`); host-wide results
 * leave it out. Kept separate from CheckResult so existing users need no change.
 */
export interface SubjectResult extends CheckResult {
  /** Full BDF the result is about, e.g. "0000:01:00.0". */
  subject?: string
}
