/** Interrupt checks: remapping on (VFIO needs it), x2APIC, posted interrupts, the unsafe opt-out. */
import {guestInterruptRemappingAdvice, readAdvice, rootAdvice} from './remediation.js'
import type {AssessmentContext} from './context.js'
import type {Evidence} from './outcome.js'
import {DOCS, PATHS, WORDING, intelOnly, needsActiveIommu, plural} from './shared.js'
import {ev, verdict, type HostCheck, type Verdict} from './types.js'
import {amdInterruptRemappingBlockers, amdPosted, amdX2apic} from './amd-vi.js'

type IrState = {active: boolean | undefined; evidence: Evidence[]}

/** Is interrupt remapping on? `IR-` chips in /proc/interrupts are proof without root (§10.4). */
export function interruptRemappingState(ctx: AssessmentContext): IrState {
  const evidence: Evidence[] = []
  const interrupts = ctx.host.platform.interrupts
  const chipsListed = interrupts.ok && /IO-APIC|PCI-MSI|PCI-MSIX|MSI/.test(interrupts.value)
  if (ctx.irInInterrupts) evidence.push(ev('interrupt chips carry the IR- prefix (IR-IO-APIC / IR-PCI-MSI)', PATHS.interrupts))
  else if (chipsListed) evidence.push(ev('no IR- prefixed interrupt chip', PATHS.interrupts))
  if (ctx.logFacts.irEnabledMode) evidence.push(ev(`"Enabled IRQ remapping in ${ctx.logFacts.irEnabledMode} mode"`, ctx.log.source))
  if (ctx.logFacts.amdViActive && /AMD-Vi: Interrupt remapping enabled/.test(ctx.log.lines.join('\n'))) evidence.push(ev('"AMD-Vi: Interrupt remapping enabled"', ctx.log.source))
  for (const line of ctx.logFacts.irFailed.slice(0, 3)) evidence.push(ev(line, ctx.log.source))
  if (ctx.logFacts.vfioNoIr) evidence.push(ev('VFIO refused a group: "No interrupt remapping support"', ctx.log.source))
  const positive = ctx.irInInterrupts || ctx.logFacts.irEnabledMode !== undefined || evidence.some((e) => e.fact.includes('AMD-Vi: Interrupt remapping enabled'))
  if (positive) return {active: true, evidence}
  if (chipsListed || ctx.logFacts.irFailed.length > 0 || ctx.cmdline?.intremap.off) return {active: false, evidence}
  return {active: undefined, evidence}
}

function irBlockers(ctx: AssessmentContext): {evidence: Evidence[]; remediation: string[]} {
  const evidence: Evidence[] = []
  const remediation: string[] = []
  if (ctx.cmdline?.intremap.off) {
    evidence.push(ev(`${ctx.cmdline.intremap.via ?? 'intremap=off'} on the command line`, PATHS.cmdline))
    remediation.push(`remove \`${ctx.cmdline.intremap.via ?? 'intremap=off'}\` from the kernel command line`)
  }
  const flags = ctx.dmar.table?.flags
  if (flags && !flags.intrRemap) {
    evidence.push(ev('DMAR flag INTR_REMAP (bit 0) is clear: firmware says the platform has no interrupt remapping', PATHS.dmar))
    remediation.push('enable interrupt remapping / "X2APIC" in the firmware setup, or update the firmware')
  }
  const noIr = ctx.units.filter((u) => u.ir === false)
  if (noIr.length > 0) {
    evidence.push(ev(`ECAP.IR=0 on ${noIr.map((u) => u.unit.name).join(', ')}`, `${PATHS.iommuClass}/*/intel-iommu/ecap`))
    if (noIr.some((u) => u.cachingMode)) remediation.push(guestInterruptRemappingAdvice(ctx.hypervisor))
  }
  if (ctx.logFacts.irFailed.some((l) => /erratum/.test(l))) remediation.push('Intel 5500/5520/X58 erratum: the kernel disables IR on purpose; update the BIOS (newer versions fix the erratum)')
  if (ctx.iommuFamily === 'amd-vi') {
    // AMD-Vi turns IR off when the IVRS misses the southbridge IOAPIC: "[Firmware Bug]: … IOAPIC[n] not in IVRS table".
    const amd = amdInterruptRemappingBlockers(ctx)
    evidence.push(...amd.evidence)
    remediation.push(...amd.remediation)
  }
  return {evidence, remediation}
}

/**
 * Arm has no interrupt remapping: MSIs are isolated when the GICv3/v4 ITS translates them (it tags
 * each MSI with the device ID), which VFIO accepts as isolated MSI; GICv2m gives no isolation.
 */
