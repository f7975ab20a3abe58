/**
 * Arm SMMU fault lines: the SMMUv3 event head with its raw dwords (decoded as the kernel's
 * arm_smmu_decode_event reads them), the 6.15+ decoded line, and arm-smmu v1/v2 context faults in
 * mainline, Qualcomm and Tegra shapes; plus AMD-Vi's old split form through the byte path.
 */
import {describe, expect, it} from 'vitest'
import {LogParser, parseKernelLog, type LogRecord, type SmmuRecord} from '../src/decode/kernel-log/index.js'
import {decodeSmmuFsr} from '../src/decode/kernel-log/arm-smmu.js'

const smmu = (text: string): SmmuRecord[] => parseKernelLog(text).flatMap((r) => (r.type === 'smmu' ? [r] : []))
const byBytes = (text: string): LogRecord[] => {
  const p = new LogParser()
  const out: LogRecord[] = []
  p.pushText('', (r) => out.push(r), Buffer.from(text))
  return [...out, ...p.end()]
}
const V3 = (unit: string, id: string, dwords: string[]) => [`[ 5.0] arm-smmu-v3 ${unit}: event ${id} received:`, ...dwords.map((d) => `[ 5.0] arm-smmu-v3 ${unit}: \t${d}`)].join('\n')

describe('SMMUv3 events', () => {
  it('decodes StreamID, SubstreamID, read/write, stage, class and IOVA from the four dwords', () => {
    // id 0x10, SSV with SSID 5, SID 0x18; dword 1: RnW (bit 35), PnU (33), S2 (39), CLASS=2 (bits 41:40)
    const [r] = smmu(V3('arm-smmu-v3.0.auto', '0x10', ['0x0000001800005810', '0x0000028a00000000', '0x00000000fee01000', '0x0000000012345000']))
    expect(r).toMatchObject({family: 'arm-smmu-v3', unit: 'arm-smmu-v3.0.auto', event: 'F_TRANSLATION', eventId: 0x10, streamId: 0x18, substreamId: 5,
      access: 'read', privileged: true, stage2: true, instruction: false, stall: false, eventClass: 'Input address caused fault', address: 0xfee01000n, ipa: 0x12345000n})
    expect(r?.raw).toHaveLength(4)
    expect(r?.line).toBe(1)
    // a write (RnW clear), stage 1, no substream
    const [w] = smmu(V3('fc900000.iommu', '0x13', ['0x0000000100000013', '0x0000010000000000', '0x0000000000002000', '0x0']))
    expect(w).toMatchObject({event: 'F_PERMISSION', streamId: 1, access: 'write', stage2: false, address: 0x2000n})
    expect(w?.substreamId).toBeUndefined()
  })

  it('C_BAD_STREAMID carries only its StreamID; an unknown event ID is named by its number', () => {
    const [bad] = smmu(V3('arm-smmu-v3.0.auto', '0x02', ['0x0000001000000002', '0x0000000000000000', '0x0000000000000000', '0x0000000000000000']))
    expect(bad).toMatchObject({event: 'C_BAD_STREAMID', streamId: 0x10})
    expect(bad?.address).toBeUndefined()
    expect(bad?.meaning).toMatch(/no stream table entry/)
    const [odd] = smmu(V3('x.iommu', '0xe3', ['0x00000002000000e3', '0x0', '0x0', '0x0']))
    expect(odd).toMatchObject({event: '0xe3', streamId: 2})
  })

  it('6.15+: the decoded line completes the held event with its client; alone it makes its own record', () => {
    const log = V3('arm-smmu-v3.0.auto', '0x10', ['0x0000000800000010', '0x0000020800000000', '0x0000000000001000', '0x0000000000000000'])
      + '\n[ 5.0] arm-smmu-v3 arm-smmu-v3.0.auto: event: F_TRANSLATION client: 0000:00:01.0 sid: 0x8 ssid: 0 iova: 0x1000 ipa: 0'
      + '\n[ 5.0] arm-smmu-v3 arm-smmu-v3.0.auto: unpriv data read s1 "Input address caused fault" stag: 0'
    const recs = parseKernelLog(log)
    expect(recs).toHaveLength(1)
    expect(recs[0]).toMatchObject({type: 'smmu', client: '0000:00:01.0', streamId: 8, address: 0x1000n, access: 'read'})
    const [alone] = smmu('arm-smmu-v3 arm-smmu-v3.0.auto: event: C_BAD_STREAMID client: (unassigned sid) sid: 0x20 ssid: 0')
    expect(alone).toMatchObject({event: 'C_BAD_STREAMID', eventId: 2, streamId: 0x20})
    expect(alone?.client).toBeUndefined()
    expect(byBytes(log).map((r) => r.type)).toEqual(['smmu'])
  })

  it('a head whose dwords never came is still emitted, with what it had', () => {
    const recs = parseKernelLog('[ 5.0] arm-smmu-v3 arm-smmu-v3.0.auto: event 0x10 received:\n[ 6.0] unrelated')
    expect(recs).toMatchObject([{type: 'smmu', event: 'F_TRANSLATION', raw: []}])
  })
})

