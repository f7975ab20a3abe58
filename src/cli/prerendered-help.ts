/**
 * Help and version text rendered by oclif at build time (scripts/prerender-help.mjs), printed
 * without loading oclif (issue 15, cold start: loading @oclif/core and its configuration was most
 * of `--help`'s CPU). Only when nothing at run time could make oclif print something else:
 * oclif wraps help to the terminal's width and colours it on a terminal or when the environment
 * asks for colour, reads the user's plugins from its data directory, and names the platform
 * (`wsl` on WSL) and the node version in the version line. Otherwise, and for any other argument
 * list, bin/run.js runs oclif as before.
 */
import {existsSync, readFileSync} from 'node:fs'
import {arch, homedir, release} from 'node:os'
import path from 'node:path'

export const PRERENDERED_HELP_FILE = 'prerendered-help.json'
/** Stands for oclif's user agent (`vtd-check/0.1.0 linux-x64 node-v20.20.2`) in the stored text. */
export const USER_AGENT_MARK = '\u0000user-agent\u0000'

export interface PrerenderedHelp {
  /** Of the manifest and package.json the text was rendered from: a stale file is not used. */
  sourceHash: string
  name: string
  version: string
  dirname: string
  /** JSON of an argument list → index into `texts`. */
  forms: Record<string, number>
  texts: string[]
}

/**
 * Environment that changes what oclif prints for help: its width (OCLIF_COLUMNS), colour when
 * stdout is not a terminal (ansis: FORCE_COLOR, COLORTERM, CI systems, PM2), debug output, and
 * oclif's or this CLI's own settings.
 */
const OUTPUT_CHANGING_ENV = ['FORCE_COLOR', 'COLORTERM', 'CI', 'TF_BUILD', 'TEAMCITY_VERSION', 'PM2_HOME', 'NEXT_RUNTIME', 'DEBUG']
const ALLOWED_OCLIF_ENV = new Set(['OCLIF_DISABLE_ENGINE_WARNING'])

/** FNV-1a of the texts: cheap enough for every start, unlike loading node:crypto. */
export function sourceHash(...texts: string[]): string {
  let hash = 0x811c9dc5
  for (const text of texts) {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
    hash = Math.imul(hash ^ 0xff, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, '0')
}

export function environmentKeepsPrerendered(env: NodeJS.ProcessEnv): boolean {
  for (const name of Object.keys(env)) {
    if (OUTPUT_CHANGING_ENV.includes(name)) return false
    if ((name.startsWith('OCLIF_') || name.startsWith('VTD_CHECK_')) && !ALLOWED_OCLIF_ENV.has(name)) return false
  }
  return true
}

/** oclif loads plugins a user linked or installed from its data directory (`dirname`: package.json's oclif.dirname). */
export function userPluginsInstalled(env: NodeJS.ProcessEnv, dirname: string): boolean {
  const home = env.HOME || homedir()
  const dataDir = env.XDG_DATA_HOME || path.join(home, '.local', 'share')
  return existsSync(path.join(dataDir, dirname, 'package.json'))
}

/** oclif's platform word: WSL reports `wsl` (wsl-utils reads the kernel release and /proc/version). */
function onWsl(): boolean {
  if (process.platform !== 'linux') return false
  if (release().toLowerCase().includes('microsoft')) return true
  try {
    return readFileSync('/proc/version', 'utf8').toLowerCase().includes('microsoft')
  } catch {
    return false
  }
}

/**
 * The text oclif would print for `args`, or undefined when oclif has to run. `root` is the
 * package directory (package.json, oclif.manifest.json, dist/).
 */
export function prerenderedOutput(root: string, args: readonly string[], env: NodeJS.ProcessEnv, stdoutIsTerminal: boolean): string | undefined {
  if (args.length === 0 || args.length > 4 || stdoutIsTerminal || !environmentKeepsPrerendered(env)) return undefined
  if (!args.includes('--help') && !args.includes('--version') && args[0] !== 'help' && args[0] !== 'version') return undefined
  let stored: PrerenderedHelp
  let hash: string
  try {
    stored = JSON.parse(readFileSync(path.join(root, 'dist/src/cli', PRERENDERED_HELP_FILE), 'utf8')) as PrerenderedHelp
    hash = sourceHash(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'), readFileSync(path.join(root, 'package.json'), 'utf8'))
  } catch {
    return undefined
  }
  const index = stored.forms[JSON.stringify(args)]
  if (index === undefined || hash !== stored.sourceHash) return undefined
  if (userPluginsInstalled(env, stored.dirname)) return undefined
  const text = stored.texts[index]
  if (text === undefined || !text.includes(USER_AGENT_MARK)) return text
  if (onWsl()) return undefined
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  return text.replaceAll(USER_AGENT_MARK, `${stored.name}/${stored.version} ${process.platform}-${cpu} node-${process.version}`)
}
