// Speed of vtd-check against the tools a user would otherwise run, on the same work, in one run
// (issue 15). Each pair runs interleaved (the order alternates every round) and the medians of the
// children's CPU time (user + sys) are compared; peak RSS comes from one extra untimed run each.
//
// usage: node bench/speed.mjs [--runs N] [--sizes 250,500,1000,2062,4000] [--log-bytes B]
//                             [--only host,faults,start] [--json FILE] [--markdown] [--cli BIN] [--before BIN]
// --cli: another build's bin/run.js (e.g. a worktree of an older commit) to measure instead.
// --before: measure the host commands and faults against another build's bin/run.js instead of lspci and grep.
// Needs: `npm run build` (runs ./bin/run.js), GNU time (/usr/bin/time, Debian `time`), lspci
// (Debian `pciutils`). Work files (generated hosts, logs) go to $BENCH_DIR (default /tmp/vtd-speed-bench)
// and are reused while the generators are unchanged. Not a test: numbers vary by machine.
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const work = process.env.BENCH_DIR ?? '/tmp/vtd-speed-bench'
const argv = process.argv.slice(2)
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : fallback
}
const runs = Number(option('runs', '5'))
const sizes = option('sizes', '2062').split(',').map(Number)
const logBytes = Number(option('log-bytes', String(256 << 20)))
const only = new Set(option('only', 'host,faults,start').split(','))
const jsonOut = option('json', undefined)
const markdown = argv.includes('--markdown')

const cli = path.resolve(option('cli', path.join(repoRoot, 'bin/run.js')))
// --before BIN: the host commands' and faults' yardstick is the same command run by another build (an older
// commit's bin/run.js), interleaved in the same rounds: a before/after ratio that load cannot skew.
const before = option('before', undefined) && path.resolve(option('before'))
const lab = path.join(repoRoot, 'sysfs-fixtures/lab-switch')
if (!existsSync(path.join(path.dirname(cli), '../dist/commands'))) throw new Error('run `npm run build` first')
// A build older than its sources measures the wrong code (a checkout that moved on without
// `npm run build` once passed for a 15% regression).
for (const bin of [cli, before].filter(Boolean)) {
  const buildRoot = path.resolve(path.dirname(bin), '..')
  const built = path.join(buildRoot, 'oclif.manifest.json')
  const stale = existsSync(built) && newerSources(path.join(buildRoot, 'src'), statSync(built).mtimeMs)
  if (stale) throw new Error(`${buildRoot}: ${path.relative(buildRoot, stale)} is newer than the build: run \`npm run build\` there first`)
}
function newerSources(dir, than) {
  if (!existsSync(dir)) return undefined
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      const found = newerSources(file, than)
      if (found) return found
    } else if (entry.name.endsWith('.ts') && statSync(file).mtimeMs > than) return file
  }
  return undefined
}
if (!existsSync('/usr/bin/time')) throw new Error('needs GNU time at /usr/bin/time (Debian package `time`)')
mkdirSync(work, {recursive: true})

