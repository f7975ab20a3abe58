/**
 * The fault-explanation evaluation: every real case in test/fixtures/fault-cases/ is parsed and
 * triaged from its log alone, and scored on two things —
 *  - parse: the records equal the hand count (per record type, and each fault's requester and
 *    reason), and
 *  - explanation: for a resolved case the leading explanation is of the expected category and
 *    names every key term (each term may list alternatives "a/b"); for an unresolved case it says
 *    it cannot tell; a case with no faults leads with no fault explanation.
 * A case may also carry the host evidence its thread posted (`--- lspci`, `--- uname`,
 * `--- cmdline`): each case is then scored twice, on its log alone and on its log with that
 * evidence, the second run going through the same host model and triage context as
 * `vtd-check faults FILE --lspci-dump DUMP` (or `--root SNAP` for the release and command line).
 * Used by test/fault-cases.test.ts (the floor) and scripts/eval-faults.mjs (the report).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {parseKernelLog, type LogRecord} from '../../src/decode/kernel-log/index.js'
import {leadingExplanation, triageRecords, type LeadingExplanation, type TriageContext} from '../../src/replay/fault-triage.js'
import {triageContextOf} from '../../src/replay/fault-context.js'
import {evidenceModel} from './model.js'

export interface FaultCase {
  name: string
  file: string
  source: string
  status: 'resolved' | 'unresolved'
  /** The IOMMU whose lines the case holds (intel-vtd unless the case says). */
  family: 'intel-vtd' | 'amd-vi' | 'arm-smmu-v3' | 'arm-smmu'
  category: string
  terms: string[]
  cause: string
  fix: string
  /** Hand-counted records by type; `exhaustive` when the count lists every record (expected JSON). */
  records: Record<string, number>
  exhaustive: boolean
  /** Each fault record as "0000:bb:dd.f/rr" (rr: hex reason, "?" when missing), sorted. */
  faults?: string[]
  log: string
  /** Host evidence the thread posted, verbatim; undefined when it posted none. */
  host?: HostEvidence
}

/** What a case's thread posted about the host besides the log, each as the poster pasted it. */
export interface HostEvidence {
  /** Where in the thread each piece was found (the `evidence:` header). */
  where: string
  /** `lspci` output of any form `--lspci-dump` takes (-nn, -vvv, -xxxx). */
  lspci?: string
  /** `uname -r` output: the running kernel's release, as /proc/sys/kernel/osrelease holds it. */
  uname?: string
  /** /proc/cmdline as posted. */
  cmdline?: string
}

/** The sections a case file may hold after its header; `log` is the excerpt. */
const SECTIONS = ['log', 'lspci', 'uname', 'cmdline'] as const
type Section = typeof SECTIONS[number]
const SECTION_LINE = new RegExp(`^--- (${SECTIONS.join('|')})$`, 'gm')

/** The file cut at its "--- NAME" lines: the header before the first, each section's text after it. */
function splitSections(text: string): {header: string; sections: Partial<Record<Section, string>>} {
  const marks = [...text.matchAll(SECTION_LINE)]
  const sections: Partial<Record<Section, string>> = {}
  marks.forEach((m, i) => {
    const start = m.index + m[0].length + 1
    const end = i + 1 < marks.length ? marks[i + 1]!.index : text.length
    const name = m[1] as Section
    if (sections[name] !== undefined) throw new Error(`two "--- ${name}" sections`)
    sections[name] = text.slice(start, end)
  })
  return {header: marks.length === 0 ? text : text.slice(0, marks[0]!.index), sections}
}

const HEADER = /^([a-z]+): ?(.*)$/

function normaliseBdf(text: string): string {
  return /^[0-9a-f]{4}:/i.test(text) ? text.toLowerCase() : `0000:${text.toLowerCase()}`
}

