/**
 * Kernel-log lines → typed records, for every era's DMAR / DMAR-IR / QI / PRQ / RMRR messages
 * (vtd-reference §4–5). One pass, line by line: `LogParser.push(line)` returns the records that
 * line completes (the two-line 2.6–4.6 forms complete on their second line), `end()` flushes.
 *
 * Data-driven: prefixes (timestamps, syslog/journal, level markers, Xen) are one table
 * (prefixes.ts), message shapes another (shapes.ts, one module per format). A line no shape knows
 * is ignored; a fault-looking line no shape knows is returned as an `unparsed` record, never
 * thrown away silently.
 */
import {HIT_INTS, newByteScanner, STAMP_FOUND, type ByteScanner} from '../line-scanner.js'
import {
  bodyWords, clonerFor, copierFor, countNewlines, digitsValue, hashBytes, isDigit, isLower, isSpace, isSyslogLead, isUpper, keepStamp,
  CTIME, INDENTED, latin1, LineTable, MONOTONIC, NO_STAMP, RELATIVE, sameBytes, sameStamp, STAMP_KEY, STAMP_STYLE, stampText, SYSLOG,
  type Cloner, type Copier, type LineCacheEntry, type StampKind,
} from './line-cache.js'
import {
  AFTER_MONOTONIC, ANSI_ESCAPE, monthIndex, MONOTONIC_FAST, PREFIX_RULES, PREFIX_RULES_BY_CHAR, RELATIVE_STAMP, yearlessEpoch,
  type PrefixState, type RelativeClock,
} from './prefixes.js'
import type {LogRecord, LogTime, RecordBase, RepeatSink, StampBytes, TimeStyle} from './records.js'
import type {HeadHolder, HeldRecord, Shape, ShapeContext} from './shape.js'
import {CANDIDATE, CANDIDATE_SCAN, FAULT_LOOKING, GLUE, SHAPES} from './shapes.js'
import {driverLine} from './context.js'
import type {FaultRecord} from './vtd-fault.js'


/** Shared empty result; frozen so a caller that pushes into it fails loudly. */
const NO_RECORDS = Object.freeze([]) as unknown as LogRecord[]

export class LogParser implements HeadHolder, RelativeClock {
  private lineNo = 0
  private held: HeldRecord | undefined
  /** Lines not Xen's passed over while a Xen head waits for its reason (see parseBody). */
  private xenInterleaved = 0
  /**
   * A fault line cut short (mail and commit wrapping: the record continues on the next line,
   * which often holds no keyword of its own). Joined with the following line(s) before parsing.
   */
  private partial: {base: RecordBase; body: string; xen: boolean; lines: number; next?: readonly Shape[]; orElse?: LogRecord} | undefined
  /** dmesg -H: seconds of the last anchor plus the deltas since. */
  private relativeClock = 0
  /** The last time seen, inherited by continuation lines that have none. */
  private lastTime: LogTime | undefined
  /**
   * A newer stamp than `lastTime`, not yet a string (see holdStamp, holdDigits; StampBytes says
   * how `length` reads: 0 none, -1 digits).
   */
  private readonly pendingTime: StampBytes = {bytes: new Uint8Array(64), length: 0, digits: 0, integerDigits: 0, fractionDigits: 0, style: 'monotonic', seconds: 0}
  /** readStamp's result: the stamp text's bounds in the block, and its value. */
  private stampFrom = 0
  private stampTo = 0
  private stampValue = 0
  /** A monotonic stamp's digits as one integer and their counts before and after the point; -1 when too many to hold exactly. */
  private stampDigits = -1
  private stampIntegerDigits = 0
  private stampFractionDigits = 0
  /** readSyslogStamp's result: month index, day, where "HH:MM:SS" starts, the ".ddd" fraction. */
  private syslogMonth: number | undefined
  private syslogDay = 0
  private syslogClock = 0
  private syslogFraction = 0
  /** The last syslog stamp's bytes (length first) and its time, while they still describe it. */
  private readonly syslogStamp = new Uint8Array(64)
  /** The last dmesg -T stamp's bytes (length first) and its seconds. */
  private readonly ctimeStamp = new Uint8Array(64)
  private ctimeSeconds = 0
  /** The last dmesg -T month name's three bytes as one number (-1: none yet), and its index. */
  private ctimeMonthKey = -1
  private ctimeMonth: number | undefined
  private syslogTimeFor: LogTime | undefined
  /** Entries each of the two caches below holds before it is cleared. */
  private static readonly BODY_CACHE_MAX = 4096
  /**
   * The byte path's cache: lines by the hash of their body bytes, each entry taken from
   * `bodyCache` (cleared with it, so a hit here is a hit there: records come out alike).
   */
  private readonly lineCache = new LineTable<LineCacheEntry>(LogParser.BODY_CACHE_MAX)
  /**
   * Parsed message bodies (text after the prefixes) of stateless shapes: fault storms repeat the
   * same body thousands of times with only the stamp changing. Bounded; cleared when full.
   */
  private readonly bodyCache = new Map<string, {head: boolean; record?: LogRecord; clone?: Cloner}>()
  /** The byte path's scanner (its arena holds lineCache's bodies), made on first use; null without WebAssembly SIMD. */
  private scanner: ByteScanner | null | undefined
  /**
   * Where the byte path sends a cached record seen again, instead of a copy to the sink (see
   * RepeatSink); set by a consumer that counts records rather than keeping them.
   */
  repeat: RepeatSink | undefined
  /** The held head's copier and the cache entry it came from (completeHead copies heads of one shape alike). */
  private heldCopy: Copier | undefined
  private heldEntry: LineCacheEntry | undefined
  /** The stamp the repeat sink gets with a LogTime (none pending). */
  private readonly noStamp: StampBytes = {bytes: new Uint8Array(0), length: 0, digits: 0, integerDigits: 0, fractionDigits: 0, style: 'monotonic', seconds: 0}
  /** What the last tail line handed completeHead (slowLine caches it). */
  private tailSeen: LineCacheEntry['tail']

  /** Lines pushed so far. */
  get lines(): number {
    return this.lineNo
  }

  relativeStamp(m: RegExpExecArray): LogTime {
    return {text: m[0].trim().slice(1, -1).trim(), style: 'relative', seconds: this.advanceRelativeClock(Number(`${m[1]}.${m[2]}`))}
  }

  /** Adds a dmesg -H delta; rounded to the microsecond the stamps carry, so sums do not drift. */
  private advanceRelativeClock(delta: number): number {
    this.relativeClock = Math.round((this.relativeClock + delta) * 1e6) / 1e6
    return this.relativeClock
  }

  relativeAnchor(m: RegExpExecArray): LogTime {
    const month = monthIndex(m[2]!)
    if (month === undefined) return {text: m[1]!, style: 'relative'}
    this.relativeClock = yearlessEpoch(month, Number(m[3]), Number(m[4]), Number(m[5]), 0)
    return {text: m[1]!, style: 'relative', seconds: this.relativeClock}
  }

  /** Feed one line (without its newline). Returns the records it completed (often none). */
  push(rawLine: string): LogRecord[] {
    this.lineNo++
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    if (!CANDIDATE.test(line) && !this.awaitsNextLine && !(this.lineNo <= EARLY_LINES && EARLY_KEYWORDS.some((k) => line.includes(k)))) {
      // dmesg -H stamps are deltas: every line's delta counts, even on lines we skip.
      if (line.charCodeAt(0) === 0x5b && RELATIVE_STAMP.test(line)) this.stripPrefixes(line)
      const driver = this.lineNo <= EARLY_LINES ? driverLine(line, this.lineNo) : undefined
      if (driver === undefined) return this.skipped()
      return [...this.skipped(), driver]
    }
    return this.parseLine(line)
  }

