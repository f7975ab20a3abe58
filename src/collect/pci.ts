/** PCI devices from /sys/bus/pci/devices: ids, config bytes, links, SR-IOV and link state. */
import {joinHostPath, type HostDirectory, type HostFs, type Read} from '../host/fs.js'
import {basename, intOf, note} from './sysfs.js'
import type {CollectedPciDetails, CollectedPciDevice, Miss} from './types.js'

export const PCI_DEVICES_DIR = '/sys/bus/pci/devices'
const BDF = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i

export function collectPciDevices(fs: HostFs, misses: Miss[]): CollectedPciDevice[] {
  const names = note(fs.listDir(PCI_DEVICES_DIR), misses) ?? []
  return names.filter((name) => BDF.test(name)).map((bdf) => collectPciDevice(fs, bdf, misses))
}

function collectPciDevice(fs: HostFs, bdf: string, misses: Miss[]): CollectedPciDevice {
  const dir = `${PCI_DEVICES_DIR}/${bdf}`
  const sysfsPath = devicePath(fs, dir)
  // Resolved and listed once: the listing answers every absent attribute without an open.
  const listed = fs.directory(dir)
  const attrs: HostDirectory = listed.ok ? listed.value : byPath(fs, dir)
  const text = (name: string) => note(attrs.readText(name), misses)?.trim()
  const int = (name: string) => intOf(text(name))
  const linkName = (name: string) => {
    const link = note(attrs.readLink(name), misses)
    return link === undefined ? undefined : basename(link)
  }
  const parent = basename(sysfsPath.slice(0, sysfsPath.lastIndexOf('/')))
  const config = attrs.readBytes('config')
  // A non-root reader gets 64 bytes, not a miss; a config the guard refused (a FIFO, a link out) is one.
  if (!config.ok && config.refused !== undefined) note(config, misses)
  const header = config.ok ? headerIdentity(config.value) : undefined
  const totalVfs = int('sriov_totalvfs')
  const virtfns = attrs
    .namesStartingWith('virtfn')
    .filter((name) => /^virtfn\d+$/.test(name))
    .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
    .map(linkName)
    .filter((name): name is string => name !== undefined)
  const bootVga = int('boot_vga')
  const removable = attrs.readText('removable')
  const device: Omit<CollectedPciDevice, LazyDeviceFact> = {
    bdf,
    sysfsPath,
    parentBdf: BDF.test(parent) ? parent : undefined,
    vendor: header?.vendor ?? int('vendor'),
    device: header?.device ?? int('device'),
    subsystemVendor: header?.subsystemVendor ?? int('subsystem_vendor'),
    subsystemDevice: header?.subsystemDevice ?? int('subsystem_device'),
    classCode: header?.classCode ?? int('class'),
    revision: header?.revision ?? int('revision'),
    config,
    driver: linkName('driver'),
    iommuGroup: numberOrUndefined(linkName('iommu_group')),
    sriov:
      totalVfs === undefined
        ? undefined
        : {
            totalVfs,
            numVfs: int('sriov_numvfs'),
            offset: int('sriov_offset'),
            stride: int('sriov_stride'),
            vfDevice: intOf(text('sriov_vf_device'), 16),
          },
    physfn: linkName('physfn'),
    virtfns,
    bootVga: bootVga === undefined ? undefined : bootVga === 1,
    ...(removable.ok ? {removable: removable.value.trim() === 'removable'} : {}),
  }
  let details: CollectedPciDetails | undefined
  device.details = () => {
    if (details === undefined) {
      const ari = int('ari_enabled')
      details = {
        numaNode: int('numa_node'),
        link: {
          currentSpeed: text('current_link_speed'),
          currentWidth: int('current_link_width'),
          maxSpeed: text('max_link_speed'),
          maxWidth: int('max_link_width'),
        },
        ariEnabled: ari === undefined ? undefined : ari === 1,
      }
    }
    return details
  }
  // Read on first use (memoised): only the device checks and views ask, for the devices they show.
  return new SysfsPciDevice(device, (name) => {
    if (name === 'driverOverride') return nonNull(text('driver_override'))
    // The AMD IOMMU's own PCI function holds the unit's class directory (iommu/ivhdN), not a link to it.
    if (name === 'iommuUnit') return iommuLinkName(fs, attrs, misses)
    const reset = attrs.readText('reset_method')
    return reset.ok ? {...reset, value: reset.value.trim().split(/\s+/).filter(Boolean)} : reset
  })
}

type LazyDeviceFact = 'driverOverride' | 'iommuUnit' | 'resetMethod'

/**
 * A collected device whose rarely read facts (`driver_override`, `reset_method`, the `iommu`
 * link) are read when first asked for and kept; assigning one still works. A class: its getters
 * sit on the prototype, so every device keeps one hidden class (a getter in an object literal
 * makes each object a dictionary, per-object accessors give each its own map).
 */
// The eager fields, assigned in the constructor.
interface SysfsPciDevice extends Omit<CollectedPciDevice, LazyDeviceFact> {}
class SysfsPciDevice implements CollectedPciDevice {
  readonly #read: (fact: LazyDeviceFact) => unknown
  readonly #facts: Partial<Record<LazyDeviceFact, {value: unknown}>> = {}

