#!/usr/bin/env node
import {existsSync, readFileSync} from 'node:fs'
import {isatty} from 'node:tty'
import {fileURLToPath} from 'node:url'
// @oclif/core checks its own engines range with semver on every start (a tenth of --help's CPU);
// package.json's engines already names the node this CLI needs.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {withDefaultCommand} = await import('../dist/src/cli/default-command.js')
const args = withDefaultCommand(process.argv.slice(2))
// Before any command code is loaded: V8 reads the budget as it first runs each function.
const {tuneTierUpFor} = await import('../dist/src/cli/tier-up.js')
tuneTierUpFor(args[0])
const root = fileURLToPath(new URL('..', import.meta.url))

// Help and version as oclif rendered them at build time, when nothing here would change them
// (src/cli/prerendered-help.ts): oclif itself is most of what `--help` costs.
const helpOrVersion = args.some((a) => a === '--help' || a === '--version') || args[0] === 'help' || args[0] === 'version'
const text = helpOrVersion ? (await import('../dist/src/cli/prerendered-help.js')).prerenderedOutput(root, args, process.env, isatty(1)) : undefined
if (text !== undefined) {
  // As oclif does: output cut short by a closed pipe (`| head`) is not an error.
  process.stdout.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error
  })
  process.stdout.write(text)
} else if (!(await runDirect(args))) {
  const {runCli} = await import('../dist/src/cli/run-cli.js')
  await runCli(args, loadOptions(args[0]))
}

/**
 * `faults FILE` (src/cli/faults-direct.ts) and the plain forms of `check`, `groups` and `device`
 * (src/cli/host-direct.ts) without oclif, when nothing would make oclif run them otherwise.
 */
async function runDirect(args) {
  if (args[0] === 'faults') {
    const {runFaultsDirect} = await import('../dist/src/cli/faults-direct.js')
    return runFaultsDirect(args.slice(1), process.env)
  }
  if (args[0] !== 'check' && args[0] !== 'groups' && args[0] !== 'device') return false
  const {runHostCommandDirect} = await import('../dist/src/cli/host-direct.js')
  return runHostCommandDirect(args, process.env)
}

/**
 * One of our own commands (not `help`, which lists every command) runs without loading the
 * plugins package.json names: @oclif/plugin-autocomplete only adds its own command, and finding
 * and reading it was a tenth of oclif's start. Anything else (help, the plugin's command, a
 * mistyped command that oclif suggests a name for) loads them all.
 */
function loadOptions(id) {
  if (id === undefined || id === 'help' || !/^[a-z][a-z-]*$/.test(id) || !existsSync(new URL(`../dist/commands/${id}.js`, import.meta.url))) return root
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  return {root, pjson: {...pjson, oclif: {...pjson.oclif, plugins: []}}}
}
