/**
 * Parse `lspci -x` / `-xxx` / `-xxxx` hex dumps (with or without -v text), as users paste them
 * into forums, bug reports and mails: domain-less `01:00.0` headings, hard-wrapped lines,
 * stderr warnings spliced into a hex row, repeated headings, all-ff devices, partial hosts.
 * Nothing here throws; whatever could not be read becomes a warning string.
 */

import {formatBdfParts, type BdfParts} from './pci-address.js'

export interface LspciDumpDevice extends BdfParts {
  bdf: string
  /** The heading text after the BDF (class and names as lspci printed them). */
  description: string
  /** 1-based line of the heading that carried the bytes. */
  line: number
  /** Contiguous config bytes from offset 0 (empty when the block had no hex). */
  config: Uint8Array
  /** From `-v` text lines when present. */
  iommuGroup?: number
  driver?: string
  numaNode?: number
}

export interface LspciDump {
  devices: LspciDumpDevice[]
  warnings: string[]
}

// A heading: optional domain, bus:dev.fn, a space, then the description.
const HEADING = /^(?:([0-9a-f]{4,8}):)?([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])\s+(.*)$/i
// A hex row: offset, colon, then up to 16 bytes; anything after the bytes (a spliced warning) is not ours.
const HEX_ROW = /^([0-9a-f]{1,3}):((?:\s+[0-9a-f]{2}(?![0-9a-z]))+)(.*)$/i
// A wrapped hex row's tail: bytes only.
const BYTES_ONLY = /^(?:[0-9a-f]{2}\s+)*[0-9a-f]{2}$/i
const TEXT_FACTS: ReadonlyArray<readonly [RegExp, (block: Block, match: RegExpExecArray) => void]> = [
  [/^IOMMU group:\s*(\d+)/, (block, m) => (block.iommuGroup = Number(m[1]))],
  [/^Kernel driver in use:\s*(\S+)/, (block, m) => (block.driver = m[1])],
  [/^NUMA node:\s*(-?\d+)/, (block, m) => (block.numaNode = Number(m[1]))],
]

interface Block {
  parts: BdfParts
  description: string
  line: number
  rows: Map<number, number[]>
  /** Row offset whose bytes may continue on the next line (fewer than 16 seen). */
  openRow?: number
  iommuGroup?: number
  driver?: string
  numaNode?: number
}

/** "86 80 c9 10" → [0x86, 0x80, 0xc9, 0x10]; the text is already known to be hex pairs. */
function hexBytes(text: string): number[] {
  const out: number[] = []
  for (const pair of text.trim().split(/\s+/)) out.push(Number.parseInt(pair, 16))
  return out
}

/** Strip mail quoting (`> `) and indentation, keep the content. */
function clean(line: string): string {
  const trimmed = line.trim()
  return trimmed.startsWith('>') ? trimmed.replace(/^(?:\s*>)+/, '').trim() : trimmed
}

