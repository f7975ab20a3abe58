/**
 * A device's `driver_override`, `reset_method` and `iommu` link are read when a reader first asks
 * for them (issue 15: on a 2,062-function host `check`, `groups` and `device --tree` asked for
 * none of them but paid three reads per function), once, and say what the eager reads said.
 */
import {readFileSync, readlinkSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {assessHost} from '../src/checks/assess.js'
import {collectHost} from '../src/collect/index.js'
import {NODE_FS, RootedHostFs, type SyncFsLike} from '../src/host/fs.js'
import {readKernelLog} from '../src/host/kernel-log.js'
import {buildHostModel} from '../src/model/host.js'
import {resetPlan} from '../src/model/topology.js'
import {fixturesDir} from './support/paths.js'

const LAZY = /\/(driver_override|reset_method|iommu)$/

function watched(root: string): {fs: RootedHostFs; touched: string[]} {
  const touched: string[] = []
  const log = (p: string) => {
    if (LAZY.test(p)) touched.push(p.slice(root.length))
  }
  const fs: SyncFsLike = {
    ...NODE_FS,
    openSync: (p, flags) => (log(p), NODE_FS.openSync(p, flags)),
    readlinkSync: (p) => (log(p), NODE_FS.readlinkSync(p)),
  }
  return {fs: new RootedHostFs(root, fs), touched}
}

describe('lazily read device facts', () => {
  const root = path.join(fixturesDir, 'lab-vfio-pci')

  it('are not read by the collector or the topology, and read once when asked for', async () => {
    const {fs, touched} = watched(root)
    const collected = collectHost(fs)
    const model = buildHostModel({collected, log: await readKernelLog(fs)})
    expect(model.topology.devices.size).toBe(9)
    expect(model.kernelGroups.length).toBeGreaterThan(0)
    expect(touched).toEqual([])

    const nic = collected.pci.find((d) => d.bdf === '0000:01:00.0')
    expect(nic?.driverOverride).toBe('vfio-pci')
    expect(nic?.driverOverride).toBe('vfio-pci')
    expect(touched).toEqual(['/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/driver_override'])
  })

  it('say what the files say', async () => {
    const {fs} = watched(root)
    const collected = collectHost(fs)
    const model = buildHostModel({collected, log: await readKernelLog(fs)})
    for (const device of collected.pci) {
      const dir = path.join(root, 'sys/bus/pci/devices', device.bdf)
      const text = (name: string) => {
        try {
          return readFileSync(path.join(dir, name), 'utf8').trim()
        } catch {
          return undefined
        }
      }
      const override = text('driver_override')
      expect(device.driverOverride, device.bdf).toBe(override === '(null)' ? undefined : override)
      const reset = text('reset_method')
      expect(device.resetMethod.ok ? device.resetMethod.value : undefined, device.bdf).toEqual(reset?.split(/\s+/))
      let unit: string | undefined
      try {
        unit = path.basename(readlinkSync(path.join(dir, 'iommu')))
      } catch {
        unit = undefined
      }
      const fn = model.topology.devices.get(device.bdf)
      expect(device.iommuUnit, device.bdf).toBe(unit)
      expect(fn?.iommuUnit, device.bdf).toBe(unit)
      // The 6.1 kernel of this snapshot hides reset_method when it knows no reset: none, from sysfs.
      expect(fn?.resetMethods, device.bdf).toEqual(reset?.split(/\s+/) ?? [])
      expect(fn?.resetMethodsSource, device.bdf).toBe('sysfs')
    }
  })

  it('check reads them only for the devices it examines', async () => {
    const {fs, touched} = watched(root)
    const model = buildHostModel({collected: collectHost(fs), log: await readKernelLog(fs)})
    const assessment = assessHost(model, {devices: []})
    expect(assessment.results.length).toBeGreaterThan(0)
    const resets = touched.filter((p) => p.endsWith('/reset_method'))
    expect(resets.length).toBeLessThan(model.topology.devices.size)
    expect(touched.filter((p) => p.endsWith('/driver_override'))).toEqual([])
  })

  it('an assigned value wins over the file, as an eager field did', async () => {
    const {fs} = watched(root)
    const model = buildHostModel({collected: collectHost(fs), log: await readKernelLog(fs)})
    const fn = model.topology.devices.get('0000:01:00.0')
    if (fn === undefined) throw new Error('no 0000:01:00.0')
    fn.resetMethods = ['bus']
    fn.resetMethodsSource = 'inferred-from-config'
    expect(resetPlan(model.topology, fn)).toMatchObject({methods: ['bus'], source: 'inferred-from-config'})
    fn.iommuUnit = 'dmar9'
    expect(fn.iommuUnit).toBe('dmar9')
  })
})
