/**
 * The kernel's own dumps of its translation tables (CONFIG_INTEL_IOMMU_DEBUGFS,
 * vtd-reference §9): `dmar_translation_struct` (root, context and PASID-table entries per
 * present context) and `domain_translation_struct` (every mapped leaf with the entry at each
 * level). Parsed into a model whose memory is partial: what the dumps do not print is
 * "not captured", and a walk that needs it says unknown instead of guessing.
 * Lines the parser does not understand are returned as problems, never thrown.
 */
import type {UnitCaps} from './caps.js'
import type {ReplayContext} from './context.js'
import {SparseMemory} from './memory.js'
import {encodeEntry, levelShift, PASID_DIRECTORY_ENTRY} from './structures.js'
import {formatBdf} from './replay.js'
import type {TranslationUnit} from './unit.js'

export interface TranslationStructRow {
  bus: number
  devfn: number
  root: {hi: bigint; lo: bigint}
  context: {hi: bigint; lo: bigint}
  /** −1 in legacy mode. */
  pasid: number
  /** PASID-table entry words 2, 1, 0 as printed (zero in legacy mode). */
  pasidEntry: [bigint, bigint, bigint]
}

export interface TranslationStructUnit {
  unit: string
  rootTable?: bigint
  /** False when the file said "DMA Remapping is not enabled". */
  enabled: boolean
  rows: TranslationStructRow[]
}

export interface ParseProblem {
  line: number
  text: string
  message: string
}

const ADDR_MASK = 0x000f_ffff_ffff_f000n

export function parseDmarTranslationStruct(text: string): {units: TranslationStructUnit[]; problems: ParseProblem[]} {
  const units: TranslationStructUnit[] = []
  const problems: ParseProblem[] = []
  let current: TranslationStructUnit | undefined
  const h = '0x([0-9a-fA-F]+)'
  const row = new RegExp(`^([0-9a-f]{2}):([0-9a-f]{2})\\.([0-7])\\s+${h}:${h}\\s+${h}:${h}\\s+(-?\\d+)\\s+${h}:${h}:${h}\\s*$`, 'i')
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd()
    if (line.trim() === '' || /^B\.D\.F\s/.test(line)) return
    let m = /^IOMMU (\S+): Root Table Address: 0x([0-9a-fA-F]+)/.exec(line)
    if (m !== null) {
      current = {unit: m[1] ?? '', rootTable: BigInt('0x' + (m[2] ?? '0')), enabled: true, rows: []}
      units.push(current)
      return
    }
    m = /DMA Remapping is not enabled on (\S+)/.exec(line)
    if (m !== null) {
      const same = units.find((u) => u.unit === m?.[1])
      if (same !== undefined) same.enabled = false
      else units.push({unit: m[1] ?? '', enabled: false, rows: []})
      current = undefined
      return
    }
    m = row.exec(line)
    if (m !== null && current !== undefined) {
      const n = (k: number) => BigInt('0x' + (m?.[k] ?? '0'))
      current.rows.push({
        bus: parseInt(m[1] ?? '0', 16),
        devfn: (parseInt(m[2] ?? '0', 16) << 3) | parseInt(m[3] ?? '0', 16),
        root: {hi: n(4), lo: n(5)},
        context: {hi: n(6), lo: n(7)},
        pasid: parseInt(m[8] ?? '-1', 10),
        pasidEntry: [n(9), n(10), n(11)],
      })
      return
    }
    problems.push({line: i + 1, text: line, message: m !== null ? 'row before any "IOMMU … Root Table Address" line' : 'line not understood'})
  })
  return {units, problems}
}

export interface DomainDumpRow {
  /** IOVA of the leaf (IOVA_PFN << 12). */
  iova: bigint
  /** Entries PML5E, PML4E, PDPE, PDE, PTE as printed (zero where the path has none). */
  entries: bigint[]
}

export interface DomainDump {
  device: string
  pasid?: number
  /** Physical address of the top-level table. */
  pgd: bigint
  rows: DomainDumpRow[]
}

