/**
 * What `vtd-check faults` does once its arguments are parsed, shared by the oclif command
 * (commands/faults.ts) and the start without oclif (faults-direct.ts). It imports neither oclif
 * nor the host model: the caller supplies the host's triage context when tracing, so the direct
 * start compiles only the log pipeline and the report.
 */
import {exitCodeFor} from '../checks/outcome.js'
import {LogParser} from '../decode/kernel-log/index.js'
import type {HostFs} from '../host/fs.js'
import {hostUptime, streamKernelLog} from '../host/log-stream.js'
import {looksBinary} from '../host/text-encoding.js'
import {FaultTriage, parseSince, type TriageContext} from '../replay/fault-triage.js'
import {faultOutcomes, faultsToJson, renderFaultsTable, renderLiveRecord, type FaultsJson} from '../report/faults.js'

/** The command's arguments and flags, defaults applied. */
export interface FaultsRequest {
  file: string | undefined
  root: string
  since: string | undefined
  follow: boolean
  /** Trace requesters against the host's PCI topology (the command's default already decided). */
  trace: boolean
  detail: number
  json: boolean
}

/** What the run needs from the command that runs it. */
export interface FaultsDriver {
  /** The host ("/") or a snapshot; ends the run when `root` is not a snapshot. */
  hostFs(root: string): HostFs
  /** The host's triage context and notes; called only when tracing. */
  traceContext(): Promise<{context: TriageContext; notes: string[]}>
  /** Ends the run with this message and exit code (oclif's `this.error`); never returns. */
  error(message: string, options: {exit: number; suggestions?: string[]}): never
  /** Text output: terminal-safe, wrapped on a terminal. */
  print(text: string): void
  terminalWidth(): number | undefined
}

export async function runFaults(request: FaultsRequest, driver: FaultsDriver): Promise<FaultsJson> {
  const {file, root, follow} = request
  const fs = driver.hostFs(root)
  let since: TriageContext['since']
  if (request.since !== undefined) {
    since = parseSince(request.since, Date.now(), root === '/' && file === undefined ? hostUptime(fs) : undefined)
    if (since === undefined) driver.error(`--since "${request.since}" is not a time`, {exit: 2, suggestions: ['--since 300 (seconds since boot)', '--since 2h', '--since 2025-01-09T10:00']})
  }
  // The log itself is streamed below; the model supplies the host the faults are traced on.
  const {context, notes} = request.trace ? await driver.traceContext() : {context: {}, notes: []}
  const sourceLabel = file ?? (root === '/' ? 'dmesg' : 'dmesg.txt')
  const triage = new FaultTriage({...context, ...(since ? {since} : {}), source: sourceLabel})
  const parser = new LogParser()

  const abort = new AbortController()
  // Ctrl-C ends --follow and prints the summary. Kept installed until the summary is out: a
  // second SIGINT (sudo relays the terminal's, a user presses twice) must not kill the process.
  const onInterrupt = () => abort.abort()
  if (follow) process.on('SIGINT', onInterrupt)
  const live = follow && !request.json
  // A storm's repeated lines are counted without a record each; --follow prints every record.
  if (!live) parser.repeat = (template, line, time, stamp, slot) => triage.repeat(template, line, time, stamp, slot)
  /** Whether the log's first bytes are binary rather than text (undefined until a block came). */
  let binary: boolean | undefined
  const outcome = await streamKernelLog(fs, {...(file === undefined ? {} : {file}), follow, signal: abort.signal}, {
    block: (text, bytes) => {
      binary ??= looksBinary(bytes ?? Buffer.from(text.slice(0, 4096), 'latin1'))
      parser.pushText(text, (record) => {
        triage.add(record)
        const line = live ? renderLiveRecord(record) : undefined
        if (line !== undefined) driver.print(line + '\n')
      }, bytes)
    },
    readBuffers: (size) => parser.readBuffers(size),
  })
  for (const record of parser.end()) triage.add(record)
  if (!outcome.ok) {
    process.off('SIGINT', onInterrupt)
    const usage = outcome.reason === 'absent' && file !== undefined
    driver.error(`cannot read the kernel log ${outcome.path}: ${outcome.message}`, {
      exit: usage ? 2 : 3,
      suggestions: usage
        ? ['give an existing file, or "-" to read stdin']
        : root === '/' && file === undefined
          ? ['run as root (sudo vtd-check faults)', 'or: journalctl -k | vtd-check faults -']
          : outcome.refused !== undefined
            ? [`${root}'s dmesg.txt was refused (${outcome.refused}): a damaged or tampered snapshot; capture the host again (sudo vtd-check capture --out DIR), or give the log as FILE`]
            : [`${root} holds no readable dmesg.txt: capture again as root (sudo vtd-check capture --out DIR)`],
    })
  }
  const source = {origin: outcome.origin, path: outcome.path, lines: parser.lines, bytes: outcome.bytes, ...(binary === true ? {binary} : {})}
  const report = faultsToJson(triage.finish(parser.lines), source, notes)
  if (!request.json) driver.print(renderFaultsTable(report, {width: driver.terminalWidth() ?? 120, detail: request.detail}))
  process.off('SIGINT', onInterrupt)
  process.exitCode = exitCodeFor(faultOutcomes(report))
  return report
}
