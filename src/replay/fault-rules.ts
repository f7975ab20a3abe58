/**
 * The explanation engine, as data. Each rule is a cause class that real bug threads established,
 * the conditions under which it applies (requester class, function, reason, access, address
 * pattern, timing, co-occurring log lines, host facts) and the words it says. The first rule
 * whose conditions hold leads; the order is most specific first, generic templates last.
 *
 * A rule that only narrows the candidates says so: `certainty: 'cannot-tell'` lists what the
 * log cannot tell apart instead of inventing a cause.
 */
import type {Evidence} from '../checks/outcome.js'
import {formatReasonCode, type FaultReason} from '../decode/fault-reasons.js'
import type {ContextEvent, FaultRecord, LogRecord, QiRecord} from '../decode/kernel-log/index.js'
import type {PciTopology} from '../decode/pci-function.js'
import {LINK_DOWN, TROUBLE} from '../decode/kernel-log/context.js'
import {explainKnownRegression, knownRegression, regressionCandidates} from './regression-words.js'
import type {EventGroup, Explanation, FaultGroup, FaultTrace, ReservedRegion, TriageContext, TriageResult} from './fault-triage.js'
import {AMD_VI_CONTEXT_WORDS, explainAmdViEvent, iommuMapWarning} from './fault-rules-families.js'

/** Cause classes, one vocabulary for rules, JSON and the evaluation (test/fixtures/fault-cases). */
export type FaultCategory =
  | 'igfx' | 'firmware-dma' | 'dma-alias' | 'address-zero' | 'wrong-direction' | 'kernel-bypass' | 'guest-passthrough'
  | 'vmd' | 'kdump' | 'ir-erratum' | 'ir-compat' | 'source-id' | 'firmware-table' | 'relaxable-rmrr' | 'rmrr-refusal'
  | 'device-tlb' | 'kernel-bug' | 'stale-dma' | 'no-domain' | 'unmapped-dma' | 'msi-not-remapped' | 'stale-msi'
  | 'pasid-entry' | 'address-width' | 'invalidation-queue' | 'page-request' | 'amd-vi' | 'cannot-tell'
  // AMD-Vi and Arm SMMU causes (fault-rules-families.ts)
  | 'gpu-driver' | 'device-quirk' | 'device-table' | 'invalid-request' | 'platform-error' | 'iommu-hang' | 'no-stream-entry'

export type Certainty = 'likely' | 'cannot-tell'

/** What the log itself says beyond the fault lines (built once per triage). */
export interface LogFacts {
  contexts: Map<ContextEvent, {line: number; detail?: string; count: number}>
  /** Devices the log shows being removed from their IOMMU group, with the line. */
  removed: Map<string, number>
  /** Devices the log lists ("Adding to iommu group", or a DMAR device scope Xen printed): functions the kernel or firmware knows. */
  listed: Set<string>
  /** Requesters that also raised interrupt-remapping faults (an IRTE was programmed for them). */
  interruptRequesters: Set<string>
  /** The stamps are seconds since boot, or the IOMMU init line is in the log: timing rules can apply. */
  bootTimeline: boolean
  /** Per function, the drivers the log's own lines name and the trouble they reported ("xhci_hcd 0000:00:14.0: WARN …"). */
  driverLines: Map<string, {drivers: Set<string>; trouble: Array<{line: number; message: string}>; first: number}>
  /** Reserved ranges of the log's e820 map inside low RAM (inclusive ends), with their lines. */
  e820Reserved: Array<{base: bigint; end: bigint; line: number}>
  /** Per function, the vendor, device and class the PCI core's enumeration lines in the log give. */
  pciIds: Map<string, {vendorId: number; deviceId: number; classCode: number}>
  /** Per device, the first DMA-API debug warning that its driver used two directions for one buffer. */
  dmaApiDirection: Map<string, {line: number; message: string}>
}

type Group = Omit<FaultGroup, 'explanation' | 'trace'>

/** Everything a rule condition or wording reads about one fault group. */
export interface FaultFacts {
  g: Group
  trace?: FaultTrace
  ctx: TriageContext
  log: TriageResult['logContext']
  facts: LogFacts
  source: string
  info?: FaultReason
  bus: number
  device: number
  fn: number
  /** RMRRs (decoded table or log lines) that contain the address. */
  rmrrHits: Array<{base: bigint; end: bigint; devices: string[]; cite: string}>
  reservedHits: Array<{region: ReservedRegion; group: number}>
  interruptSource?: {kind: 'ioapic' | 'hpet'; id: number} | 'likely'
  drivers: string[]
  domainTypes: string[]
  timing: 'early-boot' | 'after-boot' | 'unknown'
}

/** Requester classes a rule can ask for. */
type RequesterClass =
  | 'igfx' // the integrated GPU (00:02.0 on Intel platforms; class 0x03 when the host is known)
  | 'ioapic-hpet' // an IOAPIC/HPET source ID (DMAR scope, or f0:1f.x on Intel platforms)
  | 'hidden-me-function' // 00:16.7: the ME/HECI function 7 firmware uses for DMA (no OS device)
  | 'phantom-candidate' // function > 0 with no interrupt of its own, not a known device with a driver
  | 'removed' // the log shows the device leaving its IOMMU group before the fault
  | 'intel-ipu' // the Intel IPU (imaging unit, class 0x0480 at 00:05.0 on client platforms); Xeons put a non-DMA VT-d register device there
  | 'vmd-host' // Intel VMD is on: a VMD controller in the host snapshot, or the vmd driver's lines in the log
  | 'thunderbolt-nhi' // a Thunderbolt/USB4 host interface: class 0x0c0340 or 0x088000 (Intel) on the host, or the thunderbolt driver's lines for it
  | 'bridge-alias-candidate' // BB:00.0 the log never names while it names devices in other slots of bus BB (log alone)
  | 'vmd-location' // BB:05.5 (Skylake/Cascade Lake-SP) or BB:00.5 (Ice Lake-SP and later): where Xeons put the VMD endpoint (log alone)
  | 'vf' // an SR-IOV virtual function: the host's physfn link, or from the log its VF-only driver or VF vendor:device
  | 'vfio' | 'no-driver' | 'identity-domain' | 'behind-vmd' // host facts (snapshot or live host)

/** Address patterns a rule can ask for. */
type AddressPattern = 'zero' | 'legacy-low' | 'in-rmrr' | 'in-e820-reserved' | 'physical-above-4g' | 'dma-api-window'

interface Conditions {
  kind?: 'dma' | 'interrupt'
  /** AMD-Vi / SMMU event type as the kernel names it (IO_PAGE_FAULT, C_BAD_STREAMID …). */
  events?: readonly string[]
  reasons?: readonly number[]
  /** A property of the reason's row (fault-reasons.ts). */
  reasonIs?: 'unmappedAddress' | 'noDomain' | 'pasidEntryMissing'
  access?: 'read' | 'write'
  requester?: RequesterClass
  notRequester?: RequesterClass
  address?: AddressPattern
  timing?: 'early-boot' | 'after-boot'
  /** Any of these lines co-occur in the log. */
  context?: readonly ContextEvent[]
  /** A fact the fields above cannot say (kept rare). */
  also?: (x: FaultFacts) => boolean
}

interface Words {
  summary: string
  causes: string[]
  remediation: string[]
  evidence?: Evidence[]
}

export interface FaultRule {
  id: string
  category: FaultCategory
  certainty?: Certainty
  when: Conditions
  explain: (x: FaultFacts) => Words
}

const hex = (v: bigint | number) => '0x' + v.toString(16)
const IGFX_BDF = '0000:00:02.0'
/**
 * Intel's LPC/eSPI bridge, which sends no MSI of its own: an interrupt request with its source ID
 * is a platform interrupt source that DMAR scopes there — the message-capable HPET in 6 of the 83
 * real DMAR tables in test/fixtures/real/dmar (the others put it at f0:0f.x, fa:0f.x or 00:1e.6).
 */
const LPC_BRIDGE = '0000:00:1f.0'
/**
 * The first MiB above 64 KiB: legacy BIOS, EBDA, option-ROM and USB-emulation memory the DMA API
 * never hands out. Lower addresses look more like a null pointer plus an offset, so they are left out.
 */
const LEGACY_LOW = {from: 0x10000n, to: 0x100000n}
/**
 * Addresses the DMA API does not hand out: Linux allocates a PCI device's IOVAs below 4 GiB first
 * (top-down from 4 GiB; 64-bit IOVAs only with iommu.forcedac or once that space is full), so an
 * address between 4 GiB and 1 TiB looks like a host- or guest-physical RAM address programmed
 * without a mapping. Higher values (kernel virtual addresses, beyond-width garbage) are left out.
 */
const PHYSICAL_ABOVE_4G = {from: 1n << 32n, to: 1n << 40n}
/**
 * The 64 MiB below 4 GiB, where the IOVA allocator starts (it hands out a device's DMA-API
 * addresses top-down from 4 GiB, drivers/iommu/dma-iommu.c) and where x86 has no RAM: the
 * firmware flash, the IOAPICs, HPET and the interrupt window live there. A DMA fault there is a
 * DMA-API mapping, not a firmware or user-space buffer. The interrupt window (0xfee00000–
 * 0xfeefffff, an MSI write) is left out: the allocator reserves it.
 */
const DMA_API_WINDOW = {from: 0xfc000000n, to: 1n << 32n}
const MSI_WINDOW = {from: 0xfee00000n, to: 0xfef00000n}
/** The end of the zero page, which the DMA API never hands out (dma-iommu's IOVA space starts at 1 page or more). */
const ZERO_PAGE_END = 0x1000n
const AFTER_UNMAP = 'DMA after unmap: the driver unmapped or freed the buffer (interface closed, ring reset, device removed) while the device, or a descriptor it had cached, still used it'
/**
 * SR-IOV virtual functions by vendor:device, as the kernel's VF drivers list them: Intel igbvf
 * (82576, I350 and their Hyper-V variants), ixgbevf (82599, X540, X550, X550EM_x/a and Hyper-V
 * variants), iavf (XL710/X710 VF and HV, X722 VF, the Adaptive VF), and the entries of mlx5_core's
 * table marked MLX5_PCI_DEV_IS_VF (Connect-IB through ConnectX-6 and the mlx5Gen VF, BlueField).
 */
const SRIOV_VF_IDS = new Map<number, ReadonlySet<number>>([
  [0x8086, new Set([0x10ca, 0x152d, 0x1520, 0x152f, 0x10ed, 0x152e, 0x1515, 0x1530, 0x1565, 0x1564, 0x15a8, 0x15a9, 0x15c5, 0x154c, 0x1571, 0x37cd, 0x1889])],
  [0x15b3, new Set([0x1012, 0x1014, 0x1016, 0x1018, 0x101a, 0x101c, 0x101e, 0xa2d3])],
])
/**
 * Drivers that bind only virtual functions: their names end in "vf" (ixgbevf, igbvf, i40evf and
 * its successor iavf, cxgb4vf, thunder-nicvf, rvu_nicvf, liquidio_vf, the QAT VF drivers such as
 * 4xxxvf). PF drivers that also bind their VFs (mlx5_core, bnxt_en, qede) say nothing here.
 */
const VF_DRIVER = /(?:vf|_vf)$/

/** From the log alone: the requester's driver binds only VFs, or its enumeration line names a VF's vendor:device. */
function logShowsVf(x: FaultFacts): boolean {
  if ([...(x.facts.driverLines.get(x.g.requester)?.drivers ?? [])].some((d) => VF_DRIVER.test(d))) return true
  const id = x.facts.pciIds.get(x.g.requester)
  return id !== undefined && SRIOV_VF_IDS.get(id.vendorId)?.has(id.deviceId) === true
}

/** Device IDs of Intel VMD controllers (pci_ids / drivers/pci/controller/vmd.c). */
const VMD_DEVICE_IDS = new Set([0x201d, 0x28c0, 0x467f, 0x4c3d, 0x7d0b, 0x9a0b, 0xa77f, 0xad0b, 0xb60b, 0xb06f])

const isVmdController = (d: {vendorId: number; deviceId: number}) => d.vendorId === 0x8086 && VMD_DEVICE_IDS.has(d.deviceId)

