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
import {lookupFaultReason, formatReasonCode, type FaultReason} from '../decode/fault-reasons.js'
import type {FaultRecord, LogRecord, LogTime, QiRecord} from '../decode/kernel-log/index.js'
import type {PciTopology} from '../model/pci.js'
import {devfnOf, devicesBehindAlias, type AliasResolution} from './dma-alias.js'

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
}

// ---------------------------------------------------------------- outputs

export interface Explanation {
  /** Which rule produced it. */
  rule: string
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

export interface FaultGroup {
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
  trace?: FaultTrace
  explanation: Explanation
}

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
  /** Sum of "dmar_fault: N callbacks suppressed". */
  suppressed: number
  /** Status lines with PFO set: fault records were lost. */
  overflows: number
  statusLines: number
  /** Records with no timestamp while --since was given (kept: we cannot tell). */
  untimed: number
  /** Records dropped by --since. */
  beforeSince: number
  formats: Record<string, number>
  amdVi: number
}

export interface TriageResult {
  summary: TriageSummary
  faults: FaultGroup[]
  events: EventGroup[]
  /** Boot facts the log itself carried and the rules used. */
  logContext: {
    rmrrs: Array<{base: bigint; end: bigint; device?: string; line: number}>
    defaultDomain?: string
    interruptRemapping?: string
    groups: number
  }
}

// ---------------------------------------------------------------- helpers

const hex = (v: bigint | number) => '0x' + v.toString(16)
const STORM_WINDOW_S = 5
const STORM_BURST = 10 // the kernel's ratelimit burst
const EARLY_BOOT_S = 10
const TIMELINE_BUCKETS = 48
/** Distinct groups kept before new pages fold into per-requester "other pages" groups. */
export const MAX_GROUPS = 10_000

function faultKey(f: FaultRecord): string {
  const where = f.kind === 'dma' ? `p${((f.address ?? 0n) >> 12n).toString(16)}` : `i${(f.index ?? 0n).toString(16)}`
  return `${f.kind}|${f.requester}|${f.reason ?? '?'}|${f.access ?? ''}|${where}|${f.pasid ?? ''}`
}

/** The fields faultKey reads, with the group they led to (FaultTriage.groupFor). */
interface KeyMemo {
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

function seen(r: LogRecord): Seen {
  return r.time === undefined ? {line: r.line} : {line: r.line, time: r.time}
}

function inRange(addr: bigint, lo: bigint, hi: bigint): boolean {
  return addr >= lo && addr <= hi
}

// ---------------------------------------------------------------- the aggregator

interface GroupState {
  group: Omit<FaultGroup, 'explanation' | 'trace'>
  timeline?: {origin: number; width: number; counts: Map<number, number>}
  /** The first record, for the translation-replay hook. */
  firstRecord: FaultRecord
  windowStart?: number
  windowCount: number
}

interface EventState {
  group: Omit<EventGroup, 'explanation'>
  record: LogRecord
}

export class FaultTriage {
  private readonly groups = new Map<string, GroupState>()
  /** Groups by fault text (see groupFor), event groups and RMRR ranges by line text (add, addEvent). */
  private readonly keyMemo = new Map<string, KeyMemo>()
  private readonly eventMemo = new Map<string, {type: EventGroup['type']; event: string; device: string | undefined; st: EventState}>()
  private readonly rmrrTexts = new Map<string, {base: bigint; end: bigint; device: string | undefined}>()
  private readonly events = new Map<string, EventState>()
  private lastGroup: GroupState | undefined
  private pendingSuppressed = 0
  private readonly summary: TriageSummary = {
    linesRead: 0, faultRecords: 0, dmaFaults: 0, interruptFaults: 0, suppressed: 0, overflows: 0,
    statusLines: 0, untimed: 0, beforeSince: 0, formats: {}, amdVi: 0,
  }
  private readonly logRmrrs: TriageResult['logContext']['rmrrs'] = []
  private readonly rmrrSeen = new Set<string>()
  private readonly logGroups = new Map<string, number>()
  private defaultDomain: string | undefined
  private irState: string | undefined
  /** Walk-dump lines go to the fault printed just before them. */
  private dumpTarget: GroupState | undefined
  /** "DMAR: Intel(R) Virtualization Technology for Directed I/O" was seen: translation is up. */
  private iommuReady = false

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
    switch (r.type) {
      case 'rmrr': {
        // A log of many boots repeats its RMRR lines: keep each range (and device) once. The
        // line's text is remembered too: a repeat then skips building the key (two BigInt strings).
        const known = this.rmrrTexts.get(r.text)
        if (known !== undefined && known.base === r.base && known.end === r.end && known.device === r.device) return
        const key = `${r.base}-${r.end}-${r.device ?? ''}`
        if (!this.rmrrSeen.has(key)) {
          this.rmrrSeen.add(key)
          this.logRmrrs.push({base: r.base, end: r.end, ...(r.device === undefined ? {} : {device: r.device}), line: r.line})
        }
        if (this.rmrrTexts.size >= KEY_MEMO_MAX) this.rmrrTexts.clear()
        this.rmrrTexts.set(r.text, {base: r.base, end: r.end, device: r.device})
        return
      }
      case 'group':
        this.logGroups.set(r.device, r.group)
        return
      case 'domain-type':
        this.defaultDomain = r.domainType
        return
      case 'ir-state':
        this.irState = r.state
        return
      case 'iommu-ready':
        this.iommuReady = true
        return
      case 'walk-dump':
        if (this.dumpTarget !== undefined && this.dumpTarget.group.walkDump.length < 16) this.dumpTarget.group.walkDump.push(`${r.line}: ${r.text}`)
        return
      default:
    }
    if (!this.inWindow(r)) return
    switch (r.type) {
      case 'fault':
        this.addFault(r)
        return
      case 'fault-status':
        this.summary.statusLines++
        if (r.overflow) this.summary.overflows++
        return
      case 'suppressed':
        if (r.source === 'dmar_fault') {
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
      case 'amd-vi':
        this.summary.amdVi++
        this.addEvent(r, 'amd-vi', r.event, r.device)
        return
      case 'unparsed':
        this.addEvent(r, 'unparsed', 'unrecognised fault line', undefined)
    }
  }

