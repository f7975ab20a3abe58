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
  | {ok: false; reason: MissReason; path: string; message: string; refused?: string}

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
  /**
   * A directory resolved and listed once, whose entries are then read by name: what a collector
   * reading a dozen attributes of each of thousands of devices asks for. Each read is guarded
   * exactly as the same read by path, and answers the same (paths in results are `path/name`).
   */
  directory(path: string): Read<HostDirectory>
}

export interface HostDirectory {
  /** The directory's path as asked. */
  readonly path: string
  /** Entry names, sorted. */
  names(): string[]
  /** Entry names that start with `prefix`, in no order (no sort of the whole listing: `virtfn` links). */
  namesStartingWith(prefix: string): string[]
  readText(name: string): Read<string>
  readBytes(name: string): Read<Uint8Array>
  readLink(name: string): Read<string>
}

/** The slice of node's fs (and memfs) that HostFs needs. */
export interface SyncFsLike {
  openSync(path: string, flags: number): number
  fstatSync(fd: number): {isFile(): boolean; size: number}
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number
  closeSync(fd: number): void
  readlinkSync(path: string): string | Uint8Array
  readdirSync(path: string, options: {withFileTypes: true}): DirentLike[]
  realpathSync(path: string): string | Uint8Array
  statSync(path: string): {isDirectory(): boolean}
  lstatSync(path: string): {isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean}
}

/** Node's fs, with the one-syscall libc realpath (the JS one lstat()s every component). */
export const NODE_FS: SyncFsLike = {
  openSync: (path, flags) => nodeFs.openSync(path, flags),
  fstatSync: (fd) => nodeFs.fstatSync(fd),
  readSync: (fd, buffer, offset, length, position) => nodeFs.readSync(fd, buffer, offset, length, position),
  closeSync: (fd) => nodeFs.closeSync(fd),
  readlinkSync: (path) => nodeFs.readlinkSync(path),
  readdirSync: (path, options) => nodeFs.readdirSync(path, options),
  realpathSync: (path) => nodeFs.realpathSync.native(path),
  statSync: (path) => nodeFs.statSync(path),
  lstatSync: (path) => nodeFs.lstatSync(path),
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

/**
 * The guard would not read it (outside the snapshot, not a regular file, too large): `refused` says
 * why, so a report never mistakes it for a file the captured host kept from a non-root user.
 */
function refused(path: string, why: string): Extract<Read<never>, {ok: false}> {
  return {ok: false, reason: 'unreadable', path, message: `${path}: ${why}`, refused: why}
}

/** A resolved location: the host path (inside the root) and where it is on the underlying fs. */
interface Place {
  host: string
  real: string
}

type Resolved = {ok: true; place: Place} | {ok: false; read: Read<never>}
/** An entry found in its resolved directory (its final name not followed), with its kind when the directory was listed. */
type Located = {ok: true; place: Place; kind: EntryKind | undefined; listed: boolean}

/** A directory's resolution as cached: a failure is kept as how to say it for whichever path asked. */
type DirResolution = {ok: true; place: Place} | {ok: false; fail: (asked: string) => Read<never>}

/** What a directory listing says an entry is (d_type; node lstat()s an entry whose type the fs does not report). */
type EntryKind = 'file' | 'dir' | 'link' | 'other'

/** A directory entry as node (and memfs) return it with `withFileTypes`. */
export interface DirentLike {
  name: string | Uint8Array
  isFile(): boolean
  isDirectory(): boolean
  isSymbolicLink(): boolean
}

function kindOf(entry: Pick<DirentLike, 'isFile' | 'isDirectory' | 'isSymbolicLink'>): EntryKind {
  return entry.isSymbolicLink() ? 'link' : entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : 'other'
}

/**
 * Reads a descriptor to its end, refusing more than `max` bytes (undefined then); `expected`
 * (fstat's size, 0 for procfs) only sizes the first buffer, and ends the read early: a short
 * read that brings a file to exactly its fstat size is its end (no second read() for the 0).
 * With `shared`, a small file is read into one scratch buffer and the result is a view into it,
 * valid until the next shared read (the caller copies or decodes it at once).
 */
export function readCapped(fs: Pick<SyncFsLike, 'readSync'>, fd: number, max: number, expected: number, shared = false): Uint8Array | undefined {
  let buf = shared && expected < SCRATCH_BYTES ? scratch().subarray(0, Math.min(max + 1, SCRATCH_BYTES)) : Buffer.allocUnsafe(Math.min(max + 1, Math.max(expected + 1, 4096)))
  let filled = 0
  for (;;) {
    if (filled === buf.length) {
      if (buf.length > max) return undefined
      const bigger = Buffer.allocUnsafe(Math.min(max + 1, buf.length * 2))
      buf.copy(bigger, 0, 0, filled)
      buf = bigger
    }
    const want = buf.length - filled
    const n = fs.readSync(fd, buf, filled, want, null)
    if (n === 0) break
    filled += n
    if (n < want && expected > 0 && filled === expected) break
  }
  return filled > max ? undefined : new Uint8Array(buf.buffer, buf.byteOffset, filled)
}

/** One page-sized buffer reused by every small read (sysfs attributes, config space). */
const SCRATCH_BYTES = 8 * KiB
let scratchBuffer: Buffer | undefined
function scratch(): Buffer {
  scratchBuffer ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES)
  return scratchBuffer
}
function isScratch(bytes: Uint8Array): boolean {
  return scratchBuffer !== undefined && bytes.buffer === scratchBuffer.buffer
}

