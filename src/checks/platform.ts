/** Platform checks: CPU, firmware table, whether translation is really on, domain type, mode. */
import {describeEffects} from '../model/kernel-parameters.js'
import {kernelAtLeast, type AssessmentContext} from './context.js'
import {DOCS, PATHS, intelOnly, iommuActive, needsActiveIommu, plural, WORDING} from './shared.js'
import {lintSummary} from './dmar-summary.js'
import {amdFirmwareTable, AMD_CHECKS} from './amd-vi.js'
import {IOMMU_FAMILY_NAMES} from '../model/host.js'
import {commandLineSteps, guestIommuAdvice, guestNestedAdvice, readAdvice, unreadableWords} from './remediation.js'
import {ev, verdict, type HostCheck, type Verdict} from './types.js'
import type {Evidence} from './outcome.js'

const cpuVirtualization: HostCheck = {
  id: 'platform.cpu-virtualization',
  title: 'CPU virtualization (VT-x / AMD-V)',
  category: 'platform',
  scope: 'host',
  reads: [PATHS.cpuinfo],
  docs: DOCS.archPassthrough,
  assess(ctx) {
    if (!ctx.host.platform.cpuinfo.ok) return verdict('unknown', 'could not read /proc/cpuinfo', [ev(ctx.host.platform.cpuinfo.message, PATHS.cpuinfo)])
    const {vendor, flags, hypervisor, modelName} = ctx.cpu
    const cpu = ev(`CPU ${vendor}${modelName ? ` (${modelName})` : ''}${hypervisor ? ', hypervisor flag set' : ''}`, PATHS.cpuinfo)
    if (flags.has('vmx')) return verdict('pass', 'Intel VT-x available (vmx)', [cpu, ev('flag vmx present', PATHS.cpuinfo)])
    if (flags.has('svm')) return verdict('pass', 'AMD-V available (svm)', [cpu, ev('flag svm present', PATHS.cpuinfo)])
    // arm64 has no such flag: KVM needs the CPUs to enter the kernel at EL2 (the boot line says which).
    if (/^CPU implementer/m.test(ctx.host.platform.cpuinfo.value)) {
      const el = ctx.log.lines.find((l) => /CPU: All CPU\(s\) started at EL[12]|kvm \[\d+\]: (HYP mode not available|Hyp mode initialized successfully|VHE mode initialized successfully)/.test(l))
      const evidence = [ev('arm64 CPU (CPU implementer in /proc/cpuinfo)', PATHS.cpuinfo), ...(el ? [ev(el.trim(), ctx.log.source)] : [])]
      if (el && /EL2|initialized successfully/.test(el)) return verdict('pass', 'arm64 CPUs started at EL2: KVM can run guests', evidence)
      if (el) return verdict('warn', `arm64 CPUs started at EL1 (no hypervisor mode): KVM cannot start guests here${ctx.kernelGroups.length > 0 ? ' (VFIO for user-space drivers still works: the IOMMU is active)' : ''}`, evidence, ['boot the kernel at EL2 (a firmware setting; in a VM: nested virtualization, QEMU `-machine virt,virtualization=on`)'])
      return verdict('unknown', 'arm64: whether the CPUs started at EL2 (needed by KVM) is in the kernel log, which does not say', evidence)
    }
    return verdict(
      'warn',
      // VFIO without KVM (user-space drivers) still needs the IOMMU: say so only where it is active.
      `no vmx/svm CPU flag: KVM cannot start guests here${ctx.kernelGroups.length > 0 ? ' (VFIO for user-space drivers still works: the IOMMU is active)' : ''}`,
      [cpu, ev('neither vmx nor svm in the flags', PATHS.cpuinfo)],
      hypervisor ? [guestNestedAdvice(ctx.hypervisor, vendor)] : ['enable "Intel Virtualization Technology (VT-x)" / "SVM Mode" in the firmware setup'],
    )
  },
}

