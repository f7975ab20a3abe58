/**
 * The DMA-remapping fault reasons a translation walk can end in (vtd-reference §3.4, §4.1,
 * §4.3), by code. The names follow the kernel's reason tables in meaning (paraphrased, as the
 * reference is); match faults by code, never by text. The fault-triage code keeps the fuller
 * texts (src/decode/fault-reasons.ts), which `reasonName` prefers; the names here are the
 * walk's own fallback.
 */
import {lookupFaultReason} from '../../decode/fault-reasons.js'

export const REASON = {
  rootNotPresent: 0x01,
  contextNotPresent: 0x02,
  contextInvalid: 0x03,
  beyondMgaw: 0x04,
  writeNotSet: 0x05,
  readNotSet: 0x06,
  nextTableInvalid: 0x07,
  rootTableInvalid: 0x08,
  contextTableInvalid: 0x09,
  rootReserved: 0x0a,
  contextReserved: 0x0b,
  pteReserved: 0x0c,
  translationBlocked: 0x0d,
  smRootTableInvalid: 0x30,
  smPasidInLegacyMode: 0x31,
  smRootNotPresent: 0x39,
  smRootReserved: 0x3a,
  smContextFetch: 0x40,
  smContextNotPresent: 0x41,
  smContextReserved: 0x42,
  smContextInvalid: 0x43,
  smDteClear: 0x44,
  smPasidDisabled: 0x45,
  smPasidBeyondDirectory: 0x46,
  smRidPasidError: 0x48,
  smPasidDirFetch: 0x50,
  smPasidDirNotPresent: 0x51,
  smPasidDirReserved: 0x52,
  smPasidEntryFetch: 0x58,
  smPasidEntryNotPresent: 0x59,
  smPasidEntryReserved: 0x5a,
  smPasidEntryInvalid: 0x5b,
  smSupervisorDisabled: 0x5d,
  smFsFetch: 0x70,
  smFsNotPresent: 0x71,
  smFsReserved: 0x72,
  smNonCanonical: 0x80,
  smUserToSupervisor: 0x81,
  smExecuteBlocked: 0x82,
  smWriteDenied: 0x85,
  smInterruptAddress: 0x87,
} as const

export type ReasonCode = (typeof REASON)[keyof typeof REASON]

const NAMES: Record<number, string> = {
  0x01: 'Present bit in root entry is clear',
  0x02: 'Present bit in context entry is clear',
  0x03: 'Invalid context entry',
  0x04: 'Access beyond MGAW',
  0x05: 'PTE Write access is not set',
  0x06: 'PTE Read access is not set',
  0x07: 'Next page table ptr is invalid',
  0x08: 'Root table address invalid',
  0x09: 'Context table ptr is invalid',
  0x0a: 'non-zero reserved fields in RTP',
  0x0b: 'non-zero reserved fields in CTP',
  0x0c: 'non-zero reserved fields in PTE',
  0x0d: 'PCE for translation request specifies blocking',
  0x30: 'SM: Invalid Root Table Address',
  0x31: 'SM: TTM 0 for request with PASID',
  0x39: 'SM: Present bit in Root Entry is clear',
  0x3a: 'SM: Non-zero reserved field set in Root Entry',
  0x40: 'SM: Error accessing context entry',
  0x41: 'SM: Present bit in Context Entry is clear',
  0x42: 'SM: Non-zero reserved field set in the Context Entry',
  0x43: 'SM: Invalid Context Entry',
  0x44: 'SM: DTE field in Context Entry is clear',
  0x45: 'SM: PASID Enable field in Context Entry is clear',
  0x46: 'SM: PASID is larger than the max in Context Entry',
  0x47: 'SM: PRE field in Context-Entry is clear',
  0x48: 'SM: RID_PASID field error in Context Entry',
  0x50: 'SM: Error accessing the PASID Directory Entry',
  0x51: 'SM: Present bit in Directory Entry is clear',
  0x52: 'SM: Non-zero reserved field set in PASID Directory Entry',
  0x58: 'SM: Error accessing PASID Table Entry',
  0x59: 'SM: Present bit in PASID Table Entry is clear',
  0x5a: 'SM: Non-zero reserved field set in PASID Table Entry',
  0x5b: 'SM: Invalid Scalable-Mode PASID Table Entry',
  0x5d: 'SM: SRE field is clear in PASID Table Entry for a supervisor request',
  0x70: 'SM: Error accessing first-stage paging entry',
  0x71: 'SM: Present bit in first-stage paging entry is clear',
  0x72: 'SM: Non-zero reserved field set in first-stage paging entry',
  0x73: 'SM: Error accessing FL-PML4 entry (nested)',
  0x78: 'SM: Error accessing second-stage paging entry',
  0x79: 'SM: Read/Write permission error in second-stage paging entry',
  0x7a: 'SM: Non-zero reserved field set in second-stage paging entry',
  0x7b: 'SM: Invalid second-stage page table pointer',
  0x80: 'SM: Non-canonical address in first-stage translation',
  0x81: 'SM: User-mode request to a supervisor page',
  0x82: 'SM: Execute request blocked (XD set)',
  0x83: 'SM: Address beyond the hardware maximum',
  0x84: 'SM: Address beyond the second-stage maximum',
  0x85: 'SM: No write permission for a Write or AtomicOp request',
  0x86: 'SM: No read permission for a Read or AtomicOp request',
  0x87: 'SM: Translated address is in the interrupt address range',
}

/** The kernel's text for a code: the fault-reason table's when it has the code, else ours. */
export function reasonName(code: number): string {
  return lookupFaultReason(code)?.text ?? NAMES[code] ?? 'Unknown'
}

/** Every code the walk can produce (tests iterate over it). */
export const WALK_REASON_CODES: readonly number[] = Object.values(REASON)
