/**
 * The only window onto the host's files. Every path is a host path ("/sys/...");
 * the implementation roots it at `--root`, so a live host, a captured snapshot and
 * an in-memory test volume are read the same way.
 */
import * as nodeFs from 'node:fs'
import * as nodePath from 'node:path'

/** Why a read gave no value: the file is not there, or it is there and we may not read it. */
export type MissReason = 'absent' | 'unreadable'

export type Read<T> =
  | {ok: true; value: T; path: string}
  | {ok: false; reason: MissReason; path: string; message: string}

export interface HostFs {
  /** Where host paths are rooted ("/" on a live host). */
  readonly root: string
  readText(path: string): Read<string>
  readBytes(path: string): Read<Uint8Array>
  /** The link's own target text, exactly as stored (relative targets stay relative). */
  readLink(path: string): Read<string>
  /** Entry names, sorted. */
  listDir(path: string): Read<string[]>
  /** Resolve a host path through links to the host path it names (rooted, not the real fs path). */
  realPath(path: string): Read<string>
  isDirectory(path: string): boolean
}

/** The minimal slice of node's fs (and memfs) that HostFs needs. */
export interface SyncFsLike {
  readFileSync(path: string): Uint8Array | string
  readlinkSync(path: string): string | Uint8Array
  readdirSync(path: string): Array<string | Uint8Array | unknown>
  realpathSync(path: string): string | Uint8Array
  statSync(path: string): {isDirectory(): boolean}
}

const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR'])

function miss<T>(path: string, error: unknown): Read<T> {
  const code = (error as {code?: string} | null)?.code ?? ''
  const message = error instanceof Error ? error.message : String(error)
  return {ok: false, reason: ABSENT_CODES.has(code) ? 'absent' : 'unreadable', path, message}
}

export class RootedHostFs implements HostFs {
  /**
   * @param unreadable host paths to report as unreadable: a snapshot records what the
   *   captured host refused to show (meta.json), so replaying it gives the same answers.
   */
  constructor(
    readonly root: string,
    private readonly fs: SyncFsLike = nodeFs as unknown as SyncFsLike,
    private readonly unreadable: ReadonlySet<string> = new Set(),
  ) {}

  /** Host path -> path on the underlying fs. */
  private at(path: string): string {
    const clean = nodePath.posix.normalize('/' + path)
    return this.root === '/' ? clean : nodePath.posix.join(this.root, clean)
  }

  /** Underlying fs path -> host path (inverse of `at`). */
  private fromUnderlying(path: string): string {
    if (this.root === '/') return path
    const rel = nodePath.posix.relative(this.root, path)
    return rel.startsWith('..') ? path : '/' + rel
  }

  private attempt<T>(path: string, read: (p: string) => T): Read<T> {
    if (this.unreadable.has(path)) {
      return {ok: false, reason: 'unreadable', path, message: `${path}: not readable on the captured host`}
    }
    try {
      return {ok: true, value: read(this.at(path)), path}
    } catch (error) {
      return miss<T>(path, error)
    }
  }

  readText(path: string): Read<string> {
    return this.attempt(path, (p) => {
      const data = this.fs.readFileSync(p)
      return typeof data === 'string' ? data : Buffer.from(data).toString('utf8')
    })
  }

  readBytes(path: string): Read<Uint8Array> {
    return this.attempt(path, (p) => {
      const data = this.fs.readFileSync(p)
      return typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data)
    })
  }

  readLink(path: string): Read<string> {
    return this.attempt(path, (p) => String(this.fs.readlinkSync(p)))
  }

  listDir(path: string): Read<string[]> {
    return this.attempt(path, (p) => this.fs.readdirSync(p).map(String).sort())
  }

  realPath(path: string): Read<string> {
    return this.attempt(path, (p) => this.fromUnderlying(String(this.fs.realpathSync(p))))
  }

  isDirectory(path: string): boolean {
    try {
      return this.fs.statSync(this.at(path)).isDirectory()
    } catch {
      return false
    }
  }
}

/** Convenience: the value or undefined. */
export function valueOf<T>(read: Read<T>): T | undefined {
  return read.ok ? read.value : undefined
}