/**
 * The host's PCI listing shows Intel VMD: a VMD controller by its device ID, or a device in a PCI
 * domain above 0xffff, which only the vmd driver creates (vmd.c: VMD domains start at 0x10000).
 * Returns what shows it, for the evidence.
 */
export function vmdInTopology(topology: PciTopology | undefined): {bdf: string; what: string} | undefined {
  for (const d of topology?.devices.values() ?? []) {
    if (isVmdController(d)) return {bdf: d.bdf, what: `${d.bdf} is an Intel VMD controller (8086:${d.deviceId.toString(16).padStart(4, '0')})`}
  }
  for (const d of topology?.devices.values() ?? []) {
    if (d.segment > 0xffff) return {bdf: d.bdf, what: `${d.bdf} sits in PCI domain ${d.segment.toString(16)}, a domain only the vmd driver creates`}
  }
  return undefined
}

/** A function's identity: the host's topology when there is one, else the log's own enumeration line. */
function identity(x: FaultFacts, bdf: string): {vendorId: number; deviceId: number; classCode: number; driver?: string} | undefined {
  return x.ctx.topology?.devices.get(bdf) ?? (x.ctx.topology === undefined ? x.facts.pciIds.get(bdf) : undefined)
}

function hasRequester(x: FaultFacts, c: RequesterClass): boolean {
  const topo = x.ctx.topology
  switch (c) {
    case 'igfx': {
      const dev = identity(x, x.g.requester)
      return dev !== undefined ? dev.vendorId === 0x8086 && dev.classCode >> 16 === 0x03 : x.g.requester === IGFX_BDF
    }
    case 'ioapic-hpet':
      return x.interruptSource !== undefined
    case 'hidden-me-function':
      return x.bus === 0 && x.device === 0x16 && x.fn === 7 && topo?.devices.get(x.g.requester) === undefined
    case 'phantom-candidate': {
      if (x.fn === 0 || x.facts.interruptRequesters.has(x.g.requester) || hasRequester(x, 'removed')) return false
      const dev = topo?.devices.get(x.g.requester)
      if (dev !== undefined) return dev.driver === undefined && x.trace?.exists === false
      // From the log alone: a function the kernel did not list while it listed the same slot's function 0.
      const slot0 = `${x.g.requester.slice(0, -1)}0`
      return !x.facts.listed.has(x.g.requester) && (x.facts.listed.size === 0 || x.facts.listed.has(slot0))
    }
    case 'removed': {
      const line = x.facts.removed.get(x.g.requester)
      return line !== undefined && line <= x.g.first.line
    }
    case 'vfio':
      return x.drivers.includes('vfio-pci') || x.facts.driverLines.get(x.g.requester)?.drivers.has('vfio-pci') === true
    case 'no-driver':
      return x.trace !== undefined && x.trace.devices.length > 0 && x.trace.devices.every((d) => d.driver === undefined)
    case 'identity-domain':
      return x.domainTypes.includes('identity')
    case 'vf': {
      if (topo === undefined) return logShowsVf(x)
      // The PF's SR-IOV link (sysfs, or a listing that holds the PF's capability), else the VF's own
      // vendor:device: an lspci text listing of the VF alone shows no link to its PF.
      const dev = topo.devices.get(x.g.requester)
      return dev !== undefined && (dev.physfn !== undefined || SRIOV_VF_IDS.get(dev.vendorId)?.has(dev.deviceId) === true)
    }
    case 'behind-vmd':
      return topo !== undefined ? vmdInTopology(topo) !== undefined : [...x.facts.pciIds.values()].some(isVmdController)
    case 'thunderbolt-nhi': {
      const dev = identity(x, x.g.requester)
      if (dev !== undefined && (dev.classCode === 0x0c0340 || (dev.vendorId === 0x8086 && dev.classCode === 0x088000 && dev.driver === 'thunderbolt'))) return true
      return x.drivers.includes('thunderbolt') || x.facts.driverLines.get(x.g.requester)?.drivers.has('thunderbolt') === true
    }
    case 'vmd-host':
      return hasRequester(x, 'behind-vmd') || x.facts.contexts.has('vmd-domain')
    case 'bridge-alias-candidate':
      return topo === undefined && x.bus !== 0 && x.device === 0 && x.fn === 0 && !x.facts.listed.has(x.g.requester)
        && !x.facts.driverLines.has(x.g.requester) && busPeersNamed(x).length > 0
    case 'vmd-location': {
      // An enumeration line that names another device there overrides the address.
      const dev = x.facts.pciIds.get(x.g.requester)
      return topo === undefined && x.fn === 5 && (x.device === 5 || x.device === 0) && (dev === undefined || (dev.vendorId === 0x8086 && VMD_DEVICE_IDS.has(dev.deviceId)))
    }
    case 'intel-ipu': {
      if (x.bus !== 0 || x.device !== 5 || x.fn !== 0) return false
      const dev = identity(x, x.g.requester)
      return dev === undefined ? topo === undefined : dev.vendorId === 0x8086 && dev.classCode >> 8 === 0x0480
    }
  }
}

function hasAddress(x: FaultFacts, p: AddressPattern): boolean {
  const a = x.g.address
  if (a === undefined || x.g.otherPages) return false
  switch (p) {
    case 'zero':
      // The zero page: a null pointer plus an offset. VT-d prints the page (0x0); AMD-Vi and the
      // SMMUs print the byte (0x40, 0xc0), and no IOVA allocator hands out page 0.
      return a < ZERO_PAGE_END
    case 'legacy-low':
      return a >= LEGACY_LOW.from && a < LEGACY_LOW.to
    case 'in-rmrr':
      return x.rmrrHits.length > 0 || x.reservedHits.some((h) => h.region.type.startsWith('direct'))
    case 'in-e820-reserved':
      return e820Hit(x) !== undefined
    case 'physical-above-4g':
      return a >= PHYSICAL_ABOVE_4G.from && a < PHYSICAL_ABOVE_4G.to
    case 'dma-api-window':
      return a >= DMA_API_WINDOW.from && a < DMA_API_WINDOW.to && !(a >= MSI_WINDOW.from && a < MSI_WINDOW.to)
  }
}

/**
 * Devices in other slots of the requester's bus that the log's driver or group lines name. A bus
 * with endpoints beyond slot 0 (other than bus 0) is a conventional PCI bus behind a bridge, where
 * a PCIe-to-PCI bridge tags its devices' DMA with the alias ID (secondary bus, 00.0).
 */
function busPeersNamed(x: FaultFacts): string[] {
  const bus = x.g.requester.slice(0, 8)
  return [...new Set([...x.facts.driverLines.keys(), ...x.facts.listed])]
    .filter((bdf) => bdf.startsWith(bus) && bdf !== x.g.requester && bdf.slice(8, 10) !== '00').sort()
}

/**
 * The leaf entry of the first CONFIG_DMAR_DEBUG page walk attached to the group, when it is present
 * but lacks the permission the faulting access needed while it grants the other one: a mapping made
 * for the other DMA direction. Legacy/second-level format (reasons 0x05/0x06): bit 0 read, bit 1
 * write, bit 7 a superpage leaf above level 1.
 */
function dumpedWrongDirectionLeaf(x: FaultFacts): {level: number; value: bigint; line: string} | undefined {
  let started = false
  let last: {level: number; value: bigint; line: string} | undefined
  for (const l of x.g.walkDump) {
    if (l.includes('table entries for IOVA')) {
      if (started) break
      started = true
      continue
    }
    const m = /pte level: (\d+), pte value: 0x([0-9a-f]+)/i.exec(l)
    if (m !== null) last = {level: Number(m[1]), value: BigInt('0x' + m[2]!), line: l}
  }
  if (last === undefined || (last.level !== 1 && (last.value & 0x80n) === 0n)) return undefined
  const readable = (last.value & 1n) !== 0n
  const writable = (last.value & 2n) !== 0n
  return (x.g.access === 'write' && readable && !writable) || (x.g.access === 'read' && writable && !readable) ? last : undefined
}

/** Lines this many before a fault still count as what its driver was doing at the time. */
const TROUBLE_WINDOW = 30

/** The requester's own driver line shortly before the group's first fault that `test` accepts. */
function driverLineBefore(x: FaultFacts, test: (message: string) => boolean): {line: number; message: string; driver: string} | undefined {
  const d = x.facts.driverLines.get(x.g.requester)
  const t = d?.trouble.find((v) => v.line < x.g.first.line && v.line >= x.g.first.line - TROUBLE_WINDOW && test(v.message))
  return t === undefined ? undefined : {...t, driver: [...d!.drivers][0]!}
}

/** The requester's own driver reporting trouble (cancel, abort, timeout, reset) shortly before the group's first fault. */
const troubleBefore = (x: FaultFacts) => driverLineBefore(x, (m) => TROUBLE.test(m))

/** The requester's own NIC driver reporting its link down shortly before the group's first fault (and no trouble words). */
const linkDownBefore = (x: FaultFacts) => driverLineBefore(x, (m) => LINK_DOWN.test(m))

/**
 * The requester's driver, when the log starts at boot (it holds the firmware's e820 map, printed
 * first) and that driver's first line comes after the group's first fault. In an excerpt that starts
 * later, a driver's first line there says nothing about when the driver bound.
 */
function driverAfter(x: FaultFacts): {driver: string; line: number} | undefined {
  if (!x.facts.contexts.has('e820-usable') && !x.facts.contexts.has('e820-reserved')) return undefined
  const d = x.facts.driverLines.get(x.g.requester)
  return d === undefined || d.first <= x.g.first.line ? undefined : {driver: [...d.drivers][0]!, line: d.first}
}

/** The log's e820-reserved range that holds the faulting address, if any. */
function e820Hit(x: FaultFacts): LogFacts['e820Reserved'][number] | undefined {
  const a = x.g.address
  return a === undefined || x.g.kind !== 'dma' ? undefined : x.facts.e820Reserved.find((r) => a >= r.base && a <= r.end)
}

export function ruleApplies(rule: FaultRule, x: FaultFacts): boolean {
  const w = rule.when
  if (w.kind !== undefined && x.g.kind !== w.kind) return false
  if (w.events !== undefined && (x.g.event === undefined || !w.events.includes(x.g.event))) return false
  if (w.reasons !== undefined && (x.g.reason === undefined || !w.reasons.includes(x.g.reason))) return false
  if (w.reasonIs !== undefined && x.info?.[w.reasonIs] !== true) return false
  if (w.access !== undefined && x.g.access !== w.access) return false
  if (w.requester !== undefined && !hasRequester(x, w.requester)) return false
  if (w.notRequester !== undefined && hasRequester(x, w.notRequester)) return false
  if (w.address !== undefined && !hasAddress(x, w.address)) return false
  if (w.timing !== undefined && x.timing !== w.timing) return false
  if (w.context !== undefined && !w.context.some((c) => x.facts.contexts.has(c) || hostShows(x, c))) return false
  return w.also === undefined || w.also(x)
}

/**
 * Context the host shows when the log does not: the host's /proc/cmdline (live host or --root
 * snapshot) carrying elfcorehdr=, which kexec adds for a kdump capture kernel, says what the log's
 * "Kernel command line:" line would have said.
 */
function hostShows(x: FaultFacts, c: ContextEvent): boolean {
  return c === 'kdump-kernel' && x.ctx.cmdline !== undefined && /(?:^|\s)elfcorehdr=\S/.test(x.ctx.cmdline.text)
}

/** A context event from the log (its line) or from the host (its file), as evidence. */
function citeLogOrHost(x: FaultFacts, c: ContextEvent, fact: string): Evidence[] {
  if (x.facts.contexts.has(c)) return cite(x, c, fact)
  return hostShows(x, c) ? [{fact: `the host's ${fact.replace(/^the /, '')}`, source: x.ctx.cmdline!.source}] : []
}

/** The requester in words: the device, or — for an alias ID — the devices that may hide behind it. */
function who(x: FaultFacts): string {
  const aliases = x.trace?.devices.filter((d) => d.relation === 'alias') ?? []
  if (x.trace?.exists === false && aliases.length > 0) {
    const list = aliases.map((d) => `${d.bdf}${d.driver ? ` (${d.driver})` : ' (no driver)'}`).join(', ')
    return `${x.g.requester} (an alias ID: ${aliases.length > 1 ? 'one of ' : ''}${list}, via ${aliases[0]!.via ?? 'a bridge'})`
  }
  const vf = x.trace?.devices.find((d) => d.relation === 'vf-not-present')
  if (vf !== undefined) return `${x.g.requester} (${vf.detail})`
  return x.g.requester
}

