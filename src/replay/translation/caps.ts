/**
 * What a remapping unit can do, as far as a translation walk cares: decoded once from the
 * unit's CAP/ECAP registers (vtd-reference §2.2–2.3) so the walk reads plain fields.
 */

export interface UnitCaps {
  /** SAGAW bitmap (CAP 12:8): bit0 30-bit/2-level … bit3 57-bit/5-level. */
  sagaw: number
  /** Maximum guest address width in bits (CAP 21:16 + 1). */
  mgaw: number
  /** Second-level large pages (CAP 37:34): bit0 2 MiB, bit1 1 GiB. */
  sllps: number
  /** First-stage 1-GiB pages (CAP 56). */
  fs1gp: boolean
  /** First-stage 5-level paging (CAP 60). */
  fs5lp: boolean
  /** ECAP.PT: TT=10 / PGTT=100 pass-through allowed. */
  pt: boolean
  /** ECAP.DT: device-TLB (ATS), needed for TT=01 and DTE. */
  dt: boolean
  /** ECAP.SC: snoop control, makes SNP (PTE bit 11) legal. */
  sc: boolean
  smts: boolean
  slts: boolean
  flts: boolean
  nest: boolean
  /** ECAP.PASID (bit 40). */
  pasid: boolean
  /** ECAP.RPS: RID_PASID may be non-zero. */
  rps: boolean
  /** ECAP.SRS: supervisor requests. */
  srs: boolean
  /** Host address width in bits: entry address bits at or above it are reserved. */
  haw: number
}

const bit = (value: bigint, n: number): boolean => ((value >> BigInt(n)) & 1n) === 1n
const field = (value: bigint, lo: number, width: number): number =>
  Number((value >> BigInt(lo)) & ((1n << BigInt(width)) - 1n))

/**
 * @param haw host address width (DMAR header width + 1). When unknown, 52 — the widest a
 *   PTE address can be — so that no address bit is wrongly called reserved.
 */
export function unitCapsFromRegisters(cap: bigint, ecap: bigint, haw = 52): UnitCaps {
  return {
    sagaw: field(cap, 8, 5),
    mgaw: field(cap, 16, 6) + 1,
    sllps: field(cap, 34, 4) & 0b11,
    fs1gp: bit(cap, 56),
    fs5lp: bit(cap, 60),
    pt: bit(ecap, 6),
    dt: bit(ecap, 2),
    sc: bit(ecap, 7),
    smts: bit(ecap, 43),
    slts: bit(ecap, 46),
    flts: bit(ecap, 47),
    nest: bit(ecap, 26),
    pasid: bit(ecap, 40),
    rps: bit(ecap, 49),
    srs: bit(ecap, 31),
    haw,
  }
}

/** AGAW encoding (context AW / PASID-entry AW): 0 → 30-bit/2-level … 3 → 57-bit/5-level. */
export const agawWidth = (aw: number): number => 30 + 9 * aw
export const agawLevels = (aw: number): number => aw + 2

/** Is this AW value one of the unit's SAGAW widths? */
export function sagawSupports(caps: UnitCaps, aw: number): boolean {
  return aw >= 0 && aw <= 4 && ((caps.sagaw >> aw) & 1) === 1
}

/**
 * The AW Linux programs for a translated domain: the widest SAGAW width ≤ min(MGAW, 57)
 * (vtd-reference §3.3). Undefined when none fits ("No supported address widths").
 */
export function linuxDomainAw(caps: UnitCaps): number | undefined {
  for (let aw = 3; aw >= 0; aw--) {
    if (sagawSupports(caps, aw) && agawWidth(aw) <= Math.min(caps.mgaw, 57)) return aw
  }
  return undefined
}

/** The AW Linux programs for pass-through contexts: the largest supported. */
export function widestAw(caps: UnitCaps): number | undefined {
  for (let aw = 4; aw >= 0; aw--) if (sagawSupports(caps, aw)) return aw
  return undefined
}