function armMsiIsolation(ctx: AssessmentContext): Verdict {
  const interrupts = ctx.host.platform.interrupts
  if (!interrupts.ok) return verdict('unknown', 'could not read /proc/interrupts to see the MSI controller', [ev(interrupts.message, PATHS.interrupts)])
  if (/\bITS-(?:PCI-)?MSI/.test(interrupts.value))
    return verdict('pass', 'MSIs go through the GIC ITS, which tags them with the device ID: isolated MSI, as VFIO requires (Arm has no interrupt remapping)', [ev('ITS-MSI interrupt chips', PATHS.interrupts)])
  return verdict('warn', 'no GIC ITS MSI domain in /proc/interrupts: without it (e.g. GICv2m) MSIs are not isolated and VFIO refuses devices unless allow_unsafe_interrupts=1', [ev('no ITS-MSI interrupt chip', PATHS.interrupts)])
}

const remapping: HostCheck = {
  id: 'interrupts.remapping',
  title: 'Interrupt remapping active',
  category: 'interrupts',
  scope: 'host',
  reads: [PATHS.interrupts, PATHS.dmar, `${PATHS.iommuClass}/*/intel-iommu/ecap`, PATHS.cmdline, 'dmesg'],
  docs: DOCS.vfio,
  assess(ctx): Verdict {
    if (ctx.iommuVendor === 'none') return verdict('not-applicable', 'no IOMMU on this host: see platform.dma-remapping')
    if (ctx.iommuFamily === 'arm-smmu-v3') return armMsiIsolation(ctx)
    const state = interruptRemappingState(ctx)
    if (state.active === true) return verdict('pass', `interrupt remapping is active${ctx.logFacts.irEnabledMode ? ` (${ctx.logFacts.irEnabledMode} mode)` : ''}`, state.evidence)
    const blockers = irBlockers(ctx)
    if (state.active === false)
      return verdict(
        'fail',
        WORDING.irOff,
        [...state.evidence, ...blockers.evidence],
        blockers.remediation.length > 0 ? blockers.remediation : [ctx.iommuFamily === 'amd-vi' ? 'enable the IOMMU in the firmware; do not use intremap=off' : 'enable VT-d (with interrupt remapping) in the firmware; do not use intremap=off'],
      )
    return verdict('unknown', 'could not tell whether interrupt remapping is on (/proc/interrupts and the kernel log unreadable)', [...state.evidence, ...blockers.evidence], [rootAdvice(ctx.host)])
  },
}

const x2apic: HostCheck = {
  id: 'interrupts.x2apic',
  title: 'x2APIC mode (firmware opt-out)',
  category: 'interrupts',
  scope: 'host',
  reads: [PATHS.dmar, `${PATHS.iommuClass}/*/amd-iommu/features`, PATHS.cpuinfo, PATHS.cmdline, 'dmesg'],
  docs: DOCS.kernelParams,
  assess(ctx) {
    if (ctx.iommuFamily === 'amd-vi') return amdX2apic(ctx, interruptRemappingState(ctx).active)
    const skip = intelOnly(ctx)
    if (skip) return skip
    const ir = interruptRemappingState(ctx)
    if (ir.active === false) return verdict('not-applicable', 'interrupt remapping is off, so x2APIC remapping does not apply: see interrupts.remapping')
    const evidence: Evidence[] = []
    const optOutFlag = ctx.dmar.table?.flags?.x2apicOptOut
    if (optOutFlag !== undefined) evidence.push(ev(`DMAR flag X2APIC_OPT_OUT (bit 1) ${optOutFlag ? 'set' : 'clear'}`, PATHS.dmar))
    if (ctx.logFacts.x2apicOptOut) evidence.push(ev('"x2apic is disabled because BIOS sets x2apic opt out bit"', ctx.log.source))
    if (ctx.logFacts.irEnabledMode) evidence.push(ev(`IRQ remapping in ${ctx.logFacts.irEnabledMode} mode`, ctx.log.source))
    const override = ctx.cmdline?.intremap.noX2apicOptout === true
    if (override) evidence.push(ev('intremap=no_x2apic_optout overrides the firmware request', PATHS.cmdline))
    const optedOut = (optOutFlag === true || ctx.logFacts.x2apicOptOut) && !override
    if (optedOut || (ctx.logFacts.irEnabledMode === 'xapic' && ctx.cpu.flags.has('x2apic') && !override))
      return verdict(
        'warn',
        'interrupt remapping runs in xAPIC mode (firmware x2APIC opt-out): works, but limits APIC IDs to 255 and is slower',
        evidence,
        ['enable "x2APIC" in the firmware setup, or add `intremap=no_x2apic_optout` to the kernel command line'],
      )
    if (ctx.logFacts.irEnabledMode === 'x2apic') return verdict('pass', 'interrupt remapping in x2APIC mode', evidence)
    if (optOutFlag === false || (ctx.logFacts.irEnabledMode === 'xapic' && !ctx.logFacts.x2apicOptOut)) {
      // The units `vtd-check units` decodes (sysfs, else the boot lines), so both name the same cause.
      const noEim = ctx.remappingUnits.units.filter((u) => u.ecapDecoded?.interruptRemapping && !u.ecapDecoded.extendedInterruptMode)
      if (noEim.length > 0) evidence.push(ev(`ECAP.EIM=0 on ${noEim.map((u) => u.name).join(', ')}`, noEim[0]?.source ?? `${PATHS.iommuClass}/*/intel-iommu/ecap`))
      const xapic = ctx.logFacts.irEnabledMode === 'xapic'
      if (noEim.length > 0 && xapic) return verdict('pass', `no firmware x2APIC opt-out; ${WORDING.noEim}`, evidence)
      return verdict('pass', !ctx.cpu.flags.has('x2apic') && xapic ? 'no firmware x2APIC opt-out; xAPIC mode because the CPU has no x2APIC' : 'no firmware x2APIC opt-out', evidence)
    }
    const dmarRead = ctx.dmar.read
    return verdict('unknown', 'could not read the DMAR flags or the kernel log', evidence, [!dmarRead.ok && dmarRead.refused !== undefined ? readAdvice(ctx.host, dmarRead) : rootAdvice(ctx.host)])
  },
}

