/**
 * PCI configuration space decoder, lspci-equivalent for the facts IOMMU rules read.
 *
 * Data-driven like pciutils' ls-caps.c / ls-ecaps.c: every capability is a row in a table of
 * named bit fields, and one walker reads them. Broken input is data, never a throw: a short
 * read gives `<truncated at 0x..>` problems and lists marked incomplete, so callers can say
 * "unknown" (non-root readers see 64 bytes) instead of "absent".
 */

export type CapabilitySpace = 'standard' | 'extended'

/** One named field of a register: `bits` [high, low] inclusive; a 1-bit field decodes to boolean. */
interface FieldSpec {
  name: string
  /** Offset from the capability start. */
  at: number
  size: 1 | 2 | 3 | 4
  bits?: readonly [number, number]
  /** PCIe capability: registers that only exist from this capability version on. */
  minVersion?: number
  /** Only decoded when this (already decoded) boolean field is true, e.g. the slot registers. */
  onlyIf?: string
}

interface CapabilitySpec {
  id: number
  name: string
  fields: readonly FieldSpec[]
}

const f = (name: string, at: number, size: 1 | 2 | 3 | 4, bits?: readonly [number, number], extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  at,
  size,
  ...(bits ? {bits} : {}),
  ...extra,
})
const flag = (name: string, at: number, size: 1 | 2 | 4, bit: number, extra: Partial<FieldSpec> = {}): FieldSpec =>
  f(name, at, size, [bit, bit], extra)

/** Standard (conventional) capabilities, pci_regs.h PCI_CAP_ID_*. */
const STANDARD_CAPABILITIES: readonly CapabilitySpec[] = [
  {
    id: 0x01,
    name: 'Power Management',
    fields: [
      f('version', 2, 2, [2, 0]),
      flag('d1', 2, 2, 9),
      flag('d2', 2, 2, 10),
      f('powerState', 4, 2, [1, 0]),
      // No_Soft_Reset: a D3hot->D0 transition keeps state, so "pm" is no reset at all.
      flag('noSoftReset', 4, 2, 3),
      flag('pmeEnable', 4, 2, 8),
    ],
  },
  {id: 0x02, name: 'AGP', fields: []},
  {id: 0x03, name: 'Vital Product Data', fields: []},
  {id: 0x04, name: 'Slot Identification', fields: []},
  {
    id: 0x05,
    name: 'MSI',
    fields: [
      flag('enable', 2, 2, 0),
      f('multipleMessageCapable', 2, 2, [3, 1]),
      f('multipleMessageEnable', 2, 2, [6, 4]),
      flag('address64', 2, 2, 7),
      flag('perVectorMask', 2, 2, 8),
    ],
  },
  {id: 0x06, name: 'CompactPCI hot-swap', fields: []},
  {id: 0x07, name: 'PCI-X', fields: []},
  {id: 0x08, name: 'HyperTransport', fields: []},
  {id: 0x09, name: 'Vendor Specific', fields: [f('length', 2, 1)]},
  {id: 0x0a, name: 'Debug port', fields: []},
  {id: 0x0b, name: 'CompactPCI central resource control', fields: []},
  {id: 0x0c, name: 'PCI Hot-plug', fields: []},
  {id: 0x0d, name: 'Subsystem', fields: [f('subsystemVendorId', 4, 2), f('subsystemDeviceId', 6, 2)]},
  {id: 0x0e, name: 'AGP 3.0', fields: []},
  {id: 0x0f, name: 'Secure device', fields: []},
  {
    id: 0x10,
    name: 'Express',
    fields: [
      f('version', 2, 2, [3, 0]),
      f('type', 2, 2, [7, 4]),
      flag('slotImplemented', 2, 2, 8),
      f('interruptMessage', 2, 2, [13, 9]),
      f('maxPayload', 4, 4, [2, 0]),
      f('phantomFunctions', 4, 4, [4, 3]),
      flag('extendedTag', 4, 4, 5),
      flag('flr', 4, 4, 28),
      flag('initiateFlr', 8, 2, 15),
      f('linkMaxSpeed', 0x0c, 4, [3, 0]),
      f('linkMaxWidth', 0x0c, 4, [9, 4]),
      f('aspmSupport', 0x0c, 4, [11, 10]),
      flag('dllActiveReporting', 0x0c, 4, 20),
      f('portNumber', 0x0c, 4, [31, 24]),
      f('aspmControl', 0x10, 2, [1, 0]),
      flag('linkDisable', 0x10, 2, 4),
      f('linkSpeed', 0x12, 2, [3, 0]),
      f('linkWidth', 0x12, 2, [9, 4]),
      flag('dllActive', 0x12, 2, 13),
      flag('hotPlugCapable', 0x14, 4, 6, {onlyIf: 'slotImplemented'}),
      f('physicalSlot', 0x14, 4, [31, 19], {onlyIf: 'slotImplemented'}),
      flag('presenceDetect', 0x1a, 2, 6, {onlyIf: 'slotImplemented'}),
      flag('ariForwardingSupported', 0x24, 4, 5, {minVersion: 2}),
      flag('ariForwardingEnabled', 0x28, 2, 5, {minVersion: 2}),
    ],
  },
  {
    id: 0x11,
    name: 'MSI-X',
    fields: [f('tableSize', 2, 2, [10, 0]), flag('functionMask', 2, 2, 14), flag('enable', 2, 2, 15), f('tableBir', 4, 4, [2, 0]), f('pbaBir', 8, 4, [2, 0])],
  },
  {id: 0x12, name: 'SATA HBA', fields: []},
  {
    id: 0x13,
    name: 'Advanced Features',
    fields: [flag('transactionsPending', 3, 1, 0), flag('flr', 3, 1, 1), flag('initiateFlr', 4, 1, 0)],
  },
  {id: 0x14, name: 'Enhanced Allocation', fields: []},
  {id: 0x15, name: 'Flattening Portal Bridge', fields: []},
]

