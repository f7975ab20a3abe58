/**
 * bin/run.js's shortcuts at start (issue 15) keep what oclif does: our own commands run without
 * loading @oclif/plugin-autocomplete, which still loads for its own command, for help, and for a
 * mistyped command; the packages left out of the oclif bundle (scripts/bundle.mjs,
 * LAZY_OCLIF_PACKAGES) load from node_modules when used. Needs `npm run build`.
 */
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {fixturesDir, repoRoot} from './support/paths.js'

const bin = path.join(repoRoot, 'bin/run.js')
/** OCLIF_COLUMNS: help goes through oclif (not the prerendered text), at a pipe's 80 columns. */
function vtd(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: repoRoot, encoding: 'utf8', env: {...process.env, OCLIF_COLUMNS: '80', NO_COLOR: '1'}})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

describe('start path', () => {
  it("the autocomplete plugin's command still runs, and help lists it", () => {
    const own = vtd('autocomplete', '--help')
    expect(own.status).toBe(0)
    expect(own.stdout).toContain('$ vtd-check autocomplete')
    const script = vtd('autocomplete', 'script', 'bash')
    expect(script.status).toBe(0)
    expect(script.stdout).toContain('vtd-check')
    const help = vtd('help')
    expect(help.stdout).toMatch(/^ {2}autocomplete +/m)
  }, 30_000)

  it('a mistyped command is still an error naming it, exit 2; an own command runs', () => {
    const typo = vtd('checc')
    expect(typo.status).toBe(2)
    expect(typo.stderr).toContain('command checc not found')
    const check = vtd('check', '--root', path.join(fixturesDir, 'lab-switch'), '--json')
    expect(check.status).toBe(0)
    expect(JSON.parse(check.stdout).schemaVersion).toBeDefined()
  }, 30_000)

  it('help examples render through ejs, loaded on use', () => {
    const r = vtd('groups', '--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('$ vtd-check groups')
    expect(r.stdout).not.toContain('<%=')
    const bundle = readFileSync(path.join(repoRoot, 'dist/src/cli/oclif.cjs'), 'utf8')
    // Left out of the bundle: a require of the package by name remains (esbuild renames `require`).
    for (const name of ['tinyglobby', 'ejs', 'cli-spinners', 'semver']) expect(bundle).toMatch(new RegExp(`\\w\\("${name}"\\)`))
    expect(bundle).toContain('__lazyModule(()=>')
  }, 30_000)
})
