#!/usr/bin/env node
import {execute} from '../dist/src/cli/oclif.js'
import {withDefaultCommand} from '../dist/src/cli/default-command.js'

await execute({args: withDefaultCommand(process.argv.slice(2)), dir: import.meta.url})
