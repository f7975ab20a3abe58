/** collectHost: every collector over one HostFs, with the reads that failed for lack of permission. */
import type {HostFs} from '../host/fs.js'
import {collectGroups} from './groups.js'
import {collectPciDevices} from './pci.js'
import {collectPlatform} from './platform.js'
import type {CollectedHost, Miss} from './types.js'
import {collectUnits} from './units.js'

export function collectHost(fs: HostFs): CollectedHost {
  const misses: Miss[] = []
  const platform = collectPlatform(fs, misses)
  const pci = collectPciDevices(fs, misses)
  const groups = collectGroups(fs, misses)
  const units = collectUnits(fs, misses)
  return {root: fs.root, platform, pci, groups, units, misses: dedupe(misses)}
}

function dedupe(misses: Miss[]): Miss[] {
  const seen = new Set<string>()
  return misses.filter((miss) => (seen.has(miss.path) ? false : (seen.add(miss.path), true)))
}

export type {CollectedHost} from './types.js'
