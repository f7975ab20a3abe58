/**
 * The evaluation's "log + host evidence" mode is the command's answer, not an evaluation-only
 * path: every case whose thread posted host evidence is run through `vtd-check faults FILE
 * --lspci-dump DUMP` (and `--root SNAP` holding the posted uname -r and /proc/cmdline) and must
 * lead with what test/support/fault-cases.ts scores.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import Faults from '../commands/faults.js'
import type {FaultsJson} from '../src/report/faults.js'
import {evaluateCase, loadFaultCases} from './support/fault-cases.js'
import {repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const withEvidence = loadFaultCases(path.join(repoRoot, 'test/fixtures/fault-cases')).filter((c) => c.host !== undefined)

beforeEach(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  vi.spyOn(console, 'log').mockImplementation(() => undefined)
  process.exitCode = undefined
})
afterEach(() => {
  vi.restoreAllMocks()
  process.exitCode = undefined
})

describe('host evidence through the faults command', () => {
  it('some cases carry evidence', () => expect(withEvidence.length).toBeGreaterThan(0))

  for (const c of withEvidence) {
    it(`${c.name}: the command leads as the evaluation scores it`, async () => {
      const dir = scratchDir('vtd-case-host-')
      const log = path.join(dir, 'case.log')
      writeFileSync(log, c.log)
      const argv = [log, '--json']
      if (c.host!.lspci !== undefined) {
        writeFileSync(path.join(dir, 'lspci.txt'), c.host!.lspci)
        argv.push('--lspci-dump', path.join(dir, 'lspci.txt'))
      }
      if (c.host!.uname !== undefined || c.host!.cmdline !== undefined) {
        const snap = path.join(dir, 'snap')
        mkdirSync(path.join(snap, 'proc/sys/kernel'), {recursive: true})
        if (c.host!.uname !== undefined) writeFileSync(path.join(snap, 'proc/sys/kernel/osrelease'), `${c.host!.uname}\n`)
        if (c.host!.cmdline !== undefined) writeFileSync(path.join(snap, 'proc/cmdline'), `${c.host!.cmdline}\n`)
        argv.push('--root', snap, '--trace')
      }
      const json = await (Faults.run(argv, repoRoot) as Promise<FaultsJson>)
      const scored = evaluateCase(c, 'host').leading
      expect({rule: json.leading.rule, category: json.leading.category, summary: json.leading.summary}).toEqual({rule: scored.rule, category: scored.category, summary: scored.summary})
    })
  }
})
