/**
 * The kernel's IOMMU groups as they are (no explanation or prediction: that is the grouping
 * report's job). From /sys/kernel/iommu_groups when the source is sysfs, else from each device's
 * group (`IOMMU group:` lines in an lspci -vvv dump). Pure.
 */
import {fittedTable} from './fit-table.js'
import type {CollectedGroup} from '../collect/types.js'
import type {PciNames} from '../decode/pci-ids.js'
import type {PciFunction, PciTopology} from '../model/pci.js'

export const GROUP_LIST_SCHEMA_VERSION = 1

export interface GroupMemberView {
  bdf: string
  /** False for platform/ACPI members (not PCI functions). */
  pci: boolean
  kind?: string
  /** "vendor:device" in hex, e.g. "8086:1533": what vfio-pci.ids= takes. */
  ids?: string
  name?: string
  driver?: string
}

export interface GroupListEntry {
  id: number
  /** Default domain type (identity, DMA, DMA-FQ …), sysfs only. */
  type?: string
  devices: string[]
  members: GroupMemberView[]
}

export interface GroupList {
  schemaVersion: number
  source: string
  groups: GroupListEntry[]
  /** PCI functions with no group: not translated (IOMMU off, or a unit ignores them). */
  ungrouped: string[]
  /** Set when no group information exists at all, with the likely reason. */
  note?: string
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0')

/** "vendor:device" as vfio-pci.ids= and lspci -n write it. */
export const idsOf = (fn: Pick<PciFunction, 'vendorId' | 'deviceId'>): string => `${hex4(fn.vendorId)}:${hex4(fn.deviceId)}`

export function memberView(topology: PciTopology, names: PciNames, name: string): GroupMemberView {
  const fn = topology.devices.get(name)
  if (!fn) return {bdf: name, pci: false}
  const vendor = names.vendor(fn.vendorId)
  return {
    bdf: fn.bdf,
    pci: true,
    kind: fn.kind,
    ids: idsOf(fn),
    name: vendor ? `${vendor} ${names.device(fn.vendorId, fn.deviceId) ?? `Device ${fn.deviceId.toString(16).padStart(4, '0')}`}` : fn.description,
    driver: fn.driver,
  }
}

export function groupList(topology: PciTopology, names: PciNames, source: string, kernelGroups?: readonly CollectedGroup[]): GroupList {
  const fromKernel = kernelGroups && kernelGroups.length > 0
  const byId = new Map<number, {type?: string; devices: string[]}>()
  if (fromKernel) {
    for (const group of kernelGroups) byId.set(group.id, {type: group.type, devices: [...group.devices].sort()})
  } else {
    for (const fn of topology.devices.values()) {
      if (fn.iommuGroup === undefined) continue
      const entry = byId.get(fn.iommuGroup) ?? {devices: []}
      entry.devices.push(fn.bdf)
      byId.set(fn.iommuGroup, entry)
    }
  }
  const groups = [...byId.entries()]
    .sort(([a], [b]) => a - b)
    .map(([id, entry]) => ({id, type: entry.type, devices: entry.devices, members: entry.devices.map((name) => memberView(topology, names, name))}))
  const grouped = new Set(groups.flatMap((group) => group.devices))
  const ungrouped = [...topology.devices.keys()].filter((bdf) => !grouped.has(bdf))
  const note =
    groups.length > 0
      ? undefined
      : topology.source === 'lspci-dump'
        ? 'the dump has no "IOMMU group:" lines (lspci prints them with -v on a host with an active IOMMU)'
        : 'no IOMMU groups: the IOMMU is off (disabled in the firmware, intel_iommu=off / amd_iommu=off, or no DMAR / IVRS table)'
  return {schemaVersion: GROUP_LIST_SCHEMA_VERSION, source, groups, ungrouped, note}
}

/** cli-table3 without the rule between every row. */
const COMPACT = {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}

export function renderGroupTable(list: GroupList, options: {width?: number | undefined} = {}): string {
  if (list.groups.length === 0) return `${list.note ?? 'no IOMMU groups'}\n`
  const rows = list.groups.flatMap((group) =>
    group.members.map((member, i) => [i === 0 ? String(group.id) : '', i === 0 ? (group.type ?? '') : '', member.bdf, member.ids ?? '', member.kind ?? (member.pci ? '' : 'non-PCI'), member.name ?? '', member.driver ?? '']),
  )
  const table = fittedTable({head: ['group', 'type', 'device', 'ids', 'kind', 'name', 'driver'], rows, width: options.width, chars: COMPACT})
  const tail = list.ungrouped.length > 0 ? `\nnot in any group: ${list.ungrouped.join(', ')}\n` : ''
  return `${table}\n${tail}`
}

/**
 * One line per device, tab-free and column-stable for grep/awk:
 * `group 12 0000:01:00.0 [10de:2204] endpoint vfio-pci NVIDIA Corporation GA102 …`
 * ("-" where a field is unknown; the name, last, may contain spaces).
 */
export function renderGroupLines(list: GroupList): string {
  if (list.groups.length === 0) return `${list.note ?? 'no IOMMU groups'}\n`
  const lines: string[] = []
  for (const group of list.groups)
    for (const m of group.members) lines.push(`group ${group.id} ${m.bdf} [${m.ids ?? '-'}] ${m.kind ?? (m.pci ? '-' : 'non-PCI')} ${m.driver ?? '-'} ${m.name ?? '-'}`)
  for (const bdf of list.ungrouped) lines.push(`group - ${bdf} [-] - - not in any group`)
  return lines.join('\n') + '\n'
}

/** Each group with its members nested under the member bridges they sit behind. */
export function renderGroupTree(list: GroupList, topology: PciTopology): string {
  if (list.groups.length === 0) return `${list.note ?? 'no IOMMU groups'}\n`
  const lines: string[] = []
  for (const group of list.groups) {
    lines.push(`group ${group.id}${group.type ? ` (${group.type})` : ''}`)
    const inGroup = new Set(group.devices)
    const parentInGroup = (fn: PciFunction | undefined): string | undefined => {
      let up = fn?.parent
      while (up !== undefined) {
        if (inGroup.has(up)) return up
        up = topology.devices.get(up)?.parent
      }
      return undefined
    }
    const children = new Map<string | undefined, GroupMemberView[]>()
    for (const member of group.members) {
      const key = parentInGroup(topology.devices.get(member.bdf))
      children.set(key, [...(children.get(key) ?? []), member])
    }
    const walk = (key: string | undefined, prefix: string): void => {
      const nodes = children.get(key) ?? []
      nodes.forEach((member, i) => {
        const last = i === nodes.length - 1
        const facts = [member.kind ?? (member.pci ? undefined : 'non-PCI'), member.driver].filter(Boolean).join(', ')
        lines.push(`${prefix}${last ? '└─' : '├─'} ${member.bdf}${member.ids ? ` [${member.ids}]` : ''}  ${member.name ?? ''}${facts ? `  [${facts}]` : ''}`)
        walk(member.bdf, `${prefix}${last ? '   ' : '│  '}`)
      })
    }
    walk(undefined, '')
  }
  if (list.ungrouped.length > 0) lines.push(`not in any group: ${list.ungrouped.join(', ')}`)
  return lines.join('\n') + '\n'
}
