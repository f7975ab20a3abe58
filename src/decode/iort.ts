/**
 * ACPI IORT (Arm IO Remapping Table, DEN 0049) decoder, ACPICA style: one field table per node
 * type (ACPICA actbl2.h, dmtbinfo2.c), one generic reader (acpi-table.ts). Nodes: ITS group,
 * named component, PCI root complex, SMMUv1/v2, SMMUv3, PMCG and RMR, each with its ID mappings
 * (input range → output base in the node the output reference points at).
 *
 * `decodeIort` never throws. A node too short for its fixed part keeps only its header and a
 * problem; a mapping array or interrupt array that runs past the node is reported, not read.
 *
 * `ridToStreamId` follows a PCI requester ID through the root complex's mappings to the SMMU
 * the way the kernel's iort_node_map_id() does (drivers/acpi/arm64/iort.c).
 */
import {hex} from './pci-address.js'
import {type Fields, type Layout, readAcpiHeader, readAscii, readLayout, readNumber, readU64, truncatedAt, type AcpiHeaderFields} from './acpi-table.js'

// ---------------------------------------------------------------------------------------------
// Field tables (offsets from the node start)

export const IORT_HEADER_LENGTH = 48
const NODE_HEADER_LENGTH = 16
const ID_MAPPING_LENGTH = 20
const RMR_DESCRIPTOR_LENGTH = 20
/**
 * Real tables hold tens of nodes and a few hundred ID mappings (the Snapdragon X laptop in
 * test/fixtures/real/iort: 29 nodes, 135 ID mappings). A hostile 1 MiB table would otherwise become
 * tens of thousands of nodes whose mapping chains ridToStreamId walks hop by hop; past these counts
 * decoding stops with a problem saying so, as DMAR's caps do (MAX_DMAR_STRUCTURES).
 */
export const MAX_IORT_NODES = 4096
/** ID mappings, table-wide. */
export const MAX_IORT_ID_MAPPINGS = 8192

const TABLE_LAYOUT = {
  nodeCount: {at: 36, kind: 'u32'},
  nodeOffset: {at: 40, kind: 'u32'},
} as const satisfies Layout

const NODE_HEADER_LAYOUT = {
  typeCode: {at: 0, kind: 'u8'},
  length: {at: 1, kind: 'u16'},
  revision: {at: 3, kind: 'u8'},
  /** "Reserved" in table revision 0, the node "Identifier" from revision 3 (E.b). */
  identifier: {at: 4, kind: 'u32'},
  mappingCount: {at: 8, kind: 'u32'},
  mappingOffset: {at: 12, kind: 'u32'},
} as const satisfies Layout

/** Memory access properties, 8 bytes (named components and root complexes). */
const MEMORY_PROPERTIES_LAYOUT = {
  cacheCoherency: {at: 0, kind: 'u32'},
  hints: {at: 4, kind: 'u8'},
  memoryFlags: {at: 7, kind: 'u8'},
} as const satisfies Layout

