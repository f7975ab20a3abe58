/**
 * Build the PCI topology every rule reads, from sysfs (the collector's devices) or from an lspci
 * hex dump (config bytes alone), so both sources give the same `PciTopology`.
 *
 * From sysfs the hierarchy is the kernel's (device paths, physfn/virtfn links); from a dump it
 * is rebuilt the way the kernel enumerated it: a device on bus B hangs under the bridge whose
 * secondary bus is B, VFs sit at PF RID + offset + n × stride.
 */
import {collectPciDevices} from '../collect/pci.js'
import type {CollectedPciDevice, Miss} from '../collect/types.js'
import {
  CAP,
  decodePciConfig,
  ECAP,
  findCapability,
  flagField,
  LINK_SPEED_GTS,
  numberField,
  type DecodedCapability,
  type DecodedConfig,
} from '../decode/pci-config.js'
import {decodeLspciVerbose} from '../decode/lspci-verbose.js'
import {compareBdf, parseLspciDump} from '../decode/lspci-dump.js'
import {bdfFromRid, formatBdfParts, parseBdf, ridOf, type BdfParts} from '../decode/pci-address.js'
import {resolve as resolvePath} from 'node:path'
import {RootedHostFs, type HostFs} from '../host/fs.js'
import type {DeviceKind, PciFunction, PciTopology, SriovState, Unknown} from './pci.js'

/** Intel VMD controllers: they own a private PCI domain (segment > 0xffff) of NVMe devices. */
const VMD_DEVICE_IDS = new Set([0x201d, 0x28c0, 0x467f, 0x4c3d, 0x7d0b, 0x9a0b, 0xa77f, 0xad0b, 0xb06f, 0xb60b])

const PCIE_KIND: Record<number, DeviceKind> = {
  0: 'endpoint',
  1: 'legacy-endpoint',
  4: 'root-port',
  5: 'switch-upstream',
  6: 'switch-downstream',
  7: 'pcie-to-pci-bridge',
  8: 'pci-to-pcie-bridge',
  9: 'rc-endpoint',
  10: 'rc-event-collector',
}

/** A root bus's directory under /sys/devices ("pci0000:00", "pci10000:e0"). */
const ROOT_BUS = /^pci[0-9a-f]{4,8}:[0-9a-f]{2}$/i

/** Reset methods that touch only the one function, in the kernel's order. */
const FUNCTION_RESETS = new Set(['device_specific', 'acpi', 'flr', 'af_flr', 'pm'])

// ---------------------------------------------------------------------------------------------
// Config bytes → the capability facts of PciFunction

type Maybe<T> = T | undefined | Unknown

function fromCapability<T>(config: DecodedConfig, space: 'standard' | 'extended', id: number, read: (cap: DecodedCapability) => T): Maybe<T> {
  const cap = findCapability(config, space, id)
  if (cap === 'unknown' || cap === undefined) return cap
  return read(cap)
}

export interface ConfigFacts {
  pcieType: number | undefined | Unknown
  acs: PciFunction['acs']
  ari: PciFunction['ari']
  ariForwarding?: {supported: boolean; enabled: boolean}
  ats: PciFunction['ats']
  pri: PciFunction['pri']
  pasid: PciFunction['pasid']
  sriov: PciFunction['sriov']
  flr: PciFunction['flr']
  noSoftReset: boolean | Unknown | undefined
  hasPm: boolean | Unknown
  link?: PciFunction['link']
  slot?: PciFunction['slot']
}

