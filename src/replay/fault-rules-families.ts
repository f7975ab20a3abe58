/**
 * Fault rules for the other IOMMU families, as data in the same engine as the VT-d rules
 * (fault-rules.ts: the same conditions, facts and first-match order): AMD-Vi event-log faults and
 * Arm SMMU (v3 events, v1/v2 context faults). Each rule is a cause class that real bug threads
 * established (test/fixtures/fault-cases, the family: line); where the log only narrows the
 * candidates the rule says "cannot tell" and lists them. No rule advises iommu=pt, amd_iommu=off or
 * iommu.passthrough=1: none of the corpus threads established turning translation off as the fix.
 */
import type {Evidence} from '../checks/outcome.js'
import type {EventGroup, Explanation} from './fault-triage.js'
import type {FaultCategory, FaultFacts, FaultRule} from './fault-rules.js'
import {fixedIn, regressionNamed} from './kernel-regressions.js'
import {explainKnownRegression, kernelRulesOut, knownRegression} from './regression-words.js'

const hex = (v: bigint | number) => '0x' + v.toString(16)

/** Drivers of GPUs whose IOMMU faults the amdgpu/radeon threads trace to the GPU driver or its firmware. */
const GPU_DRIVERS = new Set(['amdgpu', 'radeon'])

/**
 * Devices whose faults on AMD platforms a driver workaround already handles (the thread and the
 * driver's commit name it): driver → what is known.
 */
const KNOWN_DEVICE_ISSUES: Record<string, {category: FaultCategory; summary: string; remediation: string[]}> = {
  cx23885: {
    category: 'device-quirk',
    summary: 'a known cx23885 (Hauppauge) DMA problem on AMD Ryzen chipsets: the card\'s RISC DMA engine stalls and faults; the driver detects "dma in progress" and resets it (the 2018 "Ryzen DMA related RiSC engine stall fixes")',
    remediation: ['use a kernel with the cx23885 Ryzen DMA workaround (dma_reset_workaround module parameter, on by default on affected chipsets)', 'occasional faults followed by "dma in progress detected … clearing" are the workaround recovering'],
  },
  thunderbolt: {
    category: 'firmware-dma',
    summary: 'most likely the Thunderbolt controller\'s connection-manager firmware (ICM; Intel Maple Ridge) writing to host memory before the driver set up its rings, when nothing is connected at driver load',
    remediation: ['update the kernel: the thunderbolt driver works around the firmware DMA at load', 'update the Thunderbolt controller firmware'],
  },
}

/** The driver the log (or the host) names for the requester; "pci" in a 5.x+ AMD-Vi line means none. */
function driverOf(x: FaultFacts): string | undefined {
  return x.g.driver ?? x.drivers[0]
}

/** The requester is bound to vfio-pci: the host's driver, or the log's vfio-pci lines for it. */
function vfioHeld(x: FaultFacts): boolean {
  return driverOf(x) === 'vfio-pci' || x.facts.driverLines.get(x.g.requester)?.drivers.has('vfio-pci') === true
}

function noDriver(x: FaultFacts): boolean {
  if (x.g.driver !== undefined) return x.g.driver === 'pci'
  return x.trace !== undefined && x.trace.devices.length > 0 && x.trace.devices.every((d) => d.driver === undefined)
}

/** The requester in words: the device and its driver, or the StreamID on its SMMU. */
function who(x: FaultFacts): string {
  const g = x.g
  if (g.family === 'amd-vi') {
    if (g.requester === '(not printed)') return 'a device the line does not name'
    const d = g.driver ?? x.drivers[0]
    return `${g.requester}${d === undefined ? '' : d === 'pci' ? ' (no driver bound)' : ` (${d})`}`
  }
  const sid = g.streamId === undefined ? '' : `StreamID ${hex(g.streamId)}`
  const cb = / cb (\d+)$/.exec(g.requester)
  if (cb !== null && sid === '') return `a master of context bank ${cb[1]} on SMMU ${g.unit ?? '?'} (the line gives no StreamID)`
  if (g.requester.includes(' sid ') || g.requester === g.unit) return `${sid || 'a master'} on SMMU ${g.unit ?? '?'}${traced(x)}`
  return `${g.requester}${sid ? ` (${sid})` : ''}`
}

/** The PCI functions the IORT traces an SMMU StreamID to: " (0000:00:01.0, no driver)", " (one of …, via the alias of …)". */
function traced(x: FaultFacts): string {
  const devices = x.trace?.devices ?? []
  if (devices.length === 0) return ''
  const list = devices.map((d) => `${d.bdf}${d.driver ? `, driver ${d.driver}` : ', no driver'}`).join('; ')
  const via = devices.find((d) => d.relation === 'alias')?.via
  return ` (${devices.length > 1 ? 'one of ' : ''}${list}${via === undefined ? '' : `, through ${via}'s DMA alias`})`
}

const at = (x: FaultFacts) => (x.g.otherPages ? 'many other pages' : x.g.address === undefined ? 'an address the line does not show' : hex(x.g.address))
const did = (x: FaultFacts) => (x.g.access === 'write' ? 'wrote to' : x.g.access === 'read' ? 'read' : 'accessed')
const notTold = (x: FaultFacts) => (x.ctx.topology === undefined ? 'the log alone does not tell' : 'neither the log nor this host tells')
const flag = (x: FaultFacts, name: string) => x.g.flagNames?.includes(name) === true

const UNMAPPED_CANDIDATES = [
  'DMA after unmap: the driver freed or unmapped the buffer while the device (or a descriptor it cached) still used it',
  'a driver or firmware bug handing the device an address it never mapped through the DMA API',
  'in a VM: a guest address VFIO does not map',
]
const UNMAPPED_REMEDIATION = [
  'update the kernel, the driver and the device firmware; report the line upstream with the driver version',
  'iommu.strict=1 makes use-after-unmap fault at once instead of later, which helps the driver author',
]

