/**
 * Which PCI devices the host itself depends on: the disk holding `/`, the NIC carrying the
 * default route, the firmware console GPU. Passing any of them through takes it from the host
 * (PVE-Tools-9#98: the boot NVMe grabbed by vfio-pci). Read through HostFs so a snapshot answers
 * the same as the live host.
 */
import type {HostFs} from '../host/fs.js'

const BDF_IN_PATH = /[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/gi

export type HostRole = 'boot-disk' | 'default-route-nic' | 'console-gpu'

export interface HostRoleDevice {
  bdf: string
  role: HostRole
  /** How we know, e.g. "/ is /dev/nvme0n1p2 (259:2) → /sys/dev/block/259:2". */
  via: string
}

export interface HostRoles {
  devices: HostRoleDevice[]
  /** Roles we looked for and could not resolve, with the reason (shown as evidence). */
  unresolved: Array<{role: HostRole; why: string; /** The files that would tell are missing (a thin snapshot), rather than the role being non-PCI. */ missingData: boolean}>
  /** Every path read, for provenance and for the capture's file list. */
  sources: string[]
}

/** The PCI function that owns a sysfs device path: the last BDF component on it. */
export function owningBdf(sysfsPath: string): string | undefined {
  const all = sysfsPath.match(BDF_IN_PATH)
  return all?.[all.length - 1]?.toLowerCase()
}

/**
 * The BDF a sysfs class link points into. The link's own text names the device path
 * (`../../devices/pci0000:00/0000:00:02.0/virtio1/block/vda`), so a snapshot that kept only
 * the link answers like the live host; the resolved path is the fallback.
 */
function linkedBdf(fs: HostFs, path: string): string | undefined {
  const link = fs.readLink(path)
  if (link.ok && owningBdf(link.value)) return owningBdf(link.value)
  const real = fs.realPath(path)
  return real.ok ? owningBdf(real.value) : undefined
}

/**
 * What the role detection reads, so a capture can copy it and `--root` agrees with the live host:
 * files, and class LINKS (kept as links: their target text names the PCI device).
 */
export const HOST_ROLE_INPUTS = {
  files: ['/proc/mounts', '/proc/self/mountinfo', '/proc/net/route', '/proc/net/ipv6_route'],
  /** Every entry of these directories is a link to copy as a link. */
  linkDirs: ['/sys/class/block', '/sys/class/net'],
  /** Per-entry extras for stacked devices: dm name, md/dm slaves, bridge ports, bond/VLAN lowers. */
  perEntry: ['/sys/class/block/*/dm/name', '/sys/class/block/*/slaves/*', '/sys/class/net/*/brif/*', '/sys/class/net/*/lower_*'],
} as const

interface RootMount {
  majorMinor?: string
  device: string
  source: string
}

function rootMount(fs: HostFs): RootMount | undefined {
  // /proc/mounts first: it is what a capture copies, so --root answers like the live host.
  // The last "/" entry wins (a real root mounted over the initial rootfs).
  const mounts = fs.readText('/proc/mounts')
  if (mounts.ok) {
    const fields = mounts.value
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[1] === '/')
      .pop()
    if (fields?.[0]) return {device: fields[0], source: '/proc/mounts'}
  }
  const info = fs.readText('/proc/self/mountinfo')
  if (info.ok) {
    // mountinfo: id parent major:minor root mountpoint opts … - fstype source superopts
    const line = info.value.split('\n').find((l) => l.split(' ')[4] === '/')
    if (line) {
      const fields = line.split(' ')
      const dash = fields.indexOf('-')
      return {majorMinor: fields[2], device: fields[dash + 2] ?? '?', source: '/proc/self/mountinfo'}
    }
  }
  return undefined
}

/** /dev/mapper/NAME → dm-N, through /sys/class/block/dm-N/dm/name. */
function mapperDevice(fs: HostFs, name: string): string | undefined {
  const blocks = fs.listDir('/sys/class/block')
  if (!blocks.ok) return undefined
  return blocks.value.filter((b) => b.startsWith('dm-')).find((b) => {
    const read = fs.readText(`/sys/class/block/${b}/dm/name`)
    return read.ok && read.value.trim() === name
  })
}

function mountinfoRoot(fs: HostFs): string | undefined {
  const info = fs.readText('/proc/self/mountinfo')
  if (!info.ok) return undefined
  const line = info.value.split('\n').find((l) => l.split(' ')[4] === '/')
  const majorMinor = line?.split(' ')[2]
  return majorMinor && !majorMinor.startsWith('0:') ? majorMinor : undefined
}

/** Block device → PCI functions, following device-mapper/md `slaves` down to the disks. */
function blockDeviceBdfs(fs: HostFs, sysPath: string, depth = 0): string[] {
  if (depth > 6) return []
  const own = linkedBdf(fs, sysPath)
  if (own) return [own]
  const slaves = fs.listDir(`${sysPath}/slaves`)
  if (!slaves.ok) return []
  return slaves.value.flatMap((name) => blockDeviceBdfs(fs, `/sys/class/block/${name}`, depth + 1))
}