/**
 * A small read's bytes copied out of the scratch buffer into a shared slab (a view of its own
 * range): 2,000 config spaces are then 30 backing stores, not 2,000 the GC tracks one by one.
 */
const SLAB_BYTES = 256 * KiB
let slab: Uint8Array | undefined
let slabUsed = 0
function keptCopy(bytes: Uint8Array): Uint8Array {
  if (slab === undefined || slabUsed + bytes.length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES)
    slabUsed = 0
  }
  const copy = slab.subarray(slabUsed, slabUsed + bytes.length)
  copy.set(bytes)
  slabUsed += bytes.length
  return copy
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

interface Listing {
  /** Entry -> kind; undefined when the directory could not be listed (then `failed` says why). */
  kinds?: ReadonlyMap<string, EntryKind>
  failed?: Extract<Read<never>, {ok: false}>
  /** The names sorted, made when first listed for a caller (most listings only answer lookups). */
  sorted?: string[]
}

function absent(path: string, call: string): Extract<Read<never>, {ok: false}> {
  return {ok: false, reason: 'absent', path, message: `ENOENT: no such file or directory, ${call} '${path}'`}
}

const SLASH = 0x2f
const DOT = 0x2e

function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash <= 0 ? '/' : path.slice(0, slash)
}

/**
 * `relative` (a link target) taken from the canonical directory `dir`, in canonical form; '..'
 * stops at "/". By hand, one pass: it runs for every link followed.
 */
export function joinHostPath(dir: string, relative: string): string {
  let out = dir === '/' ? '' : dir
  let start = 0
  while (start <= relative.length) {
    let end = relative.indexOf('/', start)
    if (end < 0) end = relative.length
    const step = componentStep(relative, start, end)
    if (step < 0) out = out.slice(0, Math.max(0, out.lastIndexOf('/')))
    else if (step > 0) out += '/' + relative.slice(start, end)
    start = end + 1
  }
  return out === '' ? '/' : out
}

/** The path component path[start, end): -1 for '..', 0 for '' or '.', 1 for a name. */
function componentStep(path: string, start: number, end: number): -1 | 0 | 1 {
  const length = end - start
  if (length === 0 || (length === 1 && path.charCodeAt(start) === DOT)) return 0
  return length === 2 && path.charCodeAt(start) === DOT && path.charCodeAt(start + 1) === DOT ? -1 : 1
}