/** Cites the firmware-bug line the kernel printed while checking the IVRS table. */
function firmwareCite(x: FaultFacts): Evidence[] {
  const c = x.facts.contexts.get('amd-vi-firmware-bug')
  return c === undefined ? [] : [{fact: `the kernel reported an IVRS firmware bug: ${c.detail ?? ''}`, source: `${x.source}:${c.line}`}]
}

/** Device-table entry bits (AMD IOMMU spec, Linux amd_iommu_types.h DTE_FLAG_*): valid, translation valid, paging mode, PPR. */
const DTE_V = 1n
const DTE_TV = 2n
const DTE_MODE = 7n << 9n
const DTE_PPR = 1n << 52n
/** Control register: Enhanced PPR handling enable (CONTROL_EPH_EN). */
const CONTROL_EPH_EN = 1n << 45n
/** The bug a PPR entry without EPHEn most likely shows, as the regression table states it. */
const EPH_LOST_ON_RESUME = regressionNamed('amdvi-resume-eph-disabled')

/**
 * The first device-table entry word (DTE[0]) and the Control register the kernel dumped after the
 * group's ILLEGAL_DEV_TABLE_ENTRY event (attached to the group like a DMAR walk dump), with the line.
 */
function dumpedDte(x: FaultFacts): {dte0: bigint; control?: bigint; line: string} | undefined {
  let control: bigint | undefined
  for (const l of x.g.walkDump) {
    const c = /AMD-Vi: Control Reg : 0x([0-9a-f]+)/.exec(l)
    if (c !== null && control === undefined) control = BigInt('0x' + c[1]!)
    const m = /AMD-Vi: DTE\[0\]: ([0-9a-f]{16})/.exec(l)
    if (m !== null) return {dte0: BigInt('0x' + m[1]!), ...(control === undefined ? {} : {control}), line: l.split(':')[0]!}
  }
  return undefined
}

type DumpedDte = NonNullable<ReturnType<typeof dumpedDte>>

/** An ILLEGAL_DEV_TABLE_ENTRY rule read from the entry the kernel dumped: a kernel bug the entry shows, named first. */
function dteRule(id: string, shows: (d: DumpedDte, x: FaultFacts) => boolean, words: (x: FaultFacts, d: DumpedDte) => {summary: string; causes: string[]; remediation: string[]}): FaultRule {
  return {
    id,
    category: 'kernel-bug',
    certainty: 'cannot-tell',
    when: {events: ['ILLEGAL_DEV_TABLE_ENTRY'], also: (x) => {
      const d = dumpedDte(x)
      return d !== undefined && shows(d, x)
    }},
    explain: (x) => {
      const d = dumpedDte(x)!
      return {...words(x, d), evidence: [{fact: `the kernel dumped the rejected entry: DTE[0] ${hex(d.dte0)}`, source: `${x.source}:${d.line}`}]}
    },
  }
}

/** Rules both families share, with the family's own conditions. */
/**
 * The IOMMU driver warned inside its own map/page-table code (context iommu-map-warning) in a log
 * with DMA faults: the faults follow a mapping the driver failed to build or left inconsistent.
 * Real case: amdvi-smartpqi-increase-address-space-race (WARN_ON_ONCE(domain->mode ==
 * PAGE_MODE_6_LEVEL) in increase_address_space(), drivers/iommu/amd_iommu.c, under memory pressure;
 * fixed by making the page-table growth atomic). Shared by VT-d (fault-rules.ts) and AMD-Vi.
 */
export const iommuMapWarning = (id: string, when: FaultRule['when']): FaultRule => ({
  id,
  category: 'kernel-bug',
  when: {...when, context: ['iommu-map-warning']},
  explain: (x) => {
    const c = x.facts.contexts.get('iommu-map-warning')!
    return {
      summary: `${who(x)} ${did(x)} ${at(x)} after the kernel's IOMMU driver warned inside its own mapping code (${c.detail ?? 'a map/page-table function'}): the mapping the device uses was not built, or was built inconsistently, by the kernel — an IOMMU driver bug, not the device's driver`,
      causes: ['a race or state bug in the IOMMU driver\'s page-table code (AMD: growing a domain\'s page table to more levels while another CPU maps, fixed in 5.4/5.5)',
        'an IOMMU driver mapping an IOVA that is already mapped ("PTE … already set") after a bookkeeping bug'],
      remediation: ['update the kernel (stable series) and report the WARNING with its call trace to the IOMMU maintainers', 'the faulting device\'s driver is a victim here: its errors stop with the fixed kernel'],
      evidence: [{fact: `the IOMMU driver warned in ${c.detail ?? 'its mapping code'} (a WARNING in drivers/iommu/)`, source: `${x.source}:${c.line}`}],
    }
  },
})
const removedDevice = (id: string): FaultRule => ({
  id,
  category: 'stale-dma',
  when: {requester: 'removed'},
  explain: (x) => ({
    summary: `${who(x)} was removed from its IOMMU group (line ${x.facts.removed.get(x.g.requester)}) while it was still doing DMA`,
    causes: ['hot-unplug, sysfs remove or unbind of a device whose driver did not stop it first'],
    remediation: ['stop the device\'s users and unbind its driver before removing it'],
  }),
})
const addressZero = (id: string, when: FaultRule['when']): FaultRule => ({
  id,
  category: 'address-zero',
  certainty: 'cannot-tell',
  when: {...when, address: 'zero'},
  explain: (x) => ({
    summary: `${who(x)} ${did(x)} ${x.g.address === 0n ? 'address 0' : `${at(x)}, in the zero page (a null pointer plus an offset)`}: it used a descriptor or buffer pointer nobody programmed; ${notTold(x)} which of these it is`,
    causes: ['the device is active before its driver programmed it (firmware left it running), or uses a register the driver never set', 'a driver or user-space driver handing the device a null DMA address'],
    remediation: ['update the driver and the device firmware; report the fault line to the driver maintainers'],
  }),
})

