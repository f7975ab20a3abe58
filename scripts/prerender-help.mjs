#!/usr/bin/env node
// Writes dist/src/cli/prerendered-help.json (run by `npm run build` after `oclif manifest`): what
// the built CLI prints, through oclif, for `--help`, `help`, `COMMAND --help`, `help COMMAND`,
// `--version` and `version`, with stdout a pipe (80 columns, no colour) and no user plugins.
// bin/run.js prints it without loading oclif when nothing at run time would change it
// (src/cli/prerendered-help.ts). oclif's user agent (it names the node version) is stored as a mark.
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const {PRERENDERED_HELP_FILE, USER_AGENT_MARK, environmentKeepsPrerendered, sourceHash} = await import(path.join(repo, 'dist/src/cli/prerendered-help.js'))
const out = path.join(repo, 'dist/src/cli', PRERENDERED_HELP_FILE)
rmSync(out, {force: true})

const pjsonText = readFileSync(path.join(repo, 'package.json'), 'utf8')
const manifestText = readFileSync(path.join(repo, 'oclif.manifest.json'), 'utf8')
const pjson = JSON.parse(pjsonText)
const ids = new Set(Object.keys(JSON.parse(manifestText).commands))
for (const plugin of pjson.oclif.plugins ?? []) {
  const manifest = JSON.parse(readFileSync(path.join(repo, 'node_modules', plugin, 'oclif.manifest.json'), 'utf8'))
  for (const id of Object.keys(manifest.commands)) ids.add(id)
}
const forms = [['--version'], ['version'], ['--help'], ['help']]
for (const id of ids) {
  const words = id.split(':')
  forms.push([...words, '--help'], ['help', ...words])
}

// The environment of a plain run: none of what changes oclif's output, no user plugins or theme.
const home = mkdtempSync(path.join(tmpdir(), 'vtd-prerender-'))
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => environmentKeepsPrerendered({[name]: ''})))
Object.assign(env, {HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache')})
const run = promisify(execFile)
async function render(args) {
  try {
    const {stdout, stderr} = await run(process.execPath, [path.join(repo, 'bin/run.js'), ...args], {cwd: home, env, encoding: 'utf8'})
    return stderr === '' ? stdout : undefined
  } catch {
    return undefined // a failing form is left to oclif
  }
}
const outputs = []
try {
  // Two at a time: the build machine may have two cores.
  for (let i = 0; i < forms.length; i += 2) outputs.push(...(await Promise.all(forms.slice(i, i + 2).map(render))))
} finally {
  rmSync(home, {recursive: true, force: true})
}

const userAgent = outputs[0]?.trim()
if (!userAgent || !/^\S+\/\S+ \S+-\S+ node-v\S+$/.test(userAgent)) throw new Error(`prerender-help: unexpected --version output ${JSON.stringify(outputs[0])}`)
const texts = []
const formIndex = {}
forms.forEach((args, i) => {
  const text = outputs[i]
  if (text === undefined) return
  const marked = text.replaceAll(userAgent, USER_AGENT_MARK)
  let at = texts.indexOf(marked)
  if (at < 0) at = texts.push(marked) - 1
  formIndex[JSON.stringify(args)] = at
})
const stored = {
  sourceHash: sourceHash(manifestText, pjsonText),
  name: pjson.name,
  version: pjson.version,
  dirname: pjson.oclif.dirname ?? pjson.name,
  forms: formIndex,
  texts,
}
writeFileSync(out, JSON.stringify(stored) + '\n')
console.log(`prerendered help: ${Object.keys(formIndex).length} of ${forms.length} argument lists, ${texts.length} texts`)
