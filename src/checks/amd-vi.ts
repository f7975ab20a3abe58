/**
 * The AMD-Vi answers: the AMD halves of shared checks (firmware table, x2APIC, posted interrupts)
 * and the AMD-only checks (IVRS lint, SEV-SNP). Each verdict reads the model's AMD units
 * (cap/EFR decoded once), its IVRS view and the kernel's AMD-Vi boot lines; `units` states the
 * same findings through the same functions, so the two commands cannot disagree.
 */
import {readAdvice, rootAdvice, unreadableWords} from './remediation.js'
import {effectiveIvhds, effectiveIvhdType} from '../decode/ivrs.js'
import {hex} from '../decode/pci-address.js'
import type {HostModel} from '../model/host.js'
import type {AmdUnit} from '../model/units.js'
import {lintIvrs} from './ivrs-lint.js'
import {countOutcomes, countsLine, type Evidence, type Outcome} from './outcome.js'
import {DOCS, PATHS, plural, WORDING} from './shared.js'
import {ev, verdict, type HostCheck, type Verdict} from './types.js'

const FEATURES = `${PATHS.iommuClass}/ivhd*/amd-iommu/features`

/** AMD units whose extended feature register could be read and decoded. */
function withEfr(ctx: HostModel): Array<AmdUnit & {efrDecoded: NonNullable<AmdUnit['efrDecoded']>}> {
  return ctx.amdUnits.filter((u): u is AmdUnit & {efrDecoded: NonNullable<AmdUnit['efrDecoded']>} => u.efrDecoded !== undefined)
}

const unitNames = (units: ReadonlyArray<{name: string}>): string => units.map((u) => u.name).join(', ')

function efrEvidence(units: ReturnType<typeof withEfr>, describe: (u: ReturnType<typeof withEfr>[number]) => string): Evidence[] {
  return units.map((u) => ev(`${u.name} EFR ${hex(u.features?.efr ?? 0n)}: ${describe(u)}`, `${u.source}/features`))
}

/** IVRS table present and what it describes (platform.firmware-table on AMD-Vi). */
export function amdFirmwareTable(ctx: HostModel): Verdict {
  const {ivrs} = ctx
  if (ivrs.table) {
    const ivhds = effectiveIvhds(ivrs.table)
    const type = effectiveIvhdType(ivrs.table)
    const ivmds = ivrs.table.blocks.filter((b) => b.kind === 'IVMD').length
    if (ivhds.length === 0)
      return verdict('warn', 'IVRS table present but it describes no IOMMU (no IVHD block the kernel reads): see platform.ivrs-valid', [ev(`${ivrs.table.byteLength} bytes, signature "${ivrs.table.signature ?? ''}"`, ivrs.source)], ['update the firmware (BIOS); report the IVRS table to the vendor'])
    return verdict('pass', `IVRS table present: ${plural(ivhds.length, 'IOMMU')} (IVHD type ${type === undefined ? '?' : hex(type)}, the type the kernel reads)${ivmds > 0 ? `, ${plural(ivmds, 'IVMD block')}` : ''}`, [
      ev(`${ivrs.table.byteLength} bytes, signature ${ivrs.table.signature ?? '?'}; IOMMUs at ${ivhds.map((b) => `${b.bdf} (${hex(b.baseAddress)})`).join(', ') || 'none'}`, ivrs.source),
    ])
  }
  if (!ivrs.read.ok && ivrs.read.reason === 'unreadable') {
    if (ivrs.seenInLog || ctx.amdUnits.length > 0)
      return verdict('pass', 'IVRS table present (seen by the kernel; the table itself needs root to read)', [
        ev(ivrs.read.message, PATHS.ivrs),
        ...(ivrs.seenInLog ? [ev('"ACPI: IVRS 0x…" in the kernel log', ctx.log.source)] : []),
        ...(ctx.amdUnits.length > 0 ? [ev(`${plural(ctx.amdUnits.length, 'ivhd unit')} registered`, PATHS.iommuClass)] : []),
      ])
    return verdict('unknown', `the IVRS table ${unreadableWords(ivrs.read)}, and the kernel log does not show it`, [ev(ivrs.read.message, PATHS.ivrs)], [readAdvice(ctx.host, ivrs.read)])
  }
  return verdict('unknown', 'AMD-Vi is seen (units or log) but no IVRS table was read', [ev(`${ctx.iommuFamilyView.basis}`, PATHS.iommuClass), ev('absent', PATHS.ivrs)])
}

/** "enable x2APIC" advice the kernel itself would give. */
const X2APIC_FIRMWARE = 'enable "x2APIC" in the firmware setup and do not boot with `nox2apic`'

