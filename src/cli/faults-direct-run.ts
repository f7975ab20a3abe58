/**
 * The run behind faults-direct.ts, bundled into one file by the build (scripts/bundle.mjs) like a
 * command: the log pipeline and the report, without oclif and without the host model.
 *
 * Any error (a file that cannot be read, a bug) is left to oclif: nothing has been printed by then
 * (the report is printed last), and bin/run.js then runs the command through oclif from the start,
 * which reports it exactly as before.
 */
import {openRoot} from '../host/snapshot.js'
import type {DirectFaultsRequest} from './faults-direct.js'
import {runFaults} from './faults-run.js'
import {ignoreClosedStdout, terminalWidth, writeJson, writeText} from './output.js'

/** True when the run printed its report; false (nothing printed, no exit code set) when oclif has to run it. */
export async function runFaultsWithoutOclif(request: DirectFaultsRequest): Promise<boolean> {
  const leftToOclif = new Error('left to oclif')
  ignoreClosedStdout()
  try {
    const report = await runFaults({file: request.file, root: '/', since: undefined, follow: false, trace: false, detail: 3, json: request.json}, {
      hostFs: (root) => openRoot(root),
      traceContext: () => Promise.reject(leftToOclif),
      error: () => {
        throw leftToOclif
      },
      print: writeText,
      terminalWidth,
    })
    if (request.json) writeJson(report)
    return true
  } catch {
    process.exitCode = undefined
    return false
  }
}
