/**
 * The faults command counts a storm's repeated lines without a record each: the byte path hands a
 * cached record's template and the stamp (still bytes) to `FaultTriage.repeat`. The triage must
 * come out exactly as when every record is built and added: checked on generated storms of every
 * stamp kind, and on the real excerpts' fault lines.
 */
import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {LogParser, parseKernelLog} from '../src/decode/kernel-log/index.js'
import {FaultTriage, triageRecords, type TriageContext, type TriageResult} from '../src/replay/fault-triage.js'
import {realData} from './support/paths.js'

const json = (r: TriageResult) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v instanceof Map ? [...v] : v))

/** The byte path with the repeat sink wired as the faults command wires it; also how many repeats it took. */
function counted(bytes: Buffer, blockSize: number, since?: TriageContext['since']): {result: TriageResult; repeats: number} {
  const parser = new LogParser()
  const triage = new FaultTriage({source: 'log', ...(since === undefined ? {} : {since})})
  let repeats = 0
  parser.repeat = (template, line, time, stamp, slot) => {
    const taken = triage.repeat(template, line, time, stamp, slot)
    if (taken) repeats++
    return taken
  }
  for (let from = 0; from < bytes.length;) {
    let to = Math.min(bytes.length, from + blockSize)
    const nl = bytes.lastIndexOf(10, to - 1)
    to = nl >= from ? nl + 1 : bytes.indexOf(10, to) === -1 ? bytes.length : bytes.indexOf(10, to) + 1
    parser.pushText('', (r) => triage.add(r), bytes.subarray(from, to))
    from = to
  }
  for (const r of parser.end()) triage.add(r)
  return {result: triage.finish(parser.lines), repeats}
}

/** The first 512 lines go line by line (the e820 map, the banner): a boot's worth of other lines first. */
const boot = '[    0.000000] unrelated boot line\n'.repeat(512)

const expected = (text: string) => triageRecords(parseKernelLog(text), text.replace(/\n$/, '').split('\n').length, {source: 'log'})

