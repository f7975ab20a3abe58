/**
 * Property tests run with a fixed seed so CI is repeatable; `FC_SEED=random npm test` explores
 * new cases, `FC_SEED=<n>` replays one (fast-check prints the seed of any failure).
 */
import fc from 'fast-check'

const seed = process.env['FC_SEED'] ?? '20261124'
if (seed !== 'random') fc.configureGlobal({seed: Number(seed)})
