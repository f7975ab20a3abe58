#!/usr/bin/env node
// Holds one `vtd-check check --json` run of a packaged build to a snapshot's expected.json:
// the same outcome for every check and the same exit code. Used by scripts/check-packages.sh.
//   expect-fixture.mjs SNAPSHOT_DIR EXIT_CODE < report.json
import {readFileSync} from 'node:fs'
import path from 'node:path'

const [dir, exitCodeText] = process.argv.slice(2)
const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8'))
const report = JSON.parse(readFileSync(0, 'utf8'))
const problems = []
if (Number(exitCodeText) !== expected.exitCode) problems.push(`exit code ${exitCodeText}, expected ${expected.exitCode}`)
const got = Object.fromEntries(report.results.map((r) => [r.subject ? `${r.id}@${r.subject}` : r.id, r.outcome]))
for (const [id, outcome] of Object.entries(expected.outcomes))
  if (got[id] !== outcome) problems.push(`${id}: ${got[id] ?? 'missing'}, expected ${outcome}`)
if (problems.length) {
  console.error(`${path.basename(dir)}:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`${path.basename(dir)}: ${Object.keys(expected.outcomes).length} outcomes and exit code ${exitCodeText} as expected`)
