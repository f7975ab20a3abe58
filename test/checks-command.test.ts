/**
 * `vtd-check check` end to end through oclif, the JSON contract (schema/check.schema.json is
 * generated from src/report/check.ts and must be committed up to date), and exit codes.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Check from '../commands/check.js'
import type {CheckReport} from '../src/report/check.js'
// @ts-expect-error plain ESM script without type declarations
import {generateCheckSchema, renderSchema, SCHEMA_PATH} from '../scripts/gen-schema.mjs'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

const output = captureCommandOutput()

const run = (args: string[]): Promise<CheckReport> => Check.run(args, repoRoot) as Promise<CheckReport>
const fixture = (name: string) => path.join(fixturesDir, name)

type Schema = {type?: string; const?: unknown; enum?: unknown[]; properties?: Record<string, Schema>; required?: string[]; additionalProperties?: boolean; items?: Schema; anyOf?: Schema[]}

/** Just enough JSON Schema (the keywords gen-schema emits) to hold real output against the contract. */
function violations(value: unknown, schema: Schema, at = '$'): string[] {
  if (schema.anyOf) return schema.anyOf.some((s) => violations(value, s, at).length === 0) ? [] : [`${at}: matches no anyOf branch`]
  if (schema.const !== undefined && value !== schema.const) return [`${at}: expected ${String(schema.const)}`]
  if (schema.enum && !schema.enum.includes(value)) return [`${at}: ${String(value)} not in enum`]
  switch (schema.type) {
    case 'string':
      return typeof value === 'string' ? [] : [`${at}: not a string`]
    case 'number':
    case 'integer':
      return typeof value === 'number' ? [] : [`${at}: not a number`]
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: not a boolean`]
    case 'array':
      return Array.isArray(value) ? value.flatMap((v, i) => violations(v, schema.items ?? {}, `${at}[${i}]`)) : [`${at}: not an array`]
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: not an object`]
      const record = value as Record<string, unknown>
      const out = (schema.required ?? []).filter((k) => !(k in record)).map((k) => `${at}.${k}: missing`)
      for (const [k, v] of Object.entries(record)) {
        const sub = schema.properties?.[k]
        if (!sub) out.push(...(schema.additionalProperties === false ? [`${at}.${k}: not in the schema`] : []))
        else out.push(...violations(v, sub, `${at}.${k}`))
      }
      return out
    }
    default:
      return []
  }
}

describe('the JSON contract', () => {
  it('schema/check.schema.json is what scripts/gen-schema.mjs generates (run it after changing CheckReport)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(renderSchema(generateCheckSchema()))
  })

  it('real output validates against the committed schema, and the schema rejects a broken document', async () => {
    const schema = JSON.parse(readFileSync(path.join(repoRoot, 'schema/check.schema.json'), 'utf8')) as Schema
    for (const [name, devices] of [['lab-vfio-pci', []], ['lab-iommu-off', ['--device', '0000:02:00.0']], ['dev-vm-no-iommu-nonroot', []]] as const) {
      const report = await run(['--root', fixture(name), '--json', ...devices])
      expect(violations(JSON.parse(JSON.stringify(report)), schema), name).toEqual([])
    }
    const report = await run(['--root', fixture('lab-vfio-pci'), '--json'])
    const broken = {...JSON.parse(JSON.stringify(report)), results: [{id: 'x', outcome: 'maybe'}]}
    expect(violations(broken, schema).length).toBeGreaterThan(0)
  })
})

describe('vtd-check check', () => {
  it('--root dev-vm-no-iommu: "no IOMMU" verdict, exit 1; the table shows the failing evidence', async () => {
    const report = await run(['--root', fixture('dev-vm-no-iommu')])
    expect(process.exitCode).toBe(1)
    expect(report.verdict.headline).toMatch(/^NOT READY — no IOMMU/)
    expect(output.stdout).toContain('vtd-check: NOT READY — no IOMMU')
    expect(output.stdout).toContain('platform.dma-remapping')
    expect(output.stdout).toContain('no /sys/class/iommu entries')
    // Without an IOMMU, VFIO does not "still work" for user-space drivers: nothing may say it does.
    expect(report.results.find((r) => r.id === 'platform.cpu-virtualization')?.summary).toBe('no vmx/svm CPU flag: KVM cannot start guests here')
    expect(output.stdout).not.toMatch(/VFIO[^\n]*still works/)
    // not-applicable rows are hidden by default and counted in the footer
    expect(output.stdout).not.toContain('platform.scalable-mode')
    expect(output.stdout).toMatch(/\d+ not applicable \(hidden\)/)
  })

  it('--json: envelope with schemaVersion, host, verdict, results sorted by id', async () => {
    const report = await run(['--root', fixture('lab-iommu-on'), '--json'])
    expect(report.schemaVersion).toBe(1)
    expect(report.host).toMatchObject({iommu: 'intel', kernel: '6.1.0-56-amd64', virtualized: true, logReadable: true})
    const ids = report.results.map((r) => r.id)
    expect(ids).toEqual([...ids].sort())
    expect(process.exitCode).toBe(0)
    // only the JSON goes to output.stdout
    expect(JSON.parse(output.stdout).schemaVersion).toBe(1)
  })

  it('non-root capture: still "no IOMMU" (needs no root), exit 1, never a stack trace', async () => {
    const report = await run(['--root', fixture('dev-vm-no-iommu-nonroot'), '--json'])
    expect(report.host.logReadable).toBe(false)
    expect(report.verdict.exitCode).toBe(1)
  })

  it('--device adds per-device results and a plan; an unknown BDF is a usage error (exit 2)', async () => {
    const report = await run(['--root', fixture('lab-pch-acs-less-root-ports'), '--device', '01:00.0', '--json'])
    expect(report.results.filter((r) => r.subject === '0000:01:00.0').map((r) => r.id)).toEqual([
      'device.driver', 'device.host-critical', 'device.isolation', 'device.reset', 'device.rmrr', 'device.vfio-nodes',
    ])
    expect(report.plans.map((p) => p.device)).toEqual(['0000:01:00.0'])
    await expect(run(['--root', fixture('lab-pch-acs-less-root-ports'), '--device', '0000:09:00.0'])).rejects.toMatchObject({oclif: {exit: 2}})
    await expect(run(['--root', fixture('lab-pch-acs-less-root-ports'), '--device', 'not-a-bdf'])).rejects.toMatchObject({oclif: {exit: 2}})
  })

  it('capture of a snapshot + check --root of the copy gives the same results', async () => {
    const {openRoot, writeSnapshot} = await import('../src/host/snapshot.js')
    const {readKernelLog} = await import('../src/host/kernel-log.js')
    const source = openRoot(fixture('lab-pcie-pci-bridge'))
    const out = scratchDir('vtd-check-recapture-')
    writeSnapshot(source, await readKernelLog(source), out, 'test')
    const a = await run(['--root', fixture('lab-pcie-pci-bridge'), '--json', '--device', '0000:02:01.0'])
    const b = await run(['--root', out, '--json', '--device', '0000:02:01.0'])
    expect(b.results).toEqual(a.results)
  })
})
