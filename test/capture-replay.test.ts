/**
 * Issue 2's promise: `capture` and then `check --root SNAPSHOT` gives exactly the answers the
 * live run gives. Runs on whatever machine runs the tests (the dev VM, CI), against the live
 * host, with every device as a `--device` target so per-device checks are compared too.
 */
import {describe, expect, it} from 'vitest'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assessHost} from '../src/checks/assess.js'
import {buildHostModel} from '../src/model/host.js'
import {buildCheckReport} from '../src/report/check.js'
import {modelAt} from './support/model.js'
import {collectHost} from '../src/collect/index.js'
import {RootedHostFs} from '../src/host/fs.js'
import {readKernelLog} from '../src/host/kernel-log.js'
import {openRoot, writeSnapshot} from '../src/host/snapshot.js'
import {scratchDir} from './support/scratch.js'

describe('capture, then check --root', () => {
  it('reproduces the live host\'s results exactly', async () => {
    const live = new RootedHostFs('/')
    const log = await readKernelLog(live)
    const liveHost = collectHost(live)
    const devices = liveHost.pci.map((d) => d.bdf)
    const liveReport = buildCheckReport(assessHost(buildHostModel({collected: liveHost, log}), {devices}))

    const out = scratchDir('vtd-live-')
    writeSnapshot(live, log, out, 'test')
    const snapshot = openRoot(out)
    const snapReport = buildCheckReport(assessHost(await modelAt(snapshot), {devices}))

    const view = (r: typeof liveReport) => r.results.map(({id, subject, outcome, summary}) => ({id, subject, outcome, summary}))
    expect(liveReport.results.length).toBeGreaterThan(10)
    expect(view(snapReport)).toEqual(view(liveReport))
    expect(snapReport.verdict).toEqual(liveReport.verdict)
    expect(snapReport.plans.map((p) => [p.device, p.verdict])).toEqual(liveReport.plans.map((p) => [p.device, p.verdict]))
  })
})
