// The host commands print the same bytes as another build (issue 15: a change to the start or the
// command layer must not change what is printed). Runs `check`, `groups` and `device` in their text
// and JSON forms with representative flags, errors included, on every snapshot in sysfs-fixtures/
// and on the given roots (e.g. hosts from bench/large-host.mjs), with this build and with --before's,
// and compares stdout, stderr and the exit code byte for byte. Exits 1 when any run differs.
//
// usage: node bench/same-output.mjs --before OLD/bin/run.js [--roots DIR,DIR] [--jobs N]
// Both builds must be built (`npm run build`). Not a test: it needs another build.
import {execFile} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const argv = process.argv.slice(2)
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : fallback
}
const before = option('before', undefined)
if (before === undefined) throw new Error('usage: node bench/same-output.mjs --before OLD/bin/run.js [--roots DIR,DIR] [--jobs N]')
const after = path.join(repoRoot, 'bin/run.js')
const jobs = Number(option('jobs', '2'))
const fixtures = path.join(repoRoot, 'sysfs-fixtures')
const roots = [
  ...readdirSync(fixtures).sort().map((d) => path.join(fixtures, d)).filter((d) => existsSync(path.join(d, 'sys'))),
  ...(option('roots', '') || '').split(',').filter(Boolean).map((d) => path.resolve(d)),
]

/** Every form of each command this comparison runs on a root; device BDF for a few of its devices. */
function formsFor(root) {
  const devices = readdirSync(path.join(root, 'sys/bus/pci/devices'), {throwIfNoEntry: false}) ?? []
  const some = [...new Set([devices[0], devices[Math.floor(devices.length / 2)], devices.at(-1)].filter(Boolean))]
  return [
    ['check'], ['check', '--json'], ['check', '-v', '--all'], ['check', '--verbose', '--json'], ['check', '--device', some[0] ?? '01:00.0'],
    ['groups'], ['groups', '--json'], ['groups', '--predict'], ['groups', '--predict', '--json'], ['groups', '--lines'], ['groups', '--table'], ['groups', '--tree'],
    ['groups', '--tree', '--predict', '--json'], ['groups', '--why', some[0] ?? '01:00.0'],
    ['device', '--tree'], ['device', '--tree', '--json'], ...some.flatMap((bdf) => [['device', bdf], ['device', '--json', bdf]]),
    // Errors: an absent device, a malformed one, no device at all.
    ['device', '0000:7f:1f.7'], ['device', 'not-a-bdf', '--json'], ['device'],
  ].map((form) => [...form, '--root', root])
}

const run = promisify(execFile)
async function vtd(bin, args) {
  try {
    const {stdout, stderr} = await run(process.execPath, [bin, ...args], {cwd: repoRoot, encoding: 'buffer', maxBuffer: 1 << 30})
    return {status: 0, stdout, stderr}
  } catch (error) {
    return {status: error.code, stdout: error.stdout, stderr: error.stderr}
  }
}

const work = roots.flatMap(formsFor)
let next = 0
let differ = 0
async function worker() {
  while (next < work.length) {
    const args = work[next++]
    const [a, b] = [await vtd(after, args), await vtd(before, args)]
    const same = a.status === b.status && a.stdout.equals(b.stdout) && a.stderr.equals(b.stderr)
    if (!same) {
      differ++
      console.log(`DIFFERS: ${args.join(' ')} (exit ${a.status} vs ${b.status}, stdout ${a.stdout.length} vs ${b.stdout.length} bytes, stderr ${a.stderr.length} vs ${b.stderr.length})`)
    }
  }
}
await Promise.all(Array.from({length: jobs}, worker))
console.log(`${work.length} runs on ${roots.length} roots, ${differ} differ (this build: ${after}; before: ${path.resolve(before)})`)
process.exitCode = differ === 0 ? 0 : 1
