/**
 * Files named on the command line (FILE, --file, --tables, --lspci-dump, --lspci-verbose): paths
 * on this machine, not under --root. Links are followed (the user named the path), but the
 * same rules as inside a snapshot apply: a regular file (a FIFO or /dev/zero would hang or never
 * end; stdin is `-`), opened without blocking, and no larger than the kind allows.
 */
import * as nodeFs from 'node:fs'
import {NODE_FS, readCapped, refuseOpened, TEXT_LIMIT, type OpenedFile, type Read, type SizeLimit} from './fs.js'

function miss(path: string, error: unknown): Extract<Read<never>, {ok: false}> {
  const code = (error as {code?: string} | null)?.code
  return {ok: false, reason: code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : 'unreadable', path, message: error instanceof Error ? error.message : String(error)}
}

/** Opens a regular file (the caller closes it); `max` undefined: no size rule (a log that is streamed). */
export function openLocalFile(path: string, max: SizeLimit | undefined): Read<OpenedFile> {
  let fd: number
  try {
    fd = nodeFs.openSync(path, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NONBLOCK)
  } catch (error) {
    return miss(path, error)
  }
  const checked = refuseOpened(NODE_FS, fd, path, max)
  if (checked.ok) return {ok: true, value: {fd, size: checked.size}, path}
  nodeFs.closeSync(fd)
  return {...checked, message: `${checked.message}${checked.message.endsWith('not a regular file') ? ' (a pipe can be given on stdin as -)' : ''}`}
}

export function readLocalBytes(path: string, max: SizeLimit = TEXT_LIMIT): Read<Uint8Array> {
  const file = openLocalFile(path, max)
  if (!file.ok) return file
  try {
    const bytes = readCapped(NODE_FS, file.value.fd, max.bytes, file.value.size)
    return bytes === undefined ? {ok: false, reason: 'unreadable', path, message: `${path}: larger than ${max.label}`} : {ok: true, value: bytes, path}
  } catch (error) {
    return miss(path, error)
  } finally {
    nodeFs.closeSync(file.value.fd)
  }
}

export function readLocalFile(path: string, max: SizeLimit = TEXT_LIMIT): Read<string> {
  const bytes = readLocalBytes(path, max)
  return bytes.ok ? {ok: true, value: Buffer.from(bytes.value.buffer, bytes.value.byteOffset, bytes.value.length).toString('utf8'), path} : bytes
}