/** Extended capabilities (offset >= 0x100), pci_regs.h PCI_EXT_CAP_ID_*. */
const EXTENDED_CAPABILITIES: readonly CapabilitySpec[] = [
  {
    id: 0x01,
    name: 'Advanced Error Reporting',
    fields: [f('uncorrectableStatus', 4, 4), f('uncorrectableMask', 8, 4), f('uncorrectableSeverity', 0x0c, 4), f('correctableStatus', 0x10, 4), f('correctableMask', 0x14, 4), f('firstErrorPointer', 0x18, 4, [4, 0])],
  },
  {id: 0x02, name: 'Virtual Channel', fields: []},
  {id: 0x03, name: 'Device Serial Number', fields: [f('serialLow', 4, 4), f('serialHigh', 8, 4)]},
  {id: 0x04, name: 'Power Budgeting', fields: []},
  {id: 0x05, name: 'Root Complex Link', fields: []},
  {id: 0x06, name: 'Root Complex Internal Link Control', fields: []},
  {id: 0x07, name: 'Root Complex Event Collector Endpoint Association', fields: []},
  {id: 0x08, name: 'Multi-Function Virtual Channel', fields: []},
  {id: 0x09, name: 'Virtual Channel (MFVC)', fields: []},
  {id: 0x0a, name: 'Root Complex Register Block', fields: []},
  {id: 0x0b, name: 'Vendor Specific', fields: [f('vsecId', 4, 4, [15, 0]), f('vsecRevision', 4, 4, [19, 16]), f('vsecLength', 4, 4, [31, 20])]},
  {id: 0x0c, name: 'Configuration Access Correlation', fields: []},
  {
    id: 0x0d,
    name: 'Access Control Services',
    fields: [
      f('capability', 4, 2),
      f('control', 6, 2),
      f('egressVectorSize', 4, 2, [15, 8]),
    ],
  },
  {
    id: 0x0e,
    name: 'Alternative Routing-ID Interpretation',
    fields: [flag('mfvc', 4, 2, 0), flag('acsFunctionGroups', 4, 2, 1), f('nextFunction', 4, 2, [15, 8]), f('functionGroup', 6, 2, [6, 4])],
  },
  {
    id: 0x0f,
    name: 'Address Translation Service',
    fields: [f('invalidateQueueDepth', 4, 2, [4, 0]), flag('pageAligned', 4, 2, 5), f('stu', 6, 2, [4, 0]), flag('enable', 6, 2, 15)],
  },
  {
    id: 0x10,
    name: 'Single Root I/O Virtualization',
    fields: [
      flag('vfMigrationCapable', 4, 4, 0),
      flag('ariCapableHierarchyPreserved', 4, 4, 1),
      flag('vfEnable', 8, 2, 0),
      flag('vfMigrationEnable', 8, 2, 1),
      flag('vfMse', 8, 2, 3),
      flag('ariCapableHierarchy', 8, 2, 4),
      f('initialVfs', 0x0c, 2),
      f('totalVfs', 0x0e, 2),
      f('numVfs', 0x10, 2),
      f('functionDependencyLink', 0x12, 1),
      f('firstVfOffset', 0x14, 2),
      f('vfStride', 0x16, 2),
      f('vfDeviceId', 0x1a, 2),
      f('supportedPageSizes', 0x1c, 4),
      f('systemPageSize', 0x20, 4),
    ],
  },
  {id: 0x11, name: 'Multi-Root I/O Virtualization', fields: []},
  {id: 0x12, name: 'Multicast', fields: []},
  {
    id: 0x13,
    name: 'Page Request Interface',
    fields: [flag('enable', 4, 2, 0), flag('reset', 4, 2, 1), flag('responseFailure', 6, 2, 0), flag('stopped', 6, 2, 8), f('outstandingCapacity', 8, 4), f('outstandingAllocation', 0x0c, 4)],
  },
  {id: 0x14, name: 'Reserved for AMD', fields: []},
  {
    id: 0x15,
    name: 'Resizable BAR',
    fields: [f('firstBarSizes', 4, 4, [31, 4]), f('firstBarIndex', 8, 4, [2, 0]), f('barCount', 8, 4, [7, 5]), f('firstBarSize', 8, 4, [13, 8])],
  },
  {id: 0x16, name: 'Dynamic Power Allocation', fields: []},
  {id: 0x17, name: 'TPH Requester', fields: []},
  {id: 0x18, name: 'Latency Tolerance Reporting', fields: []},
  {id: 0x19, name: 'Secondary PCI Express', fields: []},
  {id: 0x1a, name: 'Protocol Multiplexing', fields: []},
  {
    id: 0x1b,
    name: 'Process Address Space ID',
    fields: [flag('execSupported', 4, 2, 1), flag('privSupported', 4, 2, 2), f('maxWidth', 4, 2, [12, 8]), flag('enable', 6, 2, 0), flag('execEnable', 6, 2, 1), flag('privEnable', 6, 2, 2)],
  },
  {id: 0x1c, name: 'LN Requester', fields: []},
  {
    id: 0x1d,
    name: 'Downstream Port Containment',
    fields: [
      f('interruptMessage', 4, 2, [4, 0]),
      flag('rpExtensions', 4, 2, 5),
      flag('poisonedTlpBlocking', 4, 2, 6),
      flag('softwareTrigger', 4, 2, 7),
      f('rpPioLogSize', 4, 2, [11, 8]),
      f('triggerEnable', 6, 2, [1, 0]),
      flag('interruptEnable', 6, 2, 3),
      flag('triggerStatus', 8, 2, 0),
    ],
  },
  {id: 0x1e, name: 'L1 PM Substates', fields: []},
  {id: 0x1f, name: 'Precision Time Measurement', fields: []},
  {id: 0x20, name: 'PCI Express over M-PHY', fields: []},
  {id: 0x21, name: 'FRS Queueing', fields: []},
  {id: 0x22, name: 'Readiness Time Reporting', fields: []},
  {id: 0x23, name: 'Designated Vendor-Specific', fields: [f('dvsecVendorId', 4, 4, [15, 0]), f('dvsecRevision', 4, 4, [19, 16]), f('dvsecLength', 4, 4, [31, 20]), f('dvsecId', 8, 2)]},
  {id: 0x24, name: 'VF Resizable BAR', fields: []},
  {id: 0x25, name: 'Data Link Feature', fields: []},
  {id: 0x26, name: 'Physical Layer 16.0 GT/s', fields: []},
  {id: 0x27, name: 'Lane Margining at the Receiver', fields: []},
  {id: 0x28, name: 'Hierarchy ID', fields: []},
  {id: 0x29, name: 'Native PCIe Enclosure Management', fields: []},
  {id: 0x2a, name: 'Physical Layer 32.0 GT/s', fields: []},
  {id: 0x2b, name: 'Alternate Protocol', fields: []},
  {id: 0x2c, name: 'System Firmware Intermediary', fields: []},
  {id: 0x2e, name: 'Data Object Exchange', fields: []},
  {id: 0x31, name: 'Physical Layer 64.0 GT/s', fields: []},
  {id: 0x32, name: 'Flit Logging', fields: []},
  {id: 0x33, name: 'Flit Performance Measurement', fields: []},
  {id: 0x34, name: 'Flit Error Injection', fields: []},
]