export function parseDomainTranslationStruct(text: string): {domains: DomainDump[]; problems: ParseProblem[]} {
  const domains: DomainDump[] = []
  const problems: ParseProblem[] = []
  let current: DomainDump | undefined
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd()
    if (line.trim() === '' || /^IOVA_PFN\s/.test(line)) return
    let m = /^Device (\S+?)(?: with pasid (\S+))? @0x([0-9a-fA-F]+)/.exec(line)
    if (m !== null) {
      current = {device: m[1] ?? '', pgd: BigInt('0x' + (m[3] ?? '0')), rows: []}
      // "with pasid %d" (5.x) or "%x" (6.7+): digits read the same either way for small PASIDs.
      if (m[2] !== undefined) current.pasid = parseInt(m[2], /[a-f]/i.test(m[2]) ? 16 : 10)
      domains.push(current)
      return
    }
    m = /^0x([0-9a-fA-F]+)\s*\|\s*(.*)$/.exec(line)
    if (m !== null && current !== undefined) {
      const entries = (m[2] ?? '').trim().split(/\s+/).map((w) => (/^0x[0-9a-fA-F]+$/.test(w) ? BigInt(w) : undefined))
      if (entries.length === 5 && entries.every((e) => e !== undefined)) {
        current.rows.push({iova: BigInt('0x' + (m[1] ?? '0')) << 12n, entries: entries as bigint[]})
        return
      }
      problems.push({line: i + 1, text: line, message: 'expected five 0x-prefixed entries after "|"'})
      return
    }
    problems.push({line: i + 1, text: line, message: current === undefined ? 'row before any "Device … @0x…" line' : 'line not understood'})
  })
  return {domains, problems}
}

export interface DebugfsInput {
  translationStruct: string
  /** Every domain_translation_struct file found (global, per-device, per-PASID). */
  domainStructs: string[]
  /** Capabilities per unit name (from sysfs cap/ecap). */
  caps: Map<string, UnitCaps>
  /** Segment per unit name, when known. */
  segments?: Map<string, number>
}

/** Place what the dumps print at the physical addresses they name. */
export function buildFromDebugfs(input: DebugfsInput): ReplayContext & {problems: ParseProblem[]} {
  const parsed = parseDmarTranslationStruct(input.translationStruct)
  const domainDumps = input.domainStructs.map(parseDomainTranslationStruct)
  const problems = [...parsed.problems, ...domainDumps.flatMap((d) => d.problems)]
  const units: TranslationUnit[] = []
  const deviceUnits = new Map<string, string>()
  const notes = ['tables from the kernel\'s debugfs dumps (the live state when they were read); structures the dumps do not print are unknown, not absent']
  for (const dump of parsed.units) {
    const caps = input.caps.get(dump.unit)
    if (!dump.enabled || dump.rootTable === undefined) {
      notes.push(`${dump.unit}: DMA remapping is not enabled, so its requests are not translated`)
      continue
    }
    if (caps === undefined) {
      notes.push(`${dump.unit}: no cap/ecap known for this unit, so it cannot be replayed`)
      continue
    }
    const scalable = dump.rows.some((r) => r.pasid >= 0)
    // Made-up pages (the PASID tables the dump does not locate) go just under the address width.
    const memory = new SparseMemory(false, 2 ** Math.min(caps.haw, 52) - 2 ** 28)
    const rootTable = Number(dump.rootTable & ADDR_MASK)
    memory.ensurePage(rootTable)
    const unitNotes = ['root entries are known only for buses with a present context entry (the dump prints one row per present context)']
    const segment = input.segments?.get(dump.unit) ?? 0
    for (const row of dump.rows) {
      const sid = (row.bus << 8) | row.devfn
      deviceUnits.set(formatBdf(segment, sid), dump.unit)
      memory.writeWords(rootTable + row.bus * 16, [row.root.lo, row.root.hi])
      if (!scalable) {
        const table = Number(row.root.lo & ADDR_MASK)
        memory.ensurePage(table)
        memory.writeWords(table + row.devfn * 16, [row.context.lo, row.context.hi])
        continue
      }
      const half = row.devfn < 0x80 ? row.root.lo : row.root.hi
      const table = Number(half & ADDR_MASK)
      memory.ensurePage(table)
      // The dump prints the low 128 bits of the 256-bit scalable context entry.
      memory.writeWords(table + (row.devfn & 0x7f) * 32, [row.context.lo, row.context.hi, 0n, 0n])
      const directory = Number(row.context.lo & ADDR_MASK)
      const dirEntry = directory + (row.pasid >>> 6) * 8
      memory.ensurePage(dirEntry)
      const existing = memory.read64(dirEntry) ?? 0n
      let pasidTable = Number(existing & ADDR_MASK)
      if ((existing & 1n) === 0n) {
        pasidTable = memory.allocate()
        memory.synthesized.add(pasidTable / 4096)
        memory.write64(dirEntry, encodeEntry(PASID_DIRECTORY_ENTRY, {present: 1, pasidTablePointer: pasidTable})[0] ?? 0n)
      }
      const [w2, w1, w0] = row.pasidEntry
      memory.writeWords(pasidTable + (row.pasid & 63) * 64, [w0, w1, w2])
    }
    if (scalable) unitNotes.push('PASID directory entries are synthesized: the dump prints PASID-table entries but not where their tables live')
    units.push({name: dump.unit, segment, caps, rootTable, scalable, memory, source: 'debugfs', notes: unitNotes})
  }
  // Page tables: each row is one leaf with the entry at every level of its path.
  for (const {domains} of domainDumps) {
    for (const domain of domains) {
      for (const unit of units) placeDomain(unit.memory as SparseMemory, domain)
    }
  }
  return {units, deviceUnits, source: 'debugfs', notes, problems}
}

