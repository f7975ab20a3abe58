/** `vtd-check fleet` for a person: one row per host, then the drift between hosts of the same hardware. */
import {fittedTable} from './fit-table.js'
import type {FleetSummary} from '../compare/fleet.js'

const MARK = {pass: '✔ pass', warn: '! warn', fail: '✘ FAIL', unknown: '? unknown', 'not-applicable': '– n/a'} as const

export function renderFleet(summary: FleetSummary, options: {width?: number} = {}): string {
  const rows = summary.hosts.map((h) => [h.name, MARK[h.verdict], h.failing.join(', ') || '—', String(h.groups), String(h.sharedGroups), String(h.passthroughReady), h.groupsSignature, h.hardware, h.drift ? 'DRIFT' : ''])
  const table = fittedTable({head: ['Host', 'Verdict', 'Failing checks', 'Groups', 'Shared', 'Ready', 'Groups sig.', 'Hardware', 'Drift'], rows, width: options.width, compact: true, stackWhenCramped: true})
  const lines = [table]
  if (summary.drift.length === 0) lines.push('no drift: hosts of the same hardware agree on groups and verdict')
  for (const d of summary.drift) {
    lines.push(`DRIFT on hardware ${d.hardware}${d.model ? ` (${d.model})` : ''}: ${d.hosts.length} hosts, ${d.groupsSignatures.length} group layout(s) [${d.groupsSignatures.join(', ')}], verdicts ${d.verdicts.join(', ')}; reference ${d.reference}`)
    for (const h of summary.hosts.filter((x) => d.hosts.includes(x.name) && x.driftChanges?.length)) {
      lines.push(`  ${h.name}:`)
      for (const change of h.driftChanges ?? []) lines.push(`    ${change}`)
    }
  }
  const failing = summary.hosts.filter((h) => h.verdict === 'fail').length
  lines.push(`${summary.hosts.length} hosts · ${failing} not ready · ${summary.drift.length} drifting hardware group(s)`)
  return lines.join('\n') + '\n'
}
