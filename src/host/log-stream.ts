/**
 * The kernel log as a stream of lines, with bounded memory: a file, stdin, a snapshot's
 * dmesg.txt, or the live log (`dmesg`, falling back to `journalctl -k`), optionally followed
 * (`dmesg --follow`, `journalctl -k -f`, or polling a growing file). Lines are handed to a
 * synchronous sink one by one; only the current chunk and one partial line are held.
 *
 * A log we may not read is reported as unreadable with the reason (dmesg_restrict), never as
 * an empty log.
 */
import type {ResultPromise} from 'execa'
import * as nodeFs from 'node:fs'
import {StringDecoder} from 'node:string_decoder'
import type {Readable} from 'node:stream'
import type {HostFs, OpenedFile} from './fs.js'
import {openLocalFile} from './local-file.js'
import {detectBom, ToUtf8} from './text-encoding.js'

export type LogStreamOrigin = 'dmesg' | 'journalctl' | 'snapshot' | 'file' | 'stdin'

export type LogStreamOutcome =
  /** `lines` is counted in line mode only; block mode leaves counting to the consumer. */
  | {ok: true; origin: LogStreamOrigin; path: string; lines?: number; bytes: number; skippedLines?: number}
  | {ok: false; origin: LogStreamOrigin; path: string; reason: 'absent' | 'unreadable'; message: string; refused?: string}

export interface LogStreamRequest {
  /** A file path, or '-' for stdin. Without it: the snapshot's dmesg.txt under a non-/ root, else the live log. */
  file?: string
  /** Keep reading new lines until `signal` aborts. */
  follow?: boolean
  signal?: AbortSignal
  /** Bytes per read (tests use small values to cross chunk borders). */
  chunkSize?: number
}

export type LineSink = (line: string) => void
/**
 * Block mode: whole lines (only the very last block may end without "\n"), as raw bytes.
 * `text` is always '' (decoding a multi-megabyte block to a string per read cost more than
 * everything else together): consumers scan `bytes` and decode the lines they keep as UTF-8,
 * during the call: the buffer is reused afterwards.
 */
export type BlockSink = {
  block: (text: string, bytes: Buffer) => void
  /**
   * Optional: two buffers of `size` bytes a file's blocks are read into (memory the consumer
   * scans in place, saving a copy per block), or undefined to let the reader allocate its own.
   * Each block handed on then lies in one of them.
   */
  readBuffers?: (size: number) => [Buffer, Buffer] | undefined
}
export type Sink = LineSink | BlockSink

interface Splitter {
  write(chunk: Buffer | string): void
  end(): void
  bytes: number
  lines?: number
  /** Lines longer than MAX_LINE_BYTES, each replaced by an empty line. */
  skippedLines: number
}

/**
 * The longest line held across reads. A kernel line is at most ~1 KiB (journal lines a little
 * more); a longer one is hostile or binary: it is skipped to its newline, counted, and handed on
 * as an empty line so line numbers stay right. Lines within one read are bounded by the read size.
 */
export const MAX_LINE_BYTES = 64 * 1024
const NEWLINE = Buffer.from('\n')

/** Hands on byte blocks cut at the last newline: no per-line work here (the parser scans blocks). */
export class BlockSplitter implements Splitter {
  private carry: Buffer | undefined
  private skipping = false
  bytes = 0
  skippedLines = 0

  constructor(private readonly sink: (text: string, bytes: Buffer) => void) {}

  write(chunk: Buffer | string): void {
    let data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    this.bytes += data.length
    if (this.skipping) {
      const nl = data.indexOf(10)
      if (nl === -1) return
      this.skipping = false
      data = data.subarray(nl + 1)
    }
    const last = data.lastIndexOf(10)
    if (last === -1) {
      this.hold(data)
      return
    }
    let head = data.subarray(0, last + 1)
    if (this.carry !== undefined) {
      const first = data.indexOf(10)
      const carried = this.carry
      this.carry = undefined
      if (carried.length + first > MAX_LINE_BYTES) {
        this.skippedLines++
        head = Buffer.concat([NEWLINE, data.subarray(first + 1, last + 1)])
      } else head = Buffer.concat([carried, head])
    }
    this.sink('', head)
    // Copied: the chunk's buffer may be reused by the reader.
    this.hold(data.subarray(last + 1))
  }

  /** Keeps a partial line, or starts skipping it when it has grown too long. */
  private hold(tail: Buffer): void {
    if (tail.length === 0) return
    const length = (this.carry?.length ?? 0) + tail.length
    if (length > MAX_LINE_BYTES) {
      this.carry = undefined
      this.skipping = true
      this.skippedLines++
      this.sink('', NEWLINE)
      return
    }
    this.carry = this.carry === undefined ? Buffer.from(tail) : Buffer.concat([this.carry, tail])
  }

