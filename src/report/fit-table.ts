/**
 * A cli-table3 table that fits the terminal: each column as wide as its content, and when the
 * whole is wider than the terminal the widest columns give way first. Cells are wrapped here
 * (words kept, a word longer than its column broken), so cli-table3 never cuts one with "…".
 */
import Table from 'cli-table3'
import wrapAnsi from 'wrap-ansi'

/** cli-table3 pads each cell with one space on either side. */
const PADDING = 2
/** No column narrower than this (with padding): three characters of text a line. */
const MIN_COLUMN = 5

// eslint-disable-next-line no-control-regex
const displayWidth = (line: string): number => [...line.replace(/\x1b\[[0-9;]*m/g, '')].length

/**
 * Column widths (padding included) that fit `width` terminal columns with the borders: the widest
 * column gives way first, but not below its longest word (a BDF, a check id) while any other
 * column can; only then below it, down to MIN_COLUMN (a table still wider than that stays so).
 */
export function fitColumns(natural: readonly number[], width: number, longestWord: readonly number[] = natural): number[] {
  const widths = [...natural]
  let excess = widths.reduce((sum, w) => sum + w, 0) + widths.length + 1 - width
  // Phase 1: the widest column now, down to its longest word. Phase 2: the column with the most
  // text (prose such as a device name) breaks its words first, so ids and BDFs stay whole longest.
  const phases: Array<{floor: (i: number) => number; size: (i: number) => number}> = [
    {floor: (i) => Math.max(MIN_COLUMN, longestWord[i] ?? 0), size: (i) => widths[i] ?? 0},
    {floor: () => MIN_COLUMN, size: (i) => natural[i] ?? 0},
  ]
  for (const {floor, size} of phases) {
    while (excess > 0) {
      let pick = -1
      for (let i = 0; i < widths.length; i++) if ((widths[i] ?? 0) > floor(i) && (pick < 0 || size(i) > size(pick))) pick = i
      if (pick < 0) break
      widths[pick] = (widths[pick] ?? MIN_COLUMN) - 1
      excess--
    }
  }
  return widths
}

export interface FittedTableOptions {
  head: string[]
  rows: string[][]
  /** Terminal columns; undefined keeps every column at its content's width. */
  width?: number | undefined
  /** cli-table3 `chars` overrides (e.g. no rule between rows). */
  chars?: Partial<Record<'mid' | 'left-mid' | 'mid-mid' | 'right-mid', string>>
  compact?: boolean
  /**
   * Where the columns cannot keep their longest words whole, print each row as its own block
   * ("first cell", then "head: value" lines) instead of breaking words: for wide summaries.
   */
  stackWhenCramped?: boolean
}

/** Rows as blocks: the first cell as the row's title, the other cells as "head: value" under it. */
function stackedRows(head: readonly string[], rows: readonly string[][], width: number): string {
  const wrap = (text: string, indent: number) => wrapAnsi(text, Math.max(10, width - indent), {hard: true, trim: true}).split('\n').map((line) => ' '.repeat(indent) + line).join('\n')
  return rows
    .map((row) => [wrap(row[0] ?? '', 0), ...head.slice(1).flatMap((h, i) => (row[i + 1] ? [wrap(`${h}: ${row[i + 1]}`, 2)] : []))].join('\n'))
    .join('\n')
}

export function fittedTable({head, rows, width, chars, compact, stackWhenCramped}: FittedTableOptions): string {
  const natural = head.map((h, col) => Math.max(...[h, ...rows.map((r) => r[col] ?? '')].flatMap((cell) => cell.split('\n').map(displayWidth))) + PADDING)
  const words = head.map((h, col) => Math.max(...[h, ...rows.map((r) => r[col] ?? '')].flatMap((cell) => cell.split(/\s+/).map(displayWidth))) + PADDING)
  const widths = width === undefined ? natural : fitColumns(natural, width, words)
  if (width !== undefined && stackWhenCramped && widths.some((w, i) => w < (words[i] ?? 0))) return stackedRows(head, rows, width)
  const wrap = (cell: string, col: number) => wrapAnsi(cell, Math.max(1, (widths[col] ?? MIN_COLUMN) - PADDING), {hard: true, trim: true})
  const table = new Table({
    head: head.map(wrap),
    colWidths: widths,
    style: {head: [], border: [], ...(compact ? {compact: true} : {})},
    ...(chars ? {chars} : {}),
  })
  for (const row of rows) table.push(row.map(wrap))
  return table.toString()
}
