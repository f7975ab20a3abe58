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
