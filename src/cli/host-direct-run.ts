/**
 * The run behind host-direct.ts, bundled into one file by the build (scripts/bundle.mjs) like a
 * command: `check`, `groups` and `device` with the host model and the reports, without oclif.
 *
 * What the run prints is held until it ends, then written. Anything oclif would print itself —
 * an error (`this.error`), a warning, a failure — is left to oclif: nothing has been printed by
 * then, and bin/run.js runs the command through oclif from the start, which prints it exactly as
 * before.
 */
import {runCheck} from './check-run.js'
import {runDevice} from './device-run.js'
import {runGroups} from './groups-run.js'
import type {DirectHostRequest} from './host-direct.js'
import type {CommandDriver} from './host-model.js'
import {colorEnabled, ignoreClosedStdout, terminalWidth, writeJson, writeText} from './output.js'

/** True when the run printed its report; false (nothing printed, no exit code set) when oclif has to run it. */
export async function runHostCommandWithoutOclif(request: DirectHostRequest): Promise<boolean> {
  const leftToOclif = new Error('left to oclif')
  const printed: string[] = []
  const driver: CommandDriver = {
    json: request.json,
    error: () => {
      throw leftToOclif
    },
    // oclif's warning format (its pretty-printer, wrapped to the terminal) is oclif's to print.
    warn: () => {
      throw leftToOclif
    },
    print: (text) => {
      printed.push(text)
    },
    terminalWidth,
    colorEnabled,
    // Only `check --format` prints the version, an argument list this start leaves to oclif.
    version: () => {
      throw leftToOclif
    },
  }
  let result: unknown
  try {
    if (request.command === 'check') result = await runCheck(request.flags, driver)
    else if (request.command === 'groups') result = await runGroups(request.flags, driver)
    else result = await runDevice(request.flags, driver)
  } catch {
    process.exitCode = undefined
    return false
  }
  ignoreClosedStdout()
  for (const text of printed) writeText(text)
  // oclif prints a command's result as its JSON when there is one (Command._run).
  if (request.json && result) writeJson(result)
  return true
}
