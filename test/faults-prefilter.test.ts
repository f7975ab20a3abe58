/**
 * The byte prefilter of `LogParser.pushText` (a WebAssembly SIMD scan for the candidate keywords)
 * must never drop a line the line-by-line parser would read: checked on every real excerpt and
 * fixture log, and on generated lines that put each keyword at every offset around the scanner's
 * 16-byte steps and the block edges.
 */
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {LogParser, parseKernelLog, type LogRecord} from '../src/decode/kernel-log/index.js'
import {HIT_INTS, newByteScanner, scannedLines} from '../src/decode/line-scanner.js'
import {LineTable} from '../src/decode/kernel-log/line-cache.js'
import {CANDIDATE} from '../src/decode/kernel-log/shapes.js'
import {RELATIVE_STAMP} from '../src/decode/kernel-log/prefixes.js'
import {fixturesDir, repoRoot, realData} from './support/paths.js'

// The parser's own CANDIDATE: what the byte scan must never drop is exactly what the line path reads.
const KEYWORDS = ['DMAR', 'dmar', 'INTR-REMAP', 'AMD-Vi', 'IOMMU', 'iommu', 'VT-d', 'remapping', 'PCI-DMA', 'smmu', 'SMMU',
  // context lines without an IOMMU keyword: the vmd driver, a kdump kernel's command line
  'vmd 0000:64:05.5: Bound to PCI domain 10000', 'Kernel command line: ro elfcorehdr=0x73000000']
const strip = (r: LogRecord) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

const realLogs = [
  ...readdirSync(path.join(realData, 'dmesg')).filter((f) => f.endsWith('.log')).map((f) => path.join(realData, 'dmesg', f)),
  ...walk(path.join(repoRoot, 'test/fixtures/dmesg')).filter((f) => !f.endsWith('.json') && !f.endsWith('README.md')),
  // the real-kernel lab snapshots (Debian 6.1 boots under QEMU with injected DMA faults)
  ...readdirSync(fixturesDir).map((d) => path.join(fixturesDir, d, 'dmesg.txt')).filter((f) => existsSync(f)),
]

/** The records of the byte path, fed in blocks of whole lines of about `blockSize` bytes. */
function byBlocks(bytes: Buffer, blockSize: number): {records: LogRecord[]; lines: number} {
  const parser = new LogParser()
  const records: LogRecord[] = []
  let from = 0
  while (from < bytes.length) {
    let to = Math.min(bytes.length, from + blockSize)
    const nl = bytes.lastIndexOf(10, to - 1)
    to = nl >= from ? nl + 1 : bytes.indexOf(10, to) === -1 ? bytes.length : bytes.indexOf(10, to) + 1
    parser.pushText('', (r) => records.push(r), bytes.subarray(from, to))
    from = to
  }
  records.push(...parser.end())
  return {records, lines: parser.lines}
}

/** Line indexes (0-based) the line-by-line parser would look at. */
function candidateLines(text: string): number[] {
  return text.split('\n').flatMap((l, i) => (CANDIDATE.test(l.endsWith('\r') ? l.slice(0, -1) : l) ? [i] : []))
}

