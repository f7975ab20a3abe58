/**
 * Topology: the kernel's own hierarchy (lab snapshots of a real kernel) is the oracle.
 * - From config bytes alone (the snapshot's config files written out as an lspci -xxxx dump) we
 *   must rebuild the same parents, children, kinds and PF↔VF links the kernel shows in sysfs.
 * - Reset methods inferred from config bytes must equal the kernel's reset_method files.
 * - Non-root reads make facts unknown, never absent; VMD domains hang off their controller.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {formatHexDump} from '../src/decode/lspci-dump.js'
import {RootedHostFs} from '../src/host/fs.js'
import {memHostFs} from '../src/host/mem.js'
import type {PciTopology} from '../src/model/pci.js'
import {
  findDevice,
  hostBridges,
  inferResetMethods,
  loadTopology,
  resetPlan,
  slotFunctions,
  topologyFromLspciDump,
  upstreamPath,
} from '../src/model/topology.js'
import {fixturesDir, realData} from './support/paths.js'

const labs = readdirSync(fixturesDir).filter((name) => name.startsWith('lab-') && existsSync(path.join(fixturesDir, name, 'sys/bus/pci/devices')))
const devicesDir = (lab: string): string => path.join(fixturesDir, lab, 'sys/bus/pci/devices')

function sysfsTopology(lab: string): PciTopology {
  const loaded = loadTopology(new RootedHostFs(path.join(fixturesDir, lab)))
  if (!loaded.ok) throw new Error(loaded.error)
  return loaded.topology
}

/** The snapshot's raw config files as the dump a user would paste (read with node, not our collector). */
function dumpOf(lab: string): string {
  return readdirSync(devicesDir(lab))
    .map((bdf) => formatHexDump(bdf, 'device', new Uint8Array(readFileSync(path.join(devicesDir(lab), bdf, 'config')))))
    .join('\n')
}

describe('config bytes alone rebuild the kernel hierarchy (lab snapshots)', () => {
  it('has lab snapshots to compare with', () => {
    expect(labs.length).toBeGreaterThanOrEqual(5)
  })
  for (const lab of labs) {
    it(lab, () => {
      const kernel = sysfsTopology(lab)
      const fromDump = topologyFromLspciDump(dumpOf(lab)).topology
      expect([...fromDump.devices.keys()]).toEqual([...kernel.devices.keys()])
      for (const [bdf, truth] of kernel.devices) {
        const rebuilt = fromDump.devices.get(bdf)
        const shape = (fn: typeof truth | undefined) => fn && {parent: fn.parent, children: fn.children, kind: fn.kind, isVirtfn: fn.isVirtfn, physfn: fn.physfn, virtfns: fn.virtfns, vendorId: fn.vendorId, deviceId: fn.deviceId}
        expect(shape(rebuilt), `${lab} ${bdf}`).toEqual(shape(truth))
      }
    })
  }

  it('the SR-IOV lab really has VFs and a switch lab really has a switch (the comparison is not vacuous)', () => {
    const sriov = sysfsTopology('lab-sriov-nvme')
    expect(findDevice(sriov, '01:00.0')?.virtfns).toEqual(['0000:01:00.1', '0000:01:00.2'])
    expect(findDevice(sriov, '01:00.2')?.physfn).toBe('0000:01:00.0')
    const sw = sysfsTopology('lab-switch')
    expect(findDevice(sw, '04:00.0') && upstreamPath(sw, findDevice(sw, '04:00.0')!).map((hop) => `${hop.bdf} ${hop.kind}`)).toEqual([
      '0000:02:01.0 switch-downstream',
      '0000:01:00.0 switch-upstream',
      '0000:00:1c.0 root-port',
    ])
    const bridge = sysfsTopology('lab-pcie-pci-bridge')
    expect(findDevice(bridge, '01:00.0')?.kind).toBe('pcie-to-pci-bridge')
    expect(findDevice(bridge, '02:01.0')?.kind).toBe('pci-endpoint')
  })
})

describe('reset methods from config bytes match the kernel (reset_method, Linux 6.1)', () => {
  for (const lab of labs) {
    it(lab, () => {
      const topology = sysfsTopology(lab)
      let compared = 0
      for (const fn of topology.devices.values()) {
        const file = path.join(devicesDir(lab), fn.bdf, 'reset_method')
        // On >= 5.15 the attribute is hidden when a device has no method at all.
        const kernel = existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean) : []
        expect(inferResetMethods(topology, fn), `${lab} ${fn.bdf}`).toEqual(kernel)
        compared++
      }
      expect(compared).toBe(topology.devices.size)
    })
  }
})

