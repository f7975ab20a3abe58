/**
 * `vtd-check report --html FILE`: one self-contained HTML page (inline CSS, no script, no network)
 * with the verdict, the PCI tree coloured by IOMMU group with the ACS state of every hop, the
 * check table and the fault groups. Pure: the reports in, the page out.
 */
import type {CheckReport} from './check.js'
import type {FaultsJson} from './faults.js'
import {UNGROUPED_COLOUR, type TopologyPicture} from './topology-picture.js'
import {iommuFamilyWords} from './iommu-family.js'

export interface HtmlReportInput {
  check: CheckReport
  picture: TopologyPicture
  faults: FaultsJson
  /** When it was made (ISO text), shown in the header. */
  generated: string
  version: string
}

const ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)

const OUTCOME_COLOURS: Record<string, string> = {pass: '#2ca02c', warn: '#e6a700', fail: '#d62728', unknown: '#7f7f7f', 'not-applicable': '#bbbbbb'}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:78em;color:#222;padding:0 1em}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ccc}
.meta{color:#555}.verdict{font-size:1.15em;font-weight:600;padding:.4em .7em;border-left:6px solid;margin:.8em 0}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:1.6em}ul.tree{padding-left:0}
ul.tree li{position:relative;margin:.25em 0}
ul.tree ul>li::before{content:"";position:absolute;left:-1em;top:-.3em;width:.8em;height:1.2em;border-left:1px solid #888;border-bottom:1px solid #888}
.dev{display:inline-block;padding:.15em .5em;border:1px solid #666;border-radius:5px}
.dev.fault{border:3px solid #d62728}.bdf{font-family:ui-monospace,monospace;font-weight:600}
.kind{color:#444;font-size:.9em}.hop{font-size:.8em;padding:0 .35em;border-radius:3px;margin-right:.4em;background:#e8f5e9;color:#1b5e20}
.hop.bad{background:#fdecea;color:#b71c1c}.grp{font-size:.8em;margin-left:.4em;color:#333}
.root{font-family:ui-monospace,monospace;font-weight:600}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.outcome{font-weight:600;white-space:nowrap}
.legend span{display:inline-block;margin:.15em .4em .15em 0;padding:.1em .5em;border:1px solid #666;border-radius:4px}
.why{color:#555;font-size:.9em}
`

function deviceItem(picture: TopologyPicture, id: string, children: Map<string, string[]>, hops: Map<string, TopologyPicture['edges'][number]>): string {
  const node = picture.nodes.find((n) => n.id === id)
  if (!node) return ''
  const group = picture.groups.find((g) => g.id === node.group)
  const hop = hops.get(id)?.acs
  const hopHtml = hop ? `<span class="hop${hop.ok ? '' : ' bad'}" title="ACS of the port above">${escapeHtml(hop.text)}</span>` : ''
  const details = [node.kind, node.driver].filter(Boolean).join(' · ')
  const below = children.get(id) ?? []
  return [
    `<li data-bdf="${escapeHtml(node.bdf)}">${hopHtml}`,
    `<span class="dev${node.atFault ? ' fault' : ''}" style="background:${group?.colour ?? UNGROUPED_COLOUR}">`,
    `<span class="bdf">${escapeHtml(node.bdf)}</span> ${escapeHtml(node.name)}`,
    details ? ` <span class="kind">${escapeHtml(details)}</span>` : '',
    `<span class="grp">${node.group === undefined ? 'no IOMMU group' : `group ${node.group}`}</span>`,
    node.atFault ? ` <span class="kind">at fault: ${escapeHtml(node.atFault)}</span>` : '',
    '</span>',
    below.length ? `<ul>${below.map((child) => deviceItem(picture, child, children, hops)).join('')}</ul>` : '',
    '</li>',
  ].join('')
}

function treeHtml(picture: TopologyPicture): string {
  const children = new Map<string, string[]>()
  const hops = new Map(picture.edges.map((e) => [e.to, e] as const))
  for (const edge of picture.edges) children.set(edge.from, [...(children.get(edge.from) ?? []), edge.to])
  const roots = picture.roots.map((r) => `<li><span class="root">${escapeHtml(r.label)}</span><ul>${(children.get(r.id) ?? []).map((id) => deviceItem(picture, id, children, hops)).join('')}</ul></li>`)
  return `<ul class="tree">${roots.join('')}</ul>`
}

function checkTable(check: CheckReport): string {
  const rows = check.results.map((r) => {
    const colour = OUTCOME_COLOURS[r.outcome] ?? '#222'
    const subject = 'subject' in r && r.subject ? ` <span class="bdf">${escapeHtml(String(r.subject))}</span>` : ''
    const fix = r.remediation.length ? `<div class="why">→ ${r.remediation.map(escapeHtml).join('<br>→ ')}</div>` : ''
    return `<tr><td class="outcome" style="color:${colour}">${escapeHtml(r.outcome)}</td><td>${escapeHtml(r.id)}${subject}</td><td>${escapeHtml(r.summary)}${fix}</td></tr>`
  })
  return `<table><thead><tr><th>outcome</th><th>check</th><th>finding and fix</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

function faultTable(faults: FaultsJson): string {
  if (faults.faults.length === 0) return `<p>No DMAR or interrupt-remapping faults in ${escapeHtml(faults.source.path)} (${faults.source.lines} lines).</p>`
  const rows = faults.faults.map((f) => {
    const what = `${f.kind === 'dma' ? `DMA ${f.access ?? ''}` : 'interrupt'}${f.address ? ` at ${f.address}` : ''}`
    return `<tr><td class="bdf">${escapeHtml(f.requester)}</td><td>${escapeHtml(f.reasonHex ?? '?')} ${escapeHtml(f.reasonText)}<div class="why">${escapeHtml(what)}</div></td><td>${f.count}</td><td>${escapeHtml(f.explanation.summary)}${f.explanation.remediation.length ? `<div class="why">→ ${f.explanation.remediation.map(escapeHtml).join('<br>→ ')}</div>` : ''}</td></tr>`
  })
  return `<p>${faults.faults.length} fault group(s) in ${escapeHtml(faults.source.path)} (${faults.source.lines} lines).</p><table><thead><tr><th>requester</th><th>reason</th><th>count</th><th>explanation</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

export function renderHtmlReport(input: HtmlReportInput): string {
  const {check, picture, faults} = input
  const verdictColour = OUTCOME_COLOURS[check.verdict.outcome] ?? '#222'
  const legend = picture.groups
    .map((g) => `<span style="background:${g.colour}">group ${g.id}${g.type ? ` · ${escapeHtml(g.type)}` : ''} · ${escapeHtml(g.caption)}</span>`)
    .join('')
  const host = check.host
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>vtd-check report: ${escapeHtml(host.root)}</title><style>${STYLE}</style></head>
<body>
<h1>vtd-check report</h1>
<div class="meta">${escapeHtml(host.root === '/' ? 'this host' : host.root)} · kernel ${escapeHtml(host.kernel ?? 'unknown')} · CPU ${escapeHtml(host.cpuVendor)} · ${escapeHtml(iommuFamilyWords(host.iommuFamily, host.iommuActive))}${host.virtualized ? ' · virtual machine' : ''} · vtd-check ${escapeHtml(input.version)} · ${escapeHtml(input.generated)}</div>
<div class="verdict" style="border-color:${verdictColour}">${escapeHtml(check.verdict.headline)}</div>
<h2 id="tree">PCI tree by IOMMU group</h2>
<p class="legend">${legend || 'No IOMMU groups: every device is shown without a colour.'}</p>
${picture.mode === 'predicted' ? '<p class="why">The kernel shows no IOMMU groups here: these are the groups its rules would form, replayed from the topology (vtd-check groups --predict).</p>' : ''}
<p class="why">Each hop below a root or switch downstream port shows that port's ACS: the kernel isolates what is below it only with SV, RR, CR and UF enabled. A red border marks the function that makes its group shared. Source: ${escapeHtml(picture.source)}.</p>
${treeHtml(picture)}
<h2 id="checks">Checks</h2>
${checkTable(check)}
<h2 id="faults">Fault groups</h2>
${faultTable(faults)}
</body></html>
`
}
