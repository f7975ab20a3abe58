/**
 * Fault triage: parsed kernel-log records → groups (requester × reason × page), timelines,
 * storms and suppressed counts, each group traced to real devices and explained by rules over
 * the model. Streaming: `FaultTriage.add()` keeps one entry per group, never the raw log, so
 * memory is bounded by the number of distinct (requester, reason, page) triples.
 *
 * Every explanation cites its evidence (log lines, RMRRs, topology facts). Context the caller
 * does not have is simply absent; rules then say less, they never guess a device.
 */
import type {Evidence} from '../checks/outcome.js'
import {lookupFaultReason, type FaultReason} from '../decode/fault-reasons.js'
import type {AmdViRecord, ContextEvent, FaultRecord, FaultStatusRecord, IommuFamily, LogRecord, LogTime, RepeatSlot, SmmuRecord, StampBytes} from '../decode/kernel-log/index.js'
import {AMD_VI_DEVICE_EVENTS, amdViFlagNames} from '../decode/kernel-log/amd-vi.js'
import {smmuRequester} from '../decode/kernel-log/arm-smmu.js'
import {stampText} from '../decode/kernel-log/line-cache.js'
import type {PciTopology} from '../model/pci.js'
import {devfnOf, devicesBehindAlias, type AliasResolution} from './dma-alias.js'
import type {StreamOwner} from './smmu-stream-ids.js'
import {CONTEXT_PRIORITY, explainContext, explainEvent, explainFault, FAULT_RULES, faultFacts, type Certainty, type FaultCategory, type LogFacts, type QueueHints} from './fault-rules.js'
import {AMD_VI_RULES, SMMU_RULES} from './fault-rules-families.js'

// ---------------------------------------------------------------- inputs

export interface ReservedRegion {
  start: bigint
  end: bigint
  /** direct, direct-relaxable, msi, reserved … */
  type: string
}

export interface TriageGroupInfo {
  id: number
  devices: string[]
  /** Default domain type from sysfs: identity, DMA, DMA-FQ, unmanaged, blocked. */
  type?: string
  reservedRegions?: ReservedRegion[]
}

/** What the translation-replay engine says about a fault (hook; see src/replay/translation/). */
export interface TranslationStep {
  step: string
  detail?: string
}

export interface TriageContext {
  topology?: PciTopology
  groups?: TriageGroupInfo[]
  /** Decoded DMAR RMRRs (plain shape, so triage does not depend on the DMAR decoder's types). */
  rmrrs?: Array<{base: bigint; limit: bigint; devices: string[]}>
  /** IOAPIC/HPET source IDs from the DMAR device scope, e.g. {requester: "0000:f0:1f.0", kind: "ioapic", id: 2}. */
  interruptSources?: Array<{requester: string; kind: 'ioapic' | 'hpet'; id: number}>
  /**
   * Arm hosts with an IORT: the PCI functions whose DMA carries `streamId` on the SMMU the kernel
   * calls `unit` ("arm-smmu-v3.0.auto"); undefined when that SMMU is not found in the table.
   */
  streamOwners?: (family: 'arm-smmu-v3' | 'arm-smmu', unit: string, streamId: number) => {smmu: string; owners: StreamOwner[]} | undefined
  /** Optional hook: the translation replay names the failing table step. */
  stepFor?: (fault: FaultRecord) => TranslationStep | undefined
  /**
   * Drop events stamped before this. Boot-clock stamps ([  12.3]) compare with `bootSeconds`,
   * wall-clock stamps (journal, -T, syslog) with `epochSeconds`; a stamp whose clock has no
   * threshold is kept and counted as untimed (we cannot tell).
   */
  since?: {bootSeconds?: number; epochSeconds?: number}
  /** Where the log came from, for evidence ("dmesg", a file path). */
  source?: string
  /**
   * The host's running kernel (`uname -r`: /proc/sys/kernel/osrelease of the live host or a
   * --root snapshot), used for known regressions when the log names no kernel of its own.
   */
  kernel?: {release: string; source: string}
  /** The host's kernel command line (/proc/cmdline of the live host or a --root snapshot). */
  cmdline?: {text: string; source: string}
}

// ---------------------------------------------------------------- outputs

export interface Explanation {
  /** Which rule produced it. */
  rule: string
  /** The cause class (fault-rules.ts FaultCategory). */
  category: FaultCategory
  /** "cannot-tell" when the facts only narrow the candidates (the causes list them). */
  certainty: Certainty
  summary: string
  causes: string[]
  remediation: string[]
  evidence: Evidence[]
}

export interface TracedDevice {
  bdf: string
  relation: 'self' | 'alias' | 'vf-not-present'
  detail: string
  /** For aliases: the bridge that re-tags, or the quirk device. */
  via?: string
  driver?: string
  group?: number
  domainType?: string
}

export interface FaultTrace {
  exists: boolean
  devices: TracedDevice[]
  note?: string
}

export interface Seen {
  line: number
  time?: LogTime
}

export interface FaultGroup extends FamilyFields {
  /** Which IOMMU reported it. */
  family: IommuFamily
  kind: 'dma' | 'interrupt'
  requester: string
  requesterAsLogged: string
  access?: 'read' | 'write'
  /** DMA: the 4 KiB page; the first faulting address is `address`. */
  page?: bigint
  address?: bigint
  index?: bigint
  reason?: number
  reasonText: string
  reasonInfo?: FaultReason
  pasid?: number
  count: number
  first: Seen
  last: Seen
  /** Highest number of printed faults in one 5 s window (the kernel's ratelimit interval). */
  peakPer5s: number
  /** "callbacks suppressed" counts attributed to this group by proximity (the kernel does not name them). */
  suppressedNearby: number
  storm: boolean
  /** First seen before the kernel finished enabling translation (or < 10 s after boot when the log does not say). */
  early: boolean
  /** Past MAX_GROUPS distinct groups: this one collects every further page of its requester × reason. */
  otherPages?: boolean
  /**
   * When the faults came: counts per bucket from the first stamp, in the log's clock. Buckets
   * double in width as needed so there are never more than TIMELINE_BUCKETS.
   */
  timeline?: {startSeconds: number; bucketSeconds: number; buckets: Array<{at: number; count: number}>}
  formats: string[]
  sample: string
  walkDump: string[]
  /** AMD-Vi and SMMU: the event type as the kernel names it (IO_PAGE_FAULT, F_TRANSLATION, context-fault …). */
  event?: string
  /** AMD-Vi and SMMU: what the event (and its flags or status bits) means. */
  eventMeaning?: string
  trace?: FaultTrace
  explanation: Explanation
}

