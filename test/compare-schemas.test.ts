/** The diff and fleet JSON contracts: generated from their TypeScript types, committed, and real output validates (ajv, draft 2020-12). */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import {describe, expect, it} from 'vitest'
import {diffHosts} from '../src/compare/diff.js'
import {summariseFleet} from '../src/compare/fleet.js'
import {factsAt} from './support/facts.js'
// @ts-expect-error plain ESM script without type declarations
import {generateSchema, renderSchema, schemaPath} from '../scripts/gen-schema.mjs'
import {fixturesDir} from './support/paths.js'

const committed = (name: string): object => JSON.parse(readFileSync(schemaPath(name) as string, 'utf8')) as object
const snap = (name: string) => path.join(fixturesDir, name)

describe('schema/diff.schema.json and schema/fleet.schema.json', () => {
  it.each(['diff', 'fleet'])('%s: the committed schema is what scripts/gen-schema.mjs generates', (name) => {
    expect(readFileSync(schemaPath(name) as string, 'utf8')).toBe(renderSchema(generateSchema(name)))
  })

  it('real diff and fleet output validate; a broken document does not', async () => {
    const ajv = new Ajv2020({strict: false, allErrors: true})
    const on = await factsAt(snap('lab-iommu-on'))
    const off = await factsAt(snap('lab-iommu-off'))
    const acsOff = await factsAt(snap('lab-acs-off'))
    const validDiff = ajv.compile(committed('diff'))
    for (const diff of [diffHosts(on, off), diffHosts(on, acsOff), diffHosts(on, on)]) expect(validDiff(JSON.parse(JSON.stringify(diff))), ajv.errorsText(validDiff.errors)).toBe(true)
    expect(validDiff({...JSON.parse(JSON.stringify(diffHosts(on, off))), result: 'worse'})).toBe(false)
    const validFleet = ajv.compile(committed('fleet'))
    const fleet = JSON.parse(JSON.stringify(summariseFleet([on, off, acsOff]))) as {hosts: Array<Record<string, unknown>>}
    expect(validFleet(fleet), ajv.errorsText(validFleet.errors)).toBe(true)
    delete fleet.hosts[0]?.groupsSignature
    expect(validFleet(fleet)).toBe(false)
  })
})
