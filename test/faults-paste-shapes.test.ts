/**
 * Real fault lines in the shapes people paste them: every kernel era's records (real excerpts in
 * test/fixtures/real/dmesg) put through what the tools and clients in between do to them —
 * colours, syslog and journal formats, grep's prefixes, a crash's NUL run, a web page's no-break
 * spaces, wrapping at a terminal's or a mail client's width, double spacing, Markdown code spans —
 * and real pastes that arrived that way (test/fixtures/paste-shapes, SOURCES.md). Each must give
 * the records counted by hand on the original, on the line path and the byte path alike; what
 * cannot be read is counted and shown, never a "No faults".
 */
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {LogParser, parseKernelLog, type LogRecord} from '../src/decode/kernel-log/index.js'
import {realData, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const pasteShapes = path.join(repoRoot, 'test/fixtures/paste-shapes')
const real = (name: string) => readFileSync(path.join(realData, 'dmesg', name), 'utf8')

/** Records by type (AMD-Vi by event), e.g. {fault: 2, 'fault-status': 1}; context lines left out. */
function tally(records: LogRecord[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of records) {
    if (r.type !== 'fault' && r.type !== 'fault-status' && r.type !== 'suppressed' && r.type !== 'amd-vi' && r.type !== 'unparsed') continue
    const key = r.type === 'amd-vi' ? `amd-vi:${r.event}` : r.type
    out[key] = (out[key] ?? 0) + 1
  }
  return out
}

/** The fault records' identity: requester, reason, access, address or index. */
const faultKeys = (records: LogRecord[]) =>
  records.filter((r) => r.type === 'fault').map((r) => r.type === 'fault' && `${r.requester} r=${r.reason} ${r.access ?? r.kind} ${(r.address ?? r.index)?.toString(16)}`)
const amdKeys = (records: LogRecord[]) =>
  records.filter((r) => r.type === 'amd-vi').map((r) => r.type === 'amd-vi' && `${r.event} ${r.device} ${r.domain} ${r.address?.toString(16)} ${r.flags}`)

const strip = (r: LogRecord) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))

/**
 * The byte path (the WebAssembly scanner and the line cache) against line by line, on the text
 * after 520 filler lines: a log's first 512 lines go line by line whatever the path.
 */
function expectPathsAgree(text: string): void {
  const whole = '[    0.000000] x\n'.repeat(520) + text
  const parser = new LogParser()
  const out: LogRecord[] = []
  const bytes = Buffer.from(whole, 'utf8')
  parser.pushText(bytes.toString('latin1'), (r) => out.push(r), bytes)
  out.push(...parser.end())
  expect(out.map(strip)).toEqual(parseKernelLog(whole).map(strip))
  expect(out.length).toBeGreaterThan(0)
}

/** Each era's records, counted by hand on the real excerpt. */
const ERAS: Array<{log: string; era: string; records: Record<string, number>}> = [
  {log: 'kernel-doc-sample-k2.6-1.log', era: '2.6 two-line', records: {fault: 2}},
  {log: 'dpdk-ctx-clear-k3.15-1.log', era: '3.x two-line, "dmar: DMAR:[DMA Read]"', records: {fault: 1, 'fault-status': 1}},
  {log: 'xhci-root-clear-k4.2-1.log', era: '4.0-4.6 "DMAR: DMAR:[DMA Read]" two-line', records: {fault: 1, 'fault-status': 1}},
  {log: 'onl-as4630-k4.x-1.log', era: '4.7-5.4 single-line, callbacks suppressed', records: {fault: 3, 'fault-status': 4, suppressed: 1}},
  {log: 'igpu-gvtd-reboot-k5.x-1.log', era: '5.x "PASID ffffffff"', records: {fault: 6, 'fault-status': 8, suppressed: 2}},
  {log: 'dasharo-nv41-boot-k6.x-1.log', era: '6.x NO_PASID', records: {fault: 2, 'fault-status': 1}},
  {log: 'dell-xps9360-intremap-k6.x-1.log', era: '6.x INTR-REMAP 0x25', records: {fault: 1, 'fault-status': 1}},
  {log: 'huion-amdgpu-amdvi-k4.x-1.log', era: 'AMD-Vi "device=" form', records: {'amd-vi:IO_PAGE_FAULT': 4}},
  {log: 'apu2-ath10k-amdvi-k6.8-1.log', era: 'AMD-Vi device-prefixed form', records: {'amd-vi:IO_PAGE_FAULT': 3}},
]

