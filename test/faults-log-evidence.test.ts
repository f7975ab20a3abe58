/**
 * Evidence in the log itself: of a wrong DMA direction, of a PCIe-to-PCI bridge alias, of the
 * Intel VMD endpoint sending blocked interrupts, of DMA before the requester's driver said anything.
 *
 * Reasons 0x05/0x06 are raised alike for a missing mapping and for a mapping made for the other
 * direction; only lines beside the fault tell them apart:
 *  - CONFIG_DMAR_DEBUG's page walk (drivers/iommu/intel/iommu.c pgtable_walk: "pte level: %d,
 *    pte value: 0x%016llx"): a present leaf with read set and write clear is a read-only mapping;
 *  - CONFIG_DMA_API_DEBUG's check_unmap/check_sync warning (kernel/dma/debug.c: "device driver
 *    frees DMA memory with different direction [device address=…] [size=… bytes] [mapped with …]
 *    [unmapped with …]").
 * The ccree line below is real (linux-crypto, Corentin Labbe, 2022-03-04, quoted in Herbert Xu's
 * reply); no public log was found holding such a line or walk next to a VT-d fault, so those logs
 * are built from the kernel's format strings above, with made-up addresses.
 */
import {describe, expect, it} from 'vitest'
import {parseKernelLog, type ContextRecord} from '../src/decode/kernel-log/index.js'
import {triageRecords, type TriageResult} from '../src/replay/fault-triage.js'

const triage = (text: string): TriageResult => triageRecords(parseKernelLog(text), text.split('\n').length, {source: 'log'})
const ruleOf = (text: string, requester: string) => triage(text).faults.find((f) => f.requester === requester)?.explanation

const CCREE = '[   17.568492] DMA-API: ccree e6601000.crypto: device driver frees DMA memory with different direction [device address=0x0000000078fe5800] [size=8 bytes] [mapped with DMA_TO_DEVICE] [unmapped with DMA_BIDIRECTIONAL]'

const WRITE_FAULT = [
  '[  102.2] DMAR: DRHD: handling fault status reg 2',
  '[  102.3] DMAR: [DMA Write NO_PASID] Request device [07:00.0] fault addr 0xffffe000 [fault reason 0x05] PTE Write access is not set',
  '[  102.4] DMAR: Dump dmar1 table entries for IOVA 0xffffe000',
  '[  102.4] DMAR: root entry: 0x0000000101b3e001',
  '[  102.4] DMAR: context entry: hi 0x0000000000000102, low 0x0000000101b4d001',
  '[  102.4] DMAR: pte level: 4, pte value: 0x0000000101b50003',
  '[  102.4] DMAR: pte level: 3, pte value: 0x0000000101b51003',
  '[  102.4] DMAR: pte level: 2, pte value: 0x0000000101b52003',
]

describe('DMA-API debug direction warnings', () => {
  it('reads both spellings as context naming the driver, the device and both directions', () => {
    const lines = [CCREE, '[  100.1] igb 0000:06:00.0: DMA-API: device driver syncs DMA memory with different direction [device address=0x00000000fffff000] [size=2048 bytes] [mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]']
    const ctx = parseKernelLog(lines.join('\n')).filter((r): r is ContextRecord => r.type === 'context')
    expect(ctx.map((r) => [r.event, r.detail])).toEqual([
      ['dma-api-direction', 'ccree e6601000.crypto: frees with DMA_BIDIRECTIONAL, mapped with DMA_TO_DEVICE (device address 0x0000000078fe5800)'],
      ['dma-api-direction', 'igb 0000:06:00.0: syncs with DMA_TO_DEVICE, mapped with DMA_FROM_DEVICE (device address 0x00000000fffff000)'],
    ])
  })

  it('a 0x06 fault of the device the warning names is a wrong DMA direction; another device\'s fault is not', () => {
    const log = [
      '[  100.1] DMA-API: igb 0000:06:00.0: device driver frees DMA memory with different direction [device address=0x00000000fffff000] [size=2048 bytes] [mapped with DMA_FROM_DEVICE] [unmapped with DMA_TO_DEVICE]',
      '[  101.2] DMAR: DRHD: handling fault status reg 2',
      '[  101.3] DMAR: [DMA Read NO_PASID] Request device [06:00.0] fault addr 0xfffff000 [fault reason 0x06] PTE Read access is not set',
      '[  101.4] DMAR: [DMA Read NO_PASID] Request device [08:00.0] fault addr 0xfffff000 [fault reason 0x06] PTE Read access is not set',
    ].join('\n')
    const igb = ruleOf(log, '0000:06:00.0')!
    expect(igb).toMatchObject({rule: 'wrong-direction-dma-api-debug', category: 'wrong-direction', certainty: 'likely'})
    expect(igb.summary).toContain('mapped with DMA_FROM_DEVICE')
    expect(igb.evidence.some((e) => e.source === 'log:1')).toBe(true)
    expect(ruleOf(log, '0000:08:00.0')?.rule).toBe('dma-api-mapping-gone')
  })
})

