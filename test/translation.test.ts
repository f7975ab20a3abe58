/**
 * The translation model, reason by reason. Each test builds the smallest table set that
 * exercises one rule of vtd-reference §3–4 and checks the walk's verdict: the reason code,
 * the step and level that produced it, or the host address it reaches. The last test checks
 * that together they cover every code the model can produce.
 */
import {describe, expect, it} from 'vitest'
import {lookupFaultReason} from '../src/decode/fault-reasons.js'
import {
  decodeEntry,
  encodeEntry,
  FIRST_STAGE_PTE,
  LEGACY_CONTEXT_ENTRY,
  PGTT,
  reasonName,
  SCALABLE_ROOT_ENTRY,
  SparseMemory,
  TableBuilder,
  unitCapsFromRegisters,
  walk,
  WALK_REASON_CODES,
  type UnitCaps,
  type WalkRequest,
  type WalkResult,
  type TranslationUnit,
} from '../src/replay/translation/index.js'

// The lab's QEMU unit: cap d2008c22260206 = SAGAW 0x2 (39-bit only), MGAW 39, SLLPS 2M+1G;
// ecap f00f4a = QI, IR, PT (no DT, no SC). HAW 39 as the lab's DMAR table says.
const QEMU_CAP = 0xd2008c22260206n
const QEMU_ECAP = 0xf00f4an
const qemuCaps = (): UnitCaps => unitCapsFromRegisters(QEMU_CAP, QEMU_ECAP, 39)
// A scalable-mode unit with everything the walk checks: ecap bits DT(2) PT(6) NEST(26) SRS(31)
// PASID(40) SMTS(43) SLTS(46) FLTS(47) RPS(49); cap adds FS1GP(56) on top of QEMU's.
const SM_ECAP = QEMU_ECAP | (1n << 2n) | (1n << 26n) | (1n << 31n) | (1n << 40n) | (1n << 43n) | (1n << 46n) | (1n << 47n) | (1n << 49n)
const smCaps = (): UnitCaps => unitCapsFromRegisters(QEMU_CAP | (1n << 56n), SM_ECAP, 39)

const seen = new Set<number>()
function expectFault(result: WalkResult, reason: number, stepKind?: string, level?: number): void {
  expect(result.outcome, JSON.stringify({outcome: result.outcome, why: 'explanation' in result ? result.explanation : ''})).toBe('fault')
  if (result.outcome !== 'fault') return
  expect(result.fault).toBe(reason)
  if (stepKind !== undefined) expect(result.step.kind).toBe(stepKind)
  if (level !== undefined) expect(result.level).toBe(level)
  expect(result.explanation.length).toBeGreaterThan(20)
  seen.add(reason)
}
const read = (requester: string, address: bigint, extra: Partial<WalkRequest> = {}): WalkRequest => ({requester, address, access: 'read', ...extra})
const write = (requester: string, address: bigint, extra: Partial<WalkRequest> = {}): WalkRequest => ({requester, address, access: 'write', ...extra})

/** A legacy unit with 00:03.0 in domain 2 (39-bit, 3 levels). */
function legacy(caps: UnitCaps = qemuCaps()) {
  const b = new TableBuilder(caps, false)
  const domain = b.newDomain(2)
  b.attach(0x18, domain)
  return {b, domain, unit: b.unit('dmar0', 'json')}
}

/** A scalable unit with 00:03.0's RID_PASID (0) on the given stage. */
function scalable(stage: 'first' | 'second' = 'second', caps: UnitCaps = smCaps()) {
  const b = new TableBuilder(caps, true)
  const domain = b.newDomain(3, stage)
  b.attach(0x18, domain, {paside: true})
  return {b, domain, unit: b.unit('dmar0', 'json')}
}

