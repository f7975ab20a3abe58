/**
 * The layers of DESIGN.md, held by the imports themselves (issue 12: "no layer imports upward"):
 * host → collect / decode → model → replay / checks → compare → report → cli → commands. A module
 * may import its own layer and the layers below it, never one above.
 */
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {repoRoot} from './support/paths.js'

/** Rank of each layer; equal ranks are siblings (replay's fault rules share checks' Evidence type). */
const RANK: Record<string, number> = {host: 0, collect: 1, decode: 1, model: 2, replay: 3, checks: 3, compare: 4, report: 5, cli: 6, commands: 7}

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))
}

/** The layer of a repository file: its directory under src/, or "commands". */
function layerOf(file: string): string {
  const rel = path.relative(repoRoot, file).split(path.sep)
  return rel[0] === 'commands' ? 'commands' : (rel[1] ?? '')
}

function upwardImports(files: string[]): string[] {
  const found: string[] = []
  for (const file of files) {
    const from = layerOf(file)
    for (const match of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?(?:from\s+)?'(\.{1,2}\/[^']+)'/gm)) {
      const to = layerOf(path.resolve(path.dirname(file), match[1] ?? ''))
      if ((RANK[to] ?? -1) > (RANK[from] ?? -1)) found.push(`${path.relative(repoRoot, file)} (${from}) imports ${match[1]} (${to})`)
    }
  }
  return found
}

describe('layers', () => {
  const files = [...sources(path.join(repoRoot, 'src')), ...sources(path.join(repoRoot, 'commands'))]

  it('every src/ directory is a known layer', () => {
    expect([...new Set(files.map(layerOf))].filter((layer) => RANK[layer] === undefined)).toEqual([])
  })

  it('no module imports a layer above its own', () => {
    expect(files.length).toBeGreaterThan(100)
    expect(upwardImports(files)).toEqual([])
  })
})
