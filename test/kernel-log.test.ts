/**
 * Every real excerpt in test/fixtures/real/dmesg parses exactly as its contents say. The expected
 * records (test/fixtures/dmesg/expected/<name>.json) were written by reading each log, not by
 * copying parser output. Shapes with no real excerpt are checked against the format strings in
 * vtd-reference §5 (and Xen's vtd/iommu.c), one line each.
 */
import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {LogParser, parseKernelLog, type LogRecord} from '../src/decode/kernel-log/index.js'
import {realData} from './support/paths.js'

const repoRoot = path.resolve(import.meta.dirname, '..')
const dataDir = path.join(realData, 'dmesg')
const expectedDir = path.join(repoRoot, 'test/fixtures/dmesg/expected')

const hex = (v: bigint) => '0x' + v.toString(16)

/** The fields a fixture asserts, per record type (everything a reader can check in the log). */
function project(r: LogRecord): Record<string, unknown> {
  const base = {type: r.type, line: r.line, time: r.time?.text ?? null}
  switch (r.type) {
    case 'fault': {
      const o: Record<string, unknown> = {...base, kind: r.kind, requester: r.requester, requesterAsLogged: r.requesterAsLogged,
        reason: r.reason ?? null, reasonText: r.reasonText, format: r.format}
      if (r.access) o.access = r.access
      if (r.address !== undefined) o.address = hex(r.address)
      if (r.index !== undefined) o.index = hex(r.index)
      if (r.pasid !== undefined) o.pasid = r.pasid
      return o
    }
    case 'fault-status':
      return {...base, value: r.value.toString(16), recordIndex: r.recordIndex, overflow: r.overflow}
    case 'suppressed':
      return {...base, source: r.source, count: r.count}
    case 'qi': {
      const o: Record<string, unknown> = {...base, event: r.event}
      if (r.sid !== undefined) o.sid = r.sid
      if (r.reasonCode !== undefined) o.reasonCode = r.reasonCode
      if (r.position !== undefined) o.position = r.position
      if (r.descriptor !== undefined) o.descriptor = r.descriptor
      if (r.qw0 !== undefined) o.qw0 = hex(r.qw0)
      if (r.qw1 !== undefined) o.qw1 = hex(r.qw1)
      if (r.error !== undefined) o.error = r.error
      return o
    }
    case 'rmrr': {
      const o: Record<string, unknown> = {...base, base: hex(r.base), end: hex(r.end), source: r.source}
      if (r.device) o.device = r.device
      return o
    }
    case 'rmrr-refusal':
      return {...base, driver: r.driver, device: r.device, form: r.form}
    case 'group':
      return {...base, device: r.device, group: r.group}
    case 'domain-type':
      return {...base, domainType: r.domainType}
    case 'ir-state':
      return {...base, state: r.state}
    case 'walk-dump': {
      const o: Record<string, unknown> = {...base, step: r.step}
      if (r.unit) o.unit = r.unit
      if (r.iova !== undefined) o.iova = hex(r.iova)
      return o
    }
    case 'amd-vi': {
      const o: Record<string, unknown> = {...base, event: r.event, device: r.device}
      if (r.address !== undefined) o.address = hex(r.address)
      if (r.flags !== undefined) o.flags = '0x' + r.flags.toString(16).padStart(4, '0')
      return o
    }
    case 'prq':
      return {...base, unit: r.unit, event: r.event}
    case 'unparsed':
      return {...base, why: r.why}
    case 'iommu-ready':
      return base
    case 'context':
      return r.detail === undefined ? {...base, event: r.event} : {...base, event: r.event, detail: r.detail}
  }
}

const logs = readdirSync(dataDir).filter((f) => f.endsWith('.log')).sort()

describe('real kernel-log excerpts', () => {
  it('has an expected-records fixture for every excerpt', () => {
    const fixtures = readdirSync(expectedDir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '.log')).sort()
    expect(logs.length).toBeGreaterThanOrEqual(33)
    expect(fixtures).toEqual(logs)
  })

  for (const file of logs) {
    it(`parses ${file} exactly as written`, () => {
      const expected = JSON.parse(readFileSync(path.join(expectedDir, file.replace(/\.log$/, '.json')), 'utf8')) as {records: unknown[]}
      const actual = parseKernelLog(readFileSync(path.join(dataDir, file), 'utf8')).map(project)
      expect(actual).toEqual(expected.records)
    })
  }

  it('never reads an AMD-Vi event as an Intel fault', () => {
    for (const file of logs.filter((f) => f.includes('amdvi'))) {
      const records = parseKernelLog(readFileSync(path.join(dataDir, file), 'utf8'))
      expect(records.some((r) => r.type === 'fault')).toBe(false)
      expect(records.filter((r) => r.type === 'amd-vi').every((r) => r.type === 'amd-vi' && r.device !== undefined && r.meaning.length > 0)).toBe(true)
    }
  })
})