const firmwareTable: HostCheck = {
  id: 'platform.firmware-table',
  title: 'IOMMU firmware table (ACPI DMAR / IVRS / IORT)',
  category: 'platform',
  scope: 'host',
  reads: [PATHS.dmar, PATHS.ivrs, PATHS.iort, 'dmesg'],
  docs: DOCS.kernelIommu,
  assess(ctx) {
    const {dmar} = ctx
    if (ctx.iommuFamily === 'amd-vi' && !dmar.read.ok) return amdFirmwareTable(ctx)
    if (ctx.iommuFamily === 'arm-smmu-v3') {
      const iort = ctx.host.platform.iortTable
      if (iort.ok) return verdict('pass', `IORT table present (${iort.value.length} bytes): the SMMUs and their stream ID mappings come from ACPI`, [ev(`signature ${new TextDecoder().decode(iort.value.subarray(0, 4))}`, PATHS.iort)])
      if (iort.reason === 'unreadable') return verdict('pass', 'IORT table present (the table itself needs root to read)', [ev(iort.message, PATHS.iort)])
      return verdict('not-applicable', 'no ACPI IORT: a device-tree boot, where the SMMU is described by the device tree (no firmware table to check)', [ev('absent', PATHS.iort), ev(ctx.iommuFamilyView.basis, PATHS.iommuClass)])
    }
    if (dmar.read.ok) {
      const drhd = dmar.table?.structures.filter((s) => s.type === 'DRHD').length ?? 0
      const width = dmar.table?.hostAddressWidth
      return verdict('pass', `DMAR table present: ${plural(drhd, 'DRHD unit')}${width ? `, ${width}-bit host address width` : ''}`, [
        ev(`${dmar.read.value.length} bytes, signature ${dmar.table?.signature ?? '?'}`, PATHS.dmar),
      ])
    }
    const intelUnits = ctx.units.filter((u) => u.unit.vendor === 'intel').length
    if (dmar.read.reason === 'unreadable') {
      if (dmar.seenInLog || intelUnits > 0)
        return verdict('pass', `DMAR table present (seen by the kernel; the table itself ${unreadableWords(dmar.read)})`, [
          ev(dmar.read.message, PATHS.dmar),
          ...(dmar.seenInLog ? [ev('"DMAR: Host address width" in the kernel log', ctx.log.source)] : []),
          ...(intelUnits > 0 ? [ev(`${plural(intelUnits, 'dmar unit')} registered`, PATHS.iommuClass)] : []),
        ])
      return verdict('unknown', `the DMAR table ${unreadableWords(dmar.read)}, and the kernel log does not show it`, [ev(dmar.read.message, PATHS.dmar)], [readAdvice(ctx.host, dmar.read)])
    }
    if (ctx.host.platform.ivrsTable.ok || ctx.iommuVendor === 'amd')
      return verdict('not-applicable', 'AMD platform (IVRS): the Intel DMAR table does not apply', [ev('IVRS table or AMD-Vi present', PATHS.ivrs)])
    if (iommuActive(ctx))
      return verdict('not-applicable', `an IOMMU is active without a DMAR table (${ctx.host.units.map((u) => u.name).join(', ')}: e.g. virtio-iommu via ACPI VIOT): VT-d's table does not apply`, [
        ev('absent', PATHS.dmar),
        ev(`units: ${ctx.host.units.map((u) => u.name).join(', ')}`, PATHS.iommuClass),
      ])
    if (ctx.cpu.vendor === 'intel')
      return verdict(
        'fail',
        'no DMAR table: VT-d is disabled in firmware (or not supported by this platform)',
        [ev('file absent', PATHS.dmar), ...(ctx.cpu.hypervisor ? [ev('running as a VM guest (hypervisor flag)', PATHS.cpuinfo)] : [])],
        ctx.cpu.hypervisor ? [guestIommuAdvice(ctx.hypervisor, ctx.cpu.vendor)] : ['enable "VT-d" / "Intel Virtualization Technology for Directed I/O" in the firmware setup'],
      )
    return verdict('not-applicable', `${ctx.cpu.vendor === 'amd' ? 'AMD' : 'non-Intel'} CPU: the Intel DMAR table does not apply (no IVRS table either: see platform.dma-remapping)`, [
      ev(`CPU vendor ${ctx.cpu.vendor}`, PATHS.cpuinfo),
      ev('absent', PATHS.dmar),
    ])
  },
}