describe('capabilities', () => {
  it('decodes the lab unit\'s CAP/ECAP the way the reference tables say', () => {
    const caps = qemuCaps()
    expect(caps).toMatchObject({sagaw: 0b00010, mgaw: 39, sllps: 0b11, pt: true, dt: false, sc: false, smts: false})
    // The lab's scalable-mode unit: ecap 480080f00f4a adds SMTS(43), SLTS(46), SRS(31).
    const sm = unitCapsFromRegisters(QEMU_CAP, 0x480080f00f4an)
    expect(sm).toMatchObject({smts: true, slts: true, flts: false, srs: true, pasid: false})
  })
})

describe('structures', () => {
  it('encodes and decodes through the same field table', () => {
    const words = encodeEntry(LEGACY_CONTEXT_ENTRY, {present: 1, fpd: 1, tt: 2, slptptr: 0x12345000, aw: 1, did: 0xbeef})
    // Bits by hand: P|FPD|TT=10<<2 = 0xb, ptr in 63:12; hi: AW=1, DID at 87:72 → hi bits 23:8.
    expect(words).toEqual([0x1234500bn, 0xbeef01n])
    expect(decodeEntry(LEGACY_CONTEXT_ENTRY, words)).toMatchObject({present: 1n, fpd: 1n, tt: 2n, slptptr: 0x12345000n, aw: 1n, did: 0xbeefn})
  })

  it('decodes the scalable entries of a real CONFIG_DMAR_DEBUG dump', () => {
    // test/fixtures/real/dmesg/pasid-dir-dump-k6.3-1.log: "scalable mode root entry: hi 0x0000000102448001, low 0x0000000101b3e001"
    expect(decodeEntry(SCALABLE_ROOT_ENTRY, [0x101b3e001n, 0x102448001n])).toMatchObject({lp: 1n, lctp: 0x101b3e000n, up: 1n, uctp: 0x102448000n})
  })

  it('knows a first-stage PTE\'s XD bit is bit 63', () => {
    expect(decodeEntry(FIRST_STAGE_PTE, [0x8000000012345067n])).toMatchObject({p: 1n, rw: 1n, us: 1n, xd: 1n, addr: 0x12345000n})
  })
})

