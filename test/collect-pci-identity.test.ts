/**
 * The PCI collector takes a function's ids from the config bytes it reads anyway instead of six
 * more files per function (issue 15), and reads NUMA node and link words only for the one device
 * `device BDF` shows. On every real snapshot in sysfs-fixtures the ids must be exactly what the
 * kernel wrote into `vendor`, `device`, `class`, `revision` and `subsystem_*` (VFs, whose config
 * reads 0xffff, and bridges, whose subsystem ids sit in a capability, included), and the deferred
 * files must still say what the files say.
 */
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {collectPciDevices} from '../src/collect/pci.js'
import {memHostFs} from '../src/host/mem.js'
import {openRoot} from '../src/host/snapshot.js'
import {fixturesDir} from './support/paths.js'

const snapshots = readdirSync(fixturesDir).filter((name) => !name.startsWith('.'))

/** The sysfs file as the collector's readInt parses it (undefined when the file is not there). */
function fileNumber(root: string, bdf: string, name: string): number | undefined {
  try {
    const text = readFileSync(path.join(root, 'sys/bus/pci/devices', bdf, name), 'utf8').trim()
    return text === '' ? undefined : Number(text)
  } catch {
    return undefined
  }
}

describe('ids from config space equal the sysfs files', () => {
  it.each(snapshots)('%s', (name) => {
    const root = path.join(fixturesDir, name)
    const devices = collectPciDevices(openRoot(root), [])
    expect(devices.length).toBeGreaterThan(0)
    for (const d of devices) {
      const files = {
        vendor: fileNumber(root, d.bdf, 'vendor'),
        device: fileNumber(root, d.bdf, 'device'),
        classCode: fileNumber(root, d.bdf, 'class'),
        revision: fileNumber(root, d.bdf, 'revision'),
        subsystemVendor: fileNumber(root, d.bdf, 'subsystem_vendor'),
        subsystemDevice: fileNumber(root, d.bdf, 'subsystem_device'),
      }
      const collected = {vendor: d.vendor, device: d.device, classCode: d.classCode, revision: d.revision, subsystemVendor: d.subsystemVendor, subsystemDevice: d.subsystemDevice}
      expect({bdf: d.bdf, ...collected}).toEqual({bdf: d.bdf, ...files})
    }
  })
})

describe('the files config space cannot answer are still read', () => {
  const header = (vendor: number, headerType: number): Uint8Array => {
    const bytes = new Uint8Array(64)
    bytes[0] = vendor & 0xff
    bytes[1] = vendor >> 8
    bytes[0x0e] = headerType
    return bytes
  }
  const device = (config: Uint8Array) => ({
    '/sys/devices/pci0000:00/0000:00:02.0/config': config,
    '/sys/devices/pci0000:00/0000:00:02.0/vendor': '0x8086\n',
    '/sys/devices/pci0000:00/0000:00:02.0/device': '0x10ca\n',
    '/sys/devices/pci0000:00/0000:00:02.0/class': '0x020000\n',
    '/sys/devices/pci0000:00/0000:00:02.0/subsystem_vendor': '0x15d9\n',
    '/sys/devices/pci0000:00/0000:00:02.0/subsystem_device': '0x0611\n',
    '/sys/devices/pci0000:00/0000:00:02.0/numa_node': '1\n',
    '/sys/devices/pci0000:00/0000:00:02.0/current_link_speed': '2.5 GT/s PCIe\n',
    '/sys/bus/pci/devices/0000:00:02.0': {link: '../../../devices/pci0000:00/0000:00:02.0'},
  })

  it('a VF (config reads 0xffff for its ids): from the files', () => {
    const [vf] = collectPciDevices(memHostFs(device(header(0xffff, 0))), [])
    expect([vf?.vendor, vf?.device, vf?.classCode, vf?.subsystemVendor]).toEqual([0x8086, 0x10ca, 0x020000, 0x15d9])
  })

  it('a bridge whose capability list is not readable (64 bytes, non-root): subsystem from the files', () => {
    const [bridge] = collectPciDevices(memHostFs(device(header(0x8086, 1))), [])
    expect([bridge?.vendor, bridge?.subsystemVendor, bridge?.subsystemDevice]).toEqual([0x8086, 0x15d9, 0x0611])
  })

  it('NUMA node and link speed: read when a device view asks, and what the files say', () => {
    const [fn] = collectPciDevices(memHostFs(device(header(0x8086, 0))), [])
    expect(fn?.details?.()).toMatchObject({numaNode: 1, link: {currentSpeed: '2.5 GT/s PCIe'}})
  })
})
