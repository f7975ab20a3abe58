/**
 * `check --format prometheus` and `--format nfd` against the engines that consume them: the real
 * `promtool check metrics` (Debian `prometheus`), the real node_exporter textfile collector
 * (Debian `prometheus-node-exporter`) serving the file on loopback, and Kubernetes label syntax
 * (the rules of k8s.io/apimachinery validation, written out below independently of the renderer).
 * scripts/setup.sh installs both Debian packages; a missing binary fails with how to get it.
 */
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import Check from '../commands/check.js'
import {factsAt} from './support/facts.js'
import type {HostFacts} from '../src/compare/facts.js'
import {nfdLabels, renderNfd} from '../src/report/nfd.js'
import {renderPrometheus} from '../src/report/prometheus.js'
import {captureCommandOutput} from './support/command-output.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const output = captureCommandOutput()
const snapshots = readdirSync(fixturesDir).filter((n) => !n.startsWith('.')).sort()
const facts = new Map<string, HostFacts>()
beforeAll(async () => {
  for (const name of snapshots) facts.set(name, await factsAt(path.join(fixturesDir, name)))
})
const factsOf = (name: string): HostFacts => {
  const f = facts.get(name)
  if (!f) throw new Error(`no facts for ${name}`)
  return f
}

async function requireBinary(name: string, pkg: string): Promise<void> {
  const found = await execa('sh', ['-c', `command -v ${name}`], {reject: false})
  if (found.exitCode !== 0) throw new Error(`${name} is not installed: run scripts/setup.sh as root (apt-get install ${pkg})`)
}

/** Sample lines as "name{labels}" → value, for the vtd_check_ families; labels sorted (node_exporter sorts them). */
function samples(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (!line.startsWith('vtd_check_')) continue
    const at = line.lastIndexOf(' ')
    const series = line.slice(0, at)
    const brace = series.indexOf('{')
    const key = brace < 0 ? series : `${series.slice(0, brace)}{${[...series.slice(brace + 1, -1).matchAll(/[a-z_]+="(?:[^"\\]|\\.)*"/g)].map((m) => m[0]).sort().join(',')}}`
    out.set(key, line.slice(at + 1))
  }
  return out
}

describe('prometheus: the real promtool accepts the metrics of every committed snapshot', () => {
  beforeAll(() => requireBinary('promtool', 'prometheus'))
  it.each(snapshots)('%s', async (name) => {
    const text = renderPrometheus(factsOf(name), '0.1.0')
    const lint = await execa('promtool', ['check', 'metrics'], {input: text, reject: false})
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe('')
    expect(lint.exitCode).toBe(0)
  })

  it('promtool is a real judge: it rejects a broken exposition', async () => {
    const lint = await execa('promtool', ['check', 'metrics'], {input: '# TYPE vtd_check_x counter\nvtd_check_x{a="b} 1\n', reject: false})
    expect(lint.exitCode).not.toBe(0)
  })
})

