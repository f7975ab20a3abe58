/**
 * `vtd-check faults` output: the versioned JSON contract (faults[] as DESIGN.md names them) and a
 * table a sysadmin reads in five seconds — worst offenders first, one line of "why" each, then
 * what to do for the top groups. Pure: (result, options) => value or string.
 */
import Table from 'cli-table3'
import type {Evidence, Outcome} from '../checks/outcome.js'
import {formatReasonCode} from '../decode/fault-reasons.js'
import {amdViFlagNames} from '../decode/kernel-log/amd-vi.js'
import type {LogRecord, LogTime} from '../decode/kernel-log/index.js'
import {leadingExplanation, MAX_EVENT_GROUPS, MAX_FOLDED_GROUPS, MAX_GROUPS, type ContextGroup, type EventGroup, type FaultGroup, type FaultTrace, type LeadingExplanation, type Seen, type TriageResult} from '../replay/fault-triage.js'

export const FAULTS_SCHEMA_VERSION = 1

const hex = (v: bigint | number) => '0x' + v.toString(16)

export interface SeenJson {
  line: number
  time?: string
  seconds?: number
}

export interface ExplanationJson {
  rule: string
  /** The cause class ("igfx", "dma-alias", "address-zero" …; "cannot-tell" when nothing narrows it). */
  category: string
  /** "cannot-tell" when the facts only narrow the candidates (listed in causes). */
  certainty: 'likely' | 'cannot-tell'
  summary: string
  causes: string[]
  remediation: string[]
  evidence: Evidence[]
}

export interface FaultJson {
  /** Which IOMMU reported it: intel-vtd, amd-vi, arm-smmu-v3, arm-smmu. */
  family: FaultGroup['family']
  kind: 'dma' | 'interrupt'
  /**
   * Full BDF; the kernel prints no segment, so 0000 unless the line had one (Xen). SMMU faults
   * whose master the kernel did not name: "UNIT sid 0xN" (the StreamID on that SMMU).
   */
  requester: string
  requesterAsLogged: string
  access: 'read' | 'write' | null
  address?: string
  page?: string
  index?: string
  /** VT-d fault reason; null when the two-line form lost its second line, and for other families (see event). */
  reason: number | null
  reasonHex: string | null
  reasonText: string
  meaning: string | null
  pasid?: number
  /** AMD-Vi / SMMU: the event type (IO_PAGE_FAULT, F_TRANSLATION, context-fault …). */
  event?: string
  /** AMD-Vi IO_PAGE_FAULT flags / SMMU v1/v2 FSR, and the names of the bits set. */
  flags?: string
  flagNames?: string[]
  /** AMD-Vi protection domain. */
  domain?: number
  /** AMD-Vi 5.x+: the driver the line named for the requester ("pci": none bound). */
  driver?: string
  /** SMMU StreamID and the SMMU that reported it. */
  streamId?: string
  unit?: string
  count: number
  suppressedNearby: number
  storm: boolean
  peakPer5s: number
  firstSeen: SeenJson
  lastSeen: SeenJson
  formats: string[]
  /** This group collects every page past the group cap (no single address). */
  otherPages?: boolean
  /** Counts per time bucket (seconds in the log's clock: since boot, or since the epoch). */
  timeline?: FaultGroup['timeline']
  trace?: FaultTrace
  explanation: ExplanationJson
}

export interface EventJson {
  type: EventGroup['type']
  event: string
  device?: string
  count: number
  firstSeen: SeenJson
  lastSeen: SeenJson
  sample: string
  explanation: ExplanationJson
}

export interface ContextJson {
  event: ContextGroup['event']
  detail?: string
  count: number
  firstSeen: SeenJson
  explanation?: ExplanationJson
}

export interface FaultsJson {
  schemaVersion: number
  tool: 'vtd-check'
  /** `binary`: the log's first bytes are not text (then no fault is not a pass). */
  source: {origin: string; path: string; lines: number; bytes?: number; binary?: true}
  summary: TriageResult['summary'] & {groups: number; storms: number}
  /** What the whole log comes down to: the explanation to read first. */
  leading: LeadingExplanation
  faults: FaultJson[]
  events: EventJson[]
  /** Lines that change what the faults mean (chipset erratum, firmware-table bugs, kdump …). */
  context: ContextJson[]
  logContext: {
    rmrrs: Array<{base: string; end: string; device?: string; line: number}>
    defaultDomain?: string
    interruptRemapping?: string
    groups: number
  }
  notes: string[]
}

