/**
 * The `check` report: the JSON envelope (a versioned contract, see schema/check.schema.json)
 * and the human rendering — verdict line, one table row per check, then what to do.
 */
import type {CollectedHost} from '../collect/types.js'
import {overallVerdict, type OverallVerdict} from '../checks/catalogue.js'
import type {Assessment} from '../checks/assess.js'
import type {IommuFamily} from '../model/host.js'
import type {CpuVendor} from '../model/platform.js'
import type {SubjectResult} from '../checks/outcome.js'
import type {PassthroughPlan} from '../checks/plan.js'
import {countsLine, OUTCOME_MARK, outcomeTable} from './outcome-table.js'
import {iommuFamilyWords} from './iommu-family.js'
import {renderPlan} from './plan.js'

/** Bump only for breaking changes; additions keep the number (DESIGN.md: additive contract). */
export const CHECK_SCHEMA_VERSION = 1 as const

export interface CheckReportHost {
  /** `/` for the live host, else the snapshot directory. */
  root: string
  kernel?: string
  cpuVendor: CpuVendor
  /** Which IOMMU the firmware/kernel show: intel, amd, other (e.g. virtio-iommu), none, or unknown (not readable); present, whether or not it is on (see iommuActive). */
  iommu: 'intel' | 'amd' | 'other' | 'none' | 'unknown'
  /** The IOMMU architecture: intel-vtd, amd-vi, arm-smmu-v3, other (virtio-iommu, SMMUv1/v2) or none. */
  iommuFamily: IommuFamily
  /** DMA remapping is on: remapping units registered and IOMMU groups exist. */
  iommuActive?: boolean
  virtualized: boolean
  /** Where the kernel log came from ("dmesg", "/dmesg.txt" …) and whether it could be read. */
  logSource: string
  logReadable: boolean
  /** For a snapshot: whether it was captured as root (from its meta.json; absent when it does not say). */
  capturedAsRoot?: boolean
}

/** One result in the JSON: a check's outcome, with `subject` (the full BDF) for per-device checks. */
export type CheckReportResult = SubjectResult

/** The JSON `vtd-check check --json` prints: verdict, one result per check (and device), plans. */
export interface CheckReport {
  /** Contract version; bumped only for breaking changes. */
  schemaVersion: typeof CHECK_SCHEMA_VERSION
  tool: 'vtd-check'
  host: CheckReportHost
  verdict: OverallVerdict
  /** Sorted by id, then subject. */
  results: CheckReportResult[]
  /** One passthrough plan per device examined (`--device`, or devices on vfio-pci). */
  plans: PassthroughPlan[]
  /** Host paths that exist but could not be read (typically: not root). */
  unreadable: string[]
  /**
   * Snapshot paths the guarded reader would not read, with why (points outside the snapshot, not a
   * regular file, larger than its cap): a damaged or tampered snapshot, not a missing root.
   */
  refused?: RefusedPath[]
}

export interface RefusedPath {
  path: string
  why: string
}

export function buildCheckReport({context: ctx, results, plans}: Assessment): CheckReport {
  const host: CollectedHost = ctx.host
  return {
    schemaVersion: CHECK_SCHEMA_VERSION,
    tool: 'vtd-check',
    host: {
      root: host.root,
      ...(ctx.kernel ? {kernel: ctx.kernel.release} : {}),
      cpuVendor: ctx.cpu.vendor,
      iommu: ctx.iommuVendor,
      iommuFamily: ctx.iommuFamily,
      iommuActive: ctx.host.units.length > 0 && ctx.host.groups.length > 0,
      virtualized: ctx.cpu.hypervisor || ctx.units.some((u) => u.cachingMode === true),
      logSource: ctx.log.origin,
      logReadable: ctx.log.readable,
      ...(host.capture?.uid === undefined ? {} : {capturedAsRoot: host.capture.uid === 0}),
    },
    verdict: overallVerdict(results, host),
    results: results.map((r) => ({...r, evidence: r.evidence.map((e) => ({...e}))})),
    plans,
    unreadable: host.misses.filter((m) => m.refused === undefined).map((m) => m.path).sort(),
    ...refusedPaths(host.misses, ctx.log),
  }
}

/** Refused reads (sysfs and proc files, and the snapshot's dmesg.txt), sorted; nothing when none. */
function refusedPaths(misses: CollectedHost['misses'], log: Assessment['context']['log']): {refused?: RefusedPath[]} {
  const refused = misses.flatMap((m) => (m.refused === undefined ? [] : [{path: m.path, why: m.refused}]))
  if (log.refused !== undefined) refused.push({path: log.origin, why: log.refused})
  return refused.length === 0 ? {} : {refused: refused.sort((a, b) => a.path.localeCompare(b.path))}
}

