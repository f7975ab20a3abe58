/**
 * Isolation facts: the part of one host's assessment that matters when hosts are compared —
 * over time (`diff`), across a fleet (`fleet`), or exported to another engine (Prometheus, NFD).
 * A plain, serialisable projection of the host model and the check results; it decides nothing
 * itself: verdicts come from the checks, groups from the kernel, "why" from the grouping replay.
 *
 * Layer: above checks and replay, below report (renderers read it, commands build it).
 */
import {assessHost} from '../checks/assess.js'
import {overallVerdict, type OverallVerdict} from '../checks/catalogue.js'
import {countOutcomes, EXIT, type Outcome, type SubjectResult} from '../checks/outcome.js'
import {isBridge, isHostBridge} from '../checks/shared.js'
import {hex} from '../decode/pci-address.js'
import type {HostModel, IommuVendor} from '../model/host.js'
import {acsFlagNames} from '../replay/grouping.js'
import {hostGrouping} from '../replay/host-grouping.js'

/** Bump only for breaking changes (DESIGN.md: additive contract). */
export const FACTS_SCHEMA_VERSION = 1 as const

/** Whether something holds: true/false when the checks could tell, 'unknown' when they could not. */
export type Known = boolean | 'unknown'

export interface DeviceFacts {
  bdf: string
  /** "8086:10d3". */
  id: string
  /** "0x020000". */
  classCode: string
  /** A small fixed set (bounded label cardinality for Prometheus and NFD). */
  classLabel: DeviceClassLabel
  role: 'endpoint' | 'bridge' | 'host-bridge'
  driver?: string
  /** The kernel's IOMMU group; undefined when the device has none. */
  group?: number
  /** ACS capability and control bits by name; undefined when the device has no ACS capability. */
  acs?: {capability: string[]; control: string[]} | 'unknown'
  /** An endpoint that can go to a VM alone: remapping active, its group holds no other slot's endpoints, no RMRR on it. */
  passthroughReady: boolean
}

export interface GroupFacts {
  id: number
  /** Default domain type (identity, DMA, DMA-FQ …) as the kernel reports it. */
  type?: string
  devices: string[]
  /** Endpoints (not bridges) from more than one slot: they can only be passed through together. */
  shared: boolean
  /** Why devices share it, from the grouping replay: "00:1c.0 (no ACS capability)". */
  culprits: string[]
}

export interface RmrrFacts {
  base: string
  limit: string
  devices: string[]
}

export interface CheckFacts {
  id: string
  subject?: string
  outcome: Outcome
  summary: string
}

export interface HostFacts {
  schemaVersion: typeof FACTS_SCHEMA_VERSION
  host: {
    /** `/` or the snapshot directory. */
    root: string
    /** Hostname from the snapshot's meta.json, else the snapshot directory's name. */
    name: string
    kernel?: string
    /** DMI vendor + product: what "the same hardware model" means for drift. */
    model?: string
    bios?: string
    cmdline?: string
  }
  verdict: Pick<OverallVerdict, 'outcome' | 'headline' | 'exitCode'>
  checks: CheckFacts[]
  iommu: {
    vendor: IommuVendor
    active: Known
    interruptRemapping: Known
    scalableMode: Known
    /** Default domain types of the kernel's groups, e.g. ["DMA-FQ"]. */
    defaultDomains: string[]
  }
  /** Kernel parameters as written, `name` → value ("" for a bare flag); last one wins, as in the kernel. */
  kernelParameters: Record<string, string>
  /** Kernel grouping rules in force for this kernel version (replay KERNEL_RULE_CHANGES ids). */
  groupingRules: string[]
  devices: DeviceFacts[]
  groups: GroupFacts[]
  rmrrs: RmrrFacts[]
  /** DMA and interrupt-remapping faults in the kernel log, by reason. */
  faults: Array<{kind: 'dma' | 'interrupt'; reason: string; reasonText: string; count: number}>
  /** Paths that exist but could not be read: facts depending on them are unknown. */
  unreadable: string[]
  /** The kernel log could be read. */
  logReadable: boolean
}

