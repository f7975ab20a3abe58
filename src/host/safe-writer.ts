/**
 * Writes a snapshot only inside its output directory: everything goes into a fresh private
 * directory beside `--out` and is renamed into place at the end, so nothing already there (a
 * link planted as `dmesg.txt`, another host's snapshot) is written through or merged with.
 * Directories are created one component at a time and a link met on the way is refused; files
 * are created with O_EXCL|O_NOFOLLOW, so no write ever goes through a link.
 */
import * as nodeFs from 'node:fs'
import * as nodePath from 'node:path'

const CREATE_FLAGS = nodeFs.constants.O_WRONLY | nodeFs.constants.O_CREAT | nodeFs.constants.O_EXCL | nodeFs.constants.O_NOFOLLOW

export class UnsafeTarget extends Error {
  /** Where to write instead: beside an existing target, or (when nothing can be created there) elsewhere. */
  constructor(message: string, readonly instead: 'beside' | 'elsewhere' = 'beside') {
    super(message)
  }
}

/** Why `out` cannot receive a snapshot (undefined when it is absent or an empty directory). */
export function refuseTarget(out: string): string | undefined {
  let stat: nodeFs.Stats
  try {
    stat = nodeFs.lstatSync(out)
  } catch {
    return undefined
  }
  if (stat.isSymbolicLink()) return `${out} is a symbolic link: give a new directory`
  if (!stat.isDirectory()) return `${out} exists and is not a directory`
  if (nodeFs.readdirSync(out).length > 0) return `${out} is not empty: a snapshot never mixes two hosts, give a new directory`
  return undefined
}

/** One line on why nothing can be created at `out` (a virtual or read-only filesystem, no permission). */
function cannotCreate(out: string, parent: string, error: unknown): string {
  const code = (error as {code?: string} | null)?.code ?? 'error'
  const why: Record<string, string> = {
    EACCES: `no permission to write in ${parent}`,
    EPERM: `${parent} does not allow new directories (a virtual filesystem such as /sys, or no permission)`,
    ENOENT: `${parent} does not allow new directories (a virtual filesystem such as /proc)`,
    EROFS: `${parent} is on a read-only filesystem`,
    ENOTDIR: `a component of ${parent} is not a directory`,
    ENOSPC: `no space left in ${parent}`,
  }
  return `cannot create ${out}: ${why[code] ?? `${parent} is not writable`} (${code})`
}

export class SafeWriter {
  private readonly dirs = new Set<string>([''])
  readonly staging: string

  constructor(readonly out: string) {
    const why = refuseTarget(out)
    if (why !== undefined) throw new UnsafeTarget(why)
    const parent = nodePath.dirname(nodePath.resolve(out))
    try {
      nodeFs.mkdirSync(parent, {recursive: true})
      this.staging = nodeFs.mkdtempSync(nodePath.join(parent, '.vtd-capture-'))
    } catch (error) {
      throw new UnsafeTarget(cannotCreate(out, parent, error), 'elsewhere')
    }
  }

  /** Host path ("/sys/...") -> components below the staging directory ('..' cannot climb out). */
  private parts(path: string): string[] {
    return nodePath.posix.normalize('/' + path).split('/').filter(Boolean)
  }

  /** Creates the directory and its parents; false when a component is not a directory we made (a link, a file). */
  mkdirs(path: string): boolean {
    let rel = ''
    for (const part of this.parts(path)) {
      rel = rel === '' ? part : `${rel}/${part}`
      if (this.dirs.has(rel)) continue
      const at = nodePath.join(this.staging, rel)
      try {
        nodeFs.mkdirSync(at)
      } catch (error) {
        if ((error as {code?: string}).code !== 'EEXIST' || !nodeFs.lstatSync(at).isDirectory()) return false
      }
      this.dirs.add(rel)
    }
    return true
  }

  /** A new file (never an existing one, never through a link); false when it cannot be placed. */
  writeFile(path: string, data: Uint8Array | string): boolean {
    const parts = this.parts(path)
    if (parts.length === 0 || !this.mkdirs(parts.slice(0, -1).join('/'))) return false
    let fd: number
    try {
      fd = nodeFs.openSync(nodePath.join(this.staging, ...parts), CREATE_FLAGS, 0o644)
    } catch {
      return false
    }
    try {
      nodeFs.writeFileSync(fd, data)
    } finally {
      nodeFs.closeSync(fd)
    }
    return true
  }

  /** A link with the given target text (kept as text, never followed here). */
  symlink(path: string, target: string): boolean {
    const parts = this.parts(path)
    if (parts.length === 0 || !this.mkdirs(parts.slice(0, -1).join('/'))) return false
    try {
      nodeFs.symlinkSync(target, nodePath.join(this.staging, ...parts))
      return true
    } catch {
      return false
    }
  }

  /** Moves the finished snapshot into place (an empty `out` directory is replaced). */
  commit(): void {
    const why = refuseTarget(this.out)
    if (why !== undefined) throw new UnsafeTarget(why)
    try {
      nodeFs.rmdirSync(this.out)
    } catch {
      // absent: nothing to replace
    }
    nodeFs.renameSync(this.staging, this.out)
  }

  abandon(): void {
    nodeFs.rmSync(this.staging, {recursive: true, force: true})
  }
}
