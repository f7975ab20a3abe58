import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Debian's chromium, headless, as root in CI: no sandbox, no GPU, nothing fetched in the
 * background, a fresh profile each run. Returns stdout (the DOM with --dump-dom).
 */
export function chromium(args: string[], timeoutMs = 90_000): string {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'vtd-chromium-'))
  try {
    return execFileSync('chromium', [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, ...args,
    ], {encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore']})
  } finally {
    rmSync(profile, {recursive: true, force: true})
  }
}
