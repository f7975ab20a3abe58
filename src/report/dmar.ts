/**
 * The `dmar` report: the JSON envelope (bigints as lowercase hex strings) and the human
 * rendering — a tree of remapping units with their scopes (resolved BDFs and names), the
 * reserved regions, ATS/SATC/SIDP/ANDD/RHSA, and the lint findings last.
 */
import {hex} from '../decode/pci-address.js'
import {countOutcomes, type CheckResult} from '../checks/outcome.js'
import {type DeviceScope, type DmarStructure, type DmarTable} from '../decode/dmar.js'
import type {ResolvedScope, ScopeResolution} from '../model/dmar-scope.js'
import {countsLine, OUTCOME_MARK, outcomeTable} from './outcome-table.js'

export const DMAR_SCHEMA_VERSION = 1

/** A value as JSON carries it: bigint → "0x…" string, everything else as is. */
export type Jsonify<T> = T extends bigint
  ? string
  : T extends Array<infer U>
    ? Array<Jsonify<U>>
    : T extends object
      ? {[K in keyof T]: Jsonify<T[K]>}
      : T

export function toJson<T>(value: T): Jsonify<T> {
  return convert(value) as Jsonify<T>
}

function convert(value: unknown): unknown {
  if (typeof value === 'bigint') return hex(value)
  if (Array.isArray(value)) return value.map(convert)
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), convert(v)]))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = convert(v)
    return out
  }
  return value
}

export interface ResolvedScopeJson {
  structure: number
  scope: number
  structureType: string
  status: ResolvedScope['status']
  bdf?: string
  via: string[]
  detail?: string
  typeMismatch?: string
}

export interface DmarReport {
  schemaVersion: number
  tool: 'vtd-check'
  /** Where the table was read ("/sys/firmware/acpi/tables/DMAR", a file path). */
  source: string
  table: Jsonify<DmarTable>
  /** Present when a PCI topology was available. */
  topologySource?: string
  scopes?: ResolvedScopeJson[]
  /** BDF → owning unit. */
  owners?: Record<string, {registerBase: string; via: 'scope' | 'include-all'; drhd: number}>
  uncovered?: string[]
  lint: CheckResult[]
}

export function buildDmarReport(table: DmarTable, source: string, lint: CheckResult[], resolution?: ScopeResolution, topologySource?: string): DmarReport {
  const report: DmarReport = {schemaVersion: DMAR_SCHEMA_VERSION, tool: 'vtd-check', source, table: toJson(table), lint}
  if (resolution) {
    if (topologySource !== undefined) report.topologySource = topologySource
    report.scopes = resolution.scopes.map((r) => {
      const s: ResolvedScopeJson = {structure: r.structureIndex, scope: r.scopeIndex, structureType: r.structureType, status: r.status, via: r.via}
      if (r.bdf !== undefined) s.bdf = r.bdf
      if (r.detail !== undefined) s.detail = r.detail
      if (r.typeMismatch !== undefined) s.typeMismatch = r.typeMismatch
      return s
    })
    report.owners = Object.fromEntries([...resolution.owners].map(([bdf, o]) => [bdf, {registerBase: hex(o.registerBase), via: o.via, drhd: o.drhdIndex}]))
    report.uncovered = resolution.uncovered
  }
  return report
}

// ---------------------------------------------------------------------------------------------
// Human rendering

export interface DmarRenderOptions {
  resolution?: ScopeResolution
  /** Name for a BDF ("Intel Corporation … [8086:1234]"); undefined when unknown. */
  deviceName?: (bdf: string) => string | undefined
  width?: number
  /** Show evidence under each finding and passing lints too. */
  verbose?: boolean
}


const SCOPE_LABEL: Record<DeviceScope['type'], string> = {
  'pci-endpoint': 'endpoint',
  'pci-bridge': 'bridge',
  ioapic: 'IOAPIC',
  hpet: 'HPET',
  'acpi-namespace': 'ACPI device',
  unknown: 'scope',
}

