/**
 * The built CLI loads @oclif/core from one bundle (scripts/bundle.mjs → dist/src/cli/oclif.js).
 * It must behave exactly as @oclif/core loaded from node_modules: same stdout, stderr and exit
 * code for help, version, errors and real commands. The reference run swaps the bundle for a
 * plain re-export of node_modules' @oclif/core with a module resolve hook. Each command is also
 * one bundle of our modules (dist/commands/*.cjs, run with its code cache by dist/commands/*.js):
 * it must print what the TypeScript command prints in process. Needs `npm run build`.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {fixturesDir, repoRoot} from './support/paths.js'
import Check from '../commands/check.js'
import Groups from '../commands/groups.js'
import {captureCommandOutput} from './support/command-output.js'

const bin = path.join(repoRoot, 'bin/run.js')
const bundle = path.join(repoRoot, 'dist/src/cli/oclif.js')
const lab = path.join(fixturesDir, 'lab-switch')
let work = ''
let hookArgs: string[] = []

beforeAll(() => {
  if (!existsSync(bundle)) throw new Error('dist/src/cli/oclif.js is missing: run `npm run build` first')
  work = mkdtempSync(path.join(tmpdir(), 'vtd-bundle-'))
  const oclifIndex = pathToFileURL(path.join(repoRoot, 'node_modules/@oclif/core/lib/index.js')).href
  writeFileSync(path.join(work, 'plain.mjs'), `export * from ${JSON.stringify(oclifIndex)}\n`)
  writeFileSync(
    path.join(work, 'hooks.mjs'),
    `const bundle = ${JSON.stringify(pathToFileURL(bundle).href)}
const plain = ${JSON.stringify(pathToFileURL(path.join(work, 'plain.mjs')).href)}
export async function resolve(specifier, context, next) {
  const found = await next(specifier, context)
  return found.url === bundle ? {url: plain, shortCircuit: true} : found
}
`,
  )
  writeFileSync(
    path.join(work, 'register.mjs'),
    `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(path.join(work, 'hooks.mjs')).href)})\n`,
  )
  hookArgs = ['--import', pathToFileURL(path.join(work, 'register.mjs')).href]
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

function run(nodeArgs: string[], args: string[]) {
  // OCLIF_COLUMNS: help and version go through oclif here, not the prerendered text
  // (test/prerendered-help.test.ts); 80 is the width oclif gives a pipe anyway.
  const env = {...process.env, COLUMNS: '100', OCLIF_COLUMNS: '80'}
  const r = spawnSync(process.execPath, [...nodeArgs, bin, ...args], {cwd: repoRoot, encoding: 'utf8', env})
  // Node prefixes warnings with its process id: not part of the output being compared.
  return {status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/\(node:\d+\)/g, '(node:PID)')}
}

describe('bundled @oclif/core', () => {
  it('is a bundle, not a re-export of node_modules', () => {
    // dist/src/cli/oclif.js runs it from its code cache (src/cli/cached-bundle.ts).
    const text = readFileSync(bundle.replace(/\.js$/, '.cjs'), 'utf8')
    expect(text).not.toMatch(/from\s*["']@oclif\/core["']/)
    expect(text.length).toBeGreaterThan(100_000)
  })

  const cases: string[][] = [
    ['--help'],
    ['groups', '--help'],
    ['--version'],
    ['help', 'faults'],
    ['version'],
    ['no-such-command'],
    ['check', '--no-such-flag'],
    ['--root', lab, '--json'],
  ]
  it('the reference run really loads node_modules/@oclif/core', () => {
    const probe = `const a = await import(${JSON.stringify(pathToFileURL(bundle).href)}); const b = await import('@oclif/core'); console.log(a.execute === b.execute)`
    const r = spawnSync(process.execPath, [...hookArgs, '--input-type=module', '-e', probe], {cwd: repoRoot, encoding: 'utf8'})
    expect(r.stdout.trim()).toBe('true')
    const direct = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: repoRoot, encoding: 'utf8'})
    expect(direct.stdout.trim()).toBe('false')
  })

  it.each(cases)('gives what node_modules/@oclif/core gives: %s', (...args) => {
    const bundled = run([], args)
    const plain = run(hookArgs, args)
    expect(bundled.stdout.length + bundled.stderr.length).toBeGreaterThan(0)
    expect(bundled).toEqual(plain)
  }, 30_000)
})

describe('bundled commands', () => {
  const output = captureCommandOutput()
  const inProcess: Array<[string[], typeof Check | typeof Groups]> = [
    [['check', '--root', lab, '--json'], Check],
    [['groups', '--predict', '--root', lab], Groups],
  ]
  it.each(inProcess)('%s prints what the TypeScript command prints', async (args, command) => {
    await command.run(args.slice(1), repoRoot)
    const bundled = run([], args)
    expect(bundled.stdout.length).toBeGreaterThan(100)
    expect(bundled.stdout).toBe(output.stdout)
  }, 30_000)
})