const dmarValid: HostCheck = {
  id: 'platform.dmar-valid',
  title: 'DMAR table well-formed (lint)',
  category: 'platform',
  scope: 'host',
  reads: [PATHS.dmar, 'dmesg'],
  docs: DOCS.vtdSpec,
  assess(ctx) {
    const skip = intelOnly(ctx)
    if (skip) return skip
    if (!ctx.dmar.read.ok) {
      if (ctx.dmar.read.reason === 'absent') return verdict('not-applicable', 'no DMAR table to lint: see platform.firmware-table', [ev('absent', PATHS.dmar)])
      const bugs = ctx.logFacts.dmarFirmwareBugs
      if (bugs.length > 0) return verdict('warn', `the kernel reported ${plural(bugs.length, 'firmware bug')} in the DMAR table`, bugs.slice(0, 5).map((l) => ev(l, ctx.log.source)), ['update the firmware (BIOS); report the lines above to the vendor'])
      return verdict('unknown', `the DMAR table ${unreadableWords(ctx.dmar.read)}`, [ev(ctx.dmar.read.message, PATHS.dmar)], [`${readAdvice(ctx.host, ctx.dmar.read)} to lint the table`])
    }
    const summary = lintSummary(ctx)
    return verdict(summary.outcome, summary.summary, summary.evidence, summary.remediation)
  },
}

function noIommuRemediation(ctx: AssessmentContext): string[] {
  const steps: string[] = []
  const change: {add: string[]; remove: string[]} = {add: [], remove: []}
  // platform.kernel-parameters fails on intel_iommu=off and gives its commands: named here, not repeated.
  if (ctx.cmdline?.intelIommu.enabled === false) steps.push('remove `intel_iommu=off` from the kernel command line (commands under platform.kernel-parameters)')
  if (ctx.cmdline?.iommuOff || ctx.cmdline?.iommuSoft) {
    steps.push('remove `iommu=off` / `iommu=soft` from the kernel command line')
    change.remove.push(ctx.cmdline.iommuOff ? 'iommu=off' : 'iommu=soft')
  }
  const amdOff = ctx.cmdline?.amdIommuOptions.includes('off')
  // platform.kernel-parameters fails on amd_iommu=off on an AMD-Vi host and gives its commands.
  if (amdOff && ctx.host.platform.ivrsTable.ok) steps.push('remove `amd_iommu=off` from the kernel command line (commands under platform.kernel-parameters)')
  else if (ctx.host.platform.ivrsTable.ok) steps.push('the IVRS table is there but AMD-Vi did not start: check `dmesg | grep -i AMD-Vi` and the firmware "IOMMU" setting (Auto may mean off)')
  const intelTable = ctx.dmar.read.ok || ctx.dmar.seenInLog
  if (intelTable && ctx.cmdline?.intelIommu.enabled !== false) {
    steps.push('add `intel_iommu=on` to the kernel command line (the kernel was likely built with CONFIG_INTEL_IOMMU_DEFAULT_ON=n), then reboot')
    change.add.push('intel_iommu=on')
  }
  if (!intelTable && !ctx.host.platform.ivrsTable.ok) {
    if (ctx.cpu.hypervisor) steps.push(guestIommuAdvice(ctx.hypervisor, ctx.cpu.vendor))
    else if (ctx.cpu.vendor === 'amd') steps.push('enable "IOMMU" / "AMD-Vi" (and SVM) in the firmware setup; no kernel parameter is needed')
    else steps.push('enable "VT-d" / "Intel Virtualization Technology for Directed I/O" in the firmware setup')
  }
  return [...steps, ...commandLineSteps(change, ctx.boot)]
}