export type DeviceClassLabel = 'gpu' | 'network' | 'storage' | 'usb' | 'audio' | 'accelerator' | 'bridge' | 'other'

/** PCI base class (and a few subclasses) → a bounded label. */
export function deviceClassLabel(classCode: number): DeviceClassLabel {
  const base = classCode >> 16
  const sub = (classCode >> 8) & 0xff
  if (base === 0x03) return 'gpu'
  if (base === 0x02) return 'network'
  if (base === 0x01) return 'storage'
  if (base === 0x0c && sub === 0x03) return 'usb'
  if (base === 0x04) return 'audio'
  if (base === 0x12 || base === 0x0b) return 'accelerator'
  if (base === 0x06) return 'bridge'
  return 'other'
}

/** A check outcome as a yes/no: pass/warn → true, fail/not-applicable → false, unknown → unknown. */
function held(results: readonly SubjectResult[], id: string): Known {
  const result = results.find((r) => r.id === id && r.subject === undefined)
  if (!result || result.outcome === 'unknown') return 'unknown'
  return result.outcome === 'pass' || result.outcome === 'warn'
}

/** Scalable mode in use: the kernel's own signs (page-request IRQs, sm_on, PASID-tagged faults). */
function scalableModeInUse(ctx: HostModel): Known {
  const intel = ctx.units.filter((u) => u.unit.vendor === 'intel' && u.smts !== undefined)
  if (intel.length === 0) return ctx.units.length === 0 ? false : 'unknown'
  if (!intel.some((u) => u.smts) || ctx.cmdline?.intelIommu.scalableMode === false || ctx.logFacts.scalableDisallowed) return false
  if (ctx.scalableIrqs.length > 0 || ctx.cmdline?.intelIommu.scalableMode === true || ctx.faults.some((f) => f.family === 'intel-vtd' && f.kind === 'dma' && f.pasid !== undefined)) return true
  return 'unknown'
}

/**
 * Assess the host and project what comparisons need. `name`: how the host is called in a fleet.
 * `notAssessable`: why the snapshot cannot be assessed at all (one holding only its kernel log):
 * its verdict is then 'could not tell', with no checks, rather than checks run on files it never had.
 */
export function hostFacts(model: HostModel, name: string, notAssessable?: string): HostFacts {
  if (notAssessable !== undefined) {
    const verdict = {outcome: 'unknown' as const, headline: `COULD NOT TELL — ${notAssessable}`, exitCode: EXIT.unknown, counts: countOutcomes([])}
    return factsOf(model, [], verdict, name)
  }
  const results = assessHost(model).results
  return factsOf(model, results, overallVerdict(results), name)
}