export const AMD_VI_RULES: readonly FaultRule[] = [
  removedDevice('amd-vi-removed-device'),
  iommuMapWarning('amd-vi-iommu-map-warning', {events: ['IO_PAGE_FAULT'], kind: 'dma'}),
  // One rule per known device: the category is the device's.
  ...Object.entries(KNOWN_DEVICE_ISSUES).map(([driver, k]): FaultRule => ({
    id: `amd-vi-known-${driver}`,
    category: k.category,
    when: {events: ['IO_PAGE_FAULT'], also: (x) => driverOf(x) === driver},
    explain: (x) => ({summary: `${who(x)}: ${k.summary}`, causes: [k.summary], remediation: k.remediation}),
  })),
  {
    id: 'amd-vi-known-kernel-regression',
    category: 'kernel-bug',
    when: {also: (x) => knownRegression(x) !== undefined},
    explain: (x) => explainKnownRegression(x, who(x)),
  },
  {
    id: 'amd-vi-interrupt-not-remapped',
    category: 'msi-not-remapped',
    certainty: 'cannot-tell',
    when: {kind: 'interrupt', events: ['IO_PAGE_FAULT']},
    explain: (x) => ({
      summary: `${who(x)} sent an interrupt that found no valid interrupt-remapping entry (IO_PAGE_FAULT with the I flag); ${notTold(x)} why`,
      causes: ['an IOAPIC or HPET the IVRS table maps to the wrong device ID (a firmware bug the kernel may report at boot)', 'a device firing an MSI before its driver set up its interrupt-remapping entry, or after it was torn down',
        'a hypervisor rewriting the interrupt-remapping entry in two halves while the device fires (Xen\'s AMD-Vi code until its 2025 fix made the update atomic)'],
      remediation: ['update the firmware; if the kernel reported an IVRS IOAPIC/HPET problem, ivrs_ioapic[ID]=BDF / ivrs_hpet[ID]=BDF override the table', 'update the kernel and the device driver'],
      evidence: firmwareCite(x),
    }),
  },
  {
    id: 'amd-vi-no-driver',
    category: 'firmware-dma',
    when: {events: ['IO_PAGE_FAULT'], also: noDriver},
    explain: (x) => ({
      summary: `${who(x)} has no driver bound, so its DMA domain maps nothing: the DMA to ${at(x)} was started by something other than a kernel driver`,
      causes: ['firmware or a previous kernel/driver left the device running', 'a user-space tool programming the device directly', 'the device DMA-ing on its own after a reset'],
      remediation: ['bind the device\'s driver (or vfio-pci if it is meant for a VM) so it is quiesced and owned', `if it should be idle, reset it (echo 1 | sudo tee /sys/bus/pci/devices/${x.g.requester}/reset) and find who programs it`],
    }),
  },
  {
    id: 'amd-vi-vfio',
    category: 'guest-passthrough',
    when: {events: ['IO_PAGE_FAULT'], also: (x) => driverOf(x) === 'vfio-pci'},
    explain: (x) => ({
      summary: `${who(x)} is bound to vfio-pci: the guest programmed ${at(x)}, an address VFIO has not mapped`,
      causes: ['the guest rebooted or reset while the device kept DMA-ing (a GPU without a working reset)', 'the guest driver uses an address outside the guest memory map', 'a vIOMMU in the guest without the matching mappings'],
      remediation: ['check the guest: driver version and a device reset between guest boots (vendor-reset for AMD GPUs without FLR)', 'stop the guest and see whether the faults stop'],
    }),
  },
  {
    id: 'amd-vi-gpu-driver',
    category: 'gpu-driver',
    certainty: 'cannot-tell',
    when: {events: ['IO_PAGE_FAULT'], also: (x) => GPU_DRIVERS.has(driverOf(x) ?? '')},
    explain: (x) => ({
      summary: `the GPU ${who(x)} ${did(x)} ${at(x)}, which its driver has not mapped: an amdgpu driver or GPU firmware problem; ${notTold(x)} which`,
      causes: [
        'a GPU hang or reset (ring timeout, SMU/PSP error) leaving the GPU DMA-ing with stale addresses',
        'an amdgpu driver bug mapping or unmapping buffers (display, GART, KFD/ROCm) — fixed in newer kernels',
        'GPU firmware (linux-firmware amdgpu blobs) older than the driver expects',
      ],
      remediation: ['update the kernel and linux-firmware; report it on gitlab.freedesktop.org/drm/amd with the full dmesg', 'look for amdgpu errors (ring timeout, GPU reset) just before the faults: they are the cause, the IOMMU fault the symptom'],
    }),
  },
  addressZero('amd-vi-address-zero', {events: ['IO_PAGE_FAULT']}),
  {
    // As the VT-d rule legacy-low-memory-dma: the kernel's IOVA allocator never hands out the first MiB.
    id: 'amd-vi-legacy-low-memory',
    category: 'firmware-dma',
    when: {events: ['IO_PAGE_FAULT'], kind: 'dma', address: 'legacy-low'},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, in the first MiB (legacy BIOS memory the DMA API never hands out): DMA set up by firmware, not by a driver, into memory the IVRS table gives no unity map (IVMD)`,
      causes: ['BIOS legacy USB emulation or an option ROM left the device DMA-ing into its low-memory buffers (southbridge OHCI/EHCI controllers are the usual ones)', 'a hypervisor that maps the low 1 MiB for its first domain only late in boot (Xen PVH dom0 before its fix)'],
      remediation: ['disable legacy USB support / CSM in firmware setup if unused', 'update the firmware (the missing IVMD) and the kernel or hypervisor'],
    }),
  },
  {
    // AMD logs carry no "translation is up" line to compare with: early faults may equally come from the driver's own bring-up.
    id: 'amd-vi-early-boot',
    category: 'firmware-dma',
    certainty: 'cannot-tell',
    when: {events: ['IO_PAGE_FAULT'], timing: 'early-boot'},
    explain: (x) => ({
      summary: `${who(x)} did DMA ${x.g.first.time?.text ?? ''}s after boot, while the kernel was still bringing devices up; ${notTold(x)} whether the firmware or the device's driver started it`,
      causes: ['a boot-time firmware driver (UEFI GOP framebuffer, PXE, USB, NVMe) left the device DMA-ing, without an IVMD (unity map) in the IVRS table for it', 'the device\'s driver bringing it up (a GPU enabling its GART) before its buffers were mapped'],
      remediation: ['harmless only if it stops once the driver loads and the device then works', 'update the firmware and the kernel; report a missing IVMD to the platform vendor'],
    }),
  },
  {
    id: 'amd-vi-permission',
    category: 'wrong-direction',
    certainty: 'cannot-tell',
    when: {events: ['IO_PAGE_FAULT'], also: (x) => flag(x, 'PR') && flag(x, 'PE') && !flag(x, 'TR')},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, a page mapped for it but not for ${x.g.access === 'write' ? 'writing' : 'reading'} (flags PR PE); ${notTold(x)} which of these it is`,
      causes: x.g.access === 'write'
        ? ['a wrong DMA direction: the buffer was mapped DMA_TO_DEVICE (read-only for the device) and the device writes it', 'DMA after unmap: the IOVA was reused for a read-only mapping while the device still wrote to the old buffer']
        : ['a wrong DMA direction: the buffer was mapped DMA_FROM_DEVICE (write-only for the device) and the device (or its firmware) reads it', 'DMA after unmap: the IOVA was reused for a write-only mapping'],
      remediation: ['report it to the driver maintainers: the mapping direction of that buffer is wrong (or the device firmware misbehaves)', 'update the driver and the device firmware'],
    }),
  },
  {
    // As the VT-d rule dma-api-mapping-gone: the IOVA allocator starts just below 4 GiB, where x86 has no RAM.
    id: 'amd-vi-dma-api-mapping-gone',
    category: 'unmapped-dma',
    certainty: 'cannot-tell',
    when: {events: ['IO_PAGE_FAULT'], kind: 'dma', address: 'dma-api-window'},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, which is not mapped for it${flag(x, 'PR') ? '' : ' (not present)'}: an address the DMA API hands out (IOVAs are allocated top-down from 4 GiB, and no RAM lies in the 64 MiB below 4 GiB on x86), so a mapping a driver made that is gone, not a firmware or user-space buffer; ${notTold(x)} why it was gone`,
      causes: [UNMAPPED_CANDIDATES[0]!,
        'the IOMMU driver dropping a mapping that was still live (a kernel regression: compare the kernel release with known AMD-Vi fixes)',
        'in a VM: a guest IOVA its vIOMMU no longer maps'],
      remediation: UNMAPPED_REMEDIATION,
    }),
  },
  {
    id: 'amd-vi-unmapped',
    category: 'unmapped-dma',
    certainty: 'cannot-tell',
    when: {events: ['IO_PAGE_FAULT']},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, which is not mapped for it${flag(x, 'PR') ? '' : ' (not present)'}; ${notTold(x)} which of these it is`,
      causes: UNMAPPED_CANDIDATES,
      remediation: UNMAPPED_REMEDIATION,
    }),
  },
  {
    // vfio-pci powers an unused device down (runtime PM, since 5.19); the host listing shows it there.
    id: 'amd-vi-iotlb-timeout-vfio-idle-d3',
    category: 'kernel-bug',
    when: {events: ['IOTLB_INV_TIMEOUT'], also: (x) => vfioHeld(x) && x.ctx.topology?.devices.get(x.g.requester)?.powerState === 'D3hot'},
    explain: (x) => ({
      summary: `${who(x)} is bound to vfio-pci and the host's listing shows it in D3 (powered down) while no guest used it: vfio-pci's idle runtime power management put it there, and the device then failed to answer IOTLB invalidations in time — the kernel behaviour that 7ab5e10eda02 ("vfio/pci: Move the unused device into low power state with runtime PM", 5.19) introduced, a regression for devices like this one`,
      causes: ['vfio-pci runtime PM moving the idle device into D3 (hot, or cold where the platform can cut power): the device stops answering ATS invalidations',
        'the device hung or failed its reset, if the faults continue with idle D3 disabled'],
      remediation: ['boot with vfio_pci.disable_idle_d3=1 (keeps idle vfio devices in D0) and report it to the vfio maintainers with the kernel version and lspci -vvv of the device',
        'or keep the device bound to its own driver until the VM starts'],
      evidence: [{fact: `${x.g.requester}: bound to vfio-pci, power state D3 in the listing's PM capability status`, source: x.ctx.topology!.source}],
    }),
  },
  {
    id: 'amd-vi-iotlb-timeout',
    category: 'device-tlb',
    when: {events: ['IOTLB_INV_TIMEOUT']},
    explain: (x) => {
      // A device vfio-pci holds may be powered down between guests: a device in D3cold answers no invalidation.
      const vfio = vfioHeld(x)
      return {
        summary: `${who(x)}'s ATS translation cache did not answer an IOTLB invalidation in time: the device stopped responding${vfio ? ' (the log shows it bound to vfio-pci, i.e. assigned to a VM)' : ''}`,
        causes: [
          ...(vfio ? ['the device powered down while vfio-pci holds it: since 5.19 vfio-pci moves an unused device into D3cold with runtime PM (7ab5e10eda02 "vfio/pci: Move the unused device into low power state with runtime PM"), and a device without power answers no invalidation — a regression for some GPUs'] : []),
          'the device hung or is in reset (a GPU whose reset failed in passthrough, a surprise removal)', 'broken ATS in the device firmware'],
        remediation: [
          ...(vfio ? ['test with vfio_pci.disable_idle_d3=1 (keeps idle devices powered); if that helps, report it to the vfio maintainers with the kernel version'] : []),
          'find what happened to the device just before (reset failures, link down); a GPU without a working reset needs a host reboot or vendor-reset', 'update the device firmware; pci=noats turns ATS off for all devices'],
      }
    },
  },
  // The dump shows the entry, not the IOMMU's feature register: named first, not certain.
  dteRule('amd-vi-illegal-dte-ppr-without-eph',
    // A kernel the log names outside the bug's releases (one with ef75966abf95) rules it out.
    (d, x) => (d.dte0 & DTE_V) !== 0n && (d.dte0 & DTE_PPR) !== 0n && (d.control === undefined || (d.control & CONTROL_EPH_EN) === 0n) && !kernelRulesOut(x, EPH_LOST_ON_RESUME),
    (x, d) => ({
      summary: `the IOMMU rejected ${who(x)}'s device-table entry, and the entry the kernel dumped enables peripheral page requests (DTE[0] ${hex(d.dte0)}: PPR, bit 52)${d.control === undefined ? '' : ` while the Control register (${hex(d.control)}) has Enhanced PPR handling (EPHEn, bit 45) off`}: an AMD IOMMU that supports Enhanced PPR handling rejects such entries unless the kernel turned it on — most likely that kernel bug, though the log does not show the IOMMU's feature register`,
      causes: [`a kernel that enables PPR (I/O page faults) for the device — amdgpu/KFD since the IOPF support of 6.10, ${EPH_LOST_ON_RESUME.introducedBy} — without setting EPHEn, or that loses it across suspend/resume: fixed by ${EPH_LOST_ON_RESUME.fix.commit} ("${EPH_LOST_ON_RESUME.fix.subject}"), in ${fixedIn(EPH_LOST_ON_RESUME)}`,
        'another mismatch between the entry and what this IOMMU supports (a kernel or firmware bug)'],
      remediation: [`update the kernel to one with ${EPH_LOST_ON_RESUME.fix.commit} (${fixedIn(EPH_LOST_ON_RESUME)}, or a later stable release)`, 'until then: avoid suspend, or report it with this dump and the kernel version to the AMD IOMMU maintainers'],
    })),
  // An untranslated entry is legal on a host without SEV-SNP: named first, not certain.
  dteRule('amd-vi-illegal-dte-untranslated',
    (d) => (d.dte0 & (DTE_V | DTE_TV)) === (DTE_V | DTE_TV) && (d.dte0 & DTE_MODE) === 0n && (d.dte0 & DTE_PPR) === 0n,
    (x, d) => ({
      summary: `the IOMMU rejected ${who(x)}'s device-table entry, and the entry the kernel dumped lets its DMA through untranslated (DTE[0] ${hex(d.dte0)}: TV set, paging mode 0 — an identity/passthrough domain): an AMD IOMMU with SEV-SNP enabled rejects untranslated entries, so most likely the device was put in an identity domain on an SNP host; the log does not show whether SNP is on`,
      causes: ['an identity (passthrough) domain on a host with SEV-SNP enabled — iommu=pt, or a group switched to "identity" through /sys/kernel/iommu_groups/N/type: Linux refuses it (8388f7df936b), but the identity-domain rework 4402f2627d30 skipped the check until ba17de98545d',
        'a device-table entry with a setting this IOMMU does not support (a kernel bug)'],
      remediation: ['put the group back in a translated domain (echo DMA > /sys/kernel/iommu_groups/N/type with its driver unbound) and do not use identity domains on SNP hosts', 'update the kernel to one with ba17de98545d, which refuses the identity domain when SNP is on'],
    })),
  {
    id: 'amd-vi-illegal-dte',
    category: 'device-table',
    certainty: 'cannot-tell',
    when: {events: ['ILLEGAL_DEV_TABLE_ENTRY']},
    explain: (x) => ({
      summary: `the IOMMU found ${who(x)}'s device-table entry invalid and rejected its request; ${notTold(x)} why`,
      causes: ['a requester ID the IVRS table does not describe (a hidden function or an alias the firmware gets wrong), so its entry was never set up', 'a kernel bug writing the device-table entry (reserved bits, a mode the IOMMU does not support)'],
      remediation: ['update the firmware and the kernel; compare the device ID with `vtd-check ivrs`', 'report it with the kernel version and the IVRS table'],
      evidence: firmwareCite(x),
    }),
  },
  {
    id: 'amd-vi-invalid-device-request',
    category: 'invalid-request',
    certainty: 'cannot-tell',
    when: {events: ['INVALID_DEVICE_REQUEST']},
    explain: (x) => ({
      summary: `${who(x)} sent a request its device-table entry does not allow (an ATS translation request, a translated request or a PRI request with those disabled); ${notTold(x)} why`,
      causes: ['a device or bridge issuing ATS/translated requests the kernel did not enable for it', 'an IVRS table that describes the device wrongly (firmware)'],
      remediation: ['update the firmware and the kernel; report the device ID and the IVRS table'],
    }),
  },
  {
    id: 'amd-vi-ppr',
    category: 'page-request',
    certainty: 'cannot-tell',
    when: {events: ['INVALID_PPR_REQUEST']},
    explain: (x) => ({
      summary: `${who(x)} sent a page request (PRI) the IOMMU could not accept`,
      causes: ['a device using PRI/SVA (amdgpu KFD) with a PASID that is not bound'],
      remediation: ['update the kernel and the driver'],
    }),
  },
  {
    id: 'amd-vi-table-hardware-error',
    category: 'platform-error',
    certainty: 'cannot-tell',
    when: {events: ['PAGE_TAB_HARDWARE_ERROR', 'DEV_TAB_HARDWARE_ERROR']},
    explain: (x) => ({
      summary: `the IOMMU could not read a translation table for ${who(x)} (a host bus error)`,
      causes: ['memory errors or a hung fabric', 'a kernel bug freeing a table the IOMMU still walks'],
      remediation: ['check for machine-check / EDAC errors at the same time', 'update the BIOS and the kernel'],
    }),
  },
  {
    id: 'amd-vi-other',
    category: 'cannot-tell',
    certainty: 'cannot-tell',
    when: {},
    explain: (x) => ({
      summary: `${who(x)}: ${x.g.event ?? 'AMD-Vi event'} — ${x.g.eventMeaning ?? ''}; the cause cannot be told`,
      causes: [],
      remediation: ['report the line with the kernel version'],
    }),
  },
]

