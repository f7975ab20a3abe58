/**
 * DMAR device scopes resolved against a PCI topology, and the remapping unit (DRHD) that owns
 * each device. Follows the kernel (vtd-reference §1.3): a path walks from its start bus through
 * each bridge's secondary bus; a device belongs to the first DRHD that lists it, or a bridge
 * whose bus range holds it, else to its segment's INCLUDE_PCI_ALL unit. VFs are looked up
 * through their PF, as the kernel does.
 */
import type {DeviceScope, DmarTable, Drhd, StructureName} from '../decode/dmar.js'
import {hasScopes} from '../decode/dmar.js'
import {formatBdf} from '../decode/pci-address.js'
import type {PciFunction, PciTopology} from './pci.js'


export type ScopeStatus =
  /** The path names a PCI function that exists. */
  | 'resolved'
  /** The path names a function (or passes a bridge) that the topology does not have. */
  | 'absent'
  /** A hop that should be a bridge is not one (no secondary bus). */
  | 'broken-path'
  /** IOAPIC, HPET or ACPI-namespace scope: a source-id, not a PCI function we can look up. */
  | 'not-pci'
  /** Empty path or unknown type: nothing to walk. */
  | 'invalid'

export interface ResolvedScope {
  /** Index of the structure in `table.structures`. */
  structureIndex: number
  structureType: StructureName
  scopeIndex: number
  scope: DeviceScope
  segment: number
  status: ScopeStatus
  /** The BDF (or, for IOAPIC/HPET, source-id as a BDF) the path names, when the walk got there. */
  bdf?: string
  /** Bridges walked through before the target. */
  via: string[]
  detail?: string
  /** Set when the scope type does not match the function's header (kernel FW_BUG). */
  typeMismatch?: string
}

export interface DeviceOwner {
  bdf: string
  /** Index of the owning DRHD in `table.structures`. */
  drhdIndex: number
  registerBase: bigint
  via: 'scope' | 'include-all'
  /** The scope entry (endpoint or bridge BDF) that matched, for via = 'scope'. */
  matchedBdf?: string
}

export interface ScopeResolution {
  scopes: ResolvedScope[]
  /** Owner per PCI function BDF, for every function in the topology that has one. */
  owners: Map<string, DeviceOwner>
  /** Functions that no DRHD covers: not translated (and not protected) when the IOMMU is on. */
  uncovered: string[]
}

const PCI_SCOPE_TYPES = new Set(['pci-endpoint', 'pci-bridge'])
const PCI_BRIDGE_CLASS_OTHER = 0x0680

function isBridgeHeader(fn: PciFunction): boolean {
  return (fn.headerType & 0x7f) === 1 || (fn.headerType & 0x7f) === 2
}

export function resolveScope(scope: DeviceScope, segment: number, topology: PciTopology): Omit<ResolvedScope, 'structureIndex' | 'structureType' | 'scopeIndex'> {
  const base = {scope, segment, via: [] as string[]}
  if (scope.path.length === 0) return {...base, status: 'invalid', detail: 'scope has no path entries'}
  let bus = scope.startBus
  for (const [i, hop] of scope.path.entries()) {
    const bdf = formatBdf(segment, bus, hop.device, hop.function)
    const last = i === scope.path.length - 1
    if (last) {
      if (!PCI_SCOPE_TYPES.has(scope.type)) {
        return {...base, status: scope.type === 'unknown' ? 'invalid' : 'not-pci', bdf, ...(scope.type === 'unknown' ? {detail: `unknown scope type ${scope.typeCode}`} : {})}
      }
      const fn = topology.devices.get(bdf)
      if (!fn) return {...base, status: 'absent', bdf, detail: `${bdf} is not present`}
      const resolved: Omit<ResolvedScope, 'structureIndex' | 'structureType' | 'scopeIndex'> = {...base, status: 'resolved', bdf}
      const bridge = isBridgeHeader(fn)
      if (scope.type === 'pci-endpoint' && bridge) resolved.typeMismatch = `${bdf} is a bridge but the scope says PCI endpoint`
      // NTBs (class 0x0680, "other bridge") are allowed as bridge scopes with a normal header.
      if (scope.type === 'pci-bridge' && !bridge && fn.classCode >> 8 !== PCI_BRIDGE_CLASS_OTHER) {
        resolved.typeMismatch = `${bdf} is not a bridge but the scope says PCI sub-hierarchy`
      }
      return resolved
    }
    const fn = topology.devices.get(bdf)
    if (!fn) return {...base, status: PCI_SCOPE_TYPES.has(scope.type) ? 'absent' : 'not-pci', bdf, detail: `bridge ${bdf} on the path is not present`}
    if (fn.secondaryBus === undefined) return {...base, status: 'broken-path', bdf, detail: `${bdf} on the path is not a bridge (no secondary bus)`}
    base.via.push(bdf)
    bus = fn.secondaryBus
  }
  return {...base, status: 'invalid', detail: 'unreachable'}
}

/** Resolves every scope of every structure (DRHD, RMRR, ATSR, SATC, SIDP). */
export function resolveDmarScopes(table: DmarTable, topology: PciTopology): ScopeResolution {
  const scopes: ResolvedScope[] = []
  table.structures.forEach((structure, structureIndex) => {
    if (!hasScopes(structure)) return
    structure.scopes.forEach((scope, scopeIndex) => {
      scopes.push({structureIndex, structureType: structure.type, scopeIndex, ...resolveScope(scope, structure.segment, topology)})
    })
  })
  const owners = new Map<string, DeviceOwner>()
  const uncovered: string[] = []
  const claims = scopeClaims(table, scopes, topology)
  for (const fn of topology.devices.values()) {
    const owner = ownerOf(fn, table, claims, topology)
    if (owner) owners.set(fn.bdf, owner)
    else uncovered.push(fn.bdf)
  }
  return {scopes, owners, uncovered}
}