const MONOTONIC = /^\[\s*\d+\.\d+\]\s?/
const unstamped = (l: string) => l.replace(MONOTONIC, '')
function wordWrap(line: string, width: number): string[] {
  const out: string[] = []
  let current = ''
  for (const word of line.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      out.push(current)
      current = word
    } else current = current === '' ? word : `${current} ${word}`
  }
  return [...out, current]
}
const hardWrap = (line: string, width: number) => line.length <= width ? [line] : Array.from({length: Math.ceil(line.length / width)}, (_, i) => line.slice(i * width, (i + 1) * width))

/** What the tools between the kernel and a bug report do to a log's lines. */
const WRAPPERS: Record<string, (lines: string[]) => string[]> = {
  // util-linux dmesg --color=always: the stamp green, an error's text bold red
  'dmesg --color=always': (ls) => ls.map((l) => l.replace(MONOTONIC, (s) => `\x1b[32m${s.trimEnd()}\x1b[0m `).replace(/(\S.*)$/, '\x1b[1;31m$1\x1b[0m')),
  'dmesg -d (delta)': (ls) => ls.map((l, i) => `[  ${(100 + i / 1000).toFixed(6)} <    0.000011>] ${unstamped(l)}`),
  'dmesg --time-format=iso': (ls) => ls.map((l) => `2024-01-09T10:03:12,035211+01:00 ${unstamped(l)}`),
  'journalctl -o short-full': (ls) => ls.map((l) => `Tue 2024-01-09 10:03:12 CET host kernel: ${unstamped(l)}`),
  'journalctl -o short-unix': (ls) => ls.map((l) => `1704791000.035211 host kernel: ${unstamped(l)}`),
  'rsyslog RFC 5424': (ls) => ls.map((l) => `<3>1 2024-01-09T10:03:12.035211+01:00 host kernel - - - ${l}`),
  'rsyslog RFC 5424 with structured data': (ls) => ls.map((l) => `<3>1 2024-01-09T10:03:12.035211+01:00 host kernel - - [timeQuality tzKnown="1" isSynced="0"] ${l}`),
  'grep kern.log*': (ls) => ls.map((l) => `/var/log/kern.log.1:Jan  9 10:03:12 host kernel: ${l}`),
  'grep -n': (ls) => ls.map((l, i) => `${1200 + i}:${l.startsWith('[') ? l : `Jan  9 10:03:12 host kernel: ${l}`}`),
  'a crash\'s NUL run in syslog': (ls) => ls.map((l, i) => `${i === 0 ? '\0'.repeat(64) : ''}Jan  9 10:03:12 host kernel: ${l}`),
  'no-break spaces from a web page': (ls) => ls.map((l) => l.replace(/ {2}/g, '\u00a0 ').replace(/\] /, ']\u00a0')),
  'serial console <3>': (ls) => ls.map((l) => `<3>${l}`),
  'CRLF': (ls) => ls.map((l) => `${l}\r`),
  'Markdown code span': (ls) => ls.map((l) => `\`${l}\``),
  'quoted Markdown code span': (ls) => ls.map((l) => `> \`${l}\``),
  'listing line numbers': (ls) => ls.map((l, i) => `${String(i + 1).padStart(3)}  ${l.startsWith('[') ? l : `Jan  9 10:03:12 host kernel: ${l}`}`),
  'double spaced': (ls) => ls.flatMap((l) => [l, '']),
  'hard wrap at 80 columns': (ls) => ls.flatMap((l) => hardWrap(l, 80)),
  'word wrap at 72, mail-quoted': (ls) => ls.flatMap((l) => wordWrap(l, 72).map((w) => `> ${w}`)),
}

