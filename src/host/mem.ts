/**
 * An in-memory host for tests, on memfs. Entries map host paths to contents; `{link}` makes a
 * symlink, `{dir: true}` an empty directory, `{unreadable}` a file (or directory) whose reads
 * fail with EACCES, as a root-only sysfs file does for an ordinary user.
 */
import {Volume} from 'memfs'
import {RootedHostFs, type DirentLike, type SyncFsLike} from './fs.js'

export type MemEntry = string | Uint8Array | {link: string} | {dir: true} | {unreadable: true}

function denied(path: string): Error {
  return Object.assign(new Error(`EACCES: permission denied, open '${path}'`), {code: 'EACCES'})
}

export function memHostFs(entries: Record<string, MemEntry>): RootedHostFs {
  const vol = new Volume()
  const unreadable = new Set<string>()
  for (const [path, entry] of Object.entries(entries)) {
    vol.mkdirSync(path.slice(0, path.lastIndexOf('/')) || '/', {recursive: true})
    if (typeof entry === 'string' || entry instanceof Uint8Array) vol.writeFileSync(path, entry)
    else if ('link' in entry) vol.symlinkSync(entry.link, path)
    else if ('dir' in entry) vol.mkdirSync(path, {recursive: true})
    else {
      vol.writeFileSync(path, '')
      unreadable.add(path)
    }
  }
  const guard = <A extends unknown[], R>(fn: (p: string, ...a: A) => R) => (p: string, ...a: A): R => {
    if (unreadable.has(p)) throw denied(p)
    return fn(p, ...a)
  }
  const fs: SyncFsLike = {
    openSync: guard((p, flags: number) => vol.openSync(p, flags)),
    fstatSync: (fd) => vol.fstatSync(fd),
    readSync: (fd, buffer, offset, length, position) => vol.readSync(fd, buffer, offset, length, position),
    closeSync: (fd) => vol.closeSync(fd),
    readlinkSync: (p) => String(vol.readlinkSync(p)),
    readdirSync: guard((p, options: {withFileTypes: true}) => vol.readdirSync(p, options) as unknown as DirentLike[]),
    realpathSync: (p) => String(vol.realpathSync(p)),
    statSync: (p) => vol.statSync(p),
    lstatSync: (p) => vol.lstatSync(p),
  }
  return new RootedHostFs('/', fs)
}
