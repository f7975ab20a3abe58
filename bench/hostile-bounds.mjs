#!/usr/bin/env node
// Hostile inputs against the built CLI (npm run build first): each run must end within the
// timeout, and its peak RSS (GNU time's %M) stay under 300 MiB. Prints one line per input.
//   node bench/hostile-bounds.mjs
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cli = path.join(repo, 'bin/run.js')
const LIMIT_KIB = 300 * 1024
const TIMEOUT_MS = 120_000
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vtd-bounds-'))
const snapshot = (name) => {
  const snap = path.join(dir, name)
  fs.cpSync(path.join(repo, 'sysfs-fixtures/lab-dma-faults'), snap, {recursive: true, verbatimSymlinks: true})
  return snap
}
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

const sparseSnap = snapshot('sparse')
sparse(path.join(sparseSnap, dev, 'config'), 2 ** 31)
sparse(path.join(sparseSnap, 'sys/firmware/acpi/tables/DMAR'), 2 ** 31)
sparse(path.join(sparseSnap, 'dmesg.txt'), 2 ** 30, '\n[ 1.0] DMAR: [DMA Read] Request device [00:03.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set\n')

const zeroSnap = snapshot('zero-links')
for (const at of [`${dev}/config`, 'sys/firmware/acpi/tables/DMAR', 'dmesg.txt']) {
  fs.rmSync(path.join(zeroSnap, at))
  fs.symlinkSync(at === 'dmesg.txt' ? '/dev/urandom' : '/dev/zero', path.join(zeroSnap, at))
}

const fifoSnap = snapshot('fifos')
for (const at of [`${dev}/config`, 'sys/firmware/acpi/tables/DMAR', 'dmesg.txt', 'meta.json']) {
  fs.rmSync(path.join(fifoSnap, at))
  execFileSync('mkfifo', [path.join(fifoSnap, at)])
}

const longLine = path.join(dir, 'one-line.log')
sparse(longLine, 2 ** 30) // 1 GiB of NULs without a newline
const randomDmar = path.join(dir, 'random.dat')
fs.writeFileSync(randomDmar, Buffer.from(Array.from({length: 4096}, (_, i) => (i * 2654435761) >>> 24)))

const runs = [
  ...['check', 'groups', 'units', 'dmar', 'faults'].flatMap((cmd) => [sparseSnap, zeroSnap, fifoSnap].map((snap) => ({label: `${cmd} --root ${path.basename(snap)}`, args: [cmd, '--root', snap, '--json']}))),
  {label: 'device --root sparse', args: ['device', '0000:00:03.0', '--root', sparseSnap, '--json']},
  {label: 'capture --root zero-links', args: ['capture', '--root', zeroSnap, '--out', path.join(dir, 'out-zero'), '--json']},
  {label: 'capture --root sparse', args: ['capture', '--root', sparseSnap, '--out', path.join(dir, 'out-sparse'), '--json']},
  {label: 'faults FILE (1 GiB line, no newline)', args: ['faults', longLine, '--json']},
  {label: 'faults - (1 GiB line on stdin)', args: ['faults', '-', '--json'], stdin: longLine},
  {label: 'dmar --file random bytes', args: ['dmar', '--file', randomDmar, '--json']},
]

let failed = 0
for (const run of runs) {
  const started = Date.now()
  const result = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, ...run.args], {
    stdio: [run.stdin ? fs.openSync(run.stdin, 'r') : 'ignore', 'ignore', 'pipe'],
    timeout: TIMEOUT_MS,
    encoding: 'utf8',
  })
  const seconds = (Date.now() - started) / 1000
  const rssKib = Number(result.stderr.trim().split('\n').pop())
  const ok = result.signal === null && Number.isFinite(rssKib) && rssKib < LIMIT_KIB
  if (!ok) failed++
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${run.label.padEnd(42)} exit ${String(result.status).padStart(4)}  ${seconds.toFixed(1).padStart(6)} s  peak RSS ${(rssKib / 1024).toFixed(0).padStart(4)} MiB${result.signal ? `  killed (${result.signal}: timed out)` : ''}`)
}
fs.rmSync(dir, {recursive: true, force: true})
console.log(failed === 0 ? `all ${runs.length} under ${LIMIT_KIB / 1024} MiB and ${TIMEOUT_MS / 1000} s` : `${failed} of ${runs.length} over a bound`)
process.exitCode = failed === 0 ? 0 : 1
