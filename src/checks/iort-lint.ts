/**
 * IORT table lint. Every lint is data (id, title) plus one pure assess function returning a
 * verdict with evidence, like the DMAR and IVRS lints. The mapping lints follow the kernel's
 * iort_node_map_id()/iort_id_map() (drivers/acpi/arm64/iort.c): an input ID two mappings of one
 * node cover is a "[Firmware Bug]: [map …] conflicting mapping for input ID" — except when it is
 * the LAST ID of one range and the first of the next, the ID-count-off-by-one the kernel works
 * around ("applying workaround"); an output reference that is not a node leaves the devices
 * behind it without an IOMMU.
 */
import {hex} from '../decode/pci-address.js'
import {PLATFORM_FILES} from '../host/layout.js'
import {IOMMU_NODE_TYPES, iortNodeName, type IortIdMapping, type IortNode, type IortTable} from '../decode/iort.js'
import type {CheckResult} from './outcome.js'
import {ev, verdict, type Verdict} from './types.js'

export const IORT_TABLE_PATH = PLATFORM_FILES.iortTable
const SPEC_DOCS = 'https://developer.arm.com/documentation/den0049/latest'
const FIRMWARE_UPDATE = 'Update the system firmware (UEFI); report the IORT table to the vendor'

export interface IortLintContext {
  table: IortTable
  /** Where the table came from, for evidence. */
  source: string
}

interface IortLint {
  id: string
  title: string
  assess(ctx: IortLintContext): Verdict
}

const lastId = (m: IortIdMapping): number => m.inputBase + m.idCount
const range = (m: IortIdMapping): string => `${hex(m.inputBase)}-${hex(lastId(m))}`

/** Pairs of mappings of one node whose input ranges meet: off-by-one touches and real overlaps. */
export function overlappingMappings(node: IortNode): Array<{a: IortIdMapping; b: IortIdMapping; offByOne: boolean}> {
  const ranged = node.mappings.filter((m) => !m.flags.singleMapping)
  const out: Array<{a: IortIdMapping; b: IortIdMapping; offByOne: boolean}> = []
  for (let i = 0; i < ranged.length; i++)
    for (let j = i + 1; j < ranged.length; j++) {
      const a = ranged[i]
      const b = ranged[j]
      if (a === undefined || b === undefined || a.inputBase > lastId(b) || b.inputBase > lastId(a)) continue
      // Only the last ID of one range is the first of the other: the ID count holds "IDs", not "IDs - 1".
      const offByOne = (lastId(a) === b.inputBase && a.inputBase < b.inputBase) || (lastId(b) === a.inputBase && b.inputBase < a.inputBase)
      out.push({a, b, offByOne})
    }
  return out
}

