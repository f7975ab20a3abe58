// Two kinds of bundle, made after tsc (issue 15, cold start):
// - dist/src/cli/oclif.js (tsc's re-export of @oclif/core) becomes one ESM bundle of @oclif/core
//   and its dependencies: one file parsed at start instead of some 160 CommonJS modules resolved
//   and compiled one by one (a few packages it uses only off the start path stay out: see
//   LAZY_OCLIF_PACKAGES). The CommonJS code gets a `require` and an `__dirname` (@oclif/core
//   reads its own package.json relative to it).
// - each dist/commands/*.js (and dist/src/cli/faults-direct-run.js, `faults FILE` without oclif)
//   becomes one file holding the command, every module of ours it imports
//   and the table and wrapping packages every report uses (cli-table3, wrap-ansi and their
//   string-width family: a dozen CommonJS files fewer to resolve at start); the oclif bundle stays
//   one shared module, so every command uses the same @oclif/core, and execa stays an import of
//   its own that only a command spawning a process loads. Not minified: a stack trace in a bug
//   report still names our functions and lines.
// cli-table3 0.6.5 is patched as it is bundled (see cliTable3LazyDebug).
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {build} from 'esbuild'

const common = {bundle: true, platform: 'node', target: 'node20', format: 'esm', allowOverwrite: true, legalComments: 'none', logLevel: 'warning'}

/**
 * Packages @oclif/core requires at load but uses only on paths a command run does not take: left
 * out of the bundle and required from node_modules the first time one is used (half of what the
 * bundle held before, all of it parsed on every start). `file` is the @oclif/core module that
 * requires the package.
 *  - tinyglobby: finds commands by globbing when a plugin has no manifest (ours have);
 *  - ejs: renders help templates (`<%= config.bin %>`) and a few config strings;
 *  - cli-spinners: ux.action's spinner frames;
 *  - semver: the engines check, off (bin/run.js sets OCLIF_DISABLE_ENGINE_WARNING).
 * Node's own modules it requires for such paths are loaded on first use too (`builtin`: they stay
 * outside the bundle anyway); each is a chain of Node's internal modules compiled at start:
 *  - node:child_process: the parent process's name on Windows (WSL);
 *  - node:readline: flag values read from stdin (`-`);
 *  - node:perf_hooks: oclif's own timing, on only with OCLIF_PERFORMANCE / DEBUG=perf.
 */
const LAZY_OCLIF_PACKAGES = [
  {name: 'tinyglobby', files: ['config/plugin.js']},
  {name: 'ejs', files: ['config/config.js', 'help/util.js']},
  {name: 'cli-spinners', files: ['ux/action/spinner.js']},
  {name: 'semver', files: []},
  {name: 'node:child_process', files: ['util/os.js'], builtin: true},
  {name: 'node:readline', files: ['parser/parse.js'], builtin: true},
  {name: 'node:perf_hooks', files: ['performance.js'], builtin: true},
]
const lazyOclifPackages = {
  name: 'lazy-oclif-packages',
  setup(b) {
    b.onLoad({filter: /[\\/]node_modules[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/}, (args) => {
      const file = args.path.split(/[\\/]@oclif[\\/]core[\\/]lib[\\/]/)[1].replaceAll('\\', '/')
      let text = readFileSync(args.path, 'utf8')
      for (const {name, files} of LAZY_OCLIF_PACKAGES) {
        if (!files.includes(file)) continue
        // `const x_1 = require("p");` or `const x_1 = __importDefault(require("p"));` (tsc's CommonJS)
        const load = new RegExp(`^const (\\w+) = (__importDefault\\()?require\\("${name}"\\)\\)?;$`, 'm')
        const found = load.exec(text)
        if (!found) throw new Error(`lazy-oclif-packages: @oclif/core/lib/${file} no longer requires ${name} as expected`)
        text = text.replace(load, `const $1 = __lazyModule(() => $2require("${name}")${found[2] ? ')' : ''});`)
      }
      return {contents: text, loader: 'js'}
    })
  },
}

// The names src/cli/oclif.ts re-exports (tsc's `export { ... } from '@oclif/core'`): what the module keeps exporting.
const oclifExports = /export\s*\{([^}]*)\}\s*from\s*'@oclif\/core'/.exec(readFileSync('dist/src/cli/oclif.js', 'utf8'))?.[1].split(',').map((name) => name.trim()).filter(Boolean)
if (!oclifExports?.length) throw new Error("bundle: dist/src/cli/oclif.js no longer re-exports from '@oclif/core' as expected")
// A CommonJS bundle (oclif.cjs) run with its V8 code cache by dist/src/cli/oclif.js, like the commands below.
await build({
  ...common,
  format: 'cjs',
  entryPoints: ['dist/src/cli/oclif.js'],
  outfile: 'dist/src/cli/oclif.cjs',
  minify: true,
  keepNames: true,
  // @oclif/core requires typescript only to run a plugin's .ts sources in development.
  external: ['typescript', ...LAZY_OCLIF_PACKAGES.filter((p) => !p.builtin).map((p) => p.name)],
  plugins: [lazyOclifPackages],
  banner: {js: 'const __lazyModule = (load) => { let loaded; return new Proxy({}, {get: (_, key) => (loaded ??= load())[key]}); };'},
})
writeFileSync('dist/src/cli/oclif.cjs', withImportCalls(readFileSync('dist/src/cli/oclif.cjs', 'utf8'), 'dist/src/cli/oclif.cjs'))
// `require` resolves from @oclif/core's own directory, and `__dirname` is its lib directory, as for
// @oclif/core unbundled (it reads its own package.json relative to it): the packages left out above
// are its dependencies.
writeFileSync(
  'dist/src/cli/oclif.js',
  [
    '// @oclif/core and its dependencies: dist/src/cli/oclif.cjs run with its V8 code cache (src/cli/cached-bundle.ts, scripts/bundle.mjs).',
    "import {createRequire} from 'node:module'",
    "import {dirname} from 'node:path'",
    "import {runBundle} from './cached-bundle.js'",
    "const require = createRequire(createRequire(import.meta.url).resolve('@oclif/core'))",
    "const oclifLib = dirname(require.resolve('@oclif/core'))",
    "const bundle = runBundle(new URL('./oclif.cjs', import.meta.url), {require, dynamicImport: (specifier) => import(specifier), dirname: oclifLib, filename: oclifLib + '/index.js'})",
    `export const {${oclifExports.join(', ')}} = bundle.exports`,
    '',
  ].join('\n'),
)