const ITS_GROUP_LAYOUT = {itsCount: {at: 16, kind: 'u32'}} as const satisfies Layout
const NAMED_COMPONENT_LAYOUT = {nodeFlags: {at: 16, kind: 'u32'}, memoryAddressLimit: {at: 28, kind: 'u8'}} as const satisfies Layout
const NAMED_COMPONENT_NAME_AT = 29
const ROOT_COMPLEX_LAYOUT = {
  atsAttribute: {at: 24, kind: 'u32'},
  pciSegment: {at: 28, kind: 'u32'},
  /** Node revision 1 and later. */
  memoryAddressLimit: {at: 32, kind: 'u8'},
  /** Node revision 4 and later. */
  pasidCapabilities: {at: 33, kind: 'u16'},
} as const satisfies Layout
const SMMU_LAYOUT = {
  baseAddress: {at: 16, kind: 'u64'},
  span: {at: 24, kind: 'u64'},
  model: {at: 32, kind: 'u32'},
  flags: {at: 36, kind: 'u32'},
  globalInterruptOffset: {at: 40, kind: 'u32'},
  contextInterruptCount: {at: 44, kind: 'u32'},
  contextInterruptOffset: {at: 48, kind: 'u32'},
  pmuInterruptCount: {at: 52, kind: 'u32'},
  pmuInterruptOffset: {at: 56, kind: 'u32'},
} as const satisfies Layout
/** At the SMMU's global interrupt offset. */
const SMMU_GLOBAL_INTERRUPTS_LAYOUT = {
  nsgIrpt: {at: 0, kind: 'u32'},
  nsgIrptFlags: {at: 4, kind: 'u32'},
  nsgCfgIrpt: {at: 8, kind: 'u32'},
  nsgCfgIrptFlags: {at: 12, kind: 'u32'},
} as const satisfies Layout
const SMMU_V3_LAYOUT = {
  baseAddress: {at: 16, kind: 'u64'},
  flags: {at: 24, kind: 'u32'},
  vatosAddress: {at: 32, kind: 'u64'},
  model: {at: 40, kind: 'u32'},
  eventGsiv: {at: 44, kind: 'u32'},
  priGsiv: {at: 48, kind: 'u32'},
  gerrGsiv: {at: 52, kind: 'u32'},
  syncGsiv: {at: 56, kind: 'u32'},
  /** Node revision 2 and later. */
  proximityDomain: {at: 60, kind: 'u32'},
  /** Node revision 3 and later: which ID mapping carries the SMMU's own DeviceID (for its MSIs). */
  idMappingIndex: {at: 64, kind: 'u32'},
} as const satisfies Layout
const PMCG_LAYOUT = {
  page0BaseAddress: {at: 16, kind: 'u64'},
  overflowGsiv: {at: 24, kind: 'u32'},
  nodeReference: {at: 28, kind: 'u32'},
  /** Node revision 1 and later. */
  page1BaseAddress: {at: 32, kind: 'u64'},
} as const satisfies Layout
const RMR_LAYOUT = {
  flags: {at: 16, kind: 'u32'},
  rmrCount: {at: 20, kind: 'u32'},
  rmrOffset: {at: 24, kind: 'u32'},
} as const satisfies Layout
const ID_MAPPING_LAYOUT = {
  inputBase: {at: 0, kind: 'u32'},
  idCount: {at: 4, kind: 'u32'},
  outputBase: {at: 8, kind: 'u32'},
  outputReference: {at: 12, kind: 'u32'},
  flags: {at: 16, kind: 'u32'},
} as const satisfies Layout

// ---------------------------------------------------------------------------------------------
// Decoded shapes (bigint inside; JSON turns them into "0x…" strings)

export type IortNodeType = 'its-group' | 'named-component' | 'root-complex' | 'smmu-v1-v2' | 'smmu-v3' | 'pmcg' | 'rmr' | 'unknown'

export const IORT_NODE_TYPES: Record<number, IortNodeType> = {
  0: 'its-group',
  1: 'named-component',
  2: 'root-complex',
  3: 'smmu-v1-v2',
  4: 'smmu-v3',
  5: 'pmcg',
  6: 'rmr',
}

/** SMMUv1/v2 model field (IORT Table 9). */
export const SMMU_MODELS: Record<number, string> = {
  0: 'SMMUv1',
  1: 'SMMUv2',
  2: 'MMU-400',
  3: 'MMU-500',
  4: 'MMU-401',
  5: 'Cavium ThunderX SMMUv2',
}
/** SMMUv3 model field (IORT Table 10). */
export const SMMU_V3_MODELS: Record<number, string> = {
  0: 'generic SMMUv3',
  1: 'HiSilicon Hi161x SMMUv3',
  2: 'Cavium CN99xx SMMUv3',
}

export interface IortIdMapping {
  /** Offset of the mapping from the table start. */
  offset: number
  inputBase: number
  /** As the table holds it: the number of IDs in the range MINUS ONE. */
  idCount: number
  outputBase: number
  /** Table offset of the node the output IDs belong to. */
  outputReference: number
  /** Index in `nodes` of that node; undefined when no node starts there. */
  outputNode?: number
  flags: {value: number; singleMapping: boolean}
}

export interface MemoryAccessProperties {
  cacheCoherency: number
  hints: number
  memoryFlags: number
}

