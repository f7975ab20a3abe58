/**
 * Sparse physical memory of 4-KiB pages, the backing store of a translation model.
 * Each page is a Uint32Array of 1024 words: 64-bit entry i sits at [2i] (bits 31:0) and
 * [2i+1] (bits 63:32). Keys are page frame numbers as plain numbers, because physical
 * addresses stay below 2^52 and number-keyed Map lookups are what keeps the walk fast.
 */

export const PAGE_SIZE = 4096
const TWO_32 = 0x1_0000_0000
const CACHE_SLOTS = 1024

export interface TableMemory {
  /**
   * True when every page the tables can reference is here (a JSON description or a
   * what-if build): a missing page is then a fetch error. False when the tables came from a
   * partial dump (debugfs): a missing page means "not captured", so the walk says unknown.
   */
  readonly complete: boolean
  /** The page at this frame number, or undefined when it is not in the model. */
  page(pfn: number): Uint32Array | undefined
}

/** Thrown by `ensurePage` past `SparseMemory.pageLimit`: the tables would need more memory than allowed. */
export class PageLimitExceeded extends Error {
  constructor(readonly limit: number) {
    super(`the tables need more than ${limit} pages (${(limit * PAGE_SIZE) / 2 ** 20} MiB)`)
  }
}

export class SparseMemory implements TableMemory {
  readonly pages = new Map<number, Uint32Array>()
  /** Most pages this memory may hold; a builder fed untrusted input (a --tables file) sets it. */
  pageLimit = Number.POSITIVE_INFINITY
  /** Pages made up by a builder to stand for structures a dump did not print. */
  readonly synthesized = new Set<number>()
  private nextFree: number

  constructor(
    readonly complete: boolean,
    /** Where `allocate` starts handing out pages (physical address). */
    allocateFrom = 0x1000_0000,
  ) {
    this.nextFree = allocateFrom / PAGE_SIZE
  }

  /** A direct-mapped cache in front of the Map: walks revisit the same few table pages. */
  private readonly cacheKeys = new Float64Array(CACHE_SLOTS).fill(-1)
  private readonly cachePages: Array<Uint32Array | undefined> = new Array<Uint32Array | undefined>(CACHE_SLOTS).fill(undefined)

  page(pfn: number): Uint32Array | undefined {
    const slot = pfn & (CACHE_SLOTS - 1)
    if (this.cacheKeys[slot] === pfn) return this.cachePages[slot]
    const page = this.pages.get(pfn)
    if (page !== undefined) {
      this.cacheKeys[slot] = pfn
      this.cachePages[slot] = page
    }
    return page
  }

  /** Make sure the page holding `address` exists (zero-filled) and return it. */
  ensurePage(address: number): Uint32Array {
    const pfn = Math.floor(address / PAGE_SIZE)
    let page = this.pages.get(pfn)
    if (page === undefined) {
      if (this.pages.size >= this.pageLimit) throw new PageLimitExceeded(this.pageLimit)
      page = new Uint32Array(1024)
      this.pages.set(pfn, page)
    }
    return page
  }

  /** A fresh zero page at an address nobody uses yet. */
  allocate(): number {
    while (this.pages.has(this.nextFree)) this.nextFree++
    const address = this.nextFree * PAGE_SIZE
    this.ensurePage(address)
    this.nextFree++
    return address
  }

  write64(address: number, value: bigint): void {
    const page = this.ensurePage(address)
    const word = (address % PAGE_SIZE) / 4
    page[word] = Number(value & 0xffff_ffffn)
    page[word + 1] = Number((value >> 32n) & 0xffff_ffffn)
  }

  /** Write consecutive 64-bit words (a 128/256/512-bit entry, lowest word first). */
  writeWords(address: number, words: readonly bigint[]): void {
    words.forEach((word, i) => this.write64(address + i * 8, word))
  }

  read64(address: number): bigint | undefined {
    const page = this.pages.get(Math.floor(address / PAGE_SIZE))
    if (page === undefined) return undefined
    const word = (address % PAGE_SIZE) / 4
    return (BigInt(page[word + 1] ?? 0) << 32n) | BigInt(page[word] ?? 0)
  }
}

/** 64-bit value from two 32-bit halves. */
export function join64(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)
}

/** Address bits 51:12 of an entry as a number (exact: below 2^52). */
export function entryAddress(hi: number, lo: number): number {
  return (hi & 0xfffff) * TWO_32 + ((lo & 0xfffff000) >>> 0)
}

