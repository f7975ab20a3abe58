/**
 * The registry of message formats: every format module's shapes, in the order the parser tries
 * them, and the keywords that make a line worth parsing at all.
 *
 * Adding a format: a module beside this one exporting its record type (added to `LogRecord` in
 * records.ts) and its `Shape[]`, listed in SHAPES below. If its lines carry none of the CANDIDATE
 * keywords, add one here AND teach the byte prefilter (../line-scanner.ts) to report it.
 */
import {AMD_VI_SHAPES} from './amd-vi.js'
import {SMMU_SHAPES} from './arm-smmu.js'
import {BOOT_STATE_SHAPES} from './boot-state.js'
import {CONTEXT_SHAPES} from './context.js'
import {RMRR_SHAPES} from './rmrr.js'
import type {Shape} from './shape.js'
import {VTD_FAULT_SHAPES} from './vtd-fault.js'
import {VTD_PRQ_SHAPES} from './vtd-prq.js'
import {VTD_QI_SHAPES} from './vtd-qi.js'
import {WALK_DUMP_SHAPES} from './walk-dump.js'

/** Tried in this order; the first whose probe and regex match takes the line. Faults first: they dominate floods. */
export const SHAPES: readonly Shape[] = [
  ...VTD_FAULT_SHAPES,
  ...VTD_QI_SHAPES,
  ...VTD_PRQ_SHAPES,
  ...RMRR_SHAPES,
  ...BOOT_STATE_SHAPES,
  ...WALK_DUMP_SHAPES,
  ...CONTEXT_SHAPES,
  ...AMD_VI_SHAPES,
  ...SMMU_SHAPES,
]

/** Lines worth a closer look contain one of these; everything else is skipped cheaply. */
// The old AMD-Vi split form's event line ("IO_PAGE_FAULT device=… domain=…") is read as its head's continuation,
// and alone when another line came between (the scanner keys on "doma", as for the 4.19 form).
// Context lines: the vmd driver's (VMD is on), a kdump kernel's command line (kexec adds elfcorehdr=).
// 4.19-era AMD page faults lack "AMD-Vi:": "… Event logged [IO_PAGE_FAULT domain=…" (the scanner keys on "doma").
export const CANDIDATE = /DMAR|dmar|DMA-API|INTR-REMAP|AMD-Vi|IOMMU|iommu|VT-d|VT-D|remapping|remapped|PCI-DMA|smmu|SMMU|Event logged \[IO_PAGE_FAULT domain=|IO_PAGE_FAULT device=\S+ domain=|\bvmd [0-9a-f]{4}:|ommand line: .*\belfcorehdr=/
/** The same keywords, for scanning a whole block at once ("VT-D": Xen's device-scope lines, "[VT-D] endpoint: …", carry no other keyword). */
export const CANDIDATE_SCAN = new RegExp(CANDIDATE.source, 'g')

/** A message glued onto the end of an unterminated one (5.13+ QI strings lack "\n"). */
export const GLUE = /(?<=\S)(?=DMAR: |DMAR-IR: |dmar_fault: )|(?<=\S>) (?=DMAR: |DMAR-IR: )/

export {FAULT_LOOKING} from './vtd-fault.js'