  end(): void {
    const rest = this.carry
    this.carry = undefined
    if (rest !== undefined && rest.length > 0) this.sink('', rest)
  }
}

/** Splits decoded text into lines across chunk borders; holds one partial line (at most MAX_LINE_BYTES) and scans each byte once. */
export class LineSplitter implements Splitter {
  private carry = ''
  private skipping = false
  private readonly decoder = new StringDecoder('utf8')
  lines = 0
  bytes = 0
  skippedLines = 0

  constructor(private readonly sink: LineSink) {}

  write(chunk: Buffer | string): void {
    if (typeof chunk === 'string') this.bytes += Buffer.byteLength(chunk)
    else this.bytes += chunk.length
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk)
    let start = 0
    let nl = text.indexOf('\n')
    if (this.skipping) {
      if (nl === -1) return
      this.skipping = false
      start = nl + 1
      nl = text.indexOf('\n', start)
    }
    while (nl !== -1) {
      const line = this.carry === '' ? text.slice(start, nl) : this.carry + text.slice(start, nl)
      this.carry = ''
      this.emit(line)
      start = nl + 1
      nl = text.indexOf('\n', start)
    }
    const rest = text.length - start
    if (this.carry.length + rest > MAX_LINE_BYTES) {
      this.carry = ''
      this.skipping = true
      this.emit(undefined)
    } else if (rest > 0) this.carry += text.slice(start)
  }

  /** One line; `undefined` (or one too long) is skipped: counted, and an empty line stands in for it. */
  private emit(line: string | undefined): void {
    this.lines++
    if (line === undefined || line.length > MAX_LINE_BYTES) {
      this.skippedLines++
      this.sink('')
    } else this.sink(line)
  }

  end(): void {
    const rest = this.carry + this.decoder.end()
    this.carry = ''
    if (rest.length > 0 && !this.skipping) this.emit(rest)
    this.skipping = false
  }
}

/** Undoes a UTF-16/UTF-32 byte-order mark in front of a splitter (UTF-8 passes straight through). */
class BomSplitter implements Splitter {
  private head: Buffer | undefined = Buffer.alloc(0)
  private transcoder: ToUtf8 | undefined

  constructor(private readonly inner: Splitter) {}

  get bytes(): number {
    return this.inner.bytes
  }

  get lines(): number | undefined {
    return this.inner.lines
  }

  get skippedLines(): number {
    return this.inner.skippedLines
  }

  write(chunk: Buffer | string): void {
    if (typeof chunk === 'string') return this.inner.write(chunk)
    if (this.head !== undefined) {
      const head = Buffer.concat([this.head, chunk])
      if (head.length < 4) {
        this.head = head
        return
      }
      this.start(head)
      return
    }
    this.inner.write(this.transcoder ? this.transcoder.write(chunk) : chunk)
  }

  private start(head: Buffer): void {
    this.head = undefined
    const {encoding, bomLength} = detectBom(head)
    if (encoding !== 'utf8') this.transcoder = new ToUtf8(encoding)
    const body = head.subarray(bomLength)
    this.inner.write(this.transcoder ? this.transcoder.write(body) : body)
  }

  end(): void {
    if (this.head !== undefined && this.head.length > 0) this.start(this.head)
    if (this.transcoder) this.inner.write(this.transcoder.end())
    this.inner.end()
  }
}

function splitterFor(sink: Sink): Splitter {
  return new BomSplitter(typeof sink === 'function' ? new LineSplitter(sink) : new BlockSplitter((t, b) => sink.block(t, b)))
}

function missFrom(error: unknown): {reason: 'absent' | 'unreadable'; message: string} {
  const code = (error as {code?: string} | null)?.code
  return {reason: code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : 'unreadable', message: error instanceof Error ? error.message : String(error)}
}

async function pump(stream: Readable, splitter: Splitter): Promise<void> {
  for await (const chunk of stream) splitter.write(chunk as Buffer | string)
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms)
  signal?.addEventListener('abort', () => {
    clearTimeout(t)
    resolve()
  }, {once: true})
})

/** Positional reads on a descriptor from the guarded open (a FileHandle cannot wrap an fd). */
const readAt = (fd: number, buf: Buffer, offset: number, length: number, position: number | null) =>
  new Promise<number>((resolve, reject) => nodeFs.read(fd, buf, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))))

