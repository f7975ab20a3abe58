/**
 * Oracle: real Linux kernels under QEMU (sysfs-fixtures/lab-*, produced by lab/run.sh). Every
 * snapshot with kernel groups must be predicted exactly from its topology alone; every IOMMU-off
 * snapshot must predict the groups the same kernel formed on the same topology with the IOMMU on.
 * New snapshots are picked up automatically.
 */
import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {RootedHostFs} from '../src/host/fs.js'
import type {PciTopology} from '../src/model/pci.js'
import {loadTopology} from '../src/model/topology.js'
import {crossCheckGroups, replayGrouping} from '../src/replay/grouping.js'
import {hostGrouping} from '../src/replay/host-grouping.js'
import {openRoot} from '../src/host/snapshot.js'
import {modelAt} from './support/model.js'

const fixtures = path.resolve(import.meta.dirname, '..', 'sysfs-fixtures')
const labs = readdirSync(fixtures).filter((d) => d.startsWith('lab-') && existsSync(path.join(fixtures, d, 'sys/bus/pci/devices')))
/** Device-tree boots: the kernel never enables ACS, so the groups follow ACS Control as read (below). */
const NO_ACS_ENABLE = new Set(['lab-smmuv3-dt'])

function load(dir: string): PciTopology {
  const loaded = loadTopology(new RootedHostFs(path.join(fixtures, dir)))
  if (!loaded.ok) throw new Error(loaded.error)
  return loaded.topology
}
const hasGroups = (t: PciTopology) => [...t.devices.values()].some((d) => d.iommuGroup !== undefined)
// Same functions and the same ACS capabilities (lab-acs-off has iommu-on's devices without ACS); Control differs with the IOMMU.
const signature = (t: PciTopology) =>
  [...t.devices.values()].map((d) => `${d.bdf}=${d.vendorId.toString(16)}:${d.deviceId.toString(16)} acs=${typeof d.acs === 'object' ? d.acs.cap.toString(16) : String(d.acs)}`).sort().join(',')
function partition(groupOf: Map<string, number | undefined>): string[][] {
  const by = new Map<number, string[]>()
  for (const [bdf, id] of groupOf) if (id !== undefined) by.set(id, [...(by.get(id) ?? []), bdf])
  return [...by.values()].map((g) => g.sort()).sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''))
}

describe('lab snapshots (real kernels)', () => {
  it('found lab snapshots with and without the IOMMU', () => {
    expect(labs.filter((d) => hasGroups(load(d))).length).toBeGreaterThanOrEqual(5)
    expect(labs.filter((d) => !hasGroups(load(d))).length).toBeGreaterThanOrEqual(1)
  })

  for (const dir of labs.filter((d) => !NO_ACS_ENABLE.has(d))) {
    it(dir, () => {
      const topo = load(dir)
      if (hasGroups(topo)) {
        const prediction = replayGrouping(topo)
        const check = crossCheckGroups(topo, prediction)
        expect(check.compared).toBe([...topo.devices.values()].filter((d) => d.iommuGroup !== undefined).length)
        expect(check.onlyActual).toEqual([])
        expect(check.mismatches).toEqual([])
        // The kernel already enabled ACS on this boot, so ACS Control exactly as read agrees too.
        expect(crossCheckGroups(topo, replayGrouping(topo, {assumeKernelEnablesAcs: false})).mismatches).toEqual([])
        return
      }
      // IOMMU off: the same topology booted with the IOMMU on is the oracle.
      const twins = labs.filter((d) => d !== dir && signature(load(d)) === signature(topo) && hasGroups(load(d)))
      expect(twins.length, `an IOMMU-on twin of ${dir}`).toBeGreaterThan(0)
      const twin = load(twins[0] ?? '')
      const predicted = replayGrouping(topo, {assumeKernelEnablesAcs: true})
      expect(partition(predicted.groupOf)).toEqual(partition(new Map([...twin.devices.values()].map((d) => [d.bdf, d.iommuGroup]))))
      expect(predicted.assumptions[0]).toMatch(/as the kernel sets it when the IOMMU is on/)
      // With the IOMMU off nobody enabled ACS (Control reads 0): replaying it as read would merge
      // ports that the IOMMU-on kernel splits — which is why the model exists.
      const disabledPorts = [...topo.devices.values()].filter((d) => typeof d.acs === 'object' && d.acs.ctl === 0 && d.acs.cap !== 0)
      if (disabledPorts.length > 0) {
        const asRead = replayGrouping(topo, {assumeKernelEnablesAcs: false})
        expect(partition(asRead.groupOf)).not.toEqual(partition(predicted.groupOf))
      }
    })
  }
})

describe('an SMMUv3 from the device tree (lab-smmuv3-dt): the kernel never enables ACS', () => {
  // of_iommu_configure() (drivers/iommu/of_iommu.c) requests ACS when a driver first probes a
  // device, after pci_enable_acs() (drivers/pci/pci.c) ran for the enumerated devices: Debian's
  // 6.1 puts each root port in one group with its endpoint although both ports have ACS.
  const dir = 'lab-smmuv3-dt'

  it('the root ports implement ACS but Control reads 0, and the kernel merged each with its endpoint', () => {
    const topo = load(dir)
    for (const port of ['0000:00:02.0', '0000:00:03.0']) {
      const acs = topo.devices.get(port)?.acs
      expect(typeof acs === 'object' && acs.cap !== 0 && acs.ctl === 0, port).toBe(true)
    }
    expect(partition(new Map([...topo.devices.values()].map((d) => [d.bdf, d.iommuGroup])))).toEqual([['0000:00:01.0'], ['0000:00:02.0', '0000:01:00.0'], ['0000:00:03.0', '0000:02:00.0']])
    // The ACPI assumption (ACS enabled when the IOMMU is on) splits them: the wrong answer here.
    expect(crossCheckGroups(topo, replayGrouping(topo)).mismatches).toHaveLength(2)
  })

  it('the host replay reads ACS as the kernel left it, says why, and predicts the kernel\'s groups exactly', async () => {
    const model = await modelAt(openRoot(path.join(fixtures, dir)))
    const prediction = hostGrouping(model)
    expect(prediction.assumptions[0]).toMatch(/^ACS Control exactly as read \(the kernel did not enable ACS: the SMMU comes from the device tree/)
    const check = crossCheckGroups(model.topology, prediction)
    expect(check.mismatches).toEqual([])
    expect(check.onlyActual).toEqual([])
    expect(check.compared).toBe(5)
  })

  it('an ACPI boot of the same SMMU (lab-smmuv3, IORT) keeps the usual assumption', async () => {
    const model = await modelAt(openRoot(path.join(fixtures, 'lab-smmuv3')))
    expect(hostGrouping(model).assumptions[0]).toMatch(/as the kernel sets it when the IOMMU is on/)
  })
})

describe('config space a non-root reader cannot see', () => {
  it('lab-switch read as non-root (64-byte config): the replay cannot split the switch, and says "unknown", not "fail"', () => {
    const topo = load('lab-switch')
    // What a non-root reader gets: the PCIe capability and ACS live beyond the first 64 bytes.
    for (const d of topo.devices.values()) {
      d.pcieType = 'unknown'
      d.acs = 'unknown'
    }
    const check = crossCheckGroups(topo, replayGrouping(topo))
    expect(check.agree).toBe(false)
    expect(check.mismatches.length).toBeGreaterThan(0)
    for (const m of check.mismatches) {
      expect(m.outcome).toBe('unknown')
      expect(m.likelyCause).toMatch(/could not read/)
    }
  })
})