/** "00:02.0 r=06 x2; 0000:73:00.1 r=05" → sorted "0000:00:02.0/06" entries. */
function parseFaultList(text: string): string[] {
  const out: string[] = []
  for (const part of text.split(';')) {
    const m = /^\s*(\S+)\s+r=([0-9a-f?]+)(?:\s+x(\d+))?\s*$/i.exec(part)
    if (m === null) throw new Error(`bad faults entry "${part}"`)
    for (let i = 0; i < Number(m[3] ?? 1); i++) out.push(`${m[1] === '??' ? '??' : normaliseBdf(m[1]!)}/${m[2]!.toLowerCase()}`)
  }
  return out.sort()
}

function reasonKey(reason: number | undefined): string {
  return reason === undefined ? '?' : reason.toString(16).padStart(2, '0')
}

export function loadFaultCase(file: string): FaultCase {
  const text = readFileSync(file, 'utf8')
  const {header: headerText, sections} = splitSections(text)
  const header = headerText.split('\n').filter((l) => l.trim() !== '')
  const fields: Record<string, string> = {}
  for (const line of header) {
    const m = HEADER.exec(line)
    if (m === null) throw new Error(`${file}: bad header line "${line}"`)
    fields[m[1]!] = m[2]!
  }
  const need = (k: string): string => {
    const v = fields[k]
    if (v === undefined) throw new Error(`${file}: missing "${k}"`)
    return v
  }
  const dir = dirname(file)
  const log = fields.log === undefined ? sections.log ?? '' : readFileSync(resolve(dir, fields.log), 'utf8')
  if (fields.log !== undefined && sections.log !== undefined) throw new Error(`${file}: both "log:" and a "--- log" section`)
  const evidence = {
    ...(sections.lspci === undefined ? {} : {lspci: sections.lspci}),
    ...(sections.uname === undefined ? {} : {uname: sections.uname.trim()}),
    ...(sections.cmdline === undefined ? {} : {cmdline: sections.cmdline.trim()}),
  }
  const hasEvidence = Object.keys(evidence).length > 0
  if (hasEvidence !== (fields.evidence !== undefined)) throw new Error(`${file}: host-evidence sections and the "evidence:" header go together`)
  let records: Record<string, number> = {}
  let exhaustive = false
  let faults: string[] | undefined
  const recordsText = need('records')
  if (recordsText.startsWith('expected ')) {
    // Hand-written expected records of the shared real excerpts (test/fixtures/dmesg/expected).
    const expected = JSON.parse(readFileSync(resolve(dir, recordsText.slice('expected '.length)), 'utf8')) as {records: Array<{type: string; requester?: string; reason?: number}>}
    exhaustive = true
    for (const r of expected.records) records[r.type] = (records[r.type] ?? 0) + 1
    faults = expected.records.filter((r) => r.type === 'fault').map((r) => `${r.requester}/${reasonKey(r.reason)}`).sort()
  } else {
    records = Object.fromEntries(recordsText.split(/\s+/).map((kv) => {
      const [k, v] = kv.split('=')
      return [k!, Number(v)]
    }))
    if (fields.faults !== undefined) faults = parseFaultList(fields.faults)
  }
  const family = fields.family ?? 'intel-vtd'
  if (family !== 'intel-vtd' && family !== 'amd-vi' && family !== 'arm-smmu-v3' && family !== 'arm-smmu') throw new Error(`${file}: unknown family "${family}"`)
  const status = need('status')
  if (status !== 'resolved' && status !== 'unresolved') throw new Error(`${file}: status must be resolved or unresolved`)
  return {
    name: file.replace(/^.*\//, '').replace(/\.case$/, ''), file, source: need('source'), status, family,
    category: need('category'), terms: fields.terms === undefined ? [] : fields.terms.split('|').map((t) => t.trim()).filter(Boolean),
    cause: need('cause'), fix: need('fix'), records, exhaustive, ...(faults === undefined ? {} : {faults}), log,
    ...(hasEvidence ? {host: {where: fields.evidence!, ...evidence}} : {}),
  }
}

export function loadFaultCases(dir: string): FaultCase[] {
  return readdirSync(dir).filter((f) => f.endsWith('.case')).sort().map((f) => loadFaultCase(join(dir, f)))
}

export interface CaseResult {
  case: FaultCase
  parseOk: boolean
  parseDetail: string[]
  explanationOk: boolean
  explanationDetail: string
  leading: LeadingExplanation
}

/** Record types always compared, even when a hand count does not list them. */
const ALWAYS_COUNTED = ['fault', 'unparsed', 'amd-vi', 'smmu']

function countRecords(records: LogRecord[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of records) out[r.type] = (out[r.type] ?? 0) + 1
  return out
}

/** Every alternative of a term ("a/b") is tried as a case-insensitive substring. */
function termFound(term: string, text: string): boolean {
  return term.split('/').some((alt) => text.includes(alt.trim().toLowerCase()))
}

/**
 * The triage context `vtd-check faults` builds from this host evidence: an lspci listing given as
 * --lspci-dump (read as a dump: hex, or its text when it has none) and, as a --root snapshot
 * would hold them, the kernel release (/proc/sys/kernel/osrelease) and /proc/cmdline. One host
 * model, through triageContextOf, as the command builds it.
 */
export function hostContextOf(c: FaultCase): TriageContext {
  const host = c.host
  if (host === undefined) return {}
  return triageContextOf(evidenceModel({
    ...(host.lspci === undefined ? {} : {lspci: host.lspci}),
    ...(host.uname === undefined ? {} : {release: host.uname}),
    ...(host.cmdline === undefined ? {} : {cmdline: host.cmdline}),
  }, c.name)).context
}

/** `mode`: the log alone, or the log with the host evidence its thread posted (when it has any). */
export function evaluateCase(c: FaultCase, mode: 'log' | 'host' = 'log'): CaseResult {
  const records = parseKernelLog(c.log)
  const counted = countRecords(records)
  const parseDetail: string[] = []
  const types = new Set([...Object.keys(c.records), ...ALWAYS_COUNTED, ...(c.exhaustive ? Object.keys(counted) : [])])
  for (const t of types) {
    const want = c.records[t] ?? 0
    const got = counted[t] ?? 0
    if (want !== got) parseDetail.push(`${t}: expected ${want}, parsed ${got}`)
  }
  if (c.faults !== undefined) {
    const got = records.flatMap((r) => (r.type === 'fault' ? [`${r.requester}/${reasonKey(r.reason)}`] : [])).sort()
    if (got.join(',') !== c.faults.join(',')) parseDetail.push(`faults: expected ${c.faults.join(', ')}; parsed ${got.join(', ') || 'none'}`)
  }
  const lines = c.log.split('\n').length
  const ctx = mode === 'host' ? hostContextOf(c) : {}
  const leading = leadingExplanation(triageRecords(records, lines, ctx))
  const text = [leading.summary, ...leading.causes, ...leading.remediation].join('\n').toLowerCase()
  let explanationOk: boolean
  let explanationDetail: string
  if (c.status === 'unresolved') {
    explanationOk = leading.certainty === 'cannot-tell'
    explanationDetail = explanationOk ? 'says it cannot tell' : `claims ${leading.category}: ${leading.summary}`
  } else {
    const missing = c.terms.filter((t) => !termFound(t, text))
    explanationOk = leading.category === c.category && missing.length === 0
    explanationDetail = leading.category !== c.category
      ? `expected ${c.category}, led with ${leading.category} (${leading.rule}): ${leading.summary}`
      : missing.length > 0 ? `${c.category}, but does not name: ${missing.join(', ')}` : 'named'
  }
  return {case: c, parseOk: parseDetail.length === 0, parseDetail, explanationOk, explanationDetail, leading}
}

export interface Score {
  cases: number
  resolved: number
  resolvedNamed: number
  unresolved: number
  unresolvedCannotTell: number
  parsed: number
  byCategory: Array<{category: string; cases: number; named: number}>
  /** Per IOMMU family: cases, explanations right (named, or cannot-tell where unresolved), records parsed exactly. */
  byFamily: Array<{family: string; cases: number; named: number; parsed: number}>
}

export function scoreResults(results: CaseResult[]): Score {
  const byCategory = new Map<string, {cases: number; named: number}>()
  for (const r of results) {
    const key = r.case.status === 'unresolved' ? 'unresolved → cannot tell' : r.case.category
    const row = byCategory.get(key) ?? {cases: 0, named: 0}
    row.cases++
    if (r.explanationOk) row.named++
    byCategory.set(key, row)
  }
  const byFamily = new Map<string, {cases: number; named: number; parsed: number}>()
  for (const r of results) {
    const row = byFamily.get(r.case.family) ?? {cases: 0, named: 0, parsed: 0}
    row.cases++
    if (r.explanationOk) row.named++
    if (r.parseOk) row.parsed++
    byFamily.set(r.case.family, row)
  }
  const resolved = results.filter((r) => r.case.status === 'resolved')
  const unresolved = results.filter((r) => r.case.status === 'unresolved')
  return {
    cases: results.length,
    resolved: resolved.length,
    resolvedNamed: resolved.filter((r) => r.explanationOk).length,
    unresolved: unresolved.length,
    unresolvedCannotTell: unresolved.filter((r) => r.explanationOk).length,
    parsed: results.filter((r) => r.parseOk).length,
    byCategory: [...byCategory.entries()].map(([category, v]) => ({category, ...v})).sort((a, b) => a.category.localeCompare(b.category)),
    byFamily: [...byFamily.entries()].map(([family, v]) => ({family, ...v})).sort((a, b) => a.family.localeCompare(b.family)),
  }
}

const pct = (n: number, d: number): string => (d === 0 ? '-' : `${Math.round((1000 * n) / d) / 10}%`)

export function formatScore(score: Score, results: CaseResult[], verbose = false, title = 'log alone'): string {
  const out: string[] = []
  out.push(`fault-cases: ${score.cases} real cases — ${title}`)
  out.push(`  resolved, cause named:        ${score.resolvedNamed}/${score.resolved} (${pct(score.resolvedNamed, score.resolved)})`)
  out.push(`  unresolved, says cannot tell: ${score.unresolvedCannotTell}/${score.unresolved} (${pct(score.unresolvedCannotTell, score.unresolved)})`)
  out.push(`  records parsed exactly:       ${score.parsed}/${score.cases} (${pct(score.parsed, score.cases)})`)
  out.push('  per category:')
  for (const row of score.byCategory) out.push(`    ${row.category.padEnd(26)} ${String(row.named).padStart(3)}/${String(row.cases).padEnd(3)} ${pct(row.named, row.cases)}`)
  out.push('  per IOMMU family (explained / parsed exactly):')
  for (const row of score.byFamily) out.push(`    ${row.family.padEnd(26)} ${String(row.named).padStart(3)}/${String(row.cases).padEnd(3)} ${pct(row.named, row.cases).padEnd(7)} parsed ${row.parsed}/${row.cases}`)
  if (verbose) {
    for (const r of results) {
      if (r.explanationOk && r.parseOk) continue
      out.push(`  ✗ ${r.case.name}`)
      if (!r.explanationOk) out.push(`      explanation: ${r.explanationDetail}`)
      for (const d of r.parseDetail) out.push(`      parse: ${d}`)
    }
  }
  return out.join('\n')
}

/**
 * The cases whose answer the thread's host evidence changes, for the report: name, category, and
 * the leading explanation on the log alone and with the evidence.
 */
export function formatHostDifferences(logResults: CaseResult[], hostResults: CaseResult[]): string {
  const out: string[] = []
  const withEvidence = hostResults.filter((r) => r.case.host !== undefined)
  out.push(`host evidence from the threads: ${withEvidence.length} case(s) carry some`)
  for (const r of withEvidence) {
    const before = logResults.find((l) => l.case.name === r.case.name)!
    const kinds = (['lspci', 'uname', 'cmdline'] as const).filter((k) => r.case.host![k] !== undefined).join('+')
    const mark = (x: CaseResult) => (x.explanationOk ? 'named' : x.case.status === 'unresolved' ? `claims ${x.leading.category}` : `${x.leading.category} (${x.leading.rule})`)
    out.push(`  ${r.explanationOk && !before.explanationOk ? '+' : !r.explanationOk && before.explanationOk ? '-' : ' '} ${r.case.name} [${kinds}]: log alone ${mark(before)} → with evidence ${mark(r)}`)
  }
  return out.join('\n')
}