/** A host path in canonical form ("/a/b": no '.', '..', doubled or trailing slash); '..' stops at "/". */
function canonical(path: string): string {
  if (path.startsWith('/') && !/\/\/|\/\.\.?(\/|$)|.\/$/.test(path)) return path
  return nodePath.posix.normalize('/' + path).replace(/(.)\/$/, '$1')
}

export class RootedHostFs implements HostFs {
  /** The root as a real path ('' for "/"), links in the root's own path resolved once. */
  private readonly realRoot: string
  /** A snapshot (not the live "/"): link targets must stay inside it. */
  readonly confined: boolean
  /** Host directory path -> its resolution (each directory resolved once, from its parent's listing). */
  private readonly dirs = new Map<string, DirResolution>()
  /** Real directory -> its entries and their kinds (one readdir answers every absent attribute and every link test). */
  private readonly listings = new Map<string, Listing>()
  /** Real path of a link -> its target (or why it could not be read). */
  private readonly links = new Map<string, {ok: true; target: string} | {ok: false; error: unknown}>()

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
    this.confined = this.realRoot !== ''
    this.dirs.set('/', {ok: true, place: {host: '/', real: real === '/' ? '/' : real}})
  }

  /** A link's target by real path, read once (a device's bus link is both read and followed). */
  /** @internal (also ListedDirectory's) */
  readlinkAt(real: string): {ok: true; target: string} | {ok: false; error: unknown} {
    let read = this.links.get(real)
    if (read === undefined) {
      try {
        read = {ok: true, target: String(this.fs.readlinkSync(real))}
      } catch (error) {
        read = {ok: false, error}
      }
      this.links.set(real, read)
    }
    return read
  }

  /** Underlying real path -> host path, or undefined when it is outside the root. */
  private inside(real: string): string | undefined {
    if (this.realRoot === '') return real
    if (real === this.realRoot) return '/'
    return real.startsWith(this.realRoot + '/') ? real.slice(this.realRoot.length) : undefined
  }

  private listing(real: string): Listing {
    let entry = this.listings.get(real)
    if (entry === undefined) {
      try {
        const kinds = new Map<string, EntryKind>()
        // Indexed loops here and below: a for…of in code not yet optimised allocates a result per step.
        const dirents = this.fs.readdirSync(real, {withFileTypes: true})
        for (let i = 0; i < dirents.length; i++) {
          const dirent = dirents[i] as DirentLike
          kinds.set(String(dirent.name), kindOf(dirent))
        }
        entry = {kinds}
      } catch (error) {
        entry = {failed: miss(real, error)}
      }
      this.listings.set(real, entry)
    }
    return entry
  }

  /**
   * A directory (canonical host path) resolved through every link, one component at a time from
   * the root: each component's kind comes from its parent's listing, a link's target is read and
   * resolved the same way (at most MAX_LINK_HOPS of them), and a target that is absolute or climbs
   * above the root (in a snapshot) is refused. No realpath: it would lstat or readlink every
   * component of every path again.
   */
  private resolveDir(host: string, asked: string, hops = 0): Resolved {
    let found = this.dirs.get(host)
    if (found === undefined) {
      found = this.resolveComponent(host, hops)
      this.dirs.set(host, found)
    }
    return found.ok ? found : {ok: false, read: found.fail(asked)}
  }

  private resolveComponent(host: string, hops: number): DirResolution {
    const parent = this.resolveDir(parentOf(host), host, hops)
    if (!parent.ok) return this.dirs.get(parentOf(host)) as DirResolution
    const name = host.slice(host.lastIndexOf('/') + 1)
    const here = {host: joinPath(parent.place.host, name), real: joinPath(parent.place.real, name)}
    let kind: EntryKind | undefined
    if (this.listings.has(parent.place.real)) {
      const {kinds} = this.listing(parent.place.real)
      if (kinds === undefined) return this.resolveByRealpath(here.real)
      kind = kinds.get(name)
    } else {
      // One lstat instead of listing a directory nothing else needs listed (an IOMMU group's).
      try {
        kind = kindOf(this.fs.lstatSync(here.real))
      } catch (error) {
        const code = (error as {code?: string} | null)?.code ?? ''
        if (!ABSENT_CODES.has(code)) return this.resolveByRealpath(here.real)
      }
    }
    if (kind === 'dir') return {ok: true, place: here}
    if (kind !== 'link') return {ok: false, fail: (asked) => absent(asked, kind === undefined ? 'scandir' : 'scandir (not a directory)')}
    const target = this.linkTarget(here, hops)
    if (!target.ok) return target
    const resolved = this.resolveDir(target.host, host, hops + 1)
    return resolved.ok ? resolved : (this.dirs.get(target.host) as DirResolution)
  }

  /** A directory we may not list (permissions): the kernel resolves it for us. */
  private resolveByRealpath(real: string): DirResolution {
    try {
      const host = this.inside(String(this.fs.realpathSync(real)))
      return host === undefined ? {ok: false, fail: (asked) => refused(asked, OUTSIDE_ROOT)} : {ok: true, place: {host, real: this.realRoot + host}}
    } catch (error) {
      return {ok: false, fail: (asked) => miss(asked, error)}
    }
  }

  /** The canonical host path a link at `place` names; refused when it leaves the root or the chain is too long. */
  private linkTarget(place: Place, hops: number): {ok: true; host: string} | {ok: false; fail: (asked: string) => Read<never>} {
    if (hops >= MAX_LINK_HOPS) return {ok: false, fail: (asked) => ({ok: false, reason: 'unreadable', path: asked, message: `ELOOP: too many symbolic links encountered, '${asked}'`, refused: 'too many symbolic links (a loop)'})}
    const read = this.readlinkAt(place.real)
    if (!read.ok) return {ok: false, fail: (asked) => miss(asked, read.error)}
    const target = read.target
    if (target.startsWith('/')) return this.realRoot === '' ? {ok: true, host: canonical(target)} : {ok: false, fail: (asked) => refused(asked, OUTSIDE_ROOT)}
    if (this.realRoot !== '' && climbsAbove(place.host, target)) return {ok: false, fail: (asked) => refused(asked, OUTSIDE_ROOT)}
    return {ok: true, host: joinHostPath(parentOf(place.host), target)}
  }

  /**
   * The directory and final name of a host path, the name not yet followed; with the name's kind
   * when the directory's listing says. `list`: list the directory if that was not done yet (else
   * the kind is known only when something listed it before; one file in a small directory is
   * cheaper to open than to list for).
   */
  private locate(host: string, asked: string, list = true): Located | {ok: false; read: Read<never>} {
    if (host === '/') return {ok: true, place: {host: '/', real: this.realRoot || '/'}, kind: 'dir', listed: true}
    const dir = this.resolveDir(parentOf(host), asked)
    if (!dir.ok) return dir
    const name = host.slice(host.lastIndexOf('/') + 1)
    const kinds = list || this.listings.has(dir.place.real) ? this.listing(dir.place.real).kinds : undefined
    return {ok: true, place: {host: joinPath(dir.place.host, name), real: joinPath(dir.place.real, name)}, kind: kinds?.get(name), listed: kinds !== undefined}
  }

  /** @internal (also ListedDirectory's) */
  recordedUnreadable(path: string): Read<never> | undefined {
    if (this.unreadable.size === 0 || !this.unreadable.has(path)) return undefined
    return {ok: false, reason: 'unreadable', path, message: `${path}: not readable on the captured host`}
  }

  /**
   * Opens a regular file at a host path inside the root: a final link followed hop by hop within
   * it, O_NOFOLLOW|O_NONBLOCK, fstat'ed and size-checked (`max` undefined: no size rule, for logs
   * that are streamed). The caller closes the descriptor. What the directory listing shows as
   * absent or as a FIFO, socket or device is answered without opening it.
   */
  openFile(path: string, max: SizeLimit | undefined): Read<OpenedFile> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    return this.openAt(canonical(path), path, max, 0)
  }

  private openAt(host: string, path: string, max: SizeLimit | undefined, hops: number, stat = true): Read<OpenedFile> {
    const at = this.locate(host, path, false)
    if (!at.ok) return at.read
    return this.openLocated(at, path, max, hops, stat)
  }

  /**
   * `stat` false: a whole-file read of an entry its listing shows as a regular file skips the
   * fstat (size 0 then): readCapped refuses more than `max` bytes itself, and the listing already
   * said what fstat would (node builds a Stats object per call, a third of a small read's cost).
   */
  private openLocated(at: Located, path: string, max: SizeLimit | undefined, hops: number, stat: boolean): Read<OpenedFile> {
    if (at.listed) {
      if (at.kind === undefined) return absent(path, 'open')
      if (at.kind === 'other') return refused(path, NOT_REGULAR)
      if (at.kind === 'link') {
        const target = this.linkTarget(at.place, hops)
        return target.ok ? this.openAt(target.host, path, max, hops + 1, stat) : target.fail(path)
      }
    }
    let fd: number
    try {
      fd = this.fs.openSync(at.place.real, SAFE_OPEN_FLAGS)
    } catch (error) {
      // O_NOFOLLOW met a link the listing did not tell us about: follow it within the root.
      if (at.listed || (error as {code?: string}).code !== 'ELOOP') return miss(path, error)
      const target = this.linkTarget(at.place, hops)
      return target.ok ? this.openAt(target.host, path, max, hops + 1, stat) : target.fail(path)
    }
    if (!stat && at.listed && at.kind === 'file') return {ok: true, value: {fd, size: 0}, path}
    const checked = refuseOpened(this.fs, fd, path, max)
    if (checked.ok) return {ok: true, value: {fd, size: checked.size}, path}
    this.fs.closeSync(fd)
    return checked
  }

  /** The bytes of a file, possibly a view into the shared scratch buffer (valid until the next read). */
  private readShared(path: string, at: Located | undefined): Read<Uint8Array> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    const max = sizeLimitFor(path)
    const file = at === undefined ? this.openAt(canonical(path), path, max, 0, false) : this.openLocated(at, path, max, 0, false)
    if (!file.ok) return file
    return this.readOpened(path, file.value.fd, file.value.size, max)
  }

  /**
   * An opened file's bytes (into the shared scratch buffer when small), capped at `max`; closes the
   * descriptor. @internal (also ListedDirectory's)
   */
  readOpened(path: string, fd: number, size: number, max: SizeLimit): Read<Uint8Array> {
    try {
      const bytes = readCapped(this.fs, fd, max.bytes, size, true)
      return bytes === undefined ? refused(path, `larger than ${max.label}`) : {ok: true, value: bytes, path}
    } catch (error) {
      return miss(path, error)
    } finally {
      this.fs.closeSync(fd)
    }
  }

  readBytes(path: string): Read<Uint8Array> {
    return this.bytesAt(path, undefined)
  }

  readText(path: string): Read<string> {
    return this.textAt(path, undefined)
  }

  readLink(path: string): Read<string> {
    return this.linkAt(path, undefined)
  }

  /** The reads by path, or of an entry already found in its directory (`at`). */
  /** @internal (also ListedDirectory's) */
  bytesAt(path: string, at: Located | undefined): Read<Uint8Array> {
    return kept(this.readShared(path, at))
  }

  /** @internal (also ListedDirectory's) */
  textAt(path: string, at: Located | undefined): Read<string> {
    return decodedText(this.readShared(path, at))
  }

  /** @internal (also ListedDirectory's) */
  linkAt(path: string, located: Located | undefined): Read<string> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    const at = located ?? this.locate(canonical(path), path, false)
    if (!at.ok) return at.read
    if (at.listed && at.kind === undefined) return absent(path, 'readlink')
    if (at.listed && at.kind !== 'link') return {ok: false, reason: 'unreadable', path, message: `EINVAL: invalid argument, readlink '${path}'`}
    const read = this.readlinkAt(at.place.real)
    if (!read.ok) return miss(path, read.error)
    const target = read.target
    // A snapshot need not hold the target (a driver's directory is not captured), so this check
    // is lexical: an absolute target, or more '..' than the link is deep, leaves the root.
    if (this.realRoot !== '' && (target.startsWith('/') || climbsAbove(at.place.host, target))) return refused(path, OUTSIDE_ROOT)
    return {ok: true, value: target, path}
  }

  listDir(path: string): Read<string[]> {
    const dir = this.directory(path)
    return dir.ok ? {ok: true, value: dir.value.names(), path} : dir
  }

  directory(path: string): Read<HostDirectory> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    const dir = this.resolveDir(canonical(path), path)
    if (!dir.ok) return dir.read
    const listing = this.listing(dir.place.real)
    const kinds = listing.kinds
    if (kinds === undefined) return {...(listing.failed as Extract<Read<never>, {ok: false}>), path}
    return {ok: true, path, value: new ListedDirectory(this, path, dir.place, kinds, listing)}
  }

  /** @internal ListedDirectory's: the fs whose files it opens. */
  get syncFs(): SyncFsLike {
    return this.fs
  }

  realPath(path: string): Read<string> {
    const recorded = this.recordedUnreadable(path)
    if (recorded) return recorded
    return this.realPathAt(canonical(path), path, 0)
  }

  /** Any kind of entry resolved through links (a directory through resolveDir, so it is cached). */
  private realPathAt(host: string, path: string, hops: number): Read<string> {
    const at = this.locate(host, path)
    if (!at.ok) return at.read
    if (at.listed && at.kind === undefined) return absent(path, 'realpath')
    if (at.listed && (at.kind === 'file' || at.kind === 'other')) return {ok: true, value: at.place.host, path}
    if (at.listed && at.kind === 'link') {
      const target = this.linkTarget(at.place, hops)
      return target.ok ? this.realPathAt(target.host, path, hops + 1) : target.fail(path)
    }
    const dir = this.resolveDir(host, path, hops)
    return dir.ok ? {ok: true, value: dir.place.host, path} : dir.read
  }

  isDirectory(path: string): boolean {
    const dir = this.resolveDir(canonical(path), path)
    if (!dir.ok) return false
    try {
      return this.fs.statSync(dir.place.real).isDirectory()
    } catch {
      return false
    }
  }
}

