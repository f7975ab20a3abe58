/**
 * `vtd-check device BDF`: everything about one device on one screen. `deviceReport` assembles the
 * JSON value from the topology (and, when given, the DMAR table's RMRRs and unit); the renderer
 * prints it. Both pure.
 */
import Table from 'cli-table3'
import type {DmarTable, Rmrr} from '../decode/dmar.js'
import type {PciNames} from '../decode/pci-ids.js'
import {PCIE_TYPE_NAMES} from '../decode/pci-config.js'
import type {ScopeResolution} from '../model/dmar-scope.js'
import {ACS, REQ_ACS_FLAGS, type PciFunction, type PciTopology} from '../model/pci.js'
import {groupMembers, resetPlan, slotFunctions, upstreamPath, type ResetPlan} from '../model/topology.js'
import type {IommuFamily} from '../model/host.js'
import type {DeviceStreamId} from '../replay/smmu-stream-ids.js'
import {iommuFamilyWords} from './iommu-family.js'

export const DEVICE_SCHEMA_VERSION = 1

const hex = (value: number, width = 4): string => `0x${value.toString(16).padStart(width, '0')}`

export interface AcsView {
  /** Capability bits the port implements, by name (SV TB RR CR UF EC DT). */
  cap: string[]
  /** Control bits enabled. */
  ctl: string[]
  /** pci_acs_flags_enabled(SV|RR|CR|UF): every implemented required bit is on. */
  requiredEnabled: boolean
  /** Required bits (SV RR CR UF) the port implements but has not enabled. */
  missing: string[]
  /** Why those bits are off, when the model can tell (model.acsNotRequested): the kernel never enabled ACS. */
  notEnabledBecause?: string
}

export type AcsField = AcsView | 'absent' | 'unknown'

export interface HopView {
  bdf: string
  kind: string
  name?: string
  acs: AcsField
  ariForwarding?: boolean
}

export interface CapabilityView {
  offset: string
  id: string
  name: string
}

export interface DeviceReport {
  schemaVersion: number
  tool: 'vtd-check'
  source: string
  /** The host's IOMMU family, as every command names it (absent for an lspci dump of another machine). */
  iommuFamily?: IommuFamily
  device: {
    bdf: string
    vendorId: string
    deviceId: string
    vendorName?: string
    deviceName?: string
    classCode: string
    className?: string
    revision?: string
    subsystem?: {vendorId: string; deviceId: string; vendorName?: string}
    kind: string
    pcieType: string | 'unknown' | null
    multifunction: boolean
    driver?: string
    numaNode?: number
    link?: PciFunction['link']
    slot?: PciFunction['slot']
    configBytes: number
    configProblems: string[]
    hostBridge?: string
    vmdController?: string
    /** The lspci heading text, when the source is a dump. */
    description?: string
  }
  /** Bridges from the parent up to the root bus, nearest first. */
  upstream: HopView[]
  acs: AcsField
  capabilities: {standard: CapabilityView[]; standardComplete: boolean; extended: CapabilityView[]; extendedComplete: boolean}
  features: {
    ari: string
    ats: string
    pri: string
    pasid: string
    flr: string
  }
  group: {id: number; members: Array<{bdf: string; name?: string; driver?: string}>} | 'unknown'
  /** Other functions of the same slot (the whole bus under ARI). */
  slotSiblings: string[]
  unit?: {name?: string; drhd?: {index: number; registerBase: string; via: string}}
  /** RMRRs whose scope names this device; 'unknown' when no DMAR table was read; 'not-applicable' on AMD-Vi and Arm SMMU hosts. */
  rmrrs: Array<{index: number; base: string; limit: string}> | 'unknown' | 'not-applicable'
  rmrrNote?: string
  /** Arm hosts with an IORT: the SMMU StreamID each DMA alias of the device carries (the last is what its DMA uses). */
  streamIds?: DeviceStreamId[]
  reset: ResetPlan
  sriov: {role: 'pf' | 'vf' | 'none' | 'unknown'; physfn?: string; virtfns: string[]; totalVfs?: number; numVfs?: number; enabled?: boolean; firstVfOffset?: number; vfStride?: number; vfDeviceId?: string}
  warnings: string[]
}