function pathText(scope: DeviceScope): string {
  const hops = scope.path.map((p) => `${p.device.toString(16).padStart(2, '0')}.${p.function.toString(16)}`)
  return `${scope.startBus.toString(16).padStart(2, '0')}:${hops.join('/') || '?'}`
}

function sizeText(bytes: bigint): string {
  const units: Array<[bigint, string]> = [
    [1n << 30n, 'GiB'],
    [1n << 20n, 'MiB'],
    [1n << 10n, 'KiB'],
  ]
  for (const [unit, name] of units) if (bytes >= unit && bytes % unit === 0n) return `${bytes / unit} ${name}`
  for (const [unit, name] of units) if (bytes >= unit) return `${(Number(bytes) / Number(unit)).toFixed(1)} ${name}`
  return `${bytes} bytes`
}

function scopeLine(scope: DeviceScope, resolved: ResolvedScope | undefined, andds: Map<number, string>, options: DmarRenderOptions): string {
  const label = SCOPE_LABEL[scope.type]
  const problem = scope.problem ? ` [${scope.problem}]` : ''
  if (scope.type === 'acpi-namespace') return `${label} ${scope.enumerationId} ${andds.get(scope.enumerationId) ?? '(no ANDD)'} as ${pathText(scope)}${problem}`
  if (scope.type === 'ioapic' || scope.type === 'hpet') return `${label} id ${scope.enumerationId} ${pathText(scope)} (source-id)${problem}`
  let line = `${label}${scope.type === 'unknown' ? ` type ${scope.typeCode}` : ''} ${pathText(scope)}`
  if (resolved?.status === 'resolved' && resolved.bdf) {
    const name = options.deviceName?.(resolved.bdf)
    line += ` → ${resolved.bdf}${name ? ` ${name}` : ''}`
  } else if (resolved) line += ` → ${resolved.detail ?? resolved.status}`
  if (resolved?.typeMismatch) line += ` [${resolved.typeMismatch}]`
  return line + problem
}

function headline(s: DmarStructure): string {
  switch (s.type) {
    case 'DRHD':
      return `DRHD ${hex(s.registerBase)} segment ${s.segment}${s.flags.includePciAll ? ' INCLUDE_PCI_ALL' : ''}${s.size > 0 ? ` (${2 ** s.size} pages)` : ''}`
    case 'RMRR':
      return `RMRR [${hex(s.base)}-${hex(s.limit)}] ${s.limit >= s.base ? sizeText(s.limit - s.base + 1n) : 'limit < base'} segment ${s.segment}`
    case 'ATSR':
      return `ATSR segment ${s.segment}${s.flags.allPorts ? ' ALL_PORTS' : ''}`
    case 'RHSA':
      return `RHSA unit ${hex(s.registerBase)} → proximity domain ${s.proximityDomain}`
    case 'ANDD':
      return `ANDD ${s.deviceNumber} "${s.objectName}"${s.nulTerminated ? '' : ' (not NUL-terminated)'}`
    case 'SATC':
      return `SATC segment ${s.segment}${s.flags.atcRequired ? ' ATC_REQUIRED' : ''}`
    case 'SIDP':
      return `SIDP segment ${s.segment}`
    case 'unknown':
      return `${s.knownAs ? `${s.knownAs} (undecodable)` : `type ${s.typeCode}`} ${s.length} bytes${s.truncated ? ` ${s.truncated}` : ''}: ${s.raw.slice(0, 48)}${s.raw.length > 48 ? '…' : ''}`
  }
}

const SECTIONS: Array<{title: string; types: ReadonlyArray<DmarStructure['type']>}> = [
  {title: 'Remapping units (DRHD)', types: ['DRHD']},
  {title: 'Reserved memory regions (RMRR)', types: ['RMRR']},
  {title: 'ATS reporting (ATSR, SATC)', types: ['ATSR', 'SATC']},
  {title: 'Other structures', types: ['RHSA', 'ANDD', 'SIDP', 'unknown']},
]