describe('reset plans say what a reset really touches', () => {
  it('multifunction endpoint without FLR: pm first; "bus" listed but refused now, and a bus reset hits the sibling', () => {
    const topology = sysfsTopology('lab-multifunction-endpoints')
    const nic = findDevice(topology, '01:00.0')!
    const plan = resetPlan(topology, nic)
    expect(plan.methods).toEqual(['pm', 'bus'])
    expect(plan.source).toBe('sysfs')
    expect(plan.functionLevel).toBe('pm')
    expect(plan.busReset).toEqual({bridge: '0000:00:1c.0', alsoResets: ['0000:01:00.1']})
    expect(plan.note).toMatch(/0000:01:00\.1 shares the bus/)
    expect(slotFunctions(topology, nic).map((fn) => fn.bdf)).toEqual(['0000:01:00.0', '0000:01:00.1'])
  })

  it('a switch downstream port: a bus reset at the upstream port resets every other port and endpoint below it', () => {
    const topology = sysfsTopology('lab-switch')
    const plan = resetPlan(topology, findDevice(topology, '02:01.0')!)
    expect(plan.busReset?.bridge).toBe('0000:01:00.0')
    expect(plan.busReset?.alsoResets).toEqual(['0000:02:00.0', '0000:02:02.0', '0000:03:00.0', '0000:04:00.0', '0000:05:00.0'])
  })

  it('a VF is reset by FLR only and a bus reset is not its to make', () => {
    const topology = sysfsTopology('lab-sriov-nvme')
    const plan = resetPlan(topology, findDevice(topology, '01:00.1')!)
    expect(plan.methods).toEqual(['flr'])
    expect(plan.busReset).toBeUndefined()
    expect(slotFunctions(topology, findDevice(topology, '01:00.1')!).map((fn) => fn.bdf)).toEqual(['0000:01:00.1'])
  })
})

describe('non-root snapshot: 64 bytes of config', () => {
  it('every capability fact is unknown and no reset is guessed', () => {
    const loaded = loadTopology(new RootedHostFs(path.join(fixturesDir, 'dev-vm-no-iommu-nonroot')))
    expect(loaded.ok).toBe(true)
    if (!loaded.ok) return
    expect(loaded.topology.devices.size).toBeGreaterThan(0)
    let unknown = 0
    for (const fn of loaded.topology.devices.values()) {
      expect(fn.configLength).toBe(64)
      // Status bit 4 (inside the 64 bytes) says whether a capability list exists at all.
      const hasList = ((fn.config?.status ?? 0) & 0x10) !== 0
      if (!hasList) {
        expect(fn.pcieType, `${fn.bdf}: no capability list, so truly no PCIe capability`).toBeUndefined()
        continue
      }
      unknown++
      for (const key of ['pcieType', 'acs', 'ats', 'pri', 'pasid', 'sriov', 'ari', 'flr'] as const) expect(fn[key], `${fn.bdf} ${key}`).toBe('unknown')
      expect(resetPlan(loaded.topology, fn).methods).toBe('unknown')
    }
    expect(unknown).toBeGreaterThan(0)
  })
})

describe('real dumps', () => {
  it('POWER9: root ports per domain, PCIe-to-PCI bridge with its conventional device below', () => {
    const {topology} = topologyFromLspciDump(readFileSync(path.join(realData, 'pci/talos2-power9-lspci-xxx.txt'), 'utf8'))
    const bridge = [...topology.devices.values()].find((fn) => fn.kind === 'pcie-to-pci-bridge')
    expect(bridge).toBeDefined()
    expect(bridge!.children.length).toBeGreaterThan(0)
    for (const child of bridge!.children) expect(topology.devices.get(child)?.bus).toBe(bridge!.secondaryBus)
    // One host bridge per domain: each domain's devices hang under its own root port.
    expect([...hostBridges(topology).keys()]).toEqual(['pci0000:00', 'pci0001:00', 'pci0002:00', 'pci0003:00', 'pci0004:00', 'pci0005:00', 'pci0030:00', 'pci0031:00', 'pci0032:00', 'pci0033:00'])
  })

  it('82576 dump without its VF: the PF lists no VFs it cannot see, and reset methods are inferred', () => {
    const {topology} = topologyFromLspciDump(readFileSync(path.join(realData, 'pci/intel-82576-single-sriov-lspci-xxxx.txt'), 'utf8'))
    const pf = findDevice(topology, '01:00.0')!
    expect(pf.virtfns).toEqual([])
    expect(pf.resetMethods).toEqual(['flr', 'pm'])
    expect(pf.resetMethodsSource).toBe('inferred-from-config')
  })

  it('lspci dump with IOMMU group lines: groups and drivers come through', () => {
    const {topology} = topologyFromLspciDump(readFileSync(path.join(realData, 'pci/alderlake-p-gl9755-laptop-lspci-xxxx.txt'), 'utf8'))
    const sd = findDevice(topology, '2f:00.0')!
    expect(sd.iommuGroup).toBe(21) // "IOMMU group: 21" under 2f:00.0
    expect(sd.driver).toBe('sdhci-pci')
    expect(sd.config?.allOnes).toBe(true)
    expect(sd.kind).toBe('unknown')
  })
})