const dmaRemapping: HostCheck = {
  id: 'platform.dma-remapping',
  title: 'DMA remapping active (effective state, not cmdline strings)',
  category: 'platform',
  scope: 'host',
  reads: [PATHS.iommuClass, PATHS.groups, PATHS.dmar, PATHS.ivrs, PATHS.cmdline, 'dmesg'],
  docs: DOCS.sysfsIommu,
  assess(ctx) {
    const {platform} = ctx.host
    const units = ctx.host.units
    const groups = ctx.host.groups
    const evidence: Evidence[] = [
      ev(units.length > 0 ? `remapping units: ${units.map((u) => u.name).join(', ')}` : 'no /sys/class/iommu entries', PATHS.iommuClass),
      ev(groups.length > 0 ? `${plural(groups.length, 'IOMMU group')}` : platform.groupsDir.ok || platform.groupsDir.reason === 'absent' ? '/sys/kernel/iommu_groups is empty' : '/sys/kernel/iommu_groups unreadable', PATHS.groups),
    ]
    if (ctx.log.readable)
      evidence.push(
        ev(
          ctx.logFacts.vtdInitialised
            ? '"DMAR: Intel(R) Virtualization Technology for Directed I/O" (translation initialised)'
            : ctx.logFacts.amdViActive
              ? 'AMD-Vi initialisation lines'
              : 'no "Intel(R) Virtualization Technology for Directed I/O" or AMD-Vi line',
          ctx.log.source,
        ),
      )
    if (iommuActive(ctx)) {
      const vendor = ctx.iommuFamily === 'other' || ctx.iommuFamily === 'none' ? 'IOMMU' : IOMMU_FAMILY_NAMES[ctx.iommuFamily]
      return verdict('pass', `${vendor} DMA remapping is active: ${plural(units.length, 'unit')}, ${plural(groups.length, 'group')}`, evidence)
    }
    if (!platform.groupsDir.ok && platform.groupsDir.reason === 'unreadable')
      return verdict('unknown', 'could not list /sys/kernel/iommu_groups', [...evidence, ev(platform.groupsDir.message, PATHS.groups)])
    if (units.length > 0 && groups.length === 0)
      return verdict('warn', 'remapping units exist but no IOMMU groups: translation is not in use for PCI devices', evidence, noIommuRemediation(ctx))
    const tables = [
      ctx.dmar.read.ok ? 'DMAR table present' : `no DMAR table (${ctx.dmar.read.reason})`,
      platform.ivrsTable.ok ? 'IVRS table present' : `no IVRS table (${platform.ivrsTable.reason})`,
    ]
    evidence.push(ev(tables.join(', '), '/sys/firmware/acpi/tables'))
    if (ctx.cmdline) for (const line of describeEffects(ctx.cmdline).filter((l) => /intel_iommu=off|iommu=soft/.test(l))) evidence.push(ev(line, PATHS.cmdline))
    if (ctx.cpu.hypervisor) evidence.push(ev('running as a VM guest (hypervisor CPU flag)', PATHS.cpuinfo))
    return verdict('fail', WORDING.noIommu, evidence, noIommuRemediation(ctx))
  },
}

const DOMAIN_MEANING: Record<string, string> = {
  DMA: 'translated, strict invalidation',
  'DMA-FQ': 'translated, lazy invalidation (flush queue)',
  unmanaged: 'unmanaged',
  blocked: 'blocked',
}

