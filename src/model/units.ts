/**
 * The remapping units, decoded once: from sysfs (/sys/class/iommu/dmar*, world-readable) when DMA
 * remapping is active, else from the kernel's "dmar%d: reg_base_addr … cap … ecap …" boot lines.
 */
import type {CollectedUnit} from '../collect/types.js'
import {IOMMU_CLASS_DIR} from '../collect/units.js'
import {decodeAmdCap, decodeAmdEfr, efrFromLog, parseAmdFeatures, type AmdFeatures, type DecodedAmdCap, type DecodedAmdEfr} from '../decode/amd-iommu-registers.js'
import {decodeCap, decodeEcap, unitsFromLog, type DecodedCap, type DecodedEcap} from '../decode/vtd-registers.js'

export interface UnitInput {
  name: string
  registerBase?: bigint
  version?: string
  cap?: bigint
  ecap?: bigint
  /** Where the values came from ("/sys/class/iommu/dmar0/intel-iommu", "kernel log"). */
  source: string
}

export interface DecodedUnit extends UnitInput {
  capDecoded?: DecodedCap
  ecapDecoded?: DecodedEcap
}

export function decodeUnit(unit: UnitInput): DecodedUnit {
  const out: DecodedUnit = {...unit}
  if (unit.cap !== undefined) out.capDecoded = decodeCap(unit.cap)
  if (unit.ecap !== undefined) out.ecapDecoded = decodeEcap(unit.ecap)
  return out
}

/** Where the units came from: sysfs (remapping active), the boot lines only, or nowhere. */
export type UnitsOrigin = 'sysfs' | 'kernel log' | 'none'

export interface RemappingUnits {
  origin: UnitsOrigin
  units: DecodedUnit[]
}

/** The Intel units of sysfs; when there are none, the units the boot log names. */
export function remappingUnits(collected: readonly CollectedUnit[], log: {ok: true; value: string; path: string} | {ok: false}): RemappingUnits {
  const fromSysfs = collected
    .filter((u) => u.vendor === 'intel')
    .map((u) => decodeUnit({
      name: u.name,
      source: `${IOMMU_CLASS_DIR}/${u.name}/intel-iommu`,
      ...(u.address !== undefined ? {registerBase: u.address} : {}),
      ...(u.version !== undefined ? {version: u.version} : {}),
      ...(u.cap !== undefined ? {cap: u.cap} : {}),
      ...(u.ecap !== undefined ? {ecap: u.ecap} : {}),
    }))
  if (fromSysfs.length > 0) return {origin: 'sysfs', units: fromSysfs}
  const logged = log.ok ? unitsFromLog(log.value) : []
  return {
    origin: logged.length > 0 ? 'kernel log' : 'none',
    units: logged.map((u) => decodeUnit({name: u.name, registerBase: u.registerBase, version: u.version, cap: u.cap, ecap: u.ecap, source: `kernel log (${log.ok ? log.path : ''})`})),
  }
}

export interface UnitFeatures {
  unit: CollectedUnit
  /** CAP.CM: caching mode, set by emulated VT-d (we are a guest); AMD: NpCache, its counterpart. */
  cachingMode?: boolean
  postedInterrupts?: boolean
  ir?: boolean
  eim?: boolean
  passThrough?: boolean
  deviceTlb?: boolean
  pasid?: boolean
  prs?: boolean
  smts?: boolean
  nest?: boolean
}

/** The features the checks read, of one unit of /sys/class/iommu (any vendor). */
export function unitFeatures(unit: CollectedUnit, amd?: AmdUnit): UnitFeatures {
  if (unit.vendor === 'amd' && amd) {
    // AMD names the same ideas differently: XT (x2APIC IRTEs) for EIM, GA/GAM (vAPIC) for posted interrupts.
    const efr = amd.efrDecoded
    return {
      unit,
      cachingMode: amd.capDecoded?.npCache,
      postedInterrupts: efr === undefined ? undefined : efr.guestApic && efr.guestApicVapic,
      eim: efr?.x2apic,
      deviceTlb: amd.capDecoded?.iotlb,
      prs: efr?.ppr,
      pasid: efr?.guestTranslation,
    }
  }
  if (unit.vendor !== 'intel') return {unit}
  const cap = unit.cap === undefined ? undefined : decodeCap(unit.cap)
  const ecap = unit.ecap === undefined ? undefined : decodeEcap(unit.ecap)
  return {
    unit,
    cachingMode: cap?.cachingMode,
    postedInterrupts: cap?.postedInterrupts,
    ir: ecap?.interruptRemapping,
    eim: ecap?.extendedInterruptMode,
    passThrough: ecap?.passThrough,
    deviceTlb: ecap?.deviceTlb,
    pasid: ecap?.pasid,
    prs: ecap?.pageRequests,
    smts: ecap?.scalableMode,
    nest: ecap?.nested,
  }
}

/** One AMD-Vi unit (ivhdN), its capability header and extended feature registers decoded. */
export interface AmdUnit {
  name: string
  /** "/sys/class/iommu/ivhd0/amd-iommu". */
  source: string
  cap?: bigint
  capDecoded?: DecodedAmdCap
  /** The `features` file as written, and how its halves were read. */
  featuresText?: string
  features?: AmdFeatures
  efrDecoded?: DecodedAmdEfr
}

/** The AMD units of sysfs, decoded; the boot log's EFR orders a two-part `features` file. */
export function amdUnits(collected: readonly CollectedUnit[], logLines: readonly string[], kernel?: {major: number; minor: number}): AmdUnit[] {
  const logged = efrFromLog(logLines)
  return collected
    .filter((u) => u.vendor === 'amd')
    .map((u, index) => {
      const features = u.features === undefined ? undefined : parseAmdFeatures(u.features, {...((logged[index] ?? logged[0]) !== undefined ? {logEfr: logged[index] ?? logged[0]} : {}), ...(kernel ? {kernel} : {})})
      return {
        name: u.name,
        source: `${IOMMU_CLASS_DIR}/${u.name}/amd-iommu`,
        ...(u.cap !== undefined ? {cap: u.cap, capDecoded: decodeAmdCap(u.cap)} : {}),
        ...(u.features !== undefined ? {featuresText: u.features} : {}),
        ...(features ? {features, efrDecoded: decodeAmdEfr(features.efr)} : {}),
      }
    })
}