async function streamFile(file: OpenedFile, path: string, origin: LogStreamOrigin, request: LogStreamRequest, sink: Sink): Promise<LogStreamOutcome> {
  // Block mode on a file: 2 MiB reads (fewer awaits; measured best of 0.25–4 MiB on a 1 GB log),
  // held twice (double buffering) plus the scanner's copy: well under 150 MB RSS. Line mode and
  // follow keep 512 KiB.
  const highWaterMark = request.chunkSize ?? 512 * 1024
  const {fd} = file
  try {
    const head = Buffer.alloc(4)
    const headBytes = await readAt(fd, head, 0, 4, 0)
    const {encoding, bomLength} = detectBom(head.subarray(0, headBytes))
    if (!request.follow && typeof sink !== 'function' && encoding === 'utf8') {
      return await streamFileBlocks(fd, bomLength, path, origin, request.chunkSize ?? 2 * 1024 * 1024, sink)
    }
    // Line mode, a UTF-16/32 log, or follow (a growing file, polled by size: no watcher, any filesystem).
    const splitter = splitterFor(sink)
    const buf = Buffer.allocUnsafe(highWaterMark)
    let offset = 0
    while (!request.signal?.aborted) {
      const bytesRead = await readAt(fd, buf, 0, buf.length, offset)
      if (bytesRead > 0) {
        offset += bytesRead
        splitter.write(Buffer.from(buf.subarray(0, bytesRead)))
      } else if (request.follow) await sleep(500, request.signal)
      else break
    }
    splitter.end()
    return {ok: true, origin, path, ...(splitter.lines === undefined ? {} : {lines: splitter.lines}), bytes: splitter.bytes, skippedLines: splitter.skippedLines}
  } catch (error) {
    return {ok: false, origin, path, ...missFrom(error)}
  } finally {
    nodeFs.closeSync(fd)
  }
}

/**
 * Block mode over a file with two reusable buffers: while the sink scans one block, the next
 * read (to the thread pool) fills the other, behind the partial line carried over. Each block is
 * cut at its last newline. No per-chunk allocations, which keeps the garbage collector (and peak
 * RSS) quiet on multi-GB logs. A line longer than both the buffer and MAX_LINE_BYTES is skipped.
 */
async function streamFileBlocks(fd: number, start: number, path: string, origin: LogStreamOrigin, chunkSize: number, sink: BlockSink): Promise<LogStreamOutcome> {
  // The sink's own buffers only when no block can outgrow them (see the growth below).
  const lent = chunkSize >= MAX_LINE_BYTES ? sink.readBuffers?.(chunkSize) : undefined
  let cur = lent?.[0] ?? Buffer.allocUnsafe(Math.max(chunkSize, 64))
  let next = lent?.[1] ?? Buffer.allocUnsafe(cur.length)
  let filled = 0
  let bytes = start
  let position = start
  let skipping = false
  let skippedLines = 0
  const read = (buf: Buffer, offset: number) => {
    const at = position
    return readAt(fd, buf, offset, buf.length - offset, at).then((n) => {
      position += n
      return n
    })
  }
  let pending: Promise<number> | undefined = read(cur, 0)
  try {
    for (;;) {
      const bytesRead: number = await pending
      pending = undefined
      if (bytesRead === 0) break
      bytes += bytesRead
      filled += bytesRead
      if (skipping) {
        const nl = cur.indexOf(10)
        if (nl === -1 || nl >= filled) {
          filled = 0
          pending = read(cur, 0)
          continue
        }
        skipping = false
        cur.copy(cur, 0, nl + 1, filled)
        filled -= nl + 1
        if (filled === 0) {
          pending = read(cur, 0)
          continue
        }
      }
      const cut = cur.lastIndexOf(10, filled - 1) + 1
      if (cut === 0) {
        if (filled === cur.length) {
          if (cur.length >= MAX_LINE_BYTES) {
            // A line longer than the buffer and the line cap: skip to its newline.
            skipping = true
            skippedLines++
            sink.block('', NEWLINE)
            filled = 0
            pending = read(cur, 0)
            continue
          }
          // A line longer than a small test buffer: grow rather than split it.
          const bigger = Buffer.allocUnsafe(cur.length * 2)
          cur.copy(bigger, 0, 0, filled)
          cur = bigger
          next = Buffer.allocUnsafe(cur.length)
        }
        pending = read(cur, filled)
        continue
      }
      // The partial line moves to the other buffer, the next read lands behind it.
      const carry = filled - cut
      cur.copy(next, 0, cut, filled)
      pending = read(next, carry)
      sink.block('', cur.subarray(0, cut))
      const done = cur
      cur = next
      next = done
      filled = carry
    }
    if (filled > 0 && !skipping) sink.block('', cur.subarray(0, filled))
  } finally {
    // A sink that threw leaves a read in flight: let it settle before the descriptor is closed.
    await pending?.catch(() => undefined)
  }
  return {ok: true, origin, path, bytes, skippedLines}
}

