/**
 * Kernel parameters that change ACS Control, and so IOMMU groups, as drivers/pci/pci.c applies
 * them in pci_enable_acs() → __pci_config_acs(): `pci=disable_acs_redir=` and `pci=config_acs=`.
 * Both apply even with the IOMMU off ("Always apply caps from the command line"). Pure: parses a
 * cmdline string and matches devices the way pci_dev_str_match() does.
 */
import {ACS, type PciFunction, type PciTopology} from '../model/pci.js'
import {inKernel, type KernelSpan, type KernelVersion} from './kernel-version.js'

export const ACS_PARAM_SPANS = {
  disableAcsRedir: {since: [4, 19], evidence: '"PCI: Add pci=disable_acs_redir= parameter for peer-to-peer support" (Logan Gunthorpe), 4.19 merge window'},
  configAcs: {since: [6, 11], evidence: '47c8846a49ba "PCI: Extend ACS configurability" (config_acs=), 6.11'},
  /** From 9cf8a952d57b the bits a parameter does not name come from the firmware's ACS Control, not the kernel's. */
  firmwareBase: {since: [6, 15], evidence: '9cf8a952d57b "PCI/ACS: Fix \'pci=config_acs=\' parameter" (pci/acs branch, 6.15; stable backports exist)'},
} as const satisfies Record<string, KernelSpan>

/** One `<spec>` of pci_dev_str_match(): a path `[dddd:]bb:dd.f[/dd.f]*` or `pci:vvvv:dddd[:svvv:sddd]`. */
export type DeviceSpec =
  | {kind: 'path'; segment: number; bus: number; devfn: number; below: number[]; text: string}
  | {kind: 'id'; vendor: number; device: number; subVendor: number; subDevice: number; text: string}

export interface AcsParamEntry {
  param: 'disable_acs_redir' | 'config_acs'
  spec: DeviceSpec
  /** Bits the parameter sets (1) or clears (0); the others keep their value. */
  mask: number
  flags: number
}

export interface AcsKernelParams {
  /** Per parameter, the entries in cmdline order (the first match wins, as in the kernel). */
  disableAcsRedir: AcsParamEntry[]
  configAcs: AcsParamEntry[]
  errors: string[]
}

const REDIRECT = ACS.RR | ACS.CR | ACS.EC
const ALL_ACS = ACS.SV | ACS.TB | ACS.RR | ACS.CR | ACS.UF | ACS.EC | ACS.DT

