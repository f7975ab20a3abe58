/**
 * IVRS table lint. Every lint is data (id, title) plus one pure assess function returning a
 * verdict with evidence, like the DMAR lint. The interrupt-remapping lints follow the kernel's
 * check_ioapic_information() (drivers/iommu/amd/init.c): without an IVRS special entry for the
 * southbridge IOAPIC (00:14.0, device ID 0x00a0) the kernel logs "[Firmware Bug]: No southbridge
 * IOAPIC found" and "Disabling interrupt remapping"; the remedy is the `ivrs_ioapic[ID]=` (and
 * `ivrs_hpet[ID]=`) kernel parameter.
 *
 * Only the IVHDs of the type the kernel reads (the highest it supports, see effectiveIvhdType)
 * are linted: tables describe each IOMMU up to three times (0x10, 0x11, 0x40).
 */
import {hex} from '../decode/pci-address.js'
import {deviceIdToBdf, effectiveIvhds, effectiveIvhdType, ivhdRanges, type Ivhd, type IvrsBlock, type IvrsTable} from '../decode/ivrs.js'
import type {CheckResult} from './outcome.js'
import {ev, verdict, type Verdict} from './types.js'

export const IVRS_TABLE_PATH = '/sys/firmware/acpi/tables/IVRS'
const SPEC_DOCS = 'https://www.amd.com/content/dam/amd/en/documents/processor-tech-docs/specifications/48882_IOMMU.pdf'
/** The kernel's IOAPIC_SB_DEVID: the southbridge IOAPIC's requester ID, 00:14.0. */
export const SOUTHBRIDGE_IOAPIC_DEVID = 0x00a0

export interface IvrsLintContext {
  table: IvrsTable
  /** Where the table came from, for evidence. */
  source: string
}

interface IvrsLint {
  id: string
  title: string
  assess(ctx: IvrsLintContext): Verdict
}

const at = (b: IvrsBlock): string => `${b.kind === 'unknown' ? `type ${hex(b.typeCode)}` : `${b.kind} type ${hex(b.typeCode)}`} at ${hex(b.offset)}`
const ivhdName = (b: Ivhd): string => `IVHD ${hex(b.typeCode)} at ${hex(b.offset)} (IOMMU ${b.bdf}, ${hex(b.baseAddress)})`
const id4 = (id: number): string => `0x${id.toString(16).padStart(4, '0')}`
const idRange = (first: number, last: number): string => (first === last ? id4(first) : `${id4(first)}-${id4(last)}`)

function specialEntries(table: IvrsTable, variety: 'ioapic' | 'hpet'): Array<{block: Ivhd; handle: number; sourceId: number}> {
  return effectiveIvhds(table).flatMap((block) =>
    block.entries.flatMap((e) => (e.type === 'special' && e.variety === variety ? [{block, handle: e.handle ?? 0, sourceId: e.sourceId ?? 0}] : [])),
  )
}

const FIRMWARE_UPDATE = 'Update the system firmware (BIOS/UEFI); report the IVRS table to the vendor'

/**
 * Tables a hypervisor builds, by OEM ID. QEMU's amd-iommu IVRS (OEM "BOCHS ", table "BXPC") has
 * one special entry, the IOAPIC (lab-amd-vi, QEMU 7.2): its HPET is never described, and no kernel
 * parameter or firmware update changes that.
 */
const VIRTUAL_FIRMWARE: Record<string, string> = {BOCHS: 'QEMU'}