export interface IortInterrupt {
  gsiv: number
  flags: number
  /** The 8 bytes as ACPICA prints them (flags << 32 | GSIV). */
  value: bigint
}

export interface RmrDescriptor {
  offset: number
  baseAddress: bigint
  length: bigint
}

export interface IortNode {
  typeCode: number
  type: IortNodeType
  /** Offset of the node from the table start (what output references point at). */
  offset: number
  /** The node's Length field. */
  length: number
  revision: number
  /** Node identifier (table revision 3 and later; "Reserved" before). */
  identifier: number
  mappingCount: number
  mappingOffset: number
  mappings: IortIdMapping[]
  problems: string[]
  // ITS group
  itsCount?: number
  itsIdentifiers?: number[]
  // Named component and root complex
  memoryProperties?: MemoryAccessProperties
  memoryAddressLimit?: number
  // Named component
  nodeFlags?: number
  deviceName?: string
  // Root complex
  atsAttribute?: number
  pciSegment?: number
  pasidCapabilities?: number
  // SMMUv1/v2 and SMMUv3
  baseAddress?: bigint
  model?: number
  modelName?: string
  flags?: number
  // SMMUv1/v2
  span?: bigint
  globalInterruptOffset?: number
  contextInterruptCount?: number
  contextInterruptOffset?: number
  pmuInterruptCount?: number
  pmuInterruptOffset?: number
  nsgIrpt?: number
  nsgIrptFlags?: number
  nsgCfgIrpt?: number
  nsgCfgIrptFlags?: number
  contextInterrupts?: IortInterrupt[]
  pmuInterrupts?: IortInterrupt[]
  // SMMUv3
  vatosAddress?: bigint
  eventGsiv?: number
  priGsiv?: number
  gerrGsiv?: number
  syncGsiv?: number
  proximityDomain?: number
  idMappingIndex?: number
  // PMCG
  page0BaseAddress?: bigint
  overflowGsiv?: number
  nodeReference?: number
  page1BaseAddress?: bigint
  // RMR
  rmrCount?: number
  rmrOffset?: number
  rmrDescriptors?: RmrDescriptor[]
}

export interface IortTable extends AcpiHeaderFields {
  nodeCount?: number
  nodeOffset?: number
  nodes: IortNode[]
  problems: string[]
}

// ---------------------------------------------------------------------------------------------
// Nodes

type NodeHeader = Fields<typeof NODE_HEADER_LAYOUT>

function memoryProperties(bytes: Uint8Array, at: number): MemoryAccessProperties {
  return readLayout(bytes, at, at + 8, MEMORY_PROPERTIES_LAYOUT) as MemoryAccessProperties
}

/** Reads a node's fixed fields (those inside the node's length) into `node`. */
function readInto<L extends Layout>(node: IortNode, bytes: Uint8Array, start: number, end: number, layout: L): Partial<Fields<L>> {
  const fields = readLayout(bytes, start, end, layout)
  Object.assign(node, fields)
  return fields
}

/** An array of `count` items of `size` bytes at `from` that must lie inside the node. */
function arrayFits(node: IortNode, what: string, from: number, count: number, size: number, end: number): boolean {
  if (count === 0) return true
  if (from + count * size <= end) return true
  node.problems.push(`${truncatedAt(end)}: ${count} ${what} at ${hex(from)} need ${count * size} bytes`)
  return false
}

function interrupts(bytes: Uint8Array, from: number, count: number): IortInterrupt[] {
  return Array.from({length: count}, (_, i) => {
    const at = from + 8 * i
    return {gsiv: readNumber(bytes, at, 4), flags: readNumber(bytes, at + 4, 4), value: readU64(bytes, at)}
  })
}

