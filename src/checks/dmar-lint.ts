/**
 * DMAR table lint and remapping-unit cross-checks. Every lint is data (id, title, what it needs)
 * plus one pure assess function returning a verdict with evidence. Covers everything fwts's
 * `dmar` test checks (InvalidDMAR, InvalidDRHDRegAddr, MultipleDRHDSFlag, InvalidRMRRRangeAddr,
 * InvalidDevScope, unknown scope type, DevScopeDevNotFound, DevScopeTypeNoMatch, DMARError in the
 * log) and the kernel's FW_BUG sanity checks (vtd-reference §1.5), and more.
 *
 * Lints that need the PCI topology answer `not-applicable` when none is given (a table read from
 * a file describes some other machine); "could not tell" on a given topology is `unknown`.
 */
import {hex} from '../decode/pci-address.js'
import {
  hasScopes,
  structureProblems,
  type DeviceScope,
  type DmarStructure,
  type DmarTable,
  type Drhd,
  type Rmrr,
  type ScopeType,
  type StructureName,
} from '../decode/dmar.js'
import type {HostModel, IommuVendor} from '../model/host.js'
import {WORDING} from './shared.js'
import type {DecodedUnit} from '../model/units.js'
import {resolveDmarScopes, type ScopeResolution} from '../model/dmar-scope.js'
import {PCIE_TYPE, type PciFunction, type PciTopology} from '../model/pci.js'
import type {CheckResult, Evidence} from './outcome.js'
import {ev, verdict, type Verdict} from './types.js'

export const DMAR_TABLE_PATH = '/sys/firmware/acpi/tables/DMAR'
const SPEC_DOCS = 'https://www.intel.com/content/www/us/en/content-details/774206/intel-virtualization-technology-for-directed-i-o-architecture-specification.html'
const PAGE = 0x1000n

export interface DmarLintContext {
  table: DmarTable
  /** Where the table came from, for evidence. */
  source: string
  topology?: PciTopology
  resolution?: ScopeResolution
  /** Kernel log text, for the fwts-style "DMAR errors in the log" lint. */
  kernelLog?: string
}

interface DmarLint {
  id: string
  title: string
  needs: 'table' | 'topology' | 'log'
  assess(ctx: DmarLintContext): Verdict
}

// ---------------------------------------------------------------------------------------------
// Helpers

const drhds = (t: DmarTable): Drhd[] => t.structures.flatMap((s) => (s.type === 'DRHD' ? [s] : []))
const rmrrs = (t: DmarTable): Rmrr[] => t.structures.flatMap((s) => (s.type === 'RMRR' ? [s] : []))
const at = (s: DmarStructure): string => `${s.type === 'unknown' ? (s.knownAs ?? `type ${s.typeCode}`) : s.type} at ${hex(s.offset)}`
const range = (r: Rmrr): string => `[${hex(r.base)}-${hex(r.limit)}]`
const pathText = (scope: DeviceScope): string =>
  `${scope.startBus.toString(16).padStart(2, '0')}:${scope.path.map((p) => `${p.device.toString(16).padStart(2, '0')}.${p.function.toString(16)}`).join('/')}`

function segments(t: DmarTable): number[] {
  return [...new Set(drhds(t).map((d) => d.segment))].sort((a, b) => a - b)
}

const CLASS_NAMES: Array<[number, number, string]> = [
  // [class code >> shift, shift, name]: most specific first
  [0x0c03, 8, 'USB controller'],
  [0x03, 16, 'display controller'],
  [0x02, 16, 'network controller'],
  [0x01, 16, 'storage controller'],
  [0x0403, 8, 'audio device'],
  [0x04, 16, 'multimedia controller'],
  [0x0c05, 8, 'SMBus controller'],
  [0x06, 16, 'bridge'],
  [0x0b40, 8, 'co-processor'],
  [0x12, 16, 'processing accelerator'],
]

export function classNameOf(classCode: number): string {
  for (const [code, shift, name] of CLASS_NAMES) if (classCode >> shift === code) return name
  return `class ${classCode.toString(16).padStart(6, '0')}`
}

function describe(fn: PciFunction | undefined, bdf: string): string {
  if (!fn) return bdf
  return `${bdf} (${fn.description ?? classNameOf(fn.classCode)})`
}

/** RMRRs for USB controllers and display devices are "direct-relaxable" (vtd-reference §7). */
export function rmrrIsRelaxable(fn: PciFunction): boolean {
  return fn.classCode >> 8 === 0x0c03 || fn.classCode >> 16 === 0x03
}

/** Scope types allowed per structure (VT-d spec §8.3–8.9). */
const ALLOWED_SCOPES: Partial<Record<StructureName, readonly ScopeType[]>> = {
  DRHD: ['pci-endpoint', 'pci-bridge', 'ioapic', 'hpet', 'acpi-namespace'],
  RMRR: ['pci-endpoint', 'pci-bridge'],
  ATSR: ['pci-bridge'],
  SATC: ['pci-endpoint'],
  SIDP: ['pci-endpoint', 'pci-bridge'],
}

const noTopology = (): Verdict => verdict('not-applicable', 'needs the PCI topology (none given: run on the host, or with --root)')

// ---------------------------------------------------------------------------------------------
// The lints