/** The faulting address in words. */
function at(x: FaultFacts): string {
  if (x.g.otherPages) return 'many other pages'
  return x.g.address === undefined ? 'an address the log does not show (redacted)' : hex(x.g.address)
}

/** "the log alone does not tell", or with a host snapshot "neither the log nor this host tells". */
const notTold = (x: FaultFacts) => (x.ctx.topology === undefined ? 'the log alone does not tell' : 'neither the log nor this host tells')

const did = (x: FaultFacts) => (x.g.access === 'write' ? 'wrote to' : x.g.access === 'read' ? 'read' : 'accessed')

/** The low bit of the PASID-directory entry the kernel dumped (CONFIG_DMAR_DEBUG), if any. */
function dumpedPasidDirPresent(x: FaultFacts): boolean {
  const m = x.g.walkDump.map((l) => /pasid dir entry: 0x([0-9a-f]+)/.exec(l)).find((v) => v !== null)
  return m != null && (Number.parseInt(m[1]!.slice(-1), 16) & 1) === 1
}

const cite = (x: FaultFacts, event: ContextEvent, fact: string): Evidence[] => {
  const c = x.facts.contexts.get(event)
  return c === undefined ? [] : [{fact, source: `${x.source}:${c.line}`}]
}

const EARLY_BOOT_REASONS = [0x01, 0x02, 0x05, 0x06, 0x07, 0x39, 0x41, 0x51, 0x71]
const NO_DOMAIN_REASONS = [0x02, 0x41]
const ROOT_REASONS = [0x01, 0x39]
/** Reserved bits in a root, context, PASID or paging entry (legacy 0Ah–0Ch; scalable-mode 3Ah, 42h, 52h, 5Ah, 72h, 7Ah). */
const RESERVED_FIELD_REASONS = [0x0a, 0x0b, 0x0c, 0x3a, 0x42, 0x52, 0x5a, 0x72, 0x7a]

/** The candidates for an integrated-GPU fault, as the kernel's igfx quirks and i915 history record them. */
const IGFX_CANDIDATES = [
  'an i915 graphics driver bug handing the GPU a wrong address (GGTT/PTE encoding, async flip, GuC load — fixed in newer kernels)',
  'a graphics erratum with DMA remapping that the kernel works around by model: Ironlake/Calpella (QM57) shadow GTT, Broadwell, and superpage use on Skylake/Broxton/Geminilake',
  'firmware-reserved stolen memory (RMRR) the iGPU still uses after it moved to another domain (GVT-d/VM passthrough, guest reboot)',
  'the display engine still scanning out a buffer that was freed or unmapped',
]
const IGFX_REMEDIATION = [
  'update the kernel: newer kernels carry more igfx quirks (superpage off, IOMMU off for known-bad graphics)',
  'intel_iommu=igfx_off leaves the iGPU untranslated (it is then unprotected and cannot be passed through); under Xen the option is iommu=no-igfx',
  'for iGPU passthrough: give the guest the IGD options it needs (stolen memory, OpRegion) and reset the iGPU between guests',
]

