/**
 * Where the kernel log comes from: a snapshot's dmesg.txt, a file, stdin, or the live
 * `dmesg` (falling back to `journalctl -k`). A log we are not allowed to read is reported
 * as unreadable with the reason (`dmesg_restrict`), never as an empty log.
 */
import {WHOLE_LOG_LIMIT, type HostFs, type Read} from './fs.js'
import {readLocalBytes, readLocalFile} from './local-file.js'
import {decodeLogText} from './text-encoding.js'

export type LogOrigin = 'dmesg' | 'journalctl' | 'snapshot' | 'file' | 'stdin'
export type KernelLog = Read<string> & {origin: LogOrigin}

export const SNAPSHOT_LOG_PATH = '/dmesg.txt'

async function run(cmd: string, args: string[]): Promise<{ok: true; text: string} | {ok: false; message: string}> {
  try {
    // Loaded only when something is spawned: --root, a FILE and stdin never pay for execa.
    const {execa} = await import('execa')
    const result = await execa(cmd, args, {reject: false, timeout: 20_000, stripFinalNewline: false, stdin: 'ignore', maxBuffer: WHOLE_LOG_LIMIT.bytes})
    if (result.exitCode === 0 && typeof result.stdout === 'string' && result.stdout.length > 0) return {ok: true, text: result.stdout}
    const why = (typeof result.stderr === 'string' && result.stderr.trim()) || result.shortMessage || `exit ${String(result.exitCode)}`
    return {ok: false, message: `${cmd}: ${why}`}
  } catch (error) {
    return {ok: false, message: `${cmd}: ${error instanceof Error ? error.message : String(error)}`}
  }
}

/** The live host's kernel log. */
async function readLiveLog(fs: HostFs): Promise<KernelLog> {
  const dmesg = await run('dmesg', [])
  if (dmesg.ok) return {ok: true, value: dmesg.text, path: 'dmesg', origin: 'dmesg'}
  const journal = await run('journalctl', ['-k', '-b', '--no-pager', '-q', '-o', 'short-monotonic'])
  if (journal.ok) return {ok: true, value: journal.text, path: 'journalctl -k', origin: 'journalctl'}
  const restrict = fs.readText('/proc/sys/kernel/dmesg_restrict')
  const restricted = restrict.ok && restrict.value.trim() === '1'
  const hint = restricted
    ? 'kernel.dmesg_restrict=1: reading the kernel log needs root (CAP_SYSLOG) or membership of adm/systemd-journal'
    : 'the kernel log could not be read'
  return {ok: false, reason: 'unreadable', path: 'dmesg', message: `${hint} (${dmesg.message}; ${journal.message})`, origin: 'dmesg'}
}

export interface LogRequest {
  /** A file path, or '-' for stdin. Without it: the snapshot's dmesg.txt, or the live log. */
  file?: string
}

export async function readKernelLog(fs: HostFs, request: LogRequest = {}): Promise<KernelLog> {
  if (request.file === '-') return {...(await readStdin()), origin: 'stdin'}
  if (request.file !== undefined) return {...decoded(readLocalBytes(request.file, WHOLE_LOG_LIMIT)), origin: 'file'}
  if (fs.root !== '/') return {...decoded(fs.readBytes(SNAPSHOT_LOG_PATH)), origin: 'snapshot'}
  return readLiveLog(fs)
}

/** The log's text, a UTF-16/32 log (by its BOM) included. */
function decoded(read: Read<Uint8Array>): Read<string> {
  return read.ok ? {ok: true, value: decodeLogText(read.value), path: read.path} : read
}

export {readLocalBytes, readLocalFile}

async function readStdin(): Promise<Read<string>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += data.length
    if (size > WHOLE_LOG_LIMIT.bytes) return {ok: false, reason: 'unreadable', path: '-', message: `stdin: larger than ${WHOLE_LOG_LIMIT.label}`}
    chunks.push(data)
  }
  return {ok: true, value: decodeLogText(Buffer.concat(chunks)), path: '-'}
}
