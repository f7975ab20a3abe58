/**
 * Snapshots on disk: opening one for reading (its meta.json says which paths were unreadable
 * on the captured host, so --root replays them as unreadable, not absent), and writing one
 * (the Node capture, following the same layout as the sh script in collect/capture-script.ts).
 */
import * as nodeFs from 'node:fs'
import * as nodePath from 'node:path'
import {hostname} from 'node:os'
import {
  CLASS_DIRS, DEBUGFS_FILES, DEBUGFS_MAX_BYTES, GROUP_FILES, HOST_FILES, HOST_LISTINGS, PCI_DEVICE_FILES,
  PCI_DEVICE_LINKS, PCI_VIRTFN_PREFIX, SNAPSHOT_DMESG, SNAPSHOT_META, SNAPSHOT_META_SCHEMA_VERSION, UNIT_FILES, type SnapshotMeta,
} from './layout.js'
import {RootedHostFs, type HostFs, type Read} from './fs.js'
import type {KernelLog} from './kernel-log.js'
import {SafeWriter} from './safe-writer.js'

/** A HostFs for `--root`: "/" is the live host; any other directory is a snapshot. */
export function openRoot(root: string): HostFs {
  if (root === '/') return new RootedHostFs('/')
  return new RootedHostFs(nodePath.resolve(root), undefined, new Set(readMeta(root)?.unreadable ?? []))
}

/** The snapshots directly inside `dir`, sorted; undefined when `dir` is not a directory. */
export function snapshotsIn(dir: string): string[] | undefined {
  try {
    return nodeFs
      .readdirSync(dir, {withFileTypes: true})
      .filter((e) => e.isDirectory() && notASnapshot(nodePath.join(dir, e.name)) === undefined)
      .map((e) => nodePath.join(dir, e.name))
      .sort()
  } catch {
    return undefined
  }
}

/**
 * Why `root` cannot be read as a snapshot (undefined when it can). A snapshot mirrors the host's
 * paths: it has sys/ or proc/, or at least the capture's dmesg.txt / meta.json. "/" is the live host.
 * Asked through the guarded reader, as every later read is: a `sys -> /sys` link, a `meta.json`
 * pointing outside or a FIFO do not make a directory a snapshot.
 */
export function notASnapshot(root: string): string | undefined {
  if (root === '/') return undefined
  const fs = new RootedHostFs(nodePath.resolve(root))
  const isFile = (name: string): boolean => {
    const file = fs.openFile(`/${name}`, undefined)
    if (file.ok) nodeFs.closeSync(file.value.fd)
    return file.ok
  }
  if (fs.isDirectory('/sys') || fs.isDirectory('/proc') || isFile(SNAPSHOT_DMESG) || isFile(SNAPSHOT_META)) return undefined
  return `it has no sys/ or proc/ directory and no ${SNAPSHOT_DMESG} or ${SNAPSHOT_META}`
}

/**
 * Why a snapshot cannot describe its host's devices, groups and IOMMU (undefined when it can): it
 * holds neither sys/ nor proc/ — a directory with only the kernel log (dmesg.txt) or meta.json is
 * still a snapshot for `faults`, but every other reading of it would be a guess.
 */
export function hostFilesMissing(root: string): string | undefined {
  if (root === '/') return undefined
  const fs = new RootedHostFs(nodePath.resolve(root))
  if (fs.isDirectory('/sys') || fs.isDirectory('/proc')) return undefined
  return `${root} holds no sys/ or proc/ (a snapshot with only its kernel log or meta.json): the host's devices, IOMMU groups and ACPI tables are not in it`
}

/** The name a host goes by in a fleet: the snapshot's captured hostname, else its directory name. */
export function snapshotName(root: string): string {
  if (root === '/') return 'localhost'
  const captured = readMeta(root)?.hostname
  return captured && captured.trim() !== '' ? captured.trim() : nodePath.basename(nodePath.resolve(root))
}

/** A snapshot's meta.json, validated; undefined when there is none (or it cannot be read). */
export function readMeta(root: string): ReturnType<typeof parseSnapshotMeta> | undefined {
  const text = new RootedHostFs(nodePath.resolve(root)).readText(`/${SNAPSHOT_META}`)
  return text.ok ? parseSnapshotMeta(text.value) : undefined
}

/**
 * meta.json as far as it is well-formed: it comes with an untrusted snapshot, so anything of the
 * wrong type is dropped (`{"unreadable": 5}` means no unreadable list, not a TypeError).
 */
export function parseSnapshotMeta(text: string): Partial<SnapshotMeta> & Pick<SnapshotMeta, 'unreadable'> {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return {unreadable: []}
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return {unreadable: []}
  const record = data as Record<string, unknown>
  const stringField = (key: string) => (typeof record[key] === 'string' ? {[key]: record[key]} : {})
  const list = Array.isArray(record.unreadable) ? record.unreadable : []
  return {
    ...stringField('toolVersion'), ...stringField('capturedAt'), ...stringField('hostname'),
    ...(record.tool === 'vtd-check' ? {tool: 'vtd-check' as const} : {}),
    ...(record.captureMethod === 'node' || record.captureMethod === 'sh' ? {captureMethod: record.captureMethod} : {}),
    ...(Number.isInteger(record.uid) ? {uid: record.uid as number} : {}),
    unreadable: list.filter((path): path is string => typeof path === 'string' && path.startsWith('/')),
  }
}

