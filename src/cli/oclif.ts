/**
 * The one door to @oclif/core. The build replaces its compiled form (dist/src/cli/oclif.js) with a
 * module that runs a bundle of @oclif/core and its dependencies (dist/src/cli/oclif.cjs,
 * scripts/bundle.mjs) from its V8 code cache (src/cli/cached-bundle.ts): one file compiled at
 * start instead of some 160 CommonJS modules resolved and compiled one by one (issue 15, cold
 * start). Tests and `tsc` see this plain re-export.
 */
export {Args, Command, Flags, execute, flush, handle, loadHelpClass, run} from '@oclif/core'
export type {Config, Interfaces} from '@oclif/core'
