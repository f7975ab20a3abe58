/**
 * AMD-Vi event-log lines (drivers/iommu/amd/iommu.c iommu_print_event, amd_iommu_report_page_fault),
 * every era:
 * - "AMD-Vi: Event logged [IO_PAGE_FAULT device=01:00.0 domain=0x000b address=0x… flags=0x0020]"
 *   (2.6.3x – 4.x, and later kernels for a requester the IOMMU driver holds no device data for);
 * - "amdgpu 0000:03:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=… address=… flags=…]" (5.x+:
 *   the faulting device and its driver lead the line; "pci" there means no driver is bound), and
 *   the same without "AMD-Vi:" (4.19 – 5.x printed it with dev_err, outside the driver's prefix);
 * - the IOMMU's own events "iommu ivhd0: AMD-Vi: Event logged [ILLEGAL_DEV_TABLE_ENTRY device=0000:…]"
 *   (6.x; 5.x prints the IOMMU's PCI function "pci 0000:00:00.2:" in front instead);
 * - the old split form: "AMD-Vi: Event logged [" and the event on the next line;
 * - Xen's own lines, "(XEN) AMD-Vi: IO_PAGE_FAULT: 0000:00:14.0 d0 addr 000000fdf8010140 flags 0x8 I"
 *   (4.13+) and "AMD-Vi: IO_PAGE_FAULT: domain = 0, device id = 0x2600, fault address = …, flags = 0x8";
 * - "AMD-Vi: Completion-Wait loop timed out" and the "[Firmware Bug]" lines of the IVRS checks.
 * IO_PAGE_FAULT flags are the event's bits 27:16 (AMD IOMMU spec 48882 §2.5.3; the kernel's
 * EVENT_FLAG_I/PR/RW/TR): GN, NX, US, I, PR, RW, PE, RZ, TR.
 */
import type {ShapeContext} from './shape.js'
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
  /** RW: a write; meaningful only when PR=1, TR=0 and I=0 (spec §2.5.3, the kernel's IO_PAGE_FAULT_MEM_MASK). */
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
  /** The requester (full BDF): device= when printed, else the device leading the line. */
  device?: string
  /** The driver name leading a 5.x+ page-fault line ("pci" when none is bound). */
  driver?: string
  /** The IOMMU that logged it, when the line names it ("ivhd0", or its PCI function 0000:00:00.2). */
  unit?: string
  domain?: number
  pasid?: number
  address?: bigint
  flags?: number
  /** IO_PAGE_FAULT flags, decoded. */
  flagBits?: AmdViFlags
  /** Read or write, only where the flags say (a present page, not an ATS or interrupt request). */
  access?: 'read' | 'write'
  /** What the event means, in words. */
  meaning: string
  /** The line was the tail of the old split form ("AMD-Vi: Event logged [" on the line before). */
  splitForm?: true
  /** The poster redacted the requester or the address ("DDDD:bb:dd.f", "ffffff???????000"): unknown, not zero. */
  redacted?: true
}

const bit = (v: number, n: number): boolean => ((v >>> n) & 1) === 1

/** AMD-Vi events that name one requester: grouped and explained as faults. The rest are the IOMMU's own. */
export const AMD_VI_DEVICE_EVENTS: ReadonlySet<string> = new Set([
  'IO_PAGE_FAULT', 'ILLEGAL_DEV_TABLE_ENTRY', 'INVALID_DEVICE_REQUEST', 'IOTLB_INV_TIMEOUT', 'INVALID_PPR_REQUEST',
  'PAGE_TAB_HARDWARE_ERROR', 'DEV_TAB_HARDWARE_ERROR', 'RMP_PAGE_FAULT',
])

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

