/**
 * Where the kernel log comes from: a snapshot's dmesg.txt, a file, stdin, or the live
 * `dmesg` (falling back to `journalctl -k`). A log we are not allowed to read is reported
 * as unreadable with the reason (`dmesg_restrict`), never as an empty log.
 */
import {readFileSync} from 'node:fs'
import type {HostFs, Read} from './fs.js'

export type LogOrigin = 'dmesg' | 'journalctl' | 'snapshot' | 'file' | 'stdin'
export type KernelLog = Read<string> & {origin: LogOrigin}

export const SNAPSHOT_LOG_PATH = '/dmesg.txt'

async function run(cmd: string, args: string[]): Promise<{ok: true; text: string} | {ok: false; message: string}> {
  try {
    // Loaded only when something is spawned: --root, a FILE and stdin never pay for execa.
    const {execa} = await import('execa')
    const result = await execa(cmd, args, {reject: false, timeout: 20_000, stripFinalNewline: false, stdin: 'ignore'})
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
  if (request.file !== undefined) return {...readLocalFile(request.file), origin: 'file'}
  if (fs.root !== '/') return {...fs.readText(SNAPSHOT_LOG_PATH), origin: 'snapshot'}
  return readLiveLog(fs)
}

/** A file named on the command line: a path on this machine, not under --root. */
export function readLocalFile(path: string): Read<string> {
  try {
    return {ok: true, value: readFileSync(path, 'utf8'), path}
  } catch (error) {
    const code = (error as {code?: string}).code
    return {ok: false, reason: code === 'ENOENT' ? 'absent' : 'unreadable', path, message: (error as Error).message}
  }
}

export function readLocalBytes(path: string): Read<Uint8Array> {
  try {
    return {ok: true, value: new Uint8Array(readFileSync(path)), path}
  } catch (error) {
    const code = (error as {code?: string}).code
    return {ok: false, reason: code === 'ENOENT' ? 'absent' : 'unreadable', path, message: (error as Error).message}
  }
}

async function readStdin(): Promise<Read<string>> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
  return {ok: true, value: Buffer.concat(chunks).toString('utf8'), path: '-'}
}
