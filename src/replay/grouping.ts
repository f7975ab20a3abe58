/**
 * Grouping replay: the kernel's `pci_device_group()` (drivers/iommu/iommu.c, vtd-reference §6.2)
 * run over a PciTopology, device by device in the kernel's probe order, so the "already has a
 * group" steps see exactly what the kernel saw. Every decision is recorded in words so a merge
 * can be explained ("05:00.0 sits below 00:1c.0 whose ACS has RR and CR but they are not enabled (…)").
 *
 * Pure: no I/O. Rule changes between kernel versions are data in KERNEL_RULE_CHANGES.
 */
import {ACS, PCIE_TYPE, REQ_ACS_FLAGS, type PciFunction, type PciTopology} from '../model/pci.js'
import {acsControlChange, parseAcsKernelParams, type AcsKernelParams} from './acs-params.js'
import {INTEL_SPT_PCH_ACS_IDS, idMatches, isIntelPchQuirkPort, quirkAcsEnabled, type QuirkContext} from './acs-quirks.js'
import {dmaAliasesOf, switchtecNtbReason, type AliasOptions, type AliasReason, type IvrsAliasRange} from './dma-alias.js'
import {inKernel, parseKernelVersion, versionAtLeast, type KernelSpan, type KernelVersion} from './kernel-version.js'

export {parseKernelVersion} from './kernel-version.js'

// ---------------------------------------------------------------------------------------------
// Inputs

/** `pcie_acs_override=` (out-of-tree patch, §6.7). */
export interface AcsOverride {
  downstream: boolean
  multifunction: boolean
  ids: Array<{vendor: number; device: number}>
}

export interface GroupingOptions {
  /** `uname -r` style ("5.9.1-arch1"); undefined = current mainline rules. */
  kernelVersion?: string
  /**
   * Model `pci_enable_acs()`: the IOMMU requested ACS at boot, so every ACS-capable port has
   * SV|RR|CR|UF set as far as it implements them, and the Intel PCH enable-quirk ran.
   * True for "as if the IOMMU were on" (the default); false replays ACS Control exactly as read.
   */
  assumeKernelEnablesAcs?: boolean
  /** Why the kernel of this host did not enable ACS (with assumeKernelEnablesAcs false): said in the assumptions. */
  acsNotEnabledBecause?: string
  acsOverride?: AcsOverride
  /** ACPI IVRS present (AMD IOMMU); undefined = inferred from an AMD IOMMU function (class 0806). */
  acpiIvrs?: boolean
  /**
   * The IVRS table's alias entries, when the table was read: the AMD driver adds a same-bus one as a
   * PCI DMA alias before the device is grouped (setup_aliases() from 5.5, get_alias() before).
   * Absent on an AMD host, groups that such entries would merge are unknown to us.
   */
  ivrsAliases?: readonly IvrsAliasRange[]
  /**
   * What-if: the one rule this tool takes from the UNMERGED 2025 pcie_switch_groups series (posted to
   * linux-pci; in no release and not in linux-next 6.19). Never implied by a kernel version.
   */
  pcieSwitchGroupsRework?: boolean
  /**
   * The kernel command line of the snapshot: `pci=disable_acs_redir=`, `pci=config_acs=` change ACS
   * Control (even with the IOMMU off) and `pcie_acs_override=` (out-of-tree) is applied when
   * `acsOverride` is not given.
   */
  cmdline?: string
}

/** Where a kernel release changed the grouping rules (explicit, so predictions can say which applied). */
export interface KernelRuleChange {
  id: 'pch-acs-enable-skipped' | 'mf-without-acs-isolated'
  span: KernelSpan
  text: string
}

export const KERNEL_RULE_CHANGES: readonly KernelRuleChange[] = [
  {
    id: 'pch-acs-enable-skipped',
    span: {
      since: [5, 9],
      until: [5, 10],
      evidence: '52fbf5bdeeef "PCI: Cache ACS capability offset in device" (Rajat Jain, PCI pull for 5.9); fixed by 462b58fb0339 "PCI: Always enable ACS even if no ACS Capability" (5.10, backported to 5.9 stable)',
    },
    text:
      'Linux 5.9 ("PCI: Cache ACS capability offset in device", 52fbf5bdeeef) skipped the Intel PCH ACS enable-quirk, ' +
      'so PCH root ports without an ACS capability stopped isolating; fixed in 5.10',
  },
  {
    id: 'mf-without-acs-isolated',
    span: {unmerged: true, evidence: 'pcie_switch_groups series (Jason Gunthorpe, 2025): posted to linux-pci, in no release and not in linux-next'},
    text:
      'what-if from the UNMERGED 2025 pcie_switch_groups series (in no release, not in linux-next): multifunction devices ' +
      'without an ACS capability are assumed not to loop peer-to-peer traffic back internally; the rest of that series ' +
      '(wider groups below ACS-less switch ports, root ports without ACS no longer merging their subtree, smaller groups ' +
      'around PCIe-to-PCI bridges, ACS Enhanced) is not modelled',
  },
]

/** The rule changes that apply to a kernel version; the unmerged series only by explicit opt-in. */
export function rulesFor(options: GroupingOptions): KernelRuleChange[] {
  const version = parseKernelVersion(options.kernelVersion)
  return KERNEL_RULE_CHANGES.filter((rule) => {
    if (rule.span.unmerged) return rule.id === 'mf-without-acs-isolated' && options.pcieSwitchGroupsRework === true
    return version !== undefined && inKernel(rule.span, version)
  })
}

// ---------------------------------------------------------------------------------------------
// Outputs

export const ACS_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [ACS.SV, 'SV'],
  [ACS.TB, 'TB'],
  [ACS.RR, 'RR'],
  [ACS.CR, 'CR'],
  [ACS.UF, 'UF'],
  [ACS.EC, 'EC'],
  [ACS.DT, 'DT'],
]

export function acsFlagNames(mask: number): string[] {
  return ACS_FLAG_NAMES.filter(([bit]) => (mask & bit) !== 0).map(([, name]) => name)
}

/** The answer to `pci_acs_enabled(dev, flags)` with its reason. */
export interface AcsJudgement {
  isolated: boolean | 'unknown'
  /** Plain words: "ACS has RR and CR but they are not enabled (…)", "no ACS capability", "Intel PCH quirk" … */
  because: string
  /** Required flags that are not enabled (names). */
  missing: string[]
  source: 'quirk' | 'acs-override' | 'acs' | 'port-type' | 'conventional-pci' | 'single-function' | 'kernel-rule'
}

export type JoinKind = 'first' | 'dma-alias' | 'upstream-acs' | 'alias-peer' | 'multifunction'