describe('prometheus: what the metrics say', () => {
  it('lab-iommu-on: active remapping, 7 groups, one DMA fault of reason 0x06, info with the kernel', () => {
    const s = samples(renderPrometheus(factsOf('lab-iommu-on'), '9.9.9'))
    expect(s.get('vtd_check_info{iommu="intel",kernel="6.1.0-56-amd64",version="9.9.9"}')).toBe('1')
    expect(s.get('vtd_check_iommu_active')).toBe('1')
    expect(s.get('vtd_check_interrupt_remapping_active')).toBe('1')
    expect(s.get('vtd_check_iommu_groups')).toBe('7')
    expect(s.get('vtd_check_faults_in_log{kind="dma",reason="0x06"}')).toBe('1')
    expect(s.get('vtd_check_check_outcome{check="platform.dma-remapping",outcome="pass"}')).toBe('1')
    expect(s.get('vtd_check_passthrough_ready_devices{class="network"}')).toBe('1')
  })

  it('lab-acs-off: the merged group is counted as shared and its endpoints are not passthrough-ready', () => {
    const s = samples(renderPrometheus(factsOf('lab-acs-off'), '0.1.0'))
    expect(s.get('vtd_check_iommu_groups_shared')).toBe('1')
    expect(s.get('vtd_check_passthrough_ready_devices{class="network"}')).toBe('0')
    expect(s.get('vtd_check_pci_endpoints{class="network"}')).toBe('1')
  })

  it('non-root snapshot: what could not be read is NaN, not a guessed 0', () => {
    const s = samples(renderPrometheus(factsOf('dev-vm-no-iommu-nonroot'), '0.1.0'))
    expect(s.get('vtd_check_kernel_log_readable')).toBe('0')
    expect(s.get('vtd_check_ready')).toBe('0')
  })

  it('label cardinality is bounded: the same families and series count on every snapshot, except faults by reason', () => {
    const shape = (name: string) => [...samples(renderPrometheus(factsOf(name), '0.1.0')).keys()].filter((k) => !k.startsWith('vtd_check_faults_in_log') && !k.startsWith('vtd_check_info')).length
    const counts = new Set(snapshots.map(shape))
    expect(counts.size).toBe(1)
    // Fault series are keyed by reason code only (never by address or requester), so a flood of faults adds no series.
    const flood = [...samples(renderPrometheus(factsOf('lab-fault-flood'), '0.1.0')).keys()].filter((k) => k.startsWith('vtd_check_faults_in_log'))
    expect(flood.length).toBeLessThanOrEqual(4)
    expect(flood.every((k) => /^vtd_check_faults_in_log\{kind="(dma|interrupt)",reason="(0x[0-9a-f]{2}|unknown)"\}$/.test(k))).toBe(true)
  })

  it('the command prints the same exposition and keeps the verdict exit code', async () => {
    await Check.run(['--root', path.join(fixturesDir, 'lab-iommu-off'), '--format', 'prometheus'], repoRoot)
    expect(output.stdout).toBe(renderPrometheus(factsOf('lab-iommu-off'), '0.1.0'))
    expect(process.exitCode).toBe(1)
  })

  it('--format with --device is a usage error (the formats describe the whole host)', async () => {
    await expect(Check.run(['--root', path.join(fixturesDir, 'lab-iommu-on'), '--format', 'nfd', '--device', '01:00.0'], repoRoot)).rejects.toMatchObject({oclif: {exit: 2}})
  })

  it('--format with --json is refused as a flag conflict (exit 2 in the error document)', async () => {
    await Check.run(['--root', path.join(fixturesDir, 'lab-iommu-on'), '--format', 'prometheus', '--json'], repoRoot).catch(() => undefined)
    expect(output.stdout).toMatch(/--format=prometheus cannot also be provided when using --json|cannot also be provided/)
    expect(output.stdout).toMatch(/"exitCode": 2/)
  })
})

