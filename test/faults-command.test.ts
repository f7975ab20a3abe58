/**
 * `vtd-check faults` end to end through oclif, on real-kernel lab snapshots (Debian 6.1 under
 * QEMU with emulated VT-d; each has lab-injected.txt: the DMA the guest really issued) and on the
 * shared real excerpts; plus the streaming layer (chunk borders, block scanning = line parsing).
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import Faults from '../commands/faults.js'
import {LogParser, parseKernelLog, type LogRecord} from '../src/decode/kernel-log/index.js'
import {RootedHostFs} from '../src/host/fs.js'
import {streamKernelLog} from '../src/host/log-stream.js'
import type {FaultsJson} from '../src/report/faults.js'
import {fixturesDir, repoRoot, realData} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

let out: string[] = []
beforeEach(() => {
  out = []
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true))
  // oclif prints --json through console.log
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.map(String).join(' ')))
  process.exitCode = undefined
})
afterEach(() => {
  vi.restoreAllMocks()
  process.exitCode = undefined
})

const run = (...argv: string[]) => Faults.run(argv, repoRoot) as Promise<FaultsJson>

/** lab-injected.txt: "dma-read 0000:00:03.0 0x0 4" → what the kernel should report. */
function injected(lab: string): Array<{access: string; requester: string; page: string}> {
  return readFileSync(path.join(fixturesDir, lab, 'lab-injected.txt'), 'utf8').trim().split('\n').map((l) => {
    const [kind, bdf, addr] = l.split(' ')
    return {access: kind === 'dma-read' ? 'read' : 'write', requester: bdf!, page: '0x' + (BigInt(addr!) >> 12n << 12n).toString(16)}
  })
}

describe('vtd-check faults on real-kernel lab snapshots', () => {
  it('lab-dma-faults: one group per injected DMA, traced to the edu devices, exit 1', async () => {
    const report = await run('--root', path.join(fixturesDir, 'lab-dma-faults'), '--json')
    const got = report.faults.map((f) => ({access: f.access!, requester: f.requester, page: f.page!})).sort((a, b) => a.page.localeCompare(b.page))
    expect(got).toEqual(injected('lab-dma-faults').sort((a, b) => a.page.localeCompare(b.page)))
    for (const f of report.faults) {
      expect(f.trace?.exists).toBe(true)
      expect(f.trace?.devices[0]).toMatchObject({bdf: f.requester, relation: 'self'})
      expect(f.reason).toBe(f.access === 'read' ? 6 : 5)
      // the translation replay (src/replay/translation) is wired in and cited as evidence
      expect(f.explanation.evidence.some((e) => e.source === 'replay')).toBe(true)
    }
    // edu has no driver: nothing is mapped for it, whoever programs it.
    expect(report.faults.find((f) => f.page === '0xdead0000')?.explanation.rule).toBe('unmapped-no-driver')
    expect(report.source.origin).toBe('snapshot')
    expect(process.exitCode).toBe(1)
    expect(report.schemaVersion).toBe(1)
  })

  it('lab-pcie-pci-bridge: the alias 02:00.0 names the device behind the bridge', async () => {
    const report = await run('--root', path.join(fixturesDir, 'lab-pcie-pci-bridge'), '--json')
    expect(report.faults.map((f) => f.requester)).toEqual(['0000:02:00.0', '0000:02:00.0'])
    const injectedBy = injected('lab-pcie-pci-bridge')[0]!.requester // 0000:02:01.0
    for (const f of report.faults) {
      expect(f.trace?.exists).toBe(false)
      expect(f.trace?.devices.map((d) => d.bdf)).toContain(injectedBy)
      expect(f.explanation.summary).toMatch(/an alias ID: one of 0000:02:01\.0/)
    }
  })

  it('lab-scalable-mode: "[DMA Read PASID 0x0]" is PASID 0 in the 5.15+ tag form', async () => {
    const report = await run('--root', path.join(fixturesDir, 'lab-scalable-mode'), '--json')
    expect(report.faults.map((f) => [f.requester, f.access, f.address, f.pasid, f.formats])).toEqual([
      ['0000:00:03.0', 'read', '0x3300000', 0, ['pasid-tag']],
      ['0000:00:03.0', 'write', '0x3301000', 0, ['pasid-tag']],
    ])
  })

  it('lab-fault-flood: the kernel printed fewer faults than were injected; each printed one is an injected page', async () => {
    const dmesg = readFileSync(path.join(fixturesDir, 'lab-fault-flood', 'dmesg.txt'), 'utf8')
    const printed = dmesg.split('\n').filter((l) => l.includes('[fault reason')).length
    const report = await run('--root', path.join(fixturesDir, 'lab-fault-flood'), '--json')
    const pages = new Set(injected('lab-fault-flood').map((i) => i.page))
    expect(report.summary.faultRecords).toBe(printed)
    expect(printed).toBeLessThan(pages.size)
    for (const f of report.faults) expect(pages.has(f.page!)).toBe(true)
  })

  it('a healthy lab boot exits 0 and prints the table', async () => {
    const report = await run('--root', path.join(fixturesDir, 'lab-sriov-nvme'))
    expect(report.faults).toHaveLength(0)
    expect(process.exitCode).toBe(0)
    expect(out.join('')).toMatch(/^No IOMMU faults \(DMAR, interrupt remapping, AMD-Vi, SMMU\)/)
  })
})

