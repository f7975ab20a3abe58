/**
 * Entry point of the standalone executable (Node's single-executable applications): esbuild
 * bundles this file, every command and their dependencies into one CommonJS file, which is
 * injected into a copy of the node binary. Such a program can load no file of its own, so
 * oclif gets everything it would otherwise read from disk: package.json (imported, inlined by
 * esbuild), the commands (packaging/commands.ts) and no plugins. The
 * default command is applied as bin/run.js does.
 */
import * as path from 'node:path'
import {Config, Plugin, handle} from '@oclif/core'
import {runCli} from '../src/cli/run-cli.js'
import {COMMANDS} from './commands.js'
import {withDefaultCommand} from '../src/cli/default-command.js'
import {tuneTierUpFor} from '../src/cli/tier-up.js'
import pjson from '../package.json' with {type: 'json'}

async function main(): Promise<void> {
  const args = withDefaultCommand(process.argv.slice(2))
  tuneTierUpFor(args[0])
  const root = path.dirname(process.execPath)
  const oclif = {...pjson.oclif, plugins: [], commands: {strategy: 'explicit' as const, target: 'bundled', identifier: 'COMMANDS'}}
  const standalone = {...pjson, oclif}
  const plugin = new Plugin({root, isRoot: true, pjson: standalone as never, ignoreManifest: true})
  // The explicit strategy's import of `target` never happens: its result is already here.
  Object.assign(plugin, {commandCache: COMMANDS})
  await plugin.load()
  const config = await Config.load({root, pjson: standalone as never, plugins: new Map([[plugin.name, plugin]])})
  await runCli(args, config)
}

main().catch(async (error: Error) => handle(error))