function seenJson(s: Seen): SeenJson {
  const out: SeenJson = {line: s.line}
  if (s.time !== undefined) {
    out.time = s.time.text
    if (s.time.seconds !== undefined) out.seconds = s.time.seconds
  }
  return out
}

function faultJson(g: FaultGroup): FaultJson {
  const out: FaultJson = {
    family: g.family,
    kind: g.kind,
    requester: g.requester,
    requesterAsLogged: g.requesterAsLogged,
    access: g.access ?? null,
    reason: g.reason ?? null,
    reasonHex: g.reason === undefined ? null : formatReasonCode(g.reason),
    reasonText: g.reasonText,
    meaning: g.reasonInfo?.meaning ?? g.eventMeaning ?? null,
    count: g.count,
    suppressedNearby: g.suppressedNearby,
    storm: g.storm,
    peakPer5s: g.peakPer5s,
    firstSeen: seenJson(g.first),
    lastSeen: seenJson(g.last),
    formats: g.formats,
    explanation: g.explanation,
  }
  if (g.address !== undefined) out.address = hex(g.address)
  if (g.page !== undefined) out.page = hex(g.page)
  if (g.index !== undefined) out.index = hex(g.index)
  if (g.pasid !== undefined) out.pasid = g.pasid
  if (g.event !== undefined) out.event = g.event
  if (g.flags !== undefined) out.flags = hex(g.flags)
  if (g.flagNames !== undefined) out.flagNames = g.flagNames
  if (g.domain !== undefined) out.domain = g.domain
  if (g.driver !== undefined) out.driver = g.driver
  if (g.streamId !== undefined) out.streamId = hex(g.streamId)
  if (g.unit !== undefined) out.unit = g.unit
  if (g.trace !== undefined) out.trace = g.trace
  if (g.otherPages) out.otherPages = true
  if (g.timeline !== undefined) out.timeline = g.timeline
  return out
}

export function faultsToJson(result: TriageResult, source: FaultsJson['source'], notes: string[] = []): FaultsJson {
  const allNotes = [...notes]
  if (result.summary.overflows > 0) allNotes.push(`${result.summary.overflows} fault-status line(s) had the overflow bit (PFO) set: the hardware lost fault records`)
  if (result.summary.ungrouped > 0) allNotes.push(`… and ${result.summary.ungrouped} more fault or event line(s) past the cap of ${MAX_GROUPS + MAX_FOLDED_GROUPS} fault groups (${MAX_GROUPS} distinct, then ${MAX_FOLDED_GROUPS} "other pages" groups) and ${MAX_EVENT_GROUPS} event groups: counted, not grouped`)
  if (result.summary.pageRequestOverflows > 0) allNotes.push(`${result.summary.pageRequestOverflows} fault-status line(s) had the page-request overflow bit (PRO) set: page requests from PRI/SVA devices were lost`)
  return {
    schemaVersion: FAULTS_SCHEMA_VERSION,
    tool: 'vtd-check',
    source,
    summary: {...result.summary, groups: result.faults.length, storms: result.faults.filter((f) => f.storm).length},
    leading: leadingExplanation(result),
    faults: result.faults.map(faultJson),
    events: result.events.map((e) => {
      const out: EventJson = {type: e.type, event: e.event, count: e.count, firstSeen: seenJson(e.first), lastSeen: seenJson(e.last), sample: e.sample, explanation: e.explanation}
      if (e.device !== undefined) out.device = e.device
      return out
    }),
    context: result.context.map((c) => {
      const out: ContextJson = {event: c.event, count: c.count, firstSeen: seenJson(c.first)}
      if (c.detail !== undefined) out.detail = c.detail
      if (c.explanation !== undefined) out.explanation = c.explanation
      return out
    }),
    logContext: {
      rmrrs: result.logContext.rmrrs.map((r) => ({base: hex(r.base), end: hex(r.end), ...(r.device === undefined ? {} : {device: r.device}), line: r.line})),
      groups: result.logContext.groups,
      ...(result.logContext.defaultDomain === undefined ? {} : {defaultDomain: result.logContext.defaultDomain}),
      ...(result.logContext.interruptRemapping === undefined ? {} : {interruptRemapping: result.logContext.interruptRemapping}),
    },
    notes: allNotes,
  }
}

