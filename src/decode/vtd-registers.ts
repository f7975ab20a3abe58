/**
 * VT-d remapping-unit registers: VER, CAP and ECAP decoded into named features from field
 * tables (vtd-reference §2.2–2.3), and the per-unit boot lines that carry them in a kernel log
 * (`DMAR: dmar%d: reg_base_addr %llx ver %d:%d cap %llx ecap %llx`, 3.x `dmar: IOMMU %d: …`).
 */

export interface RegisterField {
  /** Spec abbreviation as used in JSON (`sagaw`, `nfr`, …). */
  key: string
  hi: number
  lo: number
  title: string
}

export interface DecodedField {
  key: string
  /** "12:8" or "7". */
  bits: string
  value: number
  title: string
}

/** CAP_REG, offset 0x08. Reserved ranges are left out. */
export const CAP_FIELDS: readonly RegisterField[] = [
  {key: 'nd', hi: 2, lo: 0, title: 'number of domains: 2^(4+2·ND)'},
  {key: 'afl', hi: 3, lo: 3, title: 'advanced fault logging'},
  {key: 'rwbf', hi: 4, lo: 4, title: 'required write-buffer flushing'},
  {key: 'plmr', hi: 5, lo: 5, title: 'protected low-memory region'},
  {key: 'phmr', hi: 6, lo: 6, title: 'protected high-memory region'},
  {key: 'cm', hi: 7, lo: 7, title: 'caching mode (set by emulated IOMMUs)'},
  {key: 'sagaw', hi: 12, lo: 8, title: 'supported adjusted guest address widths'},
  {key: 'mgaw', hi: 21, lo: 16, title: 'maximum guest address width − 1'},
  {key: 'zlr', hi: 22, lo: 22, title: 'zero-length read'},
  {key: 'isoch', hi: 23, lo: 23, title: 'isochronous unit (formerly DEP)'},
  {key: 'fro', hi: 33, lo: 24, title: 'fault-recording register offset (×16 bytes)'},
  {key: 'sllps', hi: 37, lo: 34, title: 'second-level large pages (bit0 2 MiB, bit1 1 GiB)'},
  {key: 'psi', hi: 39, lo: 39, title: 'page-selective invalidation'},
  {key: 'nfr', hi: 47, lo: 40, title: 'number of fault-recording registers − 1'},
  {key: 'mamv', hi: 53, lo: 48, title: 'maximum address-mask value'},
  {key: 'dwd', hi: 54, lo: 54, title: 'write draining'},
  {key: 'drd', hi: 55, lo: 55, title: 'read draining'},
  {key: 'fs1gp', hi: 56, lo: 56, title: 'first-stage 1-GiB pages'},
  {key: 'pi', hi: 59, lo: 59, title: 'posted interrupts'},
  {key: 'fs5lp', hi: 60, lo: 60, title: 'first-stage 5-level paging'},
  {key: 'ecmds', hi: 61, lo: 61, title: 'enhanced command support'},
  {key: 'esirtps', hi: 62, lo: 62, title: 'enhanced set IR table pointer'},
  {key: 'esrtps', hi: 63, lo: 63, title: 'enhanced set root table pointer'},
]

/** ECAP_REG, offset 0x10. */
export const ECAP_FIELDS: readonly RegisterField[] = [
  {key: 'c', hi: 0, lo: 0, title: 'page-walk coherency'},
  {key: 'qi', hi: 1, lo: 1, title: 'queued invalidation'},
  {key: 'dt', hi: 2, lo: 2, title: 'device-TLB (ATS)'},
  {key: 'ir', hi: 3, lo: 3, title: 'interrupt remapping'},
  {key: 'eim', hi: 4, lo: 4, title: 'extended interrupt mode (x2APIC)'},
  {key: 'pt', hi: 6, lo: 6, title: 'pass-through'},
  {key: 'sc', hi: 7, lo: 7, title: 'snoop control'},
  {key: 'iro', hi: 17, lo: 8, title: 'IOTLB register offset (×16 bytes)'},
  {key: 'mhmv', hi: 23, lo: 20, title: 'maximum handle-mask value'},
  {key: 'ecs', hi: 24, lo: 24, title: 'extended context (VT-d 2.x, deprecated)'},
  {key: 'mts', hi: 25, lo: 25, title: 'memory-type support'},
  {key: 'nest', hi: 26, lo: 26, title: 'nested translation'},
  {key: 'dis', hi: 27, lo: 27, title: 'deferred invalidate (reserved now)'},
  {key: 'pasidOld', hi: 28, lo: 28, title: 'VT-d 2.x PASID bit (ignored by Linux)'},
  {key: 'prs', hi: 29, lo: 29, title: 'page requests (PRI)'},
  {key: 'ers', hi: 30, lo: 30, title: 'execute requests'},
  {key: 'srs', hi: 31, lo: 31, title: 'supervisor requests'},
  {key: 'nwfs', hi: 33, lo: 33, title: 'no write flag'},
  {key: 'eafs', hi: 34, lo: 34, title: 'extended accessed flag'},
  {key: 'pss', hi: 39, lo: 35, title: 'PASID size: PSS+1 bits'},
  {key: 'pasid', hi: 40, lo: 40, title: 'PASID support'},
  {key: 'dit', hi: 41, lo: 41, title: 'device-TLB invalidation throttle'},
  {key: 'pds', hi: 42, lo: 42, title: 'page-request drain'},
  {key: 'smts', hi: 43, lo: 43, title: 'scalable-mode translation'},
  {key: 'vcs', hi: 44, lo: 44, title: 'virtual command (removed)'},
  {key: 'slads', hi: 45, lo: 45, title: 'second-stage accessed/dirty'},
  {key: 'slts', hi: 46, lo: 46, title: 'second-stage translation'},
  {key: 'flts', hi: 47, lo: 47, title: 'first-stage translation'},
  {key: 'smpwcs', hi: 48, lo: 48, title: 'scalable-mode page-walk coherency'},
  {key: 'rps', hi: 49, lo: 49, title: 'RID-PASID'},
  {key: 'tdxcs', hi: 50, lo: 50, title: 'TDX connect'},
  {key: 'pms', hi: 51, lo: 51, title: 'performance monitoring'},
]

