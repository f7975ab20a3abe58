import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {fitToWidth} from '../src/report/fit-width.js'

const width = (line: string) => [...line].length

describe('prose fits the terminal (fitToWidth)', () => {
  it('wraps a long line at word boundaries, every piece within the width, no word lost', () => {
    const line = 'host: /work/main/sysfs-fixtures/lab-iommu-on · kernel 6.1.0-56-amd64 · CPU amd · IOMMU intel-vtd (Intel VT-d) · virtual machine'
    const out = fitToWidth(line, 60).split('\n')
    expect(out.length).toBeGreaterThan(1)
    for (const piece of out) expect(width(piece)).toBeLessThanOrEqual(60)
    expect(out.join(' ').split(/\s+/)).toEqual(line.split(/\s+/))
  })

  it('hangs a tree line or list item under its own text', () => {
    const line = '   ├─ endpoint 00:00.0 → 0000:00:00.0 Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller [8086:29c0]'
    const [first, ...rest] = fitToWidth(line, 70).split('\n')
    expect(first.startsWith('   ├─ endpoint')).toBe(true)
    for (const piece of rest) expect(piece.startsWith(' '.repeat('   ├─ '.length))).toBe(true)
    expect(rest.at(-1)).toMatch(/\[8086:29c0\]$/)
  })

  it('leaves table rows, short lines and empty lines as they are', () => {
    const table = '│ dma-remapping │ pass │ ' + 'x'.repeat(120) + ' │'
    const text = ['short', '', table, '┌──────┐'].join('\n')
    expect(fitToWidth(text, 40)).toBe(text)
  })

  it('keeps colour sequences out of the width and intact', () => {
    const line = '\u001B[31m✘ FAIL\u001B[39m ' + 'word '.repeat(30).trim()
    const out = fitToWidth(line, 40).split('\n')
    // eslint-disable-next-line no-control-regex
    for (const piece of out) expect(width(piece.replace(/\u001B\[[0-9;]*m/g, ''))).toBeLessThanOrEqual(40)
    expect(out[0].startsWith('\u001B[31m✘ FAIL\u001B[39m')).toBe(true)
  })

  it('cuts a word wider than the line rather than overflowing it', () => {
    const out = fitToWidth('path: ' + 'a'.repeat(100), 30).split('\n')
    for (const piece of out) expect(width(piece)).toBeLessThanOrEqual(30)
    expect(out.join('').replace(/\s/g, '')).toBe('path:' + 'a'.repeat(100))
  })
})

describe('every command fits a real terminal (run under script(1), a pseudo-terminal)', () => {
  const commands = [
    'check -v --root sysfs-fixtures/lab-iommu-on',
    'dmar -v --root sysfs-fixtures/lab-iommu-on',
    'groups --root sysfs-fixtures/lab-switch',
    'faults --root sysfs-fixtures/lab-dma-faults',
    'device --tree --root sysfs-fixtures/lab-switch',
    'units --root sysfs-fixtures/lab-amd-vi',
    'ivrs --root sysfs-fixtures/lab-amd-vi',
    'iort --root sysfs-fixtures/lab-smmuv3',
  ]
  it.each(commands)('%s at COLUMNS=80', (command) => {
    const run = spawnSync('script', ['-qec', `node bin/run.js ${command}`, '/dev/null'], {
      env: {...process.env, COLUMNS: '80', NO_COLOR: '1'},
      encoding: 'utf8',
    })
    expect(run.status === 0 || run.status === 1).toBe(true) // a verdict or faults found, not an error
    const out = run.stdout
    // eslint-disable-next-line no-control-regex
    const lines = out.replace(/\r/g, '').replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '').split('\n')
    expect(lines.length).toBeGreaterThan(3)
    expect(lines.filter((line) => width(line) > 80)).toEqual([])
  })
})