describe('byte prefilter', () => {
  it('has WebAssembly SIMD here (else pushText falls back to the regex scan)', () => {
    expect(scannedLines(Buffer.from('x\n[ 1.0] DMAR: y\n'))).toEqual([1])
  })

  it(`reports every candidate line of every real excerpt and fixture log (${realLogs.length} files)`, () => {
    expect(realLogs.length).toBeGreaterThanOrEqual(37)
    for (const file of realLogs) {
      const bytes = readFileSync(file)
      const text = bytes.toString('utf8')
      const scanned = new Set(scannedLines(bytes))
      const missed = candidateLines(text).filter((i) => !scanned.has(i))
      expect(missed, path.basename(file)).toEqual([])
      // …so every record the line-by-line parser makes comes out of the byte path, identical.
      const expected = parseKernelLog(text)
      // The e820 map, the "Linux version" banner, driver and PCI enumeration lines have no keyword: a log's first lines are read line by line (parser.ts EARLY_LINES).
      for (const r of expected) {
        if (r.type === 'context' && (r.event.startsWith('e820-') || r.event.startsWith('driver-') || r.event === 'pci-id' || r.event === 'kernel-release')) expect(r.line).toBeLessThanOrEqual(512)
        else expect(scanned.has(r.line - 1), `${path.basename(file)}:${r.line}`).toBe(true)
      }
      for (const blockSize of [1, 100, 4096, 1 << 20]) {
        const got = byBlocks(bytes, blockSize)
        expect(got.records.map(strip), `${path.basename(file)} @${blockSize}`).toEqual(expected.map(strip))
        expect(got.lines).toBe(text.replace(/\n$/, '').split('\n').length)
      }
    }
  })

  it('finds each keyword at every offset, case exactly as the regex wants, across block edges', () => {
    const lines: string[] = []
    for (const k of KEYWORDS) {
      for (let pad = 0; pad < 40; pad++) {
        lines.push('x'.repeat(pad) + k, 'y'.repeat(pad) + k.toLowerCase() + ' z', 'w'.repeat(pad) + k.toUpperCase(), 'q'.repeat(pad) + k.slice(0, -1))
      }
    }
    const text = lines.join('\n')
    const bytes = Buffer.from(text)
    const scanned = new Set(scannedLines(bytes))
    expect(candidateLines(text).filter((i) => !scanned.has(i))).toEqual([])
    for (const blockSize of [1, 17, 333]) expect(byBlocks(bytes, blockSize).lines).toBe(lines.length)
  })

  it('agrees with line-by-line parsing on generated logs (stamps, CR, UTF-8, glued and two-line faults)', () => {
    const pieces = [
      '[    1.000000] DMAR: DRHD: handling fault status reg 2',
      '[    2.5] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Read access is not set',
      'DMAR:[DMA Write] Request device [00:12.0] fault addr 6df084000',
      'DMAR:[fault reason 05] PTE Write access is not set',
      '[ 3.0] dmar_fault: 12 callbacks suppressed',
      '[ 4.0] pci 0000:00:02.0: Adding to iommu group 3',
      '[ 5.0] kernel: DMAR: VT-d detected Invalidation Time-out Error: SID 200DMAR: DRHD: handling fault status reg 40',
      'Jul 19 23:11:56 host kernel: DMAR: IOMMU enabled',
      '[ 6.0] AMD-Vi: Event logged [IO_PAGE_FAULT device=03:00.0 domain=0x0000 address=0x1000 flags=0x0000]',
      // the old AMD-Vi split form: the event line holds no keyword, it is read as the head's continuation
      '[ 6.1] AMD-Vi: Event logged [',
      '[ 6.1] IO_PAGE_FAULT device=00:14.2 domain=0x0000 address=0x00000000bfe00000 flags=0x0030]',
      // an SMMUv3 event: head, raw dwords, the 6.15+ decoded lines
      '[ 6.2] arm-smmu-v3 arm-smmu-v3.0.auto: event 0x10 received:',
      '[ 6.2] arm-smmu-v3 arm-smmu-v3.0.auto: \t0x0000000800000010',
      '[ 6.2] arm-smmu-v3 arm-smmu-v3.0.auto: \t0x0000020800000000',
      '[ 6.2] arm-smmu-v3 arm-smmu-v3.0.auto: event: F_TRANSLATION client: 0000:00:01.0 sid: 0x8 ssid: 0 iova: 0x1000 ipa: 0',
      '[ 6.3] arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402, iova=0x00001000, fsynr=0x11, cbfrsynra=0x1c00, cb=3',
      '[ 7.0] unrelated line é ü',
      '[ 8.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Read access is not set\r',
      '    [9.000] iommu: Default domain type: Translated',
      '(XEN) [VT-D]DMAR:[DMA Read] Request device [0000:00:02.0] fault addr 7cd85000',
      '(XEN) DMAR: reason 06 - PTE Read access is not set',
      '[ 10.0] vmd 0000:64:05.5: Bound to PCI domain 10000',
      '[    0.000000] BIOS-e820: [mem 0x000000007c000000-0x000000007fffffff] reserved',
      '[ 0.000000] Command line: BOOT_IMAGE=/vmlinuz irqpoll reset_devices elfcorehdr=0x73000000',
      'A Set TR Deq Ptr command is pending; vmd-like vmdx 0000: not vmd',
      '',
      'Dmar, IoMmu, vt-D: near misses',
    ]
    fc.assert(fc.property(fc.array(fc.nat(pieces.length - 1), {maxLength: 60}), fc.nat(200), fc.boolean(), (picks, blockSize, trailingNewline) => {
      const text = picks.map((i) => pieces[i]).join('\n') + (trailingNewline && picks.length > 0 ? '\n' : '')
      if (text.length === 0) return
      const expected = parseKernelLog(text).map(strip)
      const got = byBlocks(Buffer.from(text), blockSize + 1)
      expect(got.records.map(strip)).toEqual(expected)
      expect(got.lines).toBe(text.replace(/\n$/, '').split('\n').length)
    }), {numRuns: 300})
  })
})

