/**
 * Every snapshot in sysfs-fixtures/ (the dev VM captures, the lab's real-kernel QEMU guests)
 * has an expected.json of outcomes by check id ("id" for host checks, "id@BDF" for device
 * checks). The outcomes were decided by reading each snapshot's files (README, dmesg.txt,
 * cmdline, groups, cap/ecap, DMAR flags); their `why` says from which facts.
 */
import {readdirSync, readFileSync, existsSync, statSync} from 'node:fs'
import * as path from 'node:path'
import {describe, expect, it} from 'vitest'
import {assessHost} from '../src/checks/assess.js'
import {buildCheckReport} from '../src/report/check.js'
import {modelAt} from './support/model.js'
import {openRoot} from '../src/host/snapshot.js'
import type {Outcome} from '../src/checks/outcome.js'
import {fixturesDir} from './support/paths.js'

interface Expected {
  snapshot: string
  devices: string[]
  exitCode: number
  outcomes: Record<string, Outcome>
  why: Record<string, string>
  /** Outcomes the tool still gets wrong on this snapshot: what it says today, and why that is wrong. */
  knownWrong?: Record<string, {today: Outcome; why: string}>
}

const snapshots = readdirSync(fixturesDir)
  .filter((name) => statSync(path.join(fixturesDir, name)).isDirectory())
  .sort()

async function outcomesOf(name: string, devices: string[]) {
  const fs = openRoot(path.join(fixturesDir, name))
  const report = buildCheckReport(assessHost(await modelAt(fs), {devices}))
  const outcomes: Record<string, Outcome> = {}
  for (const r of report.results) outcomes[r.subject ? `${r.id}@${r.subject}` : r.id] = r.outcome
  return {report, outcomes}
}

describe('sysfs-fixtures scenarios', () => {
  it('finds the snapshots', () => {
    expect(snapshots).toContain('dev-vm-no-iommu')
    expect(snapshots.length).toBeGreaterThanOrEqual(2)
  })

  for (const name of snapshots) {
    const file = path.join(fixturesDir, name, 'expected.json')
    it(`${name}: has an expected.json`, () => {
      expect(existsSync(file), `write sysfs-fixtures/${name}/expected.json (outcomes decided from the snapshot's files)`).toBe(true)
    })
    if (!existsSync(file)) continue
    const expected = JSON.parse(readFileSync(file, 'utf8')) as Expected
    it(`${name}: outcomes match expected.json`, async () => {
      const {outcomes} = await outcomesOf(name, expected.devices)
      // A known-wrong outcome must still be what expected.json says the tool answers today (a
      // fix shows up here and must move it into `outcomes`), and must differ from the truth.
      const today = {...expected.outcomes, ...Object.fromEntries(Object.entries(expected.knownWrong ?? {}).map(([id, w]) => [id, w.today]))}
      for (const [id, w] of Object.entries(expected.knownWrong ?? {})) expect(w.today, id).not.toBe(expected.outcomes[id])
      expect(outcomes).toEqual(today)
    })
    it(`${name}: exit code ${expected.exitCode}`, async () => {
      const {report} = await outcomesOf(name, expected.devices)
      expect(report.verdict.exitCode).toBe(expected.exitCode)
    })
  }
})
