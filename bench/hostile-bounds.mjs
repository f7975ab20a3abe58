#!/usr/bin/env node
// Every hostile input of issue 16 against the built CLI (npm run build first): each run must end
// within its time bound, and its peak RSS (GNU time's %M) stay under 300 MiB. Prints a table and
// exits 1 on a breach. Inputs are generated in a temporary directory, removed at the end.
//   node bench/hostile-bounds.mjs [--only SUBSTRING] [--json FILE]
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cli = path.join(repo, 'bin/run.js')
const LIMIT_KIB = 300 * 1024
const option = (name) => {
  const at = process.argv.indexOf(name)
  return at > 0 ? process.argv[at + 1] : undefined
}
const only = option('--only')
const jsonOut = option('--json')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vtd-bounds-'))
process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}))
const snapshot = (name) => {
  const snap = path.join(dir, name)
  fs.cpSync(path.join(repo, 'sysfs-fixtures/lab-dma-faults'), snap, {recursive: true, verbatimSymlinks: true})
  return snap
}
/** A sparse file of `size` bytes (NULs, no disk), with `tail` written at its end. */
const sparse = (file, size, tail = '') => {
  fs.rmSync(file, {force: true})
  fs.writeFileSync(file, '')
  fs.truncateSync(file, size)
  if (tail) {
    const fd = fs.openSync(file, 'r+')
    fs.writeSync(fd, tail, size)
    fs.closeSync(fd)
  }
}
const dev = 'sys/devices/pci0000:00/0000:00:03.0'
const faultLine = (i, bdf = '00:03.0') => `[ ${(i / 1000).toFixed(6)}] DMAR: [DMA Read] Request device [${bdf}] fault addr 0x${(0x100000 + i * 4096).toString(16)} [fault reason 0x06] PTE Read access is not set`

// Snapshots: sparse giants, links to devices that never end, FIFOs that never open.
const sparseSnap = snapshot('sparse')
sparse(path.join(sparseSnap, dev, "config"), 1_900_000_000)
sparse(path.join(sparseSnap, 'sys/firmware/acpi/tables/DMAR'), 2 ** 31)
sparse(path.join(sparseSnap, 'dmesg.txt'), 2 ** 30, `\n${faultLine(1)}\n`)
const zeroSnap = snapshot('zero-links')
for (const [at, target] of [[`${dev}/config`, '/dev/zero'], ['sys/firmware/acpi/tables/DMAR', '/dev/zero'], ['dmesg.txt', '/dev/urandom'], ['proc/cmdline', '/dev/urandom']]) {
  fs.rmSync(path.join(zeroSnap, at), {force: true})
  fs.symlinkSync(target, path.join(zeroSnap, at))
}
const fifoSnap = snapshot('fifos')
for (const at of [`${dev}/config`, 'sys/firmware/acpi/tables/DMAR', 'dmesg.txt', 'meta.json']) {
  fs.rmSync(path.join(fifoSnap, at), {force: true})
  execFileSync('mkfifo', [path.join(fifoSnap, at)])
}

// Files given on the command line.
const longLine = path.join(dir, 'one-line.log')
sparse(longLine, 2 ** 30) // 1 GiB of NULs without a newline
const bigDmar = path.join(dir, 'dmar-2g.dat')
sparse(bigDmar, 2 ** 31)
const randomDmar = path.join(dir, 'random.dat')
fs.writeFileSync(randomDmar, Buffer.from(Array.from({length: 4096}, (_, i) => (i * 2654435761) >>> 24)))
/** A DMAR of `size` bytes filled with structures of `length` bytes and type `type`. */
const dmarOf = (size, length, type) => {
  const b = Buffer.alloc(size)
  b.write('DMAR', 0)
  b.writeUInt32LE(size, 4)
  b[8] = 1
  b[36] = 38
  for (let at = 48; at + length <= size; at += length) {
    b.writeUInt16LE(type, at)
    b.writeUInt16LE(length, at + 2)
  }
  return b
}
const tinyDmar = path.join(dir, 'dmar-8m-tiny.dat')
fs.writeFileSync(tinyDmar, dmarOf(8 * 2 ** 20, 4, 0x7f))
const scopeDmar = path.join(dir, 'dmar-16m-scopes.dat')
{
  // 16 MiB of DRHDs, each 65 532 bytes of 6-byte device scopes (about 2.8 M scopes).
  const size = 16 * 2 ** 20 - 1
  const b = Buffer.alloc(size)
  const length = 65532 - ((65532 - 16) % 6)
  let at = 48
  for (; at + length <= size; at += length) {
    b.writeUInt16LE(0, at)
    b.writeUInt16LE(length, at + 2)
    for (let s = at + 16; s + 6 <= at + length; s += 6) b.set([1, 6], s)
  }
  b.write('DMAR', 0)
  b.writeUInt32LE(at, 4)
  b[36] = 38
  fs.writeFileSync(scopeDmar, b.subarray(0, at))
}
const unit = {name: 'dmar0', cap: '0xd2008c22260206', ecap: '0xf00f4a', haw: 39}
const pokes = (n) => Array.from({length: n}, (_, i) => ({address: 0x2000_0000 + i * 4096, value: 1}))
const pokes2m = path.join(dir, 'pokes-2m.json')
fs.writeFileSync(pokes2m, JSON.stringify({unit, pokes: pokes(2_000_000)}))
const pokesFit = path.join(dir, 'pokes-450k.json')
fs.writeFileSync(pokesFit, JSON.stringify({unit, pokes: pokes(450_000)}))
const hugeMapping = path.join(dir, 'mapping-1t.json')
fs.writeFileSync(hugeMapping, JSON.stringify({unit, domains: [{name: 'd', mappings: [{iova: '0x1000', hpa: '0x3000', size: '0x10000000000'}]}], devices: [{bdf: '0000:01:00.0', domain: 'd'}]}))
const storm = path.join(dir, 'storm-300k.log')
{
  // 300 k fault lines, every one a new requester × page (and 4 reasons, both directions).
  const fd = fs.openSync(storm, 'w')
  let chunk = ''
  for (let i = 0; i < 300_000; i++) {
    const bdf = `${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${((i >> 3) & 0x1f).toString(16).padStart(2, '0')}.${i & 7}`
    chunk += faultLine(i, bdf).replace('DMA Read', i & 1 ? 'DMA Write' : 'DMA Read').replace('0x06', `0x0${[5, 6, 1, 2][(i >> 16) & 3]}`) + '\n'
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk)
      chunk = ''
    }
  }
  fs.writeSync(fd, chunk)
  fs.closeSync(fd)
}

