/**
 * The DMAR lint verdict for `platform.dmar-valid`: the full lint (src/checks/dmar-lint.ts, every
 * fwts and kernel FW_BUG rule, scopes resolved against this host's PCI topology) summarised as
 * one result. `basicLintSummary` is the decoder-only fallback used when the lint itself errs.
 */
import {lintDmar} from './dmar-lint.js'
import type {Outcome, Evidence} from './outcome.js'
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
  let lints
  try {
    // No kernel log: fault lines are not table defects (advanced.recent-faults reports them);
    // the kernel's own "[Firmware Bug]" lines about the table are added below.
    lints = lintDmar(table, ctx.topology, {source: PATHS.dmar, ...(ctx.dmar.scopes ? {resolution: ctx.dmar.scopes} : {})})
  } catch {
    return basicLintSummary(ctx)
  }
  lints = lints.filter((l) => !Object.hasOwn(COVERED_ELSEWHERE, l.id))
  const failed = lints.filter((l) => l.outcome === 'fail')
  const warned = lints.filter((l) => l.outcome === 'warn')
  const evidence = [...failed, ...warned].map((l) => ev(`${l.id} (${l.outcome}): ${l.summary}`, PATHS.dmar))
  const remediation = [...new Set([...failed, ...warned].flatMap((l) => l.remediation))]
  const bugs = ctx.logFacts.dmarFirmwareBugs
  for (const line of bugs.slice(0, 5)) evidence.push(ev(line, ctx.log.source))
  if (bugs.length > 0 && failed.length === 0 && warned.length === 0)
    return {outcome: 'warn', summary: `the kernel reported ${bugs.length} firmware bug(s) in the DMAR table`, evidence, remediation: ['update the system firmware (BIOS/UEFI)']}
  if (failed.length > 0) return {outcome: 'fail', summary: `DMAR lint: ${failed.length} failing rule(s): ${failed.map((l) => l.id).join(', ')}`, evidence, remediation}
  if (warned.length > 0) return {outcome: 'warn', summary: `DMAR lint: ${warned.length} warning(s): ${warned.map((l) => l.id).join(', ')}`, evidence, remediation}
  const passed = lints.filter((l) => l.outcome === 'pass').length
  return {outcome: 'pass', summary: `DMAR table well-formed: ${passed} of ${lints.length} lint rules pass, none fails`, evidence: [ev(`${table.structures.length} structures, checksum ${table.checksumValid ? 'ok' : 'not checked'}`, PATHS.dmar)], remediation: []}
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
