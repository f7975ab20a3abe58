/**
 * The passthrough plan for one device: what goes to vfio-pci with it, what the host loses,
 * what blocks it, and the exact commands / kernel parameters / firmware settings to fix each.
 * Built from the check results (one source of truth for verdicts) plus the group and IDs.
 */
import type {AssessmentContext} from './context.js'
import {bindCommandsFor, groupEndpoints} from './device.js'
import {ROLE_WORDS, type HostRole} from '../collect/host-roles.js'
import type {SubjectResult} from './outcome.js'
import {guestIommuAdvice, kernelCommandLineCommands, persistOverrides, persistVfioIds, type Persistence} from './remediation.js'
import {describeDevice, groupMembers, hex4, isBridge, iommuActive} from './shared.js'

export type PlanVerdict = 'ready' | 'ready-with-warnings' | 'blocked' | 'unknown'

export interface PlanDevice {
  bdf: string
  description: string
  driver?: string
}

export interface PlanIssue {
  /** The check that found it. */
  check: string
  problem: string
  fix: string[]
}

export interface PassthroughPlan {
  device: string
  description: string
  group?: number
  verdict: PlanVerdict
  /** Endpoints that must be bound to vfio-pci together with the device (same IOMMU group). */
  bindWithIt: PlanDevice[]
  /** Bridges/ports in the group: they may stay on pcieport. */
  mayStayOnHost: PlanDevice[]
  /** Host-critical devices the group takes away from the host. */
  takesFromHost: Array<{bdf: string; role: HostRole; what: string}>
  blockers: PlanIssue[]
  warnings: PlanIssue[]
  commands: {
    /** Bind now (until reboot), copy-pasteable. */
    bindNow: string[]
    /** Make the binding survive reboots (one method; `otherMethods` names the others). */
    persist: string[]
    /** Kernel parameters to add (or remove, prefixed "remove "). */
    kernelParameters: string[]
    /** The commands that apply `kernelParameters` through this host's boot loader. */
    kernelCommandLine: string[]
    /** One line per choice made above, naming the other ways (use one, not both). */
    otherMethods: string[]
    /** Firmware (BIOS/UEFI) settings to change. */
    firmware: string[]
  }
}

/** Host-level failures that block every device. */
const HOST_BLOCKERS = new Set(['platform.dma-remapping', 'platform.firmware-table', 'platform.dmar-valid', 'interrupts.remapping'])
/** Host-level warnings worth repeating in a device plan. */
const HOST_WARNINGS = new Set(['isolation.acs-override', 'interrupts.vfio-unsafe', 'platform.bare-metal'])

function planDevice(ctx: AssessmentContext, bdf: string): PlanDevice {
  const driver = ctx.devices.get(bdf)?.driver
  return {bdf, description: describeDevice(ctx, bdf), ...(driver ? {driver} : {})}
}

function idOf(ctx: AssessmentContext, bdf: string): string | undefined {
  const d = ctx.devices.get(bdf)
  return d?.vendor === undefined || d.device === undefined ? undefined : `${hex4(d.vendor)}:${hex4(d.device)}`
}

function persistCommands(ctx: AssessmentContext, bdfs: string[]): Persistence {
  const ids = [...new Set(bdfs.map((b) => idOf(ctx, b)).filter((id): id is string => id !== undefined))]
  // vfio-pci.ids claims EVERY device with that ID: unsafe when an identical device stays on the host.
  const clash = [...ctx.devices.values()].filter((d) => !bdfs.includes(d.bdf) && ids.includes(`${hex4(d.vendor)}:${hex4(d.device)}`))
  if (ids.length === 0 || clash.length > 0) return persistOverrides(bdfs)
  // Softdeps only for loadable host drivers: pcieport and other built-ins are not modules.
  const drivers = [...new Set(bdfs.map((b) => ctx.devices.get(b)?.driver).filter((d): d is string => d !== undefined && !d.startsWith('vfio') && d !== 'pci-stub' && d !== 'pcieport'))]
  return persistVfioIds(ids, drivers, ctx.boot, {ids: ctx.cmdline?.vfioPciIds.map((id) => id.text) ?? [], via: ctx.cmdline?.vfioPciIdsVia ?? []})
}

function kernelParameterFixes(ctx: AssessmentContext): string[] {
  const params: string[] = []
  if (!iommuActive(ctx) && ctx.iommuVendor === 'intel' && ctx.cmdline?.intelIommu.enabled !== true) params.push('intel_iommu=on')
  if (ctx.cmdline?.intelIommu.enabled === false) params.push('remove intel_iommu=off')
  if (ctx.cmdline?.intremap.off) params.push(`remove ${ctx.cmdline.intremap.via ?? 'intremap=off'}`)
  if (ctx.cmdline?.acsOverride) params.push(`remove pcie_acs_override=${ctx.cmdline.acsOverride.join(',')}`)
  if (ctx.cmdline?.intelIommu.igfxOff) params.push('remove intel_iommu=igfx_off (only if passing the integrated GPU)')
  return params
}

