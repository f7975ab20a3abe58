/**
 * Reading without root (issue 12): a snapshot captured without root says so and advises capturing
 * again as root (`sudo vtd-check capture …`), never `sudo vtd-check` (which cannot add what the
 * snapshot never held); a live run without root advises `sudo vtd-check`.
 */
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import Check from '../commands/check.js'
import {assessHost} from '../src/checks/assess.js'
import {memHostFs} from '../src/host/mem.js'
import type {CheckReport} from '../src/report/check.js'
import {fakeHostEntries, fakeLog} from './checks-hosts.js'
import {captureCommandOutput} from './support/command-output.js'
import {modelOf} from './support/model.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const output = captureCommandOutput()
const made: string[] = []
afterAll(() => {
  for (const dir of made) rmSync(dir, {recursive: true, force: true})
})

/** Every piece of advice a check report gives, as one text. */
function adviceOf(report: CheckReport): string {
  return [report.verdict.headline, ...report.results.flatMap((r) => r.remediation)].join('\n')
}

/** lab-iommu-on as a user (uid 1000) would have captured it: no DMAR table (root-only), recorded as unreadable. */
function nonRootCopyOfLab(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vtd-nonroot-'))
  made.push(dir)
  cpSync(path.join(fixturesDir, 'lab-iommu-on'), dir, {recursive: true, verbatimSymlinks: true})
  rmSync(path.join(dir, 'sys/firmware/acpi/tables/DMAR'))
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({...meta, uid: 1000, unreadable: ['/sys/firmware/acpi/tables/DMAR']}))
  return dir
}

describe('a snapshot captured without root', () => {
  it('sysfs-fixtures/dev-vm-no-iommu-nonroot (uid 65534): the report says so and advises capturing again as root', async () => {
    const root = path.join(fixturesDir, 'dev-vm-no-iommu-nonroot')
    const report = (await Check.run(['--root', root, '--json'], repoRoot)) as CheckReport
    expect(report.host.capturedAsRoot).toBe(false)
    output.stdout = ''
    await Check.run(['--root', root], repoRoot)
    expect(output.stdout).toContain('captured without root')
    expect(output.stdout).toContain('sudo vtd-check capture --out DIR')
    expect(output.stdout).not.toMatch(/sudo vtd-check(?! capture)/)
  })

  it('a check it could not assess advises re-capturing, and so does the headline; never plain `sudo vtd-check`', async () => {
    const root = nonRootCopyOfLab()
    const report = (await Check.run(['--root', root, '--json'], repoRoot)) as CheckReport
    expect(report.verdict.outcome).toBe('unknown')
    expect(report.verdict.headline).toContain('re-capture the snapshot as root')
    const lint = report.results.find((r) => r.id === 'platform.dmar-valid')
    expect(lint?.outcome).toBe('unknown')
    expect(lint?.remediation.join('\n')).toContain('captured as uid 1000, not as root: capture again as root (`sudo vtd-check capture --out DIR`)')
    expect(adviceOf(report)).not.toMatch(/sudo vtd-check(?! capture)/)
  })

  it('`dmar` on it: exit 3, and the suggestion is a root capture, not `sudo vtd-check dmar`', async () => {
    const {default: Dmar} = await import('../commands/dmar.js')
    const error = await Dmar.run(['--root', nonRootCopyOfLab()], repoRoot).then(
      () => undefined,
      (e: {oclif?: {exit?: number}; message: string; suggestions?: string[]}) => e,
    )
    expect(error?.oclif?.exit).toBe(3)
    expect(error?.message).toContain('not readable when this snapshot was captured')
    expect(error?.suggestions?.join('\n')).toContain('sudo vtd-check capture --out DIR')
    expect(error?.suggestions?.join('\n')).not.toMatch(/sudo vtd-check dmar/)
  })

  it('a snapshot captured as root (the lab ones) is not told to capture again', async () => {
    const report = (await Check.run(['--root', path.join(fixturesDir, 'lab-iommu-on'), '--json'], repoRoot)) as CheckReport
    expect(report.host.capturedAsRoot).toBe(true)
    output.stdout = ''
    await Check.run(['--root', path.join(fixturesDir, 'lab-iommu-on')], repoRoot)
    expect(output.stdout).not.toContain('capture --out')
  })
})

describe('the live host read without root', () => {
  it('advises `sudo vtd-check`, not a capture', () => {
    // A live host ("/") whose DMAR table is root-only and whose kernel log is restricted.
    const entries = {...fakeHostEntries({}), '/sys/firmware/acpi/tables/DMAR': {unreadable: true as const}}
    const model = modelOf(memHostFs(entries), fakeLog(null))
    expect(model.root).toBe('/')
    const {results} = assessHost(model)
    const advice = results.flatMap((r) => r.remediation).join('\n')
    expect(advice).toContain('run as root (sudo vtd-check)')
    expect(advice).not.toContain('capture')
  })
})
