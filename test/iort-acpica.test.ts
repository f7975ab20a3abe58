/**
 * Agreement with ACPICA 20260408 on every IORT table in test/fixtures/real/iort: each field the
 * disassembler prints (at its absolute offset) must equal what decodeIort produced, and every
 * field decodeIort produced must be one ACPICA printed. The mapping from our names to ACPICA's
 * (dmtbinfo2.c AcpiDmTableInfoIort*) is written out here by hand, with the offsets of the Arm IORT
 * specification (DEN 0049).
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeIort, type IortIdMapping, type IortNode, type IortTable} from '../src/decode/iort.js'
import {acpiHeaderExpectations, realAcpiTables, type DslField} from './helpers/dmar-dsl.js'
import {realData} from './support/paths.js'

interface Expected {
  offset: number
  name: string
  value: string
}

const n = (v: number | bigint | undefined): string => (v === undefined ? '<missing>' : BigInt(v).toString())
/** Fields decodeIort left out (not inside the node) are not expected from ACPICA either. */
const field = (offset: number, name: string, v: number | bigint | string | undefined): Expected[] =>
  v === undefined ? [] : [{offset, name, value: typeof v === 'string' ? v : n(v)}]

function mappingFields(m: IortIdMapping): Expected[] {
  return [
    ...field(m.offset, 'Input base', m.inputBase),
    ...field(m.offset + 4, 'ID Count', m.idCount),
    ...field(m.offset + 8, 'Output Base', m.outputBase),
    ...field(m.offset + 12, 'Output Reference', m.outputReference),
    ...field(m.offset + 16, 'Flags (decoded below)', m.flags.value),
  ]
}

function memoryFields(at: number, node: IortNode): Expected[] {
  const p = node.memoryProperties
  if (p === undefined) return []
  return [
    {offset: at, name: 'Memory Properties', value: '[IORT Memory Access Properties]'},
    ...field(at, 'Cache Coherency', p.cacheCoherency),
    ...field(at + 4, 'Hints (decoded below)', p.hints),
    ...field(at + 7, 'Memory Flags (decoded below)', p.memoryFlags),
  ]
}

