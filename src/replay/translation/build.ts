/**
 * Building translation tables in a model's memory: root and context entries (legacy and
 * scalable), PASID directory and table entries, and second-/first-stage page tables with
 * 4K/2M/1G leaves. Every structure is written through the field tables in structures.ts,
 * so what the builder writes is exactly what the walk and the debugfs parser read.
 */
import {agawLevels, linuxDomainAw, type UnitCaps} from './caps.js'
import {SparseMemory} from './memory.js'
import {
  encodeEntry,
  LEGACY_CONTEXT_ENTRY,
  LEGACY_ROOT_ENTRY,
  PASID_DIRECTORY_ENTRY,
  PASID_TABLE_ENTRY,
  PGTT,
  SCALABLE_CONTEXT_ENTRY,
  SCALABLE_ROOT_ENTRY,
  levelShift,
} from './structures.js'
import type {TablesSource, TranslationUnit} from './unit.js'

/** A page table hierarchy a context or PASID entry can point at. */
export interface PageTableDomain {
  did: number
  stage: 'second' | 'first'
  /** Physical address of the top-level table. */
  root: number
  levels: number
  /** Context/PASID-entry AW (second stage) or 4/5-level paging (first stage). */
  aw: number
}

export interface Mapping {
  iova: bigint
  hpa: bigint
  size: bigint
  read?: boolean
  write?: boolean
}

export interface LegacyContextFields {
  tt: number
  aw: number
  did: number
  slptptr?: number
  fpd?: boolean
}

export interface ScalableContextFields {
  dte?: boolean
  paside?: boolean
  pre?: boolean
  fpd?: boolean
  ridPasid?: number
  ridPriv?: boolean
  /** PASID directory size: 2^(pdts+7) entries. */
  pdts?: number
}

export interface PasidEntryFields {
  pgtt: number
  did: number
  aw?: number
  ssptptr?: number
  fsptptr?: number
  /** 0 = 4-level, 1 = 5-level first stage. */
  fspm?: number
  sre?: boolean
  wpe?: boolean
  nxe?: boolean
  fpd?: boolean
  present?: boolean
}

const SIZE_4K = 0x1000n

export class TableBuilder {
  readonly memory: SparseMemory
  readonly rootTable: number
  /** sid → PASID directory address (scalable mode). */
  private readonly pasidDirectories = new Map<number, number>()

  constructor(
    readonly caps: UnitCaps,
    readonly scalable: boolean,
    complete = true,
  ) {
    this.memory = new SparseMemory(complete)
    this.rootTable = this.memory.allocate()
  }

  unit(name: string, source: TablesSource, notes: string[] = [], segment = 0): TranslationUnit {
    return {name, segment, caps: this.caps, rootTable: this.rootTable, scalable: this.scalable, memory: this.memory, source, notes}
  }

  /** The context table for this requester's bus (and devfn half in scalable mode), made on first use. */
  private contextTable(sid: number): number {
    const bus = sid >> 8
    const rootEntry = this.rootTable + bus * 16
    const lo = this.memory.read64(rootEntry) ?? 0n
    const hi = this.memory.read64(rootEntry + 8) ?? 0n
    if (!this.scalable) {
      if ((lo & 1n) === 1n) return Number(lo & 0x000f_ffff_ffff_f000n)
      const table = this.memory.allocate()
      this.memory.writeWords(rootEntry, encodeEntry(LEGACY_ROOT_ENTRY, {present: 1, ctp: table}))
      return table
    }
    const upper = (sid & 0xff) >= 0x80
    const present = upper ? (hi & 1n) === 1n : (lo & 1n) === 1n
    if (present) return Number((upper ? hi : lo) & 0x000f_ffff_ffff_f000n)
    const table = this.memory.allocate()
    const current = {lp: lo & 1n, lctp: lo & 0x000f_ffff_ffff_f000n, up: hi & 1n, uctp: hi & 0x000f_ffff_ffff_f000n}
    const next = upper ? {...current, up: 1n, uctp: BigInt(table)} : {...current, lp: 1n, lctp: BigInt(table)}
    this.memory.writeWords(rootEntry, encodeEntry(SCALABLE_ROOT_ENTRY, next))
    return table
  }

  /** Address of this requester's context entry (16 bytes legacy, 32 scalable). */
  contextEntryAddress(sid: number): number {
    const table = this.contextTable(sid)
    return this.scalable ? table + (sid & 0x7f) * 32 : table + (sid & 0xff) * 16
  }

