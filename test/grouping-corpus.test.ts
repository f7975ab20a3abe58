/**
 * The real-hardware corpus (#17): every machine's lspci -vvv with the kernel's own groups. The
 * "IOMMU group:" lines are the answer, so they are stripped from the input before the replay; the
 * predicted partition must equal the kernel's, or the miss must be listed in misses.json with the
 * kernel or firmware input the snapshot lacks. Prints the score.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeGroupListing, decodeLspciVerbose} from '../src/decode/lspci-verbose.js'
import {replayGrouping} from '../src/replay/grouping.js'

const root = path.resolve(import.meta.dirname, '..')
const corpusDir = path.join(root, 'test/fixtures/groups/real')
const sharedDir = path.join(root, 'test/fixtures/real/pci')

interface Machine {
  name: string
  /** lspci -vvv text (may carry the answer in "IOMMU group:" lines). */
  lspci: string
  /** The kernel's groups: bdf → group number. */
  answer: Map<string, number>
  kernel?: string
}

const GROUP_LINE = /^\s*IOMMU group: (\d+)\s*$/
const HEADING = /^(?:([0-9a-f]{4,8}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])\s/i

/** The answer from the "IOMMU group:" lines, and the text without them. */
export function splitAnswer(text: string): {input: string; answer: Map<string, number>} {
  const answer = new Map<string, number>()
  const kept: string[] = []
  let current: string | undefined
  for (const line of text.split('\n')) {
    const heading = HEADING.exec(line)
    if (heading) current = `${heading[1] ?? '0000'}:${heading[2]}:${heading[3]}.${heading[4]}`.toLowerCase()
    const group = GROUP_LINE.exec(line)
    // lspci -v without -vv prints it inside the Flags line: "Flags: bus master, fast devsel, latency 0, IOMMU group 3".
    const inFlags = /^(\s*Flags: .*?)(?:, )?IOMMU group (\d+)(.*)$/.exec(line)
    if (group && current) answer.set(current, Number(group[1]))
    else if (inFlags && current) {
      answer.set(current, Number(inFlags[2]))
      kept.push(`${inFlags[1]}${inFlags[3]}`)
    } else kept.push(line)
  }
  return {input: kept.join('\n'), answer}
}

function loadMachines(): Machine[] {
  const machines: Machine[] = []
  for (const name of readdirSync(corpusDir).sort()) {
    const file = path.join(corpusDir, name, 'lspci-vvv.txt')
    if (!existsSync(file)) continue
    const text = readFileSync(file, 'utf8')
    const source = JSON.parse(readFileSync(path.join(corpusDir, name, 'source.json'), 'utf8')) as {kernel?: string}
    machines.push({name, lspci: text, answer: splitAnswer(text).answer, ...(source.kernel ? {kernel: source.kernel} : {})})
  }
  // The 17 listings already in the shared real set (lspci -v/-vv/-vvv + a group listing of the same boot).
  for (const f of readdirSync(sharedDir).sort()) {
    const host = /^(.*)-lspci-vvv\.txt$/.exec(f)?.[1]
    if (!host || !existsSync(path.join(sharedDir, `${host}-iommu-groups.txt`))) continue
    const listing = decodeGroupListing(readFileSync(path.join(sharedDir, `${host}-iommu-groups.txt`), 'utf8'))
    machines.push({name: `shared/${host}`, lspci: readFileSync(path.join(sharedDir, f), 'utf8'), answer: new Map(listing.map((e) => [e.bdf, e.group]))})
  }
  return machines
}

/** A partition as sorted member lists, restricted to the devices the kernel listed. */
function partition(groupOf: Map<string, number>, only: Set<string>): string[][] {
  const byId = new Map<number, string[]>()
  for (const [bdf, id] of groupOf) if (only.has(bdf)) byId.set(id, [...(byId.get(id) ?? []), bdf])
  return [...byId.values()].map((g) => g.sort()).sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''))
}

export function predictMachine(m: Machine): {exact: boolean; predicted: string[][]; actual: string[][]} {
  const {input} = splitAnswer(m.lspci)
  const {topology} = decodeLspciVerbose(input)
  const prediction = replayGrouping(topology, m.kernel ? {kernelVersion: m.kernel} : {})
  const listed = new Set(m.answer.keys())
  const predicted = partition(prediction.groupOf, listed)
  const actual = partition(m.answer, listed)
  return {exact: JSON.stringify(predicted) === JSON.stringify(actual), predicted, actual}
}

const misses = JSON.parse(readFileSync(path.join(corpusDir, 'misses.json'), 'utf8')) as Record<string, {lacks: string; detail: string}>
const machines = loadMachines()

/** What has been gathered so far (issue #17 asks for 40; test/fixtures/groups/real/SOURCES.md lists them). */
const MIN_MACHINES = 40

describe('real-hardware corpus: replay vs the kernel\'s own groups', () => {
  it(`holds at least ${MIN_MACHINES} machines, every one with a group answer`, () => {
    expect(machines.length).toBeGreaterThanOrEqual(MIN_MACHINES)
    for (const m of machines) expect(m.answer.size, m.name).toBeGreaterThan(0)
  })
  it('the input handed to the replay carries no group lines', () => {
    for (const m of machines) {
      const {topology} = decodeLspciVerbose(splitAnswer(m.lspci).input)
      expect([...topology.devices.values()].filter((d) => d.iommuGroup !== undefined), m.name).toEqual([])
    }
  })
  const results = machines.map((m) => ({m, r: predictMachine(m)}))
  for (const {m, r} of results) {
    it(m.name, () => {
      const miss = misses[m.name]
      if (miss) {
        // A listed miss must really miss, and name what the snapshot lacks.
        expect(r.exact, `${m.name} is predicted exactly now: remove it from misses.json`).toBe(false)
        expect(miss.lacks.length).toBeGreaterThan(0)
      } else {
        expect(r.predicted).toEqual(r.actual)
      }
    })
  }
  it('score', () => {
    const exact = results.filter(({r}) => r.exact).length
    console.log(`grouping corpus: ${exact}/${results.length} machines predicted exactly; misses: ${Object.keys(misses).join(', ') || 'none'}`)
    expect(exact + Object.keys(misses).length).toBe(results.length)
  })
})
