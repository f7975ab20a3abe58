/**
 * The `units` report: remapping units with CAP/ECAP/VER decoded into named features, and the
 * cross-checks with each other and the DMAR table. JSON carries registers as "0x…" strings.
 */
import Table from 'cli-table3'
import type {DecodedUnit} from '../model/units.js'
import type {CheckResult} from '../checks/outcome.js'
import {featureNames, type DecodedCap, type DecodedEcap} from '../decode/vtd-registers.js'
import {renderLint, toJson, type Jsonify} from './dmar.js'
import {hex} from '../decode/pci-address.js'

export const UNITS_SCHEMA_VERSION = 1

export interface UnitJson {
  name: string
  registerBase?: string
  version?: string
  cap?: string
  ecap?: string
  /** Where the values were read. */
  source: string
  /** Short names of present features: "2MiB 1GiB QI IR EIM PT SC …". */
  features: string[]
  capDecoded?: Jsonify<DecodedCap>
  ecapDecoded?: Jsonify<DecodedEcap>
}

export interface UnitsReport {
  schemaVersion: number
  tool: 'vtd-check'
  /** "sysfs", "kernel log", or "none". */
  origin: 'sysfs' | 'kernel log' | 'none'
  units: UnitJson[]
  /** The DMAR table used for cross-checks, when it could be read. */
  table?: {source: string; drhds: number; flags?: number}
  lint: CheckResult[]
}

export function unitJson(unit: DecodedUnit): UnitJson {
  const out: UnitJson = {name: unit.name, source: unit.source, features: featureNames(unit.capDecoded, unit.ecapDecoded)}
  if (unit.registerBase !== undefined) out.registerBase = hex(unit.registerBase)
  if (unit.version !== undefined) out.version = unit.version
  if (unit.cap !== undefined) out.cap = hex(unit.cap)
  if (unit.ecap !== undefined) out.ecap = hex(unit.ecap)
  if (unit.capDecoded) out.capDecoded = toJson(unit.capDecoded)
  if (unit.ecapDecoded) out.ecapDecoded = toJson(unit.ecapDecoded)
  return out
}

export interface UnitsRenderOptions {
  width?: number
  /** Print every CAP/ECAP field per unit, and passing lints. */
  verbose?: boolean
}

export function renderUnitsReport(report: UnitsReport, units: DecodedUnit[], options: UnitsRenderOptions = {}): string {
  const out: string[] = []
  if (units.length === 0) out.push('No remapping units found (no /sys/class/iommu/dmar*, no boot lines in the kernel log).')
  else {
    out.push(`Remapping units (from ${report.origin}${report.table ? `; DMAR table ${report.table.source}: ${report.table.drhds} DRHD(s)` : ''})`)
    const table = new Table({
      head: ['Unit', 'Register base', 'Ver', 'Address widths', 'Domains', 'Fault rec.', 'Features'],
      wordWrap: true,
      colWidths: [8, 14, 5, 20, 9, 10, Math.max(20, (options.width ?? 100) - 80)],
      style: {head: [], border: [], compact: true},
    })
    for (const u of units) {
      const cap = u.capDecoded
      table.push([
        u.name,
        u.registerBase === undefined ? '?' : hex(u.registerBase),
        u.version ?? '?',
        cap ? `SAGAW ${cap.sagaw.widths.join('/')} MGAW ${cap.mgaw}` : '?',
        cap ? String(cap.domains) : '?',
        cap ? String(cap.faultRecords) : '?',
        featureNames(u.capDecoded, u.ecapDecoded).join(' '),
      ])
    }
    out.push(table.toString())
    if (options.verbose) for (const u of units) out.push('', ...registerLines(u))
  }
  out.push('', renderLint(report.lint, options))
  return out.join('\n') + '\n'
}

function registerLines(u: DecodedUnit): string[] {
  const lines = [`${u.name} [${u.source}]`]
  const dump = (label: string, raw: bigint | undefined, fields: Array<{key: string; bits: string; value: number; title: string}> | undefined): void => {
    if (raw === undefined || !fields) return
    lines.push(`  ${label} ${hex(raw)}`)
    for (const f of fields) lines.push(`    ${f.bits.padStart(5)} ${f.key.padEnd(8)} ${String(f.value).padStart(5)}  ${f.title}`)
  }
  dump('CAP ', u.cap, u.capDecoded?.fields)
  dump('ECAP', u.ecap, u.ecapDecoded?.fields)
  return lines
}