/** The type-specific part of a node, between its header and its ID mappings. */
const NODE_BODY: Record<number, (node: IortNode, bytes: Uint8Array, start: number, end: number) => void> = {
  0(node, bytes, start, end) {
    const f = readInto(node, bytes, start, end, ITS_GROUP_LAYOUT)
    const count = f.itsCount ?? 0
    if (arrayFits(node, 'ITS identifiers', start + 20, count, 4, end)) node.itsIdentifiers = Array.from({length: count}, (_, i) => readNumber(bytes, start + 20 + 4 * i, 4))
  },
  1(node, bytes, start, end) {
    readInto(node, bytes, start, end, NAMED_COMPONENT_LAYOUT)
    if (start + 28 <= end) node.memoryProperties = memoryProperties(bytes, start + 20)
    if (start + NAMED_COMPONENT_NAME_AT < end) {
      // A NUL-terminated ACPI path ("\_SB.PCI0.XHC0"); stop at the node end if the NUL is missing.
      let stop = start + NAMED_COMPONENT_NAME_AT
      while (stop < end && bytes[stop] !== 0) stop++
      node.deviceName = readAscii(bytes, start + NAMED_COMPONENT_NAME_AT, stop - start - NAMED_COMPONENT_NAME_AT)
      if (stop >= end) node.problems.push(`device name at ${hex(start + NAMED_COMPONENT_NAME_AT)} is not NUL-terminated inside the node`)
    }
  },
  2(node, bytes, start, end) {
    if (start + 24 <= end) node.memoryProperties = memoryProperties(bytes, start + 16)
    // Fields later node revisions define are read whenever the node is long enough, as ACPICA
    // does (the kernel reads the memory size limit from node revision 1 on).
    readInto(node, bytes, start, end, ROOT_COMPLEX_LAYOUT)
  },
  3(node, bytes, start, end) {
    const f = readInto(node, bytes, start, end, SMMU_LAYOUT)
    if (f.model !== undefined) node.modelName = SMMU_MODELS[f.model] ?? 'unknown'
    const globalAt = start + (f.globalInterruptOffset ?? 0)
    if (f.globalInterruptOffset !== undefined && f.globalInterruptOffset > 0) {
      if (globalAt + 16 <= end) readInto(node, bytes, globalAt, end, SMMU_GLOBAL_INTERRUPTS_LAYOUT)
      else node.problems.push(`${truncatedAt(end)}: global interrupts at ${hex(globalAt)} need 16 bytes`)
    }
    const contextAt = start + (f.contextInterruptOffset ?? 0)
    if (arrayFits(node, 'context interrupts', contextAt, f.contextInterruptCount ?? 0, 8, end)) node.contextInterrupts = interrupts(bytes, contextAt, f.contextInterruptCount ?? 0)
    const pmuAt = start + (f.pmuInterruptOffset ?? 0)
    if (arrayFits(node, 'PMU interrupts', pmuAt, f.pmuInterruptCount ?? 0, 8, end)) node.pmuInterrupts = interrupts(bytes, pmuAt, f.pmuInterruptCount ?? 0)
  },
  4(node, bytes, start, end) {
    const f = readInto(node, bytes, start, end, SMMU_V3_LAYOUT)
    if (f.model !== undefined) node.modelName = SMMU_V3_MODELS[f.model] ?? 'unknown'
  },
  5(node, bytes, start, end) {
    readInto(node, bytes, start, end, PMCG_LAYOUT)
  },
  6(node, bytes, start, end) {
    const f = readInto(node, bytes, start, end, RMR_LAYOUT)
    const count = f.rmrCount ?? 0
    const from = start + (f.rmrOffset ?? 0)
    if (arrayFits(node, 'RMR descriptors', from, count, RMR_DESCRIPTOR_LENGTH, end))
      node.rmrDescriptors = Array.from({length: count}, (_, i) => {
        const at = from + RMR_DESCRIPTOR_LENGTH * i
        return {offset: at, baseAddress: readU64(bytes, at), length: readU64(bytes, at + 8)}
      })
  },
}

/** Fixed bytes each node type needs before its arrays (what the kernel and ACPICA read). */
const NODE_FIXED_LENGTH: Record<number, number> = {0: 20, 1: 30, 2: 32, 3: 60, 4: 60, 5: 32, 6: 28}