/** SMMU event names by what they mean for a rule. */
const NO_STREAM_ENTRY = ['C_BAD_STREAMID', 'unknown-stream']
const NOT_ATTACHED = ['C_BAD_STE', 'F_STREAM_DISABLED', 'C_BAD_SUBSTREAMID', 'C_BAD_CD']
const WALK_ABORTS = ['F_STE_FETCH', 'F_CD_FETCH', 'F_WALK_EABT', 'F_VMS_FETCH']

const fsr = (x: FaultFacts, bit: string) => x.g.event === 'context-fault' && flag(x, bit)
/** The SMMU the fault came through is Xen's: Xen names it by device-tree path, Linux by platform device name. */
const xenSmmu = (x: FaultFacts) => x.g.unit?.startsWith('/') === true
/** GITS_TRANSLATER is at 0x10040 in a GICv3 ITS: offset 0x40 of the (4 KiB or 64 KiB) page iommu-dma maps as the MSI doorbell. */
const ITS_DOORBELL_OFFSET = 0x40n

export const SMMU_RULES: readonly FaultRule[] = [
  removedDevice('smmu-removed-device'),
  {
    id: 'smmu-no-stream-entry',
    category: 'no-stream-entry',
    when: {events: NO_STREAM_ENTRY},
    explain: (x) => ({
      summary: `${who(x)} did DMA, but the SMMU has no stream table entry (v3) or stream-match entry (v2) for it: the kernel never attached that master, so the SMMU aborts its traffic`,
      causes: [
        'no driver probed the device (or it probed without the SMMU), yet it does DMA — firmware or a boot loader left it running',
        'the firmware\'s IORT ID mapping (ACPI) or the device tree\'s iommus/iommu-map gives the device a different StreamID from the one it uses (missing or wrong mapping, a bridge alias)',
      ],
      remediation: ['compare the StreamID with the IORT ID mappings (`vtd-check iort`) or the DT iommu-map; fix the firmware table', 'bind the device\'s driver so the kernel attaches it', 'arm-smmu.disable_bypass=0 (v1/v2) lets unknown streams through unprotected — only as a stop-gap on trusted hardware'],
    }),
  },
  {
    id: 'smmu-stream-match-conflict',
    category: 'kernel-bug',
    when: {events: ['stream-match-conflict']},
    explain: (x) => ({
      summary: `${who(x)} matched more than one stream-match entry of the SMMU (GFSR.SMCF): the SMMU driver programmed two entries for one StreamID — masters that share a StreamID each got their own entry instead of sharing one`,
      causes: [
        'an SMMU driver that allocates a new stream-match entry per device without reusing one already programmed for the same StreamID (Linux fixed it in 4.9 by tracking and sharing stream-map entries; ports of the old driver, such as Xen\'s, kept the bug)',
        'a device tree or IORT that gives two masters the same StreamID with different masks',
      ],
      remediation: ['update the kernel or hypervisor to a driver that shares stream-map entries', 'check the iommus/iommu-map (or IORT) StreamIDs of the masters behind this SMMU for duplicates'],
    }),
  },
  {
    id: 'smmu-not-attached',
    category: 'no-domain',
    certainty: 'cannot-tell',
    when: {events: NOT_ATTACHED},
    explain: (x) => ({
      summary: `${who(x)} has a stream table entry, but it is not valid for this access (${x.g.event}): the master is not attached to a domain; ${notTold(x)} why`,
      causes: ['DMA while the device has no domain: before its driver attached it, after unbind, or while it changes hands (vfio-pci)', 'a PASID (SubstreamID) without a context descriptor'],
      remediation: ['quiesce the device before unbinding or rebinding it', 'update the kernel and the device firmware'],
    }),
  },
  {
    id: 'smmu-ats-forbidden',
    category: 'invalid-request',
    certainty: 'cannot-tell',
    when: {events: ['F_TRANSL_FORBIDDEN', 'F_BAD_ATS_TREQ']},
    explain: (x) => ({
      summary: `${who(x)} sent an ATS translation request or an already-translated transaction its stream table entry does not allow (${x.g.event}); ${notTold(x)} why`,
      causes: ['a device using ATS that the kernel did not enable ATS for (STE.EATS clear) or whose SMMU stream is in bypass', 'a firmware description (IORT root-complex ATS attribute, StreamID mapping) that does not match the hardware'],
      remediation: ['compare the StreamID with the IORT mappings (`vtd-check iort`) and the root complex\'s ATS attribute; report it to the platform vendor', 'pci=noats stops the devices from using ATS'],
    }),
  },
  {
    id: 'smmu-walk-abort',
    category: 'platform-error',
    certainty: 'cannot-tell',
    when: {also: (x) => WALK_ABORTS.includes(x.g.event ?? '') || fsr(x, 'EF')},
    explain: (x) => ({
      summary: `the SMMU got an external abort fetching its tables for ${who(x)} (${x.g.event === 'context-fault' ? 'FSR.EF' : x.g.event}); ${notTold(x)} why`,
      causes: ['table memory the SMMU cannot reach or read coherently (wrong dma-coherent / memory attributes in the firmware description)', 'memory or interconnect errors'],
      remediation: ['check the SMMU\'s coherency description in the DT or IORT', 'update the firmware and the kernel'],
    }),
  },
  {
    id: 'smmu-address-size',
    category: 'address-width',
    certainty: 'cannot-tell',
    when: {also: (x) => x.g.event === 'F_ADDR_SIZE' || fsr(x, 'ASF')},
    explain: (x) => ({
      summary: `${who(x)} presented ${at(x)}, wider than the SMMU's configured address size`,
      causes: ['a DMA mask larger than the SMMU input size', 'a corrupted address'],
      remediation: ['check the device\'s DMA mask and the SMMU\'s input size (dma-ranges)', 'update the driver'],
    }),
  },
  addressZero('smmu-address-zero', {also: (x) => x.g.event === 'F_TRANSLATION' || fsr(x, 'TF')}),
  {
    id: 'smmu-early-boot',
    category: 'firmware-dma',
    certainty: 'cannot-tell',
    when: {timing: 'early-boot', also: (x) => x.g.event === 'F_TRANSLATION' || fsr(x, 'TF')},
    explain: (x) => ({
      summary: `${who(x)} did DMA ${x.g.first.time?.text ?? ''}s after boot, while the kernel was still bringing devices up; ${notTold(x)} whether the boot loader, the firmware or the device's own driver started it`,
      causes: ['a display or other engine the boot loader left running (the SMMU starts translating under it)', 'firmware DMA without a reserved-memory / RMR description', 'the device\'s driver starting it before its buffers were mapped'],
      remediation: ['describe the boot-time buffer to the kernel (IORT RMR, DT iommu-addresses / reserved-memory) or let the driver take over the device first', 'update the firmware'],
    }),
  },
  {
    id: 'smmu-permission',
    category: 'wrong-direction',
    certainty: 'cannot-tell',
    when: {also: (x) => x.g.event === 'F_PERMISSION' || (fsr(x, 'PF') && !fsr(x, 'TF'))},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, a page mapped for it without that permission; ${notTold(x)} which of these it is`,
      causes: ['a wrong DMA direction (a buffer mapped for the other direction)', 'DMA after unmap: the IOVA was reused with other permissions'],
      remediation: ['report it to the driver maintainers with the fault lines', 'update the driver and the device firmware'],
    }),
  },
  {
    // Xen names an SMMU by its device-tree path ("/smmuv3@9050000", "/axi/smmu@fd800000"), Linux by its
    // platform device ("9050000.smmuv3"). Xen maps a domain's memory 1:1, so an MSI reaches the IOMMU as the
    // doorbell's own address: GITS_TRANSLATER, 0x10040 into the 64 KiB-aligned ITS, ends in 0x0040.
    id: 'smmu-xen-its-doorbell',
    category: 'kernel-bug',
    when: {access: 'write', also: (x) => xenSmmu(x) && (x.g.event === 'F_TRANSLATION' || fsr(x, 'TF')) && x.g.address !== undefined && (x.g.address & 0xffffn) === ITS_DOORBELL_OFFSET},
    explain: (x) => ({
      summary: `${who(x)} wrote to ${at(x)} through Xen's SMMU driver, which has no mapping there: 0x10040 into a 64 KiB frame is where a GICv3 ITS has its doorbell (GITS_TRANSLATER), so most likely an MSI — Xen did not map the ITS doorbell into the IOMMU page tables of the domain that owns the device`,
      causes: ['Xen on Arm not mapping the ITS doorbell page for the domain (the "xen/arm: Map ITS doorbell register to IOMMU page tables" series of 2025 adds the mapping; Xen without it faults every MSI of a device behind an SMMU)',
        'an ordinary DMA write that happens to start at that address (unlikely: in a 1:1-mapped domain an MSI hits exactly the doorbell\'s address)'],
      remediation: ['compare the address with the ITS in the device tree (its base + 0x10040)', 'use a Xen that maps the ITS doorbell for the domain, or report it on xen-devel with these lines and the ITS base'],
    }),
  },
  {
    id: 'smmu-msi-doorbell',
    category: 'msi-not-remapped',
    // Named from the address's page offset alone: a DMA write that starts there looks the same.
    certainty: 'cannot-tell',
    when: {access: 'write', also: (x) => (x.g.event === 'F_TRANSLATION' || fsr(x, 'TF')) && x.g.address !== undefined && (x.g.address & 0xfffn) === ITS_DOORBELL_OFFSET},
    explain: (x) => ({
      summary: `${who(x)} wrote to ${at(x)}, an unmapped IOVA at offset 0x40 of its page — where a GICv3 ITS doorbell (GITS_TRANSLATER) sits in the page the kernel maps for MSIs: most likely an MSI whose doorbell page the device's current domain does not map, though a DMA write that starts at that offset looks the same`,
      causes: ['the MSI doorbell mapped into another domain than the one the device is attached to (iommu-dma in 5.3-rc1 mapped it into the default domain instead of the VFIO domain of an assigned VF)',
        'a hypervisor or VMM that does not map the ITS doorbell for the device (Xen on Arm before it mapped GITS_TRANSLATER for dom0 devices; a vSMMU or nested setup missing the guest\'s MSI mapping)',
        'a device firing an MSI/MSI-X with an address its driver did not give it, or after that mapping went away (a PCIe endpoint\'s MSI-X write racing the unmap of its outbound window)',
        'an ordinary DMA write into an unmapped page that starts at offset 0x40'],
      remediation: ['compare the address with the device\'s MSI/MSI-X address (lspci -vv) and the kernel\'s msi reserved region (/sys/kernel/iommu_groups/N/reserved_regions)', 'update the kernel or hypervisor; report the event with the kernel version and how the device is assigned'],
    }),
  },
  {
    id: 'smmu-unmapped',
    category: 'unmapped-dma',
    certainty: 'cannot-tell',
    when: {also: (x) => x.g.event === 'F_TRANSLATION' || x.g.event === 'F_ACCESS' || fsr(x, 'TF') || fsr(x, 'AFF')},
    explain: (x) => ({
      summary: `${who(x)} ${did(x)} ${at(x)}, an IOVA with no translation; ${notTold(x)} which of these it is`,
      causes: UNMAPPED_CANDIDATES,
      remediation: UNMAPPED_REMEDIATION,
    }),
  },
  {
    id: 'smmu-other',
    category: 'cannot-tell',
    certainty: 'cannot-tell',
    when: {},
    explain: (x) => ({
      summary: `${who(x)}: ${x.g.event ?? 'SMMU event'} — ${x.g.eventMeaning ?? ''}; the cause cannot be told`,
      causes: [],
      remediation: ['report the lines (with the raw event dwords) and the kernel version'],
    }),
  },
]

