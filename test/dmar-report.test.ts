/**
 * The dmar renderers and JSON envelope: bigints become "0x…" strings, the tree shows units,
 * scopes with resolved BDFs and names, reserved regions and ANDD names; problems are shown.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {lintDmar} from '../src/checks/dmar-lint.js'
import {decodeDmar, dmarBytesFromText} from '../src/decode/dmar.js'
import {resolveDmarScopes} from '../src/model/dmar-scope.js'
import {buildDmarReport, renderDmarReport, renderDmarTree, toJson} from '../src/report/dmar.js'
import {topologyOf} from './helpers/dmar-build.js'
import {dmarDataDir, realDmarTables} from './helpers/dmar-dsl.js'

const bytes = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(dmarDataDir, `${name}.dat`)))

describe('dmar report', () => {
  it('toJson turns bigints into lowercase hex and drops undefined', () => {
    expect(toJson({a: 0xfed90000n, b: [1n, 2], c: undefined, d: {e: 0n}})).toEqual({a: '0xfed90000', b: ['0x1', 2], d: {e: '0x0'}})
  })

  it('JSON envelope of a real table uses the DESIGN.md names', () => {
    const table = decodeDmar(bytes('supermicro-x10dai-haswell-ep-2s-0d296309'))
    const report = buildDmarReport(table, 'file', lintDmar(table))
    const json = JSON.parse(JSON.stringify(report)) as typeof report
    expect(json.table.hostAddressWidth).toBe(46)
    const types = json.table.structures.map((s) => s.type)
    expect(types.filter((t) => t === 'DRHD')).toHaveLength(3)
    expect(types.filter((t) => t === 'RHSA')).toHaveLength(2)
    const rhsa = json.table.structures.find((s) => s.type === 'RHSA')
    expect(rhsa && 'proximityDomain' in rhsa && typeof rhsa.registerBase).toBe('string')
    const rmrr = json.table.structures.find((s) => s.type === 'RMRR')
    expect(rmrr && 'base' in rmrr ? rmrr.base : undefined).toMatch(/^0x[0-9a-f]+$/)
    const scope = json.table.structures.flatMap((s) => ('scopes' in s ? s.scopes : []))[0]
    expect(scope && Object.keys(scope)).toEqual(expect.arrayContaining(['type', 'enumerationId', 'startBus', 'path']))
  })

  it('tree: ANDD names under namespace scopes, RMRR sizes', () => {
    const out = renderDmarTree(decodeDmar(bytes('microsoft-surface-go-kabylake-04c47bfd')), 'x')
    // .dsl: ANDD 1 "\_SB.PCI0.I2C0", namespace scope enumeration 01 path 15,00
    expect(out).toContain('ACPI device 1 \\_SB.PCI0.I2C0 as 00:15.0')
    // .dsl: RMRR 8D800000-8FFFFFFF = 40 MiB
    expect(out).toContain('RMRR [0x8d800000-0x8fffffff] 40 MiB')
  })

  it('tree with a topology: resolved BDFs, device names, catch-all count, uncovered functions', () => {
    const table = decodeDmar(bytes('dell-optiplex-7020-haswell-b9b7e15a'))
    const topology = topologyOf([{bdf: '0000:00:02.0', classCode: 0x030000}, {bdf: '0000:00:14.0', classCode: 0x0c0330}, {bdf: '0000:00:1f.0', classCode: 0x060100}])
    const resolution = resolveDmarScopes(table, topology)
    const out = renderDmarReport(table, 'x', lintDmar(table, topology, {resolution}), {resolution, deviceName: (bdf) => (bdf === '0000:00:02.0' ? 'Intel iGPU' : undefined)})
    expect(out).toContain('endpoint 00:02.0 → 0000:00:02.0 Intel iGPU')
    expect(out).toMatch(/\+ 2 more PCI function\(s\) by INCLUDE_PCI_ALL/)
  })

  it('a cut table shows the truncation in the header and the lint', () => {
    const cut = bytes('intel-x99-haswell-e-3d918b14').subarray(0, 0x64)
    const table = decodeDmar(cut)
    const out = renderDmarReport(table, 'x', lintDmar(table))
    expect(out).toContain('228 bytes (100 read)')
    expect(out).toContain('<truncated at 0x64>')
    expect(out).toContain('dmar.header')
  })
})

describe('DMAR bytes from text dumps', () => {
  const tables = realDmarTables()

  it('the "Raw Table Data" of every real .dsl gives back the .dat bytes', () => {
    for (const t of tables) {
      const text = readFileSync(path.join(dmarDataDir, `${t.name}.dsl`), 'utf8')
      expect(dmarBytesFromText(text), t.name).toEqual(t.bytes)
    }
  })

  it('acpidump text: picks DMAR among other tables', () => {
    const dat = tables.find((t) => t.name === 'framework-laptop13-meteorlake-d7ce0b17')?.bytes ?? new Uint8Array()
    // acpidump's layout: "SIG @ 0xADDR", then "    OFFS: 16 hex bytes  ascii", a blank line between tables
    const dump = (sig: string, bytes: Uint8Array): string => {
      const lines = [`${sig} @ 0x0000000076f3c000`]
      for (let o = 0; o < bytes.length; o += 16) {
        const row = [...bytes.subarray(o, o + 16)]
        const ascii = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
        lines.push(`    ${o.toString(16).toUpperCase().padStart(4, '0')}: ${row.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ').padEnd(47)}  ${ascii}`)
      }
      return lines.join('\n') + '\n\n'
    }
    const apic = new Uint8Array(44).fill(0x41)
    apic.set([0x41, 0x50, 0x49, 0x43])
    const text = dump('APIC', apic) + dump('DMAR', dat) + dump('FACP', apic)
    expect(dmarBytesFromText(text)).toEqual(dat)
    expect(dmarBytesFromText(dump('APIC', apic))).toBeUndefined()
    expect(dmarBytesFromText('no dump here')).toBeUndefined()
  })
})
