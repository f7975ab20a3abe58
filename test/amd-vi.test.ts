/**
 * AMD-Vi and SMMUv3 hosts: the IOMMU family decided once in the model, the AMD unit registers
 * decoded as the kernel names them, the AMD halves of the checks (x2APIC/XT, posted interrupts/GA,
 * IVRS lint, SEV-SNP, amd_iommu= parameters), SMMU bypass, and IVRS aliases in the grouping replay.
 * Oracles: the kernel's own "Extended features" lines (test/fixtures/real/amd-efr), the AMD-Vi lab
 * snapshot (a real 6.1 kernel under QEMU's amd-iommu) and the real IVRS tables.
 */
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {runChecks} from '../src/checks/catalogue.js'
import {assessmentContext} from '../src/checks/context.js'
import {lintFamilyUnits} from '../src/checks/units-lint-families.js'
import {decodeAmdCap, decodeAmdEfr, efrFromLog, parseAmdFeatures} from '../src/decode/amd-iommu-registers.js'
import {decodeIvrs, ivrsAliases} from '../src/decode/ivrs.js'
import {openRoot} from '../src/host/snapshot.js'
import {memHostFs} from '../src/host/mem.js'
import {parseKernelParameters, describeEffects, ineffectiveParameters} from '../src/model/kernel-parameters.js'
import {loadTopology} from '../src/model/topology.js'
import type {PciTopology} from '../src/model/pci.js'
import {dmaAliasesOf} from '../src/replay/dma-alias.js'
import {crossCheckGroups, replayGrouping} from '../src/replay/grouping.js'
import {hostGroupingOptions} from '../src/replay/host-grouping.js'
import {contextFor, fakeHostEntries, fakeLog, type FakeHost} from './checks-hosts.js'
import {modelAt, modelOf} from './support/model.js'
import {fixturesDir, realData} from './support/paths.js'
import {collectHost} from '../src/collect/index.js'
import {buildHostModel} from '../src/model/host.js'
import {RootedHostFs} from '../src/host/fs.js'

const LAB = path.join(fixturesDir, 'lab-amd-vi')
const outcome = (results: ReturnType<typeof runChecks>, id: string) => results.find((r) => r.id === id)
const AMD_LOG = `[    0.000000] ACPI: IVRS 0x00000000DAF6F000 0001A4 (v02 AMD    AmdTable 00000001 AMD  00000001)
[    0.532970] pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40
[    0.532971] AMD-Vi: Extended features (0x58f77ef22294ada, 0x0): PPR NX GT IA GA PC GA_vAPIC
[    0.532976] AMD-Vi: Interrupt remapping enabled
[    0.800000] iommu: Default domain type: Translated
`
const AMD: FakeHost = {cpu: 'amd', ivrs: true, groups: [{id: 0, type: 'DMA-FQ'}], devices: [], interrupts: '  0:  37  IR-IO-APIC    2-edge      timer\n'}

describe('AMD-Vi extended feature register: decoded as the kernel names it', () => {
  const lines = readFileSync(path.join(realData, 'amd-efr/boot-lines.txt'), 'utf8').split('\n').filter((l) => !l.startsWith('#') && l.includes('Extended features'))

  it.each(lines)('%s', (entry) => {
    const [kernel = '', line = ''] = entry.split(' | ')
    const [efr] = efrFromLog([line])
    const printed = line.slice(line.indexOf('):') + 2).trim().split(/\s+/)
    expect(efr).toBeDefined()
    const decoded = decodeAmdEfr(efr ?? 0n)
    // 5.15 predates the " SNP" print: its EPYC unit has bit 63 set and the line does not say so.
    const kernelPrintsSnp = kernel !== '5.15'
    expect(decoded.names.filter((n) => n !== 'SNP' || kernelPrintsSnp)).toEqual(printed)
    if (!kernelPrintsSnp) expect(decoded.snp).toBe(true)
  })

  it('bit fields the checks read: XT, GA, GAM (vAPIC), SNP, PASMAX, HATS', () => {
    const epyc = decodeAmdEfr(0xa5bf732fa2295afen)
    expect(epyc).toMatchObject({x2apic: true, guestApic: true, guestApicVapic: true, snp: true, ppr: true, guestTranslation: true, pasidBits: 16})
    const lab = decodeAmdEfr(0x29d3n)
    expect(lab).toMatchObject({x2apic: false, guestApic: true, guestApicVapic: false, snp: false, hostLevels: 6, pasidBits: 1})
  })

  it('the capability header: QEMU sets NpCache, the bit the kernel answers with "Using strict mode due to virtualization"', () => {
    expect(decodeAmdCap(0x1f03000fn)).toMatchObject({npCache: true, iotlb: true, efrSupported: true})
    expect(decodeAmdCap(0x190100n).npCache).toBe(false)
  })
})

