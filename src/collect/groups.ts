/** IOMMU groups from /sys/kernel/iommu_groups: members, default domain type, reserved regions. */
import type {HostFs} from '../host/fs.js'
import {lazyProperties} from './lazy.js'
import {note, readTrimmed} from './sysfs.js'
import type {CollectedGroup, Miss} from './types.js'

export const GROUPS_DIR = '/sys/kernel/iommu_groups'

export function collectGroups(fs: HostFs, misses: Miss[]): CollectedGroup[] {
  const ids = (note(fs.listDir(GROUPS_DIR), misses) ?? []).filter((name) => /^\d+$/.test(name))
  return ids
    .map(Number)
    .sort((a, b) => a - b)
    .map((id): CollectedGroup => {
      const dir = `${GROUPS_DIR}/${id}`
      const group = {id, devices: note(fs.listDir(`${dir}/devices`), misses) ?? [], type: readTrimmed(fs, `${dir}/type`, misses)}
      // Read on first use (memoised): `check` reads every group's, `groups` none.
      lazyRegions(group, () => note(fs.readText(`${dir}/reserved_regions`), misses))
      return group
    })
}

const lazyRegions = lazyProperties<'reservedRegions'>(['reservedRegions'])