describe('files, stdin-like sources and usage errors', () => {
  it('a FILE is read without tracing against this host unless asked', async () => {
    const report = await run(path.join(realData, 'dmesg', 'i915-sriov-pve-k6.8-1.log'), '--json')
    expect(report.faults[0]).toMatchObject({requester: '0000:00:02.0', count: 8})
    expect(report.faults[0]!.trace).toBeUndefined()
  })

  it('--since with a boot-seconds value', async () => {
    const report = await run(path.join(realData, 'dmesg', 'igpu-gvtd-reboot-k5.x-1.log'), '--since', '149', '--json')
    expect(report.faults[0]!.count).toBe(3)
  })

  it('a missing file is a usage error (exit 2), a bad --since too', async () => {
    await expect(run('/nonexistent/kern.log')).rejects.toMatchObject({oclif: {exit: 2}})
    await expect(run(path.join(realData, 'dmesg', 'i915-sriov-pve-k6.8-1.log'), '--since', 'soonish')).rejects.toMatchObject({oclif: {exit: 2}})
  })

  it('an AMD-only log is triaged like DMAR faults: amd-vi groups, exit 1', async () => {
    const report = await run(path.join(realData, 'dmesg', 'pop-nvme-amdvi-k5.x-1.log'), '--json')
    expect(report.faults.length).toBeGreaterThan(0)
    expect(report.faults.every((f) => f.family === 'amd-vi' && f.requester === '0000:01:00.0' && f.driver === 'nvme')).toBe(true)
    expect(report.leading.category).toBe('unmapped-dma')
    expect(report.notes.join()).not.toMatch(/not covered/)
    expect(process.exitCode).toBe(1)
  })
})

