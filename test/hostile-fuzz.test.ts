/**
 * Fuzzing what an untrusted snapshot or paste feeds the tool (issue 16), with fast-check: the
 * lspci-dump parser, meta.json, a --tables description, and the guarded reader under --root
 * (random link trees in a temporary directory: nothing outside the root is ever read).
 */
import {execFileSync} from 'node:child_process'
import * as nodeFs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {formatHexDump, parseLspciDump} from '../src/decode/lspci-dump.js'
import {RootedHostFs} from '../src/host/fs.js'
import {notASnapshot, openRoot, parseSnapshotMeta} from '../src/host/snapshot.js'
import {buildFromDescription, MAX_DESCRIBED_PAGES} from '../src/replay/translation/describe.js'
import {removeScratch, scratchDir} from './support/scratch.js'

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')

describe('lspci-dump parser', () => {
  it('never throws on arbitrary text, and whatever it returns is well-formed', () => {
    const line = fc.oneof(
      fc.string({maxLength: 80}),
      fc.tuple(fc.nat(0xff), fc.nat(0x1f), fc.nat(7), fc.string({maxLength: 20})).map(([b, d, f, s]) => `${hex(b, 2)}:${hex(d, 2)}.${f} ${s}`),
      fc.tuple(fc.nat(0xfff), fc.array(fc.nat(0xff), {maxLength: 20}), fc.string({maxLength: 10})).map(([o, bytes, tail]) => `${hex(o, 2)}: ${bytes.map((b) => hex(b, 2)).join(' ')}${tail}`),
    )
    fc.assert(
      fc.property(fc.array(line, {maxLength: 60}), (lines) => {
        const dump = parseLspciDump(lines.join('\n'))
        for (const device of dump.devices) {
          expect(device.bdf).toMatch(/^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/)
          expect(device.config.length).toBeLessThanOrEqual(4096)
          expect(device.line).toBeGreaterThanOrEqual(1)
          expect(device.line).toBeLessThanOrEqual(lines.length)
        }
        for (const warning of dump.warnings) expect(typeof warning).toBe('string')
      }),
      {numRuns: 300},
    )
  })

  it('reads back every device lspci -xxxx would print, also with noise lines between the blocks', () => {
    const device = fc.record({
      bus: fc.nat(0xff), device: fc.nat(0x1f), fn: fc.nat(7),
      rows: fc.integer({min: 4, max: 16}),
      seed: fc.uint8Array({minLength: 256, maxLength: 256}),
    })
    const noise = fc.constantFrom('', 'pcilib: sysfs_read_vpd: read failed: Input/output error', '\tKernel driver in use: vfio-pci', '\tIOMMU group: 7', 'lspci: Unable to load libkmod resources: error -2')
    fc.assert(
      fc.property(fc.uniqueArray(device, {selector: (d) => `${d.bus}:${d.device}.${d.fn}`, minLength: 1, maxLength: 8}), fc.array(noise, {maxLength: 8}), (devices, noises) => {
        const blocks = devices.map((d, i) => {
          const bdf = `0000:${hex(d.bus, 2)}:${hex(d.device, 2)}.${d.fn}`
          return formatHexDump(bdf, 'Ethernet controller: Example', d.seed.subarray(0, d.rows * 16)) + (noises[i] ?? '') + '\n'
        })
        const dump = parseLspciDump(blocks.join('\n'))
        const got = new Map(dump.devices.map((d) => [d.bdf, d.config]))
        for (const d of devices) {
          const config = got.get(`0000:${hex(d.bus, 2)}:${hex(d.device, 2)}.${d.fn}`)
          expect(config).toBeDefined()
          expect([...config!]).toEqual([...d.seed.subarray(0, d.rows * 16)])
        }
        expect(dump.devices).toHaveLength(devices.length)
      }),
      {numRuns: 150},
    )
  })
})

