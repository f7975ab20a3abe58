/**
 * The README's sample outputs are the tool's real output (issue 12): every block between
 * `<!-- sample: … -->` markers is what the built CLI prints now on the committed snapshots
 * (scripts/readme-samples.mjs regenerates them; device names come from the system's pci.ids,
 * which scripts/setup.sh installs with pciutils).
 */
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {keepLines, README, regenerate, sampleFor, sampleMarkers} from '../scripts/readme-samples.mjs'

describe('README samples', () => {
  const current = readFileSync(README, 'utf8')

  it('every sample block is what the tool prints now (run `node scripts/readme-samples.mjs` after changing output)', () => {
    const markers = sampleMarkers(current)
    expect(markers.length).toBeGreaterThanOrEqual(6)
    for (const command of ['check', 'device', 'groups', 'faults', 'replay', 'diff']) expect(markers.some((m: string) => m.startsWith(`${command} `))).toBe(true)
    expect(regenerate(current)).toBe(current)
  })

  it('a stale sample is caught: the check sees a changed line', () => {
    const marker = sampleMarkers(current)[0] as string
    const fresh = sampleFor(marker)
    const stale = fresh.replace(/\n```\n<!-- \/sample -->$/, '\nsomething the tool no longer prints\n```\n<!-- /sample -->')
    expect(regenerate(stale)).toBe(fresh)
  })

  it('keep: lines, ranges, the last line and /patterns/ with context, "…" for what is left out', () => {
    const lines = ['a', 'b', 'c', 'd', 'e', 'f']
    expect(keepLines(lines, '1-2 /d/+1 -1')).toEqual(['a', 'b', '…', 'd', 'e', 'f'])
    expect(keepLines(lines, '/c/')).toEqual(['…', 'c', '…'])
    expect(() => keepLines(lines, '/zzz/')).toThrow(/no line matches/)
  })
})