describe('streaming: block scanning agrees with line-by-line parsing', () => {
  const logs = readdirSync(path.join(realData, 'dmesg')).filter((f) => f.endsWith('.log'))
  const strip = (r: LogRecord) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))

  it('for every real excerpt and lab log, at tiny chunk sizes that split lines and UTF-8 characters', async () => {
    const files = [...logs.map((f) => path.join(realData, 'dmesg', f)), ...['lab-dma-faults', 'lab-pcie-pci-bridge'].map((l) => path.join(fixturesDir, l, 'dmesg.txt'))]
    for (const file of files) {
      const expected = parseKernelLog(readFileSync(file, 'utf8')).map(strip)
      for (const chunkSize of [7, 64, 4096]) {
        const parser = new LogParser()
        const got: LogRecord[] = []
        const outcome = await streamKernelLog(new RootedHostFs('/'), {file, chunkSize}, {block: (text, bytes) => parser.pushText(text, (r) => got.push(r), bytes)})
        got.push(...parser.end())
        expect(outcome.ok).toBe(true)
        expect(got.map(strip), `${path.basename(file)} @${chunkSize}`).toEqual(expected)
        expect(parser.lines).toBe(readFileSync(file, 'utf8').replace(/\n$/, '').split('\n').length)
      }
    }
  })

  it('line mode counts lines across chunk borders', async () => {
    const dir = scratchDir('vtd-faults-')
    const file = path.join(dir, 'log.txt')
    writeFileSync(file, 'a\nbé\n\nlast-without-newline')
    const lines: string[] = []
    const outcome = await streamKernelLog(new RootedHostFs('/'), {file, chunkSize: 3}, (l) => lines.push(l))
    expect(lines).toEqual(['a', 'bé', '', 'last-without-newline'])
    expect(outcome).toMatchObject({ok: true, lines: 4})
  })
})

describe('host context from a real snapshot (lab-dma-faults)', () => {
  it('reads groups, reserved regions and the IOAPIC source ID from the DMAR table', async () => {
    const {triageContextOf} = await import('../src/replay/fault-context.js')
    const {openRoot} = await import('../src/host/snapshot.js')
    const {modelOf} = await import('./support/model.js')
    const {context} = triageContextOf(modelOf(openRoot(path.join(fixturesDir, 'lab-dma-faults'))))
    // DMAR bytes at 0x40: scope type 3 (IOAPIC), enumeration id 0, start bus 0xff, path 00.0.
    expect(context.interruptSources).toEqual([{requester: '0000:ff:00.0', kind: 'ioapic', id: 0}])
    expect(context.groups?.map((g) => [g.id, g.type])).toEqual([[0, 'DMA-FQ'], [1, 'DMA-FQ'], [2, 'DMA-FQ'], [3, 'DMA-FQ'], [4, 'DMA-FQ'], [5, 'DMA-FQ']])
    expect(context.groups?.find((g) => g.id === 4)?.reservedRegions).toContainEqual({start: 0n, end: 0xffffffn, type: 'direct-relaxable'})
  })

  it('uses them: an IR fault from the IOAPIC SID, a DMA fault inside the LPC direct region', async () => {
    const {triageContextOf} = await import('../src/replay/fault-context.js')
    const {openRoot} = await import('../src/host/snapshot.js')
    const {triageRecords} = await import('../src/replay/fault-triage.js')
    const {modelOf} = await import('./support/model.js')
    const {context} = triageContextOf(modelOf(openRoot(path.join(fixturesDir, 'lab-dma-faults'))))
    // Lines in the 6.x format (the lab injected no such faults), run against the real snapshot's facts.
    const log = [
      '[ 50.0] DMAR: [INTR-REMAP] Request device [ff:00.0] fault index 0x3 [fault reason 0x25] Blocked a compatibility format interrupt request',
      '[ 51.0] DMAR: [DMA Write NO_PASID] Request device [00:1f.0] fault addr 0x9000 [fault reason 0x05] PTE Write access is not set',
    ].join('\n')
    const r = triageRecords(parseKernelLog(log), 2, {...context, source: 'test'})
    const ir = r.faults.find((f) => f.kind === 'interrupt')!
    expect(ir.explanation.summary).toMatch(/IOAPIC 0 \(DMAR device scope\)/)
    expect(ir.explanation.evidence).toContainEqual({fact: '0000:ff:00.0 is the source ID of IOAPIC 0 in the DMAR device scope', source: 'ACPI DMAR'})
    const lpc = r.faults.find((f) => f.kind === 'dma')!
    expect(lpc.explanation.rule).toBe('address-in-rmrr')
    expect(lpc.explanation.evidence.some((e) => e.fact.includes('(direct-relaxable) of group 4'))).toBe(true)
  })
})

