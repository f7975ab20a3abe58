/**
 * Getting tables into the model: the kernel's debugfs dumps, its CONFIG_DMAR_DEBUG fault
 * dump (real data from test/fixtures/real/dmesg), the JSON description and the what-if build.
 * Dump texts below follow the kernel's format strings (vtd-reference §9); every expected
 * address is worked out by hand in the comment next to it.
 */
import {modelOf} from './support/model.js'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {RootedHostFs} from '../src/host/fs.js'
import {memHostFs, type MemEntry} from '../src/host/mem.js'
import {
  buildFromDebugfs,
  buildFromDescription,
  buildFromFaultWalkDump,
  buildWhatIf,
  explainFaultStep,
  replayContextOf,
  parseDmarTranslationStruct,
  parseDomainTranslationStruct,
  parseFaultWalkDumps,
  parseRequester,
  unitCapsFromRegisters,
  walk,
  walkInContext,
} from '../src/replay/translation/index.js'
import {fixturesDir, realData} from './support/paths.js'

const QEMU_CAP = 0xd2008c22260206n
const LEGACY_TEXT = [
  'IOMMU dmar0: Root Table Address: 0x10a4b7000',
  'B.D.F\tRoot_entry\t\t\t\tContext_entry\t\t\t\tPASID\tPASID_table_entry',
  // context lo: P=1, TT=00, SLPTPTR 0x10a4c0000; hi 0x201: AW=1 (39-bit), DID=2
  '00:03.0\t0x0000000000000000:0x000000010a4b8001\t0x0000000000000201:0x000000010a4c0001\t-1    \t0x0000000000000000:0x0000000000000000:0x0000000000000000',
  // a device whose page table the domain dump below does not contain
  '00:05.0\t0x0000000000000000:0x000000010a4b8001\t0x0000000000000301:0x000000010a4d0001\t-1    \t0x0000000000000000:0x0000000000000000:0x0000000000000000',
  'DMA Remapping is not enabled on dmar1',
].join('\n')
const DOMAIN_TEXT = [
  'Device 0000:00:03.0 @0x10a4c0000',
  'IOVA_PFN\t\tPML5E\t\t\tPML4E\t\t\tPDPE\t\t\tPDE\t\t\tPTE',
  // IOVA 0xffff000: PDPE index 0, PDE index 0x7f, PTE index 0x1ff → 0x123456000
  '0x000000000ffff |\t0x0000000000000000\t0x0000000000000000\t0x000000010a4c1003\t0x000000010a4c2003\t0x0000000123456003',
  // IOVA 0x40000000: a 1 GiB leaf (PS) in PDPE index 1 → 0x200000000
  '0x0000000040000 |\t0x0000000000000000\t0x0000000000000000\t0x0000000200000083\t0x0000000000000000\t0x0000000000000000',
  '',
].join('\n')

describe('debugfs dmar_translation_struct + domain_translation_struct', () => {
  it('parses rows and reports lines it does not understand as data', () => {
    const parsed = parseDmarTranslationStruct(LEGACY_TEXT + '\ngarbage line')
    expect(parsed.units.map((u) => [u.unit, u.enabled, u.rows.length])).toEqual([
      ['dmar0', true, 2],
      ['dmar1', false, 0],
    ])
    expect(parsed.units[0]?.rows[0]).toMatchObject({bus: 0, devfn: 0x18, pasid: -1, context: {hi: 0x201n, lo: 0x10a4c0001n}})
    expect(parsed.problems).toEqual([{line: 6, text: 'garbage line', message: 'line not understood'}])
    const domains = parseDomainTranslationStruct(DOMAIN_TEXT)
    expect(domains.domains[0]?.rows.map((r) => r.iova)).toEqual([0xffff000n, 0x40000000n])
  })

  const context = buildFromDebugfs({
    translationStruct: LEGACY_TEXT,
    domainStructs: [DOMAIN_TEXT],
    caps: new Map([['dmar0', unitCapsFromRegisters(QEMU_CAP, 0xf00f4an, 39)]]),
  })

  it('walks the dumped tables to the dumped leaves', () => {
    const small = walkInContext(context, {requester: '00:03.0', address: 0xffff123n})
    expect(small.ok && small.hpa).toBe(0x123456123n)
    const big = walkInContext(context, {requester: '00:03.0', address: 0x40001234n})
    expect(big.ok && big.pageSize).toBe(1n << 30n)
    expect(big.ok && big.hpa).toBe(0x200001234n)
  })

  it('faults where the dump shows an empty entry, says unknown where it shows nothing', () => {
    const unmapped = walkInContext(context, {requester: '00:03.0', address: 0xfffe000n})
    expect(unmapped.outcome === 'fault' && [unmapped.fault, unmapped.level]).toEqual([0x06, 1])
    const noContext = walkInContext(context, {requester: '00:04.0', address: 0n})
    expect(noContext.outcome === 'fault' && noContext.fault).toBe(0x02)
    const notDumped = walkInContext(context, {requester: '00:05.0', address: 0n})
    expect(notDumped.outcome).toBe('unknown')
    expect(context.notes.some((n) => n.includes('dmar1') && n.includes('not enabled'))).toBe(true)
  })

  it('places scalable rows through a synthesized PASID directory entry', () => {
    const text = [
      'IOMMU dmar0: Root Table Address: 0x10a4b7000',
      // root LP → 0x10a4b8000; context: P, PASIDDIRPTR 0x10a4c8000; PASID entry val0 =
      // 0x10a4c0085: P, AW=1, PGTT=010 (second stage), SSPTPTR 0x10a4c0000; val1 DID 3
      '00:03.0\t0x0000000000000000:0x000000010a4b8001\t0x0000000000000000:0x000000010a4c8001\t0     \t0x0000000000000000:0x0000000000000003:0x000000010a4c0085',
    ].join('\n')
    const sm = buildFromDebugfs({translationStruct: text, domainStructs: [DOMAIN_TEXT], caps: new Map([['dmar0', unitCapsFromRegisters(QEMU_CAP, 0x480080f00f4an, 39)]])})
    expect(sm.units[0]?.scalable).toBe(true)
    const r = walkInContext(sm, {requester: '00:03.0', address: 0xffff000n})
    expect(r.ok && r.hpa).toBe(0x123456000n)
    expect(r.ok && r.did).toBe(3)
  })
})