/** What the IOMMU rules need, read from decoded config space (unknown where bytes were missing). */
export function configFacts(config: DecodedConfig): ConfigFacts {
  const n = (cap: DecodedCapability, name: string): number => numberField(cap, name) ?? 0
  const b = (cap: DecodedCapability, name: string): boolean => flagField(cap, name) ?? false
  const pcie = findCapability(config, 'standard', CAP.pcie)
  const af = findCapability(config, 'standard', CAP.af)
  const pm = findCapability(config, 'standard', CAP.pm)
  const pcieCap = typeof pcie === 'object' ? pcie : undefined
  const sriov: Maybe<SriovState> = fromCapability(config, 'extended', ECAP.sriov, (cap) => ({
    totalVfs: n(cap, 'totalVfs'),
    initialVfs: n(cap, 'initialVfs'),
    numVfs: n(cap, 'numVfs'),
    firstVfOffset: n(cap, 'firstVfOffset'),
    vfStride: n(cap, 'vfStride'),
    vfDeviceId: n(cap, 'vfDeviceId'),
    vfEnable: b(cap, 'vfEnable'),
    ariCapableHierarchy: b(cap, 'ariCapableHierarchy'),
  }))
  const linkSpeed = (code: number | undefined): string | undefined => (code === undefined ? undefined : (LINK_SPEED_GTS[code] ?? `unknown (${code})`))
  return {
    pcieType: pcie === 'unknown' ? 'unknown' : pcieCap ? numberField(pcieCap, 'type') : undefined,
    acs: fromCapability(config, 'extended', ECAP.acs, (cap) => ({cap: n(cap, 'capability'), ctl: n(cap, 'control')})),
    ari: fromCapability(config, 'extended', ECAP.ari, (cap) => ({nextFunction: n(cap, 'nextFunction')})),
    ariForwarding: pcieCap
      ? {supported: flagField(pcieCap, 'ariForwardingSupported') ?? false, enabled: flagField(pcieCap, 'ariForwardingEnabled') ?? false}
      : undefined,
    ats: fromCapability(config, 'extended', ECAP.ats, (cap) => ({enabled: b(cap, 'enable'), stu: n(cap, 'stu'), invalidateQueueDepth: n(cap, 'invalidateQueueDepth')})),
    pri: fromCapability(config, 'extended', ECAP.pri, (cap) => ({enabled: b(cap, 'enable')})),
    pasid: fromCapability(config, 'extended', ECAP.pasid, (cap) => ({enabled: b(cap, 'enable'), maxWidth: n(cap, 'maxWidth'), exec: b(cap, 'execSupported'), priv: b(cap, 'privSupported')})),
    sriov,
    // Both FLR sources live in the standard list: only a complete walk can say "no FLR".
    flr:
      pcie === 'unknown' || af === 'unknown'
        ? 'unknown'
        : {pcie: pcieCap ? b(pcieCap, 'flr') : false, af: af ? b(af, 'flr') && b(af, 'transactionsPending') : false},
    noSoftReset: pm === 'unknown' ? 'unknown' : pm ? b(pm, 'noSoftReset') : undefined,
    hasPm: pm === 'unknown' ? 'unknown' : pm !== undefined,
    link: pcieCap
      ? {
          speed: linkSpeed(numberField(pcieCap, 'linkSpeed')),
          width: numberField(pcieCap, 'linkWidth'),
          maxSpeed: linkSpeed(numberField(pcieCap, 'linkMaxSpeed')),
          maxWidth: numberField(pcieCap, 'linkMaxWidth'),
          dlActive: flagField(pcieCap, 'dllActiveReporting') ? flagField(pcieCap, 'dllActive') : undefined,
        }
      : undefined,
    slot: pcieCap && flagField(pcieCap, 'slotImplemented') ? {physicalSlot: numberField(pcieCap, 'physicalSlot'), hotPlug: flagField(pcieCap, 'hotPlugCapable')} : undefined,
  }
}

function kindOf(fn: Pick<PciFunction, 'vendorId' | 'deviceId' | 'classCode' | 'headerType' | 'pcieType'>): DeviceKind {
  if (fn.vendorId === 0x8086 && VMD_DEVICE_IDS.has(fn.deviceId)) return 'vmd-controller'
  if (fn.classCode >> 8 === 0x0600) return 'host-bridge'
  if (typeof fn.pcieType === 'number') return PCIE_KIND[fn.pcieType] ?? 'unknown'
  if (fn.pcieType === undefined) return fn.headerType === 1 ? 'pci-bridge' : fn.headerType === 2 ? 'cardbus-bridge' : 'pci-endpoint'
  return fn.headerType === 1 || fn.headerType === 2 ? 'bridge' : 'unknown'
}

interface Identity extends BdfParts {
  bdf: string
  vendorId?: number
  deviceId?: number
  subsystemVendorId?: number
  subsystemDeviceId?: number
  classCode?: number
  revision?: number
}

