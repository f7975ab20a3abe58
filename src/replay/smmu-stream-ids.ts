/**
 * The SMMU StreamIDs a PCI device's DMA carries on an Arm host, from the IORT: the kernel calls
 * iort_pci_iommu_init() for every DMA alias of the device (pci_for_each_dma_alias), and each alias's
 * requester ID is mapped through the root complex's ID mappings to an SMMU StreamID
 * (iort_node_map_id). A conventional device behind a PCIe-to-PCI bridge therefore owns its own
 * RID's StreamID and the bridge alias's — and the bridge alias is what its DMA arrives with.
 */
import {ridToStreamId, type IortNode, type IortTable} from '../decode/iort.js'
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