describe('the amd-iommu/features file across kernels', () => {
  it('one value (before EFR2): EFR', () => {
    expect(parseAmdFeatures('58f77ef22294ada\n')).toMatchObject({efr: 0x58f77ef22294adan, order: 'efr'})
  })

  it('6.1 prints features2:features; the boot line names the EFR half', () => {
    expect(parseAmdFeatures('0:29d3', {logEfr: 0x29d3n})).toMatchObject({efr: 0x29d3n, efr2: 0n, order: 'efr2:efr'})
    // Without the log a zero half is EFR2 (a unit that publishes an EFR never has it zero).
    expect(parseAmdFeatures('0:29d3')).toMatchObject({efr: 0x29d3n, order: 'efr2:efr'})
    expect(parseAmdFeatures('29d3:0')).toMatchObject({efr: 0x29d3n, order: 'efr:efr2'})
  })

  it('both halves non-zero: the log decides, else the kernel version (efr:efr2 from 6.5)', () => {
    expect(parseAmdFeatures('a5bf7320a2294aee:1d', {logEfr: 0xa5bf7320a2294aeen})).toMatchObject({efr: 0xa5bf7320a2294aeen, efr2: 0x1dn})
    expect(parseAmdFeatures('1d:a5bf7320a2294aee', {logEfr: 0xa5bf7320a2294aeen})).toMatchObject({efr: 0xa5bf7320a2294aeen, efr2: 0x1dn})
    expect(parseAmdFeatures('1d:a5', {kernel: {major: 6, minor: 1}})).toMatchObject({efr: 0xa5n, order: 'efr2:efr'})
    expect(parseAmdFeatures('a5:1d', {kernel: {major: 6, minor: 9}})).toMatchObject({efr: 0xa5n, order: 'efr:efr2'})
  })

  it('not hex: nothing decoded (never a guess)', () => {
    for (const bad of ['', 'zz', '1:2:3', '0x:1', '12345678901234567']) expect(parseAmdFeatures(bad), bad).toBeUndefined()
  })
})

