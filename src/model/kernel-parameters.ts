/**
 * Kernel command-line parameters read for their EFFECT (vtd-reference §8), not as strings:
 * `intel_iommu=on` on an AMD CPU does nothing, `amd_iommu=on` is not an option at all, and
 * `iommu=pt` weakens host isolation rather than "enabling" anything.
 *
 * Parameters are applied in command-line order, like the kernel's early_param handlers, so
 * `intel_iommu=on intel_iommu=off` ends disabled and the last of `iommu=pt` / `iommu.passthrough=0` wins.
 */

import type {CpuArchitecture} from './platform.js'

export interface ParamToken {
  key: string
  value?: string
}

export type DefaultDomainRequest = {type: 'identity' | 'translated'; via: string}
export type InvalidationRequest = {policy: 'strict' | 'lazy'; via: string}

export interface VfioPciId {
  vendor: number
  device: number
  subvendor?: number
  subdevice?: number
  /** The text as written, for messages. */
  text: string
}

export interface KernelParameters {
  /** Every kernel parameter before a bare `--` (what follows goes to init). */
  tokens: ParamToken[]
  intelIommu: {
    /** on/off as last requested; undefined = the kernel's Kconfig default decides. */
    enabled?: boolean
    igfxOff: boolean
    /** sm_on → true, sm_off → false. */
    scalableMode?: boolean
    spOff: boolean
    tbootNoforce: boolean
    /** Options the kernel does not know (it ignores them, newer kernels log "Unknown option"). */
    unknownOptions: string[]
  }
  defaultDomain?: DefaultDomainRequest
  invalidation?: InvalidationRequest
  /** iommu=off / iommu=soft: legacy knobs; soft bounces through swiotlb. */
  iommuOff: boolean
  iommuSoft: boolean
  intremap: {off: boolean; nosid: boolean; noX2apicOptout: boolean; nopost: boolean; postedMsi: boolean; via?: string}
  /** pcie_acs_override= options (out-of-tree patch); undefined when absent. */
  acsOverride?: string[]
  allowUnsafeInterrupts?: boolean
  /** The IDs vfio-pci takes from the command line: its `ids` is a string parameter, so the last `vfio-pci.ids=` wins. */
  vfioPciIds: VfioPciId[]
  /** Every `vfio-pci.ids=` token as written: a change replaces them all. */
  vfioPciIdsVia: string[]
  /**
   * `pci=disable_acs_redir=…` / `pci=config_acs=…` values. The kernel knows them only as options of
   * `pci=` (drivers/pci/pci.c pci_setup() splits the value on commas and matches each option); a
   * top-level `disable_acs_redir=` is an unknown parameter that the kernel passes to init.
   */
  disableAcsRedir?: string
  configAcs?: string
  pciNoats: boolean
  /** `acpi=off` (parse_acpi() on x86 and arm64); a later `acpi=on`/`acpi=force` takes it back. */
  acpiOff: boolean
  /** `amd_iommu=` value as written; only on/off-like words matter, see `ineffective`. */
  amdIommu?: string
  /** `amd_iommu=` options in effect (off, force_isolation, fullflush, pgtbl_v2 …), as the kernel's parse_amd_iommu_options reads them. */
  amdIommuOptions: string[]
  /** `amd_iommu_intr=legacy|legacy_ga|vapic`: how AMD-Vi remaps guest interrupts (vapic posts them to vCPUs). */
  amdIommuIntr?: string
  /** `ivrs_ioapic[ID]=`, `ivrs_hpet[ID]=`, `ivrs_acpihid[…]=`: the firmware's IVRS corrected by hand. */
  ivrsOverrides: string[]
  /** `arm-smmu.disable_bypass` / `arm-smmu-v3.disable_bypass` as written (v3 default on: unattached streams abort). */
  smmuDisableBypass?: {value: boolean; via: string}
  /** `iommu=` tokens on an Arm kernel, which has no such parameter (it is x86's: arch/x86/kernel/pci-dma.c). */
  x86OnlyIgnored: string[]
}

