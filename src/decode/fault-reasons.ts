/**
 * VT-d fault-reason codes (vtd-reference §4): legacy DMA remapping 0x00–0x0D, interrupt
 * remapping 0x20–0x27, scalable mode 0x30–0x90. One row per code: the kernel's text
 * (paraphrased), what it means, and the usual causes. Faults are matched by CODE, never by text.
 */

export type ReasonTable = 'dma' | 'interrupt' | 'scalable'

export interface FaultReason {
  code: number
  table: ReasonTable
  /** The kernel's description, paraphrased. */
  text: string
  /** What the hardware refused, in a sysadmin's words. */
  meaning: string
  /** The usual causes, most likely first. */
  causes: string[]
  /** The legacy code this scalable-mode code is the analogue of. */
  legacyAnalogue?: number
  /** A missing or read-only mapping at the faulting address (unmapped IOVA). */
  unmappedAddress?: boolean
  /** The requester has no domain or no table on this path. */
  noDomain?: boolean
  /** The PASID-table entry is missing (0x59): the context entry exists. */
  pasidEntryMissing?: boolean
}

type Row = [code: number, text: string, meaning: string, causes: string[], extra?: Partial<FaultReason>]

const LEGACY: Row[] = [
  [0x00, 'Software', 'Placeholder code; hardware never records it.', ['A corrupted or synthetic fault record.']],
  [0x01, 'Present bit in root entry is clear', 'No context table exists for the requester\'s bus.', [
    'a requester on a bus the kernel never attached (a device hidden from the OS: BMC, ME, firmware-owned device)',
    'firmware DMA (GOP framebuffer scanout, USB legacy emulation) still running before the kernel installed its tables',
    'DMA during or after kexec/kdump',
    'a bus-number alias from a bridge the kernel does not model',
  ], {noDomain: true}],
  [0x02, 'Present bit in context entry is clear', 'The requester ID has no domain attached.', [
    'DMA from a device with no driver attached (firmware DMA left running: UEFI PXE, USB, NVMe)',
    'DMA after the driver was unbound, or while the device moves between domains (handover to vfio-pci)',
    'a phantom function or DMA alias the kernel does not cover (Marvell/Ricoh quirks)',
    'a VF doing DMA before assignment',
    'a BIOS-used device that needs an RMRR but has none',
  ], {noDomain: true}],
  [0x03, 'Invalid context entry', 'The context entry asks for something the unit does not support (TT/AW).', [
    'a kernel or VMM bug', 'stale tables copied in kdump']],
  [0x04, 'Access beyond MGAW', 'The device presented an address wider than the domain\'s address width.', [
    'a driver bypassing the DMA API with raw physical addresses above the domain width',
    'a device corrupting high address bits',
    'a guest or VMM programming an address beyond the 39/48-bit width',
  ]],
  [0x05, 'PTE Write access is not set', 'Not mapped writable: the page is mapped read-only (a wrong-direction DMA_TO_DEVICE mapping the device wrote to) or not mapped at all.', [
    'a wrong DMA direction: the buffer was mapped DMA_TO_DEVICE (read-only for the device) but the device writes it',
    'DMA after unmap (stale descriptors, use-after-free in the driver)',
    'firmware, SMM or ME writing into memory that no RMRR declares',
    'a device writing to an address its driver never programmed (address 0)',
  ], {unmappedAddress: true}],
  [0x06, 'PTE Read access is not set', 'Not mapped readable: the page is not mapped, or mapped for device writes only (a wrong-direction DMA_FROM_DEVICE mapping).', [
    'DMA after unmap (scanout or ring reads after the buffer was freed)',
    'a wrong DMA direction: the buffer was mapped DMA_FROM_DEVICE but the device reads it',
    'in a VM: the guest programmed an address VFIO has not mapped (guest reboot, guest driver reset)',
    'firmware-owned memory (stolen memory, RMRR) the domain does not map',
  ], {unmappedAddress: true}],
  [0x07, 'Next page table ptr is invalid', 'A page-table pointer points at memory that does not exist.', [
    'page tables not yet in place (early boot, firmware DMA racing the kernel)', 'table corruption', 'kexec leftovers']],
  [0x08, 'Root table address invalid', 'RTADDR points nowhere.', ['a firmware handoff or kdump problem']],
  [0x09, 'Context table ptr is invalid', 'The root entry\'s context-table pointer is bad.', ['table corruption', 'kexec/kdump leftovers']],
  [0x0a, 'non-zero reserved fields in RTP', 'Reserved bits are set in the root entry.', [
    'a software bug', 'a legacy-format table on scalable-mode hardware']],
  [0x0b, 'non-zero reserved fields in CTP', 'Reserved bits are set in the context entry.', ['a software bug']],
  [0x0c, 'non-zero reserved fields in PTE', 'Reserved or unsupported bits are set in a page-table entry.', [
    'a superpage at a level the unit does not support (emulated IOMMUs whose CAP differs from the host)',
    'bad EMT/SNP bits',
  ]],
  [0x0d, 'PCE for translation request specifies blocking', 'The device sent an ATS translation request but its context forbids ATS.', [
    'ATS enabled on the device but not in the IOMMU context (kernel/device mismatch)',
    'a device ignoring a disabled ATS capability',
  ]],
]

