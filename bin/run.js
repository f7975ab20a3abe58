#!/usr/bin/env node
import {isatty} from 'node:tty'
import {fileURLToPath} from 'node:url'
// @oclif/core checks its own engines range with semver on every start (a tenth of --help's CPU);
// package.json's engines already names the node this CLI needs.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {withDefaultCommand} = await import('../dist/src/cli/default-command.js')
const args = withDefaultCommand(process.argv.slice(2))

// Help and version as oclif rendered them at build time, when nothing here would change them
// (src/cli/prerendered-help.ts): oclif itself is most of what `--help` costs.
const {prerenderedOutput} = await import('../dist/src/cli/prerendered-help.js')
const text = prerenderedOutput(fileURLToPath(new URL('..', import.meta.url)), args, process.env, isatty(1))
if (text === undefined) {
  const {execute} = await import('../dist/src/cli/oclif.js')
  await execute({args, dir: import.meta.url})
} else {
  // As oclif does: output cut short by a closed pipe (`| head`) is not an error.
  process.stdout.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error
  })
  process.stdout.write(text)
}