export const FAULT_RULES: readonly FaultRule[] = [
  {
    id: 'chipset-ir-erratum',
    category: 'ir-erratum',
    when: {context: ['ir-erratum']},
    explain: (x) => ({
      summary: `this platform's chipset has a VT-d interrupt-remapping erratum (Intel 5500/5520/X58 I/O hub): the kernel disabled interrupt remapping, and ${who(x)}'s fault comes from an unstable VT-d platform`,
      causes: ['the 5500/5520 IOH erratum (revisions 0x12, 0x13, 0x22) the kernel detects and reports at boot', 'a BIOS that enables interrupt remapping on that chipset'],
      remediation: ['update the BIOS (vendors shipped fixes for the erratum)', 'intel_iommu=on iommu=pt keeps DMA protection for assigned devices only; intremap=off or VT-d off in firmware if nothing needs it'],
      evidence: cite(x, 'ir-erratum', 'the kernel reported the chipset interrupt-remapping erratum'),
    }),
  },
  {
    id: 'ioapic-not-remapped',
    category: 'kernel-bug',
    when: {kind: 'interrupt', reasons: [0x25], context: ['ioapic-timer-panic']},
    explain: (x) => ({
      summary: `${who(x)} is the IOAPIC, and its timer interrupt arrived in compatibility format: the kernel never routed the IOAPIC through interrupt remapping, so the boot panicked`,
      causes: ['a kernel regression in the x86 interrupt-domain setup (the 5.10-rc1 IOAPIC/HPET irqdomain rework did this)'],
      remediation: ['boot the previous kernel and update to a fixed stable release', 'report it to the x86/IOMMU maintainers with this log'],
      evidence: cite(x, 'ioapic-timer-panic', 'the kernel panicked: "timer doesn\'t work through Interrupt-remapped IO-APIC"'),
    }),
  },
  {
    id: 'kdump-pasid-tables',
    category: 'kdump',
    when: {kind: 'dma', reasons: [0x59, 0x51], context: ['fault-dump-oops']},
    explain: (x) => ({
      summary: `a kdump kernel: it took over the crashed kernel's context tables but not its scalable-mode PASID tables, so ${who(x)}'s in-flight DMA hit a missing PASID entry, and the fault dumper then oopsed walking those tables`,
      causes: ['the kdump kernel copies legacy context tables only', 'dmar_fault_dump_ptes() dereferencing PASID tables that were not copied'],
      remediation: ['update the kernel ("iommu/vt-d: Don\'t dump pasid table entries in kdump kernel")', 'until then: intel_iommu=sm_off in the kdump kernel\'s command line'],
      evidence: cite(x, 'fault-dump-oops', 'an oops in dmar_fault_dump_ptes followed the fault'),
    }),
  },
  {
    id: 'kdump-takeover',
    category: 'kdump',
    when: {kind: 'dma', context: ['kdump-tables-copied', 'kdump-kernel']},
    explain: (x) => (x.facts.contexts.get('kdump-tables-copied')?.detail === 'not a kdump kernel' && !x.facts.contexts.has('kdump-kernel') && !hostShows(x, 'kdump-kernel') ? {
      summary: `translation was already on when this kernel started, and it is not a kdump kernel: it turned translation off and built new tables, so ${who(x)} was still doing DMA set up before it (by a kexec'd kernel or the firmware) at an address the new tables do not map`,
      causes: ['kexec (not kdump) from a kernel whose driver did not stop the device (no .shutdown handler, or kexec -e without a clean shutdown)', 'firmware that leaves DMA remapping on at hand-off while a device it drove keeps DMA-ing'],
      remediation: ['stop devices before kexec (systemctl kexec rather than kexec -e; a driver without a .shutdown handler needs one)', 'reset_devices on the new kernel\'s command line makes drivers reset their devices at probe', 'if no kexec happened: update the firmware and report that it leaves VT-d enabled'],
      evidence: cite(x, 'kdump-tables-copied', 'the kernel found translation enabled although it is not a kdump kernel ("… but we are not in kdump mode")'),
    } : {
      summary: `a kdump/kexec kernel taking over the previous kernel's translation tables: ${who(x)} was still doing DMA set up by the old kernel`,
      causes: ['in-flight DMA from devices the crashed kernel left running', 'scalable-mode PASID tables are not copied (0x51/0x59 faults)'],
      remediation: ['expected while the new kernel resets the devices; worry only if it continues after the drivers load', 'reset_devices in the kdump command line; update the kernel'],
      evidence: [...cite(x, 'kdump-tables-copied', 'the kernel copied the previous kernel\'s translation tables'),
        ...citeLogOrHost(x, 'kdump-kernel', 'the kernel command line carries elfcorehdr=: this is a kdump capture kernel')],
    }),
  },
  {
    id: 'pasid-directory-not-coherent',
    category: 'kernel-bug',
    when: {reasons: [0x51], also: dumpedPasidDirPresent},
    explain: (x) => ({
      summary: `the hardware saw ${who(x)}'s PASID-directory entry as not present, yet the kernel's own dump shows it present: the IOMMU read a stale copy (a missing cache flush on a non-coherent unit)`,
      causes: ['a kernel bug on units without page-walk coherency (fixed by "iommu/vt-d: Fix PASID directory pointer coherency", 2023)'],
      remediation: ['update the kernel to a stable release with the PASID-directory coherency fix'],
    }),
  },
  {
    // Root, context, PASID and paging entries are written by the OS's IOMMU driver (or the
    // hypervisor), never by the device: reserved bits in one (VT-d spec §7.1.3, fault reasons
    // 0Ah–0Ch and their scalable-mode rows) say the table or the unit's cached copy of it is wrong,
    // whatever address the device used. Real causes: a kernel regression (6.11-rc1's VT-d paging-domain
    // rework broke WD19TB docks' xHCI with 0Ch, bugzilla 219198), a superpage or snoop bit the unit
    // does not support (a Haswell unit with superpages enabled once igfx_off dropped the graphics
    // unit from the capability intersection), an emulated IOMMU whose capabilities differ.
    id: 'reserved-bits-in-kernel-table',
    category: 'kernel-bug',
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasons: RESERVED_FIELD_REASONS},
    explain: (x) => ({
      summary: `the IOMMU found reserved or unsupported bits in a translation-table entry for ${who(x)}: those tables are written by the kernel's IOMMU driver (or a hypervisor), not by the device, so the kernel's tables or the unit's cached copy of them are wrong; ${notTold(x)} which kernel change or unsupported feature bit`,
      causes: ['a kernel (IOMMU driver) regression: update to a fixed stable release, or boot the last good one to confirm',
        'a feature bit the unit does not support set by the kernel: a superpage (SLLPS) or snoop-control bit, e.g. with intel_iommu=igfx_off, which drops the graphics unit from the capability check',
        'an emulated IOMMU (QEMU, VMware, Xen) whose capabilities differ from what the guest kernel assumed',
        'a stale cached walk after a missed invalidation'],
      remediation: ['try the previous kernel and a current stable one; report a difference to the IOMMU maintainers with this line',
        'as a test: intel_iommu=sp_off (no superpages), or drop igfx_off', 'iommu=pt keeps the device out of translation until fixed'],
    }),
  },
  {
    id: 'device-removed-while-active',
    category: 'stale-dma',
    when: {kind: 'dma', requester: 'removed'},
    explain: (x) => ({
      summary: `${who(x)} was removed from its IOMMU group (line ${x.facts.removed.get(x.g.requester)}) while it was still doing DMA: its translation was torn down under a running device`,
      causes: ['hot-unplug or sysfs remove of a device whose driver did not stop it first (a user still held it open)', 'driver unbind without quiescing the device'],
      remediation: ['stop the device\'s users and unbind its driver before removing it', 'update the driver: hot-unplug must stop DMA before removal'],
    }),
  },
  iommuMapWarning('iommu-map-warning', {kind: 'dma'}),
  {
    id: 'driver-unmaps-unmatched',
    category: 'kernel-bypass',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', context: ['unmap-unmatched']},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, a buffer its driver never mapped through the DMA API — the kernel also caught that driver unmapping a page it never mapped`,
      causes: ['an out-of-tree or kernel-bypass driver (netmap, PF_RING ZC, DPDK/UIO helpers) handing the device buffers outside the DMA API', 'a driver bug in its DMA bookkeeping'],
      remediation: ['use the framework\'s IOMMU-aware mode (vfio-pci for DPDK, the IOMMU support of netmap/PF_RING) or its patched driver', 'on trusted hardware only: iommu=pt for that device class'],
      evidence: cite(x, 'unmap-unmatched', 'the kernel warned in intel_unmap: a driver unmapped a page it never mapped'),
    }),
  },
  {
    id: 'wrong-direction-in-walk-dump',
    category: 'wrong-direction',
    when: {kind: 'dma', reasons: [0x05, 0x06], also: (x) => dumpedWrongDirectionLeaf(x) !== undefined},
    explain: (x) => {
      const leaf = dumpedWrongDirectionLeaf(x)!
      const write = x.g.access === 'write'
      return {
        summary: `${who(x)} ${did(x)} ${at(x)}, and the kernel's page-table dump shows that page mapped ${write ? 'read-only' : 'write-only'} for it (leaf PTE ${hex(leaf.value)} at level ${leaf.level}): the buffer was mapped for the other DMA direction (${write ? 'DMA_TO_DEVICE, which the device may only read' : 'DMA_FROM_DEVICE, which the device may only write'})`,
        causes: [`a driver mapping the buffer with the wrong direction: the device ${write ? 'writes' : 'reads'} it, so it needs ${write ? 'DMA_FROM_DEVICE' : 'DMA_TO_DEVICE'} or DMA_BIDIRECTIONAL`,
          'a direction enum or flag translated wrongly between a user-space API and the kernel\'s enum dma_data_direction'],
        remediation: [`fix the driver's dma_map_*() direction for this buffer (${write ? 'DMA_FROM_DEVICE' : 'DMA_TO_DEVICE'}, or DMA_BIDIRECTIONAL if the device does both)`,
          'CONFIG_DMA_API_DEBUG names the mapping call; iommu=pt only hides the bug'],
        evidence: [{fact: `the walk dump's leaf entry ${hex(leaf.value)}: read ${(leaf.value & 1n) !== 0n ? 'set' : 'clear'}, write ${(leaf.value & 2n) !== 0n ? 'set' : 'clear'}`, source: `${x.source}:${leaf.line.split(':')[0]}`}],
      }
    },
  },
  {
    id: 'wrong-direction-dma-api-debug',
    category: 'wrong-direction',
    when: {kind: 'dma', reasons: [0x05, 0x06], also: (x) => x.facts.dmaApiDirection.has(x.g.requester)},
    explain: (x) => {
      const w = x.facts.dmaApiDirection.get(x.g.requester)!
      return {
        summary: `${who(x)} ${did(x)} ${at(x)}, which is not mapped ${x.g.access === 'write' ? 'writable' : 'readable'} for it, and the DMA-API debug checker caught its driver using two directions for one buffer ("${w.message}"): a wrong DMA direction`,
        causes: ['the driver maps a buffer with one direction and uses it (or unmaps it) with another; with an IOMMU the mapping\'s direction decides whether the device may read or write it',
          'DMA after unmap of a buffer whose direction bookkeeping is broken'],
        remediation: ['make the driver map every buffer with the direction the device uses it in (DMA_FROM_DEVICE for buffers the device writes, DMA_TO_DEVICE for those it reads, DMA_BIDIRECTIONAL for both) and unmap with the same direction',
          'report it to the driver\'s maintainers with both lines'],
        evidence: [{fact: `DMA-API debug: ${w.message}`, source: `${x.source}:${w.line}`}],
      }
    },
  },
  {
    id: 'address-in-rmrr',
    category: 'firmware-dma',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', address: 'in-rmrr'},
    explain: (x) => {
      const direct = x.reservedHits.find((h) => h.region.type.startsWith('direct'))
      const r = x.rmrrHits[0] ?? {base: direct!.region.start, end: direct!.region.end}
      const igfx = hasRequester(x, 'igfx')
      return {
        summary: `${who(x)} ${did(x)} ${at(x)}, inside RMRR [${hex(r.base)}-${hex(r.end)}]: firmware-reserved memory that the device's current domain does not map`,
        causes: [
          'the device moved to a domain without the RMRR identity map (assigned to a VM through VFIO, or a relaxable RMRR dropped)',
          igfx ? 'the integrated GPU still uses stolen/GTT memory the firmware reserved (GVT-d, guest driver, boot framebuffer)' : 'firmware (SMM/ME/BMC/USB legacy emulation) keeps DMA-ing into the range for this device',
        ],
        remediation: igfx
          ? ['for iGPU passthrough: give the guest the IGD options it needs (stolen memory/OpRegion) or keep the iGPU on the host',
            'smallest DVMT pre-allocation in firmware setup reduces the reserved range',
            'intel_iommu=igfx_off stops translation for the iGPU (it is then unprotected and cannot be passed through)']
          : ['do not assign a device that has an RMRR; choose another device or slot',
            'disable the firmware feature that owns the range (USB legacy support, HPE "shared memory" per slot)',
            'update the firmware'],
      }
    },
  },
  {
    id: 'dma-after-driver-gave-up',
    category: 'stale-dma',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', notRequester: 'igfx', also: (x) => troubleBefore(x) !== undefined},
    explain: (x) => {
      const t = troubleBefore(x)!
      return {
        summary: `${who(x)} ${did(x)} ${at(x)} right after its driver (${t.driver}) reported "${t.message}": the device still finished work the driver had cancelled, aborted or reset, into a buffer already unmapped — DMA after unmap`,
        causes: ['a driver that frees or unmaps a request\'s buffers when it gives up on it (cancel, abort, timeout, reset) while the device, or a descriptor it cached, still completes it',
          'a device that ignores the cancel or reset and keeps DMA-ing'],
        remediation: ['update the kernel: such races are fixed in the driver (e.g. xHCI moving past cancelled TRBs before freeing them); report this line with the driver message to its maintainers',
          'iommu.strict=1 makes the fault appear at once, next to the request that caused it'],
        evidence: [{fact: `${t.driver} reported "${t.message}" for ${x.g.requester}`, source: `${x.source}:${t.line}`}],
      }
    },
  },
  {
    id: 'thunderbolt-connection-manager-dma',
    category: 'firmware-dma',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', requester: 'thunderbolt-nhi'},
    explain: (x) => ({
      summary: `${who(x)} is a Thunderbolt/USB4 host interface: its firmware connection manager (ICM) ${did(x)} ${at(x)} before or after the thunderbolt driver owned its rings — firmware DMA the kernel did not map`,
      causes: ['Thunderbolt controller firmware (e.g. Maple Ridge, Titan Ridge ICM) writing to host memory when nothing is connected at driver load, or across suspend/resume',
        'pre-boot Thunderbolt support in the firmware leaving the controller active'],
      remediation: ['update the kernel (the thunderbolt driver carries workarounds for these controllers) and the Thunderbolt/system firmware',
        'disable Thunderbolt pre-boot support in firmware setup if unused'],
    }),
  },
  {
    id: 'address-in-e820-reserved',
    category: 'firmware-dma',
    // The iGPU's stolen memory is e820-reserved too; the igfx rules below know that case better.
    when: {kind: 'dma', reasonIs: 'unmappedAddress', address: 'in-e820-reserved', notRequester: 'igfx'},
    explain: (x) => {
      const r = e820Hit(x)!
      return {
        summary: `${who(x)} ${did(x)} ${at(x)}, inside the e820-reserved range [${hex(r.base)}-${hex(r.end)}]: memory the firmware keeps for itself and the kernel never hands to drivers, with no RMRR asking the IOMMU to map it — firmware-initiated DMA the platform did not declare`,
        causes: ['firmware (SMM, ME/CSME, BMC, USB legacy emulation, a Thunderbolt/USB4 connection manager) DMA-ing into its own buffer for this device',
          'a missing RMRR in the DMAR table for that buffer (a firmware bug)'],
        remediation: ['update the firmware; report the missing RMRR with this line and the e820 map to the platform vendor',
          'disable the firmware feature that owns the device\'s DMA (USB legacy support, BMC shared NIC, Thunderbolt pre-boot support) if not needed'],
        evidence: [{fact: `e820 map: [${hex(r.base)}-${hex(r.end)}] reserved`, source: `${x.source}:${r.line}`}],
      }
    },
  },
  {
    id: 'early-boot-firmware-dma',
    category: 'firmware-dma',
    when: {kind: 'dma', reasons: EARLY_BOOT_REASONS, timing: 'early-boot'},
    explain: (x) => ({
      summary: `${who(x)} did DMA ${x.g.first.time?.text ?? ''}s after boot, before the kernel finished setting up its tables: firmware-initiated DMA still running`,
      causes: [hasRequester(x, 'igfx') ? 'the GPU still scanning out the firmware (GOP) framebuffer' : 'a boot-time firmware driver (PXE, USB, NVMe) left the device DMA-ing', 'a missing or incomplete RMRR for that firmware buffer'],
      remediation: ['harmless only if it stops once the driver loads and the device then works; if its probe fails, the firmware DMA is what breaks it',
        'update the firmware; report the missing RMRR to the platform vendor'],
    }),
  },
  {
    id: 'igfx-null-surface',
    category: 'igfx',
    when: {kind: 'dma', requester: 'igfx', reasonIs: 'unmappedAddress', address: 'zero'},
    explain: (x) => ({
      summary: `the integrated GPU ${did(x)} address 0: a plane, ring or context without a valid surface address — an i915 graphics driver bug`,
      causes: ['i915 leaving stale plane state (async flip) or a zeroed GTT entry', ...IGFX_CANDIDATES.slice(1, 2)],
      remediation: ['update the kernel (i915 fixes)', 'report it to the i915 tracker with this line', ...IGFX_REMEDIATION.slice(1, 2)],
    }),
  },
  {
    id: 'igfx',
    category: 'igfx',
    certainty: 'cannot-tell',
    when: {kind: 'dma', requester: 'igfx'},
    explain: (x) => ({
      summary: `the integrated GPU ${did(x)} ${at(x)} and the IOMMU refused it; ${notTold(x)} which of the known iGPU causes this is`,
      causes: IGFX_CANDIDATES,
      remediation: IGFX_REMEDIATION,
    }),
  },
  {
    id: 'hidden-me-function',
    category: 'dma-alias',
    when: {kind: 'dma', requester: 'hidden-me-function'},
    explain: (x) => ({
      summary: `${who(x)} is function 7 of the ME/HECI slot — a hidden function the firmware (ME, its TPM 2.0/CRB) uses for DMA; the OS has no device there, so nothing maps its buffers`,
      causes: ['Intel 8 Series HECI (CRB TPM 2.0) does DMA with the hidden function 7 requester ID', 'the BIOS gives no RMRR for the firmware buffer'],
      remediation: ['a DMA-alias quirk for HECI function 7 plus an RMRR in the DMAR table (proposed upstream, not merged)', 'disable the firmware TPM (PTT) if not needed, or update the BIOS'],
    }),
  },
  {
    id: 'intel-ipu-private-tables',
    category: 'kernel-bypass',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', requester: 'intel-ipu'},
    explain: (x) => ({
      summary: `${who(x)} is the Intel IPU (imaging unit): it walks its own MMU page tables, which its driver allocates without mapping them through the DMA API, so the IOMMU blocks the ${x.g.access ?? 'DMA'} of ${at(x)}`,
      causes: ['the IPU3/IPU6 driver keeps private page tables outside the DMA API (in-tree since the IPU3 MMU driver)', 'the firmware-loaded IPU doing DMA the driver did not map'],
      remediation: ['update the kernel: newer kernels put the Intel IPUs in an identity (passthrough) domain ("iommu/vt-d: Use passthrough mode for the Intel IPUs")',
        'until then: iommu=pt, or disable the camera (IPU) in firmware setup if unused'],
    }),
  },
  {
    id: 'dma-to-address-zero',
    category: 'address-zero',
    when: {kind: 'dma', address: 'zero', also: (x) => x.info?.unmappedAddress === true || x.info?.noDomain === true},
    explain: (x) => ({
      summary: x.g.access === 'read'
        ? `${who(x)} read address 0: it used a descriptor or buffer pointer nobody programmed`
        : `${who(x)} wrote to address 0: most often an interrupt (MSI) whose address register is still 0, or a DMA buffer address its driver never set`,
      causes: [
        // An MSI is a write: a read of address 0 cannot be one.
        ...(x.g.access === 'read' ? [] : ['the device signalled an MSI before its driver set up the MSI address (or after it was torn down): an MSI is a DMA write to the programmed address']),
        'the device is active before its driver programmed it (firmware left it running) or uses a register the driver never set',
        'a driver or user-space driver (VFIO/UIO/SPDK) handing the device a null DMA address',
      ],
      remediation: ['update the driver and the device firmware; report the fault line to the driver maintainers',
        'if a user-space driver owns the device, check that every buffer and interrupt address it programs is set and mapped',
        'last resort on trusted hardware: iommu=pt (removes DMA protection)'],
    }),
  },
  {
    id: 'device-unknown-to-iommu',
    category: 'kernel-bug',
    // A live device (it raises interrupts) with neither a context entry nor a usable IRTE: the
    // kernel never attached it to the IOMMU, rather than a phantom ID or a rebind in progress.
    when: {kind: 'dma', reasonIs: 'noDomain', timing: 'after-boot', also: (x) => x.facts.interruptRequesters.has(x.g.requester)},
    explain: (x) => ({
      summary: `${who(x)} is a live device (it also raised interrupt-remapping faults) with no context entry: the kernel set up neither its DMA domain nor its interrupt remapping — the IOMMU does not know the device`,
      causes: ['a device hot-added or removed and rescanned after boot whose DMAR device scope the kernel did not update (a kernel bug, fixed by updating the device-scope caches on PCI hotplug)',
        'the device answering with another requester ID than the one the kernel set up (bus renumbered under it)'],
      remediation: ['update the kernel; report it with the hotplug/rescan steps that preceded the faults', 'a reboot with the device present at boot attaches it'],
    }),
  },
  {
    id: 'phantom-function',
    category: 'dma-alias',
    // A real function DMA-ing while its driver is rebound looks the same in the log.
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasons: [...NO_DOMAIN_REASONS, ...ROOT_REASONS], requester: 'phantom-candidate'},
    explain: (x) => ({
      summary: `${who(x)} (function ${x.fn}) has no context entry and raised no interrupt of its own: a phantom function or DMA alias (the device does DMA with a requester ID the kernel never attached), unless that function was being rebound`,
      causes: [
        'a DMA-alias quirk the kernel lacks: Marvell 88SE91xx/92xx SATA use function 1, Ricoh card readers and JMicron controllers use function 0 for other functions',
        'an NTB (Switchtec, PLX) forwarding DMA with proxy requester IDs',
        'a device behind a PCIe-to-PCI bridge whose traffic carries the bridge\'s ID',
        'a real function DMA-ing while its driver was unbound or rebound (vfio-pci, DPDK/UIO)',
      ],
      remediation: ['run `vtd-check device` on the slot\'s function 0: it shows the aliases the kernel knows',
        'a newer kernel may carry the quirk (drivers/pci/quirks.c quirk_dma_func1_alias / quirk_dma_func0_alias); otherwise report the vendor:device ID to linux-pci',
        'move the card to a slot not behind a PCIe-to-PCI bridge'],
    }),
  },
  {
    // The reason line was lost (a quote without Xen's "reason NN" lines, a two-line head alone), so
    // the rule above cannot see "no context entry"; what remains is a function the log never names
    // while it names function 0 of the same device (a group line, or the DMAR device scope Xen
    // prints): xen-emulex-be3-hidden-functions-rmrr, functions 4-7 of a be3 that enumerates 0-3.
    id: 'phantom-function-reason-lost',
    category: 'dma-alias',
    certainty: 'cannot-tell',
    when: {kind: 'dma', requester: 'phantom-candidate', also: (x) => x.g.reason === undefined && x.facts.listed.has(`${x.g.requester.slice(0, -1)}0`)},
    explain: (x) => ({
      summary: `${who(x)} (function ${x.fn}) is a function the log never names, while it names function 0 of the same device, and it raised no interrupt of its own: most likely a hidden or phantom function DMA-ing with a requester ID no context entry covers (a DMA alias); the reason line is missing, so ${notTold(x)} for certain`,
      causes: [
        'device firmware using requester IDs of functions it does not enumerate (statistics or management DMA from hidden functions, the phantom-function mechanism)',
        'a DMA-alias quirk the kernel or hypervisor lacks (Marvell 88SE91xx/92xx function 1, Ricoh/JMicron function 0)',
        'a real function DMA-ing while its driver was unbound or rebound',
      ],
      remediation: [`check which functions exist: lspci -s ${x.g.requester.slice(5, -2)}`,
        'Xen: pci-phantom=BB:DD,STRIDE makes the extra requester IDs share the enumerated functions\' contexts; Linux: a DMA-alias quirk (drivers/pci/quirks.c) for the vendor:device',
        'find the line with the fault\'s reason: "no context entry" (02h) confirms an unattached requester ID'],
    }),
  },
  {
    id: 'pcie-to-pci-bridge-alias',
    category: 'dma-alias',
    // A real device at 00.0 that the excerpt happens not to name looks the same.
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasonIs: 'noDomain', requester: 'bridge-alias-candidate'},
    explain: (x) => ({
      summary: `${who(x)} is device 0 of bus ${x.g.requester.slice(5, 7)}, which the log never names, while it names ${busPeersNamed(x).join(', ')} on that bus: most likely the ID a PCIe-to-PCI bridge puts on the DMA of the conventional PCI devices behind it (its secondary bus, 00.0) — an alias with no context entry, unless a real device at 00.0 was being rebound`,
      causes: ['conventional PCI devices behind a PCIe-to-PCI (or PCI-X) bridge: their DMA carries the bridge\'s alias requester ID, which the kernel must map along with the devices',
        'a bridge or topology the kernel\'s DMA-alias walk did not recognise, so the alias ID got no context entry',
        'a real device at that address DMA-ing while its driver was unbound or rebound'],
      remediation: ['run `vtd-check device` on the named devices: it shows the aliases the kernel set up for them (lspci -tv shows the bridge)',
        'update the kernel; report the bridge and the devices behind it to the IOMMU maintainers if the alias is missing',
        'move the card to a slot that is not behind the bridge; intel_iommu=off or iommu=pt only as a last resort (they remove DMA protection)'],
    }),
  },
  {
    id: 'legacy-low-memory-dma',
    category: 'firmware-dma',
    // The address rules out the DMA API, not the other ways a device gets a low physical address:
    // no VT-d case in the first MiB has had its cause established (a Xen dom0 device writing
    // 0x8c000, QubesOS/qubes-issues#1710, never was).
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', address: 'legacy-low'},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, in the first MiB (legacy BIOS memory the DMA API never hands out): not a mapping a Linux driver made through the DMA API — most likely DMA that firmware set up, though a driver or hypervisor handing the device a low physical address looks the same`,
      causes: ['BIOS legacy USB emulation (EHCI/UHCI/xHCI SMM hand-off not done) or an option ROM left the device DMA-ing',
        'a driver that gives the device physical addresses instead of DMA-API mappings (out-of-tree or user-space drivers; kernels before 5.13 could allocate low memory to drivers)',
        'a VMM memory map that no longer covers the legacy region the device still uses'],
      remediation: ['disable legacy USB support / CSM in firmware setup', 'make sure the USB hand-off quirk runs (usb-pci quirks) and update the firmware'],
    }),
  },
  {
    id: 'dma-before-driver-bound',
    category: 'firmware-dma',
    // A driver that DMAs during its probe before its first message looks the same.
    certainty: 'cannot-tell',
    // An address in the DMA-API window was a mapping a kernel made, not firmware's (dma-api-mapping-gone).
    when: {kind: 'dma', reasonIs: 'unmappedAddress', also: (x) => driverAfter(x) !== undefined && !hasAddress(x, 'dma-api-window')},
    explain: (x) => {
      const d = driverAfter(x)!
      return {
        summary: `${who(x)} ${did(x)} ${at(x)} (line ${x.g.first.line}) before its driver (${d.driver}) printed anything about it since boot (line ${d.line}): DMA the Linux driver had not started yet, unless it DMA-ed during its probe before its first message`,
        causes: ['firmware, an option ROM or a boot loader left the device running, with no RMRR/IVMD mapping its buffers',
          'a previous kernel (kexec) or a driver unbound earlier left the device DMA-ing',
          'the driver starting DMA in its probe before it logged anything'],
        remediation: ['see whether the faults stop once the driver has bound and the device then works; if its probe fails, the earlier DMA is what breaks it',
          'update the firmware (report the missing RMRR/IVMD) or turn off the option ROM, legacy USB support or pre-boot feature that drives the device; after kexec, boot with reset_devices'],
        evidence: [{fact: `the log starts at boot, and the first ${d.driver} line for ${x.g.requester} comes after the fault`, source: `${x.source}:${d.line}`}],
      }
    },
  },
  {
    id: 'dma-after-link-down',
    category: 'stale-dma',
    // Narrows, does not pick: a link that merely dropped (cable, peer reboot) tears nothing down,
    // and a card that rebooted itself (its firmware replaying old descriptors) looks the same —
    // the unresolved CCR2004 case (atl1c "NIC Link is Down", then a write to 0xff3a6000) is one.
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', notRequester: 'igfx', also: (x) => linkDownBefore(x) !== undefined},
    explain: (x) => {
      const t = linkDownBefore(x)!
      return {
        summary: `${who(x)} ${did(x)} ${at(x)} right after its driver (${t.driver}) reported "${t.message}": most likely DMA into a ring the driver had torn down or reset with the link (interface closed, reset, card restarted) while the NIC still held its descriptors — DMA after unmap; ${notTold(x)} whether the driver or the device kept the stale addresses`,
        causes: ['a NIC driver that stops or frees its rings on close or reset before the hardware has stopped DMA (e.g. r8169 leaving the receiver on for Wake-on-LAN, fixed by bb41c13c05c2), so received packets land in unmapped buffers when the interface comes back',
          'the device or its firmware restarting (a card reboot, a firmware reset) and replaying descriptor addresses from before',
          'a link flap that tore nothing down, next to an unrelated mapping bug'],
        remediation: ['update the kernel (NIC drivers carry fixes for DMA after close/reset); report the fault with the driver\'s link lines to its maintainers',
          'if the card restarts on its own (a SmartNIC or router card), quiesce and unbind its driver before restarting it',
          'iommu.strict=1 makes a use after unmap fault at once, next to what freed the buffer'],
        evidence: [{fact: `${t.driver} reported "${t.message}" for ${x.g.requester}`, source: `${x.source}:${t.line}`}],
      }
    },
  },
  {
    id: 'unmapped-in-vfio-domain',
    category: 'guest-passthrough',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', requester: 'vfio'},
    explain: (x) => ({
      summary: `${who(x)} is bound to vfio-pci: the guest programmed ${at(x)}, an address VFIO has not mapped`,
      causes: ['the guest rebooted or reset while the device kept DMA-ing', 'the guest driver uses an address outside the guest memory map (missing IGD/ROM/stolen-memory setup)', 'a vIOMMU in the guest without the matching mappings'],
      remediation: ['check the guest: driver version, device reset on guest reboot (FLR support)', 'for iGPU passthrough use the IGD-specific VM options', 'stop the guest and see whether the faults stop'],
    }),
  },
  {
    id: 'unmapped-no-driver',
    category: 'firmware-dma',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', requester: 'no-driver'},
    explain: (x) => ({
      summary: `${who(x)} has no driver bound, so its DMA domain maps nothing: the ${x.g.access ?? 'DMA'} of ${at(x)} was started by something other than a kernel driver`,
      causes: ['firmware or a previous kernel/driver left the device running', 'a userspace tool programming the device directly', 'the device DMA-ing on its own after a reset'],
      remediation: ['bind the device\'s driver (or vfio-pci if it is meant for a VM) so it is quiesced and owned', `if it should be idle, reset it (echo 1 | sudo tee /sys/bus/pci/devices/${x.trace?.devices[0]?.bdf ?? x.g.requester}/reset) and find who programs it`],
    }),
  },
  {
    id: 'unmapped-in-identity-domain',
    category: 'unmapped-dma',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', requester: 'identity-domain'},
    explain: (x) => ({
      summary: `${who(x)} is in an identity (passthrough) domain, which maps all RAM 1:1: ${at(x)} is outside the mapped memory`,
      causes: ['DMA to MMIO or peer-to-peer space', 'a corrupted address'],
      remediation: ['check the address against /proc/iomem', 'update the device firmware and driver'],
    }),
  },
  {
    id: 'known-kernel-regression',
    category: 'kernel-bug',
    when: {kind: 'dma', also: (x) => knownRegression(x) !== undefined},
    explain: (x) => explainKnownRegression(x, who(x)),
  },
  {
    id: 'physical-address-outside-dma-api',
    category: 'kernel-bypass',
    // Narrows to buffers programmed outside the DMA API; a VM's guest-physical address looks the same.
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', address: 'physical-above-4g', notRequester: 'vfio'},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, above 4 GiB where the kernel's DMA API does not hand out addresses (it allocates a device's IOVAs below 4 GiB first): the device was given a physical address outside the DMA API, so nothing maps it; ${notTold(x)} who programmed it`,
      causes: ['a kernel-bypass or user-space driver handing the device physical addresses (DPDK/SPDK with UIO or iova-mode=pa, PF_RING ZC, netmap, a vendor SDK such as a switch ASIC\'s)',
        'an out-of-tree driver that computes bus addresses with virt_to_phys() instead of mapping its buffers',
        'peer-to-peer DMA into another device\'s BAR (GPUDirect RDMA, CUDA P2P between GPUs): a translated (DMA or DMA-FQ) domain maps no peer apertures — compare the address with the other devices\' BARs (lspci -vv)',
        'in a VM: a guest-physical address the VFIO domain does not map'],
      remediation: ['use the framework\'s IOMMU-aware mode (vfio-pci with iova-mode=va for DPDK/SPDK, the vendor\'s DMA helper driver) so its buffers are mapped',
        'on trusted hardware only: iommu=pt (identity mapping) for hosts that must run such drivers',
        'run vtd-check faults on the host (or with --root) to see the requester\'s driver'],
    }),
  },
  {
    id: 'dma-api-mapping-gone',
    category: 'unmapped-dma',
    // Narrows, does not pick: a use after unmap, a mapping of the other direction and an IOMMU
    // driver that dropped a live mapping (the applespi regression, 0xffffa000) look the same.
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasonIs: 'unmappedAddress', address: 'dma-api-window'},
    explain: (x) => {
      const write = x.g.reason === 0x05 || x.g.reason === 0x85
      return {
        summary: `${who(x)} ${write ? 'wrote to' : did(x)} ${at(x)}, an address the DMA API hands out (IOVAs are allocated top-down from 4 GiB, and no RAM lies in the 64 MiB below 4 GiB on x86): a mapping a driver made through the DMA API that is gone or was made for the other direction — not a firmware, boot-loader or user-space buffer; ${notTold(x)} which`,
        // The order of unmapped-iova: a write to a page without W names the direction first.
        causes: [
          ...(write ? ['a wrong DMA direction: the buffer was mapped DMA_TO_DEVICE (read-only for the device) and the device writes it', AFTER_UNMAP]
            : [AFTER_UNMAP, 'a wrong DMA direction: the buffer was mapped DMA_FROM_DEVICE (write-only for the device) and the device reads it']),
          'the IOMMU driver dropping a mapping that was still live (a kernel regression: compare the kernel release with known VT-d fixes)',
        ],
        remediation: ['update the kernel and the driver; report the fault line upstream with the driver and kernel version',
          'CONFIG_DMA_API_DEBUG names a driver that unmaps with another direction than it mapped; iommu.strict=1 makes a use after unmap fault at once',
          'iommu=pt hides the symptom on trusted hardware but removes DMA protection'],
      }
    },
  },
  {
    id: 'unmapped-iova',
    category: 'unmapped-dma',
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasonIs: 'unmappedAddress'},
    explain: (x) => ({
      summary: x.g.reason === 0x05 || x.g.reason === 0x85
        ? `${who(x)} wrote to ${at(x)}, which is not mapped writable for it; ${notTold(x)} which of these it is`
        : `${who(x)} ${did(x)} ${at(x)}, which is not mapped for it; ${notTold(x)} which of these it is`,
      causes: x.g.reason === 0x05 || x.g.reason === 0x85
        ? ['a wrong DMA direction: the buffer was mapped DMA_TO_DEVICE (read-only for the device) and the device writes it',
          'DMA after unmap: the driver freed or unmapped the buffer while the device (or a descriptor it cached) still used it',
          'a driver or kernel-bypass framework handing the device buffers outside the DMA API']
        : ['DMA after unmap: the driver freed or unmapped the buffer while the device (or a descriptor it cached) still used it',
          'a wrong DMA direction: the buffer was mapped DMA_FROM_DEVICE (write-only for the device) and the device reads it',
          'a driver or kernel-bypass framework handing the device buffers outside the DMA API',
          'in a VM: a guest address VFIO does not map'],
      remediation: ['update the driver and the device firmware; report the fault line upstream with the driver version',
        'iommu.strict=1 makes use-after-unmap fault at once instead of later, which helps the driver author',
        'iommu=pt hides the symptom on trusted hardware but removes DMA protection'],
    }),
  },
  {
    id: 'beyond-address-width',
    category: 'address-width',
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasons: [0x04, 0x83, 0x84]},
    explain: (x) => ({
      summary: `${who(x)} presented ${at(x)}, wider than the domain's address width; ${notTold(x)} why`,
      causes: x.info?.causes ?? [],
      remediation: ['compare the address with the unit\'s width (vtd-check units); a user-space driver must keep IOVAs below it (DPDK --iova-mode, base-virtaddr)', 'update the driver and firmware'],
    }),
  },
  {
    id: 'pasid-entry-missing',
    category: 'pasid-entry',
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasonIs: 'pasidEntryMissing'},
    explain: (x) => ({
      summary: `${who(x)} used a PASID whose PASID-table entry is not present (for untagged DMA: the RID_PASID entry); its context entry exists`,
      causes: x.info?.causes ?? [],
      remediation: ['if this is a kdump kernel: expected in-flight DMA; update the kernel', 'otherwise report it with the kernel version (SVA/PASID binding lifetime)'],
    }),
  },
  {
    id: 'root-entry-clear',
    category: 'no-domain',
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasons: ROOT_REASONS},
    explain: (x) => ({
      summary: `no context table for bus ${hex(x.bus)}: the IOMMU has no entry at all for ${who(x)}'s bus; ${notTold(x)} why`,
      causes: [x.trace && !x.trace.exists ? 'the requester is not a device the OS knows (hidden firmware/BMC/ME function)' : 'the device started DMA before the kernel attached its bus (probe-time or early-boot DMA)', 'DMA after kexec/kdump', 'a bus-number alias the kernel does not model'],
      remediation: [`run \`vtd-check device ${x.g.requester}\` to see its group and driver`, 'update the firmware; if the device is hidden, ask the vendor for an RMRR or a DMAR scope for it'],
    }),
  },
  {
    id: 'no-domain-via-alias',
    category: 'no-domain',
    when: {kind: 'dma', reasonIs: 'noDomain', also: (x) => x.trace?.devices.some((d) => d.relation === 'alias') === true},
    explain: (x) => {
      const alias = x.trace!.devices.find((d) => d.relation === 'alias')!
      return {
        summary: `${who(x)} is a DMA alias of ${alias.bdf} (${alias.detail}); that alias has no domain programmed`,
        causes: ['the alias requester ID was not programmed (a missing DMA-alias quirk or an unmodelled bridge)'],
        remediation: ['report the device ID to linux-pci for a DMA-alias quirk; moving the card to a slot without the bridge avoids it'],
      }
    },
  },
  {
    id: 'no-domain-attached',
    category: 'no-domain',
    // The reason says what is missing, not why: every cause below looks the same in the log.
    certainty: 'cannot-tell',
    when: {kind: 'dma', reasonIs: 'noDomain'},
    explain: (x) => ({
      summary: `${who(x)} has no domain attached: it did DMA while it had no context entry; ${notTold(x)} why`,
      causes: ['DMA while the device changes hands: unbind, rebind to vfio-pci or a user-space driver (igb_uio), removal', 'firmware-started DMA on a device without a driver', 'a phantom function or DMA alias the kernel does not know'],
      remediation: ['quiesce the device before rebinding (stop the VM, unload the driver cleanly)', 'bind vfio-pci or the user-space driver at boot (vfio-pci.ids=…, or blacklist the kernel driver) so the device never changes hands', 'update the kernel and firmware'],
    }),
  },
  {
    id: 'ir-compatibility-format',
    category: 'ir-compat',
    when: {kind: 'interrupt', reasons: [0x25], requester: 'ioapic-hpet'},
    explain: (x) => {
      const src = x.interruptSource!
      const what = src !== 'likely' ? `${src.kind.toUpperCase()} ${src.id} (DMAR device scope)`
        : x.g.requester === LPC_BRIDGE ? 'the LPC/eSPI bridge\'s source ID, which sends no MSI of its own: most likely the HPET (platforms scope the message-capable HPET there) or an I/O APIC'
          : 'most likely the I/O APIC or HPET (its source ID is not a PCI device here)'
      return {
        summary: `${who(x)} is ${what}: it sent a compatibility-format interrupt, which interrupt remapping blocks`,
        causes: ['firmware/SMM reprogrammed an IOAPIC entry or the HPET, typically around S3 resume',
          'the OS or hypervisor enabled an HPET channel (or unmasked an IOAPIC pin) before programming its remapped MSI/IRTE',
          'an IOAPIC/HPET not covered by a DRHD scope'],
        remediation: ['occasional faults after resume are harmless; update the firmware if they repeat', 'do not disable interrupt remapping for this: it weakens isolation (VFIO needs it)'],
      }
    },
  },
  {
    id: 'vfio-guest-msi',
    category: 'guest-passthrough',
    when: {kind: 'interrupt', reasons: [0x25], requester: 'vfio'},
    explain: (x) => ({
      summary: `${who(x)} is bound to vfio-pci (assigned to a VM) and sent a compatibility-format MSI: it fired an MSI address/data the guest programmed into the device directly, which VFIO never translated into a remapped interrupt`,
      causes: ['a guest driver or device firmware that writes MSI vectors outside the emulated MSI/MSI-X capability (ath11k/WCN6855 firmware, device-specific MSI tables)',
        'a device that keeps its MSI address across a guest reset'],
      remediation: ['update the guest driver and the hypervisor (QEMU) — some devices need a driver or QEMU quirk that intercepts their private MSI programming',
        'check the device\'s interrupts inside the guest; keep interrupt remapping on (it is what blocked the stray MSI)'],
    }),
  },
  {
    id: 'vf-msi-not-remapped',
    category: 'kernel-bug',
    when: {kind: 'interrupt', reasons: [0x25], requester: 'vf'},
    explain: (x) => ({
      summary: `${who(x)} is an SR-IOV virtual function whose MSIs arrived in compatibility format: the kernel did not put the VF on the interrupt-remapping MSI domain`,
      causes: ['a kernel irqdomain bug for VFs (the 5.10 x86 MSI rework regression, fixed in the VT-d irqdomain setup)'],
      remediation: ['update the kernel (stable series)', 'report it to the IOMMU/x86 maintainers with this line and the PF driver'],
    }),
  },
  {
    id: 'vmd-msi-remapping',
    category: 'vmd',
    when: {kind: 'interrupt', reasons: [0x25], requester: 'vmd-host'},
    explain: (x) => ({
      summary: `${who(x)} sent a compatibility-format interrupt on a host with Intel VMD: devices behind VMD signal through VMD's own MSI remapping, which the VT-d interrupt remapping then blocks when it is bypassed`,
      causes: ['the vmd driver disabled VMD MSI remapping while VT-d interrupt remapping (x2APIC) is on (Ice Lake and later)'],
      remediation: ['update the kernel (vmd: MSI remapping kept on when interrupt remapping needs it)', 'or turn VMD off in firmware setup'],
      evidence: [...cite(x, 'vmd-domain', `Intel VMD is on${x.facts.contexts.get('vmd-domain')?.detail ? ` (${x.facts.contexts.get('vmd-domain')!.detail})` : ''}`),
        ...((vmd) => (vmd === undefined ? [] : [{fact: vmd.what, source: x.ctx.topology!.source}]))(vmdInTopology(x.ctx.topology))],
    }),
  },
  {
    id: 'vmd-endpoint-msi',
    category: 'vmd',
    // Named from the requester's address alone: the log does not show the device ID.
    certainty: 'cannot-tell',
    when: {kind: 'interrupt', reasons: [0x25], requester: 'vmd-location'},
    explain: (x) => ({
      summary: `${who(x)} sent a compatibility-format interrupt that interrupt remapping blocked; function ${x.device}.5 is where Xeon scalable processors put the Intel VMD controller (05.5 on Skylake/Cascade Lake-SP, 00.5 on Ice Lake-SP and later), and VMD with its MSI remapping bypassed is the known cause of exactly this fault — the log alone does not show the device ID`,
      causes: ['the vmd driver bypassing VMD\'s MSI remapping while VT-d interrupt remapping (x2APIC) is on, so the NVMe drives behind VMD lose their interrupts (Ice Lake/Whitley; fixed in the vmd driver)',
        'another device at that address whose interrupts did not go through the remapping domain'],
      remediation: ['check the device: lspci -nn -s ' + x.g.requester + ' (Intel 8086:201d/28c0 is VMD)', 'update the kernel (PCI: vmd keeps MSI-X remapping on when interrupt remapping is enabled)', 'or turn VMD off in firmware setup'],
    }),
  },
  {
    // After the VMD rules: VMD is the likelier cause of a blocked interrupt on a host that has it.
    id: 'known-kernel-regression-interrupt',
    category: 'kernel-bug',
    when: {kind: 'interrupt', also: (x) => knownRegression(x) !== undefined},
    explain: (x) => explainKnownRegression(x, who(x)),
  },
  {
    id: 'ir-compatibility-msi',
    category: 'msi-not-remapped',
    certainty: 'cannot-tell',
    when: {kind: 'interrupt', reasons: [0x25]},
    explain: (x) => ({
      summary: `${who(x)} sent a compatibility-format MSI that interrupt remapping blocked: its interrupts did not go through the remapping domain; ${notTold(x)} why`,
      causes: ['Intel VMD with its MSI remapping disabled (devices behind VMD)',
        'a kernel irqdomain regression (the 5.10 SR-IOV VF case)',
        'in a VM: device firmware firing the MSI address/data the guest driver gave it, which VFIO never saw (ath11k)',
        'a device firing before its driver set up remapped MSIs'],
      remediation: ['run vtd-check faults on the host (or with --root) to trace the requester: VMD, VF or vfio-pci', 'update the kernel (stable series); report with this line'],
    }),
  },
  {
    id: 'ir-irte-not-present',
    category: 'stale-msi',
    certainty: 'cannot-tell',
    when: {kind: 'interrupt', reasons: [0x21, 0x22]},
    explain: (x) => ({
      summary: `${who(x)} raised interrupt index ${x.g.index === undefined ? '(redacted)' : hex(x.g.index)}, which has no valid IRTE; ${notTold(x)} why`,
      causes: x.info?.causes ?? [],
      remediation: ['reset or reload the device driver', 'in a VM: check the guest MSI-X setup', 'after kexec/kdump: expected while the new kernel takes over'],
    }),
  },
  {
    id: 'ir-source-id',
    category: 'source-id',
    certainty: 'cannot-tell',
    when: {kind: 'interrupt', reasons: [0x26]},
    explain: (x) => ({
      summary: `${who(x)}'s interrupt failed source-ID verification: the requester ID does not match the one programmed in its IRTE; ${notTold(x)} why`,
      causes: ['a device that loses state across power transitions (D3→D0) and then signals with another requester ID',
        'a DMA alias handled wrongly by the kernel (devices behind a PCIe-to-PCI bridge, or a vIOMMU guest: a kernel bug fixed in 5.3)',
        'a wrong IOAPIC/HPET device scope in the DMAR table (BIOS bug)'],
      remediation: ['keep the device out of runtime D3 (echo on | sudo tee /sys/bus/pci/devices/BDF/power/control) to test the power-state theory', 'update the kernel and firmware', 'intremap=nosid disables the check (a security trade-off)'],
    }),
  },
]

