/**
 * A directory holding only a kernel log (dmesg.txt) is a snapshot for `faults`, but it says
 * nothing of the host's devices, groups or tables: every other command ends "could not tell"
 * (exit 3) naming what is missing — once `check` answered "NOT READY — no IOMMU" (exit 1) and
 * `units` "intel_iommu=off" from the absence of files the snapshot never had. Real log: the
 * lab-dma-faults boot (a VT-d guest with injected DMA faults). In a fleet it stays a row, 'could
 * not tell' (it was a failing host: "no IOMMU").
 */
import {copyFileSync} from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {fixturesDir, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const bin = path.join(repoRoot, 'bin/run.js')
const vtd = async (...args: string[]) => {
  const r = await execa('node', [bin, ...args], {reject: false, env: {NO_COLOR: '1'}})
  return {stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1}
}

function logOnly(): string {
  const dir = scratchDir('vtd-log-only-')
  copyFileSync(path.join(fixturesDir, 'lab-dma-faults', 'dmesg.txt'), path.join(dir, 'dmesg.txt'))
  return dir
}

describe('a snapshot with only dmesg.txt', () => {
  it('check: exit 3, says sys/ and proc/ are missing and points at faults; never a verdict', async () => {
    const dir = logOnly()
    const json = await vtd('check', '--root', dir, '--json')
    expect(json.exitCode).toBe(3)
    const body = JSON.parse(json.stdout) as {error: {kind: string; message: string; suggestions: string[]}}
    expect(body.error.kind).toBe('could-not-tell')
    expect(body.error.message).toBe(`${dir} holds no sys/ or proc/ (a snapshot with only its kernel log or meta.json): the host's devices, IOMMU groups and ACPI tables are not in it`)
    expect(body.error.suggestions).toContain(`\`vtd-check faults ${dir}/dmesg.txt\` explains the faults in its kernel log`)
    const text = await vtd('--root', dir)
    expect(text.exitCode).toBe(3)
    expect(text.stdout).not.toMatch(/READY/)
    expect(text.stderr).toContain('holds no sys/ or proc/')
  })

  it('groups, device, units, dmar, report and diff end the same way', async () => {
    const dir = logOnly()
    const runs = await Promise.all([
      vtd('groups', '--root', dir, '--json'),
      vtd('device', '0000:00:03.0', '--root', dir, '--json'),
      vtd('units', '--root', dir, '--json'),
      vtd('dmar', '--root', dir, '--json'),
      vtd('report', '--html', path.join(dir, 'report.html'), '--root', dir, '--json'),
      vtd('diff', path.join(fixturesDir, 'lab-dma-faults'), dir, '--json'),
    ])
    for (const r of runs) {
      expect(r.exitCode, r.stdout).toBe(3)
      expect(JSON.parse(r.stdout).error.message).toContain('holds no sys/ or proc/')
    }
  })

  it('fleet keeps it as a host it could not tell about (exit 3), never a failing one', async () => {
    const dir = logOnly()
    const json = await vtd('fleet', dir, path.join(fixturesDir, 'lab-switch'), '--json')
    expect(json.exitCode).toBe(3)
    const body = JSON.parse(json.stdout) as {hosts: Array<{root: string; verdict: string; headline: string; failing: string[]}>; exitCode: number}
    const logHost = body.hosts.find((h) => h.root === dir)
    expect(logHost?.verdict).toBe('unknown')
    expect(logHost?.headline).toContain('holds no sys/ or proc/')
    expect(logHost?.failing).toEqual([])
    expect(body.exitCode).toBe(3)
    // A failing host still fails the fleet.
    expect((await vtd('fleet', dir, path.join(fixturesDir, 'lab-iommu-off'), '--json')).exitCode).toBe(1)
  })

  it('faults reads its log, by --root or by the file, alike', async () => {
    const dir = logOnly()
    const [byRoot, byFile] = await Promise.all([vtd('faults', '--root', dir, '--json'), vtd('faults', path.join(dir, 'dmesg.txt'), '--json')])
    expect(byRoot.exitCode).toBe(1)
    expect(byFile.exitCode).toBe(1)
    const faults = (s: string) => (JSON.parse(s) as {faults: unknown[]}).faults
    expect(faults(byRoot.stdout).length).toBeGreaterThan(0)
    // Evidence names the log as it was given ("dmesg.txt:391" in the snapshot, "DIR/dmesg.txt:391").
    expect(faults(byRoot.stdout)).toEqual(faults(byFile.stdout.replaceAll(`"${dir}/dmesg.txt`, '"dmesg.txt')))
  })
})
