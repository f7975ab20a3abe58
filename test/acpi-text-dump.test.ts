/**
 * `--file` with what `sudo acpidump -n SIG > file` writes: the text starts with the table's own
 * signature ("IVRS @ 0x…"). Read as raw bytes that is a table of 0x30204020 bytes (" @ 0"), so
 * each table command must recognise the text head and decode the hex, for DMAR, IVRS and IORT
 * alike, with the same JSON as the raw table. The dumps are acpidump's own output on real tables
 * (test/fixtures/real/acpidump/SOURCES.md).
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Dmar from '../commands/dmar.js'
import Iort from '../commands/iort.js'
import Ivrs from '../commands/ivrs.js'
import {acpiTableFromFile} from '../src/decode/acpi-table.js'
import {captureCommandOutput, runCommand, type CommandClass} from './support/command-output.js'
import {realData} from './support/paths.js'

const output = captureCommandOutput()

const CASES: Array<{signature: string; command: CommandClass; raw: string; dump: string}> = [
  {signature: 'DMAR', command: Dmar, raw: 'dmar/apple-macbookpro14-3-kabylake-e74fe686.dat', dump: 'acpidump/apple-macbookpro14-3-kabylake-e74fe686.txt'},
  {signature: 'IVRS', command: Ivrs, raw: 'ivrs/acer-aspire-a515-45-92db04a6.dat', dump: 'acpidump/acer-aspire-a515-45-92db04a6.txt'},
  {signature: 'IORT', command: Iort, raw: 'iort/dell-xps-13-9345-2ff9e0f6.dat', dump: 'acpidump/dell-xps-13-9345-2ff9e0f6.txt'},
]

describe('acpidump text of one table (starts with its own signature)', () => {
  for (const c of CASES) {
    it(`${c.signature}: the dump's bytes are the raw table's bytes`, () => {
      const dump = readFileSync(path.join(realData, c.dump))
      expect(dump.subarray(0, 4).toString('latin1')).toBe(c.signature)
      expect(acpiTableFromFile(dump, c.signature)).toEqual(new Uint8Array(readFileSync(path.join(realData, c.raw))))
    })

    it(`${c.signature}: \`${c.signature.toLowerCase()} --file\` on the dump gives the raw table's JSON and exit code`, async () => {
      const raw = await runCommand(output, c.command, ['--file', path.join(realData, c.raw), '--json'])
      const dump = await runCommand(output, c.command, ['--file', path.join(realData, c.dump), '--json'])
      // Evidence names the file it read: the same place for both.
      const strip = (text: string) => {
        const json = JSON.parse(text.replaceAll(path.join(realData, c.dump), path.join(realData, c.raw))) as {source?: unknown; table: unknown}
        return {...json, source: undefined}
      }
      expect(dump.exit).toBe(raw.exit)
      expect(strip(dump.stdout)).toEqual(strip(raw.stdout))
      expect(JSON.stringify(strip(dump.stdout))).not.toContain('truncated')
    })
  }

  it('a raw table still wins when its bytes start with the signature', () => {
    const raw = readFileSync(path.join(realData, CASES[1]!.raw))
    expect(acpiTableFromFile(raw, 'IVRS')).toBe(raw)
  })
})