/** Exit policy input: faults of any IOMMU, QI errors, RMRR refusals and AMD-Vi IOMMU errors fail; unreadable fault lines are unknown; nothing is a pass. */
export function faultOutcomes(report: FaultsJson): Outcome[] {
  const failing = report.faults.length > 0 || report.events.some((e) => e.type === 'qi' || e.type === 'rmrr-refusal' || e.type === 'prq' || (e.type === 'amd-vi' && !e.event.endsWith('suppressed')))
  if (failing) return ['fail']
  if (report.events.some((e) => e.type === 'amd-vi' || e.type === 'unparsed')) return ['unknown']
  // An empty log, or bytes that are no text, show no fault because they show nothing.
  if (report.source.lines === 0 || report.source.binary === true) return ['unknown']
  return ['pass']
}

function when(s: SeenJson): string {
  return s.time ?? `line ${s.line}`
}

function span(first: SeenJson, last: SeenJson): string {
  return first.line === last.line ? when(first) : `${when(first)} → ${when(last)}`
}

function countText(f: FaultJson): string {
  const more = f.suppressedNearby > 0 ? ` (+${f.suppressedNearby} suppressed)` : ''
  return `${f.count}${more}${f.storm ? ' STORM' : ''}`
}

function what(f: FaultJson): string {
  if (f.kind === 'interrupt') return `IR index ${f.index ?? '?'}`
  if (f.otherPages) return `${f.access ?? 'DMA'} (other pages)`
  return `${f.access ?? 'DMA'} ${f.address ?? '?'}`
}

export interface RenderFaultsOptions {
  /** Table width in columns (terminal width). */
  width?: number
  /** How many groups get a "what to do" block. */
  detail?: number
  /** Table rows at most (the rest is summarised; --json has all). */
  rows?: number
}

