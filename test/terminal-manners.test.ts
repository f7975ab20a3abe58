/**
 * Terminal manners (issue 12): `-v` evidence wraps to the terminal width ($COLUMNS too) instead of
 * being cut with "…", on every command that has a verbose outcome table and every snapshot; and
 * colour only reaches a terminal that wants it (NO_COLOR, TERM=dumb).
 */
import {readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import stringWidth from 'string-width'
import {afterEach, describe, expect, it} from 'vitest'
import Check from '../commands/check.js'
import Dmar from '../commands/dmar.js'
import Groups from '../commands/groups.js'
import Iort from '../commands/iort.js'
import Ivrs from '../commands/ivrs.js'
import Fleet from '../commands/fleet.js'
import Replay from '../commands/replay.js'
import Units from '../commands/units.js'
import {wrapCell} from '../src/report/outcome-table.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const output = captureCommandOutput()
const snapshots = readdirSync(fixturesDir).filter((name) => statSync(path.join(fixturesDir, name)).isDirectory()).sort()
const savedEnv = {COLUMNS: process.env.COLUMNS, NO_COLOR: process.env.NO_COLOR, TERM: process.env.TERM}

afterEach(() => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
})

interface Finding {
  summary: string
  evidence: Array<{fact: string; source?: string}>
}

type Runnable = {run(argv: string[], opts: string): Promise<unknown>}

/** Run a command, swallowing its could-not-tell / usage errors (a snapshot without a DMAR table). */
async function run(command: Runnable, argv: string[]): Promise<unknown> {
  return command.run(argv, repoRoot).catch(() => undefined)
}

/** The lines of the Result │ Check │ Finding tables in a command's output. */
function outcomeTableLines(text: string): string[] {
  const out: string[] = []
  let inside = false
  for (const line of text.split('\n')) {
    if (line.startsWith('┌')) inside = false
    if (/^│ Result\s+│ Check\s+│ Finding/.test(line)) inside = true
    if (/^[│┌├└]/.test(line) && inside) out.push(line)
    if (line.startsWith('└')) inside = false
  }
  return out
}

/** The text of a table's last column (Finding), every row and continuation line, with all whitespace removed. */
function findingColumn(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) => line.split('│').at(-2) ?? '')
    .join('')
    .replace(/\s+/g, '')
}

const VERBOSE_COMMANDS: Array<[string, Runnable, (json: unknown) => Finding[]]> = [
  ['check', Check, (json) => (json as {results: Finding[]}).results],
  ['dmar', Dmar, (json) => (json as {lint: Finding[]}).lint],
  ['units', Units, (json) => (json as {lint: Finding[]}).lint],
  ['ivrs', Ivrs, (json) => (json as {lint: Finding[]}).lint],
  ['iort', Iort, (json) => (json as {lint: Finding[]}).lint],
]

describe('-v evidence wraps to the terminal width', () => {
  for (const [name, command, findingsOf] of VERBOSE_COMMANDS)
    it(`${name} -v: every table line fits $COLUMNS, and every evidence fact is printed whole (all ${snapshots.length} snapshots)`, async () => {
      let facts = 0
      for (const [index, snapshot] of snapshots.entries()) {
        const root = path.join(fixturesDir, snapshot)
        output.stdout = ''
        const json = await run(command, ['--root', root, '--json'])
        if (json === undefined) continue
        for (const columns of [index % 2 === 0 ? 80 : 123]) {
          process.env.COLUMNS = String(columns)
          output.stdout = ''
          await run(command, ['--root', root, '-v'])
          const text = output.stdout
          const tableLines = text.split('\n').filter((line) => /^[│┌├└]/.test(line))
          // Outcome tables (Result │ Check │ Finding, where -v evidence goes) fit the width exactly.
          for (const line of outcomeTableLines(text)) expect(stringWidth(line), `${snapshot} ${line}`).toBeLessThanOrEqual(columns)
          expect(tableLines.length).toBeGreaterThan(0)
          expect(text, snapshot).not.toMatch(/\S…\s*│/)
          const column = findingColumn(text)
          for (const finding of findingsOf(json)) {
            if (!column.includes(finding.summary.replace(/\s+/g, ''))) continue // a row hidden at this level (n/a)
            for (const e of finding.evidence) {
              expect(column, `${snapshot}: ${e.fact}`).toContain(e.fact.replace(/\s+/g, ''))
              facts++
            }
          }
        }
      }
      expect(facts).toBeGreaterThan(name === 'ivrs' || name === 'iort' ? 1 : 20)
    })

  it('wrapCell keeps the bullet as a hanging indent and breaks an over-long word instead of cutting it', () => {
    const path = '/sys/kernel/iommu_groups/0/devices/0000:00:1f.2/reserved_regions'
    const wrapped = wrapCell(`summary line\n  · evidence ${path}`, 30)
    const lines = wrapped.split('\n')
    for (const line of lines) expect(stringWidth(line)).toBeLessThanOrEqual(30)
    expect(lines[1]).toMatch(/^ {2}· evidence/)
    for (const line of lines.slice(2)) expect(line).toMatch(/^ {4}\S/)
    expect(wrapped.replace(/\s+/g, '')).toContain(path)
  })
})

