/**
 * AMD-Vi unit registers as Linux shows them: `/sys/class/iommu/ivhdN/amd-iommu/cap` (the IOMMU's
 * PCI capability header, `%x` of iommu->cap) and `…/features` (the Extended Feature Register,
 * MMIO 0x30, and since 6.x EFR2, MMIO 0x1A0), decoded from field tables that follow the AMD I/O
 * Virtualization Technology (IOMMU) Specification (48882) and the kernel's FEATURE_* defines in
 * drivers/iommu/amd/amd_iommu_types.h. Also the boot line that prints the same register:
 * `AMD-Vi: Extended features (0x…[, 0x…]): PreF PPR X2APIC …`.
 */
import {decodeFields, type DecodedField, type RegisterField} from './vtd-registers.js'

/** IOMMU Capability Header (PCI config, capability ID 0x0F), as `amd-iommu/cap` shows it. */
export const AMD_CAP_FIELDS: readonly RegisterField[] = [
  {key: 'capId', hi: 7, lo: 0, title: 'capability ID (0x0F: secure device)'},
  {key: 'capPtr', hi: 15, lo: 8, title: 'next capability pointer'},
  {key: 'capType', hi: 18, lo: 16, title: 'capability type (3: IOMMU)'},
  {key: 'capRev', hi: 23, lo: 19, title: 'capability revision'},
  {key: 'iotlbSup', hi: 24, lo: 24, title: 'IOTLB support (remote IOTLBs, ATS)'},
  {key: 'htTunnel', hi: 25, lo: 25, title: 'HyperTransport tunnel translation'},
  {key: 'npCache', hi: 26, lo: 26, title: 'caches not-present entries (emulated IOMMUs set it)'},
  {key: 'efrSup', hi: 27, lo: 27, title: 'extended feature register present'},
  {key: 'capExt', hi: 28, lo: 28, title: 'miscellaneous information register 1 present'},
]

/**
 * Extended Feature Register. `name` is what the kernel prints in its "Extended features" line
 * (feat_str: PreF PPR X2APIC NX GT [5] IA GA HE PC, then GA_vAPIC and SNP), where it prints one.
 */
