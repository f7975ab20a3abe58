/**
 * deploy/: the DaemonSet and the Helm chart validate against the Kubernetes API schemas of the
 * npm package kubernetes-models, and the container's entrypoint (run with sh against a committed
 * snapshot) writes what the textfile collector and NFD expect.
 */
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {Namespace} from 'kubernetes-models/v1/Namespace'
import {DaemonSet} from 'kubernetes-models/apps/v1/DaemonSet'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseAllDocuments, parse} from 'yaml'
import {factsAt} from './support/facts.js'
import {renderNfd} from '../src/report/nfd.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const deploy = path.join(repoRoot, 'deploy')
const chart = path.join(deploy, 'helm/vtd-check')
type Manifest = {apiVersion?: string; kind?: string; [key: string]: unknown}

const MODELS: Record<string, new (data: never) => {validate(): void}> = {
  'v1/Namespace': Namespace as never,
  'apps/v1/DaemonSet': DaemonSet as never,
}

function validate(doc: Manifest): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`]
  if (!Model) throw new Error(`no schema for ${doc.apiVersion}/${doc.kind}`)
  new Model(doc as never).validate()
}

function documents(text: string): Manifest[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('; '))
    return d.toJS() as Manifest
  })
}

/** The chart's templates use plain substitutions only; render those, refuse anything else (Helm is not packaged for us). */
function renderChart(template: string, release: {name: string; namespace: string}): string {
  const meta = parse(readFileSync(path.join(chart, 'Chart.yaml'), 'utf8')) as Record<string, unknown>
  const values = parse(readFileSync(path.join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>
  const scope: Record<string, unknown> = {Values: values, Chart: {Name: meta.name, AppVersion: meta.appVersion, Version: meta.version}, Release: {Name: release.name, Namespace: release.namespace}}
  return template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_, action: string) => {
    const match = /^\.([A-Za-z.]+)(\s*\|\s*quote)?$/.exec(action)
    if (!match) throw new Error(`template action the test cannot render: {{ ${action} }}`)
    let value: unknown = scope
    for (const key of (match[1] ?? '').split('.')) value = (value as Record<string, unknown> | undefined)?.[key]
    if (value === undefined) throw new Error(`{{ ${action} }} names no value`)
    return match[2] ? JSON.stringify(String(value)) : String(value)
  })
}

describe('deploy/daemonset.yaml', () => {
  const docs = documents(readFileSync(path.join(deploy, 'daemonset.yaml'), 'utf8'))

  it('every object validates against its Kubernetes schema', () => {
    expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'DaemonSet'])
    for (const doc of docs) validate(doc)
  })

  it('the schemas are a real judge: a broken DaemonSet is rejected', () => {
    const broken = structuredClone(docs[1]) as {spec: {selector?: unknown; template: {spec: {containers: Array<Record<string, unknown>>}}}}
    delete broken.spec.selector
    expect(() => validate(broken as Manifest)).toThrow(/selector/)
    const wrongType = structuredClone(docs[1]) as {spec: {template: {spec: {containers: Array<Record<string, unknown>>}}}}
    ;(wrongType.spec.template.spec.containers[0] as Record<string, unknown>).ports = [{containerPort: 'http'}]
    expect(() => validate(wrongType as Manifest)).toThrow(/integer/)
  })

  it('mounts the host read-only and writes only the two output directories', () => {
    const spec = (docs[1] as {spec: {template: {spec: {containers: Array<{volumeMounts: Array<{mountPath: string; readOnly?: boolean}>; securityContext: {readOnlyRootFilesystem: boolean; capabilities: {add: string[]}}}>}}}}).spec.template.spec
    const mounts = spec.containers[0]?.volumeMounts ?? []
    expect(mounts.filter((m) => !m.readOnly).map((m) => m.mountPath).sort()).toEqual(['/features.d', '/textfile'])
    expect(mounts.filter((m) => m.readOnly).map((m) => m.mountPath).sort()).toEqual(['/host/proc', '/host/sys'])
    expect(spec.containers[0]?.securityContext.readOnlyRootFilesystem).toBe(true)
    expect(spec.containers[0]?.securityContext.capabilities.add).toEqual(['SYS_ADMIN'])
  })
})

describe('deploy/helm/vtd-check', () => {
  it('every template renders with values.yaml into objects that validate, matching the static DaemonSet', () => {
    const templates = readdirSync(path.join(chart, 'templates')).filter((f) => f.endsWith('.yaml'))
    expect(templates.length).toBeGreaterThan(0)
    const rendered = templates.flatMap((f) => documents(renderChart(readFileSync(path.join(chart, 'templates', f), 'utf8'), {name: 'vtd-check', namespace: 'vtd-check'})))
    for (const doc of rendered) validate(doc)
    const fromChart = rendered.find((d) => d.kind === 'DaemonSet') as {spec: {template: {spec: unknown}}}
    const fromStatic = documents(readFileSync(path.join(deploy, 'daemonset.yaml'), 'utf8')).find((d) => d.kind === 'DaemonSet') as {spec: {template: {spec: unknown}}}
    // Same pod with the default values (the chart only parameterises it).
    expect(fromChart.spec.template.spec).toEqual(fromStatic.spec.template.spec)
  })

  it('the renderer refuses template logic it does not implement', () => {
    expect(() => renderChart('{{ if .Values.x }}a{{ end }}', {name: 'a', namespace: 'b'})).toThrow(/cannot render/)
  })
})

describe('deploy/run-periodically.sh (the container entrypoint) under sh', () => {
  let work = ''
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'vtd-check-deploy-'))
    mkdirSync(path.join(work, 'bin'))
    mkdirSync(path.join(work, 'textfile'))
    mkdirSync(path.join(work, 'features.d'))
    // What `npm install --global` puts on PATH in the image.
    writeFileSync(path.join(work, 'bin/vtd-check'), `#!/bin/sh\nexec node ${JSON.stringify(path.join(repoRoot, 'bin/run.js'))} "$@"\n`)
    chmodSync(path.join(work, 'bin/vtd-check'), 0o755)
  })
  afterAll(() => rmSync(work, {recursive: true, force: true}))

  it('writes vtd-check.prom (promtool accepts it) and the NFD file for the mounted host', async () => {
    const root = path.join(fixturesDir, 'lab-iommu-on')
    const loop = execa('sh', [path.join(deploy, 'run-periodically.sh')], {
      env: {PATH: `${path.join(work, 'bin')}:${process.env.PATH ?? ''}`, VTD_CHECK_ROOT: root, VTD_CHECK_INTERVAL: '60', VTD_CHECK_TEXTFILE_DIR: path.join(work, 'textfile'), VTD_CHECK_FEATURES_DIR: path.join(work, 'features.d')},
      reject: false,
    })
    try {
      const features = path.join(work, 'features.d/vtd-check')
      for (let i = 0; i < 300 && readdirSync(path.join(work, 'features.d')).filter((f) => f === 'vtd-check').length === 0; i++) await new Promise((r) => setTimeout(r, 100))
      expect(readdirSync(path.join(work, 'textfile'))).toEqual(['vtd-check.prom'])
      const written = readFileSync(features, 'utf8')
      // Labels expire after three rounds (3 × 60 s) unless rewritten.
      const expiry = /^# \+expiry-time=(\S+)$/m.exec(written)?.[1]
      expect(Math.abs(Date.parse(expiry ?? '') - (Date.now() + 180_000))).toBeLessThan(60_000)
      const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string
      expect(written.replace(/^# \+expiry-time=.*\n/m, '')).toBe(renderNfd(await factsAt(root), version))
      const lint = await execa('promtool', ['check', 'metrics'], {input: readFileSync(path.join(work, 'textfile/vtd-check.prom'), 'utf8'), reject: false})
      expect(lint.exitCode, `${lint.stdout}${lint.stderr}`).toBe(0)
      expect(readFileSync(path.join(work, 'textfile/vtd-check.prom'), 'utf8')).toMatch(/^vtd_check_iommu_active 1$/m)
    } finally {
      loop.kill()
      await loop
    }
  }, 40_000)
})
