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
import {createReadStream} from 'node:fs'
import {open} from 'node:fs/promises'
import * as nodePath from 'node:path'
import {StringDecoder} from 'node:string_decoder'
import type {Readable} from 'node:stream'
import type {HostFs} from './fs.js'

export type LogStreamOrigin = 'dmesg' | 'journalctl' | 'snapshot' | 'file' | 'stdin'

export type LogStreamOutcome =
  /** `lines` is counted in line mode only; block mode leaves counting to the consumer. */
  | {ok: true; origin: LogStreamOrigin; path: string; lines?: number; bytes: number}
  | {ok: false; origin: LogStreamOrigin; path: string; reason: 'absent' | 'unreadable'; message: string}

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
export type BlockSink = {block: (text: string, bytes: Buffer) => void}
export type Sink = LineSink | BlockSink

interface Splitter {
  write(chunk: Buffer | string): void
  end(): void
  bytes: number
  lines?: number
}

/** Hands on byte blocks cut at the last newline: no per-line work here (the parser scans blocks). */
export class BlockSplitter implements Splitter {
  private carry: Buffer | undefined
  bytes = 0

  constructor(private readonly sink: (text: string, bytes: Buffer) => void) {}

  write(chunk: Buffer | string): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    this.bytes += data.length
    const buf = this.carry === undefined ? data : Buffer.concat([this.carry, data])
    const cut = buf.lastIndexOf(10) + 1
    if (cut === 0) {
      this.carry = Buffer.from(buf)
      return
    }
    // Copy the tail: the chunk's buffer may be reused by the reader.
    this.carry = cut < buf.length ? Buffer.from(buf.subarray(cut)) : undefined
    const head = buf.subarray(0, cut)
    this.sink('', head)
  }

  end(): void {
    const rest = this.carry
    this.carry = undefined
    if (rest !== undefined && rest.length > 0) this.sink('', rest)
  }
}

function splitterFor(sink: Sink): Splitter {
  return typeof sink === 'function' ? new LineSplitter(sink) : new BlockSplitter((t, b) => sink.block(t, b))
}

/** Splits decoded text into lines across chunk borders; holds one partial line at most. */
export class LineSplitter implements Splitter {
  private carry = ''
  private readonly decoder = new StringDecoder('utf8')
  lines = 0
  bytes = 0

  constructor(private readonly sink: LineSink) {}

  write(chunk: Buffer | string): void {
    if (typeof chunk === 'string') this.bytes += Buffer.byteLength(chunk)
    else this.bytes += chunk.length
    const text = this.carry + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk))
    let start = 0
    let nl = text.indexOf('\n', start)
    while (nl !== -1) {
      this.lines++
      this.sink(text.slice(start, nl))
      start = nl + 1
      nl = text.indexOf('\n', start)
    }
    this.carry = start === 0 ? text : text.slice(start)
  }

  end(): void {
    const rest = this.carry + this.decoder.end()
    this.carry = ''
    if (rest.length > 0) {
      this.lines++
      this.sink(rest)
    }
  }
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

async function streamFile(path: string, origin: LogStreamOrigin, request: LogStreamRequest, sink: Sink): Promise<LogStreamOutcome> {
  const splitter = splitterFor(sink)
  // Block mode on a file: 2 MiB reads (fewer awaits; measured best of 0.25–4 MiB on a 1 GB log),
  // held twice (double buffering) plus the scanner's copy: well under 150 MB RSS. Line mode and
  // follow keep 512 KiB.
  const highWaterMark = request.chunkSize ?? 512 * 1024
  try {
    if (!request.follow && typeof sink !== 'function') {
      return await streamFileBlocks(path, origin, request.chunkSize ?? 2 * 1024 * 1024, sink)
    } else if (!request.follow) {
      await pump(createReadStream(path, {highWaterMark}), splitter)
    } else {
      // Follow a growing file by polling its size: no watcher, works on any filesystem.
      const handle = await open(path, 'r')
      const buf = Buffer.allocUnsafe(highWaterMark)
      let offset = 0
      try {
        while (!request.signal?.aborted) {
          const {bytesRead} = await handle.read(buf, 0, buf.length, offset)
          if (bytesRead > 0) {
            offset += bytesRead
            splitter.write(Buffer.from(buf.subarray(0, bytesRead)))
          } else await sleep(500, request.signal)
        }
      } finally {
        await handle.close()
      }
    }
  } catch (error) {
    return {ok: false, origin, path, ...missFrom(error)}
  }
  splitter.end()
  return {ok: true, origin, path, ...(splitter.lines === undefined ? {} : {lines: splitter.lines}), bytes: splitter.bytes}
}

/**
 * Block mode over a file with two reusable buffers: while the sink scans one block, the next
 * read (to the thread pool) fills the other, behind the partial line carried over. Each block is
 * cut at its last newline. No per-chunk allocations, which keeps the garbage collector (and peak
 * RSS) quiet on multi-GB logs.
 */
async function streamFileBlocks(path: string, origin: LogStreamOrigin, chunkSize: number, sink: BlockSink): Promise<LogStreamOutcome> {
  const handle = await open(path, 'r')
  let cur = Buffer.allocUnsafe(Math.max(chunkSize, 64))
  let next = Buffer.allocUnsafe(cur.length)
  let filled = 0
  let bytes = 0
  let pending: Promise<{bytesRead: number}> | undefined = handle.read(cur, 0, cur.length, null)
  try {
    for (;;) {
      const {bytesRead}: {bytesRead: number} = await pending
      pending = undefined
      if (bytesRead === 0) break
      bytes += bytesRead
      filled += bytesRead
      const cut = cur.lastIndexOf(10, filled - 1) + 1
      if (cut === 0) {
        if (filled === cur.length) {
          // A line longer than the buffer: grow rather than split it.
          const bigger = Buffer.allocUnsafe(cur.length * 2)
          cur.copy(bigger, 0, 0, filled)
          cur = bigger
          next = Buffer.allocUnsafe(cur.length)
        }
        pending = handle.read(cur, filled, cur.length - filled, null)
        continue
      }
      // The partial line moves to the other buffer, the next read lands behind it.
      const carry = filled - cut
      cur.copy(next, 0, cut, filled)
      pending = handle.read(next, carry, next.length - carry, null)
      sink.block('', cur.subarray(0, cut))
      const done = cur
      cur = next
      next = done
      filled = carry
    }
    if (filled > 0) sink.block('', cur.subarray(0, filled))
  } finally {
    // A sink that threw leaves a read in flight: let it settle before closing.
    await pending?.catch(() => undefined)
    await handle.close()
  }
  return {ok: true, origin, path, bytes}
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

/** Stream the kernel log a request names into `sink`. */
export async function streamKernelLog(fs: HostFs, request: LogStreamRequest, sink: Sink): Promise<LogStreamOutcome> {
  if (request.file === '-') {
    const splitter = splitterFor(sink)
    await pump(process.stdin, splitter)
    splitter.end()
    return {ok: true, origin: 'stdin', path: '-', ...(splitter.lines === undefined ? {} : {lines: splitter.lines}), bytes: splitter.bytes}
  }
  if (request.file !== undefined) return streamFile(request.file, 'file', request, sink)
  if (fs.root !== '/') return streamFile(nodePath.join(fs.root, 'dmesg.txt'), 'snapshot', request, sink)

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
