/** How a check is declared: data (id, title, what it reads, docs) plus one pure assess function. */
import type {Evidence, Outcome} from './outcome.js'
import type {AssessmentContext} from './context.js'

export type CheckCategory = 'platform' | 'interrupts' | 'isolation' | 'device' | 'advanced'

/** What an assess function decides; the catalogue adds id, title and docs. */
export interface Verdict {
  outcome: Outcome
  summary: string
  evidence: Evidence[]
  remediation: string[]
}

interface CheckCommon {
  /** Stable, dotted: `<category>.<name>`. Part of the JSON contract. */
  id: string
  title: string
  category: CheckCategory
  /** Inputs, as host paths or "dmesg" — shown by `--explain` and used to say what needs root. */
  reads: string[]
  docs: string
}

export interface HostCheck extends CheckCommon {
  scope: 'host'
  assess(ctx: AssessmentContext): Verdict
}

export interface DeviceCheck extends CheckCommon {
  scope: 'device'
  assess(ctx: AssessmentContext, bdf: string): Verdict
}

export type CheckDefinition = HostCheck | DeviceCheck

export function ev(fact: string, source?: string): Evidence {
  return source === undefined ? {fact} : {fact, source}
}

export function verdict(outcome: Outcome, summary: string, evidence: Evidence[] = [], remediation: string[] = []): Verdict {
  return {outcome, summary, evidence, remediation}
}
