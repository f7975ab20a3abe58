import type {Command} from '@oclif/core'
import {afterEach, beforeEach, vi} from 'vitest'
import {repoRoot} from './paths.js'

/**
 * For every test in the calling file: collect what a command prints (stdout, and the --json
 * document oclif writes through console.log), silence stderr, and reset the exit code after.
 */
export function captureCommandOutput(): {stdout: string} {
  const captured = {stdout: ''}
  beforeEach(() => {
    captured.stdout = ''
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      captured.stdout += String(chunk)
      return true
    })
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      captured.stdout += args.map(String).join(' ') + '\n'
    })
  })
  afterEach(() => {
    vi.restoreAllMocks()
    process.exitCode = undefined
  })
  return captured
}

export type CommandClass = {run(argv: string[], root: string): Promise<unknown>} & typeof Command

/**
 * Runs a command in-process, as bin/run.js would end it: what it printed (into `output`, from
 * captureCommandOutput) and its exit code. An error without an oclif exit code is a crash: rethrown.
 */
export async function runCommand(output: {stdout: string}, command: CommandClass, argv: string[]): Promise<{stdout: string; exit: number}> {
  output.stdout = ''
  process.exitCode = undefined
  try {
    await command.run(argv, repoRoot)
    return {stdout: output.stdout, exit: Number(process.exitCode ?? 0)}
  } catch (error) {
    const exit = (error as {oclif?: {exit?: number}}).oclif?.exit
    if (typeof exit !== 'number') throw error
    return {stdout: output.stdout, exit}
  }
}