/** Does a relative link target, stored at host path `linkPath`, climb above "/"? (Counted in place: it runs for every link read.) */
function climbsAbove(linkPath: string, target: string): boolean {
  return climbsFrom(componentsOf(linkPath) - 1, target)
}

/** Components of a host path ("/" has none, "/sys/bus" two). */
function componentsOf(path: string): number {
  let count = 0
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) !== SLASH && (i === 0 || path.charCodeAt(i - 1) === SLASH)) count++
  return count
}

/** Does a relative link target climb above "/" from a directory `depth` components deep? */
function climbsFrom(depth: number, target: string): boolean {
  let start = 0
  while (start <= target.length) {
    let end = target.indexOf('/', start)
    if (end < 0) end = target.length
    depth += componentStep(target, start, end)
    if (depth < 0) return true
    start = end + 1
  }
  return false
}

/** A read's bytes as UTF-8 text. */
function decodedText(bytes: Read<Uint8Array>): Read<string> {
  return bytes.ok ? {ok: true, value: Buffer.from(bytes.value.buffer, bytes.value.byteOffset, bytes.value.length).toString('utf8'), path: bytes.path} : bytes
}

/** A read's bytes moved out of the shared scratch buffer, for the caller to keep. */
function kept(read: Read<Uint8Array>): Read<Uint8Array> {
  return read.ok && isScratch(read.value) ? {ok: true, value: keptCopy(read.value), path: read.path} : read
}

