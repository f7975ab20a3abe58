/**
 * The PCI tree as a picture: every function under its root bus, coloured by IOMMU group, each
 * hop below a downstream-facing port labelled with that port's ACS state (the bits the kernel's
 * grouping needs: SV RR CR UF). `topologyPicture` builds the drawing model from the topology and
 * the explained grouping report; `renderMermaid` and `renderDot` are pure text renderers of it
 * (Mermaid renders where GitHub issues and many forums show it; DOT is Graphviz's language).
 */
import {shortBdf} from '../decode/pci-address.js'
import type {PciFunction, PciTopology} from '../model/pci.js'
import {acsView} from './device.js'
import type {GroupingReport} from './groups.js'

export interface PictureNode {
  id: string
  bdf: string
  /** Vendor and device name, or the kind when no name is known. */
  name: string
  kind?: string
  driver?: string
  group?: number
  /** Why this function is the one that merges its group (no ACS, multifunction without isolation …). */
  atFault?: string
}

export interface PictureEdge {
  from: string
  to: string
  /** The parent port's ACS state on this hop; undefined where ACS does not apply (upstream ports, PCI bridges). */
  acs?: {text: string; ok: boolean}
}

export interface PictureGroup {
  id: number
  colour: string
  members: string[]
  /** One line: how many endpoints share it, or that it is isolated. */
  caption: string
  type?: string
}

export interface TopologyPicture {
  source: string
  mode: GroupingReport['mode']
  /** Root buses ("pci0000:00"), drawn as the tree's roots. */
  roots: Array<{id: string; label: string}>
  nodes: PictureNode[]
  edges: PictureEdge[]
  groups: PictureGroup[]
}

/** Fill colours for groups, light enough for black text; reused cyclically past twelve groups. */
export const GROUP_COLOURS = ['#a6cee3', '#b2df8a', '#fdbf6f', '#cab2d6', '#fb9a99', '#ffff99', '#8dd3c7', '#bebada', '#80b1d3', '#fccde5', '#d9d9d9', '#ccebc5']
export const UNGROUPED_COLOUR = '#ffffff'

const DOWNSTREAM_PORTS = new Set(['root-port', 'switch-downstream'])

/** Identifier safe in Mermaid and DOT: "0000:00:1c.0" -> "d0000_00_1c_0". */
export const nodeId = (bdf: string) => `d${bdf.replace(/[^0-9a-zA-Z]/g, '_')}`

function hopAcs(parent: PciFunction): PictureEdge['acs'] {
  if (!DOWNSTREAM_PORTS.has(parent.kind ?? '')) return undefined
  const view = acsView(parent.acs)
  if (view === 'unknown') return {text: 'ACS unreadable', ok: false}
  if (view === 'absent') return {text: 'no ACS', ok: false}
  return view.requiredEnabled ? {text: `ACS ${view.ctl.join(' ') || 'ok'}`, ok: true} : {text: `ACS ${view.missing.join(' ')} not enabled`, ok: false}
}

const hex4 = (id: number) => id.toString(16).padStart(4, '0')

/** `nameOf` names functions the report does not (ungrouped ones: IOMMU off); else vendor:device IDs. */
export function topologyPicture(topology: PciTopology, report: GroupingReport, nameOf?: (bdf: string) => string | undefined): TopologyPicture {
  const members = new Map(report.groups.flatMap((g) => g.members.map((m) => [m.bdf, {group: g.id, member: m}] as const)))
  const atFault = new Map(report.groups.flatMap((g) => g.atFault.map((f) => [f.bdf, f.because] as const)))
  const groups: PictureGroup[] = report.groups.map((g, index) => {
    const endpoints = g.members.filter((m) => m.role === 'endpoint').length
    return {
      id: g.id,
      colour: GROUP_COLOURS[index % GROUP_COLOURS.length]!,
      members: g.devices,
      caption: endpoints > 1 ? `${endpoints} endpoints share it` : 'isolated',
      ...(g.type ? {type: g.type} : {}),
    }
  })
  const roots = new Map<string, string>()
  const nodes: PictureNode[] = []
  const edges: PictureEdge[] = []
  for (const fn of topology.devices.values()) {
    const entry = members.get(fn.bdf)
    const because = atFault.get(fn.bdf)
    nodes.push({
      id: nodeId(fn.bdf),
      bdf: fn.bdf,
      name: entry?.member.name ?? nameOf?.(fn.bdf) ?? fn.description ?? `PCI device ${hex4(fn.vendorId)}:${hex4(fn.deviceId)}`,
      ...(fn.kind ? {kind: fn.kind} : {}),
      ...(fn.driver ? {driver: fn.driver} : {}),
      ...(entry ? {group: entry.group} : fn.iommuGroup !== undefined ? {group: fn.iommuGroup} : {}),
      ...(because ? {atFault: because} : {}),
    })
    const parent = fn.parent === undefined ? undefined : topology.devices.get(fn.parent)
    if (parent) {
      const acs = hopAcs(parent)
      edges.push({from: nodeId(parent.bdf), to: nodeId(fn.bdf), ...(acs ? {acs} : {})})
    } else {
      const bus = fn.hostBridge ?? `pci${fn.bdf.slice(0, 4)}:${fn.bdf.slice(5, 7)}`
      const id = `r${bus.replace(/[^0-9a-zA-Z]/g, '_')}`
      roots.set(id, bus)
      edges.push({from: id, to: nodeId(fn.bdf)})
    }
  }
  return {source: report.source, mode: report.mode, roots: [...roots].map(([id, label]) => ({id, label})), nodes, edges, groups}
}