describe('the IOMMU family, decided once in the model', () => {
  it('lab-amd-vi: amd-vi by its ivhd0 unit; lab-iommu-on: intel-vtd; dev-vm-no-iommu: none', async () => {
    expect((await modelAt(openRoot(LAB))).iommuFamilyView).toEqual({family: 'amd-vi', basis: 'ivhd0 in /sys/class/iommu'})
    expect((await modelAt(openRoot(path.join(fixturesDir, 'lab-iommu-on')))).iommuFamily).toBe('intel-vtd')
    expect((await modelAt(openRoot(path.join(fixturesDir, 'dev-vm-no-iommu')))).iommuFamily).toBe('none')
  })

  it('lab-amd-vi-off (a real kernel booted with amd_iommu=off): amd-vi by the IVRS table, NOT READY for the right reasons', async () => {
    const model = await modelAt(openRoot(path.join(fixturesDir, 'lab-amd-vi-off')))
    expect(model.iommuFamilyView).toEqual({family: 'amd-vi', basis: 'ACPI IVRS table'})
    const results = runChecks(assessmentContext(model))
    expect(outcome(results, 'platform.kernel-parameters')).toMatchObject({outcome: 'fail', remediation: expect.arrayContaining(['remove `amd_iommu=off` from the kernel command line', 'sudo update-grub'])})
    expect(outcome(results, 'interrupts.remapping')).toMatchObject({outcome: 'fail', remediation: ['remove `amd_iommu=off` from the kernel command line']})
    expect(outcome(results, 'platform.firmware-table')?.outcome).toBe('pass')
  })

  it('amd_iommu=off: no unit, but the IVRS table still says amd-vi', () => {
    const ctx = contextFor({...AMD, units: [], groups: [], cmdline: 'root=/dev/sda1 amd_iommu=off'}, '')
    expect(ctx.iommuFamilyView).toEqual({family: 'amd-vi', basis: 'ACPI IVRS table'})
    const results = runChecks(ctx)
    expect(outcome(results, 'platform.kernel-parameters')).toMatchObject({outcome: 'fail', summary: expect.stringContaining('amd_iommu=off')})
    expect(outcome(results, 'platform.dma-remapping')?.outcome).toBe('fail')
  })

  const smmu = (extra: Record<string, unknown> = {}, log = '') => {
    const entries = fakeHostEntries({cpu: 'amd', cpuFlags: 'fp asimd evtstrm cpuid', units: [{name: 'smmu3.0x0000000009050000'}], groups: [{id: 0, type: 'DMA'}], devices: [], interrupts: ''})
    return assessmentContext(buildHostModel({collected: collectHost(memHostFs({...entries, ...extra} as never)), log: fakeLog(log)}))
  }

  it('SMMUv3 by its smmu3.<address> unit, by IORT, or by the driver\'s probe line', () => {
    expect(smmu().iommuFamilyView).toEqual({family: 'arm-smmu-v3', basis: 'smmu3.0x0000000009050000 in /sys/class/iommu'})
    const noUnits = fakeHostEntries({cpu: 'amd', units: [], groups: [], devices: []})
    const byTable = buildHostModel({collected: collectHost(memHostFs({...noUnits, '/sys/firmware/acpi/tables/IORT': new Uint8Array([0x49, 0x4f, 0x52, 0x54])})), log: fakeLog('')})
    expect(byTable.iommuFamilyView).toEqual({family: 'arm-smmu-v3', basis: 'ACPI IORT table'})
    const byLog = buildHostModel({collected: collectHost(memHostFs(noUnits)), log: fakeLog('[    0.1] arm-smmu-v3 arm-smmu-v3.0.auto: ias 44-bit, oas 44-bit (features 0x00008fef)\n')})
    expect(byLog.iommuFamilyView).toEqual({family: 'arm-smmu-v3', basis: 'arm-smmu-v3 lines in the kernel log'})
  })

  it('SMMUv3: VT-d checks are not applicable with the family named; bypass turned on warns', () => {
    const ctx = smmu()
    const results = runChecks(ctx)
    for (const id of ['platform.dmar-valid', 'platform.scalable-mode', 'interrupts.x2apic', 'interrupts.posted', 'advanced.ats', 'platform.ivrs-valid', 'advanced.snp'])
      expect(outcome(results, id), id).toMatchObject({outcome: 'not-applicable'})
    expect(outcome(results, 'platform.dmar-valid')?.summary).toContain('Arm SMMUv3')
    expect(outcome(results, 'platform.firmware-table')?.summary).toContain('device-tree boot')
    expect(outcome(results, 'platform.default-domain')?.outcome).toBe('pass')
    // No IR on Arm: MSI isolation is the GIC ITS's; /proc/interrupts without an ITS chip warns, never a false IR fail.
    expect(outcome(results, 'interrupts.remapping')).toMatchObject({outcome: 'warn', summary: expect.stringContaining('ITS')})
    const its = smmu({'/proc/interrupts': ' 12:   0   ITS-PCI-MSIX-0000:00:02.0   0 Edge      nvme0q0\n'})
    expect(outcome(runChecks(its), 'interrupts.remapping')?.outcome).toBe('pass')
    const bypass = smmu({'/proc/cmdline': 'root=/dev/vda2 arm-smmu-v3.disable_bypass=0\n'})
    expect(outcome(runChecks(bypass), 'platform.default-domain')).toMatchObject({outcome: 'warn', summary: expect.stringContaining('bypass the SMMU')})
    expect(lintFamilyUnits(ctx)?.map((r) => [r.id, r.outcome])).toEqual([['units.present', 'pass'], ['units.registers', 'not-applicable']])
  })
})