function decodeNode(bytes: Uint8Array, start: number, end: number, head: NodeHeader, budget: {mappings: number}): IortNode {
  const node: IortNode = {
    typeCode: head.typeCode,
    type: IORT_NODE_TYPES[head.typeCode] ?? 'unknown',
    offset: start,
    length: head.length,
    revision: head.revision,
    identifier: head.identifier,
    mappingCount: head.mappingCount,
    mappingOffset: head.mappingOffset,
    mappings: [],
    problems: [],
  }
  const body = NODE_BODY[head.typeCode]
  const fixed = NODE_FIXED_LENGTH[head.typeCode] ?? NODE_HEADER_LENGTH
  if (body === undefined) node.problems.push(`node type ${head.typeCode} is not one the kernel knows; skipped`)
  else if (end - start < fixed) node.problems.push(`${truncatedAt(end)}: a ${node.type} node needs ${fixed} bytes, this one has ${end - start}`)
  else body(node, bytes, start, end)
  const mapAt = start + head.mappingOffset
  if (head.mappingCount > 0 && arrayFits(node, 'ID mappings', mapAt, head.mappingCount, ID_MAPPING_LENGTH, end))
    for (let i = 0; i < head.mappingCount; i++) {
      if (budget.mappings <= 0) {
        node.problems.push(`more than ${MAX_IORT_ID_MAPPINGS} ID mappings in the table: ${head.mappingCount - i} of this node's ${head.mappingCount} were not decoded`)
        break
      }
      budget.mappings--
      const at = mapAt + ID_MAPPING_LENGTH * i
      const m = readLayout(bytes, at, at + ID_MAPPING_LENGTH, ID_MAPPING_LAYOUT) as Fields<typeof ID_MAPPING_LAYOUT>
      node.mappings.push({offset: at, ...m, flags: {value: m.flags, singleMapping: (m.flags & 1) === 1}})
    }
  return node
}

/** Decodes an IORT table. Never throws: broken input shows up in `problems`. */
export function decodeIort(bytes: Uint8Array): IortTable {
  const {header, end, problems} = readAcpiHeader(bytes, 'IORT', IORT_HEADER_LENGTH)
  const table: IortTable = {...header, ...readLayout(bytes, 0, bytes.length, TABLE_LAYOUT), nodes: [], problems}
  if (end === undefined) return table
  const count = table.nodeCount ?? 0
  let at = table.nodeOffset ?? IORT_HEADER_LENGTH
  if (at < IORT_HEADER_LENGTH) problems.push(`node offset ${hex(at)} points inside the ${IORT_HEADER_LENGTH}-byte IORT header`)
  const budget = {mappings: MAX_IORT_ID_MAPPINGS}
  for (let i = 0; i < count && at >= IORT_HEADER_LENGTH; i++) {
    if (i >= MAX_IORT_NODES) {
      problems.push(`more than ${MAX_IORT_NODES} nodes: ${count - i} of the ${count} the header counts, from ${hex(at)} on, were not decoded`)
      break
    }
    if (at + NODE_HEADER_LENGTH > end) {
      problems.push(`${truncatedAt(end)}: node ${i} of ${count} at ${hex(at)} has no room for its header`)
      break
    }
    const head = readLayout(bytes, at, end, NODE_HEADER_LAYOUT) as NodeHeader
    if (head.length < NODE_HEADER_LENGTH) {
      // The kernel would loop on a zero length; stop here.
      problems.push(`node ${i} at ${hex(at)} (type ${head.typeCode}) has invalid length ${head.length}; rest of the table not decoded`)
      break
    }
    const nodeEnd = Math.min(at + head.length, end)
    const node = decodeNode(bytes, at, nodeEnd, head, budget)
    if (at + head.length > end) node.problems.push(`${truncatedAt(end)}: node length ${head.length} runs past the table end`)
    table.nodes.push(node)
    at += head.length
  }
  if (table.nodes.length === count && at < end) problems.push(`${end - at} byte(s) after the last of ${count} nodes`)
  const byOffset = new Map(table.nodes.map((n, i) => [n.offset, i]))
  for (const node of table.nodes)
    for (const m of node.mappings) {
      const target = byOffset.get(m.outputReference)
      if (target !== undefined) m.outputNode = target
    }
  return table
}

// ---------------------------------------------------------------------------------------------
// Following IDs (the kernel's iort_node_map_id)

export const IOMMU_NODE_TYPES: ReadonlySet<IortNodeType> = new Set(['smmu-v1-v2', 'smmu-v3'])

