/**
 * decodeIort on tables built byte by byte from the Arm IORT spec (DEN 0049) layouts — the node
 * kinds the real corpus lacks (PMCG, RMR) and broken input —, the RID → StreamID mapping held to
 * what the real kernel and QEMU's SMMUv3 reported in the lab (sysfs-fixtures/lab-smmuv3), lintIort,
 * and `vtd-check iort` end to end through oclif.
 */
import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import Iort from '../commands/iort.js'
import {lintIort} from '../src/checks/iort-lint.js'
import {collectHost} from '../src/collect/index.js'
import {acpiTableFromFile} from '../src/decode/acpi-table.js'
import {decodeIort, mapId, ridToStreamId, type IortTable} from '../src/decode/iort.js'
import {openRoot} from '../src/host/snapshot.js'
import {buildHostModel} from '../src/model/host.js'
import {smmuStreamIds} from '../src/replay/smmu-stream-ids.js'
import type {IortReport} from '../src/report/iort.js'
import {le} from './helpers/dmar-build.js'
import {acpidumpText} from './helpers/dmar-dsl.js'
import {captureCommandOutput} from './support/command-output.js'
import {realData, repoRoot} from './support/paths.js'
import {scratchDir} from './support/scratch.js'

// ---------------------------------------------------------------------------------------------
// A small builder, independent of src/decode/iort.ts

const ascii = (text: string, size: number): number[] => Array.from({length: size}, (_, i) => text.charCodeAt(i) || 0)
const mapping = (input: number, count: number, output: number, ref: number, flags = 0): number[] => [...le(input, 4), ...le(count, 4), ...le(output, 4), ...le(ref, 4), ...le(flags, 4)]
/** Node header: type, length, revision, identifier, mapping count, mapping offset. */
const header = (type: number, length: number, revision: number, id: number, maps: number, mapOffset: number): number[] => [type, ...le(length, 2), revision, ...le(id, 4), ...le(maps, 4), ...le(mapOffset, 4)]

const its = (): number[] => [...header(0, 24, 1, 0, 0, 0), ...le(1, 4), ...le(0, 4)]
function smmuV3(maps: number[][]): number[] {
  const body = [...le(0x2b400000n, 8), ...le(1, 4), ...le(0, 4), ...le(0n, 8), ...le(0, 4), ...le(0x6a, 4), ...le(0x6b, 4), ...le(0x6d, 4), ...le(0x6c, 4), ...le(0, 4), ...le(0, 4)]
  return [...header(4, 68 + 20 * maps.length, 4, 1, maps.length, 68), ...body, ...maps.flat()]
}
function rootComplex(segment: number, maps: number[][]): number[] {
  const body = [...le(1, 4), 0, 0, 0, 3, ...le(0, 4), ...le(segment, 4), 48, 0, 0, 0]
  return [...header(2, 36 + 20 * maps.length, 3, 2, maps.length, 36), ...body, ...maps.flat()]
}
function pmcg(ref: number): number[] {
  return [...header(5, 40, 1, 3, 0, 0), ...le(0x2b420000n, 8), ...le(0x80, 4), ...le(ref, 4), ...le(0x2b430000n, 8)]
}
function rmr(maps: number[][]): number[] {
  const mapAt = 28
  const descAt = mapAt + 20 * maps.length
  return [...header(6, descAt + 20, 3, 4, maps.length, mapAt), ...le(1, 4), ...le(1, 4), ...le(descAt, 4), ...maps.flat(), ...le(0x80000000n, 8), ...le(0x10000n, 8), ...le(0, 4)]
}
function table(nodes: number[][], revision = 3): Uint8Array {
  const body = nodes.flat()
  const length = 48 + body.length
  const bytes = [...ascii('IORT', 4), ...le(length, 4), revision, 0, ...ascii('TEST  ', 6), ...ascii('IORTTEST', 8), ...le(1, 4), ...ascii('TEST', 4), ...le(1, 4), ...le(nodes.length, 4), ...le(48, 4), ...le(0, 4), ...body]
  const sum = bytes.reduce((a, b) => a + b, 0)
  bytes[9] = (256 - (sum % 256)) % 256
  return new Uint8Array(bytes)
}