function findBootDisk(fs: HostFs, roles: HostRoles): void {
  const root = rootMount(fs)
  if (!root) {
    roles.unresolved.push({role: 'boot-disk', why: 'neither /proc/mounts nor /proc/self/mountinfo lists "/"', missingData: true})
    return
  }
  roles.sources.push(root.source)
  const candidates: string[] = []
  if (root.device.startsWith('/dev/mapper/')) {
    const dm = mapperDevice(fs, root.device.slice('/dev/mapper/'.length))
    if (dm) candidates.push(`/sys/class/block/${dm}`)
  } else if (root.device.startsWith('/dev/')) candidates.push(`/sys/class/block/${root.device.slice(5)}`)
  const majorMinor = root.majorMinor ?? mountinfoRoot(fs)
  if (majorMinor) candidates.push(`/sys/dev/block/${majorMinor}`)
  for (const path of candidates) {
    const bdfs = [...new Set(blockDeviceBdfs(fs, path))]
    if (bdfs.length > 0) {
      roles.sources.push(path)
      for (const bdf of bdfs) roles.devices.push({bdf, role: 'boot-disk', via: `/ is ${root.device}${root.majorMinor ? ` (${root.majorMinor})` : ''} → ${path}`})
      return
    }
  }
  const seen = candidates.some((path) => fs.readLink(path).ok || fs.isDirectory(path))
  roles.unresolved.push(
    seen
      ? {role: 'boot-disk', why: `/ is ${root.device}, which is not backed by a PCI device`, missingData: false}
      : root.device.startsWith('/dev/')
        ? {role: 'boot-disk', why: `/ is ${root.device}, but ${candidates.join(' / ')} is missing`, missingData: true}
        : {role: 'boot-disk', why: `/ is ${root.device} (not a block device)`, missingData: false},
  )
}

function defaultRouteInterfaces(fs: HostFs, roles: HostRoles): string[] {
  const ifaces = new Set<string>()
  const v4 = fs.readText('/proc/net/route')
  if (v4.ok) {
    roles.sources.push('/proc/net/route')
    for (const line of v4.value.split('\n').slice(1)) {
      const [iface, destination, , , , , , mask] = line.trim().split(/\s+/)
      if (iface && destination === '00000000' && mask === '00000000') ifaces.add(iface)
    }
  }
  const v6 = fs.readText('/proc/net/ipv6_route')
  if (v6.ok) {
    roles.sources.push('/proc/net/ipv6_route')
    for (const line of v6.value.split('\n')) {
      const fields = line.trim().split(/\s+/)
      const iface = fields[9]
      if (fields[0] === '0'.repeat(32) && fields[1] === '00' && iface && iface !== 'lo') ifaces.add(iface)
    }
  }
  return [...ifaces]
}

/** A NIC, or the physical ports under a bridge/bond/VLAN (vmbr0 on Proxmox, bond0, eth0.100). */
function interfaceBdfs(fs: HostFs, iface: string, depth = 0): string[] {
  if (depth > 4) return []
  const dir = `/sys/class/net/${iface}`
  const own = linkedBdf(fs, dir) ?? linkedBdf(fs, `${dir}/device`)
  if (own) return [own]
  const entries = fs.listDir(dir)
  const lowers = entries.ok ? entries.value.filter((name) => name.startsWith('lower_')).map((name) => name.slice(6)) : []
  const ports = fs.listDir(`${dir}/brif`)
  const members = [...lowers, ...(ports.ok ? ports.value : [])]
  return members.flatMap((member) => interfaceBdfs(fs, member, depth + 1))
}

function findDefaultRouteNic(fs: HostFs, roles: HostRoles): void {
  const ifaces = defaultRouteInterfaces(fs, roles)
  if (ifaces.length === 0) {
    roles.unresolved.push({role: 'default-route-nic', why: 'no default route in /proc/net/route or /proc/net/ipv6_route', missingData: false})
    return
  }
  for (const iface of ifaces) {
    const bdfs = [...new Set(interfaceBdfs(fs, iface))]
    const seen = fs.readLink(`/sys/class/net/${iface}`).ok || fs.isDirectory(`/sys/class/net/${iface}`)
    if (bdfs.length === 0)
      roles.unresolved.push(
        seen
          ? {role: 'default-route-nic', why: `default route via ${iface}, which is not backed by a PCI device`, missingData: false}
          : {role: 'default-route-nic', why: `default route via ${iface}, but /sys/class/net/${iface} is missing`, missingData: true},
      )
    for (const bdf of bdfs) roles.devices.push({bdf, role: 'default-route-nic', via: `default route via ${iface} → /sys/class/net/${iface}`})
    roles.sources.push(`/sys/class/net/${iface}`)
  }
}

export function findHostRoles(fs: HostFs, bootVga: string[]): HostRoles {
  const roles: HostRoles = {devices: [], unresolved: [], sources: []}
  findBootDisk(fs, roles)
  findDefaultRouteNic(fs, roles)
  for (const bdf of bootVga) roles.devices.push({bdf, role: 'console-gpu', via: `/sys/bus/pci/devices/${bdf}/boot_vga = 1`})
  return roles
}

export const ROLE_WORDS: Record<HostRole, string> = {
  'boot-disk': 'the disk holding /',
  'default-route-nic': 'the NIC with the default route',
  'console-gpu': 'the firmware console GPU (boot_vga)',
}