describe('CONFIG_DMAR_DEBUG page walk', () => {
  it('a write to a present read-only leaf is a wrong DMA direction', () => {
    const e = ruleOf([...WRITE_FAULT, '[  102.4] DMAR: pte level: 1, pte value: 0x0000000123456001'].join('\n'), '0000:07:00.0')!
    expect(e).toMatchObject({rule: 'wrong-direction-in-walk-dump', category: 'wrong-direction'})
    expect(e.summary).toMatch(/read-only .*DMA_TO_DEVICE/)
    expect(e.evidence.some((v) => v.fact.includes('read set, write clear') && v.source === 'log:9')).toBe(true)
  })

  it('a read of a write-only 2 MiB superpage leaf (bit 7, level 2) is one too', () => {
    const log = [
      '[  5.1] DMAR: [DMA Read NO_PASID] Request device [07:00.0] fault addr 0xffe00000 [fault reason 0x06] PTE Read access is not set',
      '[  5.1] DMAR: Dump dmar1 table entries for IOVA 0xffe00000',
      '[  5.1] DMAR: pte level: 3, pte value: 0x0000000101b51003',
      '[  5.1] DMAR: pte level: 2, pte value: 0x0000000123400082',
    ].join('\n')
    expect(ruleOf(log, '0000:07:00.0')).toMatchObject({rule: 'wrong-direction-in-walk-dump', summary: expect.stringMatching(/write-only/)})
  })

  it('a leaf with both permissions, a missing leaf, or a non-leaf last entry says nothing about direction', () => {
    for (const tail of [
      ['[  102.4] DMAR: pte level: 1, pte value: 0x0000000123456003'],
      ['[  102.4] DMAR: pte level: 1, pte value: 0x0000000000000000', '[  102.4] DMAR: page table not present at level 0'],
      [],
    ]) expect(ruleOf([...WRITE_FAULT, ...tail].join('\n'), '0000:07:00.0')?.rule).toBe('dma-api-mapping-gone')
  })
})

describe('PCIe-to-PCI bridge alias from the log alone', () => {
  const bridgeLog = (driverLine: string) => [
    driverLine,
    'DMAR: DRHD: handling fault status reg 3',
    'DMAR: [DMA Read NO_PASID] Request device [05:00.0] fault addr 0x12174000 [fault reason 0x02] Present bit in context entry is clear',
  ].join('\n')

  it('05:00.0 with no context entry while the log drives 05:02.1 is named as the bridge alias (not claimed)', () => {
    const e = ruleOf(bridgeLog('aic7xxx 0000:05:02.1: enabling device (0000 -> 0003)'), '0000:05:00.0')!
    expect(e).toMatchObject({rule: 'pcie-to-pci-bridge-alias', category: 'dma-alias', certainty: 'cannot-tell'})
    expect(e.summary).toContain('0000:05:02.1')
  })

  it('not when the log names 05:00.0 itself, or only devices on another bus: then the tool says it cannot tell why', () => {
    for (const line of ['ahci 0000:05:00.0: enabling device (0000 -> 0003)', 'aic7xxx 0000:06:02.1: enabling device (0000 -> 0003)']) {
      expect(ruleOf(bridgeLog(line), '0000:05:00.0')).toMatchObject({rule: 'no-domain-attached', category: 'no-domain', certainty: 'cannot-tell'})
    }
  })
})

