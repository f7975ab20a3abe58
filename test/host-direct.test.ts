/**
 * `check`, `groups` and `device` without oclif (src/cli/host-direct.ts): taken only for the
 * argument lists it knows, with the flags oclif's parse gives them, and when nothing would make
 * oclif run otherwise; it must print exactly what the command prints through oclif, errors
 * included (those are left to oclif). The runs need `npm run build`; bench/same-output.mjs
 * compares every snapshot and the generated hosts against an older build.
 */
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {Config} from '@oclif/core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import Check from '../commands/check.js'
import Device from '../commands/device.js'
import Groups from '../commands/groups.js'
import {OCLIF_DIRNAME} from '../src/cli/faults-direct.js'
import {directHostRequest} from '../src/cli/host-direct.js'
import {fixturesDir, repoRoot} from './support/paths.js'
import {cliHarness, runCli} from './support/without-oclif.js'

let work = ''
let plainEnv: NodeJS.ProcessEnv = {}
let withoutOclif: string[] = []

beforeAll(() => {
  ;({work, plainEnv, withoutOclif} = cliHarness('vtd-host-direct-'))
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

const vtd = (nodeArgs: string[], args: string[], env: NodeJS.ProcessEnv) => runCli(nodeArgs, args, env, work)
// OCLIF_COLUMNS turns the direct run off (an oclif setting): the reference runs through oclif.
const oclifEnv = () => ({...plainEnv, OCLIF_COLUMNS: '80'})

const lab = path.join(fixturesDir, 'lab-switch')

/** Argument lists this start takes, for each command. */
const TAKEN: string[][] = [
  ['check'],
  ['check', '--json'],
  ['check', '--root', lab],
  ['check', `--root=${lab}`, '--json'],
  ['check', '--json', '--root', lab, '-v', '--all'],
  ['check', '--verbose'],
  ['groups', '--root', lab],
  ['groups', '--predict', '--root', lab, '--json'],
  ['groups', '--lines'],
  ['groups', '--table', '--predict'],
  ['groups', '--tree', '--json'],
  ['device', '--tree'],
  ['device', '--root', lab, '--tree', '--json'],
  ['device', '0000:01:00.0', '--root', lab],
  ['device', '--json', '01:00.0'],
  ['device', 'not-a-bdf'],
]

describe('host commands without oclif: the argument lists', () => {
  it('takes --root, --json and the plain switches, and nothing else', () => {
    for (const args of TAKEN) expect(directHostRequest(args), args.join(' ')).toBeDefined()
    for (const args of [
      [], ['units'], ['faults', 'x.log'], ['check', '--device', '01:00.0'], ['check', '-d', '01:00.0'], ['check', '--format', 'nfd'], ['check', '--json', '--json'],
      ['check', '--root'], ['check', '--root', ''], ['check', '--root='], ['check', '--root', '--json'], ['check', '--root', 'a', '--root', 'b'], ['check', '-vv'],
      ['check', '--verbose', '-v'], ['check', 'extra'], ['check', '--'], ['check', '--help'], ['check', '-h'], ['check', '--tree'], ['check', '--no-verbose'],
      ['groups', '--table', '--tree'], ['groups', '--lines', '--tree'], ['groups', '--table', '--lines'], ['groups', '--why', '01:00.0'], ['groups', '--format', 'dot'],
      ['groups', '--acs-override', 'downstream'], ['groups', '01:00.0'], ['groups', '--predict', '--predict'],
      ['device', '01:00.0', '02:00.0'], ['device', '--plan', '01:00.0'], ['device', '--lspci-dump', 'x.txt', '--tree'], ['device', '-'], ['device', '--verbose'],
    ]) {
      expect(directHostRequest(args), args.join(' ')).toBeUndefined()
    }
  })

  it('gives the flags oclif\'s parse gives the same argument list', async () => {
    const config = await Config.load(repoRoot)
    const commands = {check: Check, groups: Groups, device: Device}
    for (const args of TAKEN) {
      const [id, ...argv] = args as [keyof typeof commands, ...string[]]
      const command = commands[id]
      const parsed = await (new command(argv, config) as unknown as {parse(c: unknown): Promise<{flags: Record<string, unknown>; args: Record<string, unknown>}>}).parse(command)
      const {json, ...flags} = parsed.flags
      const request = directHostRequest(args)
      expect(request, args.join(' ')).toEqual({command: id, json: json === true, flags: {...flags, ...parsed.args}})
    }
  })
})

describe('host commands without oclif: the runs', () => {
  it('print, without loading oclif, exactly what the commands print through oclif', async () => {
    const forms = [
      ['check'], ['check', '--json'], ['check', '-v', '--all'], ['groups'], ['groups', '--json'], ['groups', '--predict'], ['groups', '--lines'], ['groups', '--table'],
      ['groups', '--tree', '--predict'], ['device', '--tree'], ['device', '--tree', '--json'], ['device', '0000:01:00.0'], ['device', '--json', '00:1c.0'],
    ]
    for (const snapshot of [lab, path.join(fixturesDir, 'lab-iommu-off')]) {
      for (const form of forms) {
        const args = [...form, '--root', snapshot]
        const [direct, oclif] = await Promise.all([vtd(withoutOclif, args, plainEnv), vtd([], args, oclifEnv())])
        expect(direct, args.join(' ')).toEqual(oclif)
        expect(direct.stdout.length, args.join(' ')).toBeGreaterThan(0)
      }
    }
    // The guard works: the same run with oclif's setting fails under the hook, so it did load oclif.
    expect((await vtd(withoutOclif, ['check', '--root', lab], oclifEnv())).status).not.toBe(0)
  }, 120_000)

  it('leaves errors to oclif: same message, same exit code', async () => {
    const notASnapshot = path.join(work, 'not-a-snapshot')
    mkdirSync(notASnapshot, {recursive: true})
    const cases: [string[], number][] = [
      [['check', '--root', notASnapshot], 2],
      [['groups', '--json', '--root', notASnapshot], 2],
      [['device', 'not-a-bdf', '--root', lab], 2],
      [['device', '--root', lab, '--json', '0000:7f:00.0'], 2],
      [['device', '--root', lab], 2],
      [['check', '--root', path.join(work, 'absent')], 2],
      [['groups', '--root', path.join(lab, 'meta.json')], 2],
    ]
    for (const [args, exit] of cases) {
      const [direct, oclif] = await Promise.all([vtd([], args, plainEnv), vtd([], args, oclifEnv())])
      expect(direct, args.join(' ')).toEqual(oclif)
      expect(direct.status, args.join(' ')).toBe(exit)
      expect(direct.stderr + direct.stdout, args.join(' ')).not.toBe('')
    }
  }, 120_000)

  it('runs through oclif when a user has plugins installed', async () => {
    const dataDir = path.join(work, 'data-with-plugins')
    mkdirSync(path.join(dataDir, OCLIF_DIRNAME), {recursive: true})
    writeFileSync(path.join(dataDir, OCLIF_DIRNAME, 'package.json'), JSON.stringify({private: true, oclif: {plugins: []}}))
    const r = await vtd(withoutOclif, ['check', '--root', lab], {...plainEnv, XDG_DATA_HOME: dataDir})
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('oclif was loaded')
  }, 60_000)
})
