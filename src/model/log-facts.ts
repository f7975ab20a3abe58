/**
 * What the kernel log says, read once: the boot and attach facts the checks need (by their stable
 * text, vtd-reference §5.5–§7) and the DMA / interrupt-remapping faults (the shared decoder, §5.1).
 */
import {AMD_VI_DEVICE_EVENTS} from '../decode/kernel-log/amd-vi.js'
import {smmuRequester} from '../decode/kernel-log/arm-smmu.js'
import {parseKernelLog, type IommuFamily, type LogRecord} from '../decode/kernel-log/index.js'

export interface LogView {
  readable: boolean
  /** Why not, when not readable (dmesg_restrict, no dmesg.txt in the snapshot …). */
  message?: string
  /** The snapshot's log was refused by the guarded reader (a link out of the snapshot, a FIFO, too large). */
  refused?: string
  /** Evidence label: always "dmesg" (a snapshot's dmesg.txt is the same text), so live and --root agree. */
  source: string
  /** Where it really came from: "dmesg", "journalctl -k", "/dmesg.txt", a file. */
  origin: string
  lines: string[]
}

export interface LogFacts {
  vtdInitialised: boolean
  amdViActive: boolean
  irEnabledMode?: 'x2apic' | 'xapic'
  irFailed: string[]
  x2apicOptOut: boolean
  acsOverrideWarning: boolean
  defaultDomainLine?: string
  invalidationPolicyLine?: string
  rmrrIneligible: string[]
  rmrrRequire1to1: string[]
  featureInconsistent: string[]
  platformOptIn: boolean
  scalableDisallowed: boolean
  vfioNoIr: boolean
  dmarFirmwareBugs: string[]
  /** AMD-Vi: "[Firmware Bug]" lines about the IVRS table, IOAPIC or HPET ("IOAPIC[9] not in IVRS table" …). */
  amdFirmwareBugs: string[]
  /** AMD-Vi boot lines after "Interrupt remapping enabled": "X2APIC enabled" (XT mode), "Virtual APIC enabled" (GA vAPIC). */
  amdX2apic: boolean
  amdVirtualApic: boolean
  /** "Force to disable Virtual APIC due to SNP": SNP host mode turns vAPIC off. */
  amdVapicOffForSnp: boolean
  /** "AMD-Vi: IOMMU SNP support enabled". */
  amdSnp: boolean
  /** arm-smmu-v3 probe lines ("arm-smmu-v3 arm-smmu-v3.0.auto: ias 44-bit, oas 44-bit (features 0x…)"). */
  smmuV3: string[]
}

export interface DmaFault {
  /** Which IOMMU logged it: a VT-d fault record, an AMD-Vi event naming a device, an Arm SMMU event. */
  family: IommuFamily
  kind: 'dma' | 'interrupt'
  /**
   * Full form; segment 0000 unless the line printed one (Linux never does). An SMMU fault without
   * a named master: "<smmu> sid 0x…" (fault triage traces the StreamID through the IORT).
   */
  requester: string
  /** VT-d fault reason code. */
  reason?: number
  /** VT-d: the reason text; AMD-Vi and SMMU: the event name (IO_PAGE_FAULT, F_TRANSLATION …). */
  reasonText: string
  /** Set when the record carried a PASID (scalable mode tags requests-without-PASID with RID_PASID). */
  pasid?: number
  line: string
}