describe('compatibility-format interrupts from where Xeons put the VMD endpoint', () => {
  const irFault = (bdf: string) => `DMAR: [INTR-REMAP] Request device [${bdf}] fault index 0xa00 [fault reason 0x25] Blocked a compatibility format interrupt request`

  it('BB:00.5 (Ice Lake-SP) and BB:05.5 (Skylake-SP) name VMD first, without claiming it', () => {
    for (const bdf of ['0x00:0x00.5', '17:05.5']) {
      const e = triage(irFault(bdf)).faults[0]!.explanation
      expect(e).toMatchObject({rule: 'vmd-endpoint-msi', category: 'vmd', certainty: 'cannot-tell'})
    }
  })

  it('other functions of those slots (05.4 is the IOxAPIC) stay generic', () => {
    expect(triage(irFault('17:05.4')).faults[0]!.explanation.rule).toBe('ir-compatibility-msi')
    expect(triage(irFault('17:00.0')).faults[0]!.explanation.rule).toBe('ir-compatibility-msi')
  })
})

describe("the PCI core's enumeration lines identify the requester when there is no host snapshot", () => {
  // Real lines from two threads: the SPR VMD controller as enumerated (linux-pci, Xiaochun Li,
  // 'Re: [PATCH v2 1/1] PCI: Set no io resource for bridges that behind VMD controller', 2022-09-28,
  // <CAA1RLiRkAqp+qXoi7-e6NbRoHoGLmV5F9R5wbR1xcsy8O0SWKQ@mail.gmail.com>) and the fault a device
  // behind an Ice Lake VMD raised (linux-pci, Nirmal Patel's VMD MSI-remapping patch review).
  const VMD_ENUM = '[    2.091800] pci 0000:64:00.5: [8086:28c0] type 00 class 0x010400'
  const BEHIND_VMD = 'DMAR: [INTR-REMAP] Request device [0xe2:0x00.0] fault index 0xa00 [fault reason 0x25] Blocked a compatibility format interrupt request'

  it('reads vendor, device and class from "pci BDF: [vvvv:dddd] type 00 class 0x…"', () => {
    const ctx = parseKernelLog(VMD_ENUM).filter((r): r is ContextRecord => r.type === 'context')
    expect(ctx.map((r) => [r.event, r.detail])).toEqual([['pci-id', '0000:64:00.5 8086:28c0 010400']])
  })

  it('a VMD controller enumerated in the log makes a blocked compatibility interrupt the VMD case', () => {
    expect(triage(BEHIND_VMD).faults[0]!.explanation.rule).toBe('ir-compatibility-msi')
    expect(triage([VMD_ENUM, BEHIND_VMD].join('\n')).faults[0]!.explanation).toMatchObject({rule: 'vmd-msi-remapping', category: 'vmd', certainty: 'likely'})
  })

  it('an enumerated Thunderbolt/USB4 host interface (class 0x0c0340) names the connection-manager firmware', () => {
    // Real lines (Bjorn Helgaas, 'Thunderbolt DMAR errors (bugzilla 214259)', <20221107180613.GA406714@bhelgaas>), without the driver's own lines.
    const log = [
      '  [    0.739226] pci 0000:05:00.0: [8086:1137] type 00 class 0x0c0340',
      '  [    1.587809] DMAR: [DMA Write NO_PASID] Request device [05:00.0] fault addr 0x69974000 [fault reason 0x05] PTE Write access is not set',
    ]
    expect(triage(log.join('\n')).faults[0]!.explanation).toMatchObject({rule: 'thunderbolt-connection-manager-dma', category: 'firmware-dma'})
    expect(triage(log[1]!).faults[0]!.explanation.rule).not.toBe('thunderbolt-connection-manager-dma')
  })

  it('an enumeration line naming another device at BB:05.5 keeps the VMD-location rule out', () => {
    const fault = 'DMAR: [INTR-REMAP] Request device [17:05.5] fault index 0xa00 [fault reason 0x25] Blocked a compatibility format interrupt request'
    expect(triage(['pci 0000:17:05.5: [8086:2021] type 00 class 0x088000', fault].join('\n')).faults[0]!.explanation.rule).toBe('ir-compatibility-msi')
  })
})

