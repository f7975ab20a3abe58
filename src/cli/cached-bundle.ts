/**
 * Runs a bundle from the V8 code cache the build made for it (issue 15, cold start).
 *
 * Compiling a 0.7 MB command bundle and the oclif bundle is a fifth of a short run: the ES module
 * loader compiles their top level, then each function the run calls is compiled on its first
 * call. Node 20 keeps no compile cache for ES modules (module.enableCompileCache is Node 22), so
 * the build emits each command and @oclif/core as CommonJS files (dist/commands/NAME.cjs,
 * dist/src/cli/oclif.cjs), runs each command once on a repo fixture and stores V8's cache of
 * everything that run compiled next to the file (NAME.v8cache, scripts/code-cache.mjs); the
 * modules in their place (dist/commands/NAME.js, the one oclif imports, and dist/src/cli/oclif.js)
 * run the file through `vm.Script` with that cache. Nothing is ever written at run time.
 *
 * The cache is used only for the exact text it was made from: the cache file starts with the
 * SHA-256 of that text, compared with the bundle's (V8 itself checks only the text's length, its
 * own version and its flags; it rejects a cache made under other flags or another node and
 * compiles instead). Without a usable cache the bundle is compiled as any script: same code,
 * same output.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Script} from 'node:vm'

/** The wrapper's parameters: a CommonJS module's, and `__import` for the bundle's dynamic `import()`s. */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname, __import) {"use strict";'
const WRAPPER_TAIL = '\n})'

export interface BundleRun {
  exports: Record<string, unknown>
  /** Whether V8 took the build's cache (false: none, another text, or rejected by V8). */
  cacheUsed: boolean
  /** The compiled script (the build asks it for its cache after a warm-up run). */
  script: Script
}

/** Scripts this process compiled, by file: what the build's warm-up run makes caches of. */
export const compiledBundles = new Map<string, {script: Script; source: Buffer}>()

export interface BundleOptions {
  /**
   * Modules the bundle requires by these exact names: the shared oclif bundle, an ES module a
   * script cannot require.
   */
  imports?: Record<string, unknown>
  /** Every other `require` of the bundle (from the loading module's place, or a package's). */
  require: NodeJS.Require | ((id: string) => unknown)
  /** The `import()` of the loading module, which the build put in place of the bundle's own (a script's would need a Node flag). */
  dynamicImport: (specifier: string) => Promise<unknown>
  /** `__dirname` and `__filename` as the bundled code expects them (default: the bundle's own). */
  dirname?: string
  filename?: string
}

/** Runs a CommonJS bundle (as esbuild writes it) with its code cache when there is a valid one. */
export function runBundle(url: URL, options: BundleOptions): BundleRun {
  const file = fileURLToPath(url)
  const source = readFileSync(file)
  const cachedData = cacheFor(source, readOptional(cacheFileOf(file)))
  const script = new Script(WRAPPER_HEAD + source.toString('utf8') + WRAPPER_TAIL, {filename: file, cachedData})
  compiledBundles.set(file, {script, source})
  const module = {exports: {} as Record<string, unknown>}
  const {imports, require} = options
  // Without imports the bundle gets `require` itself (oclif uses require.resolve too).
  const requireFor = imports === undefined ? require : (id: string) => (Object.hasOwn(imports, id) ? imports[id] : require(id))
  const dirname = options.dirname ?? file.slice(0, file.lastIndexOf('/'))
  script.runInThisContext()(module.exports, requireFor, module, options.filename ?? file, dirname, options.dynamicImport)
  return {exports: module.exports, cacheUsed: cachedData !== undefined && !script.cachedDataRejected, script}
}

/** NAME.cjs → NAME.v8cache */
export function cacheFileOf(file: string): string {
  return file.replace(/\.cjs$/, '') + '.v8cache'
}

/** The cache file: the SHA-256 of the bundle's bytes, then V8's data. Written by the build only (scripts/code-cache.mjs). */
export function cacheFileContents(source: Buffer, v8Data: Buffer): Buffer {
  return Buffer.concat([digest(source), v8Data])
}

/** V8's data from a cache file, when the file was made from exactly `source`. */
export function cacheFor(source: Buffer, cacheFile: Buffer | undefined): Buffer | undefined {
  if (cacheFile === undefined || cacheFile.length <= DIGEST_BYTES) return undefined
  return cacheFile.subarray(0, DIGEST_BYTES).equals(digest(source)) ? cacheFile.subarray(DIGEST_BYTES) : undefined
}

const DIGEST_BYTES = 32

function digest(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest()
}

function readOptional(file: string): Buffer | undefined {
  try {
    return readFileSync(file)
  } catch {
    return undefined
  }
}
