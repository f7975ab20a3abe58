/**
 * AMD-Vi and Arm SMMU faults go through the same triage as DMAR faults: grouped per requester ×
 * event × page, named by their IOMMU family in the JSON, explained by the family's rules (data in
 * src/replay/fault-rules-families.ts). The lines follow the kernels' format strings
 * (iommu_print_event, amd_iommu_report_page_fault, arm_smmu_dump_raw_event, the arm-smmu context
 * fault handler); the real excerpts are scored in test/fault-cases.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {parseKernelLog} from '../src/decode/kernel-log/index.js'
import {leadingExplanation, triageRecords} from '../src/replay/fault-triage.js'
import {fixedIn, regressionNamed} from '../src/replay/kernel-regressions.js'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {faultOutcomes, faultsToJson, renderFaultsTable, renderLiveRecord} from '../src/report/faults.js'
import {realData} from './support/paths.js'

const report = (log: string) => {
  const lines = log.split('\n')
  return faultsToJson(triageRecords(parseKernelLog(log), lines.length), {origin: 'file', path: 't.log', lines: lines.length})
}
const amd = (driver: string, flags = '0x0000', address = '0xfc189000') => `[  310.5] ${driver} 0000:03:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x000b address=${address} flags=${flags}]`

describe('AMD-Vi faults', () => {
  it('the driver leading the line picks the rule: amdgpu, no driver ("pci"), vfio-pci', () => {
    expect(report(amd('amdgpu')).faults[0]!.explanation).toMatchObject({rule: 'amd-vi-gpu-driver', category: 'gpu-driver', certainty: 'cannot-tell'})
    expect(report(amd('amdgpu')).faults[0]!.explanation.remediation.join()).toMatch(/linux-firmware/)
    expect(report(amd('pci')).faults[0]!.explanation).toMatchObject({rule: 'amd-vi-no-driver', category: 'firmware-dma'})
    expect(report(amd('pci')).faults[0]!.explanation.summary).toMatch(/no driver bound/)
    expect(report(amd('vfio-pci')).faults[0]!.explanation).toMatchObject({rule: 'amd-vi-vfio', category: 'guest-passthrough'})
  })

  it('flags decide: I is an interrupt fault, PR PE a permission problem, nothing set an unmapped address', () => {
    const irq = report(amd('nvme', '0x0008')).faults[0]!
    expect(irq).toMatchObject({kind: 'interrupt', flagNames: ['I']})
    expect(irq.explanation.category).toBe('msi-not-remapped')
    const perm = report(amd('nvme', '0x0050')).faults[0]!
    expect(perm).toMatchObject({access: 'read', flagNames: ['PR', 'PE']})
    expect(perm.explanation.rule).toBe('amd-vi-permission')
    const np = report(amd('nvme', '0x0000', '0xcfc016d0')).faults[0]!
    expect(np.access).toBeNull()
    expect(np.explanation.rule).toBe('amd-vi-unmapped')
  })

  it('an unmapped address in the 64 MiB below 4 GiB is a DMA-API mapping that is gone: no firmware or never-mapped candidate, still cannot tell', () => {
    // rtlwifi-linux/rtlwifi-next#7: 0xfef36c40, inside a page the driver had mapped.
    const e = report(amd('rtl8822be', '0x0000', '0x00000000fef36c40')).faults[0]!.explanation
    expect(e).toMatchObject({rule: 'amd-vi-dma-api-mapping-gone', category: 'unmapped-dma', certainty: 'cannot-tell'})
    expect(e.causes[0]).toMatch(/DMA after unmap/)
    expect(e.causes.join(' ')).not.toMatch(/firmware|never mapped/)
    // The interrupt window is an MSI write, not an IOVA; below the window the generic rule stays.
    expect(report(amd('nvme', '0x0000', '0xfee00000')).faults[0]!.explanation.rule).not.toBe('amd-vi-dma-api-mapping-gone')
    expect(report(amd('nvme', '0x0000', '0xfbfff000')).faults[0]!.explanation.rule).toBe('amd-vi-unmapped')
  })

  it('groups per page, like DMAR faults, and counts the family', () => {
    const r = report([amd('nvme', '0x0000', '0xfc189000'), amd('nvme', '0x0000', '0xfc189800'), amd('nvme', '0x0000', '0xfc18a000')].join('\n'))
    expect(r.faults.map((f) => [f.page, f.count])).toEqual([['0xfc189000', 2], ['0xfc18a000', 1]])
    expect(r.summary).toMatchObject({faultRecords: 3, families: {'amd-vi': 3}, amdVi: 3})
    expect(faultOutcomes(r)).toEqual(['fail'])
  })

  it('IOMMU events and IVRS firmware bugs: Completion-Wait is an IOMMU hang, the firmware bug a context line', () => {
    const r = report(['[ 0.5] AMD-Vi: [Firmware Bug]: : IOAPIC[4] not in IVRS table', '[ 0.5] AMD-Vi: Disabling interrupt remapping', '[ 90.0] AMD-Vi: Completion-Wait loop timed out'].join('\n'))
    expect(r.faults).toHaveLength(0)
    expect(r.events[0]).toMatchObject({type: 'amd-vi', event: 'COMPLETION_WAIT_TIMEOUT'})
    expect(r.events[0]!.explanation.category).toBe('iommu-hang')
    expect(r.context.map((c) => c.event)).toEqual(['amd-vi-ir-disabled', 'amd-vi-firmware-bug'])
    expect(r.context[1]!.explanation!.remediation.join()).toMatch(/ivrs_ioapic/)
    expect(faultOutcomes(r)).toEqual(['fail'])
    // the firmware bug alone leads when nothing faulted
    expect(report('[ 0.5] [Firmware Bug]: AMD-Vi: No southbridge IOAPIC found').leading.category).toBe('firmware-table')
  })

  it('amd_iommu_report_page_fault\'s suppressed count goes to the next printed fault, as dmar_fault\'s does', () => {
    const r = report(readFileSync(path.join(realData, 'dmesg', 'pop-nvme-amdvi-k5.x-1.log'), 'utf8'))
    expect(r.summary.suppressed).toBe(96)
    expect(r.faults.find((f) => f.firstSeen.line === 2)?.suppressedNearby).toBe(96)
    expect(r.events.filter((e) => e.type === 'amd-vi')).toEqual([])
    expect(renderFaultsTable(r)).toMatch(/96 more lost to the kernel's rate limit/)
    // the evidence names the AMD function that printed the count, not Intel's dmar_fault
    const facts = r.faults.find((f) => f.firstSeen.line === 2)!.explanation.evidence.map((e) => e.fact).join('\n')
    expect(facts).toMatch(/96 more faults were lost to the kernel's rate limit \("amd_iommu_report_page_fault: … callbacks suppressed"\)/)
    expect(facts).not.toMatch(/dmar_fault/)
  })

  it('--follow prints AMD-Vi and SMMU faults as they arrive', () => {
    const [rec] = parseKernelLog(amd('amdgpu', '0x0070', '0x1000'))
    expect(renderLiveRecord(rec!)).toBe('310.5 0000:03:00.0 AMD-Vi IO_PAGE_FAULT [PR RW PE] 0x1000 — write to a mapped page without write permission')
    const [smmu] = parseKernelLog('[ 30.0] arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402, iova=0x00001000, fsynr=0x0, cbfrsynra=0x21, cb=2')
    expect(renderLiveRecord(smmu!)).toMatch(/^30\.0 15000000\.iommu sid 0x21 SMMU context-fault read 0x1000 — translation fault/)
    expect(renderLiveRecord(parseKernelLog('[ 1.0] pci 0000:00:02.0: Adding to iommu group 3')[0]!)).toBeUndefined()
  })

  it('the 4.19-era line without "AMD-Vi:" passes the byte prefilter and parses', () => {
    const r = report('rtl88x2ce 0000:01:00.0: Event logged [IO_PAGE_FAULT domain=0x0000 address=0x00000000ff2db000 flags=0x0000]')
    expect(r.faults[0]).toMatchObject({family: 'amd-vi', requester: '0000:01:00.0', driver: 'rtl88x2ce', address: '0xff2db000'})
    // another driver's "Event logged [" is no AMD-Vi fault
    expect(report('foo 0000:01:00.0: Event logged [SOMETHING_ELSE domain=0x1]').faults).toHaveLength(0)
  })
})

describe('Arm SMMU faults', () => {
  const v3 = (id: string, d0: string, d1 = '0x0000000000000000', d2 = '0x0000000000000000') =>
    [`[ 12.0] arm-smmu-v3 arm-smmu-v3.0.auto: event ${id} received:`, ...[d0, d1, d2, '0x0000000000000000'].map((d) => `[ 12.0] arm-smmu-v3 arm-smmu-v3.0.auto: \t${d}`)].join('\n')

  it('SMMUv3 F_TRANSLATION: family, StreamID and unit in the JSON; an unmapped IOVA', () => {
    const r = report(v3('0x10', '0x0000000800000010', '0x0000000000000000', '0x00000000ffff1000'))
    expect(r.faults[0]).toMatchObject({family: 'arm-smmu-v3', requester: 'arm-smmu-v3.0.auto sid 0x8', streamId: '0x8', unit: 'arm-smmu-v3.0.auto', event: 'F_TRANSLATION', access: 'write', address: '0xffff1000', reason: null})
    expect(r.faults[0]!.explanation).toMatchObject({rule: 'smmu-unmapped', category: 'unmapped-dma'})
    expect(renderFaultsTable(r)).toMatch(/SMMUv3 F_TRANSLATION/)
  })

  it('C_BAD_STREAMID and "Blocked unknown Stream ID": a master without a stream table entry (IORT/DT mapping)', () => {
    for (const log of [v3('0x02', '0x0000001000000002'), '[ 3.0] arm-smmu 5040000.iommu: Blocked unknown Stream ID 0x2a; boot with "arm-smmu.disable_bypass=0" to allow, but this is unsafe']) {
      const e = report(log).faults[0]!.explanation
      expect(e).toMatchObject({rule: 'smmu-no-stream-entry', category: 'no-stream-entry'})
      expect(e.causes.join()).toMatch(/IORT/)
    }
  })

  it('a v1/v2 permission fault names the wrong direction; the client the 6.15+ line names becomes the requester', () => {
    const pf = report('[ 30.0] arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x408, iova=0x00001000, fsynr=0x10, cbfrsynra=0x21, cb=2').faults[0]!
    expect(pf).toMatchObject({family: 'arm-smmu', streamId: '0x21', flags: '0x408', flagNames: ['PF'], access: 'write'})
    expect(pf.explanation.rule).toBe('smmu-permission')
    const named = report(v3('0x10', '0x0000000800000010') + '\n[ 12.0] arm-smmu-v3 arm-smmu-v3.0.auto: event: F_TRANSLATION client: 0000:00:01.0 sid: 0x8 ssid: 0 iova: 0 ipa: 0').faults[0]!
    expect(named.requester).toBe('0000:00:01.0')
    expect(named.explanation.category).toBe('address-zero')
  })
})

describe('the first MiB on AMD-Vi, and SMMU global faults', () => {
  const explain = (log: string) => report(log).faults[0]!.explanation
  it('an AMD-Vi page fault in the first MiB (above 64 KiB) is firmware DMA; outside it the rule stays out', () => {
    // Xen's line shape (amdvi-xen-pvh-dom0-low-1mb in test/fixtures/fault-cases)
    const at = (addr: string) => explain(`AMD-Vi: IO_PAGE_FAULT: 0000:00:12.0 d0 addr ${addr} flags 0x20 RW`)
    expect(at('00000000000eb080')).toMatchObject({rule: 'amd-vi-legacy-low-memory', category: 'firmware-dma'})
    expect(at('0000000000000f00').rule).not.toBe('amd-vi-legacy-low-memory')
    expect(at('0000000000100000').rule).not.toBe('amd-vi-legacy-low-memory')
    // the same address from a device its driver owns (5.x+ line) is still firmware memory
    expect(explain(amd('ohci-pci', '0x0020', '0xeb380')).rule).toBe('amd-vi-legacy-low-memory')
  })

  it('a stream-match conflict is the SMMU driver programming overlapping entries; an unidentified stream is a missing stream entry', () => {
    expect(explain('smmu: /iommu@7fb30000: \tGFSR 0x00000004, GFSYNR0 0x00000006, GFSYNR1 0x00000000, GFSYNR2 0x00000000'))
      .toMatchObject({rule: 'smmu-stream-match-conflict', category: 'kernel-bug'})
    expect(explain('arm-smmu 15000000.iommu: GFSR 0x00000002, GFSYNR0 0x00000002, GFSYNR1 0x00000043, GFSYNR2 0x00000000'))
      .toMatchObject({rule: 'smmu-no-stream-entry', category: 'no-stream-entry'})
  })
})

describe('evidence in the family lines: the zero page, the dumped device-table entry, the ITS doorbell offset', () => {
  const explain = (log: string) => report(log).faults[0]!.explanation
  const v3 = (d0: string, d1: string, d2: string) =>
    ['arm-smmu-v3 arm-smmu-v3.1.auto: event 0x10 received:', ...[d0, d1, d2, '0x0000000000000000'].map((d) => `arm-smmu-v3 arm-smmu-v3.1.auto:  ${d}`)].join('\n')
  const READ = '0x0000120800000080'
  const WRITE = '0x0000020000000000'

  it('an SMMU or AMD-Vi address inside the zero page is a null pointer plus an offset; the next page is not', () => {
    // smmuv3-hpre-dh-g5-input-not-set: the accelerator read 0x0, 0x40, 0x80, 0xc0
    expect(explain(v3('0x0000790000000010', READ, '0x00000000000000c0'))).toMatchObject({rule: 'smmu-address-zero', category: 'address-zero'})
    expect(explain(v3('0x0000790000000010', READ, '0x00000000000000c0')).summary).toMatch(/0xc0, in the zero page/)
    expect(explain(v3('0x0000790000000010', READ, '0x0000000000001000')).rule).toBe('smmu-unmapped')
  })

  const ildte = (dte0: string, control?: string) => [
    'iommu ivhd0: AMD-Vi: Event logged [ILLEGAL_DEV_TABLE_ENTRY device=0000:06:00.0 pasid=0x00000 address=0x135300000 flags=0x0080]',
    ...(control === undefined ? [] : [`iommu ivhd0: AMD-Vi: Control Reg : ${control}`]),
    `AMD-Vi: DTE[0]: ${dte0}`, 'AMD-Vi: DTE[1]: 0000100103fc0009', 'AMD-Vi: DTE[2]: 2000000117840013', 'AMD-Vi: DTE[3]: 0000000000000000'].join('\n')

  it('ILLEGAL_DEV_TABLE_ENTRY with a dumped entry that enables PPR: Enhanced PPR handling not enabled (named first, not certain)', () => {
    // amdvi-resume-eph-illegal-dte-amdgpu (ef75966abf95)
    const e = explain(ildte('7d90000000000003'))
    expect(e).toMatchObject({rule: 'amd-vi-illegal-dte-ppr-without-eph', category: 'kernel-bug', certainty: 'cannot-tell'})
    expect(e.causes.join()).toMatch(/ef75966abf95/)
    // the fix as the regression table states it (commit, subject, releases), not a second wording
    const fix = regressionNamed('amdvi-resume-eph-disabled')
    expect(e.causes.join()).toContain(`"${fix.fix.subject}"), in ${fixedIn(fix)}`)
    expect(e.evidence.some((v) => /DTE\[0\] 0x7d90000000000003/.test(v.fact))).toBe(true)
    // the Control register printed with EPHEn (bit 45) set rules it out
    expect(explain(ildte('7d90000000000003', '0xc22000142148d')).rule).not.toBe('amd-vi-illegal-dte-ppr-without-eph')
    expect(explain(ildte('7d90000000000003', '0x0000000142148d')).rule).toBe('amd-vi-illegal-dte-ppr-without-eph')
    // a kernel the log names that has the fix rules it out too; one in the affected range does not
    const hub = (release: string) => `usb usb1: Manufacturer: Linux ${release} xhci-hcd\n`
    expect(explain(hub('6.14.2-arch1-1') + ildte('7d90000000000003')).rule).toBe('amd-vi-illegal-dte')
    expect(explain(hub('6.12.16-arch1-1') + ildte('7d90000000000003')).rule).toBe('amd-vi-illegal-dte')
    expect(explain(hub('6.11.5-arch1-1') + ildte('7d90000000000003')).category).toBe('kernel-bug')
  })

  it('ILLEGAL_DEV_TABLE_ENTRY with an untranslated (identity) entry: an identity domain on an SNP host (named first, not certain)', () => {
    // amdvi-snp-identity-domain-illegal-dte (ba17de98545d)
    const e = explain(ildte('6000000000000003', '0xc22000142148d'))
    expect(e).toMatchObject({rule: 'amd-vi-illegal-dte-untranslated', category: 'kernel-bug', certainty: 'cannot-tell'})
    expect(e.summary).toMatch(/SEV-SNP/)
    // a translated entry (paging mode 4) or no dump at all: the generic answer
    expect(explain(ildte('6000000d8a10e803')).rule).toBe('amd-vi-illegal-dte')
    expect(explain(ildte('6000000000000003').split('\n')[0]!).rule).toBe('amd-vi-illegal-dte')
  })

  it('an SMMU write to offset 0x40 of an unmapped page is most likely an MSI to the ITS doorbell; a read there, or another offset, is not', () => {
    // smmuv3-iommu-dma-msi-page-domain-5.3-rc1 (0xffffe040), smmuv3-dwc-ep-msix-write-races-atu-unmap (0x90000f040)
    const e = explain(v3('0x0000018000000010', WRITE, '0x00000000ffffe040'))
    expect(e).toMatchObject({rule: 'smmu-msi-doorbell', category: 'msi-not-remapped', certainty: 'cannot-tell'})
    expect(e.causes.join()).toMatch(/5\.3-rc1/)
    expect(explain(v3('0x0000018000000010', READ, '0x00000000ffffe040')).rule).toBe('smmu-unmapped')
    expect(explain(v3('0x0000018000000010', WRITE, '0x00000000ffffe080')).rule).toBe('smmu-unmapped')
    expect(explain('arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402, iova=0xfe640040, fsynr=0x10, cbfrsynra=0x21, cb=2').rule).toBe('smmu-msi-doorbell')
  })
})

describe('the IOMMU driver warning inside its own mapping code (context iommu-map-warning)', () => {
  // amdvi-smartpqi-increase-address-space-race (iommu list, 2019-10-16): the WARNING line, its RIP
  // line, and a page fault of the device whose mappings were being built.
  const WARN = 'WARNING: CPU: 57 PID: 124314 at drivers/iommu/amd_iommu.c:1474 iommu_map_page+0x718/0x7e0'
  const RIP = 'RIP: 0010:iommu_map_page+0x718/0x7e0'
  const FAULT = 'smartpqi 0000:23:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0000 address=0xffffffffffec0000 flags=0x0010]'
  it('leads an AMD-Vi page fault with the IOMMU driver\'s bug, from the WARNING line or (wrapped) from the RIP line', () => {
    for (const warn of [WARN, 'WARNING: CPU: 57 PID: 124314 at drivers/iommu/amd_iommu.c:1474\niommu_map_page+0x718/0x7e0\n' + RIP]) {
      const e = report([warn, FAULT].join('\n')).faults[0]!.explanation
      expect(e).toMatchObject({rule: 'amd-vi-iommu-map-warning', category: 'kernel-bug', certainty: 'likely'})
      expect(e.summary).toContain('iommu_map_page')
    }
  })
  it('leads a VT-d fault the same way when the warning is in the Intel driver\'s mapping code', () => {
    const log = ['WARNING: CPU: 3 PID: 1 at drivers/iommu/intel/iommu.c:2300 __domain_mapping+0x3a4/0x3c0',
      'DMAR: [DMA Read NO_PASID] Request device [03:00.0] fault addr 0xfff00000 [fault reason 0x06] PTE Read access is not set'].join('\n')
    expect(report(log).faults[0]!.explanation).toMatchObject({rule: 'iommu-map-warning', category: 'kernel-bug'})
  })
  it('leaves faults alone when the warning is an unmap, or outside drivers/iommu, or a RIP without "iommu" in the function', () => {
    for (const other of ['WARNING: CPU: 1 PID: 2 at drivers/iommu/intel-iommu.c:3672 intel_unmap+0x1d/0x20',
      'WARNING: CPU: 57 PID: 124314 at drivers/scsi/smartpqi/smartpqi_init.c:1474 pqi_map_single+0x18/0x70',
      'RIP: 0010:dma_map_sg_attrs+0x18/0x70']) {
      expect(report([other, FAULT].join('\n')).faults[0]!.explanation.rule).not.toMatch(/map-warning/)
    }
  })
})

describe('round 8: Xen\'s SMMU and the ITS doorbell; an AMD IOMMU stalled on a device that stops answering ATS', () => {
  const lead = (log: string) => leadingExplanation(triageRecords(parseKernelLog(log), log.split('\n').length))
  const xenV3 = (unit: string, d2: string) => [`(XEN) SMMUv3: ${unit}: event 0x10 received:`, ...['0x0000000800000010', '0x0000008000000000', d2, '0x0000000000000000'].map((d) => `(XEN) SMMUv3: ${unit}:  ${d}`)].join('\n')

  it('a write 0x10040 into a 64 KiB frame through Xen\'s SMMU (unit named by device-tree path) is Xen not mapping the ITS doorbell', () => {
    // xen-arm-its-doorbell-unmapped-smmu: QEMU virt (ITS base 0x8080000) and a Versal (ITS base 0xf9020000).
    expect(lead(xenV3('/smmuv3@9050000', '0x0000000008090040'))).toMatchObject({rule: 'smmu-xen-its-doorbell', category: 'kernel-bug', certainty: 'likely'})
    expect(lead('(XEN) smmu: /axi/smmu@fd800000: Unhandled context fault: fsr=0x402, iova=0xf9030040, fsynr=0x12, cb=0')).toMatchObject({rule: 'smmu-xen-its-doorbell', category: 'kernel-bug'})
  })

  it('stays out for Linux\'s own SMMU driver, for a page offset 0x40 outside the doorbell frame, and for a read', () => {
    expect(lead(['arm-smmu-v3 9050000.smmuv3: event 0x10 received:', ...['0x0000000800000010', '0x0000008000000000', '0x0000000008090040', '0x0000000000000000'].map((d) => `arm-smmu-v3 9050000.smmuv3:  ${d}`)].join('\n'))).toMatchObject({rule: 'smmu-msi-doorbell', certainty: 'cannot-tell'})
    expect(lead(xenV3('/smmuv3@9050000', '0x0000000008091040')).rule).toBe('smmu-msi-doorbell')
    expect(lead('(XEN) smmu: /axi/smmu@fd800000: Unhandled context fault: fsr=0x402, iova=0xf9030040, fsynr=0x2, cb=0').rule).not.toBe('smmu-xen-its-doorbell')
  })

  const stall = (withWaits: boolean, vfio: boolean) => [
    ...(withWaits ? ['[   72.645091] AMD-Vi: Completion-Wait loop timed out', '[   72.791448] AMD-Vi: Completion-Wait loop timed out'] : []),
    ...[0, 1, 2, 3, 4].map((i) => `[   73.23171${i}] ahci 0000:0c:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0017 address=0xc5f3f0${i}0 flags=0x0050]`),
    '[   73.500538] iommu ivhd0: AMD-Vi: Event logged [IOTLB_INV_TIMEOUT device=06:00.0 address=0x1001e4600]',
    '[   74.502557] iommu ivhd0: AMD-Vi: Event logged [IOTLB_INV_TIMEOUT device=06:00.0 address=0x1001e4660]',
    ...(vfio ? ['[   74.680713] vfio-pci 0000:06:00.0: enabling device (0000 -> 0003)'] : []),
  ].join('\n')

  it('with Completion-Wait time-outs the device whose IOTLB invalidations time out leads, not the more numerous faults of another device', () => {
    // amdvi-hd7790-vfio-runtime-pm-d3cold-iotlb-timeout: the SATA controller's faults came with the stall.
    expect(lead(stall(true, false))).toMatchObject({rule: 'amd-vi-iotlb-timeout', category: 'device-tlb'})
    expect(lead(stall(false, false)).rule).toBe('amd-vi-permission')
  })

  it('a device bound to vfio-pci that stops answering invalidations: runtime PM (D3cold) is named among the causes, with disable_idle_d3 to test', () => {
    const withVfio = lead(stall(true, true))
    expect(withVfio.summary).toMatch(/vfio-pci/)
    expect(withVfio.causes.join('\n')).toMatch(/D3cold/)
    expect(withVfio.remediation.join('\n')).toMatch(/disable_idle_d3/)
    expect(lead(stall(true, false)).causes.join('\n')).not.toMatch(/D3cold/)
  })
})