const defaultDomain: HostCheck = {
  id: 'platform.default-domain',
  title: 'Default domain type (translated / lazy / strict / identity)',
  category: 'platform',
  scope: 'host',
  reads: [`${PATHS.groups}/*/type`, PATHS.cmdline, 'dmesg'],
  docs: DOCS.sysfsIommu,
  assess(ctx) {
    const skip = needsActiveIommu(ctx)
    if (skip) return skip
    const counts = new Map<string, number>()
    for (const group of ctx.host.groups) counts.set(group.type ?? 'unreadable', (counts.get(group.type ?? 'unreadable') ?? 0) + 1)
    // An identity domain names the parameter that asks for it on this platform.
    const meaning = (type: string) => (type === 'identity' ? `identity / passthrough (${ctx.passthroughParameter}): host drivers DMA untranslated` : Object.hasOwn(DOMAIN_MEANING, type) ? DOMAIN_MEANING[type] : undefined)
    const evidence = [...counts].map(([type, n]) => ev(`${plural(n, 'group')}: ${type} — ${meaning(type) ?? 'unknown type'}`, `${PATHS.groups}/*/type`))
    if (ctx.cmdline?.defaultDomain) evidence.push(ev(`${ctx.cmdline.defaultDomain.via} requests ${ctx.cmdline.defaultDomain.type}`, PATHS.cmdline))
    if (ctx.cmdline?.invalidation) evidence.push(ev(`${ctx.cmdline.invalidation.via} requests ${ctx.cmdline.invalidation.policy} invalidation`, PATHS.cmdline))
    if (ctx.logFacts.defaultDomainLine) evidence.push(ev(ctx.logFacts.defaultDomainLine, ctx.log.source))
    if (ctx.logFacts.invalidationPolicyLine) evidence.push(ev(ctx.logFacts.invalidationPolicyLine, ctx.log.source))
    if (counts.size === 1 && counts.has('unreadable')) return verdict('unknown', 'group type files could not be read', evidence)
    // arm-smmu-v3: a stream with no domain attached aborts unless disable_bypass is turned off (then its DMA is untranslated).
    const bypass = ctx.cmdline?.smmuDisableBypass
    if (ctx.iommuFamily === 'arm-smmu-v3' && bypass?.value === false)
      return verdict('warn', `${bypass.via}: devices with no domain attached bypass the SMMU, so their DMA reaches memory untranslated`, [...evidence, ev(bypass.via, PATHS.cmdline)], [`remove \`${bypass.via}\` (the default aborts such DMA)`])
    const identity = counts.get('identity') ?? 0
    if (identity > 0)
      return verdict(
        'warn',
        `${plural(identity, 'group')} use the identity (passthrough) default domain: host drivers' DMA is not translated, so a host device can DMA anywhere in RAM; devices given to VMs are still isolated`,
        evidence,
        [`for host-side DMA protection, drop \`${ctx.passthroughParameter}\` (keep it only if you need the throughput and trust every host device)`],
      )
    const lazy = counts.get('DMA-FQ') ?? 0
    return verdict('pass', lazy > 0 ? 'translated default domain, lazy invalidation (DMA-FQ; `iommu.strict=1` closes the stale-IOTLB window)' : 'translated default domain, strict invalidation', evidence)
  },
}