/** `notEnabledBecause`: why this port's ACS Control has bits off (a boot parameter, or the kernel never requested ACS). */
export function acsView(acs: PciFunction['acs'], notEnabledBecause?: string): AcsField {
  if (acs === 'unknown') return 'unknown'
  if (acs === undefined) return 'absent'
  const names = (mask: number): string[] => ACS_SHORT.filter(([, bit]) => (mask & bit) !== 0).map(([name]) => name)
  // pci_acs_flags_enabled: bits the port does not implement are not required (vtd-reference §6.1).
  const required = REQ_ACS_FLAGS & acs.cap
  const missing = ACS_SHORT.filter(([, bit]) => (required & bit) !== 0 && (acs.ctl & bit) === 0).map(([name]) => name)
  return {cap: names(acs.cap), ctl: names(acs.ctl), requiredEnabled: missing.length === 0, missing, ...(missing.length > 0 && notEnabledBecause ? {notEnabledBecause} : {})}
}

/** ACS bits by their short names (SV TB RR CR UF EC DT), in register order. */
const ACS_SHORT: ReadonlyArray<readonly [string, number]> = Object.entries(ACS)

function pcieTypeName(fn: PciFunction): string | 'unknown' | null {
  if (fn.pcieType === 'unknown') return 'unknown'
  if (fn.pcieType === undefined) return null
  return PCIE_TYPE_NAMES[fn.pcieType] ?? `type ${fn.pcieType}`
}

function feature<T>(value: T | undefined | 'unknown', describe: (v: T) => string): string {
  if (value === 'unknown') return 'unknown'
  if (value === undefined) return 'absent'
  return describe(value)
}

export interface DeviceReportContext {
  source: string
  names: PciNames
  /** The DMAR table and its scopes resolved on this topology, when readable. */
  dmar?: {table: DmarTable; resolution: ScopeResolution}
  /** Why there is no DMAR table (shown instead of RMRRs). */
  dmarNote?: string
  /** Another IOMMU family: RMRRs do not apply (dmarNote says what plays their role). */
  rmrrsDoNotApply?: boolean
  iommuFamily?: IommuFamily
  /** Arm hosts with an IORT: the StreamIDs of the device's DMA aliases (replay/smmu-stream-ids.ts). */
  streamIds?: DeviceStreamId[]
  /** sysfs's NUMA node and link words for this device (read for its view only), over the function's own. */
  sysfs?: Pick<PciFunction, 'numaNode' | 'link'>
  /** Why a port's ACS bits are off (replay/host-grouping.ts acsControlReason): its boot parameter, or why the kernel never requested ACS. */
  acsNotEnabledBecause?: (bdf: string) => string | undefined
}