describe('the scanner\'s kept bodies (the line cache\'s byte compare)', () => {
  it('same() agrees with a plain byte compare, for every length around the 16-byte steps', () => {
    const scanner = newByteScanner()!
    fc.assert(fc.property(fc.uint8Array({minLength: 100, maxLength: 300}), fc.nat(299), fc.nat(299), fc.nat(80), fc.nat(40), (block, a, b, length, flip) => {
      const bytes = Buffer.from(block)
      const from = a % bytes.length
      const to = Math.min(bytes.length, from + length)
      scanner.forget()
      scanner.scan(bytes)
      const at = scanner.keep(from, to)
      expect(at).toBeGreaterThanOrEqual(0)
      // against another range of the same block, and against itself with one byte changed
      const other = b % bytes.length
      const n = Math.min(to - from, bytes.length - other)
      expect(scanner.same(at, other, n)).toBe(bytes.subarray(from, from + n).equals(bytes.subarray(other, other + n)))
      if (to > from) {
        const changed = Buffer.from(bytes)
        changed[from + (flip % (to - from))]! ^= 1
        scanner.scan(changed)
        expect(scanner.same(at, from, to - from)).toBe(false)
        scanner.scan(bytes)
        expect(scanner.same(at, from, to - from)).toBe(true)
      }
    }), {numRuns: 500})
  })

  it('keep() refuses past the arena, and forget() empties it', () => {
    const scanner = newByteScanner()!
    const line = Buffer.alloc(64 * 1024, 0x41)
    scanner.scan(line)
    const places = Array.from({length: 17}, () => scanner.keep(0, line.length))
    expect(places.slice(0, 16).every((at) => at >= 0)).toBe(true)
    expect(places[16]).toBe(-1)
    scanner.forget()
    expect(scanner.keep(0, line.length)).toBe(places[0])
  })
})

