/**
 * decodeIvrs on tables built byte by byte from the AMD IOMMU spec (48882) layouts — the entry
 * kinds the real corpus lacks (select, alias select, extended, IVMD 0x20/0x22) and broken input —
 * lintIvrs on real and built tables, and `vtd-check ivrs` end to end through oclif.
 */
import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Ivrs from '../commands/ivrs.js'
import {lintIvrs} from '../src/checks/ivrs-lint.js'
import {acpiTableFromFile} from '../src/decode/acpi-table.js'
import {decodeIvrs, ivrsAliases} from '../src/decode/ivrs.js'
import type {IvrsReport} from '../src/report/ivrs.js'
import {le} from './helpers/dmar-build.js'
import {acpidumpText} from './helpers/dmar-dsl.js'
import {captureCommandOutput} from './support/command-output.js'
import {realData, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

// ---------------------------------------------------------------------------------------------
// A small builder, independent of src/decode/ivrs.ts

const ascii = (text: string, size: number): number[] => Array.from({length: size}, (_, i) => text.charCodeAt(i) || 0)

const entry4 = (type: number, devid: number, data = 0): number[] => [type, ...le(devid, 2), data]
const alias = (type: 0x42 | 0x43, devid: number, source: number): number[] => [type, ...le(devid, 2), 0, 0, ...le(source, 2), 0]
const extended = (type: 0x46 | 0x47, devid: number, ext: number): number[] => [type, ...le(devid, 2), 0, ...le(ext, 4)]
const special = (handle: number, source: number, variety: number): number[] => [0x48, 0, 0, 0, handle, ...le(source, 2), variety]
const hid = (devid: number, hidText: string, uid: string): number[] => [0xf0, ...le(devid, 2), 0, ...ascii(hidText, 8), ...le(0, 8), 2, uid.length, ...ascii(uid, uid.length)]

function ivhd10(entries: number[], devid = 0x0002, base = 0xfeb80000n): number[] {
  const body = [0xb0, ...le(24 + entries.length, 2), ...le(devid, 2), ...le(0x40, 2), ...le(base, 8), ...le(0, 2), ...le(0, 2), ...le(0x80048f6e, 4)]
  return [0x10, ...body, ...entries]
}
function ivmd(type: 0x20 | 0x21 | 0x22, flags: number, devid: number, aux: number, start: bigint, length: bigint): number[] {
  return [type, flags, ...le(32, 2), ...le(devid, 2), ...le(aux, 2), ...le(0, 8), ...le(start, 8), ...le(length, 8)]
}
function table(blocks: number[]): Uint8Array {
  const length = 48 + blocks.length
  const bytes = [...ascii('IVRS', 4), ...le(length, 4), 2, 0, ...ascii('TEST  ', 6), ...ascii('IVRSTEST', 8), ...le(1, 4), ...ascii('TEST', 4), ...le(1, 4), ...le(0x203041, 4), ...le(0, 8), ...blocks]
  const sum = bytes.reduce((a, b) => a + b, 0)
  bytes[9] = (256 - (sum % 256)) % 256
  return new Uint8Array(bytes)
}

const healthy = (): number[] =>
  ivhd10([...entry4(0x03, 0x0008), ...entry4(0x04, 0xfffe), ...alias(0x43, 0xff00, 0x00a5), ...entry4(0x04, 0xffff), ...special(0x21, 0x00a0, 1), ...special(0, 0x00a0, 2)])

describe('decodeIvrs on built tables', () => {
  it('decodes select, alias select, extended entries, special entries and an ACPI HID entry', () => {
    const t = decodeIvrs(
      table(ivhd10([...entry4(0x02, 0x0100, 0xd7), ...alias(0x42, 0x0300, 0x0208), ...extended(0x46, 0x0400, 0x1), ...extended(0x47, 0x0500, 0x2), ...entry4(0x04, 0x05ff), ...special(0x21, 0x00a0, 1), ...hid(0x00a5, 'AMDI0020', 'ID00'), ...entry4(0x00, 0)])),
    )
    expect(t.problems).toEqual([])
    expect(t.checksumValid).toBe(true)
    const b = t.blocks[0]
    if (b?.kind !== 'IVHD') throw new Error('expected an IVHD')
    expect(b).toMatchObject({typeCode: 0x10, deviceId: 2, bdf: '0000:00:00.2', baseAddress: 0xfeb80000n, segment: 0, featureReporting: 0x80048f6e})
    expect(b.entries.map((e) => [e.type, e.deviceId])).toEqual([
      ['select', 0x0100],
      ['alias-select', 0x0300],
      ['extended-select', 0x0400],
      ['extended-range-start', 0x0500],
      ['range-end', 0x05ff],
      ['special', 0],
      ['acpi-hid', 0x00a5],
    ])
    expect(b.entries[0]?.dataSetting).toEqual({value: 0xd7, initPass: true, extIntPass: true, nmiPass: true, sysMgt: 1, lint0Pass: true, lint1Pass: true})
    expect(b.entries[1]).toMatchObject({sourceId: 0x0208, sourceBdf: '0000:02:01.0', bdf: '0000:03:00.0'})
    expect(b.entries[2]?.extendedData).toBe(1)
    expect(b.entries[5]).toMatchObject({handle: 0x21, sourceId: 0xa0, variety: 'ioapic'})
    expect(b.entries[6]).toMatchObject({hid: 'AMDI0020', cid: '0x0', uidFormat: 2, uid: 'ID00', entryLength: 26})
    // the trailing type-0 entry is padding: counted by offset, not listed
    expect(b.paddingOffsets).toHaveLength(1)
    expect(ivrsAliases(t)).toEqual([{segment: 0, first: 0x0300, last: 0x0300, aliasTo: 0x0208, firstBdf: '0000:03:00.0', lastBdf: '0000:03:00.0', aliasBdf: '0000:02:01.0', offset: b.entries[1]?.offset}])
  })

  it('decodes IVMD 0x20 and 0x22 with their flags', () => {
    const t = decodeIvrs(table([...healthy(), ...ivmd(0x20, 0x07, 0, 0, 0xc0000000n, 0x100000n), ...ivmd(0x22, 0x08, 0x0100, 0x01ff, 0xd0000000n, 0x2000n)]))
    const mds = t.blocks.filter((b) => b.kind === 'IVMD')
    expect(mds).toMatchObject([
      {typeCode: 0x20, scope: 'all', flags: {unity: true, readable: true, writable: true, exclusionRange: false}, startAddress: 0xc0000000n, length: 0x100000n},
      {typeCode: 0x22, scope: 'range', deviceId: 0x0100, auxData: 0x01ff, flags: {exclusionRange: true}},
    ])
  })

  it('reports truncation as data: a cut table, a block past the end, an entry past its block', () => {
    const whole = table(healthy())
    const cut = decodeIvrs(whole.subarray(0, 60))
    expect(cut.problems.join('\n')).toMatch(/<truncated at 0x3c>/)
    expect(cut.checksumValid).toBeUndefined()
    expect(cut.blocks[0]).toMatchObject({kind: 'unknown', knownAs: 'IVHD', truncated: '<truncated at 0x3c>'})

    const head = decodeIvrs(whole.subarray(0, 20))
    expect(head.blocks).toEqual([])
    expect(head.problems[0]).toMatch(/the IVRS header needs 48 bytes/)

    // an 8-byte alias entry whose block ends 4 bytes in
    const bad = decodeIvrs(table(ivhd10([...entry4(0x02, 0x10), 0x43, 0, 0xff, 0])))
    expect(bad.blocks[0]?.problems.join()).toMatch(/<truncated at 0x50>: device entry at 0x4c \(type 0x43\) needs 8 bytes/)
  })

  it('stops at a zero-length block and at an entry type of unknown length, without throwing', () => {
    const zero = decodeIvrs(table([0x10, 0, 0, 0, ...le(0, 20)]))
    expect(zero.problems.join()).toMatch(/invalid length 0/)
    const odd = decodeIvrs(table(ivhd10([...entry4(0x02, 0x10), 0x85, 0, 0, 0])))
    expect(odd.blocks[0]?.problems.join()).toMatch(/type 0x85 of unknown length/)
  })

  it('never throws on arbitrary bytes', () => {
    let seed = 7
    for (let n = 0; n < 300; n++) {
      const bytes = table(healthy())
      for (let k = 0; k < 6; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        bytes[48 + (seed % (bytes.length - 48))] = seed & 0xff
      }
      expect(() => lintIvrs(decodeIvrs(bytes))).not.toThrow()
    }
  })
})

describe('lintIvrs', () => {
  const realDir = path.join(realData, 'ivrs')
  const real = (prefix: string): Uint8Array => {
    const file = readdirSync(realDir).find((f) => f.startsWith(prefix) && f.endsWith('.dat'))
    if (!file) throw new Error(`no real table ${prefix}`)
    return new Uint8Array(readFileSync(path.join(realDir, file)))
  }
  const outcome = (bytes: Uint8Array, id: string): string | undefined => lintIvrs(decodeIvrs(bytes)).find((r) => r.id === id)?.outcome

  it('Stoney Ridge IdeaPad S145 has no IOAPIC special entry: the kernel\'s "No southbridge IOAPIC found"', () => {
    const results = lintIvrs(decodeIvrs(real('lenovo-ideapad-s145-15ast')))
    const ioapic = results.find((r) => r.id === 'ivrs.ioapic')
    expect(ioapic?.outcome).toBe('fail')
    expect(ioapic?.summary).toMatch(/No southbridge IOAPIC found/)
    expect(ioapic?.remediation.join()).toMatch(/ivrs_ioapic\[ID\]=00:14\.0/)
    expect(results.find((r) => r.id === 'ivrs.hpet')?.outcome).toBe('pass')
  })

  it('the Kaveri-era Gigabyte F2A78M-HD2 maps only the HPET: the same missing southbridge IOAPIC', () => {
    const results = lintIvrs(decodeIvrs(real('gigabyte-f2a78m-hd2')))
    expect(results.find((r) => r.id === 'ivrs.ioapic')?.summary).toMatch(/^no IOAPIC special entry: .*No southbridge IOAPIC found/)
    expect(results.find((r) => r.id === 'ivrs.hpet')?.outcome).toBe('pass')
  })

  it('the coreboot table lists every device inside its range again with the same setting: no range finding', () => {
    const ranges = lintIvrs(decodeIvrs(real('asrock-x370-killer-sli-coreboot'))).find((r) => r.id === 'ivrs.ranges')
    expect(ranges?.outcome).toBe('pass')
    expect(ranges?.summary).toMatch(/overlap carry the same Data Setting/)
  })

  it('every other real table passes every lint', () => {
    const missingIoapic = ['lenovo-ideapad-s145', 'gigabyte-f2a78m-hd2']
    for (const file of readdirSync(realDir).filter((f) => f.endsWith('.dat') && !missingIoapic.some((m) => f.startsWith(m)))) {
      const results = lintIvrs(decodeIvrs(new Uint8Array(readFileSync(path.join(realDir, file)))))
      expect(results.filter((r) => r.outcome !== 'pass').map((r) => `${r.id}: ${r.summary}`), file).toEqual([])
    }
  })

  it('the type 0x51 block of the ThinkPad T14 Gen 3 is shown, not failed', () => {
    const length = lintIvrs(decodeIvrs(real('lenovo-thinkpad-t14-gen3-amd'))).find((r) => r.id === 'ivrs.block-length')
    expect(length?.outcome).toBe('pass')
    expect(length?.evidence.map((e) => e.fact).join()).toMatch(/type 0x51 at 0x1c4: block type the kernel does not know/)
  })

  it('flags a missing HPET entry, unclosed and empty ranges, overlapping plain ranges, empty IVMDs', () => {
    const noHpet = ivhd10([...entry4(0x03, 0x0008), ...entry4(0x04, 0xfffe), ...special(0x21, 0x00a0, 1)])
    expect(outcome(table(noHpet), 'ivrs.hpet')).toBe('warn')
    expect(lintIvrs(decodeIvrs(table(noHpet))).find((r) => r.id === 'ivrs.hpet')?.summary).toMatch(/keeps the HPET on legacy interrupts.*device assignment are not affected/)
    expect(outcome(table(ivhd10([...entry4(0x03, 0x0008), ...special(0x21, 0x00a0, 1)])), 'ivrs.ranges')).toBe('fail')
    expect(outcome(table(ivhd10([...entry4(0x03, 0x0100), ...entry4(0x04, 0x0010), ...special(0x21, 0x00a0, 1)])), 'ivrs.ranges')).toBe('fail')
    expect(outcome(table(ivhd10([...entry4(0x03, 0x0000), ...entry4(0x04, 0x00ff), ...entry4(0x02, 0x0010, 0x01), ...special(0x21, 0x00a0, 1)])), 'ivrs.ranges')).toBe('warn')
    // the same device listed again with the same Data Setting changes nothing (coreboot writes tables like this)
    expect(outcome(table(ivhd10([...entry4(0x03, 0x0000), ...entry4(0x04, 0x00ff), ...entry4(0x02, 0x0010), ...special(0x21, 0x00a0, 1)])), 'ivrs.ranges')).toBe('pass')
    // an alias range over part of a plain range is how AMD firmware aliases bus 0xff: no finding
    expect(outcome(table(healthy()), 'ivrs.ranges')).toBe('pass')
    expect(outcome(table([...healthy(), ...ivmd(0x21, 0x07, 0x0010, 0, 0xc0000000n, 0n)]), 'ivrs.ivmd')).toBe('warn')
    expect(outcome(table([...ivmd(0x21, 0x07, 0x0010, 0, 0xc0000000n, 0x1000n)]), 'ivrs.ivhd')).toBe('fail')
  })

  it('a southbridge IOAPIC mapped to another device ID is still the firmware bug', () => {
    const wrong = ivhd10([...entry4(0x03, 0x0008), ...entry4(0x04, 0xfffe), ...special(0x21, 0x00a1, 1), ...special(0, 0x00a0, 2)])
    expect(outcome(table(wrong), 'ivrs.ioapic')).toBe('fail')
  })
})

describe('vtd-check ivrs', () => {
  const output = captureCommandOutput()
  const run = (args: string[]): Promise<IvrsReport> => Ivrs.run(args, repoRoot) as Promise<IvrsReport>
  const realDir = path.join(realData, 'ivrs')
  const z13 = readdirSync(realDir).find((f) => f.startsWith('asus-rog-flow-z13-2025') && f.endsWith('.dat')) ?? ''

  it('--file raw bytes --json: the JSON names the issue fixes, 64-bit values as hex strings', async () => {
    const report = await run(['--file', path.join(realDir, z13), '--json'])
    expect(report).toMatchObject({schemaVersion: 1, iommuFamily: 'amd-vi', effectiveIvhdType: 0x40})
    const blocks = report.table.blocks
    expect(blocks[0]).toMatchObject({kind: 'IVHD', typeCode: 0x10, deviceId: 2, baseAddress: '0xfd200000', segment: 0})
    expect(blocks.find((b) => b.typeCode === 0x21)).toMatchObject({kind: 'IVMD', deviceId: 0x60, startAddress: '0x7d900000', length: '0x100000'})
    const last = blocks.find((b) => b.typeCode === 0x40)
    if (last?.kind !== 'IVHD') throw new Error('no IVHD 0x40')
    expect(last.entries.find((e) => e.typeCode === 0x43)).toMatchObject({deviceId: 0xff00, sourceId: 0xa5})
    expect(last.entries.find((e) => e.typeCode === 0x48 && e.handle === 0x21)).toMatchObject({sourceId: 0xa0, variety: 'ioapic'})
    expect(last.entries.find((e) => e.typeCode === 0xf0)).toMatchObject({hid: 'AMDI0020'})
    // padding entries are left out
    expect(last.entries.some((e) => e.typeCode === 0 || e.typeCode === 0x40)).toBe(false)
    expect(report.aliases.map((a) => a.aliasBdf)).toEqual(['0000:00:14.5'])
    expect(process.exitCode).toBe(0)
    expect(JSON.parse(output.stdout)).toEqual(JSON.parse(JSON.stringify(report)))
  })

  it('--file takes the iasl .dsl and acpidump text as well, with the same result', async () => {
    const raw = await run(['--file', path.join(realDir, z13), '--json'])
    const fromDsl = await run(['--file', path.join(realDir, z13.replace(/\.dat$/, '.dsl')), '--json'])
    expect(fromDsl.table).toEqual(raw.table)
    // acpidump text: another table first, then IVRS (as `acpidump` prints them)
    const bytes = readFileSync(path.join(realDir, z13))
    const dir = scratchDir('ivrs-')
    const file = path.join(dir, 'acpidump.txt')
    writeFileSync(file, acpidumpText('APIC', new Uint8Array([0x41, 0x50, 0x49, 0x43, 8, 0, 0, 0])) + acpidumpText('IVRS', bytes))
    expect(acpiTableFromFile(readFileSync(file), 'IVRS')).toEqual(new Uint8Array(bytes))
    const fromDump = await run(['--file', file, '--json'])
    expect(fromDump.table).toEqual(raw.table)
  })

  it('renders the IOMMUs and fails (exit 1) on the Stoney Ridge table', async () => {
    const s145 = readdirSync(realDir).find((f) => f.startsWith('lenovo-ideapad-s145') && f.endsWith('.dat')) ?? ''
    await run(['--file', path.join(realDir, s145)])
    expect(output.stdout).toMatch(/IVHD 0x11 IOMMU 00:00\.2 at 0xfeb80000/)
    expect(output.stdout).toMatch(/devices ff:00\.0 – ff:1f\.7 DMA as 00:14\.4 \(alias\)/)
    expect(output.stdout).toMatch(/ivrs\.ioapic/)
    expect(process.exitCode).toBe(1)
  })

  it('a missing file, and a file that is no IVRS table (junk, empty, a DMAR table), are usage errors (exit 2)', async () => {
    await expect(run(['--file', path.join(realDir, 'no-such.dat')])).rejects.toMatchObject({oclif: {exit: 2}})
    const dir = scratchDir('ivrs-')
    const junk = path.join(dir, 'junk.bin')
    writeFileSync(junk, 'not a table at all')
    const empty = path.join(dir, 'empty.bin')
    writeFileSync(empty, '')
    const dmar = path.join(realDir, '../dmar/intel-x99-haswell-e-3d918b14.dat')
    for (const file of [junk, empty, dmar])
      await expect(run(['--file', file]), file).rejects.toMatchObject({message: expect.stringContaining('holds no IVRS table'), oclif: {exit: 2}})
  })

  it('on a snapshot without an IVRS table says so and exits 3', async () => {
    const dir = scratchDir('ivrs-root-')
    for (const sub of ['sys/firmware/acpi/tables', 'proc']) mkdirSync(path.join(dir, sub), {recursive: true})
    await expect(run(['--root', dir])).rejects.toMatchObject({oclif: {exit: 3}})
  })
})
