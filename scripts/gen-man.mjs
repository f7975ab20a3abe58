#!/usr/bin/env node
// Writes dist/man/vtd-check.1 from oclif.manifest.json and package.json (run by `npm run build`
// after `oclif manifest`). The page date is the last commit's, so rebuilds are byte-identical.
import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const {renderManPage} = await import(path.join(repo, 'dist/src/report/man-page.js'))
const pjson = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'))
const manifest = JSON.parse(readFileSync(path.join(repo, 'oclif.manifest.json'), 'utf8'))
let date
try {
  date = execFileSync('git', ['log', '-1', '--format=%cs'], {cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
} catch {}
const page = renderManPage({
  bin: pjson.oclif.bin,
  version: pjson.version,
  description: pjson.description,
  manifest,
  omit: (id) => manifest.commands[id]?.pluginName !== pjson.name,
  date: date || new Date().toISOString().slice(0, 10),
})
const out = path.join(repo, 'dist/man/vtd-check.1')
mkdirSync(path.dirname(out), {recursive: true})
writeFileSync(out, page)