// Offsets: ITS at 48 (24 bytes), SMMUv3 at 72 (68 + 20), RC after it.
const ITS_AT = 48
const SMMU_AT = 72
const RC_AT = SMMU_AT + 88
function serverLike(): Uint8Array {
  return table([its(), smmuV3([mapping(0, 0xffff, 0, ITS_AT)]), rootComplex(0, [mapping(0, 0xffff, 0x10000, SMMU_AT)]), pmcg(SMMU_AT), rmr([mapping(0, 0, 0x10100, SMMU_AT, 1)])])
}

describe('decodeIort on built tables', () => {
  it('decodes ITS group, SMMUv3, root complex, PMCG and RMR nodes with their mappings', () => {
    const t = decodeIort(serverLike())
    expect(t.problems).toEqual([])
    expect(t.checksumValid).toBe(true)
    expect(t.nodes.map((n) => n.type)).toEqual(['its-group', 'smmu-v3', 'root-complex', 'pmcg', 'rmr'])
    const [itsNode, smmu, rc, counter, reserved] = t.nodes
    expect(itsNode).toMatchObject({itsCount: 1, itsIdentifiers: [0]})
    expect(smmu).toMatchObject({offset: SMMU_AT, baseAddress: 0x2b400000n, eventGsiv: 0x6a, gerrGsiv: 0x6d, model: 0, modelName: 'generic SMMUv3'})
    expect(rc).toMatchObject({offset: RC_AT, pciSegment: 0, memoryAddressLimit: 48, memoryProperties: {cacheCoherency: 1, memoryFlags: 3}})
    expect(rc?.mappings).toEqual([{offset: RC_AT + 36, inputBase: 0, idCount: 0xffff, outputBase: 0x10000, outputReference: SMMU_AT, outputNode: 1, flags: {value: 0, singleMapping: false}}])
    expect(counter).toMatchObject({page0BaseAddress: 0x2b420000n, overflowGsiv: 0x80, nodeReference: SMMU_AT, page1BaseAddress: 0x2b430000n})
    expect(reserved).toMatchObject({flags: 1, rmrCount: 1, rmrDescriptors: [{baseAddress: 0x80000000n, length: 0x10000n}]})
    expect(reserved?.mappings[0]).toMatchObject({outputBase: 0x10100, flags: {singleMapping: true}})
  })

  it('maps a RID to its StreamID through the root complex, stopping at the SMMU', () => {
    const t = decodeIort(serverLike())
    expect(ridToStreamId(t, 0, 0x0108)).toMatchObject({streamId: 0x10108, smmu: {type: 'smmu-v3'}})
    expect(ridToStreamId(t, 0, 0x0108)?.path.map((n) => n.type)).toEqual(['root-complex', 'smmu-v3'])
    expect(ridToStreamId(t, 1, 0x0108)).toBeUndefined()
  })

  it('a RID range that reaches an ITS directly has no SMMU (DeviceID only)', () => {
    const t = decodeIort(table([its(), rootComplex(0, [mapping(0, 0xffff, 0, ITS_AT)])]))
    expect(ridToStreamId(t, 0, 0x20)).toMatchObject({deviceId: 0x20, its: {type: 'its-group'}})
    expect(ridToStreamId(t, 0, 0x20)?.smmu).toBeUndefined()
  })

  it('the last ID of a range goes to a later mapping that starts there (the kernel\'s off-by-one workaround)', () => {
    const t = decodeIort(table([its(), smmuV3([]), rootComplex(0, [mapping(0, 0x300, 0, SMMU_AT), mapping(0x300, 0xfcff, 0x300, ITS_AT)])]))
    const rc = t.nodes[2]
    if (rc === undefined) throw new Error('no root complex')
    expect(mapId(rc, 0x2ff)?.mapping.outputReference).toBe(SMMU_AT)
    expect(mapId(rc, 0x300)?.mapping.outputReference).toBe(ITS_AT)
    // Alone, a range still covers its last ID.
    const alone = decodeIort(table([its(), smmuV3([]), rootComplex(0, [mapping(0, 0x300, 0, SMMU_AT)])])).nodes[2]
    expect(alone && mapId(alone, 0x300)?.output).toBe(0x300)
  })

  it('reports truncation and bad lengths as data, and never throws', () => {
    const whole = serverLike()
    const cut = decodeIort(whole.subarray(0, RC_AT + 20))
    expect(cut.problems.join(' ')).toMatch(/truncated at/)
    const zero = Uint8Array.from(whole)
    zero[SMMU_AT + 1] = 0
    zero[SMMU_AT + 2] = 0
    expect(decodeIort(zero).problems.join(' ')).toMatch(/invalid length 0/)
    const tooManyMaps = Uint8Array.from(whole)
    tooManyMaps[RC_AT + 8] = 9
    expect(decodeIort(tooManyMaps).nodes[2]?.problems.join(' ')).toMatch(/9 ID mappings .* need 180 bytes/)
    for (let seed = 1; seed < 300; seed++) {
      const junk = Uint8Array.from({length: (seed * 7) % 200}, (_, i) => (i < 4 ? 'IORT'.charCodeAt(i) : (seed * 31 + i * 17) & 0xff))
      expect(() => decodeIort(junk)).not.toThrow()
    }
  })
})

