import {afterEach, beforeEach, vi} from 'vitest'

/**
 * For every test in the calling file: collect what a command prints (stdout, and the --json
 * document oclif writes through console.log), silence stderr, and reset the exit code after.
 */
export function captureCommandOutput(): {readonly stdout: string} {
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
