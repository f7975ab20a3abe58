/**
 * `vtd-check replay` end to end: on a real-kernel lab snapshot (what-if tables), on a JSON
 * description, and with bad input (usage errors, never stack traces).
 */
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Replay from '../commands/replay.js'
import type {ReplayReport} from '../src/report/replay.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const output = captureCommandOutput()

const run = (args: string[]): Promise<ReplayReport> => Replay.run(args, repoRoot) as Promise<ReplayReport>
const lab = (name: string) => path.join(fixturesDir, name)

describe('vtd-check replay', () => {
  it('names the level and reason of the lab\'s injected write fault (QEMU: level 3, kernel: 0x05)', async () => {
    // lab-dma-faults: "dma-write 0000:00:03.0 0x1000" → dmesg "[fault reason 0x05]"
    const r = await run(['--root', lab('lab-dma-faults'), '--device', '0000:00:03.0', '--address', '0x1000', '--write', '--json'])
    expect(r.tables).toBe('what-if')
    expect(r.outcome).toBe('fault')
    expect(r.fault).toMatchObject({reason: 0x05, level: 3, recorded: true})
    expect(r.steps.map((s) => s.kind)).toEqual(['root-entry', 'context-entry', 'sl-pte'])
    // context entry: TT=0 (translated domain), AW=1 (39-bit, the unit's only SAGAW width)
    expect(r.steps[1]?.fields).toMatchObject({present: '0x1', tt: '0x0', aw: '0x1'})
    expect(r.request).toEqual({requester: '0000:00:03.0', address: '0x1000', access: 'write'})
    // What-if tables hold no live IOVA mappings: the walk is hypothetical, so "could not tell".
    expect(process.exitCode).toBe(3)
    expect(JSON.parse(output.stdout).fault.reason).toBe(5)
  })

  it('prints the walk as a table with the verdict and the caveat', async () => {
    await run(['--root', lab('lab-scalable-mode'), '--device', '00:03.0', '--address', '0x3300000'])
    expect(output.stdout).toContain('scalable context entry for 0000:00:03.0')
    expect(output.stdout).toContain('PASID-table entry 0')
    expect(output.stdout).toMatch(/Result: FAULT reason 0x06 \(PTE Read access is not set\) at second-stage PDPE \(level 3\)/)
    expect(output.stdout).toContain('what-if')
    expect(output.stdout).toMatch(/Hypothetical: the walk is hypothetical.*exit 3/)
  })

  it('pass-through on the iommu=pt lab exits 0', async () => {
    const r = await run(['--root', lab('lab-passthrough'), '--device', '0000:00:03.0', '--address', '0x1000000', '--json'])
    expect([r.ok, r.outcome, r.hpa]).toEqual([true, 'pass-through', '0x1000000'])
    expect(process.exitCode).toBe(0)
  })

  it('replays on a JSON description with --tables', async () => {
    const dir = scratchDir('replay-')
    const file = path.join(dir, 'tables.json')
    writeFileSync(
      file,
      JSON.stringify({
        unit: {cap: '0xd2008c22260206', ecap: '0xf00f4a', haw: 39},
        domains: [{name: 'gpu', mappings: [{iova: '0x200000', hpa: '0x40000000', size: '0x200000'}]}],
        devices: [{bdf: '0000:02:00.0', domain: 'gpu'}],
      }),
    )
    const r = await run(['--tables', file, '--device', '02:00.0', '--address', '0x2abcde', '--json'])
    expect([r.tables, r.hpa, r.pageSize]).toEqual(['json', '0x400abcde', '0x200000'])
  })

  it('usage errors exit 2 with a message, not a stack trace', async () => {
    await expect(run(['--device', 'gpu', '--address', '0x1000', '--root', lab('lab-dma-faults')])).rejects.toMatchObject({
      message: expect.stringContaining('is not a PCI address'),
      oclif: {exit: 2},
    })
    await expect(run(['--device', '00:03.0', '--address', 'zz', '--root', lab('lab-dma-faults')])).rejects.toMatchObject({oclif: {exit: 2}})
    const dir = scratchDir('replay-')
    writeFileSync(path.join(dir, 'bad.json'), '{"unit": {"cap": "0x1"}}')
    await expect(run(['--tables', path.join(dir, 'bad.json'), '--device', '00:03.0', '--address', '0'])).rejects.toMatchObject({
      message: expect.stringContaining('unit.ecap'),
      oclif: {exit: 2},
    })
  })

  it('--stale-window: DMA-FQ groups get the lazy timeline, iommu.strict=1 groups the strict one', async () => {
    // lab-dma-faults: every group type is DMA-FQ (Debian 6.1 default: lazy)
    const lazy = await run(['--root', lab('lab-dma-faults'), '--device', '0000:00:03.0', '--address', '0x1000', '--stale-window', '--json'])
    expect(lazy.staleWindow).toMatchObject({domainType: 'DMA-FQ', policy: 'lazy'})
    expect(lazy.staleWindow?.timelines.map((t) => [t.policy, t.staleHits])).toEqual([
      ['strict', 0],
      ['lazy', 3],
    ])
    // lab-strict-domains: booted with iommu.strict=1, group type DMA
    output.stdout = ''
    await run(['--root', lab('lab-strict-domains'), '--device', '0000:00:03.0', '--address', '0x12345000', '--stale-window'])
    expect(output.stdout).toContain("This device's domain type is DMA: the strict timeline applies.")
    expect(output.stdout).toContain('lazy: 3 DMA(s) reached the freed page through the IOTLB until the flush at 10 ms')
  })

  it('a requester no unit serves is "could not tell" (exit 3)', async () => {
    const r = await run(['--root', lab('lab-iommu-off'), '--device', '0000:00:03.0', '--address', '0x1000', '--json'])
    expect(r.outcome).toBe('unknown')
    expect(process.exitCode).toBe(3)
  })
})