const INTERRUPT: Row[] = [
  [0x20, 'Detected reserved fields in the decoded interrupt-remapped request', 'A malformed remappable-format MSI.', [
    'a device or firmware bug']],
  [0x21, 'Interrupt index exceeded the interrupt-remapping table size', 'The MSI handle is beyond the IRT.', [
    'a stale MSI programmed by firmware or a previous kernel (kexec/kdump)', 'a device using cached MSI values']],
  [0x22, 'Present field in the IRTE entry is clear', 'The interrupt handle is not allocated.', [
    'a stale MSI after a driver reload', 'a device firing before its driver set up its vectors',
    'a firmware-programmed MSI', 'a VFIO device in a guest with leftover MSI-X entries']],
  [0x23, 'Error accessing interrupt-remapping table pointed by IRTA_REG', 'The IRT is in bad memory.', [
    'a firmware or kdump issue']],
  [0x24, 'Detected reserved fields in the IRTE entry', 'The IRTE has reserved bits set.', [
    'a software bug', 'a posted-format IRTE on hardware without posted interrupts']],
  [0x25, 'Blocked a compatibility format interrupt request', 'A compatibility-format (non-remappable) interrupt was blocked.', [
    'an IOAPIC RTE or HPET programmed by firmware/SMM (typically around S3 resume)',
    'an IOAPIC or HPET not covered by any DRHD scope',
    'a device whose MSIs were not routed through the remapping domain (kernel irqdomain bug, e.g. the 5.10 VF regression)',
    'a legacy device before its driver set up remapping',
  ]],
  [0x26, 'Blocked an interrupt request due to source-id verification failure', 'The requester ID does not match the IRTE\'s source-id check.', [
    'a wrong IOAPIC/HPET device scope in the DMAR table (BIOS bug)',
    'a device behind a PCIe-to-PCI bridge or an aliasing device whose real RID differs from the programmed one',
  ]],
  [0x27, 'Unknown', 'The kernel prints 0x27 as "Unknown" (its interrupt-remapping table ends at 0x26); in VT-d 3.x+ it is a posted-interrupt descriptor access error.', [
    'a kernel or VMM posted-interrupt bug']],
]