/** Output of the generators depends on their own source and the fixtures they copy: rebuild when they change. */
function stamp(files) {
  const hash = createHash('sha256')
  for (const f of files) hash.update(readFileSync(path.join(repoRoot, f)))
  return hash.digest('hex').slice(0, 16)
}
function cached(out, key, build) {
  const marker = `${out}.stamp`
  if (existsSync(out) && existsSync(marker) && readFileSync(marker, 'utf8') === key) return out
  rmSync(out, {recursive: true, force: true})
  build()
  writeFileSync(marker, key)
  return out
}
function node(args) {
  const r = spawnSync(process.execPath, args, {cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit']})
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed`)
}

/**
 * One run of a command: CPU seconds of the child (user + sys, from bash's `times`, millisecond
 * resolution; GNU time prints only hundredths) and, with `rss`, its peak RSS from GNU time.
 * stdout goes into a pipe that is drained (GNU grep stops at the first match when stdout is /dev/null).
 */
function measure(cmd, rss = false) {
  const timesFile = path.join(work, `times.${process.pid}.out`)
  const rssFile = path.join(work, `rss.${process.pid}.out`)
  const script = rss ? '/usr/bin/time -f %M -o "$RSS" "$@"; s=$?; times > "$TIMES"; exit $s' : '"$@"; s=$?; times > "$TIMES"; exit $s'
  const r = spawnSync('bash', ['-c', script, 'bash', ...cmd], {
    stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, env: {...process.env, TIMES: timesFile, RSS: rssFile},
  })
  if (r.error) throw r.error
  const children = readFileSync(timesFile, 'utf8').trim().split('\n')[1]
  const [user, sys] = children.split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t)
    return Number(m[1]) * 60 + Number(m[2])
  })
  const rssMiB = rss ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) / 1024 : 0
  return {cpu: user + sys, rssMiB, status: r.status, out: r.stdout.length}
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Interleaved pairs: round i runs ours first when i is even, the yardstick first when odd. */
function pair(name, ours, yardstick, goal, extra = {}) {
  // Once each untimed: warms the page cache, and gives the peak RSS (GNU time) outside the timed runs.
  const rssOurs = measure(ours, true).rssMiB, rssYardstick = measure(yardstick, true).rssMiB
  const a = [], b = []
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) { a.push(measure(ours)); b.push(measure(yardstick)) } else { b.push(measure(yardstick)); a.push(measure(ours)) }
  }
  const row = {
    name, ...extra, ours: median(a.map((r) => r.cpu)), yardstick: median(b.map((r) => r.cpu)),
    oursRssMiB: rssOurs, yardstickRssMiB: rssYardstick,
    goal, oursStatus: [...new Set(a.map((r) => r.status))],
  }
  // A crashed or usage-failed run (exit >= 2, or no output) is not a measurement.
  const broken = a.filter((r) => r.status === null || r.status >= 2 || r.out === 0)
  if (broken.length > 0) row.error = `${broken.length} of ${a.length} runs failed (exit ${broken.map((r) => r.status).join(', ')})`
  row.ratio = row.ours / row.yardstick
  row.met = !row.error && row.ratio <= goal && (extra.rssGoalMiB === undefined || row.oursRssMiB < extra.rssGoalMiB)
  print(row)
  rows.push(row)
  return row
}

const rows = []
function print(r) {
  const rss = `RSS ${r.oursRssMiB.toFixed(0)} MiB vs ${r.yardstickRssMiB.toFixed(0)} MiB` + (r.rssGoalMiB ? ` (goal < ${r.rssGoalMiB})` : '')
  console.log(`${r.name.padEnd(52)} ${r.ours.toFixed(3)} s vs ${r.yardstick.toFixed(3)} s  ratio ${r.ratio.toFixed(2)} (goal ≤ ${r.goal})  ${r.met ? 'MET' : 'NOT MET'}  ${rss}${r.error ? `  ERROR: ${r.error}` : ''}`)
}

console.log(`vtd-check speed (${cli}): ${runs} interleaved rounds per pair, medians of child CPU (user+sys); node ${process.version}; work dir ${work}`)

if (only.has('start')) {
  const nodeNothing = [process.execPath, '-e', '0']
  pair('vtd-check --help  vs  node -e 0', [process.execPath, cli, '--help'], nodeNothing, 2)
  pair('check --root lab-switch  vs  node -e 0', [process.execPath, cli, 'check', '--root', lab], nodeNothing, 3)
}

if (only.has('faults')) {
  const key = stamp(['bench/faults.build-log.mjs'])
  const mix = cached(path.join(work, `mix-${logBytes}.log`), key, () => node(['bench/faults.build-log.mjs', path.join(work, `mix-${logBytes}.log`), String(logBytes)]))
  const storm = cached(path.join(work, `storm-${logBytes}.log`), key, () => node(['bench/faults.build-log.mjs', '--storm', path.join(work, `storm-${logBytes}.log`), String(logBytes)]))
  const mb = (logBytes / 2 ** 20).toFixed(0)
  for (const [what, log, goal] of [['real-line mix', mix, 2], ['fault storm', storm, 4]]) {
    if (before) pair(`faults, ${mb} MiB ${what}  vs  the --before build`, [process.execPath, cli, 'faults', log], [process.execPath, before, 'faults', log], 1, {rssGoalMiB: 150})
    else pair(`faults, ${mb} MiB ${what}  vs  grep -c DMAR`, [process.execPath, cli, 'faults', log], ['grep', '-c', 'DMAR', log], goal, {rssGoalMiB: 150})
  }
}

if (only.has('host')) {
  const key = stamp(['bench/large-host.mjs'])
  for (const size of sizes) {
    const host = cached(path.join(work, `host-${size}`), key, () => node(['bench/large-host.mjs', path.join(work, `host-${size}`), String(size)]))
    const lspci = ['lspci', '-A', 'linux-sysfs', '-O', `sysfs.path=${host}/sys/bus/pci`, '-vvv']
    for (const args of [['check'], ['groups'], ['groups', '--predict'], ['device', '--tree']]) {
      if (before) pair(`${args.join(' ')}, ${size} functions  vs  the --before build`, [process.execPath, cli, ...args, '--root', host], [process.execPath, before, ...args, '--root', host], 1, {functions: size})
      else pair(`${args.join(' ')}, ${size} functions  vs  lspci -vvv`, [process.execPath, cli, ...args, '--root', host], lspci, 1.5, {functions: size})
    }
  }
}

if (jsonOut) writeFileSync(jsonOut, JSON.stringify({node: process.version, runs, rows}, null, 2) + '\n')
if (markdown) {
  console.log('\n| work | vtd-check CPU | yardstick CPU | ratio (goal) | peak RSS |\n|---|---|---|---|---|')
  for (const r of rows) {
    const [what, against] = r.name.split('  vs  ')
    console.log(`| ${what} | ${r.ours.toFixed(3)} s | ${against}: ${r.yardstick.toFixed(3)} s | ${r.ratio.toFixed(2)}× (≤ ${r.goal}) | ${r.oursRssMiB.toFixed(0)} MiB |`)
  }
}
const missed = rows.filter((r) => !r.met).length
console.log(`${rows.length - missed} of ${rows.length} goals met`)