export interface JoinReason {
  kind: JoinKind
  /** The device whose existing group was joined (or the anchor that started a new one). */
  via?: string
  /** Devices that lack isolation along the way, with why. */
  culprits: Array<{bdf: string; because: string; missing: string[]}>
  text: string
}

export interface GroupMember {
  bdf: string
  /** Bridges and ports may stay with the host (VFIO viability, §10.5); endpoints must go along. */
  role: 'endpoint' | 'bridge'
  joined: JoinReason
}

export interface PredictedGroup {
  /** Allocation order (the kernel numbers groups the same way, modulo devices of other units probed first). */
  id: number
  devices: string[]
  members: GroupMember[]
  /** The chain of reasons in plain words, one per device that joined another. */
  reasons: string[]
  /** Facts that could not be read and that the decision depended on. */
  uncertain: string[]
  /** The group is separate only because of `pcie_acs_override`: not truly isolated. */
  splitByAcsOverride: boolean
}

export interface GroupingPrediction {
  groups: PredictedGroup[]
  groupOf: Map<string, number>
  /** Devices the IOMMU does not group, with why (the AMD IOMMU function itself, VMD children). */
  notGrouped: Array<{bdf: string; why: string}>
  /** Assumptions made, in words (ACS enabled by the kernel, partial topology …). */
  assumptions: string[]
  rules: KernelRuleChange[]
  probeOrder: string[]
}

// ---------------------------------------------------------------------------------------------
// Topology helpers

const slotKey = (d: PciFunction): string => `${d.segment}:${d.bus}:${d.device}`
const busKey = (d: PciFunction): string => `${d.segment}:${d.bus}`
const devfnOf = (d: PciFunction): number => (d.device << 3) | d.function

import {shortBdf} from '../decode/pci-address.js'

export function isBridge(d: PciFunction): boolean {
  return d.headerType === 1 || d.headerType === 2
}

const isPcie = (d: PciFunction): boolean => typeof d.pcieType === 'number'

/**
 * The kernel's `dev->multifunction`: the header-type bit of the function, OR'd by
 * `pci_scan_slot()` for every function after the first it finds (fn > 0, and with ARI any
 * function number past 0 of the device). VFs are never multifunction.
 */
export function kernelMultifunction(topology: PciTopology, d: PciFunction): boolean {
  if (d.isVirtfn) return false
  if (d.multifunction || d.function > 0) return true
  const parent = d.parent === undefined ? undefined : topology.devices.get(d.parent)
  return d.device > 0 && parent?.ariForwarding?.enabled === true
}

const PCIE_TYPE_WORDS: Record<number, string> = {
  [PCIE_TYPE.endpoint]: 'endpoint',
  [PCIE_TYPE.legacyEndpoint]: 'legacy endpoint',
  [PCIE_TYPE.rootPort]: 'root port',
  [PCIE_TYPE.upstreamPort]: 'switch upstream port',
  [PCIE_TYPE.downstreamPort]: 'switch downstream port',
  [PCIE_TYPE.pcieToPciBridge]: 'PCIe-to-PCI bridge',
  [PCIE_TYPE.pciToPcieBridge]: 'PCI-to-PCIe bridge',
  [PCIE_TYPE.rcEndpoint]: 'root-complex integrated endpoint',
  [PCIE_TYPE.rcEventCollector]: 'root-complex event collector',
}

export function describeKind(d: PciFunction): string {
  if (d.pcieType === 'unknown') return isBridge(d) ? 'bridge' : 'device'
  if (d.pcieType === undefined) return isBridge(d) ? 'conventional PCI bridge' : 'conventional PCI device'
  return PCIE_TYPE_WORDS[d.pcieType] ?? `PCIe type ${d.pcieType}`
}