  /** A line known to hold a candidate keyword (the block scanner found one). */
  private parseLine(line: string): LogRecord[] {
    const {body, time, xen} = this.stripPrefixes(line)
    const out: LogRecord[] = []
    const parts = mayBeGlued(body) && GLUE.test(body) ? body.split(GLUE) : [body]
    for (const part of parts) this.parseBody(part, time, xen, out)
    return out
  }

  /**
   * Fast path for big inputs: a block of whole lines ("\n"-separated; the last may be unterminated
   * only at end of input). Lines without a candidate keyword are counted, never sliced or parsed.
   *
   * With `bytes` (the block's raw bytes) `block` is not read: a byte scanner finds the candidate
   * lines and those a dmesg -H stamp may open, and counts the rest; only those lines are decoded
   * (UTF-8, fresh small strings, so nothing kept pins the block). Without `bytes`, `block` is the
   * text (latin1 or UTF-8), and runs of dmesg -H lines go line by line (relativeStampRuns).
   */
  pushText(block: string, sink: (r: LogRecord) => void, bytes?: Buffer): void {
    if (this.lineNo < EARLY_LINES) {
      // A boot's first lines (the e820 map) go line by line; the fast paths take the rest.
      const length = bytes?.length ?? block.length
      let cut = 0
      for (let left = EARLY_LINES - this.lineNo; left > 0 && cut < length; left--) {
        const nl = bytes !== undefined ? bytes.indexOf(10, cut) : block.indexOf('\n', cut)
        cut = nl === -1 ? length : nl + 1
      }
      this.pushLines(bytes !== undefined ? bytes.toString('utf8', 0, cut) : block.slice(0, cut), sink)
      if (cut >= length) return
      if (bytes !== undefined) bytes = bytes.subarray(cut)
      else block = block.slice(cut)
    }
    if (bytes !== undefined) {
      if (this.scanner === undefined) this.scanner = newByteScanner()
      const scanner = this.scanner
      if (scanner !== null) return this.pushBytes(bytes, scanner, sink)
      block = bytes.toString('latin1')
    }
    this.pushString(block, sink, bytes)
  }

  /**
   * Two buffers of `size` bytes for a reader to read blocks into, which the byte path then scans
   * where they lie rather than copying them into the scanner (ByteScanner.readBuffers); undefined
   * without WebAssembly SIMD. Blocks read elsewhere are still taken.
   */
  readBuffers(size: number): [Buffer, Buffer] | undefined {
    if (this.scanner === undefined) this.scanner = newByteScanner()
    return this.scanner?.readBuffers(size)
  }

  /**
   * The byte path. The scanner reports every line that may open with a dmesg -H stamp besides the
   * candidate lines, and slowLine and the line cache move the clock for them as push() does, so
   * such lines need no line-by-line detour and blocks may begin anywhere.
   */
  private pushBytes(bytes: Buffer, scanner: ByteScanner, sink: (r: LogRecord) => void): void {
    const n = bytes.length
    // Scan and parse a slice at a time: the parser then reads lines the scanner has just brought
    // into the CPU cache, rather than a multi-megabyte block that left it long ago.
    for (let from = 0; from < n;) {
      let to = n
      if (n - from > SCAN_SLICE) {
        to = bytes.lastIndexOf(10, from + SCAN_SLICE - 1) + 1
        if (to <= from) to = bytes.indexOf(10, from + SCAN_SLICE) + 1 || n // a line longer than a slice
      }
      this.scanSlice(bytes.subarray(from, to), scanner, sink)
      from = to
    }
  }

  /** Whole lines of text ("\n"-separated, the last maybe unterminated) through push(). */
  pushLines(text: string, sink: (r: LogRecord) => void): void {
    const lines = text.split('\n')
    if (lines[lines.length - 1] === '') lines.pop()
    this.pushMany(lines, sink)
  }

