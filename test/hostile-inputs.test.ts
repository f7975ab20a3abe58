/**
 * Untrusted input through the commands (issue 16): logs saved as UTF-16/UTF-32 with a BOM (or
 * UTF-16 without one) are read, not "no faults"; and with --json every command ends with the exit code it ends with in
 * text, on every error path (a CI job tells a usage error, 2, from NOT READY, 1, and "could not
 * tell", 3).
 */
import * as nodeFs from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Faults from '../commands/faults.js'
import {captureCommandOutput, runCommand as runIn, type CommandClass} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const output = captureCommandOutput()
const runCommand = (command: CommandClass, argv: string[]) => runIn(output, command, argv)


describe('faults: UTF-16 and UTF-32 logs (with a BOM, or UTF-16 without) are read, not "no faults"', () => {
  const text = [
    '[    0.100000] DMAR: Intel(R) Virtualization Technology for Directed I/O',
    '[   12.000000] DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set',
    '[   12.500000] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x2000 [fault reason 0x05] PTE Write access is not set',
    '',
  ].join('\n')
  const utf16le = Buffer.from('\ufeff' + text, 'utf16le')
  const swap16 = (b: Buffer) => Buffer.from(b).swap16()
  const utf32 = (littleEndian: boolean) => {
    const points = [...('\ufeff' + text)].map((c) => c.codePointAt(0)!)
    const out = Buffer.alloc(points.length * 4)
    points.forEach((p, i) => (littleEndian ? out.writeUInt32LE(p, i * 4) : out.writeUInt32BE(p, i * 4)))
    return out
  }
  const encodings: Array<[string, Buffer, number[]]> = [
    ['UTF-16LE', utf16le, [0xff, 0xfe]],
    ['UTF-16BE', swap16(utf16le), [0xfe, 0xff]],
    ['UTF-32LE', utf32(true), [0xff, 0xfe, 0, 0]],
    ['UTF-32BE', utf32(false), [0, 0, 0xfe, 0xff]],
    // Without a BOM: told by the zero byte after (LE) or before (BE) each ASCII character.
    ['UTF-16LE without a BOM', utf16le.subarray(2), [0x5b, 0, 0x20, 0]],
    ['UTF-16BE without a BOM', swap16(utf16le).subarray(2), [0, 0x5b, 0, 0x20]],
  ]

  for (const [name, bytes, bom] of encodings) {
    it(`${name}: both faults, their requester and reasons`, async () => {
      expect([...bytes.subarray(0, bom.length)]).toEqual(bom)
      const file = path.join(scratchDir('vtd-utf-log-'), `dmesg-${name}.txt`)
      nodeFs.writeFileSync(file, bytes)
      const {stdout, exit} = await runCommand(Faults as unknown as CommandClass, [file, '--json'])
      const report = JSON.parse(stdout) as {summary: {faultRecords: number}; faults: Array<{requester: string; reason: number; count: number}>}
      expect(report.summary.faultRecords).toBe(2)
      expect(report.faults.map((f) => [f.requester, f.reason, f.count]).sort()).toEqual([['0000:00:03.0', 5, 1], ['0000:00:03.0', 6, 1]])
      expect(exit).toBe(1)
    })
  }
})

describe('--json keeps the exit code of the text run, for every command on every error path', () => {
  const names = nodeFs.readdirSync(path.join(repoRoot, 'commands')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort()
  const snapshot = path.join(fixturesDir, 'lab-dma-faults')
  /** A snapshot without a DMAR table (could not tell, for dmar) and without an IVRS (ivrs). */
  const noTables = (): string => {
    const dir = path.join(scratchDir('vtd-notables-'), 'snap')
    nodeFs.cpSync(snapshot, dir, {recursive: true, verbatimSymlinks: true})
    nodeFs.rmSync(path.join(dir, 'sys/firmware/acpi/tables'), {recursive: true, force: true})
    return dir
  }
  /** What each command needs to get past its required arguments (so the error kind is the one tested). */
  const required: Record<string, string[]> = {
    device: ['0000:00:03.0'],
    replay: ['--device', '0000:00:03.0', '--address', '0x1000'],
    capture: ['--out', '/nonexistent-parent/vtd-out'],
    diff: [snapshot, snapshot],
    fleet: [snapshot],
  }
  const ERRORS: Array<{kind: string; argv: (name: string) => string[] | undefined; exit?: number}> = [
    {kind: 'an unknown flag', argv: (n) => [...(required[n] ?? []), '--bogus'], exit: 2},
    {kind: 'an unexpected argument', argv: (n) => (['fleet', 'help'].includes(n) ? undefined : [...(required[n] ?? []), 'extra-1', 'extra-2', 'extra-3']), exit: 2},
    {kind: '--root that does not exist', argv: (n) => (['help', 'version'].includes(n) ? undefined : [...(required[n] ?? []), '--root', '/nonexistent/vtd-snap']), exit: 2},
    {kind: '--root that is not a snapshot', argv: (n) => (['help', 'version'].includes(n) ? undefined : [...(required[n] ?? []), '--root', scratchDir('vtd-notsnap-')]), exit: 2},
    {kind: 'a required argument missing', argv: (n) => (required[n] && n !== 'capture' ? [] : undefined), exit: 2},
    {kind: 'a bad value', argv: (n) => ({device: ['nonsense', '--root', snapshot], replay: ['--device', 'nonsense', '--address', '0x1000', '--root', snapshot], faults: ['--since', 'yesterday-ish', '--root', snapshot], dmar: ['--file', '/nonexistent/dmar.dat']}[n]), exit: 2},
    {kind: 'could not tell (no table in the snapshot)', argv: (n) => (['dmar', 'ivrs'].includes(n) ? ['--root', noTables()] : undefined)},
  ]

  for (const name of names) {
    it(name, async () => {
      const command = (await import(/* @vite-ignore */ path.join(repoRoot, 'commands', `${name}.ts`))).default as CommandClass
      let tried = 0
      for (const error of ERRORS) {
        const argv = error.argv(name)
        if (argv === undefined) continue
        tried++
        const text = await runCommand(command, argv)
        const json = await runCommand(command, [...argv, '--json'])
        const label = `${name} ${error.kind}: ${argv.join(' ')}`
        expect(json.exit, label).toBe(text.exit)
        if (error.exit !== undefined) expect(text.exit, label).toBe(error.exit)
        else expect(text.exit, label).toBe(3)
        if (json.stdout.trim() !== '') {
          const body = JSON.parse(json.stdout) as {error?: {exitCode: number}}
          if (body.error !== undefined) expect(body.error.exitCode, label).toBe(json.exit)
        }
      }
      expect(tried).toBeGreaterThan(0)
    })
  }
})
