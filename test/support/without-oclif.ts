/**
 * Running the built CLI (bin/run.js) as a child process, with a way to tell whether it loaded
 * oclif: the starts that skip oclif (prerendered help, `faults FILE`) must print what oclif prints.
 */
import {execFile, spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {promisify} from 'node:util'
import {environmentKeepsPrerendered} from '../../src/cli/prerendered-help.js'
import {repoRoot} from './paths.js'

const bin = path.join(repoRoot, 'bin/run.js')
const run = promisify(execFile)

export interface CliHarness {
  /** A scratch directory (also HOME and the parent of XDG_DATA_HOME in `plainEnv`); the caller removes it. */
  work: string
  /** This process's environment without what sends every run through oclif (a CI runner sets CI). */
  plainEnv: NodeJS.ProcessEnv
  /** Node arguments that make importing the oclif bundle fail: a run that succeeds never loaded oclif. */
  withoutOclif: string[]
}

export function cliHarness(prefix: string): CliHarness {
  const work = mkdtempSync(path.join(tmpdir(), prefix))
  const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => environmentKeepsPrerendered({[name]: ''})))
  Object.assign(plainEnv, {HOME: work, XDG_DATA_HOME: path.join(work, 'data')})
  const oclifBundle = pathToFileURL(path.join(repoRoot, 'dist/src/cli/oclif.js')).href
  writeFileSync(
    path.join(work, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  const found = await next(specifier, context)
  if (found.url === ${JSON.stringify(oclifBundle)}) throw new Error('oclif was loaded')
  return found
}
`,
  )
  writeFileSync(path.join(work, 'register.mjs'), `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(path.join(work, 'hooks.mjs')).href)})\n`)
  return {work, plainEnv, withoutOclif: ['--import', pathToFileURL(path.join(work, 'register.mjs')).href]}
}

/** bin/run.js with `args` (after node's `nodeArgs`), from `cwd`: exit status, stdout, stderr. */
export async function runCli(nodeArgs: string[], args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  try {
    const {stdout, stderr} = await run(process.execPath, [...nodeArgs, bin, ...args], {cwd, env, encoding: 'utf8', maxBuffer: 64 << 20})
    return {status: 0, stdout, stderr}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {status: e.code, stdout: e.stdout, stderr: e.stderr}
  }
}

/**
 * bin/run.js with `args`, its stdout read only until the first chunk and then closed, as `| head -c 1`
 * does: the exit status and everything it wrote to stderr.
 */
export function runCliClosingStdoutEarly(nodeArgs: string[], args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{status: number | null; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, bin, ...args], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    child.stdout.once('data', () => child.stdout.destroy())
    child.on('error', reject)
    child.on('close', (status) => resolve({status, stderr}))
  })
}