describe('byte path caches (dmesg -H deltas, syslog stamps, slices)', () => {
  it('agrees with line-by-line parsing on repeated stamped lines of every cached kind', () => {
    const pieces = [
      '[  +0,000002] DMAR: DRHD: handling fault status reg 2',
      '[  +0.000513] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Read access is not set',
      '[  + 1,5] DMAR: DRHD: handling fault status reg 2',
      '[  +0,000002]\tDMAR: DRHD: handling fault status reg 2',
      '[  +0,0000000000000000002] DMAR: DRHD: handling fault status reg 2',
      '[  +0,000002] [  12.000000] DMAR: DRHD: handling fault status reg 2',
      '[  +0,000002] pci 0000:00:02.0: Adding to iommu group 3',
      '[Nov24 10:00] DMAR: DRHD: handling fault status reg 2',
      '[   12.000001] DMAR: DRHD: handling fault status reg 2',
      'DMAR: DRHD: handling fault status reg 2',
      'Jul 19 23:11:56 host kernel: DMAR: DRHD: handling fault status reg 2',
      'Jul 19 23:11:57 host kernel: DMAR: DRHD: handling fault status reg 2',
      'Jul  9 23:11:57.123456 host kernel: DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Read access is not set',
      'févr. 12 13:47:54 ordi kernel: DMAR: DRHD: handling fault status reg 2',
      'févr. 12 13:47:54 ordi kernel: pci 0000:00:02.0: Adding to iommu group 3',
      'Mär 3 01:02:03 iommu-host kernel: unrelated words',
      'Jul 19 23:11:56 dmar-box kernel: unrelated words',
      'DMAR 19 23:11:56 host kernel: DRHD: handling fault status reg 2',
      // A keyword in the month name makes the line a candidate; the same body after a plain month is not.
      'DMAR 19 23:11:56 host kernel: Dmar DRHD: handling fault status reg 2',
      'Jul 19 23:11:56 host kernel: Dmar DRHD: handling fault status reg 2',
      'Julyy 19 23:11:56 host kernel: DMAR: DRHD: handling fault status reg 2',
      'Jul 199 23:11:56 host kernel: DMAR: DRHD: handling fault status reg 2',
      'Jul 19 23:11:56 host kernel:DMAR: DRHD: handling fault status reg 2',
      'Jul 19 23:11:56 host kernel: [   13.5] DMAR: DRHD: handling fault status reg 2',
      'Jul 19 23:11:56 host daemon: DMAR: DRHD: handling fault status reg 2',
      'Xyz 19 23:11:56 host kernel: DMAR: DRHD: handling fault status reg 2',
      'Jul 19 23:11:56 host kernel: DMAR:[DMA Write] Request device [00:12.0] fault addr 6df084000',
      'Jul 19 23:11:56 host kernel: DMAR:[fault reason 05] PTE Write access is not set',
      '[   14.0] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap 1c0000c40660462 ecap 19e2ff0505e',
      // indented stamps (pasted logs) and two-line tails, cached by their own kind
      '    [   12.000001] DMAR: DRHD: handling fault status reg 2',
      '\t[12.5]\tDMAR: DRHD: handling fault status reg 2',
      '  [   12.5] (XEN) DMAR: DRHD: handling fault status reg 2',
      '  [   12.5] [   13.5] DMAR: DRHD: handling fault status reg 2',
      '  [  +0,000002] DMAR: DRHD: handling fault status reg 2',
      '    [   15.0] DMAR:[DMA Write] Request device [00:12.0] fault addr 6df084000',
      '[   15.0] DMAR:[fault reason 05] PTE Write access is not set',
      '\tDMAR:[fault reason 05] PTE Write access is not set',
      '(XEN) DMAR: reason 06 - PTE Read access is not set',
      // dmesg -T stamps
      '[Thu Oct 22 08:54:51 2020] DMAR: DRHD: handling fault status reg 2',
      '[Thu Oct 22 08:54:52 2020] DMAR: DRHD: handling fault status reg 2',
      '[Thu Oct  2 08:54:51 2020] DMAR: DRHD: handling fault status reg 2',
      '[Thu Oct 22 08:54:51 2020]\tDMAR: DRHD: handling fault status reg 2',
      '[Thu Xyz 22 08:54:51 2020] DMAR: DRHD: handling fault status reg 2',
      '[Thu Oct 22 8:54:51 2020] DMAR: DRHD: handling fault status reg 2',
      '[Thu Oct 222 08:54:51 2020] DMAR: DRHD: handling fault status reg 2',
    ]
    fc.assert(fc.property(fc.array(fc.nat(pieces.length - 1), {maxLength: 80}), fc.nat(300), (picks, blockSize) => {
      const text = picks.map((i) => pieces[i]).join('\n') + '\n'
      if (picks.length === 0) return
      const expected = parseKernelLog(text).map(strip)
      const got = byBlocks(Buffer.from(text), blockSize + 1)
      expect(got.records.map(strip)).toEqual(expected)
      expect(got.lines).toBe(picks.length)
    }), {numRuns: 400})
  })

  it('reports every line a dmesg -H stamp may open, keyword or not, at every offset of its 32-byte steps', () => {
    const opening = ['[  +0.000002] usb 1-1: reset', '[+0.5] x', '[\t+0.5] x', '[\u00a0+0.5] x', '[\u2003 +0.5] x', '[ +abc] x',
      '[Dec 7 16:48] x', '[févr.27 06:53] x', '[Nov24 10:00] x', '[Xyz 17 16:48]', '[' + 'm'.repeat(70) + ' 7 16:48] x']
    const not = ['[    5.000000] x', '[Thu Oct 22 08:54:51 2020] x', ' [  +0.5] x', 'x [  +0.5] y', '[drm] x', '[Dec 7 16:48 x', 'a + b', '__schedule+0x2a/0x80']
    const lines: string[] = []
    for (let pad = 0; pad < 40; pad++) for (const l of [...opening, ...not]) lines.push('p'.repeat(pad), l)
    const text = lines.join('\n') + '\n'
    const scanned = new Set(scannedLines(Buffer.from(text)))
    const opens = lines.flatMap((l, i) => (l.startsWith('[') && RELATIVE_STAMP.test(l) ? [i] : []))
    expect(opens.length).toBe(40 * (opening.length + 0))
    expect(opens.filter((i) => !scanned.has(i))).toEqual([])
    // …and no more than those (the scanner's tests are tight enough not to send every line to the parser)
    expect(lines.filter((l, i) => scanned.has(i) && !RELATIVE_STAMP.test(l))).toEqual([])
  })

  it('has room for a hit on every line of a block of the shortest lines it reports ("[+")', () => {
    const text = '[+\n'.repeat(100_000) + '[+'
    expect(scannedLines(Buffer.from(text))).toHaveLength(100_001)
    const withFault = '[    0.000000] x\n'.repeat(520) + '[+\n'.repeat(50_000) + '[  +0.5] DMAR: DRHD: handling fault status reg 2\n'
    expect(byBlocks(Buffer.from(withFault), 1 << 20).records.map(strip)).toEqual(parseKernelLog(withFault).map(strip))
  })

  it('moves the dmesg -H clock on the byte path as line by line, keyword or not (anchors, deltas, tails after a held head)', () => {
    // Records take their time from the clock (their own delta, or the last line's): any delta the
    // byte path missed or counted twice changes a record's seconds.
    const pieces = [
      '[  +0.000002] usb 1-1: reset high-speed USB device number 2',
      '[  +1,500000] usb 1-1: reset high-speed USB device number 2',
      '[+0.5] r8169 eth0: link up',
      '[ \t+0.25] r8169 eth0: link up',
      '[\u00a0+0.125] r8169 eth0: link up',
      '[  + 0.5] r8169 eth0: link up',
      '[  +0.000002]  ? __schedule+0x2a/0x80',
      '[  +0.000002] [  +0.000003] two deltas',
      '[  +0.000004] r8169 eth0: link up\r',
      '[  +0,0000000000000000002] too many digits to take apart',
      '[  +abc] opens like a delta',
      '[Nov24 10:00] usb 1-1: new high-speed USB device',
      '[févr.27 06:53] microcode: updated early',
      '[Xyz 7 16:48] an anchor no month name places',
      '[Dec 7 16:48]no space after',
      '[Thu Oct 22 08:54:51 2020] usb 1-1: a dmesg -T line',
      '[' + 'x'.repeat(70) + ' 7 16:48] a long month',
      '[    5.000000] usb 1-2: a monotonic line',
      'an unstamped line',
      '[  +0.000010] DMAR: DRHD: handling fault status reg 2',
      '[  +0.000010] pci 0000:00:02.0: Adding to iommu group 3',
      'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Read access is not set',
      '[  +0.000010] DMAR:[DMA Write] Request device [00:12.0] fault addr 6df084000',
      '[  +0.000001] DMAR:[fault reason 05] PTE Write access is not set',
      '[  +0.000001] [fault reason 06] PTE Read access is not set',
      '[  +0.000003] DMAR: [DMA Write NO_PASID] Request device [00:1a.0] fault addr 0x0',
      '[Nov24 10:01] DMAR: DRHD: handling fault status reg 2',
    ]
    fc.assert(fc.property(fc.array(fc.nat(pieces.length - 1), {maxLength: 80}), fc.nat(300), (picks, blockSize) => {
      if (picks.length === 0) return
      // After the first 512 lines: those are read line by line whatever the path (EARLY_LINES).
      const text = '[    0.000000] x\n'.repeat(520) + picks.map((i) => pieces[i]).join('\n') + '\n'
      const expected = parseKernelLog(text).map(strip)
      const got = byBlocks(Buffer.from(text), blockSize + 1)
      expect(got.records.map(strip)).toEqual(expected)
      expect(got.lines).toBe(520 + picks.length)
    }), {numRuns: 400})
  })

  it('scans big blocks slice by slice without losing a line, however long', () => {
    const lines = [
      '[    1.000000] DMAR: DRHD: handling fault status reg 2',
      '[    2.000000] unrelated ' + 'x'.repeat(300),
      'Jul 19 23:11:56 host kernel: DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Read access is not set',
    ]
    const long = '[    3.000000] DMAR: DRHD: handling fault status reg 2 ' + 'y'.repeat(300 * 1024)
    const body: string[] = []
    for (let i = 0; i < 6000; i++) body.push(lines[i % lines.length]!, ...(i === 2500 ? [long] : []))
    const text = body.join('\n')
    const expected = parseKernelLog(text).map(strip)
    const got = byBlocks(Buffer.from(text), 4 << 20)
    expect(got.records.map(strip)).toEqual(expected)
    expect(got.lines).toBe(body.length)
  })
})

