/**
 * The guarded reader resolves paths itself, one component at a time from cached directory
 * listings (issue 15: no realpath per directory, no thrown ENOENT per absent attribute). On a real
 * directory tree it must agree with the kernel's own resolution, end a link loop instead of
 * spinning, and still refuse what leaves the snapshot however the path is spelled.
 */
import {mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {OUTSIDE_ROOT, RootedHostFs} from '../src/host/fs.js'

const base = mkdtempSync(path.join(tmpdir(), 'vtd-reader-'))
const snap = path.join(base, 'snap')
afterAll(() => rmSync(base, {recursive: true, force: true}))

mkdirSync(path.join(snap, 'sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0'), {recursive: true})
mkdirSync(path.join(snap, 'sys/bus/pci/devices'), {recursive: true})
mkdirSync(path.join(snap, 'sys/kernel/iommu_groups/7/devices'), {recursive: true})
writeFileSync(path.join(snap, 'sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/vendor'), '0x8086\n')
writeFileSync(path.join(base, 'outside'), 'secret\n')
symlinkSync('../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0', path.join(snap, 'sys/bus/pci/devices/0000:01:00.0'))
symlinkSync('../../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0', path.join(snap, 'sys/kernel/iommu_groups/7/devices/0000:01:00.0'))
// a link to a link to the device directory, a loop, and ways out of the snapshot
symlinkSync('0000:01:00.0', path.join(snap, 'sys/bus/pci/devices/alias'))
symlinkSync('loop-b', path.join(snap, 'sys/bus/pci/devices/loop-a'))
symlinkSync('loop-a', path.join(snap, 'sys/bus/pci/devices/loop-b'))
symlinkSync('../../../../../outside', path.join(snap, 'sys/bus/pci/devices/out-relative'))
symlinkSync(path.join(base, 'outside'), path.join(snap, 'sys/bus/pci/devices/out-absolute'))

describe('path resolution from listings', () => {
  const fs = new RootedHostFs(snap)

  it('a device directory through its bus link, a link to that link, and an IOMMU group entry: the kernel realpath', () => {
    const real = realpathSync(path.join(snap, 'sys/bus/pci/devices/0000:01:00.0')).slice(realpathSync(snap).length)
    expect(fs.realPath('/sys/bus/pci/devices/0000:01:00.0')).toMatchObject({ok: true, value: real})
    expect(fs.realPath('/sys/bus/pci/devices/alias')).toMatchObject({ok: true, value: real})
    expect(fs.realPath('/sys/kernel/iommu_groups/7/devices/0000:01:00.0')).toMatchObject({ok: true, value: real})
    expect(fs.readText('/sys/bus/pci/devices/alias/vendor')).toMatchObject({ok: true, value: '0x8086\n'})
    expect(fs.readText('/sys/bus/pci/devices/./0000:01:00.0/../0000:01:00.0/vendor')).toMatchObject({ok: true, value: '0x8086\n'})
  })

  it('an absent attribute is absent, a file used as a directory is absent', () => {
    expect(fs.readText('/sys/bus/pci/devices/0000:01:00.0/reset_method')).toMatchObject({ok: false, reason: 'absent'})
    expect(fs.readLink('/sys/bus/pci/devices/0000:01:00.0/physfn')).toMatchObject({ok: false, reason: 'absent'})
    expect(fs.readText('/sys/bus/pci/devices/0000:01:00.0/vendor/x')).toMatchObject({ok: false, reason: 'absent'})
  })

  it('a link loop ends as unreadable (ELOOP), as a file and as a directory', () => {
    expect(fs.readText('/sys/bus/pci/devices/loop-a')).toMatchObject({ok: false, reason: 'unreadable', message: expect.stringMatching(/ELOOP/)})
    expect(fs.listDir('/sys/bus/pci/devices/loop-a')).toMatchObject({ok: false, reason: 'unreadable'})
  })

  it('links out of the snapshot are refused, relative or absolute, as a file or on the way to one', () => {
    for (const name of ['out-relative', 'out-absolute']) {
      expect(fs.readText(`/sys/bus/pci/devices/${name}`)).toMatchObject({ok: false, reason: 'unreadable', message: expect.stringContaining(OUTSIDE_ROOT)})
      expect(fs.realPath(`/sys/bus/pci/devices/${name}`)).toMatchObject({ok: false, reason: 'unreadable'})
    }
    expect(fs.readText('/../../outside')).toMatchObject({ok: false, reason: 'absent'})
  })
})

describe('a directory read by name (HostFs.directory, what the PCI collector uses)', () => {
  const bus = '/sys/bus/pci/devices'
  // A device directory holding every kind of entry: file, absent, links inside and out, a loop, a FIFO-like odd name.
  const device = path.join(snap, 'sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0')
  writeFileSync(path.join(device, 'config'), Buffer.from([0x86, 0x80, 0x10, 0x10]))
  symlinkSync('../../../../kernel/iommu_groups/7', path.join(device, 'iommu_group'))
  symlinkSync('../../../../../../outside', path.join(device, 'escape'))
  symlinkSync('vendor', path.join(device, 'vendor-link'))
  symlinkSync('loop-y', path.join(device, 'loop-x'))
  symlinkSync('loop-x', path.join(device, 'loop-y'))
  mkdirSync(path.join(device, 'power'))
  const names = ['config', 'vendor', 'vendor-link', 'iommu_group', 'escape', 'loop-x', 'power', 'reset_method', '..', '.', '', 'power/../vendor']

  it('answers every name exactly as the read by path does, and lists the entries', () => {
    const byName = new RootedHostFs(snap).directory(`${bus}/0000:01:00.0`)
    const byPath = new RootedHostFs(snap)
    // Listed first, as the collector did before: a listed entry's errors name the host path, not the real one.
    const listed = byPath.listDir(`${bus}/0000:01:00.0`)
    expect(byName.ok).toBe(true)
    if (!byName.ok) return
    for (const name of names) {
      const asked = `${bus}/0000:01:00.0/${name}`
      expect(byName.value.readText(name), name).toEqual(byPath.readText(asked))
      expect(byName.value.readBytes(name), name).toEqual(byPath.readBytes(asked))
      expect(byName.value.readLink(name), name).toEqual(byPath.readLink(asked))
    }
    expect(listed.ok && byName.value.names()).toEqual(listed.ok && listed.value)
    expect(byName.value.namesStartingWith('loop-').sort()).toEqual(['loop-x', 'loop-y'])
    expect(byName.value.namesStartingWith('vendor').sort()).toEqual(['vendor', 'vendor-link'])
    expect(byName.value.namesStartingWith('virtfn')).toEqual([])
    expect(byName.value.readText('escape')).toMatchObject({ok: false, reason: 'unreadable', message: expect.stringContaining(OUTSIDE_ROOT)})
    expect(byName.value.readText('vendor-link')).toMatchObject({ok: true, value: '0x8086\n'})
  })

  it('a directory that is not there, or leaves the snapshot, is refused as listDir refuses it', () => {
    const fs = new RootedHostFs(snap)
    expect(fs.directory(`${bus}/0000:09:00.0`)).toEqual(fs.listDir(`${bus}/0000:09:00.0`))
    expect(fs.directory(`${bus}/out-relative`)).toMatchObject({ok: false, reason: 'unreadable'})
    expect(fs.directory(`${bus}/loop-a`)).toMatchObject({ok: false, reason: 'unreadable'})
  })
})
