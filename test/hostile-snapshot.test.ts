/**
 * Hostile snapshots (test/support/hostile.ts) against the guarded reader and against every
 * command: nothing from outside the snapshot reaches stdout, nothing blocks, nothing crashes,
 * and each refusal says why.
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {describe, expect, it} from 'vitest'
import Capture from '../commands/capture.js'
import Check from '../commands/check.js'
import Device from '../commands/device.js'
import Diff from '../commands/diff.js'
import Dmar from '../commands/dmar.js'
import Faults from '../commands/faults.js'
import Fleet from '../commands/fleet.js'
import Groups from '../commands/groups.js'
import Replay from '../commands/replay.js'
import Units from '../commands/units.js'
import {captureScript} from '../src/collect/capture-script.js'
import {RootedHostFs} from '../src/host/fs.js'
import {openRoot} from '../src/host/snapshot.js'
import {streamKernelLog} from '../src/host/log-stream.js'
import {captureCommandOutput, runCommand as runIn, type CommandClass} from './support/command-output.js'
import {BASE_DEVICE, CANARY, HOSTILE_CASES, playground, relativeTo, replaceWithFifo, replaceWithLink, treeState} from './support/hostile.js'
import type {CheckReport} from '../src/report/check.js'
import {fixturesDir} from './support/paths.js'

const output = captureCommandOutput()
const runCommand = (command: CommandClass, argv: string[]) => runIn(output, command, argv)


/** Each command's argv on a hostile snapshot `snap`. */
const COMMANDS: Array<{name: string; command: CommandClass; argv: (snap: string) => string[]}> = [
  {name: 'check', command: Check, argv: (snap) => ['--root', snap]},
  {name: 'groups', command: Groups, argv: (snap) => ['--root', snap]},
  {name: 'device', command: Device, argv: (snap) => [BASE_DEVICE, '--root', snap]},
  {name: 'dmar', command: Dmar, argv: (snap) => ['--root', snap]},
  {name: 'units', command: Units, argv: (snap) => ['--root', snap]},
  {name: 'faults', command: Faults, argv: (snap) => ['--root', snap]},
  {name: 'replay', command: Replay, argv: (snap) => ['--device', BASE_DEVICE, '--address', '0x1000', '--root', snap]},
  // the two commands that take snapshots as arguments: the hostile one against a clean one, and a fleet of both
  {name: 'diff', command: Diff, argv: (snap) => [path.join(fixturesDir, 'lab-dma-faults'), snap]},
  {name: 'fleet', command: Fleet, argv: (snap) => [snap, path.join(fixturesDir, 'lab-dma-faults')]},
]


describe('the guarded reader refuses what leaves the snapshot, blocks, or is too large', () => {
  for (const hostile of HOSTILE_CASES.filter((c) => c.refused.length > 0)) {
    it(hostile.name, () => {
      const p = playground()
      hostile.build(p)
      const host = openRoot(p.snap)
      for (const {path: at, kind, because} of hostile.refused) {
        const read = kind === 'bytes' ? host.readBytes(at) : kind === 'link' ? host.readLink(at) : host.listDir(at)
        expect(read, at).toMatchObject({ok: false, reason: 'unreadable'})
        expect(read.ok ? '' : read.message, at).toMatch(because)
      }
    })
  }

  it('still follows the links sysfs itself has, when they stay inside the snapshot', () => {
    const p = playground()
    const host = openRoot(p.snap)
    expect(host.realPath(`/sys/bus/pci/devices/${BASE_DEVICE}`)).toMatchObject({ok: true, value: `/sys/devices/pci0000:00/${BASE_DEVICE}`})
    expect(host.readLink(`/sys/bus/pci/devices/${BASE_DEVICE}/iommu_group`)).toMatchObject({ok: true, value: '../../../kernel/iommu_groups/1'})
    expect(host.readText(`/sys/bus/pci/devices/${BASE_DEVICE}/iommu_group/type`)).toMatchObject({ok: true, value: 'DMA-FQ\n'})
    expect(host.listDir(`/sys/bus/pci/devices/${BASE_DEVICE}/iommu_group/devices`)).toMatchObject({ok: true, value: [BASE_DEVICE]})
    expect(host.readText('/sys/class/iommu/dmar0/intel-iommu/version')).toMatchObject({ok: true, value: '1:0\n'})
    expect(host.readBytes(`/sys/bus/pci/devices/${BASE_DEVICE}/config`)).toMatchObject({ok: true, value: expect.objectContaining({length: 256})})
  })

  it('follows a chain of links that stays inside, and tells absent from refused', () => {
    const p = playground()
    fs.symlinkSync('type', path.join(p.snap, 'sys/kernel/iommu_groups/0/alias1'))
    fs.symlinkSync('alias1', path.join(p.snap, 'sys/kernel/iommu_groups/0/alias2'))
    fs.symlinkSync('alias3', path.join(p.snap, 'sys/kernel/iommu_groups/0/alias3'))
    const host = openRoot(p.snap)
    expect(host.readText('/sys/kernel/iommu_groups/0/alias2')).toMatchObject({ok: true, value: 'DMA-FQ\n'})
    expect(host.readText('/sys/kernel/iommu_groups/0/alias3')).toMatchObject({ok: false, reason: 'unreadable'})
    expect(host.readText('/sys/kernel/iommu_groups/0/nothing')).toMatchObject({ok: false, reason: 'absent'})
    expect(host.readText('/../../../../etc/passwd')).toMatchObject({ok: false, reason: 'absent'})
  })

  it('on the live root, a device node is not a regular file: /dev/zero is refused, not read forever', () => {
    expect(new RootedHostFs('/').readBytes('/dev/zero')).toMatchObject({ok: false, reason: 'unreadable', message: expect.stringMatching(/not a regular file/)})
  })

  it('streams a snapshot log only when it is a regular file inside the snapshot', async () => {
    for (const hostile of HOSTILE_CASES.filter((c) => c.refused.some((r) => r.path === '/dmesg.txt' && !/larger/.test(r.because.source)))) {
      const p = playground()
      hostile.build(p)
      const lines: string[] = []
      const outcome = await streamKernelLog(openRoot(p.snap), {}, (line) => lines.push(line))
      expect(outcome, hostile.name).toMatchObject({ok: false, reason: 'unreadable', origin: 'snapshot'})
      expect(lines).toEqual([])
    }
  })
})