describe('arm-smmu v1/v2 context faults', () => {
  it('mainline: FSR bits, WNR from FSYNR0, StreamID from CBFRSYNRA, context bank', () => {
    const [r] = smmu('[ 9.1] arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402, iova=0x00001000, fsynr=0x300011, cbfrsynra=0x1c00, cb=3')
    expect(r).toMatchObject({family: 'arm-smmu', unit: '15000000.iommu', event: 'context-fault', fsr: 0x402, fsrBits: ['TF'], address: 0x1000n,
      access: 'write', cbfrsynra: 0x1c00, streamId: 0x1c00, contextBank: 3})
  })

  it('older and forked shapes: no cbfrsynra (4.x), Tegra\'s decimal sid=', () => {
    const [old] = smmu('arm-smmu 2b500000.iommu: Unhandled context fault: fsr=0x8, iova=0xffd00000, fsynr=0x0, cb=0')
    expect(old).toMatchObject({fsrBits: ['PF'], access: 'read', contextBank: 0})
    expect(old?.streamId).toBeUndefined()
    const [tegra] = smmu('arm-smmu 12000000.iommu: Unhandled context fault: iova=0x17fe0fe00, fsynr=0x220003, cb=21, sid=17(0x11 - AFI), pgd=25bec9003, pud=25bec9003, pmd=235086003, pte=0')
    expect(tegra).toMatchObject({streamId: 17, address: 0x17fe0fe00n, contextBank: 21})
  })

  it('FSR decoding names every fault bit; "Blocked unknown Stream ID" is its own event', () => {
    expect(decodeSmmuFsr(0x80000012).bits).toEqual(['TF', 'EF', 'MULTI'])
    expect(decodeSmmuFsr(0).meaning).toMatch(/no fault-type bit/)
    const [usf] = smmu('arm-smmu 5040000.iommu: Blocked unknown Stream ID 0x2a; boot with "arm-smmu.disable_bypass=0" to allow, but this is unsafe')
    expect(usf).toMatchObject({event: 'unknown-stream', streamId: 0x2a})
  })
})

describe('AMD-Vi split form through the byte prefilter', () => {
  it('the event line without a keyword is read as its head\'s continuation, in both paths', () => {
    const log = 'kernel: [   13.134460] AMD-Vi: Event logged [\nkernel: [   13.137925] INVALID_DEVICE_REQUEST device=00:00.1 address=0x000000fdf8000020 flags=0x0a00]\nnoise\n'
    const line = parseKernelLog(log)
    expect(line).toMatchObject([{type: 'amd-vi', event: 'INVALID_DEVICE_REQUEST', device: '0000:00:00.1', splitForm: true, line: 2}])
    const strip = (r: LogRecord) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))
    expect(byBytes(log).map(strip)).toEqual(line.map(strip))
    // a head with nothing after it says nothing (no unparsed fragment)
    expect(parseKernelLog('AMD-Vi: Event logged [')).toEqual([])
  })
})