/** Facts a rule reads, from the group, its trace and the log. */
export function faultFacts(g: Group, trace: FaultTrace | undefined, ctx: TriageContext, log: TriageResult['logContext'], facts: LogFacts, source: string): FaultFacts {
  const [, busText, rest] = g.requester.split(':')
  const [devText, fnText] = (rest ?? '0.0').split('.')
  const drivers = [...new Set((trace?.devices ?? []).map((d) => d.driver).filter((d): d is string => d !== undefined))]
  const domainTypes = [...new Set((trace?.devices ?? []).map((d) => d.domainType).filter((d): d is string => d !== undefined))]
  if (domainTypes.length === 0 && log.defaultDomain === 'passthrough') domainTypes.push('identity')
  const reservedHits: FaultFacts['reservedHits'] = []
  for (const gr of ctx.groups ?? []) {
    if (g.address === undefined || !(trace?.devices ?? []).some((d) => gr.devices.includes(d.bdf))) continue
    for (const region of gr.reservedRegions ?? []) if (g.address >= region.start && g.address <= region.end) reservedHits.push({region, group: gr.id})
  }
  const rmrrHits: FaultFacts['rmrrHits'] = []
  if (g.address !== undefined && g.kind === 'dma') {
    for (const r of ctx.rmrrs ?? []) if (g.address >= r.base && g.address <= r.limit) rmrrHits.push({base: r.base, end: r.limit, devices: r.devices, cite: 'ACPI DMAR RMRR'})
    for (const r of log.rmrrs) if (r.end > r.base && g.address >= r.base && g.address <= r.end) rmrrHits.push({base: r.base, end: r.end, devices: r.device ? [r.device] : [], cite: `${source}:${r.line}`})
  }
  const declared = ctx.interruptSources?.find((s) => s.requester === g.requester)
  // An interrupt source ID that is no PCI function of segment 0 is most likely an IOAPIC/HPET —
  // unless the host has VMD: devices behind it live in domains above 0xffff and, with VMD's MSI
  // remapping bypassed, send their interrupts with their own bus numbers, which segment 0 lacks.
  const notAFunction = trace ? !trace.exists && trace.devices.length === 0 && vmdInTopology(ctx.topology) === undefined : g.requester.startsWith('0000:f0:1f.') || g.requester === LPC_BRIDGE
  const interruptSource: FaultFacts['interruptSource'] = declared !== undefined ? {kind: declared.kind, id: declared.id}
    : g.kind === 'interrupt' && notAFunction ? 'likely' : undefined
  const timing = !facts.bootTimeline ? 'unknown' : g.early ? 'early-boot' : 'after-boot'
  const x: FaultFacts = {
    g, ctx, log, facts, source, bus: Number.parseInt(busText ?? '0', 16), device: Number.parseInt(devText ?? '0', 16), fn: Number(fnText ?? 0),
    rmrrHits, reservedHits, drivers, domainTypes, timing,
  }
  if (trace !== undefined) x.trace = trace
  if (g.reasonInfo !== undefined) x.info = g.reasonInfo
  if (interruptSource !== undefined) x.interruptSource = interruptSource
  return x
}

