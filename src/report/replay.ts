/**
 * The `replay` report: one DMA request walked through the translation tables, step by step,
 * as a table for people and as JSON (addresses and raw entries as "0x…" strings).
 */
import {fittedTable} from './fit-table.js'
import Table from 'cli-table3'
import type {Outcome} from '../checks/outcome.js'
import type {StaleWindow} from '../replay/translation/cache.js'
import type {ReplayContext} from '../replay/translation/context.js'
import {reasonName} from '../replay/translation/reasons.js'
import type {WalkResult, WalkStep} from '../replay/translation/replay.js'

export const REPLAY_SCHEMA_VERSION = 1

export interface ReplayStepJson {
  kind: WalkStep['kind']
  title: string
  level?: number
  tableAddress?: string
  index?: number
  entryAddress?: string
  /** The entry as 64-bit words, lowest first. */
  raw: string[]
  fields: Record<string, string>
  result: WalkStep['result']
  reason?: number
}

export interface ReplayReport {
  schemaVersion: number
  tool: 'vtd-check'
  /** Where the tables came from: debugfs (live), what-if (built from the host model), json. */
  tables: ReplayContext['source']
  notes: string[]
  request: {requester: string; address: string; access: string; pasid?: number}
  unit?: string
  ok: boolean
  outcome: WalkResult['outcome']
  hpa?: string
  pageSize?: string
  did?: number
  fault?: {reason: number; reasonText: string; step: string; level?: number; recorded: boolean}
  explanation?: string
  steps: ReplayStepJson[]
  /** With --stale-window: how long a freed IOVA stays reachable through cached translations. */
  staleWindow?: StaleWindowJson
}

export interface StaleWindowJson {
  /** The device's default domain type, when the host model says. */
  domainType?: string
  /** Which policy that type means: DMA-FQ → lazy, DMA → strict. */
  policy?: 'strict' | 'lazy'
  timelines: StaleWindow[]
}

/** DMA-FQ is the flush-queue (lazy) domain; DMA flushes on every unmap (strict). */
export function staleWindowJson(domainType: string | undefined, timelines: StaleWindow[]): StaleWindowJson {
  const out: StaleWindowJson = {timelines}
  if (domainType !== undefined) {
    out.domainType = domainType
    if (domainType === 'DMA-FQ') out.policy = 'lazy'
    if (domainType === 'DMA') out.policy = 'strict'
  }
  return out
}

export function renderStaleWindow(stale: StaleWindowJson): string {
  const lines: string[] = ['', 'Stale-entry window (a page the driver unmapped, the device keeps reading it):']
  for (const t of stale.timelines) {
    const table = new Table({head: ['t (ms)', t.policy === 'lazy' ? 'lazy (DMA-FQ)' : 'strict (DMA)', 'what happened'], style: {head: [], border: []}, wordWrap: true})
    for (const e of t.events) table.push([String(e.timeMs), e.action, e.detail])
    lines.push(table.toString())
    lines.push(
      t.policy === 'lazy'
        ? `lazy: ${t.staleHits} DMA(s) reached the freed page through the IOTLB until the flush at ${t.window.toMs} ms`
        : `strict: the unmap invalidates at once; ${t.staleHits} DMA(s) reached the freed page`,
    )
  }
  if (stale.domainType !== undefined) {
    lines.push(
      stale.policy === undefined
        ? `This device's domain type is ${stale.domainType}: no IOVA invalidation window applies.`
        : `This device's domain type is ${stale.domainType}: the ${stale.policy} timeline applies${stale.policy === 'lazy' ? ' (iommu.strict=1 closes the window, at some cost in unmap speed)' : ''}.`,
    )
  }
  return lines.join('\n') + '\n'
}

const hex = (v: bigint | number): string => '0x' + v.toString(16)

function stepJson(step: WalkStep): ReplayStepJson {
  const out: ReplayStepJson = {
    kind: step.kind,
    title: step.title,
    raw: step.raw.map(hex),
    fields: Object.fromEntries(Object.entries(step.fields).map(([k, v]) => [k, hex(v)])),
    result: step.result,
  }
  if (step.level !== undefined) out.level = step.level
  if (step.tableAddress !== undefined) out.tableAddress = hex(step.tableAddress)
  if (step.index !== undefined) out.index = step.index
  if (step.entryAddress !== undefined) out.entryAddress = hex(step.entryAddress)
  if (step.reason !== undefined) out.reason = step.reason
  return out
}

export function replayReport(context: ReplayContext, result: WalkResult): ReplayReport {
  const unit = context.units.find((u) => u.name === result.unit)
  const report: ReplayReport = {
    schemaVersion: REPLAY_SCHEMA_VERSION,
    tool: 'vtd-check',
    tables: context.source,
    notes: [...context.notes, ...(unit?.notes ?? [])],
    request: {requester: result.requester, address: hex(result.address), access: result.access},
    ok: result.ok,
    outcome: result.outcome,
    steps: result.steps.map(stepJson),
  }
  if (result.pasid !== undefined) report.request.pasid = result.pasid
  if (result.unit !== '') report.unit = result.unit
  if (result.ok) {
    report.hpa = hex(result.hpa)
    if (result.pageSize !== undefined) report.pageSize = hex(result.pageSize)
    if (result.did !== undefined) report.did = result.did
  } else if (result.outcome === 'fault') {
    report.fault = {reason: result.fault, reasonText: result.faultText, step: result.step.title, recorded: result.recorded}
    if (result.level !== undefined) report.fault.level = result.level
    if (result.did !== undefined) report.did = result.did
    report.explanation = result.explanation
  } else report.explanation = result.explanation
  return report
}