/** The set flag names, as the spec spells them ("PR RW PE"). */
export function amdViFlagNames(f: AmdViFlags): string[] {
  const names: Array<[boolean, string]> = [[f.guest, 'GN'], [f.noExecute, 'NX'], [f.user, 'US'], [f.interrupt, 'I'], [f.present, 'PR'], [f.write, 'RW'], [f.permission, 'PE'], [f.reservedBit, 'RZ'], [f.translation, 'TR']]
  return names.filter(([on]) => on).map(([, n]) => n)
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
  if (f.translation) return `an ATS translation request${f.present ? ' to a mapped page was refused' : ' for an address with no mapping in the device\'s I/O page table'}`
  if (!f.present) return 'a DMA request to an address with no mapping in the device\'s I/O page table (not present); the event does not record read or write when the page is not present'
  const what = f.write ? 'write' : 'read'
  if (f.reservedBit) return `${what}: a page-table entry has a reserved bit set`
  if (f.permission) return `${what} to a mapped page without ${what} permission`
  return `${what} to a mapped page was refused`
}

const BDF = String.raw`[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]`
const FIELDS = String.raw`(?: device=([0-9a-f:.]+))?(?: domain=0x([0-9a-f]+))?(?: pasid=0x([0-9a-f]+))?(?: address=0x([0-9a-f]+))?(?: flags=0x([0-9a-f]+))?`

interface Leading {
  /** The device or unit name leading the line ("0000:01:00.0", "ivhd0"). */
  name?: string
  /** What the kernel printed before it: a driver name, "pci", or "iommu". */
  owner?: string
}

function build(cx: {base: RecordBase}, event: string, leading: Leading, fields: Array<string | undefined>, splitForm: boolean): AmdViRecord {
  const [device, domain, pasid, address, flags] = fields
  const rec: AmdViRecord = {...cx.base, type: 'amd-vi', event, meaning: AMD_VI_EVENTS[event] ?? 'an AMD-Vi event this tool does not know'}
  const leadBdf = leading.name !== undefined && new RegExp(`^${BDF}$`).test(leading.name) ? leading.name : undefined
  // device= names the requester; a device leading such a line is the IOMMU's own PCI function (5.x).
  if (device !== undefined) {
    rec.device = device.length <= 7 ? '0000:' + device : device
    if (leading.name !== undefined) rec.unit = leading.name
  } else if (leadBdf !== undefined) {
    rec.device = leadBdf
    if (leading.owner !== undefined) rec.driver = leading.owner
  } else if (leading.name !== undefined) rec.unit = leading.name
  if (domain !== undefined) rec.domain = hexNum(domain)
  if (pasid !== undefined) rec.pasid = hexNum(pasid)
  if (address !== undefined) rec.address = hexBig(address)
  if (flags !== undefined) {
    rec.flags = hexNum(flags)
    if (event === 'IO_PAGE_FAULT') {
      const f = decodeAmdViFlags(rec.flags)
      rec.flagBits = f
      if (f.present && !f.interrupt && !f.translation) rec.access = f.write ? 'write' : 'read'
      rec.meaning = pageFaultMeaning(f)
    }
  }
  if (splitForm) rec.splitForm = true
  return rec
}

/** The old split form's second line: "IO_PAGE_FAULT device=00:14.2 domain=0x0000 address=0x… flags=0x0030]". */
const SPLIT_TAIL: Shape[] = [{
  name: 'amd-vi-event-split',
  probe: '=',
  re: new RegExp(String.raw`^\s*(${EVENT_NAMES.join('|')})` + FIELDS),
  build: (m, cx) => build(cx, m[1]!, {}, [m[2], m[3], m[4], m[5], m[6]], true),
}]