type EventWords = Omit<Explanation, 'rule' | 'evidence'>

/** AMD-Vi events of the IOMMU itself (no requester): what each one means. */
const AMD_VI_EVENT_WORDS: Record<string, EventWords> = {
  COMPLETION_WAIT_TIMEOUT: {
    category: 'iommu-hang', certainty: 'cannot-tell',
    summary: 'the IOMMU stopped completing commands ("Completion-Wait loop timed out"): invalidations no longer finish, so DMA and the kernel stall; the log alone does not tell why',
    causes: ['a device that stopped answering ATS invalidations (IOTLB_INV_TIMEOUT lines name it; often a GPU whose reset failed)', 'an IOMMU or platform hang (firmware, hardware)', 'a kernel bug in the IOMMU command queue'],
    remediation: ['look for IOTLB_INV_TIMEOUT or device reset failures just before: that device is the cause', 'update the BIOS and the kernel'],
  },
  COMMAND_HARDWARE_ERROR: {
    category: 'platform-error', certainty: 'cannot-tell',
    summary: 'the IOMMU could not read its command buffer (a host bus error)', causes: ['memory or fabric errors', 'a kernel bug'], remediation: ['check for machine-check / EDAC errors; update the BIOS and the kernel'],
  },
  ILLEGAL_COMMAND_ERROR: {
    category: 'kernel-bug', certainty: 'likely',
    summary: 'the kernel put an illegal command in the IOMMU command buffer: an IOMMU driver bug', causes: ['a kernel (or hypervisor) IOMMU driver bug'], remediation: ['update the kernel; report it with this line'],
  },
}