const scalableMode: HostCheck = {
  id: 'platform.scalable-mode',
  title: 'Scalable mode state',
  category: 'platform',
  scope: 'host',
  reads: [`${PATHS.iommuClass}/*/intel-iommu/ecap`, PATHS.cmdline, PATHS.interrupts],
  docs: DOCS.kernelIommu,
  assess(ctx) {
    const skip = intelOnly(ctx)
    if (skip) return skip
    const intel = ctx.units.filter((u) => u.unit.vendor === 'intel' && u.smts !== undefined)
    if (intel.length === 0) return verdict('not-applicable', 'no Intel remapping unit registers to read (translation not active): see platform.dma-remapping')
    const capable = intel.filter((u) => u.smts)
    const evidence = [ev(`ECAP.SMTS set on ${capable.length} of ${plural(intel.length, 'unit')}`, `${PATHS.iommuClass}/*/intel-iommu/ecap`)]
    const request = ctx.cmdline?.intelIommu.scalableMode
    if (request !== undefined) evidence.push(ev(`intel_iommu=${request ? 'sm_on' : 'sm_off'}`, PATHS.cmdline))
    if (ctx.scalableIrqs.length > 0) evidence.push(ev(`page-request IRQs ${ctx.scalableIrqs.join(', ')} (scalable mode in use)`, PATHS.interrupts))
    if (ctx.logFacts.scalableDisallowed) evidence.push(ev('"DMAR: Scalable mode is disallowed"', ctx.log.source))
    // Scalable mode tags requests without a PASID with RID_PASID, so their faults print "PASID 0x0"; legacy prints NO_PASID.
    const vtdFaults = ctx.faults.filter((f) => f.family === 'intel-vtd' && f.kind === 'dma')
    const taggedFaults = vtdFaults.filter((f) => f.pasid !== undefined).length
    const untaggedFaults = vtdFaults.filter((f) => f.pasid === undefined && /NO_PASID/.test(f.line)).length
    if (taggedFaults > 0) evidence.push(ev(`${plural(taggedFaults, 'DMA fault')} logged with a PASID tag (scalable-mode fault records)`, ctx.log.source))
    if (untaggedFaults > 0) evidence.push(ev(`${plural(untaggedFaults, 'DMA fault')} logged as NO_PASID (legacy-mode fault records)`, ctx.log.source))
    if (ctx.logFacts.featureInconsistent.length > 0) evidence.push(ev(`IOMMU features disabled as inconsistent: ${ctx.logFacts.featureInconsistent.join(', ')}`, ctx.log.source))
    if (capable.length > 0 && capable.length < intel.length)
      return verdict('warn', 'scalable mode is supported by some units only: the kernel falls back to legacy mode', evidence, ['update the firmware; mixed SMTS usually means a unit is misreported'])
    if (capable.length === 0) return verdict('pass', 'legacy translation mode (hardware has no scalable mode; fine for VFIO device assignment, no SVA/PASID)', evidence)
    const state =
      request === false || ctx.logFacts.scalableDisallowed
        ? 'hardware supports scalable mode; disabled by intel_iommu=sm_off (legacy mode in use)'
        : ctx.scalableIrqs.length > 0 || request === true || taggedFaults > 0
          ? 'scalable mode in use'
          : kernelAtLeast(ctx.kernel, 5, 15)
            ? 'hardware supports scalable mode; used when the kernel has CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON=y (usual since 5.15) or intel_iommu=sm_on'
            : 'hardware supports scalable mode; this kernel uses it only with intel_iommu=sm_on'
    return verdict('pass', state, evidence)
  },
}


const hypervisor: HostCheck = {
  id: 'platform.bare-metal',
  title: 'Running on bare metal (not inside a VM)',
  category: 'platform',
  scope: 'host',
  reads: [PATHS.cpuinfo, `${PATHS.iommuClass}/*/intel-iommu/cap`, `${PATHS.iommuClass}/*/amd-iommu/cap`, '/sys/hypervisor/type', '/sys/class/dmi/id/sys_vendor', '/sys/class/dmi/id/product_name', '/sys/class/dmi/id/chassis_asset_tag'],
  docs: DOCS.kernelIommu,
  assess(ctx) {
    const cm = ctx.units.filter((u) => u.cachingMode)
    const hv = ctx.host.platform.hypervisorType
    const evidence: Evidence[] = []
    if (ctx.cpu.hypervisor) evidence.push(ev('CPU flag "hypervisor" set', PATHS.cpuinfo))
    const cmIntel = cm.filter((u) => u.unit.vendor === 'intel')
    const cmAmd = cm.filter((u) => u.unit.vendor === 'amd')
    if (cmIntel.length > 0) evidence.push(ev(`CAP.CM=1 (caching mode: emulated VT-d) on ${cmIntel.map((u) => u.unit.name).join(', ')}`, `${PATHS.iommuClass}/*/intel-iommu/cap`))
    if (cmAmd.length > 0) evidence.push(ev(`NpCache=1 (caches not-present entries: emulated AMD-Vi) on ${cmAmd.map((u) => u.unit.name).join(', ')}`, `${PATHS.iommuClass}/*/amd-iommu/cap`))
    if (hv.ok && hv.value.trim()) evidence.push(ev(`hypervisor type ${hv.value.trim()}`, '/sys/hypervisor/type'))
    // Arm CPUs have no "hypervisor" flag: the model's DMI, /sys/hypervisor/type and boot-log facts name the VM instead.
    for (const fact of ctx.hypervisor.evidence) if (!evidence.some((e) => e.fact === fact.fact)) evidence.push(ev(fact.fact, fact.source))
    if (evidence.length > 0)
      return verdict('warn', 'running inside a VM: any IOMMU here is emulated, and passthrough from this guest is nested (only as isolated as the hypervisor makes it)', evidence)
    if (!ctx.host.platform.cpuinfo.ok) return verdict('unknown', 'could not read /proc/cpuinfo', [ev(ctx.host.platform.cpuinfo.message, PATHS.cpuinfo)])
    return verdict('pass', 'bare metal: no hypervisor flag, no emulated-IOMMU caching mode', [ev('no "hypervisor" CPU flag', PATHS.cpuinfo)])
  },
}