describe('StreamIDs on a real laptop table (Dell XPS 13 9345, Snapdragon X Elite)', () => {
  const file = readdirSync(path.join(realData, 'iort')).find((f) => f.startsWith('dell-xps-13-9345') && f.endsWith('.dat')) ?? ''
  const t = decodeIort(new Uint8Array(readFileSync(path.join(realData, 'iort', file))))

  it('each of the eight PCIe segments maps its RIDs onto the one SMMUv3, StreamIDs from segment << 16', () => {
    for (const segment of [0, 3, 7]) expect(ridToStreamId(t, segment, 0x0100)).toMatchObject({streamId: (segment << 16) | 0x100, smmu: {type: 'smmu-v3', baseAddress: 0x15400000n}})
    expect(ridToStreamId(t, 8, 0x0100)).toBeUndefined()
    // The SMMUv3's own mapping (its MSIs) goes on to the ITS.
    expect(t.nodes.find((n) => n.type === 'smmu-v3')?.mappings[0]).toMatchObject({idCount: 0x7ffff, outputBase: 0x80000, outputNode: t.nodes.findIndex((n) => n.type === 'its-group')})
  })
})

describe('StreamIDs on the lab\'s real kernel (sysfs-fixtures/lab-smmuv3)', () => {
  const root = path.join(repoRoot, 'sysfs-fixtures/lab-smmuv3')
  const model = buildHostModel({collected: collectHost(openRoot(root)), log: {ok: true, path: 'dmesg.txt', value: readFileSync(path.join(root, 'dmesg.txt'), 'utf8')}})
  const iort = model.iort.table as IortTable
  /** What QEMU's SMMUv3 queued, in order: smmuv3_record_event TYPE sid=0x… */
  const qemuSids = [...readFileSync(path.join(root, 'qemu-stderr.txt'), 'utf8').matchAll(/^smmuv3_record_event \S+ sid=0x([0-9a-f]+)$/gm)].map((m) => parseInt(m[1] ?? '', 16))
  const injectedFrom = readFileSync(path.join(root, 'lab-injected.txt'), 'utf8').split('\n').filter((l) => l.startsWith('dma-')).map((l) => l.split(' ')[1] ?? '')

  it('the model reads the IORT from the snapshot, once', () => {
    expect(model.iort.read.ok).toBe(true)
    expect(model.iort).toBe(model.iort)
    expect(iort.nodes.map((n) => n.type)).toEqual(['its-group', 'smmu-v3', 'root-complex'])
  })

  it('the StreamID DMA carries (the last alias) is the one QEMU\'s SMMU reported for every injected DMA', () => {
    expect(injectedFrom.length).toBe(4)
    expect(injectedFrom.map((bdf) => smmuStreamIds(model.topology, iort, bdf).at(-1)?.streamId)).toEqual(qemuSids)
  })

  it('behind the PCIe-to-PCI bridge a device owns two StreamIDs: its own and the bridge alias', () => {
    expect(smmuStreamIds(model.topology, iort, '0000:02:01.0').map((s) => [s.alias.reason, s.streamId])).toEqual([['self', 0x208], ['pcie-to-pci-bridge', 0x200]])
  })
})