/** What AMD-Vi and SMMU faults carry beyond a VT-d fault (copied from the first record into its group). */
export interface FamilyFields {
  /** AMD-Vi: the protection domain; IO_PAGE_FAULT flags (SMMU v1/v2: FSR) and the names of the bits set. */
  domain?: number
  flags?: number
  flagNames?: string[]
  /** AMD-Vi 5.x+: the driver the line named for the requester ("pci": none bound). */
  driver?: string
  /** SMMU: the StreamID, and the SMMU that reported it. */
  streamId?: number
  unit?: string
}
const FAMILY_FIELDS = ['domain', 'flags', 'flagNames', 'driver', 'streamId', 'unit'] as const

/**
 * A fault another IOMMU family printed (AMD-Vi, Arm SMMU), in the fields grouping reads — the
 * same ones a VT-d FaultRecord has — plus what that family adds.
 */
export interface OtherFault extends FamilyFields {
  type: 'other-fault'
  family: Exclude<IommuFamily, 'intel-vtd'>
  kind: 'dma' | 'interrupt'
  requester: string
  requesterAsLogged: string
  access?: 'read' | 'write'
  address?: bigint
  index?: undefined
  reason?: undefined
  reasonText: string
  pasid?: number
  format: string
  line: number
  time?: LogTime
  text: string
  event: string
  meaning: string
}

type AnyFault = FaultRecord | OtherFault

export interface EventGroup {
  type: 'qi' | 'prq' | 'rmrr-refusal' | 'amd-vi' | 'unparsed'
  /** What happened, short: "timeout", "IO_PAGE_FAULT", "ineligible" … */
  event: string
  /** The device involved, full BDF, when the line names one. */
  device?: string
  count: number
  first: Seen
  last: Seen
  sample: string
  explanation: Explanation
}

export interface TriageSummary {
  linesRead: number
  faultRecords: number
  dmaFaults: number
  interruptFaults: number
  /** Sum of "dmar_fault: N callbacks suppressed" and "amd_iommu_report_page_fault: N callbacks suppressed". */
  suppressed: number
  /** Status lines with PFO set: fault records were lost. */
  overflows: number
  /** Status lines with PRO (bit 7) set: the page-request queue overflowed. */
  pageRequestOverflows: number
  statusLines: number
  /** Records with no timestamp while --since was given (kept: we cannot tell). */
  untimed: number
  /** Records dropped by --since. */
  beforeSince: number
  formats: Record<string, number>
  /** AMD-Vi event lines (faults and IOMMU events). */
  amdVi: number
  /** Fault and event lines past the group caps (MAX_GROUPS + MAX_FOLDED_GROUPS, MAX_EVENT_GROUPS): counted, not grouped. */
  ungrouped: number
  /** Arm SMMU fault records. */
  smmu: number
  /** Fault records per IOMMU family. */
  families: Partial<Record<IommuFamily, number>>
}

/** A line that changes what the faults mean (chipset erratum, firmware-table bug, kdump …). */
export interface ContextGroup {
  event: ContextEvent
  detail?: string
  count: number
  first: Seen
  /** What the line means on its own (undefined for lines that only qualify faults). */
  explanation?: Explanation
}

export interface TriageResult {
  summary: TriageSummary
  faults: FaultGroup[]
  events: EventGroup[]
  /** Co-occurring lines, weightiest first. */
  context: ContextGroup[]
  /** Boot facts the log itself carried and the rules used. */
  logContext: {
    rmrrs: Array<{base: bigint; end: bigint; device?: string; line: number}>
    defaultDomain?: string
    interruptRemapping?: string
    groups: number
  }
}

// ---------------------------------------------------------------- helpers

const STORM_WINDOW_S = 5
const STORM_BURST = 10 // the kernel's ratelimit burst
/**
 * Without the IOMMU init line, faults stamped this soon after boot count as boot-time: the kernel
 * sets up the IOMMU and starts probing drivers within about a second.
 */
const EARLY_BOOT_S = 2
const TIMELINE_BUCKETS = 48
/**
 * Distinct groups kept before new pages fold into per-requester "other pages" groups. Each group
 * is explained and traced at the end; 2000 keep a 300 k-line storm of distinct pages under
 * 200 MB peak (10 000 took about 300 MB), and no reader goes through more than a few hundred.
 */
export const MAX_GROUPS = 2000
/**
 * "Other pages" groups kept past MAX_GROUPS; past these a fault is only counted (summary.ungrouped,
 * the "and N more" line), so a storm of distinct requester × page keys stays bounded in memory.
 */
export const MAX_FOLDED_GROUPS = 1000
/** Event groups (QI, PRQ, AMD-Vi, unrecognised lines …) kept; further new ones are only counted. */
export const MAX_EVENT_GROUPS = 2000

function faultKey(f: AnyFault): string {
  // A redacted address or index ("ffxxxxxx") is unknown, not zero.
  const where = f.kind === 'dma' ? (f.address === undefined ? 'p?' : `p${(f.address >> 12n).toString(16)}`) : (f.index === undefined ? 'i?' : `i${f.index.toString(16)}`)
  const family = f.type === 'other-fault' ? `${f.family}|${f.event}|${f.unit ?? ''}|${f.flags ?? ''}|` : ''
  return `${family}${f.kind}|${f.requester}|${f.reason ?? '?'}|${f.access ?? ''}|${where}|${f.pasid ?? ''}`
}

