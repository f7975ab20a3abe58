import wrapAnsi from 'wrap-ansi'

/**
 * Prose that fits a terminal: lines wider than `width` wrap at word boundaries (a word wider
 * than the line is cut) and continue under their own text, past any indentation, tree glyphs or
 * status marks, so a wrapped tree line or list item still reads as one entry. Table rows are
 * left alone: the tables size their own columns to the width.
 */
export function fitToWidth(text: string, width: number): string {
  return text
    .split('\n')
    .map((line) => fitLine(line, width))
    .join('\n')
}

// A cli-table3 row: starts and ends with a border glyph (tree lines start with one but end in text).
const TABLE_ROW = /^\s*[│┌├└╭╰┬┼].*[│┐┤┘╮╯]\s*$/
// What comes before a line's text: indentation, tree glyphs, bullets and status marks.
const LEAD = /^[^\p{L}\p{N}[("'`<]*/u
// The narrowest text column worth hanging under a lead; below it, continuations indent by 2.
const MIN_TEXT = 24

function fitLine(line: string, width: number): string {
  if (TABLE_ROW.test(line) || wrapAnsi(line, width, {hard: true, trim: false}) === line) return line
  const lead = LEAD.exec(line)?.[0] ?? ''
  const hang = width - lead.length >= MIN_TEXT ? ' '.repeat(lead.length) : '  '
  const [first, ...rest] = wrapAnsi(line.slice(lead.length), width - hang.length, {hard: true, trim: true}).split('\n')
  return [lead + first, ...rest.map((part) => hang + part)].join('\n')
}
