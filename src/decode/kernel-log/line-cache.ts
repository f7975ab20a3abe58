/**
 * The byte path's helpers: stamp kinds and cache keys, byte comparisons and hashing, and record
 * cloners made once per record shape (a spread over many shapes is a megamorphic runtime call).
 */
import type {LogRecord, LogTime, StampBytes} from './records.js'


/** What precedes a cached line's body (readStamp). */
export const NO_STAMP = 0
export const MONOTONIC = 1
export const RELATIVE = 2
export const SYSLOG = 3
/** A monotonic stamp after indentation ("    [10672.868940] DMAR: …", a pasted log): the prefix rule loop takes it. */
export const INDENTED = 4
/** dmesg -T: "[Thu Oct 22 08:54:51 2020] ". */
export const CTIME = 5
export type StampKind = typeof NO_STAMP | typeof MONOTONIC | typeof RELATIVE | typeof SYSLOG | typeof INDENTED | typeof CTIME
/** The time style of each stamp kind the byte path reads itself (syslog builds its own LogTime). */
export const STAMP_STYLE = ['monotonic', 'monotonic', 'relative', 'syslog', 'monotonic', 'ctime'] as const
/**
 * Cache keys are the body hash XOR one of these per stamp kind: the same body met after another
 * kind of stamp (another boot's log in the same file, a continuation line) then has its own
 * entry rather than evicting the other on every pass.
 */
export const STAMP_KEY = [0x55555555, 0, 0x2b2b2b2b, 0x4a4a4a4a, 0x13571357, 0x6c6c6c6c]

export const isSpace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d)
export const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39
export const isUpper = (b: number): boolean => b >= 0x41 && b <= 0x5a
export const isLower = (b: number): boolean => b >= 0x61 && b <= 0x7a
/** Where the syslog rule can match first: an ASCII letter, or a 2-byte UTF-8 Latin-1 letter ("févr."). */
export const isSyslogLead = (b: number): boolean => ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a) || b === 0xc3

/** A pending stamp's text (see StampBytes): its bytes, or the digits with the point put back. */
export function stampText(stamp: StampBytes): string {
  if (stamp.length > 0) return Buffer.from(stamp.bytes.buffer, stamp.bytes.byteOffset, stamp.length).toString('latin1')
  const all = String(stamp.digits).padStart(stamp.integerDigits + stamp.fractionDigits, '0')
  return `${all.slice(0, stamp.integerDigits)}.${all.slice(stamp.integerDigits)}`
}

/** `kept` (length in byte 0, then the bytes) equals bytes[from, to). */
export function sameStamp(kept: Uint8Array, bytes: Uint8Array, from: number, to: number): boolean {
  if (kept[0] !== to - from) return false
  for (let i = from; i < to; i++) if (kept[1 + i - from] !== bytes[i]) return false
  return true
}

/** Copies bytes[from, to) into `kept` as sameStamp reads it; false when it does not fit. */
export function keepStamp(kept: Uint8Array, bytes: Uint8Array, from: number, to: number): boolean {
  if (to - from >= kept.length) return false
  kept[0] = to - from
  kept.set(bytes.subarray(from, to), 1)
  return true
}

/** The decimal number in bytes[from, to) (digits only, checked by the caller). */
export function digitsValue(bytes: Uint8Array, from: number, to: number): number {
  let v = 0
  for (let i = from; i < to; i++) v = v * 10 + bytes[i]! - 0x30
  return v
}

/** FNV-1a over bytes[from, to), 4 bytes a step: the scanner's body hash, for bodies it did not hash. */
export function hashBytes(view: DataView, from: number, to: number): number {
  let h = -2128831035
  let p = from
  for (; p + 4 <= to; p += 4) h = Math.imul(h ^ view.getInt32(p, true), 16777619)
  for (; p < to; p++) h = Math.imul(h ^ view.getUint8(p), 16777619)
  return h
}

export interface LineCacheEntry {
  body: BodyWords
  /** Where the scanner's arena keeps the body too (ByteScanner.same), or -1. */
  kept: number
  stamp: StampKind
  candidate: boolean
  record?: LogRecord
  /** The record is a two-line head: held for its tail, not emitted. */
  head?: boolean
  clone?: Cloner
  /**
   * The line is a two-line fault's tail: what the tail shape hands completeHead (which joins it to
   * the held head, or reports it unparsed). `record` is then undefined.
   */
  tail?: {reason: number; reasonText: string; text: string}
  /** A head's last join with a tail (LogParser.joinedTemplate): the tail it met and their record's template. */
  joined: {tail: NonNullable<LineCacheEntry['tail']>; template: LogRecord} | undefined
  /** A head's copiers (completeHead) without and with a time (their keys differ), made on its first tails. */
  copy?: [Copier | undefined, Copier | undefined]
  /** The repeat sink's state for `record` (RepeatSlot). */
  sinkState: unknown
}

/**
 * `{...template}`, then `line` set and `time` appended when defined (what parseBody's cache hit
 * builds, keys in the same order), as code made once per record shape: a spread over many record
 * shapes is a megamorphic runtime call, an object literal is not.
 */