/**
 * A table row made ready for the walk, once per process: the shift and mask of its bits, whether
 * it is a flag, and (per capability) the bytes its fields span from the capability's start.
 */
interface CompiledField extends FieldSpec {
  shift: number
  /** -1: no mask (the whole register, or bits reaching bit 31). */
  mask: number
  flag: boolean
}

interface CompiledSpec {
  id: number
  name: string
  fields: readonly CompiledField[]
  /** The furthest byte any field reads, from the capability's start: within the bytes, nothing is truncated. */
  extent: number
  /**
   * Field by name, for reading one field without decoding the rest (the model reads a handful of
   * a capability's dozens); undefined when a name repeats or a field's condition (its `version`
   * or `onlyIf` field) comes after it: then only the whole decode in table order answers right.
   */
  byName: ReadonlyMap<string, CompiledField> | undefined
}

function compileSpec(spec: CapabilitySpec): CompiledSpec {
  const fields = spec.fields.map((field): CompiledField => {
    const [high, low] = field.bits ?? [31, 0]
    const width = high - low + 1
    return {...field, shift: field.bits ? low : 0, mask: !field.bits || width >= 32 ? -1 : (1 << width) - 1, flag: field.bits !== undefined && high === low}
  })
  return {id: spec.id, name: spec.name, fields, extent: Math.max(0, ...spec.fields.map((field) => field.at + field.size)), byName: fieldsByName(fields)}
}