const oclifBundle = path.resolve('dist/src/cli/oclif.js')
/** Imports of the oclif bundle stay imports, rewritten relative to dist/commands. */
const sharedOclif = {
  name: 'shared-oclif',
  setup(b) {
    b.onResolve({filter: /(^|\/)oclif\.js$/}, (args) => {
      const target = path.resolve(args.resolveDir, args.path)
      if (target !== oclifBundle) return undefined
      return {path: path.relative(path.resolve('dist/commands'), target), external: true}
    })
  },
}
/** npm packages copied into the command bundles; every other package stays an import. */
const INLINED_PACKAGES = new Set(['cli-table3', 'wrap-ansi'])
const inlineOnly = {
  name: 'inline-only',
  setup(b) {
    b.onResolve({filter: /^[^./]/}, (args) => {
      if (args.path.startsWith('node:')) return undefined
      const name = args.path.split('/').slice(0, args.path.startsWith('@') ? 2 : 1).join('/')
      // Imports inside an inlined package (string-width, ansi-regex, ...) are inlined with it.
      const fromInlined = args.importer.includes('/node_modules/')
      return INLINED_PACKAGES.has(name) || fromInlined ? undefined : {path: args.path, external: true}
    })
  },
}

/**
 * cli-table3 0.6.5's Cell.draw cuts the cell's whole text to 10 columns on every line it draws,
 * for a debug message that is recorded only when the table's `debug` option is on. For a
 * multi-line cell that cut removes one character at a time and measures every line each time:
 * quadratic in the cell, a tenth of `check`'s CPU. The patch builds the message only when it is
 * recorded (the same text then); upstream has the same fix open as cli-table3 pull request #362.
 * The build fails if the patched lines are not found (cli-table3 changed: look again).
 */
const cliTable3LazyDebug = {
  name: 'cli-table3-lazy-debug',
  setup(b) {
    const patches = {
      'src/debug.js': [['messages.push(msg);', "messages.push(typeof msg === 'function' ? msg() : msg);"]],
      'src/cell.js': [
        ['    let content = utils.truncate(this.content, 10, this.truncate);\n', ''],
        ['info(`${this.y}-${this.x}: ${this.rowSpan - lineNum}x${this.colSpan} Cell ${content}`);',
          'info(() => `${this.y}-${this.x}: ${this.rowSpan - lineNum}x${this.colSpan} Cell ${utils.truncate(this.content, 10, this.truncate)}`);'],
      ],
    }
    b.onLoad({filter: /[\\/]node_modules[\\/]cli-table3[\\/]src[\\/](debug|cell)\.js$/}, (args) => {
      let text = readFileSync(args.path, 'utf8')
      for (const [from, to] of patches[`src/${path.basename(args.path)}`]) {
        if (!text.includes(from)) throw new Error(`cli-table3 patch: ${path.basename(args.path)} no longer has ${JSON.stringify(from)}`)
        text = text.replace(from, to)
      }
      return {contents: text, loader: 'js'}
    })
  },
}