/**
 * A directory resolved and listed once (HostFs.directory). One object per directory, its reads on
 * the prototype. Each read answers exactly as the same read by path; the common entries take a
 * short way that makes no location object: a name the listing lacks is absent, a regular file is
 * opened and read (the listing already said what fstat would), a link's target is read and checked.
 * Anything else (a link to follow to a file, a FIFO, a name with a slash) goes the general way.
 */
class ListedDirectory implements HostDirectory {
  /** Components of the directory's host path: how far up a relative link in it may point (counted on the first link read). */
  #depth = -1

  constructor(
    readonly reader: RootedHostFs,
    readonly path: string,
    readonly place: Place,
    readonly kinds: ReadonlyMap<string, EntryKind>,
    readonly listing: Listing,
  ) {}

  names(): string[] {
    return [...(this.listing.sorted ??= [...this.kinds.keys()].sort())]
  }

  namesStartingWith(prefix: string): string[] {
    const found: string[] = []
    this.kinds.forEach((_kind, name) => {
      if (name.startsWith(prefix)) found.push(name)
    })
    return found
  }

  readText(name: string): Read<string> {
    const kind = this.kindOf(name)
    return kind === 'file' || kind === undefined ? decodedText(this.fileAt(name, kind)) : this.reader.textAt(this.entryPath(name), this.located(name))
  }

