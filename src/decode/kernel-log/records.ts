/**
 * The records the kernel-log parser returns: the shared base (line, time, text) and the union of
 * every format module's record type. A new format defines its record type in its own module
 * (beside its shapes) and adds it to `LogRecord` here.
 */
import type {AmdViRecord} from './amd-vi.js'
import type {SmmuRecord} from './arm-smmu.js'
import type {ContextRecord} from './context.js'
import type {DomainTypeRecord, GroupRecord, InterruptRemappingRecord, IommuReadyRecord} from './boot-state.js'
import type {PrqRecord} from './vtd-prq.js'
import type {QiRecord} from './vtd-qi.js'
import type {RmrrRecord, RmrrRefusalRecord} from './rmrr.js'
import type {FaultRecord, FaultStatusRecord, SuppressedRecord} from './vtd-fault.js'
import type {WalkDumpRecord} from './walk-dump.js'

/** Which IOMMU printed a fault: Intel VT-d (DMAR), AMD-Vi, Arm SMMUv3, Arm SMMU v1/v2. */
export type IommuFamily = 'intel-vtd' | 'amd-vi' | 'arm-smmu-v3' | 'arm-smmu'

export type TimeStyle = 'monotonic' | 'ctime' | 'relative' | 'syslog' | 'iso' | 'xen'

export interface LogTime {
  /** As printed, without brackets: "144.480641", "Thu Oct 22 08:54:51 2020", "+0,000002", "Jul 19 23:11:56". */
  text: string
  style: TimeStyle
  /**
   * Comparable seconds: since boot (monotonic), since the epoch (ctime/syslog/iso; syslog assumes
   * the current year), or since the log's first stamp (dmesg -H deltas without an anchor).
   * Undefined when the stamp cannot be placed (unknown month name).
   */
  seconds?: number
}

/**
 * A stamp the parser has read but not yet made a string of (LogParser's repeat sink), its text
 * either as bytes (`length` > 0 of them) or, for a monotonic stamp (`length` -1), as numbers:
 * all its digits as one integer and how many stand before and after the point (stampText).
 * `length` 0: none (the time is given as a LogTime instead). Reused from line to line: a consumer
 * that keeps it copies what it needs.
 */
export interface StampBytes {
  bytes: Uint8Array
  length: number
  digits: number
  integerDigits: number
  fractionDigits: number
  style: TimeStyle
  seconds: number
}

/**
 * Takes a record the parser made before (`template`: no time, an earlier line) as seen again on
 * `line`, stamped `time` or else `stamp`, without a copy being made. False when it cannot: the
 * parser then makes the copy and hands it to its sink. `slot`, when given, is the parser's own
 * for this template (its line-cache entry): the sink may keep what it found for the template
 * there and check it on the next repeat instead of looking the template up again.
 */
export type RepeatSink = (template: LogRecord, line: number, time: LogTime | undefined, stamp: StampBytes, slot?: RepeatSlot) => boolean

/** Where a RepeatSink keeps its state for one template (undefined until it sets it). */
export interface RepeatSlot {
  sinkState: unknown
}

export interface RecordBase {
  /** 1-based line number of the (first) line. */
  line: number
  time?: LogTime
  /** The message text after prefixes; two-line forms joined with "\n". */
  text: string
}


/** A line that looks like a fault but matches no known shape: reported as data. */
export interface UnparsedRecord extends RecordBase {
  type: 'unparsed'
  why: string
}

export type LogRecord =
  | FaultRecord
  | FaultStatusRecord
  | SuppressedRecord
  | QiRecord
  | PrqRecord
  | RmrrRefusalRecord
  | RmrrRecord
  | GroupRecord
  | DomainTypeRecord
  | InterruptRemappingRecord
  | WalkDumpRecord
  | AmdViRecord
  | SmmuRecord
  | ContextRecord
  | IommuReadyRecord
  | UnparsedRecord
