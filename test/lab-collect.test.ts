/**
 * The capture contract end to end on real kernels: the sh capture script ran as root inside a
 * Debian guest (lab/run.sh), and the Node collectors read the result through `--root`. Every
 * expectation is read from the snapshot's own files or from the scenario's topology, never from
 * the collectors' output.
 */
import {existsSync, readdirSync, readFileSync, readlinkSync, realpathSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {collectHost} from '../src/collect/index.js'
import {openRoot} from '../src/host/snapshot.js'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const fixturesDir = path.join(repoRoot, 'sysfs-fixtures')
const labNames = readdirSync(fixturesDir).filter((n) => n.startsWith('lab-')).sort()

describe.each(labNames)('%s read back through --root', (dir) => {
  const root = path.join(fixturesDir, dir)
  const host = collectHost(openRoot(root))
  const busDir = path.join(root, 'sys/bus/pci/devices')
  const bdfs = readdirSync(busDir).sort()

  it('nothing the collectors look for is missing from a root capture', () => {
    expect(host.misses).toEqual([])
  })

  it('finds every PCI function, with full config space and the bound driver', () => {
    expect(host.pci.map((d) => d.bdf).sort()).toEqual(bdfs)
    for (const device of host.pci) {
      const real = realpathSync(path.join(busDir, device.bdf))
      const config = readFileSync(path.join(real, 'config'))
      expect(device.config.ok && device.config.value.length).toBe(config.length)
      expect(config.length).toBeGreaterThanOrEqual(256)
      // The sysfs `vendor` file, not config space: an SR-IOV VF's config reads 0xffff there.
      expect(device.vendor).toBe(parseInt(readFileSync(path.join(real, 'vendor'), 'utf8'), 16))
      // The link's target (bus/pci/drivers/...) is not part of a snapshot: read the link itself.
      const driverLink = readdirSync(real).includes('driver') ? readlinkSync(path.join(real, 'driver')) : undefined
      expect(device.driver).toBe(driverLink === undefined ? undefined : path.basename(driverLink))
    }
  })

  it('reads the kernel\'s groups as the kernel wrote them', () => {
    const groupsDir = path.join(root, 'sys/kernel/iommu_groups')
    const kernel = existsSync(groupsDir)
      ? readdirSync(groupsDir).map((id) => [Number(id), readdirSync(path.join(groupsDir, id, 'devices')).sort()] as const)
      : []
    expect(host.groups.map((g) => [g.id, [...g.devices].sort()] as const).sort((a, b) => a[0] - b[0]))
      .toEqual([...kernel].sort((a, b) => a[0] - b[0]))
    for (const group of host.groups) {
      expect(group.type).toBe(readFileSync(path.join(groupsDir, String(group.id), 'type'), 'utf8').trim())
    }
  })

  it('reads the remapping unit and the firmware table (DMAR; IVRS for AMD-Vi; IORT for arm64) exactly when the kernel exposed them', () => {
    const amd = existsSync(path.join(root, 'sys/firmware/acpi/tables/IVRS'))
    // arm64 with ACPI publishes IORT; a device-tree boot (acpi=off) no ACPI table at all.
    const arm = host.platform.kernelRelease.ok && host.platform.kernelRelease.value.includes('arm64')
    const deviceTree = arm && host.platform.cmdline.ok && /(^| )acpi=off( |$)/.test(host.platform.cmdline.value)
    expect(host.platform.dmarTable.ok).toBe(!amd && !arm)
    expect(host.platform.ivrsTable.ok).toBe(amd)
    expect(host.platform.iortTable.ok).toBe(arm && !deviceTree)
    const classDir = path.join(root, 'sys/class/iommu')
    expect(host.units.map((u) => u.name)).toEqual(existsSync(classDir) ? readdirSync(classDir).sort() : [])
  })
})

describe('lab topology facts through the collectors', () => {
  const collect = (name: string) => collectHost(openRoot(path.join(fixturesDir, `lab-${name}`)))

  it('sriov-nvme: the PF lists its two VFs and each VF names its PF', () => {
    const host = collect('sriov-nvme')
    const pf = host.pci.find((d) => d.bdf === '0000:01:00.0')
    expect(pf?.sriov?.numVfs).toBe(2)
    expect(pf?.virtfns).toEqual(['0000:01:00.1', '0000:01:00.2'])
    for (const vf of ['0000:01:00.1', '0000:01:00.2']) {
      const device = host.pci.find((d) => d.bdf === vf)
      expect(device?.physfn).toBe('0000:01:00.0')
      // SR-IOV: a VF's Vendor ID register reads 0xffff; the kernel's sysfs gives the PF's vendor.
      expect(device?.config.ok && device.config.value[0] === 0xff && device.config.value[1] === 0xff).toBe(true)
      expect(device?.vendor).toBe(pf?.vendor)
    }
  })

  it('pcie-pci-bridge: the conventional devices\' parent is the bridge, whose parent is the root port', () => {
    const host = collect('pcie-pci-bridge')
    const parent = (bdf: string) => host.pci.find((d) => d.bdf === bdf)?.parentBdf
    expect(parent('0000:02:01.0')).toBe('0000:01:00.0')
    expect(parent('0000:02:02.0')).toBe('0000:01:00.0')
    expect(parent('0000:01:00.0')).toBe('0000:00:1c.0')
    expect(parent('0000:00:1c.0')).toBeUndefined()
  })

  it('vfio-pci: driver override and the /dev/vfio group node are seen', () => {
    const host = collect('vfio-pci')
    const nic = host.pci.find((d) => d.bdf === '0000:01:00.0')
    expect(nic?.driver).toBe('vfio-pci')
    expect(nic?.driverOverride).toBe('vfio-pci')
    expect(host.platform.devVfio.ok && [...host.platform.devVfio.value].sort()).toEqual([String(nic?.iommuGroup), 'vfio'].sort())
  })
})