function bitsOf(value: bigint, hi: number, lo: number): number {
  return Number((value >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n))
}

export function decodeFields(value: bigint, fields: readonly RegisterField[]): DecodedField[] {
  return fields.map((f) => ({key: f.key, bits: f.hi === f.lo ? `${f.lo}` : `${f.hi}:${f.lo}`, value: bitsOf(value, f.hi, f.lo), title: f.title}))
}

function valuesOf(decoded: DecodedField[]): Record<string, number> {
  return Object.fromEntries(decoded.map((f) => [f.key, f.value]))
}

/** SAGAW bit → (address width, page-table levels). Bit 4 (64-bit/6-level) is reserved. */
const SAGAW_WIDTHS = [
  {bit: 0, width: 30, levels: 2},
  {bit: 1, width: 39, levels: 3},
  {bit: 2, width: 48, levels: 4},
  {bit: 3, width: 57, levels: 5},
  {bit: 4, width: 64, levels: 6},
] as const

const SUPERPAGES = [
  {bit: 0, size: '2MiB'},
  {bit: 1, size: '1GiB'},
  {bit: 2, size: '512GiB'},
  {bit: 3, size: '1TiB'},
] as const

export interface DecodedCap {
  raw: bigint
  fields: DecodedField[]
  /** 2^(4+2·ND). */
  domains: number
  sagaw: {value: number; widths: number[]; levels: number[]}
  /** Maximum guest address width in bits (field + 1). */
  mgaw: number
  cachingMode: boolean
  requiredWriteBufferFlush: boolean
  superpages: string[]
  faultRecords: number
  faultRecordOffset: number
  pageSelectiveInvalidation: boolean
  postedInterrupts: boolean
  firstStage1GiB: boolean
  firstStage5Level: boolean
}

export interface DecodedEcap {
  raw: bigint
  fields: DecodedField[]
  coherent: boolean
  queuedInvalidation: boolean
  deviceTlb: boolean
  interruptRemapping: boolean
  extendedInterruptMode: boolean
  passThrough: boolean
  snoopControl: boolean
  iotlbRegisterOffset: number
  nested: boolean
  pageRequests: boolean
  pasid: boolean
  /** PASID width in bits (PSS + 1) when PASID is supported. */
  pasidBits?: number
  scalableMode: boolean
  secondStage: boolean
  firstStage: boolean
  dirtyTracking: boolean
}

export function decodeCap(cap: bigint): DecodedCap {
  const fields = decodeFields(cap, CAP_FIELDS)
  const v = valuesOf(fields)
  const sagaw = v.sagaw ?? 0
  const sllps = v.sllps ?? 0
  return {
    raw: cap,
    fields,
    domains: 2 ** (4 + 2 * (v.nd ?? 0)),
    sagaw: {
      value: sagaw,
      widths: SAGAW_WIDTHS.filter((s) => sagaw & (1 << s.bit)).map((s) => s.width),
      levels: SAGAW_WIDTHS.filter((s) => sagaw & (1 << s.bit)).map((s) => s.levels),
    },
    mgaw: (v.mgaw ?? 0) + 1,
    cachingMode: v.cm === 1,
    requiredWriteBufferFlush: v.rwbf === 1,
    superpages: SUPERPAGES.filter((p) => sllps & (1 << p.bit)).map((p) => p.size),
    faultRecords: (v.nfr ?? 0) + 1,
    faultRecordOffset: (v.fro ?? 0) * 16,
    pageSelectiveInvalidation: v.psi === 1,
    postedInterrupts: v.pi === 1,
    firstStage1GiB: v.fs1gp === 1,
    firstStage5Level: v.fs5lp === 1,
  }
}