  constructor(eager: Omit<CollectedPciDevice, LazyDeviceFact>, read: (fact: LazyDeviceFact) => unknown) {
    Object.assign(this, eager)
    this.#read = read
  }

  #fact(name: LazyDeviceFact): unknown {
    return (this.#facts[name] ??= {value: this.#read(name)}).value
  }

  get driverOverride(): string | undefined {
    return this.#fact('driverOverride') as string | undefined
  }

  set driverOverride(value: string | undefined) {
    this.#facts.driverOverride = {value}
  }

  get iommuUnit(): string | undefined {
    return this.#fact('iommuUnit') as string | undefined
  }

  set iommuUnit(value: string | undefined) {
    this.#facts.iommuUnit = {value}
  }

  get resetMethod(): Read<string[]> {
    return this.#fact('resetMethod') as Read<string[]>
  }

  set resetMethod(value: Read<string[]>) {
    this.#facts.resetMethod = {value}
  }
}

/** A device directory that could not be listed: each attribute is read by its path (and fails or not on its own). */
function byPath(fs: HostFs, dir: string): HostDirectory {
  return {
    path: dir,
    names: () => [],
    namesStartingWith: () => [],
    readText: (name) => fs.readText(`${dir}/${name}`),
    readBytes: (name) => fs.readBytes(`${dir}/${name}`),
    readLink: (name) => fs.readLink(`${dir}/${name}`),
  }
}

/**
 * The ids the kernel copied from the config header into `vendor`, `device`, `class`, `revision`
 * and `subsystem_*` at enumeration, taken from the config bytes read anyway (six opens fewer per
 * function). Only where the header says them itself: the bytes must hold the header (64 bytes,
 * what any reader gets) and not read all-ones in the vendor word (an SR-IOV VF, whose ids the
 * kernel takes from its PF, or a function that is gone); subsystem ids from the type 0 header or,
 * on a bridge, its Subsystem ID capability. Everything else is read from its file.
 */
function headerIdentity(config: Uint8Array): Partial<Record<'vendor' | 'device' | 'subsystemVendor' | 'subsystemDevice' | 'classCode' | 'revision', number>> | undefined {
  if (config.length < 0x40) return undefined
  const word = (at: number) => (config[at] ?? 0) | ((config[at + 1] ?? 0) << 8)
  const vendor = word(0x00)
  if (vendor === 0xffff) return undefined
  const layout = (config[0x0e] ?? 0) & 0x7f
  const subsystem = layout === 0 ? 0x2c : layout === 1 ? bridgeSubsystemAt(config) : undefined
  return {
    vendor,
    device: word(0x02),
    revision: config[0x08],
    classCode: ((config[0x0b] ?? 0) << 16) | ((config[0x0a] ?? 0) << 8) | (config[0x09] ?? 0),
    ...(subsystem === 0 ? {subsystemVendor: 0, subsystemDevice: 0} : subsystem !== undefined ? {subsystemVendor: word(subsystem), subsystemDevice: word(subsystem + 2)} : {}),
  }
}

/**
 * Where a bridge's subsystem ids are: the kernel reads them from the Subsystem ID capability
 * (0x0d, ids at +4) and leaves them 0 without one (0 here). Undefined when the capability list
 * is not all readable (a non-root reader's 64 bytes): then the files tell.
 */
function bridgeSubsystemAt(config: Uint8Array): number | undefined {
  if (config.length < 0x100) return undefined
  if (((config[0x06] ?? 0) & 0x10) === 0) return 0
  let at = (config[0x34] ?? 0) & 0xfc
  // At most 48 capabilities fit in the 192 bytes after the header (the kernel's own walk bound).
  for (let seen = 0; at >= 0x40 && seen < 48; seen++) {
    if (config[at] === 0x0d) return at + 4
    at = (config[at + 1] ?? 0) & 0xfc
  }
  return at === 0 ? 0 : undefined
}

/**
 * Where the device lives under /sys/devices. The bus entry is one relative link straight to it
 * (the kernel makes no links inside /sys/devices), so reading that link is enough; a full realpath
 * would stat every component of the path, for every device. Anything else (an entry that is a
 * directory, an odd target) takes the realpath.
 */
function devicePath(fs: HostFs, dir: string): string {
  const link = fs.readLink(dir)
  if (link.ok && link.value.startsWith('../')) {
    const target = joinHostPath(PCI_DEVICES_DIR, link.value)
    if (target.startsWith('/sys/devices/')) return target
  }
  const resolved = fs.realPath(dir)
  return resolved.ok ? resolved.value : dir
}

function nonNull(text: string | undefined): string | undefined {
  return text === undefined || text === '' || text === '(null)' ? undefined : text
}

function numberOrUndefined(text: string | undefined): number | undefined {
  const value = text === undefined ? Number.NaN : Number(text)
  return Number.isInteger(value) ? value : undefined
}

/**
 * The unit a device is translated by (its `iommu` link). The AMD IOMMU's own PCI function holds
 * the unit's class directory there (iommu/ivhdN) instead of a link: nothing missing, no unit.
 */
function iommuLinkName(fs: HostFs, attrs: HostDirectory, misses: Miss[]): string | undefined {
  const link = attrs.readLink('iommu')
  if (!link.ok && fs.isDirectory(`${attrs.path}/iommu`)) return undefined
  return link.ok ? basename(link.value) : note(link, misses)
}