export function renderFaultsTable(report: FaultsJson, options: RenderFaultsOptions = {}): string {
  const width = Math.max(78, options.width ?? 120)
  const s = report.summary
  const out: string[] = []
  const worst = report.faults[0]
  const unparsed = report.events.filter((e) => e.type === 'unparsed')
  const unparsedLines = unparsed.reduce((n, e) => n + e.count, 0)
  out.push(
    report.faults.length === 0
      ? unparsedLines > 0
        ? `No fault could be parsed in ${report.source.path} (${report.source.lines} lines read), but ${unparsedLines} fault-like line(s) were not understood — shown below.`
        : report.source.lines === 0
          ? `${report.source.path} is empty: no kernel log lines to read, so nothing can be told (exit 3).`
          : report.source.binary === true
            ? `${report.source.path} does not look like a text log (its first bytes are mostly control bytes): no fault line was found, so nothing can be told (exit 3).`
            : `No IOMMU faults (DMAR, interrupt remapping, AMD-Vi, SMMU) in ${report.source.path} (${report.source.lines} lines read).`
      : `${s.faultRecords} fault line(s) in ${report.faults.length} group(s)` +
        `${s.suppressed > 0 ? `, ${s.suppressed} more lost to the kernel's rate limit ("dmar_fault: / amd_iommu_report_page_fault: … callbacks suppressed": the kernel did not print them)` : ''}` +
        `${unparsedLines > 0 ? `, ${unparsedLines} fault-like line(s) not understood` : ''}` +
        `${s.storms > 0 ? `, ${s.storms} storm(s)` : ''} — ${report.source.path}, ${report.source.lines} lines.` +
        `${familiesText(s.families)}` +
        (worst ? `\nWorst: ${worst.requester} ${reasonCell(worst)} ×${worst.count}${worst.suppressedNearby ? ` (+${worst.suppressedNearby})` : ''}` : ''),
  )
  if (report.faults.length > 0) {
    // Wide terminals get every column; narrow ones fold reason, address and time into two.
    const wide = width >= 140
    // colWidths include cell padding; add one column per border.
    const fixed = wide ? 4 + 14 + 20 + 24 + 14 + 26 + 8 : 4 + 14 + 20 + 10 + 6
    const why = Math.max(24, width - fixed)
    const table = new Table({
      head: wide ? ['#', 'Requester', 'Reason', 'What', 'Count', 'Seen', 'Why'] : ['#', 'Requester', 'Reason / what', 'Count', 'Why'],
      colWidths: wide ? [4, 14, 20, 24, 14, 26, why] : [4, 14, 20, 10, why],
      wordWrap: true,
      style: {head: [], border: []},
    })
    const rows = options.rows ?? 25
    report.faults.slice(0, rows).forEach((f, i) => {
      const reason = reasonCell(f)
      table.push(wide
        ? [String(i + 1), f.requester, reason, what(f), countText(f), span(f.firstSeen, f.lastSeen), f.explanation.summary]
        : [String(i + 1), f.requester, `${f.family === 'intel-vtd' ? f.reasonHex ?? '?' : reason} ${what(f)}\n${span(f.firstSeen, f.lastSeen)}`, countText(f), f.explanation.summary])
    })
    out.push(table.toString())
    if (report.faults.length > rows) {
      const rest = report.faults.slice(rows)
      out.push(`… and ${rest.length} more group(s) with ${rest.reduce((n, f) => n + f.count, 0)} fault line(s); --json lists them all.`)
    }
    const byRequester = new Map<string, {groups: number; count: number; suppressed: number}>()
    for (const f of report.faults) {
      const r = byRequester.get(f.requester) ?? {groups: 0, count: 0, suppressed: 0}
      r.groups++
      r.count += f.count
      r.suppressed += f.suppressedNearby
      byRequester.set(f.requester, r)
    }
    if (byRequester.size > 1 || report.faults.length > rows) {
      out.push('By requester: ' + [...byRequester.entries()].sort((a, b) => b[1].count - a[1].count)
        .map(([req, r]) => `${req} ${r.count} fault(s) in ${r.groups} group(s)${r.suppressed ? ` (+${r.suppressed} suppressed)` : ''}`).join('; '))
    }
    // One block per explanation: neighbouring pages of one requester explained alike are folded into it.
    const detail = options.detail ?? 3
    const blocks: Array<{f: FaultJson; index: number; more: FaultJson[]}> = []
    report.faults.forEach((f, index) => {
      const same = blocks.find((b) => sameExplanation(b.f, f))
      if (same !== undefined) same.more.push(f)
      else if (blocks.length < detail) blocks.push({f, index, more: []})
    })
    blocks.forEach(({f, index: i, more}) => {
      out.push(`\n${i + 1}. ${f.requester} — ${f.explanation.certainty === 'cannot-tell' ? '(cannot tell which) ' : ''}${f.explanation.summary}`)
      if (more.length > 0) out.push(`   the same explanation covers ${more.length} more group(s) of this requester: ${more.slice(0, 6).map(what).join(', ')}${more.length > 6 ? ' …' : ''}`)
      if (f.trace) for (const d of f.trace.devices) out.push(`   device: ${d.bdf} (${d.detail}${d.driver ? `, driver ${d.driver}` : ''}${d.group !== undefined ? `, group ${d.group}` : ''})`)
      if (f.trace?.note) out.push(`   device: ${f.trace.note}`)
      if (f.timeline && f.timeline.buckets.length > 1) {
        const shown = f.timeline.buckets.slice(0, 12).map((b) => `${b.count}@${(b.at - f.timeline!.startSeconds).toFixed(0)}s`)
        out.push(`   timeline (${f.timeline.bucketSeconds} s buckets from ${f.firstSeen.time ?? 'start'}): ${shown.join(' ')}${f.timeline.buckets.length > 12 ? ' …' : ''}`)
      }
      if (f.explanation.causes.length) out.push(`   ${f.explanation.certainty === 'cannot-tell' ? 'candidates' : 'causes'}: ${f.explanation.causes.join('; ')}`)
      for (const r of f.explanation.remediation) out.push(`   → ${r}`)
      for (const e of f.explanation.evidence.slice(0, 4)) out.push(`   evidence: ${e.fact}${e.source ? ` [${e.source}]` : ''}`)
    })
  }
  if (report.events.length > 0) {
    const table = new Table({head: ['Event', 'Device', 'Count', 'Seen', 'Meaning'], colWidths: [30, 16, 8, 26, Math.max(30, width - 80 - 15)], wordWrap: true, style: {head: [], border: []}})
    // A line this tool could not parse is shown as printed: the reader may recognise it.
    for (const e of report.events) table.push([`${e.type}: ${e.event}`, e.device ?? '', String(e.count), span(e.firstSeen, e.lastSeen), e.type === 'unparsed' ? `${e.sample}\n(${e.explanation.summary})` : e.explanation.summary])
    out.push('\nOther IOMMU events:\n' + table.toString())
    for (const e of report.events.filter((ev) => ev.explanation.remediation.length > 0).slice(0, 3)) {
      out.push(`${e.type}: ${e.event}${e.device ? ` ${e.device}` : ''}`)
      for (const r of e.explanation.remediation) out.push(`   → ${r}`)
    }
  }
  const context = report.context.filter((c) => c.explanation !== undefined)
  if (context.length > 0) {
    out.push('\nContext from the log:')
    for (const c of context) out.push(`  line ${c.firstSeen.line}: ${c.explanation!.summary}${c.explanation!.remediation[0] ? `\n   → ${c.explanation!.remediation[0]}` : ''}`)
  }
  for (const note of report.notes) out.push(`note: ${note}`)
  return out.join('\n') + '\n'
}

