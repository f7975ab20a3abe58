/**
 * Every command on every snapshot in sysfs-fixtures/: where two commands state the same fact
 * they read the same model field, so they must say the same thing. Facts compared:
 *  - the DMAR lint tally (`check` platform.dmar-valid vs `dmar`),
 *  - interrupt remapping, x2APIC/EIM and "no IOMMU" (`check` vs `units`, outcome and exit code),
 *  - the number of shared IOMMU groups (`check` isolation.shared-groups vs `groups`),
 *  - each device's reset sentence (`check --device` device.reset vs `device`),
 *  - device kinds (`groups` vs `device --tree`),
 *  - the IOMMU family (`check`, `units`, `groups`, `device`: JSON `iommuFamily` and the text line that names it),
 *  - every JSON names its schemaVersion and tool.
 */
import {readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Check from '../commands/check.js'
import Device from '../commands/device.js'
import Dmar from '../commands/dmar.js'
import Groups from '../commands/groups.js'
import Units from '../commands/units.js'
import {countOutcomes, countsLine, type Outcome} from '../src/checks/outcome.js'
import type {CheckReport} from '../src/report/check.js'
import {renderDeviceReport, type DeviceReport} from '../src/report/device.js'
import type {DmarReport} from '../src/report/dmar.js'
import type {GroupingReport} from '../src/report/groups.js'
import type {PciTreeView} from '../src/report/pci-tree.js'
import {renderUnitsReport, type UnitsReport} from '../src/report/units.js'
import {renderCheckReport} from '../src/report/check.js'
import {renderGroupingTree} from '../src/report/groups.js'
import {iommuFamilyWords} from '../src/report/iommu-family.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'

captureCommandOutput()

const snapshots = readdirSync(fixturesDir).filter((name) => statSync(path.join(fixturesDir, name)).isDirectory()).sort()

interface Ran<T> {
  value?: T
  exitCode: number
}

/** Run a command class as the binary would; a thrown usage/could-not-tell error becomes its exit code. */
async function run<T>(command: {run(argv: string[], opts: string): Promise<unknown>}, argv: string[]): Promise<Ran<T>> {
  process.exitCode = undefined
  try {
    const value = (await command.run(argv, repoRoot)) as T
    return {value, exitCode: Number(process.exitCode ?? 0)}
  } catch (error) {
    const exit = (error as {oclif?: {exit?: number}}).oclif?.exit
    return {exitCode: typeof exit === 'number' ? exit : -1}
  } finally {
    process.exitCode = undefined
  }
}

const result = (report: CheckReport, id: string, subject?: string) => report.results.find((r) => r.id === id && (subject === undefined || r.subject === subject))
const unitLint = (report: UnitsReport, id: string): Outcome | undefined => report.lint.find((r) => r.id === id)?.outcome
const judged = (outcome: Outcome | undefined): outcome is 'pass' | 'warn' | 'fail' => outcome === 'pass' || outcome === 'warn' || outcome === 'fail'

function treeKinds(view: PciTreeView): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (nodes: PciTreeView['roots'][number]['devices']): void => {
    for (const node of nodes) {
      out.set(node.bdf, node.kind)
      walk(node.children)
    }
  }
  for (const root of view.roots) walk(root.devices)
  return out
}

