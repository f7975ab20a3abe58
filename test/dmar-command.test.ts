/**
 * `vtd-check dmar` end to end through oclif: on the real-kernel QEMU snapshots in
 * sysfs-fixtures/ (their DMAR tables were read by the guest kernel's capture), on real firmware
 * tables from test/fixtures/real/dmar with --file, and on the unreadable / absent cases.
 */
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Dmar from '../commands/dmar.js'
import type {DmarReport} from '../src/report/dmar.js'
import {dmarDataDir} from './helpers/dmar-dsl.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, realData, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const output = captureCommandOutput()

const run = (args: string[]): Promise<DmarReport> => Dmar.run(args, repoRoot) as Promise<DmarReport>

describe('vtd-check dmar', () => {
  it('--root lab-iommu-on --json: QEMU q35 table, scopes resolved against the captured sysfs', async () => {
    const report = await run(['--root', path.join(fixturesDir, 'lab-iommu-on'), '--json'])
    expect(report.schemaVersion).toBe(1)
    expect(report.table.hostAddressWidth).toBe(39)
    expect(report.table.flags).toEqual({value: 1, intrRemap: true, x2apicOptOut: false, dmaCtrlPlatformOptIn: false})
    const drhd = report.table.structures[0]
    expect(drhd).toMatchObject({type: 'DRHD', offset: 0x30, registerBase: '0xfed90000', segment: 0})
    // QEMU 7.2 lists each device; the e1000e behind root port 00:1c.0 is owned through the bridge scope
    expect(report.owners?.['0000:01:00.0']).toEqual({registerBase: '0xfed90000', via: 'scope', drhd: 0})
    expect(report.uncovered).toEqual([])
    expect(report.scopes?.filter((s) => s.status === 'resolved').map((s) => s.bdf)).toContain('0000:00:03.0')
    // the injected edu DMA read fault is in the snapshot's dmesg.txt
    expect(report.lint.find((r) => r.id === 'dmar.log-errors')?.outcome).toBe('warn')
    expect(process.exitCode).toBe(0)
    // JSON mode: output.stdout is exactly the JSON document (bigints already as hex strings)
    expect(JSON.parse(output.stdout)).toEqual(JSON.parse(JSON.stringify(report)))
  })

  it('--file on a zero-base DRHD table fails with exit 1, and renders the tree and lint', async () => {
    const report = await run(['--file', path.join(dmarDataDir, 'lenovo-ideapadflex15-haswell-drhd-zero-27d1e500.dat')])
    expect(report.lint.find((r) => r.id === 'dmar.drhd-register-base')?.outcome).toBe('fail')
    expect(report.scopes).toBeUndefined()
    expect(process.exitCode).toBe(1)
    expect(output.stdout).toContain('DRHD 0x0 segment 0')
    expect(output.stdout).toContain('dmar.drhd-register-base')
    expect(output.stdout).toContain('Reserved memory regions (RMRR)')
  })

  it('--file with --lspci-dump resolves scopes against that dump', async () => {
    const report = await run(['--file', path.join(dmarDataDir, 'intel-x99-haswell-e-3d918b14.dat'), '--lspci-dump', path.join(realData, 'pci/huananzhi-x99-qd4-xeon-e5v3-lspci-xxxx.txt'), '--json'])
    expect(report.owners?.['0000:00:1b.0']).toMatchObject({via: 'scope', registerBase: '0xfbffd000'})
    expect(report.lint.find((r) => r.id === 'dmar.rmrr-devices')?.outcome).toBe('pass')
  })

  it('--file accepts an iasl .dsl (its Raw Table Data) as well as raw bytes', async () => {
    const fromDsl = await run(['--file', path.join(dmarDataDir, 'msi-claw8-lunarlake-dde3ebac.dsl'), '--json'])
    const fromDat = await run(['--file', path.join(dmarDataDir, 'msi-claw8-lunarlake-dde3ebac.dat'), '--json'])
    expect(fromDsl.table).toEqual(fromDat.table)
    expect(fromDsl.table.structures.map((s) => s.type)).toEqual(['DRHD', 'DRHD', 'DRHD', 'SATC', 'SIDP'])
  })

  it('a root-only table a snapshot could not copy: clear message, exit 3, advice to capture again as root', async () => {
    const root = scratchDir('vtd-dmar-')
    mkdirSync(path.join(root, 'sys/firmware/acpi/tables'), {recursive: true})
    writeFileSync(path.join(root, 'sys/firmware/acpi/tables/DMAR'), '')
    writeFileSync(path.join(root, 'meta.json'), JSON.stringify({unreadable: ['/sys/firmware/acpi/tables/DMAR']}))
    await expect(run(['--root', root])).rejects.toMatchObject({
      message: expect.stringContaining('was not readable when this snapshot was captured'),
      suggestions: [expect.stringContaining('sudo vtd-check capture --out DIR')],
      oclif: {exit: 3},
    })
  })

  it('no table at all (VM without an IOMMU): exit 3', async () => {
    await expect(run(['--root', path.join(fixturesDir, 'dev-vm-no-iommu')])).rejects.toMatchObject({oclif: {exit: 3}})
  })

  it('a --file that is no DMAR table (random bytes, empty, an IVRS table) is a usage error (exit 2), not a failed lint', async () => {
    const dir = scratchDir('dmar-notdmar-')
    const random = path.join(dir, 'random.bin')
    writeFileSync(random, Uint8Array.from({length: 512}, (_, i) => (i * 197 + 13) & 0xff))
    const empty = path.join(dir, 'empty.bin')
    writeFileSync(empty, '')
    const ivrs = path.join(realData, 'ivrs', readdirSync(path.join(realData, 'ivrs')).find((f) => f.endsWith('.dat')) ?? 'none.dat')
    for (const file of [random, empty, ivrs])
      await expect(run(['--file', file]), file).rejects.toMatchObject({message: expect.stringContaining('holds no DMAR table'), oclif: {exit: 2}})
  })

  it('a missing --file is a usage error (exit 2)', async () => {
    await expect(run(['--file', '/nonexistent/dmar.dat'])).rejects.toMatchObject({oclif: {exit: 2}})
  })

  it('a truncated table is decoded as far as it goes, never a crash', async () => {
    const dir = scratchDir('vtd-dmar-')
    const file = path.join(dir, 'cut.dat')
    const {readFileSync} = await import('node:fs')
    writeFileSync(file, readFileSync(path.join(dmarDataDir, 'intel-x99-haswell-e-3d918b14.dat')).subarray(0, 0x3c))
    const report = await run(['--file', file, '--json'])
    expect(report.table.problems.join(' ')).toContain('<truncated at 0x3c>')
    expect(report.lint.find((r) => r.id === 'dmar.header')?.outcome).toBe('fail')
    expect(process.exitCode).toBe(1)
  })
})