/**
 * Writes a snapshot of `fs` (the live host, or another snapshot) into `out`, which must be new
 * or empty; writes go only inside it (SafeWriter), links are kept as text and never written through.
 */
export function writeSnapshot(fs: HostFs, log: KernelLog, out: string, toolVersion: string): SnapshotMeta {
  const writer = new SafeWriter(out)
  try {
    const meta = writeInto(writer, fs, log, toolVersion)
    writer.commit()
    return meta
  } catch (error) {
    writer.abandon()
    throw error
  }
}

function writeInto(writer: SafeWriter, fs: HostFs, log: KernelLog, toolVersion: string): SnapshotMeta {
  const unreadable: string[] = []
  const ensureDir = (path: string) => writer.mkdirs(path)

  const copy = (path: string, maxBytes?: number) => {
    const bytes = fs.readBytes(path)
    if (!bytes.ok) {
      if (bytes.reason === 'unreadable' && !fs.isDirectory(path)) unreadable.push(path)
      return
    }
    writer.writeFile(path, maxBytes === undefined ? bytes.value : bytes.value.subarray(0, maxBytes))
  }
  const link = (path: string) => {
    const text = fs.readLink(path)
    if (text.ok) writer.symlink(path, text.value)
  }
  const list = (path: string): string[] => {
    const names = fs.listDir(path)
    return names.ok ? names.value : []
  }
  const real = (path: string): string | undefined => {
    const resolved = fs.realPath(path)
    return resolved.ok ? resolved.value : undefined
  }
  const names = (path: string) => {
    if (!fs.realPath(path).ok) return
    if (!fs.isDirectory(path)) {
      writer.writeFile(path, '')
      return
    }
    ensureDir(path)
    for (const name of list(path)) names(`${path}/${name}`)
  }

  for (const name of list('/sys/bus/pci/devices')) {
    const path = `/sys/bus/pci/devices/${name}`
    if (!fs.readLink(path).ok) continue
    link(path)
    const dir = real(path)
    if (dir === undefined) continue
    ensureDir(dir)
    for (const file of PCI_DEVICE_FILES) copy(`${dir}/${file}`)
    for (const file of PCI_DEVICE_LINKS) link(`${dir}/${file}`)
    for (const entry of list(dir)) if (entry.startsWith(PCI_VIRTFN_PREFIX)) link(`${dir}/${entry}`)
  }
  for (const id of list('/sys/kernel/iommu_groups')) {
    const dir = `/sys/kernel/iommu_groups/${id}`
    if (!fs.isDirectory(dir)) continue
    ensureDir(`${dir}/devices`)
    for (const file of GROUP_FILES) copy(`${dir}/${file}`)
    for (const member of list(`${dir}/devices`)) link(`${dir}/devices/${member}`)
  }
  for (const unit of list('/sys/class/iommu')) {
    const path = `/sys/class/iommu/${unit}`
    if (!fs.readLink(path).ok) continue
    link(path)
    const dir = real(path)
    if (dir === undefined) continue
    ensureDir(dir)
    for (const file of UNIT_FILES) copy(`${dir}/${file}`)
    for (const member of list(`${dir}/devices`)) link(`${dir}/devices/${member}`)
  }
  for (const {dir: classDir, files, linkDirs, linkPrefixes} of CLASS_DIRS) {
    for (const entry of list(classDir)) {
      const path = `${classDir}/${entry}`
      if (!fs.readLink(path).ok) continue
      link(path)
      const dir = real(path)
      if (dir === undefined) continue
      for (const file of files) copy(`${dir}/${file}`)
      for (const sub of linkDirs) for (const member of list(`${dir}/${sub}`)) link(`${dir}/${sub}/${member}`)
      for (const name of list(dir)) if (linkPrefixes.some((prefix) => name.startsWith(prefix))) link(`${dir}/${name}`)
    }
  }
  for (const file of HOST_FILES) copy(file)
  for (const file of DEBUGFS_FILES) copy(file, DEBUGFS_MAX_BYTES)
  for (const listing of HOST_LISTINGS) names(listing)

  if (log.ok) writer.writeFile(`/${SNAPSHOT_DMESG}`, log.value)
  else unreadable.push(`/${SNAPSHOT_DMESG}`)

  const meta: SnapshotMeta = {
    schemaVersion: SNAPSHOT_META_SCHEMA_VERSION,
    tool: 'vtd-check',
    toolVersion,
    captureMethod: 'node',
    capturedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    hostname: hostname(),
    uid: process.getuid?.(),
    unreadable,
  }
  writer.writeFile(`/${SNAPSHOT_META}`, JSON.stringify(meta, null, 2) + '\n')
  return meta
}

export type {Read}
