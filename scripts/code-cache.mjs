// V8 code caches for the command bundles (src/cli/cached-bundle.ts; issue 15, cold start). Each
// command runs once on a repo fixture, in a process of its own started as bin/run.js starts it
// (V8 rejects a cache made under other flags: tier-up.ts sets one for every command but faults),
// and V8's cache of what that run compiled is written next to the bundle (dist/commands/NAME.v8cache).
// A command without a warm-up here gets the cache of its module's top level. Run by `npm run build`
// after scripts/bundle.mjs; reads only the repository, writes only under dist/ (dist/commands, dist/src/cli/oclif.v8cache and
// faults-direct-run.v8cache, host-direct-run.v8cache; the direct faults warm-up log, removed after).
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const lab = path.join(repo, 'sysfs-fixtures/lab-switch')
const dmesg = path.join(repo, 'sysfs-fixtures/lab-switch/dmesg.txt')

/** The runs whose compiled code each command's cache keeps: the host commands' usual forms. */
const WARM_UPS = {
  check: [['check', '--root', lab], ['check', '--root', lab, '--json']],
  groups: [['groups', '--root', lab], ['groups', '--predict', '--root', lab], ['groups', '--root', lab, '--json']],
  device: [['device', '--tree', '--root', lab], ['device', '--root', lab, '0000:00:00.0']],
  units: [['units', '--root', lab]],
  faults: [['faults', '--since', '0', dmesg]],
}

const OCLIF_CACHE_FROM = 'check'

/**
 * `faults FILE` without oclif (dist/src/cli/faults-direct-run.cjs) warms up on one log holding
 * every lab boot's dmesg.txt and every real excerpt, one after another (the first 512 lines go
 * line by line, the rest the byte path: every stamp style, two-line faults, repeats), as text and
 * --json. The log is written under dist/ and removed after.
 */
function directFaultsLog() {
  const lab = readdirSync(path.join(repo, 'sysfs-fixtures')).sort().map((d) => path.join(repo, 'sysfs-fixtures', d, 'dmesg.txt')).filter((f) => existsSync(f))
  const real = readdirSync(path.join(repo, 'test/fixtures/real/dmesg')).filter((f) => f.endsWith('.log')).sort().map((f) => path.join(repo, 'test/fixtures/real/dmesg', f))
  const text = [...lab, ...real].map((f) => readFileSync(f, 'latin1').replace(/\n?$/, '\n')).join('')
  const file = path.join(repo, 'dist/faults-warm-up.log')
  writeFileSync(file, text, 'latin1')
  return file
}

if (process.argv[2] === '--warm-direct-host') {
  await warmDirectHost()
} else if (process.argv[2] === '--warm-direct-faults') {
  await warmDirectFaults()
} else if (process.argv[2] === '--warm') {
  await warm(process.argv[3])
} else {
  const commands = readdirSync(path.join(repo, 'dist/commands')).filter((f) => f.endsWith('.cjs'))
  for (const file of commands) {
    const name = path.basename(file, '.cjs')
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--warm', name], {cwd: repo, stdio: ['ignore', 'ignore', 'inherit']})
    if (r.status !== 0) throw new Error(`code cache: the warm-up of ${name} failed (exit ${r.status})`)
  }
  for (const [flag, what] of [['--warm-direct-faults', 'faults'], ['--warm-direct-host', 'the host commands']]) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), flag], {cwd: repo, stdio: ['ignore', 'ignore', 'inherit']})
    if (r.status !== 0) throw new Error(`code cache: the warm-up of ${what} without oclif failed (exit ${r.status})`)
  }
  console.log(`code caches: ${commands.length} command bundles, oclif's, faults and the host commands without oclif`)
}

/** check, groups and device without oclif (dist/src/cli/host-direct-run.cjs): the warm-ups of their oclif commands. */
async function warmDirectHost() {
  const {tuneTierUpFor} = await import('../dist/src/cli/tier-up.js')
  // One start flag for the three (tier-up.ts): the cache is taken under it.
  tuneTierUpFor('check')
  const cache = await import('../dist/src/cli/cached-bundle.js')
  const {directHostRequest} = await import('../dist/src/cli/host-direct.js')
  const {runHostCommandWithoutOclif} = await import('../dist/src/cli/host-direct-run.js')
  process.stdout.write = () => true
  for (const args of [...WARM_UPS.check, ...WARM_UPS.groups, ...WARM_UPS.device]) {
    const request = directHostRequest(args)
    if (request === undefined || !(await runHostCommandWithoutOclif(request))) throw new Error(`code cache: ${args.join(' ')} did not run without oclif`)
  }
  writeCodeCache(cache, path.join(repo, 'dist/src/cli/host-direct-run.cjs'), 'the host commands without oclif')
  process.exitCode = 0
}

async function warmDirectFaults() {
  const {tuneTierUpFor} = await import('../dist/src/cli/tier-up.js')
  tuneTierUpFor('faults')
  const cache = await import('../dist/src/cli/cached-bundle.js')
  const {runFaultsWithoutOclif} = await import('../dist/src/cli/faults-direct-run.js')
  process.stdout.write = () => true
  const log = directFaultsLog()
  try {
    for (const json of [false, true]) {
      if (!(await runFaultsWithoutOclif({file: log, json}))) throw new Error('code cache: faults without oclif failed on the warm-up log')
    }
  } finally {
    rmSync(log)
  }
  writeCodeCache(cache, path.join(repo, 'dist/src/cli/faults-direct-run.cjs'), 'faults without oclif')
  process.exitCode = 0
}

async function warm(name) {
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const {tuneTierUpFor} = await import('../dist/src/cli/tier-up.js')
  tuneTierUpFor(name)
  const cache = await import('../dist/src/cli/cached-bundle.js')
  const runs = WARM_UPS[name] ?? []
  if (runs.length === 0) {
    await import(`../dist/commands/${name}.js`)
  } else {
    const {runCli} = await import('../dist/src/cli/run-cli.js')
    // The warm-up's report is not wanted; its errors are.
    process.stdout.write = () => true
    for (const args of runs) await runCli(args, repo)
  }
  const files = [path.join(repo, `dist/commands/${name}.cjs`)]
  // The oclif bundle every command loads: its cache from check's run (the flags of every command but faults).
  if (name === OCLIF_CACHE_FROM) files.push(path.join(repo, 'dist/src/cli/oclif.cjs'))
  for (const file of files) writeCodeCache(cache, file, name)
  process.exitCode = 0
}

/** Writes the V8 code cache of a bundle the warm-up ran (`cache`: dist/src/cli/cached-bundle.js); `what` ran it. */
function writeCodeCache(cache, file, what) {
  const compiled = cache.compiledBundles.get(file)
  if (compiled === undefined) throw new Error(`code cache: ${what} did not load ${file}`)
  writeFileSync(cache.cacheFileOf(file), cache.cacheFileContents(compiled.source, compiled.script.createCachedData()))
}