/** interrupts.x2apic (and units.x2apic) on AMD-Vi: the XT feature and "AMD-Vi: X2APIC enabled". */
export function amdX2apic(ctx: HostModel, irActive: boolean | undefined): Verdict {
  if (irActive === false) return verdict('not-applicable', 'interrupt remapping is off, so x2APIC remapping does not apply: see interrupts.remapping')
  const units = withEfr(ctx)
  const evidence = efrEvidence(units, (u) => `XTSup ${u.efrDecoded.x2apic ? 1 : 0}`)
  if (ctx.logFacts.amdX2apic) return verdict('pass', 'interrupt remapping in x2APIC mode (AMD-Vi XT)', [...evidence, ev('"AMD-Vi: X2APIC enabled"', ctx.log.source)])
  if (units.length === 0) return verdict('unknown', 'no readable AMD-Vi extended feature register and no "X2APIC enabled" line', evidence, [rootAdvice(ctx.host)])
  const noXt = units.filter((u) => !u.efrDecoded.x2apic)
  if (noXt.length > 0) return verdict('pass', `${unitNames(noXt)}: ${WORDING.noXt}`, evidence)
  if (!ctx.log.readable) return verdict('unknown', 'the IOMMU supports x2APIC (XT); whether the kernel uses it is in the kernel log, which is not readable', evidence, [rootAdvice(ctx.host)])
  if (ctx.cpu.flags.has('x2apic'))
    return verdict('warn', 'the IOMMU and CPU support x2APIC but the kernel runs interrupt remapping in xAPIC mode (no "AMD-Vi: X2APIC enabled"): at most 255 APIC IDs', evidence, [X2APIC_FIRMWARE])
  return verdict('pass', 'the IOMMU supports x2APIC (XT); xAPIC mode because the CPU has no x2APIC', [...evidence, ev('no x2apic CPU flag', PATHS.cpuinfo)])
}

/** interrupts.posted on AMD-Vi: guest virtual APIC (GA) in vAPIC mode (GAM), the kernel's AVIC path. */
export function amdPosted(ctx: HostModel): Verdict {
  const units = withEfr(ctx)
  if (units.length === 0) return verdict('unknown', 'no readable AMD-Vi extended feature register', [ev('features unreadable', FEATURES)])
  const evidence = efrEvidence(units, (u) => `GASup ${u.efrDecoded.guestApic ? 1 : 0}, GAMSup ${u.efrDecoded.guestApicVapic ? 1 : 0}`)
  if (ctx.cpu.flags.has('avic')) evidence.push(ev('CPU flag avic (KVM can post interrupts to running vCPUs with kvm_amd avic=1)', PATHS.cpuinfo))
  if (ctx.logFacts.amdVirtualApic) evidence.push(ev('"AMD-Vi: Virtual APIC enabled"', ctx.log.source))
  const intr = ctx.cmdline?.amdIommuIntr
  if (intr === 'legacy' || intr === 'legacy_ga') {
    evidence.push(ev(`amd_iommu_intr=${intr}`, PATHS.cmdline))
    return verdict('warn', `guest interrupt posting disabled by amd_iommu_intr=${intr}: guest interrupts go through the host`, evidence, [`remove \`amd_iommu_intr=${intr}\` unless it works around a known problem`])
  }
  if (ctx.logFacts.amdVapicOffForSnp) {
    evidence.push(ev('"AMD-Vi: Force to disable Virtual APIC due to SNP"', ctx.log.source))
    return verdict('warn', 'SEV-SNP host mode turned the IOMMU\'s virtual APIC off: assigned devices work, with a VM exit per interrupt', evidence)
  }
  const full = units.filter((u) => u.efrDecoded.guestApic && u.efrDecoded.guestApicVapic)
  if (full.length === units.length) return verdict('pass', 'guest virtual APIC (GA, vAPIC mode): device interrupts reach running vCPUs without a VM exit', evidence)
  const gaOnly = units.filter((u) => u.efrDecoded.guestApic && !u.efrDecoded.guestApicVapic)
  const why = gaOnly.length > 0 ? `${unitNames(gaOnly)} ${gaOnly.length === 1 ? 'has' : 'have'} GA without vAPIC mode (GAMSup=0), so the kernel uses legacy GA` : `GA missing on ${unitNames(units.filter((u) => !u.efrDecoded.guestApic))}`
  return verdict('warn', `no interrupt posting to vCPUs (${why}): assigned devices work, with a VM exit per interrupt`, evidence)
}

/**
 * Why AMD-Vi interrupt remapping is off, and the fix: amd_iommu=off turns it off with DMA
 * remapping; a southbridge IOAPIC the IVRS leaves out makes the kernel disable it (check_ioapic_information),
 * whose remedy is the IVRS lint's `ivrs_ioapic[…]=` (one wording). A missing HPET entry does not.
 */
export function amdInterruptRemappingBlockers(ctx: HostModel): {evidence: Evidence[]; remediation: string[]} {
  if (ctx.cmdline?.amdIommuOptions.includes('off'))
    return {evidence: [ev('amd_iommu=off turns AMD-Vi off, interrupt remapping with it', PATHS.cmdline)], remediation: ['remove `amd_iommu=off` from the kernel command line']}
  const evidence = ctx.logFacts.amdFirmwareBugs.slice(0, 3).map((line) => ev(line, ctx.log.source))
  const table = ctx.ivrs.table
  const remediation = table ? lintIvrs(table, ctx.ivrs.source).filter((r) => r.id === 'ivrs.ioapic' && r.outcome === 'fail').flatMap((r) => r.remediation) : []
  if (remediation.length === 0 && ctx.logFacts.amdFirmwareBugs.some((l) => /IOAPIC/i.test(l)))
    remediation.push('add `ivrs_ioapic[ID]=00:14.0` (ID: the IOAPIC the [Firmware Bug] line names) so the kernel can remap its interrupts, and update the firmware')
  return {evidence, remediation}
}

