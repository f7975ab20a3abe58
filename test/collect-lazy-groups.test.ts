/**
 * The IOMMU groups are collected on first use (issue 15: `device --tree` on a large host never
 * needs them), yet nothing a report says changes: reading the misses collects them first. A
 * group's `reserved_regions` is read when a reader asks for its regions (`check` reads every
 * group's, `groups` none), and its miss is reported from then on.
 */
import {describe, expect, it} from 'vitest'
import {collectHost} from '../src/collect/index.js'
import {memHostFs, type MemEntry} from '../src/host/mem.js'

function host(): {fs: ReturnType<typeof memHostFs>; opened: string[]} {
  const entries: Record<string, MemEntry> = {
    '/sys/kernel/iommu_groups/3/devices/0000:00:02.0': {link: '../../../../devices/pci0000:00/0000:00:02.0'},
    '/sys/kernel/iommu_groups/3/type': 'DMA\n',
    '/sys/kernel/iommu_groups/3/reserved_regions': {unreadable: true},
    '/sys/kernel/iommu_groups/4/devices/0000:00:03.0': {link: '../../../../devices/pci0000:00/0000:00:03.0'},
    '/sys/kernel/iommu_groups/4/type': {unreadable: true},
    '/sys/kernel/iommu_groups/4/reserved_regions': '0x00000000fee00000 0x00000000feefffff msi\n',
    '/sys/devices/pci0000:00/0000:00:02.0/vendor': '0x8086\n',
  }
  const fs = memHostFs(entries)
  const opened: string[] = []
  const readText = fs.readText.bind(fs)
  fs.readText = (path: string) => {
    opened.push(path)
    return readText(path)
  }
  return {fs, opened}
}

describe('IOMMU groups collected on first use', () => {
  it('are not read until asked for, then read once', () => {
    const {fs, opened} = host()
    const collected = collectHost(fs)
    expect(opened.filter((p) => p.startsWith('/sys/kernel/iommu_groups/'))).toEqual([])
    expect(collected.groups.map((g) => g.id)).toEqual([3, 4])
    expect(collected.groups).toBe(collected.groups)
    expect(opened.filter((p) => p === '/sys/kernel/iommu_groups/3/type')).toHaveLength(1)
    expect(opened.filter((p) => p.endsWith('/reserved_regions'))).toEqual([])
    expect(collected.groups.map(({id, devices, type, reservedRegions}) => ({id, devices, type, reservedRegions}))).toEqual([
      {id: 3, devices: ['0000:00:02.0'], type: 'DMA', reservedRegions: undefined},
      {id: 4, devices: ['0000:00:03.0'], type: undefined, reservedRegions: '0x00000000fee00000 0x00000000feefffff msi\n'},
    ])
    expect(collected.groups[1]?.reservedRegions).toBe('0x00000000fee00000 0x00000000feefffff msi\n')
    expect(opened.filter((p) => p.endsWith('/reserved_regions')).sort()).toEqual(['/sys/kernel/iommu_groups/3/reserved_regions', '/sys/kernel/iommu_groups/4/reserved_regions'])
  })

  it('reading the misses first still reports an unreadable group file; reserved_regions once a reader asked for it', () => {
    const {fs} = host()
    const collected = collectHost(fs)
    expect(collected.misses.map((m) => m.path)).toContain('/sys/kernel/iommu_groups/4/type')
    expect(collected.misses.map((m) => m.path)).not.toContain('/sys/kernel/iommu_groups/3/reserved_regions')
    expect(collected.groups[0]?.type).toBe('DMA')
    expect(collected.groups[0]?.reservedRegions).toBeUndefined()
    expect(collected.misses.filter((m) => m.path === '/sys/kernel/iommu_groups/3/reserved_regions')).toHaveLength(1)
    expect(collected.groups[0]?.reservedRegions).toBeUndefined()
    expect(collected.misses.filter((m) => m.path === '/sys/kernel/iommu_groups/3/reserved_regions')).toHaveLength(1)
  })
})