function fieldsByName(fields: readonly CompiledField[]): Map<string, CompiledField> | undefined {
  const byName = new Map<string, CompiledField>()
  for (const field of fields) {
    if (byName.has(field.name)) return undefined
    if (field.minVersion !== undefined && fields.some((other) => other.name === 'version') && !byName.has('version')) return undefined
    if (field.onlyIf !== undefined && !byName.has(field.onlyIf)) return undefined
    byName.set(field.name, field)
  }
  return byName
}

const STANDARD_BY_ID = new Map(STANDARD_CAPABILITIES.map((spec) => [spec.id, compileSpec(spec)]))
const EXTENDED_BY_ID = new Map(EXTENDED_CAPABILITIES.map((spec) => [spec.id, compileSpec(spec)]))

/** Capability ids the model asks for by name. */
export const CAP = {pm: 0x01, msi: 0x05, vendor: 0x09, subsystem: 0x0d, pcie: 0x10, msix: 0x11, af: 0x13, pcix: 0x07} as const
export const ECAP = {aer: 0x01, dsn: 0x03, vsec: 0x0b, acs: 0x0d, ari: 0x0e, ats: 0x0f, sriov: 0x10, pri: 0x13, rebar: 0x15, pasid: 0x1b, dpc: 0x1d, dvsec: 0x23} as const

export type FieldValue = number | boolean