  /** pushBytes on whole lines of one block (all "\n"-terminated but maybe the block's last). */
  private scanSlice(bytes: Buffer, scanner: ByteScanner, sink: (r: LogRecord) => void): void {
    const n = bytes.length
    const scanned = scanner.scan(bytes)
    // A copied block that no longer fits beside the reader's buffers (readBuffers): the text path.
    if (scanned === undefined) return this.pushString(bytes.toString('latin1'), sink, bytes)
    const {hits, count, newlines} = scanned
    const view = new DataView(bytes.buffer, bytes.byteOffset, n)
    const base = this.lineNo
    /** Where the line after the last one parsed starts (a wrapped record's continuation). */
    let next = 0
    for (let k = 0; k < count * HIT_INTS; k += HIT_INTS) {
      const start = hits[k]!
      const lineNo = base + hits[k + 1]! + 1
      const bodyStart = hits[k + 2]!
      const end = hits[k + 3]!
      if (lineNo > this.lineNo + 1) {
        // Unreported lines go on a wrapped record while it waits (as push() reads them, one after another) …
        while (this.awaitsNextLine && lineNo > this.lineNo + 1) next = this.continuation(bytes, next, sink)
        if (lineNo > this.lineNo + 1) {
          // … and the lines skipped since the last one parsed end a held two-line head.
          this.lineNo = lineNo - 1
          if (this.pending) for (const r of this.skipped()) sink(r)
        }
      }
      next = end + 1
      this.lineNo = lineNo
      if (end > start && bytes[end - 1] === 0x0d) {
        this.slowLine(bytes.toString('utf8', start, end - 1), sink)
        continue
      }
      let stamp: StampKind = NO_STAMP
      // What the cache compares: the scanner's body, or for syslog lines everything after the stamp.
      let bodyFrom = bodyStart
      let hash = hits[k + 4]!
      if (bodyStart > start) {
        stamp = this.scannedStamp(start, hits[k + 5]!, hits[k + 6]!, hits[k + 7]!)
        if (stamp === NO_STAMP) stamp = this.readStamp(bytes, start, bodyStart)
        if (stamp === NO_STAMP) stamp = this.readCtimeStamp(bytes, start, bodyStart)
        if (stamp === NO_STAMP) {
          this.slowLine(bytes.toString('utf8', start, end), sink)
          continue
        }
      } else if (isSyslogLead(bytes[start]!)) {
        const host = this.readSyslogStamp(bytes, start, end)
        if (host !== -1) {
          stamp = SYSLOG
          bodyFrom = host
          hash = hashBytes(view, host, end)
        }
      } else if (bytes[start] === 0x20 || bytes[start] === 0x09) {
        const body = this.readIndentedStamp(bytes, start, end)
        if (body !== -1) {
          stamp = INDENTED
          bodyFrom = body
          hash = hashBytes(view, body, end)
        }
      }
      const key = hash ^ STAMP_KEY[stamp]!
      const hit = this.partial === undefined ? this.lineCache.get(key) : undefined
      // A line without a keyword after a fault head may be its continuation: parsed below, as push() does.
      if (hit !== undefined && hit.stamp === stamp && hit.body.length === end - bodyFrom && (hit.candidate || this.held?.type !== 'fault')
        && (hit.kept >= 0 ? scanner.same(hit.kept, bodyFrom, end - bodyFrom) : sameBytes(hit.body, view, bodyFrom, end))) {
        if (!hit.candidate) {
          // What push() does with a line that holds no keyword: a dmesg -H delta still moves the
          // clock and becomes the last time (slowLine cached the line only when that delta was its
          // one stamp), and the line ends a held head.
          if (stamp === RELATIVE) this.holdStamp(bytes, this.stampFrom, this.stampTo, 'relative', this.advanceRelativeClock(this.stampValue))
          if (this.held !== undefined) for (const r of this.skipped()) sink(r)
          continue
        }
        // What parseBody's cache hit does, without decoding the line.
        let time: LogTime | undefined
        if (stamp === SYSLOG) {
          // Built per line: stripPrefixes makes every syslog stamp the last time, record or not.
          time = this.syslogTime(bytes, start)
          this.lastTime = time
          this.pendingTime.length = 0
        } else if (stamp !== NO_STAMP) {
          const style: TimeStyle = STAMP_STYLE[stamp]
          // A delta moves the clock on every candidate line, as stripPrefixes does.
          const seconds = stamp === RELATIVE ? this.advanceRelativeClock(this.stampValue) : this.stampValue
          if ((hit.record !== undefined && (this.repeat === undefined || hit.head === true)) || hit.tail !== undefined) {
            time = {text: latin1(bytes, this.stampFrom, this.stampTo), style, seconds}
            this.lastTime = time
            this.pendingTime.length = 0
          } else if (stamp !== RELATIVE && this.stampDigits >= 0) this.holdDigits(seconds)
          else this.holdStamp(bytes, this.stampFrom, this.stampTo, style, seconds)
        } else if (hit.tail !== undefined || (hit.record !== undefined && (this.repeat === undefined || hit.head === true))) time = this.currentLastTime()
        // A repeat without a stamp of its own takes the last one as it is held (no text made for it): the repeat call below.
        if (hit.tail !== undefined) {
          const held = this.held
          if (this.repeat !== undefined && held?.type === 'fault' && this.heldEntry !== undefined) {
            // A cached head and a cached tail make the same record each time but for the head's line and stamp.
            if (this.repeat(this.joinedTemplate(this.heldEntry, hit.tail), held.line, held.time, this.noStamp)) {
              this.takeHeld()
              continue
            }
          }
          // What the tail shape does: the held head (if any) gets its reason.
          const base: RecordBase = {line: this.lineNo, text: hit.tail.text}
          if (time !== undefined) base.time = time
          const rec = this.completeHead(hit.tail.reason, hit.tail.reasonText, base)
          if (rec !== undefined) sink(rec)
          continue
        }
        if (this.held !== undefined) for (const r of this.flushHeld()) sink(r)
        if (hit.record === undefined) continue
        if (hit.head === true) {
          this.holdHead(hit.clone!(hit.record, this.lineNo, time) as HeldRecord)
          this.heldCopy = hit.copy?.[time === undefined ? 0 : 1]
          this.heldEntry = hit
          continue
        }
        if (this.repeat !== undefined) {
          // A storm's repeats: the sink counts the template again, the stamp not yet a string.
          const pending = this.pendingTime
          if (time !== undefined) pending.length = 0
          if (this.repeat(hit.record, this.lineNo, time ?? (pending.length === 0 ? this.lastTime : undefined), pending, hit)) continue
          if (time === undefined && pending.length !== 0 && stamp !== NO_STAMP) {
            // Declined: the stamp held is this line's, whose bytes are still here.
            time = {text: latin1(bytes, this.stampFrom, this.stampTo), style: pending.style, seconds: pending.seconds}
            this.lastTime = time
            pending.length = 0
          } else time ??= this.currentLastTime()
        }
        sink(hit.clone!(hit.record, this.lineNo, time))
        continue
      }
      const line = bytes.toString('utf8', start, end)
      const cacheable = this.slowLine(line, sink, true, stamp)
      if (cacheable !== undefined) {
        if (this.lineCache.size >= LogParser.BODY_CACHE_MAX) this.clearLineCache()
        // Every entry has every field, in one order: one hidden class, so the hit path's reads stay monomorphic.
        const entry: LineCacheEntry = {
          body: bodyWords(bytes, bodyFrom, end), kept: scanner.keep(bodyFrom, end), stamp, candidate: cacheable.candidate,
          record: cacheable.record, head: cacheable.head === true, tail: cacheable.tail,
          clone: cacheable.record === undefined ? undefined : clonerFor(cacheable.record), copy: undefined, joined: undefined, sinkState: undefined,
        }
        this.lineCache.set(key, entry)
      }
    }
    const total = base + newlines + (bytes[n - 1] === 10 ? 0 : 1)
    while (this.awaitsNextLine && total > this.lineNo) next = this.continuation(bytes, next, sink)
    if (total > this.lineNo) {
      this.lineNo = total
      if (this.pending) for (const r of this.skipped()) sink(r)
    }
  }

  private clearLineCache(): void {
    this.lineCache.clear()
    this.scanner?.forget()
  }

  /** What completeHead makes of a head from `head` and this tail, as a template (the head template's line, no time). */
  private joinedTemplate(head: LineCacheEntry, tail: NonNullable<LineCacheEntry['tail']>): LogRecord {
    if (head.joined !== undefined && head.joined.tail === tail) return head.joined.template
    const template = copierFor(head.record!)(head.record!) as FaultRecord
    template.reason = tail.reason
    template.reasonText = tail.reasonText
    template.text = `${template.text}\n${tail.text}`
    head.joined = {tail, template}
    return template
  }

  /** The line starting at bytes[from] continues a wrapped record (the scanner did not report it). */
  private continuation(bytes: Buffer, from: number, sink: (r: LogRecord) => void): number {
    let to = bytes.indexOf(10, from)
    if (to === -1) to = bytes.length
    this.lineNo++
    const line = bytes.toString('utf8', from, to > from && bytes[to - 1] === 0x0d ? to - 1 : to)
    for (const r of this.parseLine(line)) sink(r)
    return to + 1
  }

  /**
   * The next line must be read even without an IOMMU keyword: it may finish a wrapped fragment, or
   * be the tail of a held fault head — a single-line record wrapped after its address continues
   * with a bare "[fault reason 06] …".
   */
  private get awaitsNextLine(): boolean {
    return this.partial !== undefined || this.held?.type === 'fault'
  }

  /** A two-line head or a wrapped fragment waits for its next line. */
  private get pending(): boolean {
    return this.held !== undefined || this.partial !== undefined
  }

  /**
   * readStamp's result for a monotonic stamp the scanner took apart (STAMP_FOUND: its digits'
   * offset and counts in `word`, their values), when exact: at most 9 digits on each side and 15
   * in all, so the number below is the one readStamp's digit loop makes. NO_STAMP otherwise
   * (readStamp decides).
   */
  private scannedStamp(start: number, word: number, integer: number, fraction: number): StampKind {
    const integerDigits = (word >>> 8) & 0xff
    const fractionDigits = (word >>> 16) & 0xff
    if ((word & STAMP_FOUND) === 0 || integerDigits > 9 || fractionDigits > 9 || integerDigits + fractionDigits > 15) return NO_STAMP
    const scale = POWERS_OF_TEN[fractionDigits]!
    const value = integer * scale + fraction
    this.stampFrom = start + (word & 0xff)
    this.stampTo = this.stampFrom + integerDigits + 1 + fractionDigits
    this.stampValue = value / scale
    this.stampDigits = value
    this.stampIntegerDigits = integerDigits
    this.stampFractionDigits = fractionDigits
    return MONOTONIC
  }

