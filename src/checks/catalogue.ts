/**
 * The check catalogue: every check as data (id, title, category, what it reads, docs) plus a
 * pure assess function, and the one runner that turns a context into sorted results.
 */
import {capturedWithoutRoot, type ReadAs} from './remediation.js'
import {ADVANCED_CHECKS} from './advanced.js'
import {AMD_CHECKS} from './amd-vi.js'
import type {AssessmentContext} from './context.js'
import {DEVICE_CHECKS} from './device.js'
import {INTERRUPT_CHECKS} from './interrupts.js'
import {ISOLATION_CHECKS} from './isolation.js'
import {countOutcomes, exitCodeFor, type Outcome, type SubjectResult} from './outcome.js'
import {PLATFORM_CHECKS} from './platform.js'
import type {CheckDefinition, Verdict} from './types.js'

export const CATALOGUE: readonly CheckDefinition[] = [...PLATFORM_CHECKS, ...INTERRUPT_CHECKS, ...ISOLATION_CHECKS, ...DEVICE_CHECKS, ...ADVANCED_CHECKS, AMD_CHECKS.snp]

function toResult(check: CheckDefinition, v: Verdict, subject?: string): SubjectResult {
  return {
    id: check.id,
    title: check.title,
    outcome: v.outcome,
    summary: v.summary,
    evidence: v.evidence,
    remediation: v.remediation,
    docs: check.docs,
    ...(subject === undefined ? {} : {subject}),
  }
}

/** A check that throws is a bug, not a verdict: report it as unknown with the message (never a stack trace). */
function safely(check: CheckDefinition, run: () => Verdict): Verdict {
  try {
    return run()
  } catch (error) {
    return {outcome: 'unknown', summary: `internal error in ${check.id}: ${error instanceof Error ? error.message : String(error)}`, evidence: [], remediation: []}
  }
}

const NO_TARGET: Verdict = {
  outcome: 'not-applicable',
  summary: 'no device named and none bound to vfio-pci: run `vtd-check check --device BDF`',
  evidence: [],
  remediation: [],
}

export function compareResults(a: SubjectResult, b: SubjectResult): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : (a.subject ?? '').localeCompare(b.subject ?? '')
}

/** Run the whole catalogue; results sorted by id, then subject (the JSON contract). */
export function runChecks(ctx: AssessmentContext, catalogue: readonly CheckDefinition[] = CATALOGUE): SubjectResult[] {
  const results: SubjectResult[] = []
  for (const check of catalogue) {
    if (check.scope === 'host') results.push(toResult(check, safely(check, () => check.assess(ctx))))
    else if (ctx.targets.length === 0) results.push(toResult(check, NO_TARGET))
    else for (const bdf of ctx.targets) results.push(toResult(check, safely(check, () => check.assess(ctx, bdf)), bdf))
  }
  return results.sort(compareResults)
}

export interface OverallVerdict {
  outcome: Outcome
  /** One line an admin reads first. */
  headline: string
  exitCode: number
  counts: Record<Outcome, number>
}

/** What would complete the picture: files the reader refused are not a matter of root. */
function incompleteAdvice(readAs: ReadAs | undefined): string {
  const refused = readAs?.misses?.filter((m) => m.refused !== undefined).length ?? 0
  if (refused > 0) return `${refused} file(s) in this snapshot were refused, not read: see below`
  return `${readAs && capturedWithoutRoot(readAs) ? 're-capture the snapshot as root' : 'run as root'} for the full picture`
}

/** The headline: the most fundamental failure first ("no IOMMU" beats everything it causes). */
export function overallVerdict(results: readonly SubjectResult[], readAs?: ReadAs): OverallVerdict {
  const counts = countOutcomes(results.map((r) => r.outcome))
  const exitCode = exitCodeFor(results.map((r) => r.outcome))
  const noIommu = results.find((r) => r.id === 'platform.dma-remapping' && r.outcome === 'fail')
  const fails = results.filter((r) => r.outcome === 'fail')
  if (noIommu) return {outcome: 'fail', headline: `NOT READY — ${noIommu.summary}`, exitCode, counts}
  if (fails.length > 0) return {outcome: 'fail', headline: `NOT READY — ${fails.length} failing: ${fails.map((f) => (f.subject ? `${f.id} (${f.subject})` : f.id)).join(', ')}`, exitCode, counts}
  if (counts.unknown > 0) return {outcome: 'unknown', headline: `INCOMPLETE — ${counts.unknown} check(s) could not be assessed (${incompleteAdvice(readAs)})`, exitCode, counts}
  if (counts.warn > 0) return {outcome: 'warn', headline: `READY with ${counts.warn} warning(s)`, exitCode, counts}
  return {outcome: 'pass', headline: 'READY — every applicable check passes', exitCode, counts}
}