describe('arm-smmu v1/v2 global faults (the GFSR line)', () => {
  // Real lines: sc7180 QUP (linux-arm-kernel, 2020) and Xen on Juno (xen-devel, 2021), in test/fixtures/fault-cases.
  it('an unidentified stream (GFSR.USF) is an unknown stream, the StreamID from GFSYNR1', () => {
    const [r] = smmu('arm-smmu 15000000.iommu: Unexpected global fault, this could be serious\narm-smmu 15000000.iommu: GFSR 0x00000002, GFSYNR0 0x00000002, GFSYNR1 0x000004c3, GFSYNR2 0x00000000')
    expect(r).toMatchObject({family: 'arm-smmu', unit: '15000000.iommu', event: 'unknown-stream', streamId: 0x4c3, access: 'write', fsrBits: ['USF']})
  })

  it("a stream-match conflict (GFSR.SMCF), in Xen's prefix; other global faults stay global", () => {
    const [c] = smmu('(XEN) smmu: /iommu@7fb30000: \tGFSR 0x00000004, GFSYNR0 0x00000006, GFSYNR1 0x00000000, GFSYNR2 0x00000000')
    expect(c).toMatchObject({unit: '/iommu@7fb30000', event: 'stream-match-conflict', streamId: 0, fsrBits: ['SMCF']})
    const [g] = smmu('arm-smmu 2b400000.smmu: \tGFSR 0x80000001, GFSYNR0 0x00000000, GFSYNR1 0x00000010, GFSYNR2 0x00000000')
    expect(g).toMatchObject({event: 'global-fault', fsrBits: ['ICF', 'MULTI'], access: 'read'})
  })
})

describe('the global-fault head line', () => {
  it('joins its register line into one record (line of the head), and alone still counts as a global fault', () => {
    const both = parseKernelLog('[ 3.1] arm-smmu 15000000.iommu: Unexpected global fault, this could be serious\n[ 3.1] arm-smmu 15000000.iommu: GFSR 0x00000002, GFSYNR0 0x00000002, GFSYNR1 0x00000043, GFSYNR2 0x00000000\n')
    expect(both).toHaveLength(1)
    expect(both[0]).toMatchObject({type: 'smmu', event: 'unknown-stream', streamId: 0x43, line: 1})
    const alone = parseKernelLog('arm-smmu 15000000.iommu: Unexpected global fault, this could be serious\nusb 1-1: new device\n')
    expect(alone).toHaveLength(1)
    expect(alone[0]).toMatchObject({type: 'smmu', event: 'global-fault', unit: '15000000.iommu'})
    expect(byBytes('arm-smmu 15000000.iommu: Unexpected global fault, this could be serious\n')).toMatchObject([{type: 'smmu', event: 'global-fault'}])
  })
})