  /**
   * The stamp in bytes[start, bodyStart) (the scanner's leading "[…]" and one space): a monotonic
   * "[  12.345678]" as MONOTONIC_FAST takes it, or a dmesg -H delta "[  +0,000002] " as the
   * relative prefix rule takes it. Leaves the stamp text's bounds in stampFrom/stampTo and its
   * value (seconds, or the delta) in stampValue. NO_STAMP for anything else, and for deltas too
   * long to convert exactly: those lines take the slow path.
   */
  private readStamp(bytes: Buffer, start: number, bodyStart: number): StampKind {
    let p = start + 1
    while (p < bodyStart && isSpace(bytes[p]!)) p++
    const from = p
    const relative = bytes[p] === 0x2b
    if (relative) {
      p++
      while (p < bodyStart && isSpace(bytes[p]!)) p++
    }
    const digits = p
    let value = 0
    while (p < bodyStart && isDigit(bytes[p]!)) value = value * 10 + bytes[p++]! - 0x30
    if (p === digits || !(bytes[p] === 0x2e || (relative && bytes[p] === 0x2c))) return NO_STAMP
    const frac = ++p
    let scale = 1
    while (p < bodyStart && isDigit(bytes[p]!)) value = value * 10 + bytes[p++]! - 0x30, scale *= 10
    if (p === frac || bytes[p] !== 0x5d) return NO_STAMP
    // Both exact below 2^53 (at most 15 digits), so the quotient is Number(text), correctly rounded.
    const exact = p - digits <= 16
    if (relative) {
      // The rule's "\s?" would also take a tab; dmesg prints one space, anything else goes slow.
      if (!exact || p + 2 !== bodyStart || bytes[p + 1] !== 0x20) return NO_STAMP
      this.stampFrom = from // the rule's text keeps the "+"
    } else {
      if (!(p + 1 === bodyStart || (p + 2 === bodyStart && bytes[p + 1] === 0x20))) return NO_STAMP
      this.stampFrom = digits
    }
    this.stampTo = p
    this.stampValue = exact ? value / scale : Number(bytes.toString('latin1', digits, p))
    this.stampDigits = exact && !relative ? value : -1
    this.stampIntegerDigits = frac - 1 - digits
    this.stampFractionDigits = p - frac
    return relative ? RELATIVE : MONOTONIC
  }

  /**
   * A dmesg -T stamp in bytes[start, bodyStart) ("[Thu Oct 22 08:54:51 2020]" and one space, as
   * the scanner cut it), exactly as the ctime prefix rule takes it; CTIME with the text's bounds
   * and its seconds left as readStamp leaves them, else NO_STAMP (also for a month name the rule
   * cannot place: those lines take the slow path).
   */
  private readCtimeStamp(bytes: Buffer, start: number, bodyStart: number): StampKind {
    const close = bytes[bodyStart - 1] === 0x5d ? bodyStart - 1 : bodyStart - 2
    // "Www Mmm dd hh:mm:ss yyyy": the day may be one digit or padded with more spaces.
    const p = start + 1
    if (bytes[close] !== 0x5d || close - p < 23 || !isUpper(bytes[p]!) || !isLower(bytes[p + 1]!) || !isLower(bytes[p + 2]!) || bytes[p + 3] !== 0x20
      || !isUpper(bytes[p + 4]!) || !isLower(bytes[p + 5]!) || !isLower(bytes[p + 6]!) || bytes[p + 7] !== 0x20) return NO_STAMP
    let q = p + 8
    while (q < close && bytes[q] === 0x20) q++
    const day = q
    while (q < close && isDigit(bytes[q]!)) q++
    if (q - day < 1 || q - day > 2 || close - q !== 14 || bytes[q] !== 0x20 || bytes[q + 3] !== 0x3a || bytes[q + 6] !== 0x3a || bytes[q + 9] !== 0x20) return NO_STAMP
    // " hh:mm:ss yyyy": the digits at these offsets from q (no array per line: a storm's every dmesg -T line comes here).
    if (!isDigit(bytes[q + 1]!) || !isDigit(bytes[q + 2]!) || !isDigit(bytes[q + 4]!) || !isDigit(bytes[q + 5]!) || !isDigit(bytes[q + 7]!)
      || !isDigit(bytes[q + 8]!) || !isDigit(bytes[q + 10]!) || !isDigit(bytes[q + 11]!) || !isDigit(bytes[q + 12]!) || !isDigit(bytes[q + 13]!)) return NO_STAMP
    this.stampFrom = p
    this.stampTo = close
    this.stampDigits = -1
    // Storms repeat the second: the last stamp's value still holds.
    if (sameStamp(this.ctimeStamp, bytes, p, close)) {
      this.stampValue = this.ctimeSeconds
      return CTIME
    }
    // A storm's stamps change every second but keep their month: its name is looked up once.
    const monthKey = (bytes[p + 4]! << 16) | (bytes[p + 5]! << 8) | bytes[p + 6]!
    if (monthKey !== this.ctimeMonthKey) {
      this.ctimeMonthKey = monthKey
      this.ctimeMonth = monthIndex(latin1(bytes, p + 4, p + 7))
    }
    const month = this.ctimeMonth
    if (month === undefined) return NO_STAMP
    this.stampValue = Date.UTC(digitsValue(bytes, q + 10, q + 14), month, digitsValue(bytes, day, q), digitsValue(bytes, q + 1, q + 3),
      digitsValue(bytes, q + 4, q + 6), digitsValue(bytes, q + 7, q + 9)) / 1000
    if (keepStamp(this.ctimeStamp, bytes, p, close)) this.ctimeSeconds = this.stampValue
    return CTIME
  }

  /**
   * An indented monotonic stamp: [ \t]+ then "[  12.345678]" and at most one space, as the prefix
   * rules take it (indentation, then the stamp). Returns where the body starts, or -1 (those lines
   * take the slow path); the stamp is left as readStamp leaves it.
   */
  private readIndentedStamp(bytes: Buffer, start: number, end: number): number {
    let p = start
    while (p < end && (bytes[p] === 0x20 || bytes[p] === 0x09)) p++
    if (bytes[p] !== 0x5b) return -1
    let close = p + 1
    while (close < end && close < p + 40 && bytes[close] !== 0x5d) close++
    if (bytes[close] !== 0x5d || close >= end) return -1
    const body = close + 1 < end && bytes[close + 1] === 0x20 ? close + 2 : close + 1
    return this.readStamp(bytes, p, body) === MONOTONIC ? body : -1
  }

