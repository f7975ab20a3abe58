/**
 * The JSON contract of every command (issue 12): each JSON document carries `schemaVersion` and
 * `tool`, and each command's `--json` help names every top-level key the command really prints,
 * computed here by running it (every mode: device --tree/--plan, groups --why, capture --script …).
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import Capture from '../commands/capture.js'
import Check from '../commands/check.js'
import Device from '../commands/device.js'
import Diff from '../commands/diff.js'
import Dmar from '../commands/dmar.js'
import Faults from '../commands/faults.js'
import Fleet from '../commands/fleet.js'
import Groups from '../commands/groups.js'
import Iort from '../commands/iort.js'
import Ivrs from '../commands/ivrs.js'
import Replay from '../commands/replay.js'
import Report from '../commands/report.js'
import Units from '../commands/units.js'
import Version from '../commands/version.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const output = captureCommandOutput()
const lab = (name: string) => path.join(fixturesDir, name)
const scratch = mkdtempSync(path.join(tmpdir(), 'vtd-json-'))
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

interface Runnable {
  run(argv: string[], opts: string): Promise<unknown>
  flags?: Record<string, {description?: string}>
}

/** The JSON a command prints for argv (its error object included: an error is JSON too). */
async function jsonOf(command: Runnable, argv: string[]): Promise<Record<string, unknown>> {
  output.stdout = ''
  await command.run([...argv, '--json'], repoRoot).catch(() => undefined)
  return JSON.parse(output.stdout) as Record<string, unknown>
}

const faults = lab('lab-dma-faults')
const RUNS: Array<[string, Runnable, string[][]]> = [
  ['check', Check, [['--root', faults], ['--root', faults, '--device', '0000:00:03.0'], ['--root', lab('dev-vm-no-iommu-nonroot')]]],
  ['device', Device, [['0000:00:03.0', '--root', faults], ['0000:00:03.0', '--plan', '--root', faults], ['--tree', '--root', lab('lab-switch')]]],
  ['dmar', Dmar, [['--root', faults]]],
  ['units', Units, [['--root', faults], ['--root', lab('lab-iommu-off')]]],
  ['groups', Groups, [['--root', faults], ['--root', faults, '--why', '00:03.0'], ['--root', lab('lab-iommu-off'), '--predict']]],
  ['faults', Faults, [['--root', faults], ['--root', lab('lab-fault-flood')]]],
  ['replay', Replay, [['--root', faults, '--device', '0000:00:03.0', '--address', '0x1000'], ['--root', faults, '--device', '0000:00:03.0', '--address', '0xfeedf000', '--write']]],
  ['diff', Diff, [[lab('lab-iommu-on'), lab('lab-iommu-off')]]],
  ['fleet', Fleet, [[fixturesDir]]],
  ['ivrs', Ivrs, [['--root', lab('lab-amd-vi')]]],
  ['iort', Iort, [['--root', lab('lab-smmuv3')]]],
  ['version', Version, [[]]],
  ['capture', Capture, [['--root', faults, '--out', path.join(scratch, 'snap')], ['--script']]],
  ['report', Report, [['--root', faults, '--html', path.join(scratch, 'report.html')]]],
]

describe('every JSON output carries schemaVersion and tool, and --json help names its keys', () => {
  for (const [name, command, variants] of RUNS)
    it(name, async () => {
      const help = command.flags?.json?.description ?? ''
      expect(help, `${name} --json has its own help`).not.toBe('Format output as json.')
      const keys = new Set<string>()
      for (const argv of variants) {
        const json = await jsonOf(command, argv)
        expect(json, `${name} ${argv.join(' ')}`).toMatchObject({schemaVersion: expect.any(Number), tool: 'vtd-check'})
        for (const key of Object.keys(json)) keys.add(key)
      }
      const unnamed = [...keys].filter((key) => !new RegExp(`\\b${key}\\b`).test(help))
      expect(unnamed, `${name} --json help: ${help}`).toEqual([])
    })

  it('an error is JSON with schemaVersion and tool too, and the help says so', async () => {
    const json = await jsonOf(Check, ['--root', scratch])
    expect(json).toMatchObject({schemaVersion: 1, tool: 'vtd-check', error: {kind: 'usage', exitCode: 2}})
    expect(Check.flags.json?.description).toContain('on error {schemaVersion, tool, error}')
  })
})