export const DMAR_LINTS: readonly DmarLint[] = [
  {
    id: 'dmar.header',
    title: 'DMAR header: signature and length',
    needs: 'table',
    assess({table, source}) {
      const evidence = [ev(`signature "${table.signature ?? ''}", length field ${table.length === undefined ? 'missing' : hex(table.length)}, ${table.byteLength} bytes read`, source)]
      const fatal = table.byteLength < 48 || table.signature !== 'DMAR' || (table.length ?? 0) <= 48 || (table.length ?? 0) > table.byteLength
      if (fatal) return verdict('fail', 'the DMAR table header is invalid or truncated', [...evidence, ...table.problems.map((p) => ev(p, source))], ['Update the firmware; the kernel cannot use this table'])
      if (table.length !== table.byteLength) return verdict('warn', 'bytes follow the table length', [...evidence, ...table.problems.map((p) => ev(p, source))])
      return verdict('pass', `valid header, ${table.length} bytes`, evidence)
    },
  },
  {
    id: 'dmar.checksum',
    title: 'DMAR checksum',
    needs: 'table',
    assess({table, source}) {
      if (table.checksumValid === undefined) return verdict('unknown', 'the table is truncated, so its checksum cannot be verified', table.problems.map((p) => ev(p, source)))
      if (!table.checksumValid) return verdict('fail', 'the bytes do not sum to zero mod 256', [ev(`checksum byte ${hex(table.checksum ?? 0)}`, source)], ['Report to the firmware vendor; a bad checksum means the table was corrupted or hand-edited'])
      return verdict('pass', 'bytes sum to zero mod 256', [ev(`checksum byte ${hex(table.checksum ?? 0)}`, source)])
    },
  },
  {
    id: 'dmar.structure-length',
    title: 'Remapping structures and device scopes fit their lengths',
    needs: 'table',
    assess({table, source}) {
      const tableLevel = table.problems.filter((p) => !p.startsWith('signature') && !/after the table length/.test(p))
      const perStructure = table.structures.flatMap((s) => structureProblems(s).map((p) => `${at(s)}: ${p}`))
      const problems = [...tableLevel, ...perStructure]
      if (problems.length > 0) return verdict('fail', `${problems.length} length problem(s): the kernel stops parsing at a bad structure`, problems.map((p) => ev(p, source)), ['Update the firmware; report the table to the vendor'])
      return verdict('pass', `${table.structures.length} structures, all within their lengths`, [])
    },
  },
  {
    id: 'dmar.host-address-width',
    title: 'Host address width',
    needs: 'table',
    assess({table, source}) {
      const haw = table.hostAddressWidth
      if (haw === undefined) return verdict('unknown', 'no host address width (header truncated)')
      const evidence = [ev(`Host Address Width byte ${haw - 1} → ${haw}-bit DMA addresses`, source)]
      if (haw < 12) return verdict('fail', `${haw}-bit host address width is below the page size: the kernel rejects the table`, evidence)
      if (haw > 64) return verdict('warn', `${haw}-bit host address width is impossible`, evidence)
      return verdict('pass', `${haw}-bit host address width`, evidence)
    },
  },
  {
    id: 'dmar.drhd-present',
    title: 'At least one remapping unit (DRHD)',
    needs: 'table',
    assess({table, source}) {
      const n = drhds(table).length
      if (n === 0) return verdict('fail', 'no DRHD structure: "No DRHD structure found in DMAR table", no IOMMU', [ev(`${table.structures.length} structures, none of type 0`, source)], ['Enable VT-d in the firmware setup; update the firmware'])
      return verdict('pass', `${n} DRHD${n === 1 ? '' : 's'}`, drhds(table).map((d) => ev(`DRHD at ${hex(d.offset)}: segment ${d.segment}, register base ${hex(d.registerBase)}${d.flags.includePciAll ? ', INCLUDE_PCI_ALL' : ''}`, source)))
    },
  },
  {
    id: 'dmar.drhd-register-base',
    title: 'DRHD register bases are non-zero, 4 KiB aligned and distinct',
    needs: 'table',
    assess({table, source}) {
      const units = drhds(table)
      const zero = units.filter((d) => d.registerBase === 0n)
      const unaligned = units.filter((d) => d.registerBase !== 0n && d.registerBase % PAGE !== 0n)
      const seen = new Map<bigint, number>()
      for (const d of units) seen.set(d.registerBase, (seen.get(d.registerBase) ?? 0) + 1)
      const dup = [...seen].filter(([, n]) => n > 1)
      const evidence = [
        ...zero.map((d) => ev(`DRHD at ${hex(d.offset)} has register base 0`, source)),
        ...unaligned.map((d) => ev(`DRHD at ${hex(d.offset)} register base ${hex(d.registerBase)} is not 4 KiB aligned`, source)),
        ...dup.map(([base, n]) => ev(`${n} DRHDs share register base ${hex(base)}`, source)),
      ]
      if (zero.length > 0)
        return verdict('fail', 'a DRHD has register base 0: the kernel disables DMA remapping ("Your BIOS is broken; DMAR reported at address 0")', evidence, [
          'Update the firmware; some firmware fills the base only when VT-d is enabled in setup, so check that option too',
        ])
      if (unaligned.length > 0) return verdict('fail', 'a DRHD register base is not 4 KiB aligned', evidence, ['Update the firmware'])
      if (dup.length > 0) return verdict('warn', 'two DRHDs describe the same register set', evidence, ['Report to the firmware vendor'])
      if (units.length === 0) return verdict('not-applicable', 'no DRHD')
      return verdict('pass', 'every DRHD register base is non-zero, aligned and distinct', units.map((d) => ev(`${hex(d.registerBase)}`, source)))
    },
  },
  {
    id: 'dmar.include-all',
    title: 'At most one INCLUDE_PCI_ALL unit per segment, with no PCI scopes',
    needs: 'table',
    assess({table, source}) {
      const evidence: Evidence[] = []
      let multiple = false
      for (const seg of segments(table)) {
        const all = drhds(table).filter((d) => d.segment === seg && d.flags.includePciAll)
        if (all.length > 1) {
          multiple = true
          evidence.push(ev(`segment ${seg}: ${all.length} INCLUDE_PCI_ALL DRHDs (${all.map((d) => hex(d.registerBase)).join(', ')})`, source))
        }
      }
      const scoped = drhds(table).filter((d) => d.flags.includePciAll && d.scopes.some((s) => s.type === 'pci-endpoint' || s.type === 'pci-bridge'))
      for (const d of scoped) evidence.push(ev(`INCLUDE_PCI_ALL DRHD ${hex(d.registerBase)} also lists PCI scopes (only IOAPIC/HPET/ACPI scopes belong there)`, source))
      if (multiple) return verdict('fail', 'more than one INCLUDE_PCI_ALL unit in a segment: which unit owns a device is ambiguous', evidence, ['Report to the firmware vendor'])
      if (scoped.length > 0) return verdict('warn', 'an INCLUDE_PCI_ALL unit lists PCI devices', evidence)
      return verdict('pass', 'at most one catch-all unit per segment', evidence)
    },
  },
  {
    id: 'dmar.coverage',
    title: 'Every PCI device is covered by a remapping unit',
    needs: 'table',
    assess({table, source, topology, resolution}) {
      const noCatchAll = segments(table).filter((seg) => !drhds(table).some((d) => d.segment === seg && d.flags.includePciAll))
      const evidence = noCatchAll.map((seg) => ev(`segment ${seg} has no INCLUDE_PCI_ALL unit: only listed devices are translated`, source))
      if (!topology || !resolution) {
        if (noCatchAll.length === 0) return verdict('pass', 'every segment has a catch-all (INCLUDE_PCI_ALL) unit', evidence)
        return verdict('warn', 'no catch-all unit: devices not listed in a DRHD scope are not translated (give the PCI topology to list them)', evidence)
      }
      const uncovered = resolution.uncovered.filter((bdf) => (topology.devices.get(bdf)?.segment ?? 0) <= 0xffff)
      if (uncovered.length > 0)
        return verdict(
          'fail',
          `${uncovered.length} PCI function(s) are under no remapping unit: their DMA is not translated or isolated`,
          [...evidence, ...uncovered.map((bdf) => ev(`${describe(topology.devices.get(bdf), bdf)}: no DRHD scope and no catch-all in its segment`, topology.source))],
          ['Update the firmware so the DMAR table covers every device (or has an INCLUDE_PCI_ALL unit)'],
        )
      const viaScope = [...resolution.owners.values()].filter((o) => o.via === 'scope').length
      return verdict('pass', `all ${resolution.owners.size} PCI functions have a remapping unit`, [...evidence, ev(`${viaScope} by explicit scope, ${resolution.owners.size - viaScope} by INCLUDE_PCI_ALL`)])
    },
  },
  {
    id: 'dmar.drhd-scopes',
    title: 'Units without INCLUDE_PCI_ALL list devices that exist',
    needs: 'table',
    assess({table, source, resolution}) {
      const evidence: Evidence[] = []
      let ignored = 0
      table.structures.forEach((s, index) => {
        if (s.type !== 'DRHD' || s.flags.includePciAll) return
        const pci = s.scopes.filter((sc) => sc.type === 'pci-endpoint' || sc.type === 'pci-bridge')
        if (pci.length === 0 && s.scopes.length === 0) {
          ignored++
          evidence.push(ev(`DRHD ${hex(s.registerBase)} has no device scopes and no INCLUDE_PCI_ALL: it translates nothing`, source))
          return
        }
        if (resolution && pci.length > 0) {
          const present = resolution.scopes.filter((r) => r.structureIndex === index && r.status === 'resolved')
          if (present.length === 0) {
            ignored++
            evidence.push(ev(`DRHD ${hex(s.registerBase)}: none of its ${pci.length} PCI scope device(s) exist, so the kernel ignores the unit`, source))
          }
        }
      })
      if (ignored > 0) return verdict('warn', `${ignored} unit(s) will be ignored by the kernel`, evidence, ['Usually harmless (a disabled iGPU or device); otherwise report to the firmware vendor'])
      return verdict('pass', 'every scoped unit names at least one device', evidence)
    },
  },
  {
    id: 'dmar.rmrr-range',
    title: 'RMRR ranges are page aligned and limit ≥ base',
    needs: 'table',
    assess({table, source}) {
      const bad = rmrrs(table).flatMap((r) => {
        const why: string[] = []
        if (r.limit < r.base) why.push('limit is below base')
        if (r.base % PAGE !== 0n) why.push('base is not 4 KiB aligned')
        if ((r.limit + 1n) % PAGE !== 0n) why.push('limit+1 is not 4 KiB aligned')
        return why.length > 0 ? [ev(`RMRR at ${hex(r.offset)} ${range(r)}: ${why.join(', ')}`, source)] : []
      })
      if (rmrrs(table).length === 0) return verdict('not-applicable', 'no RMRR structures')
      if (bad.length > 0)
        return verdict('fail', `${bad.length} RMRR(s) have a malformed range: the kernel logs "Your BIOS is broken; bad RMRR" and still identity-maps them`, bad, ['Update the firmware; report the table to the vendor'])
      return verdict('pass', `${rmrrs(table).length} RMRR range(s) well formed`, rmrrs(table).map((r) => ev(`${range(r)}`, source)))
    },
  },
  {
    id: 'dmar.rmrr-page-zero',
    title: 'No RMRR covers page zero',
    needs: 'table',
    assess({table, source}) {
      const zero = rmrrs(table).filter((r) => r.base < PAGE && r.limit >= r.base)
      const allZero = rmrrs(table).filter((r) => r.base === 0n && r.limit === 0n)
      const evidence = [...new Set([...zero, ...allZero])].map((r) => ev(`RMRR at ${hex(r.offset)} ${range(r)} for ${r.scopes.length} device scope(s)`, source))
      if (evidence.length > 0)
        return verdict('warn', 'an RMRR maps physical page 0 into its devices\' DMA space: a NULL-address DMA by those devices will not fault', evidence, [
          'Usually a placeholder for an unused legacy region; report to the firmware vendor',
        ])
      return verdict('pass', 'no RMRR starts at page zero')
    },
  },
  {
    id: 'dmar.rmrr-overlap',
    title: 'RMRRs do not overlap',
    needs: 'table',
    assess({table, source}) {
      const list = rmrrs(table).filter((r) => r.limit >= r.base)
      const evidence: Evidence[] = []
      for (let i = 0; i < list.length; i++)
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i]
          const b = list[j]
          if (a && b && a.segment === b.segment && a.base <= b.limit && b.base <= a.limit) evidence.push(ev(`RMRR ${range(a)} at ${hex(a.offset)} overlaps RMRR ${range(b)} at ${hex(b.offset)}`, source))
        }
      if (evidence.length > 0) return verdict('warn', `${evidence.length} overlapping RMRR pair(s)`, evidence, ['Report to the firmware vendor; the kernel merges overlapping reserved regions'])
      return verdict('pass', 'no RMRRs overlap')
    },
  },
  {
    id: 'dmar.rmrr-devices',
    title: 'RMRRs and device assignment',
    needs: 'topology',
    assess({table, topology, resolution}) {
      if (rmrrs(table).length === 0) return verdict('pass', 'no RMRRs: no device is locked to a firmware identity map')
      if (!topology || !resolution) return noTopology()
      const locked: Evidence[] = []
      const relaxable: Evidence[] = []
      const seen = new Set<string>()
      for (const rs of resolution.scopes) {
        if (rs.structureType !== 'RMRR' || rs.status !== 'resolved' || !rs.bdf) continue
        const rmrr = table.structures[rs.structureIndex]
        if (rmrr?.type !== 'RMRR') continue
        const target = topology.devices.get(rs.bdf)
        if (!target) continue
        // A bridge scope puts the RMRR on every device below the bridge too (is_downstream_to_pci_bridge).
        const affected = rs.scope.type === 'pci-bridge' ? [target, ...below(target, topology)] : [target]
        for (const fn of affected) {
          const key = `${fn.bdf} ${range(rmrr)}`
          // Bridges are never assigned to a VM; what matters is the endpoints.
          if (seen.has(key) || fn.secondaryBus !== undefined) continue
          seen.add(key)
          if (rmrrIsRelaxable(fn)) relaxable.push(ev(`${describe(fn, fn.bdf)}: RMRR ${range(rmrr)} is direct-relaxable; assignable, but firmware features that use it (legacy USB, boot framebuffer) stop while it is assigned`, topology.source))
          else locked.push(ev(`${describe(fn, fn.bdf)}: RMRR ${range(rmrr)} is a direct (non-relaxable) region`, topology.source))
        }
      }
      if (locked.length > 0)
        return verdict(
          'warn',
          `${locked.length} device(s) carry a non-relaxable RMRR and cannot be passed through to a VM (kernel ≥3.17 refuses; 6.6+: "Firmware has requested this device have a 1:1 IOMMU mapping")`,
          [...locked, ...relaxable],
          ['Remove the RMRR in firmware setup if the vendor offers it (HPE: per-slot "HP Shared Memory" option), or move the device to a slot without one', 'Do not use out-of-tree "relax RMRR" kernel patches on production hosts: the firmware keeps DMA-ing into that memory'],
        )
      return verdict('pass', relaxable.length > 0 ? 'only USB/display devices carry RMRRs (relaxable)' : 'no present device carries an RMRR', relaxable)
    },
  },
  {
    id: 'dmar.segment',
    title: 'Structures name segments that have a remapping unit',
    needs: 'table',
    assess({table, source}) {
      const segs = new Set(segments(table))
      const orphans = table.structures.flatMap((s) => (hasScopes(s) && s.type !== 'DRHD' && !segs.has(s.segment) ? [ev(`${at(s)} is for segment ${s.segment}, which has no DRHD`, source)] : []))
      if (orphans.length > 0) return verdict('warn', 'structures refer to a PCI segment no unit covers', orphans)
      return verdict('pass', 'every structure names a segment with a DRHD')
    },
  },
  {
    id: 'dmar.rhsa',
    title: 'RHSA entries name existing units',
    needs: 'table',
    assess({table, source}) {
      const bases = new Set(drhds(table).map((d) => d.registerBase))
      const rhsas = table.structures.flatMap((s) => (s.type === 'RHSA' ? [s] : []))
      if (rhsas.length === 0) return verdict('not-applicable', 'no RHSA structures')
      const orphans = rhsas.filter((r) => !bases.has(r.registerBase))
      if (orphans.length > 0)
        return verdict(
          'warn',
          `${orphans.length} RHSA(s) refer to a non-existent unit: the kernel logs "RHSA refers to non-existent DMAR unit" and taints`,
          orphans.map((r) => ev(`RHSA at ${hex(r.offset)}: base ${hex(r.registerBase)}, proximity domain ${r.proximityDomain}; no DRHD has that base`, source)),
          ['Report to the firmware vendor (a common leftover when a socket is not populated)'],
        )
      return verdict('pass', `${rhsas.length} RHSA(s), each for an existing unit`, rhsas.map((r) => ev(`${hex(r.registerBase)} → node ${r.proximityDomain}`, source)))
    },
  },
  {
    id: 'dmar.andd',
    title: 'ANDD names and ACPI namespace scopes agree',
    needs: 'table',
    assess({table, source}) {
      const andds = table.structures.flatMap((s) => (s.type === 'ANDD' ? [s] : []))
      const nsScopes = table.structures.flatMap((s) => (s.type === 'DRHD' ? s.scopes.filter((sc) => sc.type === 'acpi-namespace') : []))
      if (andds.length === 0 && nsScopes.length === 0) return verdict('not-applicable', 'no ANDD structures')
      const evidence: Evidence[] = []
      for (const a of andds) if (!a.nulTerminated) evidence.push(ev(`ANDD at ${hex(a.offset)} name "${a.objectName}" is not NUL-terminated`, source))
      const numbers = new Map<number, number>()
      for (const a of andds) numbers.set(a.deviceNumber, (numbers.get(a.deviceNumber) ?? 0) + 1)
      for (const [n, count] of numbers) if (count > 1) evidence.push(ev(`${count} ANDDs share device number ${n}`, source))
      for (const a of andds) if (!nsScopes.some((s) => s.enumerationId === a.deviceNumber)) evidence.push(ev(`ANDD ${a.deviceNumber} (${a.objectName}) is in no DRHD scope: "No IOMMU scope found for ANDD enumeration ID"`, source))
      for (const s of nsScopes) if (!numbers.has(s.enumerationId)) evidence.push(ev(`ACPI namespace scope at ${hex(s.offset)} names enumeration id ${s.enumerationId}, which no ANDD declares`, source))
      if (evidence.length > 0) return verdict('warn', 'ANDD declarations and namespace scopes disagree', evidence)
      return verdict('pass', `${andds.length} ANDD(s), each NUL-terminated and under a unit`, andds.map((a) => ev(`${a.deviceNumber}: ${a.objectName}`, source)))
    },
  },
  {
    id: 'dmar.intr-remap',
    title: 'Firmware reports interrupt remapping (INTR_REMAP)',
    needs: 'table',
    assess({table, source}) {
      if (!table.flags) return verdict('unknown', 'no flags byte (header truncated)')
      const evidence = [ev(`DMAR flags ${hex(table.flags.value)}`, source)]
      if (!table.flags.intrRemap)
        return verdict('warn', 'INTR_REMAP is clear: the kernel will not enable interrupt remapping, and VFIO refuses device assignment without allow_unsafe_interrupts', evidence, [
          'Enable VT-d / interrupt remapping in the firmware setup, or update the firmware',
        ])
      return verdict('pass', 'INTR_REMAP set: the platform supports interrupt remapping', evidence)
    },
  },
  {
    id: 'dmar.x2apic-opt-out',
    title: 'x2APIC opt-out flag',
    needs: 'table',
    assess({table, source}) {
      if (!table.flags) return verdict('unknown', 'no flags byte (header truncated)')
      const evidence = [ev(`DMAR flags ${hex(table.flags.value)}: X2APIC_OPT_OUT ${table.flags.x2apicOptOut ? 'set' : 'clear'}, INTR_REMAP ${table.flags.intrRemap ? 'set' : 'clear'}`, source)]
      if (table.flags.x2apicOptOut && !table.flags.intrRemap)
        return verdict('warn', 'X2APIC_OPT_OUT is set without INTR_REMAP: the opt-out has nothing to act on, and without interrupt remapping x2APIC cannot address CPUs above 255', evidence)
      if (table.flags.x2apicOptOut)
        return verdict('warn', 'firmware asks the OS to keep interrupt remapping in xAPIC mode ("x2apic is disabled because BIOS sets x2apic opt out bit")', evidence, [
          "Boot with intremap=no_x2apic_optout to override, if the firmware vendor confirms x2APIC works (needed for more than 255 CPUs)",
        ])
      return verdict('pass', 'no x2APIC opt-out', evidence)
    },
  },
  {
    id: 'dmar.platform-opt-in',
    title: 'Pre-boot DMA protection (DMA_CTRL_PLATFORM_OPT_IN)',
    needs: 'table',
    assess({table, source}) {
      if (!table.flags) return verdict('unknown', 'no flags byte (header truncated)')
      const evidence = [ev(`DMAR flags ${hex(table.flags.value)}: DMA_CTRL_PLATFORM_OPT_IN ${table.flags.dmaCtrlPlatformOptIn ? 'set' : 'clear'}`, source)]
      if (table.flags.dmaCtrlPlatformOptIn)
        return verdict('pass', 'firmware protected pre-boot DMA with the IOMMU; Linux ≥5.0 forces the IOMMU on when a port is external-facing (Thunderbolt "Kernel DMA Protection"), unless intel_iommu=off', evidence)
      return verdict('pass', 'no platform opt-in: the IOMMU follows the kernel default and intel_iommu=', evidence)
    },
  },
  {
    id: 'dmar.satc',
    title: 'SATC lists root-complex integrated devices (ATC_REQUIRED devices have ATS)',
    needs: 'table',
    assess({table, source, topology, resolution}) {
      const satcs = table.structures.flatMap((s, index) => (s.type === 'SATC' ? [{s, index}] : []))
      if (satcs.length === 0) return verdict('not-applicable', 'no SATC structures')
      const evidence: Evidence[] = []
      for (const {s} of satcs) for (const scope of s.scopes) if (scope.path.length !== 1) evidence.push(ev(`SATC at ${hex(s.offset)}: scope ${pathText(scope)} is not a root-complex integrated device (path of ${scope.path.length})`, source))
      if (topology && resolution) {
        for (const r of resolution.scopes) {
          if (r.structureType !== 'SATC' || r.status !== 'resolved' || !r.bdf) continue
          const satc = table.structures[r.structureIndex]
          const fn = topology.devices.get(r.bdf)
          if (satc?.type === 'SATC' && satc.flags.atcRequired && fn && fn.ats === undefined) evidence.push(ev(`${describe(fn, r.bdf)} is listed ATC_REQUIRED but has no ATS capability`, topology.source))
        }
      }
      if (evidence.length > 0) return verdict('warn', 'SATC entries that do not fit the SATC rules', evidence)
      return verdict('pass', `${satcs.reduce((n, {s}) => n + s.scopes.length, 0)} SATC device(s)${satcs.some(({s}) => s.flags.atcRequired) ? ', ATC required' : ''}`)
    },
  },
  {
    id: 'dmar.ioapic-scope',
    title: 'IOAPICs are under a remapping unit',
    needs: 'table',
    assess({table, source}) {
      const ioapics = drhds(table).flatMap((d) => d.scopes.filter((s) => s.type === 'ioapic').map((s) => ({d, s})))
      const evidence = ioapics.map(({d, s}) => ev(`IOAPIC id ${s.enumerationId} (source-id ${pathText(s)}) under DRHD ${hex(d.registerBase)}`, source))
      const ids = new Map<number, number>()
      for (const {s} of ioapics) ids.set(s.enumerationId, (ids.get(s.enumerationId) ?? 0) + 1)
      const dup = [...ids].filter(([, n]) => n > 1)
      if (!table.flags?.intrRemap) return verdict('not-applicable', 'INTR_REMAP is clear: IOAPIC scopes are not used', evidence)
      if (ioapics.length === 0)
        return verdict('fail', 'INTR_REMAP is set but no DRHD lists an IOAPIC: the kernel logs "ioapic N has no mapping iommu" and disables interrupt remapping', evidence, ['Update the firmware'])
      if (dup.length > 0) return verdict('warn', 'an IOAPIC id is listed more than once', [...evidence, ...dup.map(([id, n]) => ev(`IOAPIC id ${id} appears ${n} times`, source))])
      return verdict('pass', `${ioapics.length} IOAPIC scope(s)`, evidence)
    },
  },
  {
    id: 'dmar.scope-types',
    title: 'Device scopes have known types, valid for their structure, with a path',
    needs: 'table',
    assess({table, source}) {
      const evidence: Evidence[] = []
      let fatal = false
      for (const s of table.structures) {
        if (!hasScopes(s)) continue
        const allowed = ALLOWED_SCOPES[s.type] ?? []
        for (const scope of s.scopes) {
          if (scope.type === 'unknown') evidence.push(ev(`${at(s)}: scope at ${hex(scope.offset)} has unknown type ${scope.typeCode} ("Unsupported device scope")`, source))
          else if (!allowed.includes(scope.type)) evidence.push(ev(`${at(s)}: ${scope.type} scope at ${hex(scope.offset)} does not belong in a ${s.type}`, source))
          if (scope.path.length === 0) {
            fatal = true
            evidence.push(ev(`${at(s)}: scope at ${hex(scope.offset)} has no path entries (length ${scope.length})`, source))
          }
        }
        if (s.type === 'RMRR' && s.scopes.length === 0) evidence.push(ev(`RMRR at ${hex(s.offset)} ${range(s)} names no device`, source))
      }
      if (fatal) return verdict('fail', 'device scopes without a path', evidence, ['Report to the firmware vendor'])
      if (evidence.length > 0) return verdict('warn', `${evidence.length} questionable device scope(s)`, evidence)
      return verdict('pass', 'every device scope is well formed')
    },
  },
  {
    id: 'dmar.structure-types',
    title: 'Structure types are known',
    needs: 'table',
    assess({table, source}) {
      const unknown = table.structures.filter((s) => s.type === 'unknown' && s.knownAs === undefined)
      if (unknown.length > 0) return verdict('warn', `${unknown.length} structure(s) of reserved types: the kernel skips them`, unknown.map((s) => ev(`type ${s.typeCode} at ${hex(s.offset)}, ${s.length} bytes`, source)))
      const sidp = table.structures.filter((s) => s.type === 'SIDP').length
      return verdict('pass', `all structure types known${sidp > 0 ? ` (SIDP is decoded here but ignored by Linux)` : ''}`)
    },
  },
  {
    id: 'dmar.scope-devices',
    title: 'Device scopes point at devices that exist, of the declared kind',
    needs: 'topology',
    assess({resolution, topology}) {
      if (!topology || !resolution) return noTopology()
      const missing = resolution.scopes.filter((r) => r.status === 'absent' || r.status === 'broken-path')
      const mismatch = resolution.scopes.filter((r) => r.typeMismatch !== undefined)
      const evidence = [
        ...missing.map((r) => ev(`${r.structureType} scope ${r.bdf ?? pathText(r.scope)}: ${r.detail ?? r.status}`, topology.source)),
        ...mismatch.map((r) => ev(`${r.structureType} scope: ${r.typeMismatch ?? ''} ("Device scope type does not match")`, topology.source)),
      ]
      if (mismatch.length > 0) return verdict('fail', `${mismatch.length} scope(s) declare the wrong device kind`, evidence, ['Report to the firmware vendor'])
      if (missing.length > 0)
        return verdict('warn', `${missing.length} scope(s) name devices that do not exist (often devices disabled in firmware setup)`, evidence, ['Harmless if the device is disabled on purpose; otherwise report to the firmware vendor'])
      const pci = resolution.scopes.filter((r) => r.status === 'resolved').length
      return verdict('pass', `all ${pci} PCI scope(s) resolve to present devices of the declared kind`)
    },
  },
  {
    id: 'dmar.atsr-coverage',
    title: 'ATS-capable devices sit under ports an ATSR lists',
    needs: 'topology',
    assess({table, topology, resolution}) {
      if (!topology || !resolution) return noTopology()
      const atsCapable = [...topology.devices.values()].filter((fn) => fn.ats !== undefined && fn.ats !== 'unknown')
      const unknownAts = [...topology.devices.values()].filter((fn) => fn.ats === 'unknown').length
      const allPorts = new Set(table.structures.flatMap((s) => (s.type === 'ATSR' && s.flags.allPorts ? [s.segment] : [])))
      const atsrPorts = new Set(resolution.scopes.filter((r) => r.structureType === 'ATSR' && r.status === 'resolved' && r.bdf).map((r) => r.bdf ?? ''))
      const uncovered: Evidence[] = []
      for (const fn of atsCapable) {
        const port = rootPortOf(fn, topology)
        if (!port) continue // root-complex integrated: SATC or the kernel's RCiEP rule applies
        if (allPorts.has(fn.segment) || atsrPorts.has(port.bdf)) continue
        uncovered.push(ev(`${describe(fn, fn.bdf)} supports ATS, but its root port ${port.bdf} is in no ATSR: the kernel will not enable ATS for it`, topology.source))
      }
      if (uncovered.length > 0) return verdict('warn', `${uncovered.length} ATS-capable device(s) under ports without ATS reporting`, uncovered, ['Usually only a performance loss; update the firmware if device-TLB (ATS) matters (SVA, SR-IOV)'])
      if (atsCapable.length === 0 && unknownAts > 0) return verdict('unknown', 'extended config space is not readable (needs root), so ATS capability is unknown')
      return verdict('pass', atsCapable.length > 0 ? `${atsCapable.length} ATS-capable device(s), all under ATSR-listed ports` : 'no ATS-capable devices behind root ports')
    },
  },
  {
    id: 'dmar.log-errors',
    title: 'No DMAR faults in the kernel log',
    needs: 'log',
    assess({kernelLog}) {
      const lines = (kernelLog ?? '').split(/\r?\n/).filter((l) => /\[fault reason|DMAR:\[fault reason|INTR-REMAP:\[fault reason/.test(l))
      if (lines.length > 0) return verdict('warn', `${lines.length} DMAR fault line(s) in the kernel log`, lines.slice(0, 5).map((l) => ev(l.trim(), 'kernel log')), ['Run `vtd-check faults` to explain them'])
      return verdict('pass', 'no DMAR fault lines in the kernel log')
    },
  },
  {
    id: 'dmar.log-firmware-bugs',
    title: 'No DMAR firmware-bug warnings in the kernel log',
    needs: 'log',
    assess({kernelLog}) {
      // The kernel's own verdicts on the table (vtd-reference §1.5): E820 vs RMRR, IOAPIC scope, base 0 …
      const lines = (kernelLog ?? '').split(/\r?\n/).filter((l) => /(DMAR|DMAR-IR|RMRR).*\[Firmware Bug\]|\[Firmware Bug\].*(DMAR|RMRR|DRHD|RHSA|ANDD|ioapic|iommu)|Your BIOS is broken; (DMAR|bad RMRR)|RMRR entry for device .* is broken/i.test(l))
      if (lines.length > 0)
        return verdict('warn', `the kernel logged ${lines.length} firmware bug(s) about the DMAR table`, lines.slice(0, 6).map((l) => ev(l.trim(), 'kernel log')), ['Report these lines to the firmware vendor; check for a firmware update'])
      return verdict('pass', 'no DMAR firmware-bug lines in the kernel log')
    },
  },
]

/** Functions on the buses a bridge forwards to (secondary..subordinate), same segment. */
function below(bridge: PciFunction, topology: PciTopology): PciFunction[] {
  const {secondaryBus, subordinateBus} = bridge
  if (secondaryBus === undefined || subordinateBus === undefined) return []
  return [...topology.devices.values()].filter((fn) => fn.segment === bridge.segment && fn.bus >= secondaryBus && fn.bus <= subordinateBus)
}

function rootPortOf(fn: PciFunction, topology: PciTopology): PciFunction | undefined {
  let cursor: PciFunction | undefined = fn.physfn !== undefined ? (topology.devices.get(fn.physfn) ?? fn) : fn
  for (let guard = 0; cursor?.parent !== undefined && guard < 64; guard++) {
    const parent = topology.devices.get(cursor.parent)
    if (!parent) return undefined
    if (parent.pcieType === PCIE_TYPE.rootPort) return parent
    cursor = parent
  }
  return undefined
}

function result(lint: DmarLint, v: Verdict): CheckResult {
  return {id: lint.id, title: lint.title, ...v, docs: SPEC_DOCS}
}

export interface LintOptions {
  source?: string
  kernelLog?: string
  /** Pre-computed resolution (otherwise computed from the topology). */
  resolution?: ScopeResolution
}

/**
 * The lint of the model's DMAR table, run once per model: scopes resolved against its PCI tree,
 * the log lint when the kernel log was read. Undefined when there is no table to lint.
 * `check` (platform.dmar-valid) and `dmar` both report this one result.
 */
export function dmarLint(model: HostModel): CheckResult[] | undefined {
  return model.derive('dmar-lint', (m) => {
    const {table, scopes, source} = m.dmar
    if (!table) return undefined
    const log = m.input.log
    return lintDmar(table, scopes ? m.topology : undefined, {source, ...(scopes ? {resolution: scopes} : {}), ...(log.ok ? {kernelLog: log.value} : {})})
  })
}

/** Every DMAR lint. The log lint runs only when a log is given. */
export function lintDmar(table: DmarTable, topology?: PciTopology, options: LintOptions = {}): CheckResult[] {
  const resolution = options.resolution ?? (topology ? resolveDmarScopes(table, topology) : undefined)
  const ctx: DmarLintContext = {table, source: options.source ?? DMAR_TABLE_PATH}
  if (topology) ctx.topology = topology
  if (resolution) ctx.resolution = resolution
  if (options.kernelLog !== undefined) ctx.kernelLog = options.kernelLog
  return DMAR_LINTS.filter((l) => l.needs !== 'log' || options.kernelLog !== undefined).map((lint) => result(lint, lint.assess(ctx)))
}

// ---------------------------------------------------------------------------------------------
// Remapping units: decoded, and cross-checked with the table

const ALL_ONES = (1n << 64n) - 1n

/** cap_audit-style features that must agree across units (vtd-reference §2.3). */
const CONSISTENT_FEATURES: Array<[string, (u: DecodedUnit) => string | number | boolean | undefined]> = [
  ['sagaw', (u) => u.capDecoded?.sagaw.value],
  ['mgaw', (u) => u.capDecoded?.mgaw],
  ['superpages', (u) => u.capDecoded?.superpages.join(',')],
  ['pi', (u) => u.capDecoded?.postedInterrupts],
  ['fl1gp', (u) => u.capDecoded?.firstStage1GiB],
  ['ir', (u) => u.ecapDecoded?.interruptRemapping],
  ['eim', (u) => u.ecapDecoded?.extendedInterruptMode],
  ['pt', (u) => u.ecapDecoded?.passThrough],
  ['sc', (u) => u.ecapDecoded?.snoopControl],
  ['nest', (u) => u.ecapDecoded?.nested],
  ['pasid', (u) => u.ecapDecoded?.pasid],
  ['smts', (u) => u.ecapDecoded?.scalableMode],
  ['slts', (u) => u.ecapDecoded?.secondStage],
  ['flts', (u) => u.ecapDecoded?.firstStage],
]

interface UnitLint {
  id: string
  title: string
  assess(units: DecodedUnit[], table: DmarTable | undefined, tableSource: string, remappingActive: boolean | undefined): Verdict
}

const withRegs = (units: DecodedUnit[]): DecodedUnit[] => units.filter((u) => u.capDecoded && u.ecapDecoded)

export const UNIT_LINTS: readonly UnitLint[] = [
  {
    id: 'units.present',
    title: 'Remapping units are registered',
    assess(units, table, tableSource, remappingActive) {
      if (units.length > 0 && remappingActive === false)
        return verdict('fail', `${units.length} unit(s) known from the kernel log, but DMA remapping is not active (no ${'/sys/class/iommu'} units): intel_iommu=off or the kernel default`, units.map((u) => ev(`${u.name} at ${u.registerBase === undefined ? '?' : hex(u.registerBase)}`, u.source)), ['Boot with intel_iommu=on'])
      if (units.length > 0) return verdict('pass', `${units.length} remapping unit(s)`, units.map((u) => ev(`${u.name} at ${u.registerBase === undefined ? '?' : hex(u.registerBase)}`, u.source)))
      if (table && drhds(table).length > 0)
        return verdict('fail', 'the DMAR table lists units but none is active: DMA remapping is off (intel_iommu=off, or the kernel default)', [ev(`${drhds(table).length} DRHD(s)`, tableSource)], ['Boot with intel_iommu=on'])
      return verdict('unknown', 'no remapping units found in sysfs or the kernel log')
    },
  },
  {
    id: 'units.match-drhd',
    title: 'Units match the DMAR table (count and register bases)',
    assess(units, table, tableSource) {
      if (!table) return verdict('not-applicable', 'no DMAR table to compare with')
      if (units.length === 0) return verdict('not-applicable', 'no active units')
      const bases = new Set(drhds(table).map((d) => d.registerBase))
      const evidence: Evidence[] = [ev(`${drhds(table).length} DRHD(s) in the table, ${units.length} active unit(s)`, tableSource)]
      const strangers = units.filter((u) => u.registerBase !== undefined && !bases.has(u.registerBase))
      for (const u of strangers) evidence.push(ev(`${u.name} register base ${hex(u.registerBase ?? 0n)} is not a DRHD base in the table`, u.source))
      if (strangers.length > 0) return verdict('warn', 'a unit is not described by this DMAR table (was the table captured on another machine?)', evidence)
      if (units.length < drhds(table).length)
        return verdict('warn', `${drhds(table).length - units.length} DRHD(s) have no active unit (ignored: no devices present, or igfx_off)`, evidence)
      return verdict('pass', 'every DRHD has an active unit at the same register base', evidence)
    },
  },
  {
    id: 'units.interrupt-remapping',
    title: 'Units and table agree on interrupt remapping',
    assess(units, table, tableSource) {
      const regs = withRegs(units)
      if (regs.length === 0) return verdict('unknown', 'no unit capability registers')
      const noIr = regs.filter((u) => !u.ecapDecoded?.interruptRemapping)
      const evidence = regs.map((u) => ev(`${u.name} ECAP.IR=${u.ecapDecoded?.interruptRemapping ? 1 : 0} EIM=${u.ecapDecoded?.extendedInterruptMode ? 1 : 0}`, u.source))
      if (table?.flags) evidence.push(ev(`DMAR INTR_REMAP ${table.flags.intrRemap ? 'set' : 'clear'}`, tableSource))
      // The kernel needs IR on every unit: without it IR stays off, which `check` fails (interrupts.remapping).
      if (noIr.length > 0)
        return verdict('fail', `${names(noIr)} interrupt remapping, so ${WORDING.irOff}`, evidence)
      if (table?.flags && !table.flags.intrRemap)
        return verdict('fail', `every unit supports interrupt remapping but the table's INTR_REMAP flag is clear, so ${WORDING.irOff}`, evidence, ['Enable interrupt remapping / x2APIC in the firmware setup'])
      return verdict('pass', 'every unit supports interrupt remapping' + (table?.flags ? ' and the table reports it' : ''), evidence)
    },
  },
  {
    id: 'units.x2apic',
    title: 'Units support x2APIC interrupt format (EIM)',
    assess(units) {
      const regs = withRegs(units)
      if (regs.length === 0) return verdict('unknown', 'no unit capability registers')
      const noEim = regs.filter((u) => u.ecapDecoded?.interruptRemapping && !u.ecapDecoded.extendedInterruptMode)
      // The same finding as `check`'s interrupts.x2apic: a limit, not a defect, below 256 CPUs.
      if (noEim.length > 0) return verdict('pass', `${names(noEim)} EIM: ${WORDING.noEim}`, noEim.map((u) => ev(`${u.name} ecap ${hex(u.ecap ?? 0n)}`, u.source)))
      return verdict('pass', 'every interrupt-remapping unit supports EIM (x2APIC)')
    },
  },
  {
    id: 'units.caching-mode',
    title: 'Physical (not emulated) IOMMU',
    assess(units) {
      const regs = withRegs(units)
      if (regs.length === 0) return verdict('unknown', 'no unit capability registers')
      const cm = regs.filter((u) => u.capDecoded?.cachingMode)
      if (cm.length > 0)
        return verdict('warn', 'CAP.CM=1: this is an emulated VT-d, so this host is a virtual machine; passthrough here is nested (vIOMMU) and slower', cm.map((u) => ev(`${u.name} cap ${hex(u.cap ?? 0n)} (bit 7 set)`, u.source)))
      return verdict('pass', 'caching mode is off on every unit (real hardware)')
    },
  },
  {
    id: 'units.consistency',
    title: 'Units report the same features',
    assess(units) {
      const regs = withRegs(units)
      if (regs.length < 2) return verdict('not-applicable', 'fewer than two units')
      const differing = CONSISTENT_FEATURES.filter(([, get]) => new Set(regs.map((u) => String(get(u)))).size > 1)
      if (differing.length > 0)
        return verdict('warn', `features differ across units: ${differing.map(([n]) => n).join(', ')} (kernels ≥5.13 log "IOMMU feature %s inconsistent" and disable them)`, differing.map(([n, get]) => ev(`${n}: ${regs.map((u) => `${u.name}=${String(get(u))}`).join(' ')}`)))
      return verdict('pass', `${regs.length} units report the same features`)
    },
  },
  {
    id: 'units.address-width',
    title: 'Units support a usable address width',
    assess(units, table, tableSource) {
      const regs = withRegs(units)
      if (regs.length === 0) return verdict('unknown', 'no unit capability registers')
      const broken = regs.filter((u) => u.cap === ALL_ONES && u.ecap === ALL_ONES)
      if (broken.length > 0) return verdict('fail', `${broken.map((u) => u.name).join(', ')} read all ones: the unit is not decoded ("DMAR reported at address … returns all ones")`, broken.map((u) => ev(`${u.name}`, u.source)))
      const unusable = regs.filter((u) => ((u.capDecoded?.sagaw.value ?? 0) & 0b01110) === 0)
      const evidence = regs.map((u) => ev(`${u.name}: SAGAW ${u.capDecoded?.sagaw.widths.join('/')}-bit, MGAW ${u.capDecoded?.mgaw}-bit`, u.source))
      if (table?.hostAddressWidth) evidence.push(ev(`table host address width ${table.hostAddressWidth}-bit`, tableSource))
      if (unusable.length > 0) return verdict('fail', `${unusable.map((u) => u.name).join(', ')} support no 3-, 4- or 5-level tables: "No supported address widths. Not attempting DMA translation."`, evidence)
      return verdict('pass', 'every unit supports 3-, 4- or 5-level page tables', evidence)
    },
  },
]

/**
 * Cross-checks of remapping units with each other and (optionally) the DMAR table.
 * `remappingActive`: false when the units come from boot lines only (sysfs has none).
 */
export function lintUnits(units: DecodedUnit[], table?: DmarTable, tableSource: string = DMAR_TABLE_PATH, remappingActive?: boolean, iommu?: IommuVendor): CheckResult[] {
  // No Intel unit anywhere: the same outcome `check` gives (platform.dma-remapping), not "unknown".
  if (units.length === 0 && (iommu === 'none' || iommu === 'amd' || iommu === 'other')) {
    const first = iommu === 'none' ? verdict('fail', WORDING.noIommu, [ev('no DMAR table, no remapping units, no VT-d boot lines')], ['Enable VT-d in the firmware setup and boot with intel_iommu=on'])
      : verdict('not-applicable', `not an Intel VT-d platform (${iommu === 'amd' ? 'AMD-Vi' : 'another'} IOMMU): Intel remapping units do not apply`)
    return UNIT_LINTS.map((lint, index) => ({id: lint.id, title: lint.title, ...(index === 0 ? first : verdict('not-applicable', `${iommu === 'none' ? WORDING.noIommuHere : 'not an Intel VT-d platform'}: see units.present`)), docs: SPEC_DOCS}))
  }
  return UNIT_LINTS.map((lint) => ({id: lint.id, title: lint.title, ...lint.assess(units, table, tableSource, remappingActive), docs: SPEC_DOCS}))
}

/** "dmar0 lacks" / "dmar0, dmar1 lack": the subject of a finding about some units. */
function names(units: ReadonlyArray<{name: string}>): string {
  return `${units.map((u) => u.name).join(', ')} ${units.length === 1 ? 'lacks' : 'lack'}`
}