function one(line: string): LogRecord {
  const recs = parseKernelLog(line)
  expect(recs).toHaveLength(1)
  return recs[0]!
}

describe('shapes from the format strings (no real excerpt)', () => {
  it('5.14+ PASID tag with a hex PASID', () => {
    const r = one('[ 12.5] DMAR: [DMA Write PASID 0x2] Request device [3a:00.1] fault addr 0x7ff000 [fault reason 0x85] SM: No write permission for Write/AtomicOp request')
    expect(r).toMatchObject({type: 'fault', kind: 'dma', access: 'write', pasid: 2, requester: '0000:3a:00.1', reason: 0x85, format: 'pasid-tag', address: 0x7ff000n})
  })

  it('decides the radix per line: decimal 34 equals hex 0x22', () => {
    const old = one('DMAR: [INTR-REMAP] Request device [00:1f.0] fault index 2 [fault reason 34] Present field in the IRTE entry is clear')
    const neu = one('DMAR: [INTR-REMAP] Request device [00:1f.0] fault index 0x2 [fault reason 0x22] Present field in the IRTE entry is clear')
    expect(old).toMatchObject({reason: 0x22, index: 2n, reasonRadix: 10})
    expect(neu).toMatchObject({reason: 0x22, index: 2n, reasonRadix: 16})
  })

  it('3.x two-line interrupt fault with the doubled "[["', () => {
    const recs = parseKernelLog('[  5.1] dmar: INTR-REMAP: Request device [[00:1f.7] fault index 1c\n[  5.1] INTR-REMAP:[fault reason 38] Blocked an interrupt request due to source-id verification failure\n')
    expect(recs).toHaveLength(1)
    expect(recs[0]).toMatchObject({type: 'fault', kind: 'interrupt', requester: '0000:00:1f.7', index: 0x1cn, reason: 0x26, format: 'two-line', line: 1})
  })

  it('Xen: segment printed, reason in hex on the second line', () => {
    const recs = parseKernelLog([
      '(XEN) [VT-D]DMAR:[DMA Read] Request device [0001:00:02.0] fault addr 7fc00000, iommu reg = ffff82c000201000',
      '(XEN) [VT-D]DMAR: reason 06 - PTE Read access is not set',
    ].join('\n'))
    expect(recs).toHaveLength(1)
    expect(recs[0]).toMatchObject({type: 'fault', requester: '0001:00:02.0', segmentPrinted: true, reason: 6, reasonRadix: 16, format: 'xen', address: 0x7fc00000n})
    const ten = parseKernelLog('(XEN) [VT-D]INTR-REMAP: Request device [0000:00:1f.0] fault index 3\n(XEN) [VT-D]INTR-REMAP: reason 10 - should read as hex\n')
    expect(ten[0]).toMatchObject({kind: 'interrupt', reason: 0x10})
  })

  it('a two-line head without its tail is reported, not lost', () => {
    const recs = parseKernelLog('DMAR:[DMA Write] Request device [00:02.0] fault addr 1000 \nsomething else entirely\n')
    expect(recs).toHaveLength(1)
    expect(recs[0]).toMatchObject({type: 'fault', reasonText: '<missing "fault reason" line>', address: 0x1000n})
    expect(recs[0]!.type === 'fault' && recs[0]!.reason === undefined).toBe(true)
  })

  it('an unknown code (0x27) printed in the DMA form', () => {
    expect(one('DMAR: [DMA Read NO_PASID] Request device [00:14.0] fault addr 0x0 [fault reason 0x27] Unknown')).toMatchObject({kind: 'dma', reason: 0x27, reasonText: 'Unknown'})
  })

  it('splits messages glued onto an unterminated QI line', () => {
    const recs = parseKernelLog('[  3.0] DMAR: VT-d detected Invalidation Time-out Error: SID 300DMAR: DRHD: handling fault status reg 40')
    expect(recs.map((r) => r.type)).toEqual(['qi', 'fault-status'])
    expect(recs[0]).toMatchObject({event: 'timeout', sid: '0000:03:00.0'})
    expect(recs[1]).toMatchObject({ite: true})
  })

  it('pre-5.13 invalid-descriptor lines, PRQ errors and the 6.6+ 1:1 refusal', () => {
    expect(one('DMAR: VT-d detected invalid descriptor: low=2000000000000011, high=0')).toMatchObject({type: 'qi', event: 'invalid-descriptor', qw0: 0x2000000000000011n})
    expect(one('DMAR: dmar1: Invalid page request: 0000000000001234 0000000000000000')).toMatchObject({type: 'prq', unit: 'dmar1', event: 'invalid-request'})
    expect(one('DMAR: IOMMU: dmar0: PRQ overflow detected')).toMatchObject({type: 'prq', event: 'overflow'})
    expect(one('vfio-pci 0000:00:14.0: Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without a 1:1 mapping. Contact your platform vendor.'))
      .toMatchObject({type: 'rmrr-refusal', form: 'require-direct', device: '0000:00:14.0', driver: 'vfio-pci'})
  })

  it('accepts level markers, dmesg -x, ISO journal stamps and serial CRLF', () => {
    expect(one('<3>[   7.25] DMAR: DRHD: handling fault status reg 2')).toMatchObject({type: 'fault-status', time: {seconds: 7.25}})
    expect(one('kern  :err   : [   7.25] DMAR: DRHD: handling fault status reg 3')).toMatchObject({overflow: true})
    const iso = one('2024-01-09T10:03:12.035211+01:00 host kernel: DMAR: DRHD: handling fault status reg 2')
    expect(iso.time).toMatchObject({style: 'iso', seconds: Date.parse('2024-01-09T09:03:12.035211Z') / 1000})
    expect(one('[   1.000000] DMAR: DRHD: handling fault status reg 2\r')).toMatchObject({type: 'fault-status', value: 2})
  })

  it('journalctl -k -o short-monotonic: stamp, host, "kernel:"', () => {
    expect(one('[    2.268808] lab kernel: DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0x12345000 [fault reason 0x06] PTE Read access is not set'))
      .toMatchObject({type: 'fault', requester: '0000:00:03.0', address: 0x12345000n, time: {text: '2.268808', style: 'monotonic'}})
  })

  it('dmesg -H: anchors and deltas add up, even across skipped lines', () => {
    const p = new LogParser()
    p.push('[Nov24 10:00] some boot line')
    p.push('[  +1,500000] unrelated')
    const [rec] = p.push('[  +0,250000] DMAR: DRHD: handling fault status reg 2')
    const anchor = p.push('[Nov24 10:00] DMAR: DRHD: handling fault status reg 2')[0]!
    expect(rec!.time!.seconds! - anchor.time!.seconds!).toBeCloseTo(1.75, 6)
  })

  it('skips lines no shape knows, but reports fault-looking ones', () => {
    expect(parseKernelLog('[ 1.0] usb 1-1: new high-speed USB device\n[ 2.0] DMAR: IOMMU enabled\n')).toEqual([])
    expect(one('DMAR: [DMA Sideways] Request device [zz:02.0] fault addr 1 [fault reason 06] ?')).toMatchObject({type: 'unparsed'})
  })
})

