/**
 * `walk(unit, request)`: one DMA request replayed through a unit's tables, with each step
 * decoded and, when it fails, the step that refused it, the fault reason it produces and
 * what that means. `explainFaultStep` does the same for a fault line from the kernel log.
 */
import {join64} from './memory.js'
import {reasonName} from './reasons.js'
import {
  decodeEntry,
  FIRST_STAGE_PTE,
  LEGACY_CONTEXT_ENTRY,
  LEGACY_ROOT_ENTRY,
  LEVEL_NAMES,
  PASID_DIRECTORY_ENTRY,
  PASID_TABLE_ENTRY,
  SCALABLE_CONTEXT_ENTRY,
  SCALABLE_ROOT_ENTRY,
  SECOND_STAGE_PTE,
  leafSize,
  type DecodedEntry,
  type EntryLayout,
} from './structures.js'
import type {TranslationUnit} from './unit.js'
import {RawOutcome, REQ, STAGE, STATUS, splitAddress, translateRaw, type RawStep} from './walk.js'
import {bdfFromDevfn} from '../../decode/pci-address.js'

export type Access = 'read' | 'write' | 'exec'
export type AddressType = 'untranslated' | 'translation-request' | 'translated'

export interface WalkRequest {
  /** Requester BDF: "0000:01:00.0", "01:00.0" (segment 0) or a 16-bit source-id. */
  requester: string | number
  address: bigint
  access?: Access
  /** Omit for a request without PASID. */
  pasid?: number
  privileged?: boolean
  addressType?: AddressType
}

export type StepKind =
  | 'request'
  | 'root-entry'
  | 'context-entry'
  | 'scalable-root-entry'
  | 'scalable-context-entry'
  | 'pasid-directory-entry'
  | 'pasid-table-entry'
  | 'sl-pte'
  | 'fl-pte'
  | 'address-check'

export interface WalkStep {
  kind: StepKind
  /** What this step is, in words ("second-stage PDE (level 2)"). */
  title: string
  /** Page-table level (PTE steps only). */
  level?: number
  tableAddress?: bigint
  index?: number
  entryAddress?: bigint
  /** The entry as 64-bit words, lowest first. */
  raw: bigint[]
  fields: DecodedEntry
  result: RawStep['result']
  /** Fault reason this step produced (fault steps only). */
  reason?: number
}

interface WalkCommon {
  unit: string
  requester: string
  address: bigint
  access: Access
  pasid?: number
  steps: WalkStep[]
}

export type WalkResult =
  | (WalkCommon & {ok: true; outcome: 'translated' | 'pass-through'; hpa: bigint; pageSize?: bigint; did?: number; permissions?: {read: boolean; write: boolean}})
  | (WalkCommon & {
      ok: false
      outcome: 'fault'
      fault: number
      faultText: string
      /** The step that refused the request. */
      step: WalkStep
      level?: number
      did?: number
      /** False when a fault-processing-disable bit keeps it out of the fault log. */
      recorded: boolean
      explanation: string
    })
  | (WalkCommon & {ok: false; outcome: 'unknown' | 'interrupt-request' | 'ats-no-access'; explanation: string})

/** Requester → {segment, sid}. Accepts "0000:01:00.0", "01:00.0", "[01:00.0]" or a number. */
export function parseRequester(requester: string | number): {segment: number; sid: number; bdf: string} | undefined {
  if (typeof requester === 'number') {
    if (!Number.isInteger(requester) || requester < 0 || requester > 0xffff) return undefined
    return {segment: 0, sid: requester, bdf: formatBdf(0, requester)}
  }
  const m = /^\[?(?:(?:0x)?([0-9a-f]{1,4}):)?(?:0x)?([0-9a-f]{1,2}):(?:0x)?([0-9a-f]{1,2})\.([0-7])\]?$/i.exec(requester.trim())
  if (m === null) return undefined
  const segment = parseInt(m[1] ?? '0', 16)
  const bus = parseInt(m[2] ?? '', 16)
  const dev = parseInt(m[3] ?? '', 16)
  const fn = parseInt(m[4] ?? '', 16)
  if (dev > 31) return undefined
  const sid = (bus << 8) | (dev << 3) | fn
  return {segment, sid, bdf: formatBdf(segment, sid)}
}

/** Requester id → full BDF (16-bit sids always fit). */
export function formatBdf(segment: number, sid: number): string {
  return bdfFromDevfn(segment, (sid >> 8) & 0xff, sid & 0xff)
}