function parseSpec(text: string): DeviceSpec | string {
  const t = text.trim().toLowerCase()
  const id = /^pci:([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::([0-9a-f]{1,4}):([0-9a-f]{1,4}))?$/.exec(t)
  if (id) {
    const h = (s: string | undefined) => (s === undefined ? 0 : Number.parseInt(s, 16))
    return {kind: 'id', vendor: h(id[1]), device: h(id[2]), subVendor: h(id[3]), subDevice: h(id[4]), text: t}
  }
  const [top = '', ...rest] = t.split('/')
  const head = /^(?:([0-9a-f]{1,8}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$/.exec(top)
  if (!head) return `"${text}" is neither [dddd:]bb:dd.f[/dd.f]* nor pci:vvvv:dddd[:svvv:sddd]`
  const below: number[] = []
  for (const step of rest) {
    const m = /^([0-9a-f]{1,2})\.([0-7])$/.exec(step)
    if (!m) return `"${text}": path step "${step}" is not dd.f`
    below.push((Number.parseInt(m[1] ?? '0', 16) << 3) | Number(m[2]))
  }
  const devfn = (Number.parseInt(head[3] ?? '0', 16) << 3) | Number(head[4])
  return {kind: 'path', segment: Number.parseInt(head[1] ?? '0', 16), bus: Number.parseInt(head[2] ?? '0', 16), devfn, below, text: t}
}

/** `xx110x1@spec`: the rightmost character is bit 0 (SV); '0' clears, '1' sets, 'x' keeps. */
function parseFlags(text: string): {mask: number; flags: number} | string {
  let mask = 0
  let flags = 0
  const chars = [...text].reverse()
  for (const [bit, c] of chars.entries()) {
    if (c === '0') mask |= 1 << bit
    else if (c === '1') {
      mask |= 1 << bit
      flags |= 1 << bit
    } else if (c !== 'x' && c !== 'X') return `invalid ACS flags "${text}" (the kernel ignores the whole parameter)`
  }
  if (mask & ~ALL_ACS) return `ACS flags "${text}" name bits beyond DT (the kernel ignores the whole parameter)`
  return {mask, flags}
}

function parseEntries(param: AcsParamEntry['param'], value: string, errors: string[]): AcsParamEntry[] {
  const out: AcsParamEntry[] = []
  for (const raw of value.split(';')) {
    if (raw.trim() === '') continue
    let mask = REDIRECT
    let flags = 0
    let specText = raw
    if (param === 'config_acs') {
      const at = raw.indexOf('@')
      if (at < 0) {
        errors.push(`config_acs: "${raw}" has no flags@ (the kernel logs "ACS Flags missing" and stops)`)
        break
      }
      const parsed = parseFlags(raw.slice(0, at))
      if (typeof parsed === 'string') {
        errors.push(`config_acs: ${parsed}`)
        break
      }
      ;({mask, flags} = parsed)
      specText = raw.slice(at + 1)
    }
    const spec = parseSpec(specText)
    if (typeof spec === 'string') {
      errors.push(`${param}: ${spec} (the kernel stops reading the parameter here)`)
      break
    }
    out.push({param, spec, mask, flags})
  }
  return out
}

/** Words of a cmdline, honouring double quotes (the kernel's next_arg()). */
function cmdlineWords(cmdline: string): string[] {
  return [...cmdline.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map((m) => m[0].replaceAll('"', ''))
}

/** The ACS parameters of a cmdline: only as `pci=` options, which pci_setup() splits on commas. */
export function parseAcsKernelParams(cmdline: string): AcsKernelParams {
  const result: AcsKernelParams = {disableAcsRedir: [], configAcs: [], errors: []}
  for (const word of cmdlineWords(cmdline)) {
    if (!word.startsWith('pci=')) continue
    for (const option of word.slice(4).split(',')) {
      if (option.startsWith('disable_acs_redir=')) result.disableAcsRedir = parseEntries('disable_acs_redir', option.slice(18), result.errors)
      else if (option.startsWith('config_acs=')) result.configAcs = parseEntries('config_acs', option.slice(11), result.errors)
    }
  }
  return result
}

/** pci_dev_str_match(): a path matches from the device up its bridges; an id spec treats 0 as "any". */
export function specMatches(topology: PciTopology, dev: PciFunction, spec: DeviceSpec): boolean {
  if (spec.kind === 'id') {
    const eq = (want: number, have: number | undefined) => want === 0 || want === have
    return eq(spec.vendor, dev.vendorId) && eq(spec.device, dev.deviceId) && eq(spec.subVendor, dev.subsystemVendorId) && eq(spec.subDevice, dev.subsystemDeviceId)
  }
  let current: PciFunction | undefined = dev
  for (let i = spec.below.length - 1; i >= 0; i--) {
    if (!current || ((current.device << 3) | current.function) !== spec.below[i]) return false
    current = current.parent === undefined ? undefined : topology.devices.get(current.parent)
  }
  return current !== undefined && current.segment === spec.segment && current.bus === spec.bus && ((current.device << 3) | current.function) === spec.devfn
}

export interface AcsControlChange {
  entry: AcsParamEntry
  /** ACS Control as the kernel leaves it, given the value before and the kernel's own enables. */
  apply: (asRead: number, kernelEnabled: number) => number | 'unknown'
  text: string
}

/**
 * What the cmdline does to one device's ACS Control in kernel `version`, or undefined. disable_acs_redir
 * is applied first, then config_acs (both calls in pci_enable_acs()); each takes its first matching entry.
 */
export function acsControlChange(topology: PciTopology, dev: PciFunction, params: AcsKernelParams, version: KernelVersion | undefined): AcsControlChange | undefined {
  const firmwareBase = inKernel(ACS_PARAM_SPANS.firmwareBase, version)
  const pick = (entries: AcsParamEntry[], span: KernelSpan) => (inKernel(span, version) ? entries.find((e) => specMatches(topology, dev, e.spec)) : undefined)
  const redir = pick(params.disableAcsRedir, ACS_PARAM_SPANS.disableAcsRedir)
  const config = pick(params.configAcs, ACS_PARAM_SPANS.configAcs)
  const entry = config ?? redir
  if (!entry) return undefined
  const words = entry.param === 'disable_acs_redir' ? 'clears RR, CR and EC' : `sets ACS Control bits ${entry.flags.toString(16)} of mask ${entry.mask.toString(16)}`
  return {
    entry,
    text: `pci=${entry.param}=…${entry.spec.text} ${words}`,
    apply: (asRead, kernelEnabled) => {
      // From 6.15 the bits outside the mask are the firmware's (as read); before, 6.11-6.14 computed
      // a value from the firmware bits under the mask (the bug 9cf8a952d57b fixed): not predictable.
      if (firmwareBase) return (asRead & ~entry.mask) | (entry.flags & entry.mask)
      if (inKernel(ACS_PARAM_SPANS.configAcs, version)) return 'unknown'
      return (asRead | kernelEnabled) & ~REDIRECT
    },
  }
}
