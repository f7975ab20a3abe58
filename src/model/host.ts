/**
 * The host model: every fact the replays, checks, renderers and commands read, derived from what
 * the collectors returned and built ONCE per run. Each part is computed on first use and memoised,
 * so `vtd-check dmar` never decodes PCI config space it does not show, and two commands (or two
 * checks) that state the same fact read the same field. See README.md beside this file.
 *
 * The model never reads the host itself: its inputs are the collected host, the kernel log text,
 * and optionally an lspci dump, a DMAR table file and the debugfs translation dumps.
 */
import type {CollectedGroup, CollectedHost, CollectedPciDevice, CollectedUnit, Miss} from '../collect/types.js'
import {acpiTableFromFile} from '../decode/acpi-table.js'
import {decodeDmar, type DmarTable} from '../decode/dmar.js'
import {decodeIvrs, ivrsAliases, type IvrsAlias, type IvrsTable} from '../decode/ivrs.js'
import {decodeIort, type IortTable} from '../decode/iort.js'
import {decodeLspciVerbose} from '../decode/lspci-verbose.js'
import type {Read} from '../host/fs.js'
import {PLATFORM_FILES} from '../host/layout.js'
import {acsNotRequested, type AcsNotRequested} from './acs-request.js'
import {detectBoot, type BootFacts} from './boot.js'
import {resolveDmarScopes, type ScopeResolution} from './dmar-scope.js'
import {detectHypervisor, type HypervisorFacts} from './hypervisor.js'
import {ineffectiveParameters, parseKernelParameters, type IneffectiveParameter, type KernelParameters} from './kernel-parameters.js'
import {readFaults, readLogFacts, type DmaFault, type LogFacts, type LogView} from './log-facts.js'
import type {PciFunction, PciTopology} from './pci.js'
import {kernelAtLeast, parseCpu, parseKernelVersion, type CpuArchitecture, type CpuFacts, type KernelVersion} from './platform.js'
import {endpointSlots, topologyFromLspciDump, topologyFromSysfs} from './topology.js'
import {amdUnits, remappingUnits, unitFeatures, type AmdUnit, type RemappingUnits, type UnitFeatures} from './units.js'

export const DMAR_TABLE_PATH = '/sys/firmware/acpi/tables/DMAR'
export const IVRS_TABLE_PATH = '/sys/firmware/acpi/tables/IVRS'
export const IORT_TABLE_PATH = PLATFORM_FILES.iortTable

/** PCI devices from a file instead of sysfs: an `lspci -xxxx` dump, or `lspci -vvv` text. */
export interface PciListing {
  path: string
  text: string
  /** 'verbose': lspci -vvv text only (groups --lspci-verbose); 'dump': hex, or text when it has none. */
  format: 'dump' | 'verbose'
}

/** The kernel's own translation-structure dumps (debugfs, root only): the real tables. */
export interface DebugfsDumps {
  translationStruct: string
  domainStructs: string[]
}

export interface HostModelInput {
  /** What the collectors read from the live host or a snapshot (`collectHost`, or `collectNothing`). */
  collected: CollectedHost
  /** The kernel log text (dmesg, journalctl -k, a snapshot's dmesg.txt), or why it is not there. */
  log: Read<string>
  /** PCI devices from an lspci listing instead of the collected sysfs devices. */
  pci?: PciListing
  /** The DMAR table from a file (`dmar --file`): raw bytes, acpidump text or an iasl .dsl. */
  dmarFile?: Read<Uint8Array>
  /** The IVRS table from a file (`ivrs --file`), in the same forms. */
  ivrsFile?: Read<Uint8Array>
  /** The IORT table from a file (`iort --file`), in the same forms. */
  iortFile?: Read<Uint8Array>
  debugfs?: DebugfsDumps
}

export type IommuVendor = 'intel' | 'amd' | 'other' | 'none' | 'unknown'

/**
 * The IOMMU architecture, as output and JSON name it (`iommuFamily`): Intel VT-d, AMD-Vi, Arm
 * SMMUv3; "other" for an IOMMU of none of these (virtio-iommu, SMMUv1/v2), "none" for no IOMMU.
 */