describe('lintIort', () => {
  const realDir = path.join(realData, 'iort')
  const tables = readdirSync(realDir).filter((f) => f.endsWith('.dat')).map((f) => ({name: f, table: decodeIort(new Uint8Array(readFileSync(path.join(realDir, f))))}))
  const outcome = (t: IortTable, id: string) => lintIort(t).find((r) => r.id === id)?.outcome

  it('real tables have valid headers, nodes and references', () => {
    for (const {name, table: t} of tables) for (const id of ['iort.header', 'iort.nodes', 'iort.references']) expect(outcome(t, id), `${name} ${id}`).toBe('pass')
  })

  it('QEMU\'s ID counts that hold "IDs" instead of "IDs minus one" are a warning, a real overlap a failure', () => {
    const qemu = tables.find((t) => t.name.startsWith('qemu-virt'))?.table
    expect(qemu && outcome(qemu, 'iort.mapping-overlap')).toBe('warn')
    const overlap = decodeIort(table([its(), smmuV3([]), rootComplex(0, [mapping(0, 0x2ff, 0, SMMU_AT), mapping(0x100, 0xff, 0x100, ITS_AT)])]))
    expect(outcome(overlap, 'iort.mapping-overlap')).toBe('fail')
  })

  it('a mapping to no node, an RMR node and RIDs that bypass the SMMU are named', () => {
    const broken = decodeIort(table([its(), smmuV3([]), rootComplex(0, [mapping(0, 0xff, 0, 0x999)])]))
    expect(lintIort(broken).find((r) => r.id === 'iort.references')).toMatchObject({outcome: 'fail', evidence: [{fact: expect.stringContaining('0x999, where no node starts')}]})
    expect(lintIort(decodeIort(serverLike())).find((r) => r.id === 'iort.rmr')).toMatchObject({outcome: 'warn', evidence: [{fact: expect.stringContaining('[0x80000000+0x10000]')}, {fact: expect.stringContaining('StreamIDs 0x10100+1')}]})
    const bypass = decodeIort(table([its(), smmuV3([]), rootComplex(0, [mapping(0, 0xff, 0, SMMU_AT), mapping(0x100, 0xfeff, 0x100, ITS_AT)])]))
    expect(outcome(bypass, 'iort.smmu')).toBe('warn')
    expect(outcome(decodeIort(table([its(), rootComplex(0, [mapping(0, 0xffff, 0, ITS_AT)])])), 'iort.smmu')).toBe('not-applicable')
  })
})

