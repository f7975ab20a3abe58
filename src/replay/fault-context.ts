/**
 * The host facts fault triage can use, gathered once through HostFs (live host, --root snapshot,
 * or an lspci dump): PCI topology, IOMMU groups (domain type, reserved regions), the DMAR
 * table's RMRRs and IOAPIC/HPET source IDs. Anything unreadable is simply left out, with a note.
 */
import {collectGroups} from '../collect/groups.js'
import type {Miss} from '../collect/types.js'
import {decodeDmar} from '../decode/dmar.js'
import type {HostFs} from '../host/fs.js'
import {resolveDmarScopes} from '../model/dmar-scope.js'
import {loadTopology} from '../model/topology.js'
import type {ReservedRegion, TriageContext, TriageGroupInfo} from './fault-triage.js'
import {faultStepHook} from './translation/context.js'
import {loadReplayContext} from './translation/host-input.js'

const DMAR_TABLE_PATH = '/sys/firmware/acpi/tables/DMAR'

/** `reserved_regions` lines: "0x00000000fee00000 0x00000000feefffff msi". */
export function parseReservedRegions(text: string): ReservedRegion[] {
  const out: ReservedRegion[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)/i.exec(line)
    if (m) out.push({start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), type: m[3]!})
  }
  return out
}

export function loadTriageContext(fs: HostFs, options: {lspciDump?: string} = {}): {context: TriageContext; notes: string[]} {
  const notes: string[] = []
  const context: TriageContext = {}
  const loaded = loadTopology(fs, options.lspciDump === undefined ? {} : {lspciDump: options.lspciDump})
  if (!loaded.ok) {
    notes.push(`requesters not traced: ${loaded.error}`)
    return {context, notes}
  }
  if (loaded.topology.devices.size === 0) {
    notes.push('requesters not traced: no PCI devices found')
    return {context, notes}
  }
  context.topology = loaded.topology
  const segments = new Set([...loaded.topology.devices.values()].map((d) => d.segment))
  if (segments.size > 1) notes.push(`this host has ${segments.size} PCI segments and Linux fault lines print no segment: requesters are traced in segment 0000`)
  const misses: Miss[] = []
  if (loaded.topology.source === 'sysfs') {
    const groups: TriageGroupInfo[] = collectGroups(fs, misses).map((g) => ({
      id: g.id, devices: g.devices, ...(g.type === undefined ? {} : {type: g.type}),
      ...(g.reservedRegions === undefined ? {} : {reservedRegions: parseReservedRegions(g.reservedRegions)}),
    }))
    if (groups.length > 0) context.groups = groups
  }
  const table = fs.readBytes(DMAR_TABLE_PATH)
  if (table.ok) {
    const dmar = decodeDmar(table.value)
    const resolution = resolveDmarScopes(dmar, loaded.topology)
    context.rmrrs = dmar.structures.flatMap((s, index) => s.type !== 'RMRR' ? [] : [{
      base: s.base, limit: s.limit,
      devices: resolution.scopes.filter((rs) => rs.structureIndex === index && rs.bdf !== undefined).map((rs) => rs.bdf!),
    }])
    context.interruptSources = resolution.scopes.flatMap((rs) =>
      (rs.scope.type === 'ioapic' || rs.scope.type === 'hpet') && rs.bdf !== undefined
        ? [{requester: rs.bdf, kind: rs.scope.type, id: rs.scope.enumerationId}] : [])
  } else if (table.reason === 'unreadable') notes.push(`DMAR table unreadable (${table.message}): RMRRs and IOAPIC source IDs not used`)
  if (misses.length > 0) notes.push(`${misses.length} IOMMU-group file(s) unreadable`)
  // The translation replay names the table step that refuses each DMA fault (debugfs tables
  // when readable, else a what-if model of the host); triage cites it as evidence.
  try {
    context.stepFor = faultStepHook(loadReplayContext(fs))
  } catch (error) {
    notes.push(`translation replay unavailable: ${error instanceof Error ? error.message : String(error)}`)
  }
  return {context, notes}
}
