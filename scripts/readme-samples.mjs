#!/usr/bin/env node
/**
 * The README's sample outputs are the tool's real output. Each block between
 *
 *   <!-- sample: ARGS [| keep SPEC] [| prompt] -->
 *   ```
 *   …
 *   ```
 *   <!-- /sample -->
 *
 * is what `vtd-check ARGS` prints now: the built bin/run.js, run from the repository root on the
 * committed snapshots, 100 columns, no colour, the repository path cut from paths. `keep SPEC`
 * keeps some lines ("…" marks what is left out): `3` a line, `2-5` a range, `-1` the last line,
 * `/re/` the first line matching, `/re/+2` it and the two after it. `prompt` starts the block with
 * the command line. `node scripts/readme-samples.mjs` rewrites README.md; `--check` exits 1 when
 * it differs from what the tool prints now (test/readme-samples.test.ts makes the same comparison).
 */
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const README = resolve(repoRoot, 'README.md')
const WIDTH = '100'
const MARKER = /<!-- sample: (.+?) -->\n```[^\n]*\n[\s\S]*?\n```\n<!-- \/sample -->/g

/** What `vtd-check ARGS` prints (stdout) as a user would see it in a 100-column terminal without colour. */
export function runTool(args) {
  const result = spawnSync(process.execPath, [resolve(repoRoot, 'bin/run.js'), ...args], {
    cwd: repoRoot,
    env: {...process.env, COLUMNS: WIDTH, NO_COLOR: '1', TERM: 'dumb'},
    encoding: 'utf8',
  })
  if (result.error) throw result.error
  return result.stdout.split(`${repoRoot}/`).join('').replace(/\n+$/, '')
}

/** The lines SPEC keeps, in order, with "…" where lines were left out. */
export function keepLines(lines, spec) {
  const keep = new Set()
  for (const token of spec.match(/\/(?:[^/\\]|\\.)+\/(?:\+\d+)?|\S+/g) ?? []) {
    const pattern = /^\/(.+)\/(?:\+(\d+))?$/.exec(token)
    if (pattern) {
      const at = lines.findIndex((line) => new RegExp(pattern[1]).test(line))
      if (at < 0) throw new Error(`keep ${token}: no line matches`)
      for (let i = at; i <= Math.min(lines.length - 1, at + Number(pattern[2] ?? 0)); i++) keep.add(i)
      continue
    }
    const range = /^(-?\d+)(?:-(\d+))?$/.exec(token)
    if (!range) throw new Error(`keep ${token}: not a line, range or /pattern/`)
    const from = Number(range[1]) < 0 ? lines.length + Number(range[1]) : Number(range[1]) - 1
    const to = range[2] === undefined ? from : Number(range[2]) - 1
    for (let i = from; i <= to && i < lines.length; i++) keep.add(i)
  }
  const out = []
  let last = -1
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (i > last + 1) out.push('…')
    out.push(lines[i])
    last = i
  }
  if (last < lines.length - 1) out.push('…')
  return out
}

/** One sample block for a marker's text ("ARGS | keep SPEC | prompt"). */
export function sampleFor(marker, run = runTool) {
  const [command, ...options] = marker.split(' | ').map((part) => part.trim())
  const args = command.split(/\s+/)
  let lines = run(args).split('\n')
  const keep = options.find((o) => o.startsWith('keep '))
  if (keep) lines = keepLines(lines, keep.slice('keep '.length))
  if (options.includes('prompt')) lines.unshift(`$ vtd-check ${command}`)
  return `<!-- sample: ${marker} -->\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n<!-- /sample -->`
}

/** The README with every sample block regenerated. */
export function regenerate(text, run = runTool) {
  return text.replace(MARKER, (_block, marker) => sampleFor(marker, run))
}

export function sampleMarkers(text) {
  return [...text.matchAll(MARKER)].map((m) => m[1])
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const current = readFileSync(README, 'utf8')
  const fresh = regenerate(current)
  if (process.argv.includes('--check')) {
    if (fresh !== current) {
      console.error('README.md samples differ from what the tool prints now: run node scripts/readme-samples.mjs')
      process.exit(1)
    }
  } else if (fresh !== current) {
    writeFileSync(README, fresh)
    console.error(`rewrote ${sampleMarkers(fresh).length} sample(s) in README.md`)
  }
}
