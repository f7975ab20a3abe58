/**
 * What changed between two hosts' isolation facts (a snapshot before and after a kernel or BIOS
 * upgrade, or a snapshot and the live host), and whether isolation regressed. Pure.
 *
 * Each change carries its impact on isolation and, where the facts show it, why: the bridge
 * and ACS bit the grouping replay blames, the kernel grouping rule that now applies, the
 * kernel parameter that switched something off.
 */
import {EXIT} from '../checks/outcome.js'
import type {Outcome} from '../checks/outcome.js'
import {KERNEL_RULE_CHANGES} from '../replay/grouping.js'
import type {DeviceFacts, GroupFacts, HostFacts, Known} from './facts.js'

export const DIFF_SCHEMA_VERSION = 1 as const

/** regression: isolation got worse · improvement · change: worth knowing, not worse · unknown: cannot tell. */
export type Impact = 'regression' | 'improvement' | 'change' | 'unknown'

export type ChangeArea =
  | 'verdict' | 'check' | 'iommu' | 'interrupt-remapping' | 'scalable-mode' | 'default-domain' | 'kernel' | 'kernel-parameter'
  | 'grouping-rule' | 'device' | 'group' | 'acs' | 'rmrr' | 'readability'

export interface Change {
  area: ChangeArea
  impact: Impact
  /** What it is about: a BDF, a check id, a parameter name … */
  subject?: string
  before?: string
  after?: string
  text: string
  /** Causes, from the facts (culprit bridges and their ACS bits, rules, kernel parameters). */
  why: string[]
}

export interface DiffSide {
  name: string
  root: string
  kernel?: string
  verdict: string
}

/** `vtd-check diff --json`: what changed between OLD and NEW for isolation, each change with its impact and causes. */
export interface HostDiff {
  schemaVersion: typeof DIFF_SCHEMA_VERSION
  tool: 'vtd-check'
  old: DiffSide
  new: DiffSide
  /** regressed: at least one regression · unchanged: nothing that matters · improved/changed: no regression · unknown: could not tell. */
  result: 'regressed' | 'unknown' | 'improved' | 'changed' | 'unchanged'
  /** 1 regressed · 3 could not tell · 0 otherwise. */
  exitCode: number
  changes: Change[]
}

/** Kernel parameters that switch the facts a change is about (for "why"). */
const PARAMETERS_FOR: Partial<Record<ChangeArea, RegExp>> = {
  iommu: /^(intel_iommu|amd_iommu|iommu)$/,
  'interrupt-remapping': /^(intremap|intel_iommu|amd_iommu|iommu|nox2apic|x2apic_phys)$/,
  'scalable-mode': /^intel_iommu$/,
  'default-domain': /^(iommu|iommu\.passthrough|iommu\.strict|intel_iommu|amd_iommu)$/,
  group: /^(pcie_acs_override|pci|disable_acs_redir|config_acs|intel_iommu|iommu|iommu\.passthrough)$/,
  acs: /^(pcie_acs_override|pci|disable_acs_redir|config_acs|intel_iommu|iommu)$/,
}

const OUTCOME_RANK: Record<Outcome, number> = {pass: 0, 'not-applicable': 0, warn: 1, unknown: 2, fail: 3}
const REQUIRED_ACS = ['SV', 'RR', 'CR', 'UF']
/** Default domain types from least to most isolating for the devices the host keeps. */
const DOMAIN_RANK: Record<string, number> = {identity: 0, 'DMA-FQ': 1, DMA: 2}

/** A new fail is a regression; a check that stops applying is only a change (its cause shows elsewhere). */
function outcomeImpact(before: Outcome, after: Outcome): Impact {
  if (after === 'unknown') return 'unknown'
  if (after === 'fail') return before === 'fail' ? 'change' : 'regression'
  if (after === 'not-applicable' || before === 'not-applicable') return 'change'
  return OUTCOME_RANK[after] < OUTCOME_RANK[before] ? 'improvement' : 'change'
}

const word = (k: Known): string => (k === 'unknown' ? 'unknown' : k ? 'yes' : 'no')
const param = (name: string, value: string | undefined): string => (value === undefined ? '(absent)' : value === '' ? name : `${name}=${value}`)

