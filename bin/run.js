#!/usr/bin/env node
// @oclif/core checks its own engines range with semver on every start (a tenth of --help's CPU);
// package.json's engines already names the node this CLI needs.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {execute} = await import('../dist/src/cli/oclif.js')
const {withDefaultCommand} = await import('../dist/src/cli/default-command.js')

await execute({args: withDefaultCommand(process.argv.slice(2)), dir: import.meta.url})
