/**
 * `vtd-check units` end to end on real-kernel QEMU snapshots (sysfs-fixtures/lab-*) and on a
 * snapshot whose only source is a real kernel log from test/fixtures/real/dmesg.
 * QEMU's values were decoded by hand: cap d2008c22260206 -> ND=6 (65536 domains), SAGAW 0x02
 * (39-bit), MGAW 0x26+1 = 39, CM=0, SLLPS 3 (2M, 1G); ecap f00f4a -> QI, IR, PT, no EIM, no SC.
 */
import {copyFileSync, mkdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Units from '../commands/units.js'
import type {UnitsReport} from '../src/report/units.js'
import {fixturesDir, repoRoot, realData} from './support/paths.js'
import {captureCommandOutput} from './support/command-output.js'
import {scratchDir} from './support/scratch.js'

const output = captureCommandOutput()

const run = (args: string[]): Promise<UnitsReport> => Units.run(args, repoRoot) as Promise<UnitsReport>
const outcome = (r: UnitsReport, id: string): string | undefined => r.lint.find((x) => x.id === id)?.outcome

describe('vtd-check units', () => {
  it('QEMU default intel-iommu from sysfs', async () => {
    const r = await run(['--root', path.join(fixturesDir, 'lab-iommu-on'), '--json'])
    expect(r.origin).toBe('sysfs')
    expect(r.units).toHaveLength(1)
    const u = r.units[0]
    expect(u).toMatchObject({name: 'dmar0', registerBase: '0xfed90000', version: '1:0', cap: '0xd2008c22260206', ecap: '0xf00f4a'})
    expect(u?.capDecoded).toMatchObject({domains: 65536, mgaw: 39, cachingMode: false, superpages: ['2MiB', '1GiB'], sagaw: {widths: [39]}})
    expect(u?.ecapDecoded).toMatchObject({queuedInvalidation: true, interruptRemapping: true, passThrough: true, extendedInterruptMode: false, snoopControl: false})
    expect(u?.features).toEqual(['2MiB', '1GiB', 'QI', 'IR', 'PT'])
    // The same source `vtd-check dmar --root …` names.
    expect(r.table).toEqual({source: path.join(fixturesDir, 'lab-iommu-on', 'sys/firmware/acpi/tables/DMAR'), drhds: 1, flags: 1})
    expect(outcome(r, 'units.match-drhd')).toBe('pass')
    expect(outcome(r, 'units.interrupt-remapping')).toBe('pass')
    // QEMU without eim=on: IR in xAPIC mode, as the snapshot's dmesg says ("Enabled IRQ remapping in xapic mode")
    // No EIM is a limit (255 APIC IDs), the same pass `check` gives interrupts.x2apic.
    expect(outcome(r, 'units.x2apic')).toBe('pass')
  })

  it('intremap=off: no IR on the unit and INTR_REMAP clear in the table', async () => {
    const r = await run(['--root', path.join(fixturesDir, 'lab-intremap-off'), '--json'])
    expect(r.units[0]?.ecap).toBe('0xf42')
    expect(r.table?.flags).toBe(0)
    // IR off is what `check` fails (interrupts.remapping): the unit lint fails too.
    expect(outcome(r, 'units.interrupt-remapping')).toBe('fail')
  })

  it('aw-bits=48: SAGAW 39 and 48, MGAW 48', async () => {
    const r = await run(['--root', path.join(fixturesDir, 'lab-aw48'), '--json'])
    expect(r.units[0]?.capDecoded).toMatchObject({sagaw: {widths: [39, 48]}, mgaw: 48})
  })

  it('scalable mode: SMTS and SLTS (ecap 480080f00f4a)', async () => {
    const r = await run(['--root', path.join(fixturesDir, 'lab-scalable-mode'), '--json'])
    expect(r.units[0]?.ecapDecoded).toMatchObject({scalableMode: true, secondStage: true, firstStage: false})
  })

  it('intel_iommu=off: no units in sysfs, the boot line still gives dmar0, remapping is reported off', async () => {
    const r = await run(['--root', path.join(fixturesDir, 'lab-iommu-off'), '--json'])
    expect(r.origin).toBe('kernel log')
    expect(r.units.map((u) => u.cap)).toEqual(['0xd2008c22260206'])
    // DMA remapping off: `check` fails platform.dma-remapping, units.present says the same.
    expect(outcome(r, 'units.present')).toBe('fail')
    expect(r.lint.find((x) => x.id === 'units.present')?.summary).toContain('not active')
  })

  it('falls back to the boot lines of the kernel log when sysfs has no units', async () => {
    const root = scratchDir('vtd-units-')
    copyFileSync(path.join(realData, 'pci/x299-taichi-xe-i9-7920x-dmesg.txt'), path.join(root, 'dmesg.txt'))
    // A captured sysfs without /sys/class/iommu (a snapshot of only dmesg.txt is "could not tell": log-only-snapshot.test.ts).
    mkdirSync(path.join(root, 'sys/class'), {recursive: true})
    const r = await run(['--root', root, '--json'])
    expect(r.origin).toBe('kernel log')
    expect(outcome(r, 'units.present')).toBe('fail')
    expect(r.units.map((u) => u.registerBase)).toEqual(['0xb5ffc000', '0xd8ffc000', '0xfbffc000', '0x92ffc000'])
    expect(outcome(r, 'units.consistency')).toBe('pass')
  })

  it('human output: a table of units, then the lint', async () => {
    await run(['--root', path.join(fixturesDir, 'lab-iommu-on')])
    expect(output.stdout).toContain('dmar0')
    expect(output.stdout).toContain('SAGAW 39 MGAW 39')
    expect(output.stdout).toContain('Lint: no findings (6 pass · 0 warn · 0 fail · 0 unknown · 1 not applicable)')
  })
})
