/** collectHost: every collector over one HostFs, with the reads that failed for lack of permission. */
import type {HostFs, Read} from '../host/fs.js'
import {SNAPSHOT_META} from '../host/layout.js'
import {parseSnapshotMeta} from '../host/snapshot.js'
import {collectGroups} from './groups.js'
import {findHostRoles} from './host-roles.js'
import {collectPciDevices} from './pci.js'
import {collectPlatform, PLATFORM_FILES} from './platform.js'
import type {CollectedGroup, CollectedHost, Miss} from './types.js'
import {collectUnits} from './units.js'

/**
 * The IOMMU groups (a read of every group directory: on a large host a tenth of the work) are
 * collected when first asked for: `device --tree` never asks. Reading `misses` collects them
 * first, so whoever reports what could not be read sees the groups' misses as before.
 */
export function collectHost(fs: HostFs): CollectedHost {
  const misses: Miss[] = []
  const platform = collectPlatform(fs, misses)
  const pci = collectPciDevices(fs, misses)
  let groups: CollectedGroup[] | undefined
  const groupsNow = () => (groups ??= collectGroups(fs, misses))
  const units = collectUnits(fs, misses)
  const roles = findHostRoles(fs, pci.filter((d) => d.bootVga === true).map((d) => d.bdf))
  return {
    root: fs.root,
    platform,
    pci,
    get groups() {
      return groupsNow()
    },
    units,
    roles,
    thunderbolt: collectThunderbolt(fs),
    get misses() {
      groupsNow()
      return misses
    },
    ...collectCapture(fs),
  }
}

/** A snapshot's meta.json: whether it was captured as root decides the advice for what it lacks. */
function collectCapture(fs: HostFs): Pick<CollectedHost, 'capture'> {
  if (fs.root === '/') return {}
  const text = fs.readText(`/${SNAPSHOT_META}`)
  if (!text.ok) return {capture: {}}
  const meta = parseSnapshotMeta(text.value)
  return {capture: {...(meta.uid === undefined ? {} : {uid: meta.uid}), ...(meta.captureMethod ? {method: meta.captureMethod} : {}), ...(meta.capturedAt ? {capturedAt: meta.capturedAt} : {})}}
}

/**
 * No host at all: for PCI devices taken from an lspci dump of some other machine, every host
 * file reads as absent (the model then says "not in the dump" rather than guessing from here).
 */
export function collectNothing(source: string): CollectedHost {
  const absent = <T>(path: string): Read<T> => ({ok: false, reason: 'absent', path, message: `not part of ${source}`})
  return {
    root: source,
    platform: {
      cmdline: absent(PLATFORM_FILES.cmdline),
      cpuinfo: absent(PLATFORM_FILES.cpuinfo),
      kernelRelease: absent(PLATFORM_FILES.kernelRelease),
      kernelVersion: absent(PLATFORM_FILES.kernelVersion),
      interrupts: absent(PLATFORM_FILES.interrupts),
      dmarTable: absent(PLATFORM_FILES.dmarTable),
      ivrsTable: absent(PLATFORM_FILES.ivrsTable),
      iortTable: absent(PLATFORM_FILES.iortTable),
      devVfio: absent('/dev/vfio'),
      devVfioDevices: absent('/dev/vfio/devices'),
      devIommuPresent: false,
      allowUnsafeInterrupts: absent(PLATFORM_FILES.allowUnsafeInterrupts),
      hypervisorType: absent(PLATFORM_FILES.hypervisorType),
      dmi: {},
      groupsDir: absent('/sys/kernel/iommu_groups'),
      iommuClassDir: absent('/sys/class/iommu'),
      pciDir: absent('/sys/bus/pci/devices'),
    },
    pci: [],
    groups: [],
    units: [],
    roles: {devices: [], unresolved: [], sources: []},
    thunderbolt: [],
    misses: [],
  }
}

const THUNDERBOLT_DIR = '/sys/bus/thunderbolt/devices'

function collectThunderbolt(fs: HostFs): CollectedHost['thunderbolt'] {
  const list = fs.listDir(THUNDERBOLT_DIR)
  if (!list.ok) return []
  return list.value
    .filter((name) => /^domain\d+$/.test(name))
    .map((domain) => {
      const read = fs.readText(`${THUNDERBOLT_DIR}/${domain}/iommu_dma_protection`)
      return {domain, ...(read.ok ? {iommuDmaProtection: read.value.trim() === '1'} : {})}
    })
}

export type {CollectedHost} from './types.js'
