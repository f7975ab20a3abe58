/**
 * The explained grouping report: every group with WHY its devices share it (the replay's chain of
 * reasons), each device's verdict and the endpoints that must go with it, the bridge at fault
 * highlighted, the cross-check against the kernel's own groups, and the slots that would isolate
 * a card. `groupingReport` builds the JSON value; `renderGroupingTree` / `renderWhy` are pure text.
 */
import type {IommuFamily} from '../model/host.js'
import {iommuFamilyWords} from './iommu-family.js'
import type {PciTopology} from '../model/pci.js'
import {endpointSlots} from '../model/topology.js'
import {
  ACS_OVERRIDE_WARNING,
  deviceIsolation,
  type DeviceIsolation,
  type GroupCrossCheck,
  type GroupingPrediction,
  type IsolatingSlot,
  type JoinReason,
} from '../replay/grouping.js'
import {shortBdf} from '../decode/pci-address.js'
import type {PciNames} from '../decode/pci-ids.js'
import {idsOf, memberView, type GroupList, type GroupMemberView} from './group-list.js'

export const GROUPING_REPORT_SCHEMA_VERSION = 1

/** A member lists at most this many others it must go with (a 4,000-VF group stays linear in size). */
export const MUST_GO_WITH_LISTED = 64

/** The BDF a replay reason starts with ("00:1c.0 sits below …"). */
const leadingBdf = (reason: string): string => reason.slice(0, reason.includes(' ') ? reason.indexOf(' ') : reason.length)

export interface ExplainedMember extends GroupMemberView {
  role: 'endpoint' | 'bridge'
  /** How the replay put it in its group. */
  joined?: JoinReason
  verdict: DeviceIsolation['verdict']
  /** Endpoints that must go to a guest with it: all of them, or the first MUST_GO_WITH_LISTED of a huge group. */
  mustGoWith: string[]
  /** How many endpoints must go with it (set when `mustGoWith` lists only some). */
  mustGoWithCount?: number
  /** This member lacks isolation and caused merges (the bridge or function "at fault"). */
  atFault?: string
}

export interface ExplainedGroup {
  id: number
  /** Its endpoints belong to more than one slot (model/topology.ts endpointSlots: the definition `check` uses). */
  shared: boolean
  /** Kernel default domain type (kernel mode, sysfs). */
  type?: string
  devices: string[]
  members: ExplainedMember[]
  /** Plain-words chain of reasons, one per device that joined (empty for a lone device). */
  reasons: string[]
  /** The same, condensed: devices below one culprit are named together. */
  summary: string[]
  atFault: Array<{bdf: string; because: string; missing: string[]}>
  uncertain: string[]
  splitByAcsOverride: boolean
  /** Predicted mode: the kernel group(s) its devices are in, when known. */
  kernelGroups?: number[]
}

export interface GroupingReport {
  schemaVersion: number
  tool: 'vtd-check'
  /** The host's IOMMU family (absent for an lspci dump of another machine). */
  iommuFamily?: IommuFamily
  source: string
  /** kernel: /sys/kernel/iommu_groups (or lspci group lines) explained; predicted: computed from topology. */
  mode: 'kernel' | 'predicted'
  groups: ExplainedGroup[]
  /** Devices without a group (as in the plain group list). */
  ungrouped: string[]
  /** The same, each with why. */
  notGrouped: Array<{bdf: string; why: string}>
  assumptions: string[]
  kernelRules: string[]
  crossCheck?: GroupCrossCheck
  isolatingSlots: IsolatingSlot[]
  acsOverride?: {value: string; warning: string}
  note?: string
}

export interface GroupingReportInput {
  topology: PciTopology
  prediction: GroupingPrediction
  /** The kernel's groups with names (from groupList); undefined or empty when there are none. */
  list?: GroupList
  mode: 'kernel' | 'predicted'
  source: string
  crossCheck?: GroupCrossCheck
  slots: IsolatingSlot[]
  acsOverride?: string
  /** Vendor/device names for devices the kernel's groups do not name (IOMMU off, --predict on a dump). */
  names?: PciNames
  iommuFamily?: IommuFamily
}