export const AMD_EFR_FIELDS: ReadonlyArray<RegisterField & {name?: string}> = [
  {key: 'prefSup', hi: 0, lo: 0, title: 'prefetch IOMMU pages command', name: 'PreF'},
  {key: 'pprSup', hi: 1, lo: 1, title: 'peripheral page requests (PPR)', name: 'PPR'},
  {key: 'xtSup', hi: 2, lo: 2, title: 'x2APIC interrupt remapping (XT)', name: 'X2APIC'},
  {key: 'nxSup', hi: 3, lo: 3, title: 'no-execute protection', name: 'NX'},
  {key: 'gtSup', hi: 4, lo: 4, title: 'guest (two-level) translation', name: 'GT'},
  {key: 'bit5', hi: 5, lo: 5, title: 'bit 5 (the kernel prints it as [5])', name: '[5]'},
  {key: 'iaSup', hi: 6, lo: 6, title: 'INVALIDATE_IOMMU_ALL command', name: 'IA'},
  {key: 'gaSup', hi: 7, lo: 7, title: 'guest virtual APIC (128-bit IRTEs, AVIC)', name: 'GA'},
  {key: 'heSup', hi: 8, lo: 8, title: 'hardware error registers', name: 'HE'},
  {key: 'pcSup', hi: 9, lo: 9, title: 'performance counters', name: 'PC'},
  {key: 'hats', hi: 11, lo: 10, title: 'host address translation size (0: 4, 1: 5, 2: 6 levels)'},
  {key: 'gats', hi: 13, lo: 12, title: 'guest address translation size (0: 4, 1: 5 levels)'},
  {key: 'glx', hi: 15, lo: 14, title: 'guest CR3 root table levels'},
  {key: 'smiFSup', hi: 17, lo: 16, title: 'SMI filter register support'},
  {key: 'smiFRC', hi: 20, lo: 18, title: 'SMI filter register count'},
  {key: 'gamSup', hi: 21, lo: 21, title: 'guest virtual APIC mode (vAPIC: interrupts posted to vCPUs)', name: 'GA_vAPIC'},
  {key: 'dualPprLogSup', hi: 23, lo: 22, title: 'dual PPR log'},
  {key: 'dualEventLogSup', hi: 27, lo: 26, title: 'dual event log'},
  {key: 'pasMax', hi: 36, lo: 32, title: 'maximum PASID width − 1'},
  {key: 'usSup', hi: 37, lo: 37, title: 'user/supervisor page protection'},
  {key: 'devTblSegSup', hi: 39, lo: 38, title: 'device table segmentation'},
  {key: 'pprOvrflwEarlySup', hi: 40, lo: 40, title: 'PPR log overflow early warning'},
  {key: 'pprAutoRspSup', hi: 41, lo: 41, title: 'PPR automatic response'},
  {key: 'marcSup', hi: 43, lo: 42, title: 'memory access routing and control'},
  {key: 'blkStopMrkSup', hi: 44, lo: 44, title: 'block StopMark message'},
  {key: 'perfOptSup', hi: 45, lo: 45, title: 'performance optimization'},
  {key: 'msiCapMmioSup', hi: 46, lo: 46, title: 'MSI capability registers in MMIO'},
  {key: 'gioSup', hi: 48, lo: 48, title: 'guest I/O protection'},
  {key: 'haSup', hi: 49, lo: 49, title: 'host access (A) bits'},
  {key: 'ephSup', hi: 50, lo: 50, title: 'enhanced PPR handling'},
  {key: 'attrFwSup', hi: 51, lo: 51, title: 'attribute forward'},
  {key: 'hdSup', hi: 52, lo: 52, title: 'host dirty (D) bits'},
  {key: 'invIotlbTypeSup', hi: 54, lo: 54, title: 'invalidate IOTLB type'},
  {key: 'viommuSup', hi: 55, lo: 55, title: 'virtualized IOMMU'},
  {key: 'snpSup', hi: 63, lo: 63, title: 'SEV-SNP support (host memory protected from device DMA)', name: 'SNP'},
]

export interface DecodedAmdCap {
  fields: DecodedField[]
  /** NpCache: set by emulated AMD IOMMUs (QEMU); the kernel then uses strict invalidation. */
  npCache: boolean
  iotlb: boolean
  efrSupported: boolean
}

export function decodeAmdCap(cap: bigint): DecodedAmdCap {
  const fields = decodeFields(cap, AMD_CAP_FIELDS)
  const bit = (key: string) => fields.find((f) => f.key === key)?.value === 1
  return {fields, npCache: bit('npCache'), iotlb: bit('iotlbSup'), efrSupported: bit('efrSup')}
}

export interface DecodedAmdEfr {
  fields: DecodedField[]
  /** The feature names the kernel prints for this EFR, in its order. */
  names: string[]
  ppr: boolean
  /** XT: interrupt remapping can address x2APIC IDs (needed for x2APIC mode with IR). */
  x2apic: boolean
  guestTranslation: boolean
  /** GA: guest virtual APIC (128-bit IRTEs). */
  guestApic: boolean
  /** GAM: vAPIC mode, device interrupts posted to running vCPUs (the kernel's AVIC path). */
  guestApicVapic: boolean
  snp: boolean
  /** PASMAX + 1, when guest translation exists. */
  pasidBits?: number
  /** Host page-table levels the unit walks (HATS: 4, 5 or 6). */
  hostLevels: number
}

