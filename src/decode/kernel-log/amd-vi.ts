/**
 * AMD-Vi event-log lines (drivers/iommu/amd/iommu.c iommu_print_event): every event type the
 * kernel prints, in both eras — "AMD-Vi: Event logged [IO_PAGE_FAULT device=… domain=… address=…
 * flags=…]" on one line (the device may instead lead the line as "nvme 0000:01:00.0: ", 5.x+),
 * and the old split form whose event line follows a bare "AMD-Vi: Event logged [" line — plus
 * "Completion-Wait loop timed out". IO_PAGE_FAULT flags are decoded from the event-log layout
 * (AMD IOMMU spec 48882, IO_PAGE_FAULT event: GN, NX, US, I, PR, RW, PE, RZ, TR).
 * Counted and shown by fault triage; not grouped or explained like DMAR faults yet.
 */
import type {RecordBase} from './records.js'
import {hexBig, hexNum, type Shape} from './shape.js'

export interface AmdViFlags {
  value: number
  /** GN: the request was a guest (nested) access. */
  guest: boolean
  noExecute: boolean
  user: boolean
  /** I: an interrupt request, not a memory access. */
  interrupt: boolean
  /** PR: the page was present (so the fault is a permission problem). */
  present: boolean
  write: boolean
  /** PE: permission check failed. */
  permission: boolean
  /** RZ: a reserved bit was set in a table entry. */
  reservedBit: boolean
  /** TR: a translation request (ATS), not an untranslated access. */
  translation: boolean
}

export interface AmdViRecord extends RecordBase {
  type: 'amd-vi'
  /** The event name as printed (IO_PAGE_FAULT, ILLEGAL_DEV_TABLE_ENTRY, …, COMPLETION_WAIT_TIMEOUT). */
  event: string
  device?: string
  domain?: number
  pasid?: number
  address?: bigint
  flags?: number
  /** IO_PAGE_FAULT flags, decoded. */
  flagBits?: AmdViFlags
  access?: 'read' | 'write'
  /** What the event means, in words. */
  meaning: string
  /** The line was the tail of the old split form ("AMD-Vi: Event logged [" on the line before). */
  splitForm?: true
}

const bit = (v: number, n: number): boolean => ((v >>> n) & 1) === 1

export function decodeAmdViFlags(value: number): AmdViFlags {
  return {
    value,
    guest: bit(value, 0),
    noExecute: bit(value, 1),
    user: bit(value, 2),
    interrupt: bit(value, 3),
    present: bit(value, 4),
    write: bit(value, 5),
    permission: bit(value, 6),
    reservedBit: bit(value, 7),
    translation: bit(value, 8),
  }
}

/** Event types (iommu_print_event), what each one means. */
export const AMD_VI_EVENTS: Record<string, string> = {
  IO_PAGE_FAULT: 'a DMA (or interrupt) request found no valid translation in the I/O page tables',
  ILLEGAL_DEV_TABLE_ENTRY: "the device's device-table entry is invalid (reserved bits, bad mode): the IOMMU rejected the request",
  DEV_TAB_HARDWARE_ERROR: 'the IOMMU could not read the device table (host bus error)',
  PAGE_TAB_HARDWARE_ERROR: 'the IOMMU could not read an I/O page table (host bus error)',
  ILLEGAL_COMMAND_ERROR: 'the driver put an illegal command in the command buffer',
  COMMAND_HARDWARE_ERROR: 'the IOMMU could not read the command buffer (host bus error)',
  IOTLB_INV_TIMEOUT: "a device's ATS IOTLB did not answer an invalidation in time",
  INVALID_DEVICE_REQUEST: 'the device sent a request it is not allowed to (ATS or PRI disabled, or a translated request without permission)',
  INVALID_PPR_REQUEST: 'a page request (PRI) the IOMMU could not accept',
  RMP_PAGE_FAULT: 'SEV-SNP: the DMA hit a page the RMP does not allow this device to access',
  RMP_HW_ERROR: 'SEV-SNP: the IOMMU could not read the RMP table',
  COMPLETION_WAIT_TIMEOUT: 'the IOMMU stopped processing commands (Completion-Wait loop timed out): the IOMMU is hung or its command buffer is corrupt',
}
const EVENT_NAMES = Object.keys(AMD_VI_EVENTS).filter((e) => e !== 'COMPLETION_WAIT_TIMEOUT')

function pageFaultMeaning(f: AmdViFlags): string {
  if (f.interrupt) return 'an interrupt request found no valid interrupt-remapping entry'
  const what = `${f.write ? 'write' : 'read'}${f.translation ? ' translation request (ATS)' : ''}`
  if (f.reservedBit) return `${what}: a page-table entry has a reserved bit set`
  if (f.present && f.permission) return `${what} to a mapped page without ${f.write ? 'write' : 'read'} permission`
  if (f.present) return `${what} to a mapped page was refused`
  return `${what} to an address with no mapping in the device's I/O page table (not present)`
}

const FIELDS = String.raw`(?: device=([0-9a-f:.]+))?(?: domain=0x([0-9a-f]+))?(?: pasid=0x([0-9a-f]+))?(?: address=0x([0-9a-f]+))?(?: flags=0x([0-9a-f]+))?`

function build(cx: {base: RecordBase}, event: string, leading: string | undefined, fields: Array<string | undefined>, splitForm: boolean): AmdViRecord {
  const [device, domain, pasid, address, flags] = fields
  const rec: AmdViRecord = {...cx.base, type: 'amd-vi', event, meaning: AMD_VI_EVENTS[event] ?? 'an AMD-Vi event this tool does not know'}
  const dev = leading ?? (device === undefined ? undefined : device.length <= 7 ? '0000:' + device : device)
  if (dev !== undefined) rec.device = dev
  if (domain !== undefined) rec.domain = hexNum(domain)
  if (pasid !== undefined) rec.pasid = hexNum(pasid)
  if (address !== undefined) rec.address = hexBig(address)
  if (flags !== undefined) {
    rec.flags = hexNum(flags)
    if (event === 'IO_PAGE_FAULT') {
      rec.flagBits = decodeAmdViFlags(rec.flags)
      if (!rec.flagBits.interrupt) rec.access = rec.flagBits.write ? 'write' : 'read'
      rec.meaning = pageFaultMeaning(rec.flagBits)
    }
  }
  if (splitForm) rec.splitForm = true
  return rec
}

export const AMD_VI_SHAPES: Shape[] = [
  {
    name: 'amd-vi-event',
    probe: 'AMD-Vi: Event logged',
    re: new RegExp(String.raw`(?:(?:\S+ )?([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): )?AMD-Vi: Event logged \[(\w+)` + FIELDS),
    build: (m, cx) => build(cx, m[2]!, m[1], [m[3], m[4], m[5], m[6], m[7]], false),
  },
  {
    // Old kernels print "AMD-Vi: Event logged [" and the event on the next line, closing the bracket.
    name: 'amd-vi-event-split',
    probe: ' device=',
    re: new RegExp(String.raw`^\s*(${EVENT_NAMES.join('|')})` + FIELDS + String.raw`\]`),
    build: (m, cx) => build(cx, m[1]!, undefined, [m[2], m[3], m[4], m[5], m[6]], true),
  },
  {
    name: 'amd-vi-completion-wait',
    probe: 'Completion-Wait loop timed out',
    re: /AMD-Vi: Completion-Wait loop timed out/,
    build: (_m, cx) => build(cx, 'COMPLETION_WAIT_TIMEOUT', undefined, [], false),
  },
]