describe('DMA before the requester\'s driver said anything', () => {
  // Driver lines as xhci_hcd prints them at probe; the fault lines follow the 5.15+ format.
  const BOOT = '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009efff] usable'
  // A RAM address (firmware buffers live in RAM); an IOVA just below 4 GiB is a kernel's mapping (below).
  const FAULT = '[    2.91] DMAR: [DMA Read NO_PASID] Request device [04:00.0] fault addr 0x7cd80000 [fault reason 0x06] PTE Read access is not set'
  const PROBE = '[    3.40] xhci_hcd 0000:04:00.0: xHCI Host Controller'
  it('in a log from boot, a fault before the first line of the requester\'s driver points at DMA the driver had not started', () => {
    const e = ruleOf([BOOT, FAULT, PROBE].join('\n'), '0000:04:00.0')
    expect(e).toMatchObject({rule: 'dma-before-driver-bound', category: 'firmware-dma', certainty: 'cannot-tell'})
    expect(e!.summary).toMatch(/xhci_hcd/)
    expect(e!.evidence.some((v) => v.source === 'log:3')).toBe(true)
  })

  it('not in an excerpt that starts after boot, nor when the driver spoke first, nor for another device\'s driver or the PCI core\'s own lines', () => {
    expect(ruleOf([FAULT, PROBE].join('\n'), '0000:04:00.0')?.rule).not.toBe('dma-before-driver-bound')
    expect(ruleOf([BOOT, PROBE, FAULT].join('\n'), '0000:04:00.0')?.rule).not.toBe('dma-before-driver-bound')
    expect(ruleOf([BOOT, FAULT, '[    3.40] xhci_hcd 0000:05:00.0: xHCI Host Controller'].join('\n'), '0000:04:00.0')?.rule).not.toBe('dma-before-driver-bound')
    expect(ruleOf([BOOT, FAULT, '[    3.40] pcieport 0000:04:00.0: AER: enabled with IRQ 122'].join('\n'), '0000:04:00.0')?.rule).not.toBe('dma-before-driver-bound')
    // Nor at an address the DMA API hands out: that mapping was a kernel's (the driver's probe, a kexec'd kernel), not firmware's.
    expect(ruleOf([BOOT, FAULT.replace('0x7cd80000', '0xfffe0000'), PROBE].join('\n'), '0000:04:00.0')?.rule).toBe('dma-api-mapping-gone')
  })
})

describe('an address in the first MiB', () => {
  it('rules out the DMA API but not who gave the device the address: firmware first, and it says it cannot tell', () => {
    // Xen 4.6's two-line form, as in QubesOS/qubes-issues#1710 (never diagnosed).
    const text = '(XEN) [VT-D]DMAR:[DMA Write] Request device [0000:01:00.0] fault addr 8c000, iommu reg = ffff82c000203000\n(XEN) [VT-D]DMAR: reason 05 - PTE Write access is not set\n'
    const e = ruleOf(text, '0000:01:00.0')
    expect(e).toMatchObject({rule: 'legacy-low-memory-dma', category: 'firmware-dma', certainty: 'cannot-tell'})
    expect(e!.summary).toContain('first MiB')
    expect(e!.causes[0]).toMatch(/legacy USB emulation|option ROM/)
    expect(e!.causes.some((c) => /physical addresses instead of DMA-API mappings/.test(c))).toBe(true)
    // Above the first MiB the rule stays out.
    expect(ruleOf(text.replace('8c000', '18c000'), '0000:01:00.0')?.rule).not.toBe('legacy-low-memory-dma')
  })
})

describe('an address in the 64 MiB below 4 GiB', () => {
  const at = (address: string, reason = '0x05] PTE Write access is not set', access = 'Write') =>
    ruleOf(`DMAR: [DMA ${access} NO_PASID] Request device [02:00.0] fault addr ${address} [fault reason ${reason}`, '0000:02:00.0')

  it('is a DMA-API mapping that is gone or of the other direction: firmware and user-space buffers are ruled out, and it says it cannot tell', () => {
    const e = at('0xffdd4000')
    expect(e).toMatchObject({rule: 'dma-api-mapping-gone', category: 'unmapped-dma', certainty: 'cannot-tell'})
    expect(e!.summary).toMatch(/top-down from 4 GiB/)
    expect(e!.causes[0]).toMatch(/DMA_TO_DEVICE/)
    expect(e!.causes[1]).toMatch(/DMA after unmap/)
    expect(e!.causes.join(' ')).not.toMatch(/kernel-bypass|firmware|option ROM/i)
    const read = at('0xfffeb000', '0x06] PTE Read access is not set', 'Read')!
    expect(read.causes[0]).toMatch(/DMA after unmap/)
    expect(read.causes[1]).toMatch(/DMA_FROM_DEVICE/)
  })

  it('stays out below the window and in the interrupt window (an MSI write the allocator never maps)', () => {
    expect(at('0xfbfff000')!.rule).toBe('unmapped-iova')
    expect(at('0xfee00000')!.rule).not.toBe('dma-api-mapping-gone')
    expect(at('0x100000000')!.rule).not.toBe('dma-api-mapping-gone')
  })
})