describe('real Xen excerpts (test/fixtures/dmesg/xen, from xen-devel)', () => {
  const xen = (name: string) => parseKernelLog(readFileSync(path.join(repoRoot, 'test/fixtures/dmesg/xen', name), 'utf8'))

  it('XSA-321 backport mail: segment printed, hex reason on the second line', () => {
    const recs = xen('xsa321-backport-usb.log')
    expect(recs.map(project)).toEqual([{type: 'fault', line: 1, time: null, kind: 'dma', requester: '0000:00:14.0', requesterAsLogged: '0000:00:14.0',
      reason: 6, reasonText: 'PTE Read access is not set', format: 'xen', access: 'read', address: '0x38600000'}])
  })

  it('Xen 4.12 iGPU mail: heads whose reason lines were rate-limited away are kept as incomplete faults', () => {
    const recs = xen('xen412-igfx.log')
    expect(recs.map(project)).toEqual([
      {type: 'fault', line: 2, time: null, kind: 'dma', requester: '0000:00:02.0', requesterAsLogged: '0000:00:02.0', reason: null,
        reasonText: '<missing "fault reason" line>', format: 'xen', access: 'read', address: '0x8e43c000'},
      {type: 'fault', line: 4, time: null, kind: 'dma', requester: '0000:00:02.0', requesterAsLogged: '0000:00:02.0', reason: null,
        reasonText: '<missing "fault reason" line>', format: 'xen', access: 'read', address: '0x8e2c6000'},
    ])
  })
})

describe('real 4.2 two-line interrupt-remapping fault (test/fixtures/dmesg/more)', () => {
  it('joins "[[f0:1f.0] fault index 0" with the unstamped "INTR-REMAP:[fault reason 37]" line', () => {
    const recs = parseKernelLog(readFileSync(path.join(repoRoot, 'test/fixtures/dmesg/more/alienware15r2-ir-twoline-k4.2.log'), 'utf8'))
    expect(recs.map(project)).toEqual([
      {type: 'ir-state', line: 3, time: '0.057566', state: 'x2apic-opt-out'},
      {type: 'fault-status', line: 5, time: '0.057767', value: '2', recordIndex: 0, overflow: false},
      {type: 'fault', line: 6, time: '0.057770', kind: 'interrupt', requester: '0000:f0:1f.0', requesterAsLogged: 'f0:1f.0', reason: 0x25,
        reasonText: 'Blocked a compatibility format interrupt request', format: 'two-line', index: '0x0'},
      {type: 'ir-state', line: 8, time: '0.058974', state: 'xapic'},
    ])
  })
})