describe('checks on the SMMUv3 lab snapshot (a real arm64 6.1 kernel under QEMU virt, iommu=smmuv3)', () => {
  it('arm-smmu-v3 by its unit; VT-d and AMD checks not applicable; arm64 virtualization judged by EL2, not by x86 flags', async () => {
    const model = await modelAt(openRoot(path.join(fixturesDir, 'lab-smmuv3')))
    expect(model.iommuFamily).toBe('arm-smmu-v3')
    const results = runChecks(assessmentContext(model))
    expect(outcome(results, 'platform.cpu-virtualization')).toMatchObject({outcome: 'warn', summary: expect.stringContaining('started at EL1')})
    expect(outcome(results, 'platform.firmware-table')).toMatchObject({outcome: 'pass', summary: expect.stringContaining('IORT')})
    for (const id of ['platform.dmar-valid', 'platform.ivrs-valid', 'interrupts.x2apic', 'interrupts.posted', 'advanced.snp']) expect(outcome(results, id)?.outcome, id).toBe('not-applicable')
    const lint = lintFamilyUnits(model) ?? []
    expect(lint.find((r) => r.id === 'units.registers')?.evidence.map((e) => e.fact)).toContainEqual(expect.stringContaining('ias 44-bit, oas 44-bit'))
  })
})

describe('checks on the AMD-Vi lab snapshot (a real 6.1 kernel)', () => {
  it('a real verdict with AMD answers, not VT-d ones', async () => {
    const ctx = assessmentContext(await modelAt(openRoot(LAB)))
    const results = runChecks(ctx)
    expect(outcome(results, 'platform.firmware-table')).toMatchObject({outcome: 'pass', summary: expect.stringContaining('IVHD type 0x10')})
    expect(outcome(results, 'interrupts.x2apic')).toMatchObject({outcome: 'pass', summary: expect.stringContaining('(XT)')})
    expect(outcome(results, 'interrupts.posted')).toMatchObject({outcome: 'warn', summary: expect.stringContaining('GAMSup=0')})
    // QEMU's IVRS describes only the IOAPIC: no ivrs_hpet[…]= advice for a 00:14.0 this guest does not have.
    expect(outcome(results, 'platform.ivrs-valid')).toMatchObject({outcome: 'pass', remediation: []})
    expect(outcome(results, 'platform.bare-metal')?.evidence.map((e) => e.fact)).toContain('NpCache=1 (caches not-present entries: emulated AMD-Vi) on ivhd0')
    expect(outcome(results, 'advanced.snp')?.outcome).toBe('not-applicable')
  })
})