const SCALABLE: Row[] = [
  [0x30, 'SM: Invalid Root Table Address', 'RTADDR points nowhere.', ['a firmware handoff or kdump problem'], {legacyAnalogue: 0x08}],
  [0x31, 'SM: TTM 0 for request with PASID', 'A PASID-tagged request arrived while the unit runs in legacy mode.', [
    'the device uses PASID but the kernel runs legacy mode (sm_off, or an old kernel)']],
  [0x32, 'SM: TTM 0 for page group request', 'A page request arrived while the unit runs in legacy mode.', ['PRI used without scalable mode']],
  [0x38, 'SM: Error attempting to access Root Entry', 'The root entry could not be read.', ['table corruption']],
  [0x39, 'SM: Present bit in Root Entry is clear', 'No context table for the requester\'s bus.', [
    'a requester on a bus the kernel never attached', 'firmware DMA before the kernel installed tables'], {legacyAnalogue: 0x01, noDomain: true}],
  [0x3a, 'SM: Non-zero reserved field set in Root Entry', 'Reserved bits in the root entry.', ['a software bug']],
  [0x40, 'SM: Error attempting to access Context Entry', 'The context entry could not be read.', ['table corruption']],
  [0x41, 'SM: Present bit in Context Entry is clear', 'The requester ID has no domain attached.', [
    'DMA from a device with no driver attached', 'DMA after unbind', 'an uncovered DMA alias or phantom function'], {legacyAnalogue: 0x02, noDomain: true}],
  [0x42, 'SM: Non-zero reserved field set in the Context Entry', 'Reserved bits in the context entry.', ['a software bug']],
  [0x43, 'SM: Invalid Context Entry', 'The context entry is invalid.', ['a kernel or VMM bug']],
  [0x44, 'SM: DTE field in Context Entry is clear', 'A translation (ATS) request arrived without device-TLB enabled.', ['ATS used without device-TLB enable']],
  [0x45, 'SM: PASID Enable field in Context Entry is clear', 'PASID-tagged DMA, but PASID is not enabled for the device.', ['a driver using PASID the kernel did not enable']],
  [0x46, 'SM: PASID is larger than the max in Context Entry', 'The PASID is above the directory size.', ['a device using an out-of-range PASID']],
  [0x47, 'SM: PRE field in Context-Entry is clear', 'A page request, but PRI is not enabled.', ['PRI used but not enabled']],
  [0x48, 'SM: RID_PASID field error in Context-Entry', 'RPS is clear and RID_PASID is not 0.', ['a kernel bug']],
  [0x50, 'SM: Error attempting to access the PASID Directory Entry', 'The PASID directory could not be read.', ['table corruption']],
  [0x51, 'SM: Present bit in Directory Entry is clear', 'The PASID (RID_PASID for untagged DMA) is not set up.', [
    'no domain attached for this PASID (for PASID 0: the scalable-mode analogue of "no domain")',
    'a PASID directory write the IOMMU did not see (missing cache flush on non-coherent units)',
  ], {noDomain: true}],
  [0x52, 'SM: Non-zero reserved field set in PASID Directory Entry', 'Reserved bits in the PASID directory entry.', ['a software bug']],
  [0x58, 'SM: Error attempting to access PASID Table Entry', 'The PASID table entry could not be read.', ['table corruption']],
  [0x59, 'SM: Present bit in PASID Table Entry is clear', 'The PASID-table entry is missing (for untagged DMA: the RID_PASID entry); the context entry itself is present.', [
    'a kdump/kexec kernel: it copies the old kernel\'s context tables but not its scalable-mode PASID tables',
    'an SVA process exited or the PASID was unbound while the device still used it',
    'the device was detached'], {pasidEntryMissing: true}],
  [0x5a, 'SM: Non-zero reserved field set in PASID Table Entry', 'Reserved bits in the PASID table entry.', ['a software bug']],
  [0x5b, 'SM: Invalid Scalable-Mode PASID Table Entry', 'The PASID entry has a bad PGTT.', ['a kernel bug']],
  [0x5c, 'SM: ERE field is clear in PASID Table Entry', 'An execute request, but execute is not enabled.', ['a device requesting execute permission']],
  [0x5d, 'SM: SRE field is clear in PASID Table Entry', 'A supervisor request, but supervisor requests are not enabled.', ['a device issuing privileged requests']],
  [0x70, 'SM: Error attempting to access first-level paging entry', 'A first-stage paging entry could not be read.', ['table corruption']],
  [0x71, 'SM: Present bit in first-level paging entry is clear', 'First-stage translation found no mapping (unmapped IOVA).', [
    'DMA after unmap', 'a driver bug', 'firmware-owned memory the domain does not map'], {unmappedAddress: true}],
  [0x72, 'SM: Non-zero reserved field set in first-level paging entry', 'Reserved bits in a first-stage entry.', ['a software bug']],
  [0x73, 'SM: Error attempting to access FL-PML4 entry', 'Nested: the first-stage PML4 entry could not be read.', ['a nested-translation setup bug']],
  [0x74, 'SM: First-level entry address beyond MGAW in Nested translation', 'Nested: first-stage address beyond the width.', ['a guest using addresses beyond the width']],
  [0x75, 'SM: Read permission error in FL-PML4 entry in Nested translation', 'Nested: read permission error on the PML4 entry.', ['a nested-translation setup bug']],
  [0x76, 'SM: Read permission error in first-level paging entry in Nested translation', 'Nested: read permission error on a first-stage entry.', ['a nested-translation setup bug']],
  [0x77, 'SM: Write permission error in first-level paging entry in Nested translation', 'Nested: write permission error on a first-stage entry.', ['a nested-translation setup bug']],
  [0x78, 'SM: Error attempting to access second-level paging entry', 'A second-stage paging entry could not be read.', ['table corruption']],
  [0x79, 'SM: Read/Write permission error in second-level paging entry', 'Second-stage translation refused the access (unmapped or read-only IOVA).', [
    'DMA after unmap', 'a driver bug', 'in a VM: a guest address VFIO has not mapped'], {unmappedAddress: true}],
  [0x7a, 'SM: Non-zero reserved field set in second-level paging entry', 'Reserved bits in a second-stage entry.', ['a software bug']],
  [0x7b, 'SM: Invalid second-level page table pointer', 'A second-stage table pointer is bad.', ['table corruption'], {legacyAnalogue: 0x07}],
  [0x7c, 'SM: A/D bit update needed in second-level entry when set up in no snoop', 'A/D update needed on a no-snoop second-stage entry.', ['a kernel configuration bug']],
  [0x80, 'SM: Address in first-level translation is not canonical', 'The device used a non-canonical IOVA.', ['a driver or device corrupting high address bits']],
  [0x81, 'SM: U/S set 0 for first-level translation with user privilege', 'A user-mode request hit a supervisor page.', ['an SVA mapping bug']],
  [0x82, 'SM: No execute permission for request with PASID and ER=1', 'An execute request was blocked.', ['a device requesting execute permission']],
  [0x83, 'SM: Address beyond the DMA hardware max', 'The address is beyond the hardware maximum.', ['a driver bypassing the DMA API'], {legacyAnalogue: 0x04}],
  [0x84, 'SM: Second-level entry address beyond the max', 'A second-stage address beyond the maximum.', ['a driver or VMM bug'], {legacyAnalogue: 0x04}],
  [0x85, 'SM: No write permission for Write/AtomicOp request', 'A write to unmapped or read-only memory.', [
    'DMA after unmap', 'a driver bug', 'firmware writing to memory no RMRR declares'], {legacyAnalogue: 0x05, unmappedAddress: true}],
  [0x86, 'SM: No read permission for Read/AtomicOp request', 'A read from unmapped memory.', [
    'DMA after unmap', 'a driver bug', 'in a VM: a guest address VFIO has not mapped'], {legacyAnalogue: 0x06, unmappedAddress: true}],
  [0x87, 'SM: Invalid address-interrupt address', 'DMA to the 0xFEEx_xxxx window that is not a valid interrupt request.', ['a device writing into the MSI window']],
  [0x90, 'SM: A/D bit update needed in first-level entry when set up in no snoop', 'A/D update needed on a no-snoop first-stage entry.', ['a kernel configuration bug']],
]

