/**
 * Temporary directories for tests, removed after the test file (afterAll): the suite made
 * thousands of vtd-* directories in /tmp and left them there. Import and call `scratchDir`
 * instead of mkdtempSync; a file's directories go when its last test has run.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll} from 'vitest'

const made: string[] = []

// Generous timeout: a file may have made hundreds of snapshot copies, and the machine is shared.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, {recursive: true, force: true, maxRetries: 3})
}, 180_000)

/** A fresh directory under the system temp dir (`prefix` + random), removed after this test file. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** Removes a scratch directory now (a property test that builds one per run). */
export function removeScratch(dir: string): void {
  rmSync(dir, {recursive: true, force: true})
  const at = made.indexOf(dir)
  if (at >= 0) made.splice(at, 1)
}
