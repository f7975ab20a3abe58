/**
 * How commands write to stdout, shared by BaseCommand and the start without oclif
 * (faults-direct.ts): plain JSON, and text that is terminal-safe and fitted to a terminal.
 */
import {fitToWidth} from '../report/fit-width.js'
import {terminalSafe} from '../report/terminal-safe.js'

/** Columns to fit: $COLUMNS when set (also when piped), else the terminal's; undefined: the renderer's default. */
export function terminalWidth(): number | undefined {
  const fromEnv = Number.parseInt(process.env.COLUMNS ?? '', 10)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : process.stdout.columns
}

/** Colour only on a terminal that wants it (NO_COLOR, TERM=dumb: https://no-color.org). */
export function colorEnabled(): boolean {
  return process.stdout.isTTY === true && (process.env.NO_COLOR ?? '') === '' && process.env.TERM !== 'dumb'
}

/** Strings from the host or a snapshot must not act on the terminal, and prose fits it. */
export function writeText(text: string): void {
  const safe = terminalSafe(text)
  // Only a terminal gets wrapped prose: piped output keeps one line per fact for grep and scripts.
  const width = process.stdout.isTTY === true ? terminalWidth() : undefined
  process.stdout.write(width === undefined ? safe : fitToWidth(safe, width))
}

/**
 * JSON as JSON.stringify writes it. oclif's logJson runs it through colorizeJson, a regex
 * tokenizer that slices the text token by token and keeps an object per token: on a large
 * report (a fault storm, a hostile DMAR) that took hundreds of MB and most of the time.
 */
export function writeJson(json: unknown): void {
  process.stdout.write(JSON.stringify(json, null, 2) + '\n')
}

/** As oclif does: output cut short by a closed pipe (`| head`) is not an error (the starts without oclif). */
export function ignoreClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
  })
}