export interface IneffectiveParameter {
  param: string
  why: string
}

const FALSE_WORDS = new Set(['0', 'n', 'no', 'off', 'false'])
const TRUE_WORDS = new Set(['1', 'y', 'yes', 'on', 'true'])

/** Split /proc/cmdline like the kernel's next_arg(): whitespace separated, double quotes group. */
export function tokenizeCmdline(cmdline: string): ParamToken[] {
  const tokens: ParamToken[] = []
  const words = cmdline.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []
  for (const word of words) {
    if (word === '--') break
    const clean = word.replace(/"/g, '')
    const eq = clean.indexOf('=')
    tokens.push(eq < 0 ? {key: clean} : {key: clean.slice(0, eq), value: clean.slice(eq + 1)})
  }
  return tokens
}

/** Module parameters accept '-' and '_' interchangeably (vfio-pci.ids == vfio_pci.ids). */
function normalKey(key: string): string {
  return key.replace(/-/g, '_')
}

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined) return true
  const word = value.toLowerCase()
  if (TRUE_WORDS.has(word)) return true
  if (FALSE_WORDS.has(word)) return false
  return undefined
}

function parseVfioIds(value: string): VfioPciId[] {
  const ids: VfioPciId[] = []
  for (const text of value.split(',').filter(Boolean)) {
    const [vendor, device, subvendor, subdevice] = text.split(':').map((part) => Number.parseInt(part, 16))
    if (vendor === undefined || device === undefined || Number.isNaN(vendor) || Number.isNaN(device)) continue
    ids.push({
      vendor,
      device,
      ...(subvendor !== undefined && !Number.isNaN(subvendor) ? {subvendor} : {}),
      ...(subdevice !== undefined && !Number.isNaN(subdevice) ? {subdevice} : {}),
      text,
    })
  }
  return ids
}

/** One handler per parameter: what it does to the effective state. */
type Handler = (state: KernelParameters, value: string | undefined, token: string) => void

const INTEL_IOMMU_OPTIONS: Record<string, (state: KernelParameters) => void> = {
  on: (s) => (s.intelIommu.enabled = true),
  off: (s) => (s.intelIommu.enabled = false),
  igfx_off: (s) => (s.intelIommu.igfxOff = true),
  sm_on: (s) => (s.intelIommu.scalableMode = true),
  sm_off: (s) => (s.intelIommu.scalableMode = false),
  sp_off: (s) => (s.intelIommu.spOff = true),
  tboot_noforce: (s) => (s.intelIommu.tbootNoforce = true),
  strict: (s) => (s.invalidation = {policy: 'strict', via: 'intel_iommu=strict'}),
  forcedac: () => undefined,
  nobounce: () => undefined,
}

