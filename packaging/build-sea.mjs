#!/usr/bin/env node
// Builds the standalone executable build/vtd-check: no Node needed on the server.
//  1. esbuild bundles packaging/sea-main.ts and everything it imports into one CommonJS file
//     (Node 20's single-executable applications run only CommonJS, and load no other file);
//  2. `node --experimental-sea-config` turns it into a preparation blob;
//  3. postject injects the blob into a copy of this machine's node binary (the only Node we
//     can get: installs reach the npm and Debian registries, not nodejs.org).
// Needs the npm dev dependencies (esbuild, postject). Prints what it built and how long it took.
import {execFileSync} from 'node:child_process'
import {copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'
import postject from 'postject'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = path.join(repo, 'build')
const bundle = path.join(out, 'vtd-check.cjs')
const blob = path.join(out, 'sea-prep.blob')
const binary = path.join(out, 'vtd-check')
const started = performance.now()
const seconds = () => ((performance.now() - started) / 1000).toFixed(1)
mkdirSync(out, {recursive: true})

await build({
  entryPoints: [path.join(repo, 'packaging/sea-main.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // oclif reads a tsconfig through `typescript` only when running from TypeScript sources:
  // never in the bundle, so the 10 MB compiler stays out.
  external: ['typescript'],
  // oclif checks its own package.json's engines when it loads, with a require() from disk that a
  // single executable cannot do (a warning on every run); the embedded node is the one we built with.
  banner: {js: 'process.env.OCLIF_DISABLE_ENGINE_WARNING ??= "1";'},
  logLevel: 'warning',
})
console.log(`bundle: ${path.relative(repo, bundle)} ${statSync(bundle).size} bytes (${seconds()} s)`)

const seaConfig = path.join(out, 'sea-config.json')
writeFileSync(seaConfig, JSON.stringify({main: bundle, output: blob, disableExperimentalSEAWarning: true}))
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], {stdio: ['ignore', 'ignore', 'inherit']})

rmSync(binary, {force: true})
copyFileSync(process.execPath, binary)
await postject.inject(binary, 'NODE_SEA_BLOB', readFileSync(blob), {sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'})
rmSync(blob)
console.log(`executable: ${path.relative(repo, binary)} ${statSync(binary).size} bytes, node ${process.version} (${seconds()} s)`)
