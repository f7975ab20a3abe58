/**
 * The `units` report: remapping units with CAP/ECAP/VER decoded into named features, and the
 * cross-checks with each other and the DMAR table. JSON carries registers as "0x…" strings.
 */
import {fittedTable} from './fit-table.js'
import {wrapCell} from './outcome-table.js'
import Table from 'cli-table3'
import type {AmdUnit, DecodedUnit} from '../model/units.js'
import type {IommuFamily} from '../model/host.js'
import type {DecodedAmdCap, DecodedAmdEfr} from '../decode/amd-iommu-registers.js'
import {iommuFamilyWords} from './iommu-family.js'
import type {CheckResult} from '../checks/outcome.js'
import {featureNames, type DecodedCap, type DecodedEcap, type DecodedField} from '../decode/vtd-registers.js'
import {renderLint, toJson, type Jsonify} from './dmar.js'
import {hex} from '../decode/pci-address.js'

export const UNITS_SCHEMA_VERSION = 1

export interface UnitJson {
  name: string
  /** The unit's architecture: intel-vtd (dmarN), amd-vi (ivhdN), arm-smmu-v3 (smmu3.…), other. */
  family: Exclude<IommuFamily, 'none'>
  registerBase?: string
  version?: string
  cap?: string
  ecap?: string
  /** Where the values were read. */
  source: string
  /** Short names of present features: VT-d "2MiB 1GiB QI IR EIM PT SC …"; AMD-Vi the kernel's "PreF PPR X2APIC … GA_vAPIC SNP". */
  features: string[]
  /** VT-d CAP, or the AMD-Vi capability header (`amd-iommu/cap`). */
  capDecoded?: Jsonify<DecodedCap> | Jsonify<DecodedAmdCap>
  ecapDecoded?: Jsonify<DecodedEcap>
  /** AMD-Vi: the `features` file as written, the extended feature registers it holds, and how its halves were told apart. */
  featuresText?: string
  efr?: string
  efr2?: string
  featuresOrder?: {order: string; basis: string}
  efrDecoded?: Jsonify<DecodedAmdEfr>
  /** BDFs the unit translates (its devices/ links), for units without registers (SMMUv3). */
  devices?: number
}

export interface UnitsReport {
  schemaVersion: number
  tool: 'vtd-check'
  /** The host's IOMMU family, as every command names it. */
  iommuFamily: IommuFamily
  /** "sysfs", "kernel log", or "none". */
  origin: 'sysfs' | 'kernel log' | 'none'
  units: UnitJson[]
  /** The DMAR table used for cross-checks, when it could be read. */
  table?: {source: string; drhds: number; flags?: number}
  lint: CheckResult[]
}

export function unitJson(unit: DecodedUnit): UnitJson {
  const out: UnitJson = {name: unit.name, family: 'intel-vtd', source: unit.source, features: featureNames(unit.capDecoded, unit.ecapDecoded)}
  if (unit.registerBase !== undefined) out.registerBase = hex(unit.registerBase)
  if (unit.version !== undefined) out.version = unit.version
  if (unit.cap !== undefined) out.cap = hex(unit.cap)
  if (unit.ecap !== undefined) out.ecap = hex(unit.ecap)
  if (unit.capDecoded) out.capDecoded = toJson(unit.capDecoded)
  if (unit.ecapDecoded) out.ecapDecoded = toJson(unit.ecapDecoded)
  return out
}

/** An AMD-Vi unit in the same JSON shape: cap and the EFR halves as "0x…" strings, decoded beside them. */
export function amdUnitJson(unit: AmdUnit): UnitJson {
  const out: UnitJson = {name: unit.name, family: 'amd-vi', source: unit.source, features: unit.efrDecoded?.names ?? []}
  if (unit.cap !== undefined) out.cap = hex(unit.cap)
  if (unit.capDecoded) out.capDecoded = toJson(unit.capDecoded)
  if (unit.featuresText !== undefined) out.featuresText = unit.featuresText
  if (unit.features) {
    out.efr = hex(unit.features.efr)
    if (unit.features.efr2 !== undefined) out.efr2 = hex(unit.features.efr2)
    out.featuresOrder = {order: unit.features.order, basis: unit.features.basis}
  }
  if (unit.efrDecoded) out.efrDecoded = toJson(unit.efrDecoded)
  return out
}

/** A unit the driver publishes no registers for (SMMUv3, virtio-iommu): its name and device count. */
export function bareUnitJson(unit: {name: string; vendor: string; devices: string[]}): UnitJson {
  return {name: unit.name, family: unit.vendor === 'arm-smmu-v3' ? 'arm-smmu-v3' : 'other', source: `/sys/class/iommu/${unit.name}`, features: [], devices: unit.devices.length}
}