function nodeFields(node: IortNode, tableRevision: number): Expected[] {
  const o = node.offset
  const head: Expected[] = [
    ...field(o, 'Type', node.typeCode),
    ...field(o + 1, 'Length', node.length),
    ...field(o + 3, 'Revision', node.revision),
    // Table revision 0 calls the identifier "Reserved" (and it is).
    ...(tableRevision >= 3 ? field(o + 4, 'Identifier', node.identifier) : []),
    ...field(o + 8, 'Mapping Count', node.mappingCount),
    ...field(o + 12, 'Mapping Offset', node.mappingOffset),
  ]
  const body: Expected[] = (() => {
    switch (node.type) {
      case 'its-group':
        return [...field(o + 16, 'ItsCount', node.itsCount), ...(node.itsIdentifiers ?? []).flatMap((id, i) => field(o + 20 + 4 * i, 'Identifiers', id))]
      case 'named-component':
        return [
          ...field(o + 16, 'Node Flags', node.nodeFlags),
          ...memoryFields(o + 20, node),
          ...field(o + 28, 'Memory Size Limit', node.memoryAddressLimit),
          ...field(o + 29, 'Device Name', node.deviceName),
        ]
      case 'root-complex':
        return [
          ...memoryFields(o + 16, node),
          ...field(o + 24, 'ATS Attribute', node.atsAttribute),
          ...field(o + 28, 'PCI Segment Number', node.pciSegment),
          ...field(o + 32, 'Memory Size Limit', node.memoryAddressLimit),
          ...field(o + 33, 'PASID Capabilities', node.pasidCapabilities),
        ]
      case 'smmu-v1-v2': {
        const g = o + (node.globalInterruptOffset ?? 0)
        return [
          ...field(o + 16, 'Base Address', node.baseAddress),
          ...field(o + 24, 'Span', node.span),
          ...field(o + 32, 'Model', node.model),
          ...field(o + 36, 'Flags (decoded below)', node.flags),
          ...field(o + 40, 'Global Interrupt Offset', node.globalInterruptOffset),
          ...field(o + 44, 'Context Interrupt Count', node.contextInterruptCount),
          ...field(o + 48, 'Context Interrupt Offset', node.contextInterruptOffset),
          ...field(o + 52, 'PMU Interrupt Count', node.pmuInterruptCount),
          ...field(o + 56, 'PMU Interrupt Offset', node.pmuInterruptOffset),
          ...field(g, 'NSgIrpt', node.nsgIrpt),
          ...field(g + 4, 'NSgIrpt Flags (decoded below)', node.nsgIrptFlags),
          ...field(g + 8, 'NSgCfgIrpt', node.nsgCfgIrpt),
          ...field(g + 12, 'NSgCfgIrpt Flags (decoded below)', node.nsgCfgIrptFlags),
          ...(node.contextInterrupts ?? []).flatMap((x, i) => field(o + (node.contextInterruptOffset ?? 0) + 8 * i, 'Context Interrupt', x.value)),
          ...(node.pmuInterrupts ?? []).flatMap((x, i) => field(o + (node.pmuInterruptOffset ?? 0) + 8 * i, 'PMU Interrupt', x.value)),
        ]
      }
      case 'smmu-v3':
        return [
          ...field(o + 16, 'Base Address', node.baseAddress),
          ...field(o + 24, 'Flags (decoded below)', node.flags),
          ...field(o + 32, 'VATOS Address', node.vatosAddress),
          ...field(o + 40, 'Model', node.model),
          ...field(o + 44, 'Event GSIV', node.eventGsiv),
          ...field(o + 48, 'PRI GSIV', node.priGsiv),
          ...field(o + 52, 'GERR GSIV', node.gerrGsiv),
          ...field(o + 56, 'Sync GSIV', node.syncGsiv),
          ...field(o + 60, 'Proximity Domain', node.proximityDomain),
          ...field(o + 64, 'Device ID Mapping Index', node.idMappingIndex),
        ]
      case 'pmcg':
        return [
          ...field(o + 16, 'Page 0 Base Address', node.page0BaseAddress),
          ...field(o + 24, 'Overflow Interrupt GSIV', node.overflowGsiv),
          ...field(o + 28, 'Node Reference', node.nodeReference),
          ...field(o + 32, 'Page 1 Base Address', node.page1BaseAddress),
        ]
      case 'rmr':
        return [
          ...field(o + 16, 'Flags (decoded below)', node.flags),
          ...field(o + 20, 'Number of RMR Descriptors', node.rmrCount),
          ...field(o + 24, 'RMR Descriptor Offset', node.rmrOffset),
          ...(node.rmrDescriptors ?? []).flatMap((d) => [...field(d.offset, 'Base Address of RMR', d.baseAddress), ...field(d.offset + 8, 'Length of RMR', d.length)]),
        ]
      case 'unknown':
        return []
    }
  })()
  return [...head, ...body, ...node.mappings.flatMap(mappingFields)]
}

function ours(t: IortTable): Expected[] {
  return [
    ...acpiHeaderExpectations(t),
    ...field(36, 'Node Count', t.nodeCount),
    ...field(40, 'Node Offset', t.nodeOffset),
    ...t.nodes.flatMap((node) => nodeFields(node, t.revision ?? 0)),
  ].sort((a, b) => a.offset - b.offset || a.name.localeCompare(b.name))
}

const key = (f: {offset: number; name: string}): string => `${f.offset}:${f.name}`
/** What ACPICA prints that we do not expose: reserved fields and padding bytes. */
const IGNORED = new Set(['Reserved', 'Padding', 'Optional Padding'])

const tables = realAcpiTables(path.join(realData, 'iort'))

describe('decodeIort agrees with ACPICA 20260408 on every IORT table gathered', () => {
  it('finds every table SOURCES.md lists', () => {
    const listed = readFileSync(path.join(realData, 'iort', 'SOURCES.md'), 'utf8').match(/^\| [a-z0-9-]+\.dat \|/gm) ?? []
    expect(listed.length).toBeGreaterThanOrEqual(6)
    expect(tables.map((t) => `| ${t.name}.dat |`).sort()).toEqual([...listed].sort())
  })

  for (const table of tables) {
    it(table.name, () => {
      const decoded = decodeIort(table.bytes)
      expect(decoded.problems).toEqual([])
      expect(decoded.checksumValid).toBe(true)
      expect(decoded.nodes.length).toBe(decoded.nodeCount)
      const mine = ours(decoded)
      const expected = new Set(mine.map(key))
      const theirs = table.dsl
        .filter((f: DslField) => !(IGNORED.has(f.name) && !expected.has(key(f))))
        .map((f) => `${key(f)}=${f.value}`)
        .sort()
      expect(theirs).toEqual(mine.map((f) => `${key(f)}=${f.value}`).sort())
    })
  }
})