export const IVRS_LINTS: readonly IvrsLint[] = [
  {
    id: 'ivrs.header',
    title: 'IVRS header: signature and length',
    assess({table, source}) {
      const evidence = [ev(`signature "${table.signature ?? ''}", length field ${table.length === undefined ? 'missing' : hex(table.length)}, ${table.byteLength} bytes read`, source)]
      const fatal = table.byteLength < 48 || table.signature !== 'IVRS' || (table.length ?? 0) < 48 || (table.length ?? 0) > table.byteLength
      if (fatal) return verdict('fail', 'the IVRS table header is invalid or truncated', [...evidence, ...table.problems.map((p) => ev(p, source))], [FIRMWARE_UPDATE])
      if (table.length !== table.byteLength) return verdict('warn', 'bytes follow the table length', [...evidence, ...table.problems.map((p) => ev(p, source))])
      return verdict('pass', `valid header, ${table.length} bytes, revision ${table.revision ?? '?'}`, evidence)
    },
  },
  {
    id: 'ivrs.checksum',
    title: 'IVRS checksum',
    assess({table, source}) {
      if (table.checksumValid === undefined) return verdict('unknown', 'the table is truncated, so its checksum cannot be verified', table.problems.map((p) => ev(p, source)))
      if (!table.checksumValid) return verdict('fail', 'the bytes do not sum to zero mod 256', [ev(`checksum byte ${hex(table.checksum ?? 0)}`, source)], [FIRMWARE_UPDATE])
      return verdict('pass', 'bytes sum to zero mod 256', [ev(`checksum byte ${hex(table.checksum ?? 0)}`, source)])
    },
  },
  {
    id: 'ivrs.block-length',
    title: 'IVHD/IVMD blocks and device entries fit their lengths',
    assess({table, source}) {
      const tableLevel = table.problems.filter((p) => !p.startsWith('signature') && !/after the table length/.test(p))
      const perBlock = table.blocks.flatMap((b) => [...b.problems, ...(b.kind === 'unknown' && b.truncated ? [b.truncated] : [])].map((p) => `${at(b)}: ${p}`))
      const problems = [...tableLevel, ...perBlock]
      // Unknown block types are skipped by the kernel as they are by ACPICA: shown, not failed.
      const unknown = table.blocks.filter((b) => b.kind === 'unknown' && b.knownAs === undefined).map((b) => ev(`${at(b)}: block type the kernel does not know, skipped (${b.blockLength} bytes)`, source))
      if (problems.length > 0) return verdict('fail', `${problems.length} length problem(s): the kernel stops parsing at a bad block`, [...problems.map((p) => ev(p, source)), ...unknown], [FIRMWARE_UPDATE])
      return verdict('pass', `${table.blocks.length} blocks, all within their lengths`, unknown)
    },
  },
  {
    id: 'ivrs.ivhd',
    title: 'At least one IOMMU (IVHD) the kernel can use',
    assess({table, source}) {
      const type = effectiveIvhdType(table)
      const ivhds = effectiveIvhds(table)
      if (ivhds.length === 0) return verdict('fail', 'no IVHD block: the kernel finds no IOMMU', [ev(`${table.blocks.length} blocks, none an IVHD of a supported type`, source)], [FIRMWARE_UPDATE])
      const all = table.blocks.filter((b) => b.kind === 'IVHD').length
      return verdict('pass', `${ivhds.length} IOMMU(s) described by IVHD type ${hex(type ?? 0)} (${all} IVHD blocks in all)`, ivhds.map((b) => ev(ivhdName(b), source)))
    },
  },
  {
    id: 'ivrs.ioapic',
    title: 'Southbridge IOAPIC has an IVRS special entry (interrupt remapping)',
    assess({table, source}) {
      const ioapics = specialEntries(table, 'ioapic')
      const evidence = ioapics.map((s) => ev(`IOAPIC id ${s.handle} → ${deviceIdToBdf(s.sourceId, s.block.segment)} in ${ivhdName(s.block)}`, source))
      if (ioapics.some((s) => s.sourceId === SOUTHBRIDGE_IOAPIC_DEVID && s.block.segment === 0)) return verdict('pass', `the southbridge IOAPIC (00:14.0) is mapped; ${ioapics.length} IOAPIC entr${ioapics.length === 1 ? 'y' : 'ies'} in all`, evidence)
      return verdict(
        'fail',
        ioapics.length === 0
          ? 'no IOAPIC special entry: the kernel logs "[Firmware Bug]: No southbridge IOAPIC found" and disables interrupt remapping'
          : 'no IOAPIC entry for the southbridge (00:14.0): the kernel logs "[Firmware Bug]: No southbridge IOAPIC found" and disables interrupt remapping',
        [...evidence, ev(`IOAPIC special entries (variety 1) in the IVHDs the kernel reads: ${ioapics.length}`, source)],
        [
          'Add the kernel parameter ivrs_ioapic[ID]=00:14.0, where ID is the southbridge IOAPIC\'s APIC ID (the "IOAPIC[0]: apic_id N" line of the boot log)',
          FIRMWARE_UPDATE,
        ],
      )
    },
  },
  {
    id: 'ivrs.hpet',
    title: 'HPET has an IVRS special entry',
    assess({table, source}) {
      const hpets = specialEntries(table, 'hpet')
      if (hpets.length > 0) return verdict('pass', `HPET mapped (${hpets.length} entr${hpets.length === 1 ? 'y' : 'ies'})`, hpets.map((s) => ev(`HPET ${s.handle} → ${deviceIdToBdf(s.sourceId, s.block.segment)} in ${ivhdName(s.block)}`, source)))
      const evidence = [ev('HPET special entries (variety 2) in the IVHDs the kernel reads: 0', source)]
      // Unlike a missing IOAPIC (check_ioapic_information), the kernel says nothing: the HPET gets
      // no remapped MSI domain and keeps its legacy interrupts ("hpet: 3 channels of 0 reserved for per-cpu timers").
      const effect = 'the kernel keeps the HPET on legacy interrupts (no per-CPU HPET timers); interrupt remapping and device assignment are not affected'
      const hypervisor = VIRTUAL_FIRMWARE[(table.oemId ?? '').trim()]
      if (hypervisor !== undefined)
        return verdict('pass', `no HPET special entry, as in every ${hypervisor}-built IVRS (${hypervisor} describes only the IOAPIC): ${effect}`, [...evidence, ev(`OEM ID "${table.oemId ?? ''}": a table ${hypervisor} builds for its guest`, source)])
      return verdict('warn', `no HPET special entry: HPET MSIs cannot be remapped, so ${effect}`, evidence, [
        'Only if the HPET should deliver MSIs: add the kernel parameter ivrs_hpet[N]=BDF, the HPET number and its requester ID (on AMD FCH chipsets HPET 0 is 00:14.0)',
        FIRMWARE_UPDATE,
      ])
    },
  },
  {
    id: 'ivrs.ranges',
    title: 'Device-ID ranges are closed, ordered and do not overlap',
    assess({table, source}) {
      const fails: string[] = []
      const warns: string[] = []
      for (const block of effectiveIvhds(table)) {
        const {ranges, problems} = ivhdRanges(block)
        fails.push(...problems.map((p) => `${ivhdName(block)}: ${p}`))
        for (const r of ranges) if (r.first > r.last) fails.push(`${ivhdName(block)}: empty range ${idRange(r.first, r.last)} (start after end) at ${hex(r.entry.offset)}`)
        // Alias entries deliberately override part of a plain range (AMD reference firmware does
        // this for bus 0xff). The kernel only sets device-table bits from each entry's Data Setting,
        // so plain entries that overlap with the same setting are redundant (coreboot lists every
        // device inside its range); with different settings the devices get the union of both.
        const plain = ranges.filter((r) => r.aliasTo === undefined && r.first <= r.last && r.entry.type !== 'all')
        for (let i = 0; i < plain.length; i++)
          for (let j = i + 1; j < plain.length; j++) {
            const a = plain[i]
            const b = plain[j]
            if (a && b && a.first <= b.last && b.first <= a.last && a.entry.dataSetting.value !== b.entry.dataSetting.value)
              warns.push(
                `${ivhdName(block)}: ${idRange(a.first, a.last)} (at ${hex(a.entry.offset)}, Data Setting ${hex(a.entry.dataSetting.value)}) overlaps ${idRange(b.first, b.last)} (at ${hex(b.entry.offset)}, Data Setting ${hex(b.entry.dataSetting.value)})`,
              )
          }
      }
      if (fails.length > 0) return verdict('fail', `${fails.length} broken range(s): the devices in them get no (or the wrong) device-table entry`, [...fails, ...warns].map((p) => ev(p, source)), [FIRMWARE_UPDATE])
      if (warns.length > 0) return verdict('warn', `${warns.length} overlapping range(s) with different Data Settings: the kernel applies both, so those devices get the union of their settings`, warns.map((p) => ev(p, source)))
      return verdict('pass', 'every range start has its end, and plain ranges that overlap carry the same Data Setting', [])
    },
  },
  {
    id: 'ivrs.ivmd',
    title: 'Memory definitions (IVMD) are well formed',
    assess({table, source}) {
      const ivmds = table.blocks.flatMap((b) => (b.kind === 'IVMD' ? [b] : []))
      if (ivmds.length === 0) return verdict('pass', 'no IVMD blocks (no firmware-reserved DMA ranges)', [])
      const evidence = ivmds.map((m) => {
        const who = m.scope === 'all' ? 'all devices' : m.scope === 'range' ? `devices ${deviceIdToBdf(m.deviceId)}-${deviceIdToBdf(m.auxData)}` : deviceIdToBdf(m.deviceId)
        const kind = [m.flags.unity ? 'unity-mapped' : '', m.flags.exclusionRange ? 'exclusion range' : '', m.flags.readable ? 'R' : '', m.flags.writable ? 'W' : ''].filter(Boolean).join(' ')
        return ev(`IVMD ${hex(m.typeCode)} at ${hex(m.offset)}: [${hex(m.startAddress)}+${hex(m.length)}] for ${who} (${kind || 'no flags'})`, source)
      })
      const empty = ivmds.filter((m) => m.length === 0n)
      if (empty.length > 0) return verdict('warn', `${empty.length} IVMD block(s) of zero length`, evidence, [FIRMWARE_UPDATE])
      return verdict('pass', `${ivmds.length} IVMD block(s); the kernel maps them for the devices they name (like Intel RMRRs)`, evidence)
    },
  },
]

/** Every IVRS lint. */
export function lintIvrs(table: IvrsTable, source: string = IVRS_TABLE_PATH): CheckResult[] {
  return IVRS_LINTS.map((lint) => ({id: lint.id, title: lint.title, ...lint.assess({table, source}), docs: SPEC_DOCS}))
}