describe('colour only for a terminal that wants it', () => {
  const ESC = '\u001B['
  async function groupsTree(env: Record<string, string | undefined>, tty: boolean): Promise<string> {
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
    const descriptor = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY')
    Object.defineProperty(process.stdout, 'isTTY', {value: tty, configurable: true})
    try {
      output.stdout = ''
      await Groups.run(['--root', path.join(fixturesDir, 'lab-pch-acs-less-root-ports')], repoRoot)
      return output.stdout
    } finally {
      if (descriptor) Object.defineProperty(process.stdout, 'isTTY', descriptor)
      else delete (process.stdout as {isTTY?: boolean}).isTTY
    }
  }

  it('a colour terminal gets colour; NO_COLOR, TERM=dumb or a pipe get none', async () => {
    expect(await groupsTree({NO_COLOR: undefined, TERM: 'xterm-256color'}, true)).toContain(ESC)
    expect(await groupsTree({NO_COLOR: '1', TERM: 'xterm-256color'}, true)).not.toContain(ESC)
    expect(await groupsTree({NO_COLOR: undefined, TERM: 'dumb'}, true)).not.toContain(ESC)
    expect(await groupsTree({NO_COLOR: undefined, TERM: 'xterm-256color'}, false)).not.toContain(ESC)
  })
})

describe('narrow terminals: every table fits $COLUMNS, also below 80', () => {
  const lab = (name: string) => path.join(fixturesDir, name)
  const runs: Array<[string, Runnable, string[]]> = [
    ['check -v', Check, ['--root', lab('lab-pch-acs-less-root-ports'), '-v']],
    ['dmar -v', Dmar, ['--root', lab('lab-pch-acs-less-root-ports'), '-v']],
    ['groups --table', Groups, ['--root', lab('lab-pch-acs-less-root-ports'), '--table']],
    ['replay', Replay, ['--root', lab('lab-pch-acs-less-root-ports'), '--device', '0000:01:00.0', '--address', '0x1000']],
    ['fleet', Fleet, [fixturesDir]],
    ['units (SMMUv3)', Units, ['--root', lab('lab-smmuv3')]],
  ]
  for (const columns of [60, 80])
    for (const [name, command, argv] of runs)
      it(`${name} at ${columns} columns: no line wider, nothing cut with "…"`, async () => {
        process.env.COLUMNS = String(columns)
        output.stdout = ''
        await run(command, argv)
        const lines = output.stdout.split('\n')
        expect(lines.length).toBeGreaterThan(3)
        // Table rows, and the rows an outcome table stacks into below 80 (from the first mark to the tally);
        // prose lines (a header naming the snapshot path) are wrapped by print on a terminal, not here.
        const firstMark = lines.findIndex((l) => /^[✔!✘?–] /.test(l))
        const tally = lines.findIndex((l, i) => i > firstMark && /^\d+ pass · /.test(l))
        const stacked = firstMark >= 0 && tally > firstMark ? lines.slice(firstMark, tally) : []
        for (const line of [...lines.filter((l) => /^[│┌├└]/.test(l)), ...stacked]) expect(stringWidth(line), `${name}: ${line}`).toBeLessThanOrEqual(columns)
        expect(output.stdout).not.toContain('…')
      })

  it('check -v at 60 columns stacks its rows and still prints every evidence fact whole', async () => {
    const root = lab('lab-pch-acs-less-root-ports')
    const report = (await Check.run(['--root', root, '--json'], repoRoot)) as {results: Finding[]}
    process.env.COLUMNS = '60'
    output.stdout = ''
    await run(Check, ['--root', root, '-v', '--all'])
    const flat = output.stdout.replace(/\s+/g, '')
    for (const r of report.results) for (const e of r.evidence) expect(flat, e.fact).toContain(e.fact.replace(/\s+/g, ''))
    expect(output.stdout).not.toMatch(/^│ Result/m)
  })
})