export type IommuFamily = 'intel-vtd' | 'amd-vi' | 'arm-smmu-v3' | 'other' | 'none'

/** Why the model names that family: the first witness found (a unit, a firmware table, a log line). */
export interface IommuFamilyView {
  family: IommuFamily
  basis: string
}

/** Each family's own name, for sentences ("AMD-Vi DMA remapping is active"). */
export const IOMMU_FAMILY_NAMES: Record<IommuFamily, string> = {
  'intel-vtd': 'Intel VT-d',
  'amd-vi': 'AMD-Vi',
  'arm-smmu-v3': 'Arm SMMUv3',
  other: 'an IOMMU of another kind',
  none: 'none',
}

const FAMILY_VENDOR: Record<IommuFamily, IommuVendor> = {'intel-vtd': 'intel', 'amd-vi': 'amd', 'arm-smmu-v3': 'other', other: 'other', none: 'none'}

export interface DmarView {
  /** The table read: absent (no VT-d in firmware or not Intel), unreadable (needs root), or bytes. */
  read: Read<Uint8Array>
  /** Where it came from, for messages and evidence (the host path, or the --file given). */
  source: string
  table?: DmarTable
  /** From the log when the table is unreadable: `DMAR: Host address width` proves the table exists. */
  seenInLog: boolean
  /** The table's device scopes resolved against this host's PCI tree (when both are there). */
  scopes?: ScopeResolution
}

export interface IvrsView {
  /** The table read: absent (not AMD-Vi, or the IOMMU is off in firmware), unreadable (needs root), or bytes. */
  read: Read<Uint8Array>
  source: string
  table?: IvrsTable
  /** The kernel's "ACPI: IVRS 0x…" line proves the table exists when it cannot be read. */
  seenInLog: boolean
  /** The DMA aliases the table's IVHDs declare (alias select / range entries 0x42, 0x43). */
  aliases: IvrsAlias[]
}

export interface IortView {
  /** The table read: absent (not an ACPI Arm host), unreadable (needs root), or bytes. */
  read: Read<Uint8Array>
  /** Where it came from, for messages and evidence. */
  source: string
  table?: IortTable
}

/** One RMRR and the BDFs its scope paths name on this host (the devices it pins to 1:1 maps). */
export interface RmrrImpact {
  structureIndex: number
  base: bigint
  limit: bigint
  devices: string[]
}

export interface ReservedRegion {
  start: bigint
  /** Inclusive. */
  end: bigint
  type: string
}

/** A kernel IOMMU group, with its `reserved_regions` parsed. */
export interface KernelGroup extends CollectedGroup {
  regions: ReservedRegion[]
}

/** `reserved_regions` lines: "0x%016llx 0x%016llx %s" (start, inclusive end, type). */
export function parseReservedRegions(text: string): ReservedRegion[] {
  const out: ReservedRegion[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)/i.exec(line)
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) out.push({start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), type: m[3]})
  }
  return out
}

/**
 * A collected group with its regions parsed, both read when first asked for (`check` reads every
 * group's, `groups` none; a spread would read them all). A class: its getters on the prototype
 * keep every group one hidden class.
 */
class KernelGroupView implements KernelGroup {
  readonly id: number
  readonly devices: string[]
  readonly type: string | undefined
  readonly #group: CollectedGroup
  #regions: ReservedRegion[] | undefined

  constructor(group: CollectedGroup) {
    this.id = group.id
    this.devices = group.devices
    this.type = group.type
    this.#group = group
  }

  get reservedRegions(): string | undefined {
    return this.#group.reservedRegions
  }

  get regions(): ReservedRegion[] {
    this.#regions ??= parseReservedRegions(this.#group.reservedRegions ?? '')
    return this.#regions
  }
}

/** Config-space facts the checks read; 'unknown' when the bytes needed were not readable. */
export type Tristate<T> = T | undefined | 'unknown'

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


/** A table that is there but unreadable (mode 0400) still proves the platform: only "absent" means absent. */
function present(read: Read<unknown>): boolean {
  return read.ok || read.reason === 'unreadable'
}