describe('meta.json (a snapshot from anyone)', () => {
  const KNOWN = new Set(['toolVersion', 'capturedAt', 'hostname', 'tool', 'captureMethod', 'uid', 'unreadable'])
  const metaText = fc.oneof(
    fc.string({maxLength: 200}),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record(
      {
        tool: fc.oneof(fc.constant('vtd-check'), fc.jsonValue()),
        hostname: fc.oneof(fc.string({maxLength: 30}), fc.jsonValue()),
        uid: fc.oneof(fc.integer(), fc.jsonValue()),
        captureMethod: fc.oneof(fc.constantFrom('node', 'sh', 'other'), fc.jsonValue()),
        unreadable: fc.oneof(fc.array(fc.oneof(fc.string({maxLength: 30}), fc.constant('/sys/firmware/acpi/tables/DMAR'), fc.jsonValue()), {maxLength: 10}), fc.jsonValue()),
      },
      {requiredKeys: []},
    ).map((v) => JSON.stringify(v)),
  )

  it('parses to known fields of the right types only, never throwing', () => {
    fc.assert(
      fc.property(metaText, (text) => {
        const meta = parseSnapshotMeta(text)
        for (const key of Object.keys(meta)) expect(KNOWN).toContain(key)
        expect(Array.isArray(meta.unreadable)).toBe(true)
        for (const p of meta.unreadable) expect(typeof p === 'string' && p.startsWith('/')).toBe(true)
        for (const key of ['toolVersion', 'capturedAt', 'hostname'] as const) if (key in meta) expect(typeof meta[key]).toBe('string')
        if ('uid' in meta) expect(Number.isInteger(meta.uid)).toBe(true)
        if ('tool' in meta) expect(meta.tool).toBe('vtd-check')
      }),
      {numRuns: 500},
    )
  })

  it('a snapshot with such a meta.json opens, and only its listed paths read as unreadable', () => {
    const dir = scratchDir('vtd-meta-fuzz-')
    nodeFs.mkdirSync(path.join(dir, 'proc'))
    nodeFs.writeFileSync(path.join(dir, 'proc/cmdline'), 'quiet\n')
    fc.assert(
      fc.property(metaText, (text) => {
        nodeFs.writeFileSync(path.join(dir, 'meta.json'), text)
        const fs = openRoot(dir)
        const cmdline = fs.readText('/proc/cmdline')
        if (parseSnapshotMeta(text).unreadable.includes('/proc/cmdline')) expect(cmdline).toMatchObject({ok: false, reason: 'unreadable'})
        else expect(cmdline).toMatchObject({ok: true, value: 'quiet\n'})
      }),
      {numRuns: 200},
    )
  })
})

describe('replay --tables description', () => {
  const number = fc.oneof(fc.nat(), fc.bigInt({min: 0n, max: (1n << 64n) - 1n}).map((n) => `0x${n.toString(16)}`), fc.jsonValue())
  const description = fc.record(
    {
      unit: fc.oneof(fc.record({cap: fc.constantFrom('0xd2008c22260206', '0x0', '0xffffffffffffffff'), ecap: fc.constantFrom('0xf00f4a', '0x0', '0xffffffffffffffff'), haw: fc.oneof(fc.integer({min: 0, max: 64}), fc.jsonValue()), scalable: fc.boolean()}, {requiredKeys: ['cap', 'ecap']}), fc.jsonValue()),
      domains: fc.array(fc.record({name: fc.constantFrom('a', 'b'), stage: fc.constantFrom('first', 'second', 'x'), mappings: fc.array(fc.record({iova: number, hpa: number, size: fc.oneof(fc.constantFrom('0x1000', '0x200000', '0x40000000', 'nonsense'), fc.nat(0x100000)), write: fc.boolean()}, {requiredKeys: []}), {maxLength: 6})}, {requiredKeys: []}), {maxLength: 3}),
      devices: fc.array(fc.record({bdf: fc.constantFrom('0000:01:00.0', '01:00.0', 'nonsense'), domain: fc.constantFrom('a', 'b', 'c'), passThrough: fc.boolean(), pasids: fc.array(fc.record({pasid: number, domain: fc.constantFrom('a', 'b')}), {maxLength: 2})}, {requiredKeys: []}), {maxLength: 3}),
      pokes: fc.array(fc.record({address: number, value: number}, {requiredKeys: []}), {maxLength: 6}),
    },
    {requiredKeys: []},
  )

  // Sizes stay small here: one huge unaligned mapping takes seconds to reach the page cap (hostile-caps.test.ts has it).
  it('builds or returns errors naming JSON paths, never throwing, within the page cap', () => {
    fc.assert(
      fc.property(fc.oneof(description, fc.jsonValue()), (json) => {
        const built = buildFromDescription(json)
        if (!built.ok) {
          expect(built.errors.length).toBeGreaterThan(0)
          for (const error of built.errors) expect(error).toMatch(/^(top level|unit|domains|devices|pokes|the tables need)/)
        } else {
          for (const unit of built.context.units) expect((unit.memory as {pages: Map<number, unknown>}).pages.size).toBeLessThanOrEqual(MAX_DESCRIBED_PAGES)
        }
      }),
      {numRuns: 300},
    )
  })
})

