/** IOMMU groups from /sys/kernel/iommu_groups: members, default domain type, reserved regions. */
import type {HostFs} from '../host/fs.js'
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
      const devices = note(fs.listDir(`${dir}/devices`), misses) ?? []
      return new SysfsGroup(id, devices, readTrimmed(fs, `${dir}/type`, misses), () => note(fs.readText(`${dir}/reserved_regions`), misses))
    })
}

/**
 * A group whose `reserved_regions` is read when first asked for (`check` reads every group's,
 * `groups` none) and kept. A class, so every group keeps one hidden class.
 */
class SysfsGroup implements CollectedGroup {
  readonly #readRegions: () => string | undefined
  #regions: {text: string | undefined} | undefined

  constructor(
    readonly id: number,
    readonly devices: string[],
    readonly type: string | undefined,
    readRegions: () => string | undefined,
  ) {
    this.#readRegions = readRegions
  }

  get reservedRegions(): string | undefined {
    this.#regions ??= {text: this.#readRegions()}
    return this.#regions.text
  }

  set reservedRegions(text: string | undefined) {
    this.#regions = {text}
  }
}
