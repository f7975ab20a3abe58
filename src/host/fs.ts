/**
 * The only window onto the host's files. Every path is a host path ("/sys/...");
 * the implementation roots it at `--root`, so a live host, a captured snapshot and
 * an in-memory test volume are read the same way.
 *
 * A snapshot is untrusted input (often attached to a bug report by a stranger), so the reader
 * is guarded: every path is resolved inside the root (realpath of the parent directory, a
 * final link followed hop by hop) and refused if it leaves it; files are opened with
 * O_NOFOLLOW|O_NONBLOCK (a FIFO cannot hang us), must be regular files and are capped in size
 * per kind (a link to /dev/zero or a sparse 2 GB `config` cannot exhaust memory). A refusal is
 * an `unreadable` read whose message says why, so checks turn it into `unknown`.
 */
import * as nodeFs from 'node:fs'
import * as nodePath from 'node:path'

/** Why a read gave no value: the file is not there, or it is there and we may not (or will not) read it. */
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
  /**
   * Opens a regular file for streaming (the caller closes the descriptor); refused like a read
   * when it is not one, leaves the root, or is larger than `max` (undefined: no size rule).
   */
  openFile(path: string, max: SizeLimit | undefined): Read<OpenedFile>
}

/** The slice of node's fs (and memfs) that HostFs needs. */
export interface SyncFsLike {
  openSync(path: string, flags: number): number
  fstatSync(fd: number): {isFile(): boolean; size: number}
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number
  closeSync(fd: number): void
  readlinkSync(path: string): string | Uint8Array
  readdirSync(path: string): Array<string | Uint8Array | unknown>
  realpathSync(path: string): string | Uint8Array
  statSync(path: string): {isDirectory(): boolean}
}

/** Node's fs, with the one-syscall libc realpath (the JS one lstat()s every component). */
export const NODE_FS: SyncFsLike = {
  openSync: (path, flags) => nodeFs.openSync(path, flags),
  fstatSync: (fd) => nodeFs.fstatSync(fd),
  readSync: (fd, buffer, offset, length, position) => nodeFs.readSync(fd, buffer, offset, length, position),
  closeSync: (fd) => nodeFs.closeSync(fd),
  readlinkSync: (path) => nodeFs.readlinkSync(path),
  readdirSync: (path) => nodeFs.readdirSync(path),
  realpathSync: (path) => nodeFs.realpathSync.native(path),
  statSync: (path) => nodeFs.statSync(path),
}

/** Open for reading without following a final link and without blocking on a FIFO or device. */
export const SAFE_OPEN_FLAGS = nodeFs.constants.O_RDONLY | nodeFs.constants.O_NOFOLLOW | nodeFs.constants.O_NONBLOCK

const KiB = 1024
const MiB = 1024 * KiB

export interface SizeLimit {
  bytes: number
  label: string
}

