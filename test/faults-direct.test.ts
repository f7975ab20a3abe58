/**
 * `faults FILE` without oclif (src/cli/faults-direct.ts): taken only for the argument lists it
 * knows and when nothing would make oclif run otherwise, it must print exactly what the command
 * prints through oclif, errors included (those are left to oclif). Needs `npm run build`.
 */
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {directFaultsRequest, OCLIF_DIRNAME} from '../src/cli/faults-direct.js'
import {realData, repoRoot} from './support/paths.js'
import {cliHarness, runCli, runCliClosingStdoutEarly} from './support/without-oclif.js'

let work = ''
let plainEnv: NodeJS.ProcessEnv = {}
let withoutOclif: string[] = []

beforeAll(() => {
  ;({work, plainEnv, withoutOclif} = cliHarness('vtd-faults-direct-'))
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

const vtd = (nodeArgs: string[], args: string[], env: NodeJS.ProcessEnv) => runCli(nodeArgs, args, env, work)

describe('faults FILE without oclif', () => {
  it('takes FILE with or without --json, and nothing else', () => {
    expect(directFaultsRequest(['kern.log'])).toEqual({file: 'kern.log', json: false})
    expect(directFaultsRequest(['kern.log', '--json'])).toEqual({file: 'kern.log', json: true})
    expect(directFaultsRequest(['--json', 'kern.log'])).toEqual({file: 'kern.log', json: true})
    for (const args of [[], ['--json'], ['-'], ['-', '--json'], [''], ['a.log', 'b.log'], ['--json', '--json', 'a.log'], ['a.log', '--since', '2h'],
      ['a.log', '--detail=5'], ['--root', 'snap'], ['a.log', '--trace'], ['--follow'], ['a.log', '--'], ['a.log', '--help']]) {
      expect(directFaultsRequest(args), args.join(' ')).toBeUndefined()
    }
  })

  it('looks for user plugins where oclif does (package.json oclif.dirname)', () => {
    const pjson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {oclif: {dirname: string}}
    expect(OCLIF_DIRNAME).toBe(pjson.oclif.dirname)
  })

  it('prints, without loading oclif, exactly what the command prints through oclif', async () => {
    // OCLIF_COLUMNS turns the direct run off (an oclif setting): the reference runs through oclif.
    const oclifEnv = {...plainEnv, OCLIF_COLUMNS: '80'}
    const logs = ['dell-xps9360-intremap-k6.x-1.log', 'apu2-ath10k-amdvi-k6.8-1.log', 'kernel-doc-sample-k2.6-1.log'].map((f) => path.join(realData, 'dmesg', f))
    const empty = path.join(work, 'empty.log')
    writeFileSync(empty, '')
    for (const log of [...logs, empty]) {
      for (const args of [['faults', log], ['faults', '--json', log]]) {
        const [direct, oclif] = await Promise.all([vtd(withoutOclif, args, plainEnv), vtd([], args, oclifEnv)])
        expect(direct, args.join(' ')).toEqual(oclif)
        expect(direct.stdout.length, args.join(' ')).toBeGreaterThan(0)
      }
    }
    // The guard works: the same run with oclif's setting fails under the hook, so it did load oclif.
    expect((await vtd(withoutOclif, ['faults', logs[0]!], oclifEnv)).status).not.toBe(0)
  })

  it('leaves errors to oclif: same message, same exit code', async () => {
    const oclifEnv = {...plainEnv, OCLIF_COLUMNS: '80'}
    const dir = path.join(work, 'a-directory')
    mkdirSync(dir, {recursive: true})
    // An absent FILE is a usage error (2); a directory could not be read (3).
    for (const [file, exit] of [[path.join(work, 'absent.log'), 2], [dir, 3]] as const) {
      for (const args of [['faults', file], ['faults', file, '--json']]) {
        const [direct, oclif] = await Promise.all([vtd([], args, plainEnv), vtd([], args, oclifEnv)])
        expect(direct, args.join(' ')).toEqual(oclif)
        expect(direct.status, args.join(' ')).toBe(exit)
      }
    }
  })

  it('a reader that closes the pipe early (`| head`) is no error: no stack trace, the exit status of a whole run', async () => {
    // 8,000 distinct requesters: megabytes of JSON, far more than a pipe holds, so the write meets EPIPE.
    const lines: string[] = []
    for (let i = 0; i < 8000; i++) {
      const bdf = `${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${((i >> 3) & 0x1f).toString(16).padStart(2, '0')}.${i & 7}`
      lines.push(`[    1.${String(i).padStart(6, '0')}] DMAR: [DMA Read NO_PASID] Request device [${bdf}] fault addr 0x${(0x10000 + i * 0x1000).toString(16)} [fault reason 0x06] PTE Read access is not set`)
    }
    const log = path.join(work, 'many-requesters.log')
    writeFileSync(log, lines.join('\n') + '\n')
    const whole = await vtd(withoutOclif, ['faults', '--json', log], plainEnv)
    expect(whole.stdout.length).toBeGreaterThan(1 << 20)
    const cut = await runCliClosingStdoutEarly(withoutOclif, ['faults', '--json', log], plainEnv, work)
    expect(cut.stderr).toBe('')
    expect(cut.status).toBe(whole.status)
  })

  it('runs through oclif when a user has plugins installed', async () => {
    const dataDir = path.join(work, 'data-with-plugins')
    mkdirSync(path.join(dataDir, OCLIF_DIRNAME), {recursive: true})
    writeFileSync(path.join(dataDir, OCLIF_DIRNAME, 'package.json'), JSON.stringify({private: true, oclif: {plugins: []}}))
    const log = path.join(realData, 'dmesg', 'dell-xps9360-intremap-k6.x-1.log')
    const r = await vtd(withoutOclif, ['faults', log], {...plainEnv, XDG_DATA_HOME: dataDir})
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('oclif was loaded')
  })
})