describe('reserved bits in a table entry the kernel wrote (reasons 0Ah–0Ch and their scalable-mode rows)', () => {
  // Real lines: wd19tb-6.11-rc-paging-domain-regression (bugzilla 219198) and, in scalable mode,
  // the first-stage row the 6.x kernel prints for 0x72 (drivers/iommu/intel/dmar.c dma_remap_sm_fault_reasons).
  const XHCI_0C = 'Aug 27 11:51:07 b0v9by3 kernel: DMAR: [DMA Read NO_PASID] Request device [04:00.0] fault addr 0xffffe000 [fault reason 0x0c] non-zero reserved fields in PTE'
  it('leads with the kernel\'s tables, not the device, and says it cannot tell which change', () => {
    const e = ruleOf(XHCI_0C, '0000:04:00.0')!
    expect(e).toMatchObject({rule: 'reserved-bits-in-kernel-table', category: 'kernel-bug', certainty: 'cannot-tell'})
    expect(e.summary).toContain('written by the kernel')
    expect(e.causes.join('\n')).toMatch(/superpage/)
  })
  it('takes the scalable-mode first-stage row too, and leaves a read of an unmapped page (0x06) to the address rules', () => {
    expect(ruleOf('DMAR: [DMA Write NO_PASID] Request device [00:14.0] fault addr 0x1000 [fault reason 0x72] SM: Non-zero reserved field set in first-level paging entry', '0000:00:14.0')?.rule).toBe('reserved-bits-in-kernel-table')
    expect(ruleOf(XHCI_0C.replace('0x0c] non-zero reserved fields in PTE', '0x06] PTE Read access is not set'), '0000:04:00.0')?.rule).not.toBe('reserved-bits-in-kernel-table')
  })
})

describe('a device in a PCI domain above 0xffff: Intel VMD is on', () => {
  // Real lines (linux-wireless, Francesco Bergesio, '[Bug Report] Intel AX1775 / … fails to resume
  // after suspend (s2idle)', 2025-09-28, <CAFXXzTbHabF2hZKWM=RquQXB_tFq-24SPifnyL9ZA5-HL30X1A@mail.gmail.com>):
  // the NVMe drive behind the laptop's VMD, without the vmd driver's own lines.
  const BEHIND_VMD_LINES = [
    '[    1.189552] nvme nvme0: pci function 10000:e1:00.0',
    '[    1.189587] pcieport 10000:e0:06.2: can\'t derive routing for PCI INT A',
    '[    1.189589] nvme 10000:e1:00.0: PCI INT A: not connected',
  ]
  const IR25 = '[    9.1] DMAR: [INTR-REMAP] Request device [e1:00.0] fault index 0xa00 [fault reason 0x25] Blocked a compatibility format interrupt request'

  it('reads each such line as the vmd-domain context', () => {
    for (const line of BEHIND_VMD_LINES) {
      const ctx = parseKernelLog(line).filter((r): r is ContextRecord => r.type === 'context')
      expect(ctx.map((r) => [r.event, r.detail]), line).toEqual([['vmd-domain', 'PCI domain 10000, which only VMD creates']])
    }
  })

  it('makes a blocked compatibility interrupt the VMD case, citing the line; domains of 16 bits do not', () => {
    for (const line of BEHIND_VMD_LINES) {
      const e = triage(`${line}\n${IR25}`).faults[0]!.explanation
      expect(e, line).toMatchObject({rule: 'vmd-msi-remapping', category: 'vmd', certainty: 'likely'})
      expect(e.evidence).toContainEqual({fact: 'Intel VMD is on (PCI domain 10000, which only VMD creates)', source: 'log:1'})
    }
    // ACPI _SEG domains are 16 bits: a second PCI segment (0001:…) is not VMD.
    expect(triage(`[    1.2] nvme 0001:e1:00.0: PCI INT A: not connected\n${IR25}`).faults[0]!.explanation.rule).toBe('ir-compatibility-msi')
    expect(triage(IR25).faults[0]!.explanation.rule).toBe('ir-compatibility-msi')
  })
})