describe('CONFIG_DMAR_DEBUG fault dump (real: pasid-dir-dump-k6.3-1.log)', () => {
  const log = readFileSync(path.join(realData, 'dmesg/pasid-dir-dump-k6.3-1.log'), 'utf8')
  const [dump] = parseFaultWalkDumps(log)

  it('reads every entry the kernel printed', () => {
    expect(dump).toMatchObject({unit: 'dmar1', iova: 0x1026a4000n, scalable: true, pasidDirEntry: 0x101b4e001n, stoppedAt: 'PTE not present at level 4'})
    expect(dump?.context).toEqual({hi: 0n, lo: 0x101b4d401n})
    expect(dump?.pasidEntry.slice(0, 2)).toEqual([0x109n, 0x1n])
  })

  it('replays to pass-through although the kernel reported 0x51: the tables in memory were right', () => {
    // entry[0] 0x109 = P, AW=2, PGTT=100: an identity (pass-through) PASID entry, DID 1.
    // The cause file says the IOMMU read a stale, non-present directory entry because the
    // kernel did not flush it (no page-walk coherency); memory itself held a present one.
    // Linux only writes PGTT=100 on a PT-capable unit, so the caps say PT.
    const caps = unitCapsFromRegisters(0x4n << 8n | (0x2fn << 16n), (1n << 6n) | (1n << 43n) | (1n << 40n))
    if (dump === undefined) throw new Error('no dump')
    const requester = parseRequester('00:0d.2')
    if (requester === undefined) throw new Error('bad requester')
    const unit = buildFromFaultWalkDump(dump, requester, caps)
    const r = walk(unit, {requester: '00:0d.2', address: 0x1026a4000n})
    expect(r.ok && r.outcome).toBe('pass-through')
    const explained = explainFaultStep({units: [unit], deviceUnits: new Map(), source: 'debugfs', notes: []}, {requester: '00:0d.2', address: 0x1026a4000n, write: false, reason: 0x51})
    expect(explained.agreesWithKernel).toBe(false)
  })
})

describe('JSON description', () => {
  const example = {
    unit: {name: 'dmar0', cap: '0xd2008c22260206', ecap: '0xf00f4a', haw: 39},
    domains: [{name: 'nic', did: 2, mappings: [{iova: '0x10000', hpa: '0x7a3b5000', size: '0x1000', write: false}]}],
    devices: [
      {bdf: '0000:01:00.0', domain: 'nic'},
      {bdf: '0000:00:02.0', passThrough: true},
      {bdf: '0000:00:1f.0', context: {tt: 3, aw: 1, did: 9}},
    ],
  }

  it('builds what it describes', () => {
    const built = buildFromDescription(example)
    expect(built.ok).toBe(true)
    if (!built.ok) return
    const r = walkInContext(built.context, {requester: '01:00.0', address: 0x10008n})
    expect(r.ok && r.hpa).toBe(0x7a3b5008n)
    const w = walkInContext(built.context, {requester: '01:00.0', address: 0x10008n, access: 'write'})
    expect(w.outcome === 'fault' && w.fault).toBe(0x05)
    expect(walkInContext(built.context, {requester: '00:02.0', address: 0x1234n}).outcome).toBe('pass-through')
    const bad = walkInContext(built.context, {requester: '00:1f.0', address: 0n})
    expect(bad.outcome === 'fault' && bad.fault).toBe(0x03)
  })

  it('names the JSON path of every mistake', () => {
    const built = buildFromDescription({unit: {cap: '0xd2008c22260206', ecap: 'nope'}})
    expect(built.ok).toBe(false)
    if (built.ok) return
    expect(built.errors[0]).toMatch(/^unit\.ecap: expected a number/)
    const worse = buildFromDescription({...example, devices: [{bdf: 'zz'}, {bdf: '0000:01:00.0', domain: 'missing'}]})
    expect(!worse.ok && worse.errors).toEqual(['devices[0].bdf: "zz" is not a BDF', 'devices[1].domain: no domain named "missing"'])
  })
})

