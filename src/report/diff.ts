/** `vtd-check diff` for a person: the answer first, then regressions, unknowns, improvements, changes — each with why. */
import type {Change, HostDiff, Impact} from '../compare/diff.js'

const HEADLINE: Record<HostDiff['result'], string> = {
  regressed: 'REGRESSED — isolation got worse',
  unknown: 'CANNOT TELL — some facts could not be compared',
  improved: 'NO REGRESSION — isolation improved',
  changed: 'NO REGRESSION — changes that do not weaken isolation',
  unchanged: 'UNCHANGED — nothing that matters for isolation changed',
}

const MARK: Record<Impact, string> = {regression: '✘ worse ', unknown: '? unknown', improvement: '✔ better', change: '· change'}
const ORDER: Impact[] = ['regression', 'unknown', 'improvement', 'change']

export function renderDiff(diff: HostDiff): string {
  const side = (label: string, s: HostDiff['old']) => `${label} ${s.root} (${s.name}${s.kernel ? `, kernel ${s.kernel}` : ''}) — ${s.verdict}`
  const lines = [`vtd-check diff: ${HEADLINE[diff.result]}`, side('old:', diff.old), side('new:', diff.new)]
  const counts = ORDER.map((impact) => `${diff.changes.filter((c) => c.impact === impact).length} ${impact === 'change' ? 'other' : impact === 'regression' ? 'worse' : impact === 'improvement' ? 'better' : 'unknown'}`)
  for (const impact of ORDER) {
    const changes = diff.changes.filter((c) => c.impact === impact)
    if (changes.length === 0) continue
    lines.push('')
    for (const change of changes) lines.push(...renderChange(change))
  }
  lines.push('', counts.join(' · '))
  return lines.join('\n') + '\n'
}

function renderChange(change: Change): string[] {
  const out = [`${MARK[change.impact]}  [${change.area}] ${change.text}`]
  for (const why of change.why) out.push(`             why: ${why}`)
  return out
}
