// `faults` output identity between two builds (issue 15: a speed change must not change one byte).
// Runs `faults LOG`, `faults LOG --json`, `faults - < LOG` and `faults - --json < LOG` with this
// build and with another build's bin/run.js, and compares stdout, stderr and the exit code, on:
// every .log/.txt under test/fixtures, every lab snapshot's dmesg.txt, the inline log of every
// fault case, all of those concatenated into one log, and any extra logs given (e.g. the 256 MiB
// logs bench/speed.mjs builds).
//
// usage: node bench/faults-identity.mjs --before OTHER/bin/run.js [--jobs 2] [EXTRA.log ...]
// Needs `npm run build` in both trees. Prints each difference and a count; exit 1 when any differ.
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const argv = process.argv.slice(2)
const option = (name) => {
  const i = argv.indexOf(`--${name}`)
  if (i < 0) return undefined
  const [value] = argv.splice(i, 2).slice(1)
  return value
}
const before = option('before')
const jobs = Number(option('jobs') ?? '2')
if (before === undefined || !existsSync(before)) throw new Error('usage: node bench/faults-identity.mjs --before OTHER/bin/run.js [--jobs N] [EXTRA.log ...]')
const after = path.join(repoRoot, 'bin/run.js')

function walk(dir, keep) {
  const out = []
  for (const entry of readdirSync(dir, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...walk(file, keep))
    else if (keep(entry.name)) out.push(file)
  }
  return out
}

const work = mkdtempSync(path.join(tmpdir(), 'faults-identity-'))
const logs = walk(path.join(repoRoot, 'test/fixtures'), (name) => name.endsWith('.log') || name.endsWith('.txt'))
for (const snapshot of readdirSync(path.join(repoRoot, 'sysfs-fixtures')).sort()) {
  const file = path.join(repoRoot, 'sysfs-fixtures', snapshot, 'dmesg.txt')
  if (existsSync(file)) logs.push(file)
}
// A fault case's inline log: the lines after "--- log" (cases naming a `log:` file use one listed above).
for (const file of walk(path.join(repoRoot, 'test/fixtures/fault-cases'), (name) => name.endsWith('.case'))) {
  const text = readFileSync(file, 'utf8')
  const at = text.indexOf('\n--- log\n')
  if (at < 0) continue
  const out = path.join(work, `${path.basename(file, '.case')}.log`)
  writeFileSync(out, text.slice(at + '\n--- log\n'.length))
  logs.push(out)
}
const all = path.join(work, 'all-concatenated.log')
writeFileSync(all, Buffer.concat(logs.map((f) => readFileSync(f))))
logs.push(all, ...argv.map((f) => path.resolve(f)))

function run(bin, args, stdinFile) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'faults', ...args], {cwd: repoRoot, stdio: [stdinFile === undefined ? 'ignore' : openSync(stdinFile, 'r'), 'pipe', 'pipe']})
    const stdout = []
    const stderr = []
    child.stdout.on('data', (d) => stdout.push(d))
    child.stderr.on('data', (d) => stderr.push(d))
    child.on('close', (code, signal) => resolve({stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), code, signal}))
  })
}

const tasks = logs.flatMap((log) => [
  {log, args: [log]},
  {log, args: [log, '--json']},
  {log, args: ['-'], stdin: log},
  {log, args: ['-', '--json'], stdin: log},
])
let differ = 0
let done = 0
async function worker() {
  for (let task = tasks.shift(); task !== undefined; task = tasks.shift()) {
    const [a, b] = await Promise.all([run(after, task.args, task.stdin), run(before, task.args, task.stdin)])
    done++
    const same = a.code === b.code && a.signal === b.signal && a.stdout.equals(b.stdout) && a.stderr.equals(b.stderr)
    if (!same) {
      differ++
      console.log(`DIFFERS: faults ${task.args.join(' ')}${task.stdin ? ` < ${task.stdin}` : ''} (exit ${a.code} vs ${b.code}; stdout ${a.stdout.length} vs ${b.stdout.length} bytes)`)
    }
  }
}
await Promise.all(Array.from({length: jobs}, worker))
rmSync(work, {recursive: true, force: true})
console.log(`${done} outputs on ${logs.length} logs compared with ${before}: ${differ} differ`)
process.exitCode = differ === 0 ? 0 : 1