const STEP_SHAPE: Record<number, {kind: StepKind; layout?: EntryLayout; size: number}> = {
  [STAGE.request]: {kind: 'request', size: 0},
  [STAGE.root]: {kind: 'root-entry', layout: LEGACY_ROOT_ENTRY, size: 16},
  [STAGE.context]: {kind: 'context-entry', layout: LEGACY_CONTEXT_ENTRY, size: 16},
  [STAGE.smRoot]: {kind: 'scalable-root-entry', layout: SCALABLE_ROOT_ENTRY, size: 16},
  [STAGE.smContext]: {kind: 'scalable-context-entry', layout: SCALABLE_CONTEXT_ENTRY, size: 32},
  [STAGE.pasidDirectory]: {kind: 'pasid-directory-entry', layout: PASID_DIRECTORY_ENTRY, size: 8},
  [STAGE.pasidEntry]: {kind: 'pasid-table-entry', layout: PASID_TABLE_ENTRY, size: 64},
  [STAGE.slPte]: {kind: 'sl-pte', layout: SECOND_STAGE_PTE, size: 8},
  [STAGE.flPte]: {kind: 'fl-pte', layout: FIRST_STAGE_PTE, size: 8},
  [STAGE.addressCheck]: {kind: 'address-check', size: 0},
}

function stepTitle(step: RawStep, bdf: string): string {
  const bus = bdf.slice(5, 7)
  switch (step.stage) {
    case STAGE.request:
      return 'request'
    case STAGE.root:
      return `root entry for bus ${bus}`
    case STAGE.smRoot:
      return `scalable root entry for bus ${bus}`
    case STAGE.context:
      return `context entry for ${bdf}`
    case STAGE.smContext:
      return `scalable context entry for ${bdf}`
    case STAGE.pasidDirectory:
      return `PASID directory entry ${step.index}`
    case STAGE.pasidEntry:
      return `PASID-table entry ${step.index}`
    case STAGE.slPte:
      return `second-stage ${LEVEL_NAMES[step.level] ?? 'entry'} (level ${step.level})`
    case STAGE.flPte:
      return `first-stage ${LEVEL_NAMES[step.level] ?? 'entry'} (level ${step.level})`
    default:
      return `address-width check (${step.index} bits)`
  }
}

function toWalkStep(step: RawStep, bdf: string): WalkStep {
  const shape = STEP_SHAPE[step.stage] ?? {kind: 'request' as StepKind, size: 0}
  const raw: bigint[] = []
  for (let i = 0; i + 1 < step.words.length; i += 2) raw.push(join64(step.words[i + 1] ?? 0, step.words[i] ?? 0))
  const out: WalkStep = {
    kind: shape.kind,
    title: stepTitle(step, bdf),
    raw,
    fields: shape.layout !== undefined && raw.length > 0 ? decodeEntry(shape.layout, raw) : {},
    result: step.result,
  }
  if (step.level > 0) out.level = step.level
  if (shape.size > 0) {
    out.tableAddress = BigInt(step.table)
    out.index = step.index
    out.entryAddress = BigInt(step.table) + BigInt(step.index * shape.size)
  }
  if (step.result === 'fault') out.reason = step.reason
  return out
}

function flagsOf(request: WalkRequest): number {
  let flags = 0
  if (request.access === 'write') flags |= REQ.write
  if (request.access === 'exec') flags |= REQ.exec
  if (request.privileged === true) flags |= REQ.privileged
  if (request.addressType === 'translation-request') flags |= REQ.translationRequest
  if (request.addressType === 'translated') flags |= REQ.translated
  return flags
}