describe('AMD checks on in-memory hosts', () => {
  const results = (spec: FakeHost, log: string | null = AMD_LOG) => runChecks(contextFor(spec, log))

  it('x2APIC: "AMD-Vi: X2APIC enabled" passes; XT offered but unused on an x2APIC CPU warns', () => {
    const xt = {...AMD, units: [{name: 'ivhd0', vendor: 'amd' as const, cap: '190100', ecap: '58f77ef22294ade'}]}
    expect(outcome(results(xt, `${AMD_LOG}[    0.6] AMD-Vi: X2APIC enabled\n`), 'interrupts.x2apic')).toMatchObject({outcome: 'pass', summary: 'interrupt remapping in x2APIC mode (AMD-Vi XT)'})
    expect(outcome(results(xt), 'interrupts.x2apic')).toMatchObject({outcome: 'warn', remediation: [expect.stringContaining('x2APIC')]})
    // The default fake unit (58f77ef22294ada) has no XT: xAPIC by hardware, fine below 256 CPUs.
    expect(outcome(results(AMD), 'interrupts.x2apic')?.summary).toContain('no x2APIC interrupt support (XT)')
  })

  it('posted interrupts: GA with vAPIC passes; amd_iommu_intr=legacy warns; SNP turning vAPIC off warns', () => {
    expect(outcome(results(AMD), 'interrupts.posted')?.outcome).toBe('pass')
    expect(outcome(results({...AMD, cmdline: 'root=/dev/sda1 amd_iommu_intr=legacy'}), 'interrupts.posted')).toMatchObject({outcome: 'warn', summary: expect.stringContaining('amd_iommu_intr=legacy')})
    expect(outcome(results(AMD, `${AMD_LOG}[    4.6] AMD-Vi: Force to disable Virtual APIC due to SNP\n`), 'interrupts.posted')?.outcome).toBe('warn')
  })

  it('interrupt remapping off by a firmware IOAPIC bug: fail, with the ivrs_ioapic remedy', () => {
    const log = '[    0.4] AMD-Vi: [Firmware Bug]: : IOAPIC[9] not in IVRS table\n[    0.4] AMD-Vi: Disabling interrupt remapping\n[    0.5] pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40\n'
    const r = outcome(results({...AMD, interrupts: '  0:  37  IO-APIC    2-edge      timer\n'}, log), 'interrupts.remapping')
    expect(r?.outcome).toBe('fail')
    expect(r?.evidence.map((e) => e.fact)).toContainEqual(expect.stringContaining('AMD-Vi: [Firmware Bug]: : IOAPIC[9] not in IVRS table'))
    expect(r?.remediation.join(' ')).toContain('ivrs_ioapic[')
  })

  it('SEV-SNP: only with the sev_snp CPU flag; the IOMMU\'s SNPSup decides', () => {
    const flags = 'fpu apic x2apic svm npt sev sev_es sev_snp'
    const snpEfr = (0xa5bf7320a2294aeen).toString(16)
    expect(outcome(results({...AMD, cpuFlags: flags, units: [{name: 'ivhd0', vendor: 'amd', cap: '190100', ecap: snpEfr}]}), 'advanced.snp')?.outcome).toBe('pass')
    expect(outcome(results({...AMD, cpuFlags: flags}), 'advanced.snp')).toMatchObject({outcome: 'warn', summary: expect.stringContaining('SNPSup=0')})
    expect(outcome(results(AMD), 'advanced.snp')?.outcome).toBe('not-applicable')
  })

  it('units lint and check state x2APIC and interrupt remapping the same way', () => {
    const ctx = contextFor(AMD, AMD_LOG)
    const lint = lintFamilyUnits(ctx) ?? []
    const checks = runChecks(ctx)
    expect(lint.find((r) => r.id === 'units.x2apic')?.summary).toBe(outcome(checks, 'interrupts.x2apic')?.summary)
    expect(lint.find((r) => r.id === 'units.interrupt-remapping')?.outcome).toBe(outcome(checks, 'interrupts.remapping')?.outcome)
  })
})

describe('AMD and SMMU kernel parameters, read for their effect', () => {
  it('amd_iommu= options, amd_iommu_intr=, ivrs_ioapic[...]= and SMMU bypass', () => {
    const params = parseKernelParameters('amd_iommu=force_isolation,fullflush amd_iommu_intr=vapic ivrs_ioapic[4]=00:14.0 ivrs_hpet[0]=00:14.0 arm-smmu.disable_bypass=0')
    expect(params.amdIommuOptions).toEqual(['force_isolation', 'fullflush'])
    expect(params.invalidation).toEqual({policy: 'strict', via: 'amd_iommu=fullflush'})
    expect(params.ivrsOverrides).toEqual(['ivrs_ioapic[4]=00:14.0', 'ivrs_hpet[0]=00:14.0'])
    expect(params.smmuDisableBypass).toEqual({value: false, via: 'arm-smmu.disable_bypass=0'})
    const effects = describeEffects(params).join('\n')
    for (const text of ['amd_iommu=force_isolation: every device is isolated', 'amd_iommu_intr=vapic: guest virtual APIC', 'ivrs_ioapic[4]=00:14.0: corrects the firmware', 'bypass the SMMU']) expect(effects).toContain(text)
    expect(ineffectiveParameters(params, 'intel').map((p) => p.param)).toEqual(['amd_iommu=force_isolation,fullflush', 'amd_iommu_intr=vapic', 'ivrs_ioapic[4]=00:14.0', 'ivrs_hpet[0]=00:14.0'])
    expect(describeEffects(parseKernelParameters('amd_iommu=constructor amd_iommu_intr=__proto__')).join('\n')).toContain('not an amd_iommu_intr mode')
  })
})

