import {fileURLToPath} from 'node:url'
import * as path from 'node:path'

/** The repository root, and the shared real data that sits beside the clone (../shared). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const sharedData = path.resolve(repoRoot, '../shared/data')
export const fixturesDir = path.join(repoRoot, 'sysfs-fixtures')
