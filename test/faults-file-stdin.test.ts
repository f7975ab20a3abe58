/**
 * `faults FILE` and `faults -` (the same bytes on stdin) must say the same thing. They read in
 * different blocks (a file: 2 MiB; stdin: the pipe's 64 KiB chunks), and dmesg -H stamps are
 * deltas counted line by line, so a log mixing them with other stamps once gave other times
 * depending on where a block began. Logs: real excerpts (test/fixtures/real/dmesg, with the
 * French-locale `dmesg -H` one) joined so that the relative part starts inside a block.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {LogParser, parseKernelLog, type LogRecord} from '../src/decode/kernel-log/index.js'
import {RootedHostFs} from '../src/host/fs.js'
import {BlockSplitter, streamKernelLog} from '../src/host/log-stream.js'
import {realData, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const real = (name: string) => readFileSync(path.join(realData, 'dmesg', name), 'utf8')
const relative = real('terra-rmrr-dmesgH-k6.1-1.log')
const monotonic = real('i915-sriov-pve-k6.8-1.log')
/** Non-candidate lines with dmesg -H deltas: they move the clock although no record comes of them. */
const relativeFiller = (count: number) => Array.from({length: count}, (_, i) => `[  +1.${String(i % 1000).padStart(6, '0')}] usb 1-1: reset high-speed USB device number ${i % 100}`).join('\n') + '\n'
const monotonicFiller = (count: number) => Array.from({length: count}, (_, i) => `[ ${(100 + i / 1000).toFixed(6)}] usb 1-2: reset high-speed USB device number ${i % 100}`).join('\n') + '\n'

/** Mixed logs: other stamps first, then dmesg -H (deltas before and between the faults), and the reverse. */
const LOGS: Record<string, string> = {
  'monotonic, then dmesg -H': monotonicFiller(1500) + monotonic + relative + relativeFiller(3000) + relative,
  'dmesg -H, then monotonic, then dmesg -H again': relative + relativeFiller(2500) + monotonicFiller(2000) + monotonic + relative.replace(/^\[févr\.27 06:53\][^\n]*\n/, '') + relativeFiller(900) + relative,
  'an anchor at a block\'s end, its deltas in the next': monotonicFiller(700) + '[févr.27 07:10] usb 1-1: new high-speed USB device\n' + relativeFiller(800) + relative,
}

const strip = (r: LogRecord) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))

/** What `faults` parses when it reads blocks: one parser fed by the block splitter, `chunk` bytes at a time (stdin's way). */
function parseInChunks(text: string, chunk: number): string[] {
  const parser = new LogParser()
  const records: LogRecord[] = []
  const splitter = new BlockSplitter((t, bytes) => parser.pushText(t, (r) => records.push(r), bytes))
  const bytes = Buffer.from(text, 'utf8')
  for (let at = 0; at < bytes.length; at += chunk) splitter.write(bytes.subarray(at, at + chunk))
  splitter.end()
  records.push(...parser.end())
  return records.map(strip)
}

describe('faults: a file and the same bytes on stdin', () => {
  for (const [name, text] of Object.entries(LOGS)) {
    it(`parse alike in any blocks, as line by line: ${name}`, async () => {
      expect(relative).toMatch(/^\[  \+0,000002\] DMAR: \[INTR-REMAP\]/m)
      const lineByLine = parseKernelLog(text).map(strip)
      expect(lineByLine.length).toBeGreaterThan(4)
      // A file (its 2 MiB blocks, and smaller ones), then stdin's 64 KiB chunks and odd sizes.
      const file = path.join(scratchDir('vtd-file-stdin-'), 'kern.log')
      writeFileSync(file, text)
      for (const chunkSize of [2 * 1024 * 1024, 8192]) {
        const parser = new LogParser()
        const got: LogRecord[] = []
        await streamKernelLog(new RootedHostFs('/'), {file, chunkSize}, {block: (t, bytes) => parser.pushText(t, (r) => got.push(r), bytes)})
        got.push(...parser.end())
        expect(got.map(strip), `file @${chunkSize}`).toEqual(lineByLine)
      }
      // As `faults FILE` reads: into the parser's scanner memory (readBuffers), scanned where the blocks lie.
      for (const chunkSize of [2 * 1024 * 1024, 64 * 1024]) {
        const parser = new LogParser()
        const got: LogRecord[] = []
        let lent: [Buffer, Buffer] | undefined
        let inPlace = 0
        await streamKernelLog(new RootedHostFs('/'), {file, chunkSize}, {
          block: (t, bytes) => {
            if (lent !== undefined && bytes.buffer === lent[0].buffer) inPlace++
            parser.pushText(t, (r) => got.push(r), bytes)
          },
          readBuffers: (size) => (lent = parser.readBuffers(size)),
        })
        got.push(...parser.end())
        expect(lent?.[0].length, `lent @${chunkSize}`).toBe(chunkSize)
        expect(inPlace, `blocks read in place @${chunkSize}`).toBeGreaterThanOrEqual(Math.floor(Buffer.byteLength(text) / chunkSize))
        expect(got.map(strip), `file in place @${chunkSize}`).toEqual(lineByLine)
      }
      for (const chunk of [65536, 4093, 1 << 20]) expect(parseInChunks(text, chunk), `stdin @${chunk}`).toEqual(lineByLine)
    })
  }

  it('the binary: `faults FILE --json` and `faults - --json` < FILE agree', async () => {
    const bin = path.join(repoRoot, 'bin/run.js')
    for (const [name, text] of Object.entries(LOGS)) {
      const file = path.join(scratchDir('vtd-file-stdin-'), 'kern.log')
      writeFileSync(file, text)
      const [fromFile, fromStdin] = await Promise.all([
        execa('node', [bin, 'faults', file, '--json'], {reject: false}),
        execa('node', [bin, 'faults', '-', '--json'], {reject: false, inputFile: file}),
      ])
      expect(fromFile.exitCode, name).toBe(fromStdin.exitCode)
      // Evidence names where a line was read ("FILE:1504" / "-:1504"); the rest must be the same.
      const withoutSource = (json: string) => ({...(JSON.parse(json) as Record<string, unknown>), source: undefined})
      expect(withoutSource(fromStdin.stdout), name).toEqual(withoutSource(fromFile.stdout.replaceAll(`"${file}`, '"-')))
    }
  }, 60_000)
})
