/**
 * `vtd-check` with no command (or only flags, e.g. `vtd-check --json`) runs `check`:
 * the readiness report is what people start with. oclif has no default-command setting for
 * multi-command CLIs, so this init hook does it.
 */
import type {Hook} from '@oclif/core'

const HELP_OR_VERSION = new Set(['--help', '-h', 'help', '--version', 'version'])

const hook: Hook.Init = async function (options) {
  const first = options.id
  const onlyFlags = first === undefined || (first.startsWith('-') && !HELP_OR_VERSION.has(first))
  if (!onlyFlags || !options.config.findCommand('check')) return
  const argv = first === undefined ? options.argv : [first, ...options.argv]
  await options.config.runCommand('check', argv)
  this.exit(Number(process.exitCode ?? 0))
}

export default hook