/** The leading rule's explanation with the evidence every explanation carries. */
export function explainFault(x: FaultFacts, firstRecord?: FaultRecord, rules: readonly FaultRule[] = FAULT_RULES): Explanation {
  const {g, info, trace, ctx, source} = x
  const evidence: Evidence[] = [{fact: `${g.count}× "${g.sample.split('\n')[0]}"`, source: `${source}:${g.first.line}`}]
  if (g.event !== undefined) evidence.push({fact: `${g.event}${g.flags === undefined ? '' : ` ${g.event === 'context-fault' ? 'fsr' : 'flags'}=${hex(g.flags)}${g.flagNames?.length ? ` (${g.flagNames.join(' ')})` : ''}`}: ${g.eventMeaning ?? ''}`, source: g.family})
  if (g.reason !== undefined) evidence.push({fact: `reason ${formatReasonCode(g.reason)}: ${info ? `${info.text} — ${info.meaning}` : 'a code the kernel prints as "Unknown"'}`, source: 'vtd-reference §4'})
  if (g.suppressedNearby > 0) evidence.push({fact: `${g.suppressedNearby} more faults were lost to the kernel's rate limit ("${g.family === 'amd-vi' ? 'amd_iommu_report_page_fault' : 'dmar_fault'}: … callbacks suppressed") next to this group; the kernel does not print their requester`, source})
  if (g.peakPer5s >= 10) evidence.push({fact: `${g.peakPer5s} faults within 5 s: a fault storm`, source})
  for (const h of x.rmrrHits) evidence.push({fact: `RMRR [${hex(h.base)}-${hex(h.end)}]${h.devices.length ? ` for ${h.devices.join(', ')}` : ''} contains ${at(x)}`, source: h.cite})
  for (const h of x.reservedHits) evidence.push({fact: `reserved region ${hex(h.region.start)}-${hex(h.region.end)} (${h.region.type}) of group ${h.group} contains the address`, source: `/sys/kernel/iommu_groups/${h.group}/reserved_regions`})
  for (const d of trace?.devices ?? []) evidence.push({fact: `${d.bdf}: ${d.detail}${d.driver ? `, driver ${d.driver}` : ', no driver'}${d.group !== undefined ? `, group ${d.group}` : ''}${d.domainType ? ` (${d.domainType})` : ''}`, source: ctx.topology?.source ?? 'topology'})
  if (trace?.note) evidence.push({fact: trace.note, source: ctx.topology?.source ?? 'topology'})
  if (x.interruptSource !== undefined && x.interruptSource !== 'likely') evidence.push({fact: `${g.requester} is the source ID of ${x.interruptSource.kind.toUpperCase()} ${x.interruptSource.id} in the DMAR device scope`, source: 'ACPI DMAR'})
  if (x.timing === 'early-boot') evidence.push({fact: `first seen at ${g.first.time?.text ?? '?'} s after boot, before the IOMMU finished initialising`, source: `${source}:${g.first.line}`})
  if (x.timing === 'unknown') evidence.push({fact: 'timing unknown: the excerpt has no boot timeline (no dmesg seconds-since-boot stamps, no IOMMU init line), so boot-time causes are not considered', source})
  if (g.kind === 'interrupt' && x.log.interruptRemapping) evidence.push({fact: `interrupt remapping: ${x.log.interruptRemapping}`, source})
  if (g.walkDump.length > 0) evidence.push({fact: `kernel walk dump: ${g.walkDump.join(' | ')}`, source})
  const step = firstRecord === undefined ? undefined : ctx.stepFor?.(firstRecord)
  if (step) evidence.push({fact: `translation replay: ${step.step}${step.detail ? ` — ${step.detail}` : ''}`, source: 'replay'})

  const rule = rules.find((r) => ruleApplies(r, x))
  if (rule !== undefined) {
    const e = rule.explain(x)
    // A rule that cannot tell lists candidates: a known regression with this symptom is one while the log does not tell the kernel.
    const causes = rule.certainty === 'cannot-tell' ? [...e.causes, ...regressionCandidates(x)] : e.causes
    return {rule: rule.id, category: rule.category, certainty: rule.certainty ?? 'likely', summary: e.summary, causes, remediation: e.remediation, evidence: [...evidence, ...(e.evidence ?? [])]}
  }
  return {
    rule: 'reason-table',
    category: 'cannot-tell',
    certainty: 'cannot-tell',
    summary: g.reason === undefined
      ? `${who(x)}: the fault's reason line is missing (the second line of the two-line form never came), so the cause cannot be told`
      : info ? `${who(x)}: ${info.meaning}` : `${who(x)}: reason ${formatReasonCode(g.reason)}, which the kernel prints as "Unknown"`,
    causes: info?.causes ?? [],
    remediation: [`report the line with the kernel version; run \`vtd-check device ${g.requester}\` for its group and driver`],
    evidence,
  }
}

