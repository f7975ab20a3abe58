/**
 * `vtd-check diff` on real-kernel lab pairs that differ by one thing: the verdict it reaches,
 * the exit code CI gates on, and that each change names its cause.
 */
import {readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Diff from '../commands/diff.js'
import {diffHosts, type HostDiff} from '../src/compare/diff.js'
import {factsAt} from './support/facts.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const output = captureCommandOutput()
const snap = (name: string) => path.join(fixturesDir, name)
const run = async (args: string[]): Promise<{diff: HostDiff; exitCode: number | undefined}> => {
  const diff = (await Diff.run(args, repoRoot)) as HostDiff
  return {diff, exitCode: typeof process.exitCode === 'number' ? process.exitCode : undefined}
}

describe('diff: a snapshot against itself', () => {
  const snapshots = readdirSync(fixturesDir).filter((n) => !n.startsWith('.')).sort()
  it.each(snapshots)('%s: unchanged, exit 0', async (name) => {
    const facts = await factsAt(snap(name))
    const diff = diffHosts(facts, facts)
    expect(diff.changes).toEqual([])
    expect(diff.result).toBe('unchanged')
    expect(diff.exitCode).toBe(0)
  })
})

describe('diff: lab-iommu-on → lab-iommu-off (intel_iommu=off added)', () => {
  it('regressed, exit 1, and says why through the command', async () => {
    const {diff, exitCode} = await run([snap('lab-iommu-on'), snap('lab-iommu-off')])
    expect(exitCode).toBe(1)
    expect(diff.result).toBe('regressed')
    const regressions = diff.changes.filter((c) => c.impact === 'regression')
    const iommu = regressions.find((c) => c.area === 'iommu')
    expect(iommu?.before).toBe('yes')
    expect(iommu?.after).toBe('no')
    expect(iommu?.why).toEqual(['kernel parameter (absent) → intel_iommu=off'])
    // Every device the kernel had grouped is now outside any group.
    const lost = regressions.find((c) => c.area === 'group')
    expect(lost?.text).toMatch(/^9 device\(s\) no longer in any IOMMU group/)
    expect(lost?.text).toContain('0000:01:00.0')
    // With the IOMMU off the kernel never enables ACS on the root ports.
    expect(regressions.filter((c) => c.area === 'acs').map((c) => c.subject)).toEqual(['0000:00:1c.0', '0000:00:1c.1'])
    expect(regressions.find((c) => c.area === 'check')?.subject).toBe('platform.dma-remapping')
    expect(diff.changes.find((c) => c.area === 'kernel-parameter')).toMatchObject({subject: 'intel_iommu', after: 'intel_iommu=off'})
    expect(output.stdout).toContain('vtd-check diff: REGRESSED')
    expect(output.stdout).toContain('why: kernel parameter (absent) → intel_iommu=off')
  })

  it('the reverse direction is an improvement, exit 0', async () => {
    const {diff, exitCode} = await run([snap('lab-iommu-off'), snap('lab-iommu-on')])
    expect(diff.result).toBe('improved')
    expect(exitCode).toBe(0)
    expect(diff.changes.find((c) => c.area === 'group')?.text).toMatch(/^9 device\(s\) now in an IOMMU group/)
  })

  it('--json prints the same document with schemaVersion', async () => {
    await run([snap('lab-iommu-on'), snap('lab-iommu-off'), '--json'])
    const parsed = JSON.parse(output.stdout) as HostDiff
    expect(parsed.schemaVersion).toBe(1)
    expect(parsed.exitCode).toBe(1)
    expect(parsed.changes.some((c) => c.area === 'iommu' && c.impact === 'regression')).toBe(true)
  })
})

describe('diff: lab-iommu-on → lab-acs-off (root ports lose their ACS capability)', () => {
  it('names the merged group and the ports without ACS as the cause', async () => {
    const {diff, exitCode} = await run([snap('lab-iommu-on'), snap('lab-acs-off')])
    expect(exitCode).toBe(1)
    const merged = diff.changes.find((c) => c.area === 'group')
    expect(merged?.impact).toBe('regression')
    expect(merged?.text).toBe('groups merged: 0000:00:1c.0, 0000:00:1c.1, 0000:01:00.0, 0000:02:00.0 were in groups 2, 3, 5, 6, now all in group 2')
    expect(merged?.why).toContain('now not isolating: 0000:00:1c.0 (no ACS capability)')
    expect(merged?.why.some((w) => w.startsWith('0000:00:1c.1 ACS: cap SV TB RR CR UF DT / ctl SV RR CR UF → no ACS capability'))).toBe(true)
    // Only the ACS capability differs: same kernel, same parameters.
    expect(diff.changes.filter((c) => c.area === 'kernel' || c.area === 'kernel-parameter')).toEqual([])
  })

  it('the reverse is a split: an improvement, exit 0, blaming what used to merge them', async () => {
    const {diff, exitCode} = await run([snap('lab-acs-off'), snap('lab-iommu-on')])
    expect(exitCode).toBe(0)
    const split = diff.changes.find((c) => c.area === 'group')
    expect(split?.impact).toBe('improvement')
    expect(split?.why).toContain('was not isolating: 0000:00:1c.1 (no ACS capability)')
  })
})

describe('diff: kernel-parameter pairs on one topology', () => {
  it('iommu=pt: the identity default domain is a regression, caused by iommu=pt', async () => {
    const diff = diffHosts(await factsAt(snap('lab-iommu-on')), await factsAt(snap('lab-passthrough')))
    const domain = diff.changes.find((c) => c.area === 'default-domain')
    expect(domain).toMatchObject({impact: 'regression', before: 'DMA-FQ', after: 'identity', why: ['kernel parameter (absent) → iommu=pt']})
    expect(diff.exitCode).toBe(1)
  })

  it('iommu.strict=1: DMA-FQ → DMA is a change, not a regression', async () => {
    const diff = diffHosts(await factsAt(snap('lab-iommu-on')), await factsAt(snap('lab-strict-domains')))
    expect(diff.changes.find((c) => c.area === 'default-domain')).toMatchObject({impact: 'change', before: 'DMA-FQ', after: 'DMA'})
    expect(diff.changes.some((c) => c.impact === 'regression')).toBe(false)
  })
})

describe('diff: kernel grouping rules that come with a kernel version', () => {
  it('a move into 5.9 names the PCH ACS quirk regression as a rule change, and out of it again', async () => {
    const before = await factsAt(snap('lab-pch-acs-less-root-ports'))
    // The same host as it would be described under 5.9 (facts only: the rule list is what the replay reports for that version).
    const after = {...before, host: {...before.host, kernel: '5.9.16'}, groupingRules: ['pch-acs-enable-skipped']}
    const diff = diffHosts(before, after)
    const rule = diff.changes.find((c) => c.area === 'grouping-rule')
    expect(rule?.text).toMatch(/^kernel grouping rule now applies: Linux 5\.9 .*PCH ACS enable-quirk/)
    expect(rule?.why).toEqual(['kernel 6.1.0-56-amd64 → 5.9.16'])
    expect(diffHosts(after, before).changes.find((c) => c.area === 'grouping-rule')?.text).toMatch(/^kernel grouping rule no longer applies/)
  })
})

describe('diff: could not tell', () => {
  it('root snapshot → non-root snapshot of the same VM: unknown (exit 3), not a regression', async () => {
    const diff = diffHosts(await factsAt(snap('dev-vm-no-iommu')), await factsAt(snap('dev-vm-no-iommu-nonroot')))
    // Without root, config space past 64 bytes (ACS) and the kernel log cannot be read.
    expect(diff.changes.find((c) => c.area === 'readability')?.text).toBe('kernel log readable: yes → no')
    expect(diff.changes.filter((c) => c.area === 'acs').map((c) => c.after)).toEqual(Array(5).fill('unreadable'))
    expect(diff.changes.every((c) => c.impact === 'unknown')).toBe(true)
    expect(diff.result).toBe('unknown')
    expect(diff.exitCode).toBe(3)
  })
})

describe('diff: usage', () => {
  it('a directory that is not a snapshot is a usage error (exit 2)', async () => {
    await expect(Diff.run([snap('lab-iommu-on'), path.join(repoRoot, 'src')], repoRoot)).rejects.toMatchObject({oclif: {exit: 2}})
  })
})

describe('diff: a snapshot against the live host', () => {
  it('NEW defaults to this host', async () => {
    const {diff, exitCode} = await run([snap('dev-vm-no-iommu')])
    expect(diff.new.root).toBe('/')
    expect(diff.old.root).toBe(snap('dev-vm-no-iommu'))
    expect(exitCode).toBe(diff.exitCode)
    expect([0, 1, 3]).toContain(diff.exitCode)
  })
})