export const AMD_VI_SHAPES: Shape[] = [
  {
    name: 'amd-vi-event',
    probe: 'AMD-Vi: Event logged [',
    re: new RegExp(String.raw`(?:(?:(\S+) )?(${BDF}|ivhd\d+): )?AMD-Vi: Event logged \[(\w+)` + FIELDS),
    build: (m, cx) => build(cx, m[3]!, {...(m[2] === undefined ? {} : {name: m[2]}), ...(m[1] === undefined ? {} : {owner: m[1]})}, [m[4], m[5], m[6], m[7], m[8]], false),
  },
  {
    // 4.19 – 5.x printed the page fault with dev_err and no "AMD-Vi:" prefix: the device must lead the line.
    name: 'amd-vi-event-unprefixed',
    probe: ': Event logged [IO_PAGE_FAULT domain=',
    re: new RegExp(String.raw`(?:(\S+) )?(${BDF}): Event logged \[(IO_PAGE_FAULT)` + FIELDS),
    build: (m, cx) => build(cx, m[3]!, {name: m[2]!, ...(m[1] === undefined ? {} : {owner: m[1]})}, [m[4], m[5], m[6], m[7], m[8]], false),
  },
  {
    // The event follows on the next line, which may carry no keyword: the parser reads it as this line's continuation.
    name: 'amd-vi-event-head',
    probe: 'AMD-Vi: Event logged [',
    re: /AMD-Vi: Event logged \[\s*$/,
    stateful: 'tail',
    build: (_m, cx: ShapeContext) => {
      cx.parser.continueOnNextLine(cx, SPLIT_TAIL)
      return undefined
    },
  },
  {
    // The old split form's event line on its own: another CPU's line came between it and its
    // "AMD-Vi: Event logged [" (two printk calls), or the paste kept only this line.
    name: 'amd-vi-event-split-alone',
    probe: 'IO_PAGE_FAULT device=',
    re: new RegExp(String.raw`^\s*(IO_PAGE_FAULT)` + FIELDS + String.raw`\]`),
    build: (m, cx) => build(cx, m[1]!, {}, [m[2], m[3], m[4], m[5], m[6]], true),
  },
  {
    // Xen's own event line (xen/drivers/passthrough/amd/iommu_init.c parse_event_log_entry, 4.13+):
    // "AMD-Vi: IO_PAGE_FAULT: 0000:00:14.0 d0 addr 000000fdf8010140 flags 0x8 I" — the domain is
    // decimal, the flags are the event's bits as Linux prints them, then their names.
    name: 'amd-vi-xen',
    probe: 'AMD-Vi: ',
    // Posters redact the requester ("DDDD:bb:dd.f") or the address ("ffffff???????000"): unknown, the event still counts.
    re: new RegExp(String.raw`AMD-Vi: ([A-Z_]+): (${BDF}|[\w?]{4}:[\w?]{2}:[\w?]{2}\.[\w?]) d(\d+) addr ([0-9a-f?x]+) flags (?:0x)?([0-9a-f]+)`),
    build: (m, cx) => {
      const known = (v: string, re: RegExp) => (re.test(v) ? v : undefined)
      const rec = build(cx, m[1]!, {}, [known(m[2]!, new RegExp(`^${BDF}$`)), Number(m[3]).toString(16), undefined, known(m[4]!, /^[0-9a-f]+$/), m[5]], false)
      if (rec.device === undefined || rec.address === undefined) rec.redacted = true
      return rec
    },
  },
  {
    // Xen before 4.13: "AMD-Vi: IO_PAGE_FAULT: domain = 0, device id = 0x2600, fault address = 0x…, flags = 0x8"
    // (the device id is the requester ID: bus << 8 | devfn).
    name: 'amd-vi-xen-old',
    probe: 'device id = ',
    re: /AMD-Vi: ([A-Z_]+): domain = (\d+), device id = (?:0x)?([0-9a-f]+), fault address = (?:0x)?([0-9a-f]+), flags = (?:0x)?([0-9a-f]+)/,
    build: (m, cx) => {
      const rid = hexNum(m[3]!)
      const bdf = `0000:${(rid >> 8).toString(16).padStart(2, '0')}:${((rid >> 3) & 0x1f).toString(16).padStart(2, '0')}.${rid & 7}`
      return build(cx, m[1]!, {}, [bdf, Number(m[2]).toString(16), undefined, m[4], m[5]], false)
    },
  },
  {
    name: 'amd-vi-completion-wait',
    probe: 'Completion-Wait loop timed out',
    re: /AMD-Vi: Completion-Wait loop timed out/,
    build: (_m, cx) => build(cx, 'COMPLETION_WAIT_TIMEOUT', {}, [], false),
  },
]
