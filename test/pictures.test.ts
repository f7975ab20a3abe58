/**
 * The pictures, judged by the programs that draw them: `groups --format dot` by Graphviz's own
 * `dot`, `groups --format mermaid` by Mermaid's own renderer running in headless Chromium, and
 * `report --html` rendered by Chromium (screenshot decoded and looked at pixel by pixel, DOM read
 * back). Real lab snapshots throughout.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {PNG} from 'pngjs'
import {afterAll, afterEach, describe, expect, it, vi} from 'vitest'
import Groups from '../commands/groups.js'
import Report from '../commands/report.js'
import {topologyFromSysfs} from '../src/model/topology.js'
import {collectHost} from '../src/collect/index.js'
import {openRoot} from '../src/host/snapshot.js'
import {GROUP_COLOURS, nodeId, renderDot, renderMermaid, type TopologyPicture} from '../src/report/topology-picture.js'
import {chromium} from './support/chromium.js'
import {fixturesDir, repoRoot} from './support/paths.js'

const SNAPSHOTS = ['lab-pch-acs-less-root-ports', 'lab-switch', 'lab-pcie-pci-bridge', 'lab-sriov-nvme']
const work = mkdtempSync(path.join(os.tmpdir(), 'vtd-pictures-'))

async function stdoutOf(run: () => Promise<unknown>): Promise<string> {
  let out = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  try {
    await run()
    return out
  } finally {
    spy.mockRestore()
  }
}

/** Every PCI function of a snapshot, and its kernel IOMMU groups. */
function snapshotFacts(name: string): {bdfs: string[]; groups: number} {
  const host = collectHost(openRoot(path.join(fixturesDir, name)))
  const topology = topologyFromSysfs(host.pci)
  return {bdfs: [...topology.devices.keys()], groups: new Set([...topology.devices.values()].map((d) => d.iommuGroup).filter((g) => g !== undefined)).size}
}

