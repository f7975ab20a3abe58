/**
 * AMD-Vi "Event logged [" lines: counted and shown, not explained yet. Full AMD-Vi support (every
 * event type, the old split form) replaces this module; nothing else needs to change.
 */
import type {RecordBase} from './records.js'
import {hexBig, hexNum, type Shape} from './shape.js'


export interface AmdViRecord extends RecordBase {
  type: 'amd-vi'
  event: string
  device?: string
  address?: bigint
  flags?: number
  note: 'AMD-Vi: not covered yet'
}

export const AMD_VI_SHAPES: Shape[] = [
  {
    name: 'amd-vi-event',
    probe: 'AMD-Vi: Event logged',
    re: /(?:(?:\S+ )?([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): )?AMD-Vi: Event logged \[(\w+)(?: device=([0-9a-f:.]+))?(?: domain=0x[0-9a-f]+)?(?: pasid=0x[0-9a-f]+)?(?: address=0x([0-9a-f]+))?(?: flags=0x([0-9a-f]+))?/,
    build: (m, cx) => {
      const rec: AmdViRecord = {...cx.base, type: 'amd-vi', event: m[2]!, note: 'AMD-Vi: not covered yet'}
      const device = m[1] ?? (m[3] === undefined ? undefined : m[3].length <= 7 ? '0000:' + m[3] : m[3])
      if (device !== undefined) rec.device = device
      if (m[4] !== undefined) rec.address = hexBig(m[4])
      if (m[5] !== undefined) rec.flags = hexNum(m[5])
      return rec
    },
  },
]
