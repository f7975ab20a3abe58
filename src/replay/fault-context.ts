/**
 * The host facts fault triage uses, read from the host model (live host, --root snapshot, or an
 * lspci dump): PCI topology, IOMMU groups (domain type, reserved regions), the DMAR table's RMRRs
 * and IOAPIC/HPET source IDs, and the translation replay naming the table step of each fault.
 * What the model lacks is simply left out, with a note.
 */
import {iortNodeName} from '../decode/iort.js'
import type {HostModel} from '../model/host.js'
import type {TriageContext} from './fault-triage.js'
import {parseKernelVersion} from './kernel-version.js'
import {smmuNodeOf, streamIdOwners, type StreamOwner} from './smmu-stream-ids.js'
import {faultStepHook} from './translation/context.js'
import {replayContextOf} from './translation/host-input.js'

export function triageContextOf(model: HostModel): {context: TriageContext; notes: string[]} {
  const notes: string[] = []
  const context: TriageContext = {}
  // The release is the host's, whatever its PCI listing holds: a log that names no kernel is matched against it.
  const release = model.host.platform.kernelRelease
  if (release.ok && release.value.trim() !== '') context.kernel = {release: release.value.trim(), source: release.path}
  const cmdline = model.host.platform.cmdline
  if (cmdline.ok && cmdline.value.trim() !== '') context.cmdline = {text: cmdline.value.trim(), source: cmdline.path}
  const topology = model.topology
  if (topology.devices.size === 0) {
    notes.push('requesters not traced: no PCI devices found')
    return {context, notes}
  }
  context.topology = topology
  const segments = new Set([...topology.devices.values()].map((d) => d.segment))
  if (segments.size > 1) notes.push(`this host has ${segments.size} PCI segments and Linux fault lines print no segment: requesters are traced in segment 0000`)
  if (topology.source === 'sysfs' && model.kernelGroups.length > 0)
    context.groups = model.kernelGroups.map((g) => ({id: g.id, devices: g.devices, ...(g.type === undefined ? {} : {type: g.type}), ...(g.reservedRegions === undefined ? {} : {reservedRegions: g.regions})}))
  const read = model.dmar.read
  if (model.dmar.table) {
    context.rmrrs = model.rmrrs.map(({base, limit, devices}) => ({base, limit, devices}))
    context.interruptSources = model.interruptSources
  } else if (!read.ok && read.reason === 'unreadable') notes.push(`DMAR table unreadable (${read.message}): RMRRs and IOAPIC source IDs not used`)
  // Arm: an SMMU fault names a StreamID; the IORT says which PCI function (or DMA alias) carries it.
  const iort = model.iort.table
  if (iort !== undefined) {
    let owners: Map<string, StreamOwner[]> | undefined
    context.streamOwners = (family, unit, streamId) => {
      const smmu = smmuNodeOf(iort, family, unit, model.host.units)
      if (smmu === undefined) return undefined
      const kernelVersion = parseKernelVersion(model.kernel?.release)
      owners ??= streamIdOwners(topology, iort, kernelVersion ? {kernelVersion} : {})
      return {smmu: iortNodeName(smmu), owners: owners.get(`${smmu.offset}:${streamId}`) ?? []}
    }
  } else if (!model.iort.read.ok && model.iort.read.reason === 'unreadable') notes.push(`IORT table unreadable (${model.iort.read.message}): SMMU StreamIDs not traced to PCI functions`)
  const groupMisses = model.misses.filter((miss) => miss.path.startsWith('/sys/kernel/iommu_groups/'))
  if (groupMisses.length > 0) notes.push(`${groupMisses.length} IOMMU-group file(s) unreadable`)
  // The translation replay names the table step that refuses each DMA fault (debugfs tables
  // when readable, else a what-if model of the host); triage cites it as evidence.
  try {
    context.stepFor = faultStepHook(replayContextOf(model))
  } catch (error) {
    notes.push(`translation replay unavailable: ${error instanceof Error ? error.message : String(error)}`)
  }
  return {context, notes}
}
