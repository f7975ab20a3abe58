/** VT-d page-request queue (SVM/SVA) messages. */
import type {RecordBase} from './records.js'
import {hexBig, type Shape} from './shape.js'


export interface PrqRecord extends RecordBase {
  type: 'prq'
  unit: string
  /** "invalid-request", "not-canonical", "privilege-mode", "execute", "no-pasid", "invalid-pasid", "overflow", "overflow-cleared". */
  event: string
  /** 4.4–5.10 svm.c "Page request for invalid PASID %d". */
  pasid?: number
  qw0?: bigint
  qw1?: bigint
}

export const VTD_PRQ_SHAPES: Shape[] = [
  {
    // 4.4–5.10 svm.c: "dmar0: Page request without PASID: %08llx %08llx", "… for invalid PASID %d: …"
    name: 'prq-svm',
    probe: ': Page request ',
    re: /(dmar\d+): Page request (?:without PASID|for invalid PASID (\d+)): ([0-9a-f]+) ([0-9a-f]+)/,
    build: (m, cx) => {
      const rec: PrqRecord = {...cx.base, type: 'prq', unit: m[1]!, event: m[2] === undefined ? 'no-pasid' : 'invalid-pasid', qw0: hexBig(m[3]!), qw1: hexBig(m[4]!)}
      if (m[2] !== undefined) rec.pasid = Number(m[2])
      return rec
    },
  },
  {
    name: 'prq-invalid',
    probe: 'Invalid page request',
    re: /(dmar\d+): Invalid page request: ([0-9a-f]+) ([0-9a-f]+)/,
    build: (m, cx) => ({...cx.base, type: 'prq', unit: m[1]!, event: 'invalid-request', qw0: hexBig(m[2]!), qw1: hexBig(m[3]!)}),
  },
  {
    name: 'prq-event',
    probe: 'IOMMU: dmar',
    re: /IOMMU: (dmar\d+): (Address is not canonical|Page request in Privilege Mode|Execution request not supported|Page request without PASID|PRQ overflow detected|PRQ overflow cleared)/,
    build: (m, cx) => {
      const events: Record<string, string> = {
        'Address is not canonical': 'not-canonical', 'Page request in Privilege Mode': 'privilege-mode',
        'Execution request not supported': 'execute', 'Page request without PASID': 'no-pasid',
        'PRQ overflow detected': 'overflow', 'PRQ overflow cleared': 'overflow-cleared',
      }
      return {...cx.base, type: 'prq', unit: m[1]!, event: events[m[2]!] ?? m[2]!}
    },
  },
]