/** AMD-Vi records naming one requester become faults; the IOMMU's own events stay events. */
function amdViFault(r: AmdViRecord): OtherFault | undefined {
  if (!AMD_VI_DEVICE_EVENTS.has(r.event)) return undefined
  const device = r.device ?? '(not printed)'
  const f: OtherFault = {
    type: 'other-fault', family: 'amd-vi', kind: r.flagBits?.interrupt ? 'interrupt' : 'dma', requester: device, requesterAsLogged: device,
    reasonText: r.event, format: r.splitForm ? 'amd-vi-split' : r.driver !== undefined ? 'amd-vi-device-first' : 'amd-vi-device-field',
    line: r.line, text: r.text, event: r.event, meaning: r.meaning,
  }
  if (r.time !== undefined) f.time = r.time
  if (r.access !== undefined) f.access = r.access
  if (r.address !== undefined) f.address = r.address
  if (r.pasid !== undefined && r.pasid !== 0) f.pasid = r.pasid
  if (r.domain !== undefined) f.domain = r.domain
  if (r.flags !== undefined) f.flags = r.flags
  if (r.flagBits !== undefined) f.flagNames = amdViFlagNames(r.flagBits)
  if (r.driver !== undefined) f.driver = r.driver
  if (r.unit !== undefined) f.unit = r.unit
  return f
}

/** An SMMU fault: the requester is the master the kernel named, else the StreamID on its SMMU. */
function smmuFault(r: SmmuRecord): OtherFault {
  const requester = smmuRequester(r)
  const f: OtherFault = {
    type: 'other-fault', family: r.family, kind: 'dma', requester, requesterAsLogged: requester, reasonText: r.event,
    format: r.family === 'arm-smmu' ? `smmu-${r.event}` : r.raw !== undefined ? 'smmu-v3-raw' : 'smmu-v3-decoded',
    line: r.line, text: r.text, event: r.event, meaning: r.meaning, unit: r.unit,
  }
  if (r.time !== undefined) f.time = r.time
  if (r.access !== undefined) f.access = r.access
  if (r.address !== undefined) f.address = r.address
  if (r.substreamId !== undefined) f.pasid = r.substreamId
  if (r.streamId !== undefined) f.streamId = r.streamId
  if (r.fsrBits !== undefined) f.flagNames = r.fsrBits
  if (r.fsr !== undefined) f.flags = r.fsr
  return f
}

/** The fields faultKey reads, with the group they led to (FaultTriage.groupFor). */
interface KeyMemo {
  event: string | undefined
  requester: string
  kind: FaultRecord['kind']
  reason: number | undefined
  access: FaultRecord['access']
  address: bigint | undefined
  index: bigint | undefined
  pasid: number | undefined
  st: GroupState
}
/** Fault texts remembered by groupFor before the memo starts over (bounds memory on odd logs). */
const KEY_MEMO_MAX = 4096

/**
 * A template's repeats not yet added to its group and the summary (foldRepeats). `generation`
 * is the triage's at the counter's making: unique across triages and folds, so a counter kept in
 * a parser's slot is used only by the triage that made it, before its counts were folded.
 */
interface RepeatCounter {
  st: GroupState
  template: FaultRecord
  count: number
  generation: number
}
let nextRepeatGeneration = 1

function seen(r: {line: number; time?: LogTime}): Seen {
  return r.time === undefined ? {line: r.line} : {line: r.line, time: r.time}
}

// ---------------------------------------------------------------- the aggregator

/** Every field set from the start (undefined until used): one hidden class for the per-fault updates. */
interface GroupState {
  group: Omit<FaultGroup, 'explanation' | 'trace'>
  /**
   * The last fault's line and stamp while still bytes (repeat): `group.last` is made from it at
   * finish. Its length is 0 when `group.last` is current.
   */
  lastStamp: (StampBytes & {line: number}) | undefined
  /** `hot`: the bucket the last stamp fell in, whose count in `counts` lacks `hotCount` (flushHot). */
  timeline: {origin: number; width: number; counts: Map<number, number>; hot: number; hotCount: number} | undefined
  /** The first record, for the translation-replay hook. */
  firstRecord: AnyFault
  /** A number from the start (0 until windowOpen): a field that held undefined boxes every number stored in it. */
  windowStart: number
  windowOpen: boolean
  windowCount: number
  /** The group's peakPer5s, kept here until finish. */
  peak: number
}

interface EventState {
  group: Omit<EventGroup, 'explanation'>
  record: LogRecord
}

export class FaultTriage {
  private readonly groups = new Map<string, GroupState>()
  /** Groups by fault text (see groupFor), event groups and RMRR ranges by line text (add, addEvent). */
  private readonly keyMemo = new Map<string, KeyMemo>()
  /** Groups by the parser's record template (repeat), bounded like keyMemo. */
  private readonly templateGroups = new Map<LogRecord, RepeatCounter>()
  /** The generation of templateGroups' counters (see RepeatCounter); a new one when they are folded. */
  private repeatGeneration = nextRepeatGeneration++
  private readonly eventMemo = new Map<string, {type: EventGroup['type']; event: string; device: string | undefined; st: EventState}>()
  private readonly rmrrTexts = new Map<string, {base: bigint; end: bigint; device: string | undefined}>()
  private readonly events = new Map<string, EventState>()
  private lastGroup: GroupState | undefined
  private pendingSuppressed = 0
  private readonly summary: TriageSummary = {
    linesRead: 0, faultRecords: 0, dmaFaults: 0, interruptFaults: 0, suppressed: 0, overflows: 0, pageRequestOverflows: 0,
    statusLines: 0, untimed: 0, beforeSince: 0, formats: {}, amdVi: 0, ungrouped: 0, smmu: 0, families: {},
  }
  private foldedGroups = 0
  private readonly logRmrrs: TriageResult['logContext']['rmrrs'] = []
  private readonly rmrrSeen = new Set<string>()
  private readonly logGroups = new Map<string, number>()
  private defaultDomain: string | undefined
  private irState: string | undefined
  /** Walk-dump lines go to the fault printed just before them. */
  private dumpTarget: GroupState | undefined
  /** "DMAR: Intel(R) Virtualization Technology for Directed I/O" was seen: translation is up. */
  private iommuReady = false
  /** Stamps in seconds since boot (or the IOMMU init line) were seen: timing rules can apply. */
  private bootTimeline = false
  private readonly contexts = new Map<ContextEvent, {line: number; detail?: string; count: number; first: Seen}>()
  private readonly removed = new Map<string, number>()
  /** Functions a DMAR device scope names (Xen's boot lines): the firmware says they exist (bounded). */
  private readonly scopeEndpoints = new Set<string>()
  /** The firmware's reserved ranges from the log's e820 map (bounded: a map has a few dozen lines). */
  private readonly e820Reserved: LogFacts['e820Reserved'] = []
  /** What the log's own driver lines say about each function (bounded). */
  private readonly driverFacts: LogFacts['driverLines'] = new Map()
  /** Vendor, device and class per function from the log's PCI enumeration lines (bounded). */
  private readonly pciIds: LogFacts['pciIds'] = new Map()
  /** DMA-API direction warnings per device (bounded). */
  private readonly dmaApiDirection: LogFacts['dmaApiDirection'] = new Map()
  /** The end of the highest usable e820 range below 4 GiB. */
  private lowRamTop = 0n
  private readonly interruptRequesters = new Set<string>()