describe('prometheus: served by the real node_exporter textfile collector on loopback', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vtd-check-textfile-'))
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  const freePort = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const server = createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
      })
    })

  it('scraping /metrics returns every vtd_check_ sample of the file, without a textfile error', async () => {
    await requireBinary('prometheus-node-exporter', 'prometheus-node-exporter')
    const text = renderPrometheus(factsOf('lab-iommu-on'), '0.1.0')
    writeFileSync(path.join(dir, 'vtd-check.prom'), text)
    const port = await freePort()
    const exporter = execa('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults', '--collector.textfile', `--collector.textfile.directory=${dir}`], {reject: false})
    try {
      let body = ''
      for (let attempt = 0; attempt < 100 && body === ''; attempt++) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/metrics`)
          if (response.ok) body = await response.text()
        } catch {
          await new Promise((r) => setTimeout(r, 100))
        }
      }
      expect(body, 'node_exporter did not answer on /metrics within 10 s').not.toBe('')
      expect(body).toMatch(/^node_textfile_scrape_error 0$/m)
      const served = samples(body)
      const written = samples(text)
      expect(written.size).toBeGreaterThan(20)
      for (const [series, value] of written) expect(served.get(series), series).toBe(value)
    } finally {
      exporter.kill()
      await exporter
    }
  }, 20_000)
})

// Kubernetes label syntax (k8s.io/apimachinery/pkg/util/validation): a qualified name is an
// optional DNS-1123 subdomain prefix (≤253) and "/", then a name of ≤63 characters that starts
// and ends alphanumeric with [-_.A-Za-z0-9] between; a value is empty or the same shape, ≤63.
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
function labelNameErrors(name: string): string[] {
  const slash = name.indexOf('/')
  const [prefix, part] = slash < 0 ? [undefined, name] : [name.slice(0, slash), name.slice(slash + 1)]
  const errors: string[] = []
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) errors.push(`prefix "${prefix}" is not a DNS-1123 subdomain`)
  if (part.length === 0 || part.length > 63) errors.push(`name "${part}" must be 1-63 characters`)
  if (!NAME_PART.test(part)) errors.push(`name "${part}" has characters or ends a label name may not`)
  return errors
}
function labelValueErrors(value: string): string[] {
  if (value === '') return []
  return value.length > 63 || !NAME_PART.test(value) ? [`value "${value}" is not a valid label value`] : []
}
/**
 * NFD's own rules on top (customization guide, "Local feature source" and "Node labels"): a label
 * name carries a namespace; kubernetes.io and its subdomains are refused except
 * feature.node.kubernetes.io and profile.node.kubernetes.io (and theirs).
 */
function nfdNamespaceErrors(name: string): string[] {
  const slash = name.indexOf('/')
  if (slash < 0) return [`"${name}" has no namespace (NFD's auto-prefix is deprecated)`]
  const ns = name.slice(0, slash)
  const allowed = /(^|\.)(feature|profile)\.node\.kubernetes\.io$/.test(ns)
  return /(^|\.)kubernetes\.io$/.test(ns) && !allowed ? [`namespace ${ns} is reserved`] : []
}

describe('nfd: a features.d file whose labels Kubernetes accepts', () => {
  it('the validator is a real judge', () => {
    expect(labelNameErrors('feature.node.kubernetes.io/vtd-check.ready')).toEqual([])
    expect(labelNameErrors('feature.node.kubernetes.io/vtd-check.ready-')).not.toEqual([])
    expect(labelNameErrors('Feature.io/x')).not.toEqual([])
    expect(labelValueErrors('0x06 fault')).not.toEqual([])
    expect(labelValueErrors('a'.repeat(64))).not.toEqual([])
    expect(nfdNamespaceErrors('vtd-check.ready')).not.toEqual([])
    expect(nfdNamespaceErrors('node.kubernetes.io/vtd-check.ready')).not.toEqual([])
    expect(nfdNamespaceErrors('sub.feature.node.kubernetes.io/x')).toEqual([])
  })

  it.each(snapshots)('%s: every line is name=value with a valid node label name and value', (name) => {
    const text = renderNfd(factsOf(name), '0.1.0', {expiresAt: new Date('2030-01-02T03:04:05.678Z')})
    // NFD parses the directive with Go's time.RFC3339.
    expect(text.split('\n').filter((l) => l.startsWith('# +'))).toEqual(['# +expiry-time=2030-01-02T03:04:05Z'])
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
    expect(lines.length).toBeGreaterThanOrEqual(3)
    for (const line of lines) {
      const eq = line.indexOf('=')
      expect(eq, line).toBeGreaterThan(0)
      expect(labelNameErrors(line.slice(0, eq)), line).toEqual([])
      expect(nfdNamespaceErrors(line.slice(0, eq)), line).toEqual([])
      expect(labelValueErrors(line.slice(eq + 1)), line).toEqual([])
    }
  })

  it('lab-iommu-on is labelled ready; lab-iommu-off is not; lab-acs-off counts no isolated NIC', () => {
    const labels = (name: string) => Object.fromEntries(nfdLabels(factsOf(name)).map(([k, v]) => [k.replace('feature.node.kubernetes.io/', ''), v]))
    expect(labels('lab-iommu-on')).toMatchObject({'vtd-check.iommu': 'true', 'vtd-check.ready': 'true', 'vtd-check.interrupt-remapping': 'true', 'vtd-check.isolated-nics': '1'})
    expect(labels('lab-iommu-off')).toMatchObject({'vtd-check.iommu': 'false', 'vtd-check.ready': 'false', 'vtd-check.verdict': 'fail'})
    expect(labels('lab-iommu-off')['vtd-check.isolated-gpus']).toBeUndefined()
    expect(labels('lab-acs-off')).toMatchObject({'vtd-check.shared-groups': '1', 'vtd-check.isolated-nics': '0'})
    expect(labels('lab-scalable-mode')['vtd-check.scalable-mode']).toBeDefined()
  })
})

describe('nfd: expiry', () => {
  it('--nfd-expiry writes an RFC 3339 expiry that many seconds ahead; it is refused without --format nfd', async () => {
    const before = Date.now()
    await Check.run(['--root', path.join(fixturesDir, 'lab-iommu-on'), '--format', 'nfd', '--nfd-expiry', '900'], repoRoot)
    const expiry = /^# \+expiry-time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/m.exec(output.stdout)?.[1]
    expect(Date.parse(expiry ?? '') - before).toBeGreaterThan(898_000)
    expect(Date.parse(expiry ?? '') - Date.now()).toBeLessThanOrEqual(900_000)
    await expect(Check.run(['--root', path.join(fixturesDir, 'lab-iommu-on'), '--format', 'prometheus', '--nfd-expiry', '900'], repoRoot)).rejects.toMatchObject({oclif: {exit: 2}})
  })
})