  readBytes(name: string): Read<Uint8Array> {
    const kind = this.kindOf(name)
    return kind === 'file' || kind === undefined ? kept(this.fileAt(name, kind)) : this.reader.bytesAt(this.entryPath(name), this.located(name))
  }

  readLink(name: string): Read<string> {
    const kind = this.kindOf(name)
    if (kind !== 'link' && kind !== undefined) return this.reader.linkAt(this.entryPath(name), this.located(name))
    const path = this.entryPath(name)
    const recorded = this.reader.recordedUnreadable(path)
    if (recorded) return recorded
    if (kind === undefined) return absent(path, 'readlink')
    const read = this.reader.readlinkAt(joinPath(this.place.real, name))
    if (!read.ok) return miss(path, read.error)
    const target = read.target
    // As by path: an absolute target, or more '..' than the link is deep, leaves the snapshot.
    if (this.reader.confined && (target.startsWith('/') || climbsFrom(this.#depth < 0 ? (this.#depth = componentsOf(this.place.host)) : this.#depth, target))) return refused(path, OUTSIDE_ROOT)
    return {ok: true, value: target, path}
  }

  /** The listed kind of a plain name; 'path' for a name to resolve as a path ('a/b', '..'). */
  private kindOf(name: string): EntryKind | 'path' | undefined {
    return name === '' || name === '.' || name === '..' || name.includes('/') ? 'path' : this.kinds.get(name)
  }

  private entryPath(name: string): string {
    return this.path === '/' ? `/${name}` : `${this.path}/${name}`
  }

  /** A plain name found in the listing, for the general way; undefined for a name to resolve as a path. */
  private located(name: string): Located | undefined {
    if (this.kindOf(name) === 'path') return undefined
    return {ok: true, place: {host: joinPath(this.place.host, name), real: joinPath(this.place.real, name)}, kind: this.kinds.get(name), listed: true}
  }

  /** A listed regular file's bytes (a shared view), or the absent entry's miss. */
  private fileAt(name: string, kind: 'file' | undefined): Read<Uint8Array> {
    const path = this.entryPath(name)
    const recorded = this.reader.recordedUnreadable(path)
    if (recorded) return recorded
    if (kind === undefined) return absent(path, 'open')
    const max = sizeLimitFor(path)
    let fd: number
    try {
      fd = this.reader.syncFs.openSync(joinPath(this.place.real, name), SAFE_OPEN_FLAGS)
    } catch (error) {
      return miss(path, error)
    }
    return this.reader.readOpened(path, fd, 0, max)
  }
}

/** Convenience: the value or undefined. */
export function valueOf<T>(read: Read<T>): T | undefined {
  return read.ok ? read.value : undefined
}
