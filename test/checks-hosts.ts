/**
 * In-memory hosts for the check tests, shaped like a real Intel desktop: the DMAR table is the
 * real ASUS PRIME B660-PLUS table from test/fixtures/real/dmar (iGPU unit + INCLUDE_PCI_ALL unit,
 * RMRR for the iGPU), cap/ecap values are the real ones a Comet/Coffee Lake laptop logged
 * (terra-rmrr-dmesgH-k6.1-1.log: dmar0 1c0000c40660462/7e3ff0501e, dmar1 d2008c40660462/f050da).
 */
import {readFileSync} from 'node:fs'
import * as path from 'node:path'
import {collectHost} from '../src/collect/index.js'
import {parseLspciDump} from '../src/decode/lspci-dump.js'
import type {Read} from '../src/host/fs.js'
import {memHostFs, type MemEntry} from '../src/host/mem.js'
import {assessmentContext, type AssessmentContext} from '../src/checks/context.js'
import {buildHostModel} from '../src/model/host.js'
import {realData} from './support/paths.js'

/** Real config space of an Intel DSA (8086:0b25, RCiEP with ATS, PASID and PRI) from pciutils' test fixture. */
export function dsaConfig(): Uint8Array {
  const text = readFileSync(path.join(realData, 'pci/intel-dsa-single-pri-pasid-lspci-xxxx.txt'), 'utf8')
  const device = parseLspciDump(text).devices[0]
  if (!device) throw new Error('no device in the DSA dump')
  return device.config
}

export const B660_DMAR = new Uint8Array(readFileSync(path.join(realData, 'dmar/asus-prime-b660-plus-alderlake-3f5b6baf.dat')))

export interface FakeDevice {
  bdf: string
  /** Sysfs path below /sys/devices, e.g. "pci0000:00/0000:00:01.0/0000:01:00.0". */
  path: string
  vendor: number
  device: number
  classCode: number
  driver?: string
  group?: number
  reset?: string
  bootVga?: boolean
  /** Config bytes; default: a 256-byte header (root reader) with no capabilities. */
  config?: Uint8Array | {unreadable: true}
  virtfns?: string[]
  physfn?: string
  /** Remapping unit name for the `iommu` link. */
  unit?: string
}

export function configHeader(vendor: number, device: number, classCode: number, length = 256, headerType = 0): Uint8Array {
  const bytes = new Uint8Array(length)
  const view = new DataView(bytes.buffer)
  view.setUint16(0, vendor, true)
  view.setUint16(2, device, true)
  view.setUint32(8, classCode << 8, true)
  bytes[0x0e] = headerType
  return bytes
}

export interface FakeHost {
  cmdline?: string
  cpu?: 'intel' | 'amd'
  cpuFlags?: string
  kernel?: string
  dmar?: Uint8Array | {unreadable: true} | 'absent'
  ivrs?: boolean
  units?: Array<{name: string; cap?: string; ecap?: string; vendor?: 'intel' | 'amd'}>
  groups?: Array<{id: number; type?: string; reservedRegions?: string}>
  devices?: FakeDevice[]
  interrupts?: string
  mounts?: string
  route?: string
  extra?: Record<string, MemEntry>
}

const INTEL_FLAGS = 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat x2apic vmx ept vpid'
const AMD_FLAGS = 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat x2apic svm npt'

export const DESKTOP_DEVICES: FakeDevice[] = [
  {bdf: '0000:00:00.0', path: 'pci0000:00/0000:00:00.0', vendor: 0x8086, device: 0x4668, classCode: 0x060000, group: 1},
  {bdf: '0000:00:01.0', path: 'pci0000:00/0000:00:01.0', vendor: 0x8086, device: 0x460d, classCode: 0x060400, driver: 'pcieport', group: 2},
  {bdf: '0000:00:02.0', path: 'pci0000:00/0000:00:02.0', vendor: 0x8086, device: 0x4680, classCode: 0x030000, driver: 'i915', group: 0, bootVga: true, reset: 'flr bus'},
  {bdf: '0000:00:1d.0', path: 'pci0000:00/0000:00:1d.0', vendor: 0x8086, device: 0x7ab0, classCode: 0x060400, driver: 'pcieport', group: 5},
  {bdf: '0000:00:1f.6', path: 'pci0000:00/0000:00:1f.6', vendor: 0x8086, device: 0x1a1e, classCode: 0x020000, driver: 'e1000e', group: 6, reset: 'flr'},
  {bdf: '0000:01:00.0', path: 'pci0000:00/0000:00:01.0/0000:01:00.0', vendor: 0x10de, device: 0x2204, classCode: 0x030000, driver: 'nvidia', group: 2, reset: 'bus'},
  {bdf: '0000:01:00.1', path: 'pci0000:00/0000:00:01.0/0000:01:00.1', vendor: 0x10de, device: 0x1aef, classCode: 0x040300, driver: 'snd_hda_intel', group: 2, reset: 'bus'},
  {bdf: '0000:03:00.0', path: 'pci0000:00/0000:00:1d.0/0000:03:00.0', vendor: 0x144d, device: 0xa80a, classCode: 0x010802, driver: 'nvme', group: 5, reset: 'flr bus'},
  {bdf: '0000:03:00.1', path: 'pci0000:00/0000:00:1d.0/0000:03:00.1', vendor: 0x1b21, device: 0x0612, classCode: 0x010601, driver: 'ahci', group: 5, reset: 'bus'},
]

