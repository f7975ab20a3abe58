/**
 * PCI addresses, spelled one way everywhere: full form `0000:01:00.0` (Intel VMD domains above
 * 0xffff keep all their digits). A requester id ("source id", RID) is `bus << 8 | devfn`,
 * `devfn = device << 3 | function`.
 */

export interface BdfParts {
  segment: number
  bus: number
  device: number
  function: number
}

const pad = (value: number, width: number): string => value.toString(16).padStart(width, '0')

export function formatBdf(segment: number, bus: number, device: number, fn: number): string {
  return `${pad(segment, 4)}:${pad(bus, 2)}:${pad(device, 2)}.${fn.toString(16)}`
}

export function formatBdfParts(parts: BdfParts): string {
  return formatBdf(parts.segment, parts.bus, parts.device, parts.function)
}

/** `bus:devfn` in a segment → full BDF. */
export function bdfFromDevfn(segment: number, bus: number, devfn: number): string {
  return formatBdf(segment, bus, (devfn >> 3) & 0x1f, devfn & 7)
}

/** Requester id → full BDF; undefined outside 16 bits. */
export function bdfFromRid(segment: number, rid: number): string | undefined {
  if (rid < 0 || rid > 0xffff) return undefined
  return bdfFromDevfn(segment, rid >> 8, rid & 0xff)
}

export function ridOf(parts: BdfParts): number {
  return (parts.bus << 8) | (parts.device << 3) | parts.function
}

const BDF_TEXT = /^(?:([0-9a-f]{1,8}):)?([0-9a-f]{1,2}):([0-1]?[0-9a-f])\.([0-7])$/i

/** What users type: `0000:01:00.0`, `01:00.0` (segment 0), `1:0.0`. */
export function parseBdf(text: string): BdfParts | undefined {
  const match = BDF_TEXT.exec(text.trim())
  if (!match) return undefined
  return {
    segment: Number.parseInt(match[1] ?? '0', 16),
    bus: Number.parseInt(match[2] ?? '0', 16),
    device: Number.parseInt(match[3] ?? '0', 16),
    function: Number.parseInt(match[4] ?? '0', 16),
  }
}

/** Any accepted spelling → the full form, or undefined when it is not a PCI address. */
export function normaliseBdf(text: string): string | undefined {
  const parts = parseBdf(text)
  return parts && formatBdfParts(parts)
}

/** Drop segment 0000 for compact messages ("01:00.0"). */
export function shortBdf(bdf: string): string {
  return bdf.startsWith('0000:') ? bdf.slice(5) : bdf
}

/** Registers and addresses in messages and JSON: lowercase, 0x-prefixed. */
export function hex(value: number | bigint): string {
  return '0x' + value.toString(16)
}
