/**
 * Help and version printed from the build's prerendered text (src/cli/prerendered-help.ts,
 * scripts/prerender-help.mjs) must be exactly what oclif prints, and be used only when nothing at
 * run time would make oclif print something else. Needs `npm run build`.
 */
import {cpSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {PRERENDERED_HELP_FILE, prerenderedOutput, sourceHash, USER_AGENT_MARK, type PrerenderedHelp} from '../src/cli/prerendered-help.js'
import {repoRoot} from './support/paths.js'
import {cliHarness, runCli} from './support/without-oclif.js'

const storedFile = path.join(repoRoot, 'dist/src/cli', PRERENDERED_HELP_FILE)
let work = ''
let stored: PrerenderedHelp
let plainEnv: NodeJS.ProcessEnv = {}
let withoutOclif: string[] = []

beforeAll(() => {
  stored = JSON.parse(readFileSync(storedFile, 'utf8')) as PrerenderedHelp
  ;({work, plainEnv, withoutOclif} = cliHarness('vtd-prerendered-'))
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

const vtd = (nodeArgs: string[], args: string[], env: NodeJS.ProcessEnv) => runCli(nodeArgs, args, env, work)

describe('prerendered help', () => {
  it('covers help and version for every command', () => {
    const forms = Object.keys(stored.forms).map((f) => JSON.parse(f) as string[])
    for (const id of ['check', 'groups', 'faults', 'dmar', 'autocomplete']) {
      expect(forms).toContainEqual([id, '--help'])
      expect(forms).toContainEqual(['help', id])
    }
    for (const form of [['--help'], ['help'], ['--version'], ['version']]) expect(forms).toContainEqual(form)
  })

  it('prints, without loading oclif, exactly what oclif prints', async () => {
    // Every form was rendered by oclif at build time; these check that what is printed from it
    // at run time (user agent, guards) is oclif's output for the root, commands and a plugin's command.
    const forms = [['--help'], ['help'], ['--version'], ['version'], ...['check', 'faults', 'autocomplete'].flatMap((id) => [[id, '--help'], ['help', id]])]
    for (const args of forms) expect(stored.forms[JSON.stringify(args)], args.join(' ')).toBeDefined()
    // OCLIF_COLUMNS=80 is the width of a pipe and turns the prerendered text off: oclif renders.
    const oclifEnv = {...plainEnv, OCLIF_COLUMNS: '80'}
    for (let i = 0; i < forms.length; i += 4) {
      const batch = forms.slice(i, i + 4)
      const [fast, oclif] = await Promise.all([
        Promise.all(batch.map((args) => vtd(withoutOclif, args, plainEnv))),
        Promise.all(batch.map((args) => vtd([], args, oclifEnv))),
      ])
      batch.forEach((args, j) => {
        expect(fast[j], args.join(' ')).toEqual(oclif[j])
        expect(oclif[j]!.status).toBe(0)
        expect(oclif[j]!.stdout.length).toBeGreaterThan(20)
      })
    }
  }, 90_000)

  it('names the running node in the version line', async () => {
    const fast = await vtd(withoutOclif, ['--version'], plainEnv)
    expect(fast.stdout).toBe(`vtd-check/${stored.version} ${process.platform}-${process.arch} node-${process.version}\n`)
    expect(stored.texts.some((t) => t.includes(USER_AGENT_MARK))).toBe(true)
    expect(stored.texts.join('')).not.toContain(process.version)
  }, 30_000)

  it('leaves to oclif what the environment or another argument list changes', async () => {
    const [columns, colour, other] = await Promise.all([
      vtd(withoutOclif, ['--help'], {...plainEnv, OCLIF_COLUMNS: '50'}),
      vtd(withoutOclif, ['--help'], {...plainEnv, FORCE_COLOR: '1'}),
      vtd(withoutOclif, ['help', 'nope'], plainEnv),
    ])
    for (const r of [columns, colour, other]) {
      expect(r.status).not.toBe(0)
      expect(r.stderr).toContain('oclif was loaded')
    }
  }, 30_000)
})

describe('prerenderedOutput', () => {
  const help = ['--help']
  it('answers a pipe in a plain environment', () => {
    const text = prerenderedOutput(repoRoot, help, plainEnv, false)
    expect(text).toContain('COMMANDS')
    expect(text).toContain(`node-${process.version}`)
    expect(prerenderedOutput(repoRoot, ['groups', '--help'], plainEnv, false)).toContain('$ vtd-check groups')
  })

  it('is off for a terminal, for environment that changes oclif output, and for other argument lists', () => {
    expect(prerenderedOutput(repoRoot, help, plainEnv, true)).toBeUndefined()
    for (const name of ['OCLIF_COLUMNS', 'FORCE_COLOR', 'COLORTERM', 'CI', 'DEBUG', 'VTD_CHECK_DATA_DIR', 'OCLIF_NEXT_VERSION'])
      expect(prerenderedOutput(repoRoot, help, {...plainEnv, [name]: '1'}, false), name).toBeUndefined()
    expect(prerenderedOutput(repoRoot, help, {...plainEnv, OCLIF_DISABLE_ENGINE_WARNING: '1', NO_COLOR: '1'}, false)).toBeDefined()
    expect(prerenderedOutput(repoRoot, ['check'], plainEnv, false)).toBeUndefined()
    expect(prerenderedOutput(repoRoot, ['help', 'nope'], plainEnv, false)).toBeUndefined()
    expect(prerenderedOutput(repoRoot, ['--help', '--json'], plainEnv, false)).toBeUndefined()
  })

  it('is off when the user has oclif plugins in the data directory', () => {
    const dataDir = path.join(work, 'user-data')
    mkdirSync(path.join(dataDir, stored.dirname), {recursive: true})
    writeFileSync(path.join(dataDir, stored.dirname, 'package.json'), '{"oclif":{"plugins":[]}}')
    expect(prerenderedOutput(repoRoot, help, {...plainEnv, XDG_DATA_HOME: dataDir}, false)).toBeUndefined()
  })

  it('is off when the manifest or package.json changed after the build, or the file is missing', () => {
    const root = path.join(work, 'stale')
    mkdirSync(path.join(root, 'dist/src/cli'), {recursive: true})
    for (const f of ['package.json', 'oclif.manifest.json', `dist/src/cli/${PRERENDERED_HELP_FILE}`]) cpSync(path.join(repoRoot, f), path.join(root, f))
    expect(prerenderedOutput(root, help, plainEnv, false)).toBeDefined()
    writeFileSync(path.join(root, 'oclif.manifest.json'), readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8').replace('"check"', '"check2"'))
    expect(prerenderedOutput(root, help, plainEnv, false)).toBeUndefined()
    rmSync(path.join(root, `dist/src/cli/${PRERENDERED_HELP_FILE}`))
    expect(prerenderedOutput(root, help, plainEnv, false)).toBeUndefined()
  })

  it('hashes every text and their order', () => {
    expect(sourceHash('ab', 'c')).not.toBe(sourceHash('a', 'bc'))
    expect(sourceHash('x')).toBe(sourceHash('x'))
    expect(sourceHash('x')).toMatch(/^[0-9a-f]{8}$/)
  })
})
