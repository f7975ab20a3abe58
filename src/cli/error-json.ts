/**
 * The one JSON body of an error under `--json`, whether a command failed (JsonCommand.catch) or
 * oclif refused the command line before any command ran (an unknown command: run-cli.ts). Kept
 * apart from base.ts so the start path loads nothing else to report an error.
 */
import {EXIT} from '../checks/outcome.js'

export const TOOL = 'vtd-check'
export const ERROR_SCHEMA_VERSION = 1

/** The JSON body of an error: short, with the exit code it ends with (never oclif's internals). */
export interface ErrorJson {
  schemaVersion: typeof ERROR_SCHEMA_VERSION
  tool: typeof TOOL
  error: {kind: 'usage' | 'could-not-tell' | 'internal'; message: string; exitCode: number; suggestions?: string[]}
}

export interface OclifError extends Error {
  oclif?: {exit?: number | false}
  exitCode?: number
  suggestions?: string[]
  code?: string
}

/** The exit code an error ends with: its own (`this.error(…, {exit})`), else 2 (usage or internal). */
export function exitCodeOf(err: OclifError): number {
  const exit = err.oclif?.exit
  if (typeof exit === 'number') return exit
  return EXIT.usage
}

export function errorJson(err: OclifError): ErrorJson {
  const exitCode = exitCodeOf(err)
  return {
    schemaVersion: ERROR_SCHEMA_VERSION,
    tool: TOOL,
    error: {
      kind: exitCode === EXIT.unknown ? 'could-not-tell' : err.oclif === undefined && err.code === undefined ? 'internal' : 'usage',
      message: firstLines(err.message),
      exitCode,
      ...(err.suggestions?.length ? {suggestions: err.suggestions} : {}),
    },
  }
}

/** oclif parse errors append the whole flag list: keep what explains the error. */
function firstLines(message: string): string {
  const lines = message.split('\n')
  const cut = lines.findIndex((line) => /^See more help with/.test(line))
  return (cut > 0 ? lines.slice(0, cut) : lines).join('\n').trim()
}