function memberBase(named: Map<string, GroupMemberView>, topology: PciTopology, bdf: string, names?: PciNames): GroupMemberView {
  const m = named.get(bdf)
  if (m) return m
  if (names) return memberView(topology, names, bdf)
  const fn = topology.devices.get(bdf)
  // The same kind names as every other view (DeviceKind), not the replay's sentence words.
  return {bdf, pci: fn !== undefined, ...(fn?.kind ? {kind: fn.kind} : {}), ...(fn ? {ids: idsOf(fn)} : {}), ...(fn?.driver ? {driver: fn.driver} : {})}
}

export function groupingReport(input: GroupingReportInput): GroupingReport {
  const {topology, prediction, list} = input
  const named = new Map((list?.groups ?? []).flatMap((g) => g.members.map((m) => [m.bdf, m] as const)))
  const explain = (devices: string[], id: number, type?: string): ExplainedGroup => {
    const predictedIds = [...new Set(devices.map((b) => prediction.groupOf.get(b)).filter((x): x is number => x !== undefined))]
    const predicted = predictedIds.map((p) => prediction.groups[p]).filter((g) => g !== undefined)
    const atFault = new Map<string, {bdf: string; because: string; missing: string[]}>()
    for (const g of predicted) for (const m of g.members) for (const c of m.joined.culprits) atFault.set(c.bdf, c)
    // Built once per group, so each member costs O(1) plus what it lists (not O(group)).
    const replayedByBdf = new Map(predicted.flatMap((g) => g.members.map((m) => [m.bdf, m] as const)))
    const members = devices.map((bdf): ExplainedMember => {
      const replayed = replayedByBdf.get(bdf)
      const {verdict, mustGoWith, mustGoWithCount} = isolation(bdf)
      const fault = atFault.get(bdf)
      return {
        ...memberBase(named, topology, bdf, input.names),
        role: replayed?.role ?? 'endpoint',
        ...(replayed ? {joined: replayed.joined} : {}),
        verdict,
        mustGoWith,
        ...(mustGoWith.length < mustGoWithCount ? {mustGoWithCount} : {}),
        ...(fault ? {atFault: fault.because} : {}),
      }
    })
    const kernelGroups = input.mode === 'predicted' ? [...new Set(devices.map((b) => topology.devices.get(b)?.iommuGroup).filter((x): x is number => x !== undefined))] : undefined
    const listed = new Set(devices.map(shortBdf))
    return {
      id,
      shared: endpointSlots(topology, devices).size > 1,
      ...(type ? {type} : {}),
      devices,
      members,
      reasons: predicted.flatMap((g) => g.reasons.filter((r) => listed.has(leadingBdf(r)))),
      summary: summarize(members),
      atFault: [...atFault.values()],
      uncertain: predicted.flatMap((g) => g.uncertain),
      splitByAcsOverride: predicted.some((g) => g.splitByAcsOverride),
      ...(kernelGroups && kernelGroups.length > 0 ? {kernelGroups} : {}),
    }
  }
  const isolation = isolationVerdicts(prediction, topology)
  const notGroupedWhy = new Map(prediction.notGrouped.map((n) => [n.bdf, n.why]))
  const groups =
    input.mode === 'kernel'
      ? (list?.groups ?? []).map((g) => explain(g.devices, g.id, g.type))
      : prediction.groups.map((g) => explain(g.devices, g.id))
  const ungrouped =
    input.mode === 'kernel'
      ? (list?.ungrouped ?? []).map((bdf) => ({bdf, why: notGroupedWhy.get(bdf) ?? 'not translated by any remapping unit'}))
      : prediction.notGrouped
  return {
    schemaVersion: GROUPING_REPORT_SCHEMA_VERSION,
    tool: 'vtd-check',
    ...(input.iommuFamily ? {iommuFamily: input.iommuFamily} : {}),
    source: input.source,
    mode: input.mode,
    groups,
    ungrouped: ungrouped.map((u) => u.bdf),
    notGrouped: ungrouped,
    assumptions: prediction.assumptions,
    kernelRules: prediction.rules.map((r) => r.text),
    ...(input.crossCheck ? {crossCheck: input.crossCheck} : {}),
    isolatingSlots: input.slots,
    ...(input.acsOverride ? {acsOverride: {value: input.acsOverride, warning: ACS_OVERRIDE_WARNING}} : {}),
    ...(input.mode === 'kernel' && groups.length === 0
      ? {note: `${list?.note ?? 'no IOMMU groups'}; run with --predict to see the groups this kernel would form with the IOMMU on`}
      : {}),
  }
}

