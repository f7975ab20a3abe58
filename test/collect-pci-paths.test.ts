/**
 * collectPciDevices takes each device's /sys/devices path from its bus link (one readlink) instead
 * of a realpath per device (issue 15): on every snapshot in sysfs-fixtures it must name the same
 * directory the realpath names, and a bus entry that is a plain directory still gets its realpath.
 */
import {readdirSync} from 'node:fs'
import path from 'node:path'
import {Volume} from 'memfs'
import {describe, expect, it} from 'vitest'
import {collectPciDevices} from '../src/collect/pci.js'
import {RootedHostFs, type SyncFsLike} from '../src/host/fs.js'
import {openRoot} from '../src/host/snapshot.js'
import {fixturesDir} from './support/paths.js'

const snapshots = readdirSync(fixturesDir).filter((name) => !name.startsWith('.'))

describe('PCI device paths', () => {
  it.each(snapshots)('%s: each device path is its realpath', (name) => {
    const fs = openRoot(path.join(fixturesDir, name))
    const devices = collectPciDevices(fs, [])
    expect(devices.length).toBeGreaterThan(0)
    for (const device of devices) {
      const real = fs.realPath(`/sys/bus/pci/devices/${device.bdf}`)
      expect(real.ok).toBe(true)
      expect(device.sysfsPath).toBe(real.ok ? real.value : '')
    }
  })

  it('a bus entry that is a directory, not a link, keeps its own path', () => {
    const volume = Volume.fromJSON({
      '/sys/bus/pci/devices/0000:00:02.0/vendor': '0x8086\n',
      '/sys/bus/pci/devices/0000:00:02.0/config': '\x86\x80',
    })
    const devices = collectPciDevices(new RootedHostFs('/', volume as unknown as SyncFsLike), [])
    expect(devices.map((d) => [d.bdf, d.sysfsPath, d.vendor])).toEqual([['0000:00:02.0', '/sys/bus/pci/devices/0000:00:02.0', 0x8086]])
  })
})