export class HostModel {
  /** Parts computed so far, by name (also holds what upper layers derive through `derive`). */
  private readonly parts = new Map<string, unknown>()

  constructor(readonly input: HostModelInput) {}

  /** Compute a part once; later reads return the same value. */
  private part<T>(name: string, compute: () => T): T {
    if (!this.parts.has(name)) this.parts.set(name, compute())
    return this.parts.get(name) as T
  }

  /**
   * For the layers above (lints, grouping replay, translation replay): a fact derived from the
   * model once per run, under a key naming it and its options.
   */
  derive<T>(key: string, compute: (model: this) => T): T {
    return this.part(`derived:${key}`, () => compute(this))
  }

  /** The collected host (the raw facts, each with its path). */
  get host(): CollectedHost {
    return this.input.collected
  }

  /** "/" for the live host, else the snapshot directory. */
  get root(): string {
    return this.input.collected.root
  }

  /** True when only an lspci dump of some machine was read (`collectNothing` names the dump as root). */
  get pciOnly(): boolean {
    return this.input.pci !== undefined && this.root === this.input.pci.path
  }

  /** Reads that failed for lack of permission (typically: not root). */
  get misses(): Miss[] {
    return this.input.collected.misses
  }

  get cpu(): CpuFacts {
    return this.part('cpu', () => parseCpu(this.host.platform.cpuinfo))
  }

  /** The kernel's architecture: from /proc/cpuinfo, else from the IOMMU (an SMMUv3 is Arm's, VT-d and AMD-Vi x86's). */
  get architecture(): CpuArchitecture {
    const fromCpu = this.cpu.architecture
    if (fromCpu !== 'unknown') return fromCpu
    const family = this.iommuFamily
    return family === 'arm-smmu-v3' ? 'arm' : family === 'intel-vtd' || family === 'amd-vi' ? 'x86' : 'unknown'
  }

  /** The effective kernel parameters; undefined when /proc/cmdline could not be read. */
  get cmdline(): KernelParameters | undefined {
    return this.part('cmdline', () => (this.host.platform.cmdline.ok ? parseKernelParameters(this.host.platform.cmdline.value, this.architecture) : undefined))
  }

  /** Parameters on the command line that do nothing on this platform (intel_iommu=on on AMD …). */
  get ineffective(): IneffectiveParameter[] {
    return this.part('ineffective', () => (this.cmdline ? ineffectiveParameters(this.cmdline, this.iommuVendor) : []))
  }

  /** Which hypervisor runs this host, if any (DMI, /sys/hypervisor/type, the CPU flag, the boot log). */
  get hypervisor(): HypervisorFacts {
    return this.part('hypervisor', () => {
      const {dmi, hypervisorType} = this.host.platform
      return detectHypervisor({
        cpuHypervisorFlag: this.cpu.hypervisor,
        dmi,
        ...(hypervisorType.ok ? {hypervisorType: hypervisorType.value.trim()} : {}),
        logLines: this.log.lines,
      })
    })
  }

  /** The boot loader and distribution family, for remediation that must persist. */
  get boot(): BootFacts {
    return this.part('boot', () => {
      const {cmdline, kernelVersion, kernelRelease} = this.host.platform
      return detectBoot(cmdline.ok ? cmdline.value : undefined, kernelVersion.ok ? kernelVersion.value : undefined, kernelRelease.ok ? kernelRelease.value : undefined)
    })
  }

  get kernel(): KernelVersion | undefined {
    return this.part('kernel', () => parseKernelVersion(this.host.platform.kernelRelease))
  }

  get log(): LogView {
    return this.part('log', () => {
      const log = this.input.log
      return {readable: log.ok, source: 'dmesg', origin: log.path, lines: log.ok ? log.value.split('\n') : [], ...(log.ok ? {} : {message: log.message}), ...(!log.ok && log.refused !== undefined ? {refused: log.refused} : {})}
    })
  }

  get logFacts(): LogFacts {
    return this.part('logFacts', () => readLogFacts(this.log.lines))
  }

