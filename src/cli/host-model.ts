/**
 * The host model of a command's run, and what every host command's run needs from whoever runs
 * it: shared by the oclif commands (BaseCommand) and the start without oclif (host-direct.ts), so
 * both build the model, fail and print the same way. Imports nothing of oclif.
 */
import {EXIT} from '../checks/outcome.js'
import {collectHost, collectNothing} from '../collect/index.js'
import {collectDebugfs} from '../collect/debugfs.js'
import {loadPciNames, type PciNames} from '../decode/pci-ids.js'
import {RootedHostFs, type HostFs, type Read} from '../host/fs.js'
import {readKernelLog, readLocalBytes, readLocalFile} from '../host/kernel-log.js'
import {hostFilesMissing, notASnapshot, openRoot} from '../host/snapshot.js'
import {buildHostModel, type HostModel, type PciListing} from '../model/host.js'

export interface ErrorOptions {
  exit: number
  suggestions?: string[]
}

/** What a command's run needs from the command that runs it (oclif's, or the start without oclif). */
export interface CommandDriver {
  /** `--json` was given: the run prints nothing, its return value is the JSON. */
  json: boolean
  /** Ends the run with this message and exit code (oclif's `this.error`); never returns. */
  error(message: string, options: ErrorOptions): never
  /** A warning on stderr (not under --json). */
  warn(message: string): void
  /** Text output: terminal-safe, wrapped on a terminal. */
  print(text: string): void
  terminalWidth(): number | undefined
  colorEnabled(): boolean
  /** This CLI's version (package.json). */
  version(): string
}

export interface ModelRequest {
  root: string
  /** An lspci dump (hex, or text) whose devices replace sysfs's. */
  lspciDump?: string | undefined
  /** `lspci -vvv` text (groups --lspci-verbose). */
  lspciVerbose?: string | undefined
  /** A DMAR table file (dmar --file). */
  dmarFile?: string | undefined
  /** An IVRS table file (ivrs --file). */
  ivrsFile?: string | undefined
  /** An IORT table file (iort --file). */
  iortFile?: string | undefined
  /** Read the kernel log (default: yes). */
  log?: boolean
  /** Read this host (or --root) at all (default: yes); `dmar --file` alone reads only the file. */
  withHost?: boolean
  /** Read the kernel's debugfs translation dumps (root only) for the translation replay. */
  debugfs?: boolean
  /**
   * The answer needs the host's sys/ and proc/ (check, groups, device …): a snapshot without them
   * ends "could not tell" (exit 3), never a verdict on nothing. Not with an lspci dump, which
   * brings its own devices.
   */
  needsHostFiles?: boolean
}

/** The host (root "/") or a snapshot directory, with the snapshot's unreadable list applied; a directory that is no snapshot ends the run. */
export function openHostRoot(root: string, driver: Pick<CommandDriver, 'error'>): HostFs {
  const problem = notASnapshot(root)
  if (problem !== undefined)
    driver.error(`${root} is not a snapshot: ${problem}`, {exit: EXIT.usage, suggestions: ['give a directory written by `vtd-check capture --out DIR` (it holds sys/ and proc/)', 'or leave out --root to read this host']})
  return openRoot(root)
}

/**
 * The host model for this run. An lspci dump replaces the PCI devices; given without --root it
 * describes some other machine, so nothing else is read from this one.
 */
export async function loadHostModel(request: ModelRequest, driver: Pick<CommandDriver, 'error' | 'warn'>): Promise<HostModel> {
  const fs = openHostRoot(request.root, driver)
  const pci = pciListing(request, driver)
  const missing = request.needsHostFiles && pci === undefined ? hostFilesMissing(request.root) : undefined
  if (missing !== undefined) {
    driver.error(missing, {exit: EXIT.unknown, suggestions: ['capture the host with `vtd-check capture --out DIR` (as root)', `\`vtd-check faults ${request.root.replace(/\/$/, '')}/dmesg.txt\` explains the faults in its kernel log`]})
  }
  const dumpOnly = (pci !== undefined && request.root === '/') || request.withHost === false
  const collected = dumpOnly ? collectNothing(pci?.path ?? request.dmarFile ?? request.ivrsFile ?? request.iortFile ?? request.root) : collectHost(fs)
  const log: Read<string> = dumpOnly || request.log === false ? {ok: false, reason: 'absent', path: 'dmesg', message: 'the kernel log was not read'} : await readKernelLog(fs)
  // An ACPI table named on the command line (dmar/ivrs/iort --file): unreadable is a usage error.
  const tableFile = (path: string | undefined): Read<Uint8Array> | undefined => {
    const read = path === undefined ? undefined : readLocalBytes(path)
    if (read !== undefined && !read.ok) driver.error(`cannot read ${read.path}: ${read.message}`, {exit: EXIT.usage})
    return read
  }
  const dmarFile = tableFile(request.dmarFile)
  const ivrsFile = tableFile(request.ivrsFile)
  const iortFile = tableFile(request.iortFile)
  const debugfs = request.debugfs === true && !dumpOnly ? collectDebugfs(fs) : undefined
  const model = buildHostModel({collected, log, ...(pci ? {pci} : {}), ...(dmarFile ? {dmarFile} : {}), ...(ivrsFile ? {ivrsFile} : {}), ...(iortFile ? {iortFile} : {}), ...(debugfs ? {debugfs} : {})})
  if (pci !== undefined && model.topology.devices.size === 0)
    driver.error(`no PCI devices found in ${pci.path}`, {exit: EXIT.usage, suggestions: [pci.format === 'verbose' ? 'expected the output of lspci -vvv or lspci -vvvnn' : 'expected the output of lspci -xxxx (or -x / -xxx)']})
  for (const warning of model.topologyWarnings) driver.warn(warning)
  return model
}

function pciListing(request: ModelRequest, driver: Pick<CommandDriver, 'error'>): PciListing | undefined {
  const path = request.lspciVerbose ?? request.lspciDump
  if (path === undefined) return undefined
  const read = readLocalFile(path)
  if (!read.ok) driver.error(`cannot read ${path}: ${read.message}`, {exit: EXIT.usage})
  return {path, text: read.value, format: request.lspciVerbose === undefined ? 'dump' : 'verbose'}
}

/** Vendor/device names: the host's pci.ids, and for a snapshot also this machine's. */
export function pciNamesOf(fs: HostFs): PciNames {
  return loadPciNames(fs.root === '/' ? [fs] : [fs, new RootedHostFs('/')])
}