/** One function from its config bytes; sysfs-provided ids (always readable) win over config. */
function functionFrom(identity: Identity, bytes: Uint8Array): PciFunction {
  const config = decodePciConfig(bytes)
  const facts = configFacts(config)
  const classCode = identity.classCode ?? (config.allOnes ? undefined : config.classCode) ?? 0xff0000
  // With no readable header, a bridge class still tells us the layout.
  const headerType = config.allOnes ? (classCode >> 8 === 0x0604 ? 1 : 0) : (config.headerLayout ?? (classCode >> 8 === 0x0604 ? 1 : 0))
  const fn: PciFunction = {
    bdf: identity.bdf,
    segment: identity.segment,
    bus: identity.bus,
    device: identity.device,
    function: identity.function,
    vendorId: identity.vendorId ?? config.vendorId ?? 0xffff,
    deviceId: identity.deviceId ?? config.deviceId ?? 0xffff,
    subsystemVendorId: identity.subsystemVendorId ?? (config.allOnes ? undefined : config.subsystemVendorId),
    subsystemDeviceId: identity.subsystemDeviceId ?? (config.allOnes ? undefined : config.subsystemDeviceId),
    classCode,
    revision: identity.revision ?? (config.allOnes ? undefined : config.revision),
    headerType,
    multifunction: config.allOnes ? false : (config.multifunction ?? false),
    secondaryBus: config.allOnes ? undefined : config.secondaryBus,
    subordinateBus: config.allOnes ? undefined : config.subordinateBus,
    pcieType: facts.pcieType,
    acs: facts.acs,
    ari: facts.ari,
    ariForwarding: facts.ariForwarding,
    ats: facts.ats,
    pri: facts.pri,
    pasid: facts.pasid,
    sriov: facts.sriov,
    flr: facts.flr,
    children: [],
    virtfns: [],
    isVirtfn: false,
    configLength: bytes.length,
    config,
    link: facts.link,
    slot: facts.slot,
    noSoftReset: facts.noSoftReset,
  }
  fn.kind = kindOf(fn)
  return fn
}

// ---------------------------------------------------------------------------------------------
// Sources

/** From the collector's sysfs devices: the kernel's own hierarchy and links. */
export function topologyFromSysfs(collected: readonly CollectedPciDevice[], options: SysfsTopologyOptions = {}): PciTopology {
  const devices = new Map<string, PciFunction>()
  const context: SysfsContext = {options}
  for (const item of collected) {
    const parts = parseBdf(item.bdf)
    if (!parts) continue
    // The collector's names are already in the full form (the kernel's): format only another spelling.
    const bdf = CANONICAL_BDF.test(item.bdf) ? item.bdf : formatBdfParts(parts)
    const bytes = item.config.ok ? item.config.value : new Uint8Array()
    const fn = functionFrom(
      {
        segment: parts.segment,
        bus: parts.bus,
        device: parts.device,
        function: parts.function,
        bdf,
        vendorId: item.vendor,
        deviceId: item.device,
        subsystemVendorId: item.subsystemVendor,
        subsystemDeviceId: item.subsystemDevice,
        classCode: item.classCode,
        revision: item.revision,
      },
      bytes,
    )
    fn.parent = item.parentBdf
    fn.physfn = item.physfn
    fn.isVirtfn = item.physfn !== undefined
    fn.virtfns = [...item.virtfns]
    fn.driver = item.driver
    fn.iommuGroup = item.iommuGroup
    fn.sysfsPath = item.sysfsPath
    // sysfs SR-IOV files are readable without root; config bytes beyond 64 are not.
    if (fn.sriov === 'unknown' && item.sriov?.totalVfs !== undefined) {
      fn.sriov = {
        totalVfs: item.sriov.totalVfs,
        initialVfs: item.sriov.totalVfs,
        numVfs: item.sriov.numVfs ?? 0,
        firstVfOffset: item.sriov.offset ?? 0,
        vfStride: item.sriov.stride ?? 0,
        vfDeviceId: item.sriov.vfDevice ?? 0,
        vfEnable: (item.sriov.numVfs ?? 0) > 0,
        ariCapableHierarchy: false,
      }
    }
    // The root bus a device hangs under is the last "pciSSSS:BB" component of its path; in a VMD
    // domain (/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/…) the component before it is the
    // VMD endpoint that owns the domain.
    const {hostBridge, owner} = rootBusOf(item.sysfsPath)
    fn.hostBridge = hostBridge
    if (parts.segment > 0xffff && owner && parseBdf(owner)) fn.vmdController = owner
    devices.set(bdf, SysfsFunctionFacts.adopt(fn, item, context))
  }
  const topology = finish(devices, 'sysfs', false)
  context.topology = topology
  return topology
}

export interface SysfsTopologyOptions {
  /** The kernel is 5.15 or later: it hides `reset_method` when it knows no reset for the device, so an absent file is "none", not "unknown". */
  absentResetMethodIsNone?: boolean
}