describe('legacy mode walks', () => {
  it('translates a 4 KiB mapping and keeps the page offset', () => {
    const {b, domain, unit} = legacy()
    b.map(domain, {iova: 0x10000n, hpa: 0x7a3b5000n, size: 0x1000n})
    const r = walk(unit, read('0000:00:03.0', 0x10abcn))
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.hpa).toBe(0x7a3b5abcn)
    expect(r.pageSize).toBe(0x1000n)
    expect(r.did).toBe(2)
    expect(r.steps.map((s) => s.kind)).toEqual(['root-entry', 'context-entry', 'sl-pte', 'sl-pte', 'sl-pte'])
    expect(r.steps.map((s) => s.level)).toEqual([undefined, undefined, 3, 2, 1])
  })

  it('uses 2 MiB and 1 GiB superpages where SLLPS offers them', () => {
    const {b, domain, unit} = legacy()
    b.map(domain, {iova: 0x40000000n, hpa: 0x80000000n, size: 0x40000000n})
    b.map(domain, {iova: 0x200000n, hpa: 0x600000n, size: 0x200000n})
    const big = walk(unit, read('00:03.0', 0x40123456n))
    expect(big.ok && big.pageSize).toBe(1n << 30n)
    expect(big.ok && big.hpa).toBe(0x80123456n)
    const mid = walk(unit, read('00:03.0', 0x2fffffn))
    expect(mid.ok && mid.pageSize).toBe(1n << 21n)
    expect(mid.ok && mid.hpa).toBe(0x6fffffn)
  })

  it('only 4 KiB pages when the unit has no SLLPS', () => {
    const {b, domain, unit} = legacy({...qemuCaps(), sllps: 0})
    b.map(domain, {iova: 0x200000n, hpa: 0x600000n, size: 0x200000n})
    const r = walk(unit, read('00:03.0', 0x2fffffn))
    expect(r.ok && r.pageSize).toBe(0x1000n)
    expect(r.ok && r.hpa).toBe(0x6fffffn)
  })

  it('0x01: no root entry for the bus', () => {
    expectFault(walk(legacy().unit, read('0000:05:00.0', 0x1000n)), 0x01, 'root-entry')
  })

  it('0x02: no context entry for the function', () => {
    expectFault(walk(legacy().unit, read('0000:00:05.0', 0x1000n)), 0x02, 'context-entry')
  })

  it('0x03: context entries the unit cannot honour', () => {
    const {b, unit} = legacy()
    b.setLegacyContext(0x20, {tt: 3, aw: 1, did: 4}) // TT=11 reserved
    b.setLegacyContext(0x28, {tt: 0, aw: 2, did: 4}) // 48-bit AW, SAGAW has 39 only
    b.setLegacyContext(0x30, {tt: 1, aw: 1, did: 4}) // TT=01 without ECAP.DT
    expectFault(walk(unit, read('00:04.0', 0n)), 0x03, 'context-entry')
    expectFault(walk(unit, read('00:05.0', 0n)), 0x03)
    expectFault(walk(unit, read('00:06.0', 0n)), 0x03)
    const noPt = legacy({...qemuCaps(), pt: false})
    noPt.b.setLegacyContext(0x20, {tt: 2, aw: 1, did: 1}) // pass-through without ECAP.PT
    expectFault(walk(noPt.unit, read('00:04.0', 0n)), 0x03)
  })

  it('0x04: an address beyond the domain width, before any table is read', () => {
    const r = walk(legacy().unit, read('00:03.0', 1n << 39n))
    expectFault(r, 0x04, 'address-check')
    expect(r.steps.filter((s) => s.kind === 'sl-pte')).toHaveLength(0)
  })

  it('0x05/0x06: an unmapped IOVA faults at the first level with nothing there, as QEMU reports', () => {
    const {b, domain, unit} = legacy()
    b.map(domain, {iova: 0x10000n, hpa: 0x7a3b5000n, size: 0x1000n, write: false})
    expectFault(walk(unit, read('00:03.0', 0x40000000n)), 0x06, 'sl-pte', 3) // nothing in that 1 GiB
    expectFault(walk(unit, read('00:03.0', 0x200000n)), 0x06, 'sl-pte', 2) // same 1 GiB, other 2 MiB
    expectFault(walk(unit, read('00:03.0', 0x11000n)), 0x06, 'sl-pte', 1)
    expectFault(walk(unit, write('00:03.0', 0x10000n)), 0x05, 'sl-pte', 1) // read-only leaf
  })

  it('0x07: a next-level pointer to memory that is not there', () => {
    const {b, domain, unit} = legacy()
    b.memory.write64(domain.root, 0x7000_0000n | 3n) // level-3 entry → page nobody allocated
    expectFault(walk(unit, read('00:03.0', 0x1000n)), 0x07, 'sl-pte', 2)
  })

  it('0x08: a root table the unit cannot read', () => {
    const unit: TranslationUnit = {...legacy().unit, rootTable: 0x6000_0000}
    expectFault(walk(unit, read('00:03.0', 0n)), 0x08, 'root-entry')
  })

  it('0x09: a root entry pointing at no memory', () => {
    const {b, unit} = legacy()
    b.memory.writeWords(b.rootTable + 2 * 16, [0x6000_0000n | 1n, 0n])
    expectFault(walk(unit, read('02:00.0', 0n)), 0x09, 'context-entry')
  })

  it('0x0A/0x0B: reserved bits in root and context entries', () => {
    const {b, unit} = legacy()
    const ctx = b.contextEntryAddress(0x18)
    const rootLo = b.memory.read64(b.rootTable) ?? 0n
    b.memory.write64(b.rootTable, rootLo | 0x8n)
    expectFault(walk(unit, read('00:03.0', 0n)), 0x0a, 'root-entry')
    b.memory.write64(b.rootTable, rootLo)
    const ctxLo = b.memory.read64(ctx) ?? 0n
    b.memory.write64(ctx, ctxLo | 0x10n) // bit 4: reserved in a legacy context entry
    expectFault(walk(unit, read('00:03.0', 0n)), 0x0b, 'context-entry')
  })

  it('0x0C: superpages the unit does not offer and addresses above the host width', () => {
    const {b, domain, unit} = legacy({...qemuCaps(), sllps: 0b01}) // 2 MiB only
    const l3 = b.slot(domain, 0x40000000n, 3)
    b.memory.write64(l3, 0x80000000n | 0x80n | 3n) // 1 GiB leaf
    expectFault(walk(unit, read('00:03.0', 0x40000000n)), 0x0c, 'sl-pte', 3)
    const leaf = b.slot(domain, 0x1000n, 1)
    b.memory.write64(leaf, (1n << 40n) | 3n) // HAW 39: bit 40 reserved
    expectFault(walk(unit, read('00:03.0', 0x1000n)), 0x0c, 'sl-pte', 1)
    const snp = b.slot(domain, 0x2000n, 1)
    b.memory.write64(snp, 0x9000n | 0x800n | 3n) // SNP without ECAP.SC: reserved
    expectFault(walk(unit, read('00:03.0', 0x2000n)), 0x0c, 'sl-pte', 1)
    const pat = b.slot(domain, 0x3000n, 1)
    b.memory.write64(pat, 0xa000n | 0x80n | 3n) // bit 7 of a level-1 entry is not PS: still a 4 KiB leaf
    const r = walk(unit, read('00:03.0', 0x3004n))
    expect(r.ok && [r.hpa, r.pageSize]).toEqual([0xa004n, 0x1000n])
    const misaligned = b.slot(domain, 0x200000n, 2)
    b.memory.write64(misaligned, 0x601000n | 0x80n | 3n) // 2 MiB leaf with address bit 12 set
    expectFault(walk(unit, read('00:03.0', 0x200000n)), 0x0c, 'sl-pte', 2)
  })

  it('5-level tables (57-bit AGAW, SAGAW bit 3) index bits 56:48 at the top', () => {
    // SAGAW 0b01000 (57-bit only), MGAW 57 (field 56)
    const caps = unitCapsFromRegisters((0x8n << 8n) | (56n << 16n) | (3n << 34n), QEMU_ECAP, 52)
    const b = new TableBuilder(caps, false)
    const domain = b.newDomain(2)
    expect([domain.aw, domain.levels]).toEqual([3, 5])
    b.attach(0x18, domain)
    const iova = (0x1abn << 48n) | 0x5000n
    b.map(domain, {iova, hpa: 0x9000n, size: 0x1000n})
    const r = walk(b.unit('dmar0', 'json'), read('00:03.0', iova | 0x10n))
    expect(r.ok && r.hpa).toBe(0x9010n)
    expect(r.steps.filter((s) => s.kind === 'sl-pte').map((s) => [s.level, s.index])).toEqual([
      [5, 0x1ab],
      [4, 0],
      [3, 0],
      [2, 0],
      [1, 5],
    ])
    expectFault(walk(b.unit('dmar0', 'json'), read('00:03.0', 1n << 57n)), 0x04, 'address-check')
  })

  it('SNP is legal with snoop control', () => {
    const {b, domain, unit} = legacy({...qemuCaps(), sc: true})
    b.memory.write64(b.slot(domain, 0x2000n, 1), 0x9000n | 0x800n | 3n)
    expect(walk(unit, read('00:03.0', 0x2000n)).ok).toBe(true)
  })

  it('0x0D: ATS traffic to a context with TT=00', () => {
    const {unit} = legacy()
    expectFault(walk(unit, read('00:03.0', 0x1000n, {addressType: 'translation-request'})), 0x0d, 'context-entry')
    expectFault(walk(unit, read('00:03.0', 0x1000n, {addressType: 'translated'})), 0x0d)
  })

  it('TT=01 with ECAP.DT: pre-translated requests pass, translation requests are answered, not faulted', () => {
    const caps = {...qemuCaps(), dt: true}
    const b = new TableBuilder(caps, false)
    const domain = b.newDomain(2)
    b.attach(0x18, domain, {ats: true})
    const unit = b.unit('dmar0', 'json')
    const translated = walk(unit, read('00:03.0', 0x5555000n, {addressType: 'translated'}))
    expect(translated.ok && translated.outcome).toBe('pass-through')
    const denied = walk(unit, read('00:03.0', 0x1000n, {addressType: 'translation-request'}))
    expect(denied.outcome).toBe('ats-no-access')
  })

  it('pass-through (TT=10) returns the address unchanged', () => {
    const {b, unit} = legacy()
    b.attachPassThrough(0x08, 1)
    const r = walk(unit, write('00:01.0', 0x1234_5678_9abcn))
    expect(r.ok && r.outcome).toBe('pass-through')
    expect(r.ok && r.hpa).toBe(0x1234_5678_9abcn)
  })

  it('0x31: a PASID request on a legacy-mode unit', () => {
    expectFault(walk(legacy().unit, read('00:03.0', 0x1000n, {pasid: 1})), 0x31, 'request')
  })

  it('FPD keeps a fault out of the log', () => {
    const b = new TableBuilder(qemuCaps(), false)
    const domain = b.newDomain(2)
    b.attach(0x18, domain, {fpd: true})
    const r = walk(b.unit('dmar0', 'json'), read('00:03.0', 0x1000n))
    expect(r.outcome === 'fault' && r.recorded).toBe(false)
    const plain = walk(legacy().unit, read('00:03.0', 0x1000n))
    expect(plain.outcome === 'fault' && plain.recorded).toBe(true)
  })

  it('the interrupt window is not a DMA translation', () => {
    expect(walk(legacy().unit, write('00:03.0', 0xfee00000n)).outcome).toBe('interrupt-request')
  })

  it('a partial dump says unknown where it has no table, instead of a fault', () => {
    const memory = new SparseMemory(false)
    const caps = qemuCaps()
    const r = walk({name: 'dmar0', segment: 0, caps, rootTable: 0x1000, scalable: false, memory, source: 'debugfs', notes: []}, read('00:03.0', 0n))
    expect(r.outcome).toBe('unknown')
  })

  it('rejects requesters, addresses and PASIDs that cannot be, as data', () => {
    const {unit} = legacy()
    expect(walk(unit, read('not-a-bdf', 0n)).outcome).toBe('unknown')
    expect(walk(unit, read('00:03.0', 1n << 64n)).outcome).toBe('unknown')
    expect(walk(unit, read('00:03.0', 0n, {pasid: 0x100000})).outcome).toBe('unknown')
  })
})

