/** Vendor/device/class names: the system pci.ids through HostFs, read lazily, with a bundled fallback. */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {bundledPciNames, describeDevice, loadPciNames, parsePciIds} from '../src/decode/pci-ids.js'
import {memHostFs} from '../src/host/mem.js'
import {repoRoot} from './support/paths.js'

const excerpt = readFileSync(path.join(repoRoot, 'test/fixtures/pci/pci.ids-excerpt'), 'utf8')

describe('pci.ids', () => {
  it('parses vendors, devices (not subsystems) and classes from real pci.ids lines', () => {
    const tables = parsePciIds(excerpt)
    expect(tables.vendors.get(0x8086)).toBe('Intel Corporation')
    expect(tables.vendors.get(0x1b36)).toBe('Red Hat, Inc.')
    expect(tables.devicesOf(0x8086).get(0x10c9)).toBe('82576 Gigabit Network Connection')
    expect(tables.devicesOf(0x8086).get(0x10ca)).toBe('82576 Virtual Function')
    // Subsystem line "8086 a03c  Gigabit ET Dual Port Server Adapter" must not become a device.
    expect([...tables.devicesOf(0x8086).values()]).not.toContain('Gigabit ET Dual Port Server Adapter')
    expect(tables.devicesOf(0x8086).get(0xa03c)).toBeUndefined()
  })

  it('gives each device line to the vendor line above it, however the lines around it are arranged', () => {
    const text = [
      '# comment',
      '8086  Intel Corporation',
      '\t10c9  82576 Gigabit Network Connection',
      '',
      '# a comment inside the block does not end it',
      '\t\t8086 a03c  Gigabit ET Dual Port Server Adapter',
      '\t10ca  first name',
      '10de  NVIDIA Corporation',
      '\t1db6  GV100GL [Tesla V100 PCIe 32GB]',
      'not a vendor line',
      '\t1234  under no vendor',
      '8086  Intel Corporation (again)',
      '\t10ca  82576 Virtual Function',
      '\t10cb  82576NS Gigabit Network Connection\r',
      '1af4 Red Hat, Inc.\r',
      '\t1000  Virtio network device',
      'C 02  Network controller',
      '\t00  Ethernet controller',
      '\t\t01  prog-if',
      '10ec  Realtek Semiconductor Co., Ltd.',
      '\t8139  RTL-8100/8101L/8139 PCI Fast Ethernet Adapter',
    ].join('\n')
    const tables = parsePciIds(text)
    expect(tables.vendors.get(0x8086)).toBe('Intel Corporation (again)')
    expect([...tables.devicesOf(0x8086)]).toEqual([
      [0x10c9, '82576 Gigabit Network Connection'],
      [0x10ca, '82576 Virtual Function'],
    ])
    expect([...tables.devicesOf(0x10de)]).toEqual([[0x1db6, 'GV100GL [Tesla V100 PCIe 32GB]']])
    // A line that is no vendor line ends the block: the device under it belongs to no vendor.
    expect(tables.devicesOf(0x1234).size).toBe(0)
    // "." stops at a carriage return, as when the file was split at "\n" and each line matched whole.
    expect(tables.vendors.has(0x1af4)).toBe(false)
    expect(tables.devicesOf(0x1af4).size).toBe(0)
    expect(tables.classes.get(0x1000002)).toBe('Network controller')
    expect(tables.classes.get(0x2000200)).toBe('Ethernet controller')
    expect(tables.classes.get(0x3020001)).toBe('prog-if')
    expect([...tables.devicesOf(0x10ec)]).toEqual([[0x8139, 'RTL-8100/8101L/8139 PCI Fast Ethernet Adapter']])
  })

  it('is found under /usr/share/hwdata too, and names the most specific class', () => {
    const names = loadPciNames([memHostFs({'/usr/share/hwdata/pci.ids': excerpt})])
    expect(names.source).toBe('/usr/share/hwdata/pci.ids')
    expect(names.device(0x1b36, 0x0008)).toBe('QEMU PCIe Host bridge')
    expect(names.className(0x030000)).toBe('VGA controller') // C 03 / 00 / 00
    expect(names.className(0x030200)).toBe('3D controller') // no prog-if line: subclass
    expect(names.className(0x02ff00)).toBe('Network controller') // unknown subclass: base class
    expect(describeDevice(names, 0x8086, 0x10c9)).toBe('Intel Corporation 82576 Gigabit Network Connection [8086:10c9]')
  })

  it('falls back to the bundled table for ids the file lacks, and when there is no file', () => {
    const withFile = loadPciNames([memHostFs({'/usr/share/misc/pci.ids': excerpt})])
    expect(withFile.vendor(0x10de)).toBe('NVIDIA Corporation') // not in the excerpt
    const none = loadPciNames([memHostFs({'/etc/hostname': 'x\n'})])
    expect(none).toBe(bundledPciNames)
    expect(none.vendor(0x8086)).toBe('Intel Corporation')
    expect(describeDevice(none, 0xabcd, 0x0001)).toBe('Device [abcd:0001]')
  })

  it('an unreadable pci.ids degrades to bundled names instead of failing', () => {
    const names = loadPciNames([memHostFs({'/usr/share/misc/pci.ids': {unreadable: true}})])
    expect(names.vendor(0x8086)).toBe('Intel Corporation')
    expect(names.device(0x8086, 0x10c9)).toBe('82576 Gigabit Network Connection')
  })

  it('tries hosts in order: a snapshot without pci.ids borrows the next host names', () => {
    const snapshot = memHostFs({'/sys/bus/pci/devices/.keep': ''})
    const live = memHostFs({'/usr/share/misc/pci.ids': excerpt})
    expect(loadPciNames([snapshot, live]).device(0x1b36, 0x0001)).toBe('QEMU PCI-PCI bridge')
  })
})