describe('an SR-IOV virtual function named by the log alone', () => {
  const ir25 = (bdf: string) => `[  30.1] DMAR: [INTR-REMAP] Request device [${bdf}] fault index 0x1600 [fault reason 0x25] Blocked a compatibility format interrupt request`

  it('a VF-only driver (iavf, ixgbevf) or a VF vendor:device in the enumeration line makes a blocked compatibility MSI the VF irqdomain case', () => {
    for (const line of ['[  20.5] iavf 0000:3b:02.0: Multiqueue Enabled: Queue pair count = 4', '[  20.5] ixgbevf 0000:3b:02.0: enabling device (0000 -> 0002)',
      '[  20.4] pci 0000:3b:02.0: [15b3:1018] type 00 class 0x020000', '[  20.4] pci 0000:3b:02.0: [8086:1889] type 00 class 0x020000']) {
      expect(triage(`${line}\n${ir25('3b:02.0')}`).faults[0]!.explanation, line).toMatchObject({rule: 'vf-msi-not-remapped', category: 'kernel-bug'})
    }
  })

  it('not for a PF (mlx5_core binds both; 15b3:1017 is the ConnectX-5 PF), another function, or a VF bound to vfio-pci (a guest owns it)', () => {
    for (const line of ['[  20.5] mlx5_core 0000:3b:02.0: firmware version: 16.35.2000', '[  20.4] pci 0000:3b:02.0: [15b3:1017] type 00 class 0x020000',
      '[  20.5] iavf 0000:3b:02.1: Multiqueue Enabled: Queue pair count = 4']) {
      expect(triage(`${line}\n${ir25('3b:02.0')}`).faults[0]!.explanation.rule, line).toBe('ir-compatibility-msi')
    }
    const assigned = ['[  20.4] pci 0000:3b:02.0: [8086:154c] type 00 class 0x020000', '[  40.0] vfio-pci 0000:3b:02.0: enabling device (0000 -> 0002)'].join('\n')
    expect(triage(`${assigned}\n${ir25('3b:02.0')}`).faults[0]!.explanation).toMatchObject({rule: 'vfio-guest-msi', category: 'guest-passthrough'})
  })
})

describe('DMA right after the requester\'s NIC driver reported its link down', () => {
  // The link line is real (the same linux-wireless report, a resume); the fault line is built from
  // the kernel's format string with a made-up address.
  const LINK_DOWN = '[   68.197718] r8169 0000:2d:00.0 enp45s0: Link is Down'
  const fault = (bdf: string) => `[   68.301000] DMAR: [DMA Write NO_PASID] Request device [${bdf}] fault addr 0xffdd4000 [fault reason 0x05] PTE Write access is not set`

  it('names DMA into torn-down rings first, citing the line, and says it cannot tell (a link can just drop)', () => {
    const e = triage(`${LINK_DOWN}\n[   68.3] DMAR: DRHD: handling fault status reg 2\n${fault('2d:00.0')}`).faults[0]!.explanation
    expect(e).toMatchObject({rule: 'dma-after-link-down', category: 'stale-dma', certainty: 'cannot-tell'})
    expect(e.summary).toContain('"enp45s0: Link is Down"')
    expect(e.evidence).toContainEqual({fact: 'r8169 reported "enp45s0: Link is Down" for 0000:2d:00.0', source: 'log:1'})
  })

  it('not for another device\'s link, a link coming up, nor a link line far before the fault; a reset still leads with the driver giving up', () => {
    expect(triage(`${LINK_DOWN}\n${fault('2e:00.0')}`).faults[0]!.explanation.rule).toBe('dma-api-mapping-gone')
    expect(triage(`[   68.1] r8169 0000:2d:00.0 enp45s0: Link is Up - 1Gbps/Full - flow control rx/tx\n${fault('2d:00.0')}`).faults[0]!.explanation.rule).toBe('dma-api-mapping-gone')
    const far = [LINK_DOWN, ...Array.from({length: 40}, (_, i) => `[   68.2] usb 3-3: line ${i}`), fault('2d:00.0')].join('\n')
    expect(triage(far).faults[0]!.explanation.rule).toBe('dma-api-mapping-gone')
    const reset = '[   68.1] r8169 0000:2d:00.0 enp45s0: rtl_rxtx_empty_cond == 0 (loop: 42, delay: 100). NETDEV WATCHDOG: transmit queue 0 timed out'
    expect(triage(`${reset}\n${fault('2d:00.0')}`).faults[0]!.explanation).toMatchObject({rule: 'dma-after-driver-gave-up', certainty: 'likely'})
  })
})