describe('every command on every hostile snapshot: no leak, no hang, no crash', () => {
  for (const hostile of HOSTILE_CASES) {
    it(hostile.name, async () => {
      const p = playground()
      hostile.build(p)
      const before = treeState(p.dir)
      for (const {name, command, argv} of COMMANDS) {
        const exits: number[] = []
        for (const json of [false, true]) {
          const {stdout, exit} = await runCommand(command, [...argv(p.snap), ...(json ? ['--json'] : [])])
          const label = `${name}${json ? ' --json' : ''}`
          exits.push(exit)
          expect(stdout, label).not.toContain(CANARY)
          expect([0, 1, 2, 3], label).toContain(exit)
          if (json && stdout.trim() !== '') expect(() => JSON.parse(stdout), label).not.toThrow()
          // Text reaches a terminal: no control sequence from the snapshot survives, only our colours.
          // eslint-disable-next-line no-control-regex
          if (!json) expect(stdout.replace(/\x1b\[[0-9;]*m/g, ''), label).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/)
        }
        expect(exits[1], `${name}: --json exits as the text run does`).toBe(exits[0])
      }
      // Reading never writes: the snapshot and the outside are as they were.
      expect(treeState(p.dir)).toEqual(before)
    })
  }

  it('a capture of a hostile snapshot holds none of the outside and writes only inside --out', async () => {
    for (const hostile of HOSTILE_CASES) {
      const p = playground()
      hostile.build(p)
      const before = treeState(p.dir)
      const out = path.join(p.dir, 'out')
      await runCommand(Capture, ['--root', p.snap, '--out', out, '--json'])
      const after = treeState(p.dir)
      for (const [file, content] of after) {
        if (file.startsWith(out + path.sep)) expect(content, `${hostile.name}: ${file}`).not.toContain(CANARY)
        else expect(content, `${hostile.name}: ${file} changed`).toBe(before.get(file))
      }
    }
  })
})