describe('scalable mode walks', () => {
  it('second stage through root → context → PASID directory → PASID table', () => {
    const {b, domain, unit} = scalable('second')
    b.map(domain, {iova: 0x3200000n, hpa: 0x1_2340_0000n, size: 0x200000n})
    const r = walk(unit, read('00:03.0', 0x3301234n))
    expect(r.ok && r.hpa).toBe(0x1_2350_1234n)
    expect(r.steps.map((s) => s.kind)).toEqual(['scalable-root-entry', 'scalable-context-entry', 'pasid-directory-entry', 'pasid-table-entry', 'sl-pte', 'sl-pte'])
    expect(r.ok && r.did).toBe(3)
  })

  it('second-stage faults carry the legacy codes, as the lab kernel printed them', () => {
    const {unit} = scalable('second')
    expectFault(walk(unit, read('00:03.0', 0x3300000n)), 0x06, 'sl-pte', 3)
    expectFault(walk(unit, write('00:03.0', 0x3301000n)), 0x05, 'sl-pte', 3)
    expectFault(walk(unit, read('00:03.0', 1n << 40n)), 0x04, 'address-check')
  })

  it('first stage, 4-level, with 1 GiB pages when FS1GP', () => {
    const {b, domain, unit} = scalable('first')
    b.map(domain, {iova: 0x40000000n, hpa: 0x40000000n, size: 0x40000000n, write: false})
    const r = walk(unit, read('00:03.0', 0x7fffffffn))
    expect(r.ok && r.pageSize).toBe(1n << 30n)
    expect(r.steps.filter((s) => s.kind === 'fl-pte').map((s) => s.level)).toEqual([4, 3])
  })

  it('0x30 / 0x39 / 0x3A: the scalable root table and entry', () => {
    const {b, unit} = scalable()
    expectFault(walk({...unit, rootTable: 0x6000_0000}, read('00:03.0', 0n)), 0x30, 'scalable-root-entry')
    expectFault(walk(unit, read('07:00.0', 0n)), 0x39, 'scalable-root-entry')
    expectFault(walk(unit, read('00:10.0', 0n)), 0x39) // devfn 0x80: the upper half is not present
    const lo = b.memory.read64(b.rootTable) ?? 0n
    b.memory.write64(b.rootTable, lo | 0x4n)
    expectFault(walk(unit, read('00:03.0', 0n)), 0x3a)
  })

  it('0x40 / 0x41 / 0x42 / 0x43: the scalable context entry', () => {
    const {b, unit} = scalable()
    b.memory.writeWords(b.rootTable + 16, [0x6000_0000n | 1n, 0n])
    expectFault(walk(unit, read('01:00.0', 0n)), 0x40, 'scalable-context-entry')
    expectFault(walk(unit, read('00:05.0', 0n)), 0x41, 'scalable-context-entry')
    const ctx = b.contextEntryAddress(0x18)
    const lo = b.memory.read64(ctx) ?? 0n
    b.memory.write64(ctx, lo | 0x20n) // bit 5 reserved
    expectFault(walk(unit, read('00:03.0', 0n)), 0x42)
    const noDt = scalable('second', {...smCaps(), dt: false})
    noDt.b.setScalableContext(0x20, {dte: true})
    expectFault(walk(noDt.unit, read('00:04.0', 0n)), 0x43)
  })

  it('0x44 / 0x45 / 0x46 / 0x48: what the scalable context allows', () => {
    const {b, unit} = scalable()
    expectFault(walk(unit, read('00:03.0', 0n, {addressType: 'translation-request'})), 0x44)
    b.setScalableContext(0x20, {paside: false})
    expectFault(walk(unit, read('00:04.0', 0n, {pasid: 5})), 0x45)
    // PDTS=0: 2^7 directory entries cover PASIDs 0–8191.
    expectFault(walk(unit, read('00:03.0', 0n, {pasid: 8192})), 0x46)
    const noRps = scalable('second', {...smCaps(), rps: false})
    noRps.b.setScalableContext(0x28, {ridPasid: 5})
    expectFault(walk(noRps.unit, read('00:05.0', 0n)), 0x48)
  })

  it('0x50 / 0x51 / 0x52: the PASID directory', () => {
    const {b, unit} = scalable()
    expectFault(walk(unit, read('00:03.0', 0n, {pasid: 64})), 0x51, 'pasid-directory-entry')
    const dir = b.setScalableContext(0x18, {paside: true})
    b.memory.write64(dir, (b.memory.read64(dir) ?? 0n) | 0x4n)
    expectFault(walk(unit, read('00:03.0', 0n)), 0x52)
    const ctx = b.contextEntryAddress(0x20)
    b.memory.writeWords(ctx, [0x6000_0000n | 1n, 0n, 0n, 0n])
    expectFault(walk(unit, read('00:04.0', 0n)), 0x50)
  })

  it('0x58 / 0x59 / 0x5A / 0x5B / 0x5D: the PASID-table entry', () => {
    const {b, unit} = scalable()
    expectFault(walk(unit, read('00:03.0', 0n, {pasid: 1})), 0x59, 'pasid-table-entry')
    b.setPasidEntry(0x18, 2, {pgtt: 5, did: 9})
    expectFault(walk(unit, read('00:03.0', 0n, {pasid: 2})), 0x5b)
    b.setPasidEntry(0x18, 3, {pgtt: PGTT.secondStage, did: 9, aw: 1, ssptptr: 2 ** 40})
    expectFault(walk(unit, read('00:03.0', 0n, {pasid: 3})), 0x5a)
    b.setPasidEntry(0x18, 4, {pgtt: PGTT.secondStage, did: 9, aw: 1, ssptptr: 0x1000_0000, sre: false})
    expectFault(walk(unit, read('00:03.0', 0n, {pasid: 4, privileged: true})), 0x5d)
    const noPt = scalable('second', {...smCaps(), pt: false})
    noPt.b.setPasidEntry(0x18, 6, {pgtt: PGTT.passThrough, did: 1})
    expectFault(walk(noPt.unit, read('00:03.0', 0n, {pasid: 6})), 0x5b)
    const dir = b.setScalableContext(0x18, {paside: true})
    b.memory.write64(dir + 8, 0x6000_0000n | 1n) // directory entry 1 → a table that is not there
    expectFault(walk(unit, read('00:03.0', 0n, {pasid: 64})), 0x58)
  })

  it('PGTT=100 is pass-through', () => {
    const {b, unit} = scalable()
    b.attachPassThrough(0x20, 2)
    const r = walk(unit, read('00:04.0', 0xabc000n))
    expect(r.ok && r.outcome).toBe('pass-through')
  })

  it('0x70 / 0x71 / 0x72: first-stage entries', () => {
    const {b, domain, unit} = scalable('first')
    expectFault(walk(unit, read('00:03.0', 0x1000n)), 0x71, 'fl-pte', 4)
    b.memory.write64(domain.root, 0x6000_0000n | 0x27n)
    expectFault(walk(unit, read('00:03.0', 0x1000n)), 0x70, 'fl-pte', 3)
    const no1g = scalable('first', {...smCaps(), fs1gp: false})
    const l3 = no1g.b.slot(no1g.domain, 0x40000000n, 3)
    no1g.b.memory.write64(l3, 0x40000000n | 0x80n | 0x27n)
    expectFault(walk(no1g.unit, read('00:03.0', 0x40000000n)), 0x72, 'fl-pte', 3)
  })

  it('0x80 / 0x81 / 0x82 / 0x85 / 0x87: first-stage permissions and addresses', () => {
    const {b, domain, unit} = scalable('first')
    expectFault(walk(unit, read('00:03.0', 1n << 47n)), 0x80, 'address-check')
    b.map(domain, {iova: 0x5000n, hpa: 0x9000n, size: 0x1000n, write: false})
    expectFault(walk(unit, write('00:03.0', 0x5000n)), 0x85, 'fl-pte', 1)
    const leaf = b.slot(domain, 0x6000n, 1)
    b.memory.write64(leaf, 0xa000n | 0x23n) // P|RW|A, U/S=0: a supervisor page
    b.setPasidEntry(0x18, 7, {...b.pasidFieldsFor(domain), nxe: true})
    expectFault(walk(unit, read('00:03.0', 0x6000n, {pasid: 7})), 0x81, 'fl-pte', 1)
    const xd = b.slot(domain, 0x7000n, 1)
    b.memory.write64(xd, 0x8000_0000_0000_b067n)
    expectFault(walk(unit, {requester: '00:03.0', address: 0x7000n, access: 'exec', pasid: 7}), 0x82, 'fl-pte', 1)
    b.map(domain, {iova: 0x8000n, hpa: 0xfee00000n, size: 0x1000n})
    expectFault(walk(unit, read('00:03.0', 0x8000n)), 0x87, 'fl-pte', 1)
  })

  it('covers every reason code the model can produce', () => {
    expect([...seen].sort((a, b) => a - b)).toEqual([...WALK_REASON_CODES].sort((a, b) => a - b))
  })

  it('every code it produces is in the kernel\'s reason tables (src/decode/fault-reasons.ts)', () => {
    for (const code of WALK_REASON_CODES) expect(lookupFaultReason(code), `0x${code.toString(16)}`).toBeDefined()
    expect(reasonName(0x06)).toBe('PTE Read access is not set')
  })
})