describe('faults: real records in every paste shape', () => {
  for (const {log, era, records} of ERAS) {
    const original = real(log)
    it(`${era} (${log}): hand-counted records`, () => {
      expect(tally(parseKernelLog(original))).toEqual(records)
    })
    const lines = original.split('\n').filter((l, i, all) => i < all.length - 1 || l !== '')
    for (const [name, wrap] of Object.entries(WRAPPERS)) {
      it(`${era}: ${name}`, () => {
        const text = wrap(lines).join('\n') + '\n'
        const parsed = parseKernelLog(text)
        expect(tally(parsed)).toEqual(records)
        expect(faultKeys(parsed)).toEqual(faultKeys(parseKernelLog(original)))
        expect(amdKeys(parsed)).toEqual(amdKeys(parseKernelLog(original)))
        expectPathsAgree(text)
      })
    }
  }

  it('an AMD-Vi event wrapped before or inside its "[" keeps its fields (5.x device-prefixed, 4.x device=)', () => {
    for (const line of [
      'vfio-pci 0000:0b:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0000 address=0xfffffffdf8000000 flags=0x0020]',
      ...real('huion-amdgpu-amdvi-k4.x-1.log').split('\n').filter((l) => l.includes('Event logged')).slice(0, 1),
    ]) {
      const whole = parseKernelLog(line + '\n')
      expect(tally(whole)).toEqual({'amd-vi:IO_PAGE_FAULT': 1})
      for (const cut of [line.indexOf('Event logged') + 'Event logged'.length, line.indexOf('domain='), line.indexOf('flags=')]) {
        const text = `${line.slice(0, cut).trimEnd()}\n${line.slice(cut).trimStart()}\n`
        const parsed = parseKernelLog(text)
        expect(amdKeys(parsed), text).toEqual(amdKeys(whole))
        expectPathsAgree(text)
      }
    }
  })

  it('a cut AMD-Vi event whose rest never comes is still the event it names', () => {
    const parsed = parseKernelLog('[ 9.1] amdgpu 0000:03:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0000\n[ 9.2] usb 1-1: new device\n')
    expect(amdKeys(parsed)).toEqual(['IO_PAGE_FAULT 0000:03:00.0 0 undefined undefined'])
  })

  it('another line between a record\'s two printk calls: the AMD-Vi split form, Xen\'s head and reason on a console shared with dom0', () => {
    const split = readFileSync(path.join(repoRoot, 'test/fixtures/fault-cases/amdvi-apu2-wle600vx-ath10k-split.case'), 'utf8').split('--- log\n')[1]!.trimEnd().split('\n')
    const dom0 = real('xhci-root-clear-k4.2-1.log').split('\n').filter((l) => l.includes('xhci_hcd'))
    expect(dom0).toHaveLength(2)
    const xen = readFileSync(path.join(pasteShapes, 'qubes-1710-xen-dom0.log'), 'utf8').trimEnd().split('\n')
    for (const lines of [split, xen]) {
      const original = parseKernelLog(lines.join('\n') + '\n')
      // After every line that waits for its next one, the dom0 lines.
      const interleaved = lines.flatMap((l) => (/Event logged \[$|iommu reg = /.test(l) ? [l, ...dom0] : [l])).join('\n') + '\n'
      expect(interleaved.length).toBeGreaterThan(lines.join('\n').length + 100)
      const parsed = parseKernelLog(interleaved)
      expect(tally(parsed)).toEqual(tally(original))
      expect([...faultKeys(parsed), ...amdKeys(parsed)]).toEqual([...faultKeys(original), ...amdKeys(original)])
      expectPathsAgree(interleaved)
    }
    // Each split event counted: six event lines, the first without its head (the paste began there).
    expect(tally(parseKernelLog(split.join('\n')))).toEqual({'amd-vi:IO_PAGE_FAULT': 6})
  })

  it('a two-line tail cut inside "[fault reason" completes its head', () => {
    const parsed = parseKernelLog('DMAR:[DMA Read] Request device [00:02.0] fault addr 7fb00000\nDMAR:[fault rea\nson 06] PTE Read access is not set\n')
    expect(faultKeys(parsed)).toEqual(['0000:00:02.0 r=6 read 7fb00000'])
  })
})

/** Real pastes (test/fixtures/paste-shapes/SOURCES.md), counted by hand. */
const PASTES: Array<{log: string; records: Record<string, number>; faults: string[]; exit: number}> = [
  {log: 'sof-test-688-fenced-kernel-prefix.log', records: {fault: 1, 'fault-status': 1}, faults: ['0000:00:02.0 r=6 read 70e67000'], exit: 1},
  {log: 'eve-146-xen-inline-code.log', records: {fault: 1}, faults: ['0000:00:02.0 r=undefined read 8e43c000'], exit: 1},
  {log: 'qubes-1710-xen-dom0.log', records: {fault: 4}, faults: Array(4).fill('0000:01:00.0 r=5 write 8c000'), exit: 1},
  // Retyped by the poster with the requester blanked: no record can be made, both lines are shown.
  {log: 'mgbench-8-inline-code-retyped.log', records: {unparsed: 2}, faults: [], exit: 3},
]

describe('faults --json on real pastes', () => {
  for (const {log, records, faults, exit} of PASTES) {
    it(`${log}: ${JSON.stringify(records)}, exit ${exit}`, async () => {
      const file = path.join(pasteShapes, log)
      const parsed = parseKernelLog(readFileSync(file, 'utf8'))
      expect(tally(parsed)).toEqual(records)
      expect(faultKeys(parsed)).toEqual(faults)
      const run = await execa('node', [path.join(repoRoot, 'bin/run.js'), 'faults', file, '--json'], {reject: false})
      expect(run.exitCode).toBe(exit)
      const json = JSON.parse(run.stdout) as {summary: {faultRecords: number}; events: Array<{type: string; count: number}>}
      expect(json.summary.faultRecords).toBe(records.fault ?? 0)
      expect(json.events.filter((e) => e.type === 'unparsed').reduce((n, e) => n + e.count, 0)).toBe(records.unparsed ?? 0)
    })
  }

  it('an empty log, a binary file and a compressed log say they tell nothing (exit 3), a truncated record is shown; other encodings read', async () => {
    const dir = scratchDir('vtd-paste-shapes-')
    const qubes = readFileSync(path.join(pasteShapes, 'qubes-1710-xen-dom0.log'))
    const dasharo = real('dasharo-nv41-boot-k6.x-1.log')
    // A French journal saved on Windows: Windows-1252 ("févr." as 0xE9) and CRLF; the stamp is terra-rmrr-journal's.
    const windows1252 = Buffer.from(dasharo.trimEnd().split('\n').map((l) => `févr. 12 13:47:54 ordi kernel: ${unstamped(l)}\r\n`).join(''), 'latin1')
    const cases: Array<[string, Buffer, number, RegExp]> = [
      ['empty.log', Buffer.alloc(0), 3, /is empty/],
      ['random.bin', Buffer.from(Array.from({length: 4096}, (_, i) => (i * 7919 + 13) % 251)), 3, /does not look like a text log/],
      ['kern.log.gz', Buffer.from([0x1f, 0x8b, 0x08, 0x00, ...Array.from({length: 600}, (_, i) => (i * 31) % 256)]), 3, /does not look like a text log/],
      ['truncated.log', Buffer.from('[ 12.5] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7b8'), 3, /1 fault-like line\(s\) were not understood/],
      ['windows-1252.log', windows1252, 1, /^2 fault line\(s\)/],
      ['utf-16le-bom.log', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(dasharo, 'utf16le')]), 1, /^2 fault line\(s\)/],
      ['utf-8-bom.log', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(dasharo)]), 1, /^2 fault line\(s\)/],
      // A crash's NUL run before the next boot's lines is no binary file: the faults still count.
      ['crashed-syslog.log', Buffer.concat([Buffer.alloc(3000), qubes]), 1, /^4 fault line\(s\)/],
    ]
    for (const [name, bytes, exit, says] of cases) {
      const file = path.join(dir, name)
      writeFileSync(file, bytes)
      const run = await execa('node', [path.join(repoRoot, 'bin/run.js'), 'faults', file], {reject: false, env: {NO_COLOR: '1'}})
      expect(run.exitCode, name).toBe(exit)
      expect(run.stdout, name).toMatch(says)
      expect(run.stderr, name).not.toMatch(/at .*\.js:\d+/)
    }
  })
})
