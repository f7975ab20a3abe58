/**
 * The `iort` report: the JSON envelope (bigints as lowercase hex strings) and the human
 * rendering — each node with its ID mappings (input range → output node), and the lint findings.
 */
import type {CheckResult} from '../checks/outcome.js'
import {iortNodeName, type IortNode, type IortTable} from '../decode/iort.js'
import {hex} from '../decode/pci-address.js'
import {renderLint, toJson, type Jsonify} from './dmar.js'

export const IORT_SCHEMA_VERSION = 1

export type ArmIommuFamily = 'arm-smmu-v3' | 'arm-smmu'

export interface IortReport {
  schemaVersion: number
  tool: 'vtd-check'
  /** The SMMU generation the table describes (SMMUv3 wins when both are there); absent without SMMU nodes. */
  iommuFamily?: ArmIommuFamily
  /** Where the table was read ("/sys/firmware/acpi/tables/IORT", a file path). */
  source: string
  table: Jsonify<IortTable>
  lint: CheckResult[]
}

export function armIommuFamily(table: IortTable): ArmIommuFamily | undefined {
  if (table.nodes.some((n) => n.type === 'smmu-v3')) return 'arm-smmu-v3'
  if (table.nodes.some((n) => n.type === 'smmu-v1-v2')) return 'arm-smmu'
  return undefined
}

export function buildIortReport(table: IortTable, source: string, lint: CheckResult[]): IortReport {
  const family = armIommuFamily(table)
  return {schemaVersion: IORT_SCHEMA_VERSION, tool: 'vtd-check', ...(family ? {iommuFamily: family} : {}), source, table: toJson(table), lint}
}

export interface IortRenderOptions {
  verbose?: boolean
  width?: number
}

function nodeDetail(node: IortNode): string {
  switch (node.type) {
    case 'its-group':
      return `ITS ${(node.itsIdentifiers ?? []).join(', ')}`
    case 'smmu-v1-v2':
      return `${node.modelName ?? 'model ?'}, ${node.contextInterruptCount ?? 0} context interrupts`
    case 'smmu-v3':
      return `${node.modelName ?? 'model ?'}, event GSIV ${node.eventGsiv ?? '?'}${(node.flags ?? 0) & 1 ? ', coherent' : ''}`
    case 'pmcg':
      return `page 0 ${hex(node.page0BaseAddress ?? 0n)}, for node ${hex(node.nodeReference ?? 0)}`
    case 'rmr':
      return (node.rmrDescriptors ?? []).map((d) => `[${hex(d.baseAddress)}+${hex(d.length)}]`).join(' ')
    case 'root-complex':
      return `ATS ${node.atsAttribute ? 'supported' : 'not supported'}${node.memoryAddressLimit ? `, ${node.memoryAddressLimit}-bit DMA` : ''}`
    case 'named-component':
      return node.memoryAddressLimit ? `${node.memoryAddressLimit}-bit DMA` : ''
    case 'unknown':
      return `${node.length} bytes, skipped`
  }
}

function nodeLines(node: IortNode, table: IortTable): string[] {
  const detail = nodeDetail(node)
  const head = `${iortNodeName(node)}${detail ? `: ${detail}` : ''}`
  const maps = node.mappings.map((m) => {
    const target = m.outputNode === undefined ? `${hex(m.outputReference)} (no node there)` : iortNodeName(table.nodes[m.outputNode] as IortNode)
    const input = m.flags.singleMapping ? 'single ID' : `IDs ${hex(m.inputBase)}-${hex(m.inputBase + m.idCount)}`
    return `  ${input} → ${target} from ${hex(m.outputBase)}`
  })
  return [head, ...maps, ...node.problems.map((p) => `  ! ${p}`)]
}

export function renderIortTree(table: IortTable, source: string): string {
  const family = armIommuFamily(table)
  const head = `IORT ${source}: revision ${table.revision ?? '?'}, ${table.oemId ?? '?'} ${table.oemTableId ?? ''}`.trimEnd()
  const summary = `${table.nodes.length} node(s)${family ? `, ${family}` : ', no SMMU'}`
  return [head, summary, ...table.problems.map((p) => `! ${p}`), ...table.nodes.flatMap((n) => nodeLines(n, table))].join('\n')
}

export function renderIortReport(table: IortTable, source: string, lint: CheckResult[], options: IortRenderOptions = {}): string {
  return `${renderIortTree(table, source)}\n\n${renderLint(lint, options)}\n`
}
