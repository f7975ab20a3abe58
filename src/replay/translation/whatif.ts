/**
 * What-if tables from a host's model: each device gets the context the kernel would give its
 * group's default domain — hardware pass-through for `identity` (or an identity-mapped table
 * when the unit lacks ECAP.PT), a translated domain holding only the group's direct (RMRR)
 * regions as identity maps for `DMA`/`DMA-FQ`, an empty one for `unmanaged`, no context for
 * `blocked` or ungrouped devices. Live IOVA mappings are not visible from sysfs, so a replay
 * on these tables answers "what would this request hit if nothing else were mapped".
 * The input is a plain description, so any collector (or a test) can feed it.
 */
import {linuxDomainAw, unitCapsFromRegisters, widestAw} from './caps.js'
import {TableBuilder, type Mapping, type PageTableDomain} from './build.js'
import type {ReplayContext} from './context.js'
import {parseRequester} from './replay.js'
import type {TranslationUnit} from './unit.js'

export interface WhatIfUnit {
  name: string
  segment?: number
  cap: bigint
  ecap: bigint
  /** Host address width (DMAR header + 1) when known. */
  haw?: number
  /** Scalable-mode tables; default: the unit supports SMTS and `smOff` is not set. */
  scalable?: boolean
}

export interface WhatIfDevice {
  bdf: string
  /** Unit name ("dmar0"); default: the only unit. */
  unit?: string
  group?: number
  /** The group's default domain type: identity, DMA, DMA-FQ, unmanaged, blocked, unknown. */
  domainType?: string
  ats?: boolean
  /** Other requester IDs its DMA carries (pci_for_each_dma_alias): Linux programs a context for each. */
  aliases?: string[]
}

export interface WhatIfRegion {
  /** Group the region belongs to (from `reserved_regions`). */
  group?: number
  /** Or the devices it is for (from an RMRR's scope). */
  devices?: string[]
  start: bigint
  /** Inclusive, as `reserved_regions` and RMRRs print it. */
  end: bigint
}

export interface WhatIfInput {
  units: WhatIfUnit[]
  devices: WhatIfDevice[]
  /** `direct` / `direct-relaxable` regions: identity-mapped into translated default domains. */
  directRegions?: WhatIfRegion[]
  /** Extra mappings to place (a teaching scenario, or mappings learned elsewhere). */
  mappings?: Array<Mapping & {group?: number; device?: string}>
  /** `intel_iommu=sm_off` on the command line. */
  smOff?: boolean
  /** How much memory an identity table covers when the unit cannot pass through. */
  identityLimit?: bigint
}

const DEFAULT_IDENTITY_LIMIT = 1n << 39n

export function buildWhatIf(input: WhatIfInput): ReplayContext {
  const notes: string[] = ['tables built from the host model (what-if): sysfs shows each group\'s default domain type and direct regions, not the live IOVA mappings']
  const units: TranslationUnit[] = []
  const deviceUnits = new Map<string, string>()
  const domainTypes = new Map<string, string>()
  for (const device of input.devices) {
    const bdf = parseRequester(device.bdf)?.bdf
    if (bdf !== undefined && device.domainType !== undefined) domainTypes.set(bdf, device.domainType)
  }
  for (const unitInput of input.units) {
    const caps = unitCapsFromRegisters(unitInput.cap, unitInput.ecap, unitInput.haw)
    const scalable = unitInput.scalable ?? (caps.smts && input.smOff !== true)
    const builder = new TableBuilder(caps, scalable)
    const unitNotes: string[] = []
    if (unitInput.scalable === undefined && caps.smts) {
      unitNotes.push(input.smOff === true ? 'legacy mode (intel_iommu=sm_off)' : 'scalable mode assumed: the unit has ECAP.SMTS and recent kernels enable it by default')
    }
    const members = input.devices.filter((d) => (d.unit ?? input.units[0]?.name) === unitInput.name)
    const domains = new Map<string, PageTableDomain>()
    let nextDid = 2
    // First stage for DMA domains in scalable mode when the unit has FLTS (recent kernels).
    const stage = scalable && caps.flts ? 'first' : 'second'
    const aw = linuxDomainAw(caps)
    for (const device of members) {
      const parsed = parseRequester(device.bdf)
      if (parsed === undefined) {
        unitNotes.push(`skipped "${device.bdf}": not a BDF`)
        continue
      }
      deviceUnits.set(parsed.bdf, unitInput.name)
      const type = device.domainType ?? 'unknown'
      if (device.group === undefined || type === 'blocked' || type === 'unknown') continue
      if (type === 'identity' && caps.pt) {
        for (const sid of [parsed.sid, ...(device.aliases ?? []).map((a) => parseRequester(a)?.sid ?? parsed.sid)]) builder.attachPassThrough(sid, widestAw(caps) ?? 2)
        continue
      }
      if (aw === undefined) {
        unitNotes.push(`${unitInput.name} has no usable SAGAW width: no translated domain can be built`)
        continue
      }
      const key = `${type}:${device.group}`
      let domain = domains.get(key)
      if (domain === undefined) {
        domain = builder.newDomain(type === 'identity' ? 1 : nextDid++, stage, aw)
        domains.set(key, domain)
        if (type === 'identity') {
          // No hardware pass-through: Linux builds a 1:1 table over memory.
          builder.map(domain, {iova: 0n, hpa: 0n, size: input.identityLimit ?? DEFAULT_IDENTITY_LIMIT})
          unitNotes.push(`identity domain without ECAP.PT: modelled as a 1:1 table over the first 0x${(input.identityLimit ?? DEFAULT_IDENTITY_LIMIT).toString(16)} bytes`)
        } else if (type === 'unmanaged') {
          unitNotes.push(`group ${device.group} is unmanaged (VFIO/iommufd): its mappings belong to the user (a VM) and are not visible, so its domain is replayed empty`)
        } else if (type === 'DMA' || type === 'DMA-FQ') {
          for (const region of input.directRegions ?? []) {
            if (region.group === device.group || region.devices?.some((d) => parseRequester(d)?.bdf === parsed.bdf) === true) {
              builder.map(domain, {iova: region.start, hpa: region.start, size: region.end - region.start + 1n})
            }
          }
        }
        for (const mapping of input.mappings ?? []) {
          if (mapping.group === device.group || (mapping.device !== undefined && parseRequester(mapping.device)?.bdf === parsed.bdf)) builder.map(domain, mapping)
        }
      }
      builder.attach(parsed.sid, domain, {ats: device.ats === true && caps.dt})
      for (const alias of device.aliases ?? []) {
        const a = parseRequester(alias)
        if (a === undefined || a.sid === parsed.sid) continue
        deviceUnits.set(a.bdf, unitInput.name)
        builder.attach(a.sid, domain, {})
      }
    }
    const unit = builder.unit(unitInput.name, 'what-if', unitNotes, unitInput.segment ?? 0)
    unit.devices = members.map((d) => parseRequester(d.bdf)?.bdf ?? d.bdf)
    units.push(unit)
  }
  return {units, deviceUnits, source: 'what-if', notes, domainTypes}
}
