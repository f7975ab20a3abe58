/** `vtd-check fleet` over every committed snapshot: one row each, group signatures, drift between hosts of the same hardware. */
import {readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Fleet from '../commands/fleet.js'
import {summariseFleet, type FleetSummary} from '../src/compare/fleet.js'
import {factsAt} from './support/facts.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const output = captureCommandOutput()
const snap = (name: string) => path.join(fixturesDir, name)
const snapshots = readdirSync(fixturesDir).filter((n) => !n.startsWith('.')).sort()

describe('fleet over sysfs-fixtures/', () => {
  it('summarises every committed snapshot, one host each', async () => {
    const summary = (await Fleet.run([fixturesDir, '--json'], repoRoot)) as FleetSummary
    expect(summary.schemaVersion).toBe(1)
    expect(summary.hosts.map((h) => path.basename(h.root))).toEqual(snapshots)
    const byDir = new Map(summary.hosts.map((h) => [path.basename(h.root), h]))
    expect(byDir.get('lab-iommu-off')).toMatchObject({verdict: 'fail', failing: ['platform.dma-remapping', 'platform.kernel-parameters'], groups: 0, groupsSignature: 'no-groups'})
    expect(byDir.get('lab-intremap-off')?.failing).toEqual(['interrupts.remapping'])
    expect(byDir.get('lab-acs-off')).toMatchObject({groups: 4, sharedGroups: 1})
    // The kernel numbers groups differently per boot; the signature only sees which devices share.
    expect(byDir.get('lab-passthrough')?.groupsSignature).toBe(byDir.get('lab-iommu-on')?.groupsSignature)
    expect(byDir.get('lab-acs-off')?.groupsSignature).not.toBe(byDir.get('lab-iommu-on')?.groupsSignature)
    expect(JSON.parse(output.stdout)).toEqual(JSON.parse(JSON.stringify(summary)))
  })

  it('flags drift on the reference topology: same model and PCI inventory, different groups and verdicts', async () => {
    const summary = (await Fleet.run([fixturesDir, '--json'], repoRoot)) as FleetSummary
    const reference = summary.hosts.find((h) => h.root.endsWith('lab-iommu-on'))
    const drift = summary.drift.find((d) => d.hardware === reference?.hardware)
    expect(drift?.model).toBe('QEMU Standard PC (Q35 + ICH9, 2009)')
    // iommu-on, iommu-off, acs-off, passthrough, strict-domains boot the same machine with one thing changed.
    expect(drift?.hosts.length).toBe(5)
    expect(drift?.verdicts).toEqual(['fail', 'warn'])
    expect(drift?.groupsSignatures.length).toBe(3)
    // The reference is the most common layout and verdict (iommu-on, passthrough, strict-domains agree); the others drift from it.
    expect(drift?.reference).toBe('lab-iommu-on')
    const acsOff = summary.hosts.find((h) => h.root.endsWith('lab-acs-off'))
    expect(acsOff?.drift).toEqual(['groups differ from lab-iommu-on (same hardware)'])
    expect(acsOff?.driftChanges).toContain('worse than lab-iommu-on: groups merged: 0000:00:1c.0, 0000:00:1c.1, 0000:01:00.0, 0000:02:00.0 were in groups 2, 3, 5, 6, now all in group 2')
    const iommuOff = summary.hosts.find((h) => h.root.endsWith('lab-iommu-off'))
    expect(iommuOff?.drift).toEqual(['groups differ from lab-iommu-on (same hardware)', 'verdict fail where lab-iommu-on has warn (same hardware)'])
    expect(iommuOff?.driftChanges).toContain('worse than lab-iommu-on: DMA remapping active: yes → no')
    expect(summary.hosts.find((h) => h.root.endsWith('lab-strict-domains'))?.drift).toBeUndefined()
    // Hardware seen once cannot drift.
    expect(summary.hosts.find((h) => h.root.endsWith('lab-switch'))?.drift).toBeUndefined()
    expect(summary.exitCode).toBe(1)
  })

  it('hosts of one hardware that agree do not drift; exit follows the worst verdict', async () => {
    const same = await factsAt(snap('lab-iommu-on'))
    const summary = summariseFleet([same, {...same, host: {...same.host, name: 'twin'}}])
    expect(summary.drift).toEqual([])
    expect(summary.hosts.map((h) => h.name)).toEqual(['vtd-lab', 'twin'])
    expect(summary.exitCode).toBe(0)
  })

  it('prints a table naming each snapshot and the drift', async () => {
    await Fleet.run([snap('lab-iommu-on'), snap('lab-iommu-off')], repoRoot)
    expect(output.stdout).toContain('lab-iommu-on')
    expect(output.stdout).toMatch(/DRIFT on hardware [0-9a-f]{12} \(QEMU Standard PC \(Q35 \+ ICH9, 2009\)\): 2 hosts, 2 group layout\(s\)/)
    expect(output.stdout).toContain('worse than lab-iommu-on: DMA remapping active: yes → no')
    expect(process.exitCode).toBe(1)
  })

  it('a directory without snapshots is a usage error', async () => {
    await expect(Fleet.run([path.join(repoRoot, 'src')], repoRoot)).rejects.toMatchObject({oclif: {exit: 2}})
  })
})