describe('guarded reader: random link trees never lead outside the root', () => {
  const CANARY = 'OUTSIDE-CANARY-7f3a'
  const NAMES = ['a', 'b', 'c', 'sys', 'x']
  const hostPath = fc.array(fc.constantFrom(...NAMES), {minLength: 1, maxLength: 3}).map((parts) => '/' + parts.join('/'))
  /** Where a link points: outside (absolute or climbing), inside (absolute or relative), a loop, a device. */
  const target = fc.oneof(
    fc.constantFrom('OUTSIDE/secret', 'OUTSIDE', 'OUTSIDE/dir', '/dev/zero', '/etc/hostname', '/proc/self/environ', '.', '..'),
    fc.tuple(fc.integer({min: 1, max: 5}), fc.constantFrom('outside/secret', 'outside', 'outside/dir/file', 'a', 'sys')).map(([up, rest]) => '../'.repeat(up) + rest),
    hostPath.map((p) => `ROOT${p}`),
    hostPath.map((p) => p.slice(1)),
  )
  const entry = fc.record({at: hostPath, kind: fc.constantFrom('file', 'dir', 'link', 'link', 'link'), target})

  it('what is read is the content of a file whose real path lies in the root; the canary never comes back', () => {
    fc.assert(
      fc.property(fc.array(entry, {minLength: 1, maxLength: 14}), fc.array(hostPath, {maxLength: 6}), (entries, extra) => {
        const base = scratchDir('vtd-linktree-')
        try {
          const root = path.join(base, 'root')
          const outside = path.join(base, 'outside')
          nodeFs.mkdirSync(path.join(outside, 'dir'), {recursive: true})
          nodeFs.mkdirSync(root)
          nodeFs.writeFileSync(path.join(outside, 'secret'), CANARY)
          nodeFs.writeFileSync(path.join(outside, 'dir/file'), CANARY)
          for (const e of entries) {
            const at = path.join(root, e.at)
            try {
              nodeFs.mkdirSync(path.dirname(at), {recursive: true})
              if (e.kind === 'dir') nodeFs.mkdirSync(at)
              else if (e.kind === 'file') nodeFs.writeFileSync(at, `inside ${e.at}`)
              else nodeFs.symlinkSync(e.target.replace(/^OUTSIDE/, outside).replace(/^ROOT/, root), at)
            } catch {
              // a path already taken (or under a file): the tree is what could be built
            }
          }
          const realRoot = nodeFs.realpathSync(root)
          const fs = new RootedHostFs(root)
          const paths = [...new Set([...entries.map((e) => e.at), ...extra, ...entries.map((e) => `${e.at}/secret`), ...entries.map((e) => `${e.at}/../../secret`)])]
          for (const p of paths) {
            const text = fs.readText(p)
            if (text.ok) {
              expect(text.value).not.toContain(CANARY)
              // the file read is the one the path names, and it is in the root
              const real = nodeFs.realpathSync(path.join(root, path.posix.normalize('/' + p)))
              expect(real.startsWith(realRoot + path.sep)).toBe(true)
              expect(text.value).toBe(nodeFs.readFileSync(real, 'utf8'))
            }
            const listing = fs.listDir(p)
            if (listing.ok) expect(listing.value).not.toContain('secret')
            const link = fs.readLink(p)
            if (link.ok) expect(link.value.startsWith('/')).toBe(false)
            const real = fs.realPath(p)
            if (real.ok) expect(real.value.startsWith('/')).toBe(true)
          }
        } finally {
          removeScratch(base)
        }
      }),
      {numRuns: 60},
    )
  })

  it('a directory only counts as a snapshot through paths inside it (sys -> /sys does not)', () => {
    const base = scratchDir('vtd-notsnap-fuzz-')
    nodeFs.writeFileSync(path.join(base, 'elsewhere.json'), '{"tool": "vtd-check"}')
    for (const [name, target] of [['sys', '/sys'], ['proc', '/proc'], ['dmesg.txt', '/etc/hostname'], ['meta.json', '../elsewhere.json']] as const) {
      const dir = path.join(base, name.replace('.', '-'))
      nodeFs.mkdirSync(dir)
      nodeFs.symlinkSync(target, path.join(dir, name))
      expect(notASnapshot(dir)).toMatch(/has no sys\/ or proc\//)
    }
    const fifo = path.join(base, 'fifo')
    nodeFs.mkdirSync(fifo)
    execFileSync('mkfifo', [path.join(fifo, 'dmesg.txt')])
    expect(notASnapshot(fifo)).toMatch(/has no sys\/ or proc\//)
    const real = path.join(base, 'real')
    nodeFs.mkdirSync(path.join(real, 'sys'), {recursive: true})
    expect(notASnapshot(real)).toBeUndefined()
  })
})
