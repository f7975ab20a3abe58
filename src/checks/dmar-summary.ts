/**
 * The DMAR lint verdict for `platform.dmar-valid`: the full lint (src/checks/dmar-lint.ts, every
 * fwts and kernel FW_BUG rule, scopes resolved against this host's PCI topology) summarised as
 * one result. `basicLintSummary` is the decoder-only fallback used when the lint itself errs.
 */
import {dmarLint} from './dmar-lint.js'
import {countOutcomes, countsLine, type CheckResult, type Evidence, type Outcome} from './outcome.js'
import type {AssessmentContext} from './context.js'
import {structureProblems, type Drhd, type Rmrr} from '../decode/dmar.js'
import {ev} from './types.js'
import {PATHS} from './shared.js'

export interface LintSummary {
  outcome: Outcome
  summary: string
  evidence: Evidence[]
  remediation: string[]
}

const PAGE = 0xfffn

/** Lints about platform capabilities rather than table defects: their own checks report them. */
const COVERED_ELSEWHERE: Record<string, string> = {
  'dmar.intr-remap': 'interrupts.remapping',
  'dmar.x2apic-opt-out': 'interrupts.x2apic',
  'dmar.log-errors': 'advanced.recent-faults',
  'dmar.rmrr-devices': 'isolation.rmrr',
}

export function lintSummary(ctx: AssessmentContext): LintSummary {
  const table = ctx.dmar.table
  if (!table) return {outcome: 'unknown', summary: 'no DMAR bytes to lint', evidence: [], remediation: []}
  let all: CheckResult[]
  try {
    // The same lint `vtd-check dmar` shows (one run per model), with the same tally.
    all = dmarLint(ctx) ?? []
  } catch {
    return basicLintSummary(ctx)
  }
  const tally = `lint ${countsLine(countOutcomes(all.map((l) => l.outcome)))}`
  // Findings about platform capabilities, not table defects, are judged by their own checks.
  const lints = all.filter((l) => !Object.hasOwn(COVERED_ELSEWHERE, l.id))
  const failed = lints.filter((l) => l.outcome === 'fail')
  const warned = lints.filter((l) => l.outcome === 'warn')
  const evidence = [...failed, ...warned].map((l) => ev(`${l.id} (${l.outcome}): ${l.summary}`, PATHS.dmar))
  const remediation = [...new Set([...failed, ...warned].flatMap((l) => l.remediation))]
  const bugs = ctx.logFacts.dmarFirmwareBugs
  for (const line of bugs.slice(0, 5)) evidence.push(ev(line, ctx.log.source))
  if (bugs.length > 0 && failed.length === 0 && warned.length === 0)
    return {outcome: 'warn', summary: `the kernel reported ${bugs.length} firmware bug(s) in the DMAR table`, evidence, remediation: ['update the system firmware (BIOS/UEFI)']}
  evidence.push(ev(tally, PATHS.dmar))
  if (failed.length > 0) return {outcome: 'fail', summary: `DMAR table: ${failed.length} failing lint rule(s): ${failed.map((l) => l.id).join(', ')}`, evidence, remediation}
  if (warned.length > 0) return {outcome: 'warn', summary: `DMAR table: ${warned.length} lint warning(s): ${warned.map((l) => l.id).join(', ')}`, evidence, remediation}
  return {outcome: 'pass', summary: `DMAR table well-formed (${tally})`, evidence: [ev(`${table.structures.length} structures, checksum ${table.checksumValid ? 'ok' : 'not checked'}`, PATHS.dmar), ev(tally, PATHS.dmar)], remediation: []}
}

/** Decoder problems plus the kernel's VT-d-disabling rules (vtd-reference §1.5). */
export function basicLintSummary(ctx: AssessmentContext): LintSummary {
  const table = ctx.dmar.table
  if (!table) return {outcome: 'unknown', summary: 'no DMAR bytes to lint', evidence: [], remediation: []}
  const fatal: string[] = []
  const problems: string[] = [...table.problems]
  if (table.signature !== 'DMAR') fatal.push(`signature is "${table.signature ?? ''}", not DMAR`)
  if (table.checksumValid === false) problems.push('checksum does not sum to zero')
  const drhds = table.structures.filter((s): s is Drhd => s.type === 'DRHD')
  if (drhds.length === 0) fatal.push('no DRHD structure: the kernel finds no IOMMU ("No DRHD structure found in DMAR table")')
  for (const drhd of drhds)
    if (drhd.registerBase === 0n) fatal.push(`DRHD at ${hexOf(drhd.offset)} has register base 0: the kernel disables DMAR ("Your BIOS is broken")`)
  for (const rmrr of table.structures.filter((s): s is Rmrr => s.type === 'RMRR')) {
    if ((rmrr.base & PAGE) !== 0n || ((rmrr.limit + 1n) & PAGE) !== 0n || rmrr.limit <= rmrr.base)
      problems.push(`RMRR at ${hexOf(rmrr.offset)} [${hexOf(rmrr.base)}-${hexOf(rmrr.limit)}] is misaligned or empty (kernel: "bad RMRR", still registered)`)
  }
  for (const structure of table.structures) for (const problem of structureProblems(structure)) problems.push(`${structure.type} at ${hexOf(structure.offset)}: ${problem}`)
  const evidence = [...fatal, ...problems].map((p) => ev(p, PATHS.dmar))
  for (const line of ctx.logFacts.dmarFirmwareBugs.slice(0, 5)) evidence.push(ev(line, ctx.log.source))
  if (fatal.length > 0)
    return {outcome: 'fail', summary: `the DMAR table is broken in a way that disables VT-d (${fatal.length} fatal)`, evidence, remediation: ['update the system firmware (BIOS/UEFI); report the table to the vendor (`vtd-check dmar --json`)']}
  if (problems.length > 0 || ctx.logFacts.dmarFirmwareBugs.length > 0)
    return {outcome: 'warn', summary: `DMAR table usable with ${problems.length + ctx.logFacts.dmarFirmwareBugs.length} problem(s) the kernel works around`, evidence, remediation: ['update the system firmware (BIOS/UEFI)']}
  return {outcome: 'pass', summary: `DMAR table well-formed: ${drhds.length} DRHD, ${table.structures.length} structures, checksum ok`, evidence: [ev(`${table.structures.length} structures decoded without problems`, PATHS.dmar)], remediation: []}
}

function hexOf(n: number | bigint): string {
  return `0x${n.toString(16)}`
}