const ivrsValid: HostCheck = {
  id: 'platform.ivrs-valid',
  title: 'IVRS table well-formed (AMD-Vi lint)',
  category: 'platform',
  scope: 'host',
  reads: [PATHS.ivrs, 'dmesg'],
  docs: 'https://www.amd.com/content/dam/amd/en/documents/processor-tech-docs/specifications/48882_IOMMU.pdf',
  assess(ctx) {
    if (ctx.iommuFamily !== 'amd-vi') return verdict('not-applicable', `not an AMD-Vi platform (IOMMU ${ctx.iommuFamily}): the IVRS table does not apply`)
    const bugs = ctx.logFacts.amdFirmwareBugs.map((l) => ev(l, ctx.log.source))
    const {ivrs} = ctx
    if (!ivrs.table) {
      if (bugs.length > 0)
        return verdict('warn', `the kernel reported ${plural(bugs.length, 'firmware bug')} in the IVRS table`, bugs.slice(0, 5), [
          'add `ivrs_ioapic[ID]=BDF` / `ivrs_hpet[ID]=BDF` for an IOAPIC or HPET the table leaves out (the IDs the log names)',
          'update the firmware (BIOS); report the lines above to the vendor',
        ])
      if (!ivrs.read.ok && ivrs.read.reason === 'unreadable') return verdict('unknown', `the IVRS table ${unreadableWords(ivrs.read)}`, [ev(ivrs.read.message, PATHS.ivrs)], [`${readAdvice(ctx.host, ivrs.read)} to lint the table`])
      return verdict('not-applicable', 'no IVRS table to lint: see platform.firmware-table', [ev('absent', PATHS.ivrs)])
    }
    const lint = lintIvrs(ivrs.table, ivrs.source)
    const counts = countOutcomes(lint.map((r) => r.outcome))
    const worst: Outcome = counts.fail > 0 ? 'fail' : counts.warn > 0 || bugs.length > 0 ? 'warn' : counts.unknown > 0 ? 'unknown' : 'pass'
    const findings = lint.filter((r) => r.outcome === 'fail' || r.outcome === 'warn')
    const evidence = [ev(`lint ${countsLine(counts)}`, ivrs.source), ...findings.map((r) => ev(`${r.id}: ${r.summary}`, ivrs.source)), ...bugs.slice(0, 5)]
    const remediation = [...new Set(findings.flatMap((r) => r.remediation))]
    if (worst === 'pass') return verdict('pass', 'the IVRS table passes every lint (`vtd-check ivrs` shows it)', evidence)
    const summary = findings.length > 0 ? findings.map((r) => r.summary).join('; ') : `the kernel reported ${plural(bugs.length, 'firmware bug')} in the IVRS table`
    return verdict(worst, summary, evidence, remediation)
  },
}

const snp: HostCheck = {
  id: 'advanced.snp',
  title: 'SEV-SNP: the IOMMU protects SNP guests\' memory (AMD)',
  category: 'advanced',
  scope: 'host',
  reads: [PATHS.cpuinfo, FEATURES, 'dmesg'],
  docs: DOCS.amdIommu,
  assess(ctx) {
    if (ctx.iommuFamily !== 'amd-vi') return verdict('not-applicable', `not an AMD-Vi platform (IOMMU ${ctx.iommuFamily}): SEV-SNP does not apply`)
    if (!ctx.cpu.flags.has('sev_snp')) return verdict('not-applicable', 'the CPU does not offer SEV-SNP (no sev_snp flag): nothing for the IOMMU to enforce', [ev('no sev_snp CPU flag', PATHS.cpuinfo)])
    const units = withEfr(ctx)
    const evidence = [ev('CPU flag sev_snp', PATHS.cpuinfo), ...efrEvidence(units, (u) => `SNPSup ${u.efrDecoded.snp ? 1 : 0}`)]
    if (ctx.logFacts.amdSnp) return verdict('pass', 'the IOMMU enforces SEV-SNP (the kernel enabled IOMMU SNP support)', [...evidence, ev('"AMD-Vi: IOMMU SNP support enabled"', ctx.log.source)])
    if (units.length === 0) return verdict('unknown', 'no readable AMD-Vi extended feature register', evidence)
    const without = units.filter((u) => !u.efrDecoded.snp)
    if (without.length > 0) return verdict('warn', `${unitNames(without)} ${without.length === 1 ? 'lacks' : 'lack'} SNP support (SNPSup=0): the kernel cannot host SEV-SNP guests`, evidence, ['update the firmware and enable SEV-SNP ("SNP", "SEV-SNP Support") in the firmware setup'])
    return verdict('pass', 'the IOMMU supports SEV-SNP (SNPSup=1); SNP host mode is on when KVM starts SNP guests', evidence)
  },
}

export const AMD_CHECKS = {ivrsValid, snp}