  setLegacyContext(sid: number, fields: LegacyContextFields): void {
    this.memory.writeWords(
      this.contextEntryAddress(sid),
      encodeEntry(LEGACY_CONTEXT_ENTRY, {present: 1, fpd: fields.fpd ?? false, tt: fields.tt, aw: fields.aw, did: fields.did, slptptr: fields.slptptr ?? 0}),
    )
  }

  setScalableContext(sid: number, fields: ScalableContextFields = {}): number {
    let directory = this.pasidDirectories.get(sid)
    if (directory === undefined) {
      directory = this.memory.allocate()
      this.pasidDirectories.set(sid, directory)
    }
    this.memory.writeWords(
      this.contextEntryAddress(sid),
      encodeEntry(SCALABLE_CONTEXT_ENTRY, {
        present: 1,
        fpd: fields.fpd ?? false,
        dte: fields.dte ?? false,
        paside: fields.paside ?? false,
        pre: fields.pre ?? false,
        pdts: fields.pdts ?? 0,
        pasiddirptr: directory,
        ridPasid: fields.ridPasid ?? 0,
        ridPriv: fields.ridPriv ?? false,
      }),
    )
    return directory
  }

  /** Write the PASID-table entry for (requester, PASID), making directory entry and table as needed. */
  setPasidEntry(sid: number, pasid: number, fields: PasidEntryFields): number {
    const directory = this.pasidDirectories.get(sid) ?? this.setScalableContext(sid)
    const dirEntry = directory + (pasid >>> 6) * 8
    const current = this.memory.read64(dirEntry) ?? 0n
    let table: number
    if ((current & 1n) === 1n) table = Number(current & 0x000f_ffff_ffff_f000n)
    else {
      table = this.memory.allocate()
      this.memory.write64(dirEntry, encodeEntry(PASID_DIRECTORY_ENTRY, {present: 1, pasidTablePointer: table})[0] ?? 0n)
    }
    const address = table + (pasid & 63) * 64
    this.memory.writeWords(
      address,
      encodeEntry(PASID_TABLE_ENTRY, {
        present: fields.present ?? true,
        fpd: fields.fpd ?? false,
        aw: fields.aw ?? 0,
        pgtt: fields.pgtt,
        ssptptr: fields.ssptptr ?? 0,
        did: fields.did,
        sre: fields.sre ?? false,
        fspm: fields.fspm ?? 0,
        wpe: fields.wpe ?? false,
        nxe: fields.nxe ?? false,
        fsptptr: fields.fsptptr ?? 0,
      }),
    )
    return address
  }

  /** A new empty page-table hierarchy. `aw` defaults to the width Linux would pick. */
  newDomain(did: number, stage: 'second' | 'first' = 'second', aw?: number): PageTableDomain {
    const chosen = aw ?? (stage === 'first' ? 2 : (linuxDomainAw(this.caps) ?? 2))
    // First-stage paging is 4-level (48-bit) or 5-level (57-bit) only.
    const levels = stage === 'first' ? (chosen >= 3 ? 5 : 4) : agawLevels(chosen)
    return {did, stage, root: this.memory.allocate(), levels, aw: chosen}
  }

  /** Largest leaf level usable here: 3 (1G) / 2 (2M) / 1 (4K), per the unit's CAP. */
  private leafLevel(domain: PageTableDomain, iova: bigint, hpa: bigint, remaining: bigint): number {
    const can1g = domain.stage === 'first' ? this.caps.fs1gp : (this.caps.sllps & 2) !== 0
    const can2m = domain.stage === 'first' ? true : (this.caps.sllps & 1) !== 0
    const fits = (level: number) => {
      const size = 1n << BigInt(levelShift(level))
      return iova % size === 0n && hpa % size === 0n && remaining >= size && domain.levels >= level
    }
    if (can1g && fits(3)) return 3
    if (can2m && fits(2)) return 2
    return 1
  }