afterEach(() => {
  process.exitCode = undefined
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

describe('groups --format dot, drawn by Graphviz', () => {
  for (const name of SNAPSHOTS) {
    it(`${name}: dot draws it without a warning, one box per function, one cluster per group`, async () => {
      const text = await stdoutOf(() => Groups.run(['--root', `sysfs-fixtures/${name}`, '--format', 'dot'], repoRoot))
      const dot = spawnSync('dot', ['-Tsvg'], {input: text, encoding: 'utf8'})
      expect(dot.stderr).toBe('')
      expect(dot.status).toBe(0)
      const out = dot.stdout
      const {bdfs, groups} = snapshotFacts(name)
      const titles = [...out.matchAll(/<title>([^<]+)<\/title>/g)].map((m) => m[1])
      for (const bdf of bdfs) expect(titles).toContain(nodeId(bdf))
      expect(titles.filter((t) => t?.startsWith('cluster_g'))).toHaveLength(groups)
    })
  }

  it('lab-pch-acs-less-root-ports: the four hops below the ACS-less root ports are red and say so', async () => {
    const text = await stdoutOf(() => Groups.run(['--root', 'sysfs-fixtures/lab-pch-acs-less-root-ports', '--format', 'dot'], repoRoot))
    for (const port of ['1c_0', '1c_1', '1c_2', '1c_3']) expect(text).toMatch(new RegExp(`d0000_00_${port} -> d0000_0\\d_00_0 \\[label="no ACS", color="#d62728"`))
  })
})

describe('groups --format mermaid, rendered by Mermaid in Chromium', () => {
  const mermaidJs = readFileSync(path.join(repoRoot, 'node_modules/mermaid/dist/mermaid.min.js'), 'utf8')

  /** Renders the diagram with mermaid.render() in a headless page; returns the DOM afterwards. */
  function renderInBrowser(diagram: string, file: string): string {
    const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><script>${mermaidJs.replaceAll('</script', '<\\/script')}</script></head><body><pre id="src">${diagram.replace(/[&<>]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;'})[c]!)}</pre><div id="out"></div><script>
mermaid.initialize({startOnLoad: false, securityLevel: 'strict'});
mermaid.render('diagram', document.getElementById('src').textContent)
  .then(({svg}) => { document.getElementById('out').innerHTML = svg; document.body.dataset.state = 'rendered' })
  .catch((e) => { document.body.dataset.state = 'error'; document.getElementById('out').textContent = String(e && e.message || e) });
</script></body></html>`
    writeFileSync(file, page)
    return chromium(['--virtual-time-budget=20000', '--dump-dom', `file://${file}`])
  }

  for (const name of ['lab-pch-acs-less-root-ports', 'lab-switch']) {
    it(`${name}: Mermaid parses and draws every function and every group`, async () => {
      const text = await stdoutOf(() => Groups.run(['--root', `sysfs-fixtures/${name}`, '--format', 'mermaid'], repoRoot))
      const dom = renderInBrowser(text, path.join(work, `${name}.mermaid.html`))
      const state = dom.match(/<body data-state="(\w+)"/)?.[1]
      expect(state, dom.match(/<div id="out">([^<]{0,300})/)?.[1]).toBe('rendered')
      const {bdfs, groups} = snapshotFacts(name)
      // Mermaid names each drawn node "<diagram>-flowchart-<id>-<n>" and each subgraph by its id.
      for (const bdf of bdfs) expect(dom).toMatch(new RegExp(`id="diagram-flowchart-${nodeId(bdf)}-\\d+"`))
      expect([...dom.matchAll(/<g class="cluster" id="diagram-g\d+"/g)]).toHaveLength(groups)
    })
  }
})

describe('report --html, rendered by Chromium', () => {
  const name = 'lab-pch-acs-less-root-ports'
  const file = path.join(work, 'report.html')

  it('writes one self-contained page: no script, nothing fetched from elsewhere', async () => {
    await stdoutOf(() => Report.run(['--root', `sysfs-fixtures/${name}`, '--html', file], repoRoot))
    const html = readFileSync(file, 'utf8')
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i)
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i)
  })

  it('the DOM Chromium builds lists every PCI function of the snapshot, with its group', () => {
    const dom = chromium(['--dump-dom', `file://${file}`])
    const listed = [...dom.matchAll(/<li data-bdf="([^"]+)">/g)].map((m) => m[1]).sort()
    expect(listed).toEqual(snapshotFacts(name).bdfs.sort())
    expect(dom).toContain('READY with')
    expect(dom).toMatch(/<span class="hop bad"[^>]*>no ACS<\/span>/)
  })

  it('the screenshot is not blank: text on a white page, every group colour painted', () => {
    const png = path.join(work, 'report.png')
    chromium(['--window-size=1280,1600', '--hide-scrollbars', `--screenshot=${png}`, `file://${file}`])
    const image = PNG.sync.read(readFileSync(png))
    expect([image.width, image.height]).toEqual([1280, 1600])
    const counts = new Map<number, number>()
    for (let i = 0; i < image.data.length; i += 4) {
      const rgb = (image.data[i]! << 16) | (image.data[i + 1]! << 8) | image.data[i + 2]!
      counts.set(rgb, (counts.get(rgb) ?? 0) + 1)
    }
    const pixels = image.width * image.height
    expect(counts.get(0xffffff) ?? 0).toBeLessThan(pixels * 0.97)
    const {groups} = snapshotFacts(name)
    for (const colour of GROUP_COLOURS.slice(0, groups)) expect(counts.get(Number.parseInt(colour.slice(1), 16)) ?? 0, colour).toBeGreaterThan(500)
  })
})

describe('the renderers keep hostile names inside their labels', () => {
  const picture: TopologyPicture = {
    source: 'hand-made', mode: 'kernel',
    roots: [{id: 'rpci0000_00', label: 'pci0000:00'}],
    nodes: [{id: nodeId('0000:00:01.0'), bdf: '0000:00:01.0', name: 'Vendor "Quoted" <b>#1\\', group: 1}],
    edges: [{from: 'rpci0000_00', to: nodeId('0000:00:01.0')}],
    groups: [{id: 1, colour: GROUP_COLOURS[0]!, members: ['0000:00:01.0'], caption: 'isolated'}],
  }

  it('mermaid: quotes, angle brackets and # as entities', () => {
    expect(renderMermaid(picture)).toContain('Vendor #quot;Quoted#quot; #lt;b#gt;#35;1\\')
  })

  it('dot: quotes and backslashes escaped, and dot reads it back intact', () => {
    const text = renderDot(picture)
    expect(text).toContain('Vendor \\"Quoted\\" <b>#1\\\\')
    const dot = spawnSync('dot', ['-Tsvg'], {input: text, encoding: 'utf8'})
    expect(dot.stderr).toBe('')
    expect(dot.stdout).toContain('>Vendor &quot;Quoted&quot; &lt;b&gt;#1\\</text>')
  })
})
