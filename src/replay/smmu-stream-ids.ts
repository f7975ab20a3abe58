/**
 * The SMMU StreamIDs a PCI device's DMA carries on an Arm host, from the IORT: the kernel calls
 * iort_pci_iommu_init() for every DMA alias of the device (pci_for_each_dma_alias), and each alias's
 * requester ID is mapped through the root complex's ID mappings to an SMMU StreamID
 * (iort_node_map_id). A conventional device behind a PCIe-to-PCI bridge therefore owns its own
 * RID's StreamID and the bridge alias's — and the bridge alias is what its DMA arrives with.
 */
import {iortNodeName, ridToStreamId, type IortNode, type IortTable} from '../decode/iort.js'
import type {PciTopology} from '../model/pci.js'
import {dmaAliasesOf, type AliasOptions, type DmaAlias} from './dma-alias.js'

export interface SmmuStreamId {
  alias: DmaAlias
  /** The alias's requester ID (bus << 8 | devfn). */
  rid: number
  /** The SMMU the RID maps to, and the StreamID there; absent when the RID reaches no SMMU. */
  smmu?: IortNode
  streamId?: number
  /** Why there is no StreamID: no root complex for the segment, no mapping for the RID, or an ITS (bypass). */
  noSmmu?: 'no-root-complex' | 'no-mapping' | 'its-only'
}

/** One entry per DMA alias of `bdf`, in the kernel's alias order (the last is what DMA carries). */
export function smmuStreamIds(topology: PciTopology, iort: IortTable, bdf: string, options: AliasOptions = {}): SmmuStreamId[] {
  return dmaAliasesOf(topology, bdf, options).map((alias) => {
    const rid = (alias.bus << 8) | alias.devfn
    const hasRootComplex = iort.nodes.some((n) => n.type === 'root-complex' && n.pciSegment === alias.segment)
    const found = ridToStreamId(iort, alias.segment, rid)
    if (found?.smmu !== undefined && found.streamId !== undefined) return {alias, rid, smmu: found.smmu, streamId: found.streamId}
    return {alias, rid, noSmmu: !hasRootComplex ? 'no-root-complex' : found?.its !== undefined ? 'its-only' : 'no-mapping'}
  })
}

/** A PCI function whose DMA (itself or one of its DMA aliases) carries a StreamID. */
export interface StreamOwner {
  bdf: string
  /** 'self': the function's own RID; 'alias': a DMA alias's RID (the alias's `via` re-tags it). */
  relation: 'self' | 'alias'
  alias: DmaAlias
}

/**
 * The IORT SMMU node a fault's SMMU is, by the name the kernel's log lines use ("arm-smmu-v3.0.auto"):
 * the sysfs unit of that device is named after its base address ("smmu3.0x…09050000"); without
 * sysfs, the only SMMU node of the family when the table has one. Undefined when it cannot be told.
 */
export function smmuNodeOf(iort: IortTable, family: 'arm-smmu-v3' | 'arm-smmu', kernelDevice: string, units: ReadonlyArray<{name: string; kernelDevice?: string}> = []): IortNode | undefined {
  const type = family === 'arm-smmu-v3' ? 'smmu-v3' : 'smmu-v1-v2'
  const candidates = iort.nodes.filter((n) => n.type === type)
  const unit = units.find((u) => u.kernelDevice === kernelDevice)
  const base = unit === undefined ? undefined : /^smmu3?\.0x([0-9a-f]+)$/i.exec(unit.name)?.[1]
  if (base !== undefined) return candidates.find((n) => n.baseAddress === BigInt(`0x${base}`))
  return candidates.length === 1 ? candidates[0] : undefined
}

/**
 * Who carries each StreamID on each SMMU (the inverse of smmuStreamIds over the whole topology),
 * keyed by `${smmu node offset}:${streamId}`: what a fault's StreamID is traced back to.
 */
export function streamIdOwners(topology: PciTopology, iort: IortTable, options: AliasOptions = {}): Map<string, StreamOwner[]> {
  const owners = new Map<string, StreamOwner[]>()
  for (const bdf of topology.devices.keys())
    for (const s of smmuStreamIds(topology, iort, bdf, options)) {
      if (s.smmu === undefined || s.streamId === undefined) continue
      const key = `${s.smmu.offset}:${s.streamId}`
      const list = owners.get(key) ?? []
      list.push({bdf, relation: s.alias.reason === 'self' ? 'self' : 'alias', alias: s.alias})
      owners.set(key, list)
    }
  return owners
}

/** One DMA alias of a device and the StreamID it carries, as the device view shows it. */
export interface DeviceStreamId {
  /** The requester ID (as a BDF) the DMA carries: the device's own, or an alias's. */
  requester: string
  relation: 'self' | 'alias'
  /** For aliases: who re-tags the DMA (the bridge, or the quirk device). */
  via?: string
  streamId?: string
  smmu?: string
  /** Why there is no StreamID. */
  note?: string
}

const NO_SMMU_NOTES: Record<NonNullable<SmmuStreamId['noSmmu']>, string> = {
  'no-root-complex': 'no IORT root complex describes this PCI segment: the kernel gives the device no IOMMU',
  'no-mapping': 'no ID mapping of the root complex covers this requester ID: the kernel gives it no IOMMU',
  'its-only': 'the requester ID maps straight to an ITS: MSIs only, its DMA is not translated by any SMMU',
}

/** The StreamIDs of every DMA alias of `bdf` (the kernel's alias order: the last is what DMA carries). */
export function deviceStreamIds(topology: PciTopology, iort: IortTable, bdf: string, options: AliasOptions = {}): DeviceStreamId[] {
  return smmuStreamIds(topology, iort, bdf, options).map((s) => ({
    requester: s.alias.bdf,
    relation: s.alias.reason === 'self' ? 'self' : 'alias',
    ...(s.alias.reason === 'self' ? {} : {via: s.alias.via}),
    ...(s.streamId === undefined || s.smmu === undefined ? {note: NO_SMMU_NOTES[s.noSmmu ?? 'no-mapping']} : {streamId: `0x${s.streamId.toString(16)}`, smmu: iortNodeName(s.smmu)}),
  }))
}