  /** DMA and interrupt-remapping faults the log holds (the fault lines, not their triage). */
  get faults(): DmaFault[] {
    return this.part('faults', () => (this.input.log.ok ? readFaults(this.input.log.value) : []))
  }

  // ------------------------------------------------------------------ PCI

  /** The PCI tree: the kernel's (sysfs), or rebuilt from an lspci listing. */
  get topology(): PciTopology {
    return this.pciParts.topology
  }

  /** Where the PCI devices came from, for messages ("/sys/bus/pci/devices", a dump's path). */
  get topologySource(): string {
    return this.pciParts.source
  }

  /** What the lspci decoder could not read (shown as warnings). */
  get topologyWarnings(): string[] {
    return this.pciParts.warnings
  }

  private get pciParts(): {topology: PciTopology; source: string; warnings: string[]} {
    return this.part('pci', () => {
      const listing = this.input.pci
      if (listing === undefined) {
        const root = this.root
        // Since 5.15 the kernel hides reset_method when it knows no reset for the device: that is "none", not "unknown".
        const topology = topologyFromSysfs(this.host.pci, {absentResetMethodIsNone: kernelAtLeast(this.kernel, 5, 15) === true})
        return {topology, source: root === '/' ? '/sys/bus/pci/devices' : `${root}/sys/bus/pci/devices`, warnings: []}
      }
      if (listing.format === 'verbose') {
        const parsed = decodeLspciVerbose(listing.text)
        return {topology: parsed.topology, source: listing.path, warnings: parsed.warnings}
      }
      const {topology, warnings} = topologyFromLspciDump(listing.text)
      return {topology, source: listing.path, warnings}
    })
  }

  /** Collected sysfs devices by BDF (drivers, reset_method, links as sysfs shows them). */
  get devices(): Map<string, CollectedPciDevice> {
    return this.part('devices', () => new Map(this.host.pci.map((d) => [d.bdf, d])))
  }

  get caps(): Map<string, DeviceCaps> {
    return this.part('caps', () => new Map([...this.topology.devices].map(([bdf, fn]) => [bdf, capsOf(fn)])))
  }

  /** PCI functions the kernel marks `removable` (behind an external-facing port). */
  get removable(): string[] {
    return this.part('removable', () => this.host.pci.filter((d) => d.removable === true).map((d) => d.bdf))
  }

  get roles(): CollectedHost['roles'] {
    return this.host.roles
  }

  get thunderbolt(): CollectedHost['thunderbolt'] {
    return this.host.thunderbolt
  }

  // ------------------------------------------------------------------ IOMMU groups

  /** The kernel's groups (/sys/kernel/iommu_groups), reserved regions parsed. */
  get kernelGroups(): KernelGroup[] {
    return this.part('kernelGroups', () => this.host.groups.map((group) => new KernelGroupView(group)))
  }

  get groupOf(): Map<string, KernelGroup> {
    return this.part('groupOf', () => {
      const out = new Map<string, KernelGroup>()
      for (const group of this.kernelGroups) for (const bdf of group.devices) out.set(bdf, group)
      return out
    })
  }

  /** Kernel groups whose endpoints belong to more than one slot (see `endpointSlots`). */
  get sharedGroups(): KernelGroup[] {
    return this.part('sharedGroups', () => this.kernelGroups.filter((g) => endpointSlots(this.topology, g.devices).size > 1))
  }

  // ------------------------------------------------------------------ DMAR and units

  get dmar(): DmarView {
    return this.part('dmar', () => {
      const file = this.input.dmarFile
      const read = file ?? this.host.platform.dmarTable
      const source = file ? file.path : this.root === '/' ? DMAR_TABLE_PATH : `${this.root}${DMAR_TABLE_PATH}`
      // --file may also be acpidump text or an iasl .dsl: take the DMAR bytes from the hex dump.
      const bytes = !read.ok ? undefined : file ? acpiTableFromFile(read.value, 'DMAR') : read.value
      const table = bytes ? decodeDmar(bytes) : undefined
      const topology = this.topology
      return {
        read,
        source,
        ...(table ? {table} : {}),
        seenInLog: this.log.lines.some((l) => /DMAR: Host address width|ACPI: DMAR 0x/.test(l)),
        ...(table && topology.devices.size > 0 ? {scopes: resolveDmarScopes(table, topology)} : {}),
      }
    })
  }

