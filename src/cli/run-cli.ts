/**
 * Runs the command line as oclif's execute() does (run, flush, handle), except that under `--json`
 * an error raised before any command ran — an unknown command, a plugin command's parse error —
 * ends as the project's JSON error object too (errors inside our commands already do:
 * JsonCommand.catch), with the same exit code. bin/run.js and the standalone executable use it.
 */
import {errorJson, type OclifError} from './error-json.js'
import {flush, handle, run, type Config, type Interfaces} from './oclif.js'

/** `--json` among the options (not after `--`, where arguments stop being flags). */
export function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf('--')
  return (end < 0 ? args : args.slice(0, end)).includes('--json')
}

export async function runCli(args: string[], loadOptions: Interfaces.LoadOptions | Config): Promise<void> {
  try {
    await run(args, loadOptions)
    await flush()
  } catch (error) {
    const err = error as OclifError & {skipOclifErrorHandling?: boolean}
    // this.exit(n) (EEXIT) is how a command ends with its code after printing: not an error to report.
    if (!wantsJson(args) || err.code === 'EEXIT' || err.skipOclifErrorHandling) return handle(error as Error)
    const body = errorJson(err)
    // Loaded here, on the error path only: every start imports this module.
    const {writeJson} = await import('./output.js')
    writeJson(body)
    process.exitCode = body.error.exitCode
  }
}
