// V8 code caches for the command bundles (src/cli/cached-bundle.ts; issue 15, cold start). Each
// command runs once on a repo fixture, in a process of its own started as bin/run.js starts it
// (V8 rejects a cache made under other flags: tier-up.ts sets one for every command but faults),
// and V8's cache of what that run compiled is written next to the bundle (dist/commands/NAME.v8cache).
// A command without a warm-up here gets the cache of its module's top level. Run by `npm run build`
// after scripts/bundle.mjs; reads only the repository, writes only dist/commands (and dist/src/cli/oclif.v8cache).
import {spawnSync} from 'node:child_process'
import {readdirSync, writeFileSync} from 'node:fs'
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

if (process.argv[2] === '--warm') {
  await warm(process.argv[3])
} else {
  const commands = readdirSync(path.join(repo, 'dist/commands')).filter((f) => f.endsWith('.cjs'))
  for (const file of commands) {
    const name = path.basename(file, '.cjs')
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--warm', name], {cwd: repo, stdio: ['ignore', 'ignore', 'inherit']})
    if (r.status !== 0) throw new Error(`code cache: the warm-up of ${name} failed (exit ${r.status})`)
  }
  console.log(`code caches: ${commands.length} command bundles and oclif's`)
}

async function warm(name) {
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const {tuneTierUpFor} = await import('../dist/src/cli/tier-up.js')
  tuneTierUpFor(name)
  const {compiledBundles, cacheFileOf, cacheFileContents} = await import('../dist/src/cli/cached-bundle.js')
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
  for (const file of files) {
    const compiled = compiledBundles.get(file)
    if (compiled === undefined) throw new Error(`code cache: ${name} did not load ${file}`)
    writeFileSync(cacheFileOf(file), cacheFileContents(compiled.source, compiled.script.createCachedData()))
  }
  process.exitCode = 0
}
