/**
 * Table dumps printed after a fault: CONFIG_DMAR_DEBUG page walks (≈5.17+), and the device-table
 * entry ("AMD-Vi: DTE[0]: …") and Control register the AMD IOMMU driver prints after an
 * ILLEGAL_DEV_TABLE_ENTRY event (iommu_print_event, dump_dte_entry). Triage attaches each line to
 * the fault before it.
 */
import type {RecordBase} from './records.js'
import {hexBig, type Shape} from './shape.js'

export interface WalkDumpRecord extends RecordBase {
  type: 'walk-dump'
  /** "start" (Dump dmarN table entries for IOVA …), "entry", or "not-present". */
  step: 'start' | 'entry' | 'not-present'
  unit?: string
  iova?: bigint
}

export const WALK_DUMP_SHAPES: Shape[] = [
  {
    name: 'walk-start',
    probe: 'table entries for IOVA',
    re: /Dump (dmar\d+) table entries for IOVA 0x([0-9a-f]+)/,
    build: (m, cx) => ({...cx.base, type: 'walk-dump', step: 'start', unit: m[1]!, iova: hexBig(m[2]!)}),
  },
  {
    name: 'walk-entry',
    probe: 'entry',
    re: /DMAR: (?:scalable mode root entry|root entry|context entry|pasid dir entry|pasid table entry\[\d+\]): /,
    build: (_m, cx) => ({...cx.base, type: 'walk-dump', step: 'entry'}),
  },
  {
    // pgtable_walk(): one line per level, leaf last (its own probe: the line holds no "entry").
    name: 'walk-pte',
    probe: 'pte level: ',
    re: /DMAR: pte level: \d+, pte value: 0x[0-9a-f]+/,
    build: (_m, cx) => ({...cx.base, type: 'walk-dump', step: 'entry'}),
  },
  {
    name: 'walk-not-present',
    probe: 'not present',
    re: /DMAR: (?:PTE not present at level \d+|(?:root|context|pasid directory|pasid|legacy mode page|scalable mode page) table is not present|page table not present at level \d+)/,
    build: (_m, cx) => ({...cx.base, type: 'walk-dump', step: 'not-present'}),
  },
  {
    // dump_dte_entry(): "AMD-Vi: DTE[0]: 6000000000000003", four 64-bit words.
    name: 'amd-vi-dte',
    probe: 'DTE[',
    re: /AMD-Vi: DTE\[[0-3]\]: [0-9a-f]{16}\s*$/,
    build: (_m, cx) => ({...cx.base, type: 'walk-dump', step: 'entry'}),
  },
  {
    // 6.x+ prints the Control register with the event: "iommu ivhd3: AMD-Vi: Control Reg : 0xc22000142148d".
    name: 'amd-vi-control-reg',
    probe: 'Control Reg',
    re: /AMD-Vi: Control Reg : 0x[0-9a-f]+\s*$/,
    build: (_m, cx) => ({...cx.base, type: 'walk-dump', step: 'entry'}),
  },
]
