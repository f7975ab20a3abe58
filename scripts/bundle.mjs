// Two kinds of bundle, made after tsc (issue 15, cold start):
// - dist/src/cli/oclif.js (tsc's re-export of @oclif/core) becomes one ESM bundle of @oclif/core
//   and its dependencies: one file parsed at start instead of some 160 CommonJS modules resolved
//   and compiled one by one. The CommonJS code gets a `require` and an `__dirname` (@oclif/core
//   reads its own package.json relative to it).
// - each dist/commands/*.js becomes one file holding the command and every module of ours it
//   imports (oclif still imports only the command that runs); npm packages stay external, and the
//   oclif bundle stays one shared module, so every command uses the same @oclif/core. Not minified:
//   a stack trace in a bug report still names our functions and lines.
import {readdirSync} from 'node:fs'
import path from 'node:path'
import {build} from 'esbuild'

const common = {bundle: true, platform: 'node', target: 'node20', format: 'esm', allowOverwrite: true, legalComments: 'none', logLevel: 'warning'}

await build({
  ...common,
  entryPoints: ['dist/src/cli/oclif.js'],
  outfile: 'dist/src/cli/oclif.js',
  minify: true,
  keepNames: true,
  // @oclif/core requires typescript only to run a plugin's .ts sources in development.
  external: ['typescript'],
  banner: {
    js: [
      "import {createRequire as __createRequire} from 'node:module';",
      "import {dirname as __pathDirname} from 'node:path';",
      'const require = __createRequire(import.meta.url);',
      "const __dirname = __pathDirname(require.resolve('@oclif/core'));",
      "const __filename = __dirname + '/index.js';",
    ].join('\n'),
  },
})

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
const commands = readdirSync('dist/commands').filter((f) => f.endsWith('.js'))
await build({
  ...common,
  entryPoints: commands.map((f) => `dist/commands/${f}`),
  outdir: 'dist/commands',
  packages: 'external',
  plugins: [sharedOclif],
})
