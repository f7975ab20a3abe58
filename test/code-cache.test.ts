/**
 * The command bundles run from the V8 code cache the build made (src/cli/cached-bundle.ts,
 * scripts/code-cache.mjs): V8 must take each cache under the flags bin/run.js starts that command
 * with, and a cache must never be used for another text than the one it was made from (V8 checks
 * only the text's length). Needs `npm run build`.
 */
import {spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {cacheFileContents, cacheFor} from '../src/cli/cached-bundle.js'
import {repoRoot} from './support/paths.js'

const dist = path.join(repoRoot, 'dist')
const work = mkdtempSync(path.join(tmpdir(), 'vtd-code-cache-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

/** Runs `file` (a copy of a command bundle, or the bundle) as the command's module does, in a fresh node started as bin/run.js starts `command`; prints whether V8 took the cache. */
function cacheUsedFor(command: string, file: string): {cacheUsed: boolean; isCommand: boolean} {
  const url = (p: string) => JSON.stringify(pathToFileURL(p).href)
  const probe = `
    const {tuneTierUpFor} = await import(${url(path.join(dist, 'src/cli/tier-up.js'))})
    tuneTierUpFor(${JSON.stringify(command)})
    const {createRequire} = await import('node:module')
    const oclif = await import(${url(path.join(dist, 'src/cli/oclif.js'))})
    const {runBundle} = await import(${url(path.join(dist, 'src/cli/cached-bundle.js'))})
    const run = runBundle(new URL(${url(file)}), {imports: {'../src/cli/oclif.js': oclif}, require: createRequire(${url(path.join(dist, 'commands/x.js'))}), dynamicImport: (s) => import(s)})
    console.log(JSON.stringify({cacheUsed: run.cacheUsed, isCommand: typeof run.exports.default?.run === 'function'}))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: repoRoot, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

describe('command bundles run from their code cache', () => {
  it('needs the build', () => {
    expect(existsSync(path.join(dist, 'commands/check.v8cache'))).toBe(true)
  })

  // faults starts without the raised interrupt budget (tier-up.ts): its cache is made that way too.
  it.each(['check', 'groups', 'device', 'faults', 'version'])('V8 takes the cache of %s under its own start flags', (command) => {
    expect(cacheUsedFor(command, path.join(dist, `commands/${command}.cjs`))).toEqual({cacheUsed: true, isCommand: true})
  }, 30_000)

  it('V8 takes the cache of faults without oclif (faults-direct-run) under faults\' start flags, and the run is there', () => {
    const url = (p: string) => JSON.stringify(pathToFileURL(path.join(dist, p)).href)
    const probe = `
      const {tuneTierUpFor} = await import(${url('src/cli/tier-up.js')})
      tuneTierUpFor('faults')
      const run = await import(${url('src/cli/faults-direct-run.js')})
      const {compiledBundles} = await import(${url('src/cli/cached-bundle.js')})
      const [[file, {script}]] = compiledBundles
      console.log(JSON.stringify({file: file.slice(file.lastIndexOf('/') + 1), rejected: script.cachedDataRejected, run: typeof run.runFaultsWithoutOclif}))`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: repoRoot, encoding: 'utf8'})
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({file: 'faults-direct-run.cjs', rejected: false, run: 'function'})
  }, 30_000)

  it('V8 takes the cache of the host commands without oclif (host-direct-run) under their start flags, and the run is there', () => {
    const url = (p: string) => JSON.stringify(pathToFileURL(path.join(dist, p)).href)
    const probe = `
      const {tuneTierUpFor} = await import(${url('src/cli/tier-up.js')})
      tuneTierUpFor('groups')
      const run = await import(${url('src/cli/host-direct-run.js')})
      const {compiledBundles} = await import(${url('src/cli/cached-bundle.js')})
      const [[file, {script}]] = compiledBundles
      console.log(JSON.stringify({file: file.slice(file.lastIndexOf('/') + 1), rejected: script.cachedDataRejected, run: typeof run.runHostCommandWithoutOclif}))`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: repoRoot, encoding: 'utf8'})
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({file: 'host-direct-run.cjs', rejected: false, run: 'function'})
  }, 30_000)

  it('V8 takes the cache of the oclif bundle', () => {
    const probe = `
      const {tuneTierUpFor} = await import(${JSON.stringify(pathToFileURL(path.join(dist, 'src/cli/tier-up.js')).href)})
      tuneTierUpFor('check')
      const oclif = await import(${JSON.stringify(pathToFileURL(path.join(dist, 'src/cli/oclif.js')).href)})
      const {compiledBundles} = await import(${JSON.stringify(pathToFileURL(path.join(dist, 'src/cli/cached-bundle.js')).href)})
      const [{script}] = compiledBundles.values()
      console.log(JSON.stringify({rejected: script.cachedDataRejected, run: typeof oclif.run}))`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: repoRoot, encoding: 'utf8'})
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({rejected: false, run: 'function'})
  }, 30_000)

  it('a bundle whose text changed (same length) compiles without the cache, and still runs', () => {
    const source = readFileSync(path.join(dist, 'commands/check.cjs'), 'utf8')
    const copy = path.join(work, 'check.cjs')
    copyFileSync(path.join(dist, 'commands/check.v8cache'), path.join(work, 'check.v8cache'))
    writeFileSync(copy, source)
    expect(cacheUsedFor('check', copy)).toEqual({cacheUsed: true, isCommand: true})
    // One letter of a comment changed: V8 alone (it checks the length) would run the cached code.
    // Any of esbuild's '// path' comments (their paths depend on where node_modules lies).
    const at = source.indexOf('\n// ')
    expect(at).toBeGreaterThan(0)
    writeFileSync(copy, source.slice(0, at + 3) + 'N' + source.slice(at + 4))
    expect(readFileSync(copy, 'utf8').length).toBe(source.length)
    expect(cacheUsedFor('check', copy)).toEqual({cacheUsed: false, isCommand: true})
  }, 30_000)

  it('a cache file is taken only for the exact text it was made from', () => {
    const text = Buffer.from('const a = 1\n')
    const data = Buffer.from([1, 2, 3, 4])
    const file = cacheFileContents(text, data)
    expect(cacheFor(text, file)).toEqual(data)
    expect(cacheFor(Buffer.from('const a = 2\n'), file)).toBeUndefined()
    expect(cacheFor(text, file.subarray(0, 32))).toBeUndefined()
    expect(cacheFor(text, Buffer.alloc(0))).toBeUndefined()
    expect(cacheFor(text, undefined)).toBeUndefined()
  })
})