describe('a refused file is reported as refused, with its reason, never as a matter of root', () => {
  it('check (text and JSON) and dmar name what was refused and why; no "needs root", no "captured without root"', async () => {
    // A root capture (meta.json uid 0) with a link out as /proc/cmdline and dmesg.txt, and FIFOs as the DMAR table and a config.
    const p = playground()
    replaceWithLink(p, 'proc/cmdline', relativeTo(p, 'proc/cmdline', p.canary))
    replaceWithLink(p, 'dmesg.txt', p.canary)
    replaceWithFifo(p, 'sys/firmware/acpi/tables/DMAR')
    replaceWithFifo(p, 'sys/devices/pci0000:00/0000:00:03.0/config')
    const json = await runCommand(Check, ['--root', p.snap, '--json'])
    const report = JSON.parse(json.stdout) as CheckReport
    expect(json.exit).toBe(3)
    expect(report.refused).toEqual([
      {path: '/dmesg.txt', why: 'points outside the snapshot'},
      {path: '/proc/cmdline', why: 'points outside the snapshot'},
      {path: '/sys/bus/pci/devices/0000:00:03.0/config', why: 'not a regular file'},
      {path: '/sys/firmware/acpi/tables/DMAR', why: 'not a regular file'},
    ])
    expect(report.unreadable).toEqual([])
    expect(report.verdict.headline).toMatch(/were refused, not read/)
    const advice = report.results.filter((r) => r.outcome === 'unknown').flatMap((r) => [r.summary, ...r.remediation]).join('\n')
    expect(advice).not.toMatch(/needs root|as root|run as root|sudo vtd-check\b(?! capture)/)
    expect(advice).toMatch(/vtd-check does not read \/sys\/firmware\/acpi\/tables\/DMAR \(not a regular file\)/)

    const text = await runCommand(Check, ['--root', p.snap])
    expect(text.exit).toBe(3)
    expect(text.stdout).toMatch(/^Refused, not read \(a damaged or tampered snapshot\): \/dmesg\.txt \(points outside the snapshot\), \/proc\/cmdline \(points outside the snapshot\)/m)
    expect(text.stdout).not.toMatch(/Not readable when this snapshot was captured|refused it even to root|needs root/)

    const faults = JSON.parse((await runCommand(Faults, ['--root', p.snap, '--json'])).stdout) as {error: {exitCode: number; suggestions: string[]}}
    expect(faults.error.exitCode).toBe(3)
    expect(faults.error.suggestions.join()).toMatch(/dmesg\.txt was refused \(points outside the snapshot\)/)
    expect(faults.error.suggestions.join()).not.toMatch(/as root/)

    const dmar = await runCommand(Dmar, ['--root', p.snap, '--json'])
    expect(dmar.exit).toBe(3)
    expect(JSON.parse(dmar.stdout).error.message).toBe('the DMAR table in this snapshot was refused, not read: /sys/firmware/acpi/tables/DMAR (not a regular file)')
  })
})

describe('capture writes only inside --out, into a new or empty directory', () => {
  it('refuses a non-empty target, a planted link and a link as --out, changing nothing', async () => {
    const p = playground()
    const planted = path.join(p.dir, 'planted')
    fs.mkdirSync(planted)
    fs.symlinkSync(p.canary, path.join(planted, 'dmesg.txt'))
    fs.symlinkSync(p.outside, path.join(p.dir, 'out-link'))
    const before = treeState(p.dir)
    for (const out of [planted, path.join(p.dir, 'out-link'), p.snap]) {
      const {exit} = await runCommand(Capture, ['--root', p.snap, '--out', out])
      expect(exit, out).toBe(2)
    }
    expect(treeState(p.dir)).toEqual(before)
    expect(fs.readdirSync(p.dir).filter((name) => name.startsWith('.vtd-capture-'))).toEqual([])
  })

  it('a second capture into the same directory is refused: a snapshot never mixes two hosts', async () => {
    const p = playground()
    const out = path.join(p.dir, 'out')
    expect((await runCommand(Capture, ['--root', p.snap, '--out', out])).exit).toBe(0)
    const first = treeState(out)
    expect((await runCommand(Capture, ['--root', p.snap, '--out', out])).exit).toBe(2)
    expect(treeState(out)).toEqual(first)
  })

  it('the sh script refuses a non-empty target and escapes the hostname in meta.json', () => {
    const p = playground()
    const script = path.join(p.dir, 'capture.sh')
    fs.writeFileSync(script, captureScript('test'))
    const bin = path.join(p.dir, 'bin')
    fs.mkdirSync(bin)
    fs.writeFileSync(path.join(bin, 'hostname'), '#!/bin/sh\nprintf \'%s\\n\' \'evil"host\\name\x1b]0;t\x07\'\n', {mode: 0o755})
    const env = {...process.env, VTD_CAPTURE_SRC: p.snap, PATH: `${bin}:${process.env.PATH ?? ''}`}
    fs.rmSync(path.join(p.snap, 'dmesg.txt'))
    const out = path.join(p.dir, 'out')
    execFileSync('sh', [script, out], {env, stdio: 'pipe'})
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8')) as {hostname: string; unreadable: string[]}
    expect(meta.hostname).toBe('evil"host\\name]0;t')
    expect(meta.unreadable).toEqual(['/dmesg.txt'])
    const before = treeState(out)
    expect(() => execFileSync('sh', [script, out], {env, stdio: 'pipe'})).toThrow(/not empty/)
    expect(treeState(out)).toEqual(before)
  })
})