/** The replay's verdict as a check outcome, for the exit-code policy. */
/** Said wherever a walk ran on what-if tables. */
export const HYPOTHETICAL = 'the walk is hypothetical, the live IOVA mappings are not visible without the kernel\'s debugfs dump (root)'

const hypothetical = (report: ReplayReport): boolean => report.tables === 'what-if' && report.outcome !== 'pass-through'

export function replayOutcome(report: ReplayReport): Outcome {
  // What-if tables are built from the host model without the live IOVA mappings: unless the domain
  // passes DMA through untranslated, the real walk could end elsewhere, so "could not tell" (exit 3).
  if (hypothetical(report)) return 'unknown'
  if (report.ok) return 'pass'
  if (report.outcome === 'fault') return 'fail'
  if (report.outcome === 'unknown') return 'unknown'
  return 'warn'
}

const SHOWN_FIELDS: Record<string, string[]> = {
  'root-entry': ['present', 'ctp'],
  'context-entry': ['present', 'fpd', 'tt', 'aw', 'did', 'slptptr'],
  'scalable-root-entry': ['lp', 'lctp', 'up', 'uctp'],
  'scalable-context-entry': ['present', 'fpd', 'dte', 'paside', 'pdts', 'ridPasid', 'pasiddirptr'],
  'pasid-directory-entry': ['present', 'fpd', 'pasidTablePointer'],
  'pasid-table-entry': ['present', 'fpd', 'pgtt', 'aw', 'did', 'ssptptr', 'fsptptr', 'sre'],
  'sl-pte': ['r', 'w', 'ps', 'addr'],
  'fl-pte': ['p', 'rw', 'us', 'ps', 'xd', 'addr'],
}

function fieldSummary(step: ReplayStepJson): string {
  const names = SHOWN_FIELDS[step.kind] ?? []
  return names
    .filter((n) => step.fields[n] !== undefined)
    .map((n) => {
      const v = step.fields[n] ?? ''
      return /ptr|ctp|addr|Pointer/i.test(n) ? `${n}=${v}` : `${n}=${BigInt(v).toString()}`
    })
    .join(' ')
}

export interface ReplayRenderOptions {
  width?: number
}

export function renderReplayReport(report: ReplayReport, options: ReplayRenderOptions = {}): string {
  const lines: string[] = []
  const req = report.request
  lines.push(
    `Replay: ${req.access} of ${req.address} from ${req.requester}${req.pasid !== undefined ? ` PASID ${req.pasid}` : ''}${report.unit !== undefined ? ` on ${report.unit}` : ''}`,
  )
  lines.push(`Tables: ${report.tables === 'what-if' ? 'what-if (built from the host model)' : report.tables === 'debugfs' ? 'kernel debugfs dump (live)' : 'JSON description'}`)
  if (report.steps.length > 0) {
    const rows = report.steps.map((step, i) => {
      const result = step.result === 'fault' && step.reason !== undefined ? `FAULT 0x${step.reason.toString(16).padStart(2, '0')}` : step.result
      return [String(i + 1), step.title, step.entryAddress ?? '', rawSummary(step.raw), fieldSummary(step), result]
    })
    lines.push(fittedTable({head: ['#', 'step', 'entry @', 'raw', 'fields', 'result'], rows, width: options.width}))
  }
  if (report.ok) {
    lines.push(`Result: ${report.outcome === 'pass-through' ? 'pass-through' : 'translated'} → ${report.hpa}${report.pageSize !== undefined ? ` (${pageSizeName(report.pageSize)} page)` : ''}${report.did !== undefined ? `, domain ${report.did}` : ''}`)
  } else if (report.fault !== undefined) {
    const f = report.fault
    lines.push(`Result: FAULT reason 0x${f.reason.toString(16).padStart(2, '0')} (${f.reasonText || reasonName(f.reason)}) at ${f.step}${f.recorded ? '' : ' — not recorded: fault processing disabled (FPD)'}`)
    if (report.explanation !== undefined) lines.push(`Why: ${report.explanation}`)
  } else {
    lines.push(`Result: ${report.outcome}`)
    if (report.explanation !== undefined) lines.push(`Why: ${report.explanation}`)
  }
  for (const note of report.notes) lines.push(`Note: ${note}`)
  if (hypothetical(report)) lines.push(`Hypothetical: ${HYPOTHETICAL}; exit 3 (could not tell)`)
  return lines.join('\n') + '\n' + (report.staleWindow !== undefined ? renderStaleWindow(report.staleWindow) : '')
}

/** Raw words lowest first, trailing zero words folded (a PASID-table entry has eight). */
function rawSummary(raw: string[]): string {
  let last = raw.length - 1
  while (last > 0 && raw[last] === '0x0') last--
  const shown = raw.slice(0, last + 1).join('\n')
  return last < raw.length - 1 ? `${shown}\n(+${raw.length - 1 - last} zero)` : shown
}

function pageSizeName(size: string): string {
  const n = BigInt(size)
  if (n === 1n << 30n) return '1 GiB'
  if (n === 1n << 21n) return '2 MiB'
  return '4 KiB'
}
