/**
 * The replay context for a host model: the kernel's debugfs dumps when the model has them (the
 * real tables), else what-if tables built from the model (each group's default domain type and
 * direct regions, the units' cap/ecap, the DMA aliases of its PCI tree).
 */
import type {HostModel} from '../../model/host.js'
import {dmaAliasesOf} from '../dma-alias.js'
import {unitCapsFromRegisters, type UnitCaps} from './caps.js'
import type {ReplayContext} from './context.js'
import {buildFromDebugfs} from './debugfs.js'
import {buildWhatIf, type WhatIfRegion} from './whatif.js'

function segmentOf(devices: string[]): number {
  const first = devices.find((d) => /^[0-9a-f]{4}:/i.test(d))
  return first === undefined ? 0 : parseInt(first.slice(0, 4), 16)
}

/** The translation replay's view of the model, built once per model. */
export function replayContextOf(model: HostModel): ReplayContext {
  return model.derive('translation-replay', buildReplayContext)
}

function buildReplayContext(model: HostModel): ReplayContext {
  const host = model.host
  const intelUnits = host.units.filter((u) => u.vendor === 'intel' && u.cap !== undefined && u.ecap !== undefined)
  // The DMAR table (root-only) gives the host address width that makes high entry bits reserved.
  const haw = model.dmar.table?.hostAddressWidth
  const debugfs = model.debugfs
  if (debugfs !== undefined) {
    const caps = new Map<string, UnitCaps>()
    const segments = new Map<string, number>()
    for (const u of intelUnits) {
      caps.set(u.name, unitCapsFromRegisters(u.cap ?? 0n, u.ecap ?? 0n, haw))
      segments.set(u.name, segmentOf(u.devices))
    }
    const built = buildFromDebugfs({...debugfs, caps, segments})
    for (const u of intelUnits) for (const d of u.devices) if (!built.deviceUnits.has(d)) built.deviceUnits.set(d, u.name)
    for (const p of built.problems.slice(0, 5)) built.notes.push(`debugfs line ${p.line} not understood: ${p.text}`)
    return {units: built.units, deviceUnits: built.deviceUnits, source: 'debugfs', notes: built.notes}
  }
  const groupType = new Map(host.groups.map((g) => [g.id, g.type]))
  const directRegions: WhatIfRegion[] = model.kernelGroups.flatMap((group) =>
    group.regions.filter((r) => r.type === 'direct' || r.type === 'direct-relaxable').map((r) => ({group: group.id, start: r.start, end: r.end})))
  const topology = model.topology
  const aliasesOf = (bdf: string): string[] => dmaAliasesOf(topology, bdf).filter((a) => a.bdf !== bdf).map((a) => a.bdf)
  const context = buildWhatIf({
    units: intelUnits.map((u) => ({name: u.name, segment: segmentOf(u.devices), cap: u.cap ?? 0n, ecap: u.ecap ?? 0n, ...(haw !== undefined ? {haw} : {})})),
    devices: host.pci
      .filter((d) => d.iommuUnit !== undefined || intelUnits.length === 1)
      .map((d) => ({
        bdf: d.bdf,
        ...(d.iommuUnit !== undefined ? {unit: d.iommuUnit} : {}),
        ...(d.iommuGroup !== undefined ? {group: d.iommuGroup, domainType: groupType.get(d.iommuGroup) ?? 'unknown'} : {}),
        aliases: aliasesOf(d.bdf),
      })),
    directRegions,
    smOff: model.cmdline?.intelIommu.scalableMode === false,
  })
  if (intelUnits.length === 0) context.notes.push('no Intel remapping unit is visible (/sys/class/iommu has no dmar* with cap/ecap): nothing to replay')
  return context
}
