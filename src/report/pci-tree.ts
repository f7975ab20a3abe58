/**
 * The whole PCI hierarchy as a tree (like `lspci -tv`, plus what isolation needs on each line:
 * kind, ACS state of ports, IOMMU group, driver). Pure.
 */
import type {PciNames} from '../decode/pci-ids.js'
import type {PciFunction, PciTopology} from '../model/pci.js'
import {hostBridges} from '../model/topology.js'
import {acsView} from './device.js'

export interface TreeNode {
  bdf: string
  kind: string
  name?: string
  group?: number
  driver?: string
  /** Ports only: 'isolates', 'no-acs', 'acs-off: RR CR', or 'unknown'. */
  acs?: string
  children: TreeNode[]
}

export const PCI_TREE_SCHEMA_VERSION = 1

export interface PciTreeView {
  schemaVersion: typeof PCI_TREE_SCHEMA_VERSION
  tool: 'vtd-check'
  source: string
  roots: Array<{hostBridge: string; devices: TreeNode[]}>
}

const PORT_KINDS = new Set(['root-port', 'switch-downstream', 'switch-upstream', 'pcie-to-pci-bridge', 'pci-bridge', 'bridge'])

function acsSummary(fn: PciFunction): string | undefined {
  if (!PORT_KINDS.has(fn.kind ?? '') && !fn.multifunction) return undefined
  const view = acsView(fn.acs)
  if (view === 'unknown') return 'ACS unknown'
  if (view === 'absent') return 'no ACS'
  return view.requiredEnabled ? 'ACS on' : `ACS ${view.missing.join(' ')} not enabled`
}

export function pciTree(topology: PciTopology, names: PciNames, source: string): PciTreeView {
  const node = (fn: PciFunction, seen: Set<string>): TreeNode => {
    seen.add(fn.bdf)
    const vendor = names.vendor(fn.vendorId)
    return {
      bdf: fn.bdf,
      kind: fn.kind ?? 'unknown',
      name: vendor ? `${vendor} ${names.device(fn.vendorId, fn.deviceId) ?? `Device ${fn.deviceId.toString(16).padStart(4, '0')}`}` : fn.description,
      group: fn.iommuGroup,
      driver: fn.driver,
      acs: acsSummary(fn),
      children: fn.children
        .map((bdf) => topology.devices.get(bdf))
        .filter((child): child is PciFunction => child !== undefined && !seen.has(child.bdf))
        .map((child) => node(child, seen)),
    }
  }
  const seen = new Set<string>()
  const roots = [...hostBridges(topology).entries()].map(([hostBridge, devices]) => ({hostBridge, devices: devices.map((fn) => node(fn, seen))}))
  return {schemaVersion: PCI_TREE_SCHEMA_VERSION, tool: 'vtd-check', source, roots}
}

export function renderPciTree(view: PciTreeView): string {
  const lines: string[] = []
  const walk = (nodes: TreeNode[], prefix: string): void => {
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1
      const facts = [n.kind, n.acs, n.group === undefined ? undefined : `group ${n.group}`, n.driver].filter(Boolean).join(', ')
      lines.push(`${prefix}${last ? '└─' : '├─'} ${n.bdf}  ${n.name ?? ''}  [${facts}]`)
      walk(n.children, `${prefix}${last ? '   ' : '│  '}`)
    })
  }
  for (const root of view.roots) {
    lines.push(root.hostBridge)
    walk(root.devices, '')
  }
  return lines.join('\n') + '\n'
}
