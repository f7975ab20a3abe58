/**
 * A replay context: the translation units of one host (or snapshot, or JSON description),
 * which unit serves which requester, and what the reader should know about where the
 * tables came from. `explainFaultStep` is the entry point for fault triage.
 */
import {parseRequester, walk, type Access, type WalkRequest, type WalkResult} from './replay.js'
import type {TablesSource, TranslationUnit} from './unit.js'

export interface ReplayContext {
  units: TranslationUnit[]
  /** Full-form BDF → unit name, when the host says (sysfs `iommu` links, debugfs rows). */
  deviceUnits: Map<string, string>
  source: TablesSource
  /** Provenance and caveats ("built from the host model: no live IOVA mappings known"). */
  notes: string[]
  /** Full-form BDF → its group's default domain type (identity, DMA, DMA-FQ …), when known. */
  domainTypes?: Map<string, string>
}

/** The unit that translates this requester: by device link, else the only unit of its segment. */
export function unitFor(context: ReplayContext, requester: string | number): TranslationUnit | undefined {
  const parsed = parseRequester(requester)
  if (parsed === undefined) return undefined
  const named = context.deviceUnits.get(parsed.bdf)
  if (named !== undefined) return context.units.find((u) => u.name === named)
  const listed = context.units.find((u) => u.devices?.includes(parsed.bdf) === true)
  if (listed !== undefined) return listed
  const inSegment = context.units.filter((u) => u.segment === parsed.segment)
  return inSegment.length === 1 ? inSegment[0] : undefined
}

export function walkInContext(context: ReplayContext, request: WalkRequest): WalkResult {
  const unit = unitFor(context, request.requester)
  if (unit === undefined) {
    const parsed = parseRequester(request.requester)
    return {
      unit: '',
      requester: parsed?.bdf ?? String(request.requester),
      address: request.address,
      access: request.access ?? 'read',
      steps: [],
      ok: false,
      outcome: 'unknown',
      explanation:
        parsed === undefined
          ? `"${String(request.requester)}" is not a PCI requester (expected a BDF such as 0000:01:00.0)`
          : `no remapping unit is known to translate ${parsed.bdf}`,
    }
  }
  return walk(unit, request)
}

export interface FaultToExplain {
  /** As the fault line prints it ("00:03.0") or in full form. */
  requester: string
  address: bigint
  write: boolean
  pasid?: number
  /** The reason code the kernel printed, to say whether the replay agrees. */
  reason?: number
}

export interface FaultStepExplanation {
  /** False when the replay could not tell (tables unknown, requester unknown …). */
  known: boolean
  /** Where the tables came from: a debugfs dump is the live state, what-if is a model. */
  source: TablesSource
  unit?: string
  /** Reason the replay produced (undefined when it translated or could not tell). */
  reason?: number
  /** The step that refused the request, in words. */
  step?: string
  level?: number
  /** True/false when the kernel's reason was given; undefined otherwise. */
  agreesWithKernel?: boolean
  explanation: string
}

/** Which step of the walk refuses this faulting request, on this host's tables. */
export function explainFaultStep(context: ReplayContext, fault: FaultToExplain): FaultStepExplanation {
  const access: Access = fault.write ? 'write' : 'read'
  const request: WalkRequest = {requester: fault.requester, address: fault.address, access}
  // PASID 0 is Linux's IOMMU_NO_PASID, the RID_PASID of requests without PASID: scalable-mode
  // hardware (and QEMU) reports it with PP=1, so the kernel prints "PASID 0x0" for them.
  if (fault.pasid !== undefined && fault.pasid !== 0) request.pasid = fault.pasid
  const result = walkInContext(context, request)
  const caveat = context.source === 'what-if' ? ' (replayed on what-if tables built from the host model, not the live tables)' : ''
  if (result.outcome === 'fault') {
    const out: FaultStepExplanation = {
      known: true,
      source: context.source,
      unit: result.unit,
      reason: result.fault,
      step: result.step.title,
      explanation: result.explanation + caveat,
    }
    if (result.level !== undefined) out.level = result.level
    if (fault.reason !== undefined) out.agreesWithKernel = fault.reason === result.fault
    return out
  }
  if (result.ok) {
    const out: FaultStepExplanation = {
      known: true,
      source: context.source,
      unit: result.unit,
      explanation: `on these tables the ${access} translates to 0x${result.hpa.toString(16)}${caveat}: the mapping the device needed was there at replay time (it was unmapped or changed after the fault, or the what-if model maps more than the live domain did)`,
    }
    if (fault.reason !== undefined) out.agreesWithKernel = false
    return out
  }
  return {known: false, source: context.source, ...(result.unit !== '' ? {unit: result.unit} : {}), explanation: result.explanation}
}

/** A fault as the kernel-log decoder records it (structural, so this module needs none of its types). */
export interface LoggedFault {
  kind: string
  requester: string
  address?: bigint
  access?: 'read' | 'write'
  pasid?: number
  reason?: number
}

/**
 * The hook fault triage takes (`TriageContext.stepFor`): for a DMA fault, the step of the
 * replayed walk that refuses it, and whether the replay's reason agrees with the kernel's.
 */
export function faultStepHook(context: ReplayContext): (fault: LoggedFault) => {step: string; detail?: string} | undefined {
  return (fault) => {
    if (fault.kind !== 'dma' || fault.address === undefined || fault.access === undefined) return undefined
    const input: FaultToExplain = {requester: fault.requester, address: fault.address, write: fault.access === 'write'}
    if (fault.pasid !== undefined) input.pasid = fault.pasid
    if (fault.reason !== undefined) input.reason = fault.reason
    const e = explainFaultStep(context, input)
    if (!e.known) return {step: 'could not replay', detail: e.explanation}
    if (e.reason === undefined) return {step: 'translates on the replayed tables', detail: e.explanation}
    const agreement = e.agreesWithKernel === undefined ? '' : e.agreesWithKernel ? ' (same reason as the kernel)' : ` (the kernel printed a different reason)`
    return {step: `${e.step ?? 'walk'} refuses it with reason 0x${e.reason.toString(16).padStart(2, '0')}${agreement}`, detail: e.explanation}
  }
}