// `faults FILE` and the host commands without oclif (src/cli/faults-direct.ts, host-direct.ts): each
// run is one file like a command's, a CommonJS bundle (NAME.cjs) that the module in its place runs
// from the V8 code cache scripts/code-cache.mjs makes after this (src/cli/cached-bundle.ts), as for
// the commands below.
const DIRECT_RUNS = {'faults-direct-run': ['runFaultsWithoutOclif'], 'host-direct-run': ['runHostCommandWithoutOclif']}
for (const [name, exported] of Object.entries(DIRECT_RUNS)) {
  const cjs = `dist/src/cli/${name}.cjs`
  await build({
    ...common,
    format: 'cjs',
    entryPoints: [`dist/src/cli/${name}.js`],
    outfile: cjs,
    plugins: [inlineOnly, cliTable3LazyDebug],
  })
  writeFileSync(cjs, withImportCalls(readFileSync(cjs, 'utf8'), cjs))
  writeFileSync(
    `dist/src/cli/${name}.js`,
    [
      `// Run without oclif: dist/src/cli/${name}.cjs run with its V8 code cache (src/cli/cached-bundle.ts, scripts/bundle.mjs).`,
      "import {createRequire} from 'node:module'",
      "import {runBundle} from './cached-bundle.js'",
      `const bundle = runBundle(new URL('./${name}.cjs', import.meta.url), {require: createRequire(import.meta.url), dynamicImport: (specifier) => import(specifier)})`,
      `export const {${exported.join(', ')}} = bundle.exports`,
      '',
    ].join('\n'),
  )
}

// Each command as a CommonJS bundle (NAME.cjs) that its module NAME.js, the one oclif imports, runs
// from the V8 code cache scripts/code-cache.mjs makes after this (src/cli/cached-bundle.ts).
const commands = readdirSync('dist/commands').filter((f) => f.endsWith('.js'))
await build({
  ...common,
  format: 'cjs',
  entryPoints: commands.map((f) => `dist/commands/${f}`),
  outdir: 'dist/commands',
  outExtension: {'.js': '.cjs'},
  plugins: [sharedOclif, inlineOnly, cliTable3LazyDebug],
})
for (const file of commands) {
  const name = path.basename(file, '.js')
  const cjs = `dist/commands/${name}.cjs`
  writeFileSync(cjs, withImportCalls(readFileSync(cjs, 'utf8'), cjs))
  writeFileSync(
    `dist/commands/${file}`,
    [
      `// The ${name} command: dist/commands/${name}.cjs run with its V8 code cache (src/cli/cached-bundle.ts, scripts/bundle.mjs).`,
      "import {createRequire} from 'node:module'",
      "import * as oclif from '../src/cli/oclif.js'",
      "import {runBundle} from '../src/cli/cached-bundle.js'",
      `const bundle = runBundle(new URL('./${name}.cjs', import.meta.url), {imports: {'../src/cli/oclif.js': oclif}, require: createRequire(import.meta.url), dynamicImport: (specifier) => import(specifier)})`,
      'export default bundle.exports.default',
      '',
    ].join('\n'),
  )
}

/**
 * A script run by `vm.Script` cannot `import()` without a Node flag: each `import(` of the bundle
 * (execa, loaded only by the commands that spawn; oclif's import of a command or plugin) calls the
 * `__import` its wrapper gets, the loading module's own `import()`. The one `import(` left is
 * oclif's error message text `"import()"`; any other would fail at run time: the build stops.
 */
function withImportCalls(text, file) {
  const rewritten = text.replace(/(?<![\w$.'"`])import\((?!\))/g, '__import(')
  const left = rewritten.match(/(?<![\w$.])import\s*\(.?/g) ?? []
  if (left.some((found) => found !== 'import()')) throw new Error(`${file}: an import( left after the rewrite (${left.join(', ')}): update withImportCalls`)
  return rewritten
}
