/**
 * The assessment context: everything the checks read, derived ONCE from the collected host,
 * the kernel log and a few extra host files (roles of devices, Thunderbolt). Checks are pure
 * functions of this value, so a live host and its snapshot give the same results.
 */
import type {CollectedGroup, CollectedHost, CollectedPciDevice, CollectedUnit} from '../collect/types.js'
import {decodeDmar, type DmarTable} from '../decode/dmar.js'
import type {HostFs, Read} from '../host/fs.js'
import {parseKernelLog} from '../decode/kernel-log/index.js'
import {decodeCap, decodeEcap} from '../decode/vtd-registers.js'
import {ineffectiveParameters, parseKernelParameters, type IneffectiveParameter, type KernelParameters} from './cmdline.js'
import {findHostRoles, type HostRoles} from './host-roles.js'
import {resolveDmarScopes, type ScopeResolution} from '../model/dmar-scope.js'
import type {PciFunction, PciTopology} from '../model/pci.js'
import {topologyFromSysfs} from '../model/topology.js'

export type CpuVendor = 'intel' | 'amd' | 'other' | 'unknown'

export interface CpuFacts {
  vendor: CpuVendor
  /** Flags of the first processor; empty when cpuinfo was unreadable. */
  flags: Set<string>
  hypervisor: boolean
  modelName?: string
}

export interface LogView {
  readable: boolean
  /** Why not, when not readable (dmesg_restrict, no dmesg.txt in the snapshot …). */
  message?: string
  /** Evidence label: always "dmesg" (a snapshot's dmesg.txt is the same text), so live and --root agree. */
  source: string
  /** Where it really came from: "dmesg", "journalctl -k", "/dmesg.txt", a file. */
  origin: string
  lines: string[]
}

export interface KernelVersion {
  release: string
  major: number
  minor: number
}

export interface UnitFeatures {
  unit: CollectedUnit
  /** CAP.CM: caching mode, set by emulated VT-d (we are a guest). */
  cachingMode?: boolean
  postedInterrupts?: boolean
  ir?: boolean
  eim?: boolean
  passThrough?: boolean
  deviceTlb?: boolean
  pasid?: boolean
  prs?: boolean
  smts?: boolean
  nest?: boolean
}

export type Tristate<T> = T | undefined | 'unknown'

/** What config space says about one function; 'unknown' when the bytes needed were not readable. */
export interface DeviceCaps {
  configLength: number
  headerLayout?: number
  multifunction?: boolean
  pcieType: Tristate<number>
  flr: boolean | 'unknown'
  ats: Tristate<{enabled: boolean}>
  pri: Tristate<{enabled: boolean}>
  pasid: Tristate<{enabled: boolean}>
  acs: Tristate<{capability: number; control: number}>
}

export interface DmarView {
  /** The table read: absent (no VT-d in firmware or not Intel), unreadable (needs root), or bytes. */
  read: Read<Uint8Array>
  table?: DmarTable
  /** From the log when the table is unreadable: `DMAR: Host address width` proves the table exists. */
  seenInLog: boolean
  /** The table's device scopes resolved against this host's PCI tree (when the table was read). */
  scopes?: ScopeResolution
}

export interface LogFacts {
  vtdInitialised: boolean
  amdViActive: boolean
  irEnabledMode?: 'x2apic' | 'xapic'
  irFailed: string[]
  x2apicOptOut: boolean
  acsOverrideWarning: boolean
  defaultDomainLine?: string
  invalidationPolicyLine?: string
  rmrrIneligible: string[]
  rmrrRequire1to1: string[]
  featureInconsistent: string[]
  platformOptIn: boolean
  scalableDisallowed: boolean
  vfioNoIr: boolean
  dmarFirmwareBugs: string[]
}

export interface DmaFault {
  kind: 'dma' | 'interrupt'
  /** Full form; segment 0000 unless the line printed one (Linux never does). */
  requester: string
  reason?: number
  reasonText: string
  /** Set when the record carried a PASID (scalable mode tags requests-without-PASID with RID_PASID). */
  pasid?: number
  line: string
}