const CATEGORY_ORDER = ['platform', 'interrupts', 'isolation', 'device', 'advanced']

function categoryRank(id: string): number {
  const rank = CATEGORY_ORDER.indexOf(id.slice(0, id.indexOf('.')))
  return rank < 0 ? CATEGORY_ORDER.length : rank
}

export interface RenderOptions {
  /** Terminal width; the Finding column takes what is left. */
  width?: number
  /** Show evidence lines under each finding. */
  verbose?: boolean
  /** Hide not-applicable rows (counted in the footer). */
  hideNotApplicable?: boolean
}

/** "intel", or "intel, DMA remapping off" (never just the vendor when the IOMMU is not translating). */

export function renderCheckReport(report: CheckReport, options: RenderOptions = {}): string {
  const out: string[] = []
  out.push(`vtd-check: ${report.verdict.headline}`)
  out.push(
    `host: ${report.host.root === '/' ? 'live' : report.host.root} · kernel ${report.host.kernel ?? '?'} · CPU ${report.host.cpuVendor} · ${iommuFamilyWords(report.host.iommuFamily, report.host.iommuActive)}${report.host.virtualized ? ' · virtual machine' : ''}${report.host.logReadable ? '' : ' · kernel log unreadable'}${report.host.capturedAsRoot === false ? ' · captured without root' : ''}`,
  )
  const table = outcomeTable(options.width, 30)
  // The table reads top-down from the platform to the details; JSON stays sorted by id.
  const shown = report.results
    .filter((r) => !(options.hideNotApplicable && r.outcome === 'not-applicable'))
    .sort((a, b) => categoryRank(a.id) - categoryRank(b.id))
  for (const r of shown) {
    const finding = (options.verbose || r.outcome === 'fail') && r.evidence.length > 0 ? `${r.summary}\n${r.evidence.map((e) => `  · ${e.fact}${e.source ? ` [${e.source}]` : ''}`).join('\n')}` : r.summary
    table.push(OUTCOME_MARK[r.outcome], r.subject ? `${r.id}\n  ${r.subject}` : r.id, finding)
  }
  out.push(table.toString())
  const c = report.verdict.counts
  out.push(`${countsLine(c)}${options.hideNotApplicable && c['not-applicable'] > 0 ? ' (hidden)' : ''}`)
  // Device findings are repeated, with their commands, in the plans below.
  const todo = report.results
    .filter((r) => (r.outcome === 'fail' || r.outcome === 'warn' || r.outcome === 'unknown') && r.remediation.length > 0)
    .filter((r) => !(r.subject !== undefined && report.plans.some((p) => p.device === r.subject)))
    .sort((a, b) => categoryRank(a.id) - categoryRank(b.id))
  if (todo.length > 0) {
    out.push('', 'What to do:')
    for (const r of todo) {
      out.push(`  ${OUTCOME_MARK[r.outcome]}  ${r.id}${r.subject ? ` (${r.subject})` : ''}`)
      for (const step of r.remediation) out.push(`      → ${step}`)
    }
  }
  for (const plan of report.plans) out.push('', renderPlan(plan))
  const unreadable = `${report.unreadable.slice(0, 6).join(', ')}${report.unreadable.length > 6 ? ` … (${report.unreadable.length})` : ''}`
  if (report.host.root === '/') {
    if (report.unreadable.length > 0) out.push('', `Not readable without root: ${unreadable}`, 'Run as root for the full picture: sudo vtd-check')
  } else {
    if (report.unreadable.length > 0) out.push('', `Not readable when this snapshot was captured: ${unreadable}`)
    // Running vtd-check as root cannot add what the snapshot never held: the capture must be redone.
    if (report.host.capturedAsRoot === false)
      out.push('', `This snapshot was captured without root${report.host.logReadable ? '' : ' (its kernel log is missing)'}: root-only files (kernel log, config space past 64 bytes, the DMAR table) are not in it. Capture it again as root: sudo vtd-check capture --out DIR`)
  }
  const refused = report.refused ?? []
  if (refused.length > 0)
    out.push('', `Refused, not read (${report.host.root === '/' ? 'not regular files, or too large' : 'a damaged or tampered snapshot'}): ${refused.slice(0, 6).map((r) => `${r.path} (${r.why})`).join(', ')}${refused.length > 6 ? ` … (${refused.length})` : ''}`)
  return out.join('\n')
}