/**
 * Maps one input ID through a node's mappings the way the kernel's iort_node_map_id() and
 * iort_id_map() do: a single mapping (named components and root complexes only) ignores the
 * input; a range covers inputBase..inputBase+idCount inclusive (idCount is "IDs minus one").
 * Because firmware (QEMU among it) often writes the number of IDs instead, a match on a range's
 * LAST ID is kept only when no later mapping starts at that ID.
 */
export function mapId(node: IortNode, id: number): {mapping: IortIdMapping; output: number} | undefined {
  let lastIdMatch: {mapping: IortIdMapping; output: number} | undefined
  for (const mapping of node.mappings) {
    if (mapping.flags.singleMapping) {
      if (node.type === 'named-component' || node.type === 'root-complex') return {mapping, output: mapping.outputBase}
      continue
    }
    if (id < mapping.inputBase || id > mapping.inputBase + mapping.idCount) continue
    const match = {mapping, output: (mapping.outputBase + (id - mapping.inputBase)) >>> 0}
    if (lastIdMatch !== undefined && id !== mapping.inputBase) continue
    if (mapping.idCount > 0 && id === mapping.inputBase + mapping.idCount) {
      lastIdMatch ??= match
      continue
    }
    return match
  }
  return lastIdMatch
}

export interface StreamIdResolution {
  /** The PCI requester ID (bus << 8 | devfn) looked up. */
  rid: number
  segment: number
  rootComplex: IortNode
  /** The SMMU node the device's DMA goes through, with the StreamID it carries there. */
  smmu?: IortNode
  streamId?: number
  /** Without an SMMU: the ITS group the ID reaches (a DeviceID for MSIs only, no translation). */
  its?: IortNode
  deviceId?: number
  /** The nodes passed, root complex first. */
  path: IortNode[]
}

/**
 * The SMMU StreamID of a PCI requester ID: the root complex of `segment`, its mapping that covers
 * `rid`, then on through output references until an SMMU (or an ITS: no SMMU in the path).
 * Undefined when no root complex describes the segment or no mapping covers the ID (the kernel
 * then leaves the device without an IOMMU). Give each DMA alias of a device (a PCIe-to-PCI
 * bridge's, an IVRS-style alias) its own lookup: the kernel adds every alias's StreamID.
 */
export function ridToStreamId(table: IortTable, segment: number, rid: number): StreamIdResolution | undefined {
  const rootComplex = table.nodes.find((n) => n.type === 'root-complex' && n.pciSegment === segment)
  if (rootComplex === undefined) return undefined
  const path: IortNode[] = [rootComplex]
  let node = rootComplex
  let id = rid
  // A mapping chain longer than the node count loops; the kernel gives up after a few hops too.
  for (let hop = 0; hop <= table.nodes.length; hop++) {
    const step = mapId(node, id)
    if (step === undefined || step.mapping.outputNode === undefined) return hop === 0 ? undefined : {rid, segment, rootComplex, path}
    const next = table.nodes[step.mapping.outputNode]
    if (next === undefined) return {rid, segment, rootComplex, path}
    path.push(next)
    if (IOMMU_NODE_TYPES.has(next.type)) return {rid, segment, rootComplex, smmu: next, streamId: step.output, path}
    if (next.type === 'its-group') return {rid, segment, rootComplex, its: next, deviceId: step.output, path}
    node = next
    id = step.output
  }
  return {rid, segment, rootComplex, path}
}

/** A short name for a node in messages: "SMMUv3 at 0x48 (0x2b400000)". */
export function iortNodeName(node: IortNode): string {
  const kind: Record<IortNodeType, string> = {
    'its-group': 'ITS group',
    'named-component': 'named component',
    'root-complex': 'root complex',
    'smmu-v1-v2': 'SMMUv1/v2',
    'smmu-v3': 'SMMUv3',
    pmcg: 'PMCG',
    rmr: 'RMR',
    unknown: `node type ${node.typeCode}`,
  }
  const detail =
    node.type === 'named-component' ? ` ${node.deviceName ?? ''}` : node.type === 'root-complex' ? ` segment ${node.pciSegment ?? '?'}` : node.baseAddress !== undefined ? ` (${hex(node.baseAddress)})` : ''
  return `${kind[node.type]} at ${hex(node.offset)}${detail}`
}
