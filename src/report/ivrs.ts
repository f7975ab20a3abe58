/**
 * The `ivrs` report: the JSON envelope (bigints as lowercase hex strings) and the human
 * rendering — each IOMMU (IVHD) with its device entries, the memory definitions (IVMD), the
 * firmware DMA aliases, and the lint findings last.
 */
import type {CheckResult} from '../checks/outcome.js'
import {effectiveIvhdType, ivhdRanges, ivrsAliases, type Ivhd, type IvrsAlias, type IvrsBlock, type IvrsEntry, type IvrsTable} from '../decode/ivrs.js'
import {hex} from '../decode/pci-address.js'
import {renderLint, toJson, type Jsonify} from './dmar.js'

export const IVRS_SCHEMA_VERSION = 1

export interface IvrsReport {
  schemaVersion: number
  tool: 'vtd-check'
  iommuFamily: 'amd-vi'
  /** Where the table was read ("/sys/firmware/acpi/tables/IVRS", a file path). */
  source: string
  table: Jsonify<IvrsTable>
  /** The IVHD type the kernel reads (the others describe the same IOMMUs for older kernels). */
  effectiveIvhdType?: number
  /** DMA aliases the firmware declares (alias entries 0x42/0x43). */
  aliases: IvrsAlias[]
  lint: CheckResult[]
}

export function buildIvrsReport(table: IvrsTable, source: string, lint: CheckResult[]): IvrsReport {
  const type = effectiveIvhdType(table)
  return {
    schemaVersion: IVRS_SCHEMA_VERSION,
    tool: 'vtd-check',
    iommuFamily: 'amd-vi',
    source,
    table: toJson(table),
    ...(type !== undefined ? {effectiveIvhdType: type} : {}),
    aliases: ivrsAliases(table),
    lint,
  }
}

export interface IvrsRenderOptions {
  verbose?: boolean
  width?: number
}

const bdfShort = (bdf: string): string => bdf.replace(/^0000:/, '')

function entryLine(e: IvrsEntry, rangeEnd: IvrsEntry | undefined): string {
  switch (e.type) {
    case 'all':
      return 'all devices'
    case 'select':
      return `device ${bdfShort(e.bdf)}`
    case 'extended-select':
      return `device ${bdfShort(e.bdf)} (extended data ${hex(e.extendedData ?? 0)})`
    case 'range-start':
    case 'extended-range-start':
      return `devices ${bdfShort(e.bdf)} – ${rangeEnd ? bdfShort(rangeEnd.bdf) : '(no range end)'}`
    case 'alias-select':
      return `device ${bdfShort(e.bdf)} DMA as ${bdfShort(e.sourceBdf ?? '?')} (alias)`
    case 'alias-range-start':
      return `devices ${bdfShort(e.bdf)} – ${rangeEnd ? bdfShort(rangeEnd.bdf) : '(no range end)'} DMA as ${bdfShort(e.sourceBdf ?? '?')} (alias)`
    case 'special':
      return `${e.variety === 'ioapic' ? 'IOAPIC' : e.variety === 'hpet' ? 'HPET' : `special variety ${e.varietyCode ?? '?'}`} ${e.handle ?? '?'} → ${bdfShort(e.sourceBdf ?? '?')}`
    case 'acpi-hid':
      return `ACPI device ${e.hid ?? '?'}${e.uid !== undefined ? ` _UID ${e.uid}` : ''} → ${bdfShort(e.bdf)}`
    case 'range-end':
      return `range end ${bdfShort(e.bdf)} (no range start)`
    case 'unknown':
      return `entry type ${hex(e.typeCode)} at ${hex(e.offset)}`
  }
}

function ivhdLines(b: Ivhd, used: boolean): string[] {
  const features = [b.flags.iotlbSupport ? 'IOTLB' : '', b.flags.pprSupport ? 'PPR' : '', b.flags.coherent ? 'coherent' : ''].filter(Boolean).join(' ')
  const head = `IVHD ${hex(b.typeCode)} IOMMU ${bdfShort(b.bdf)} at ${hex(b.baseAddress)} segment ${b.segment}${features ? ` [${features}]` : ''}${used ? '' : ' (not read: the kernel uses the higher type)'}`
  if (!used) return [head]
  const lines: string[] = []
  const entries = b.entries
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    if (!e) continue
    const opensRange = e.type === 'range-start' || e.type === 'extended-range-start' || e.type === 'alias-range-start'
    const next = entries[i + 1]
    const end = opensRange && next?.type === 'range-end' ? next : undefined
    lines.push(`  ${entryLine(e, end)}`)
    if (end) i++
  }
  const {problems} = ivhdRanges(b)
  return [head, ...lines, ...problems.map((p) => `  ! ${p}`), ...b.problems.map((p) => `  ! ${p}`)]
}

function blockLines(b: IvrsBlock, effectiveType: number | undefined): string[] {
  switch (b.kind) {
    case 'IVHD':
      return ivhdLines(b, b.typeCode === effectiveType)
    case 'IVMD': {
      const who = b.scope === 'all' ? 'all devices' : b.scope === 'range' ? `devices ${b.deviceId.toString(16).padStart(4, '0')}-${b.auxData.toString(16).padStart(4, '0')}` : `device id ${b.deviceId.toString(16).padStart(4, '0')}`
      const flags = [b.flags.unity ? 'unity' : '', b.flags.readable ? 'R' : '', b.flags.writable ? 'W' : '', b.flags.exclusionRange ? 'exclusion' : ''].filter(Boolean).join(' ')
      return [`IVMD ${hex(b.typeCode)} [${hex(b.startAddress)}+${hex(b.length)}] ${who} ${flags}`]
    }
    case 'unknown':
      return [`block type ${hex(b.typeCode)} at ${hex(b.offset)}, ${b.blockLength} bytes${b.knownAs ? ` (${b.knownAs}, ${b.truncated ?? 'truncated'})` : ' (unknown type, skipped)'}`]
  }
}

export function renderIvrsTree(table: IvrsTable, source: string): string {
  const info = table.info
  const head = `IVRS ${source}: revision ${table.revision ?? '?'}, ${table.oemId ?? '?'} ${table.oemTableId ?? ''}`.trimEnd()
  const infoLine = info
    ? `IVinfo ${hex(info.value)}: physical ${info.physicalAddressBits} bits, virtual ${info.virtualAddressBits} bits${info.efrSupported ? ', EFR image valid' : ''}${info.dmaGuardOptIn ? ', DMA guard opt-in' : ''}`
    : 'IVinfo: missing'
  const type = effectiveIvhdType(table)
  const blocks = table.blocks.flatMap((b) => blockLines(b, type))
  return [head, infoLine, ...table.problems.map((p) => `! ${p}`), ...blocks].join('\n')
}

export function renderIvrsReport(table: IvrsTable, source: string, lint: CheckResult[], options: IvrsRenderOptions = {}): string {
  return `${renderIvrsTree(table, source)}\n\n${renderLint(lint, options)}\n`
}