describe('IVRS aliases in the DMA-alias model and the grouping replay', () => {
  const load = (dir: string): PciTopology => {
    const loaded = loadTopology(new RootedHostFs(dir))
    if (!loaded.ok) throw new Error(loaded.error)
    return loaded.topology
  }

  it('lab-amd-vi: its IVRS alias range (the PCIe-to-PCI bridge\'s) agrees with PCI, and the replay reproduces the kernel\'s groups', async () => {
    const model = await modelAt(openRoot(LAB))
    const options = hostGroupingOptions(model)
    expect(options.ivrsAliases?.map((a) => [a.firstBdf, a.lastBdf, a.aliasBdf])).toEqual([['0000:04:00.0', '0000:04:1f.7', '0000:04:00.0']])
    const prediction = replayGrouping(model.topology, {kernelVersion: model.kernel?.release, ...options})
    const check = crossCheckGroups(model.topology, prediction)
    expect(check.mismatches).toEqual([])
    expect(check.compared).toBe(12)
    expect(prediction.assumptions.join('\n')).toContain("the firmware's IVRS table read; its 1 alias range(s) applied")
    expect(dmaAliasesOf(model.topology, '0000:04:01.0', {ivrsAliases: options.ivrsAliases}).map((a) => a.reason)).toEqual(['self', 'pcie-to-pci-bridge'])
  })

  it('an IVRS alias on the device\'s own bus that PCI does not imply becomes a DMA alias and merges groups', () => {
    const topo = load(path.join(fixturesDir, 'lab-amd-vi'))
    // Hypothetical firmware: 00:03.0 (edu) DMAs as 00:1f.3 — the kernel's get_alias() adds 1f.3 as its PCI DMA alias.
    const ivrsAliases = [{segment: 0, first: 0x0018, last: 0x0018, aliasTo: 0x00fb}]
    expect(dmaAliasesOf(topo, '0000:00:03.0', {ivrsAliases}).map((a) => [a.bdf, a.reason])).toEqual([['0000:00:03.0', 'self'], ['0000:00:1f.3', 'ivrs-alias']])
    const merged = replayGrouping(topo, {ivrsAliases})
    expect(merged.groupOf.get('0000:00:03.0')).toBe(merged.groupOf.get('0000:00:1f.3'))
    const plain = replayGrouping(topo, {ivrsAliases: []})
    expect(plain.groupOf.get('0000:00:03.0')).not.toBe(plain.groupOf.get('0000:00:1f.3'))
    // Another bus: the IOMMU uses the alias, but PCI grouping does not change (get_alias adds same-bus aliases only).
    expect(dmaAliasesOf(topo, '0000:00:03.0', {ivrsAliases: [{segment: 0, first: 0x18, last: 0x18, aliasTo: 0x0100}]}).map((a) => a.reason)).toEqual(['self'])
  })

  it('real IVRS tables alias one whole bus to 00:14.4/5 (bus ff on Zen FCHs, the legacy PCI bridge\'s bus on older southbridges): another bus, so no group changes', () => {
    const dir = path.join(realData, 'ivrs')
    const tables = readdirSync(dir).filter((f) => f.endsWith('.dat'))
    const withAliases = tables.map((f) => ivrsAliases(decodeIvrs(readFileSync(path.join(dir, f))))).filter((a) => a.length > 0)
    expect(withAliases.length).toBeGreaterThanOrEqual(20)
    // SB7x0..Bolton boards (990FX, A78, SR5690 servers) alias the bus behind the 00:14.4 PCI bridge instead of bus ff
    expect(withAliases.filter((aliases) => aliases.some((a) => !a.firstBdf.startsWith('0000:ff:'))).length).toBeGreaterThanOrEqual(3)
    const topo = load(path.join(fixturesDir, 'lab-amd-vi'))
    const base = replayGrouping(topo)
    for (const aliases of withAliases) {
      expect(aliases.every((a) => a.first === (a.first & 0xff00) && a.last === a.first + 0xff && /^0000:00:14\.[45]$/.test(a.aliasBdf))).toBe(true)
      expect([...replayGrouping(topo, {ivrsAliases: aliases}).groupOf]).toEqual([...base.groupOf])
    }
  })

  it('without the table the replay says the answer depends on the firmware\'s IVRS', () => {
    const topo = load(path.join(fixturesDir, 'lab-amd-vi'))
    expect(replayGrouping(topo).assumptions.join('\n')).toContain("depend on the firmware's IVRS table, which this input does not include")
  })
})

it('modelOf builds the AMD model without a log (units still decode, the order from the zero half)', () => {
  const model = modelOf(openRoot(LAB))
  expect(model.amdUnits[0]?.features).toMatchObject({efr: 0x29d3n, efr2: 0n, order: 'efr2:efr'})
})