export const DESKTOP_GROUPS = [
  {id: 0, type: 'DMA-FQ', reservedRegions: '0x000000007c000000 0x00000000807fffff direct-relaxable\n0x00000000fee00000 0x00000000feefffff msi\n'},
  {id: 1, type: 'DMA-FQ', reservedRegions: '0x00000000fee00000 0x00000000feefffff msi\n'},
  {id: 2, type: 'DMA-FQ', reservedRegions: '0x00000000fee00000 0x00000000feefffff msi\n'},
  {id: 5, type: 'DMA-FQ', reservedRegions: '0x00000000fee00000 0x00000000feefffff msi\n'},
  {id: 6, type: 'DMA-FQ', reservedRegions: '0x00000000fee00000 0x00000000feefffff msi\n'},
]

export const DESKTOP_UNITS = [
  {name: 'dmar0', cap: '1c0000c40660462', ecap: '7e3ff0501e'},
  {name: 'dmar1', cap: 'd2008c40660462', ecap: 'f050da'},
]

export const IR_INTERRUPTS = `           CPU0       CPU1
   0:         37          0  IR-IO-APIC    2-edge      timer
   8:          0          0  IR-IO-APIC    8-edge      rtc0
 120:          0          0  DMAR-MSI    0-edge      dmar0
 121:          0          0  DMAR-MSI    1-edge      dmar1
 122:       1203          0  IR-PCI-MSIX-0000:03:00.0    0-edge      nvme0q0
`