export function renderDmarTree(table: DmarTable, source: string, options: DmarRenderOptions = {}): string {
  const out: string[] = []
  const flags = table.flags
  const flagNames = flags ? [flags.intrRemap && 'INTR_REMAP', flags.x2apicOptOut && 'X2APIC_OPT_OUT', flags.dmaCtrlPlatformOptIn && 'DMA_CTRL_PLATFORM_OPT_IN'].filter(Boolean).join(' ') : ''
  out.push(`DMAR ${source}: ${table.length ?? '?'} bytes${table.length !== table.byteLength ? ` (${table.byteLength} read)` : ''}, revision ${table.revision ?? '?'}, OEM "${table.oemId ?? ''}" "${table.oemTableId ?? ''}", checksum ${table.checksumValid === undefined ? 'not checked' : table.checksumValid ? 'ok' : 'BAD'}`)
  out.push(`  host address width ${table.hostAddressWidth ?? '?'} bits · flags ${flags ? hex(flags.value) : '?'}${flagNames ? ` ${flagNames}` : ''}`)
  for (const problem of table.problems) out.push(`  ! ${problem}`)
  const andds = new Map(table.structures.flatMap((s) => (s.type === 'ANDD' ? [[s.deviceNumber, s.objectName] as const] : [])))
  const resolved = new Map((options.resolution?.scopes ?? []).map((r) => [`${r.structureIndex}/${r.scopeIndex}`, r]))
  for (const section of SECTIONS) {
    const items = table.structures.map((s, i) => ({s, i})).filter(({s}) => section.types.includes(s.type))
    if (items.length === 0) continue
    out.push('', section.title)
    items.forEach(({s, i}, n) => {
      const lastItem = n === items.length - 1
      out.push(`${lastItem ? '└─' : '├─'} ${headline(s)}  @${hex(s.offset)}`)
      const indent = lastItem ? '   ' : '│  '
      const scopes = 'scopes' in s ? s.scopes : []
      const owned = s.type === 'DRHD' && s.flags.includePciAll && options.resolution ? [...options.resolution.owners.values()].filter((o) => o.drhdIndex === i && o.via === 'include-all').length : undefined
      const lines = scopes.map((scope, k) => scopeLine(scope, resolved.get(`${i}/${k}`), andds, options))
      if (owned !== undefined) lines.push(`+ ${owned} more PCI function(s) by INCLUDE_PCI_ALL`)
      for (const p of s.problems) lines.push(`! ${p}`)
      lines.forEach((line, k) => out.push(`${indent}${k === lines.length - 1 ? '└─' : '├─'} ${line}`))
    })
  }
  if (options.resolution && options.resolution.uncovered.length > 0) {
    out.push('', `PCI functions under no remapping unit: ${options.resolution.uncovered.join(', ')}`)
  }
  return out.join('\n')
}

export function renderLint(results: CheckResult[], options: DmarRenderOptions = {}): string {
  const shown = options.verbose ? results : results.filter((r) => r.outcome !== 'pass' && r.outcome !== 'not-applicable')
  const footer = countsLine(countOutcomes(results.map((r) => r.outcome)))
  if (shown.length === 0) return `Lint: no findings (${footer})`
  const table = outcomeTable(options.width, 28)
  for (const r of shown) {
    const evidence = r.evidence.slice(0, options.verbose ? r.evidence.length : 4).map((e) => `  · ${e.fact}`)
    const more = !options.verbose && r.evidence.length > 4 ? [`  · … ${r.evidence.length - 4} more`] : []
    const todo = r.outcome === 'pass' ? [] : r.remediation.map((step) => `  → ${step}`)
    table.push(OUTCOME_MARK[r.outcome], r.id, [r.summary, ...evidence, ...more, ...todo].join('\n'))
  }
  return ['Lint', table.toString(), footer].join('\n')
}

export function renderDmarReport(table: DmarTable, source: string, lint: CheckResult[], options: DmarRenderOptions = {}): string {
  return `${renderDmarTree(table, source, options)}\n\n${renderLint(lint, options)}\n`
}
