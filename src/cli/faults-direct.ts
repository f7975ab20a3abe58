/**
 * `vtd-check faults FILE` (and with `--json`) run without loading oclif (issue 15: importing
 * @oclif/core and loading its configuration cost ≈ 60 ms of CPU per run, more than half of what
 * `grep -c DMAR` spends on a whole 256 MiB log). It is the same run (faults-run.ts) with the
 * defaults oclif's parse gives those argument lists: no --root, no trace, --detail 3.
 *
 * Taken only for those argument lists and when nothing at run time would make oclif behave
 * otherwise (the prerendered help's guards: oclif's and this CLI's environment settings, debug
 * output, a user's plugins). This module is small: the run itself (faults-direct-run.ts, one
 * bundle) is loaded only once the guards pass.
 */
import {environmentKeepsPrerendered, userPluginsInstalled} from './prerendered-help.js'

/** package.json's oclif.dirname: where oclif looks for a user's plugins. */
export const OCLIF_DIRNAME = 'vtd-check'

export interface DirectFaultsRequest {
  file: string
  json: boolean
}

/** The FILE and `--json` of `faults FILE`, `faults FILE --json` or `faults --json FILE`; undefined for anything else. */
export function directFaultsRequest(args: readonly string[]): DirectFaultsRequest | undefined {
  const positional = args.filter((a) => a !== '--json')
  const file = positional[0]
  // "-" (stdin) is left to oclif too: stdin cannot be read a second time if oclif has to take over.
  if (positional.length !== 1 || args.length > 2 || file === undefined || file === '' || file.startsWith('-')) return undefined
  return {file, json: args.length === 2}
}

/** Runs `faults` for `args` (the words after "faults") when it may; false when oclif has to. */
export async function runFaultsDirect(args: readonly string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  const request = directFaultsRequest(args)
  if (request === undefined || !environmentKeepsPrerendered(env) || userPluginsInstalled(env, OCLIF_DIRNAME)) return false
  const {runFaultsWithoutOclif} = await import('./faults-direct-run.js')
  return runFaultsWithoutOclif(request)
}