function factsOf(ctx: HostModel, results: readonly SubjectResult[], verdict: OverallVerdict, name: string): HostFacts {
  const platform = ctx.host.platform
  const dmi = platform.dmi
  const model = [dmi.sysVendor, dmi.productName].filter((s): s is string => !!s && s.trim() !== '').map((s) => s.trim()).join(' ')

  const rmrrs: RmrrFacts[] = ctx.rmrrs.map((r) => ({base: hex(r.base), limit: hex(r.limit), devices: [...new Set(r.devices)].sort()}))

  const devices: DeviceFacts[] = [...ctx.topology.devices.values()]
    .sort((a, b) => a.bdf.localeCompare(b.bdf))
    .map((fn) => {
      const collected = ctx.devices.get(fn.bdf)
      const role = isHostBridge(collected) ? 'host-bridge' : isBridge(collected) ? 'bridge' : 'endpoint'
      const acs = fn.acs === 'unknown' ? 'unknown' : fn.acs === undefined ? undefined : {capability: acsFlagNames(fn.acs.cap), control: acsFlagNames(fn.acs.ctl)}
      return {
        bdf: fn.bdf,
        id: `${fn.vendorId.toString(16).padStart(4, '0')}:${fn.deviceId.toString(16).padStart(4, '0')}`,
        classCode: `0x${fn.classCode.toString(16).padStart(6, '0')}`,
        classLabel: deviceClassLabel(fn.classCode),
        role,
        ...(fn.driver ? {driver: fn.driver} : {}),
        ...(fn.iommuGroup !== undefined ? {group: fn.iommuGroup} : {}),
        ...(acs !== undefined ? {acs} : {}),
        passthroughReady: false,
      }
    })

  // The replay explains the kernel's groups: who lacks which ACS bit, which kernel rule applied.
  const prediction = hostGrouping(ctx)
  const culpritsOf = (bdfs: readonly string[]): string[] => {
    const out = new Set<string>()
    for (const bdf of bdfs) {
      const predicted = prediction.groups[prediction.groupOf.get(bdf) ?? -1]
      for (const member of predicted?.members ?? []) {
        if (member.bdf !== bdf) continue
        for (const c of member.joined.culprits) out.add(`${c.bdf} (${c.because})`)
      }
    }
    return [...out].sort()
  }
  const roleOf = new Map(devices.map((d) => [d.bdf, d.role]))
  const groups: GroupFacts[] = [...ctx.kernelGroups]
    .sort((a, b) => a.id - b.id)
    .map((g) => {
      const slots = new Set(g.devices.filter((b) => roleOf.get(b) === 'endpoint').map((b) => b.slice(0, b.lastIndexOf('.'))))
      return {id: g.id, ...(g.type ? {type: g.type} : {}), devices: [...g.devices].sort(), shared: slots.size > 1, culprits: culpritsOf(g.devices)}
    })

  const active = held(results, 'platform.dma-remapping')
  const sharedGroup = new Set(groups.filter((g) => g.shared).map((g) => g.id))
  const underRmrr = new Set(rmrrs.flatMap((r) => r.devices))
  for (const d of devices)
    d.passthroughReady = active === true && d.role === 'endpoint' && d.group !== undefined && !sharedGroup.has(d.group) && !underRmrr.has(d.bdf)

  const faultCounts = new Map<string, {kind: 'dma' | 'interrupt'; reason: string; reasonText: string; count: number}>()
  for (const f of ctx.faults) {
    const reason = f.reason === undefined ? 'unknown' : `0x${f.reason.toString(16).padStart(2, '0')}`
    const key = `${f.kind}/${reason}`
    const entry = faultCounts.get(key) ?? {kind: f.kind, reason, reasonText: f.reasonText, count: 0}
    entry.count++
    faultCounts.set(key, entry)
  }

  const kernelParameters: Record<string, string> = {}
  for (const token of ctx.cmdline?.tokens ?? []) kernelParameters[token.key] = token.value ?? ''

  return {
    schemaVersion: FACTS_SCHEMA_VERSION,
    host: {
      root: ctx.host.root,
      name,
      ...(ctx.kernel ? {kernel: ctx.kernel.release} : {}),
      ...(model ? {model} : {}),
      ...(dmi.biosVersion?.trim() ? {bios: dmi.biosVersion.trim()} : {}),
      ...(platform.cmdline.ok ? {cmdline: platform.cmdline.value.trim()} : {}),
    },
    verdict: {outcome: verdict.outcome, headline: verdict.headline, exitCode: verdict.exitCode},
    checks: results.map((r) => ({id: r.id, ...(r.subject ? {subject: r.subject} : {}), outcome: r.outcome, summary: r.summary})),
    iommu: {
      vendor: ctx.iommuVendor,
      active: held(results, 'platform.dma-remapping'),
      interruptRemapping: held(results, 'interrupts.remapping'),
      scalableMode: scalableModeInUse(ctx),
      defaultDomains: [...new Set(ctx.kernelGroups.map((g) => g.type).filter((t): t is string => !!t))].sort(),
    },
    kernelParameters,
    groupingRules: prediction.rules.map((r) => r.id),
    devices,
    groups,
    rmrrs,
    faults: [...faultCounts.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.reason.localeCompare(b.reason)),
    unreadable: ctx.host.misses.map((m) => m.path).sort(),
    logReadable: ctx.log.readable,
  }
}
