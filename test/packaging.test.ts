/**
 * What the packages are made of: the standalone executable's command map (it cannot scan
 * commands/ as the npm build does) and the man page
 * generated from the committed oclif manifest, checked by groff itself.
 */
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import * as path from 'node:path'
import {describe, expect, it} from 'vitest'
import {COMMANDS} from '../packaging/commands.js'
import {renderManPage, roffText} from '../src/report/man-page.js'
import {repoRoot} from './support/paths.js'

const pjson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8'))
const ownCommands = Object.values<{id: string; pluginName: string; flags: Record<string, {name: string; helpGroup?: string}>}>(manifest.commands)
  .filter((c) => c.pluginName === pjson.name)

describe('the standalone executable\'s command map', () => {
  it('has every file in commands/, under its file name', () => {
    const files = readdirSync(path.join(repoRoot, 'commands')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3))
    expect(Object.keys(COMMANDS).sort()).toEqual(files.sort())
  })

  it('names the same commands as the manifest of the npm build', () => {
    expect(ownCommands.map((c) => c.id).sort()).toEqual(Object.keys(COMMANDS).sort())
  })
})

describe('the man page', () => {
  const page = renderManPage({
    bin: 'vtd-check', version: pjson.version, description: pjson.description, manifest, date: '2026-01-02',
    omit: (id) => manifest.commands[id]?.pluginName !== pjson.name,
  })

  it('has a section per own command, every command flag, the global flags once, and no plugin command', () => {
    for (const c of ownCommands) {
      expect(page).toContain(`.SS\n\\fBvtd\\-check ${c.id}\\fR`)
      const section = page.slice(page.indexOf(`\\fBvtd\\-check ${c.id}\\fR`))
      for (const f of Object.values(c.flags)) if (f.helpGroup !== 'GLOBAL') expect(section).toContain(`\\fB\\-\\-${roffText(f.name)}\\fR`)
    }
    const globals = page.slice(page.indexOf('.SH GLOBAL FLAGS'), page.indexOf('.SH EXIT STATUS'))
    expect(globals).toContain('\\fB\\-\\-root\\fR \\fIROOT\\fR')
    expect(page.match(/\\fB\\-\\-root\\fR/g)).toHaveLength(1)
    expect(page).not.toMatch(/vtd\\-check autocomplete/)
    expect(page.startsWith('.TH VTD-CHECK 1 "2026-01-02"')).toBe(true)
  })

  it('escapes what roff would read as requests or escapes', () => {
    expect(roffText('.hidden request\nC:\\path -x · é')).toBe('\\&.hidden request\nC:\\epath \\-x \\[u00B7] \\[u00E9]')
  })

  it('formats without a single groff warning, with every section and command in the text', () => {
    const args = ['-man', '-Tutf8', '-ww', '-rLL=100n']
    const text = execFileSync('groff', args, {input: page, encoding: 'utf8'})
    const warnings = execFileSync('sh', ['-c', `groff ${args.join(' ')} -z 2>&1`], {input: page, encoding: 'utf8'})
    expect(warnings).toBe('')
    const plain = text.replace(/.\x08/g, '')
    for (const heading of ['NAME', 'SYNOPSIS', 'COMMANDS', 'GLOBAL FLAGS', 'EXIT STATUS', 'SEE ALSO']) expect(plain).toMatch(new RegExp(`^${heading}$`, 'm'))
    for (const c of ownCommands) expect(plain).toContain(`vtd-check ${c.id}`)
  })
})