  /** The AMD-Vi firmware table, decoded once (`check`, `groups` and `ivrs` read it here). */
  get ivrs(): IvrsView {
    return this.part('ivrs', () => {
      const file = this.input.ivrsFile
      const read = file ?? this.host.platform.ivrsTable
      const bytes = !read.ok ? undefined : file ? acpiTableFromFile(read.value, 'IVRS') : read.value
      const table = bytes ? decodeIvrs(bytes) : undefined
      return {
        read,
        source: file ? file.path : this.root === '/' ? IVRS_TABLE_PATH : `${this.root}${IVRS_TABLE_PATH}`,
        ...(table ? {table} : {}),
        seenInLog: this.log.lines.some((l) => /ACPI: IVRS 0x/.test(l)),
        aliases: table ? ivrsAliases(table) : [],
      }
    })
  }

  /** The Arm IORT (SMMUs, ITS groups and how requester IDs map onto StreamIDs), decoded once. */
  get iort(): IortView {
    return this.part('iort', () => {
      const file = this.input.iortFile
      const read = file ?? this.host.platform.iortTable
      const source = file ? file.path : this.root === '/' ? IORT_TABLE_PATH : `${this.root}${IORT_TABLE_PATH}`
      const bytes = !read.ok ? undefined : file ? acpiTableFromFile(read.value, 'IORT') : read.value
      return {read, source, ...(bytes ? {table: decodeIort(bytes)} : {})}
    })
  }

  /** RMRRs and the devices each one names on this host. */
  get rmrrs(): RmrrImpact[] {
    return this.part('rmrrs', () => {
      const {table, scopes} = this.dmar
      if (!table) return []
      return table.structures.flatMap((s, index) => s.type !== 'RMRR' ? [] : [{
        structureIndex: index,
        base: s.base,
        limit: s.limit,
        devices: (scopes?.scopes ?? []).flatMap((rs) => (rs.structureIndex === index && rs.bdf !== undefined ? [rs.bdf] : [])),
      }])
    })
  }

  /** IOAPIC / HPET source IDs the DMAR scopes give (requester of interrupt-remapping faults). */
  get interruptSources(): Array<{requester: string; kind: 'ioapic' | 'hpet'; id: number}> {
    return this.part('interruptSources', () => (this.dmar.scopes?.scopes ?? []).flatMap((rs) =>
      (rs.scope.type === 'ioapic' || rs.scope.type === 'hpet') && rs.bdf !== undefined ? [{requester: rs.bdf, kind: rs.scope.type, id: rs.scope.enumerationId}] : []))
  }

  /** Every unit of /sys/class/iommu (any vendor) with the features the checks read. */
  get units(): UnitFeatures[] {
    return this.part('units', () => this.host.units.map((u) => unitFeatures(u, this.amdUnits.find((a) => a.name === u.name))))
  }

  /** The AMD-Vi units (ivhdN) with cap and EFR/EFR2 decoded, as `units` shows them. */
  get amdUnits(): AmdUnit[] {
    return this.part('amdUnits', () => amdUnits(this.host.units, this.log.lines, this.kernel))
  }

  /** The Intel remapping units decoded (sysfs, else the boot lines), as `units` shows them. */
  get remappingUnits(): RemappingUnits {
    return this.part('remappingUnits', () => remappingUnits(this.host.units, this.input.log))
  }

  /** Which IOMMU vendor this platform has (the family's vendor; "other": SMMU, virtio-iommu …). */
  get iommuVendor(): IommuVendor {
    return FAMILY_VENDOR[this.iommuFamily]
  }

  /** The IOMMU family, decided once: by the units registered, else the firmware table, else the log. */
  get iommuFamily(): IommuFamily {
    return this.iommuFamilyView.family
  }