const posted: HostCheck = {
  id: 'interrupts.posted',
  title: 'Posted interrupts (VT-d CAP.PI, AMD-Vi GA/vAPIC)',
  category: 'interrupts',
  scope: 'host',
  reads: [`${PATHS.iommuClass}/*/intel-iommu/cap`, `${PATHS.iommuClass}/*/amd-iommu/features`, PATHS.cmdline],
  docs: DOCS.vtdSpec,
  assess(ctx) {
    if (ctx.iommuFamily === 'amd-vi') return needsActiveIommu(ctx) ?? amdPosted(ctx)
    const skip = intelOnly(ctx) ?? needsActiveIommu(ctx)
    if (skip) return skip
    const known = ctx.units.filter((u) => u.postedInterrupts !== undefined)
    if (known.length === 0) return verdict('unknown', 'no readable CAP register', [ev('cap unreadable', `${PATHS.iommuClass}/*/intel-iommu/cap`)])
    const withPi = known.filter((u) => u.postedInterrupts)
    const evidence = [ev(`CAP.PI set on ${withPi.length} of ${plural(known.length, 'unit')}`, `${PATHS.iommuClass}/*/intel-iommu/cap`)]
    if (ctx.cmdline?.intremap.nopost) {
      evidence.push(ev('intremap=nopost', PATHS.cmdline))
      return verdict('warn', 'posted interrupts disabled by intremap=nopost: guest interrupts go through the host', evidence, ['remove `intremap=nopost` unless it works around a known problem'])
    }
    if (withPi.length === known.length) return verdict('pass', 'posted interrupts supported: device interrupts reach vCPUs without a VM exit', evidence)
    return verdict('warn', `posted interrupts not supported (CAP.PI=0 on ${known.length - withPi.length} of ${plural(known.length, 'unit')}): assigned devices work, with a VM exit per interrupt`, evidence)
  },
}

const unsafeInterrupts: HostCheck = {
  id: 'interrupts.vfio-unsafe',
  title: 'VFIO allow_unsafe_interrupts off',
  category: 'interrupts',
  scope: 'host',
  reads: [PATHS.allowUnsafe, PATHS.cmdline],
  docs: DOCS.vfio,
  assess(ctx) {
    const param = ctx.host.platform.allowUnsafeInterrupts
    const onCmdline = ctx.cmdline?.allowUnsafeInterrupts === true
    const live = param.ok ? /^(Y|1)/i.test(param.value.trim()) : undefined
    const evidence: Evidence[] = []
    if (param.ok) evidence.push(ev(`allow_unsafe_interrupts = ${param.value.trim()}`, PATHS.allowUnsafe))
    if (onCmdline) evidence.push(ev('vfio_iommu_type1.allow_unsafe_interrupts=1 on the command line', PATHS.cmdline))
    if (live === true || onCmdline)
      return verdict(
        'warn',
        'VFIO accepts devices without interrupt remapping: a guest can inject arbitrary MSIs into the host',
        evidence,
        ['drop `vfio_iommu_type1.allow_unsafe_interrupts=1` (kernel command line or /etc/modprobe.d/*.conf) once interrupt remapping works'],
      )
    if (!param.ok && param.reason === 'unreadable') return verdict('unknown', 'could not read the vfio_iommu_type1 parameter', [ev(param.message, PATHS.allowUnsafe)])
    if (!param.ok) evidence.push(ev('vfio_iommu_type1 not loaded (default is off)', PATHS.allowUnsafe))
    return verdict('pass', 'unsafe interrupts are not allowed (VFIO insists on interrupt remapping)', evidence)
  },
}

export const INTERRUPT_CHECKS: HostCheck[] = [remapping, x2apic, posted, unsafeInterrupts]