describe('VMD domains and loadTopology', () => {
  const config = (classCode: number, header = 0): Uint8Array => {
    const bytes = new Uint8Array(64)
    bytes.set([0x86, 0x80, 0x0b, 0x9a], 0)
    bytes.set([0, classCode & 0xff, (classCode >> 8) & 0xff, classCode >> 16], 8)
    bytes[0x0e] = header
    return bytes
  }
  const host = memHostFs({
    '/sys/devices/pci0000:00/0000:00:0e.0/config': config(0x010400),
    '/sys/devices/pci0000:00/0000:00:0e.0/vendor': '0x8086\n',
    '/sys/devices/pci0000:00/0000:00:0e.0/device': '0x9a0b\n',
    '/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/config': config(0x060400, 1),
    '/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0/config': config(0x010802),
    '/sys/bus/pci/devices/0000:00:0e.0': {link: '../../../devices/pci0000:00/0000:00:0e.0'},
    '/sys/bus/pci/devices/10000:e0:06.0': {link: '../../../devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0'},
    '/sys/bus/pci/devices/10000:e1:00.0': {link: '../../../devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0'},
  })

  it('devices behind a VMD controller name it and their own domain', () => {
    const loaded = loadTopology(host)
    expect(loaded.ok).toBe(true)
    if (!loaded.ok) return
    const nvme = findDevice(loaded.topology, '10000:e1:00.0')!
    expect(nvme.vmdController).toBe('0000:00:0e.0')
    expect(nvme.hostBridge).toBe('pci10000:e0')
    expect(nvme.parent).toBe('10000:e0:06.0')
    expect(findDevice(loaded.topology, '00:0e.0')?.kind).toBe('vmd-controller')
  })

  it('an unreadable or empty dump is an error value, not an exception', () => {
    const files = memHostFs({'/tmp/empty.txt': 'no lspci here\n'})
    expect(loadTopology(host, {lspciDump: '/tmp/missing.txt', dumpFs: files})).toMatchObject({ok: false, error: expect.stringMatching(/cannot read lspci dump/)})
    expect(loadTopology(host, {lspciDump: '/tmp/empty.txt', dumpFs: files})).toMatchObject({ok: false, error: expect.stringMatching(/no PCI devices/)})
  })
})

describe('lspci text without hex (what most reports paste)', () => {
  it('cm238 PLX cascade -vvv: the text decoder fills in; paths match the lspci -tv beside it', () => {
    const text = readFileSync(path.join(realData, 'pci/cm238-xeone3-plx-switch-lspci-vvv.txt'), 'utf8')
    const {topology, warnings} = topologyFromLspciDump(text)
    expect(warnings[0]).toMatch(/no hex bytes/)
    expect(topology.devices.size).toBeGreaterThan(10)
    // lspci -tv beside it: every "+-NN.N-[xx]--" bridge has its secondary bus's devices under it.
    for (const fn of topology.devices.values()) {
      if (fn.parent === undefined) continue
      expect(topology.devices.get(fn.parent)?.secondaryBus, fn.bdf).toBe(fn.bus)
    }
    // -tv: 00:01.0-[01-13]--00.0-[02-13]--01.0-[03-0f]--00.0-[04-0f]--0b.0-[0c]--00.0 Xilinx
    expect(upstreamPath(topology, findDevice(topology, '0c:00.0')!).map((hop) => hop.bdf)).toEqual(['0000:04:0b.0', '0000:03:00.0', '0000:02:01.0', '0000:01:00.0', '0000:00:01.0'])
    // -tv: +-1c.0-[15]----00.0  Intel Corporation I210
    expect(findDevice(topology, '15:00.0')?.parent).toBe('0000:00:1c.0')
    const kinds = new Set([...topology.devices.values()].map((fn) => fn.kind))
    expect(kinds.has('switch-upstream') && kinds.has('switch-downstream')).toBe(true)
    const flr = [...topology.devices.values()].map((fn) => fn.flr)
    expect(flr.every((value) => value === 'unknown')).toBe(true) // text decoders leave FLR unknown
  })
})