const HANDLERS: Record<string, Handler> = {
  acpi: (s, value) => {
    if (value === 'off') s.acpiOff = true
    else if (value === 'on' || value === 'force') s.acpiOff = false
  },
  intel_iommu: (s, value) => {
    for (const option of (value ?? '').split(',').filter(Boolean)) {
      const apply = Object.hasOwn(INTEL_IOMMU_OPTIONS, option) ? INTEL_IOMMU_OPTIONS[option] : undefined
      if (apply) apply(s)
      else s.intelIommu.unknownOptions.push(option)
    }
  },
  iommu: (s, value, token) => {
    for (const option of (value ?? '').split(',').filter(Boolean)) {
      if (option === 'pt') s.defaultDomain = {type: 'identity', via: token}
      else if (option === 'nopt') s.defaultDomain = {type: 'translated', via: token}
      else if (option === 'off') s.iommuOff = true
      else if (option === 'soft') s.iommuSoft = true
    }
  },
  'iommu.passthrough': (s, value, token) => {
    const on = flag(value)
    if (on !== undefined) s.defaultDomain = {type: on ? 'identity' : 'translated', via: token}
  },
  'iommu.strict': (s, value, token) => {
    const on = flag(value)
    if (on !== undefined) s.invalidation = {policy: on ? 'strict' : 'lazy', via: token}
  },
  intremap: (s, value, token) => {
    for (const option of (value ?? '').split(',').filter(Boolean)) {
      if (option === 'off') s.intremap = {...s.intremap, off: true, via: token}
      else if (option === 'on') s.intremap = {...s.intremap, off: false, via: token}
      else if (option === 'nosid') s.intremap.nosid = true
      else if (option === 'no_x2apic_optout') s.intremap.noX2apicOptout = true
      else if (option === 'nopost') s.intremap.nopost = true
      else if (option === 'posted_msi') s.intremap.postedMsi = true
    }
  },
  nointremap: (s, _value, token) => (s.intremap = {...s.intremap, off: true, via: token}),
  pcie_acs_override: (s, value) => (s.acsOverride = (value ?? '').split(',').filter(Boolean)),
  'vfio_iommu_type1.allow_unsafe_interrupts': (s, value) => (s.allowUnsafeInterrupts = flag(value) ?? s.allowUnsafeInterrupts),
  'vfio_pci.ids': (s, value, token) => {
    s.vfioPciIds = parseVfioIds(value ?? '')
    s.vfioPciIdsVia.push(token)
  },
  // pci_setup(): options separated by commas, each matched on its own; the last occurrence wins.
  pci: (s, value) => {
    for (const option of (value ?? '').split(',')) {
      if (option === 'noats') s.pciNoats = true
      else if (option.startsWith('disable_acs_redir=')) s.disableAcsRedir = option.slice('disable_acs_redir='.length)
      else if (option.startsWith('config_acs=')) s.configAcs = option.slice('config_acs='.length)
    }
  },
  amd_iommu: (s, value) => {
    s.amdIommu = value ?? ''
    for (const option of (value ?? '').split(',').filter(Boolean)) {
      if (!s.amdIommuOptions.includes(option)) s.amdIommuOptions.push(option)
      if (option === 'fullflush') s.invalidation = {policy: 'strict', via: 'amd_iommu=fullflush'}
    }
  },
  amd_iommu_intr: (s, value) => (s.amdIommuIntr = value ?? ''),
  'arm_smmu.disable_bypass': (s, value, token) => {
    const on = flag(value)
    if (on !== undefined) s.smmuDisableBypass = {value: on, via: token}
  },
  'arm_smmu_v3.disable_bypass': (s, value, token) => {
    const on = flag(value)
    if (on !== undefined) s.smmuDisableBypass = {value: on, via: token}
  },
}