  private addFault(f: FaultRecord): void {
    const s = this.summary
    s.faultRecords++
    if (f.kind === 'dma') s.dmaFaults++
    else s.interruptFaults++
    s.formats[f.format] = (s.formats[f.format] ?? 0) + 1
    const st = this.groupFor(f)
    const g = st.group
    g.count++
    g.last = seen(f)
    if (!g.formats.includes(f.format)) g.formats.push(f.format)
    const t = f.time?.seconds
    if (t !== undefined) addToTimeline(st, t)
    if (t !== undefined) {
      if (st.windowStart === undefined || t - st.windowStart > STORM_WINDOW_S) {
        st.windowStart = t
        st.windowCount = 0
      }
      st.windowCount++
      if (st.windowCount > g.peakPer5s) g.peakPer5s = st.windowCount
    }
    // Suppressed counts are printed when printing resumes: give them to the next printed fault.
    if (this.pendingSuppressed > 0) {
      g.suppressedNearby += this.pendingSuppressed
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
  private groupFor(f: FaultRecord): GroupState {
    const m = this.keyMemo.get(f.text)
    if (m !== undefined && m.requester === f.requester && m.kind === f.kind && m.reason === f.reason && m.access === f.access
      && m.address === f.address && m.index === f.index && m.pasid === f.pasid) return m.st
    const st = this.findGroup(f)
    if (this.keyMemo.size >= KEY_MEMO_MAX) this.keyMemo.clear()
    this.keyMemo.set(f.text, {requester: f.requester, kind: f.kind, reason: f.reason, access: f.access, address: f.address, index: f.index, pasid: f.pasid, st})
    return st
  }

  /** The group faultKey(f) names (made on first sight), or past MAX_GROUPS its "other pages" group. */
  private findGroup(f: FaultRecord): GroupState {
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
    if (st === undefined) {
      const g: GroupState['group'] = {
        kind: f.kind, requester: f.requester, requesterAsLogged: f.requesterAsLogged, reasonText: f.reasonText,
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
      st = {group: g, firstRecord: f, windowCount: 0}
      this.groups.set(key, st)
    }
    return st
  }

  private addEvent(r: LogRecord, type: EventGroup['type'], event: string, device: string | undefined, weight = 1): void {
    // As groupFor: events are only ever added, so the group a text led to stays its group.
    const m = this.eventMemo.get(r.text)
    let st = m !== undefined && m.type === type && m.event === event && m.device === device ? m.st : undefined
    if (st === undefined) {
      const key = `${type}|${event}|${device ?? ''}`
      st = this.events.get(key)
      if (st === undefined) {
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
    this.summary.linesRead = linesRead
    if (this.pendingSuppressed > 0 && this.lastGroup !== undefined) {
      this.lastGroup.group.suppressedNearby += this.pendingSuppressed
      this.pendingSuppressed = 0
    }
    const logContext: TriageResult['logContext'] = {rmrrs: this.logRmrrs, groups: this.logGroups.size}
    if (this.defaultDomain !== undefined) logContext.defaultDomain = this.defaultDomain
    if (this.irState !== undefined) logContext.interruptRemapping = this.irState

    const faults: FaultGroup[] = [...this.groups.values()].map(({group, firstRecord, timeline}) => {
      if (timeline !== undefined) {
        group.timeline = {
          startSeconds: timeline.origin, bucketSeconds: timeline.width,
          buckets: [...timeline.counts.entries()].sort((a, b) => a[0] - b[0]).map(([i, count]) => ({at: timeline.origin + i * timeline.width, count})),
        }
      }
      group.storm = group.peakPer5s >= STORM_BURST || group.suppressedNearby > 0
      const trace = this.trace(group)
      const full: FaultGroup = {...group, explanation: explainFault(group, trace, this.ctx, logContext, this.source(), firstRecord)}
      if (trace !== undefined) full.trace = trace
      return full
    })
    faults.sort((a, b) => (b.count + b.suppressedNearby) - (a.count + a.suppressedNearby) || a.first.line - b.first.line)
    const events: EventGroup[] = [...this.events.values()].map(({group, record}) => ({...group, explanation: explainEvent(group, record, this.ctx, this.source())}))
    events.sort((a, b) => b.count - a.count || a.first.line - b.first.line)
    return {summary: this.summary, faults, events, logContext}
  }

  private source(): string {
    return this.ctx.source ?? 'log'
  }

  private trace(g: GroupState['group']): FaultTrace | undefined {
    const topo = this.ctx.topology
    const [segText, busText, rest] = g.requester.split(':')
    const segment = Number.parseInt(segText!, 16)
    const bus = Number.parseInt(busText!, 16)
    const [devText, fnText] = rest!.split('.')
    if (topo === undefined) return undefined
    const res: AliasResolution = devicesBehindAlias(topo, bus, devfnOf(Number.parseInt(devText!, 16), Number(fnText)), segment)
    const devices = res.candidates.map((c) => {
      const t: TracedDevice = {bdf: c.bdf, relation: c.relation, detail: c.detail, ...(c.via === undefined ? {} : {via: c.via})}
      const dev = topo.devices.get(c.bdf)
      if (dev?.driver !== undefined) t.driver = dev.driver
      const group = dev?.iommuGroup ?? this.ctx.groups?.find((gr) => gr.devices.includes(c.bdf))?.id ?? this.logGroups.get(c.bdf)
      if (group !== undefined) t.group = group
      const type = this.ctx.groups?.find((gr) => gr.id === group)?.type
      if (type !== undefined) t.domainType = type
      return t
    })
    const trace: FaultTrace = {exists: res.exists, devices}
    if (res.note !== undefined) trace.note = res.note
    return trace
  }
}

/** Count a stamp into the group's timeline; halve the resolution when it would exceed the bucket cap. */
function addToTimeline(st: GroupState, seconds: number): void {
  const tl = (st.timeline ??= {origin: seconds, width: 1, counts: new Map()})
  const index = Math.max(0, Math.floor((seconds - tl.origin) / tl.width))
  tl.counts.set(index, (tl.counts.get(index) ?? 0) + 1)
  while (tl.counts.size > TIMELINE_BUCKETS) {
    tl.width *= 2
    const merged = new Map<number, number>()
    for (const [i, n] of tl.counts) merged.set(Math.floor(i / 2), (merged.get(Math.floor(i / 2)) ?? 0) + n)
    tl.counts = merged
  }
}

// ---------------------------------------------------------------- explanation rules

interface RuleInput {
  g: Omit<FaultGroup, 'explanation' | 'trace'>
  trace?: FaultTrace
  ctx: TriageContext
  log: TriageResult['logContext']
  source: string
  info?: FaultReason
  /** RMRRs (decoded table or log lines) that contain the address. */
  rmrrHits: Array<{base: bigint; end: bigint; devices: string[]; cite: string}>
  reservedHits: Array<{region: ReservedRegion; group: number}>
  interruptSource?: {kind: 'ioapic' | 'hpet'; id: number} | 'likely'
  drivers: string[]
  domainTypes: string[]
  earlyBoot: boolean
}

interface Rule {
  id: string
  applies: (x: RuleInput) => boolean
  explain: (x: RuleInput) => Omit<Explanation, 'rule' | 'evidence'> & {evidence?: Evidence[]}
}

const UNMAPPED = (x: RuleInput) => x.g.kind === 'dma' && x.info?.unmappedAddress === true
const NO_DOMAIN = (x: RuleInput) => x.g.kind === 'dma' && x.info?.noDomain === true
/** The requester in words: the device, or — for an alias ID — the devices that may hide behind it. */
const who = (x: RuleInput): string => {
  const aliases = x.trace?.devices.filter((d) => d.relation === 'alias') ?? []
  if (x.trace?.exists === false && aliases.length > 0) {
    const list = aliases.map((d) => `${d.bdf}${d.driver ? ` (${d.driver})` : ' (no driver)'}`).join(', ')
    return `${x.g.requester} (an alias ID: ${aliases.length > 1 ? 'one of ' : ''}${list}, via ${aliases[0]!.via ?? 'a bridge'})`
  }
  const vf = x.trace?.devices.find((d) => d.relation === 'vf-not-present')
  if (vf !== undefined) return `${x.g.requester} (${vf.detail})`
  return x.g.requester
}
const isIgpu = (x: RuleInput) => x.g.requester === '0000:00:02.0'
/** The faulting address in words ("many other pages" for the folded group). */
const at = (x: RuleInput): string => (x.g.otherPages ? 'many other pages' : hex(x.g.address ?? 0n))

/** The low bit of the PASID-directory entry the kernel dumped (CONFIG_DMAR_DEBUG), if any. */
function dumpedPasidDirPresent(x: RuleInput): boolean {
  const m = x.g.walkDump.map((l) => /pasid dir entry: 0x([0-9a-f]+)/.exec(l)).find((v) => v !== null)
  return m != null && (Number.parseInt(m[1]!.slice(-1), 16) & 1) === 1
}

const EARLY_BOOT_REASONS = new Set([0x01, 0x02, 0x05, 0x06, 0x07, 0x39, 0x41])

const RULES: Rule[] = [
  {
    id: 'pasid-directory-not-coherent',
    applies: (x) => x.g.reason === 0x51 && dumpedPasidDirPresent(x),
    explain: (x) => ({
      summary: `the hardware saw ${who(x)}'s PASID-directory entry as not present, yet the kernel's own dump shows it present: the IOMMU read a stale copy (a missing cache flush on a non-coherent unit)`,
      causes: ['a kernel bug on units without page-walk coherency (fixed by "iommu/vt-d: Fix PASID directory pointer coherency", 2023)'],
      remediation: ['update the kernel to a stable release with the PASID-directory coherency fix'],
    }),
  },
  {
    id: 'address-in-rmrr',
    applies: (x) => UNMAPPED(x) && (x.rmrrHits.length > 0 || x.reservedHits.some((h) => h.region.type.startsWith('direct'))),
    explain: (x) => {
      const direct = x.reservedHits.find((h) => h.region.type.startsWith('direct'))
      const r = x.rmrrHits[0] ?? {base: direct!.region.start, end: direct!.region.end}
      return {
        summary: `${who(x)} accessed ${at(x)}, inside RMRR [${hex(r.base)}-${hex(r.end)}]: firmware-reserved memory that the device's current domain does not map`,
        causes: [
          'the device moved to a domain without the RMRR identity map (assigned to a VM through VFIO, or a relaxable RMRR dropped)',
          isIgpu(x) ? 'the integrated GPU still uses stolen/GTT memory the firmware reserved (GVT-d, guest driver, boot framebuffer)' : 'firmware (SMM/ME/BMC/USB legacy emulation) keeps DMA-ing into the range for this device',
        ],
        remediation: isIgpu(x)
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
    id: 'dma-to-address-zero',
    applies: (x) => UNMAPPED(x) && x.g.address === 0n,
    explain: (x) => ({
      summary: `${who(x)} ${x.g.access === 'write' ? 'wrote' : 'read'} IOVA 0: the device used a DMA address its driver never set (an unprogrammed or zeroed descriptor)`,
      causes: ['a device or firmware feature issuing DMA before the driver programmed its rings', 'a userspace driver (VFIO/UIO/SPDK) that did not map the buffer', 'a driver bug handing a null DMA address'],
      remediation: ['update the device firmware and driver; report the fault line to the driver maintainers',
        'if a userspace driver owns the device, check that every buffer it hands the device is mapped',
        'last resort on trusted hardware: iommu=pt or intel_iommu=off (removes DMA protection)'],
    }),
  },
  {
    id: 'early-boot-firmware-dma',
    applies: (x) => x.g.kind === 'dma' && x.g.reason !== undefined && EARLY_BOOT_REASONS.has(x.g.reason) && x.earlyBoot,
    explain: (x) => ({
      summary: `${who(x)} did DMA ${x.g.first.time?.text ?? ''}s after boot, before the kernel finished setting up its tables: firmware-initiated DMA still running`,
      causes: [isIgpu(x) ? 'the GPU still scanning out the firmware (GOP) framebuffer' : 'a boot-time firmware driver (PXE, USB, NVMe) left the device DMA-ing', 'a missing or incomplete RMRR for that firmware buffer'],
      remediation: ['usually harmless if it stops once the driver loads; check that the count does not grow after boot',
        'update the firmware; report the missing RMRR to the platform vendor'],
    }),
  },
  {
    id: 'unmapped-in-vfio-domain',
    applies: (x) => UNMAPPED(x) && x.drivers.includes('vfio-pci'),
    explain: (x) => ({
      summary: `${who(x)} is bound to vfio-pci: the guest programmed ${at(x)}, an address VFIO has not mapped`,
      causes: ['the guest rebooted or reset while the device kept DMA-ing', 'the guest driver uses an address outside the guest memory map (missing IGD/ROM/stolen-memory setup)', 'a vIOMMU in the guest without the matching mappings'],
      remediation: ['check the guest: driver version, device reset on guest reboot (FLR support)', 'for iGPU passthrough use the IGD-specific VM options', 'stop the guest and see whether the faults stop'],
    }),
  },
  {
    id: 'unmapped-no-driver',
    applies: (x) => UNMAPPED(x) && x.trace !== undefined && x.trace.devices.length > 0 && x.trace.devices.every((d) => d.driver === undefined),
    explain: (x) => ({
      summary: `${who(x)} has no driver bound, so its DMA domain maps nothing: the ${x.g.access ?? 'DMA'} of ${at(x)} was started by something other than a kernel driver`,
      causes: ['firmware or a previous kernel/driver left the device running', 'a userspace tool programming the device directly', 'the device DMA-ing on its own after a reset'],
      remediation: ['bind the device\'s driver (or vfio-pci if it is meant for a VM) so it is quiesced and owned', `if it should be idle, reset it (echo 1 > /sys/bus/pci/devices/${x.trace?.devices[0]?.bdf ?? x.g.requester}/reset) and find who programs it`],
    }),
  },
  {
    id: 'unmapped-in-identity-domain',
    applies: (x) => UNMAPPED(x) && x.domainTypes.some((t) => t === 'identity'),
    explain: (x) => ({
      summary: `${who(x)} is in an identity (passthrough) domain, which maps all RAM 1:1: ${at(x)} is outside the mapped memory`,
      causes: ['DMA to MMIO or peer-to-peer space', 'a corrupted address'],
      remediation: ['check the address against /proc/iomem', 'update the device firmware and driver'],
    }),
  },
  {
    id: 'unmapped-iova',
    applies: UNMAPPED,
    explain: (x) => ({
      summary: `${who(x)} ${x.g.access === 'write' ? 'wrote to' : 'read from'} ${at(x)}, which is not mapped for it${x.domainTypes.length ? ` (domain: ${x.domainTypes.join(', ')})` : ''}`,
      causes: ['DMA after unmap: the driver freed or unmapped the buffer while the device still used it', 'a driver that bypasses the DMA API', 'in a VM: a guest address VFIO does not map'],
      remediation: ['update the driver and the device firmware; report the fault line upstream with the driver version',
        'iommu.strict=1 makes use-after-unmap fault at once instead of later, which helps the driver author',
        'iommu=pt hides the symptom on trusted hardware but removes DMA protection'],
    }),
  },
  {
    id: 'root-entry-clear',
    applies: (x) => x.g.kind === 'dma' && (x.g.reason === 0x01 || x.g.reason === 0x39),
    explain: (x) => ({
      summary: `no context table for bus ${x.g.requester.slice(5, 7)}: the IOMMU has no entry at all for ${who(x)}'s bus`,
      causes: [x.trace && !x.trace.exists ? 'the requester is not a device the OS knows (hidden firmware/BMC/ME function)' : 'the device started DMA before the kernel attached its bus (probe-time or early-boot DMA)', 'DMA after kexec/kdump', 'a bus-number alias the kernel does not model'],
      remediation: ['run `vtd-check device ' + who(x) + '` to see its group and driver', 'update the firmware; if the device is hidden, ask the vendor for an RMRR or a DMAR scope for it'],
    }),
  },
  {
    id: 'no-domain-attached',
    applies: NO_DOMAIN,
    explain: (x) => {
      const alias = x.trace?.devices.find((d) => d.relation === 'alias')
      return {
        summary: alias
          ? `${who(x)} is a DMA alias of ${alias.bdf} (${alias.detail}); that alias has no domain programmed`
          : `${who(x)} has no domain attached: the IOMMU refused DMA from a requester without a context entry`,
        causes: alias
          ? ['the alias requester ID was not programmed (a missing DMA-alias quirk or an unmodelled bridge)']
          : ['DMA while the device moves between drivers (unbind, vfio-pci takeover) or after unbind', 'firmware-started DMA on a device without a driver', 'a phantom function or DMA alias the kernel does not know'],
        remediation: alias
          ? ['report the device ID to linux-pci for a DMA-alias quirk; moving the card to a slot without the bridge avoids it']
          : ['quiesce the device before rebinding (stop the VM, unload the driver cleanly)', 'bind vfio-pci at boot (vfio-pci.ids=…) so the device never changes hands', 'update the firmware'],
      }
    },
  },
  {
    id: 'ir-compatibility-format',
    applies: (x) => x.g.kind === 'interrupt' && x.g.reason === 0x25,
    explain: (x) => {
      const src = x.interruptSource
      if (src !== undefined) {
        const what = src === 'likely' ? 'most likely the I/O APIC or HPET (its source ID is not a PCI device here)' : `${src.kind.toUpperCase()} ${src.id} (DMAR device scope)`
        return {
          summary: `${who(x)} is ${what}: it sent a compatibility-format interrupt, which interrupt remapping blocks`,
          causes: ['firmware/SMM reprogrammed an IOAPIC entry or the HPET, typically around S3 resume', 'an IOAPIC/HPET not covered by a DRHD scope'],
          remediation: ['occasional faults after resume are harmless; update the firmware if they repeat', 'do not disable interrupt remapping for this: it weakens isolation (VFIO needs it)'],
        }
      }
      return {
        summary: `${who(x)} sent a compatibility-format MSI: its interrupts were not routed through the remapping domain`,
        causes: ['a kernel irqdomain bug (e.g. the 5.10 SR-IOV VF regression)', 'a device firing before its driver set up remapped MSIs'],
        remediation: ['update the kernel (stable series)', 'reload the driver; if it persists report to the IOMMU maintainers with this line'],
      }
    },
  },
  {
    id: 'ir-irte-not-present',
    applies: (x) => x.g.kind === 'interrupt' && (x.g.reason === 0x22 || x.g.reason === 0x21),
    explain: (x) => ({
      summary: `${who(x)} raised interrupt index ${hex(x.g.index ?? 0n)}, which has no valid IRTE: a stale MSI`,
      causes: x.info?.causes ?? [],
      remediation: ['reset or reload the device driver', 'in a VM: check the guest MSI-X setup', 'after kexec/kdump: expected while the new kernel takes over'],
    }),
  },
  {
    id: 'ir-source-id',
    applies: (x) => x.g.kind === 'interrupt' && x.g.reason === 0x26,
    explain: (x) => ({
      summary: `${who(x)}'s interrupt failed source-ID verification: the requester ID does not match the one programmed in its IRTE`,
      causes: x.info?.causes ?? [],
      remediation: ['update the firmware (wrong IOAPIC/HPET scope in the DMAR table)', 'intremap=nosid disables the check (a security trade-off)'],
    }),
  },
]

function rmrrHits(x: Omit<RuleInput, 'rmrrHits'>, ctx: TriageContext): RuleInput['rmrrHits'] {
  const addr = x.g.address
  if (addr === undefined || x.g.kind !== 'dma') return []
  const out: RuleInput['rmrrHits'] = []
  for (const r of ctx.rmrrs ?? []) if (inRange(addr, r.base, r.limit)) out.push({base: r.base, end: r.limit, devices: r.devices, cite: 'ACPI DMAR RMRR'})
  for (const r of x.log.rmrrs) if (r.end > r.base && inRange(addr, r.base, r.end)) out.push({base: r.base, end: r.end, devices: r.device ? [r.device] : [], cite: `${x.source}:${r.line}`})
  return out
}

export function explainFault(g: Omit<FaultGroup, 'explanation' | 'trace'>, trace: FaultTrace | undefined, ctx: TriageContext, log: TriageResult['logContext'], source: string, firstRecord?: FaultRecord): Explanation {
  const info = g.reasonInfo
  const drivers = [...new Set((trace?.devices ?? []).map((d) => d.driver).filter((d): d is string => d !== undefined))]
  const domainTypes = [...new Set((trace?.devices ?? []).map((d) => d.domainType).filter((d): d is string => d !== undefined))]
  if (domainTypes.length === 0 && log.defaultDomain === 'passthrough') domainTypes.push('identity')
  const reservedHits: RuleInput['reservedHits'] = []
  for (const gr of ctx.groups ?? []) {
    if (g.address === undefined || !(trace?.devices ?? []).some((d) => gr.devices.includes(d.bdf))) continue
    for (const region of gr.reservedRegions ?? []) if (inRange(g.address, region.start, region.end)) reservedHits.push({region, group: gr.id})
  }
  const declared = ctx.interruptSources?.find((s) => s.requester === g.requester)
  const interruptSource: RuleInput['interruptSource'] = declared !== undefined ? {kind: declared.kind, id: declared.id}
    : g.kind === 'interrupt' && (trace ? !trace.exists && trace.devices.length === 0 : g.requester.startsWith('0000:f0:1f.')) ? 'likely' : undefined
  const t = g.first.time
  const earlyBoot = g.early
  const partial = {g, ctx, log, source, drivers, domainTypes, reservedHits, earlyBoot, ...(trace ? {trace} : {}), ...(info ? {info} : {}), ...(interruptSource ? {interruptSource} : {})}
  const input: RuleInput = {...partial, rmrrHits: rmrrHits(partial, ctx)}

  const evidence: Evidence[] = [{fact: `${g.count}× "${g.sample.split('\n')[0]}"`, source: `${source}:${g.first.line}`}]
  if (g.reason !== undefined) evidence.push({fact: `reason ${formatReasonCode(g.reason)}: ${info ? `${info.text} — ${info.meaning}` : 'not in any kernel reason table (printed as Unknown)'}`, source: 'vtd-reference §4'})
  if (g.suppressedNearby > 0) evidence.push({fact: `${g.suppressedNearby} more faults were rate-limited ("dmar_fault: … callbacks suppressed") next to this group; the kernel does not print their requester`, source})
  if (g.peakPer5s >= STORM_BURST) evidence.push({fact: `${g.peakPer5s} faults within ${STORM_WINDOW_S} s: a fault storm`, source})
  for (const h of input.rmrrHits) evidence.push({fact: `RMRR [${hex(h.base)}-${hex(h.end)}]${h.devices.length ? ` for ${h.devices.join(', ')}` : ''} contains ${hex(g.address ?? 0n)}`, source: h.cite})
  for (const h of reservedHits) evidence.push({fact: `reserved region ${hex(h.region.start)}-${hex(h.region.end)} (${h.region.type}) of group ${h.group} contains the address`, source: `/sys/kernel/iommu_groups/${h.group}/reserved_regions`})
  for (const d of trace?.devices ?? []) evidence.push({fact: `${d.bdf}: ${d.detail}${d.driver ? `, driver ${d.driver}` : ', no driver'}${d.group !== undefined ? `, group ${d.group}` : ''}${d.domainType ? ` (${d.domainType})` : ''}`, source: ctx.topology?.source ?? 'topology'})
  if (trace?.note) evidence.push({fact: trace.note, source: ctx.topology?.source ?? 'topology'})
  if (declared) evidence.push({fact: `${g.requester} is the source ID of ${declared.kind.toUpperCase()} ${declared.id} in the DMAR device scope`, source: 'ACPI DMAR'})
  if (earlyBoot) evidence.push({fact: `first seen at ${t?.text} s after boot`, source: `${source}:${g.first.line}`})
  if (g.kind === 'interrupt' && log.interruptRemapping) evidence.push({fact: `interrupt remapping: ${log.interruptRemapping}`, source})
  if (g.walkDump.length > 0) evidence.push({fact: `kernel walk dump: ${g.walkDump.join(' | ')}`, source})
  const step = firstRecord === undefined ? undefined : ctx.stepFor?.(firstRecord)
  if (step) evidence.push({fact: `translation replay: ${step.step}${step.detail ? ` — ${step.detail}` : ''}`, source: 'replay'})

  const rule = RULES.find((r) => r.applies(input))
  if (rule !== undefined) {
    const e = rule.explain(input)
    return {rule: rule.id, summary: e.summary, causes: e.causes, remediation: e.remediation, evidence: [...evidence, ...(e.evidence ?? [])]}
  }
  return {
    rule: 'reason-table',
    summary: info ? `${who(input)}: ${info.meaning}` : `${who(input)}: fault reason ${g.reason === undefined ? 'missing' : formatReasonCode(g.reason)} is not in the kernel's tables`,
    causes: info?.causes ?? [],
    remediation: ['report the line with the kernel version; run `vtd-check device ' + g.requester + '` for its group and driver'],
    evidence,
  }
}

function explainEvent(g: Omit<EventGroup, 'explanation'>, r: LogRecord, ctx: TriageContext, source: string): Explanation {
  const evidence: Evidence[] = [{fact: `${g.count}× "${g.sample}"`, source: `${source}:${g.first.line}`}]
  const device = g.device
  if (device !== undefined && ctx.topology !== undefined) {
    const dev = ctx.topology.devices.get(device)
    evidence.push({fact: dev ? `${device}: vendor ${hex(dev.vendorId)} device ${hex(dev.deviceId)}${dev.driver ? `, driver ${dev.driver}` : ''}${dev.ats !== undefined && dev.ats !== 'unknown' ? `, ATS ${dev.ats.enabled ? 'enabled' : 'disabled'}` : ''}` : `${device} is not present in the topology`, source: ctx.topology.source})
  }
  const qi = r.type === 'qi' ? (r as QiRecord) : undefined
  const table: Record<string, () => Omit<Explanation, 'rule' | 'evidence'>> = {
    'qi:timeout': () => ({
      summary: `a device-TLB (ATS) invalidation timed out${device ? ` for SID ${device}` : ''}${qi?.sidRaw === 0 || qi?.sidRaw === 0xffff ? ` (SID ${hex(qi.sidRaw)}: the unit did not latch a useful requester)` : ''}`,
      causes: ['an ATS-capable device that does not answer invalidations (broken ATS firmware, device in reset, surprise removal)'],
      remediation: ['update the device firmware', 'pci=noats turns ATS off for all devices (costs some performance)', 'check whether the device was being reset or removed at that time'],
    }),
    'qi:completion-error': () => ({summary: 'an invalidation completion error: the device answered an invalidation wrongly', causes: ['broken ATS implementation'], remediation: ['update the device firmware; pci=noats']}),
    'qi:queue-error': () => ({summary: `the invalidation queue hit an invalid descriptor (IQEI ${hex(qi?.reasonCode ?? 0)})`, causes: ['a kernel bug', 'a platform problem corrupting the queue (e.g. misrouted config space after a VMD reset)'], remediation: ['update the kernel; report with the QI HEAD/PRIOR lines']}),
    'qi:invalid-descriptor': () => ({summary: 'the invalidation queue hit an invalid descriptor', causes: ['a kernel bug'], remediation: ['update the kernel']}),
    'qi:cleared': () => ({summary: 'the kernel recovered from an invalidation error', causes: [], remediation: []}),
    'qi:malfunction': () => ({summary: 'invalidation never completed: the kernel declared the DMAR hardware malfunctioning', causes: ['hardware or firmware fault', 'an ATS device blocking invalidation'], remediation: ['update firmware; try pci=noats; report to the platform vendor']}),
    'rmrr-refusal:ineligible': () => ({
      summary: `${device} cannot be assigned: the firmware's RMRR requires a 1:1 mapping for it, and the kernel refuses a VFIO domain`,
      causes: ['the platform declares firmware DMA (BMC shared memory, ME, USB legacy) for this device'],
      remediation: ['HPE: disable "shared memory" for the slot (RBSU or conrep)', 'choose another device or slot', 'out-of-tree "relax RMRR" kernel patches bypass the check at the cost of firmware DMA safety'],
    }),
    'rmrr-refusal:require-direct': () => ({
      summary: `${device} cannot be assigned: firmware requires a 1:1 mapping (6.6+ refuses blocking/VFIO domains)`,
      causes: ['a non-relaxable RMRR (Intel) or IVMD (AMD) for this device', 'firmware "Pre-boot DMA Protection" (kernel DMA protection) declaring unity maps'],
      remediation: ['disable "Pre-boot DMA Protection" in firmware setup if the platform has it', 'choose another device or slot', 'ask the vendor to drop the RMRR/IVMD or update the firmware'],
    }),
  }
  const pick = table[`${g.type}:${g.event}`]
  if (pick !== undefined) return {rule: `${g.type}-${g.event}`, ...pick(), evidence}
  if (g.type === 'amd-vi') return {rule: 'amd-vi', summary: 'AMD-Vi: not covered yet — recognised, not triaged as an Intel VT-d fault', causes: [], remediation: [], evidence}
  if (g.type === 'prq') return {rule: 'prq', summary: `page-request queue: ${g.event}`, causes: ['a device using PRI/SVA with a request the IOMMU could not serve'], remediation: ['update the device driver and kernel'], evidence}
  if (g.type === 'qi') return {rule: 'qi-descriptor', summary: `invalidation descriptor dump (${g.event})`, causes: [], remediation: [], evidence}
  return {rule: 'unparsed', summary: 'a fault-looking line in a format this tool does not know', causes: [], remediation: ['please report the line so the parser learns it'], evidence}
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
  category: string
  /** "cannot-tell" when the log does not establish the cause (the explanation lists candidates). */
  certainty: 'likely' | 'cannot-tell'
  summary: string
  causes: string[]
  remediation: string[]
}

/** Rule ids of the first engine, by cause class (the baseline measurement only). */
const LEGACY_CATEGORY: Record<string, string> = {
  'pasid-directory-not-coherent': 'kernel-bug', 'address-in-rmrr': 'firmware-dma', 'dma-to-address-zero': 'address-zero',
  'early-boot-firmware-dma': 'firmware-dma', 'unmapped-in-vfio-domain': 'guest-passthrough', 'unmapped-no-driver': 'firmware-dma',
  'unmapped-in-identity-domain': 'stale-dma', 'unmapped-iova': 'stale-dma', 'root-entry-clear': 'firmware-dma',
  'no-domain-attached': 'no-domain', 'ir-compatibility-format': 'ir-compat', 'ir-irte-not-present': 'stale-dma',
  'ir-source-id': 'source-id', 'qi-timeout': 'device-tlb', 'rmrr-refusal-ineligible': 'rmrr-refusal',
  'rmrr-refusal-require-direct': 'rmrr-refusal', 'amd-vi': 'amd-vi',
}

export function leadingExplanation(result: TriageResult): LeadingExplanation {
  const e = result.faults[0]?.explanation ?? result.events[0]?.explanation
  if (e === undefined) return {rule: 'no-faults', category: 'no-faults', certainty: 'likely', summary: 'no DMAR / interrupt-remapping faults', causes: [], remediation: []}
  const category = LEGACY_CATEGORY[e.rule] ?? 'cannot-tell'
  return {rule: e.rule, category, certainty: category === 'cannot-tell' ? 'cannot-tell' : 'likely', summary: e.summary, causes: e.causes, remediation: e.remediation}
}