function build(table: ReasonTable, rows: Row[]): Map<number, FaultReason> {
  return new Map(rows.map(([code, text, meaning, causes, extra]) => [code, {code, table, text, meaning, causes, ...extra}]))
}

export const LEGACY_DMA_REASONS = build('dma', LEGACY)
export const INTERRUPT_REASONS = build('interrupt', INTERRUPT)
export const SCALABLE_REASONS = build('scalable', SCALABLE)

/** Which table the kernel uses for a code (dmar_get_fault_reason): IR 0x20–0x26, SM 0x30–0x90, legacy < 0x0E. */
export function reasonTableFor(code: number): ReasonTable | 'unknown' {
  if (code >= 0x20 && code <= 0x26) return 'interrupt'
  if (code >= 0x30 && code <= 0x90) return 'scalable'
  if (code < 0x0e) return 'dma'
  return 'unknown'
}

/** The row for a code, or undefined when no table has it (the kernel prints "Unknown"). 0x27 is looked up too. */
export function lookupFaultReason(code: number): FaultReason | undefined {
  return LEGACY_DMA_REASONS.get(code) ?? INTERRUPT_REASONS.get(code) ?? SCALABLE_REASONS.get(code)
}

/** "0x06" style, the kernel's 5.14+ spelling. */
export function formatReasonCode(code: number): string {
  return '0x' + code.toString(16).padStart(2, '0')
}