function drhdAt(table: DmarTable, index: number): Drhd | undefined {
  const s = table.structures[index]
  return s?.type === 'DRHD' ? s : undefined
}

/** A resolved DRHD scope that can claim devices: its BDF, and a bridge's bus range. */
interface ScopeClaim {
  /** Position in the table's scope order (the kernel takes the first that matches). */
  order: number
  scope: ResolvedScope & {bdf: string}
  drhd: Drhd
}

/** Per segment: scopes by the BDF they name, and the bridges among them (they claim bus ranges). */
interface SegmentClaims {
  byBdf: Map<string, ScopeClaim>
  bridges: Array<ScopeClaim & {secondaryBus: number; subordinateBus: number}>
  /** Bus -> the first bridge claim (table order) whose range holds it, null for none: found once per bus. */
  bridgeByBus: Map<number, ScopeClaim | null>
}

/** Indexes the explicit DRHD scopes once, so finding a device's owner costs the scopes that could match it, not all of them. */
function scopeClaims(table: DmarTable, scopes: ResolvedScope[], topology: PciTopology): Map<number, SegmentClaims> {
  const bySegment = new Map<number, SegmentClaims>()
  scopes.forEach((rs, order) => {
    if (rs.structureType !== 'DRHD' || rs.status !== 'resolved' || rs.bdf === undefined) return
    const drhd = drhdAt(table, rs.structureIndex)
    if (!drhd || drhd.flags.includePciAll) return
    let claims = bySegment.get(drhd.segment)
    if (claims === undefined) bySegment.set(drhd.segment, (claims = {byBdf: new Map(), bridges: [], bridgeByBus: new Map()}))
    const claim = {order, scope: rs as ResolvedScope & {bdf: string}, drhd}
    if (!claims.byBdf.has(rs.bdf)) claims.byBdf.set(rs.bdf, claim)
    const target = topology.devices.get(rs.bdf)
    if (target?.secondaryBus !== undefined && target.subordinateBus !== undefined) claims.bridges.push({...claim, secondaryBus: target.secondaryBus, subordinateBus: target.subordinateBus})
  })
  return bySegment
}

/** The kernel's device_to_iommu(): explicit scopes first (table order), then the catch-all. */
function ownerOf(fn: PciFunction, table: DmarTable, claims: Map<number, SegmentClaims>, topology: PciTopology): DeviceOwner | undefined {
  const dmaFn = (fn.physfn !== undefined ? topology.devices.get(fn.physfn) : undefined) ?? fn
  const segment = claims.get(dmaFn.segment)
  let first = segment?.byBdf.get(dmaFn.bdf)
  const bridge = segment === undefined ? undefined : bridgeClaimOf(segment, dmaFn.bus)
  if (bridge !== undefined && (first === undefined || bridge.order < first.order)) first = bridge
  if (first !== undefined) return {bdf: fn.bdf, drhdIndex: first.scope.structureIndex, registerBase: first.drhd.registerBase, via: 'scope', matchedBdf: first.scope.bdf}
  const catchAll = table.structures.findIndex((s) => s.type === 'DRHD' && s.flags.includePciAll && s.segment === dmaFn.segment)
  const drhd = drhdAt(table, catchAll)
  return drhd ? {bdf: fn.bdf, drhdIndex: catchAll, registerBase: drhd.registerBase, via: 'include-all'} : undefined
}

/** The first bridge scope (table order) whose bus range holds `bus`; the bridges are searched once per bus, not per device. */
function bridgeClaimOf(segment: SegmentClaims, bus: number): ScopeClaim | undefined {
  let found = segment.bridgeByBus.get(bus)
  if (found === undefined) {
    found = segment.bridges.find((bridge) => bus >= bridge.secondaryBus && bus <= bridge.subordinateBus) ?? null
    segment.bridgeByBus.set(bus, found)
  }
  return found ?? undefined
}

/** Scoped structures with their index, for callers that walk them. */
export interface InterruptSource {
  kind: 'ioapic' | 'hpet'
  /** IOAPIC id or HPET block number. */
  enumerationId: number
  /** The source-id interrupt remapping sees, as a full BDF; undefined if a bridge on the path is unknown. */
  bdf?: string
  drhdRegisterBase: bigint
}

/**
 * IOAPIC and HPET source-ids from DRHD scopes (the kernel's ir_parse_one_ioapic_scope): a
 * one-hop path is the SID itself; longer paths need each bridge's secondary bus from the topology.
 * Lets an INTR-REMAP fault "Request device [f0:1f.0]" be named "IOAPIC 2".
 */
export function interruptSources(table: DmarTable, topology?: PciTopology): InterruptSource[] {
  const out: InterruptSource[] = []
  for (const s of table.structures) {
    if (s.type !== 'DRHD') continue
    for (const scope of s.scopes) {
      if (scope.type !== 'ioapic' && scope.type !== 'hpet') continue
      const source: InterruptSource = {kind: scope.type, enumerationId: scope.enumerationId, drhdRegisterBase: s.registerBase}
      if (scope.path.length === 1) {
        const hop = scope.path[0]
        if (hop) source.bdf = formatBdf(s.segment, scope.startBus, hop.device, hop.function)
      } else if (topology && scope.path.length > 1) {
        const walked = resolveScope(scope, s.segment, topology)
        if (walked.bdf !== undefined && walked.via.length === scope.path.length - 1) source.bdf = walked.bdf
      }
      out.push(source)
    }
  }
  return out
}