  get iommuFamilyView(): IommuFamilyView {
    return this.part('iommuFamily', () => {
      const units = this.host.units
      const {platform} = this.host
      const named = (vendor: CollectedUnit['vendor']) => units.filter((u) => u.vendor === vendor).map((u) => u.name)
      const byUnit: Array<[IommuFamily, string[]]> = [['intel-vtd', named('intel')], ['amd-vi', named('amd')], ['arm-smmu-v3', named('arm-smmu-v3')]]
      for (const [family, names] of byUnit) if (names.length > 0) return {family, basis: `${names.join(', ')} in /sys/class/iommu`}
      const tables: Array<[IommuFamily, string, Read<unknown>]> = [['intel-vtd', 'DMAR', platform.dmarTable], ['amd-vi', 'IVRS', platform.ivrsTable], ['arm-smmu-v3', 'IORT', platform.iortTable]]
      for (const [family, signature, read] of tables) if (present(read)) return {family, basis: `ACPI ${signature} table`}
      if (this.dmar.seenInLog || this.logFacts.vtdInitialised) return {family: 'intel-vtd', basis: 'DMAR lines in the kernel log'}
      if (this.logFacts.amdViActive) return {family: 'amd-vi', basis: 'AMD-Vi lines in the kernel log'}
      if (this.logFacts.smmuV3.length > 0) return {family: 'arm-smmu-v3', basis: 'arm-smmu-v3 lines in the kernel log'}
      if (units.length > 0) return {family: 'other', basis: `${units.map((u) => u.name).join(', ')} in /sys/class/iommu`}
      return {family: 'none', basis: 'no IOMMU unit, firmware table or log line'}
    })
  }

  /**
   * The kernel parameter that makes default domains identity (passthrough) here: the one on this
   * boot's command line, else the platform's own. `iommu=pt` exists only on x86
   * (arch/x86/kernel/pci-dma.c); Arm (and every other architecture) knows only the generic
   * `iommu.passthrough=1` (drivers/iommu/iommu.c), which x86 takes too.
   */
  get passthroughParameter(): string {
    const requested = this.cmdline?.defaultDomain
    if (requested?.type === 'identity') return requested.via
    return this.iommuFamily === 'intel-vtd' || this.iommuFamily === 'amd-vi' ? 'iommu=pt' : 'iommu.passthrough=1'
  }

  /**
   * Why this boot's kernel never requested ACS (pci_request_acs()), so ACS-capable ports keep the
   * firmware's ACS Control: they have SV RR CR UF, not enabled. Undefined: requested, or cannot tell.
   */
  get acsNotRequested(): AcsNotRequested | undefined {
    return this.part('acsNotRequested', () => {
      // An lspci dump of some other machine says nothing about how that machine booted.
      if (this.pciOnly) return undefined
      return acsNotRequested({
        family: this.iommuFamily,
        cmdline: this.cmdline,
        acpiOff: this.cmdline?.acpiOff === true || this.log.lines.some((l) => l.includes('ACPI: Interpreter disabled')),
        iort: this.iort.table !== undefined,
        dmarPlatformOptIn: this.dmar.table?.flags?.dmaCtrlPlatformOptIn,
        unitsRegistered: this.host.units.length > 0,
      })
    })
  }

  // ------------------------------------------------------------------ interrupts

  /** /proc/interrupts shows IR- chips: interrupt remapping is in use. */
  get irInInterrupts(): boolean {
    return this.part('irInInterrupts', () => /\bIR-(IO-APIC|PCI-MSI|PCI-MSIX|MSI)/.test(this.interruptsText))
  }

  /** dmarN-prq / dmarN-iopfq IRQs exist only in scalable mode with page requests. */
  get scalableIrqs(): string[] {
    return this.part('scalableIrqs', () => [...new Set(this.interruptsText.match(/dmar\d+-(?:prq|iopfq)/g) ?? [])])
  }

  private get interruptsText(): string {
    const read = this.host.platform.interrupts
    return read.ok ? read.value : ''
  }

  /** The debugfs translation dumps, when the caller collected them. */
  get debugfs(): DebugfsDumps | undefined {
    return this.input.debugfs
  }
}

/** The one entry point: the model of a collected host (parts are computed when first read). */
export function buildHostModel(input: HostModelInput): HostModel {
  return new HostModel(input)
}
