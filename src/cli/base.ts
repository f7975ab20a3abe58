/**
 * What every command shares: `--root` (a captured snapshot instead of this host), `--json`
 * (oclif's enableJsonFlag: only the JSON goes to stdout), the host model built once from them,
 * and errors that keep the exit-code contract in JSON mode too. Commands stay thin: parse flags,
 * load the model, call the library, render, set the exit code through `exitCodeFor`.
 */
import {Command, Flags} from './oclif.js'
import {errorJson, type OclifError} from './error-json.js'
import {EXIT} from '../checks/outcome.js'
import type {PciNames} from '../decode/pci-ids.js'
import type {HostFs, Read} from '../host/fs.js'
import type {HostModel} from '../model/host.js'
import {loadHostModel, openHostRoot, pciNamesOf, type CommandDriver, type ModelRequest} from './host-model.js'
import {colorEnabled, terminalWidth, writeJson, writeText} from './output.js'

export {ERROR_SCHEMA_VERSION, TOOL, type ErrorJson} from './error-json.js'

/**
 * The `--json` flag, with what the JSON holds: its top-level keys (test/json-contract.test.ts
 * runs each command and checks the help names every key it prints).
 */
export function jsonFlag(holds: string) {
  return Flags.boolean({description: `print JSON instead of text: ${holds}; on error {schemaVersion, tool, error}`, helpGroup: 'GLOBAL'})
}

/** `--lspci-dump`, offered only by the commands that can take PCI devices from a dump. */
export const lspciDumpFlag = Flags.file({
  description: 'take PCI devices from this `lspci -xxxx` (or -xxx / -x, or plain -vvv) dump instead of sysfs; without --root nothing else is read from this host',
  exists: true,
})

export type {ModelRequest} from './host-model.js'

/** The message for a --file that holds no table of the kind asked for (random bytes, an empty file, another table). */
export function notTheTable(file: string, signature: string): string {
  return `${file} holds no ${signature} table: it does not start with "${signature}", nor does it hold one as acpidump or iasl text`
}

/** What to tell a user whose ACPI table (DMAR, IVRS) is absent from the host. */
export interface AbsentTable {
  signature: string
  /** The vtd-check command that reads it, e.g. `dmar`. */
  command: string
  /** Why a host has no such table, and what to do. */
  why: string
  suggestions: string[]
}

/**
 * A command with --json that keeps the exit-code contract on errors and writes JSON plainly:
 * every command (version too, which takes no --root) extends this.
 */
export abstract class JsonCommand extends Command {
  static override enableJsonFlag = true

  /** JSON goes out as JSON.stringify writes it (writeJson), not through oclif's colorizeJson. */
  override logJson(json: unknown): void {
    writeJson(json)
  }

  /**
   * Errors keep the exit-code contract: usage errors (bad flags, bad values) exit 2, "could not
   * tell" 3; in JSON mode the body is one short error object, not oclif's parser state.
   */
  override async catch(err: OclifError): Promise<unknown> {
    const body = errorJson(err)
    process.exitCode = body.error.exitCode
    if (!this.jsonEnabled()) {
      // oclif's handler exits 1 for an error without its own code; 1 means "a check failed", so
      // text mode ends with the same code the JSON body names.
      if (typeof err.oclif?.exit !== 'number') err.oclif = {...err.oclif, exit: body.error.exitCode}
      return super.catch(err)
    }
    this.logJson(body)
    return undefined
  }
}

export abstract class BaseCommand extends JsonCommand {

  static override baseFlags = {
    root: Flags.directory({
      description: 'read this snapshot directory (from `vtd-check capture`) instead of the live host',
      default: '/',
      exists: true,
      helpGroup: 'GLOBAL',
    }),
  }

  /** The root read by this run ("/" or a snapshot), for advice that differs between the two. */
  private readRoot = '/'

  /** The host (root "/") or a snapshot directory, with the snapshot's unreadable list applied. */
  protected hostFs(root: string): HostFs {
    this.readRoot = root
    return openHostRoot(root, this.driver())
  }

  /**
   * The host model for this run. An lspci dump replaces the PCI devices; given without --root it
   * describes some other machine, so nothing else is read from this one.
   */
  protected async loadModel(request: ModelRequest): Promise<HostModel> {
    this.readRoot = request.root
    return loadHostModel(request, this.driver())
  }

  /** This command as the driver of a run shared with the start without oclif (check-run.ts …). */
  protected driver(): CommandDriver {
    return {
      json: this.jsonEnabled(),
      error: (message, options) => this.error(message, options),
      warn: (message) => {
        this.warn(message)
      },
      print: (text) => this.print(text),
      terminalWidth: () => this.terminalWidth(),
      colorEnabled: () => this.colorEnabled(),
      version: () => this.config.version,
    }
  }

  /** Columns to fit: $COLUMNS when set (also when piped), else the terminal's; undefined: the renderer's default. */
  protected terminalWidth(): number | undefined {
    return terminalWidth()
  }

  /** Colour only on a terminal that wants it (NO_COLOR, TERM=dumb: https://no-color.org). */
  protected colorEnabled(): boolean {
    return colorEnabled()
  }

  /** An ACPI table that could not be read: a --file is a usage error, root-only is "could not tell", absent says why. */
  protected failTableRead(read: Extract<Read<Uint8Array>, {ok: false}>, fromFile: boolean, table: AbsentTable): never {
    if (fromFile) this.error(`cannot read ${read.path}: ${read.message}`, {exit: EXIT.usage})
    const {signature, command} = table
    const saved = `${command}.dat`
    if (read.refused !== undefined)
      this.error(`the ${signature} table in this snapshot was refused, not read: ${read.path} (${read.refused})`, {
        exit: EXIT.unknown,
        suggestions: ['a damaged or tampered snapshot: capture the host again (sudo vtd-check capture --out DIR), and read that one'],
      })
    if (read.reason === 'unreadable' && this.readRoot !== '/')
      this.error(`${read.path} was not readable when this snapshot was captured: the ${signature} table is not in it`, {
        exit: EXIT.unknown,
        suggestions: ['capture again as root (sudo vtd-check capture --out DIR), and read that snapshot'],
      })
    if (read.reason === 'unreadable')
      this.error(`${read.path} is readable by root only (mode 0400): the ${signature} table cannot be decoded as this user`, {
        exit: EXIT.unknown,
        suggestions: [`Run \`sudo vtd-check ${command}\``, `Or save it once with \`sudo cat /sys/firmware/acpi/tables/${signature} > ${saved}\` and run \`vtd-check ${command} --file ${saved}\``],
      })
    this.error(`no ${signature} table at ${read.path}: ${table.why}`, {exit: EXIT.unknown, suggestions: table.suggestions})
  }

  /** Text output goes through here: strings from the host or a snapshot must not act on the terminal, and prose fits it. */
  protected print(text: string): void {
    writeText(text)
  }

  protected printLine(text: string): void {
    this.print(text + '\n')
  }

  /** Vendor/device names: the host's pci.ids, and for a snapshot also this machine's. */
  protected pciNames(fs: HostFs): PciNames {
    return pciNamesOf(fs)
  }

}

