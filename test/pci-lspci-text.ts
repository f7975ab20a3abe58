/**
 * Test helper: read the facts the IOMMU rules need out of `lspci -D -nn -vvv` text, as pciutils
 * prints them. Independent of the decoder under test (own bit tables, own regexes), so the
 * differential tests compare two implementations, not one with itself.
 */
import {execFileSync, spawnSync} from 'node:child_process'

export interface LspciFacts {
  bdf: string
  classId?: number
  vendorId?: number
  deviceId?: number
  /** Offsets of every capability lspci listed, standard and extended. */
  capOffsets: number[]
  accessDenied: boolean
  unknownHeader: boolean
  portType?: string
  acsCap?: number
  acsCtl?: number
  atsEnabled?: boolean
  atsQueueDepth?: number
  atsStu?: number
  priEnabled?: boolean
  pasid?: {enabled: boolean; exec: boolean; priv: boolean; width: number}
  sriov?: {initial: number; total: number; num: number; offset: number; stride: number; vfDevice: number}
  ariNextFunction?: number
  devCapFlr?: boolean
  afFlr?: boolean
  noSoftReset?: boolean
  buses?: {primary: number; secondary: number; subordinate: number}
  iommuGroup?: number
  driver?: string
}

// pciutils' names for ACS bits (ls-ecaps.c cap_acs), in bit order.
const ACS_NAMES = ['SrcValid', 'TransBlk', 'ReqRedir', 'CmpltRedir', 'UpstreamFwd', 'EgressCtrl', 'DirectTrans']

function acsMask(text: string): number {
  let mask = 0
  ACS_NAMES.forEach((name, bit) => {
    if (new RegExp(`${name}\\+`).test(text)) mask |= 1 << bit
  })
  return mask
}

const flagOn = (text: string, name: string): boolean | undefined => {
  const match = new RegExp(`${name}([+-])`).exec(text)
  return match ? match[1] === '+' : undefined
}