/** Replay one request on one unit, recording every step. */
export function walk(unit: TranslationUnit, request: WalkRequest): WalkResult {
  const requester = parseRequester(request.requester)
  const access = request.access ?? 'read'
  const common = (steps: WalkStep[]): WalkCommon => {
    const c: WalkCommon = {unit: unit.name, requester: requester?.bdf ?? String(request.requester), address: request.address, access, steps}
    if (request.pasid !== undefined) c.pasid = request.pasid
    return c
  }
  if (requester === undefined) {
    return {...common([]), ok: false, outcome: 'unknown', explanation: `"${String(request.requester)}" is not a PCI requester (expected a BDF such as 0000:01:00.0)`}
  }
  if (request.address < 0n || request.address >= 1n << 64n) {
    return {...common([]), ok: false, outcome: 'unknown', explanation: `address ${request.address} is not a 64-bit address`}
  }
  if (request.pasid !== undefined && (!Number.isInteger(request.pasid) || request.pasid < 0 || request.pasid > 0xfffff)) {
    return {...common([]), ok: false, outcome: 'unknown', explanation: `PASID ${request.pasid} is not a 20-bit PASID`}
  }
  const trace: RawStep[] = []
  const out = new RawOutcome()
  const {hi, lo} = splitAddress(request.address)
  translateRaw(unit, requester.sid, hi, lo, flagsOf(request), request.pasid ?? -1, out, trace)
  const steps = trace.map((s) => toWalkStep(s, requester.bdf))
  const base = common(steps)
  switch (out.status) {
    case STATUS.translated:
    case STATUS.passThrough: {
      const translated = out.status === STATUS.translated
      // Recompute the HPA exactly in bigint (the raw walk's number is exact below 2^53 only).
      const hpa = translated ? hpaFromLeaf(steps, request.address, out.pageLevel) : request.address
      const result: WalkResult = {...base, ok: true, outcome: translated ? 'translated' : 'pass-through', hpa}
      if (translated) {
        result.pageSize = leafSize(out.pageLevel)
        result.permissions = {read: (out.perms & 1) !== 0, write: (out.perms & 2) !== 0}
      }
      if (out.did >= 0) result.did = out.did
      return result
    }
    case STATUS.fault: {
      const step = steps[steps.length - 1] ?? {kind: 'request', title: 'request', raw: [], fields: {}, result: 'fault', reason: out.reason}
      const result: WalkResult = {
        ...base,
        ok: false,
        outcome: 'fault',
        fault: out.reason,
        faultText: reasonName(out.reason),
        step,
        recorded: !out.fpd,
        explanation: explainReason(out.reason, step, request, unit),
      }
      if (out.level > 0) result.level = out.level
      if (out.did >= 0) result.did = out.did
      return result
    }
    case STATUS.interruptRequest:
      return {...base, ok: false, outcome: 'interrupt-request', explanation: 'addresses 0xfee00000–0xfeefffff are the interrupt window: a write there is an interrupt message for interrupt remapping, not a DMA translation'}
    case STATUS.atsNoAccess:
      return {...base, ok: false, outcome: 'ats-no-access', explanation: `the ATS translation request is answered with no access (the ${steps[steps.length - 1]?.title ?? 'entry'} lacks the permission); translation requests are not faulted`}
    default:
      return {...base, ok: false, outcome: 'unknown', explanation: `could not tell: ${out.why}`}
  }
}

function hpaFromLeaf(steps: WalkStep[], address: bigint, pageLevel: number): bigint {
  const leafStep = steps[steps.length - 1]
  const entry = leafStep?.raw[0] ?? 0n
  const size = leafSize(pageLevel)
  const base = entry & 0x000f_ffff_ffff_f000n & ~(size - 1n)
  return base | (address & (size - 1n))
}

const ACCESS_WORD: Record<Access, string> = {read: 'read', write: 'write', exec: 'execute'}