function placeDomain(memory: SparseMemory, domain: DomainDump): void {
  const pgd = Number(domain.pgd & ADDR_MASK)
  memory.ensurePage(pgd)
  for (const row of domain.rows) {
    const levels = row.entries.map((e, i) => ({entry: e, level: 5 - i})).filter((x) => x.entry !== 0n)
    let table = pgd
    for (const {entry, level} of levels) {
      const slot = table + Number((row.iova >> BigInt(levelShift(level))) & 511n) * 8
      memory.write64(slot, entry)
      table = Number(entry & ADDR_MASK)
      if (levels[levels.length - 1]?.level !== level) memory.ensurePage(table)
    }
  }
}

/**
 * The walk dump CONFIG_DMAR_DEBUG prints after a DMA fault (vtd-reference §3.4):
 * "Dump dmar1 table entries for IOVA 0x…", the root, context, PASID directory and table
 * entries, and the PTE at each level, or where the dump stopped ("… is not present").
 */
export interface FaultWalkDump {
  unit: string
  iova: bigint
  scalable: boolean
  root?: {hi: bigint; lo: bigint}
  context?: {hi: bigint; lo: bigint}
  pasidDirEntry?: bigint
  /** The 8 qwords of the PASID-table entry, in the order printed (entry[0] first). */
  pasidEntry: bigint[]
  ptes: Array<{level: number; value: bigint}>
  /** The dump's own "… not present" line, when it stopped early. */
  stoppedAt?: string
}