async function streamCommand(cmd: string, args: string[], request: LogStreamRequest, sink: Sink): Promise<{ok: true; bytes: number} | {ok: false; message: string}> {
  const splitter = splitterFor(sink)
  let child: ResultPromise<{reject: false; stdin: 'ignore'; buffer: false; cancelSignal?: AbortSignal}>
  try {
    // Loaded only when something is spawned: a FILE, stdin and --root never pay for execa.
    const {execa} = await import('execa')
    child = execa(cmd, args, {reject: false, stdin: 'ignore', buffer: false, ...(request.signal ? {cancelSignal: request.signal} : {})})
  } catch (error) {
    return {ok: false, message: `${cmd}: ${error instanceof Error ? error.message : String(error)}`}
  }
  const stderr: string[] = []
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.join('').length < 4096) stderr.push(d.toString())
  })
  try {
    if (child.stdout) await pump(child.stdout, splitter)
  } catch {
    // A cancelled follow ends the stream; what was read stays valid.
  }
  const result = await child
  splitter.end()
  // Ctrl-C reaches the whole process group: a followed dmesg may die of it before our abort runs.
  const interrupted = request.follow === true && (result.signal === 'SIGINT' || result.signal === 'SIGTERM')
  if (request.signal?.aborted || interrupted || (result.exitCode === 0 && splitter.bytes > 0)) return {ok: true, bytes: splitter.bytes}
  return {ok: false, message: `${cmd}: ${stderr.join('').trim() || result.shortMessage || `exit ${String(result.exitCode)}`}`}
}

const SNAPSHOT_LOG = '/dmesg.txt'

/** Stream the kernel log a request names into `sink`. */
export async function streamKernelLog(fs: HostFs, request: LogStreamRequest, sink: Sink): Promise<LogStreamOutcome> {
  if (request.file === '-') {
    const splitter = splitterFor(sink)
    await pump(process.stdin, splitter)
    splitter.end()
    return {ok: true, origin: 'stdin', path: '-', ...(splitter.lines === undefined ? {} : {lines: splitter.lines}), bytes: splitter.bytes, skippedLines: splitter.skippedLines}
  }
  // Logs are streamed, so no size rule; both must be regular files (a FIFO would block forever).
  if (request.file !== undefined) {
    const file = openLocalFile(request.file, undefined)
    return file.ok ? streamFile(file.value, request.file, 'file', request, sink) : {...file, origin: 'file'}
  }
  if (fs.root !== '/') {
    const file = fs.openFile(SNAPSHOT_LOG, undefined)
    const path = `${fs.root}${SNAPSHOT_LOG}`
    return file.ok ? streamFile(file.value, path, 'snapshot', request, sink) : {...file, path, origin: 'snapshot'}
  }

  const dmesg = await streamCommand('dmesg', request.follow ? ['--follow'] : [], request, sink)
  if (dmesg.ok) return {ok: true, origin: 'dmesg', path: 'dmesg', bytes: dmesg.bytes}
  const journalArgs = ['-k', '-b', '--no-pager', '-q', '-o', 'short-monotonic', ...(request.follow ? ['-f'] : [])]
  const journal = await streamCommand('journalctl', journalArgs, request, sink)
  if (journal.ok) return {ok: true, origin: 'journalctl', path: 'journalctl -k', bytes: journal.bytes}
  const restrict = fs.readText('/proc/sys/kernel/dmesg_restrict')
  const hint = restrict.ok && restrict.value.trim() === '1'
    ? 'kernel.dmesg_restrict=1: reading the kernel log needs root (CAP_SYSLOG) or membership of adm/systemd-journal'
    : 'the kernel log could not be read'
  return {ok: false, origin: 'dmesg', path: 'dmesg', reason: 'unreadable', message: `${hint} (${dmesg.message}; ${journal.message})`}
}

/** Seconds since boot on the live host (for --since with a duration), or undefined. */
export function hostUptime(fs: HostFs): number | undefined {
  const r = fs.readText('/proc/uptime')
  if (!r.ok) return undefined
  const v = Number.parseFloat(r.value)
  return Number.isFinite(v) ? v : undefined
}