/** Why this reason, at this step, means what it means — in words for the report. */
export function explainReason(reason: number, step: WalkStep, request: WalkRequest, unit: TranslationUnit): string {
  const addr = '0x' + request.address.toString(16)
  const access = ACCESS_WORD[request.access ?? 'read']
  const where = `${step.title}${step.entryAddress !== undefined ? ' at 0x' + step.entryAddress.toString(16) : ''}`
  const bdf = parseRequester(request.requester)?.bdf ?? String(request.requester)
  switch (reason) {
    case 0x01:
    case 0x39:
      return `${where} is not present: no device on this bus has a domain on ${unit.name}, so the requester is unknown to the IOMMU (hidden/firmware-owned device, DMA across kexec, or a bus alias the kernel does not model)`
    case 0x02:
    case 0x41:
      return `${where} is not present: ${bdf} has no domain attached (no driver/attach, DMA after unbind, a phantom function or DMA alias, or firmware DMA without an RMRR)`
    case 0x03:
      return `${where} asks for something ${unit.name} cannot do: AW=${step.fields.aw ?? '?'} (SAGAW bitmap 0x${unit.caps.sagaw.toString(16)}), TT=${step.fields.tt ?? '?'} (pass-through ${unit.caps.pt ? 'supported' : 'unsupported'}, device-TLB ${unit.caps.dt ? 'supported' : 'unsupported'})`
    case 0x43:
      return `${where} enables a feature ${unit.name} does not have (DTE without ECAP.DT, or PASIDE without ECAP.PASID)`
    case 0x04:
    case 0x83:
    case 0x84:
      return `${addr} is wider than the domain's address width (${step.index ?? '?'} bits): the device presented an address the tables cannot cover (a driver bypassing the DMA API, or corrupted high address bits)`
    case 0x05:
    case 0x85:
      return `${where} has W=0 for ${addr}: ${isNotPresent(step) ? 'the IOVA is not mapped at this level at all' : 'the mapping is read-only'} — a write to an unmapped or read-only IOVA (use after unmap, a stale descriptor, or firmware writing to memory no RMRR declares)`
    case 0x06:
    case 0x86:
      return `${where} has R=0 for ${addr}: ${isNotPresent(step) ? 'the IOVA is not mapped at this level at all' : 'the mapping does not allow reads'} — a read from an unmapped IOVA (use after unmap, a ring after teardown, or firmware reading memory no RMRR declares)`
    case 0x71:
      return `${where} is not present for ${addr}: the IOVA is not mapped in the first-stage table — a DMA to an unmapped IOVA`
    case 0x07:
    case 0x78:
    case 0x7b:
    case 0x70:
      return `${where} points at a table that is not in memory: a corrupted next-level pointer or a kexec leftover`
    case 0x08:
    case 0x30:
      return `the root table at 0x${unit.rootTable.toString(16)} is not memory the unit can read (bad RTADDR: firmware handoff or kdump)`
    case 0x09:
    case 0x40:
      return `${where}'s context table is not memory the unit can read (bad context-table pointer in the root entry)`
    case 0x0a:
    case 0x3a:
      return `${where} has reserved bits set (a software bug, or a table in the other mode's format)`
    case 0x0b:
    case 0x42:
      return `${where} has reserved bits set`
    case 0x0c:
    case 0x7a:
    case 0x72:
      return `${where} has reserved bits set for ${addr} — often a superpage where the unit's CAP does not offer one (SLLPS 0b${unit.caps.sllps.toString(2)}), or an address above the host address width`
    case 0x0d:
    case 0x44:
      return `the device sent an ATS ${request.addressType === 'translated' ? 'pre-translated request' : 'translation request'} but ${where} does not allow device-TLB use (TT≠01 / DTE=0): ATS enabled on the device but not in the IOMMU context`
    case 0x31:
      return `the request carries PASID ${request.pasid ?? '?'} but ${unit.name} runs in legacy mode (no scalable-mode tables to look a PASID up in)`
    case 0x45:
      return `the request carries PASID ${request.pasid ?? '?'} but ${where} has PASIDE=0: PASID is not enabled for this device`
    case 0x46:
      return `PASID ${request.pasid ?? 'RID_PASID'} is beyond the PASID directory size in ${where}`
    case 0x48:
      return `${where} uses a non-zero RID_PASID but ${unit.name} lacks ECAP.RPS`
    case 0x50:
    case 0x58:
      return `${where} is not in memory the unit can read (bad PASID directory or table pointer)`
    case 0x51:
      return `${where} is not present: PASID ${request.pasid ?? '(RID_PASID)'} is not set up for ${bdf}${request.pasid === undefined ? ' — for requests without PASID this is "no domain attached"' : ''}`
    case 0x59:
      return `${where} is not present: PASID ${request.pasid ?? '(RID_PASID)'} is not bound (process exited or device detached)`
    case 0x52:
    case 0x5a:
      return `${where} has reserved bits set`
    case 0x5b:
      return `${where} has a translation type ${unit.name} does not support (PGTT=${step.fields.pgtt ?? '?'}, or a width/paging mode the unit lacks)`
    case 0x5d:
      return `a supervisor request reached ${where}, which has SRE=0`
    case 0x80:
      return `${addr} is not canonical for the first-stage table (bits above the width must copy the top bit)`
    case 0x81:
      return `${where} is a supervisor page (U/S=0) and the request is user-mode`
    case 0x82:
      return `${where} has XD=1 and the request is an execute`
    case 0x87:
      return `the translation of ${addr} lands in the interrupt window 0xfee00000–0xfeefffff, which DMA may not reach`
    default:
      return `${where} refused the ${access} (fault reason 0x${reason.toString(16)})`
  }
}

function isNotPresent(step: WalkStep): boolean {
  const raw = step.raw[0] ?? 0n
  return step.kind === 'sl-pte' ? (raw & 3n) === 0n : (raw & 1n) === 0n
}