function parameterChanges(oldFacts: HostFacts, newFacts: HostFacts): Array<{name: string; before?: string; after?: string}> {
  const names = new Set([...Object.keys(oldFacts.kernelParameters), ...Object.keys(newFacts.kernelParameters)])
  const out: Array<{name: string; before?: string; after?: string}> = []
  for (const name of [...names].sort()) {
    const before = oldFacts.kernelParameters[name]
    const after = newFacts.kernelParameters[name]
    if (before !== after) out.push({name, ...(before !== undefined ? {before} : {}), ...(after !== undefined ? {after} : {})})
  }
  return out
}

export function diffHosts(oldFacts: HostFacts, newFacts: HostFacts): HostDiff {
  const changes: Change[] = []
  const params = parameterChanges(oldFacts, newFacts)
  const paramWhy = (area: ChangeArea): string[] => {
    const relevant = PARAMETERS_FOR[area]
    if (!relevant) return []
    return params.filter((p) => relevant.test(p.name)).map((p) => `kernel parameter ${param(p.name, p.before)} → ${param(p.name, p.after)}`)
  }
  const kernelWhy = oldFacts.host.kernel !== newFacts.host.kernel ? [`kernel ${oldFacts.host.kernel ?? 'unknown'} → ${newFacts.host.kernel ?? 'unknown'}`] : []
  const add = (c: Omit<Change, 'why'> & {why?: string[]}) => changes.push({...c, why: c.why ?? []})

  // Verdict and checks: the catalogue's own judgement, compared.
  if (oldFacts.verdict.exitCode !== newFacts.verdict.exitCode || oldFacts.verdict.outcome !== newFacts.verdict.outcome) {
    add({
      area: 'verdict',
      impact: outcomeImpact(oldFacts.verdict.outcome, newFacts.verdict.outcome),
      before: oldFacts.verdict.headline,
      after: newFacts.verdict.headline,
      text: `verdict: ${oldFacts.verdict.headline} → ${newFacts.verdict.headline}`,
    })
  }
  const key = (c: {id: string; subject?: string}) => (c.subject ? `${c.id} ${c.subject}` : c.id)
  const oldChecks = new Map(oldFacts.checks.map((c) => [key(c), c]))
  const newChecks = new Map(newFacts.checks.map((c) => [key(c), c]))
  for (const id of [...new Set([...oldChecks.keys(), ...newChecks.keys()])].sort()) {
    const before = oldChecks.get(id)
    const after = newChecks.get(id)
    if (before?.outcome === after?.outcome) continue
    const beforeOutcome = before?.outcome ?? 'not-applicable'
    const afterOutcome = after?.outcome ?? 'not-applicable'
    add({area: 'check', impact: outcomeImpact(beforeOutcome, afterOutcome), subject: id, before: beforeOutcome, after: afterOutcome, text: `${id}: ${beforeOutcome} → ${afterOutcome}${after ? ` (${after.summary})` : ''}`})
  }

  // Platform switches.
  // Both switches protect: losing one is a regression.
  const known = (area: ChangeArea, label: string, before: Known, after: Known) => {
    if (before === after) return
    const impact: Impact = before === 'unknown' || after === 'unknown' ? 'unknown' : after ? 'improvement' : 'regression'
    add({area, impact, before: word(before), after: word(after), text: `${label}: ${word(before)} → ${word(after)}`, why: [...paramWhy(area), ...kernelWhy]})
  }
  known('iommu', 'DMA remapping active', oldFacts.iommu.active, newFacts.iommu.active)
  known('interrupt-remapping', 'interrupt remapping active', oldFacts.iommu.interruptRemapping, newFacts.iommu.interruptRemapping)
  if (oldFacts.iommu.scalableMode !== newFacts.iommu.scalableMode)
    add({area: 'scalable-mode', impact: 'change', before: word(oldFacts.iommu.scalableMode), after: word(newFacts.iommu.scalableMode), text: `scalable mode in use: ${word(oldFacts.iommu.scalableMode)} → ${word(newFacts.iommu.scalableMode)}`, why: paramWhy('scalable-mode')})
  const domains = (f: HostFacts) => f.iommu.defaultDomains.join(', ') || '(no groups)'
  if (domains(oldFacts) !== domains(newFacts) && newFacts.iommu.defaultDomains.length > 0 && oldFacts.iommu.defaultDomains.length > 0) {
    const weakest = (f: HostFacts) => Math.min(...f.iommu.defaultDomains.map((d) => DOMAIN_RANK[d] ?? 1))
    const toIdentity = weakest(newFacts) === 0 && weakest(oldFacts) > 0
    add({
      area: 'default-domain',
      impact: toIdentity ? 'regression' : weakest(newFacts) > weakest(oldFacts) && weakest(oldFacts) === 0 ? 'improvement' : 'change',
      before: domains(oldFacts),
      after: domains(newFacts),
      text: `default domain: ${domains(oldFacts)} → ${domains(newFacts)}${toIdentity ? ' (identity: devices the host keeps can DMA anywhere in memory)' : ''}`,
      why: paramWhy('default-domain'),
    })
  }

  // Kernel, its parameters, and the grouping rules the kernel version brings.
  if (oldFacts.host.kernel !== newFacts.host.kernel)
    add({area: 'kernel', impact: 'change', before: oldFacts.host.kernel ?? 'unknown', after: newFacts.host.kernel ?? 'unknown', text: kernelWhy[0] ?? 'kernel changed'})
  for (const p of params) add({area: 'kernel-parameter', impact: 'change', subject: p.name, ...(p.before !== undefined ? {before: param(p.name, p.before)} : {}), ...(p.after !== undefined ? {after: param(p.name, p.after)} : {}), text: `kernel parameter ${param(p.name, p.before)} → ${param(p.name, p.after)}`})
  const ruleText = (id: string) => KERNEL_RULE_CHANGES.find((r) => r.id === id)?.text ?? id
  const rulesIn = newFacts.groupingRules.filter((r) => !oldFacts.groupingRules.includes(r))
  const rulesOut = oldFacts.groupingRules.filter((r) => !newFacts.groupingRules.includes(r))
  for (const r of rulesIn) add({area: 'grouping-rule', impact: 'change', subject: r, text: `kernel grouping rule now applies: ${ruleText(r)}`, why: kernelWhy})
  for (const r of rulesOut) add({area: 'grouping-rule', impact: 'change', subject: r, text: `kernel grouping rule no longer applies: ${ruleText(r)}`, why: kernelWhy})
  const ruleWhy = [...rulesIn.map((r) => `kernel rule now applies: ${ruleText(r)}`), ...rulesOut.map((r) => `kernel rule no longer applies: ${ruleText(r)}`)]

  // Devices.
  const oldDevices = new Map(oldFacts.devices.map((d) => [d.bdf, d]))
  const newDevices = new Map(newFacts.devices.map((d) => [d.bdf, d]))
  for (const [bdf, d] of newDevices) if (!oldDevices.has(bdf)) add({area: 'device', impact: 'change', subject: bdf, after: d.id, text: `device added: ${bdf} (${d.id}, class ${d.classCode}${d.driver ? `, ${d.driver}` : ''})`})
  for (const [bdf, d] of oldDevices) if (!newDevices.has(bdf)) add({area: 'device', impact: 'change', subject: bdf, before: d.id, text: `device removed: ${bdf} (${d.id}, class ${d.classCode}${d.driver ? `, ${d.driver}` : ''})`})
  for (const [bdf, before] of oldDevices) {
    const after = newDevices.get(bdf)
    if (!after) continue
    if (before.id !== after.id) add({area: 'device', impact: 'change', subject: bdf, before: before.id, after: after.id, text: `${bdf} is now a different device: ${before.id} → ${after.id}`})
    const acsChange = diffAcs(before, after)
    if (acsChange) changes.push({...acsChange, why: paramWhy('acs')})
  }
  const acsWhyOf = (bdf: string): string[] => changes.filter((c) => c.area === 'acs' && c.subject === bdf).map((c) => c.text)

  // Groups: compare the partitions over the devices both hosts have (group numbers alone are not a change).
  changes.push(...diffGroups(oldFacts, newFacts, oldDevices, newDevices, {paramWhy: paramWhy('group'), ruleWhy, acsWhyOf}))

  // RMRRs (firmware-owned identity maps: a device under one cannot be assigned cleanly).
  const rmrrKey = (r: {base: string; limit: string}) => `${r.base}-${r.limit}`
  const oldRmrrs = new Map(oldFacts.rmrrs.map((r) => [rmrrKey(r), r]))
  const newRmrrs = new Map(newFacts.rmrrs.map((r) => [rmrrKey(r), r]))
  for (const [k, r] of newRmrrs) {
    const before = oldRmrrs.get(k)
    const list = (devices: string[]) => devices.join(', ') || 'no present device'
    if (!before) add({area: 'rmrr', impact: r.devices.length > 0 ? 'regression' : 'change', subject: k, after: list(r.devices), text: `RMRR added: ${k} for ${list(r.devices)} (a firmware identity map the device keeps)`})
    else if (list(before.devices) !== list(r.devices)) add({area: 'rmrr', impact: 'change', subject: k, before: list(before.devices), after: list(r.devices), text: `RMRR ${k} now covers ${list(r.devices)} (was ${list(before.devices)})`})
  }
  for (const [k, r] of oldRmrrs) if (!newRmrrs.has(k)) add({area: 'rmrr', impact: 'improvement', subject: k, before: r.devices.join(', '), text: `RMRR removed: ${k}`})

  // What could not be read on one side only: facts depending on it cannot be compared.
  const newlyUnreadable = newFacts.unreadable.filter((p) => !oldFacts.unreadable.includes(p))
  const noLongerUnreadable = oldFacts.unreadable.filter((p) => !newFacts.unreadable.includes(p))
  if (newlyUnreadable.length > 0) add({area: 'readability', impact: 'unknown', text: `${newlyUnreadable.length} path(s) unreadable in NEW only (run as root): ${newlyUnreadable.slice(0, 5).join(', ')}${newlyUnreadable.length > 5 ? ' …' : ''}`})
  if (noLongerUnreadable.length > 0) add({area: 'readability', impact: 'unknown', text: `${noLongerUnreadable.length} path(s) unreadable in OLD only: ${noLongerUnreadable.slice(0, 5).join(', ')}${noLongerUnreadable.length > 5 ? ' …' : ''}`})
  if (oldFacts.logReadable !== newFacts.logReadable) add({area: 'readability', impact: 'unknown', text: `kernel log readable: ${oldFacts.logReadable ? 'yes' : 'no'} → ${newFacts.logReadable ? 'yes' : 'no'}`})

  const has = (impact: Impact) => changes.some((c) => c.impact === impact)
  const result: HostDiff['result'] = has('regression') ? 'regressed' : has('unknown') ? 'unknown' : has('improvement') ? 'improved' : changes.length > 0 ? 'changed' : 'unchanged'
  const side = (f: HostFacts): DiffSide => ({name: f.host.name, root: f.host.root, ...(f.host.kernel ? {kernel: f.host.kernel} : {}), verdict: f.verdict.headline})
  return {
    schemaVersion: DIFF_SCHEMA_VERSION,
    tool: 'vtd-check',
    old: side(oldFacts),
    new: side(newFacts),
    result,
    exitCode: result === 'regressed' ? EXIT.fail : result === 'unknown' ? EXIT.unknown : EXIT.ok,
    changes,
  }
}