export function deviceReport(topology: PciTopology, fn: PciFunction, context: DeviceReportContext): DeviceReport {
  const {names} = context
  const warnings: string[] = []
  const vendorName = names.vendor(fn.vendorId)
  const deviceName = names.device(fn.vendorId, fn.deviceId)
  const nameOf = (other: PciFunction): string | undefined => {
    const vendor = names.vendor(other.vendorId)
    return vendor ? `${vendor} ${names.device(other.vendorId, other.deviceId) ?? hex(other.deviceId)}` : undefined
  }
  const config = fn.config
  const capView = (list: NonNullable<typeof config>['capabilities']['list']): CapabilityView[] =>
    list.map((cap) => ({offset: hex(cap.offset, cap.space === 'standard' ? 2 : 3), id: hex(cap.id, 2), name: cap.name}))
  if (config && config.length <= 64 && !config.allOnes) warnings.push(`only ${config.length} bytes of config space were readable: capabilities beyond 0x40 (PCIe type, ACS, ATS, SR-IOV, FLR) are unknown; run as root`)
  if (config?.allOnes) warnings.push('config space reads all-ones: the device is powered off (D3cold) or gone; its capabilities are unknown')

  const members = groupMembers(topology, fn)
  const plan = resetPlan(topology, fn)
  const sriov = fn.sriov
  const role: DeviceReport['sriov']['role'] = fn.isVirtfn ? 'vf' : typeof sriov === 'object' ? 'pf' : sriov === 'unknown' ? 'unknown' : 'none'

  let rmrrs: DeviceReport['rmrrs'] = context.rmrrsDoNotApply ? 'not-applicable' : 'unknown'
  let unit: DeviceReport['unit'] = fn.iommuUnit ? {name: fn.iommuUnit} : undefined
  if (context.dmar) {
    const {table, resolution} = context.dmar
    rmrrs = resolution.scopes
      .filter((scope) => scope.structureType === 'RMRR' && scope.status === 'resolved' && scope.bdf === fn.bdf)
      .map((scope) => {
        const rmrr = table.structures[scope.structureIndex] as Rmrr
        return {index: scope.structureIndex, base: `0x${rmrr.base.toString(16)}`, limit: `0x${rmrr.limit.toString(16)}`}
      })
    const owner = resolution.owners.get(fn.bdf)
    if (owner) unit = {...unit, drhd: {index: owner.drhdIndex, registerBase: `0x${owner.registerBase.toString(16)}`, via: owner.via}}
  }

  return {
    schemaVersion: DEVICE_SCHEMA_VERSION,
    tool: 'vtd-check',
    ...(context.iommuFamily ? {iommuFamily: context.iommuFamily} : {}),
    source: context.source,
    device: {
      bdf: fn.bdf,
      vendorId: hex(fn.vendorId),
      deviceId: hex(fn.deviceId),
      vendorName,
      deviceName,
      classCode: hex(fn.classCode, 6),
      className: names.className(fn.classCode),
      revision: fn.revision === undefined ? undefined : hex(fn.revision, 2),
      subsystem:
        fn.subsystemVendorId === undefined || fn.subsystemDeviceId === undefined
          ? undefined
          : {vendorId: hex(fn.subsystemVendorId), deviceId: hex(fn.subsystemDeviceId), vendorName: names.vendor(fn.subsystemVendorId)},
      kind: fn.kind ?? 'unknown',
      pcieType: pcieTypeName(fn),
      multifunction: fn.multifunction,
      driver: fn.driver,
      numaNode: context.sysfs ? context.sysfs.numaNode : fn.numaNode,
      link: context.sysfs ? context.sysfs.link : fn.link,
      slot: fn.slot,
      configBytes: fn.configLength,
      configProblems: config?.problems ?? [],
      hostBridge: fn.hostBridge,
      vmdController: fn.vmdController,
      description: fn.description,
    },
    upstream: upstreamPath(topology, fn).map((hop) => ({bdf: hop.bdf, kind: hop.kind ?? 'bridge', name: nameOf(hop), acs: acsView(hop.acs, context.acsNotEnabledBecause?.(hop.bdf)), ariForwarding: hop.ariForwarding?.enabled})),
    acs: acsView(fn.acs, context.acsNotEnabledBecause?.(fn.bdf)),
    capabilities: {
      standard: config ? capView(config.capabilities.list) : [],
      standardComplete: config?.capabilities.complete ?? false,
      extended: config ? capView(config.extendedCapabilities.list) : [],
      extendedComplete: config?.extendedCapabilities.complete ?? false,
    },
    features: {
      ari: feature(fn.ari, (ari) => `next function ${ari.nextFunction}`),
      ats: feature(fn.ats, (ats) => `${ats.enabled ? 'enabled' : 'disabled'}, STU ${ats.stu}, invalidate queue depth ${ats.invalidateQueueDepth}`),
      pri: feature(fn.pri, (pri) => (pri.enabled ? 'enabled' : 'disabled')),
      pasid: feature(fn.pasid, (pasid) => `${pasid.enabled ? 'enabled' : 'disabled'}, ${pasid.maxWidth}-bit${pasid.exec ? ', exec' : ''}${pasid.priv ? ', priv' : ''}`),
      flr: fn.flr === 'unknown' ? 'unknown' : fn.flr.pcie || fn.flr.af ? [fn.flr.pcie ? 'PCIe FLR' : '', fn.flr.af ? 'AF FLR' : ''].filter(Boolean).join(' + ') : 'none',
    },
    group: members === undefined ? 'unknown' : {id: fn.iommuGroup ?? -1, members: members.map((member) => ({bdf: member.bdf, name: nameOf(member), driver: member.driver}))},
    slotSiblings: slotFunctions(topology, fn)
      .filter((other) => other !== fn)
      .map((other) => other.bdf),
    unit,
    rmrrs,
    rmrrNote: context.dmar ? undefined : context.dmarNote,
    ...(context.streamIds ? {streamIds: context.streamIds} : {}),
    reset: plan,
    sriov: {
      role,
      physfn: fn.physfn,
      virtfns: fn.virtfns,
      ...(typeof sriov === 'object'
        ? {totalVfs: sriov.totalVfs, numVfs: sriov.numVfs, enabled: sriov.vfEnable, firstVfOffset: sriov.firstVfOffset, vfStride: sriov.vfStride, vfDeviceId: hex(sriov.vfDeviceId)}
        : {}),
    },
    warnings,
  }
}