/** Up to `limit` of `list`, leaving out `self`. */
function firstOthers(list: readonly string[], self: string, limit: number): string[] {
  const out: string[] = []
  for (const bdf of list) {
    if (out.length === limit) break
    if (bdf !== self) out.push(bdf)
  }
  return out
}

/**
 * Each device's verdict, as deviceIsolation (replay/grouping.ts) gives it, with every predicted
 * group's roles counted once instead of once per member (linear in the host, not quadratic).
 */
function isolationVerdicts(prediction: GroupingPrediction, topology: PciTopology): (bdf: string) => Pick<DeviceIsolation, 'verdict' | 'mustGoWith'> & {mustGoWithCount: number} {
  const roleOf = new Map<string, 'endpoint' | 'bridge'>()
  const counts = prediction.groups.map((g) => {
    const endpoints: string[] = []
    for (const m of g.members) {
      roleOf.set(m.bdf, m.role)
      if (m.role === 'endpoint') endpoints.push(m.bdf)
    }
    return {endpoints, bridges: g.members.length - endpoints.length}
  })
  return (bdf) => {
    const id = prediction.groupOf.get(bdf)
    const group = id === undefined ? undefined : prediction.groups[id]
    const count = id === undefined ? undefined : counts[id]
    const role = roleOf.get(bdf)
    if (!group || !count || role === undefined) return {...deviceIsolation(prediction, topology, bdf), mustGoWithCount: 0}
    const otherEndpoints = count.endpoints.length - (role === 'endpoint' ? 1 : 0)
    const otherBridges = count.bridges - (role === 'bridge' ? 1 : 0)
    const mustGoWith = firstOthers(count.endpoints, bdf, MUST_GO_WITH_LISTED)
    const verdict: DeviceIsolation['verdict'] =
      group.uncertain.length > 0 && otherEndpoints + otherBridges > 0 ? 'unknown' : otherEndpoints > 0 ? 'shares-with-endpoints' : otherBridges > 0 ? 'only-with-bridges' : 'isolated'
    return {verdict, mustGoWith, mustGoWithCount: otherEndpoints}
  }
}

