import {describe, expect, it} from 'vitest'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {memHostFs} from '../src/host/mem.js'
import {openRoot} from '../src/host/snapshot.js'
import {readKernelLog} from '../src/host/kernel-log.js'
import {collectHost} from '../src/collect/index.js'
import {fixturesDir} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

describe('HostFs', () => {
  const host = memHostFs({
    '/sys/firmware/acpi/tables/DMAR': {unreadable: true},
    '/proc/cmdline': 'BOOT_IMAGE=/vmlinuz intel_iommu=on\n',
    '/sys/bus/pci/devices/0000:00:02.0': {link: '../../../devices/pci0000:00/0000:00:02.0'},
    '/sys/devices/pci0000:00/0000:00:02.0/vendor': '0x8086\n',
  })

  it('tells absent from unreadable, with the path', () => {
    const dmar = host.readBytes('/sys/firmware/acpi/tables/DMAR')
    expect(dmar).toMatchObject({ok: false, reason: 'unreadable', path: '/sys/firmware/acpi/tables/DMAR'})
    const ivrs = host.readBytes('/sys/firmware/acpi/tables/IVRS')
    expect(ivrs).toMatchObject({ok: false, reason: 'absent', path: '/sys/firmware/acpi/tables/IVRS'})
  })

  it('keeps link text and resolves links to host paths', () => {
    expect(host.readLink('/sys/bus/pci/devices/0000:00:02.0')).toMatchObject({ok: true, value: '../../../devices/pci0000:00/0000:00:02.0'})
    expect(host.realPath('/sys/bus/pci/devices/0000:00:02.0')).toMatchObject({ok: true, value: '/sys/devices/pci0000:00/0000:00:02.0'})
    expect(host.readText('/sys/bus/pci/devices/0000:00:02.0/vendor')).toMatchObject({ok: true, value: '0x8086\n'})
  })

  it('records unreadable reads as misses, not as absent facts', () => {
    const collected = collectHost(host)
    expect(collected.misses.map((m) => m.path)).toContain('/sys/firmware/acpi/tables/DMAR')
    expect(collected.platform.dmarTable).toMatchObject({ok: false, reason: 'unreadable'})
    expect(collected.platform.ivrsTable).toMatchObject({ok: false, reason: 'absent'})
    expect(collected.pci.map((d) => [d.bdf, d.vendor])).toEqual([['0000:00:02.0', 0x8086]])
  })
})

describe('snapshots', () => {
  it('replays paths recorded as unreadable in meta.json as unreadable, and a missing dmesg.txt too', async () => {
    const dir = scratchDir('vtd-snap-')
    fs.mkdirSync(path.join(dir, 'proc'), {recursive: true})
    fs.writeFileSync(path.join(dir, 'proc/cmdline'), 'quiet\n')
    fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({unreadable: ['/sys/firmware/acpi/tables/DMAR', '/dmesg.txt']}))
    const host = openRoot(dir)
    expect(host.readBytes('/sys/firmware/acpi/tables/DMAR')).toMatchObject({ok: false, reason: 'unreadable'})
    expect(host.readText('/proc/cmdline')).toMatchObject({ok: true, value: 'quiet\n'})
    const log = await readKernelLog(host)
    expect(log).toMatchObject({ok: false, reason: 'unreadable', origin: 'snapshot'})
  })

  it('reads the dev-VM capture: five virtio functions and a host bridge, no IOMMU', () => {
    const collected = collectHost(openRoot(path.join(fixturesDir, 'dev-vm-no-iommu')))
    expect(collected.pci).toHaveLength(6)
    expect(collected.pci.filter((d) => d.vendor === 0x1af4 && d.driver === 'virtio-pci')).toHaveLength(5)
    expect(collected.groups).toEqual([])
    expect(collected.units).toEqual([])
    expect(collected.platform.dmarTable).toMatchObject({ok: false, reason: 'absent'})
    expect(collected.pci.every((d) => d.config.ok && d.config.value.length >= 64)).toBe(true)
  })
})