export interface AssessmentContext {
  host: CollectedHost
  cpu: CpuFacts
  /** undefined when /proc/cmdline could not be read. */
  cmdline?: KernelParameters
  ineffective: IneffectiveParameter[]
  kernel?: KernelVersion
  log: LogView
  logFacts: LogFacts
  faults: DmaFault[]
  dmar: DmarView
  /** Which IOMMU this platform has, by firmware table, units and log ("other": e.g. virtio-iommu). 'unknown' is kept for callers that cannot tell. */
  iommuVendor: 'intel' | 'amd' | 'other' | 'none' | 'unknown'
  units: UnitFeatures[]
  devices: Map<string, CollectedPciDevice>
  /** The PCI tree, built once from the collected devices (checks must not rebuild it). */
  topology: PciTopology
  caps: Map<string, DeviceCaps>
  groupOf: Map<string, CollectedGroup>
  roles: HostRoles
  thunderbolt: Array<{domain: string; iommuDmaProtection?: boolean}>
  /** PCI functions the kernel marks `removable` (behind an external-facing port). */
  removable: string[]
  irInInterrupts: boolean
  /** dmarN-prq / dmarN-iopfq IRQs exist only in scalable mode with page requests. */
  scalableIrqs: string[]
  /** Devices the device-level checks examine, and why these. */
  targets: string[]
  targetsFrom: 'argument' | 'vfio-pci' | 'none'
}

// ---------------------------------------------------------------------------------------------

export function unitFeatures(unit: CollectedUnit): UnitFeatures {
  if (unit.vendor !== 'intel') return {unit}
  const cap = unit.cap === undefined ? undefined : decodeCap(unit.cap)
  const ecap = unit.ecap === undefined ? undefined : decodeEcap(unit.ecap)
  return {
    unit,
    cachingMode: cap?.cachingMode,
    postedInterrupts: cap?.postedInterrupts,
    ir: ecap?.interruptRemapping,
    eim: ecap?.extendedInterruptMode,
    passThrough: ecap?.passThrough,
    deviceTlb: ecap?.deviceTlb,
    pasid: ecap?.pasid,
    prs: ecap?.pageRequests,
    smts: ecap?.scalableMode,
    nest: ecap?.nested,
  }
}

export function parseCpu(read: Read<string>): CpuFacts {
  if (!read.ok) return {vendor: 'unknown', flags: new Set(), hypervisor: false}
  const first = read.value.split(/\n\s*\n/)[0] ?? ''
  const field = (name: string) => first.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim()
  const vendorId = field('vendor_id')
  const vendor: CpuVendor = vendorId === 'GenuineIntel' ? 'intel' : vendorId === 'AuthenticAMD' || vendorId === 'HygonGenuine' ? 'amd' : vendorId ? 'other' : 'unknown'
  const flags = new Set((field('flags') ?? '').split(/\s+/).filter(Boolean))
  return {vendor, flags, hypervisor: flags.has('hypervisor'), modelName: field('model name')}
}

export function parseKernelVersion(read: Read<string>): KernelVersion | undefined {
  if (!read.ok) return undefined
  const release = read.value.trim()
  const match = release.match(/^(\d+)\.(\d+)/)
  return match ? {release, major: Number(match[1]), minor: Number(match[2])} : undefined
}

export function kernelAtLeast(kernel: KernelVersion | undefined, major: number, minor: number): boolean | undefined {
  if (!kernel) return undefined
  return kernel.major > major || (kernel.major === major && kernel.minor >= minor)
}