const limit = (bytes: number): SizeLimit => ({bytes, label: bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`})

/** PCI config space is 4 KiB at most. */
export const CONFIG_LIMIT = limit(4 * KiB)
/** A sysfs attribute is one page; 64 KiB leaves room for the few larger ones. */
export const SYSFS_LIMIT = limit(64 * KiB)
/** The largest real DMAR/IVRS tables are a few KiB. */
export const ACPI_TABLE_LIMIT = limit(1 * MiB)
/** debugfs translation dumps (the capture keeps 4 MiB of each). */
export const DEBUGFS_LIMIT = limit(16 * MiB)
/** A kernel log read whole (`faults` streams it instead): the largest kernel ring buffer (log_buf_len). */
export const WHOLE_LOG_LIMIT = limit(32 * MiB)
/** /proc files (cpuinfo, interrupts on a many-core host), pci.ids, JSON and dumps named on the command line. */
export const TEXT_LIMIT = limit(16 * MiB)
/** meta.json is a few lines. */
export const META_LIMIT = limit(1 * MiB)

/** How much of a file at this host path we are willing to hold. */
export function sizeLimitFor(path: string): SizeLimit {
  if (path.startsWith('/sys/firmware/acpi/tables/')) return ACPI_TABLE_LIMIT
  if (path.startsWith('/sys/kernel/debug/')) return DEBUGFS_LIMIT
  if (path.startsWith('/sys/')) return path.endsWith('/config') ? CONFIG_LIMIT : SYSFS_LIMIT
  if (path === '/dmesg.txt') return WHOLE_LOG_LIMIT
  if (path === '/meta.json') return META_LIMIT
  return TEXT_LIMIT
}

export const OUTSIDE_ROOT = 'points outside the snapshot'
export const NOT_REGULAR = 'not a regular file'

const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR'])
/** Link hops followed for one path before giving up (the kernel's MAXSYMLINKS). */
const MAX_LINK_HOPS = 40

function miss(path: string, error: unknown): Extract<Read<never>, {ok: false}> {
  const code = (error as {code?: string} | null)?.code ?? ''
  const message = error instanceof Error ? error.message : String(error)
  return {ok: false, reason: ABSENT_CODES.has(code) ? 'absent' : 'unreadable', path, message}
}

function refused(path: string, why: string): Extract<Read<never>, {ok: false}> {
  return {ok: false, reason: 'unreadable', path, message: `${path}: ${why}`}
}

/** A resolved location: the host path (inside the root) and where it is on the underlying fs. */
interface Place {
  host: string
  real: string
}

type Resolved = {ok: true; place: Place} | {ok: false; read: Read<never>}

/**
 * Reads a descriptor to its end, refusing more than `max` bytes (undefined then); `expected`
 * (fstat's size, 0 for procfs) only sizes the first buffer.
 */
export function readCapped(fs: Pick<SyncFsLike, 'readSync'>, fd: number, max: number, expected: number): Uint8Array | undefined {
  let buf = Buffer.allocUnsafe(Math.min(max + 1, Math.max(expected + 1, 4096)))
  let filled = 0
  for (;;) {
    if (filled === buf.length) {
      if (buf.length > max) return undefined
      const bigger = Buffer.allocUnsafe(Math.min(max + 1, buf.length * 2))
      buf.copy(bigger, 0, 0, filled)
      buf = bigger
    }
    const n = fs.readSync(fd, buf, filled, buf.length - filled, null)
    if (n === 0) break
    filled += n
  }
  return filled > max ? undefined : new Uint8Array(buf.buffer, buf.byteOffset, filled)
}

/** Why an open descriptor is not one we read: not a regular file, or larger than `max`. */
export function refuseOpened(fs: Pick<SyncFsLike, 'fstatSync'>, fd: number, path: string, max: SizeLimit | undefined): Extract<Read<never>, {ok: false}> | {ok: true; size: number} {
  let stat: {isFile(): boolean; size: number}
  try {
    stat = fs.fstatSync(fd)
  } catch (error) {
    return miss(path, error)
  }
  if (!stat.isFile()) return refused(path, NOT_REGULAR)
  if (max !== undefined && stat.size > max.bytes) return refused(path, `larger than ${max.label} (${stat.size} bytes)`)
  return {ok: true, size: stat.size}
}

export interface OpenedFile {
  fd: number
  /** fstat's size (0 for procfs files). */
  size: number
}

export class RootedHostFs implements HostFs {
  /** The root as a real path ('' for "/"), links in the root's own path resolved once. */
  private readonly realRoot: string
  /** Underlying directory path -> its resolution (one realpath per directory). */
  private readonly dirs = new Map<string, Place | {outside: true} | {error: unknown}>()
  /** Real directory -> its entries (one readdir answers every absent attribute without an ENOENT). */
  private readonly listings = new Map<string, {read: Read<string[]>; names?: ReadonlySet<string>}>()

  /**
   * @param unreadable host paths to report as unreadable: a snapshot records what the
   *   captured host refused to show (meta.json), so replaying it gives the same answers.
   */
  constructor(
    readonly root: string,
    private readonly fs: SyncFsLike = NODE_FS,
    private readonly unreadable: ReadonlySet<string> = new Set(),
  ) {
    let real: string
    try {
      real = String(fs.realpathSync(root))
    } catch {
      real = nodePath.resolve(root)
    }
    this.realRoot = real === '/' ? '' : real
  }

  /** The underlying path of a host path, lexically ('..' cannot climb above the root). */
  private at(path: string): string {
    return this.realRoot + nodePath.posix.normalize('/' + path)
  }

  /** Underlying real path -> host path, or undefined when it is outside the root. */
  private inside(real: string): string | undefined {
    if (this.realRoot === '') return real
    if (real === this.realRoot) return '/'
    return real.startsWith(this.realRoot + '/') ? real.slice(this.realRoot.length) : undefined
  }

  /** A directory (by underlying path) resolved through every link; refused if it ends outside the root. */
  private resolveDir(underlying: string, hostPath: string): Resolved {
    let found = this.dirs.get(underlying)
    if (found === undefined) {
      try {
        const real = String(this.fs.realpathSync(underlying))
        const host = this.inside(real)
        found = host === undefined ? {outside: true} : {host, real}
      } catch (error) {
        found = {error}
      }
      this.dirs.set(underlying, found)
    }
    if ('host' in found) return {ok: true, place: found}
    return {ok: false, read: 'outside' in found ? refused(hostPath, OUTSIDE_ROOT) : miss(hostPath, found.error)}
  }

  /** The real directory and final name of an underlying path, the name not yet followed. */
  private locate(underlying: string, hostPath: string): Resolved {
    const name = nodePath.posix.basename(underlying)
    if (name === '' || name === '.' || name === '..') return this.resolveDir(underlying, hostPath)
    const dir = this.resolveDir(nodePath.posix.dirname(underlying), hostPath)
    if (!dir.ok) return dir
    const join = (base: string) => (base === '/' ? `/${name}` : `${base}/${name}`)
    return {ok: true, place: {host: join(dir.place.host), real: join(dir.place.real)}}
  }

  /** Where the link at `place` leads, as the next place to try; refused when the target is absolute in a snapshot. */
  private hop(place: Place, hostPath: string): Resolved {
    let target: string
    try {
      target = String(this.fs.readlinkSync(place.real))
    } catch (error) {
      return {ok: false, read: miss(hostPath, error)}
    }
    if (target.startsWith('/') && this.realRoot !== '') return {ok: false, read: refused(hostPath, OUTSIDE_ROOT)}
    return this.locate(target.startsWith('/') ? target : `${nodePath.posix.dirname(place.real)}/${target}`, hostPath)
  }

  private listing(real: string): {read: Read<string[]>; names?: ReadonlySet<string>} {
    let entry = this.listings.get(real)
    if (entry === undefined) {
      try {
        const value = this.fs.readdirSync(real).map(String).sort()
        entry = {read: {ok: true, value, path: real}, names: new Set(value)}
      } catch (error) {
        entry = {read: miss(real, error)}
      }
      this.listings.set(real, entry)
    }
    return entry
  }

  /** True when the directory listing says the name is not there (no open, no thrown ENOENT). */
  private knownAbsent(place: Place): boolean {
    const names = this.listing(nodePath.posix.dirname(place.real)).names
    return names !== undefined && !names.has(nodePath.posix.basename(place.real))
  }

  private recordedUnreadable(path: string): Read<never> | undefined {
    if (!this.unreadable.has(path)) return undefined
    return {ok: false, reason: 'unreadable', path, message: `${path}: not readable on the captured host`}
  }

  /**
   * Opens a regular file at a host path inside the root: a final link followed hop by hop within
   * it, O_NOFOLLOW|O_NONBLOCK, fstat'ed and size-checked (`max` undefined: no size rule, for logs
   * that are streamed). The caller closes the descriptor.
   */
  openFile(path: string, max: SizeLimit | undefined): Read<OpenedFile> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    let at = this.locate(this.at(path), path)
    for (let hops = 0; ; hops++) {
      if (!at.ok) return at.read
      if (this.knownAbsent(at.place)) return {ok: false, reason: 'absent', path, message: `ENOENT: no such file or directory, open '${path}'`}
      let fd: number
      try {
        fd = this.fs.openSync(at.place.real, SAFE_OPEN_FLAGS)
      } catch (error) {
        if ((error as {code?: string}).code !== 'ELOOP' || hops >= MAX_LINK_HOPS) return miss(path, error)
        at = this.hop(at.place, path)
        continue
      }
      const checked = refuseOpened(this.fs, fd, path, max)
      if (checked.ok) return {ok: true, value: {fd, size: checked.size}, path}
      this.fs.closeSync(fd)
      return checked
    }
  }

  readBytes(path: string): Read<Uint8Array> {
    const max = sizeLimitFor(path)
    const file = this.openFile(path, max)
    if (!file.ok) return file
    try {
      const bytes = readCapped(this.fs, file.value.fd, max.bytes, file.value.size)
      return bytes === undefined ? refused(path, `larger than ${max.label}`) : {ok: true, value: bytes, path}
    } catch (error) {
      return miss(path, error)
    } finally {
      this.fs.closeSync(file.value.fd)
    }
  }

  readText(path: string): Read<string> {
    const bytes = this.readBytes(path)
    return bytes.ok ? {ok: true, value: Buffer.from(bytes.value.buffer, bytes.value.byteOffset, bytes.value.length).toString('utf8'), path} : bytes
  }

  readLink(path: string): Read<string> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    const at = this.locate(this.at(path), path)
    if (!at.ok) return at.read
    let target: string
    try {
      target = String(this.fs.readlinkSync(at.place.real))
    } catch (error) {
      return miss(path, error)
    }
    // A snapshot need not hold the target (a driver's directory is not captured), so this check
    // is lexical: an absolute target, or more '..' than the link is deep, leaves the root.
    if (this.realRoot !== '' && (target.startsWith('/') || climbsAbove(at.place.host, target))) return refused(path, OUTSIDE_ROOT)
    return {ok: true, value: target, path}
  }

  listDir(path: string): Read<string[]> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    const dir = this.resolveDir(this.at(path), path)
    if (!dir.ok) return dir.read
    const {read} = this.listing(dir.place.real)
    return read.ok ? {ok: true, value: [...read.value], path} : {...read, path}
  }

  realPath(path: string): Read<string> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    const dir = this.resolveDir(this.at(path), path)
    return dir.ok ? {ok: true, value: dir.place.host, path} : dir.read
  }

  isDirectory(path: string): boolean {
    const dir = this.resolveDir(this.at(path), path)
    if (!dir.ok) return false
    try {
      return this.fs.statSync(dir.place.real).isDirectory()
    } catch {
      return false
    }
  }
}

/** Does a relative link target, stored at host path `linkPath`, climb above "/"? */
function climbsAbove(linkPath: string, target: string): boolean {
  let depth = linkPath.split('/').filter(Boolean).length - 1
  for (const part of target.split('/')) {
    if (part === '..') depth--
    else if (part !== '' && part !== '.') depth++
    if (depth < 0) return true
  }
  return false
}

/** Convenience: the value or undefined. */
export function valueOf<T>(read: Read<T>): T | undefined {
  return read.ok ? read.value : undefined
}