  constructor(private readonly ctx: TriageContext = {}) {}

  /** False when --since drops it. Boot-context records always count. */
  private inWindow(r: LogRecord): boolean {
    const since = this.ctx.since
    if (since === undefined) return true
    const t = r.time
    if (t?.seconds === undefined) {
      this.summary.untimed++
      return true
    }
    // dmesg -H without an anchor counts from the log's first line: no clock to compare with.
    const threshold = t.style === 'monotonic' ? since.bootSeconds : t.style === 'relative' && t.seconds < 1e9 ? undefined : since.epochSeconds
    if (threshold === undefined) {
      this.summary.untimed++
      return true
    }
    if (t.seconds >= threshold) return true
    this.summary.beforeSince++
    return false
  }

  add(r: LogRecord): void {
    if (this.addAsRepeat(r, r.line)) return
    switch (r.type) {
      case 'rmrr': {
        // A log of many boots repeats its RMRR lines: keep each range (and device) once (a line
        // seen before went to addAsRepeat).
        const key = `${r.base}-${r.end}-${r.device ?? ''}`
        if (!this.rmrrSeen.has(key)) {
          this.rmrrSeen.add(key)
          this.logRmrrs.push({base: r.base, end: r.end, ...(r.device === undefined ? {} : {device: r.device}), line: r.line})
        }
        if (this.rmrrTexts.size >= KEY_MEMO_MAX) this.rmrrTexts.clear()
        this.rmrrTexts.set(r.text, {base: r.base, end: r.end, device: r.device})
        return
      }
      case 'context': {
        const c = this.contexts.get(r.event)
        if (c !== undefined) c.count++
        else this.contexts.set(r.event, {line: r.line, count: 1, first: seen(r), ...(r.detail === undefined ? {} : {detail: r.detail})})
        if (r.event === 'device-removed' && r.detail !== undefined && !this.removed.has(r.detail)) this.removed.set(r.detail, r.line)
        if (r.event === 'dmar-scope-endpoint' && r.detail !== undefined && this.scopeEndpoints.size < 4096) this.scopeEndpoints.add(r.detail)
        if (r.event === 'e820-reserved' && r.detail !== undefined && this.e820Reserved.length < 256) {
          const [from, to] = r.detail.split('-')
          this.e820Reserved.push({base: BigInt(from!), end: BigInt(to!), line: r.line})
        }
        if ((r.event === 'driver-line' || r.event === 'driver-trouble') && r.detail !== undefined) {
          const m = /^(\S+) (\S+?)(?:: (.*))?$/.exec(r.detail)
          if (m !== null) {
            const d = this.driverFacts.get(m[2]!) ?? {drivers: new Set<string>(), trouble: [], first: r.line}
            d.drivers.add(m[1]!)
            if (m[3] !== undefined && d.trouble.length < 8) d.trouble.push({line: r.line, message: m[3]})
            if (this.driverFacts.size < 1024 || this.driverFacts.has(m[2]!)) this.driverFacts.set(m[2]!, d)
          }
        }
        if (r.event === 'pci-id' && r.detail !== undefined && this.pciIds.size < 4096) {
          const [bdf, ids, cls] = r.detail.split(' ')
          const [vendor, device] = ids!.split(':')
          this.pciIds.set(bdf!, {vendorId: Number.parseInt(vendor!, 16), deviceId: Number.parseInt(device!, 16), classCode: Number.parseInt(cls!, 16)})
        }
        if (r.event === 'dma-api-direction' && r.detail !== undefined) {
          const m = /^\S+ (\S+?): (.*)$/.exec(r.detail)
          if (m !== null && !this.dmaApiDirection.has(m[1]!) && this.dmaApiDirection.size < 256) this.dmaApiDirection.set(m[1]!, {line: r.line, message: r.detail})
        }
        if (r.event === 'e820-usable' && r.detail !== undefined) {
          const end = BigInt(r.detail.split('-')[1]!)
          if (end < 1n << 32n && end > this.lowRamTop) this.lowRamTop = end
        }
        return
      }
      default:
    }
    if (!this.inWindow(r)) return
    switch (r.type) {
      case 'fault':
        this.addFault(r)
        return
      case 'fault-status':
        this.countStatus(r)
        return
      case 'suppressed':
        // amd_iommu_report_page_fault's ratelimit hides page faults the same way dmar_fault's does.
        if (r.source === 'dmar_fault' || r.source === 'amd_iommu_report_page_fault') {
          this.summary.suppressed += r.count
          this.pendingSuppressed += r.count
        } else if (r.source.startsWith('amd_iommu')) this.addEvent(r, 'amd-vi', `${r.source} suppressed`, undefined, r.count)
        return
      case 'qi':
        this.addEvent(r, 'qi', r.event === 'descriptor' ? `descriptor ${r.position ?? ''}: ${r.descriptor ?? ''}` : r.event, r.sid)
        return
      case 'prq':
        this.addEvent(r, 'prq', r.event, undefined)
        return
      case 'rmrr-refusal':
        this.addEvent(r, 'rmrr-refusal', r.form, r.device)
        return
      case 'amd-vi': {
        this.summary.amdVi++
        const f = amdViFault(r)
        if (f !== undefined) this.addFault(f)
        else this.addEvent(r, 'amd-vi', r.event, r.device)
        return
      }
      case 'smmu':
        this.summary.smmu++
        this.addFault(smmuFault(r))
        return
      case 'unparsed':
        // Each distinct line is its own group: the reader sees every line this tool could not read.
        this.addEvent(r, 'unparsed', 'unrecognised fault line', undefined, 1, r.text)
    }
  }