export interface DecodedCapability {
  space: CapabilitySpace
  id: number
  /** Extended capabilities: header version (bits 19:16). */
  version?: number
  offset: number
  /** Spec name, or `unknown (0x..)` for ids not in the tables. */
  name: string
  known: boolean
  fields: Record<string, FieldValue>
  /** Some fields lay beyond the bytes we have. */
  truncated: boolean
}

/** A capability list and whether it was read to its end: incomplete means "could not tell". */
export interface CapabilityList {
  list: DecodedCapability[]
  complete: boolean
}

export interface DecodedConfig {
  /** Bytes available (64 for non-root sysfs readers, 256 or 4096 for root, any for dumps). */
  length: number
  /** The header (first 64 bytes) reads 0xff: the device is powered off (D3cold) or gone. */
  allOnes: boolean
  vendorId?: number
  deviceId?: number
  command?: number
  status?: number
  revision?: number
  /** 24-bit: base class, subclass, prog-if. */
  classCode?: number
  /** Header layout, bits 6:0 of 0x0e: 0 normal, 1 PCI bridge, 2 CardBus. */
  headerLayout?: number
  /** Header type bit 7. */
  multifunction?: boolean
  subsystemVendorId?: number
  subsystemDeviceId?: number
  /** Type 1/2 headers: bus numbers. */
  primaryBus?: number
  secondaryBus?: number
  subordinateBus?: number
  capabilities: CapabilityList
  extendedCapabilities: CapabilityList
  /** Things that did not decode cleanly, as text: `<truncated at 0x3c>`, `capability loop at 0x48`. */
  problems: string[]
}

const hex = (value: number): string => `0x${value.toString(16)}`

/** Little-endian, 1 to 4 bytes, unsigned; undefined beyond the bytes we have. */
function readLe(bytes: Uint8Array, at: number, size: number): number | undefined {
  if (at < 0 || at + size > bytes.length) return undefined
  const b0 = bytes[at] as number
  if (size === 1) return b0
  if (size === 2) return b0 | ((bytes[at + 1] as number) << 8)
  if (size === 3) return b0 | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)
  return (b0 | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0
}

/** Bits [high, low] of a register of at most 32 bits. */
function extractBits(value: number, bits: readonly [number, number] | undefined): number {
  if (!bits) return value
  const high = bits[0]
  const low = bits[1]
  const width = high - low + 1
  return width >= 32 ? value >>> low : (value >>> low) & ((1 << width) - 1)
}

/** One compiled field's value from its register. */
function fieldValue(field: CompiledField, raw: number): FieldValue {
  const value = field.mask === -1 ? (field.shift === 0 ? raw : raw >>> field.shift) : (raw >>> field.shift) & field.mask
  return field.flag ? value === 1 : value
}

function decodeFields(bytes: Uint8Array, offset: number, spec: CompiledSpec | undefined, version: number | undefined): {fields: Record<string, FieldValue>; truncated: boolean} {
  const fields: Record<string, FieldValue> = {}
  let truncated = false
  const specFields = spec?.fields ?? []
  for (let i = 0; i < specFields.length; i++) {
    const field = specFields[i] as CompiledField
    if (field.minVersion !== undefined && (version ?? (fields.version as number | undefined) ?? 0) < field.minVersion) continue
    if (field.onlyIf !== undefined && fields[field.onlyIf] !== true) continue
    const raw = readLe(bytes, offset + field.at, field.size)
    if (raw === undefined) {
      truncated = true
      continue
    }
    fields[field.name] = fieldValue(field, raw)
  }
  return {fields, truncated}
}

function capabilityName(spec: CompiledSpec | undefined, id: number): string {
  return spec?.name ?? `unknown (${hex(id)})`
}

/**
 * One capability of a list. Its fields are decoded when first read when every one of them lies
 * within the bytes (a large host decodes a dozen capabilities per function; the model reads a
 * few); otherwise at once, since whether they are truncated decides where the walk stops. One
 * class for every capability: one hidden class, `fields` a getter on its prototype.
 */