  /**
   * A syslog / journal "short" stamp opening the line, exactly as the syslog prefix rule takes
   * it: "Jul 19 23:11:56 host kernel:", "févr. 12 13:47:54.035211 host kernel:". Returns where the
   * host name starts, or -1 for anything else (those lines take the slow path). The stamp's
   * fields are left in the syslog* scratch fields for syslogTime. The month name (3–5 chars)
   * may be ASCII or 2-byte UTF-8 Latin-1 letters (no whitespace among those).
   *
   * The cached body then starts at the host: the month cannot hold a CANDIDATE keyword (checked)
   * and the digits between hold none, so a line is a candidate exactly when that body is, and
   * the prefixes after the stamp ("host kernel:", level markers …) depend on the body alone.
   */
  private readSyslogStamp(bytes: Buffer, start: number, end: number): number {
    let p = start
    let chars = 0
    for (; p < end && chars <= 5; chars++) {
      const b = bytes[p]!
      if (b < 0x80) {
        if (isSpace(b) || isDigit(b)) break
        p++
      } else if (b === 0xc3 && p + 1 < end && (bytes[p + 1]! & 0xc0) === 0x80) p += 2
      else return -1
    }
    if (chars < 3 || chars > 5 || bytes[p] !== 0x20) return -1
    const monthEnd = p++
    if (bytes[p] === 0x20) p++
    const day = p
    while (p < end && isDigit(bytes[p]!)) p++
    if (p - day < 1 || p - day > 2 || bytes[p] !== 0x20) return -1
    const clock = p + 1
    if (clock + 8 > end || !isDigit(bytes[clock]!) || !isDigit(bytes[clock + 1]!) || bytes[clock + 2] !== 0x3a
      || !isDigit(bytes[clock + 3]!) || !isDigit(bytes[clock + 4]!) || bytes[clock + 5] !== 0x3a
      || !isDigit(bytes[clock + 6]!) || !isDigit(bytes[clock + 7]!)) return -1
    p = clock + 8
    let frac = 0
    if (bytes[p] === 0x2e) {
      const digits = ++p
      let value = 0
      let scale = 1
      while (p < end && isDigit(bytes[p]!)) value = value * 10 + bytes[p++]! - 0x30, scale *= 10
      // Exact below 2^53, so the quotient is Number(".ddd"), correctly rounded.
      if (p === digits || p - digits > 15) return -1
      frac = value / scale
    }
    if (bytes[p] !== 0x20) return -1
    const stampEnd = p++
    // "\S+ kernel:": an ASCII host name (a non-ASCII one might hold Unicode whitespace).
    const host = p
    while (p < end && bytes[p]! > 0x20 && bytes[p]! < 0x7f) p++
    if (p === host || p + 8 > end || latin1(bytes, p, p + 8) !== ' kernel:') return -1
    this.stampTo = stampEnd
    // Lines in the same second (or µs) repeat the stamp: the previous one's time still holds.
    if (this.syslogTimeFor !== undefined && sameStamp(this.syslogStamp, bytes, start, stampEnd)) return host
    this.syslogTimeFor = undefined
    const month = bytes.toString('utf8', start, monthEnd)
    if (CANDIDATE.test(month)) return -1
    this.syslogMonth = monthIndex(month)
    this.syslogDay = digitsValue(bytes, day, clock - 1)
    this.syslogClock = clock
    this.syslogFraction = frac
    return host
  }

  /**
   * The time stripPrefixes' syslog rule gives the stamp readSyslogStamp just read. Kept for the
   * next line with the same stamp bytes (LogTime objects are never mutated, records may share one).
   */
  private syslogTime(bytes: Buffer, start: number): LogTime {
    if (this.syslogTimeFor !== undefined) return this.syslogTimeFor
    const text = bytes.toString('utf8', start, this.stampTo)
    const month = this.syslogMonth
    const c = this.syslogClock
    const seconds = month === undefined ? undefined
      : yearlessEpoch(month, this.syslogDay, digitsValue(bytes, c, c + 2), digitsValue(bytes, c + 3, c + 5), digitsValue(bytes, c + 6, c + 8)) + this.syslogFraction
    const time: LogTime = {text, style: 'syslog', seconds}
    if (keepStamp(this.syslogStamp, bytes, start, this.stampTo)) this.syslogTimeFor = time
    return time
  }

  /**
   * One line the scanner reported, the slow way (as `push` would, the line number already
   * counted). With `cacheable`, returns what a later line with the same bytes after its stamp
   * (`stamp`, as the byte path read it: monotonic, dmesg -H, or syslog up to the host name; else
   * the same whole line) may reuse: the line was no candidate (and its stamp, if a dmesg -H delta,
   * the only one), or one stateless shape (or none) took its body, and only the stamp (if any)
   * carried a time. What the other prefixes (host "kernel:", Xen, indentation) do depends on those
   * same bytes alone.
   */
  private slowLine(line: string, sink: (r: LogRecord) => void, cacheable = false, stamp: StampKind = NO_STAMP): {candidate: boolean; record?: LogRecord; head?: boolean; tail?: LineCacheEntry['tail']} | undefined {
    const candidate = CANDIDATE.test(line)
    if (!candidate && !this.awaitsNextLine) {
      // push()'s skipped line: only a dmesg -H stamp is read (the scanner reports every line that may open with one).
      const stamps = line.charCodeAt(0) === 0x5b && RELATIVE_STAMP.test(line) ? this.stripPrefixes(line).stamps : 0
      if (this.pending) for (const r of this.skipped()) sink(r)
      // The cache replays one leading delta (readStamp's) or nothing.
      return stamps === (stamp === RELATIVE ? 1 : 0) ? {candidate: false} : undefined
    }
    const {body, time, xen, stamps} = this.stripPrefixes(line)
    const glued = mayBeGlued(body) && GLUE.test(body)
    const out: LogRecord[] = []
    this.tailSeen = undefined
    for (const part of glued ? body.split(GLUE) : [body]) this.parseBody(part, time, xen, out)
    for (const r of out) sink(r)
    // A stamp after the leading one (or any stamp on an unstamped line) is more state than the cache
    // keeps; a line without a keyword parsed as a continuation means something else on its own.
    if (!cacheable || !candidate || glued || stamps !== (stamp !== NO_STAMP ? 1 : 0)) return undefined
    // The tail shape took the body: what it handed completeHead depends on the body alone.
    if (this.tailSeen !== undefined) return {candidate: true, tail: this.tailSeen}
    const cached = this.bodyCache.get(xen ? '\u0000' + body : body)
    if (cached === undefined) return undefined
    if (cached.record === undefined) return {candidate: true}
    return cached.head ? {candidate: true, record: cached.record, head: true} : {candidate: true, record: cached.record}
  }

  /** The last stamp, kept as bytes until a record needs it (most candidate lines make none). */
  private holdStamp(bytes: Uint8Array, from: number, to: number, style: TimeStyle, seconds: number): void {
    const pending = this.pendingTime
    if (to - from > pending.bytes.length) {
      const text = Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1')
      this.lastTime = {text, style, seconds}
      pending.length = 0
      return
    }
    for (let i = from; i < to; i++) pending.bytes[i - from] = bytes[i]!
    pending.length = to - from
    pending.style = style
    pending.seconds = seconds
  }

  /** holdStamp for the monotonic stamp readStamp just read, kept as its digits (no copy). */
  private holdDigits(seconds: number): void {
    const pending = this.pendingTime
    pending.length = -1
    pending.digits = this.stampDigits
    pending.integerDigits = this.stampIntegerDigits
    pending.fractionDigits = this.stampFractionDigits
    pending.style = 'monotonic'
    pending.seconds = seconds
  }

  private currentLastTime(): LogTime | undefined {
    const pending = this.pendingTime
    if (pending.length !== 0) {
      this.lastTime = {text: stampText(pending), style: pending.style, seconds: pending.seconds}
      pending.length = 0
    }
    return this.lastTime
  }

  /** The regex scan over a decoded block (no WebAssembly, or text without bytes). */
  private pushString(block: string, sink: (r: LogRecord) => void, bytes?: Buffer): void {
    let at = 0
    for (const run of relativeStampRuns(block)) {
      if (run.from > at) this.scanString(block.slice(at, run.from), sink, bytes?.subarray(at, run.from))
      this.pushLines(bytes === undefined ? block.slice(run.from, run.to) : bytes.toString('utf8', run.from, run.to), sink)
      at = run.to
    }
    if (at < block.length) this.scanString(at === 0 ? block : block.slice(at), sink, bytes?.subarray(at))
  }