/** Condense "X sits below …" lines that share the same culprits into one sentence. */
function summarize(members: ExplainedMember[]): string[] {
  const out: string[] = []
  const byCulprit = new Map<string, {devices: string[]; culprits: JoinReason['culprits']}>()
  const slots = new Map<string, {functions: Set<string>; because: Set<string>}>()
  for (const m of members) {
    const j = m.joined
    if (!j || (j.kind === 'first' && j.culprits.length === 0)) continue
    if (j.kind === 'multifunction' && j.via) {
      const slot = j.via.slice(0, -2)
      const entry = slots.get(slot) ?? {functions: new Set<string>(), because: new Set<string>()}
      for (const f of [m.bdf, j.via]) entry.functions.add(f)
      for (const c of j.culprits) entry.because.add(c.because)
      slots.set(slot, entry)
      continue
    }
    if (j.kind !== 'upstream-acs' || j.culprits.length === 0) {
      out.push(j.text)
      continue
    }
    const key = j.culprits.map((c) => `${c.bdf} ${c.because}`).join('|')
    const entry = byCulprit.get(key) ?? {devices: [], culprits: j.culprits}
    entry.devices.push(shortBdf(m.bdf))
    byCulprit.set(key, entry)
  }
  for (const {functions, because} of slots.values()) {
    const list = [...functions].sort().map(shortBdf)
    out.unshift(`${list.slice(0, -1).join(', ')} and ${list[list.length - 1]} are functions of one multifunction device without ACS isolation (${[...because].join('; ')})`)
  }
  for (const {devices, culprits} of byCulprit.values()) {
    const who = devices.length > 3 ? `${devices.slice(0, 3).join(', ')} and ${devices.length - 3} more` : devices.join(', ')
    const verb = devices.length === 1 ? 'sits' : 'sit'
    const because = culprits.map((c) => (c.because.startsWith('ACS ') ? `${shortBdf(c.bdf)}, whose ${c.because}` : c.because.startsWith('no ') ? `${shortBdf(c.bdf)}, which has ${c.because}` : `${shortBdf(c.bdf)} (${c.because})`))
    out.push(`${who} ${verb} below ${because.join(' and ')}`)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Text

export interface RenderOptions {
  color: boolean
}

const paint = (on: boolean, code: string, text: string): string => (on ? `\u001B[${code}m${text}\u001B[0m` : text)

/** One block per group: a marker line, the members (bridge at fault highlighted), then why. */
export function renderGroupingTree(report: GroupingReport, options: RenderOptions): string {
  const c = options.color
  const lines: string[] = []
  const title = report.mode === 'predicted' ? `IOMMU groups predicted from the topology (${report.source})` : `IOMMU groups (${report.source})`
  lines.push(paint(c, '1', report.iommuFamily ? `${title} · ${iommuFamilyWords(report.iommuFamily)}` : title))
  for (const a of report.assumptions) lines.push(paint(c, '2', `  assuming ${a}`))
  if (report.acsOverride) lines.push(paint(c, '1;31', `WARNING: ${report.acsOverride.warning}`))
  if (report.note) lines.push(report.note)
  lines.push('')
  for (const g of report.groups) {
    const endpoints = g.members.filter((m) => m.role === 'endpoint').length
    const marker = g.uncertain.length > 0 ? paint(c, '33', '?') : g.shared ? paint(c, '31', '■') : paint(c, '32', '●')
    const what = g.devices.length === 1 ? 'alone' : g.shared ? `${endpoints} endpoints of different devices share it` : endpoints > 1 ? `${endpoints} functions of one device (+ bridges)` : 'one endpoint (+ bridges)'
    const extra = [g.type, g.kernelGroups ? `kernel group ${g.kernelGroups.join(',')}` : undefined, g.splitByAcsOverride ? paint(c, '1;31', 'split only by ACS override: NOT truly isolated') : undefined].filter(Boolean)
    lines.push(`${marker} group ${g.id}  ${what}${extra.length > 0 ? `  [${extra.join('; ')}]` : ''}`)
    g.members.forEach((m, i) => {
      const branch = i === g.members.length - 1 ? '└─' : '├─'
      const name = m.name ? `  ${m.name}` : ''
      const facts = [m.kind, m.driver].filter(Boolean).join(', ')
      const fault = m.atFault ? `  ${paint(c, '1;31', `◀ at fault: ${m.atFault}`)}` : ''
      lines.push(`  ${branch} ${m.bdf}${m.ids ? ` [${m.ids}]` : ''}${name}${facts ? `  [${facts}]` : ''}${fault}`)
    })
    for (const r of g.summary) lines.push(paint(c, '2', `     why: ${r}`))
    for (const u of g.uncertain) lines.push(paint(c, '33', `     unknown: ${u}`))
  }
  if (report.notGrouped.length > 0) {
    lines.push('')
    for (const u of report.notGrouped) lines.push(`not grouped: ${u.bdf} (${u.why})`)
  }
  if (report.crossCheck) {
    lines.push('')
    const cc = report.crossCheck
    if (cc.agree) lines.push(paint(c, '32', `kernel groups and the replay agree (${cc.compared} devices compared)`))
    for (const m of cc.mismatches) {
      const what = m.kind === 'kernel-split' ? `the kernel split ${m.devices.map(shortBdf).join(', ')} (replay: one group)` : `the kernel merged ${m.devices.map(shortBdf).join(', ')} (replay: groups ${m.predictedGroups.join(', ')})`
      lines.push(paint(c, m.outcome === 'unknown' ? '33' : '31', `MISMATCH: ${what}: ${m.likelyCause}`))
    }
  }
  if (report.isolatingSlots.length > 0) {
    lines.push('')
    lines.push('slots whose whole path has ACS (a single-function card there gets its own group):')
    for (const s of report.isolatingSlots) {
      const occupied = s.occupiedBy.length > 0 ? `holds ${s.occupiedBy.map(shortBdf).join(', ')}` : 'empty'
      lines.push(`  ${s.verdict === 'isolates' ? paint(c, '32', '●') : paint(c, '33', '?')} ${s.port}  ${s.kind}, ${occupied}${s.verdict === 'unknown' ? ' (ACS not readable)' : ''}`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** `groups --why BDF --json`: the one device's group, its own verdict and why. */
export interface WhyReport {
  schemaVersion: typeof GROUPING_REPORT_SCHEMA_VERSION
  tool: 'vtd-check'
  source: string
  mode: GroupingReport['mode']
  bdf: string
  /** The group it is in (undefined: not grouped, see `notGrouped`). */
  group?: ExplainedGroup
  member?: ExplainedMember
  notGrouped?: string
}

export function whyReport(report: GroupingReport, bdf: string): WhyReport {
  const group = report.groups.find((g) => g.devices.includes(bdf))
  const member = group?.members.find((m) => m.bdf === bdf)
  const notGrouped = group ? undefined : (report.notGrouped.find((u) => u.bdf === bdf)?.why ?? 'no IOMMU group')
  return {
    schemaVersion: GROUPING_REPORT_SCHEMA_VERSION, tool: 'vtd-check', source: report.source, mode: report.mode, bdf,
    ...(group ? {group} : {}), ...(member ? {member} : {}), ...(notGrouped !== undefined ? {notGrouped} : {}),
  }
}

/** Everything about one device: verdict, who must go with it, the chain of reasons. */
export function renderWhy(report: GroupingReport, bdf: string): string {
  const group = report.groups.find((g) => g.devices.includes(bdf))
  if (!group) {
    const why = report.notGrouped.find((u) => u.bdf === bdf)?.why
    return `${bdf}: no IOMMU group${why ? ` (${why})` : ''}\n`
  }
  const me = group.members.find((m) => m.bdf === bdf)
  const lines = [`${bdf} is in group ${group.id} with ${group.devices.length - 1} other device(s)`]
  if (me) {
    const words: Record<DeviceIsolation['verdict'], string> = {
      'isolated': 'isolated: it can be assigned on its own',
      'shares-with-endpoints': `shares its group with endpoints: assign together with ${me.mustGoWith.join(', ')}${me.mustGoWithCount !== undefined ? ` and ${me.mustGoWithCount - me.mustGoWith.length} more` : ''}`,
      'only-with-bridges': 'shares its group only with bridges/ports, which may stay with the host',
      'not-grouped': 'not grouped',
      'unknown': 'unknown: the grouping depends on config space that could not be read',
    }
    lines.push(`verdict: ${words[me.verdict]}`)
    if (me.joined) lines.push(`how: ${me.joined.text}`)
  }
  for (const r of group.reasons) lines.push(`why: ${r}`)
  for (const f of group.atFault) lines.push(`at fault: ${f.bdf} (${f.because})`)
  if (group.splitByAcsOverride) lines.push('NOTE: separate only because of pcie_acs_override: not truly isolated')
  const slots = report.isolatingSlots.filter((s) => s.verdict === 'isolates')
  if (me && me.verdict !== 'isolated' && slots.length > 0) {
    lines.push(`slots that would isolate a single-function card: ${slots.map((s) => shortBdf(s.port)).join(', ')}`)
  }
  return `${lines.join('\n')}\n`
}