function joinWords(items: string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

/**
 * Order in which the kernel adds (and so probes) devices: `pci_bus_add_devices()` adds every
 * device of a bus in devfn order, then descends into each bridge's secondary bus in turn.
 * VFs appear when SR-IOV is enabled, after boot-time devices, PF by PF.
 */
export function kernelProbeOrder(topology: PciTopology): string[] {
  const devices = [...topology.devices.values()]
  const byParent = new Map<string | undefined, PciFunction[]>()
  for (const d of devices) {
    if (d.isVirtfn) continue
    const key = d.parent !== undefined && topology.devices.has(d.parent) ? d.parent : undefined
    const list = byParent.get(key) ?? []
    list.push(d)
    byParent.set(key, list)
  }
  const compare = (a: PciFunction, b: PciFunction): number =>
    a.segment - b.segment || a.bus - b.bus || devfnOf(a) - devfnOf(b)
  for (const list of byParent.values()) list.sort(compare)

  const order: string[] = []
  const addBus = (members: PciFunction[]): void => {
    // Group the children by bus (one list per bus under a parent, normally just one).
    for (const d of members) order.push(d.bdf)
    for (const d of members) {
      const children = byParent.get(d.bdf)
      if (children) addBus(children)
    }
  }
  // Root buses in (segment, bus) order, each its own pci_bus_add_devices() call.
  const roots = byParent.get(undefined) ?? []
  const rootBuses = new Map<string, PciFunction[]>()
  for (const d of roots) {
    const list = rootBuses.get(busKey(d)) ?? []
    list.push(d)
    rootBuses.set(busKey(d), list)
  }
  for (const list of rootBuses.values()) addBus(list)
  const pfs = devices.filter((d) => d.virtfns.length > 0).sort(compare)
  for (const pf of pfs) for (const vf of pf.virtfns) if (topology.devices.has(vf)) order.push(vf)
  // Anything left (a VF without a PF in the input): BDF order.
  const seen = new Set(order)
  for (const d of devices) if (!seen.has(d.bdf)) order.push(d.bdf)
  return order
}

// ---------------------------------------------------------------------------------------------
// The replay

interface Context {
  topology: PciTopology
  options: Required<Pick<GroupingOptions, 'assumeKernelEnablesAcs'>> & GroupingOptions
  rules: Set<KernelRuleChange['id']>
  acpiIvrs: boolean
  byBus: Map<string, PciFunction[]>
  groupOf: Map<string, number>
  /** Per device being grouped: unknowns met and whether an override decided something. */
  unknowns: Set<string>
  usedOverride: boolean
  /** Memo: ACS judgements and alias devfns are pure per device within one replay. */
  acsMemo: Map<PciFunction, AcsJudgement>
  aliasMemo: Map<PciFunction, number[]>
  /** Per bus: the devices with explicit alias devfns (quirks). */
  aliasHavers: Map<string, Set<PciFunction>>
  /** The kernel whose rules apply (undefined = the newest checked release). */
  version: KernelVersion | undefined
  aliasOptions: AliasOptions
  /** `pci=disable_acs_redir=` / `pci=config_acs=` from the cmdline. */
  acsParams: AcsKernelParams | undefined
}

function quirkContext(ctx: Context, dev: PciFunction): QuirkContext {
  const enableRan = ctx.options.assumeKernelEnablesAcs && !ctx.rules.has('pch-acs-enable-skipped')
  // The SPT enable-quirk writes SV|RR|CR|UF (as implemented) into the dword at cap+8; a cmdline
  // ACS parameter naming the port makes pci_quirk_disable_intel_spt_pch_acs_redir() clear RR CR EC.
  let sptAcsCtlDword: number | undefined = ctx.options.assumeKernelEnablesAcs ? REQ_ACS_FLAGS : undefined
  if (ctx.acsParams && idMatches(INTEL_SPT_PCH_ACS_IDS, dev.deviceId) && acsControlChange(ctx.topology, dev, ctx.acsParams, ctx.version)) {
    sptAcsCtlDword = (sptAcsCtlDword ?? 0) & ~(ACS.RR | ACS.CR | ACS.EC)
  }
  return {
    intelPchEnableQuirkApplied: enableRan && isIntelPchQuirkPort(dev),
    sptAcsCtlDword,
    acpiIvrs: ctx.acpiIvrs,
    onRootBus: dev.parent === undefined,
    multifunction: kernelMultifunction(ctx.topology, dev),
    ...(ctx.version ? {kernelVersion: ctx.version} : {}),
  }
}

/** The out-of-tree override quirk, appended after the kernel's own table. */
function overrideAnswer(dev: PciFunction, multifunction: boolean, override: AcsOverride | undefined): string | undefined {
  if (!override || !isPcie(dev) || dev.acs !== undefined) return undefined
  if (override.ids.some((id) => id.vendor === dev.vendorId && id.device === dev.deviceId)) {
    return `pcie_acs_override=id:${hex4(dev.vendorId)}:${hex4(dev.deviceId)}`
  }
  const type = dev.pcieType
  if (override.downstream && (type === PCIE_TYPE.rootPort || type === PCIE_TYPE.downstreamPort)) {
    return 'pcie_acs_override=downstream'
  }
  const mfTypes: unknown[] = [PCIE_TYPE.endpoint, PCIE_TYPE.upstreamPort, PCIE_TYPE.legacyEndpoint, PCIE_TYPE.rcEndpoint]
  if (override.multifunction && multifunction && mfTypes.includes(type)) return 'pcie_acs_override=multifunction'
  return undefined
}

export const hex4 = (n: number): string => n.toString(16).padStart(4, '0')

/** `pci_acs_flags_enabled()`: the capability's own registers (as the kernel leaves them). */
function acsFlagsEnabled(ctx: Context, dev: PciFunction, flags: number): AcsJudgement {
  if (dev.acs === undefined) return {isolated: false, because: 'no ACS capability', missing: acsFlagNames(flags), source: 'acs'}
  if (dev.acs === 'unknown') {
    const change = ctx.acsParams ? acsControlChange(ctx.topology, dev, ctx.acsParams, ctx.version) : undefined
    if (change) return {isolated: 'unknown', because: `ACS registers not shown, and ${change.text}`, missing: [], source: 'acs'}
    if (dev.acsPresentRegistersUnknown && ctx.options.assumeKernelEnablesAcs) {
      return {isolated: true, because: 'ACS capability present; the kernel enables SV RR CR UF on it when the IOMMU is on', missing: [], source: 'acs'}
    }
    return {isolated: 'unknown', because: 'ACS registers not readable', missing: [], source: 'acs'}
  }
  const required = flags & (dev.acs.cap | ACS.EC)
  const enabledByKernel = ctx.options.assumeKernelEnablesAcs ? dev.acs.cap & REQ_ACS_FLAGS : 0
  const change = ctx.acsParams ? acsControlChange(ctx.topology, dev, ctx.acsParams, ctx.version) : undefined
  const changed = change?.apply(dev.acs.ctl, enabledByKernel)
  if (changed === 'unknown') {
    return {isolated: 'unknown', because: `${change?.text ?? ''}: kernels 6.11-6.14 mixed firmware and kernel bits (fixed by 9cf8a952d57b in 6.15)`, missing: [], source: 'acs'}
  }
  if (change && changed !== undefined) {
    const missingMask = required & ~changed
    if (missingMask === 0) return {isolated: true, because: `ACS enables ${acsFlagNames(required).join(' ')} (${change.text})`, missing: [], source: 'acs'}
    const missing = acsFlagNames(missingMask)
    return {isolated: false, because: acsNotEnabledWords(missing, change.text), missing, source: 'acs'}
  }
  const ctl = dev.acs.ctl | enabledByKernel
  const missingMask = required & ~ctl
  if (missingMask === 0) {
    const note = (dev.acs.ctl & required) !== required ? ' (as the kernel sets ACS Control when the IOMMU is on)' : ''
    return {isolated: true, because: `ACS enables ${acsFlagNames(required).join(' ')}${note}`, missing: [], source: 'acs'}
  }
  const missing = acsFlagNames(missingMask)
  return {isolated: false, because: acsNotEnabledWords(missing, ctx.options.acsNotEnabledBecause ?? 'ACS Control as read'), missing, source: 'acs'}
}

/**
 * The required bits a port implements but has off: `required` is masked with the capability
 * (pci_acs_flags_enabled), so these are never bits the port lacks — only bits nobody enabled.
 */
function acsNotEnabledWords(missing: string[], why: string): string {
  return `ACS has ${joinWords(missing)} but ${missing.length === 1 ? 'it is' : 'they are'} not enabled (${why})`
}

/** `pci_acs_enabled(dev, flags)` (§6.1) with the quirk table first. */
export function judgeAcs(ctx: Context, dev: PciFunction, flags: number = REQ_ACS_FLAGS): AcsJudgement {
  const quirk = quirkAcsEnabled(dev, flags, quirkContext(ctx, dev))
  if (quirk) {
    const word = quirk.isolated === true ? 'isolated by' : quirk.isolated === false ? 'not isolated per' : 'unknown under'
    return {
      isolated: quirk.isolated,
      because: `${word} the kernel quirk ${quirk.entry.kernelName} (${quirk.entry.label}: ${quirk.detail})`,
      missing: quirk.isolated === false ? acsFlagNames(flags) : [],
      source: 'quirk',
    }
  }
  const override = overrideAnswer(dev, kernelMultifunction(ctx.topology, dev), ctx.options.acsOverride)
  if (override) {
    return {isolated: true, because: `treated as isolated by ${override} (no real ACS)`, missing: [], source: 'acs-override'}
  }
  if (dev.pcieType === 'unknown') return {isolated: 'unknown', because: 'config space not readable', missing: [], source: 'port-type'}
  if (dev.pcieType === undefined) {
    return {isolated: false, because: 'no PCIe capability, so no ACS (conventional PCI)', missing: acsFlagNames(flags), source: 'conventional-pci'}
  }
  switch (dev.pcieType) {
    case PCIE_TYPE.pcieToPciBridge:
    case PCIE_TYPE.pciToPcieBridge:
    case PCIE_TYPE.rcEventCollector:
      return {isolated: false, because: `${describeKind(dev)}s never provide ACS isolation`, missing: acsFlagNames(flags), source: 'port-type'}
    case PCIE_TYPE.rootPort:
    case PCIE_TYPE.downstreamPort:
      return acsFlagsEnabled(ctx, dev, flags)
    case PCIE_TYPE.endpoint:
    case PCIE_TYPE.legacyEndpoint:
    case PCIE_TYPE.upstreamPort:
    case PCIE_TYPE.rcEndpoint:
      if (!kernelMultifunction(ctx.topology, dev)) return {isolated: true, because: 'single-function device', missing: [], source: 'single-function'}
      if (dev.acs === undefined && ctx.rules.has('mf-without-acs-isolated')) {
        return {isolated: true, because: 'multifunction without ACS, assumed not to loop back P2P (what-if: unmerged pcie_switch_groups series)', missing: [], source: 'kernel-rule'}
      }
      return acsFlagsEnabled(ctx, dev, flags)
    default:
      return {isolated: true, because: 'no ACS rule for this PCIe type', missing: [], source: 'port-type'}
  }
}

/** Judge and remember what was unknown / decided by the override, for the device being grouped. */
function acsEnabled(ctx: Context, dev: PciFunction): AcsJudgement {
  let judgement = ctx.acsMemo.get(dev)
  if (!judgement) {
    judgement = judgeAcs(ctx, dev)
    ctx.acsMemo.set(dev, judgement)
  }
  if (judgement.isolated === 'unknown') ctx.unknowns.add(`${shortBdf(dev.bdf)}: ${judgement.because}`)
  if (judgement.source === 'acs-override') ctx.usedOverride = true
  return judgement
}

const isolatedTrue = (j: AcsJudgement): boolean => j.isolated === true

/** Upstream bridge (bus->self), skipping virtual buses: for a VF the model already gives the PF's parent. */
function upstreamOf(ctx: Context, dev: PciFunction): PciFunction | undefined {
  return dev.parent === undefined ? undefined : ctx.topology.devices.get(dev.parent)
}

/**
 * `pci_acs_path_enabled(start, NULL, REQ_ACS_FLAGS)`: start and every bridge above it to the
 * root bus. Returns the first device that fails (undefined when the whole path isolates).
 */
function acsPathFailure(ctx: Context, start: PciFunction): {dev: PciFunction; judgement: AcsJudgement} | undefined {
  for (let d: PciFunction | undefined = start; d; d = upstreamOf(ctx, d)) {
    const judgement = acsEnabled(ctx, d)
    if (!isolatedTrue(judgement)) return {dev: d, judgement}
  }
  return undefined
}

/** Explicit same-bus DMA aliases (devfns) added by quirks or the IVRS: the kernel's `pdev->dma_alias_mask`. */
export function dmaAliasDevfns(topology: PciTopology, dev: PciFunction, options: AliasOptions = {}): number[] {
  return dmaAliasesOf(topology, dev.bdf, options)
    .filter((a) => a.reason.startsWith('quirk-') || a.reason === 'ivrs-alias')
    .map((a) => a.devfn)
}

function devsAreDmaAliases(ctx: Context, a: PciFunction, b: PciFunction): boolean {
  const aliases = (d: PciFunction): number[] => {
    let list = ctx.aliasMemo.get(d)
    if (!list) {
      list = dmaAliasDevfns(ctx.topology, d, ctx.aliasOptions)
      ctx.aliasMemo.set(d, list)
    }
    return list
  }
  return aliases(a).includes(devfnOf(b)) || aliases(b).includes(devfnOf(a))
}

interface AliasStep {
  dev: PciFunction
  /** Words for why this device's requester id is used. */
  why: string
}

const ALIAS_WORDS: Record<AliasReason, (via: string, rid: string) => string> = {
  'self': () => 'its own requester id',
  'quirk-func0': (_via, rid) => `alias ${rid} (quirk: DMA also from function 0)`,
  'quirk-func1': (_via, rid) => `alias ${rid} (quirk: phantom function 1)`,
  'quirk-fixed': (_via, rid) => `alias ${rid} (quirk: fixed DMA alias)`,
  'quirk-mic-x200': (_via, rid) => `alias ${rid} (quirk: Xeon Phi x200 NTB)`,
  'quirk-pex-vca': (_via, rid) => `alias ${rid} (quirk: Visual Compute Accelerator)`,
  'quirk-plx-ntb': (_via, rid) => `alias ${rid} (quirk: PLX NTB proxies every devfn of its bus)`,
  'pcie-to-pci-bridge': (via, rid) => `PCIe-to-PCI bridge ${via}, which re-tags requests from behind it as ${rid}`,
  'pci-bridge': (via) => `conventional PCI bridge ${via}, which forwards requests with its own requester id`,
  'pci-to-pcie-bridge': (via) => `PCI-to-PCIe bridge ${via}, which forwards requests with its own requester id`,
  'ivrs-alias': (_via, rid) => `alias ${rid} (the firmware's IVRS alias entry, added by the AMD-Vi driver)`,
  'pcie-bridge-alias-quirk': (via, rid) => `bridge ${via} (quirk: PCIe-to-PCI bridge without a PCIe capability), which re-tags requests as ${rid}`,
}

/**
 * `pci_for_each_dma_alias()` (§6.4) as a list of (device owning the alias, why), in the kernel's
 * order: the device, its explicit aliases, then bridges that take over the requester id.
 * The walk itself is src/replay/dma-alias.ts (shared with fault triage).
 */
export function dmaAliasWalk(topology: PciTopology, dev: PciFunction, options: AliasOptions = {}): AliasStep[] {
  const steps: AliasStep[] = []
  for (const alias of dmaAliasesOf(topology, dev.bdf, options)) {
    const owner = topology.devices.get(alias.via) ?? dev
    steps.push({dev: owner, why: ALIAS_WORDS[alias.reason](shortBdf(alias.via), shortBdf(alias.bdf))})
  }
  return steps.length > 0 ? steps : [{dev, why: 'its own requester id'}]
}

function parentOf(topology: PciTopology, dev: PciFunction): PciFunction | undefined {
  return dev.parent === undefined ? undefined : topology.devices.get(dev.parent)
}

/**
 * Same-bus devices that can be DMA aliases of pdev, in bus order: only devices that have alias
 * devfns themselves, or that pdev's aliases name (usually none, so the scan is skipped).
 */
function aliasCandidates(ctx: Context, pdev: PciFunction): PciFunction[] {
  const bus = ctx.byBus.get(busKey(pdev)) ?? []
  let havers = ctx.aliasHavers.get(busKey(pdev))
  if (!havers) {
    havers = new Set(bus.filter((d) => dmaAliasDevfns(ctx.topology, d, ctx.aliasOptions).length > 0))
    ctx.aliasHavers.set(busKey(pdev), havers)
  }
  if (havers.size === 0) return []
  return bus.filter((d) => havers.has(d) || havers.has(pdev))
}

/** `get_pci_alias_group()`: same-bus devices aliasing each other, recursively, with a devfn bitmap. */
function aliasGroup(ctx: Context, pdev: PciFunction, devfns: Set<number>): {group: number; via: PciFunction; kind: JoinKind} | undefined {
  if (devfns.has(devfnOf(pdev))) return undefined
  devfns.add(devfnOf(pdev))
  const own = ctx.groupOf.get(pdev.bdf)
  if (own !== undefined) return {group: own, via: pdev, kind: 'alias-peer'}
  for (const tmp of aliasCandidates(ctx, pdev)) {
    if (tmp === pdev || !devsAreDmaAliases(ctx, pdev, tmp)) continue
    const found = aliasGroup(ctx, tmp, devfns) ?? functionAliasGroup(ctx, tmp, devfns)
    if (found) return found
  }
  return undefined
}

/**
 * `get_pci_function_alias_group()`: non-isolated functions of one multifunction slot. The kernel
 * compares PCI_SLOT(devfn), also below ARI (vtd-reference §6.6 describes the ARI "slot" as the
 * whole bus; the code in drivers/iommu/iommu.c does not), so this does too.
 */
function functionAliasGroup(ctx: Context, pdev: PciFunction, devfns: Set<number>): {group: number; via: PciFunction; kind: JoinKind} | undefined {
  if (!kernelMultifunction(ctx.topology, pdev) || isolatedTrue(acsEnabled(ctx, pdev))) return undefined
  for (const tmp of ctx.byBus.get(busKey(pdev)) ?? []) {
    if (tmp === pdev || slotKey(tmp) !== slotKey(pdev) || isolatedTrue(acsEnabled(ctx, tmp))) continue
    const found = aliasGroup(ctx, tmp, devfns)
    if (found) return {...found, kind: 'multifunction'}
  }
  return undefined
}

/** Why a device is not grouped by the IOMMU at all, or undefined. */
function notGroupedBecause(dev: PciFunction): string | undefined {
  if (dev.classCode >> 8 === 0x0806) return 'this is the IOMMU itself; it is not translated'
  return undefined
}

/** Intel VMD controllers (class 0104) own domains 10000+; with one controller the owner is certain. */
const VMD_DEVICE_IDS = [0x201d, 0x28c0, 0x467f, 0x4c3d, 0x7d0b, 0x9a0b, 0xa77f, 0xad0b, 0xb06f, 0xb60b]
function vmdControllerFor(topology: PciTopology): PciFunction | undefined {
  const vmds = [...topology.devices.values()].filter((d) => d.vendorId === 0x8086 && VMD_DEVICE_IDS.includes(d.deviceId))
  return vmds.length === 1 ? vmds[0] : undefined
}

interface Decision {
  group: number | 'new'
  kind: JoinKind
  via?: PciFunction
  anchor: PciFunction
  culprits: Array<{bdf: string; because: string; missing: string[]}>
  aliasWhy: string[]
}

/** `pci_device_group()` for one device, exactly in the kernel's order (§6.2). */
function deviceGroup(ctx: Context, dev: PciFunction): Decision {
  const culprits: Decision['culprits'] = []
  const aliasWhy: string[] = []
  // 1. DMA alias walk: stop at the first alias device that already has a group.
  //    pci_real_dma_dev(): devices in a VMD domain DMA as the VMD endpoint itself.
  const vmd = dev.segment > 0xffff ? vmdControllerFor(ctx.topology) : undefined
  if (vmd) aliasWhy.push(`VMD controller ${shortBdf(vmd.bdf)} issues the DMA of every device in its domain`)
  let pdev = vmd ?? dev
  for (const step of dmaAliasWalk(ctx.topology, pdev, ctx.aliasOptions)) {
    pdev = step.dev
    if (step.dev !== dev && step.dev !== vmd) aliasWhy.push(step.why)
    const group = ctx.groupOf.get(step.dev.bdf)
    if (group !== undefined) return {group, kind: 'dma-alias', via: step.dev, anchor: step.dev, culprits, aliasWhy}
  }
  // Switchtec NTB aliases live in MMIO tables: any device on such an NTB's bus may alias it.
  for (const peer of ctx.byBus.get(busKey(pdev)) ?? []) {
    const why = switchtecNtbReason(peer)
    if (why) ctx.unknowns.add(why)
  }
  // 2. Upstream ACS walk from the last alias device's bus to the root bus.
  for (let bridge = upstreamOf(ctx, pdev); bridge; bridge = upstreamOf(ctx, bridge)) {
    const failure = acsPathFailure(ctx, bridge)
    if (!failure) break
    culprits.push({bdf: failure.dev.bdf, because: failure.judgement.because, missing: failure.judgement.missing})
    pdev = bridge
    const group = ctx.groupOf.get(bridge.bdf)
    if (group !== undefined) return {group, kind: 'upstream-acs', via: bridge, anchor: bridge, culprits, aliasWhy}
  }
  const devfns = new Set<number>()
  // 3. Same-bus DMA alias peers.  4. Non-isolated functions of a multifunction slot.
  const found = aliasGroup(ctx, pdev, devfns) ?? functionAliasGroup(ctx, pdev, devfns)
  if (found) {
    if (found.kind === 'multifunction') {
      for (const f of [pdev, found.via]) {
        const j = judgeAcs(ctx, f)
        culprits.push({bdf: f.bdf, because: j.because, missing: j.missing})
      }
    }
    return {group: found.group, kind: found.kind, via: found.via, anchor: pdev, culprits, aliasWhy}
  }
  return {group: 'new', kind: 'first', anchor: pdev, culprits, aliasWhy}
}

function culpritWords(c: {bdf: string; because: string}): string {
  return `${shortBdf(c.bdf)} (${c.because})`
}

/** " whose ACS has RR and CR but they are not enabled (…)" / ", which has no ACS capability" / ", whose path … is not isolated: …". */
function culpritClause(culprits: Decision['culprits'], bridge: string | undefined): string {
  const last = culprits[culprits.length - 1]
  if (last && last.bdf === bridge) {
    if (last.because.startsWith('ACS ')) return ` whose ${last.because}`
    return last.because.startsWith('no ') ? `, which has ${last.because}` : ` (${last.because})`
  }
  const seen = [...new Map(culprits.map((c) => [c.bdf, c])).values()]
  return `, whose path to the root is not isolated: ${seen.map(culpritWords).join('; ')}`
}

/** One plain sentence for how a device came to be in its group. */
function joinText(topology: PciTopology, dev: PciFunction, decision: Decision): string {
  const me = shortBdf(dev.bdf)
  const via = decision.via ? shortBdf(decision.via.bdf) : ''
  const aliasPart = decision.aliasWhy.length > 0 ? `: its DMA is seen as coming from ${decision.aliasWhy.join(', then from ')}` : ''
  switch (decision.kind) {
    case 'dma-alias':
      return `${me} shares a requester id with ${via}${aliasPart}`
    case 'upstream-acs':
      return `${me} sits below ${via}${culpritClause(decision.culprits, decision.via?.bdf)}${aliasPart}`
    case 'alias-peer':
      return `${me} and ${via} are DMA aliases of each other on one bus${aliasPart}`
    case 'multifunction': {
      const anchor = decision.anchor === dev ? '' : ` (${me} sits below ${shortBdf(decision.anchor.bdf)})`
      const kind = describeKind(decision.anchor)
      const becauses = [...new Set(decision.culprits.map((c) => c.because))]
      const why = becauses.length === 1 ? `: both: ${becauses[0]}` : `: ${decision.culprits.map(culpritWords).join('; ')}`
      return `${shortBdf(decision.anchor.bdf)} and ${via} are functions of one multifunction ${kind} without ACS isolation${why}${anchor}`
    }
    case 'first': {
      if (decision.anchor !== dev) {
        return `${me} starts a group anchored at ${shortBdf(decision.anchor.bdf)}: ${decision.culprits.map(culpritWords).join('; ')}`
      }
      const parent = parentOf(topology, dev)
      return parent ? `${me} is isolated below ${shortBdf(parent.bdf)}` : `${me} sits on a root bus and gets its own group`
    }
  }
}

function inferIvrs(topology: PciTopology): boolean {
  for (const d of topology.devices.values()) if (d.vendorId === 0x1022 && d.classCode >> 8 === 0x0806) return true
  return false
}

function newContext(topology: PciTopology, options: GroupingOptions, byBus: Map<string, PciFunction[]>): Context {
  const version = parseKernelVersion(options.kernelVersion)
  const acsParams = options.cmdline === undefined ? undefined : parseAcsKernelParams(options.cmdline)
  const hasParams = acsParams !== undefined && acsParams.disableAcsRedir.length + acsParams.configAcs.length > 0
  return {
    version,
    aliasOptions: {...(version ? {kernelVersion: version} : {}), ...(options.ivrsAliases ? {ivrsAliases: options.ivrsAliases} : {})},
    acsParams: hasParams ? acsParams : undefined,
    topology,
    options: {...options, assumeKernelEnablesAcs: options.assumeKernelEnablesAcs ?? true},
    rules: new Set(rulesFor(options).map((r) => r.id)),
    acpiIvrs: options.acpiIvrs ?? (options.ivrsAliases !== undefined || inferIvrs(topology)),
    byBus,
    groupOf: new Map(),
    unknowns: new Set(),
    usedOverride: false,
    acsMemo: new Map(),
    aliasMemo: new Map(),
    aliasHavers: new Map(),
  }
}

/** Predict the IOMMU groups of a topology from its devices alone (ignoring any kernel groups). */
export function replayGrouping(topology: PciTopology, options: GroupingOptions = {}): GroupingPrediction {
  const assume = options.assumeKernelEnablesAcs ?? true
  const rules = rulesFor(options)
  // Bus lists in device-add order: for_each_pci_dev() in get_pci_alias_group() and
  // get_pci_function_alias_group() walks devices in the order the kernel added them.
  const probeOrder = kernelProbeOrder(topology)
  const byBus = new Map<string, PciFunction[]>()
  for (const bdf of probeOrder) {
    const d = topology.devices.get(bdf)
    if (!d) continue
    const list = byBus.get(busKey(d)) ?? []
    list.push(d)
    byBus.set(busKey(d), list)
  }
  let effective = options
  const cmdlineOverride = options.acsOverride === undefined && options.cmdline ? /(?:^|\s)pcie_acs_override=(\S+)/.exec(options.cmdline) : null
  if (cmdlineOverride?.[1]) effective = {...options, acsOverride: parseAcsOverride(cmdlineOverride[1]).override}
  const ctx = newContext(topology, effective, byBus)
  const assumptions: string[] = []
  if (assume) assumptions.push('ACS as the kernel sets it when the IOMMU is on (pci_enable_acs: SV RR CR UF on every ACS-capable port; Intel PCH enable-quirk applied)')
  else assumptions.push(`ACS Control exactly as read (the kernel did not enable ACS${options.acsNotEnabledBecause ? `: ${options.acsNotEnabledBecause}` : ''})`)
  const orphans = new Set<string>()
  for (const d of topology.devices.values()) {
    if (d.parent === undefined && !d.isVirtfn && d.bus !== 0 && !topology.devices.has(d.parent ?? '')) orphans.add(`${d.segment.toString(16).padStart(4, '0')}:${d.bus.toString(16).padStart(2, '0')}`)
  }
  for (const bus of orphans) assumptions.push(`bus ${bus} has no upstream bridge in the input; treated as below an isolated root port`)

  const groups: PredictedGroup[] = []
  const notGrouped: GroupingPrediction['notGrouped'] = []
  if (cmdlineOverride?.[1]) assumptions.push(`pcie_acs_override=${cmdlineOverride[1]} from the kernel command line applied (out-of-tree patch: only if this kernel carries it, which its log shows as "PCIe ACS overrides enabled")`)
  for (const e of ctx.acsParams?.disableAcsRedir ?? []) assumptions.push(`pci=disable_acs_redir names ${e.spec.text}: RR, CR and EC cleared there (even with the IOMMU off)`)
  for (const e of ctx.acsParams?.configAcs ?? []) assumptions.push(`pci=config_acs names ${e.spec.text}: ACS Control set as the parameter says (even with the IOMMU off)`)
  if (ctx.version && ctx.acsParams?.configAcs.length && !versionAtLeast(ctx.version, [6, 11])) assumptions.push('pci=config_acs= is ignored: the parameter exists from 6.11')
  for (const error of options.cmdline ? parseAcsKernelParams(options.cmdline).errors : []) assumptions.push(`kernel parameter not applied: ${error}`)
  if (options.ivrsAliases !== undefined)
    assumptions.push(
      `AMD IOMMU: the firmware's IVRS table read; its ${options.ivrsAliases.length} alias range(s) applied as the kernel applies them ` +
        `(a same-bus alias becomes a PCI DMA alias: setup_aliases() from 5.5 whenever it differs from the device, get_alias() before only where PCI implies no alias)`,
    )
  else if (ctx.acpiIvrs && options.acpiIvrs === undefined) {
    assumptions.push('AMD IOMMU present: pci_quirk_amd_sb_acs and any IVRS alias entries depend on the firmware\'s IVRS table, which this input does not include')
  }
  for (const bdf of probeOrder) {
    const dev = topology.devices.get(bdf)
    if (!dev) continue
    const skip = notGroupedBecause(dev)
    if (skip) {
      notGrouped.push({bdf, why: skip})
      continue
    }
    ctx.unknowns = new Set()
    ctx.usedOverride = false
    const decision = deviceGroup(ctx, dev)
    let group: PredictedGroup
    if (decision.group === 'new') {
      group = {id: groups.length, devices: [], members: [], reasons: [], uncertain: [], splitByAcsOverride: false}
      groups.push(group)
    } else {
      // Decisions only ever name groups allocated earlier in this loop.
      group = groups[decision.group] as PredictedGroup
    }
    const text = joinText(topology, dev, decision)
    const joined: JoinReason = {kind: decision.kind, via: decision.via?.bdf ?? decision.anchor.bdf, culprits: decision.culprits, text}
    group.devices.push(bdf)
    group.members.push({bdf, role: isBridge(dev) ? 'bridge' : 'endpoint', joined})
    if (decision.kind !== 'first' || decision.anchor !== dev) group.reasons.push(text)
    for (const u of ctx.unknowns) if (!group.uncertain.includes(u)) group.uncertain.push(u)
    if (ctx.usedOverride && decision.group === 'new') group.splitByAcsOverride = true
    ctx.groupOf.set(bdf, group.id)
  }
  for (const rule of rules) assumptions.push(`kernel rule: ${rule.text}`)
  return {groups, groupOf: ctx.groupOf, notGrouped, assumptions, rules, probeOrder}
}

// ---------------------------------------------------------------------------------------------
// Per-device verdicts, slots, what-if

export interface DeviceIsolation {
  bdf: string
  group: number | undefined
  verdict: 'isolated' | 'shares-with-endpoints' | 'only-with-bridges' | 'not-grouped' | 'unknown'
  /** Endpoints that must be assigned (or unbound) together with this device. */
  mustGoWith: string[]
  /** Bridges in the group (may stay with the host). */
  bridges: string[]
  text: string
}

export function deviceIsolation(prediction: GroupingPrediction, topology: PciTopology, bdf: string): DeviceIsolation {
  const groupId = prediction.groupOf.get(bdf)
  const group = groupId === undefined ? undefined : prediction.groups[groupId]
  if (!group) {
    const why = prediction.notGrouped.find((n) => n.bdf === bdf)?.why ?? 'not in the topology'
    return {bdf, group: undefined, verdict: 'not-grouped', mustGoWith: [], bridges: [], text: `${shortBdf(bdf)}: no IOMMU group (${why})`}
  }
  const others = group.members.filter((m) => m.bdf !== bdf)
  const mustGoWith = others.filter((m) => m.role === 'endpoint').map((m) => m.bdf)
  const bridges = others.filter((m) => m.role === 'bridge').map((m) => m.bdf)
  const me = shortBdf(bdf)
  const own = group.members.find((m) => m.bdf === bdf)
  const why = group.reasons.length > 0 ? ` because ${group.reasons.join('; ')}` : ''
  if (group.uncertain.length > 0 && others.length > 0) {
    return {bdf, group: group.id, verdict: 'unknown', mustGoWith, bridges, text: `${me}: grouping depends on facts that could not be read (${group.uncertain.join('; ')})`}
  }
  if (mustGoWith.length > 0) {
    return {bdf, group: group.id, verdict: 'shares-with-endpoints', mustGoWith, bridges, text: `${me} must be assigned together with ${mustGoWith.map(shortBdf).join(', ')}${why}`}
  }
  if (bridges.length > 0) {
    return {bdf, group: group.id, verdict: 'only-with-bridges', mustGoWith, bridges, text: `${me} shares its group only with bridges ${bridges.map(shortBdf).join(', ')}, which may stay with the host${why}`}
  }
  const dev = topology.devices.get(bdf)
  const override = group.splitByAcsOverride ? ' (only because of pcie_acs_override: NOT truly isolated)' : ''
  return {bdf, group: group.id, verdict: 'isolated', mustGoWith, bridges, text: `${me} is alone in its group${override}${own && dev ? `: ${own.joined.text}` : ''}`}
}

export interface IsolatingSlot {
  /** The root port or downstream port. */
  port: string
  kind: string
  /** Endpoints currently below it. */
  occupiedBy: string[]
  /** 'unknown' when some ACS on the path could not be read. */
  verdict: 'isolates' | 'unknown'
}

/**
 * Ports (root ports and switch downstream ports) whose whole path to the root has ACS: a
 * single-function card placed below one of them gets a group of its own.
 */
export function isolatingSlots(topology: PciTopology, options: GroupingOptions = {}): IsolatingSlot[] {
  const ctx = newContext(topology, options, new Map())
  const slots: IsolatingSlot[] = []
  for (const d of topology.devices.values()) {
    if (d.pcieType !== PCIE_TYPE.rootPort && d.pcieType !== PCIE_TYPE.downstreamPort) continue
    const failure = acsPathFailure(ctx, d)
    if (failure && failure.judgement.isolated === false) continue
    slots.push({
      port: d.bdf,
      kind: describeKind(d),
      occupiedBy: d.children.filter((c) => !isBridge(topology.devices.get(c) ?? d)),
      verdict: failure ? 'unknown' : 'isolates',
    })
  }
  return slots
}

/** Parse `downstream,multifunction,id:8086:1901` (the kernel parameter's syntax); errors as data. */
export function parseAcsOverride(text: string): {override: AcsOverride; errors: string[]} {
  const override: AcsOverride = {downstream: false, multifunction: false, ids: []}
  const errors: string[] = []
  for (const raw of text.split(',')) {
    const item = raw.trim().toLowerCase()
    if (item === '') continue
    if (item === 'downstream') override.downstream = true
    else if (item === 'multifunction') override.multifunction = true
    else {
      const match = /^id:([0-9a-f]{4}):([0-9a-f]{4})$/.exec(item)
      if (!match) errors.push(`"${raw.trim()}" is not downstream, multifunction or id:VVVV:DDDD`)
      else if (override.ids.length >= 16) errors.push('more than 16 ids (the kernel logs "Out of PCIe ACS override slots")')
      else override.ids.push({vendor: Number.parseInt(match[1] ?? '0', 16), device: Number.parseInt(match[2] ?? '0', 16)})
    }
  }
  return {override, errors}
}

export const ACS_OVERRIDE_WARNING =
  'pcie_acs_override is an out-of-tree patch: it tells the kernel that devices WITHOUT ACS isolate peer-to-peer ' +
  'traffic when they do not. Groups it splits are not truly isolated: a device in one of them can still DMA to its ' +
  'neighbours without the IOMMU seeing it (kernel warning: "PCIe ACS overrides enabled; This may allow non-IOMMU ' +
  'protected peer-to-peer DMA").'

// ---------------------------------------------------------------------------------------------
// Cross-check: the kernel's groups (iommuGroup on each function) against the prediction

export interface GroupMismatch {
  /** kernel-split: we predicted one group, the kernel made several; kernel-merged: the reverse. */
  kind: 'kernel-split' | 'kernel-merged'
  devices: string[]
  actualGroups: number[]
  predictedGroups: number[]
  likelyCause: string
  outcome: 'warn' | 'unknown'
}

export interface GroupCrossCheck {
  /** Devices with both an actual and a predicted group. */
  compared: number
  agree: boolean
  mismatches: GroupMismatch[]
  /** Devices the kernel grouped but the prediction did not (or the reverse). */
  onlyActual: string[]
  onlyPredicted: string[]
}

export interface CrossCheckEvidence {
  cmdline?: string
  kernelLog?: string
  kernelVersion?: string
}

const OVERRIDE_LOG = /PCIe ACS overrides enabled/
const PCH_QUIRK_FAILED = /Failed to enable Intel PCH ACS quirk/

export function acsOverrideActive(evidence: CrossCheckEvidence): string | undefined {
  const param = evidence.cmdline ? /(?:^|\s)pcie_acs_override=(\S+)/.exec(evidence.cmdline) : null
  if (param) return `pcie_acs_override=${param[1]} on the kernel command line`
  if (evidence.kernelLog && OVERRIDE_LOG.test(evidence.kernelLog)) return 'the kernel log shows "PCIe ACS overrides enabled"'
  return undefined
}

function culpritsOf(group: PredictedGroup | undefined, devices: string[]): string[] {
  if (!group) return []
  const out: string[] = []
  for (const m of group.members) {
    if (!devices.includes(m.bdf)) continue
    for (const c of m.joined.culprits) {
      const words = `${shortBdf(c.bdf)} (${c.because})`
      if (!out.includes(words)) out.push(words)
    }
  }
  return out
}

export function crossCheckGroups(topology: PciTopology, prediction: GroupingPrediction, evidence: CrossCheckEvidence = {}): GroupCrossCheck {
  const actualOf = new Map<string, number>()
  for (const d of topology.devices.values()) if (d.iommuGroup !== undefined) actualOf.set(d.bdf, d.iommuGroup)
  const compared = [...actualOf.keys()].filter((b) => prediction.groupOf.has(b))
  const onlyActual = [...actualOf.keys()].filter((b) => !prediction.groupOf.has(b))
  const onlyPredicted = [...prediction.groupOf.keys()].filter((b) => !actualOf.has(b))
  const mismatches: GroupMismatch[] = []
  const override = acsOverrideActive(evidence)
  const version = parseKernelVersion(evidence.kernelVersion)

  // Predicted groups the kernel split.
  for (const group of prediction.groups) {
    const members = group.devices.filter((b) => actualOf.has(b))
    const actualIds = [...new Set(members.map((b) => actualOf.get(b) ?? -1))]
    if (actualIds.length <= 1) continue
    const culprits = culpritsOf(group, members)
    let likelyCause: string
    let outcome: GroupMismatch['outcome'] = 'warn'
    if (group.uncertain.length > 0) {
      likelyCause = `config space we could not read decided this: ${group.uncertain.join('; ')}`
      outcome = 'unknown'
    } else if (override) {
      likelyCause = `ACS override patch active (${override}): the kernel treats ports/functions without ACS as isolated — not truly isolated`
    } else {
      likelyCause = `the kernel treats as isolated what this replay does not: ${culprits.join('; ') || 'see reasons'} — likely an ACS quirk this tool does not know (newer kernel) or a stable backport of one`
    }
    mismatches.push({kind: 'kernel-split', devices: members, actualGroups: actualIds.sort((a, b) => a - b), predictedGroups: [group.id], likelyCause, outcome})
  }
  // Actual groups the prediction split.
  const actualGroups = new Map<number, string[]>()
  for (const b of compared) {
    const id = actualOf.get(b) ?? -1
    actualGroups.set(id, [...(actualGroups.get(id) ?? []), b])
  }
  for (const [id, members] of actualGroups) {
    const predictedIds = [...new Set(members.map((b) => prediction.groupOf.get(b) ?? -1))]
    if (predictedIds.length <= 1) continue
    const uncertain = predictedIds.flatMap((p) => prediction.groups[p]?.uncertain ?? [])
    let likelyCause: string
    let outcome: GroupMismatch['outcome'] = 'warn'
    if (uncertain.length > 0) {
      likelyCause = `config space we could not read decided this: ${uncertain.join('; ')}`
      outcome = 'unknown'
    } else if (evidence.kernelLog && PCH_QUIRK_FAILED.test(evidence.kernelLog)) {
      likelyCause = 'the Intel PCH ACS enable-quirk failed at boot ("Failed to enable Intel PCH ACS quirk" in the log)'
    } else if (version && version[0] === 5 && version[1] === 9) {
      likelyCause = 'Linux 5.9 skipped the Intel PCH ACS enable-quirk (regression fixed in 5.10)'
    } else {
      likelyCause =
        'the kernel did not isolate where the ACS registers say it could: ACS redirect may be disabled (disable_acs_redir=, config_acs=), ' +
        'a quirk may be missing from this kernel (older kernel), or ACS was read before the kernel enabled it'
    }
    mismatches.push({kind: 'kernel-merged', devices: members, actualGroups: [id], predictedGroups: predictedIds.sort((a, b) => a - b), likelyCause, outcome})
  }
  return {compared: compared.length, agree: mismatches.length === 0, mismatches, onlyActual, onlyPredicted}
}
