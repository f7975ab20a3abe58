/** VT-d invalidation-queue errors (IQE/ITE/ICE), descriptor dumps and "hardware is malfunctioning". */
import type {RecordBase} from './records.js'
import {hexBig, hexNum, ridToBdf, type Shape} from './shape.js'


export type QiEvent =
  | 'queue-error' // IQE, 5.13+: Reason = IQER.IQEI
  | 'timeout' // ITE, 5.13+: SID of the device whose device-TLB invalidation timed out
  | 'completion-error' // ICE, 5.13+
  | 'invalid-descriptor' // ≤ 5.12
  | 'descriptor' // QI HEAD / QI PRIOR dump
  | 'cleared'
  | 'malfunction' // "DMAR hardware is malfunctioning"

export interface QiRecord extends RecordBase {
  type: 'qi'
  event: QiEvent
  /** ITE/ICE: the requester as a full BDF (the printed SID is a 16-bit RID in hex); a device-TLB invalidation descriptor: the device it targets. */
  sid?: string
  sidRaw?: number
  /** IQE: IQER.IQEI. */
  reasonCode?: number
  /** Descriptor dumps: HEAD or PRIOR, the type name as printed, and the two quadwords. */
  position?: 'HEAD' | 'PRIOR'
  descriptor?: string
  qw0?: bigint
  qw1?: bigint
  /** "cleared" records: which error. */
  error?: 'IQE' | 'ITE' | 'ICE'
}

export const VTD_QI_SHAPES: Shape[] = [
  {
    name: 'qi-error',
    probe: 'VT-d detected',
    re: /VT-d detected (?:Invalidation (Queue|Time-out|Completion) Error: (Reason|SID) ([0-9a-f]+)|invalid descriptor: (?:low=|qw0 = )([0-9a-f]+), (?:high=|qw1 = )([0-9a-f]+))/,
    build: (m, cx) => {
      if (m[1] === undefined) return {...cx.base, type: 'qi', event: 'invalid-descriptor', qw0: hexBig(m[4]!), qw1: hexBig(m[5]!)}
      const value = hexNum(m[3]!)
      if (m[1] === 'Queue') return {...cx.base, type: 'qi', event: 'queue-error', reasonCode: value}
      return {...cx.base, type: 'qi', event: m[1] === 'Time-out' ? 'timeout' : 'completion-error', sidRaw: value, sid: ridToBdf(value)}
    },
  },
  {
    name: 'qi-descriptor',
    probe: 'QI ',
    // qw1 is optional: posters shorten the dump to its first quadword ("qw0 = 0x5300530000000003, ...").
    re: /QI (HEAD|PRIOR): (.+?) qw0 = 0x([0-9a-f]+)(?:, qw1 = 0x([0-9a-f]+))?/,
    build: (m, cx) => {
      const qw0 = hexBig(m[3]!)
      const rec: QiRecord = {...cx.base, type: 'qi', event: 'descriptor', position: m[1] as 'HEAD' | 'PRIOR', descriptor: m[2]!, qw0, ...(m[4] === undefined ? {} : {qw1: hexBig(m[4])})}
      // A device-TLB invalidation (with or without PASID) carries its target's source ID in qw0 bits 47:32
      // (the kernel's QI_DEV_IOTLB_SID / QI_DEV_EIOTLB_SID): the device whose ATS cache the queue waits on.
      if (/Device-TLB/i.test(m[2]!)) {
        const sid = Number((qw0 >> 32n) & 0xffffn)
        rec.sidRaw = sid
        rec.sid = ridToBdf(sid)
      }
      return rec
    },
  },
  {
    name: 'qi-cleared',
    probe: 'cleared',
    re: /Invalidation (?:Queue|Time-out|Completion) Error \((IQE|ITE|ICE)\) cleared/,
    build: (m, cx) => ({...cx.base, type: 'qi', event: 'cleared', error: m[1] as 'IQE' | 'ITE' | 'ICE'}),
  },
  {
    name: 'qi-malfunction',
    probe: 'malfunctioning',
    re: /DMAR hardware is malfunctioning/,
    build: (_m, cx) => ({...cx.base, type: 'qi', event: 'malfunction'}),
  },
]