class Capability implements DecodedCapability {
  readonly name: string
  readonly known: boolean
  readonly truncated: boolean
  #fields: Record<string, FieldValue> | undefined
  readonly #bytes: Uint8Array | undefined
  readonly #spec: CompiledSpec | undefined

  constructor(
    readonly space: CapabilitySpace,
    readonly id: number,
    readonly version: number | undefined,
    readonly offset: number,
    spec: CompiledSpec | undefined,
    bytes: Uint8Array,
  ) {
    this.name = capabilityName(spec, id)
    this.known = spec !== undefined
    if (spec === undefined || spec.fields.length === 0) {
      this.#fields = {}
      this.truncated = false
    } else if (offset + spec.extent <= bytes.length) {
      this.#bytes = bytes
      this.#spec = spec
      this.truncated = false
    } else {
      const decoded = decodeFields(bytes, offset, spec, version)
      this.#fields = decoded.fields
      this.truncated = decoded.truncated
    }
  }

  get fields(): Record<string, FieldValue> {
    this.#fields ??= decodeFields(this.#bytes ?? new Uint8Array(), this.offset, this.#spec, this.version).fields
    return this.#fields
  }

  /**
   * `fields[name]`, without decoding the other fields while they are not decoded yet (then every
   * field lies within the bytes): the same conditions as the whole decode, for this field alone.
   */
  field(name: string): FieldValue | undefined {
    const byName = this.#fields === undefined ? this.#spec?.byName : undefined
    if (byName === undefined || this.#bytes === undefined) return this.fields[name]
    const field = byName.get(name)
    if (field === undefined) return undefined
    if (field.minVersion !== undefined && (this.version ?? (this.field('version') as number | undefined) ?? 0) < field.minVersion) return undefined
    if (field.onlyIf !== undefined && this.field(field.onlyIf) !== true) return undefined
    return fieldValue(field, readLe(this.#bytes, this.offset + field.at, field.size) as number)
  }
}

/** Standard list: pointer at 0x34 (0x14 for CardBus), 8-bit next pointers, low two bits ignored. */
function walkStandard(bytes: Uint8Array, headerLayout: number, status: number, problems: string[]): CapabilityList {
  const list: DecodedCapability[] = []
  // Status bit 4: the device says it has a list at all.
  if ((status & 0x10) === 0) return {list, complete: true}
  const pointerAt = headerLayout === 2 ? 0x14 : 0x34
  let next = readLe(bytes, pointerAt, 1)
  if (next === undefined) {
    problems.push(`<truncated at ${hex(bytes.length)}>: capability pointer unreadable`)
    return {list, complete: false}
  }
  // Offsets seen, one bit per dword of 0x40-0xff (48 of them): a bitmap, not a Set per function.
  let seenLow = 0
  let seenHigh = 0
  // 48 is the kernel's PCI_FIND_CAP_TTL: more entries than fit in 192 bytes means a loop.
  while (next !== 0 && list.length < 48) {
    const offset = next & 0xfc
    if (offset < 0x40) {
      problems.push(`capability pointer ${hex(next)} points into the header`)
      return {list, complete: true}
    }
    const slot = (offset - 0x40) >> 2
    const bit = 1 << (slot & 31)
    const seen = slot < 32 ? seenLow & bit : seenHigh & bit
    if (seen !== 0) {
      problems.push(`capability loop at ${hex(offset)}`)
      return {list, complete: true}
    }
    if (slot < 32) seenLow |= bit
    else seenHigh |= bit
    const id = readLe(bytes, offset, 1)
    const pointer = readLe(bytes, offset + 1, 1)
    if (id === undefined || pointer === undefined) {
      // Normal for non-root sysfs reads: the list continues beyond the bytes we were given.
      return {list, complete: false}
    }
    if (id === 0xff) {
      problems.push(`capability chain broken at ${hex(offset)}`)
      return {list, complete: true}
    }
    const cap = new Capability('standard', id, undefined, offset, STANDARD_BY_ID.get(id), bytes)
    list.push(cap)
    if (cap.truncated) return {list, complete: false}
    next = pointer
  }
  return {list, complete: true}
}

/** Extended list at 0x100: 32-bit headers, id 15:0, version 19:16, next 31:20. */
function walkExtended(bytes: Uint8Array, problems: string[]): CapabilityList {
  const list: DecodedCapability[] = []
  const seen = new Set<number>()
  let offset = 0x100
  // (4096 - 256) / 4: the most headers that fit without repeating.
  while (list.length < 960) {
    if (seen.has(offset)) {
      problems.push(`extended capability loop at ${hex(offset)}`)
      return {list, complete: true}
    }
    seen.add(offset)
    const header = readLe(bytes, offset, 4)
    if (header === undefined) return {list, complete: false}
    // An empty or all-ones header at 0x100 means no extended capabilities; later it is a broken chain.
    if (header === 0 || header === 0xffffffff) {
      if (header === 0xffffffff && offset !== 0x100) problems.push(`extended capability chain broken at ${hex(offset)}`)
      return {list, complete: true}
    }
    const id = header & 0xffff
    const version = extractBits(header, [19, 16])
    const next = extractBits(header, [31, 20]) & 0xffc
    const cap = new Capability('extended', id, version, offset, EXTENDED_BY_ID.get(id), bytes)
    list.push(cap)
    if (cap.truncated) return {list, complete: false}
    if (next === 0) return {list, complete: true}
    if (next < 0x100) {
      problems.push(`extended capability pointer ${hex(next)} below 0x100`)
      return {list, complete: true}
    }
    offset = next
  }
  return {list, complete: true}
}

/** Header fields common to every layout, then per layout (bus numbers, subsystem ids). */
const COMMON_HEADER: readonly FieldSpec[] = [
  f('vendorId', 0x00, 2),
  f('deviceId', 0x02, 2),
  f('command', 0x04, 2),
  f('status', 0x06, 2),
  f('revision', 0x08, 1),
  f('classCode', 0x09, 3),
  f('headerLayout', 0x0e, 1, [6, 0]),
  flag('multifunction', 0x0e, 1, 7),
]
const LAYOUT_HEADER: Record<number, readonly FieldSpec[]> = {
  0: [f('subsystemVendorId', 0x2c, 2), f('subsystemDeviceId', 0x2e, 2)],
  1: [f('primaryBus', 0x18, 1), f('secondaryBus', 0x19, 1), f('subordinateBus', 0x1a, 1)],
  2: [f('primaryBus', 0x18, 1), f('secondaryBus', 0x19, 1), f('subordinateBus', 0x1a, 1), f('subsystemVendorId', 0x40, 2), f('subsystemDeviceId', 0x42, 2)],
}

export function decodePciConfig(input: Uint8Array): DecodedConfig {
  const bytes = input
  const problems: string[] = []
  // The header reading all-ones is what a powered-off (D3cold) or vanished device returns;
  // bytes beyond it may hold stale data and must not be trusted either.
  let allOnes = bytes.length >= 4
  for (let i = 0; allOnes && i < 0x40 && i < bytes.length; i++) allOnes = bytes[i] === 0xff
  const header: Record<string, FieldValue> = {}
  const readHeader = (specs: readonly FieldSpec[]): void => {
    for (let i = 0; i < specs.length; i++) {
      const field = specs[i] as FieldSpec
      const raw = readLe(bytes, field.at, field.size)
      if (raw === undefined) continue
      const value = extractBits(raw, field.bits)
      header[field.name] = field.bits && field.bits[0] === field.bits[1] ? value === 1 : value
    }
  }
  readHeader(COMMON_HEADER)
  const layout = typeof header.headerLayout === 'number' ? header.headerLayout : undefined
  if (layout !== undefined && !allOnes) readHeader(LAYOUT_HEADER[layout] ?? [])
  if (bytes.length < 0x40) problems.push(`<truncated at ${hex(bytes.length)}>`)

  const num = (name: string): number | undefined => (typeof header[name] === 'number' ? (header[name] as number) : undefined)
  let capabilities: CapabilityList
  let extendedCapabilities: CapabilityList
  if (allOnes) {
    problems.push('config space reads all-ones: device powered off (D3cold), removed, or not responding')
    capabilities = {list: [], complete: false}
    extendedCapabilities = {list: [], complete: false}
  } else if (layout !== undefined && layout > 2) {
    problems.push(`unknown header type ${hex(layout)}`)
    capabilities = {list: [], complete: false}
    extendedCapabilities = {list: [], complete: false}
  } else {
    const status = num('status')
    capabilities =
      status === undefined || layout === undefined
        ? {list: [], complete: false}
        : walkStandard(bytes, layout, status, problems)
    const hasExpressOrPcix = capabilities.list.some((cap) => cap.id === CAP.pcie || cap.id === CAP.pcix)
    if (capabilities.complete && !hasExpressOrPcix) {
      // Conventional PCI has no extended configuration space: the list is truly empty.
      extendedCapabilities = {list: [], complete: true}
    } else if (bytes.length <= 0x100) {
      extendedCapabilities = {list: [], complete: false}
    } else {
      extendedCapabilities = walkExtended(bytes, problems)
    }
  }
  // Bridges carry subsystem ids in a capability rather than the header.
  const ssvid = capabilities.list.find((cap) => cap.id === CAP.subsystem)
  if (ssvid && header.subsystemVendorId === undefined) {
    if (typeof ssvid.fields.subsystemVendorId === 'number') header.subsystemVendorId = ssvid.fields.subsystemVendorId
    if (typeof ssvid.fields.subsystemDeviceId === 'number') header.subsystemDeviceId = ssvid.fields.subsystemDeviceId
  }
  const bool = (name: string): boolean | undefined => (typeof header[name] === 'boolean' ? (header[name] as boolean) : undefined)
  return {
    length: bytes.length,
    allOnes,
    vendorId: num('vendorId'),
    deviceId: num('deviceId'),
    command: num('command'),
    status: num('status'),
    revision: num('revision'),
    classCode: num('classCode'),
    headerLayout: layout,
    multifunction: bool('multifunction'),
    subsystemVendorId: num('subsystemVendorId'),
    subsystemDeviceId: num('subsystemDeviceId'),
    primaryBus: num('primaryBus'),
    secondaryBus: num('secondaryBus'),
    subordinateBus: num('subordinateBus'),
    capabilities,
    extendedCapabilities,
    problems,
  }
}

/** Found → the capability; not found in a complete list → undefined (absent); else 'unknown'. */
export function findCapability(config: DecodedConfig, space: CapabilitySpace, id: number): DecodedCapability | undefined | 'unknown' {
  const list = space === 'standard' ? config.capabilities : config.extendedCapabilities
  // A loop, not find(): the model asks a dozen ids of every function.
  for (const cap of list.list) if (cap.id === id) return cap
  return list.complete ? undefined : 'unknown'
}

export function numberField(cap: DecodedCapability, name: string): number | undefined {
  const value = cap instanceof Capability ? cap.field(name) : cap.fields[name]
  return typeof value === 'number' ? value : undefined
}

export function flagField(cap: DecodedCapability, name: string): boolean | undefined {
  const value = cap instanceof Capability ? cap.field(name) : cap.fields[name]
  return typeof value === 'boolean' ? value : undefined
}

/** PCIe link speed encoding (LnkCap/LnkSta bits 3:0) to the GT/s text lspci and sysfs print. */
export const LINK_SPEED_GTS: Record<number, string> = {1: '2.5GT/s', 2: '5GT/s', 3: '8GT/s', 4: '16GT/s', 5: '32GT/s', 6: '64GT/s'}

/** PCIe device/port type names as lspci prints them after "Express (vN)". */
export const PCIE_TYPE_NAMES: Record<number, string> = {
  0: 'Endpoint',
  1: 'Legacy Endpoint',
  4: 'Root Port',
  5: 'Upstream Port',
  6: 'Downstream Port',
  7: 'PCI-Express to PCI/PCI-X Bridge',
  8: 'PCI/PCI-X to PCI-Express Bridge',
  9: 'Root Complex Integrated Endpoint',
  10: 'Root Complex Event Collector',
}