export function parseFaultWalkDumps(text: string): FaultWalkDump[] {
  const dumps: FaultWalkDump[] = []
  let current: FaultWalkDump | undefined
  for (const line of text.split('\n')) {
    let m = /Dump (\S+) table entries for IOVA 0x([0-9a-f]+)/i.exec(line)
    if (m !== null) {
      current = {unit: m[1] ?? '', iova: BigInt('0x' + (m[2] ?? '0')), scalable: false, pasidEntry: [], ptes: []}
      dumps.push(current)
      continue
    }
    if (current === undefined) continue
    if ((m = /scalable mode root entry: hi 0x([0-9a-f]+), low 0x([0-9a-f]+)/i.exec(line)) !== null) {
      current.scalable = true
      current.root = {hi: BigInt('0x' + m[1]), lo: BigInt('0x' + m[2])}
    } else if ((m = /root entry: 0x([0-9a-f]+)/i.exec(line)) !== null) current.root = {hi: 0n, lo: BigInt('0x' + m[1])}
    else if ((m = /context entry: hi 0x([0-9a-f]+), low 0x([0-9a-f]+)/i.exec(line)) !== null) current.context = {hi: BigInt('0x' + m[1]), lo: BigInt('0x' + m[2])}
    else if ((m = /pasid dir entry: 0x([0-9a-f]+)/i.exec(line)) !== null) current.pasidDirEntry = BigInt('0x' + m[1])
    else if ((m = /pasid table entry\[(\d+)\]: 0x([0-9a-f]+)/i.exec(line)) !== null) current.pasidEntry[Number(m[1])] = BigInt('0x' + m[2])
    else if ((m = /pte level: (\d+), pte value: 0x([0-9a-f]+)/i.exec(line)) !== null) current.ptes.push({level: Number(m[1]), value: BigInt('0x' + m[2])})
    else if ((m = /DMAR: ((?:root|context|pasid|legacy|scalable|page|PTE)[^:]*not present[^\n]*)$/i.exec(line)) !== null) current.stoppedAt = m[1]?.trim() ?? ''
  }
  return dumps
}

/**
 * Tables holding exactly what one fault dump printed, for the requester that faulted. The
 * dump prints entries, not where their tables are: the root table and (scalable) the PASID
 * table are placed at made-up pages; everything the entries point at keeps its real address.
 */
export function buildFromFaultWalkDump(dump: FaultWalkDump, requester: {sid: number}, caps: UnitCaps): TranslationUnit {
  const memory = new SparseMemory(false, 2 ** Math.min(caps.haw, 52) - 2 ** 28)
  const rootTable = memory.allocate()
  memory.synthesized.add(rootTable / 4096)
  const bus = requester.sid >> 8
  const devfn = requester.sid & 0xff
  if (dump.root !== undefined) memory.writeWords(rootTable + bus * 16, [dump.root.lo, dump.root.hi])
  const half = dump.root === undefined ? 0n : dump.scalable && devfn >= 0x80 ? dump.root.hi : dump.root.lo
  const contextTable = Number(half & ADDR_MASK)
  if (dump.context !== undefined && contextTable !== 0) {
    const at = dump.scalable ? contextTable + (devfn & 0x7f) * 32 : contextTable + devfn * 16
    memory.writeWords(at, dump.scalable ? [dump.context.lo, dump.context.hi, 0n, 0n] : [dump.context.lo, dump.context.hi])
  }
  if (dump.scalable && dump.context !== undefined && dump.pasidDirEntry !== undefined) {
    const ridPasid = Number(dump.context.hi & 0xfffffn)
    const directory = Number(dump.context.lo & ADDR_MASK)
    memory.write64(directory + (ridPasid >>> 6) * 8, dump.pasidDirEntry)
    const pasidTable = Number(dump.pasidDirEntry & ADDR_MASK)
    if (dump.pasidEntry.length > 0 && pasidTable !== 0) memory.writeWords(pasidTable + (ridPasid & 63) * 64, dump.pasidEntry.map((w) => w ?? 0n))
  }
  // The PTE lines follow the walk from the table the context (legacy) or PASID entry names.
  const pgtt = Number(((dump.pasidEntry[0] ?? 0n) >> 6n) & 7n)
  const pgd = !dump.scalable ? (dump.context?.lo ?? 0n) : pgtt === 1 ? (dump.pasidEntry[2] ?? 0n) : (dump.pasidEntry[0] ?? 0n)
  let table = Number(pgd & ADDR_MASK)
  for (const pte of [...dump.ptes].sort((a, b) => b.level - a.level)) {
    if (table === 0) break
    memory.write64(table + Number((dump.iova >> BigInt(levelShift(pte.level))) & 511n) * 8, pte.value)
    table = Number(pte.value & ADDR_MASK)
  }
  const notes = ['tables from a CONFIG_DMAR_DEBUG fault dump: the entries the kernel printed, read back from memory after the fault']
  return {name: dump.unit, segment: 0, caps, rootTable, scalable: dump.scalable, memory, source: 'debugfs', notes}
}
