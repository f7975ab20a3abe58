/**
 * The replay context for a live host or a snapshot: the kernel's debugfs dumps when they are
 * there and readable (the real tables), else what-if tables built from the host model.
 */
import {collectHost, type CollectedHost} from '../../collect/index.js'
import {decodeDmar} from '../../decode/dmar.js'
import type {HostFs} from '../../host/fs.js'
import {topologyFromSysfs} from '../../model/topology.js'
import {dmaAliasesOf} from '../dma-alias.js'
import {unitCapsFromRegisters, type UnitCaps} from './caps.js'
import type {ReplayContext} from './context.js'
import {buildFromDebugfs} from './debugfs.js'
import {buildWhatIf, type WhatIfRegion} from './whatif.js'

export const DEBUGFS_DIR = '/sys/kernel/debug/iommu/intel'

/** `reserved_regions` lines: "0x%016llx 0x%016llx %s" (start, inclusive end, type). */
export function parseReservedRegions(text: string): Array<{start: bigint; end: bigint; type: string}> {
  const out: Array<{start: bigint; end: bigint; type: string}> = []
  for (const line of text.split('\n')) {
    const m = /^\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)/i.exec(line)
    if (m !== null) out.push({start: BigInt('0x' + (m[1] ?? '0')), end: BigInt('0x' + (m[2] ?? '0')), type: m[3] ?? ''})
  }
  return out
}

/** The debugfs dump texts, when dmar_translation_struct is readable (root, debugfs mounted). */
export function readDebugfsDumps(fs: HostFs): {translationStruct: string; domainStructs: string[]} | undefined {
  const translation = fs.readText(`${DEBUGFS_DIR}/dmar_translation_struct`)
  if (!translation.ok) return undefined
  const domainStructs: string[] = []
  const global = fs.readText(`${DEBUGFS_DIR}/domain_translation_struct`)
  if (global.ok) domainStructs.push(global.value)
  // ≈6.7+: per-device <BDF>/domain_translation_struct and <BDF>/<pasid>/domain_translation_struct.
  const entries = fs.listDir(DEBUGFS_DIR)
  for (const name of entries.ok ? entries.value : []) {
    if (!/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(name)) continue
    const own = fs.readText(`${DEBUGFS_DIR}/${name}/domain_translation_struct`)
    if (own.ok) domainStructs.push(own.value)
    const sub = fs.listDir(`${DEBUGFS_DIR}/${name}`)
    for (const pasidDir of sub.ok ? sub.value : []) {
      const file = fs.readText(`${DEBUGFS_DIR}/${name}/${pasidDir}/domain_translation_struct`)
      if (file.ok) domainStructs.push(file.value)
    }
  }
  return {translationStruct: translation.value, domainStructs}
}

function segmentOf(devices: string[]): number {
  const first = devices.find((d) => /^[0-9a-f]{4}:/i.test(d))
  return first === undefined ? 0 : parseInt(first.slice(0, 4), 16)
}

/** Build the context from collected facts (and debugfs text when present). */
export function replayContextFromCollected(host: CollectedHost, debugfs?: {translationStruct: string; domainStructs: string[]}): ReplayContext {
  const intelUnits = host.units.filter((u) => u.vendor === 'intel' && u.cap !== undefined && u.ecap !== undefined)
  const cmdline = host.platform.cmdline.ok ? host.platform.cmdline.value : ''
  // The DMAR table (root-only) gives the host address width that makes high entry bits reserved.
  const haw = host.platform.dmarTable.ok ? decodeDmar(host.platform.dmarTable.value).hostAddressWidth : undefined
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
  const directRegions: WhatIfRegion[] = []
  for (const group of host.groups) {
    for (const region of parseReservedRegions(group.reservedRegions ?? '')) {
      if (region.type === 'direct' || region.type === 'direct-relaxable') directRegions.push({group: group.id, start: region.start, end: region.end})
    }
  }
  const topology = topologyFromSysfs(host.pci)
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
    smOff: /(^|\s)intel_iommu=\S*sm_off/.test(cmdline),
  })
  if (intelUnits.length === 0) context.notes.push('no Intel remapping unit is visible (/sys/class/iommu has no dmar* with cap/ecap): nothing to replay')
  return context
}

export function loadReplayContext(fs: HostFs): ReplayContext {
  return replayContextFromCollected(collectHost(fs), readDebugfsDumps(fs))
}