  /**
   * A VT-d fault the parser made before, seen again on `line` (LogParser's repeat sink): what
   * add() does with the copy stamped `time` (or `stamp`, still bytes), without the copy. False
   * (the caller then makes the copy and adds it) when --since applies or the template's group is
   * not known yet; groupFor's memo tells, and a template's group never changes once made.
   * Other records the parser made before go to addAsRepeat (false for those it does not take).
   */
  repeat(template: LogRecord, line: number, time: LogTime | undefined, stamp: StampBytes, slot?: RepeatSlot): boolean {
    if (template.type !== 'fault') return this.addAsRepeat(template, line)
    if (this.ctx.since !== undefined) return false
    // The parser's slot for this template keeps its counter: one Map lookup fewer per repeat.
    let repeated = slot?.sinkState as RepeatCounter | undefined
    if (repeated === undefined || repeated.template !== template || repeated.generation !== this.repeatGeneration) {
      repeated = this.templateGroups.get(template) ?? this.repeatOf(template)
      if (repeated === undefined) return false
      if (slot !== undefined) slot.sinkState = repeated
    }
    // The counts that are the same for every copy wait for finish (foldRepeats).
    repeated.count++
    const st = repeated.st
    if ((time?.style ?? (stamp.length !== 0 ? stamp.style : undefined)) === 'monotonic') this.bootTimeline = true
    if (stamp.length !== 0) {
      const last = (st.lastStamp ??= {bytes: new Uint8Array(stamp.bytes.length), length: 0, digits: 0, integerDigits: 0, fractionDigits: 0, style: stamp.style, seconds: 0, line: 0})
      if (stamp.length > 0) {
        if (last.bytes.length < stamp.length) last.bytes = new Uint8Array(stamp.length)
        for (let i = 0; i < stamp.length; i++) last.bytes[i] = stamp.bytes[i]!
      } else {
        last.digits = stamp.digits
        last.integerDigits = stamp.integerDigits
        last.fractionDigits = stamp.fractionDigits
      }
      last.length = stamp.length
      last.style = stamp.style
      last.seconds = stamp.seconds
      last.line = line
    } else {
      st.group.last = time === undefined ? {line} : {line, time}
      if (st.lastStamp !== undefined) st.lastStamp.length = 0
    }
    this.countTimes(st, time === undefined ? (stamp.length !== 0 ? stamp.seconds : undefined) : time.seconds)
    return true
  }

  /**
   * What add() does with `r` on `line` when that needs neither the record's own line (but
   * `line`) nor its time: boot state, a page-walk dump line, an RMRR line seen before, and
   * without --since a fault status line. False for every other record, which add() takes.
   * repeat() sends a template here, so a log's repeated boot lines (a group per device, every
   * boot) are not copied to be added.
   */
  private addAsRepeat(r: LogRecord, line: number): boolean {
    switch (r.type) {
      case 'group':
        this.logGroups.set(r.device, r.group)
        return true
      case 'domain-type':
        this.defaultDomain = r.domainType
        return true
      case 'ir-state':
        this.irState = r.state
        return true
      case 'iommu-ready':
        this.iommuReady = true
        this.bootTimeline = true
        return true
      case 'walk-dump':
        if (this.dumpTarget !== undefined && this.dumpTarget.group.walkDump.length < 16) this.dumpTarget.group.walkDump.push(`${line}: ${r.text}`)
        return true
      case 'rmrr': {
        // The line's text is remembered with its range: a repeat then skips building the key (two BigInt strings).
        const known = this.rmrrTexts.get(r.text)
        return known !== undefined && known.base === r.base && known.end === r.end && known.device === r.device
      }
      case 'fault-status':
        // --since decides by the record's time (inWindow).
        if (this.ctx.since !== undefined) return false
        this.countStatus(r)
        return true
      default:
        return false
    }
  }

  private countStatus(r: FaultStatusRecord): void {
    this.summary.statusLines++
    if (r.overflow) this.summary.overflows++
    if (r.pageRequestOverflow) this.summary.pageRequestOverflows++
  }

  /** The repeat counter of a template whose group groupFor's memo knows (else undefined). */
  private repeatOf(template: FaultRecord): RepeatCounter | undefined {
    const st = this.memoisedGroup(template)
    if (st === undefined) return undefined
    // What addFault does once per distinct copy; the memo's group was made by one with this text.
    if (!st.group.formats.includes(template.format)) st.group.formats.push(template.format)
    if (template.kind === 'interrupt') this.interruptRequesters.add(template.requester)
    if (this.templateGroups.size >= KEY_MEMO_MAX) this.foldRepeats()
    const repeated: RepeatCounter = {st, template, count: 0, generation: this.repeatGeneration}
    this.templateGroups.set(template, repeated)
    return repeated
  }

  /** Adds the repeats' counts (summary, group count) and starts the counters over. */
  private foldRepeats(): void {
    for (const {st, template, count} of this.templateGroups.values()) {
      if (count === 0) continue
      this.countSummary(template, count)
      st.group.count += count
    }
    this.templateGroups.clear()
    // Counters a parser's slot still holds are folded: the generation tells them apart.
    this.repeatGeneration = nextRepeatGeneration++
  }

  /** The summary's counts of `n` faults like `f` (one added, or a template's repeats). */
  private countSummary(f: AnyFault, n: number): void {
    const s = this.summary
    s.faultRecords += n
    const family = f.type === 'fault' ? 'intel-vtd' : f.family
    s.families[family] = (s.families[family] ?? 0) + n
    if (f.kind === 'dma') s.dmaFaults += n
    else s.interruptFaults += n
    s.formats[f.format] = (s.formats[f.format] ?? 0) + n
  }