export function decodeEcap(ecap: bigint): DecodedEcap {
  const fields = decodeFields(ecap, ECAP_FIELDS)
  const v = valuesOf(fields)
  const decoded: DecodedEcap = {
    raw: ecap,
    fields,
    coherent: v.c === 1,
    queuedInvalidation: v.qi === 1,
    deviceTlb: v.dt === 1,
    interruptRemapping: v.ir === 1,
    extendedInterruptMode: v.eim === 1,
    passThrough: v.pt === 1,
    snoopControl: v.sc === 1,
    iotlbRegisterOffset: (v.iro ?? 0) * 16,
    nested: v.nest === 1,
    pageRequests: v.prs === 1,
    pasid: v.pasid === 1,
    scalableMode: v.smts === 1,
    secondStage: v.slts === 1,
    firstStage: v.flts === 1,
    dirtyTracking: v.slads === 1,
  }
  if (decoded.pasid) decoded.pasidBits = (v.pss ?? 0) + 1
  return decoded
}

export interface DecodedVersion {
  major: number
  minor: number
}

/** VER_REG (bits 7:4 major, 3:0 minor) or the sysfs/log text "1:0". */
export function decodeVersion(ver: number | string): DecodedVersion | undefined {
  if (typeof ver === 'number') return {major: (ver >> 4) & 0xf, minor: ver & 0xf}
  const m = /^\s*(\d+):(\d+)\s*$/.exec(ver)
  return m ? {major: Number(m[1]), minor: Number(m[2])} : undefined
}

/** Short names of the features that are present, for one-line summaries ("IR EIM PT QI …"). */
export function featureNames(cap: DecodedCap | undefined, ecap: DecodedEcap | undefined): string[] {
  const names: string[] = []
  if (cap) {
    if (cap.cachingMode) names.push('CM')
    for (const page of cap.superpages) names.push(page)
    if (cap.postedInterrupts) names.push('PI')
    if (cap.requiredWriteBufferFlush) names.push('RWBF')
  }
  if (ecap) {
    const flags: Array<[boolean, string]> = [
      [ecap.queuedInvalidation, 'QI'],
      [ecap.interruptRemapping, 'IR'],
      [ecap.extendedInterruptMode, 'EIM'],
      [ecap.passThrough, 'PT'],
      [ecap.snoopControl, 'SC'],
      [ecap.deviceTlb, 'DT'],
      [ecap.coherent, 'C'],
      [ecap.nested, 'NEST'],
      [ecap.pageRequests, 'PRS'],
      [ecap.pasid, ecap.pasidBits !== undefined ? `PASID(${ecap.pasidBits}b)` : 'PASID'],
      [ecap.scalableMode, 'SMTS'],
      [ecap.firstStage, 'FLTS'],
      [ecap.secondStage, 'SLTS'],
      [ecap.dirtyTracking, 'SLADS'],
    ]
    for (const [on, name] of flags) if (on) names.push(name)
  }
  return names
}

// ---------------------------------------------------------------------------------------------
// Boot lines

export interface LoggedUnit {
  /** "dmar0" (≥4.2 form) or "dmar0" derived from "IOMMU 0" (3.x form). */
  name: string
  index: number
  registerBase: bigint
  version: string
  cap: bigint
  ecap: bigint
  /** The log line it came from (trimmed). */
  line: string
}

const BOOT_LINES = [
  /\bDMAR: dmar(\d+): reg_base_addr ([0-9a-f]+) ver (\d+:\d+) cap ([0-9a-f]+) ecap ([0-9a-f]+)/i,
  /\bdmar: IOMMU (\d+): reg_base_addr ([0-9a-f]+) ver (\d+:\d+) cap ([0-9a-f]+) ecap ([0-9a-f]+)/i,
]

/**
 * Remapping units from a kernel log's boot lines. A log with several boots keeps the last
 * line per unit (the current boot is the last one in a dmesg or journal).
 */
export function unitsFromLog(text: string): LoggedUnit[] {
  const units = new Map<number, LoggedUnit>()
  for (const line of text.split(/\r?\n/)) {
    for (const pattern of BOOT_LINES) {
      const m = pattern.exec(line)
      if (!m) continue
      const index = Number(m[1])
      units.set(index, {
        name: `dmar${index}`,
        index,
        registerBase: BigInt('0x' + (m[2] ?? '0')),
        version: m[3] ?? '',
        cap: BigInt('0x' + (m[4] ?? '0')),
        ecap: BigInt('0x' + (m[5] ?? '0')),
        line: line.trim(),
      })
      break
    }
  }
  return [...units.values()].sort((a, b) => a.index - b.index)
}