const FULL_BDF = /[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/i

/**
 * Every pattern below matches only lines holding one of these words: lines without them are
 * skipped before the two dozen patterns run (keep this in step when adding a pattern).
 */
const MENTIONS_A_FACT = /DMAR|PCI-DMA|AMD-Vi|IRQ remapping|irq remapping|interrupt remapping|erratum making|x2apic|ACS overrides|iommu|IOMMU|TLB invalidation|Scalable mode|Firmware Bug|Your BIOS is broken|arm-smmu-v3/

/** Boot and attach lines (vtd-reference §5.5, §5.6, §7), by their stable text. */
export function readLogFacts(lines: string[]): LogFacts {
  const facts: LogFacts = {
    vtdInitialised: false,
    amdViActive: false,
    irFailed: [],
    x2apicOptOut: false,
    acsOverrideWarning: false,
    rmrrIneligible: [],
    rmrrRequire1to1: [],
    featureInconsistent: [],
    platformOptIn: false,
    scalableDisallowed: false,
    vfioNoIr: false,
    dmarFirmwareBugs: [],
    amdFirmwareBugs: [],
    amdX2apic: false,
    amdVirtualApic: false,
    amdVapicOffForSnp: false,
    amdSnp: false,
    smmuV3: [],
  }
  for (const line of lines) {
    // Most of a boot log is other subsystems (a large host prints thousands of "pci ..." lines).
    if (!MENTIONS_A_FACT.test(line)) continue
    if (/(DMAR|PCI-DMA): Intel\(R\) Virtualization Technology for Directed I\/O/.test(line)) facts.vtdInitialised = true
    // Not "AMD IOMMUv2 functionality not available": every x86 kernel with the driver prints that, Intel hosts too.
    if (/AMD-Vi: (Found IOMMU|Interrupt remapping enabled)|pci [0-9a-f:.]+: AMD-Vi: Found IOMMU/.test(line)) facts.amdViActive = true
    const ir = line.match(/Enabled IRQ remapping in (x2apic|xapic) mode/)
    if (ir) facts.irEnabledMode = ir[1] as 'x2apic' | 'xapic'
    if (/Failed to enable irq remapping|Not enabling interrupt remapping|has no mapping iommu, interrupt remapping will be disabled|erratum making that feature unstable|AMD-Vi: Disabling interrupt remapping/.test(line))
      facts.irFailed.push(line.trim())
    if (/x2apic is disabled because BIOS sets x2apic opt out bit|requested that x2apic be disabled/.test(line)) facts.x2apicOptOut = true
    if (/PCIe ACS overrides enabled/.test(line)) facts.acsOverrideWarning = true
    const domain = line.match(/iommu: Default domain type: .*$/)
    if (domain) facts.defaultDomainLine = domain[0].trim()
    const policy = line.match(/DMA domain TLB invalidation policy: .*$/)
    if (policy) facts.invalidationPolicyLine = policy[0].trim()
    if (/Device is ineligible for IOMMU domain attach/.test(line)) facts.rmrrIneligible.push(line.match(FULL_BDF)?.[0] ?? line.trim())
    if (/Firmware has requested this device have a 1:1 IOMMU mapping/.test(line)) facts.rmrrRequire1to1.push(line.match(FULL_BDF)?.[0] ?? line.trim())
    const inconsistent = line.match(/IOMMU feature (\S+) inconsistent/)
    if (inconsistent?.[1]) facts.featureInconsistent.push(inconsistent[1])
    if (/Intel-IOMMU force enabled due to platform opt in/.test(line)) facts.platformOptIn = true
    if (/Scalable mode is disallowed/.test(line)) facts.scalableDisallowed = true
    if (/No interrupt remapping support\.\s+Use the module param "allow_unsafe_interrupts"/.test(line)) facts.vfioNoIr = true
    if (/DMAR.*\[Firmware Bug\]|\[Firmware Bug\].*(DMAR|RMRR|VT-d)|Your BIOS is broken/.test(line)) facts.dmarFirmwareBugs.push(line.trim())
    if (/AMD-Vi.*\[Firmware Bug\]|\[Firmware Bug\].*(AMD-Vi|IVRS|ivrs)/.test(line)) facts.amdFirmwareBugs.push(line.trim())
    if (/AMD-Vi: X2APIC enabled/.test(line)) facts.amdX2apic = true
    if (/AMD-Vi: Virtual APIC enabled/.test(line)) facts.amdVirtualApic = true
    if (/AMD-Vi: Force to disable Virtual APIC due to SNP/.test(line)) facts.amdVapicOffForSnp = true
    if (/AMD-Vi: IOMMU SNP support enabled/.test(line)) facts.amdSnp = true
    if (/arm-smmu-v3[ .][^:]*: (ias \d+-bit|probing hardware configuration)/.test(line)) facts.smmuV3.push(line.trim())
  }
  facts.rmrrIneligible = [...new Set(facts.rmrrIneligible)]
  facts.rmrrRequire1to1 = [...new Set(facts.rmrrRequire1to1)]
  facts.featureInconsistent = [...new Set(facts.featureInconsistent)]
  return facts
}

/** DMA and interrupt-remapping faults of every kernel era (the shared log decoder, §5.1). */
function faultOf(record: LogRecord): DmaFault | undefined {
  if (record.type === 'fault')
    return {family: 'intel-vtd', kind: record.kind, requester: record.requester, reason: record.reason, reasonText: record.reasonText, ...(record.pasid === undefined ? {} : {pasid: record.pasid}), line: record.text}
  if (record.type === 'amd-vi' && AMD_VI_DEVICE_EVENTS.has(record.event))
    return {family: 'amd-vi', kind: record.flagBits?.interrupt ? 'interrupt' : 'dma', requester: record.device ?? '(not printed)', reasonText: record.event, ...(record.pasid ? {pasid: record.pasid} : {}), line: record.text}
  if (record.type === 'smmu')
    return {family: record.family, kind: 'dma', requester: smmuRequester(record), reasonText: record.event, ...(record.substreamId === undefined ? {} : {pasid: record.substreamId}), line: record.text}
  return undefined
}

/** The faults of every IOMMU family the log holds, one per fault record (what fault triage groups). */
export function readFaults(text: string): DmaFault[] {
  return parseKernelLog(text).flatMap((record) => faultOf(record) ?? [])
}