  /** pushString's scan of whole lines (`bytes`, when given, are the same block's bytes). */
  private scanString(block: string, sink: (r: LogRecord) => void, bytes?: Buffer): void {
    const lineAt = bytes === undefined
      ? (from: number, to: number) => block.slice(from, to)
      : (from: number, to: number) => bytes.toString('utf8', from, to)
    const scan = CANDIDATE_SCAN
    scan.lastIndex = 0
    let pos = 0
    while (pos < block.length) {
      const m = scan.exec(block)
      if (m === null) break
      const lineStart = m.index === 0 ? 0 : block.lastIndexOf('\n', m.index - 1) + 1
      if (lineStart > pos && this.awaitsNextLine) pos = this.stringContinuation(block, pos, lineAt, sink)
      if (lineStart > pos) {
        this.lineNo += countNewlines(block, pos, lineStart)
        for (const r of this.skipped()) sink(r)
      }
      let lineEnd = block.indexOf('\n', m.index)
      if (lineEnd === -1) lineEnd = block.length
      this.lineNo++
      const raw = lineAt(lineStart, lineEnd)
      for (const r of this.parseLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw)) sink(r)
      pos = lineEnd + 1
      scan.lastIndex = pos
    }
    if (pos < block.length && this.awaitsNextLine) pos = this.stringContinuation(block, pos, lineAt, sink)
    if (pos < block.length) {
      const skipped = countNewlines(block, pos, block.length) + (block.endsWith('\n') ? 0 : 1)
      if (skipped > 0) {
        this.lineNo += skipped
        for (const r of this.skipped()) sink(r)
      }
    }
  }

  /** pushString's counterpart of continuation(): the line at block[pos] continues a wrapped record. */
  private stringContinuation(block: string, pos: number, lineAt: (from: number, to: number) => string, sink: (r: LogRecord) => void): number {
    let end = block.indexOf('\n', pos)
    if (end === -1) end = block.length
    this.lineNo++
    const raw = lineAt(pos, end)
    for (const r of this.parseLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw)) sink(r)
    return end + 1
  }

  /** Feed several lines at once (a chunk split on "\n"); records go to `sink`. */
  pushMany(lines: Iterable<string>, sink: (r: LogRecord) => void): void {
    for (const l of lines) for (const r of this.push(l)) sink(r)
  }

  /** End of input: a held two-line head becomes an incomplete fault (a held SMMUv3 event is emitted). */
  end(): LogRecord[] {
    return this.flushHeld()
  }

  /** `stamps`: how many prefixes set the time (slowLine caches only lines with their one stamp). */
  private stripPrefixes(line: string): {body: string; time?: LogTime; xen: boolean; stamps: number} {
    const st: PrefixState = {xen: false}
    // Colours and the no-break spaces of a log copied from a web page would hide every shape.
    if (line.includes('\x1b')) line = line.replace(ANSI_ESCAPE, '')
    if (line.includes('\u00a0')) line = line.replace(/\u00a0/g, ' ')
    let rest = line
    const fast = MONOTONIC_FAST.exec(line)
    if (fast !== null) {
      st.time = {text: fast[1]!, style: 'monotonic', seconds: Number(fast[1])}
      rest = line.slice(fast[0].length)
      for (let m = AFTER_MONOTONIC.exec(rest); m !== null && m[0].length > 0; m = AFTER_MONOTONIC.exec(rest)) {
        if (m[0] === '[VT-D]' || m[0].startsWith('(XEN)')) st.xen = true
        rest = rest.slice(m[0].length)
      }
      this.lastTime = st.time
      this.pendingTime.length = 0
      return {body: rest, time: st.time, xen: st.xen, stamps: 1}
    }
    let stamps = 0
    for (let guard = 0; guard < 8; guard++) {
      let matched = false
      const c = rest.charCodeAt(0)
      for (const rule of c < 128 ? PREFIX_RULES_BY_CHAR[c]! : PREFIX_RULES) {
        const m = rule.re.exec(rest)
        if (m === null || m[0].length === 0) continue
        const before = st.time
        rule.apply(m, this, st)
        if (st.time !== before) stamps++
        rest = rest.slice(m[0].length)
        matched = true
        break
      }
      if (!matched) break
    }
    if (st.time !== undefined) {
      this.lastTime = st.time
      this.pendingTime.length = 0
    }
    // A Markdown code span's closing backticks ("`[  1.2] DMAR: …`", "> `…`").
    if (rest.endsWith('`') && line.lastIndexOf('`', line.length - rest.length) !== -1) rest = rest.replace(/`+\s*$/, '')
    return {body: rest, time: st.time, xen: st.xen, stamps}
  }

  private parseBody(body: string, time: LogTime | undefined, xen: boolean, out: LogRecord[]): void {
    // A blank line (a forum's double spacing, a mail's paragraph break) neither ends a record that
    // waits for its next line nor continues it.
    if (this.awaitsNextLine && isBlank(body)) return
    // Xen prints a fault's two lines with two calls: on a console shared with dom0 the kernel's own
    // lines land between them. A few lines that are neither Xen's nor IOMMU messages are passed over.
    if (!xen && this.held?.type === 'fault' && this.held.format === 'xen' && this.partial === undefined
      && this.xenInterleaved < XEN_INTERLEAVED_MAX && !CANDIDATE.test(body)) {
      this.xenInterleaved++
      return
    }
    if (this.partial !== undefined && this.joinPartial(body, time, out)) return
    const t = time ?? this.currentLastTime()
    const cacheKey = xen ? '\u0000' + body : body
    const cached = this.bodyCache.get(cacheKey)
    if (cached !== undefined) {
      if (this.held !== undefined) out.push(...this.flushHeld())
      if (cached.record !== undefined) {
        // The template already carries this body's text; only the line and the stamp change.
        const rec = cached.clone!(cached.record, this.lineNo, t)
        // A two-line head is held for its tail, as its build does.
        if (cached.head) this.holdHead(rec as HeldRecord)
        else out.push(rec)
      }
      return
    }
    const base: RecordBase = {line: this.lineNo, text: body.trimEnd()}
    if (t !== undefined) base.time = t
    if (isCutRecord(body)) {
      // Not remembered: what the next line means depends on this one. An AMD-Vi event keeps what
      // it says alone, should the next line not continue it; a held head may get its cut tail.
      const alone: LogRecord[] = []
      if (body.includes('Event logged [')) {
        if (this.held !== undefined) out.push(...this.flushHeld())
        this.matchShapes(body, base, xen, alone, AMD_EVENT_SHAPES)
      }
      this.partial = {base, body, xen, lines: 1, ...(alone[0] === undefined ? {} : {orElse: alone[0]})}
      return
    }
    const shape = this.matchShapes(body, base, xen, out)
    if (shape !== undefined) {
      if (shape.stateful === 'head') this.remember(cacheKey, true, this.held)
      else if (shape.stateful !== 'tail') this.remember(cacheKey, false, out[out.length - 1])
      return
    }
    if (this.held !== undefined) out.push(...this.flushHeld())
    if (WRAPPED_HEAD.test(body) && !FAULT_REASON.test(body)) {
      // Not remembered: what the next line means depends on this one.
      this.partial = {base, body, xen, lines: 1}
      return
    }
    const unparsed: LogRecord | undefined = FAULT_LOOKING.test(body) ? {...base, type: 'unparsed', why: 'looks like a fault line but matches no known kernel format'} : undefined
    if (unparsed !== undefined) out.push(unparsed)
    this.remember(cacheKey, false, unparsed)
  }

  /** The first shape that takes `body` builds its record into `out` (a head is held instead). */
  private matchShapes(body: string, base: RecordBase, xen: boolean, out: LogRecord[], shapes: readonly Shape[] = SHAPES): Shape | undefined {
    const cx: ShapeContext = {parser: this, base, xen}
    for (const shape of shapes) {
      if (!body.includes(shape.probe)) continue
      const m = shape.re.exec(body)
      if (m === null) continue
      // A new head, or any other message, ends a held head that never got its tail.
      if (shape.stateful !== 'tail' && this.held !== undefined) out.push(...this.flushHeld())
      const rec = shape.build(m, cx)
      if (rec !== undefined) out.push(rec)
      return shape
    }
    return undefined
  }

  /**
   * `body` may be the rest of the wrapped fault line held in `partial`: parse the two joined. True
   * when the join made a record (or is still incomplete and waits for one more line); false when
   * it did not, after reporting the fragment as unparsed, so `body` is parsed on its own.
   */
  private joinPartial(body: string, time: LogTime | undefined, out: LogRecord[]): boolean {
    const p = this.partial!
    this.partial = undefined
    if (p.next !== undefined) {
      // The line before said its message goes on here (AMD-Vi's split form): this line alone, with p.next.
      const t = time ?? this.currentLastTime()
      const base: RecordBase = {line: this.lineNo, text: body.trimEnd()}
      if (t !== undefined) base.time = t
      if (this.matchShapes(body, base, p.xen, out, p.next) !== undefined) return true
      // The line did not continue it: what the first line said alone stands (if anything).
      if (p.orElse !== undefined) out.push(p.orElse)
      return false
    }
    // A line opening with its own "prefix: " is a new message, not the rest of this one.
    if (NEW_MESSAGE.test(body.trimStart())) {
      out.push(this.unparsedFragment(p))
      return false
    }
    // Word wrapping ate a space; a terminal's hard wrap at its width cut a word and ate nothing.
    // The join that makes a whole record wins ("[faul" + "t reason 05]", "doma" + "in=0x000d").
    const spaced = `${p.body.trimEnd()} ${body.trim()}`
    const glued = p.body + body.trimEnd()
    const joins = WHOLE_RECORD.test(spaced) || !WHOLE_RECORD.test(glued) ? [spaced, glued] : [glued, spaced]
    // A cut two-line tail ("DMAR:[fault rea" / "son 06] …") only while its head is held.
    const shapes = this.held?.type === 'fault' ? JOIN_SHAPES_TAIL : JOIN_SHAPES
    for (const joined of joins) {
      if (this.matchShapes(joined, {...p.base, text: joined}, p.xen, out, shapes) !== undefined) {
        // The line's meaning came from the one before: the byte path must not cache it.
        this.tailSeen = undefined
        return true
      }
    }
    if (p.lines < 3 && !FAULT_REASON.test(spaced)) {
      this.partial = {...p, body: spaced, lines: p.lines + 1}
      return true
    }
    out.push(this.unparsedFragment(p))
    return false
  }

  /** What a cut line stands for when nothing completed it: what it said alone (an AMD-Vi event), else an `unparsed` fragment. */
  private unparsedFragment(p: {base: RecordBase; body: string; orElse?: LogRecord}): LogRecord {
    return p.orElse ?? {...p.base, type: 'unparsed', why: 'a fault line cut short (wrapped?) whose continuation did not complete it'}
  }

  private remember(key: string, head: boolean, record: LogRecord | undefined): void {
    if (this.bodyCache.size >= LogParser.BODY_CACHE_MAX) {
      this.bodyCache.clear()
      this.clearLineCache()
    }
    if (record === undefined) {
      this.bodyCache.set(key, {head})
      return
    }
    // The template keeps no stamp: a hit takes the new line's (or none).
    const {time: _time, ...template} = record
    this.bodyCache.set(key, {head, record: template as LogRecord, clone: clonerFor(template as LogRecord)})
  }

  /** Called by the two-line head shape. */
  holdHead(rec: HeldRecord): void {
    this.held = rec
    this.xenInterleaved = 0
    this.heldCopy = undefined
    this.heldEntry = undefined
  }

  takeHeld(): HeldRecord | undefined {
    const h = this.held
    this.held = undefined
    this.heldCopy = undefined
    this.heldEntry = undefined
    return h
  }

  continueOnNextLine(cx: ShapeContext, shapes: readonly Shape[], orElse?: LogRecord): void {
    this.partial = {base: cx.base, body: cx.base.text, xen: cx.xen, lines: 1, next: shapes, ...(orElse === undefined ? {} : {orElse})}
  }

  /** Called by the tail shape: the held head gets its reason. */
  completeHead(reason: number, reasonText: string, base: RecordBase): LogRecord | undefined {
    this.tailSeen = {reason, reasonText, text: base.text}
    const head = this.held
    this.held = undefined
    if (head?.type === 'smmu') this.held = head // not this tail's head: it waits to be emitted
    if (head === undefined || head.type !== 'fault') return {...base, type: 'unparsed', why: 'fault-reason line without its "Request device" line'}
    // {...head, reason, reasonText, text}, keys in that order, without a megamorphic spread.
    let copy = this.heldCopy
    if (copy === undefined) {
      copy = copierFor(head)
      if (this.heldEntry !== undefined) (this.heldEntry.copy ??= [undefined, undefined])[head.time === undefined ? 0 : 1] = copy
    }
    this.heldCopy = undefined
    this.heldEntry = undefined
    const rec = copy(head) as FaultRecord
    rec.reason = reason
    rec.reasonText = reasonText
    rec.text = `${head.text}\n${base.text}`
    return rec
  }

  /**
   * Lines without an IOMMU keyword were skipped: they end a held two-line head, but not an SMMUv3
   * event still waiting for its dwords — the kernel prints each dword with its own call, and other
   * CPUs' lines land between them in real logs.
   */
  private skipped(): LogRecord[] {
    const h = this.held
    if (this.partial === undefined && h?.type === 'smmu' && h.family === 'arm-smmu-v3' && h.raw !== undefined && h.raw.length < 4) return NO_RECORDS
    return this.flushHeld()
  }

  private flushHeld(): LogRecord[] {
    if (this.held === undefined && this.partial === undefined) return NO_RECORDS
    const out: LogRecord[] = []
    if (this.held?.type === 'fault') out.push({...this.held, reasonText: '<missing "fault reason" line>'})
    else if (this.held !== undefined) out.push(this.held) // an SMMUv3 event with the dwords that came
    // A line announcing a continuation that never came (AMD-Vi split head) says nothing on its own,
    // unless it left what it said alone (a wrapped SMMU context fault).
    if (this.partial !== undefined && this.partial.next === undefined) out.push(this.unparsedFragment(this.partial))
    else if (this.partial?.orElse !== undefined) out.push(this.partial.orElse)
    this.held = undefined
    this.heldCopy = undefined
    this.heldEntry = undefined
    this.partial = undefined
    return out
  }
}

/**
 * A boot's first lines are read line by line and may also be the firmware's memory map (the e820
 * lines carry no IOMMU keyword; the kernel prints them within its first few dozen lines).
 */
const EARLY_LINES = 512
/**
 * Context lines without an IOMMU keyword, read in a log's first lines: the e820 map, the lines
 * naming the kernel release (the banner, a USB root hub's manufacturer, an oops header) and an
 * oops's module list.
 */
const EARLY_KEYWORDS = ['BIOS-e820', 'Linux version ', 'Manufacturer: Linux ', 'Not tainted', 'Tainted: ', 'Modules linked in:']

/**
 * The parts of a block that must go line by line for dmesg -H stamps, in order, as [from, to)
 * offsets of whole lines — the routing of the regex scan (pushString: no WebAssembly SIMD); the
 * byte path needs none, its scanner reports every line that may open with such a stamp.
 *
 * push() adds every line's delta ("[  +0.000010]") to the clock and takes every anchor
 * ("[Dec 7 16:48]", "[févr.27 06:53]") as its new value; the fast paths see only candidate lines.
 * So each run of such lines — from the anchor its deltas count from to the last delta before a
 * line with another stamp — goes line by line, as does a block's tail from its last '['-line when
 * that is an anchor (its deltas come in the next block), or the whole block when its first line
 * has such a stamp. Routing by a block's first line alone, as before, made a file (2 MiB blocks)
 * and the same bytes on stdin (64 KiB chunks) count different deltas. Deltas are found by their
 * '+' (memchr-fast; elsewhere mostly in call traces), each such line's start then tested with
 * RELATIVE_STAMP as push() tests it. Not covered: an anchor followed by other '['-lines before any
 * delta — dmesg -H writes an anchor's deltas right after it.
 */
export function relativeStampRuns(block: Buffer | string): Array<{from: number; to: number}> {
  const length = block.length
  const startOf = (at: number) => (at === 0 ? 0 : block.lastIndexOf('\n', at - 1) + 1)
  const endOf = (at: number) => {
    const nl = block.indexOf('\n', at)
    return nl === -1 ? length : nl + 1
  }
  const opens = (at: number) => (typeof block === 'string' ? block.charCodeAt(at) : block[at]) === 0x5b
  /** The line starting at `from` has a relative stamp (its text up to `to` holds it). */
  const relative = (from: number, to: number) =>
    opens(from) && RELATIVE_STAMP.test(typeof block === 'string' ? block.slice(from, to) : block.toString('utf8', from, to))
  const deltaLine = (plus: number) => {
    const from = startOf(plus)
    return relative(from, plus + 1) ? from : -1
  }
  if (length === 0) return []
  if (relative(0, endOf(0))) return [{from: 0, to: length}]
  const runs: Array<{from: number; to: number}> = []
  let searched = 0
  for (let plus = block.indexOf('+'); plus !== -1; plus = block.indexOf('+', Math.max(plus + 1, searched))) {
    const delta = deltaLine(plus)
    if (delta === -1) continue
    // Back over unstamped lines (continuations) to the anchor the deltas count from, if any.
    let from = delta
    for (let at = delta; at > searched;) {
      const previous = startOf(at - 1)
      if (opens(previous)) {
        if (!relative(previous, endOf(previous))) break
        from = previous
      }
      at = previous
    }
    // On to the last line with such a stamp before a '['-line without one.
    let to = endOf(delta)
    for (let at = to; at < length;) {
      const next = endOf(at)
      if (opens(at)) {
        if (!relative(at, next)) break
        to = next
      }
      at = next
    }
    runs.push({from, to})
    searched = to
  }
  const lastOpen = block.lastIndexOf('\n[', length - 2) + 1
  if (lastOpen >= searched && lastOpen > 0 && relative(lastOpen, endOf(lastOpen))) runs.push({from: lastOpen, to: length})
  return runs
}

/** Bytes scanned and parsed at a time (pushBytes): well inside a core's L2 cache (64–256 KiB measured alike). */
const SCAN_SLICE = 128 * 1024
const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]

/**
 * A fault line the mail client or the commit message wrapped: its requester came, its reason did
 * not — or the wrap fell right after "Request device", after the "[INTR-REMAP]"/"[DMA Read …]" tag,
 * after "DRHD: handling" (the fault-status line), or after "callbacks" in the rate limit's
 * "amd_iommu_report_page_fault: 28 callbacks" / "suppressed" (a linux-block mail, 2019).
 */
const WRAPPED_HEAD = /Request device(?: \[|\s*$)|\[(?:DMA (?:Read|Write)[^\]]*|INTR-REMAP)\]\s*$|DRHD: handling\s*$|\w: \d+ callbacks\s*$/i
/** The shapes a wrapped fault line can complete into. */
const FAULT_SHAPES = SHAPES.filter((s) => s.name === 'fault-single' || s.name === 'fault-head' || s.name === 'fault-status' || s.name === 'suppressed')
/** AMD-Vi event lines (a cut one keeps what it says alone). */
const AMD_EVENT_SHAPES = SHAPES.filter((s) => s.name === 'amd-vi-event' || s.name === 'amd-vi-event-unprefixed')
/** What the lines of a cut record can join into: a fault, an AMD-Vi event (and a held head's tail). */
const JOIN_SHAPES = [...FAULT_SHAPES, ...AMD_EVENT_SHAPES]
const JOIN_SHAPES_TAIL = [...JOIN_SHAPES, ...SHAPES.filter((s) => s.name === 'fault-tail')]
/**
 * A fault record cut before its end (a terminal's or mail client's wrap, a forum's column limit):
 * a '[' it opened is still open ("… fault addr 0 [fault", "Event logged [IO_PAGE_FAULT domain=…"),
 * or AMD-Vi's "Event logged" lost its "[" to the next line. Not the kernel's own split form
 * "AMD-Vi: Event logged [" (its shape reads the next line) and not a redacted "[  :  :  .  ]".
 */
function isCutRecord(body: string): boolean {
  const open = body.lastIndexOf('[')
  if (open > body.lastIndexOf(']')) return CUT_WORDS.test(body) && !/Event logged \[\s*$/.test(body)
  // Most bodies end in neither: one char compare before the regex.
  return body.charCodeAt(body.length - 1) <= 0x20 || body.endsWith('logged') ? EVENT_LOGGED_AT_END.test(body) : false
}
const CUT_WORDS = /Request device|Event logged|\[fault/i
/** A joined record whose words all came out whole: its reason, or an AMD-Vi event's fields and closing "]". */
const WHOLE_RECORD = /\] fault (?:addr|index) (?:0x)?[0-9a-f]+ \[fault reason (?:0x)?[0-9a-f]+\]|\[fault reason \d+\] \w|Event logged \[[A-Z_]+(?: [a-z]+=[0-9a-fx:.]+)+\]/i
const EVENT_LOGGED_AT_END = /AMD-Vi: Event logged\s*$/
const isBlank = (s: string): boolean => s.trim() === ''
/** Other lines a Xen fault head waits through for its reason line. */
const XEN_INTERLEAVED_MAX = 8
const NEW_MESSAGE = /^[A-Za-z_][\w-]*: /
const FAULT_REASON = /fault reason|\breason [0-9a-f]+ - /i

/** Cheap pre-check for GLUE: a message prefix somewhere after the start. */
function mayBeGlued(body: string): boolean {
  return body.indexOf('DMAR', 1) !== -1 || body.indexOf('dmar_fault: ', 1) !== -1
}
/** Parse a whole text (tests, small files). */
export function parseKernelLog(text: string): LogRecord[] {
  const parser = new LogParser()
  const out: LogRecord[] = []
  parser.pushLines(text, (r) => out.push(r))
  out.push(...parser.end())
  return out
}