describe('repeated fault lines counted without records (FaultTriage.repeat)', () => {
  it('triage equals adding every record, for storms of every stamp kind', () => {
    const pieces = [
      '[  100.000001] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[  100.5] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x3301000 [fault reason 0x05] PTE Write access is not set',
      '[  107.25] DMAR: [INTR-REMAP] Request device [f0:1f.0] fault index 0x0 [fault reason 0x25] Blocked a compatibility format interrupt request',
      '[    0.000000] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[0012.050] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[1234567890.1234567] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[99999.999999] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[  +0,000513] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      'Jul 19 23:11:56 host kernel: DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      'Jul 19 23:11:59.5 host kernel: DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x3301000 [fault reason 0x05] PTE Write access is not set',
      'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[  101.0] DMAR:[DMA Write] Request device [00:12.0] fault addr 6df084000',
      '[  101.0] DMAR:[fault reason 05] PTE Write access is not set',
      '[  102.0] dmar_fault: 12 callbacks suppressed',
      '[  103.0] DMAR: DRHD: handling fault status reg 2',
      '[  104.0] unrelated line',
      '[  105.0] AMD-Vi: Event logged [IO_PAGE_FAULT device=03:00.0 domain=0x0000 address=0x1000 flags=0x0000]',
      '[  106.0] DMAR: DRHD: handling fault status reg 2\r',
      '    [10672.868940] DMAR: [DMA Write] Request device [00:12.0] fault addr 0 [fault reason 05] PTE Write access is not set',
      '\t[10673.5] DMAR: [DMA Write] Request device [00:12.0] fault addr 0 [fault reason 05] PTE Write access is not set',
      '[Thu Oct 22 08:54:51 2020] DMAR: [INTR-REMAP] Request device [42:00.2] fault index 1600 [fault reason 37] Blocked a compatibility format interrupt request',
      '[Thu Oct 22 08:55:54 2020] DMAR: [INTR-REMAP] Request device [42:00.2] fault index 1600 [fault reason 37] Blocked a compatibility format interrupt request',
      '[Thu Oct  2 08:55:54 2020] DMAR: [INTR-REMAP] Request device [42:00.2] fault index 1600 [fault reason 37] Blocked a compatibility format interrupt request',
      '[Fri Nov 13 09:00:00 2020] DMAR: [INTR-REMAP] Request device [42:00.2] fault index 1600 [fault reason 37] Blocked a compatibility format interrupt request',
      '[Thu Qqq 22 08:55:54 2020] DMAR: [INTR-REMAP] Request device [42:00.2] fault index 1600 [fault reason 37] Blocked a compatibility format interrupt request',
      '\tDMAR:[fault reason 05] PTE Write access is not set',
      '               DMAR:[fault reason 01] Present bit in root entry is clear',
      // Stamps the scanner's own parse must leave to readStamp (or the slow path), or take exactly
      '[ \t 5.5] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[5.] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[.5] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[  5.5]DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[  5.5]  DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[123456789.123456] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[999999999.999999999] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[12345678.1234567] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[5.5.5] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      // Records repeat() takes from their template too: boot state, page-walk dumps, RMRR lines, fault status.
      '[    0.083164] pci 0000:00:02.0: Adding to iommu group 0',
      '[    0.083200] pci 0000:00:14.0: Adding to iommu group 5',
      '[  +0,016270] pci 0000:00:1f.3: Adding to iommu group 12',
      'Jul 19 23:11:56 host kernel: pci 0000:00:02.0: Adding to iommu group 1',
      '[    0.091000] iommu: Default domain type: Translated',
      '[    0.091000] iommu: Default domain type: Passthrough (set via kernel command line)',
      '[    0.888429] DMAR-IR: Enabled IRQ remapping in x2apic mode',
      '[    0.068472] DMAR-IR: Enabled IRQ remapping in xapic mode',
      '[    0.556000] DMAR: Intel(R) Virtualization Technology for Directed I/O',
      '[    0.556348] DMAR: PTE not present at level 4',
      '[    0.886508] DMAR: RMRR base: 0x0000007b800000 end: 0x0000007fffffff',
      '[    0.083164] kernel: DMAR: RMRR base: 0x000000ad800000 end: 0x000000af9fffff',
      '[  103.5] DMAR: DRHD: handling fault status reg 3',
    ]
    let repeats = 0
    fc.assert(fc.property(fc.array(fc.nat(pieces.length - 1), {minLength: 20, maxLength: 80}), fc.nat(400), (picks, blockSize) => {
      const text = boot + picks.map((i) => pieces[i]).join('\n') + '\n'
      const got = counted(Buffer.from(text), blockSize + 1)
      repeats += got.repeats
      expect(json(got.result)).toBe(json(expected(text)))
    }), {numRuns: 300})
    // The property is about the repeat path: it must have been taken.
    expect(repeats).toBeGreaterThan(1000)
  })

  it('triage equals adding every record under --since (fault status lines then count by their time)', () => {
    const pieces = [
      '[    0.083164] pci 0000:00:02.0: Adding to iommu group 0',
      '[    0.891000] iommu: Default domain type: Translated',
      '[    0.886508] DMAR: RMRR base: 0x0000007b800000 end: 0x0000007fffffff',
      '[  100.000001] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x4f600000 [fault reason 0x06] PTE Read access is not set',
      '[   10.0] DMAR: DRHD: handling fault status reg 2',
      '[  103.0] DMAR: DRHD: handling fault status reg 2',
      'DMAR: DRHD: handling fault status reg 2',
      '[  102.0] dmar_fault: 12 callbacks suppressed',
    ]
    const since = {bootSeconds: 50}
    fc.assert(fc.property(fc.array(fc.nat(pieces.length - 1), {minLength: 20, maxLength: 80}), fc.nat(400), (picks, blockSize) => {
      const text = boot + picks.map((i) => pieces[i]).join('\n') + '\n'
      const got = counted(Buffer.from(text), blockSize + 1, since)
      const all = triageRecords(parseKernelLog(text), text.replace(/\n$/, '').split('\n').length, {source: 'log', since})
      expect(json(got.result)).toBe(json(all))
    }), {numRuns: 100})
  })

  it('triage equals adding every record when the repeat counters are folded while the parser still holds them', () => {
    // More distinct templates than the triage keeps counters for (4,096), each seen twice, with a
    // few hot lines between them: the counters are folded mid-storm while the parser's line-cache
    // entries of the hot lines still hold theirs (RepeatSlot), and the hot lines keep coming; a
    // folded counter taken from a slot would lose their counts.
    const fault = (page: number, second: number) =>
      `[${String(200 + second).padStart(5)}.000001] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x${page.toString(16)}000 [fault reason 0x06] PTE Read access is not set`
    const lines: string[] = []
    for (let i = 0; i < 6000; i++) {
      lines.push(fault(0x10000 + i, i % 7), fault(0x10000 + i, i % 7), fault(0x100 + (i % 10), 0))
      // Every other step a line the parser caches without a fault: its line cache (4,096 entries)
      // is then cleared apart from the counters' fold, not at the same line.
      if (i % 2 === 0) lines.push(`[  300.000000] DMAR: note ${i}`)
    }
    const text = boot + lines.join('\n') + '\n'
    const got = counted(Buffer.from(text), 256 * 1024)
    expect(got.repeats).toBeGreaterThan(10_000)
    expect(json(got.result)).toBe(json(expected(text)))
  })

  it('triage equals adding every record on the real excerpts, each repeated as a storm', () => {
    const dir = path.join(realData, 'dmesg')
    let repeats = 0
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
      const one = readFileSync(path.join(dir, f), 'utf8')
      const text = boot + (one.endsWith('\n') ? one : one + '\n').repeat(5)
      const got = counted(Buffer.from(text), 64 * 1024)
      repeats += got.repeats
      expect(json(got.result), f).toBe(json(expected(text)))
    }
    expect(repeats).toBeGreaterThan(100)
  })
})
