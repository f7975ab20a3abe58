/**
 * The IOMMU groups are collected on first use (issue 15: `device --tree` on a large host never
 * needs them), yet nothing a report says changes: reading the misses collects them first.
 */
import {describe, expect, it} from 'vitest'
import {collectHost} from '../src/collect/index.js'
import {memHostFs, type MemEntry} from '../src/host/mem.js'

function host(): {fs: ReturnType<typeof memHostFs>; opened: string[]} {
  const entries: Record<string, MemEntry> = {
    '/sys/kernel/iommu_groups/3/devices/0000:00:02.0': {link: '../../../../devices/pci0000:00/0000:00:02.0'},
    '/sys/kernel/iommu_groups/3/type': 'DMA\n',
    '/sys/kernel/iommu_groups/3/reserved_regions': {unreadable: true},
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
    expect(collected.groups).toEqual([{id: 3, devices: ['0000:00:02.0'], type: 'DMA', reservedRegions: undefined}])
    expect(collected.groups).toBe(collected.groups)
    expect(opened.filter((p) => p === '/sys/kernel/iommu_groups/3/type')).toHaveLength(1)
  })

  it('reading the misses first still reports an unreadable group file', () => {
    const {fs} = host()
    const collected = collectHost(fs)
    expect(collected.misses.map((m) => m.path)).toContain('/sys/kernel/iommu_groups/3/reserved_regions')
    expect(collected.groups[0]?.type).toBe('DMA')
  })
})