export function parseLspciDump(text: string): LspciDump {
  const warnings: string[] = []
  const blocks: Block[] = []
  let current: Block | undefined
  const lines = text.split('\n')
  lines.forEach((rawLine, index) => {
    const line = clean(rawLine)
    if (line === '') return
    // Hex rows are most of a dump: try them first (a heading never matches HEX_ROW).
    const row = current ? HEX_ROW.exec(line) : null
    const heading = row ? null : HEADING.exec(line)
    if (heading) {
      current = {
        parts: {
          segment: Number.parseInt(heading[1] ?? '0', 16),
          bus: Number.parseInt(heading[2] ?? '0', 16),
          device: Number.parseInt(heading[3] ?? '0', 16),
          function: Number.parseInt(heading[4] ?? '0', 16),
        },
        description: heading[5] ?? '',
        line: index + 1,
        rows: new Map(),
      }
      blocks.push(current)
      return
    }
    if (!current) return
    if (row) {
      const offset = Number.parseInt(row[1] ?? '0', 16)
      const bytes = hexBytes(row[2] ?? '')
      if (offset % 16 !== 0 || bytes.length > 16) {
        warnings.push(`line ${index + 1}: hex row at offset 0x${offset.toString(16)} ignored (not a 16-byte row)`)
        return
      }
      current.rows.set(offset, bytes)
      current.openRow = bytes.length < 16 ? offset : undefined
      if ((row[3] ?? '').trim() !== '') warnings.push(`line ${index + 1}: text inside a hex row ignored: "${(row[3] ?? '').trim().slice(0, 60)}"`)
      return
    }
    if (current.openRow !== undefined && BYTES_ONLY.test(line)) {
      // The rest of a row that a warning or a mail client pushed onto the next line.
      const rowBytes = current.rows.get(current.openRow) ?? []
      rowBytes.push(...hexBytes(line))
      if (rowBytes.length >= 16) current.openRow = undefined
      return
    }
    current.openRow = undefined
    for (const [pattern, apply] of TEXT_FACTS) {
      const match = pattern.exec(line)
      if (match) apply(current, match)
    }
  })

  // The same device may appear twice (an -vvv block, then an -xxxx block): merge, keeping bytes.
  const byBdf = new Map<string, Block[]>()
  for (const block of blocks) {
    const bdf = formatBdfParts(block.parts)
    byBdf.set(bdf, [...(byBdf.get(bdf) ?? []), block])
  }
  const devices: LspciDumpDevice[] = []
  for (const [bdf, group] of byBdf) {
    const withBytes = group.find((block) => block.rows.size > 0) ?? group[0]
    if (!withBytes) continue
    const config = assemble(bdf, withBytes, warnings)
    const fact = <K extends 'iommuGroup' | 'driver' | 'numaNode'>(key: K): Block[K] => group.map((block) => block[key]).find((value) => value !== undefined)
    if (config.length === 0) warnings.push(`${bdf} (line ${withBytes.line}): no hex bytes; run lspci with -xxxx to include config space`)
    devices.push({
      ...withBytes.parts,
      bdf,
      description: withBytes.description,
      line: withBytes.line,
      config,
      iommuGroup: fact('iommuGroup'),
      driver: fact('driver'),
      numaNode: fact('numaNode'),
    })
  }
  devices.sort((a, b) => compareBdf(a, b))
  if (devices.length === 0) warnings.push('no device headings (like "00:1f.0 ISA bridge: …") found: is this an lspci dump?')
  return {devices, warnings}
}

/** Rows into one buffer, stopping at the first gap or short row so no byte is invented. */
function assemble(bdf: string, block: Block, warnings: string[]): Uint8Array {
  const out: number[] = []
  for (let offset = 0; block.rows.has(offset); offset += 16) {
    const row = block.rows.get(offset) ?? []
    out.push(...row.slice(0, 16))
    if (row.length < 16) {
      warnings.push(`${bdf}: <truncated at 0x${(offset + row.length).toString(16)}> (short hex row)`)
      return Uint8Array.from(out)
    }
  }
  const beyond = [...block.rows.keys()].filter((offset) => offset >= out.length)
  if (beyond.length > 0) warnings.push(`${bdf}: <truncated at 0x${out.length.toString(16)}> (missing hex row; ${beyond.length} later rows ignored)`)
  return Uint8Array.from(out)
}

export function compareBdf(a: BdfParts, b: BdfParts): number {
  return a.segment - b.segment || a.bus - b.bus || a.device - b.device || a.function - b.function
}

/** Config bytes as `lspci -xxxx` prints them (16 bytes a row), under a heading line. */
export function formatHexDump(bdf: string, description: string, config: Uint8Array): string {
  const rows = [`${bdf} ${description}`]
  for (let offset = 0; offset < config.length; offset += 16) {
    const bytes = [...config.subarray(offset, offset + 16)].map((b) => b.toString(16).padStart(2, '0'))
    rows.push(`${offset.toString(16).padStart(2, '0')}: ${bytes.join(' ')}`)
  }
  return rows.join('\n') + '\n'
}
