/**
 * `check`, `groups` and `device` run without loading oclif (issue 15: importing @oclif/core, its
 * Config.load and the command's bundle were ≈ 35 ms of CPU before the host is read) for the
 * argument lists people and scripts use most: `--root DIR`, `--json` and the command's plain
 * switches. It is the same run as the oclif command's (check-run.ts, groups-run.ts,
 * device-run.ts) with the flags oclif's parse gives those argument lists
 * (test/host-direct.test.ts compares the two parses).
 *
 * Taken only for those argument lists and when nothing at run time would make oclif behave
 * otherwise (the prerendered help's guards: oclif's and this CLI's environment settings, debug
 * output, a user's plugins). Anything else (another flag, a flag twice, `--`, `--help`, a --root
 * that is not a directory) goes to oclif, which reports it as it always has. This module is
 * small: the run itself (host-direct-run.ts, one bundle) is loaded only once the guards pass.
 */
import {statSync} from 'node:fs'
import type {CheckFlags} from './check-run.js'
import type {DeviceFlags} from './device-run.js'
import {OCLIF_DIRNAME} from './faults-direct.js'
import type {GroupsFlags} from './groups-run.js'
import {environmentKeepsPrerendered, userPluginsInstalled} from './prerendered-help.js'

export type DirectHostRequest =
  | {command: 'check'; json: boolean; flags: CheckFlags}
  | {command: 'groups'; json: boolean; flags: GroupsFlags}
  | {command: 'device'; json: boolean; flags: DeviceFlags}

interface Grammar {
  /** Switches this start takes, as the flag names oclif gives them (`-v` is `verbose`). */
  switches: Record<string, string>
  /** Switches of which oclif allows one only (exclusive flags). */
  exclusive?: string[]
  /** Takes one positional argument (device's BDF). */
  positional?: boolean
}

const GRAMMARS: Record<DirectHostRequest['command'], Grammar> = {
  check: {switches: {'--verbose': 'verbose', '-v': 'verbose', '--all': 'all'}},
  groups: {switches: {'--predict': 'predict', '--table': 'table', '--lines': 'lines', '--tree': 'tree'}, exclusive: ['table', 'lines', 'tree']},
  device: {switches: {'--tree': 'tree'}, positional: true},
}

/** The command and flags of a host command's argument list that this start takes; undefined for anything else. */
export function directHostRequest(args: readonly string[]): DirectHostRequest | undefined {
  const [command, ...words] = args
  if (command !== 'check' && command !== 'groups' && command !== 'device') return undefined
  const grammar = GRAMMARS[command]
  const switches: Record<string, true> = {}
  let root: string | undefined
  let json = false
  let positional: string | undefined
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    const name = Object.hasOwn(grammar.switches, word) ? grammar.switches[word]! : undefined
    if (name !== undefined) {
      if (switches[name]) return undefined
      switches[name] = true
    } else if (word === '--json') {
      if (json) return undefined
      json = true
    } else if (word === '--root' || word.startsWith('--root=')) {
      const value = word === '--root' ? words[++i] : word.slice('--root='.length)
      if (root !== undefined || value === undefined || !plainValue(value)) return undefined
      root = value
    } else if (grammar.positional && positional === undefined && plainValue(word)) {
      positional = word
    } else {
      return undefined
    }
  }
  if ((grammar.exclusive ?? []).filter((name) => switches[name]).length > 1) return undefined
  const flags = {root: root ?? '/', ...switches}
  if (command === 'check') return {command, json, flags: {...flags, format: 'text'}}
  if (command === 'groups') return {command, json, flags: {...flags, format: 'text'}}
  return {command, json, flags: positional === undefined ? flags : {...flags, bdf: positional}}
}

/** A value oclif takes as it is: not empty, not a flag. */
function plainValue(value: string): boolean {
  return value !== '' && !value.startsWith('-')
}

/** Runs `args` (the command and its words) when this start may; false when oclif has to. */
export async function runHostCommandDirect(args: readonly string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  const request = directHostRequest(args)
  if (request === undefined || !isDirectory(request.flags.root) || !environmentKeepsPrerendered(env) || userPluginsInstalled(env, OCLIF_DIRNAME)) return false
  const {runHostCommandWithoutOclif} = await import('./host-direct-run.js')
  return runHostCommandWithoutOclif(request)
}

/** oclif's --root check (Flags.directory with exists): anything else is its error to report. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}