function diffAcs(before: DeviceFacts, after: DeviceFacts): Omit<Change, 'why'> | undefined {
  const show = (a: DeviceFacts['acs']) => (a === undefined ? 'no ACS capability' : a === 'unknown' ? 'unreadable' : `cap ${a.capability.join(' ') || '-'} / ctl ${a.control.join(' ') || '-'}`)
  if (show(before.acs) === show(after.acs)) return undefined
  const text = `${before.bdf} ACS: ${show(before.acs)} → ${show(after.acs)}`
  if (before.acs === 'unknown' || after.acs === 'unknown') return {area: 'acs', impact: 'unknown', subject: before.bdf, before: show(before.acs), after: show(after.acs), text}
  const enabled = (a: DeviceFacts['acs']) => (a === undefined || a === 'unknown' ? [] : a.control.filter((b) => REQUIRED_ACS.includes(b)))
  const lost = enabled(before.acs).filter((b) => !enabled(after.acs).includes(b))
  const gained = enabled(after.acs).filter((b) => !enabled(before.acs).includes(b))
  const impact: Impact = lost.length > 0 ? 'regression' : gained.length > 0 ? 'improvement' : 'change'
  const detail = lost.length > 0 ? ` (${lost.join(' ')} no longer enabled: peer-to-peer requests below it may bypass the IOMMU)` : ''
  return {area: 'acs', impact, subject: before.bdf, before: show(before.acs), after: show(after.acs), text: text + detail}
}