describe('what-if tables from the host model', () => {
  it('lab-passthrough (iommu=pt, identity groups, ECAP.PT): the injected read passes through', () => {
    const context = replayContextOf(modelOf(new RootedHostFs(path.join(fixturesDir, 'lab-passthrough'))))
    // lab-injected.txt: "dma-read 0000:00:03.0 0x1000000 4"
    const r = walkInContext(context, {requester: '0000:00:03.0', address: 0x1000000n})
    expect(r.ok && r.outcome).toBe('pass-through')
    expect(r.ok && r.hpa).toBe(0x1000000n)
    expect(context.source).toBe('what-if')
  })

  it('takes the host address width from the snapshot\'s DMAR table', () => {
    // The lab's DMAR header byte 36 is 0x26: "DMAR: Host address width 39" in its dmesg.
    const context = replayContextOf(modelOf(new RootedHostFs(path.join(fixturesDir, 'lab-dma-faults'))))
    expect(context.units[0]?.caps.haw).toBe(39)
  })

  it('lab-dma-faults: the LPC bridge\'s 0–16 MiB direct-relaxable region is identity mapped', () => {
    // groups/4/reserved_regions: "0x0000000000000000 0x0000000000ffffff direct-relaxable" for 00:1f.0
    const context = replayContextOf(modelOf(new RootedHostFs(path.join(fixturesDir, 'lab-dma-faults'))))
    const inside = walkInContext(context, {requester: '0000:00:1f.0', address: 0xabc123n})
    expect(inside.ok && inside.hpa).toBe(0xabc123n)
    const outside = walkInContext(context, {requester: '0000:00:1f.0', address: 0x1000000n})
    expect(outside.outcome === 'fault' && outside.fault).toBe(0x06)
  })

  it('identity without ECAP.PT becomes a 1:1 page table; blocked and ungrouped devices get no context', () => {
    const context = buildWhatIf({
      units: [{name: 'dmar0', cap: QEMU_CAP, ecap: 0xf00f0an, haw: 39}], // 0xf00f0a: QI, IR, no PT
      devices: [
        {bdf: '0000:00:02.0', group: 1, domainType: 'identity'},
        {bdf: '0000:00:03.0', group: 2, domainType: 'blocked'},
        {bdf: '0000:00:04.0'},
      ],
    })
    const id = walkInContext(context, {requester: '00:02.0', address: 0x12345678n})
    expect(id.ok && [id.outcome, id.hpa, id.pageSize]).toEqual(['translated', 0x12345678n, 1n << 30n])
    for (const bdf of ['00:03.0', '00:04.0']) {
      const r = walkInContext(context, {requester: bdf, address: 0n})
      expect(r.outcome === 'fault' && r.fault).toBe(0x02)
    }
  })
})

describe('replayContextOf', () => {
  const unitFiles = (): Record<string, MemEntry> => ({
    '/sys/class/iommu/dmar0': {link: '../../devices/virtual/iommu/dmar0'},
    '/sys/devices/virtual/iommu/dmar0/intel-iommu/cap': 'd2008c22260206\n',
    '/sys/devices/virtual/iommu/dmar0/intel-iommu/ecap': 'f00f4a\n',
    '/sys/devices/virtual/iommu/dmar0/devices': {dir: true},
  })

  it('prefers the debugfs dumps, reading the ≥6.7 per-device domain files', () => {
    const fs = memHostFs({
      ...unitFiles(),
      '/sys/kernel/debug/iommu/intel/dmar_translation_struct': LEGACY_TEXT,
      '/sys/kernel/debug/iommu/intel/0000:00:03.0/domain_translation_struct': DOMAIN_TEXT,
    })
    const context = replayContextOf(modelOf(fs))
    expect(context.source).toBe('debugfs')
    const r = walkInContext(context, {requester: '0000:00:03.0', address: 0xffff123n})
    expect(r.ok && r.hpa).toBe(0x123456123n)
  })

  it('falls back to what-if tables when debugfs is not readable', () => {
    const fs = memHostFs({...unitFiles(), '/sys/kernel/debug/iommu/intel/dmar_translation_struct': {unreadable: true}})
    const context = replayContextOf(modelOf(fs))
    expect(context.source).toBe('what-if')
    expect(context.units.map((u) => u.name)).toEqual(['dmar0'])
  })
})
