/** RMRR facts and refusals: declared ranges, firmware bugs, identity maps, devices refused for passthrough. */
import type {RecordBase} from './records.js'
import {hexBig, type Shape} from './shape.js'


export interface RmrrRefusalRecord extends RecordBase {
  type: 'rmrr-refusal'
  driver: string
  device: string
  /** 3.17–6.5 "ineligible for IOMMU domain attach"; 6.6+ "have a 1:1 IOMMU mapping". */
  form: 'ineligible' | 'require-direct'
}

/** Boot-time RMRR facts: "RMRR base: … end: …", "bad RMRR […]", "Setting identity map for device …". */
export interface RmrrRecord extends RecordBase {
  type: 'rmrr'
  base: bigint
  end: bigint
  /** identity-map lines name the device. */
  device?: string
  /** "declared" (RMRR base/end), "firmware-bug" (bad RMRR / no reserved region), "identity-map". */
  source: 'declared' | 'firmware-bug' | 'identity-map'
}

export const RMRR_SHAPES: Shape[] = [
  {
    name: 'rmrr-ineligible',
    probe: 'ineligible for IOMMU domain attach',
    re: /(\S+) ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): (?:DMAR: )?Device is ineligible for IOMMU domain attach due to platform RMRR requirement\./,
    build: (m, cx) => ({...cx.base, type: 'rmrr-refusal', driver: m[1]!, device: m[2]!, form: 'ineligible'}),
  },
  {
    name: 'rmrr-require-direct',
    probe: '1:1 IOMMU mapping',
    re: /(\S+) ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): Firmware has requested this device have a 1:1 IOMMU mapping/,
    build: (m, cx) => ({...cx.base, type: 'rmrr-refusal', driver: m[1]!, device: m[2]!, form: 'require-direct'}),
  },
  {
    name: 'rmrr-declared',
    probe: 'RMRR base',
    re: /RMRR base: (?:0x)?([0-9a-f]+) end: (?:0x)?([0-9a-f]+)/,
    build: (m, cx) => ({...cx.base, type: 'rmrr', base: hexBig(m[1]!), end: hexBig(m[2]!), source: 'declared'}),
  },
  {
    name: 'rmrr-firmware-bug',
    probe: 'bad RMRR',
    re: /bad RMRR \[0x([0-9a-f]+)-0x([0-9a-f]+)\]/,
    build: (m, cx) => ({...cx.base, type: 'rmrr', base: hexBig(m[1]!), end: hexBig(m[2]!), source: 'firmware-bug'}),
  },
  {
    name: 'rmrr-identity-map',
    probe: 'identity map for device',
    re: /Setting identity map for device ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) \[0x([0-9a-f]+) - 0x([0-9a-f]+)\]/,
    build: (m, cx) => ({...cx.base, type: 'rmrr', base: hexBig(m[2]!), end: hexBig(m[3]!), device: m[1]!, source: 'identity-map'}),
  },
]