/** "0000:01:00.0" as the kernel names it (a VMD domain's segment has more digits, none of them a leading zero). */
const CANONICAL_BDF = /^(?:[0-9a-f]{4}|[1-9a-f][0-9a-f]{4,7}):[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/

/** The last root bus component of a device path ("pci0000:00") and the component before it. */
function rootBusOf(sysfsPath: string): {hostBridge?: string; owner?: string} {
  // Root bus names start with "pci" (any case: ROOT_BUS says): only those components are tested,
  // last first; at -1 the first component (of a relative path) is.
  const lower = sysfsPath.toLowerCase()
  for (let at = lower.lastIndexOf('/pci'); ; at = lower.lastIndexOf('/pci', at - 1)) {
    const start = at + 1
    const end = sysfsPath.indexOf('/', start)
    const name = sysfsPath.slice(start, end < 0 ? sysfsPath.length : end)
    if (ROOT_BUS.test(name)) return {hostBridge: name, ...(start > 1 ? {owner: sysfsPath.slice(sysfsPath.lastIndexOf('/', start - 2) + 1, start - 1)} : {})}
    if (at <= 0) return {}
  }
}

/** What a sysfs function's lazily read facts need: the topology it belongs to (set once built). */
interface SysfsContext {
  options: SysfsTopologyOptions
  topology?: PciTopology
}

interface SysfsFunctionState {
  item: CollectedPciDevice
  context: SysfsContext
  reset?: {methods?: string[]; source?: PciFunction['resetMethodsSource']}
  unit?: {name: string | undefined}
}

const sysfsFunctionStates = new WeakMap<object, SysfsFunctionState>()

/**
 * The prototype of a function from sysfs: the facts only some views read (its reset methods, its
 * remapping unit) are read from the collected device on first use and kept (`check` on a large
 * host shows them for the devices it examines, not for every function); assigning them still
 * works. Set as the prototype of the function's own object, which keeps its one hidden class (a
 * class instance filled by Object.assign, or per-object accessors, would not).
 */
class SysfsFunctionFacts {
  static adopt(fn: PciFunction, item: CollectedPciDevice, context: SysfsContext): PciFunction {
    sysfsFunctionStates.set(fn, {item, context})
    return Object.setPrototypeOf(fn, SysfsFunctionFacts.prototype) as PciFunction
  }

  // No private members: an adopted object was not made by this class's constructor.
  get resetMethods(): string[] | undefined {
    return resetOf(this).methods
  }

  set resetMethods(methods: string[] | undefined) {
    resetOf(this).methods = methods
  }

  get resetMethodsSource(): PciFunction['resetMethodsSource'] {
    return resetOf(this).source
  }

  set resetMethodsSource(source: PciFunction['resetMethodsSource']) {
    resetOf(this).source = source
  }

  get iommuUnit(): string | undefined {
    const state = stateOf(this)
    state.unit ??= {name: state.item.iommuUnit}
    return state.unit.name
  }

  set iommuUnit(name: string | undefined) {
    stateOf(this).unit = {name}
  }
}

function stateOf(fn: object): SysfsFunctionState {
  const state = sysfsFunctionStates.get(fn)
  if (state === undefined) throw new Error('not a function read from sysfs')
  return state
}

/** The kernel's `reset_method`; absent on 5.15+ is none; else what the config bytes show. */
function resetOf(fn: object): NonNullable<SysfsFunctionState['reset']> {
  const state = stateOf(fn)
  if (state.reset === undefined) {
    const read = state.item.resetMethod
    const {options, topology} = state.context
    if (read.ok) state.reset = {methods: [...read.value], source: 'sysfs'}
    else if (read.reason === 'absent' && options.absentResetMethodIsNone === true) state.reset = {methods: [], source: 'sysfs'}
    else {
      const inferred = topology === undefined ? undefined : inferResetMethods(topology, fn as PciFunction)
      state.reset = inferred === undefined ? {} : {methods: inferred, source: 'inferred-from-config'}
    }
  }
  return state.reset
}

/**
 * What sysfs says of one function beyond its config space, read only for that function's own
 * view: NUMA node, and link speed and width as sysfs words them (over the config decode).
 * Undefined for a function from an lspci dump (the host's sysfs describes another machine).
 */
export function sysfsDetailsOf(topology: PciTopology, fn: PciFunction, item: CollectedPciDevice | undefined): Pick<PciFunction, 'numaNode' | 'link'> | undefined {
  if (topology.source !== 'sysfs' || item?.details === undefined) return undefined
  const {numaNode, link} = item.details()
  return {
    numaNode: numaNode !== undefined && numaNode >= 0 ? numaNode : undefined,
    link: link.currentSpeed !== undefined || link.maxSpeed !== undefined
      ? {...fn.link, speed: link.currentSpeed, width: link.currentWidth, maxSpeed: link.maxSpeed, maxWidth: link.maxWidth}
      : fn.link,
  }
}

/** From an lspci -x/-xxx/-xxxx dump: hierarchy from bridge bus ranges, VFs from SR-IOV. */
export function topologyFromLspciDump(text: string): {topology: PciTopology; warnings: string[]} {
  const dump = parseLspciDump(text)
  if (dump.devices.length > 0 && dump.devices.every((device) => device.config.length === 0)) return topologyFromLspciText(text)
  const devices = new Map<string, PciFunction>()
  for (const item of dump.devices) {
    const fn = functionFrom(item, item.config)
    fn.iommuGroup = item.iommuGroup
    fn.driver = item.driver
    fn.numaNode = item.numaNode !== undefined && item.numaNode >= 0 ? item.numaNode : undefined
    fn.description = item.description
    devices.set(item.bdf, fn)
  }
  linkVirtualFunctions(devices)
  for (const fn of devices.values()) {
    if (fn.isVirtfn) continue
    fn.parent = parentByBusRange(devices, fn)
  }
  for (const fn of devices.values()) {
    if (!fn.physfn) continue
    fn.parent = devices.get(fn.physfn)?.parent
  }
  const vmdControllers = [...devices.values()].filter((fn) => fn.kind === 'vmd-controller')
  for (const fn of devices.values()) {
    const root = rootOf(devices, fn)
    fn.hostBridge = `pci${root.segment.toString(16).padStart(4, '0')}:${root.bus.toString(16).padStart(2, '0')}`
    // One VMD controller in the dump: its domain is unambiguous.
    if (fn.segment > 0xffff && vmdControllers.length === 1) fn.vmdController = vmdControllers[0]?.bdf
  }
  return {topology: finish(devices, 'lspci-dump'), warnings: dump.warnings}
}

/**
 * A listing with no hex at all (`lspci -vvv` as pasted in most reports): the text decoder reads
 * what lspci printed; facts it cannot show (FLR, ATS …) stay unknown.
 */
function topologyFromLspciText(text: string): {topology: PciTopology; warnings: string[]} {
  const listing = decodeLspciVerbose(text)
  const devices = new Map<string, PciFunction>()
  for (const {fn, description} of listing.devices) {
    fn.kind = kindOf(fn)
    fn.description = description
    devices.set(fn.bdf, fn)
  }
  for (const fn of devices.values()) {
    const root = rootOf(devices, fn)
    fn.hostBridge = `pci${root.segment.toString(16).padStart(4, '0')}:${root.bus.toString(16).padStart(2, '0')}`
  }
  const warnings = ['no hex bytes in the dump: facts come from lspci\'s text; run `lspci -vvv -xxxx` (as root) for full config space', ...listing.warnings]
  return {topology: finish(devices, 'lspci-dump'), warnings}
}

/** Kernel enumeration: the bridge whose secondary bus is ours; else the narrowest range holding it. */
function parentByBusRange(devices: Map<string, PciFunction>, fn: PciFunction): string | undefined {
  let best: PciFunction | undefined
  for (const bridge of devices.values()) {
    if (bridge === fn || bridge.segment !== fn.segment || bridge.isVirtfn) continue
    if (bridge.secondaryBus === undefined || bridge.subordinateBus === undefined) continue
    // A bridge forwards only to buses above its own; firmware leftovers (secondary 0) are ignored.
    if (bridge.secondaryBus <= bridge.bus || fn.bus < bridge.secondaryBus || fn.bus > bridge.subordinateBus) continue
    if (!best || bridge.secondaryBus > (best.secondaryBus ?? 0) || (bridge.secondaryBus === best.secondaryBus && (bridge.subordinateBus ?? 0) < (best.subordinateBus ?? 0))) best = bridge
  }
  return best?.bdf
}

/** VF n of a PF sits at PF RID + First VF Offset + n × VF Stride (vtd-reference §6.6). */
function linkVirtualFunctions(devices: Map<string, PciFunction>): void {
  for (const pf of devices.values()) {
    const sriov = pf.sriov
    if (typeof sriov !== 'object' || !sriov.vfEnable || sriov.numVfs === 0) continue
    const pfRid = ridOf(pf)
    for (let n = 0; n < sriov.numVfs; n++) {
      const bdf = bdfFromRid(pf.segment, pfRid + sriov.firstVfOffset + n * sriov.vfStride)
      const vf = bdf === undefined ? undefined : devices.get(bdf)
      if (!vf || vf === pf) continue
      vf.physfn = pf.bdf
      vf.isVirtfn = true
      // A VF's own config reads ffff for its ids; the PF's SR-IOV capability names it.
      if (vf.vendorId === 0xffff) vf.vendorId = pf.vendorId
      if (vf.deviceId === 0xffff) vf.deviceId = sriov.vfDeviceId
      pf.virtfns.push(vf.bdf)
    }
  }
}

function rootOf(devices: Map<string, PciFunction>, fn: PciFunction): PciFunction {
  let current = fn
  const seen = new Set<string>()
  while (current.parent && !seen.has(current.bdf)) {
    seen.add(current.bdf)
    const up = devices.get(current.parent)
    if (!up) break
    current = up
  }
  return current
}

/** Children lists, BDF order, and (`inferResets`) reset methods where the kernel did not tell us. */
function finish(unordered: Map<string, PciFunction>, source: PciTopology['source'], inferResets = true): PciTopology {
  const devices = new Map([...unordered.entries()].sort(([, a], [, b]) => compareBdf(a, b)))
  for (const fn of devices.values()) fn.children = []
  for (const fn of devices.values()) {
    const parent = fn.parent === undefined ? undefined : devices.get(fn.parent)
    if (parent) parent.children.push(fn.bdf)
  }
  const topology: PciTopology = {devices, source}
  if (!inferResets) return topology
  for (const fn of devices.values()) {
    if (fn.resetMethods === undefined) {
      const inferred = inferResetMethods(topology, fn)
      if (inferred !== undefined) {
        fn.resetMethods = inferred
        fn.resetMethodsSource = 'inferred-from-config'
      }
    }
  }
  return topology
}

/**
 * The kernel's own probes (drivers/pci/pci.c, pci_init_reset_methods), replayed on config
 * bytes: flr (DEVCAP FLR), af_flr (AF with TP and FLR), pm (PM without No_Soft_Reset), bus
 * (parent bus reset). The kernel probes `bus` when the device is added, before its later
 * siblings and its own subordinate bus exist: so it lists `bus` for the first function on a
 * non-root bus, bridges included, and not for the others. device_specific and acpi cannot be
 * seen in config space. Undefined when the bytes needed are missing.
 */
export function inferResetMethods(topology: PciTopology, fn: PciFunction): string[] | undefined {
  if (fn.flr === 'unknown' || fn.noSoftReset === 'unknown') return undefined
  const methods: string[] = []
  if (fn.flr.pcie) methods.push('flr')
  if (fn.flr.af) methods.push('af_flr')
  if (fn.noSoftReset === false) methods.push('pm')
  const onBridgeBus = fn.parent !== undefined && topology.devices.has(fn.parent)
  const firstOnBus = indexOf(topology).lowestDevfn.get(`${fn.segment}:${fn.bus}`) === devfnOf(fn)
  if (onBridgeBus && !fn.isVirtfn && firstOnBus) methods.push('bus')
  return methods
}

const devfnOf = (fn: PciFunction): number => (fn.device << 3) | fn.function

// ---------------------------------------------------------------------------------------------
// Queries used by the device command and the rules

/**
 * Lookups the queries below need, built once per topology (one pass over the devices) so a query
 * costs the size of its answer, not the size of the host: a 4,000-function host stays linear.
 */
interface TopologyIndex {
  /** Device count when built: a topology still being assembled gets a fresh index. */
  size: number
  /** Non-VF functions by "segment:bus". */
  byBus: Map<string, PciFunction[]>
  /** Functions by IOMMU group number. */
  byGroup: Map<number, PciFunction[]>
  /** The lowest devfn on each bus (non-VF functions). */
  lowestDevfn: Map<string, number>
}

const indexes = new WeakMap<PciTopology, TopologyIndex>()

/** Exposed for tests (they count how often it is built). */
export const indexStats = {builds: 0}

function indexOf(topology: PciTopology): TopologyIndex {
  let index = indexes.get(topology)
  if (index === undefined || index.size !== topology.devices.size) {
    indexStats.builds++
    const byBus = new Map<string, PciFunction[]>()
    const byGroup = new Map<number, PciFunction[]>()
    const lowestDevfn = new Map<string, number>()
    for (const fn of topology.devices.values()) {
      const bus = `${fn.segment}:${fn.bus}`
      if (!fn.isVirtfn) {
        push(byBus, bus, fn)
        lowestDevfn.set(bus, Math.min(lowestDevfn.get(bus) ?? Infinity, devfnOf(fn)))
      }
      if (fn.iommuGroup !== undefined) push(byGroup, fn.iommuGroup, fn)
    }
    index = {byBus, byGroup, lowestDevfn, size: topology.devices.size}
    indexes.set(topology, index)
  }
  return index
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

/** Other functions on the same bus (same parent bridge, or same root bus). */
export function busPeers(topology: PciTopology, fn: PciFunction): PciFunction[] {
  return (indexOf(topology).byBus.get(`${fn.segment}:${fn.bus}`) ?? []).filter((other) => other !== fn)
}

/**
 * Functions of the same slot. With ARI (the device has the capability and the port above
 * forwards it) "device 0" spans the whole bus, so the slot is every function on the bus.
 */
export function slotFunctions(topology: PciTopology, fn: PciFunction): PciFunction[] {
  // VFs are single-function devices to the kernel, whatever devfn they land on.
  if (fn.isVirtfn) return [fn]
  const parent = fn.parent === undefined ? undefined : topology.devices.get(fn.parent)
  const ari = typeof fn.ari === 'object' && parent?.ariForwarding?.enabled === true
  const onBus = indexOf(topology).byBus.get(`${fn.segment}:${fn.bus}`) ?? []
  return ari ? [...onBus] : onBus.filter((other) => other.device === fn.device)
}

/** The device's bridges from its parent up to the root bus, nearest first. */
export function upstreamPath(topology: PciTopology, fn: PciFunction): PciFunction[] {
  const path: PciFunction[] = []
  const seen = new Set<string>([fn.bdf])
  let next = fn.parent
  while (next !== undefined && !seen.has(next)) {
    seen.add(next)
    const bridge = topology.devices.get(next)
    if (!bridge) break
    path.push(bridge)
    next = bridge.parent
  }
  return path
}

/** Every device below a bridge (its whole subtree), in BDF order. */
export function subtree(topology: PciTopology, bridge: PciFunction): PciFunction[] {
  const out: PciFunction[] = []
  const stack = [...bridge.children]
  const seen = new Set<string>()
  while (stack.length > 0) {
    const bdf = stack.pop()
    if (bdf === undefined || seen.has(bdf)) continue
    seen.add(bdf)
    const fn = topology.devices.get(bdf)
    if (!fn) continue
    out.push(fn)
    stack.push(...fn.children)
  }
  return out.sort(compareBdf)
}

export interface ResetPlan {
  methods: string[] | Unknown
  source?: 'sysfs' | 'inferred-from-config'
  /** The first method that resets only this function, if any. */
  functionLevel?: string
  /** A secondary bus reset at the parent bridge (also VFIO's hot reset) resets its whole subtree. */
  busReset?: {bridge: string; alsoResets: string[]}
  /** One honest sentence. */
  summary: string
  /** Set when the listed `bus` method would be refused now (siblings appeared after probing). */
  note?: string
}

export function resetPlan(topology: PciTopology, fn: PciFunction): ResetPlan {
  const parent = fn.parent === undefined ? undefined : topology.devices.get(fn.parent)
  const busReset =
    parent && !fn.isVirtfn ? {bridge: parent.bdf, alsoResets: subtree(topology, parent).filter((other) => other.bdf !== fn.bdf).map((other) => other.bdf)} : undefined
  const others = busReset && busReset.alsoResets.length > 0 ? busReset.alsoResets.join(', ') : undefined
  if (fn.resetMethods === undefined) {
    return {
      methods: 'unknown',
      busReset,
      summary:
        fn.configLength === 0 && topology.source === 'lspci-dump'
          ? 'reset methods unknown: a text-only lspci listing does not show them (give lspci -vvv -xxxx output)'
          : 'reset methods unknown: no reset_method file (kernel before 5.15, or no method at all) and FLR/PM capabilities lie beyond the config bytes we could read (run as root)',
    }
  }
  const methods = fn.resetMethods
  const functionLevel = methods.find((method) => FUNCTION_RESETS.has(method))
  let summary: string
  if (functionLevel === 'flr' || functionLevel === 'af_flr') summary = `function-level reset (${functionLevel}) resets only this function`
  else if (functionLevel === 'pm') {
    // The kernel tries the methods in order: pm is what a function reset does; the bus reset is VFIO's hot reset.
    summary = 'the kernel resets it with pm first (D3hot to D0): weaker than FLR, some devices keep state across it'
    if (methods.includes('bus') && busReset) summary += `; a secondary bus reset at ${busReset.bridge} (VFIO hot reset) ${others ? `also resets ${others}` : 'resets nothing else'}`
  }
  else if (functionLevel) summary = `${functionLevel} reset resets only this function`
  else if (methods.includes('bus') && busReset) summary = `only a secondary bus reset at ${busReset.bridge}, which ${others ? `also resets ${others}` : 'resets nothing else'}`
  else if (methods.length === 0) summary = busReset ? `no reset method: VFIO can only hot-reset the bus at ${busReset.bridge}${others ? `, which also resets ${others}` : ''}` : 'no reset method at all (on a root bus: no bus reset either)'
  else summary = `reset by ${methods.join(', ')}`
  // The kernel listed `bus` while the device was alone on its bus; with siblings it refuses it now.
  const busPeersNow = busPeers(topology, fn)
  const peers = busPeersNow.map((peer) => peer.bdf)
  const isBridge = fn.headerType === 1 || fn.headerType === 2
  const note = !methods.includes('bus')
    ? undefined
    : peers.length > 0
      ? `"bus" is listed (probed while it was alone), but ${peers.join(', ')} ${peers.length === 1 ? 'shares' : 'share'} the bus now: the kernel refuses a single-device bus reset; only a hot reset of the whole bus works`
      : isBridge
        ? '"bus" is listed (probed before its own bus was scanned), but the kernel refuses a parent-bus reset of a bridge'
        : undefined
  return {methods, source: fn.resetMethodsSource, functionLevel, busReset, summary, note}
}

/** Devices sharing this device's IOMMU group (undefined when the group is not known). */
export function groupMembers(topology: PciTopology, fn: PciFunction): PciFunction[] | undefined {
  if (fn.iommuGroup === undefined) return undefined
  return [...(indexOf(topology).byGroup.get(fn.iommuGroup) ?? [])]
}

/** A function that does DMA for itself: not a PCI bridge and not a host bridge. */
export function isEndpointFunction(fn: PciFunction): boolean {
  return fn.headerType !== 1 && fn.headerType !== 2 && fn.classCode >> 8 !== 0x0600
}

/** The slot of a function ("0000:00:1f"): functions of one slot go to a guest together anyway. */
export const slotOf = (bdf: string): string => bdf.slice(0, bdf.lastIndexOf('.'))

/**
 * The endpoints among `bdfs`, by slot. A group is SHARED when this has more than one entry: its
 * endpoints belong to different devices (the one definition `check` and `groups` both use).
 */
export function endpointSlots(topology: PciTopology, bdfs: readonly string[]): Map<string, string[]> {
  const slots = new Map<string, string[]>()
  for (const bdf of bdfs) {
    const fn = topology.devices.get(bdf)
    if (!fn || !isEndpointFunction(fn)) continue
    push(slots, slotOf(bdf), bdf)
  }
  return slots
}

/** Root-bus devices, grouped by host bridge name ("pci0000:00"). */
export function hostBridges(topology: PciTopology): Map<string, PciFunction[]> {
  const out = new Map<string, PciFunction[]>()
  for (const fn of topology.devices.values()) {
    if (fn.parent !== undefined && topology.devices.has(fn.parent)) continue
    const name = fn.hostBridge ?? `pci${fn.segment.toString(16).padStart(4, '0')}:${fn.bus.toString(16).padStart(2, '0')}`
    push(out, name, fn)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// One entry point for every command

export interface LoadTopologyOptions {
  /** Path of an lspci -x/-xxx/-xxxx dump (absolute, or relative to the working directory). */
  lspciDump?: string
  /** Where to read the dump from (tests pass a memfs host); defaults to the real filesystem. */
  dumpFs?: HostFs
}

export type LoadedTopology =
  | {ok: true; topology: PciTopology; warnings: string[]; misses: Miss[]; source: string}
  | {ok: false; error: string}

export function loadTopology(fs: HostFs, options: LoadTopologyOptions = {}): LoadedTopology {
  if (options.lspciDump !== undefined) {
    const dumpFs = options.dumpFs ?? new RootedHostFs('/')
    // A user's path: relative to where they ran the command, not to --root.
    const read = dumpFs.readText(options.dumpFs ? options.lspciDump : resolvePath(options.lspciDump))
    if (!read.ok) return {ok: false, error: `cannot read lspci dump ${options.lspciDump}: ${read.reason} (${read.message})`}
    const {topology, warnings} = topologyFromLspciDump(read.value)
    if (topology.devices.size === 0) return {ok: false, error: `no PCI devices found in ${options.lspciDump}: expected output of lspci -xxxx (or -x / -xxx)`}
    return {ok: true, topology, warnings, misses: [], source: options.lspciDump}
  }
  const misses: Miss[] = []
  const collected = collectPciDevices(fs, misses)
  return {ok: true, topology: topologyFromSysfs(collected), warnings: [], misses, source: fs.root === '/' ? '/sys/bus/pci/devices' : `${fs.root}/sys/bus/pci/devices`}
}

/** Find a device by full or short BDF ("01:00.0" means segment 0). */
export function findDevice(topology: PciTopology, text: string): PciFunction | undefined {
  const parts = parseBdf(text)
  return parts ? topology.devices.get(formatBdfParts(parts)) : undefined
}
