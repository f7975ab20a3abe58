/** The pieces every outcome table shares (check results, DMAR and unit lint): marks, layout, tally. */
import Table from 'cli-table3'
import {countsLine, type Outcome} from '../checks/outcome.js'

export const OUTCOME_MARK: Record<Outcome, string> = {pass: '✔ pass', warn: '! warn', fail: '✘ FAIL', unknown: '? unknown', 'not-applicable': '– n/a'}

const MARK_WIDTH = 11

/** A Result │ Check │ Finding table that fits `width` columns (at least 80). */
export function outcomeTable(width: number | undefined, idWidth: number): Table.Table {
  const total = Math.max(80, width ?? 100)
  return new Table({
    head: ['Result', 'Check', 'Finding'],
    colWidths: [MARK_WIDTH, idWidth, total - idWidth - MARK_WIDTH - 4],
    wordWrap: true,
    wrapOnWordBoundary: true,
    style: {head: [], border: [], compact: true},
  })
}

export {countsLine}
