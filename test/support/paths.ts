import {fileURLToPath} from 'node:url'
import * as path from 'node:path'

/** The repository root, and the real data copied into it (test/fixtures/real, provenance in each SOURCES.md). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const realData = path.join(repoRoot, 'test/fixtures/real')
export const fixturesDir = path.join(repoRoot, 'sysfs-fixtures')
