/**
 * CAP/ECAP/VER decoding and boot-line parsing against real kernel logs in test/fixtures/real.
 * Expected values were worked out by hand from the bit tables in vtd-reference §2.2–2.3
 * (the working is in the comments), not copied from the decoder's output.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeCap, decodeEcap, decodeVersion, featureNames, unitsFromLog} from '../src/decode/vtd-registers.js'
import {realData} from './support/paths.js'

const log = (name: string): string => readFileSync(path.join(realData, name), 'utf8')

describe('decodeCap', () => {
  it('Skylake-era iGPU unit cap d2008c40660462', () => {
    // low 0x40660462: ND=2 (256), PLMR/PHMR=1, CM=0, SAGAW=0x04 (48-bit), MGAW=0x26 (39 bits), ZLR=1
    // FRO: bits 31:24 = 0x40 -> 0x400 bytes; high 0x00d2008c: SLLPS=(0x8c>>2)&0xf=3, PSI=1, NFR=0,
    // MAMV=0xd2&0x3f=18, DWD=DRD=1
    const cap = decodeCap(0xd2008c40660462n)
    expect(cap.domains).toBe(256)
    expect(cap.cachingMode).toBe(false)
    expect(cap.sagaw).toEqual({value: 4, widths: [48], levels: [4]})
    expect(cap.mgaw).toBe(39)
    expect(cap.faultRecordOffset).toBe(0x400)
    expect(cap.faultRecords).toBe(1)
    expect(cap.superpages).toEqual(['2MiB', '1GiB'])
    expect(cap.pageSelectiveInvalidation).toBe(true)
    const field = (k: string): number | undefined => cap.fields.find((f) => f.key === k)?.value
    expect(field('mamv')).toBe(18)
    expect(field('zlr')).toBe(1)
    expect(field('plmr')).toBe(1)
    expect(field('dwd')).toBe(1)
    expect(field('drd')).toBe(1)
    expect(field('pi')).toBe(0)
  })

  it('Sapphire Rapids cap 19ed008c40780c66 (5-level, posted interrupts)', () => {
    // ND=6 (65536); SAGAW=0x0c (48 and 57 bit); MGAW=0x38 (57 bits);
    // high 0x19ed008c: bits 63:56 = 0x19 -> FS1GP(56)=1, PI(59)=1, FS5LP(60)=1
    const cap = decodeCap(0x19ed008c40780c66n)
    expect(cap.domains).toBe(65536)
    expect(cap.sagaw.widths).toEqual([48, 57])
    expect(cap.sagaw.levels).toEqual([4, 5])
    expect(cap.mgaw).toBe(57)
    expect(cap.postedInterrupts).toBe(true)
    expect(cap.firstStage1GiB).toBe(true)
    expect(cap.firstStage5Level).toBe(true)
    expect(cap.superpages).toEqual(['2MiB', '1GiB'])
  })

  it('old Ironlake-era cap c0000020e60262 (39-bit, no superpages, ISOCH)', () => {
    const cap = decodeCap(0xc0000020e60262n)
    expect(cap.sagaw.widths).toEqual([39])
    expect(cap.mgaw).toBe(39)
    expect(cap.superpages).toEqual([])
    expect(cap.faultRecordOffset).toBe(0x200)
    expect(cap.fields.find((f) => f.key === 'isoch')?.value).toBe(1)
  })

  it('CM=1 (bit 7) is caching mode, the emulated-IOMMU marker', () => {
    expect(decodeCap(0x80n).cachingMode).toBe(true)
    expect(decodeCap(0x7fn).cachingMode).toBe(false)
  })

  it('fields carry their bit ranges', () => {
    const sagaw = decodeCap(0n).fields.find((f) => f.key === 'sagaw')
    expect(sagaw?.bits).toBe('12:8')
  })
})

describe('decodeEcap', () => {
  it('ecap f050da: QI IR EIM PT SC, IRO 0x500, no DT', () => {
    // 0xda = 1101_1010: C=0 QI=1 DT=0 IR=1 EIM=1 PT=1 SC=1; IRO=(0xf050da>>8)&0x3ff=0x50
    const ecap = decodeEcap(0xf050dan)
    expect(ecap.coherent).toBe(false)
    expect(ecap.queuedInvalidation).toBe(true)
    expect(ecap.deviceTlb).toBe(false)
    expect(ecap.interruptRemapping).toBe(true)
    expect(ecap.extendedInterruptMode).toBe(true)
    expect(ecap.passThrough).toBe(true)
    expect(ecap.snoopControl).toBe(true)
    expect(ecap.iotlbRegisterOffset).toBe(0x500)
    expect(ecap.scalableMode).toBe(false)
    expect(ecap.pasid).toBe(false)
    expect(ecap.pasidBits).toBeUndefined()
  })

  it('Sapphire Rapids ecap 3ee9e86f050df: scalable mode, first and second stage', () => {
    // low 0x86f050df: C QI DT IR EIM PT SC all 1; bits 31:24 0x86 -> MTS, NEST, SRS
    // high 0x3ee9e: NWFS(33) EAFS(34), PSS=(0x3ee9e>>3)&0x1f=19, PASID(40)=0, DIT PDS SMTS(43),
    // SLADS(45) SLTS(46) FLTS(47) SMPWCS(48) RPS(49)
    const ecap = decodeEcap(0x3ee9e86f050dfn)
    expect(ecap.coherent).toBe(true)
    expect(ecap.deviceTlb).toBe(true)
    expect(ecap.nested).toBe(true)
    expect(ecap.scalableMode).toBe(true)
    expect(ecap.firstStage).toBe(true)
    expect(ecap.secondStage).toBe(true)
    expect(ecap.dirtyTracking).toBe(true)
    expect(ecap.pasid).toBe(false)
    expect(ecap.pageRequests).toBe(false)
    const field = (k: string): number | undefined => ecap.fields.find((f) => f.key === k)?.value
    expect(field('pss')).toBe(19)
    expect(field('rps')).toBe(1)
    expect(field('smpwcs')).toBe(1)
    expect(field('srs')).toBe(1)
    expect(field('mts')).toBe(1)
  })

  it('PASID width is PSS+1 when PASID (bit 40) is set', () => {
    const ecap = decodeEcap((1n << 40n) | (19n << 35n))
    expect(ecap.pasid).toBe(true)
    expect(ecap.pasidBits).toBe(20)
  })

  it('featureNames lists what is present', () => {
    expect(featureNames(decodeCap(0xd2008c40660462n), decodeEcap(0xf050dan))).toEqual(['2MiB', '1GiB', 'QI', 'IR', 'EIM', 'PT', 'SC'])
  })
})

describe('decodeVersion', () => {
  it('reads the register and the text forms', () => {
    expect(decodeVersion(0x10)).toEqual({major: 1, minor: 0})
    expect(decodeVersion('6:0')).toEqual({major: 6, minor: 0})
    expect(decodeVersion('garbage')).toBeUndefined()
  })
})

describe('unitsFromLog on real kernel logs', () => {
  it('≥4.2 form with timestamps (Sapphire Rapids, six units)', () => {
    const units = unitsFromLog(log('dmesg/spr-boot-scalable-k6.x-1.log'))
    expect(units.map((u) => u.name)).toEqual(['dmar0', 'dmar1', 'dmar2', 'dmar3', 'dmar4', 'dmar5'])
    expect(units[0]?.registerBase).toBe(0xd97fc000n)
    expect(units[5]?.registerBase).toBe(0xd13fc000n)
    expect(units.every((u) => u.version === '6:0' && u.cap === 0x19ed008c40780c66n && u.ecap === 0x3ee9e86f050dfn)).toBe(true)
  })

  it('3.x form "dmar: IOMMU 0:" (kernel 4.0 log from the Arch wiki)', () => {
    const units = unitsFromLog(log('dmesg/arch-wiki-boot-k4.0-1.log'))
    expect(units.map((u) => [u.name, u.registerBase, u.cap, u.ecap])).toEqual([
      ['dmar0', 0xfed90000n, 0xc0000020660462n, 0xf0101an],
      ['dmar1', 0xfed91000n, 0xd2008c20660462n, 0xf010dan],
    ])
  })

  it('journal form with a localised date prefix', () => {
    const units = unitsFromLog(log('dmesg/terra-rmrr-journal-k6.11-1.log'))
    expect(units.map((u) => u.ecap)).toEqual([0x7e3ff0501en, 0xf050dan])
  })

  it('dmesg -H relative timestamps ([  +0,000006])', () => {
    const units = unitsFromLog(log('dmesg/terra-rmrr-dmesgH-k6.1-1.log'))
    expect(units).toHaveLength(2)
  })

  it('four-unit Skylake-X log from the pci data set', () => {
    const units = unitsFromLog(log('pci/x299-taichi-xe-i9-7920x-dmesg.txt'))
    expect(units.map((u) => u.registerBase)).toEqual([0xb5ffc000n, 0xd8ffc000n, 0xfbffc000n, 0x92ffc000n])
    // cap 8d2078c106f0466: SAGAW 0x04 (48-bit), MGAW 0x2f -> 48 bits, ND=6
    const cap = decodeCap(units[0]?.cap ?? 0n)
    expect(cap.sagaw.widths).toEqual([48])
    expect(cap.mgaw).toBe(48)
    expect(cap.domains).toBe(65536)
  })

  it('a log without boot lines gives no units', () => {
    expect(unitsFromLog(log('dmesg/apu2-ath10k-amdvi-k6.8-1.log'))).toEqual([])
  })
})