export interface UnitsRenderOptions {
  width?: number
  /** Print every CAP/ECAP field per unit, and passing lints. */
  verbose?: boolean
}

export function renderUnitsReport(report: UnitsReport, units: DecodedUnit[], options: UnitsRenderOptions = {}): string {
  const out: string[] = [`${iommuFamilyWords(report.iommuFamily)}`]
  const others = report.units.filter((u) => u.family !== 'intel-vtd')
  if (others.length > 0) out.push(...renderFamilyUnits(report, others, options))
  else if (units.length === 0) out.push('No remapping units found (nothing in /sys/class/iommu, no VT-d unit lines in the kernel log).')
  else {
    out.push(`Remapping units (from ${report.origin}${report.table ? `; DMAR table ${report.table.source}: ${report.table.drhds} DRHD(s)` : ''})`)
    const table = new Table({
      head: ['Unit', 'Register base', 'Ver', 'Address widths', 'Domains', 'Fault rec.', 'Features'],
      wordWrap: true,
      // Fits the terminal (at least 80 columns): seven columns and their eight borders.
      colWidths: [8, 12, 5, 19, 9, 7, Math.max(12, Math.max(80, options.width ?? 100) - 68)],
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

/** AMD-Vi units (cap, EFR/EFR2 decoded) and register-less units (SMMUv3). */
function renderFamilyUnits(report: UnitsReport, units: UnitJson[], options: UnitsRenderOptions): string[] {
  const out = [`Remapping units (from ${report.origin})`]
  const table = new Table({
    head: ['Unit', 'Cap', 'EFR / EFR2', 'Levels', 'PASID', 'Features'],
    wordWrap: true,
    // Fits the terminal (at least 80 columns): EFR2 sits under EFR, six columns and their seven borders.
    colWidths: [10, 12, 20, 8, 7, Math.max(16, Math.max(80, options.width ?? 100) - 64)],
    style: {head: [], border: [], compact: true},
  })
  const bare = units.filter((u) => u.family !== 'amd-vi')
  if (bare.length === units.length) {
    // SMMUv3 / virtio-iommu: the driver publishes no registers, only the unit and its devices.
    const rows = bare.map((u) => [u.name, u.family, String(u.devices ?? 0), 'none in sysfs (the driver publishes none)'])
    return [...out, fittedTable({head: ['Unit', 'Family', 'Devices', 'Registers'], rows, width: options.width, compact: true})]
  }
  for (const u of units) {
    const efr = u.efrDecoded as DecodedAmdEfr | undefined
    if (u.family !== 'amd-vi') {
      // SMMUv3 names carry the register base ("smmu3.0x0000000009050000"): wrapped, never cut.
      table.push([wrapCell(u.name, 8), '-', '-', '-', '-', `${u.family}: no register files in sysfs; ${u.devices ?? 0} device(s)`])
      continue
    }
    table.push([wrapCell(u.name, 8), u.cap ?? '?', `${u.efr ?? '?'}\n${u.efr2 ?? '-'}`, efr ? String(efr.hostLevels) : '?', efr?.pasidBits === undefined ? '-' : `${efr.pasidBits}b`, u.features.join(' ')])
  }
  out.push(table.toString())
  for (const u of units.filter((x) => x.featuresOrder && x.featuresOrder.order !== 'efr')) out.push(`${u.name}: features "${u.featuresText ?? ''}" read as ${u.featuresOrder?.order} (${u.featuresOrder?.basis})`)
  if (options.verbose)
    for (const u of units) {
      if (u.family !== 'amd-vi') continue
      out.push('', `${u.name} [${u.source}]`)
      out.push(...registerDump('CAP', u.cap, (u.capDecoded as DecodedAmdCap | undefined)?.fields, 18))
      out.push(...registerDump('EFR', u.efr, (u.efrDecoded as DecodedAmdEfr | undefined)?.fields, 18))
    }
  return out
}

/** One register and its fields, one line each (units --verbose). */
function registerDump(label: string, raw: string | undefined, fields: readonly DecodedField[] | undefined, keyWidth: number): string[] {
  if (raw === undefined || !fields) return []
  return [`  ${label} ${raw}`, ...fields.map((f) => `    ${f.bits.padStart(5)} ${f.key.padEnd(keyWidth)} ${String(f.value).padStart(5)}  ${f.title}`)]
}

function registerLines(u: DecodedUnit): string[] {
  return [
    `${u.name} [${u.source}]`,
    ...registerDump('CAP ', u.cap === undefined ? undefined : hex(u.cap), u.capDecoded?.fields, 8),
    ...registerDump('ECAP', u.ecap === undefined ? undefined : hex(u.ecap), u.ecapDecoded?.fields, 8),
  ]
}
