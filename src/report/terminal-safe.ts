/**
 * Text that reaches a terminal: strings from a host or snapshot (driver link names, group `type`,
 * log lines, table fields) may carry escape sequences that clear the screen, move the cursor or
 * set the window title. Everything a command prints in text mode passes through here once.
 *
 * Kept: newline, tab, and the tool's own colours (SGR, `ESC [ … m`). Every other C0 control, DEL
 * and every C1 control (incl. the 8-bit CSI/OSC introducers) becomes U+FFFD, so a hostile
 * sequence shows up as visible junk instead of acting.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /\x1b\[[0-9;]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (match) => (match.length > 1 ? match : '\ufffd'))
}