export function fakeHostEntries(spec: FakeHost): Record<string, MemEntry> {
  const e: Record<string, MemEntry> = {}
  const vendor = spec.cpu ?? 'intel'
  e['/proc/cmdline'] = `${spec.cmdline ?? 'BOOT_IMAGE=/boot/vmlinuz-6.8.0-45-generic root=UUID=3c195828 ro quiet'}\n`
  e['/proc/cpuinfo'] = `processor\t: 0\nvendor_id\t: ${vendor === 'intel' ? 'GenuineIntel' : 'AuthenticAMD'}\nmodel name\t: test CPU\nflags\t\t: ${spec.cpuFlags ?? (vendor === 'intel' ? INTEL_FLAGS : AMD_FLAGS)}\n\n`
  e['/proc/sys/kernel/osrelease'] = `${spec.kernel ?? '6.8.0-45-generic'}\n`
  e['/proc/version'] = `Linux version ${spec.kernel ?? '6.8.0-45-generic'}\n`
  e['/proc/interrupts'] = spec.interrupts ?? IR_INTERRUPTS
  e['/proc/mounts'] = spec.mounts ?? 'sysfs /sys sysfs rw 0 0\n/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n'
  e['/proc/net/route'] = spec.route ?? 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neno1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\neno1\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n'
  const dmar = spec.dmar ?? (vendor === 'intel' ? B660_DMAR : 'absent')
  if (dmar !== 'absent') e['/sys/firmware/acpi/tables/DMAR'] = dmar
  if (spec.ivrs) e['/sys/firmware/acpi/tables/IVRS'] = new Uint8Array(48)
  const units = spec.units ?? (vendor === 'intel' ? DESKTOP_UNITS : [{name: 'ivhd0', vendor: 'amd' as const, cap: '190100', ecap: '58f77ef22294ada'}])
  if (units.length === 0) e['/sys/class/iommu'] = {dir: true}
  for (const unit of units) {
    const sub = unit.vendor === 'amd' ? 'amd-iommu' : 'intel-iommu'
    const base = `/sys/class/iommu/${unit.name}`
    if (unit.cap !== undefined) e[`${base}/${sub}/cap`] = `${unit.cap}\n`
    if (unit.ecap !== undefined) e[`${base}/${sub}/${unit.vendor === 'amd' ? 'features' : 'ecap'}`] = `${unit.ecap}\n`
    e[`${base}/devices`] = {dir: true}
  }
  const groups = spec.groups ?? DESKTOP_GROUPS
  if (groups.length === 0) e['/sys/kernel/iommu_groups'] = {dir: true}
  const devices = spec.devices ?? DESKTOP_DEVICES
  for (const group of groups) {
    const dir = `/sys/kernel/iommu_groups/${group.id}`
    if (group.type !== undefined) e[`${dir}/type`] = `${group.type}\n`
    if (group.reservedRegions !== undefined) e[`${dir}/reserved_regions`] = group.reservedRegions
    e[`${dir}/devices`] = {dir: true}
    for (const d of devices.filter((d) => d.group === group.id)) e[`${dir}/devices/${d.bdf}`] = {link: `../../../../devices/${d.path}`}
  }
  for (const d of devices) {
    const dir = `/sys/devices/${d.path}`
    e[`/sys/bus/pci/devices/${d.bdf}`] = {link: `../../../devices/${d.path}`}
    e[`${dir}/vendor`] = `0x${d.vendor.toString(16).padStart(4, '0')}\n`
    e[`${dir}/device`] = `0x${d.device.toString(16).padStart(4, '0')}\n`
    e[`${dir}/class`] = `0x${d.classCode.toString(16).padStart(6, '0')}\n`
    e[`${dir}/config`] = d.config ?? configHeader(d.vendor, d.device, d.classCode, 256, d.classCode >> 8 === 0x0604 ? 1 : 0)
    if (d.driver) e[`${dir}/driver`] = {link: `../../../../bus/pci/drivers/${d.driver}`}
    if (d.group !== undefined) e[`${dir}/iommu_group`] = {link: `../../../../kernel/iommu_groups/${d.group}`}
    if (d.reset !== undefined) e[`${dir}/reset_method`] = `${d.reset}\n`
    if (d.bootVga !== undefined) e[`${dir}/boot_vga`] = d.bootVga ? '1\n' : '0\n'
    for (const [i, vf] of (d.virtfns ?? []).entries()) e[`${dir}/virtfn${i}`] = {link: `../${vf}`}
    if (d.physfn) e[`${dir}/physfn`] = {link: `../${d.physfn}`}
    if (d.unit) e[`${dir}/iommu`] = {link: `../../virtual/iommu/${d.unit}`}
  }
  // The boot disk and the default-route NIC, as sysfs class links (their text names the PCI path).
  e['/sys/class/block/nvme0n1p2'] = {link: '../../devices/pci0000:00/0000:00:1d.0/0000:03:00.0/nvme/nvme0/nvme0n1/nvme0n1p2'}
  e['/sys/class/net/eno1'] = {link: '../../devices/pci0000:00/0000:00:1f.6/net/eno1'}
  Object.assign(e, spec.extra ?? {})
  return e
}

/** null: the log exists but may not be read (dmesg_restrict). */
export function fakeLog(text: string | null): Read<string> {
  return text === null
    ? {ok: false, reason: 'unreadable', path: 'dmesg', message: 'kernel.dmesg_restrict=1: reading the kernel log needs root'}
    : {ok: true, value: text, path: 'dmesg'}
}

export function readSharedLog(name: string): string {
  return readFileSync(path.join(realData, 'dmesg', name), 'utf8')
}

export const HEALTHY_LOG = `[    0.010000] DMAR: Host address width 39
[    0.010000] DMAR: DRHD base: 0x000000fed90000 flags: 0x0
[    0.010000] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap 1c0000c40660462 ecap 7e3ff0501e
[    0.010000] DMAR: DRHD base: 0x000000fed91000 flags: 0x1
[    0.010000] DMAR: dmar1: reg_base_addr fed91000 ver 1:0 cap d2008c40660462 ecap f050da
[    0.010000] DMAR-IR: Enabled IRQ remapping in x2apic mode
[    0.500000] iommu: Default domain type: Translated
[    0.500000] iommu: DMA domain TLB invalidation policy: lazy mode
[    0.900000] DMAR: Intel(R) Virtualization Technology for Directed I/O
`

export function contextFor(spec: FakeHost, log: string | null = HEALTHY_LOG, devices: string[] = []): AssessmentContext {
  const fs = memHostFs(fakeHostEntries(spec))
  return assessmentContext(buildHostModel({collected: collectHost(fs), log: fakeLog(log)}), {devices})
}