export function parseLspciVerbose(text: string): LspciFacts[] {
  const out: LspciFacts[] = []
  let current: LspciFacts | undefined
  let label = ''
  const labelText = new Map<string, string>()
  const flush = (): void => {
    if (!current) return
    const get = (key: string): string | undefined => labelText.get(key)
    const devCap = get('DevCap')
    if (devCap && /FLReset[+-]/.test(devCap)) current.devCapFlr = flagOn(devCap, 'FLReset')
    const af = get('AFCap')
    if (af) current.afFlr = flagOn(af, 'TP') === true && flagOn(af, 'FLR') === true
    const pmStatus = get('PM Status')
    if (pmStatus && /NoSoftRst/.test(pmStatus)) current.noSoftReset = flagOn(pmStatus, 'NoSoftRst')
    labelText.clear()
    out.push(current)
  }
  let capName = ''
  for (const line of text.split('\n')) {
    const heading = /^([0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) (.*)$/.exec(line)
    if (heading) {
      flush()
      const rest = heading[2] ?? ''
      const cls = /\[([0-9a-f]{4})\]:/.exec(rest)
      const ids = [...rest.matchAll(/\[([0-9a-f]{4}):([0-9a-f]{4})\]/g)].pop()
      current = {
        bdf: heading[1] ?? '',
        classId: cls ? Number.parseInt(cls[1] ?? '', 16) : undefined,
        vendorId: ids ? Number.parseInt(ids[1] ?? '', 16) : undefined,
        deviceId: ids ? Number.parseInt(ids[2] ?? '', 16) : undefined,
        capOffsets: [],
        accessDenied: false,
        unknownHeader: false,
      }
      capName = ''
      continue
    }
    if (!current) continue
    if (/^\t!!! Unknown header type/.test(line)) current.unknownHeader = true
    const cap = /^\tCapabilities: \[([0-9a-f]+)(?: v\d+)?\] (.*)$/.exec(line)
    if (cap) {
      current.capOffsets.push(Number.parseInt(cap[1] ?? '', 16))
      capName = cap[2] ?? ''
      const express = /^Express \(v\d\) (.*?)(?: \(Slot[+-]\))?, (?:MSI|IntMsgNum)/.exec(capName)
      if (express) current.portType = express[1]
      label = ''
      continue
    }
    if (/^\tCapabilities: <access denied>/.test(line)) current.accessDenied = true
    const top = /^\t(\w[\w ]*):\s*(.*)$/.exec(line)
    if (top) {
      capName = ''
      if (top[1] === 'IOMMU group') current.iommuGroup = Number(top[2])
      if (top[1] === 'Kernel driver in use') current.driver = top[2]?.trim()
      const bus = /primary=([0-9a-f]{2}), secondary=([0-9a-f]{2}), subordinate=([0-9a-f]{2})/.exec(line)
      if (top[1] === 'Bus' && bus) current.buses = {primary: Number.parseInt(bus[1] ?? '', 16), secondary: Number.parseInt(bus[2] ?? '', 16), subordinate: Number.parseInt(bus[3] ?? '', 16)}
      continue
    }
    const inner = /^\t\t(\w+):\s*(.*)$/.exec(line)
    if (inner) {
      label = capName.startsWith('Power Management') && inner[1] === 'Status' ? 'PM Status' : (inner[1] ?? '')
      labelText.set(label, inner[2] ?? '')
    } else if (/^\t\t\t/.test(line) && label) {
      labelText.set(label, `${labelText.get(label) ?? ''} ${line.trim()}`)
    } else if (/^\t\t/.test(line)) {
      label = ''
    }
    const body = line.trim()
    if (inner?.[1] === 'ACSCap') current.acsCap = acsMask(body)
    if (inner?.[1] === 'ACSCtl') current.acsCtl = acsMask(body)
    if (inner?.[1] === 'ATSCap') current.atsQueueDepth = Number.parseInt(/Invalidate Queue Depth: ([0-9a-f]+)/.exec(body)?.[1] ?? 'NaN', 16)
    if (inner?.[1] === 'ATSCtl') {
      current.atsEnabled = flagOn(body, 'Enable')
      current.atsStu = Number.parseInt(/Smallest Translation Unit: ([0-9a-f]+)/.exec(body)?.[1] ?? 'NaN', 16)
    }
    if (inner?.[1] === 'PRICtl') current.priEnabled = flagOn(body, 'Enable')
    if (inner?.[1] === 'PASIDCap') {
      current.pasid = {
        enabled: false,
        exec: flagOn(body, 'Exec') ?? false,
        priv: flagOn(body, 'Priv') ?? false,
        width: Number.parseInt(/Max PASID Width: ([0-9a-f]+)/.exec(body)?.[1] ?? 'NaN', 16),
      }
    }
    if (inner?.[1] === 'PASIDCtl' && current.pasid) current.pasid.enabled = flagOn(body, 'Enable') ?? false
    if (inner?.[1] === 'ARICap') current.ariNextFunction = Number(/Next Function: (\d+)/.exec(body)?.[1])
    const vfs = /Initial VFs: (\d+), Total VFs: (\d+), Number of VFs: (\d+)/.exec(body)
    if (vfs) current.sriov = {initial: Number(vfs[1]), total: Number(vfs[2]), num: Number(vfs[3]), offset: -1, stride: -1, vfDevice: -1}
    const vfOffset = /VF offset: (\d+), stride: (\d+), Device ID: ([0-9a-f]+)/.exec(body)
    if (vfOffset && current.sriov) {
      current.sriov.offset = Number(vfOffset[1])
      current.sriov.stride = Number(vfOffset[2])
      current.sriov.vfDevice = Number.parseInt(vfOffset[3] ?? '', 16)
    }
  }
  flush()
  return out
}

export function lspciInstalled(): boolean {
  return spawnSync('lspci', ['--version'], {encoding: 'utf8'}).status === 0
}

/** lspci's stdout; stderr (libkmod chatter) dropped. Throws if lspci fails, with its message. */
export function runLspci(args: string[]): string {
  return execFileSync('lspci', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024})
}
