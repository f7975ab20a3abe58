/** The passthrough plan: what goes with the device, what the host loses, blockers, commands. */
import * as path from 'node:path'
import {describe, expect, it} from 'vitest'
import {runChecks} from '../src/checks/catalogue.js'
import {planPassthrough} from '../src/checks/plan.js'
import {assessHost} from '../src/checks/assess.js'
import {modelAt} from './support/model.js'
import {openRoot} from '../src/host/snapshot.js'
import {renderPlan} from '../src/report/plan.js'
import {DESKTOP_DEVICES, contextFor} from './checks-hosts.js'
import {fixturesDir} from './support/paths.js'

function plan(devices: string[], spec = {}) {
  const ctx = contextFor(spec, undefined, devices)
  const results = runChecks(ctx)
  return devices.map((bdf) => planPassthrough(ctx, bdf, results))
}

describe('GPU with its HDMI audio function (group 2 of the fake desktop)', () => {
  const [gpu] = plan(['0000:01:00.0'])
  it('the audio function must go to vfio-pci with it; the root port may stay', () => {
    expect(gpu?.group).toBe(2)
    expect(gpu?.bindWithIt.map((d) => d.bdf)).toEqual(['0000:01:00.1'])
    expect(gpu?.mayStayOnHost.map((d) => d.bdf)).toEqual(['0000:00:01.0'])
    expect(gpu?.takesFromHost).toEqual([])
  })
  it('copy-pasteable bind commands for both functions, unbinding their host drivers only while another driver holds them', () => {
    const unbind = (bdf: string) =>
      `[ ! -e /sys/bus/pci/devices/${bdf}/driver ] || [ /sys/bus/pci/devices/${bdf}/driver -ef /sys/bus/pci/drivers/vfio-pci ] || echo ${bdf} | sudo tee /sys/bus/pci/devices/${bdf}/driver/unbind`
    expect(gpu?.commands.bindNow).toEqual([
      'sudo modprobe vfio-pci',
      'echo vfio-pci | sudo tee /sys/bus/pci/devices/0000:01:00.0/driver_override',
      unbind('0000:01:00.0'),
      'echo 0000:01:00.0 | sudo tee /sys/bus/pci/drivers_probe',
      'echo vfio-pci | sudo tee /sys/bus/pci/devices/0000:01:00.1/driver_override',
      unbind('0000:01:00.1'),
      'echo 0000:01:00.1 | sudo tee /sys/bus/pci/drivers_probe',
    ])
  })
  it('persists ONE way, vfio-pci.ids in modprobe.d (merged into any ids= already there) with softdeps (appended once), and names the kernel-parameter way', () => {
    expect(gpu?.commands.kernelParameters).toEqual([])
    expect(gpu?.commands.persist).toContain("grep -qxF 'softdep nvidia pre: vfio-pci' /etc/modprobe.d/vfio.conf 2>/dev/null || echo 'softdep nvidia pre: vfio-pci' | sudo tee -a /etc/modprobe.d/vfio.conf")
    const ids = gpu?.commands.persist.find((c) => c.startsWith('for id in '))
    expect(ids).toMatch(/^for id in 10de:2204 10de:1aef; do .*echo "options vfio-pci ids=\$id" \| sudo tee -a \/etc\/modprobe\.d\/vfio\.conf;/)
    expect(gpu?.commands.otherMethods.join('\n')).toContain('`vfio-pci.ids=10de:2204,10de:1aef` on the kernel command line')
  })
  it('ready with warnings: host drivers still hold the group', () => {
    expect(gpu?.verdict).toBe('ready-with-warnings')
    expect(gpu?.blockers).toEqual([])
    expect(gpu?.warnings.map((w) => w.check)).toContain('device.driver')
  })
})

describe('a device that shares a group with the boot disk', () => {
  const [sata] = plan(['0000:03:00.1'])
  it('is blocked, and the plan says what the host would lose', () => {
    expect(sata?.verdict).toBe('blocked')
    expect(sata?.takesFromHost).toEqual([{bdf: '0000:03:00.0', role: 'boot-disk', what: 'the disk holding / (/ is /dev/nvme0n1p2 → /sys/class/block/nvme0n1p2)'}])
    expect(sata?.blockers.map((b) => b.check)).toEqual(['device.host-critical'])
  })
})

describe('two identical NICs: vfio-pci.ids would grab both', () => {
  it('falls back to a per-device override (driverctl)', () => {
    const devices = [...DESKTOP_DEVICES, {bdf: '0000:04:00.0', path: 'pci0000:00/0000:00:1c.0/0000:04:00.0', vendor: 0x8086, device: 0x1a1e, classCode: 0x020000, driver: 'e1000e', group: 7, reset: 'flr'}]
    const groups = [{id: 6, type: 'DMA-FQ', reservedRegions: ''}, {id: 7, type: 'DMA-FQ', reservedRegions: ''}, {id: 5, type: 'DMA-FQ', reservedRegions: ''}]
    const [nic] = plan(['0000:04:00.0'], {devices, groups})
    expect(nic?.commands.kernelParameters).toEqual([])
    expect(nic?.commands.persist).toEqual(['sudo driverctl set-override 0000:04:00.0 vfio-pci'])
  })
})

describe('plans on the real-kernel lab snapshots', () => {
  async function labPlan(name: string, devices: string[]) {
    const fs = openRoot(path.join(fixturesDir, name))
    return assessHost(await modelAt(fs), {devices}).plans
  }
  it('lab-iommu-off: blocked by DMA remapping, fix is to drop intel_iommu=off', async () => {
    const [p] = await labPlan('lab-iommu-off', ['0000:02:00.0'])
    expect(p?.verdict).toBe('blocked')
    expect(p?.blockers.map((b) => b.check)).toEqual(['platform.dma-remapping', 'device.isolation'])
    expect(p?.commands.kernelParameters).toContain('remove intel_iommu=off')
    expect(p?.commands.bindNow).toEqual([])
  })
  it('lab-pch-acs-less-root-ports: 01:00.0 drags the three other endpoints of group 2 along', async () => {
    const [p] = await labPlan('lab-pch-acs-less-root-ports', ['0000:01:00.0'])
    expect(p?.bindWithIt.map((d) => d.bdf)).toEqual(['0000:02:00.0', '0000:03:00.0', '0000:04:00.0'])
    expect(p?.mayStayOnHost.map((d) => d.bdf)).toEqual(['0000:00:1c.0', '0000:00:1c.1', '0000:00:1c.2', '0000:00:1c.3'])
    expect(renderPlan(p!)).toContain('Must go to vfio-pci with it (same IOMMU group):')
  })
  it('lab-vfio-pci: the device already on vfio-pci gets a plan without --device, nothing left to bind', async () => {
    const [p] = await labPlan('lab-vfio-pci', [])
    expect(p?.device).toBe('0000:01:00.0')
    expect(p?.commands.bindNow).toEqual([])
    expect(p?.verdict).toBe('ready-with-warnings')
  })
})