  private addFault(f: AnyFault): void {
    this.countSummary(f, 1)
    if (f.kind === 'interrupt') this.interruptRequesters.add(f.requester)
    if (f.time?.style === 'monotonic') this.bootTimeline = true
    const st = this.groupFor(f)
    if (st === undefined) {
      this.summary.ungrouped++
      return
    }
    st.group.last = seen(f)
    if (st.lastStamp !== undefined) st.lastStamp.length = 0
    this.countInto(st, f.format, f.time?.seconds)
  }

  /** A group's counts of one more fault stamped `t` (the group's `last` already set). */
  private countInto(st: GroupState, format: string, t: number | undefined): void {
    const g = st.group
    g.count++
    if (!g.formats.includes(format)) g.formats.push(format)
    this.countTimes(st, t)
  }

  /** The timeline, the 5 s window and the suppressed counts of one more fault in `st`. */
  private countTimes(st: GroupState, t: number | undefined): void {
    if (t !== undefined) addToTimeline(st, t)
    if (t !== undefined) {
      if (!st.windowOpen || t - st.windowStart > STORM_WINDOW_S) {
        st.windowStart = t
        st.windowOpen = true
        st.windowCount = 0
      }
      st.windowCount++
      if (st.windowCount > st.peak) st.peak = st.windowCount
    }
    // Suppressed counts are printed when printing resumes: give them to the next printed fault.
    if (this.pendingSuppressed > 0) {
      st.group.suppressedNearby += this.pendingSuppressed
      this.pendingSuppressed = 0
    }
    this.lastGroup = st
    this.dumpTarget = st
  }

  /**
   * The group findGroup gives `f`, remembered by the fault's text: a storm repeats a few lines,
   * whose records share one text string (the parser's cached template, its hash computed once),
   * and building the key (BigInt shifts, a fresh string to hash) cost more than the rest of
   * addFault. The memo is checked field by field against what faultKey reads, and a key's group
   * never changes once made (groups are only added; past MAX_GROUPS a missing key stays missing
   * and folds the same way), so a hit is the group findGroup would return.
   */
  private groupFor(f: AnyFault): GroupState | undefined {
    const memoised = this.memoisedGroup(f)
    if (memoised !== undefined) return memoised
    const event = f.type === 'fault' ? undefined : f.event
    const st = this.findGroup(f)
    if (st === undefined) return undefined
    if (this.keyMemo.size >= KEY_MEMO_MAX) this.keyMemo.clear()
    this.keyMemo.set(f.text, {event, requester: f.requester, kind: f.kind, reason: f.reason, access: f.access, address: f.address, index: f.index, pasid: f.pasid, st})
    return st
  }

  /** groupFor's memo alone: the group of a fault with `f`'s text and key fields, when remembered. */
  private memoisedGroup(f: AnyFault): GroupState | undefined {
    const m = this.keyMemo.get(f.text)
    const event = f.type === 'fault' ? undefined : f.event
    if (m !== undefined && m.event === event && m.requester === f.requester && m.kind === f.kind && m.reason === f.reason && m.access === f.access
      && m.address === f.address && m.index === f.index && m.pasid === f.pasid) return m.st
    return undefined
  }

  /**
   * The group faultKey(f) names (made on first sight), or past MAX_GROUPS its "other pages" group;
   * undefined past MAX_FOLDED_GROUPS of those too.
   */
  private findGroup(f: AnyFault): GroupState | undefined {
    let key = faultKey(f)
    let st = this.groups.get(key)
    // Memory stays bounded on a device that faults across millions of pages: past the cap,
    // new pages fold into one "other pages" group per requester × reason.
    let folded = false
    if (st === undefined && this.groups.size >= MAX_GROUPS) {
      key = `${f.kind}|${f.requester}|${f.reason ?? '?'}|${f.access ?? ''}|*`
      st = this.groups.get(key)
      folded = true
    }
    if (st === undefined && folded) {
      if (this.foldedGroups >= MAX_FOLDED_GROUPS) return undefined
      this.foldedGroups++
    }
    if (st === undefined) {
      const g: GroupState['group'] = {
        family: f.type === 'fault' ? 'intel-vtd' : f.family, kind: f.kind, requester: f.requester, requesterAsLogged: f.requesterAsLogged, reasonText: f.reasonText,
        count: 0, first: seen(f), last: seen(f), peakPer5s: 0, suppressedNearby: 0, storm: false,
        early: !this.iommuReady && f.time?.style === 'monotonic' && f.time.seconds !== undefined && f.time.seconds < EARLY_BOOT_S,
        formats: [], sample: f.text, walkDump: [],
      }
      if (f.access !== undefined) g.access = f.access
      if (folded) g.otherPages = true
      else if (f.address !== undefined) {
        g.address = f.address
        g.page = f.address >> 12n << 12n
      }
      if (f.index !== undefined) g.index = f.index
      if (f.reason !== undefined) {
        g.reason = f.reason
        const info = lookupFaultReason(f.reason)
        if (info !== undefined) g.reasonInfo = info
      }
      if (f.pasid !== undefined) g.pasid = f.pasid
      if (f.type === 'other-fault') copyFamilyFields(g, f)
      st = {group: g, lastStamp: undefined, timeline: undefined, firstRecord: f, windowStart: 0, windowOpen: false, windowCount: 0, peak: 0}
      this.groups.set(key, st)
    }
    return st
  }

  private addEvent(r: LogRecord, type: EventGroup['type'], event: string, device: string | undefined, weight = 1, distinct = ''): void {
    // As groupFor: events are only ever added, so the group a text led to stays its group.
    const m = this.eventMemo.get(r.text)
    let st = m !== undefined && m.type === type && m.event === event && m.device === device ? m.st : undefined
    if (st === undefined) {
      const key = `${type}|${event}|${device ?? ''}|${distinct}`
      st = this.events.get(key)
      if (st === undefined) {
        if (this.events.size >= MAX_EVENT_GROUPS) {
          this.summary.ungrouped += weight
          return
        }
        const g: EventState['group'] = {type, event, count: 0, first: seen(r), last: seen(r), sample: r.text}
        if (device !== undefined) g.device = device
        st = {group: g, record: r}
        this.events.set(key, st)
      }
      if (this.eventMemo.size >= KEY_MEMO_MAX) this.eventMemo.clear()
      this.eventMemo.set(r.text, {type, event, device, st})
    }
    st.group.count += weight
    st.group.last = seen(r)
  }