export function decodeAmdEfr(efr: bigint): DecodedAmdEfr {
  const fields = decodeFields(efr, AMD_EFR_FIELDS)
  const value = (key: string) => fields.find((f) => f.key === key)?.value ?? 0
  const names = AMD_EFR_FIELDS.flatMap((f) => (f.name !== undefined && value(f.key) === 1 ? [f.name] : []))
  const gt = value('gtSup') === 1
  return {
    fields,
    names,
    ppr: value('pprSup') === 1,
    x2apic: value('xtSup') === 1,
    guestTranslation: gt,
    guestApic: value('gaSup') === 1,
    guestApicVapic: value('gamSup') === 1,
    snp: value('snpSup') === 1,
    ...(gt ? {pasidBits: value('pasMax') + 1} : {}),
    hostLevels: 4 + value('hats'),
  }
}

/** How the two halves of a `features` file were told apart. */
export type FeaturesOrder = 'efr' | 'efr2:efr' | 'efr:efr2'

export interface AmdFeatures {
  efr: bigint
  efr2?: bigint
  order: FeaturesOrder
  /** Why this order: the file's form, the boot line's EFR, a zero half, or the kernel version. */
  basis: string
}

const HEX = /^(?:0x)?([0-9a-f]{1,16})$/i

/**
 * The `features` file across kernels: "%llx" (EFR only, before EFR2 existed), then
 * "%llx:%llx" of features2:features (6.1 and older stable kernels), then "%llx:%llx" of
 * amd_iommu_efr:amd_iommu_efr2 (after the global EFR rework). The order of a two-part value is
 * taken from the boot line's EFR when the log has it, else from a zero half (EFR is never zero
 * on a unit that publishes one), else from the kernel version; `undefined` when not hex.
 */
export function parseAmdFeatures(text: string, hints: {logEfr?: bigint; kernel?: {major: number; minor: number}} = {}): AmdFeatures | undefined {
  const parts = text.trim().split(':')
  const values = parts.map((p) => HEX.exec(p)?.[1])
  if (values.some((v) => v === undefined) || values.length < 1 || values.length > 2) return undefined
  const [first, second] = values.map((v) => BigInt(`0x${v}`))
  if (first === undefined) return undefined
  if (second === undefined) return {efr: first, order: 'efr', basis: 'one value: EFR only (kernels before EFR2)'}
  const as = (order: 'efr2:efr' | 'efr:efr2', basis: string): AmdFeatures =>
    order === 'efr2:efr' ? {efr: second, efr2: first, order, basis} : {efr: first, efr2: second, order, basis}
  if (hints.logEfr !== undefined && first !== second) {
    if (hints.logEfr === second) return as('efr2:efr', 'the boot line "Extended features (0x…)" names the second half as EFR')
    if (hints.logEfr === first) return as('efr:efr2', 'the boot line "Extended features (0x…)" names the first half as EFR')
  }
  if (first === 0n && second !== 0n) return as('efr2:efr', 'the first half is zero, so it is EFR2 (features2:features)')
  if (second === 0n && first !== 0n) return as('efr:efr2', 'the second half is zero, so it is EFR2 (efr:efr2)')
  const k = hints.kernel
  const newer = k !== undefined && (k.major > 6 || (k.major === 6 && k.minor >= 5))
  return as(newer ? 'efr:efr2' : 'efr2:efr', `assumed from kernel ${k ? `${k.major}.${k.minor}` : 'unknown'}: efr:efr2 from 6.5, features2:features before`)
}

/** Every "AMD-Vi: Extended features (0xEFR[, 0xEFR2]): …" boot line's EFR, in log order. */
export function efrFromLog(lines: readonly string[]): bigint[] {
  const out: bigint[] = []
  for (const line of lines) {
    const m = /AMD-Vi: Extended features \(0x([0-9a-f]{1,16})(?:, 0x[0-9a-f]{1,16})?\)/i.exec(line)
    if (m?.[1] !== undefined) out.push(BigInt(`0x${m[1]}`))
  }
  return out
}
