/** The pieces every outcome table shares (check results, DMAR and unit lint): marks, layout, tally. */
import Table from 'cli-table3'
import wrapAnsi from 'wrap-ansi'
import {countsLine, type Outcome} from '../checks/outcome.js'

export const OUTCOME_MARK: Record<Outcome, string> = {pass: '✔ pass', warn: '! warn', fail: '✘ FAIL', unknown: '? unknown', 'not-applicable': '– n/a'}

const MARK_WIDTH = 11
/** cli-table3 pads each cell with one space on either side. */
const CELL_PADDING = 2

/** A Result │ Check │ Finding table that fits `width` columns (at least 80). */
export interface OutcomeTable {
  /** One row; `finding` lines are wrapped to the column here, so cli-table3 never cuts one short with "…". */
  push(mark: string, id: string, finding: string): void
  toString(): string
}

export function outcomeTable(width: number | undefined, idWidth: number): OutcomeTable {
  const total = Math.max(80, width ?? 100)
  const findingWidth = total - idWidth - MARK_WIDTH - 4
  const table = new Table({
    head: ['Result', 'Check', 'Finding'],
    colWidths: [MARK_WIDTH, idWidth, findingWidth],
    wordWrap: true,
    wrapOnWordBoundary: true,
    style: {head: [], border: [], compact: true},
  })
  return {
    push: (mark, id, finding) => table.push([mark, wrapCell(id, idWidth - CELL_PADDING), wrapCell(finding, findingWidth - CELL_PADDING)]),
    toString: () => table.toString(),
  }
}

/**
 * Wrap each line of a cell to `width` display columns, keeping a line's indent and bullet
 * ("  · ", "  → ") as a hanging indent; a word longer than the line (a sysfs path) is broken,
 * never cut. cli-table3's own wrapping drops what does not fit on indented lines.
 */
export function wrapCell(text: string, width: number): string {
  return text
    .split('\n')
    .map((line) => {
      const indent = /^\s*(?:[·→•-]\s+)?/.exec(line)?.[0] ?? ''
      const room = Math.max(8, width - indent.length)
      const body = wrapAnsi(line.slice(indent.length), room, {hard: true, trim: true})
      return body
        .split('\n')
        .map((part, i) => (i === 0 ? indent : ' '.repeat(indent.length)) + part)
        .join('\n')
    })
    .join('\n')
}

export {countsLine}