const kernelParameters: HostCheck = {
  id: 'platform.kernel-parameters',
  title: 'IOMMU kernel parameters (read for their effect)',
  category: 'platform',
  scope: 'host',
  reads: [PATHS.cmdline, PATHS.cpuinfo],
  docs: DOCS.kernelParams,
  assess(ctx): Verdict {
    if (!ctx.cmdline) {
      const read = ctx.host.platform.cmdline
      return verdict('unknown', 'could not read /proc/cmdline', read.ok ? [] : [ev(read.message, PATHS.cmdline)])
    }
    const effects = describeEffects(ctx.cmdline).map((line) => ev(line, PATHS.cmdline))
    const ineffective = ctx.ineffective.map((p) => ev(`${p.param}: ${p.why}`, PATHS.cmdline))
    if (ineffective.length > 0)
      return verdict('warn', `${plural(ineffective.length, 'parameter')} with no effect on this platform`, [...ineffective, ...effects], ctx.ineffective.map((p) => `remove \`${p.param}\` (it does nothing)`))
    // intel_iommu=off is effective (not "ineffective") and is itself the failure: it turns DMA remapping off.
    if (ctx.cmdline.intelIommu.enabled === false && ctx.iommuVendor === 'intel')
      return verdict('fail', 'intel_iommu=off disables DMA remapping: no device can be passed through safely', effects, [
        'remove `intel_iommu=off` from the kernel command line',
        ...commandLineSteps({add: [], remove: ['intel_iommu=off']}, ctx.boot),
      ])
    if (ctx.cmdline.amdIommuOptions.includes('off') && ctx.iommuFamily === 'amd-vi')
      return verdict('fail', 'amd_iommu=off disables DMA remapping: no device can be passed through safely', effects, [
        'remove `amd_iommu=off` from the kernel command line',
        ...commandLineSteps({add: [], remove: ['amd_iommu=off']}, ctx.boot),
      ])
    if (effects.length === 0) return verdict('pass', 'no IOMMU-related kernel parameters: the kernel defaults apply', [ev('none of intel_iommu=, amd_iommu=, amd_iommu_intr=, ivrs_*, iommu=, iommu.*, arm-smmu*.disable_bypass, intremap=, vfio*', PATHS.cmdline)])
    return verdict('pass', `${plural(effects.length, 'IOMMU-related parameter')}, each effective`, effects)
  },
}

export const PLATFORM_CHECKS: HostCheck[] = [cpuVirtualization, firmwareTable, dmarValid, AMD_CHECKS.ivrsValid, dmaRemapping, defaultDomain, scalableMode, hypervisor, kernelParameters]
