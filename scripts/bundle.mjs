// Replaces dist/src/cli/oclif.js (tsc's re-export of @oclif/core) with one ESM bundle of
// @oclif/core and its dependencies, so a start parses one file instead of resolving and compiling
// some 160 CommonJS modules (issue 15: `--help` within 2× `node -e 0`). Our own modules stay
// separate files: oclif still imports only the command that runs. The CommonJS code gets a
// `require` and an `__dirname` (@oclif/core reads its own package.json relative to it).
import {build} from 'esbuild'

await build({
  entryPoints: ['dist/src/cli/oclif.js'],
  outfile: 'dist/src/cli/oclif.js',
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  keepNames: true,
  // @oclif/core requires typescript only to run a plugin's .ts sources in development.
  external: ['typescript'],
  legalComments: 'none',
  logLevel: 'warning',
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