type EventWords = Omit<Explanation, 'rule' | 'evidence'>

/**
 * Invalidation-queue errors on a host with Intel VMD: a VMD domain reset that briefly opened a bogus
 * prefetchable window misrouted the IOMMU's own traffic (fixed in the vmd driver, 2023). A time-out
 * that names a real requester is a device-TLB problem instead.
 */
function vmdQueueError(r: LogRecord, contexts: LogFacts['contexts'] | undefined, source: string): Explanation | undefined {
  const vmd = contexts?.get('vmd-domain')
  if (vmd === undefined || r.type !== 'qi') return undefined
  const q = r as QiRecord
  const noRequester = q.sidRaw === undefined || q.sidRaw === 0 || q.sidRaw === 0xffff
  if (!(q.event === 'queue-error' || q.event === 'invalid-descriptor' || ((q.event === 'timeout' || q.event === 'completion-error') && noRequester))) return undefined
  return {
    rule: 'vmd-queue-error', category: 'vmd', certainty: 'likely',
    summary: `the IOMMU's invalidation queue failed (${q.event}) on a host with Intel VMD${vmd.detail ? ` (${vmd.detail})` : ''}: a VMD domain reset can briefly enable a bogus prefetchable window that misroutes the IOMMU's own requests`,
    causes: ['the vmd driver resetting its domain with a stale prefetch window (fixed upstream: clear the upper prefetch limit before the reset)', 'a kernel bug in the invalidation path'],
    remediation: ['update the kernel (PCI: vmd fixes)', 'or turn VMD off in firmware setup', 'report with the QI HEAD/PRIOR lines if a fixed kernel still shows it'],
    evidence: [{fact: `${r.type} ${q.event}: "${r.text}"`, source: `${source}:${r.line}`}, {fact: `Intel VMD is on${vmd.detail ? ` (${vmd.detail})` : ''}`, source: `${source}:${vmd.line}`}],
  }
}