describe('vtd-check iort', () => {
  const output = captureCommandOutput()
  const run = (args: string[]): Promise<IortReport> => Iort.run(args, repoRoot) as Promise<IortReport>
  const realDir = path.join(realData, 'iort')
  const acer = readdirSync(realDir).find((f) => f.startsWith('acer-aspire-1') && f.endsWith('.dat')) ?? ''

  it('--root on the lab snapshot --json: table.nodes[] with typeCode and mappings of {inputBase, idCount, outputBase}', async () => {
    const report = await run(['--root', path.join(repoRoot, 'sysfs-fixtures/lab-smmuv3'), '--json'])
    expect(report).toMatchObject({schemaVersion: 1, tool: 'vtd-check', iommuFamily: 'arm-smmu-v3'})
    expect(report.table.nodes.map((n) => n.typeCode)).toEqual([0, 4, 2])
    expect(report.table.nodes[1]).toMatchObject({baseAddress: '0x9050000', mappings: [{inputBase: 0, idCount: 0xffff, outputBase: 0}]})
    expect(report.table.nodes[2]?.mappings.map(({inputBase, idCount, outputBase}) => ({inputBase, idCount, outputBase}))).toEqual([
      {inputBase: 0, idCount: 0x400, outputBase: 0},
      {inputBase: 0x400, idCount: 0xfbff, outputBase: 0x400},
    ])
    expect(process.exitCode).toBe(0)
    expect(JSON.parse(output.stdout)).toEqual(JSON.parse(JSON.stringify(report)))
  })

  it('--file takes raw bytes, the iasl .dsl and acpidump text, with the same result', async () => {
    const raw = await run(['--file', path.join(realDir, acer), '--json'])
    expect(raw.iommuFamily).toBe('arm-smmu')
    expect(raw.table.nodes.filter((n) => n.typeCode === 3).length).toBe(2)
    const fromDsl = await run(['--file', path.join(realDir, acer.replace(/\.dat$/, '.dsl')), '--json'])
    expect(fromDsl.table).toEqual(raw.table)
    const bytes = readFileSync(path.join(realDir, acer))
    const dir = scratchDir('iort-')
    const file = path.join(dir, 'acpidump.txt')
    writeFileSync(file, acpidumpText('GTDT', new Uint8Array([0x47, 0x54, 0x44, 0x54, 8, 0, 0, 0])) + acpidumpText('IORT', bytes))
    expect(acpiTableFromFile(readFileSync(file), 'IORT')).toEqual(new Uint8Array(bytes))
    expect((await run(['--file', file, '--json'])).table).toEqual(raw.table)
  })

  it('renders the nodes and their mappings', async () => {
    await run(['--root', path.join(repoRoot, 'sysfs-fixtures/lab-smmuv3')])
    expect(output.stdout).toMatch(/SMMUv3 at 0x48 \(0x9050000\)/)
    expect(output.stdout).toMatch(/IDs 0x0-0x400 → SMMUv3 at 0x48 \(0x9050000\) from 0x0/)
    expect(output.stdout).toMatch(/iort\.mapping-overlap/)
  })

  it('a missing file, and a file that is no IORT table (junk, empty, an IVRS table), are usage errors (exit 2)', async () => {
    await expect(run(['--file', path.join(realDir, 'no-such.dat')])).rejects.toMatchObject({oclif: {exit: 2}})
    const dir = scratchDir('iort-')
    const junk = path.join(dir, 'junk.bin')
    writeFileSync(junk, 'not a table at all')
    const empty = path.join(dir, 'empty.bin')
    writeFileSync(empty, '')
    const ivrs = path.join(realDir, '../ivrs', readdirSync(path.join(realDir, '../ivrs')).find((f) => f.endsWith('.dat')) ?? '')
    for (const file of [junk, empty, ivrs])
      await expect(run(['--file', file]), file).rejects.toMatchObject({message: expect.stringContaining('holds no IORT table'), oclif: {exit: 2}})
  })

  it('on a snapshot without an IORT table says so and exits 3', async () => {
    const dir = scratchDir('iort-root-')
    for (const sub of ['sys/firmware/acpi/tables', 'proc']) mkdirSync(path.join(dir, sub), {recursive: true})
    await expect(run(['--root', dir])).rejects.toMatchObject({oclif: {exit: 3}})
  })
})
