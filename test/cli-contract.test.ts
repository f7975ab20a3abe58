/**
 * The exit-code contract a script relies on, through the real binary (bin/run.js on the build):
 * the default command is `check`, JSON errors are short objects with the exit code, `--root`
 * must be a snapshot, help and version exist.
 */
import * as path from 'node:path'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import * as os from 'node:os'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {withDefaultCommand} from '../src/cli/default-command.js'
import {fixturesDir, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const bin = path.join(repoRoot, 'bin/run.js')
const snapshot = path.join(fixturesDir, 'lab-sriov-nvme')

async function vtd(...args: string[]): Promise<{stdout: string; stderr: string; exitCode: number}> {
  const r = await execa('node', [bin, ...args], {reject: false, env: {NO_COLOR: '1'}, cwd: repoRoot})
  return {stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1}
}

describe('withDefaultCommand', () => {
  it('routes no command, or flags only, to check; leaves commands, help and version alone', () => {
    expect(withDefaultCommand([])).toEqual(['check'])
    expect(withDefaultCommand(['--json'])).toEqual(['check', '--json'])
    expect(withDefaultCommand(['--root', 'snap', '-v'])).toEqual(['check', '--root', 'snap', '-v'])
    expect(withDefaultCommand(['groups', '--json'])).toEqual(['groups', '--json'])
    expect(withDefaultCommand(['--help'])).toEqual(['--help'])
    expect(withDefaultCommand(['--version'])).toEqual(['--version'])
  })
})

describe('vtd-check (the binary)', () => {
  it('`--json --root DIR` prints and exits exactly like `check --json --root DIR`', async () => {
    const [bare, check] = await Promise.all([vtd('--json', '--root', snapshot), vtd('check', '--json', '--root', snapshot)])
    expect(check.exitCode).toBe(0)
    expect(bare.exitCode).toBe(check.exitCode)
    expect(JSON.parse(bare.stdout)).toEqual(JSON.parse(check.stdout))
    expect(bare.stderr).not.toMatch(/not found/)
  })

  it('`--root DIR` (text) is the check report, not help', async () => {
    const [bare, check] = await Promise.all([vtd('--root', snapshot), vtd('check', '--root', snapshot)])
    expect(bare.stdout).toBe(check.stdout)
    expect(bare.stdout).toMatch(/^vtd-check: READY/)
    expect(bare.exitCode).toBe(check.exitCode)
  })

  it('an unknown flag with --json: exit 2 and one short error object, no oclif internals', async () => {
    const r = await vtd('check', '--bogus', '--json')
    expect(r.exitCode).toBe(2)
    expect(r.stdout.length).toBeLessThan(1000)
    const body = JSON.parse(r.stdout)
    expect(body).toMatchObject({schemaVersion: 1, tool: 'vtd-check', error: {kind: 'usage', exitCode: 2}})
    expect(body.error.message).toContain('--bogus')
    expect(r.stdout).not.toContain(os.homedir())
  })

  it('errors oclif raises before any command runs are the same JSON object under --json, still exit 2', async () => {
    // An unknown command, a flag the plugin's command does not know, help for no such command.
    const cases = [['nosuch', '--json'], ['autocomplete', '--json'], ['help', 'nosuch', '--json']]
    for (const args of cases) {
      const r = await vtd(...args)
      expect(r.exitCode, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toBe('')
      expect(JSON.parse(r.stdout), args.join(' ')).toMatchObject({schemaVersion: 1, tool: 'vtd-check', error: {kind: 'usage', exitCode: 2}})
    }
    expect(JSON.parse((await vtd('nosuch', '--json')).stdout).error.message).toBe('command nosuch not found')
    // Without --json (or with it only after `--`, where it is an argument) the text error stays.
    const text = await vtd('nosuch')
    expect(text.exitCode).toBe(2)
    expect(text.stdout).toBe('')
    expect(text.stderr).toContain('command nosuch not found')
    expect((await vtd('nosuch', '--', '--json')).stderr).toContain('command nosuch not found')
  })

  it('refuses a --root that is not a snapshot (exit 2), in text and JSON', async () => {
    const empty = scratchDir('vtd-notsnap-')
    mkdirSync(path.join(empty, 'something'))
    const text = await vtd('--root', empty)
    expect(text.exitCode).toBe(2)
    expect(text.stderr).toContain('not a snapshot')
    expect(text.stdout).not.toContain('NOT READY')
    // The parent of the snapshots is not one either.
    const parent = await vtd('groups', '--root', fixturesDir, '--json')
    expect(parent.exitCode).toBe(2)
    expect(JSON.parse(parent.stdout).error.message).toContain('not a snapshot')
  })

  it('`help`, `help COMMAND` and `version` exist', async () => {
    const [help, helpGroups, version, versionJson, helpNope] = await Promise.all([vtd('help'), vtd('help', 'groups'), vtd('version'), vtd('version', '--json'), vtd('help', 'nope')])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toMatch(/COMMANDS[\s\S]*check[\s\S]*groups/)
    expect(helpGroups.exitCode).toBe(0)
    expect(helpGroups.stdout).toContain('$ vtd-check groups')
    expect(version.stdout).toMatch(/^vtd-check\/\d+\.\d+\.\d+/)
    expect(JSON.parse(versionJson.stdout)).toMatchObject({schemaVersion: 1, tool: 'vtd-check'})
    expect(helpNope.exitCode).toBe(2)
  })

  it('--lspci-dump is offered only where it is used: check refuses it as a usage error', async () => {
    const r = await vtd('check', '--lspci-dump', bin)
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/Nonexistent flag: --lspci-dump/)
  })

  it('capture to an unusable target (/proc, /sys, an existing file, under a file): one clear line, exit 2 in text and JSON alike', async () => {
    const dir = scratchDir('vtd-capture-target-')
    const file = path.join(dir, 'a-file')
    writeFileSync(file, 'x')
    for (const out of ['/proc/vtd-check-test', '/sys/vtd-check-test', file, path.join(file, 'sub')]) {
      const [text, json] = await Promise.all([vtd('capture', '--root', snapshot, '--out', out), vtd('capture', '--root', snapshot, '--out', out, '--json')])
      expect(text.exitCode, out).toBe(2)
      expect(text.stderr, out).toMatch(/Error: refusing to capture: /)
      expect(text.stderr, out).not.toMatch(/^\s+at |Code: E[A-Z]+|mkdtemp/m)
      expect(json.exitCode, out).toBe(2)
      const body = JSON.parse(json.stdout) as {error: {exitCode: number; message: string}}
      expect(body.error.exitCode, out).toBe(json.exitCode)
      expect(body.error.message, out).toMatch(/^refusing to capture: /)
    }
    expect(existsSync('/proc/vtd-check-test') || existsSync('/sys/vtd-check-test')).toBe(false)
  })
})
