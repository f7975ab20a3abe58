/**
 * Regression tests for the defects listed in issue 12 that are not covered by the agreement test
 * (test/commands-agree.test.ts) or the binary contract test (test/cli-contract.test.ts).
 */
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Device from '../commands/device.js'
import Groups from '../commands/groups.js'
import type {GroupingReport, WhyReport} from '../src/report/groups.js'
import type {PciTreeView} from '../src/report/pci-tree.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const output = captureCommandOutput()
const lab = (name: string): string => path.join(fixturesDir, name)
const usageExit = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'no error', (error: {oclif?: {exit?: number}; message: string}) => [error.oclif?.exit, error.message])

describe('groups', () => {
  it('--why BDF --json returns the why-report, not the whole listing', async () => {
    const why = (await Groups.run(['--root', lab('lab-pch-acs-less-root-ports'), '--why', '01:00.0', '--json'], repoRoot)) as WhyReport
    expect(why).toMatchObject({schemaVersion: 1, tool: 'vtd-check', bdf: '0000:01:00.0', member: {bdf: '0000:01:00.0'}})
    expect(why.group?.devices).toContain('0000:01:00.0')
    expect((why as unknown as GroupingReport).groups).toBeUndefined()
  })

  it('bad values are usage errors (exit 2): --kernel-version banana, --why garbage, --table --tree', async () => {
    const root = lab('lab-iommu-on')
    expect(await usageExit(Groups.run(['--root', root, '--kernel-version', 'banana'], repoRoot))).toEqual([2, expect.stringContaining('not a kernel version')])
    expect(await usageExit(Groups.run(['--root', root, '--why', 'garbage'], repoRoot))).toEqual([2, expect.stringContaining('not a PCI address')])
    expect(await usageExit(Groups.run(['--root', root, '--table', '--tree'], repoRoot))).toEqual([2, expect.stringContaining('cannot also be provided')])
  })

  it('--acs-override is a what-if: no MISMATCH against its own hypothesis, and ACS-less ports are not "slots whose whole path has ACS"', async () => {
    const root = lab('lab-pch-acs-less-root-ports')
    const report = (await Groups.run(['--root', root, '--acs-override', 'downstream,multifunction', '--json'], repoRoot)) as GroupingReport
    expect(report.crossCheck?.mismatches ?? []).toEqual([])
    expect(process.exitCode).toBe(0)
    // The PCH-like root ports 00:1c.x have no ACS: no slot below them isolates for real.
    expect(report.isolatingSlots.map((s) => s.port).filter((port) => port.startsWith('0000:00:1c.'))).toEqual([])
    // The what-if itself still splits groups (it is reported, marked as such).
    expect(report.groups.some((g) => g.splitByAcsOverride)).toBe(true)
  })

  it('group listings carry [vendor:device] ids, and --lines prints one grep-able line per device', async () => {
    const root = lab('lab-iommu-on')
    const report = (await Groups.run(['--root', root, '--json'], repoRoot)) as GroupingReport
    expect(report.groups.flatMap((g) => g.members).every((m) => /^[0-9a-f]{4}:[0-9a-f]{4}$/.test(m.ids ?? ''))).toBe(true)
    await Groups.run(['--root', root, '--lines'], repoRoot)
    const lines = output.stdout.trim().split('\n').filter((l) => l.startsWith('group '))
    expect(lines.length).toBe(report.groups.flatMap((g) => g.members).length)
    for (const line of lines) expect(line).toMatch(/^group \d+ [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] \[[0-9a-f]{4}:[0-9a-f]{4}\] \S+ \S+ .+$/)
  })
})

describe('device', () => {
  it('--tree --json carries schemaVersion and tool', async () => {
    const view = (await Device.run(['--tree', '--root', lab('lab-switch'), '--json'], repoRoot)) as PciTreeView
    expect(view).toMatchObject({schemaVersion: expect.any(Number), tool: 'vtd-check'})
  })
})

describe('check', () => {
  it('intel_iommu=off fails platform.kernel-parameters, and the header does not call the IOMMU just "intel"', async () => {
    const {default: Check} = await import('../commands/check.js')
    const report = (await Check.run(['--root', lab('lab-iommu-off'), '--json'], repoRoot)) as import('../src/report/check.js').CheckReport
    expect(report.results.find((r) => r.id === 'platform.kernel-parameters')?.outcome).toBe('fail')
    expect(report.host).toMatchObject({iommu: 'intel', iommuFamily: 'intel-vtd', iommuActive: false})
    await Check.run(['--root', lab('lab-iommu-off')], repoRoot)
    expect(output.stdout).toContain('IOMMU intel-vtd (Intel VT-d) present, DMA remapping off')
    expect(output.stdout).not.toMatch(/IOMMU intel-vtd \(Intel VT-d\) ·/)
  })
})

describe('--lspci-dump', () => {
  it('is offered by exactly the commands that read PCI devices from it, and those name the dump as their source', async () => {
    const {readFileSync} = await import('node:fs')
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}
    const offering = Object.entries(manifest.commands).filter(([, c]) => 'lspci-dump' in c.flags).map(([name]) => name).sort()
    expect(offering).toEqual(['device', 'dmar', 'faults', 'groups'])
    const dump = path.join(repoRoot, 'test/fixtures/real/pci/acer-extensa-5630-gm45-lspci-xxxx.txt')
    const groups = (await Groups.run(['--lspci-dump', dump, '--json'], repoRoot)) as GroupingReport
    expect(groups.source).toBe(dump)
    const tree = (await Device.run(['--tree', '--lspci-dump', dump, '--json'], repoRoot)) as PciTreeView
    expect(tree.source).toBe(dump)
  })
})