/** `ivrs_ioapic[4]=00:14.0` and friends: the bracket is part of the parameter name. */
const IVRS_OVERRIDE = /^ivrs_(ioapic|hpet|acpihid)(\[|=|$)/

/** `architecture`: the kernel's, when known; on Arm the x86-only `iommu=` is ignored, as that kernel ignores it. */
export function parseKernelParameters(cmdline: string, architecture: CpuArchitecture = 'unknown'): KernelParameters {
  const state: KernelParameters = {
    tokens: tokenizeCmdline(cmdline),
    intelIommu: {igfxOff: false, spOff: false, tbootNoforce: false, unknownOptions: []},
    iommuOff: false,
    iommuSoft: false,
    intremap: {off: false, nosid: false, noX2apicOptout: false, nopost: false, postedMsi: false},
    vfioPciIds: [],
    vfioPciIdsVia: [],
    pciNoats: false,
    acpiOff: false,
    amdIommuOptions: [],
    ivrsOverrides: [],
    x86OnlyIgnored: [],
  }
  for (const token of state.tokens) {
    if (IVRS_OVERRIDE.test(token.key)) state.ivrsOverrides.push(token.value === undefined ? token.key : `${token.key}=${token.value}`)
    // Own keys only: a token named "__proto__" or "valueOf" is just an unknown parameter.
    const key = normalKey(token.key)
    const handler = Object.hasOwn(HANDLERS, key) ? HANDLERS[key] : undefined
    const text = token.value === undefined ? token.key : `${token.key}=${token.value}`
    if (key === 'iommu' && architecture === 'arm') state.x86OnlyIgnored.push(text)
    else handler?.(state, token.value, text)
  }
  return state
}

/**
 * Parameters that are present but do nothing on this platform, and why (cnspec#3835 in peers.md).
 * The platform is the IOMMU the firmware describes (DMAR → intel, IVRS → amd), not the CPU
 * vendor: an emulated VT-d under an AMD CPU model still obeys intel_iommu=.
 */
export function ineffectiveParameters(params: KernelParameters, platform: 'intel' | 'amd' | 'other' | 'none' | 'unknown'): IneffectiveParameter[] {
  const found: IneffectiveParameter[] = []
  if (params.amdIommu !== undefined) {
    const options = params.amdIommu.split(',')
    if (options.includes('on'))
      found.push({param: `amd_iommu=${params.amdIommu}`, why: '"on" is not an amd_iommu option; the kernel ignores it (AMD-Vi is enabled by default when the IVRS table exists)'})
    else if (platform === 'intel') found.push({param: `amd_iommu=${params.amdIommu}`, why: 'an AMD-Vi option on an Intel VT-d platform has no effect'})
  }
  if (platform === 'intel' && params.amdIommuIntr !== undefined) found.push({param: `amd_iommu_intr=${params.amdIommuIntr}`, why: 'an AMD-Vi option on an Intel VT-d platform has no effect'})
  if (platform === 'intel') for (const override of params.ivrsOverrides) found.push({param: override, why: 'an IVRS (AMD-Vi firmware table) override on an Intel VT-d platform has no effect'})
  if (platform === 'amd' && params.intelIommu.enabled !== undefined)
    found.push({param: `intel_iommu=${params.intelIommu.enabled ? 'on' : 'off'}`, why: 'an Intel VT-d option on an AMD-Vi platform has no effect'})
  for (const param of params.x86OnlyIgnored)
    found.push({param, why: 'iommu= exists only on x86 (arch/x86/kernel/pci-dma.c): an Arm kernel ignores it; the default domain is chosen with iommu.passthrough=1 (identity) or =0 (translated)'})
  for (const option of params.intelIommu.unknownOptions)
    found.push({param: `intel_iommu=${option}`, why: `"${option}" is not an intel_iommu option (the kernel ignores it; there is no pasid/sva switch)`})
  return found
}

/** What each recognised parameter does, in words, for evidence lines. */
export function describeEffects(params: KernelParameters): string[] {
  const lines: string[] = []
  const intel = params.intelIommu
  if (intel.enabled === true) lines.push('intel_iommu=on: VT-d DMA remapping requested (needed when the kernel was built with CONFIG_INTEL_IOMMU_DEFAULT_ON=n)')
  if (intel.enabled === false) lines.push('intel_iommu=off: VT-d DMA remapping disabled (interrupt remapping may still be on); also blocks the platform opt-in')
  if (intel.igfxOff) lines.push('intel_iommu=igfx_off: the integrated GPU is not translated (no IOMMU group, no DMA protection, cannot be assigned)')
  if (intel.scalableMode === true) lines.push('intel_iommu=sm_on: scalable mode used when ECAP.SMTS is set')
  if (intel.scalableMode === false) lines.push('intel_iommu=sm_off: legacy (non-scalable) translation forced')
  if (params.defaultDomain?.type === 'identity')
    lines.push(`${params.defaultDomain.via}: identity (passthrough) default domain — host drivers' DMA is NOT translated; devices are still assignable to VFIO`)
  if (params.defaultDomain?.type === 'translated') lines.push(`${params.defaultDomain.via}: translated default domain`)
  if (params.invalidation) lines.push(`${params.invalidation.via}: ${params.invalidation.policy} IOTLB invalidation`)
  if (params.iommuSoft) lines.push('iommu=soft: swiotlb bouncing; on Intel this effectively disables VT-d DMA use')
  if (params.intremap.off) lines.push(`${params.intremap.via ?? 'intremap=off'}: interrupt remapping disabled — VFIO refuses assignment unless allow_unsafe_interrupts=1`)
  if (params.intremap.nosid) lines.push('intremap=nosid: source-id verification off (workaround for fault 0x26)')
  if (params.intremap.noX2apicOptout) lines.push('intremap=no_x2apic_optout: the firmware x2APIC opt-out is ignored')
  if (params.intremap.nopost) lines.push('intremap=nopost: posted interrupts not used')
  if (params.acsOverride) lines.push(`pcie_acs_override=${params.acsOverride.join(',')}: ACS faked on ports/functions without ACS (out-of-tree patch) — split groups are not really isolated`)
  if (params.allowUnsafeInterrupts === true) lines.push('vfio_iommu_type1.allow_unsafe_interrupts=1: VFIO assigns devices without interrupt remapping (MSI injection possible)')
  if (params.vfioPciIds.length > 0) lines.push(`vfio-pci.ids=${params.vfioPciIds.map((id) => id.text).join(',')}: vfio-pci claims these IDs when it loads`)
  if (params.pciNoats) lines.push('pci=noats: ATS disabled for every device')
  for (const option of params.amdIommuOptions) {
    const effect = Object.hasOwn(AMD_IOMMU_EFFECTS, option) ? AMD_IOMMU_EFFECTS[option] : undefined
    if (effect) lines.push(`amd_iommu=${option}: ${effect}`)
  }
  if (params.amdIommuIntr !== undefined) lines.push(`amd_iommu_intr=${params.amdIommuIntr}: ${(Object.hasOwn(AMD_IOMMU_INTR_EFFECTS, params.amdIommuIntr) ? AMD_IOMMU_INTR_EFFECTS[params.amdIommuIntr] : undefined) ?? 'not an amd_iommu_intr mode (legacy, legacy_ga, vapic): the kernel keeps its default'}`)
  for (const override of params.ivrsOverrides) lines.push(`${override}: corrects the firmware's IVRS table (an IOAPIC, HPET or ACPI device the firmware left out or misnumbered)`)
  if (params.smmuDisableBypass)
    lines.push(`${params.smmuDisableBypass.via}: ${params.smmuDisableBypass.value ? 'streams without a domain abort (the default)' : 'streams without a domain bypass the SMMU: their DMA is not translated'}`)
  if (params.disableAcsRedir !== undefined)
    lines.push(`pci=disable_acs_redir=${params.disableAcsRedir}: ACS redirect (RR, CR, EC) cleared on the named devices, even with the IOMMU off — devices below them share a group`)
  if (params.configAcs !== undefined) lines.push(`pci=config_acs=${params.configAcs}: ACS Control set as written on the named devices (from 6.11), which can merge or split groups`)
  return lines
}

/** amd_iommu= options (kernel-parameters.txt, parse_amd_iommu_options) and what each one does. */
const AMD_IOMMU_EFFECTS: Record<string, string> = {
  off: 'AMD-Vi DMA remapping disabled',
  force_isolation: 'every device is isolated in its own domain; the driver may no longer lift isolation (iommu=pt still wins)',
  fullflush: 'strict IOTLB flushing on every unmap (older kernels; iommu.strict=1 today)',
  force_enable: 'AMD-Vi forced on a platform the kernel knows to be broken with it',
  pgtbl_v1: 'v1 (host) page tables for DMA',
  pgtbl_v2: 'v2 (guest-format) page tables for DMA',
  irtcachedis: 'interrupt remapping table caching disabled',
  nohugepages: 'no large pages in IOMMU page tables',
  v2_pgsizes_only: '4K, 2M and 1G pages only',
}

const AMD_IOMMU_INTR_EFFECTS: Record<string, string> = {
  legacy: 'legacy 32-bit IRTEs: no guest virtual APIC, every device interrupt to a guest goes through the host',
  legacy_ga: '128-bit IRTEs without vAPIC: no interrupt posting to vCPUs',
  vapic: 'guest virtual APIC (vAPIC) mode: device interrupts posted to running vCPUs (the default where the IOMMU has GA and GAM)',
}