describe('blocks scanned where they lie (a reader\'s buffers in the scanner\'s memory)', () => {
  const hitsOf = (r: {hits: Int32Array; count: number; newlines: number}) => ({hits: Array.from(r.hits.subarray(0, r.count * HIT_INTS)), newlines: r.newlines})

  it('finds what a copy of the block finds, at any place in either buffer, and leaves the bytes around it as they were', () => {
    const scanner = newByteScanner()!
    const copied = newByteScanner()!
    const [first, second] = scanner.readBuffers(4096)
    const piece = fc.constantFrom('\n', '[  12.5] ', '[  +0.000002] ', '[Dec  7 16:48] ', 'DMAR', 'iommu', 'vt-d', 'x', ' ', '+', '[', '\r', 'é')
    fc.assert(fc.property(fc.array(piece, {maxLength: 400}), fc.nat(4095), fc.boolean(), fc.uint8Array({minLength: 4096, maxLength: 4096}), (pieces, offset, useSecond, noise) => {
      const buffer = useSecond ? second : first
      buffer.set(noise)
      const block = Buffer.from(pieces.join('')).subarray(0, buffer.length - offset)
      block.copy(buffer, offset)
      const before = Buffer.from(buffer)
      const inPlace = scanner.scan(buffer.subarray(offset, offset + block.length))!
      expect(hitsOf(inPlace)).toEqual(hitsOf(copied.scan(block)!))
      expect(buffer.equals(before)).toBe(true)
    }), {numRuns: 400})
  })

  it('keep() and same() read the block last scanned in place', () => {
    const scanner = newByteScanner()!
    const [first] = scanner.readBuffers(1 << 16)
    const line = Buffer.from('[    1.000000] DMAR: DRHD: handling fault status reg 2\n')
    line.copy(first, 100)
    scanner.scan(first.subarray(100, 100 + line.length))
    const at = scanner.keep(15, line.length - 1)
    line.copy(first, 5000)
    scanner.scan(first.subarray(5000, 5000 + line.length))
    expect(scanner.same(at, 15, line.length - 16)).toBe(true)
    first[5000 + 20]! ^= 1
    scanner.scan(first.subarray(5000, 5000 + line.length))
    expect(scanner.same(at, 15, line.length - 16)).toBe(false)
  })

  it('never grows its memory once the buffers are lent: a copied block that no longer fits is refused, and the parser reads it as text', () => {
    const scanner = newByteScanner()!
    const [first] = scanner.readBuffers(1 << 16)
    expect(scanner.scan(Buffer.from('[    1.0] DMAR: x\n'))?.count).toBe(1)
    expect(scanner.scan(Buffer.alloc(4 << 20, 0x0a))).toBeUndefined()
    expect(first.length).toBe(1 << 16) // still attached
    // The parser: blocks in its lent buffers, then a big one from elsewhere, as line by line.
    const text = realLogs.slice(0, 12).map((f) => readFileSync(f, 'utf8')).join('\n') + '\n'
    const big = Buffer.from(text.repeat(Math.ceil((3 << 20) / text.length)))
    const parser = new LogParser()
    const [a] = parser.readBuffers(1 << 20)!
    const records: LogRecord[] = []
    const head = Buffer.from(text)
    let from = 0
    while (from < head.length) {
      let to = Math.min(head.length, from + a.length)
      if (to < head.length) to = head.lastIndexOf(10, to - 1) + 1
      head.copy(a, 0, from, to)
      parser.pushText('', (r) => records.push(r), a.subarray(0, to - from))
      from = to
    }
    parser.pushText('', (r) => records.push(r), big)
    records.push(...parser.end())
    expect(records.map(strip)).toEqual(parseKernelLog(text + big.toString('utf8')).map(strip))
  })
})