const S = 1000
const runs = [
  ...['check', 'groups', 'units', 'dmar', 'faults'].flatMap((cmd) =>
    [sparseSnap, zeroSnap, fifoSnap].map((snap) => ({label: `${cmd} --root ${path.basename(snap)}`, args: [cmd, '--root', snap, '--json'], seconds: 30}))),
  {label: 'device --root sparse (1.9 GB config)', args: ['device', '0000:00:03.0', '--root', sparseSnap, '--json'], seconds: 30},
  {label: 'diff sparse zero-links', args: ['diff', sparseSnap, zeroSnap, '--json'], seconds: 30},
  {label: 'fleet sparse zero-links fifos', args: ['fleet', sparseSnap, zeroSnap, fifoSnap, '--json'], seconds: 30},
  {label: 'capture --root zero-links', args: ['capture', '--root', zeroSnap, '--out', path.join(dir, 'out-zero'), '--json'], seconds: 30},
  {label: 'capture --root sparse', args: ['capture', '--root', sparseSnap, '--out', path.join(dir, 'out-sparse'), '--json'], seconds: 30},
  {label: 'faults FILE (1 GiB line, no newline)', args: ['faults', longLine, '--json'], seconds: 60},
  {label: 'faults - (1 GiB line on stdin)', args: ['faults', '-', '--json'], stdin: longLine, seconds: 60},
  {label: 'dmar --file (2 GiB)', args: ['dmar', '--file', bigDmar, '--json'], seconds: 30},
  {label: 'dmar --file random bytes', args: ['dmar', '--file', randomDmar, '--json'], seconds: 30},
  {label: 'dmar --file (8 MiB of 4-byte structures)', args: ['dmar', '--file', tinyDmar, '--json'], seconds: 30},
  {label: 'dmar --file (8 MiB of 4-byte structures), text', args: ['dmar', '--file', tinyDmar], seconds: 30},
  {label: 'dmar --file (16 MiB of device scopes)', args: ['dmar', '--file', scopeDmar, '--json'], seconds: 30},
  {label: 'replay --tables (2 M pokes, 71 MB)', args: ['replay', '--device', '0000:01:00.0', '--address', '0x1000', '--tables', pokes2m, '--json'], seconds: 30},
  {label: 'replay --tables (450 k pokes, 16 MB)', args: ['replay', '--device', '0000:01:00.0', '--address', '0x1000', '--tables', pokesFit, '--json'], seconds: 30},
  {label: 'replay --tables (one 1 TiB mapping)', args: ['replay', '--device', '0000:01:00.0', '--address', '0x1000', '--tables', hugeMapping, '--json'], seconds: 30},
  {label: 'faults FILE (300 k distinct storm)', args: ['faults', storm, '--json'], seconds: 120},
  {label: 'faults FILE (300 k distinct storm), text', args: ['faults', storm], seconds: 120},
].filter((run) => only === undefined || run.label.includes(only))

const results = []
for (const run of runs) {
  const started = Date.now()
  const stdin = run.stdin ? fs.openSync(run.stdin, 'r') : 'ignore'
  const result = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, ...run.args], {
    stdio: [stdin, 'ignore', 'pipe'],
    timeout: run.seconds * S,
    encoding: 'utf8',
  })
  if (typeof stdin === 'number') fs.closeSync(stdin)
  const seconds = (Date.now() - started) / S
  const rssKib = Number(result.stderr.trim().split('\n').pop())
  const ok = result.signal === null && Number.isFinite(rssKib) && rssKib < LIMIT_KIB && [0, 1, 2, 3].includes(result.status)
  results.push({label: run.label, exit: result.status, seconds, peakRssMiB: Math.round(rssKib / 1024), bound: run.seconds, ok})
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${run.label.padEnd(48)} exit ${String(result.status).padStart(4)}  ${seconds.toFixed(1).padStart(6)} s (≤ ${run.seconds})  peak RSS ${(rssKib / 1024).toFixed(0).padStart(4)} MiB${result.signal ? `  killed (${result.signal}: over its time bound)` : ''}`)
}
const failed = results.filter((r) => !r.ok).length
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({limitMiB: LIMIT_KIB / 1024, results}, null, 2) + '\n')
console.log(failed === 0 ? `all ${runs.length} under ${LIMIT_KIB / 1024} MiB and their time bounds` : `${failed} of ${runs.length} over a bound`)
process.exitCode = failed === 0 ? 0 : 1