export const IORT_LINTS: readonly IortLint[] = [
  {
    id: 'iort.header',
    title: 'IORT header: signature, length, checksum',
    assess({table, source}) {
      const evidence = [ev(`signature "${table.signature ?? ''}", length field ${table.length === undefined ? 'missing' : hex(table.length)}, ${table.byteLength} bytes read, revision ${table.revision ?? '?'}`, source)]
      const fatal = table.byteLength < 48 || table.signature !== 'IORT' || (table.length ?? 0) < 48 || (table.length ?? 0) > table.byteLength
      if (fatal) return verdict('fail', 'the IORT header is invalid or truncated', [...evidence, ...table.problems.map((p) => ev(p, source))], [FIRMWARE_UPDATE])
      if (table.checksumValid === false) return verdict('fail', 'the bytes do not sum to zero mod 256', [...evidence, ev(`checksum byte ${hex(table.checksum ?? 0)}`, source)], [FIRMWARE_UPDATE])
      if (table.problems.length > 0) return verdict('warn', `${table.problems.length} problem(s) in the table layout`, [...evidence, ...table.problems.map((p) => ev(p, source))])
      return verdict('pass', `valid header, ${table.length} bytes, ${table.nodes.length} node(s)`, evidence)
    },
  },
  {
    id: 'iort.nodes',
    title: 'Every node fits its length and is of a known type',
    assess({table, source}) {
      const problems = table.nodes.flatMap((node) => node.problems.map((p) => `${iortNodeName(node)}: ${p}`))
      const counted = table.nodeCount ?? 0
      if (table.nodes.length < counted) problems.push(`the header counts ${counted} nodes, ${table.nodes.length} could be read`)
      if (problems.length > 0) return verdict('fail', `${problems.length} node problem(s): the kernel skips or misreads these nodes`, problems.map((p) => ev(p, source)), [FIRMWARE_UPDATE])
      return verdict('pass', `${table.nodes.length} node(s), each inside its length`, table.nodes.map((node) => ev(`${iortNodeName(node)}, ${node.mappings.length} ID mapping(s)`, source)))
    },
  },
  {
    id: 'iort.references',
    title: 'ID mappings and PMCG nodes reference nodes that exist',
    assess({table, source}) {
      const offsets = new Set(table.nodes.map((n) => n.offset))
      const broken: string[] = []
      for (const node of table.nodes) {
        for (const m of node.mappings)
          if (m.outputNode === undefined) broken.push(`${iortNodeName(node)}: mapping ${range(m)} at ${hex(m.offset)} points at ${hex(m.outputReference)}, where no node starts`)
        if (node.type === 'pmcg' && node.nodeReference !== undefined && node.nodeReference !== 0 && !offsets.has(node.nodeReference))
          broken.push(`${iortNodeName(node)}: node reference ${hex(node.nodeReference)} is not a node`)
        if (node.type === 'smmu-v3' && node.idMappingIndex !== undefined && node.mappings.length > 0 && node.idMappingIndex >= node.mappings.length && (node.flags ?? 0) & 0x10)
          broken.push(`${iortNodeName(node)}: device ID mapping index ${node.idMappingIndex} but only ${node.mappings.length} mapping(s)`)
      }
      if (broken.length > 0) return verdict('fail', `${broken.length} reference(s) to missing nodes: the devices behind them get no IOMMU (or no MSIs)`, broken.map((b) => ev(b, source)), [FIRMWARE_UPDATE])
      const mappings = table.nodes.reduce((sum, n) => sum + n.mappings.length, 0)
      return verdict('pass', `all ${mappings} ID mapping(s) point at nodes of the table`, [])
    },
  },
  {
    id: 'iort.mapping-overlap',
    title: 'ID mappings of one node do not overlap',
    assess({table, source}) {
      const conflicts: string[] = []
      const offByOne: string[] = []
      for (const node of table.nodes)
        for (const {a, b, offByOne: touch} of overlappingMappings(node))
          (touch ? offByOne : conflicts).push(`${iortNodeName(node)}: ${range(a)} (at ${hex(a.offset)}) and ${range(b)} (at ${hex(b.offset)})`)
      if (conflicts.length > 0)
        return verdict('fail', `${conflicts.length} overlapping mapping pair(s): the kernel logs "[Firmware Bug]: … conflicting mapping for input ID" and uses the first`, [...conflicts, ...offByOne].map((c) => ev(c, source)), [FIRMWARE_UPDATE])
      if (offByOne.length > 0)
        return verdict(
          'warn',
          `${offByOne.length} mapping pair(s) share one ID: the ID count holds the number of IDs instead of "IDs minus one"; the kernel gives the shared ID to the later mapping ("applying workaround")`,
          offByOne.map((c) => ev(c, source)),
        )
      return verdict('pass', 'no two mappings of a node cover the same input ID', [])
    },
  },
  {
    id: 'iort.smmu',
    title: 'Which devices the SMMUs translate',
    assess({table, source}) {
      const smmus = table.nodes.filter((n) => IOMMU_NODE_TYPES.has(n.type))
      const rcs = table.nodes.filter((n) => n.type === 'root-complex')
      const evidence = rcs.flatMap((rc) =>
        rc.mappings.map((m) => {
          const target = m.outputNode === undefined ? undefined : table.nodes[m.outputNode]
          return ev(`PCI segment ${rc.pciSegment ?? '?'} RIDs ${range(m)} → ${target ? iortNodeName(target) : hex(m.outputReference)}${target && IOMMU_NODE_TYPES.has(target.type) ? ` StreamIDs from ${hex(m.outputBase)}` : ' (no SMMU: not translated)'}`, source)
        }),
      )
      if (smmus.length === 0) return verdict('not-applicable', 'no SMMU node: nothing is translated by an SMMU the IORT describes', evidence)
      const bypass = rcs.flatMap((rc) => rc.mappings.filter((m) => m.outputNode !== undefined && table.nodes[m.outputNode]?.type === 'its-group'))
      const summary = `${smmus.length} SMMU(s): ${smmus.map(iortNodeName).join(', ')}`
      if (bypass.length > 0) return verdict('warn', `${summary}; ${bypass.length} root-complex RID range(s) go straight to an ITS, so devices there are not behind any SMMU`, evidence)
      return verdict('pass', summary, evidence)
    },
  },
  {
    id: 'iort.rmr',
    title: 'Reserved memory ranges (RMR nodes)',
    assess({table, source}) {
      const rmrs = table.nodes.filter((n) => n.type === 'rmr')
      if (rmrs.length === 0) return verdict('pass', 'no RMR nodes: no memory the firmware keeps mapped 1:1 for devices', [])
      const evidence = rmrs.flatMap((node) => [
        ...(node.rmrDescriptors ?? []).map((d) => ev(`${iortNodeName(node)}: [${hex(d.baseAddress)}+${hex(d.length)}]${node.flags !== undefined && (node.flags & 1) === 1 ? ' (remapping permitted)' : ''}`, source)),
        ...node.mappings.map((m) => ev(`${iortNodeName(node)}: for StreamIDs ${hex(m.outputBase)}+${m.idCount + 1} of ${m.outputNode !== undefined ? iortNodeName(table.nodes[m.outputNode] as IortNode) : hex(m.outputReference)}`, source)),
      ])
      // Like Intel RMRRs: the kernel keeps these ranges identity-mapped, so the device's domain is never fully isolated.
      return verdict('warn', `${rmrs.length} RMR node(s): the kernel keeps these ranges mapped 1:1 for the devices named (like Intel RMRRs)`, evidence)
    },
  },
]

/** Every IORT lint. */
export function lintIort(table: IortTable, source: string = IORT_TABLE_PATH): CheckResult[] {
  return IORT_LINTS.map((lint) => ({id: lint.id, title: lint.title, ...lint.assess({table, source}), docs: SPEC_DOCS}))
}