const FULL_BDF = /[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/i

/** Boot and attach lines (vtd-reference §5.5, §5.6, §7), by their stable text. */
export function readLogFacts(lines: string[]): LogFacts {
  const facts: LogFacts = {
    vtdInitialised: false,
    amdViActive: false,
    irFailed: [],
    x2apicOptOut: false,
    acsOverrideWarning: false,
    rmrrIneligible: [],
    rmrrRequire1to1: [],
    featureInconsistent: [],
    platformOptIn: false,
    scalableDisallowed: false,
    vfioNoIr: false,
    dmarFirmwareBugs: [],
  }
  for (const line of lines) {
    if (/(DMAR|PCI-DMA): Intel\(R\) Virtualization Technology for Directed I\/O/.test(line)) facts.vtdInitialised = true
    // Not "AMD IOMMUv2 functionality not available": every x86 kernel with the driver prints that, Intel hosts too.
    if (/AMD-Vi: (Found IOMMU|Interrupt remapping enabled)|pci [0-9a-f:.]+: AMD-Vi: Found IOMMU/.test(line)) facts.amdViActive = true
    const ir = line.match(/Enabled IRQ remapping in (x2apic|xapic) mode/)
    if (ir) facts.irEnabledMode = ir[1] as 'x2apic' | 'xapic'
    if (/Failed to enable irq remapping|Not enabling interrupt remapping|has no mapping iommu, interrupt remapping will be disabled|erratum making that feature unstable/.test(line))
      facts.irFailed.push(line.trim())
    if (/x2apic is disabled because BIOS sets x2apic opt out bit|requested that x2apic be disabled/.test(line)) facts.x2apicOptOut = true
    if (/PCIe ACS overrides enabled/.test(line)) facts.acsOverrideWarning = true
    const domain = line.match(/iommu: Default domain type: .*$/)
    if (domain) facts.defaultDomainLine = domain[0].trim()
    const policy = line.match(/DMA domain TLB invalidation policy: .*$/)
    if (policy) facts.invalidationPolicyLine = policy[0].trim()
    if (/Device is ineligible for IOMMU domain attach/.test(line)) facts.rmrrIneligible.push(line.match(FULL_BDF)?.[0] ?? line.trim())
    if (/Firmware has requested this device have a 1:1 IOMMU mapping/.test(line)) facts.rmrrRequire1to1.push(line.match(FULL_BDF)?.[0] ?? line.trim())
    const inconsistent = line.match(/IOMMU feature (\S+) inconsistent/)
    if (inconsistent?.[1]) facts.featureInconsistent.push(inconsistent[1])
    if (/Intel-IOMMU force enabled due to platform opt in/.test(line)) facts.platformOptIn = true
    if (/Scalable mode is disallowed/.test(line)) facts.scalableDisallowed = true
    if (/No interrupt remapping support\.\s+Use the module param "allow_unsafe_interrupts"/.test(line)) facts.vfioNoIr = true
    if (/DMAR.*\[Firmware Bug\]|\[Firmware Bug\].*(DMAR|RMRR|VT-d)|Your BIOS is broken/.test(line)) facts.dmarFirmwareBugs.push(line.trim())
  }
  facts.rmrrIneligible = [...new Set(facts.rmrrIneligible)]
  facts.rmrrRequire1to1 = [...new Set(facts.rmrrRequire1to1)]
  facts.featureInconsistent = [...new Set(facts.featureInconsistent)]
  return facts
}

/** DMA and interrupt-remapping faults of every kernel era (the shared log decoder, §5.1). */
export function readFaults(text: string): DmaFault[] {
  return parseKernelLog(text).flatMap((record) =>
    record.type === 'fault' ? [{kind: record.kind, requester: record.requester, reason: record.reason, reasonText: record.reasonText, ...(record.pasid === undefined ? {} : {pasid: record.pasid}), line: record.text}] : [],
  )
}

/** The config-space facts the checks read, as the topology decoded them. */
function capsOf(fn: PciFunction): DeviceCaps {
  const enabled = (cap: PciFunction['ats'] | PciFunction['pri'] | PciFunction['pasid']): Tristate<{enabled: boolean}> =>
    cap === 'unknown' || cap === undefined ? cap : {enabled: cap.enabled}
  return {
    configLength: fn.configLength,
    headerLayout: fn.headerType,
    multifunction: fn.multifunction,
    pcieType: fn.pcieType,
    flr: fn.flr === 'unknown' ? 'unknown' : fn.flr.pcie || fn.flr.af,
    ats: enabled(fn.ats),
    pri: enabled(fn.pri),
    pasid: enabled(fn.pasid),
    acs: fn.acs === 'unknown' || fn.acs === undefined ? fn.acs : {capability: fn.acs.cap, control: fn.acs.ctl},
  }
}

function readThunderbolt(fs: HostFs): AssessmentContext['thunderbolt'] {
  const list = fs.listDir('/sys/bus/thunderbolt/devices')
  if (!list.ok) return []
  return list.value
    .filter((name) => /^domain\d+$/.test(name))
    .map((domain) => {
      const read = fs.readText(`/sys/bus/thunderbolt/devices/${domain}/iommu_dma_protection`)
      return {domain, iommuDmaProtection: read.ok ? read.value.trim() === '1' : undefined}
    })
}

function readRemovable(fs: HostFs, devices: CollectedPciDevice[]): string[] {
  return devices.filter((d) => {
    const read = fs.readText(`/sys/bus/pci/devices/${d.bdf}/removable`)
    return read.ok && read.value.trim() === 'removable'
  }).map((d) => d.bdf)
}

export interface ContextOptions {
  /** BDFs named with --device (already normalised to full form). */
  devices?: string[]
}


/** Build the context. `fs` is only used for the few extra files collectors do not read. */
export function buildContext(host: CollectedHost, log: Read<string>, fs: HostFs, options: ContextOptions = {}): AssessmentContext {
  const platform = host.platform
  const cpu = parseCpu(platform.cpuinfo)
  const cmdline = platform.cmdline.ok ? parseKernelParameters(platform.cmdline.value) : undefined
  const lines = log.ok ? log.value.split('\n') : []
  const logView: LogView = {readable: log.ok, source: 'dmesg', origin: log.path, lines, ...(log.ok ? {} : {message: log.message})}
  const logFacts = readLogFacts(lines)
  const table = platform.dmarTable.ok ? decodeDmar(platform.dmarTable.value) : undefined
  const topology = topologyFromSysfs(host.pci)
  const dmar: DmarView = {
    read: platform.dmarTable,
    table,
    seenInLog: lines.some((l) => /DMAR: Host address width|ACPI: DMAR 0x/.test(l)),
    ...(table ? {scopes: resolveDmarScopes(table, topology)} : {}),
  }
  const units = host.units.map(unitFeatures)
  const devices = new Map(host.pci.map((d) => [d.bdf, d]))
  const caps = new Map([...topology.devices].map(([bdf, fn]) => [bdf, capsOf(fn)]))
  const groupOf = new Map<string, CollectedGroup>()
  for (const group of host.groups) for (const bdf of group.devices) groupOf.set(bdf, group)
  const interrupts = platform.interrupts.ok ? platform.interrupts.value : ''
  const iommuVendor = whichIommu(dmar, platform.ivrsTable, units, logFacts)
  const named = options.devices ?? []
  const vfioBound = host.pci.filter((d) => d.driver === 'vfio-pci').map((d) => d.bdf)
  const targetsFrom = named.length > 0 ? 'argument' : vfioBound.length > 0 ? 'vfio-pci' : 'none'
  return {
    host,
    cpu,
    cmdline,
    ineffective: cmdline ? ineffectiveParameters(cmdline, iommuVendor) : [],
    kernel: parseKernelVersion(platform.kernelRelease),
    log: logView,
    logFacts,
    faults: log.ok ? readFaults(log.value) : [],
    dmar,
    iommuVendor,
    units,
    devices,
    topology,
    caps,
    groupOf,
    roles: findHostRoles(fs, host.pci.filter((d) => d.bootVga === true).map((d) => d.bdf)),
    thunderbolt: readThunderbolt(fs),
    removable: readRemovable(fs, host.pci),
    irInInterrupts: /\bIR-(IO-APIC|PCI-MSI|PCI-MSIX|MSI)/.test(interrupts),
    scalableIrqs: [...new Set(interrupts.match(/dmar\d+-(?:prq|iopfq)/g) ?? [])],
    targets: targetsFrom === 'argument' ? named : targetsFrom === 'vfio-pci' ? vfioBound : [],
    targetsFrom,
  }
}

/** A table that is there but unreadable (mode 0400) still proves the platform: only "absent" means absent. */
function present(read: Read<Uint8Array>): boolean {
  return read.ok || read.reason === 'unreadable'
}

function whichIommu(dmar: DmarView, ivrs: Read<Uint8Array>, units: UnitFeatures[], log: LogFacts): AssessmentContext['iommuVendor'] {
  if (units.some((u) => u.unit.vendor === 'intel') || present(dmar.read) || dmar.seenInLog || log.vtdInitialised) return 'intel'
  if (units.some((u) => u.unit.vendor === 'amd') || present(ivrs) || log.amdViActive) return 'amd'
  return units.length > 0 ? 'other' : 'none'
}