  /** Close the stream: attribute leftovers, trace, explain, sort worst first. */
  finish(linesRead: number): TriageResult {
    this.foldRepeats()
    this.summary.linesRead = linesRead
    if (this.pendingSuppressed > 0 && this.lastGroup !== undefined) {
      this.lastGroup.group.suppressedNearby += this.pendingSuppressed
      this.pendingSuppressed = 0
    }
    const logContext: TriageResult['logContext'] = {rmrrs: this.logRmrrs, groups: this.logGroups.size}
    if (this.defaultDomain !== undefined) logContext.defaultDomain = this.defaultDomain
    if (this.irState !== undefined) logContext.interruptRemapping = this.irState

    const facts: LogFacts = {
      contexts: this.contexts, removed: this.removed, listed: new Set([...this.logGroups.keys(), ...this.scopeEndpoints]),
      interruptRequesters: this.interruptRequesters, bootTimeline: this.bootTimeline, driverLines: this.driverFacts, dmaApiDirection: this.dmaApiDirection, pciIds: this.pciIds,
      // Only the firmware's holes inside low RAM: the DMA API hands out IOVAs top-down from 4 GiB,
      // through the reserved ranges above RAM (flash, MMIO), so those say nothing about a fault.
      e820Reserved: this.e820Reserved.filter((r) => r.end < this.lowRamTop),
    }
    const faults: FaultGroup[] = [...this.groups.values()].map(({group, firstRecord, timeline, lastStamp, peak}) => {
      group.peakPer5s = peak
      if (lastStamp !== undefined && lastStamp.length !== 0) {
        group.last = {line: lastStamp.line, time: {text: stampText(lastStamp), style: lastStamp.style, seconds: lastStamp.seconds}}
      }
      if (timeline !== undefined) {
        flushHot(timeline)
        group.timeline = {
          startSeconds: timeline.origin, bucketSeconds: timeline.width,
          buckets: [...timeline.counts.entries()].sort((a, b) => a[0] - b[0]).map(([i, count]) => ({at: timeline.origin + i * timeline.width, count})),
        }
      }
      group.storm = group.peakPer5s >= STORM_BURST || group.suppressedNearby > 0
      const trace = this.trace(group)
      const rules = group.family === 'intel-vtd' ? FAULT_RULES : group.family === 'amd-vi' ? AMD_VI_RULES : SMMU_RULES
      const record = firstRecord.type === 'fault' ? firstRecord : undefined
      const full: FaultGroup = {...group, explanation: explainFault(faultFacts(group, trace, this.ctx, logContext, facts, this.source()), record, rules)}
      if (trace !== undefined) full.trace = trace
      return full
    })
    faults.sort((a, b) => (b.count + b.suppressedNearby) - (a.count + a.suppressedNearby) || a.first.line - b.first.line)
    // An AMD IOMMU whose command queue stalls (Completion-Wait time-outs) on a device that no longer answers
    // ATS invalidations: that device leads; other devices' page faults in the same window follow from the stall.
    if ([...this.events.values()].some(({group}) => group.type === 'amd-vi' && group.event === 'COMPLETION_WAIT_TIMEOUT')) {
      // The device that did not answer: its IOTLB_INV_TIMEOUT group, whichever rule explains why (device-TLB, or a kernel bug that powered it down).
      const stalledOn = (f: FaultGroup) => (f.explanation.category === 'device-tlb' || f.event === 'IOTLB_INV_TIMEOUT' ? 0 : 1)
      faults.sort((a, b) => stalledOn(a) - stalledOn(b))
    }
    const hints: QueueHints = {}
    for (const {record} of this.events.values()) {
      if (record.type === 'qi' && record.event === 'descriptor' && record.sid !== undefined && record.sidRaw !== 0) {
        hints.deviceTlbTarget = {device: record.sid, line: record.line, text: record.text}
        break
      }
    }
    const events: EventGroup[] = [...this.events.values()].map(({group, record}) => ({...group, explanation: explainEvent(group, record, this.ctx, this.source(), this.contexts, hints)}))
    events.sort((a, b) => b.count - a.count || a.first.line - b.first.line)
    const context: ContextGroup[] = [...this.contexts.entries()].map(([event, c]) => {
      const group: ContextGroup = {event, count: c.count, first: c.first, ...(c.detail === undefined ? {} : {detail: c.detail})}
      const explanation = explainContext(event, c.line, c.detail, this.source())
      if (explanation !== undefined) group.explanation = explanation
      return group
    })
    const rank = (e: ContextEvent) => (CONTEXT_PRIORITY.includes(e) ? CONTEXT_PRIORITY.indexOf(e) : CONTEXT_PRIORITY.length)
    context.sort((a, b) => rank(a.event) - rank(b.event) || a.first.line - b.first.line)
    return {summary: this.summary, faults, events, context, logContext}
  }

  private source(): string {
    return this.ctx.source ?? 'log'
  }

  private trace(g: GroupState['group']): FaultTrace | undefined {
    const topo = this.ctx.topology
    // An SMMU StreamID is traced through the IORT; an unprinted requester names no PCI function.
    if (!/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(g.requester)) return this.traceStream(g)
    const [segText, busText, rest] = g.requester.split(':')
    const segment = Number.parseInt(segText!, 16)
    const bus = Number.parseInt(busText!, 16)
    const [devText, fnText] = rest!.split('.')
    if (topo === undefined) return undefined
    const res: AliasResolution = devicesBehindAlias(topo, bus, devfnOf(Number.parseInt(devText!, 16), Number(fnText)), segment)
    const devices = res.candidates.map((c) => this.traced({bdf: c.bdf, relation: c.relation, detail: c.detail, ...(c.via === undefined ? {} : {via: c.via})}))
    const trace: FaultTrace = {exists: res.exists, devices}
    if (res.note !== undefined) trace.note = res.note
    return trace
  }