describe('all commands agree on the shared facts of every snapshot', () => {
  it('covers every snapshot in sysfs-fixtures', () => {
    expect(snapshots.length).toBeGreaterThanOrEqual(19)
  })

  for (const name of snapshots) {
    it(name, {timeout: 180_000}, async () => {
      const root = path.join(fixturesDir, name)
      const check = await run<CheckReport>(Check, ['--root', root, '--json'])
      const dmar = await run<DmarReport>(Dmar, ['--root', root, '--json'])
      const units = await run<UnitsReport>(Units, ['--root', root, '--json'])
      const groups = await run<GroupingReport>(Groups, ['--root', root, '--json'])
      const tree = await run<PciTreeView>(Device, ['--tree', '--root', root, '--json'])
      const c = check.value
      const u = units.value
      const g = groups.value
      if (!c || !u || !g || !tree.value) throw new Error(`a command failed on ${name}: check ${check.exitCode}, units ${units.exitCode}, groups ${groups.exitCode}, tree ${tree.exitCode}`)
      for (const json of [c, u, g, dmar.value].filter((x) => x !== undefined)) expect(json).toMatchObject({schemaVersion: expect.any(Number), tool: 'vtd-check'})

      // The IOMMU family: one field of the model, named the same way by every command, in JSON and in text.
      const family = c.host.iommuFamily
      expect(['intel-vtd', 'amd-vi', 'arm-smmu-v3', 'other', 'none']).toContain(family)
      expect(u.iommuFamily).toBe(family)
      expect(g.iommuFamily).toBe(family)
      const words = iommuFamilyWords(family)
      expect(renderCheckReport(c)).toContain(words)
      expect(renderUnitsReport(u, [])).toContain(words)
      expect(renderGroupingTree(g, {color: false})).toContain(words)
      const firstDevice = g.groups[0]?.members[0]?.bdf
      if (firstDevice) {
        const device = await run<DeviceReport>(Device, [firstDevice, '--root', root, '--json'])
        expect(device.value?.iommuFamily).toBe(family)
        if (device.value) expect(renderDeviceReport(device.value)).toContain(words)
      }

      // DMAR lint: one run, one tally.
      const dmarValid = result(c, 'platform.dmar-valid')
      if (dmar.value) {
        const tally = `lint ${countsLine(countOutcomes(dmar.value.lint.map((l) => l.outcome)))}`
        if (judged(dmarValid?.outcome)) expect(dmarValid?.evidence.map((e) => e.fact)).toContain(tally)
      } else {
        expect(dmar.exitCode).toBe(3)
        expect(judged(dmarValid?.outcome)).toBe(false)
      }

      // No IOMMU at all: both fail, both exit 1.
      const remapping = result(c, 'platform.dma-remapping')
      if (c.host.iommu === 'none') {
        expect(remapping?.outcome).toBe('fail')
        expect(unitLint(u, 'units.present')).toBe('fail')
        expect(units.exitCode).toBe(1)
        expect(check.exitCode).toBe(1)
        expect(u.lint.find((r) => r.id === 'units.present')?.summary).toBe(remapping?.summary)
      }

      // Interrupt remapping and x2APIC: the same outcome where both commands judge it.
      const irCheck = result(c, 'interrupts.remapping')?.outcome
      const irUnits = unitLint(u, 'units.interrupt-remapping')
      if (judged(irCheck) && judged(irUnits) && u.origin === 'sysfs') expect(irUnits === 'fail').toBe(irCheck === 'fail')
      const x2Check = result(c, 'interrupts.x2apic')
      const x2Units = u.lint.find((r) => r.id === 'units.x2apic')
      if (judged(x2Check?.outcome) && judged(x2Units?.outcome)) {
        expect(x2Units?.outcome).toBe(x2Check?.outcome)
        if (x2Units?.summary.includes('EIM:')) expect(x2Check?.summary).toContain(x2Units.summary.slice(x2Units.summary.indexOf('EIM: ') + 5))
      }

      // Shared IOMMU groups: the same count.
      const shared = result(c, 'isolation.shared-groups')
      const sharedInGroups = g.mode === 'kernel' ? g.groups.filter((x) => x.shared).length : 0
      if (judged(shared?.outcome)) {
        const counted = shared?.outcome === 'pass' ? 0 : Number(/^(\d+) group/.exec(shared?.summary ?? '')?.[1])
        expect(sharedInGroups).toBe(counted)
      } else expect(sharedInGroups).toBe(0)

      // Device kinds: one name per kind in every view.
      const kinds = treeKinds(tree.value)
      for (const group of g.groups) for (const m of group.members) if (m.kind !== undefined) expect(m.kind, m.bdf).toBe(kinds.get(m.bdf))

      // Reset: `check --device` and `device` state the same sentence for every endpoint with a group.
      const endpoints = g.groups.flatMap((x) => x.members.filter((m) => m.role === 'endpoint' && m.kind !== 'host-bridge').map((m) => m.bdf)).slice(0, 4)
      if (endpoints.length > 0) {
        const withDevices = await run<CheckReport>(Check, ['--root', root, '--json', ...endpoints.flatMap((bdf) => ['--device', bdf])])
        let compared = 0
        for (const bdf of endpoints) {
          const device = await run<DeviceReport>(Device, [bdf, '--root', root, '--json'])
          const checked = withDevices.value ? result(withDevices.value, 'device.reset', bdf) : undefined
          if (!device.value || !checked || !judged(checked.outcome)) continue
          expect(checked.summary.startsWith(device.value.reset.summary), `${bdf}: "${checked.summary}" vs "${device.value.reset.summary}"`).toBe(true)
          compared++
        }
        // Not vacuous: a snapshot with endpoints compares at least one reset sentence.
        expect(compared).toBeGreaterThan(0)
      }
    })
  }
})