/** The explanation of an AMD-Vi event that names no requester. */
export function explainAmdViEvent(g: Omit<EventGroup, 'explanation'>, evidence: Evidence[]): Explanation {
  const w = AMD_VI_EVENT_WORDS[g.event]
  if (w !== undefined) return {rule: `amd-vi-${g.event.toLowerCase()}`, ...w, evidence}
  return {rule: 'amd-vi-event', category: 'cannot-tell', certainty: 'cannot-tell', summary: `AMD-Vi ${g.event}: the cause cannot be told from this line`, causes: [], remediation: ['report the line with the kernel version'], evidence}
}

/** What the AMD-Vi firmware-table lines mean on their own. */
export const AMD_VI_CONTEXT_WORDS = {
  'amd-vi-firmware-bug': {
    category: 'firmware-table', certainty: 'likely',
    summary: 'the IVRS table is wrong (the kernel reports a [Firmware Bug]: e.g. an IOAPIC or HPET not in the IVRS table): interrupt remapping may be disabled or devices misdescribed',
    causes: ['a BIOS whose IVRS table does not list the southbridge IOAPIC or HPET with the device ID the hardware uses'],
    remediation: ['update the BIOS', 'ivrs_ioapic[ID]=BDF and ivrs_hpet[ID]=BDF give the kernel the missing mapping (the kernel message or the vendor names the values)'],
  },
  'amd-vi-ir-disabled': {
    category: 'firmware-table', certainty: 'likely',
    summary: 'the kernel disabled AMD-Vi interrupt remapping because the IVRS table failed its checks',
    causes: ['an IVRS table without the IOAPIC/HPET entries interrupt remapping needs (a firmware bug)'],
    remediation: ['update the BIOS; ivrs_ioapic[ID]=BDF supplies a missing IOAPIC entry', 'without interrupt remapping, VFIO assignment needs allow_unsafe_interrupts (an isolation risk)'],
  },
} satisfies Record<string, EventWords>