interface GroupWhy {
  paramWhy: string[]
  ruleWhy: string[]
  acsWhyOf: (bdf: string) => string[]
}

function culpritBdfs(group: GroupFacts | undefined): string[] {
  return (group?.culprits ?? []).map((c) => c.split(' ')[0] ?? c)
}

function diffGroups(oldFacts: HostFacts, newFacts: HostFacts, oldDevices: Map<string, DeviceFacts>, newDevices: Map<string, DeviceFacts>, why: GroupWhy): Change[] {
  const changes: Change[] = []
  const common = [...oldDevices.keys()].filter((b) => newDevices.has(b))
  const oldGroups = new Map(oldFacts.groups.map((g) => [g.id, g]))
  const newGroups = new Map(newFacts.groups.map((g) => [g.id, g]))

  const lost = common.filter((b) => oldDevices.get(b)?.group !== undefined && newDevices.get(b)?.group === undefined)
  const gained = common.filter((b) => oldDevices.get(b)?.group === undefined && newDevices.get(b)?.group !== undefined)
  if (lost.length > 0)
    changes.push({area: 'group', impact: 'regression', text: `${lost.length} device(s) no longer in any IOMMU group (not translated, not isolated): ${lost.join(', ')}`, why: [...why.paramWhy]})
  if (gained.length > 0)
    changes.push({area: 'group', impact: 'improvement', text: `${gained.length} device(s) now in an IOMMU group: ${gained.join(', ')}`, why: [...why.paramWhy]})

  const grouped = common.filter((b) => oldDevices.get(b)?.group !== undefined && newDevices.get(b)?.group !== undefined)
  const partition = (side: Map<string, DeviceFacts>) => {
    const by = new Map<number, string[]>()
    for (const b of grouped) {
      const id = side.get(b)?.group as number
      by.set(id, [...(by.get(id) ?? []), b])
    }
    return by
  }
  const endpointsOf = (bdfs: string[]) => bdfs.filter((b) => newDevices.get(b)?.role === 'endpoint')
  // Merged: a NEW group holds devices that OLD kept in separate groups.
  for (const [newId, members] of partition(newDevices)) {
    const oldIds = [...new Set(members.map((b) => oldDevices.get(b)?.group as number))].sort((a, b) => a - b)
    if (oldIds.length <= 1) continue
    const group = newGroups.get(newId)
    const separateEndpointGroups = new Set(endpointsOf(members).map((b) => oldDevices.get(b)?.group)).size
    const culprits = culpritBdfs(group)
    changes.push({
      area: 'group',
      impact: separateEndpointGroups > 1 ? 'regression' : 'change',
      subject: `group ${newId}`,
      before: oldIds.map((id) => `group ${id}`).join(' + '),
      after: `group ${newId}`,
      text: `groups merged: ${members.join(', ')} were in groups ${oldIds.join(', ')}, now all in group ${newId}`,
      why: [...(group?.culprits ?? []).map((c) => `now not isolating: ${c}`), ...culprits.flatMap(why.acsWhyOf), ...why.ruleWhy, ...why.paramWhy],
    })
  }
  // Split: an OLD group's devices are in several NEW groups.
  for (const [oldId, members] of partition(oldDevices)) {
    const newIds = [...new Set(members.map((b) => newDevices.get(b)?.group as number))].sort((a, b) => a - b)
    if (newIds.length <= 1) continue
    const group = oldGroups.get(oldId)
    const culprits = culpritBdfs(group)
    changes.push({
      area: 'group',
      impact: 'improvement',
      subject: `group ${oldId}`,
      before: `group ${oldId}`,
      after: newIds.map((id) => `group ${id}`).join(' + '),
      text: `group split: ${members.join(', ')} shared group ${oldId}, now in groups ${newIds.join(', ')}`,
      why: [...(group?.culprits ?? []).map((c) => `was not isolating: ${c}`), ...culprits.flatMap(why.acsWhyOf), ...why.ruleWhy, ...why.paramWhy],
    })
  }
  return changes
}