/**
 * The device a device-TLB invalidation descriptor in the log's QI HEAD/PRIOR dumps targets: an
 * invalidation time-out whose own SID is 0 or ffff (the unit latched nothing useful) names it there.
 */
export interface QueueHints {
  deviceTlbTarget?: {device: string; line: number; text: string}
}

export function explainEvent(g: Omit<EventGroup, 'explanation'>, r: LogRecord, ctx: TriageContext, source: string, contexts?: LogFacts['contexts'], hints: QueueHints = {}): Explanation {
  const vmd = vmdQueueError(r, contexts, source)
  if (vmd !== undefined) return vmd
  const evidence: Evidence[] = [{fact: `${g.count}× "${g.sample}"`, source: `${source}:${g.first.line}`}]
  const device = g.device
  if (device !== undefined && ctx.topology !== undefined) {
    const dev = ctx.topology.devices.get(device)
    evidence.push({fact: dev ? `${device}: vendor ${hex(dev.vendorId)} device ${hex(dev.deviceId)}${dev.driver ? `, driver ${dev.driver}` : ''}${dev.ats !== undefined && dev.ats !== 'unknown' ? `, ATS ${dev.ats.enabled ? 'enabled' : 'disabled'}` : ''}` : `${device} is not present in the topology`, source: ctx.topology.source})
  }
  const qi = r.type === 'qi' ? (r as QiRecord) : undefined
  const target = hints.deviceTlbTarget
  if (target !== undefined && g.type === 'qi' && g.event === 'timeout' && (qi?.sidRaw === 0 || qi?.sidRaw === 0xffff)) evidence.push({fact: `the stuck descriptor targets ${target.device}: "${target.text}"`, source: `${source}:${target.line}`})
  const table: Record<string, () => EventWords> = {
    'qi:timeout': () => ({
      category: 'device-tlb', certainty: 'likely',
      summary: qi?.sidRaw !== undefined && (qi.sidRaw === 0 || qi.sidRaw === 0xffff) && target !== undefined
        ? `a device-TLB (ATS) invalidation timed out for ${target.device}: the error's own SID is ${hex(qi.sidRaw)} (the unit latched no requester), but the device-TLB invalidation descriptor the queue was stuck on targets ${target.device} (source ID in its first quadword)`
        : `a device-TLB (ATS) invalidation timed out${device ? ` for SID ${device}` : ''}${qi?.sidRaw === 0 || qi?.sidRaw === 0xffff ? ` (SID ${hex(qi.sidRaw)}: the unit did not latch a useful requester)` : ''}`,
      causes: ['an ATS-capable device that does not answer invalidations (broken ATS firmware, device in reset, surprise removal)'],
      remediation: ['update the device firmware', 'pci=noats turns ATS off for all devices (costs some performance)', 'check whether the device was being reset or removed at that time'],
    }),
    'qi:completion-error': () => ({category: 'device-tlb', certainty: 'likely', summary: 'an invalidation completion error: the device answered an invalidation wrongly', causes: ['broken ATS implementation'], remediation: ['update the device firmware; pci=noats']}),
    'qi:queue-error': () => ({category: 'invalidation-queue', certainty: 'cannot-tell', summary: `the invalidation queue hit an invalid descriptor (IQEI ${hex(qi?.reasonCode ?? 0)}); ${ctx.topology === undefined ? "the log alone does not tell" : "neither the log nor this host tells"} why`, causes: ['a kernel bug', 'a platform problem corrupting the queue (e.g. misrouted config space after a VMD domain reset)'], remediation: ['update the kernel; report with the QI HEAD/PRIOR lines']}),
    'qi:invalid-descriptor': () => ({category: 'invalidation-queue', certainty: 'cannot-tell', summary: 'the invalidation queue hit an invalid descriptor', causes: ['a kernel bug'], remediation: ['update the kernel']}),
    'qi:cleared': () => ({category: 'invalidation-queue', certainty: 'likely', summary: 'the kernel recovered from an invalidation error', causes: [], remediation: []}),
    'qi:malfunction': () => ({category: 'invalidation-queue', certainty: 'cannot-tell', summary: 'invalidation never completed: the kernel declared the DMAR hardware malfunctioning', causes: ['hardware or firmware fault', 'an ATS device blocking invalidation'], remediation: ['update firmware; try pci=noats; report to the platform vendor']}),
    'rmrr-refusal:ineligible': () => ({
      category: 'rmrr-refusal', certainty: 'likely',
      summary: `${device} cannot be assigned: the firmware's RMRR requires a 1:1 mapping for it, and the kernel refuses a VFIO domain`,
      causes: ['the platform declares firmware DMA (BMC shared memory, ME, USB legacy) for this device'],
      remediation: ['HPE: disable "shared memory" for the slot (RBSU or conrep)', 'choose another device or slot', 'out-of-tree "relax RMRR" kernel patches bypass the check at the cost of firmware DMA safety'],
    }),
    'rmrr-refusal:require-direct': () => ({
      category: 'rmrr-refusal', certainty: 'likely',
      summary: `${device} cannot be assigned: firmware requires a 1:1 mapping (6.6+ refuses blocking/VFIO domains)`,
      causes: ['a non-relaxable RMRR (Intel) or IVMD (AMD) for this device', 'firmware "Pre-boot DMA Protection" (kernel DMA protection) declaring unity maps'],
      remediation: ['disable "Pre-boot DMA Protection" in firmware setup if the platform has it', 'choose another device or slot', 'ask the vendor to drop the RMRR/IVMD or update the firmware'],
    }),
  }
  const pick = table[`${g.type}:${g.event}`]
  if (pick !== undefined) return {rule: `${g.type}-${g.event}`, ...pick(), evidence}
  if (g.type === 'amd-vi') return explainAmdViEvent(g, evidence)
  if (g.type === 'prq') return {rule: 'prq', category: 'page-request', certainty: 'cannot-tell', summary: `page-request queue: ${g.event}`, causes: ['a device using PRI/SVA with a request the IOMMU could not serve'], remediation: ['update the device driver and kernel'], evidence}
  if (g.type === 'qi') return {rule: 'qi-descriptor', category: 'invalidation-queue', certainty: 'cannot-tell', summary: `invalidation descriptor dump (${g.event})`, causes: [], remediation: [], evidence}
  return {rule: 'unparsed', category: 'cannot-tell', certainty: 'cannot-tell', summary: 'a fault-looking line in a format this tool does not know (shown as printed); the cause cannot be told', causes: [], remediation: ['please report the line so the parser learns it'], evidence}
}

/** What a co-occurring line means on its own (the leading explanation of a log without faults). */
export const CONTEXT_WORDS: Partial<Record<ContextEvent, EventWords>> = {
  ...AMD_VI_CONTEXT_WORDS,
  'ir-erratum': {
    category: 'ir-erratum', certainty: 'likely',
    summary: 'the chipset has a VT-d interrupt-remapping erratum (Intel 5500/5520/X58 I/O hub): the kernel disabled interrupt remapping',
    causes: ['the 5500/5520 IOH erratum the kernel detects at boot', 'a BIOS that enables interrupt remapping on that chipset'],
    remediation: ['update the BIOS', 'without interrupt remapping, VFIO assignment needs allow_unsafe_interrupts (an isolation risk)'],
  },
  'dmar-all-ones': {
    category: 'firmware-table', certainty: 'likely',
    summary: 'the DMAR table names a remapping unit whose registers read all ones: the BIOS is broken (VT-d not initialised, or a table from another boot); the kernel turned the IOMMU off',
    causes: ['firmware that publishes a DMAR table without enabling the VT-d units it lists'],
    remediation: ['update or fix the firmware (enable VT-d in setup; coreboot/linuxboot: initialise VT-d or drop the DMAR table)'],
  },
  'ir-firmware-bug': {
    category: 'firmware-table', certainty: 'likely',
    summary: 'the DMAR table\'s interrupt-remapping scope is wrong (an IOAPIC or HPET is not under any remapping unit): interrupt remapping is disabled — a firmware bug',
    causes: ['an IOAPIC/HPET ID in the DMAR device scope that does not match the MADT'],
    remediation: ['update the firmware (the vendor must fix the DMAR device scope)', 'VFIO assignment without interrupt remapping needs allow_unsafe_interrupts'],
  },
  'rmrr-not-reserved': {
    category: 'firmware-table', certainty: 'likely',
    summary: 'the BIOS declares an RMRR that the e820 map does not reserve: a firmware table bug the kernel reports',
    causes: ['a BIOS that reserves DMA memory in the DMAR table but not in e820'],
    remediation: ['update the BIOS; harmless unless a device covered by that RMRR is passed through'],
  },
  'rmrr-scope-workaround': {
    category: 'firmware-table', certainty: 'likely',
    summary: 'an RMRR device scope in the BIOS table is malformed; the kernel recognised the device anyway and applied its workaround (harmless)',
    causes: ['a BIOS that writes a one-level path for a device behind a bridge'],
    remediation: ['nothing to do; a BIOS update may fix the table'],
  },
  'rmrr-relaxable': {
    category: 'relaxable-rmrr', certainty: 'likely',
    summary: 'an out-of-tree kernel patch treats every RMRR as relaxable, so RMRR-covered devices can be assigned to VMs — firmware DMA into those ranges is no longer protected',
    causes: ['a "relax Intel RMRR" patched kernel (e.g. for HP servers or Proxmox)'],
    remediation: ['know that firmware DMA (BMC, ME) into the RMRR ranges can now fault or corrupt guest memory; prefer a device without an RMRR'],
  },
  'ioapic-timer-panic': {
    category: 'kernel-bug', certainty: 'likely',
    summary: 'the boot panicked because the timer does not work through the interrupt-remapped IOAPIC: a kernel interrupt-remapping setup bug',
    causes: ['a kernel regression in the x86 interrupt-domain setup'], remediation: ['boot the previous kernel; update to a fixed release'],
  },
  'unmap-unmatched': {
    category: 'kernel-bypass', certainty: 'likely',
    summary: 'a driver unmapped a page it never mapped: its DMA bookkeeping is broken (typical of out-of-tree and kernel-bypass drivers)',
    causes: ['an out-of-tree driver handing buffers outside the DMA API'], remediation: ['update or replace the driver'],
  },
}

/** Which context line leads when the log has no fault: the one that most changes the platform's behaviour. */
export const CONTEXT_PRIORITY: readonly ContextEvent[] = [
  'ioapic-timer-panic', 'ir-erratum', 'dmar-all-ones', 'ir-firmware-bug', 'amd-vi-ir-disabled', 'amd-vi-firmware-bug', 'rmrr-relaxable', 'unmap-unmatched', 'rmrr-not-reserved', 'rmrr-scope-workaround',
]

/** The leading explanation for a context line, with the line it came from. */
export function explainContext(event: ContextEvent, line: number, detail: string | undefined, source: string): Explanation | undefined {
  const w = CONTEXT_WORDS[event]
  if (w === undefined) return undefined
  return {rule: `context-${event}`, ...w, evidence: [{fact: detail === undefined ? event : `${event}: ${detail}`, source: `${source}:${line}`}]}
}