describe('pasted and interleaved SMMU lines (real excerpts in test/fixtures/fault-cases: smmuv3-hpre-…, smmuv3-iommu-dma-…, smmu-stmmac-…)', () => {
  const pushed = (text: string): LogRecord[] => {
    const p = new LogParser()
    return [...text.split('\n').flatMap((l) => p.push(l)), ...p.end()]
  }
  const paths = (text: string) => [parseKernelLog(text), byBytes(text), pushed(text)].map((rs) => rs.filter((r): r is SmmuRecord => r.type === 'smmu'))

  it('an SMMUv3 event keeps its dwords when other lines (no IOMMU keyword) come between them', () => {
    const log = ['arm-smmu-v3 arm-smmu-v3.1.auto: event 0x10 received:', 'dh: Party A: generate public key test failed. err -22',
      'arm-smmu-v3 arm-smmu-v3.1.auto:  0x0000790000000010', 'arm-smmu-v3 arm-smmu-v3.1.auto:  0x0000120800000080', 'hpre-dh self test failed',
      'arm-smmu-v3 arm-smmu-v3.1.auto:  0x0000000000000040', 'arm-smmu-v3 arm-smmu-v3.1.auto:  0x0000000000000000', 'hisi_hpre 0000:79:00.0: Controller resetting...'].join('\n')
    for (const rs of paths(log)) {
      expect(rs).toHaveLength(1)
      expect(rs[0]).toMatchObject({event: 'F_TRANSLATION', streamId: 0x7900, access: 'read', address: 0x40n, line: 1})
    }
  })

  it('but not dwords far after their head, nor another unit\'s', () => {
    const far = ['arm-smmu-v3 a.iommu: event 0x10 received:', ...Array.from({length: 20}, (_, i) => `filler ${i}`), 'arm-smmu-v3 a.iommu:  0x0000000800000010'].join('\n')
    for (const rs of paths(far)) {
      expect(rs).toHaveLength(1)
      expect(rs[0]!.streamId).toBeUndefined()
    }
    const other = ['arm-smmu-v3 a.iommu: event 0x10 received:', 'arm-smmu-v3 b.iommu:  0x0000000800000010'].join('\n')
    for (const rs of paths(other)) expect(rs[0]?.streamId).toBeUndefined()
  })

  it('a dword pasted as two 32-bit halves ("0x00000180 00000010") is one dword', () => {
    const log = ['> [  196.747107] arm-smmu-v3 arm-smmu-v3.0.auto: event 0x10 received:', '> [  196.747109] arm-smmu-v3 arm-smmu-v3.0.auto: 0x00000180 00000010',
      '> [  196.747110] arm-smmu-v3 arm-smmu-v3.0.auto: 0x0000020100000000', '> [  196.747111] arm-smmu-v3 arm-smmu-v3.0.auto: 0x00000000ffffe040'].join('\n')
    for (const rs of paths(log)) expect(rs).toMatchObject([{streamId: 0x180, access: 'write', address: 0xffffe040n}])
  })

  it('a context-fault line wrapped after "fsr=0x402," (or before its comma) is one record with its IOVA', () => {
    for (const log of ['> arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402,\n> iova=0xfc401000, fsynr=0x60003, cbfrsynra=0x121, cb=38',
      '[  157.563136] arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402\n,iova=0xd65504710, fsynr=0x100011, cbfrsynra=0x0, cb=6']) {
      for (const rs of paths(log)) {
        expect(rs).toHaveLength(1)
        expect(rs[0]!.address).toBeDefined()
        expect(rs[0]!.contextBank).toBeDefined()
      }
    }
    expect(paths('arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402,\niova=0xfc401000, fsynr=0x60003, cbfrsynra=0x121, cb=38')[0]![0])
      .toMatchObject({fsr: 0x402, address: 0xfc401000n, access: 'read', streamId: 0x121, contextBank: 38, line: 1})
  })

  it('a context-fault line cut after its fsr, with no continuation, still counts (without an IOVA)', () => {
    for (const log of ['arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402,\nusb 1-1: new device', 'arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402,']) {
      for (const rs of paths(log)) {
        expect(rs).toHaveLength(1)
        expect(rs[0]).toMatchObject({fsr: 0x402, fsrBits: ['TF']})
        expect(rs[0]!.address).toBeUndefined()
      }
    }
  })

  it('a decoded event that came without its dwords takes read or write from its attribute line', () => {
    const log = ['  arm-smmu-v3 fc900000.iommu: event: F_TRANSLATION client: 0000:01:00.0 sid: 0x100 ssid: 0x0 iova: 0x90000f040 ipa: 0x0',
      '  arm-smmu-v3 fc900000.iommu: unpriv data write s1 "Input address caused fault" stag: 0x0'].join('\n')
    for (const rs of paths(log)) expect(rs).toMatchObject([{client: '0000:01:00.0', address: 0x90000f040n, access: 'write', privileged: false, stage2: false}])
    // alone it is still the event, access unknown
    for (const rs of paths(log.split('\n')[0]!)) {
      expect(rs).toMatchObject([{client: '0000:01:00.0'}])
      expect(rs[0]!.access).toBeUndefined()
    }
  })
})