  /** Map [iova, iova+size) → [hpa, …) with the given permissions, superpages where allowed. */
  map(domain: PageTableDomain, mapping: Mapping): void {
    const read = mapping.read ?? true
    const write = mapping.write ?? true
    let iova = mapping.iova & ~(SIZE_4K - 1n)
    let hpa = mapping.hpa & ~(SIZE_4K - 1n)
    const end = mapping.iova + mapping.size
    while (iova < end) {
      const level = this.leafLevel(domain, iova, hpa, end - iova)
      const slot = this.slot(domain, iova, level)
      const large = level > 1 ? 0x80n : 0n
      const value =
        domain.stage === 'second'
          ? hpa | large | (write ? 2n : 0n) | (read ? 1n : 0n)
          : // First stage: P, U/S (Linux DMA PTEs are user pages), A, D; RW only when writable.
            hpa | large | 0x1n | 0x4n | 0x20n | 0x40n | (write ? 2n : 0n)
      this.memory.write64(slot, value)
      const step = 1n << BigInt(levelShift(level))
      iova += step
      hpa += step
    }
  }

  /** Clear the leaf entries covering [iova, iova+size) (the tables stay). */
  unmap(domain: PageTableDomain, iova: bigint, size: bigint): void {
    let at = iova & ~(SIZE_4K - 1n)
    while (at < iova + size) {
      const {address, level} = this.findLeaf(domain, at)
      if (address === undefined) at += SIZE_4K
      else {
        this.memory.write64(address, 0n)
        at = (at & ~((1n << BigInt(levelShift(level))) - 1n)) + (1n << BigInt(levelShift(level)))
      }
    }
  }

  /** Physical address of the entry at `level` for `iova`, creating intermediate tables. */
  slot(domain: PageTableDomain, iova: bigint, level: number): number {
    let table = domain.root
    for (let l = domain.levels; l > level; l--) {
      const entry = table + Number((iova >> BigInt(levelShift(l))) & 511n) * 8
      const value = this.memory.read64(entry) ?? 0n
      const present = domain.stage === 'second' ? (value & 3n) !== 0n : (value & 1n) === 1n
      if (present && (value & 0x80n) === 0n) table = Number(value & 0x000f_ffff_ffff_f000n)
      else {
        const next = this.memory.allocate()
        // Non-leaf entries carry full permission; the leaf decides (as Linux does).
        this.memory.write64(entry, BigInt(next) | (domain.stage === 'second' ? 3n : 0x27n))
        table = next
      }
    }
    return table + Number((iova >> BigInt(levelShift(level))) & 511n) * 8
  }

  private findLeaf(domain: PageTableDomain, iova: bigint): {address?: number; level: number} {
    let table = domain.root
    for (let l = domain.levels; l >= 1; l--) {
      const entry = table + Number((iova >> BigInt(levelShift(l))) & 511n) * 8
      const value = this.memory.read64(entry) ?? 0n
      const present = domain.stage === 'second' ? (value & 3n) !== 0n : (value & 1n) === 1n
      if (!present) return {level: l}
      if (l === 1 || (value & 0x80n) !== 0n) return {address: entry, level: l}
      table = Number(value & 0x000f_ffff_ffff_f000n)
    }
    return {level: 1}
  }

  /** Attach a requester to a domain the way Linux does (legacy context or RID_PASID entry). */
  attach(sid: number, domain: PageTableDomain, options: {ats?: boolean; fpd?: boolean; paside?: boolean} = {}): void {
    if (!this.scalable) {
      this.setLegacyContext(sid, {tt: options.ats === true ? 1 : 0, aw: domain.aw, did: domain.did, slptptr: domain.root, fpd: options.fpd ?? false})
      return
    }
    this.setScalableContext(sid, {dte: options.ats ?? false, paside: options.paside ?? false, fpd: options.fpd ?? false})
    this.setPasidEntry(sid, 0, this.pasidFieldsFor(domain))
  }

  pasidFieldsFor(domain: PageTableDomain): PasidEntryFields {
    return domain.stage === 'second'
      ? {pgtt: PGTT.secondStage, did: domain.did, aw: domain.aw, ssptptr: domain.root}
      : {pgtt: PGTT.firstStage, did: domain.did, fsptptr: domain.root, fspm: domain.levels === 5 ? 1 : 0, sre: true}
  }

  /** Hardware pass-through (TT=10 / PGTT=100), DID 1 as Linux uses for identity. */
  attachPassThrough(sid: number, aw: number): void {
    if (!this.scalable) this.setLegacyContext(sid, {tt: 2, aw, did: 1})
    else {
      this.setScalableContext(sid, {})
      this.setPasidEntry(sid, 0, {pgtt: PGTT.passThrough, did: 1})
    }
  }
}