export type Cloner = (template: LogRecord, line: number, time: LogTime | undefined) => LogRecord
export const CLONERS = new Map<string, Cloner>()

export function clonerFor(template: LogRecord): Cloner {
  const keys = Object.keys(template)
  const signature = keys.join(',')
  let cloner = CLONERS.get(signature)
  if (cloner === undefined) {
    if (keys.some((k) => !/^[A-Za-z_$][\w$]*$/.test(k)) || keys.includes('time')) {
      cloner = (t, line, time) => {
        const rec = {...t}
        rec.line = line
        if (time !== undefined) rec.time = time
        return rec
      }
    } else {
      const fields = keys.map((k) => (k === 'line' ? 'line: line' : `${k}: t.${k}`)).join(', ')
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      cloner = new Function('t', 'line', 'time', `return time === undefined ? {${fields}} : {${fields}, time: time}`) as Cloner
    }
    CLONERS.set(signature, cloner)
  }
  return cloner
}

/** `{...record}` as code made once per key list (see clonerFor: a spread over many shapes is slow). */
export type Copier = (record: LogRecord) => LogRecord
export const COPIERS = new Map<string, Copier>()

export function copierFor(record: LogRecord): Copier {
  const keys = Object.keys(record)
  const signature = keys.join(',')
  let copier = COPIERS.get(signature)
  if (copier === undefined) {
    copier = keys.some((k) => !/^[A-Za-z_$][\w$]*$/.test(k))
      ? (r) => ({...r})
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      : new Function('r', `return {${keys.map((k) => `${k}: r.${k}`).join(', ')}}`) as Copier
    COPIERS.set(signature, copier)
  }
  return copier
}

/** A line body kept for comparison: its bytes as little-endian int32 words, zero-padded, and its length. */
export interface BodyWords {
  words: Int32Array
  length: number
}

export function bodyWords(bytes: Uint8Array, from: number, to: number): BodyWords {
  const padded = new Uint8Array((to - from + 3) & ~3)
  padded.set(bytes.subarray(from, to))
  const view = new DataView(padded.buffer)
  const words = new Int32Array(padded.length / 4)
  for (let i = 0; i < words.length; i++) words[i] = view.getInt32(4 * i, true)
  return {words, length: to - from}
}

/** bytes[from, to) equals `body`: word by word, the last 1–4 bytes one by one. */
export function sameBytes(body: BodyWords, view: DataView, from: number, to: number): boolean {
  const length = to - from
  if (length !== body.length) return false
  const {words} = body
  const whole = length >> 2
  for (let i = 0; i < whole; i++) if (view.getInt32(from + 4 * i, true) !== words[i]) return false
  for (let i = whole * 4; i < length; i++) if (view.getUint8(from + i) !== ((words[i >> 2]! >>> (8 * (i & 3))) & 0xff)) return false
  return true
}

/** Buffer#latin1Slice: the short ASCII stamps, without toString's argument checks. */
export const latin1 = (bytes: Buffer, from: number, to: number): string =>
  (bytes as unknown as {latin1Slice(from: number, to: number): string}).latin1Slice(from, to)

export function countNewlines(text: string, from: number, to: number): number {
  let n = 0
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++
  return n
}

/**
 * The byte path's cache index: entries by their 32-bit key (the body hash and stamp kind), in
 * open addressing over typed arrays: one multiply and a probe or two per lookup, where a Map
 * hashes the number again and walks its chains (the storm's largest single cost per line).
 * Holds at most `capacity` keys (the caller clears it when full); no deletes but `clear`.
 */
export class LineTable<T> {
  private readonly shift: number
  private readonly mask: number
  private readonly keys: Int32Array
  /** Per slot: the entry's index + 1; 0 when empty. */
  private readonly slots: Int32Array
  private readonly entries: T[] = []

  constructor(private readonly capacity: number) {
    const bits = Math.max(4, Math.ceil(Math.log2(capacity * 2)))
    this.shift = 32 - bits
    this.mask = (1 << bits) - 1
    this.keys = new Int32Array(1 << bits)
    this.slots = new Int32Array(1 << bits)
  }

  get size(): number {
    return this.entries.length
  }

  get(key: number): T | undefined {
    const {keys, slots, mask} = this
    for (let i = Math.imul(key, 0x9e3779b1) >>> this.shift; ; i = (i + 1) & mask) {
      const at = slots[i]!
      if (at === 0) return undefined
      if (keys[i] === key) return this.entries[at - 1]
    }
  }

  /** Sets the key's entry (replacing one of the same key, as Map.set). */
  set(key: number, entry: T): void {
    const {keys, slots, mask} = this
    for (let i = Math.imul(key, 0x9e3779b1) >>> this.shift; ; i = (i + 1) & mask) {
      const at = slots[i]!
      if (at === 0) {
        if (this.entries.length >= this.capacity) throw new Error(`line table full (${this.capacity} keys)`)
        keys[i] = key
        slots[i] = this.entries.push(entry)
        return
      }
      if (keys[i] === key) {
        this.entries[at - 1] = entry
        return
      }
    }
  }

  clear(): void {
    this.slots.fill(0)
    this.entries.length = 0
  }
}