/** The reason column: the VT-d reason code and text, or the family's event and flags. */
function reasonCell(f: FaultJson): string {
  if (f.family === 'intel-vtd') return `${f.reasonHex ?? '?'} ${f.reasonText}`
  const label = f.family === 'amd-vi' ? 'AMD-Vi' : f.family === 'arm-smmu-v3' ? 'SMMUv3' : 'SMMU'
  return `${label} ${f.event ?? f.reasonText}${f.flagNames?.length ? ` [${f.flagNames.join(' ')}]` : ''}`
}

/** ", by IOMMU: 3 AMD-Vi, 2 SMMUv3" — only when a family other than VT-d is present. */
function familiesText(families: TriageResult['summary']['families']): string {
  const entries = Object.entries(families)
  if (entries.length === 0 || (entries.length === 1 && entries[0]![0] === 'intel-vtd')) return ''
  return ` By IOMMU: ${entries.map(([family, n]) => `${n} ${family}`).join(', ')}.`
}

/** Two groups of one requester whose explanation differs only in the page it names. */
function sameExplanation(a: FaultJson, b: FaultJson): boolean {
  // Addresses and times differ between neighbouring pages ("did DMA 0.361089s after boot"); the explanation does not.
  const strip = (text: string) => text.replace(/0x[0-9a-f]+|\d+(?:\.\d+)?/g, '')
  return a.requester === b.requester && a.reason === b.reason && a.event === b.event && a.explanation.rule === b.explanation.rule
    && strip(a.explanation.summary) === strip(b.explanation.summary)
}

/** --follow: one line per fault record of any family as it arrives; undefined for other records. */
export function renderLiveRecord(r: LogRecord): string | undefined {
  if (r.type === 'fault') return renderLiveFault(r)
  if (r.type === 'amd-vi') {
    const flags = r.flagBits === undefined ? '' : ` [${amdViFlagNames(r.flagBits).join(' ')}]`
    return `${r.time?.text ?? ''} ${r.device ?? ''} AMD-Vi ${r.event}${flags}${r.address === undefined ? '' : ` ${hex(r.address)}`} — ${r.meaning}`.replace(/^ +/, '').replace(/  +/g, ' ')
  }
  if (r.type === 'smmu') {
    const who = r.client ?? `${r.unit}${r.streamId === undefined ? '' : ` sid ${hex(r.streamId)}`}`
    return `${r.time?.text ?? ''} ${who} ${r.family === 'arm-smmu-v3' ? 'SMMUv3' : 'SMMU'} ${r.event}${r.access === undefined ? '' : ` ${r.access}`}${r.address === undefined ? '' : ` ${hex(r.address)}`} — ${r.meaning}`.replace(/^ +/, '')
  }
  return undefined
}

/** One line per fault as it arrives (--follow). */
export function renderLiveFault(f: {requester: string; kind: string; access?: string; address?: bigint; index?: bigint; reason?: number; reasonText: string; time?: LogTime}): string {
  const where = f.kind === 'interrupt' ? `index ${hex(f.index ?? 0n)}` : `${f.access ?? ''} ${hex(f.address ?? 0n)}`
  return `${f.time?.text ?? ''} ${f.requester} ${where} ${f.reason === undefined ? '?' : formatReasonCode(f.reason)} ${f.reasonText}`.trim()
}