  /** An SMMU fault's StreamID back to the PCI functions whose RID (or DMA alias) the IORT maps onto it. */
  private traceStream(g: GroupState['group']): FaultTrace | undefined {
    if ((g.family !== 'arm-smmu-v3' && g.family !== 'arm-smmu') || g.streamId === undefined || g.unit === undefined) return undefined
    const found = this.ctx.streamOwners?.(g.family, g.unit, g.streamId)
    if (found === undefined) return undefined
    const sid = `StreamID 0x${g.streamId.toString(16)}`
    const devices = found.owners.map((o) =>
      this.traced(
        o.relation === 'self'
          ? {bdf: o.bdf, relation: 'self', detail: `its requester ID maps to ${sid} on ${found.smmu} (IORT)`}
          : {bdf: o.bdf, relation: 'alias', via: o.alias.via, detail: `its DMA carries the alias ${o.alias.bdf} (${o.alias.via} re-tags it), which the IORT maps to ${sid} on ${found.smmu}`},
      ),
    )
    const trace: FaultTrace = {exists: devices.length > 0, devices}
    if (devices.length === 0) trace.note = `no PCI function of this host maps to ${sid} on ${found.smmu} through the IORT: a platform device (named component), or a function no longer present`
    return trace
  }

  /** A traced function with what the host says about it: driver, IOMMU group, domain type. */
  private traced(t: TracedDevice): TracedDevice {
    const dev = this.ctx.topology?.devices.get(t.bdf)
    if (dev?.driver !== undefined) t.driver = dev.driver
    const group = dev?.iommuGroup ?? this.ctx.groups?.find((gr) => gr.devices.includes(t.bdf))?.id ?? this.logGroups.get(t.bdf)
    if (group !== undefined) t.group = group
    const type = this.ctx.groups?.find((gr) => gr.id === group)?.type
    if (type !== undefined) t.domainType = type
    return t
  }
}

function copyFamilyFields(g: GroupState['group'], f: OtherFault): void {
  g.event = f.event
  g.eventMeaning = f.meaning
  for (const k of FAMILY_FIELDS) if (f[k] !== undefined) Object.assign(g, {[k]: f[k]})
}

/**
 * Count a stamp into the group's timeline; halve the resolution when it would exceed the bucket cap.
 * A storm's stamps mostly fall in the bucket of the one before: those are only counted (hotCount).
 */
function addToTimeline(st: GroupState, seconds: number): void {
  const tl = (st.timeline ??= {origin: seconds, width: 1, counts: new Map(), hot: -1, hotCount: 0})
  const index = Math.max(0, Math.floor((seconds - tl.origin) / tl.width))
  if (index === tl.hot) {
    tl.hotCount++
    return
  }
  flushHot(tl)
  tl.counts.set(index, (tl.counts.get(index) ?? 0) + 1)
  tl.hot = index
  while (tl.counts.size > TIMELINE_BUCKETS) {
    tl.width *= 2
    const merged = new Map<number, number>()
    for (const [i, n] of tl.counts) merged.set(Math.floor(i / 2), (merged.get(Math.floor(i / 2)) ?? 0) + n)
    tl.counts = merged
    tl.hot = -1
  }
}

function flushHot(tl: NonNullable<GroupState['timeline']>): void {
  if (tl.hotCount === 0) return
  tl.counts.set(tl.hot, tl.counts.get(tl.hot)! + tl.hotCount)
  tl.hotCount = 0
}

/** Convenience: triage a whole record list (tests, small logs). */
export function triageRecords(records: Iterable<LogRecord>, linesRead: number, ctx: TriageContext = {}): TriageResult {
  const t = new FaultTriage(ctx)
  for (const r of records) t.add(r)
  return t.finish(linesRead)
}

const UNIT_SECONDS: Record<string, number> = {s: 1, m: 60, h: 3600, d: 86400}

/**
 * `--since`: "300" or "300.5" (seconds since boot, as dmesg stamps them), "10m" / "2h" / "1d"
 * (that long before now: epoch for wall-clock logs, boot seconds when the host's uptime is
 * known), or an ISO date/time. Undefined for text that is none of these.
 */
export function parseSince(text: string, nowMs: number, uptimeSeconds?: number): TriageContext['since'] | undefined {
  const t = text.trim()
  if (/^\d+(\.\d+)?$/.test(t)) return {bootSeconds: Number(t)}
  const d = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(t)
  if (d) {
    const seconds = Number(d[1]) * UNIT_SECONDS[d[2]!]!
    return {epochSeconds: nowMs / 1000 - seconds, ...(uptimeSeconds === undefined ? {} : {bootSeconds: uptimeSeconds - seconds})}
  }
  if (/^\d{4}-\d\d-\d\d/.test(t)) {
    const ms = Date.parse(t)
    if (!Number.isNaN(ms)) return {epochSeconds: ms / 1000}
  }
  return undefined
}

// ---------------------------------------------------------------- the leading explanation

/** What the whole log comes down to: the explanation a reader should see first. */
export interface LeadingExplanation {
  rule: string
  /** The cause class (e.g. "igfx", "dma-alias", "address-zero"), or "no-faults". */
  category: FaultCategory | 'no-faults'
  /** "cannot-tell" when the log does not establish the cause (the explanation lists candidates). */
  certainty: 'likely' | 'cannot-tell'
  summary: string
  causes: string[]
  remediation: string[]
}

/** Faults first (worst first), then events, then the weightiest context line; else "no faults". */
export function leadingExplanation(result: TriageResult): LeadingExplanation {
  const e = result.faults[0]?.explanation ?? result.events[0]?.explanation ?? result.context.find((c) => c.explanation !== undefined)?.explanation
  if (e === undefined) return {rule: 'no-faults', category: 'no-faults', certainty: 'likely', summary: 'no IOMMU faults (DMAR, interrupt remapping, AMD-Vi, SMMU)', causes: [], remediation: []}
  return {rule: e.rule, category: e.category, certainty: e.certainty, summary: e.summary, causes: e.causes, remediation: e.remediation}
}
