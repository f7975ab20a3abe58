/**
 * `vtd-check` with no command, or with flags only (`vtd-check --json`, `vtd-check --root DIR`),
 * runs `check`: the readiness report is what people start with. oclif has no default command for
 * multi-command CLIs, so bin/run.js rewrites the arguments before oclif routes them; the default
 * command then behaves exactly like `vtd-check check …` (same output, same exit code).
 */
const HELP_OR_VERSION = new Set(['--help', '-h', '--version'])

export function withDefaultCommand(argv: readonly string[]): string[] {
  const first = argv[0]
  if (first === undefined) return ['check']
  if (first.startsWith('-') && !HELP_OR_VERSION.has(first)) return ['check', ...argv]
  return [...argv]
}
