/**
 * A small reader for ACPICA `iasl -d` disassembly (.dsl) of data tables (DMAR, IVRS, IORT): every
 * `[HexOff DecOff Len] Field Name : Value` line as {offset, size, name, value}.
 * Values are normalised so they compare with decoder output:
 *   hex numbers   -> decimal string ("00000000FED90000" -> "4275634176")
 *   "quoted"      -> the text inside the quotes
 *   PCI Path 1C,07 -> "28,7"
 *   byte lists    -> kept as lowercase hex bytes without spaces
 */
import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import type {AcpiHeaderFields} from '../../src/decode/acpi-table.js'
import {realData} from '../support/paths.js'

export interface DslField {
  offset: number
  size: number
  name: string
  value: string
}

const LINE = /^\[([0-9A-F]+)h (\d+) ([0-9A-F]+)h\]\s+(.+?)\s:\s(.*)$/

export function normaliseDslValue(name: string, raw: string): string {
  const text = raw.trim()
  const quoted = /^"(.*)"/.exec(text)
  if (quoted) return quoted[1] ?? ''
  if (name === 'PCI Path') {
    const [dev, fn] = text.split(',')
    return `${parseInt(dev ?? '', 16)},${parseInt(fn ?? '', 16)}`
  }
  const bytes = /^([0-9A-F]{2})( [0-9A-F]{2})+$/.exec(text)
  if (bytes) return text.replace(/ /g, '').toLowerCase()
  const num = /^([0-9A-F]+)\b/.exec(text)
  if (num) return BigInt('0x' + (num[1] ?? '0')).toString()
  return text
}

export function parseDsl(text: string): DslField[] {
  const fields: DslField[] = []
  for (const line of text.split('\n')) {
    const m = LINE.exec(line)
    if (!m) continue
    const name = (m[4] ?? '').trim()
    fields.push({offset: Number(m[2]), size: parseInt(m[3] ?? '0', 16), name, value: normaliseDslValue(name, m[5] ?? '')})
  }
  return fields
}

export const dmarDataDir = path.join(realData, 'dmar')

export interface RealTable {
  name: string
  bytes: Uint8Array
  dsl: DslField[]
}

/** Every .dat in test/fixtures/real/dmar with its .dsl. */
export function realDmarTables(): RealTable[] {
  return realAcpiTables(dmarDataDir)
}

/** Every .dat in a directory of real tables, with the iasl .dsl beside it. */
export function realAcpiTables(dir: string): RealTable[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((f) => ({
      name: f.replace(/\.dat$/, ''),
      bytes: new Uint8Array(readFileSync(path.join(dir, f))),
      dsl: parseDsl(readFileSync(path.join(dir, f.replace(/\.dat$/, '.dsl')), 'utf8')),
    }))
}

/** The common ACPI header fields as ACPICA prints them, from a decoded table. */
export function acpiHeaderExpectations(t: AcpiHeaderFields): Array<{offset: number; name: string; value: string}> {
  const n = (v: number | undefined): string => (v === undefined ? '<missing>' : String(v))
  return [
    {offset: 0, name: 'Signature', value: t.signature ?? '<missing>'},
    {offset: 4, name: 'Table Length', value: n(t.length)},
    {offset: 8, name: 'Revision', value: n(t.revision)},
    {offset: 9, name: 'Checksum', value: n(t.checksum)},
    {offset: 10, name: 'Oem ID', value: t.oemId ?? '<missing>'},
    {offset: 16, name: 'Oem Table ID', value: t.oemTableId ?? '<missing>'},
    {offset: 24, name: 'Oem Revision', value: n(t.oemRevision)},
    {offset: 28, name: 'Asl Compiler ID', value: t.creatorId ?? '<missing>'},
    {offset: 32, name: 'Asl Compiler Revision', value: n(t.creatorRevision)},
  ]
}

/** A table as `acpidump` prints it ("SIGN @ 0x…" and 16-byte hex lines), for --file tests. */
export function acpidumpText(name: string, bytes: Uint8Array): string {
  const lines = Array.from({length: Math.ceil(bytes.length / 16)}, (_, i) => `    ${(i * 16).toString(16).padStart(4, '0')}: ${[...bytes.subarray(i * 16, i * 16 + 16)].map((x) => x.toString(16).padStart(2, '0')).join(' ')}`)
  return `${name} @ 0x0000000000000000\n${lines.join('\n')}\n\n`
}