function firmwareFixes(ctx: AssessmentContext, results: SubjectResult[]): string[] {
  const fixes: string[] = []
  const failed = (id: string) => results.some((r) => r.id === id && r.outcome === 'fail')
  if (ctx.iommuVendor === 'none' && !ctx.cpu.hypervisor)
    fixes.push(ctx.cpu.vendor === 'amd' ? 'enable "IOMMU" / "AMD-Vi" and "SVM Mode"' : 'enable "VT-d" (Intel Virtualization Technology for Directed I/O) and "VT-x"')
  if (ctx.iommuVendor === 'none' && ctx.cpu.hypervisor) fixes.push(`hypervisor: ${guestIommuAdvice(ctx.hypervisor, ctx.cpu.vendor)}`)
  if (failed('interrupts.remapping') && ctx.dmar.table?.flags?.intrRemap === false) fixes.push('enable interrupt remapping (often tied to "X2APIC" / "VT-d") in the firmware setup')
  if (results.some((r) => r.id === 'interrupts.x2apic' && r.outcome === 'warn')) fixes.push('enable "X2APIC" (clears the x2APIC opt-out)')
  if (results.some((r) => (r.id === 'device.rmrr' || r.id === 'isolation.rmrr') && r.outcome !== 'pass' && r.outcome !== 'not-applicable'))
    fixes.push('remove the device\'s RMRR: HPE "HP Shared Memory features" off for the slot; other vendors: BMC/ME shared-NIC or legacy-USB settings')
  return fixes
}

/** Checks whose fix is the plan's own bind commands (not repeated per issue). */
const FIXED_BY_COMMANDS = new Set(['device.driver'])

function issue(r: SubjectResult): PlanIssue {
  return {check: r.id, problem: r.summary, fix: FIXED_BY_COMMANDS.has(r.id) ? [] : r.remediation}
}

export function planPassthrough(ctx: AssessmentContext, bdf: string, results: SubjectResult[]): PassthroughPlan {
  const group = ctx.groupOf.get(bdf)
  const members = groupMembers(ctx, bdf)
  const endpoints = groupEndpoints(ctx, bdf)
  const bindWithIt = endpoints.filter((m) => m !== bdf).map((m) => planDevice(ctx, m))
  const mayStayOnHost = members.filter((m) => isBridge(ctx.devices.get(m))).map((m) => planDevice(ctx, m))
  const inGroup = new Set(members.length > 0 ? members : [bdf])
  const takesFromHost = ctx.roles.devices.filter((r) => inGroup.has(r.bdf)).map((r) => ({bdf: r.bdf, role: r.role, what: `${ROLE_WORDS[r.role]} (${r.via})`}))
  const mine = results.filter((r) => r.subject === bdf)
  const host = results.filter((r) => r.subject === undefined)
  const blockers = [...host.filter((r) => HOST_BLOCKERS.has(r.id) && r.outcome === 'fail'), ...mine.filter((r) => r.outcome === 'fail')].map(issue)
  const warnings = [...host.filter((r) => HOST_WARNINGS.has(r.id) && r.outcome === 'warn'), ...mine.filter((r) => r.outcome === 'warn')].map(issue)
  const unknown = mine.some((r) => r.outcome === 'unknown')
  // A bridge or port stays on pcieport: only the group's endpoints go to vfio-pci.
  const toBind = [...(isBridge(ctx.devices.get(bdf)) ? [] : [bdf]), ...bindWithIt.map((d) => d.bdf)]
  const needsBinding = toBind.filter((b) => {
    const driver = ctx.devices.get(b)?.driver
    return driver === undefined || !(driver.startsWith('vfio') || driver === 'pci-stub')
  })
  const persist = group ? persistCommands(ctx, toBind) : undefined
  const kernelParameters = kernelParameterFixes(ctx)
  const cmdline = kernelParameters.length > 0 ? kernelCommandLineCommands({add: kernelParameters.filter((p) => !p.startsWith('remove ')), remove: kernelParameters.filter((p) => p.startsWith('remove ')).map((p) => p.slice('remove '.length).split(' ')[0] ?? '')}, ctx.boot) : undefined
  return {
    device: bdf,
    description: describeDevice(ctx, bdf),
    ...(group ? {group: group.id} : {}),
    verdict: blockers.length > 0 ? 'blocked' : unknown ? 'unknown' : warnings.length > 0 ? 'ready-with-warnings' : 'ready',
    bindWithIt,
    mayStayOnHost,
    takesFromHost,
    blockers,
    warnings,
    commands: {
      bindNow: needsBinding.length > 0 && group ? bindCommandsFor(ctx, needsBinding) : [],
      persist: persist?.commands ?? [],
      kernelParameters,
      kernelCommandLine: cmdline?.commands ?? [],
      otherMethods: [...(persist ? [persist.otherwise] : []), ...(cmdline ? [cmdline.otherwise] : [])],
      firmware: firmwareFixes(ctx, results),
    },
  }
}
