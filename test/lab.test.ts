/**
 * The real-kernel lab snapshots (sysfs-fixtures/lab-*, made by lab/run.sh) as oracles.
 * Three independent witnesses are cross-checked: what the guest did (lab-injected.txt), what the
 * emulated IOMMU reported (QEMU's vtd_dmar_fault trace in qemu-stderr.txt; smmuv3_record_event
 * for the arm64 SMMUv3 snapshots) and what the Linux kernel logged and grouped (dmesg.txt,
 * sys/kernel/iommu_groups). Nothing here uses the project's
 * own decoders: these tests pin the fixtures down so the decoders can be tested against them.
 */
import {existsSync, readdirSync, readFileSync, readlinkSync, realpathSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const fixturesDir = path.join(repoRoot, 'sysfs-fixtures')
const labNames = readdirSync(fixturesDir).filter((n) => n.startsWith('lab-')).sort()
const snap = (name: string) => path.join(fixturesDir, `lab-${name}`)
const text = (name: string, rel: string) => readFileSync(path.join(snap(name), rel), 'utf8')
const bytes = (name: string, rel: string) => readFileSync(path.join(snap(name), rel))
/** The firmware table the guest's emulated IOMMU publishes: IORT on arm64, IVRS for amd-iommu (the snapshot README holds the QEMU command line), else DMAR. */
const scenarioText = (name: string) => readFileSync(path.join(repoRoot, 'lab/scenarios', `${name}.sh`), 'utf8')
const firmwareTable = (name: string) => (/^ARCH=arm64/m.test(scenarioText(name)) ? 'IORT' : /-device amd-iommu/.test(text(name, 'README.md')) ? 'IVRS' : 'DMAR')
/** arm64 scenarios booted from the device tree (acpi=off): no ACPI tables at all. */
const deviceTreeBoot = (name: string) => /^ARM_TABLES=dt/m.test(scenarioText(name))

// --- readers over one snapshot ------------------------------------------------------------

function pciDevices(name: string): string[] {
  return readdirSync(path.join(snap(name), 'sys/bus/pci/devices')).sort()
}

/** The device directory inside the snapshot, following the bus link as the kernel lays it out. */
function deviceDir(name: string, bdf: string): string {
  return realpathSync(path.join(snap(name), 'sys/bus/pci/devices', bdf))
}

/** Group id -> sorted member BDFs, from sys/kernel/iommu_groups. */
function groups(name: string): Map<number, string[]> {
  const dir = path.join(snap(name), 'sys/kernel/iommu_groups')
  const result = new Map<number, string[]>()
  if (!existsSync(dir)) return result
  for (const id of readdirSync(dir)) {
    result.set(Number(id), readdirSync(path.join(dir, id, 'devices')).sort())
  }
  return result
}

/** The members of the group that holds BDF. */
function groupWith(name: string, bdf: string): string[] {
  for (const members of groups(name).values()) if (members.includes(bdf)) return members
  throw new Error(`${bdf} is in no group of lab-${name}`)
}

function groupIdOf(name: string, bdf: string): number {
  for (const [id, members] of groups(name)) if (members.includes(bdf)) return id
  throw new Error(`${bdf} is in no group of lab-${name}`)
}

function config(name: string, bdf: string): Buffer {
  return readFileSync(path.join(deviceDir(name, bdf), 'config'))
}

/** PCI Express capability's device/port type (flags bits 7:4), or undefined for conventional PCI. */
function pcieType(cfg: Buffer): number | undefined {
  let at = cfg[0x34] ?? 0
  for (let hops = 0; at >= 0x40 && hops < 48; hops++) {
    if (cfg[at] === 0x10) return ((cfg[at + 2] ?? 0) >> 4) & 0xf
    at = cfg[at + 1] ?? 0
  }
  return undefined
}

const PCIE_TO_PCI_BRIDGE = 0x7

/**
 * The requester id the IOMMU sees for BDF: its own, unless it is a conventional device below a
 * PCIe-to-PCI bridge, which re-tags requests as (secondary bus, 00.0) (reference §6.4).
 */
function expectedRequester(name: string, bdf: string): number {
  const [, bus = '0', dev = '0', fn = '0'] = /^[0-9a-f]{4}:([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/.exec(bdf) ?? []
  const own = (parseInt(bus, 16) << 8) | (parseInt(dev, 16) << 3) | parseInt(fn, 16)
  const parent = path.basename(path.dirname(deviceDir(name, bdf)))
  if (!/^[0-9a-f]{4}:/.test(parent)) return own
  const parentCfg = config(name, parent)
  if (pcieType(parentCfg) === PCIE_TO_PCI_BRIDGE && pcieType(config(name, bdf)) === undefined) {
    return (parentCfg[0x19] ?? 0) << 8
  }
  return own
}

interface Injected {kind: string; bdf: string; address: bigint}
function injected(name: string): Injected[] {
  return text(name, 'lab-injected.txt').split('\n').filter((l) => l.startsWith('dma-')).map((l) => {
    const [kind = '', bdf = '', address = '0'] = l.split(' ')
    return {kind, bdf, address: BigInt(address)}
  })
}

interface QemuFault {sid: number; reason: number; address: bigint; write: boolean}
function qemuFaults(name: string): QemuFault[] {
  const re = /^vtd_dmar_fault sid 0x([0-9a-f]+) fault (\d+) addr 0x([0-9a-f]+) write ([01])$/gm
  return [...text(name, 'qemu-stderr.txt').matchAll(re)].map((m) => ({
    sid: parseInt(m[1] ?? '', 16), reason: Number(m[2]), address: BigInt(`0x${m[3]}`), write: m[4] === '1',
  }))
}

interface KernelFault {write: boolean; pasid: string; sid: number; address: bigint; reason: number}
function kernelFaults(name: string): KernelFault[] {
  const re = /DMAR: \[DMA (Read|Write) (NO_PASID|PASID 0x[0-9a-f]+)\] Request device \[([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])\] fault addr 0x([0-9a-f]+) \[fault reason 0x([0-9a-f]+)\]/g
  return [...text(name, 'dmesg.txt').matchAll(re)].map((m) => ({
    write: m[1] === 'Write',
    pasid: m[2] ?? '',
    sid: (parseInt(m[3] ?? '', 16) << 8) | (parseInt(m[4] ?? '', 16) << 3) | parseInt(m[5] ?? '', 16),
    address: BigInt(`0x${m[6]}`),
    reason: parseInt(m[7] ?? '', 16),
  }))
}

/** arm64 snapshots (aarch64 virt, SMMUv3, ACPI IORT) rather than x86 q35 with VT-d. */
const isArm = (name: string) => /-arm64 /.test(text(name, 'proc/version'))

interface SmmuEvent {type: string; sid: number}
/** QEMU's own record of every SMMUv3 event it queued: smmuv3_record_event TYPE sid=0x… */
function qemuSmmuEvents(name: string): SmmuEvent[] {
  return [...text(name, 'qemu-stderr.txt').matchAll(/^smmuv3_record_event (\S+) sid=0x([0-9a-f]+)$/gm)].map((m) => ({type: m[1] ?? '', sid: parseInt(m[2] ?? '', 16)}))
}

interface KernelSmmuEvent {id: number; dwords: bigint[]}
/** The kernel's "event 0xNN received:" lines, each followed by its four raw dwords. */
function kernelSmmuEvents(name: string): KernelSmmuEvent[] {
  const lines = text(name, 'dmesg.txt').split('\n')
  const out: KernelSmmuEvent[] = []
  lines.forEach((line, i) => {
    const m = /arm-smmu-v3 \S+: event 0x([0-9a-f]{2}) received:$/.exec(line)
    if (!m) return
    const dwords = lines.slice(i + 1, i + 5).map((l) => BigInt(/\t?(0x[0-9a-f]{16})$/.exec(l)?.[1] ?? '-1'))
    out.push({id: parseInt(m[1] ?? '', 16), dwords})
  })
  return out
}

/** The driver link is kept as a link; its target (bus/pci/drivers) is not part of the snapshot. */
const hasDriver = (name: string, bdf: string) => {
  try {
    return readlinkSync(path.join(deviceDir(name, bdf), 'driver')).length > 0
  } catch {
    return false
  }
}

const unitDir = (name: string) => path.join(snap(name), 'sys/devices/virtual/iommu/dmar0/intel-iommu')
const capOf = (name: string) => BigInt(`0x${readFileSync(path.join(unitDir(name), 'cap'), 'utf8').trim()}`)
const ecapOf = (name: string) => BigInt(`0x${readFileSync(path.join(unitDir(name), 'ecap'), 'utf8').trim()}`)
const bit = (value: bigint, n: number) => (value >> BigInt(n)) & 1n

/** Snapshots where the kernel translates DMA (groups exist and are not identity). */
const translating = (name: string) => [...groups(name).keys()].length > 0
  && readFileSync(path.join(snap(name), 'sys/kernel/iommu_groups', String([...groups(name).keys()][0]), 'type'), 'utf8').trim() !== 'identity'

// --- every snapshot -----------------------------------------------------------------------

describe('lab snapshots: present and self-consistent', () => {
  it('at least twelve real-kernel snapshots exist', () => {
    expect(labNames.length).toBeGreaterThanOrEqual(12)
  })

  describe.each(labNames.map((n) => n.slice(4)))('lab-%s', (name) => {
    it('has the snapshot files, a README and QEMU\'s stderr', () => {
      for (const rel of ['README.md', 'dmesg.txt', 'meta.json', 'proc/cmdline', 'proc/version', 'qemu-stderr.txt', 'lab-injected.txt', 'sys/bus/pci/devices']) {
        expect(existsSync(path.join(snap(name), rel)), rel).toBe(true)
      }
      expect(existsSync(path.join(repoRoot, 'lab/scenarios', `${name}.sh`))).toBe(true)
    })

    it('README names the kernel command line and version the guest really ran', () => {
      const readme = text(name, 'README.md')
      expect(readme).toContain(`command line: \`${text(name, 'proc/cmdline').trim()}\``)
      expect(readme).toContain(text(name, 'proc/sys/kernel/osrelease').trim())
      expect(text(name, 'proc/version')).toMatch(/^Linux version 6\.1\.0-\d+-(amd64|arm64) .*Debian/)
      // x86 logs "Command line:", arm64 "Kernel command line:" (its EFI stub adds initrd=… itself).
      expect(text(name, 'dmesg.txt')).toMatch(new RegExp(`(?:^|\\] |Kernel )[Cc]ommand line: ${text(name, 'proc/cmdline').trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'))
    })

    it('meta.json says the sh capture ran as root in the lab guest with nothing unreadable', () => {
      const meta = JSON.parse(text(name, 'meta.json')) as {captureMethod: string; hostname: string; uid: number; unreadable: string[]}
      expect(meta).toMatchObject({captureMethod: 'sh', hostname: 'vtd-lab', uid: 0, unreadable: []})
    })

    if (deviceTreeBoot(name))
      it('a device-tree boot: acpi=off on the command line, no ACPI tables, the kernel says ACPI is disabled', () => {
        expect(text(name, 'proc/cmdline')).toMatch(/(^| )acpi=off( |$)/)
        expect(existsSync(path.join(snap(name), 'sys/firmware/acpi'))).toBe(false)
        expect(text(name, 'dmesg.txt')).toContain('ACPI: Interpreter disabled.')
      })
    else it(`carries the ACPI ${firmwareTable(name)} table with a valid header, length and checksum`, () => {
      const signature = firmwareTable(name)
      const dmar = bytes(name, `sys/firmware/acpi/tables/${signature}`)
      expect(dmar.subarray(0, 4).toString('latin1')).toBe(signature)
      expect(dmar.readUInt32LE(4)).toBe(dmar.length)
      expect(dmar.reduce((sum, b) => (sum + b) & 0xff, 0)).toBe(0)
    })

    it('every group member links back to its group, and every device is in one group (or none when off)', () => {
      const all = groups(name)
      const grouped = new Set<string>()
      for (const [id, members] of all) {
        for (const bdf of members) {
          expect(grouped.has(bdf), `${bdf} in two groups`).toBe(false)
          grouped.add(bdf)
          const link = readlinkSync(path.join(deviceDir(name, bdf), 'iommu_group'))
          expect(link).toMatch(new RegExp(`kernel/iommu_groups/${id}$`))
          expect(link.startsWith('/')).toBe(false)
        }
      }
      // The AMD IOMMU is itself a PCI function (its class directory `iommu/ivhdN` sits in it): never grouped.
      const iommuItself = (bdf: string) => existsSync(path.join(deviceDir(name, bdf), 'iommu')) && !readdirSync(path.join(deviceDir(name, bdf))).includes('iommu_group')
      // ACPI arm64 sets a device up with the SMMU when a driver binds (dma_configure): no driver, no group.
      if (all.size > 0 && isArm(name)) expect([...grouped].sort()).toEqual(pciDevices(name).filter((bdf) => hasDriver(name, bdf)))
      else if (all.size > 0) expect([...grouped].sort()).toEqual(pciDevices(name).filter((bdf) => grouped.has(bdf) || !iommuItself(bdf)))
      else for (const bdf of pciDevices(name)) expect(existsSync(path.join(deviceDir(name, bdf), 'iommu_group'))).toBe(false)
    })

    it('QEMU saw exactly the DMA the guest injected, from the requester id the topology implies', () => {
      const events = injected(name)
      if (isArm(name)) {
        // A device with a driver has a stream table entry and a DMA domain with nothing mapped at
        // the IOVA: F_TRANSLATION. Without a driver its StreamID has no entry: C_BAD_STREAMID.
        expect(qemuSmmuEvents(name)).toEqual(events.map((e) => ({type: hasDriver(name, e.bdf) ? 'SMMU_EVT_F_TRANSLATION' : 'SMMU_EVT_C_BAD_STREAMID', sid: expectedRequester(name, e.bdf)})))
        return
      }
      const seen = qemuFaults(name)
      if (!translating(name)) {
        expect(seen).toEqual([])
        return
      }
      expect(seen.map((f) => [f.sid, f.address, f.write])).toEqual(
        events.map((e) => [expectedRequester(name, e.bdf), e.address, e.kind === 'dma-write']))
      // VT-d fault reasons for an unmapped IOVA: 5 = PTE write access not set, 6 = PTE read.
      for (const f of seen) expect(f.reason).toBe(f.write ? 5 : 6)
    })

    it('every kernel SMMUv3 event agrees with the QEMU event and the injected DMA in the same position', () => {
      const kernel = kernelSmmuEvents(name)
      const emulator = qemuSmmuEvents(name)
      const events = injected(name)
      expect(kernel.length).toBeLessThanOrEqual(emulator.length)
      const EVENT_IDS: Record<string, number> = {SMMU_EVT_F_TRANSLATION: 0x10, SMMU_EVT_C_BAD_STREAMID: 0x02}
      kernel.forEach((k, i) => {
        const [dw0 = 0n, , dw2 = 0n] = k.dwords
        // Event record: dword 0 bits 7:0 the event type, 63:32 the StreamID; dword 2 the input address.
        expect([k.id, Number(dw0 & 0xffn), Number(dw0 >> 32n)]).toEqual([EVENT_IDS[emulator[i]?.type ?? ''], k.id, emulator[i]?.sid])
        if (k.id === 0x10) expect(dw2).toBe(events[i]?.address)
      })
      if (isArm(name)) expect(kernel.length).toBe(events.length)
    })

    it('every kernel fault line agrees with the QEMU fault in the same position', () => {
      const kernel = kernelFaults(name)
      const emulator = qemuFaults(name)
      expect(kernel.length).toBeLessThanOrEqual(emulator.length)
      kernel.forEach((k, i) => {
        const q = emulator[i]
        expect(q, `kernel fault ${i} has no QEMU counterpart`).toBeDefined()
        expect([k.sid, k.address, k.write, k.reason]).toEqual([q?.sid, q?.address, q?.write, q?.reason])
      })
    })
  })
})

// --- scenario oracles ---------------------------------------------------------------------

describe('lab oracles: the kernel\'s own grouping', () => {
  it('iommu-off and iommu-on are the same machine: same devices, same DMAR table', () => {
    expect(pciDevices('iommu-off')).toEqual(pciDevices('iommu-on'))
    expect(bytes('iommu-off', 'sys/firmware/acpi/tables/DMAR').equals(bytes('iommu-on', 'sys/firmware/acpi/tables/DMAR'))).toBe(true)
    expect(text('iommu-off', 'proc/cmdline')).toMatch(/\bintel_iommu=off\b/)
    expect(groups('iommu-off').size).toBe(0)
    expect(existsSync(path.join(snap('iommu-off'), 'sys/class/iommu'))).toBe(false)
    expect(groups('iommu-on').size).toBe(7)
  })

  it('iommu-on: root ports with ACS isolate their endpoints; ICH9 functions share a group', () => {
    expect(groupWith('iommu-on', '0000:01:00.0')).toEqual(['0000:01:00.0'])
    expect(groupWith('iommu-on', '0000:02:00.0')).toEqual(['0000:02:00.0'])
    expect(groupWith('iommu-on', '0000:00:1c.0')).toEqual(['0000:00:1c.0'])
    expect(groupWith('iommu-on', '0000:00:1f.2')).toEqual(['0000:00:1f.0', '0000:00:1f.2', '0000:00:1f.3'])
  })

  it('pch-acs-less-root-ports: ports without ACS and everything below them form one group', () => {
    expect(groupWith('pch-acs-less-root-ports', '0000:03:00.0')).toEqual([
      '0000:00:1c.0', '0000:00:1c.1', '0000:00:1c.2', '0000:00:1c.3',
      '0000:01:00.0', '0000:02:00.0', '0000:03:00.0', '0000:04:00.0',
    ])
    expect(groupWith('pch-acs-less-root-ports', '0000:00:03.0')).toEqual(['0000:00:03.0'])
  })

  it('switch: each xio3130 downstream port (no ACS) shares a group with its endpoint only', () => {
    expect(groupWith('switch', '0000:01:00.0')).toEqual(['0000:01:00.0'])
    expect(groupWith('switch', '0000:03:00.0')).toEqual(['0000:02:00.0', '0000:03:00.0'])
    expect(groupWith('switch', '0000:04:00.0')).toEqual(['0000:02:01.0', '0000:04:00.0'])
    expect(groupWith('switch', '0000:05:00.0')).toEqual(['0000:02:02.0', '0000:05:00.0'])
  })

  it('pcie-pci-bridge: the bridge and the conventional devices behind it share one group', () => {
    expect(pcieType(config('pcie-pci-bridge', '0000:01:00.0'))).toBe(PCIE_TO_PCI_BRIDGE)
    expect(groupWith('pcie-pci-bridge', '0000:02:01.0')).toEqual(['0000:01:00.0', '0000:02:01.0', '0000:02:02.0'])
    expect(groupWith('pcie-pci-bridge', '0000:03:00.0')).toEqual(['0000:03:00.0'])
  })

  it('multifunction-endpoints: functions of one slot without ACS share a group', () => {
    expect(groupWith('multifunction-endpoints', '0000:01:00.1')).toEqual(['0000:01:00.0', '0000:01:00.1'])
    expect(groupWith('multifunction-endpoints', '0000:00:05.0')).toEqual(['0000:00:05.0', '0000:00:05.1'])
    expect(groupWith('multifunction-endpoints', '0000:02:00.0')).toEqual(['0000:02:00.0'])
  })

  it('sriov-nvme: two VFs enabled, linked to the PF, each in its own group', () => {
    const pf = deviceDir('sriov-nvme', '0000:01:00.0')
    expect(readFileSync(path.join(pf, 'sriov_numvfs'), 'utf8').trim()).toBe('2')
    expect(readFileSync(path.join(pf, 'sriov_totalvfs'), 'utf8').trim()).toBe('2')
    expect(path.basename(readlinkSync(path.join(pf, 'virtfn0')))).toBe('0000:01:00.1')
    expect(path.basename(readlinkSync(path.join(pf, 'virtfn1')))).toBe('0000:01:00.2')
    expect(path.basename(readlinkSync(path.join(deviceDir('sriov-nvme', '0000:01:00.2'), 'physfn')))).toBe('0000:01:00.0')
    const ids = ['0000:01:00.0', '0000:01:00.1', '0000:01:00.2'].map((b) => groupIdOf('sriov-nvme', b))
    expect(new Set(ids).size).toBe(3)
    expect(groupWith('sriov-nvme', '0000:01:00.1')).toEqual(['0000:01:00.1'])
  })

  it('passthrough: iommu=pt gives identity default domains and the DMA to RAM does not fault', () => {
    const dir = path.join(snap('passthrough'), 'sys/kernel/iommu_groups')
    const types = [...groups('passthrough').keys()].map((id) => readFileSync(path.join(dir, String(id), 'type'), 'utf8').trim())
    expect(types.length).toBe(7)
    expect(new Set(types)).toEqual(new Set(['identity']))
    expect(injected('passthrough').length).toBe(1)
    expect(kernelFaults('passthrough')).toEqual([])
    expect(types).not.toContain('DMA-FQ')
    expect(readFileSync(path.join(snap('iommu-on'), 'sys/kernel/iommu_groups/0/type'), 'utf8').trim()).toBe('DMA-FQ')
  })

  it('strict-domains: iommu.strict=1 makes every default domain DMA (strict), same groups as iommu-on', () => {
    const dir = path.join(snap('strict-domains'), 'sys/kernel/iommu_groups')
    const types = [...groups('strict-domains').keys()].map((id) => readFileSync(path.join(dir, String(id), 'type'), 'utf8').trim())
    expect(new Set(types)).toEqual(new Set(['DMA']))
    expect([...groups('strict-domains').values()].sort()).toEqual([...groups('iommu-on').values()].sort())
  })

  it('pxb-second-root-bus: devices on root bus 0x80 are grouped like those on bus 0, each port alone', () => {
    expect(pciDevices('pxb-second-root-bus')).toEqual(expect.arrayContaining(['0000:80:00.0', '0000:80:01.0', '0000:81:00.0', '0000:82:00.0']))
    for (const bdf of ['0000:00:05.0', '0000:80:00.0', '0000:80:01.0', '0000:81:00.0', '0000:82:00.0']) {
      expect(groupWith('pxb-second-root-bus', bdf)).toEqual([bdf])
    }
    // A conventional device behind a root port (not a PCIe-to-PCI bridge) keeps its own requester id.
    expect(kernelFaults('pxb-second-root-bus').map((f) => f.sid)).toEqual([0x8200])
  })

  it('vfio-pci: the rebound NIC has vfio-pci as driver and its group has a /dev/vfio node', () => {
    const nic = deviceDir('vfio-pci', '0000:01:00.0')
    expect(readlinkSync(path.join(nic, 'driver'))).toMatch(/drivers\/vfio-pci$/)
    expect(readFileSync(path.join(nic, 'driver_override'), 'utf8').trim()).toBe('vfio-pci')
    expect(readlinkSync(path.join(deviceDir('vfio-pci', '0000:02:00.0'), 'driver'))).toMatch(/drivers\/e1000e$/)
    const nodes = readdirSync(path.join(snap('vfio-pci'), 'dev/vfio'))
    expect(nodes.sort()).toEqual([String(groupIdOf('vfio-pci', '0000:01:00.0')), 'vfio'].sort())
  })
})

describe('lab oracles: the remapping unit as QEMU configured it', () => {
  const haw = (name: string) => bytes(name, 'sys/firmware/acpi/tables/DMAR')[36] ?? -1
  const dmarFlags = (name: string) => bytes(name, 'sys/firmware/acpi/tables/DMAR')[37] ?? -1

  it('aw48: DMAR host address width 48, SAGAW offers 4-level tables, QEMU walks from level 4', () => {
    expect(haw('aw48') + 1).toBe(48)
    expect(haw('iommu-on') + 1).toBe(39)
    // CAP.SAGAW is bits 12:8; bit 1 = 39-bit 3-level, bit 2 = 48-bit 4-level.
    expect(bit(capOf('aw48'), 8 + 2)).toBe(1n)
    expect(bit(capOf('iommu-on'), 8 + 2)).toBe(0n)
    expect(bit(capOf('iommu-on'), 8 + 1)).toBe(1n)
    expect(text('aw48', 'qemu-stderr.txt')).toMatch(/vtd_iova_to_slpte: detected slpte permission error \(iova=0x8000001000, level=0x4,/)
    expect(text('iommu-on', 'qemu-stderr.txt')).toMatch(/vtd_iova_to_slpte: detected slpte permission error \(iova=0x12345000, level=0x3,/)
    // Bit 39 of the faulting address survives only because the table has a fourth level.
    expect(kernelFaults('aw48')[0]?.address).toBe(0x8000001000n)
  })

  it('intremap-off: DMAR INTR_REMAP flag and ECAP.IR clear, and the kernel enables no IRQ remapping', () => {
    expect(dmarFlags('intremap-off') & 1).toBe(0)
    expect(dmarFlags('iommu-on') & 1).toBe(1)
    expect(bit(ecapOf('intremap-off'), 3)).toBe(0n)
    expect(bit(ecapOf('iommu-on'), 3)).toBe(1n)
    expect(text('intremap-off', 'dmesg.txt')).not.toContain('DMAR-IR: Enabled IRQ remapping')
    expect(text('iommu-on', 'dmesg.txt')).toContain('DMAR-IR: Enabled IRQ remapping in xapic mode')
    expect(text('intremap-off', 'sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts').trim()).toBe('N')
  })

  it('scalable-mode: ECAP.SMTS set, and fault lines take the PASID form', () => {
    expect(bit(ecapOf('scalable-mode'), 43)).toBe(1n)
    expect(bit(ecapOf('iommu-on'), 43)).toBe(0n)
    const faults = kernelFaults('scalable-mode')
    expect(faults.map((f) => [f.write, f.pasid])).toEqual([[false, 'PASID 0x0'], [true, 'PASID 0x0']])
    expect(kernelFaults('iommu-on').map((f) => f.pasid)).toEqual(['NO_PASID'])
  })

  it('scalable-sm-off: the same scalable-capable unit, but sm_off keeps the kernel in legacy form', () => {
    expect(ecapOf('scalable-sm-off')).toBe(ecapOf('scalable-mode'))
    expect(text('scalable-sm-off', 'proc/cmdline')).toMatch(/\bintel_iommu=on,sm_off\b/)
    expect(kernelFaults('scalable-sm-off').map((f) => [f.write, f.pasid, f.address])).toEqual([
      [false, 'NO_PASID', 0x3300000n], [true, 'NO_PASID', 0x3301000n],
    ])
    expect(text('scalable-sm-off', 'qemu-stderr.txt')).toContain('pasid=0xffffffff')
    expect(text('scalable-mode', 'qemu-stderr.txt')).toContain('pasid=0x0)')
  })
})

describe('lab oracles: faults', () => {
  it('pcie-pci-bridge: faults from behind the bridge name the bridge alias 02:00.0, not the device', () => {
    expect(kernelFaults('pcie-pci-bridge').map((f) => f.sid)).toEqual([0x0200, 0x0200])
    expect(text('pcie-pci-bridge', 'dmesg.txt')).toContain('Request device [02:00.0] fault addr 0x7700000 [fault reason 0x05]')
    expect(injected('pcie-pci-bridge').map((e) => e.bdf)).toEqual(['0000:02:01.0', '0000:02:01.0'])
  })

  it('dma-faults: all six chosen addresses reach the kernel log with the right direction and reason', () => {
    expect(kernelFaults('dma-faults').map((f) => [f.sid, f.address, f.write, f.reason])).toEqual([
      [0x18, 0x0n, false, 6], [0x18, 0x1000n, true, 5], [0x18, 0xabcd000n, false, 6],
      [0x20, 0x100000000n, false, 6], [0x20, 0xdead0000n, true, 5], [0x18, 0x7fff0000n, true, 5],
    ])
  })

  it('fault-flood: QEMU reports all eight faults, the rate-limited kernel fewer', () => {
    expect(qemuFaults('fault-flood').length).toBe(8)
    const printed = kernelFaults('fault-flood').length
    expect(printed).toBeGreaterThan(0)
    expect(printed).toBeLessThan(8)
    const handling = (text('fault-flood', 'dmesg.txt').match(/DMAR: DRHD: handling fault status reg/g) ?? []).length
    expect(handling).toBeGreaterThanOrEqual(printed)
  })

  it('iommu-off and passthrough: injected DMA produced no fault anywhere', () => {
    for (const name of ['iommu-off', 'passthrough']) {
      expect(injected(name).length).toBe(1)
      expect(qemuFaults(name)).toEqual([])
      expect(text(name, 'dmesg.txt')).not.toContain('DMAR: [DMA')
    }
  })
})