describe('the line cache\'s table', () => {
  it('answers as a Map of the same keys would, replacing a key\'s entry and emptied by clear()', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({min: -(2 ** 31), max: 2 ** 31 - 1}), fc.nat(3)), {maxLength: 300}), (ops) => {
      const table = new LineTable<number>(64)
      const map = new Map<number, number>()
      ops.forEach(([raw, op], i) => {
        // few distinct keys, and keys alike in their low bits: replacements and probe chains
        const key = op === 0 ? raw : (raw & 0xff) << 16
        if (op === 3 && map.size >= 64) {
          table.clear()
          map.clear()
        }
        if (map.size < 64 || map.has(key)) {
          table.set(key, i)
          map.set(key, i)
        }
        expect(table.size).toBe(map.size)
        expect(table.get(key)).toBe(map.get(key))
        expect(table.get(raw ^ 1)).toBe(map.get(raw ^ 1))
      })
      for (const [key, value] of map) expect(table.get(key)).toBe(value)
    }), {numRuns: 300})
  })

  it('refuses a key past its capacity rather than overfilling', () => {
    const table = new LineTable<number>(8)
    for (let k = 0; k < 8; k++) table.set(k * 7919, k)
    table.set(0, 99)
    expect(table.get(0)).toBe(99)
    expect(() => table.set(123456, 0)).toThrow(/full/)
  })
})
