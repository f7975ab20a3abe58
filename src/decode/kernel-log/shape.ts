/**
 * What a format module declares: message shapes (a cheap literal probe, a regex, a builder), and the
 * small parser interface a builder may use (the two-line fault forms hold their head line).
 */
import {bdfFromDevfn, formatBdf} from '../pci-address.js'
import type {LogRecord, RecordBase} from './records.js'
import type {SmmuRecord} from './arm-smmu.js'
import type {FaultRecord} from './vtd-fault.js'

/** A record that waits for more lines: a VT-d two-line head, an SMMUv3 event and its raw dwords. */
export type HeldRecord = FaultRecord | SmmuRecord

/** The parser's state a multi-line shape needs. */
export interface HeadHolder {
  /** Keep a head until its tail line(s) come; any other message, skipped lines or the end emit it. */
  holdHead(rec: HeldRecord): void
  /** The held head, removed (a tail shape extends it and holds or emits it again). */
  takeHeld(): HeldRecord | undefined
  /**
   * The message goes on in the next line, whatever that line holds: parse it with `shapes` only.
   * `orElse` is what the first line says alone, emitted when the next line does not continue it.
   */
  continueOnNextLine(cx: ShapeContext, shapes: readonly Shape[], orElse?: LogRecord): void
  /** The tail line: the held head gets its reason (or the tail alone becomes an `unparsed` record). */
  completeHead(reason: number, reasonText: string, base: RecordBase): LogRecord | undefined
}

export interface ShapeContext {
  parser: HeadHolder
  base: RecordBase
  /** The line came through Xen's console ("(XEN)", "[VT-D]"). */
  xen: boolean
}

export interface Shape {
  name: string
  /** A literal the body must contain before the regex is tried (cheap pre-check). */
  probe: string
  re: RegExp
  build: (m: RegExpExecArray, cx: ShapeContext) => LogRecord | undefined
  /**
   * The shape keeps parser state between lines (a two-line head or tail): the parser must not
   * replay its record from the body cache.
   */
  stateful?: 'head' | 'tail'
}

export const hexBig = (s: string): bigint => BigInt('0x' + s)
export const hexNum = (s: string): number => Number.parseInt(s, 16)

/** "%02x:%02x.%d" (optionally 0x-prefixed, optionally with a 4-digit segment) → parts. */
export function splitBdf(bus: string, dev: string, fn: string, segment?: string) {
  const b = hexNum(bus)
  const d = hexNum(dev)
  const f = Number(fn)
  const seg = segment === undefined ? 0 : hexNum(segment)
  return {bus: b, device: d, function: f, requester: formatBdf(seg, b, d, f), segmentPrinted: segment !== undefined}
}

/** A 16-bit requester id (bus << 8 | devfn) as a full BDF in segment 0. */
export function ridToBdf(rid: number): string {
  return bdfFromDevfn(0, (rid >> 8) & 0xff, rid & 0xff)
}
