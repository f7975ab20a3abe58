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

/** Below this many columns the three columns leave the finding too narrow to read: rows stack instead. */
export const MIN_TABLE_WIDTH = 80
/** How far a stacked row's finding is indented under its mark. */
const STACK_INDENT = 4

export function outcomeTable(width: number | undefined, idWidth: number): OutcomeTable {
  if (width !== undefined && width < MIN_TABLE_WIDTH) return stackedOutcomes(width)
  const total = Math.max(MIN_TABLE_WIDTH, width ?? 100)
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
 * The same rows for a narrow terminal: the mark and check id on one line, the finding wrapped
 * under it, each row its own block (no borders to cut).
 */
function stackedOutcomes(width: number): OutcomeTable {
  const blocks: string[] = []
  const room = Math.max(20, width - STACK_INDENT)
  return {
    push: (mark, id, finding) => {
      const head = wrapCell(`${mark}  ${id.split('\n').map((part) => part.trim()).join(' ')}`, Math.max(20, width))
      const body = wrapCell(finding, room).split('\n').map((line) => ' '.repeat(STACK_INDENT) + line)
      blocks.push([head, ...body].join('\n'))
    },
    toString: () => blocks.join('\n'),
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