describe('--follow and Ctrl-C', () => {
  it('prints its summary on Ctrl-C, and a second Ctrl-C (sudo relays the terminal\'s) does not kill it first', async () => {
    const dir = scratchDir('vtd-follow-')
    const file = path.join(dir, 'kern.log')
    writeFileSync(file, '[   50.0] DMAR: [DMA Read] Request device [03:00.0] PASID ffffffff fault addr 1000 [fault reason 06] PTE Read access is not set\n')
    const before = process.listenerCount('SIGINT')
    const pending = run(file, '--follow')
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect(process.listenerCount('SIGINT')).toBeGreaterThan(before)
    process.emit('SIGINT')
    // Still guarded until the summary is out: without a listener a real second SIGINT would kill the process.
    expect(process.listenerCount('SIGINT')).toBeGreaterThan(before)
    process.emit('SIGINT')
    await pending
    expect(out.join('')).toMatch(/1 fault line\(s\) in 1 group/)
    expect(process.listenerCount('SIGINT')).toBe(before)
    expect(process.exitCode).toBe(1)
  })
})

describe('--follow on a growing file', () => {
  it('delivers lines appended after the start, until aborted', async () => {
    const {appendFileSync} = await import('node:fs')
    const dir = scratchDir('vtd-follow-')
    const file = path.join(dir, 'kern.log')
    writeFileSync(file, '[ 1.0] first\n')
    const abort = new AbortController()
    const lines: string[] = []
    const done = streamKernelLog(new RootedHostFs('/'), {file, follow: true, signal: abort.signal}, (l) => lines.push(l))
    await new Promise((r) => setTimeout(r, 200))
    appendFileSync(file, '[ 2.0] DMAR: DRHD: handling fault status reg 2\n')
    await new Promise((r) => setTimeout(r, 1200))
    abort.abort()
    const outcome = await done
    expect(outcome.ok).toBe(true)
    expect(lines).toEqual(['[ 1.0] first', '[ 2.0] DMAR: DRHD: handling fault status reg 2'])
  })
})

describe('block splitter (stdin and live dmesg in block mode)', () => {
  it('cuts only at newlines, so UTF-8 characters split across chunks survive', async () => {
    const {BlockSplitter} = await import('../src/host/log-stream.js')
    const text = '[ 1.0] févr. line\n[ 2.0] DMAR: DRHD: handling fault status reg 2\ntail'
    const bytes = Buffer.from(text, 'utf8')
    const parser = new LogParser()
    const recs: LogRecord[] = []
    const splitter = new BlockSplitter((t, b) => parser.pushText(t, (r) => recs.push(r), b))
    for (let i = 0; i < bytes.length; i += 5) splitter.write(bytes.subarray(i, i + 5))
    splitter.end()
    expect(parser.lines).toBe(3)
    expect(recs).toHaveLength(1)
    expect(recs[0]).toMatchObject({type: 'fault-status', line: 2, value: 2})
  })

  it('the table folds columns on an 80-column terminal', async () => {
    const {faultsToJson, renderFaultsTable} = await import('../src/report/faults.js')
    const {triageRecords} = await import('../src/replay/fault-triage.js')
    const text = readFileSync(path.join(realData, 'dmesg', 'i915-sriov-pve-k6.8-1.log'), 'utf8')
    const json = faultsToJson(triageRecords(parseKernelLog(text), 10), {origin: 'file', path: 'i915', lines: 10})
    const table = renderFaultsTable(json, {width: 80, detail: 0})
    const widest = Math.max(...table.split('\n').map((l) => [...l].length))
    expect(widest).toBeLessThanOrEqual(80)
    expect(table).toMatch(/Reason \/ what/)
  })
})
