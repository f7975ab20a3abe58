/**
 * Builds DMAR tables byte by byte for tests (little-endian, length and checksum filled in),
 * following the layouts in vtd-reference §1 — independently of src/decode/dmar.ts.
 */
import type {PciFunction, PciTopology} from '../../src/model/pci.js'

/** Little-endian bytes of a value. */
export const le = (value: number | bigint, size: number): number[] => {
  const out: number[] = []
  let v = BigInt(value)
  for (let i = 0; i < size; i++) {
    out.push(Number(v & 0xffn))
    v >>= 8n
  }
  return out
}

export interface ScopeSpec {
  type: number
  enumerationId?: number
  startBus: number
  path: Array<[number, number]>
  flags?: number
}

export function scope(s: ScopeSpec): number[] {
  const path = s.path.flatMap(([d, f]) => [d, f])
  return [s.type, 6 + path.length, s.flags ?? 0, 0, s.enumerationId ?? 0, s.startBus, ...path]
}

function structure(type: number, body: number[]): number[] {
  return [...le(type, 2), ...le(4 + body.length, 2), ...body]
}

export const drhd = (o: {flags?: number; segment?: number; base: bigint; scopes?: ScopeSpec[]; size?: number}): number[] =>
  structure(0, [o.flags ?? 0, o.size ?? 0, ...le(o.segment ?? 0, 2), ...le(o.base, 8), ...(o.scopes ?? []).flatMap(scope)])
export const rmrr = (o: {segment?: number; base: bigint; limit: bigint; scopes?: ScopeSpec[]}): number[] =>
  structure(1, [0, 0, ...le(o.segment ?? 0, 2), ...le(o.base, 8), ...le(o.limit, 8), ...(o.scopes ?? []).flatMap(scope)])
export const atsr = (o: {flags?: number; segment?: number; scopes?: ScopeSpec[]}): number[] =>
  structure(2, [o.flags ?? 0, 0, ...le(o.segment ?? 0, 2), ...(o.scopes ?? []).flatMap(scope)])
export const rhsa = (o: {base: bigint; domain: number}): number[] => structure(3, [0, 0, 0, 0, ...le(o.base, 8), ...le(o.domain, 4)])
export const andd = (o: {number: number; name: string; terminate?: boolean}): number[] =>
  structure(4, [0, 0, 0, o.number, ...[...o.name].map((c) => c.charCodeAt(0)), ...(o.terminate === false ? [] : [0])])
export const satc = (o: {flags?: number; segment?: number; scopes?: ScopeSpec[]}): number[] =>
  structure(5, [o.flags ?? 0, 0, ...le(o.segment ?? 0, 2), ...(o.scopes ?? []).flatMap(scope)])
export const rawStructure = (type: number, body: number[]): number[] => structure(type, body)

/** A whole table with correct length and checksum (unless `badChecksum`). */
export function dmarTable(o: {haw?: number; flags?: number; structures: number[][]; badChecksum?: boolean}): Uint8Array {
  const body = o.structures.flat()
  const bytes = [
    ...'DMAR'.split('').map((c) => c.charCodeAt(0)),
    ...le(48 + body.length, 4),
    1, // revision
    0, // checksum, filled below
    ...'VTDCHK'.split('').map((c) => c.charCodeAt(0)),
    ...'TESTTABL'.split('').map((c) => c.charCodeAt(0)),
    ...le(1, 4),
    ...'TEST'.split('').map((c) => c.charCodeAt(0)),
    ...le(1, 4),
    (o.haw ?? 39) - 1,
    o.flags ?? 1,
    ...new Array<number>(10).fill(0),
    ...body,
  ]
  const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0)
  bytes[9] = (0x100 - sum + (o.badChecksum ? 1 : 0)) & 0xff
  return new Uint8Array(bytes)
}

// ---------------------------------------------------------------------------------------------
// Minimal PCI topologies

export interface FnSpec {
  bdf: string
  classCode?: number
  headerType?: number
  secondaryBus?: number
  subordinateBus?: number
  parent?: string
  physfn?: string
  pcieType?: number
  ats?: boolean
}

export function pciFunction(spec: FnSpec): PciFunction {
  const m = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/.exec(spec.bdf)
  if (!m) throw new Error(`bad bdf ${spec.bdf}`)
  const bridge = spec.secondaryBus !== undefined
  return {
    bdf: spec.bdf,
    segment: parseInt(m[1] ?? '0', 16),
    bus: parseInt(m[2] ?? '0', 16),
    device: parseInt(m[3] ?? '0', 16),
    function: parseInt(m[4] ?? '0', 16),
    vendorId: 0x8086,
    deviceId: 0x1234,
    classCode: spec.classCode ?? (bridge ? 0x060400 : 0x020000),
    headerType: spec.headerType ?? (bridge ? 1 : 0),
    multifunction: false,
    ...(bridge ? {secondaryBus: spec.secondaryBus, subordinateBus: spec.subordinateBus ?? spec.secondaryBus} : {}),
    pcieType: spec.pcieType,
    acs: undefined,
    ari: undefined,
    ats: spec.ats ? {enabled: false, stu: 0, invalidateQueueDepth: 0} : undefined,
    pri: undefined,
    pasid: undefined,
    sriov: undefined,
    flr: {pcie: false, af: false},
    ...(spec.parent !== undefined ? {parent: spec.parent} : {}),
    children: [],
    ...(spec.physfn !== undefined ? {physfn: spec.physfn} : {}),
    virtfns: [],
    isVirtfn: spec.physfn !== undefined,
    configLength: 4096,
  }
}

export function topologyOf(specs: FnSpec[]): PciTopology {
  return {devices: new Map(specs.map((s) => [s.bdf, pciFunction(s)])), source: 'sysfs'}
}