function acsText(acs: AcsField): string {
  if (acs === 'unknown') return 'ACS unknown (config space not readable)'
  if (acs === 'absent') return 'no ACS capability'
  const state = acs.requiredEnabled ? 'isolates (SV RR CR UF on)' : `does not isolate: ${acs.missing.join(', ')} implemented but not enabled${acs.notEnabledBecause ? ` (${acs.notEnabledBecause})` : ''}`
  return `ACS cap ${acs.cap.join(' ') || '-'} · ctl ${acs.ctl.join(' ') || '-'} → ${state}`
}

export function renderDeviceReport(report: DeviceReport): string {
  const d = report.device
  const lines: string[] = []
  const ids = `[${d.vendorId.slice(2)}:${d.deviceId.slice(2)}]`
  const title = d.vendorName
    ? `${d.bdf}  ${d.vendorName} ${d.deviceName ?? `Device ${d.deviceId.slice(2)}`} ${ids}`
    : `${d.bdf}  ${d.description ?? `Device ${ids}`}`
  lines.push(title)
  // The family words every command uses ("IOMMU amd-vi (AMD-Vi)").
  if (report.iommuFamily) lines.push(iommuFamilyWords(report.iommuFamily))
  const identity = new Table({style: {head: [], border: []}, chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}})
  const row = (key: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') identity.push([key, value])
  }
  row('class', `${d.className ?? 'unknown class'} (${d.classCode})${d.revision ? `, rev ${d.revision.slice(2)}` : ''}`)
  row('kind', `${d.kind}${d.pcieType && d.pcieType !== 'unknown' ? ` (PCIe ${d.pcieType})` : d.pcieType === null ? ' (conventional PCI)' : ' (PCIe type unknown)'}${d.multifunction ? ', multifunction' : ''}`)
  if (d.subsystem) row('subsystem', `${d.subsystem.vendorName ?? d.subsystem.vendorId} [${d.subsystem.vendorId.slice(2)}:${d.subsystem.deviceId.slice(2)}]`)
  row('driver', d.driver ?? '(none bound)')
  row('IOMMU group', report.group === 'unknown' ? 'unknown (no IOMMU group: IOMMU off, or not in the source)' : String(report.group.id))
  if (report.unit) row('remapping unit', [report.unit.name, report.unit.drhd ? `DRHD #${report.unit.drhd.index} at ${report.unit.drhd.registerBase} (${report.unit.drhd.via})` : undefined].filter(Boolean).join(' · '))
  row('NUMA node', d.numaNode === undefined ? undefined : String(d.numaNode))
  if (d.link && (d.link.speed || d.link.width)) row('link', `${d.link.speed ?? '?'} x${d.link.width ?? '?'}${d.link.maxSpeed ? ` (max ${d.link.maxSpeed} x${d.link.maxWidth ?? '?'})` : ''}`)
  if (d.slot) row('slot', `physical slot ${d.slot.physicalSlot ?? '?'}${d.slot.hotPlug ? ', hot-plug' : ''}`)
  if (d.vmdController) row('VMD', `behind VMD controller ${d.vmdController} (domain ${d.hostBridge ?? '?'})`)
  row('config space', d.configBytes === 0 && d.description !== undefined ? 'none: facts read from lspci text' : `${d.configBytes} bytes${d.configProblems.length ? ` — ${d.configProblems.join('; ')}` : ''}`)
  lines.push(identity.toString())

  lines.push('', 'Upstream path (to the root bus):')
  if (report.upstream.length === 0) lines.push(`  on a root bus${d.hostBridge ? ` (${d.hostBridge})` : ''}: no bridge above it`)
  for (const hop of report.upstream) lines.push(`  ${hop.bdf}  ${hop.kind}${hop.name ? `  ${hop.name}` : ''}`, `      ${acsText(hop.acs)}`)
  lines.push(`  this device: ${acsText(report.acs)}`)

  lines.push('', 'Capabilities:')
  const caps = [...report.capabilities.standard, ...report.capabilities.extended].map((cap) => `[${cap.offset.slice(2)}] ${cap.name}`)
  lines.push(`  ${caps.join(' · ') || '(none read)'}`)
  if (d.configBytes === 0) lines.push('  no config bytes: only what the source states (see the facts below)')
  else {
    if (!report.capabilities.standardComplete) lines.push('  standard list not fully readable: more capabilities may exist')
    if (!report.capabilities.extendedComplete) lines.push('  extended capabilities: unknown (need 4096 bytes of config space)')
  }
  lines.push(`  FLR: ${report.features.flr} · ARI: ${report.features.ari} · ATS: ${report.features.ats} · PRI: ${report.features.pri} · PASID: ${report.features.pasid}`)

  lines.push('', 'Isolation:')
  if (report.group === 'unknown') lines.push('  group: unknown')
  else lines.push(`  group ${report.group.id}: ${report.group.members.map((m) => `${m.bdf}${m.driver ? ` (${m.driver})` : ''}`).join(', ')}`)
  if (report.slotSiblings.length > 0) lines.push(`  same slot: ${report.slotSiblings.join(', ')}`)
  for (const s of report.streamIds ?? [])
    lines.push(
      `  StreamID (IORT): ${s.streamId !== undefined ? `${s.streamId} on ${s.smmu ?? '?'}` : 'none'} for ${s.relation === 'self' ? `its own requester ID ${s.requester}` : `the alias ${s.requester} (${s.via ?? 'a bridge'} re-tags its DMA)`}${s.note ? `: ${s.note}` : ''}`,
    )
  if (report.rmrrs === 'not-applicable') lines.push(`  RMRRs: do not apply${report.rmrrNote ? ` (${report.rmrrNote})` : ''}`)
  else if (report.rmrrs === 'unknown') lines.push(`  RMRRs: unknown${report.rmrrNote ? ` (${report.rmrrNote})` : ''}`)
  else if (report.rmrrs.length === 0) lines.push('  RMRRs: none name this device')
  else lines.push(`  RMRRs naming it: ${report.rmrrs.map((r) => `#${r.index} ${r.base}-${r.limit}`).join(', ')} (firmware keeps DMA to these ranges: blocks assignment on kernels ≥ 3.17 unless relaxable)`)

  lines.push('', 'Reset:')
  const methods = report.reset.methods === 'unknown' ? 'unknown' : report.reset.methods.join(' ') || '(none)'
  lines.push(`  methods: ${methods}${report.reset.source === 'inferred-from-config' ? ' (inferred from config space; device_specific/acpi cannot be seen)' : report.reset.source === 'sysfs' ? ' (reset_method)' : ''}`)
  lines.push(`  ${report.reset.summary}`)
  if (report.reset.note) lines.push(`  ${report.reset.note}`)
  if (report.reset.busReset && report.reset.busReset.alsoResets.length > 0 && report.reset.functionLevel !== undefined) {
    lines.push(`  (a hot reset of the bus at ${report.reset.busReset.bridge} would also reset ${report.reset.busReset.alsoResets.join(', ')})`)
  }

  const s = report.sriov
  if (s.role !== 'none') {
    lines.push('', 'SR-IOV:')
    if (s.role === 'vf') lines.push(`  virtual function of ${s.physfn}`)
    else if (s.role === 'unknown') lines.push('  unknown (extended config space not readable)')
    else lines.push(`  physical function: ${s.numVfs}/${s.totalVfs} VFs ${s.enabled ? 'enabled' : 'disabled'} (offset ${s.firstVfOffset}, stride ${s.vfStride}, VF device ${s.vfDeviceId})${s.virtfns.length ? `: ${s.virtfns.join(', ')}` : ''}`)
  }
  if (report.warnings.length > 0) lines.push('', ...report.warnings.map((w) => `warning: ${w}`))
  return lines.join('\n') + '\n'
}