const groupColour = (picture: TopologyPicture, id: number | undefined) => picture.groups.find((g) => g.id === id)?.colour ?? UNGROUPED_COLOUR

function nodeLines(node: PictureNode): string[] {
  return [
    shortBdf(node.bdf),
    node.name,
    [node.kind, node.driver].filter(Boolean).join(' · '),
    ...(node.atFault ? [`at fault: ${node.atFault}`] : []),
  ].filter((line) => line !== '')
}

/** Mermaid text inside a quoted label: quotes and markup-significant characters as entities. */
const mermaidText = (text: string) => text.replace(/[#"<>]/g, (c) => ({'#': '#35;', '"': '#quot;', '<': '#lt;', '>': '#gt;'})[c]!)

export function renderMermaid(picture: TopologyPicture): string {
  const out = ['flowchart LR']
  for (const root of picture.roots) out.push(`  ${root.id}(["${mermaidText(root.label)}"])`)
  const grouped = new Set<string>()
  for (const group of picture.groups) {
    const title = `IOMMU group ${group.id}${group.type ? ` · ${group.type}` : ''} · ${group.caption}`
    out.push(`  subgraph g${group.id}["${mermaidText(title)}"]`)
    for (const node of picture.nodes.filter((n) => n.group === group.id)) {
      out.push(`    ${node.id}["${nodeLines(node).map(mermaidText).join('<br/>')}"]`)
      grouped.add(node.id)
    }
    out.push('  end')
  }
  for (const node of picture.nodes) if (!grouped.has(node.id)) out.push(`  ${node.id}["${nodeLines(node).map(mermaidText).join('<br/>')}"]`)
  picture.edges.forEach((edge) => out.push(edge.acs ? `  ${edge.from} -->|"${mermaidText(edge.acs.text)}"| ${edge.to}` : `  ${edge.from} --> ${edge.to}`))
  picture.edges.forEach((edge, index) => {
    if (edge.acs && !edge.acs.ok) out.push(`  linkStyle ${index} stroke:#d62728,stroke-width:2px,color:#d62728`)
  })
  for (const group of picture.groups) out.push(`  style g${group.id} fill:${group.colour},stroke:#555`)
  for (const node of picture.nodes) {
    if (node.atFault) out.push(`  style ${node.id} fill:${groupColour(picture, node.group)},stroke:#d62728,stroke-width:3px`)
  }
  return `${out.join('\n')}\n`
}

/** A DOT double-quoted string. */
const dotString = (text: string) => `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`
const dotLabel = (lines: string[]) => `"${lines.map((l) => l.replace(/["\\]/g, (c) => `\\${c}`)).join('\\n')}"`

export function renderDot(picture: TopologyPicture): string {
  const out = [
    'digraph iommu_groups {',
    '  rankdir=LR;',
    `  label=${dotString(`IOMMU groups (${picture.mode === 'predicted' ? 'predicted' : 'kernel'}) — ${picture.source}`)}; labelloc=t;`,
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="sans-serif", fontsize=10];',
    '  edge [fontname="sans-serif", fontsize=9];',
  ]
  for (const root of picture.roots) out.push(`  ${root.id} [label=${dotString(root.label)}, shape=ellipse, style=solid];`)
  for (const group of picture.groups) {
    const title = `IOMMU group ${group.id}${group.type ? ` · ${group.type}` : ''} · ${group.caption}`
    out.push(`  subgraph cluster_g${group.id} {`, `    label=${dotString(title)}; style="rounded,filled"; fillcolor=${dotString(group.colour)}; color="#555555";`)
    for (const node of picture.nodes.filter((n) => n.group === group.id)) {
      const fault = node.atFault ? ', color="#d62728", penwidth=3' : ''
      out.push(`    ${node.id} [label=${dotLabel(nodeLines(node))}${fault}];`)
    }
    out.push('  }')
  }
  for (const node of picture.nodes.filter((n) => !picture.groups.some((g) => g.id === n.group))) out.push(`  ${node.id} [label=${dotLabel(nodeLines(node))}];`)
  for (const edge of picture.edges) {
    const attrs = edge.acs ? ` [label=${dotString(edge.acs.text)}${edge.acs.ok ? '' : ', color="#d62728", fontcolor="#d62728", penwidth=2'}]` : ''
    out.push(`  ${edge.from} -> ${edge.to}${attrs};`)
  }
  out.push('}')
  return `${out.join('\n')}\n`
}
