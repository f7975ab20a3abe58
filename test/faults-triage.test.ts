/**
 * Fault triage over the real excerpts in test/fixtures/real/dmesg: grouping, timelines, storms,
 * suppressed counts and which explanation rule fires. Every expectation below comes from
 * reading the log (and its .cause.txt), not from the tool's output.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {LogParser, parseKernelLog, type FaultRecord} from '../src/decode/kernel-log/index.js'
import {lookupFaultReason, reasonTableFor, LEGACY_DMA_REASONS, INTERRUPT_REASONS, SCALABLE_REASONS} from '../src/decode/fault-reasons.js'
import {parseSince, triageRecords, type TriageContext, type TriageResult} from '../src/replay/fault-triage.js'
import {faultOutcomes, faultsToJson, renderFaultsTable} from '../src/report/faults.js'
import {RootedHostFs} from '../src/host/fs.js'
import {triageContextOf} from '../src/replay/fault-context.js'
import {modelOf} from './support/model.js'
import {fixturesDir, repoRoot, realData} from './support/paths.js'

function triage(name: string, ctx: TriageContext = {}): TriageResult {
  const text = readFileSync(path.join(realData, 'dmesg', `${name}.log`), 'utf8')
  return triageRecords(parseKernelLog(text), text.split('\n').length, {source: name, ...ctx})
}

describe('reason tables (vtd-reference §4)', () => {
  it('covers legacy 0x00–0x0D, IR 0x20–0x27 and the listed scalable-mode codes', () => {
    for (let c = 0; c <= 0x0d; c++) expect(LEGACY_DMA_REASONS.get(c)?.table).toBe('dma')
    for (let c = 0x20; c <= 0x27; c++) expect(INTERRUPT_REASONS.get(c)?.table).toBe('interrupt')
    const sm = [0x30, 0x31, 0x32, 0x38, 0x39, 0x3a, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x50, 0x51, 0x52, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d,
      0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x90]
    expect([...SCALABLE_REASONS.keys()].sort((a, b) => a - b)).toEqual(sm)
    for (const row of [...LEGACY_DMA_REASONS.values(), ...INTERRUPT_REASONS.values(), ...SCALABLE_REASONS.values()]) {
      expect(row.meaning.length).toBeGreaterThan(10)
      expect(row.causes.length).toBeGreaterThan(0)
    }
  })

  it('classifies codes the way dmar_get_fault_reason does', () => {
    expect(reasonTableFor(0x06)).toBe('dma')
    expect(reasonTableFor(0x26)).toBe('interrupt')
    expect(reasonTableFor(0x27)).toBe('unknown') // printed as "Unknown" in the DMA form
    expect(reasonTableFor(0x51)).toBe('scalable')
    expect(reasonTableFor(0x1f)).toBe('unknown')
    expect(lookupFaultReason(0x85)?.legacyAnalogue).toBe(0x05)
    expect(lookupFaultReason(0x22)?.text).toBe('Present field in the IRTE entry is clear')
  })
})

describe('grouping, timeline, storms and suppressed counts', () => {
  it('i915-sriov: ten reads in three pages, the hot page first', () => {
    const r = triage('i915-sriov-pve-k6.8-1')
    expect(r.faults.map((f) => [f.page, f.count])).toEqual([[0x4f600000n, 8], [0x4f6aa000n, 1], [0x4f77d000n, 1]])
    const hot = r.faults[0]!
    expect(hot).toMatchObject({requester: '0000:00:02.0', access: 'read', reason: 6, kind: 'dma'})
    expect(hot.first.time?.text).toBe('46.010697')
    expect(hot.last.time?.text).toBe('61.028223')
    // The iGPU: the known candidates, and no pretence that the log tells them apart.
    expect(hot.explanation).toMatchObject({rule: 'igfx', category: 'igfx', certainty: 'cannot-tell'})
  })

  it('igpu-gvtd-reboot: one storm, 2 × 893 suppressed, every status line an overflow', () => {
    const r = triage('igpu-gvtd-reboot-k5.x-1')
    expect(r.faults).toHaveLength(1)
    expect(r.faults[0]).toMatchObject({count: 6, suppressedNearby: 1786, storm: true, address: 0x9c000000n})
    expect(r.summary).toMatchObject({suppressed: 1786, statusLines: 8, overflows: 8, faultRecords: 6})
    expect(r.faults[0]!.formats).toEqual(['pasid-field'])
  })

  it('optane: the huge suppressed count goes to the fault printed after it; IOVA 0 rule', () => {
    const r = triage('optane-vss-k4.19-1')
    expect(r.faults).toHaveLength(1)
    expect(r.faults[0]).toMatchObject({requester: '0000:99:00.0', count: 3, suppressedNearby: 812287, storm: true, address: 0n})
    expect(r.faults[0]!.explanation.rule).toBe('dma-to-address-zero')
  })

  it('address 0: a write may be an MSI with no address yet, a read cannot be (an MSI is a write)', () => {
    // The read is line 391 of the lab-dma-faults snapshot's kernel log; the write is its reason-0x05 form.
    const read = '[    4.562783] DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0x0 [fault reason 0x06] PTE Read access is not set'
    const write = '[    5.363123] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x0 [fault reason 0x05] PTE Write access is not set'
    const explain = (line: string) => triageRecords(parseKernelLog(`[    4.000000] DMAR: DRHD: handling fault status reg 2\n${line}\n`), 2, {source: 'lab'}).faults[0]!.explanation
    expect(explain(read).rule).toBe('dma-to-address-zero')
    expect(explain(read).causes.join(' ')).not.toMatch(/MSI/)
    expect(explain(write).rule).toBe('dma-to-address-zero')
    expect(explain(write).causes.join(' ')).toMatch(/MSI/)
  })

  it('onl-as4630: suppressed after the last fault is still attributed', () => {
    const r = triage('onl-as4630-k4.x-1')
    expect(r.faults[0]).toMatchObject({requester: '0000:00:12.0', count: 3, suppressedNearby: 2474})
    expect(r.faults[0]!.explanation.rule).toBe('dma-to-address-zero')
  })

  it('marvell: three distinct pages are three groups', () => {
    const r = triage('marvell-switch-asic-k5.x-1')
    expect(r.faults.map((f) => f.address)).toEqual([0x1a5e12000n, 0x1a5e05000n, 0x1a5e01000n])
    expect(r.summary.overflows).toBe(0) // 402 and 502: PPF with record index 4 / 5, no PFO
  })

  it('timeline: i915 faults in four 5-second bursts, bucketed from the first stamp', () => {
    const hot = triage('i915-sriov-pve-k6.8-1').faults[0]!
    // 0x4f600000 at 46.01, 46.03, 46.04 | 51.03, 51.04 | 56.03, 56.04 | 61.03 (seconds)
    expect(hot.timeline?.startSeconds).toBeCloseTo(46.010697, 6)
    expect(hot.timeline?.bucketSeconds).toBe(1)
    expect(hot.timeline?.buckets.map((b) => [Math.round(b.at - 46.010697), b.count])).toEqual([[0, 3], [5, 2], [10, 2], [15, 1]])
  })

  it('timeline buckets widen to stay bounded', async () => {
    const {FaultTriage} = await import('../src/replay/fault-triage.js')
    const t = new FaultTriage()
    const lines = Array.from({length: 1000}, (_, i) => `[ ${100 + i * 7}.000000] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set`)
    for (const r of parseKernelLog(lines.join('\n'))) t.add(r)
    const tl = t.finish(1000).faults[0]!.timeline!
    expect(tl.buckets.length).toBeLessThanOrEqual(48)
    expect(tl.buckets.reduce((n, b) => n + b.count, 0)).toBe(1000)
    expect(tl.bucketSeconds).toBe(256) // 6993 s of faults: 1 s doubled until ≤ 48 buckets
  })

  it('--since keeps only what is stamped after it', () => {
    const r = triage('igpu-gvtd-reboot-k5.x-1', {since: {bootSeconds: 149}})
    expect(r.faults[0]).toMatchObject({count: 3, suppressedNearby: 893})
    expect(r.summary.beforeSince).toBe(9) // lines 1–9 are stamped before 149 s
    const none = triage('optane-vss-k4.19-1', {since: {bootSeconds: 1}})
    expect(none.summary.untimed).toBeGreaterThan(0) // no stamps: kept, and counted as "could not tell"
    expect(none.faults[0]!.count).toBe(3)
  })

  it('parses --since values', () => {
    expect(parseSince('300', 0)).toEqual({bootSeconds: 300})
    expect(parseSince('10m', 1_000_000_000, 5000)).toEqual({epochSeconds: 1_000_000 - 600, bootSeconds: 4400})
    expect(parseSince('2025-01-09T10:00:00Z', 0)).toEqual({epochSeconds: Date.parse('2025-01-09T10:00:00Z') / 1000})
    expect(parseSince('yesterday-ish', 0)).toBeUndefined()
  })
})

describe('explanations cite their evidence', () => {
  it('early-boot firmware DMA: dasharo root-entry faults at 0.36 s', () => {
    const r = triage('dasharo-nv41-boot-k6.x-1')
    expect(r.faults).toHaveLength(2)
    for (const f of r.faults) {
      expect(f.explanation.rule).toBe('early-boot-firmware-dma')
      expect(f.explanation.evidence.some((e) => e.fact.includes('0.361'))).toBe(true)
    }
  })

  it('tgl-igpu 0x07 and 0x06 at boot are early firmware DMA too', () => {
    expect(triage('tgl-igpu-boot-k5.14-1').faults.map((f) => [f.reason, f.explanation.rule])).toEqual([[7, 'early-boot-firmware-dma'], [6, 'early-boot-firmware-dma']])
  })

  it('a DRHD fault after 20 s of uptime is not "early": xhci root entry clear', () => {
    expect(triage('xhci-root-clear-k4.2-1').faults[0]!.explanation.rule).toBe('root-entry-clear')
  })

  it('context entry clear during the vfio-pci handover (gvtd-skylake) and after rebind (dpdk)', () => {
    const sky = triage('igpu-gvtd-skylake-k5.x-1')
    expect(sky.faults.find((f) => f.reason === 2)?.explanation.rule).toBe('igfx')
    expect(triage('dpdk-ctx-clear-k3.15-1').faults[0]!.explanation.rule).toBe('no-domain-attached')
  })

  it('scalable-mode 0x51 with a walk dump that shows the entry present: the coherency bug', () => {
    const f = triage('pasid-dir-dump-k6.3-1').faults[0]!
    expect(f.explanation.rule).toBe('pasid-directory-not-coherent')
    expect(f.walkDump).toHaveLength(13)
    expect(f.explanation.evidence.some((e) => e.fact.includes('pasid dir entry: 0x0000000101b4e001'))).toBe(true)
  })

  it('IR 0x25 from f0:1f.0 after resume: the IOAPIC, not a PCI device', () => {
    for (const name of ['terra-rmrr-dmesgH-k6.1-1', 'dell-xps9360-intremap-k6.x-1']) {
      const f = triage(name).faults[0]!
      expect(f).toMatchObject({kind: 'interrupt', reason: 0x25, requester: '0000:f0:1f.0'})
      expect(f.explanation.rule).toBe('ir-compatibility-format')
      expect(f.explanation.summary).toMatch(/I\/O APIC or HPET/)
    }
    const terra = triage('terra-rmrr-dmesgH-k6.1-1')
    expect(terra.faults[0]!.count).toBe(2)
    expect(terra.logContext).toMatchObject({interruptRemapping: 'xapic', groups: 15})
    // two RMRRs; the "bad RMRR" line repeats the second range and is kept once
    expect(terra.logContext.rmrrs.map((x) => [x.base, x.end])).toEqual([[0x87130000n, 0x8714ffffn], [0x88800000n, 0x8cffffffn]])
  })

  it('IR 0x25 from 00:1f.0, the LPC/eSPI bridge that sends no MSI itself: most likely the HPET scoped there; another 00:1f function stays an MSI', () => {
    const line = (bdf: string) => parseKernelLog(`DMAR: [INTR-REMAP] Request device [${bdf}] fault index 0x0 [fault reason 0x25] Blocked a compatibility format interrupt request\n`)
    const lpc = triageRecords(line('00:1f.0'), 1, {source: 'log'}).faults[0]!.explanation
    expect(lpc).toMatchObject({rule: 'ir-compatibility-format', category: 'ir-compat'})
    expect(lpc.summary).toMatch(/LPC\/eSPI bridge.*HPET/)
    expect(lpc.causes.join(' ')).toMatch(/enabled an HPET channel .* before programming/)
    expect(triageRecords(line('00:1f.3'), 1, {source: 'log'}).faults[0]!.explanation.rule).toBe('ir-compatibility-msi')
  })

  it('IR 0x25 from a PCI function (mlx5 VF): MSIs not routed through remapping', () => {
    const f = triage('mlx5-vf-intremap-k5.10-1').faults[0]!
    expect(f).toMatchObject({count: 2, index: 0x1600n, requester: '0000:42:00.2'})
    expect(f.explanation).toMatchObject({rule: 'ir-compatibility-msi', certainty: 'cannot-tell'})
    expect(f.explanation.summary).toMatch(/did not go through the remapping domain/)
    expect(f.explanation.causes.join(' ')).toMatch(/5\.10 SR-IOV VF/)
  })

  it('an address outside the log\'s RMRRs is not blamed on them (kernel-doc sample)', () => {
    const f = triage('kernel-doc-sample-k2.6-1').faults[0]!
    expect(f).toMatchObject({count: 2, access: 'write', address: 0x6df084000n})
    expect(f.explanation.rule).toBe('igfx')
    expect(f.explanation.evidence.some((e) => e.fact.startsWith('RMRR'))).toBe(false)
  })

  it('an address inside an RMRR from the decoded DMAR table', () => {
    // Hand-made RMRR around the vfioigd fault address, to exercise the rule with a table RMRR.
    const f = triage('vfioigd-upt-k6.x-1', {rmrrs: [{base: 0x70000000n, limit: 0x77ffffffn, devices: ['0000:00:02.0']}]}).faults[0]!
    expect(f.explanation.rule).toBe('address-in-rmrr')
    expect(f.explanation.evidence).toContainEqual({fact: 'RMRR [0x70000000-0x77ffffff] for 0000:00:02.0 contains 0x706e0000', source: 'ACPI DMAR RMRR'})
    expect(f.explanation.remediation.join(' ')).toMatch(/igfx_off/)
  })

  it('calls the translation-replay hook with the group\'s first record', () => {
    const seen: FaultRecord[] = []
    const r = triage('marvell-switch-asic-k5.x-1', {stepFor: (rec) => (seen.push(rec), {step: 'leaf PTE R=0', detail: 'level 1'})})
    expect(seen.map((x) => x.line)).toEqual([1, 3, 5])
    expect(r.faults[0]!.explanation.evidence).toContainEqual({fact: 'translation replay: leaf PTE R=0 — level 1', source: 'replay'})
  })
})

describe('events and exit policy', () => {
  it('QI time-out, completion error and queue error (vmd) fail the run', () => {
    const r = triage('vmd-qi-ite-k6.x-1')
    expect(r.faults).toHaveLength(0)
    const timeout = r.events.find((e) => e.type === 'qi' && e.event === 'timeout')
    expect(timeout).toMatchObject({device: '0000:ff:1f.7', count: 1})
    expect(faultOutcomes(faultsToJson(r, {origin: 'file', path: 'x', lines: 10}))).toEqual(['fail'])
  })

  it('ITE with SID 0 says the SID is not useful, and names the device the stuck device-TLB descriptor targets', () => {
    const e = triage('qla-sriov-devtlb-k6.x-1').events.find((ev) => ev.event === 'timeout')!
    expect(e.explanation.summary).toMatch(/own SID is 0x0 \(the unit latched no requester\)/)
    // "QI HEAD: Device-TLB Invalidation qw0 = 0xaf0300100003": source ID 0xaf03 in bits 47:32, a VF at af:00.3.
    expect(e.explanation.summary).toMatch(/timed out for 0000:af:00\.3/)
    expect(e.explanation.remediation.join(' ')).toMatch(/pci=noats/)
  })

  it('RMRR refusal (HPE) is an event with the HPE remedy', () => {
    const e = triage('rmrr-ineligible-hpe-k5.x-1').events[0]!
    expect(e).toMatchObject({type: 'rmrr-refusal', event: 'ineligible', device: '0000:04:00.1'})
    expect(e.explanation.remediation.join(' ')).toMatch(/shared memory/)
  })

  it('6.6+ 1:1-mapping refusal (real line from meowdiocre/vmw) names the firmware setting', () => {
    const text = readFileSync(path.join(repoRoot, 'test/fixtures/dmesg/more/vmw-require-direct-k6.6+.log'), 'utf8')
    const e = triageRecords(parseKernelLog(text), 1).events[0]!
    expect(e).toMatchObject({type: 'rmrr-refusal', event: 'require-direct', device: '0000:01:00.0'})
    expect(e.explanation.remediation.join(' ')).toMatch(/Pre-boot DMA Protection/)
  })

  it('AMD-Vi only: grouped per page like DMAR faults, family in the JSON, explained, exit fail', () => {
    const r = triage('apu2-ath10k-amdvi-k6.8-1')
    const json = faultsToJson(r, {origin: 'file', path: 'apu2', lines: 3})
    // three writes to three different pages of one Wi-Fi card (flags 0x0070: PR RW PE)
    expect(json.faults).toHaveLength(3)
    for (const f of json.faults) {
      expect(f).toMatchObject({family: 'amd-vi', requester: '0000:01:00.0', event: 'IO_PAGE_FAULT', access: 'write', flags: '0x70', flagNames: ['PR', 'RW', 'PE'], driver: 'ath10k_pci', domain: 13, reason: null})
      expect(f.explanation.rule).toBe('amd-vi-permission')
    }
    expect(json.summary.families).toEqual({'amd-vi': 3})
    expect(json.notes.join()).not.toMatch(/not covered/)
    expect(faultOutcomes(json)).toEqual(['fail'])
    const table = renderFaultsTable(json)
    expect(table).toMatch(/3 fault line\(s\) in 3 group\(s\).* By IOMMU: 3 amd-vi/)
    expect(table).toMatch(/AMD-Vi IO_PAGE_FAULT \[PR RW PE\]/)
    expect(table).not.toMatch(/No DMAR/)
  })

  it('a healthy boot passes', () => {
    const json = faultsToJson(triage('pixelbook-boot-x2apic-k5.x-1'), {origin: 'file', path: 'p', lines: 12})
    expect(faultOutcomes(json)).toEqual(['pass'])
    expect(renderFaultsTable(json)).toMatch(/^No IOMMU faults \(DMAR, interrupt remapping, AMD-Vi, SMMU\)/)
  })

  it('JSON carries the DESIGN.md names with hex strings', () => {
    const json = faultsToJson(triage('i915-sriov-pve-k6.8-1'), {origin: 'file', path: 'i915', lines: 10})
    expect(json.schemaVersion).toBe(1)
    expect(json.faults[0]).toMatchObject({kind: 'dma', requester: '0000:00:02.0', access: 'read', address: '0x4f600000', reason: 6, reasonHex: '0x06',
      reasonText: 'PTE Read access is not set', count: 8})
    expect(typeof json.faults[0]!.explanation.summary).toBe('string')
    expect(() => JSON.stringify(json)).not.toThrow() // no bigint left
  })

  it('the table leads with the worst offender', () => {
    const text = renderFaultsTable(faultsToJson(triage('igpu-gvtd-reboot-k5.x-1'), {origin: 'file', path: 'gvtd', lines: 16}))
    expect(text.split('\n')[1]).toBe('Worst: 0000:00:02.0 0x06 PTE Read access is not set ×6 (+1786)')
    expect(text).toMatch(/STORM/)
  })
})

describe('bounded memory', () => {
  it('one requester interleaving reasons, accesses, PASIDs and pages keeps each group apart', () => {
    const variants = [
      'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set',
      'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Write access is not set',
      'DMAR: [DMA Write NO_PASID] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Write access is not set',
      'DMAR: [DMA Write PASID 0x2] Request device [00:02.0] fault addr 0x1000 [fault reason 0x05] PTE Write access is not set',
      'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1fff [fault reason 0x06] PTE Read access is not set',
      'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x2000 [fault reason 0x06] PTE Read access is not set',
      'DMAR: [INTR-REMAP NO_PASID] Request device [00:02.0] fault index 0x1000 [fault reason 0x22] Present field in the IRTE entry is clear',
    ]
    const order = [0, 1, 2, 0, 2, 3, 2, 4, 5, 6, 0, 6, 1, 5, 3]
    const r = triageRecords(parseKernelLog(order.map((v, i) => `[ ${i + 1}.0] ${variants[v]}`).join('\n')), order.length)
    const groups = r.faults.map((f) => `${f.kind} ${f.access ?? ''} ${f.reason} ${f.pasid ?? ''} ${f.page ?? f.index} ×${f.count}`).sort()
    expect(groups).toEqual([
      'dma read 5  4096 ×2', 'dma read 6  4096 ×4', 'dma read 6  8192 ×2', 'dma write 5  4096 ×3', 'dma write 5 2 4096 ×2', 'interrupt  34  4096 ×2',
    ])
  })

  it('folds pages past MAX_GROUPS into one "other pages" group per requester × reason', async () => {
    const {FaultTriage, MAX_GROUPS} = await import('../src/replay/fault-triage.js')
    const t = new FaultTriage()
    const line = (page: number) => `[ 100.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x${(page * 4096).toString(16)} [fault reason 0x06] PTE Read access is not set`
    const total = MAX_GROUPS + 500
    for (const r of parseKernelLog(Array.from({length: total}, (_, i) => line(i + 1)).join('\n'))) t.add(r)
    const r = t.finish(total)
    expect(r.faults).toHaveLength(MAX_GROUPS + 1)
    const other = r.faults.find((f) => f.otherPages)!
    expect(other.count).toBe(500)
    expect(r.faults.reduce((n, f) => n + f.count, 0)).toBe(total)
    const table = renderFaultsTable(faultsToJson(r, {origin: 'file', path: 'x', lines: total}), {detail: 0})
    // the folded group (500) leads; 24 single-page rows follow; the other groups of one line each remain
    expect(table).toContain(`… and ${MAX_GROUPS - 24} more group(s) with ${MAX_GROUPS - 24} fault line(s)`)
    expect(other.explanation.summary).toMatch(/many other pages/)
  })
})

describe('rules that read host facts (lab-sriov-nvme, a real-kernel snapshot)', () => {
  const {context} = triageContextOf(modelOf(new RootedHostFs(path.join(fixturesDir, 'lab-sriov-nvme'))))
  const devices = [...context.topology!.devices.values()]
  const vf = devices.find((d) => d.physfn !== undefined)!
  const ir = (bdf: string) => parseKernelLog(`[  100.0] DMAR: [INTR-REMAP] Request device [${bdf.slice(5)}] fault index 0x10 [fault reason 0x25] Blocked a compatibility format interrupt request`)

  it('a compatibility-format MSI from an SR-IOV VF is the kernel not remapping VF MSIs', () => {
    expect(triageRecords(ir(vf.bdf), 1, context).faults[0]!.explanation).toMatchObject({rule: 'vf-msi-not-remapped', category: 'kernel-bug', certainty: 'likely'})
  })

  it('the same from a PF on a host with an Intel VMD controller is the VMD MSI-remapping case; without one, cannot tell', () => {
    const pf = devices.find((d) => d.bdf === vf.physfn)!
    expect(triageRecords(ir(pf.bdf), 1, context).faults[0]!.explanation).toMatchObject({rule: 'ir-compatibility-msi', certainty: 'cannot-tell'})
    // The same host with a VMD controller added (8086:28c0, Ice Lake Xeon VMD).
    const withVmd = new Map(context.topology!.devices)
    withVmd.set('0000:64:05.5', {...pf, bdf: '0000:64:05.5', vendorId: 0x8086, deviceId: 0x28c0})
    const vmdContext: TriageContext = {...context, topology: {...context.topology!, devices: withVmd}}
    expect(triageRecords(ir(pf.bdf), 1, vmdContext).faults[0]!.explanation).toMatchObject({rule: 'vmd-msi-remapping', category: 'vmd'})
  })
})


describe('rules that read co-occurring lines the prefilter keeps (vmd driver, kdump command line)', () => {
  const lead = (text: string) => {
    const r = triageRecords(parseKernelLog(text), text.split('\n').length, {source: 'log'})
    return r.faults[0]?.explanation ?? r.events[0]?.explanation
  }
  const ir25 = '[  100.0] DMAR: [INTR-REMAP] Request device [e2:00.0] fault index 0xa00 [fault reason 0x25] Blocked a compatibility format interrupt request'

  it('"Translation was enabled … but we are not in kdump mode" is a kexec or firmware hand-off, not a copy of the old tables', () => {
    // The kernel's format string (drivers/iommu/intel/iommu.c init_dmars) and a fault built from the fault format string.
    const fault = '[    1.9] DMAR: [DMA Read NO_PASID] Request device [5e:00.0] fault addr 0xfffff000 [fault reason 0x06] PTE Read access is not set'
    const notKdump = lead(`[    0.5] DMAR: Translation was enabled for dmar0 but we are not in kdump mode\n${fault}`)!
    expect(notKdump).toMatchObject({rule: 'kdump-takeover', category: 'kdump'})
    expect(notKdump.summary).toContain('not a kdump kernel')
    expect(notKdump.causes.join('\n')).toContain('kexec (not kdump)')
    const copied = lead(`[    0.5] DMAR: Copied translation tables from previous kernel for dmar0\n${fault}`)!
    expect(copied.summary).toContain('taking over the previous kernel\'s translation tables')
  })

  it('the real vmd QI excerpt leads with the VMD domain-reset case and cites the vmd line', () => {
    const e = triage('vmd-qi-ite-k6.x-1').events[0]!.explanation
    expect(e).toMatchObject({rule: 'vmd-queue-error', category: 'vmd', certainty: 'likely'})
    expect(e.evidence.map((v) => v.source)).toContain('vmd-qi-ite-k6.x-1:1')
  })

  it('without a vmd line the same QI error cannot be told; a time-out naming a real device stays device-TLB', () => {
    expect(lead('DMAR: VT-d detected Invalidation Queue Error: Reason f')).toMatchObject({category: 'invalidation-queue', certainty: 'cannot-tell'})
    const vmd = '[    5.0] vmd 0000:64:05.5: Bound to PCI domain 10000\n'
    expect(lead(vmd + 'DMAR: VT-d detected Invalidation Time-out Error: SID 6100')).toMatchObject({category: 'device-tlb'})
  })

  it('a compatibility-format MSI on a host whose log shows the vmd driver is the VMD MSI-remapping case', () => {
    expect(lead(ir25)).toMatchObject({rule: 'ir-compatibility-msi', certainty: 'cannot-tell'})
    expect(lead(`[    3.1] vmd 0000:64:05.5: PCI host bridge to bus 10000:00\n${ir25}`)).toMatchObject({rule: 'vmd-msi-remapping', category: 'vmd'})
  })

  it('a kdump kernel (elfcorehdr= on its command line) explains DMA faults as in-flight DMA of the crashed kernel', () => {
    const fault = '[    1.2] DMAR: [DMA Write NO_PASID] Request device [3b:00.0] fault addr 0xfee00000 [fault reason 0x05] PTE Write access is not set'
    const e = lead(`[    0.000000] Command line: BOOT_IMAGE=/vmlinuz ro irqpoll reset_devices elfcorehdr=0x73000000\n${fault}`)!
    expect(e).toMatchObject({rule: 'kdump-takeover', category: 'kdump'})
    expect(e.evidence.some((v) => /elfcorehdr/.test(v.fact))).toBe(true)
    expect(lead(`[    0.000000] Command line: BOOT_IMAGE=/vmlinuz ro quiet\n${fault}`)?.category).not.toBe('kdump')
  })

  it('a live device (interrupt faults too) without a context entry after boot: the kernel never attached it', () => {
    const dma = '[ 611.8] DMAR:[DMA Read] Request device [86:00.3] fault addr ffff7000\n[ 611.8] DMAR:[fault reason 02] Present bit in context entry is clear'
    const intr = '[ 611.9] dmar: INTR-REMAP: Request device [[86:00.3] fault index a4\n[ 611.9] INTR-REMAP:[fault reason 34] Present field in the IRTE entry is clear'
    expect(lead(`${dma}\n${intr}`)).toMatchObject({rule: 'device-unknown-to-iommu', category: 'kernel-bug'})
    expect(lead(dma)?.rule).not.toBe('device-unknown-to-iommu')
  })

  it('00:05.0 reading unmapped memory is the Intel IPU walking tables it never mapped; with a host, only if it is an 8086 class 0x0480 device', () => {
    const ipu = 'DMAR: [DMA Read] Request device [00:05.0] PASID ffffffff fault addr 76406000 [fault reason 06] PTE Read access is not set'
    expect(lead(ipu)).toMatchObject({rule: 'intel-ipu-private-tables', category: 'kernel-bypass'})
    const {context} = triageContextOf(modelOf(new RootedHostFs(path.join(fixturesDir, 'lab-sriov-nvme'))))
    const r = triageRecords(parseKernelLog(ipu), 1, context)
    expect(r.faults[0]!.explanation.rule).not.toBe('intel-ipu-private-tables')
  })
})

describe('address patterns', () => {
  const lead = (line: string) => triageRecords(parseKernelLog(line), 1, {source: 'log'}).faults[0]!.explanation
  const read = (addr: string) => `DMAR: [DMA Read] Request device [06:00.0] PASID ffffffff fault addr ${addr} [fault reason 06] PTE Read access is not set`

  it('an address between 4 GiB and 1 TiB is not one the DMA API hands out: a physical address programmed outside it', () => {
    const e = lead(read('1a5e12000'))
    expect(e).toMatchObject({rule: 'physical-address-outside-dma-api', category: 'kernel-bypass', certainty: 'cannot-tell'})
    expect(e.causes.join(' ')).toMatch(/VM/)
    // two-gpu-cuda-p2p-peer-bar-writes-dma-fq: GPUs writing into each other's BARs look exactly like this.
    expect(e.causes.join(' ')).toMatch(/peer-to-peer DMA into another device's BAR/)
  })

  it('an IOVA-shaped address below 4 GiB narrows to a DMA-API mapping, a kernel-virtual-looking one stays the generic cannot-tell', () => {
    expect(lead(read('ffffa000')).rule).toBe('dma-api-mapping-gone')
    expect(lead(read('ffff90d53fada000')).rule).toBe('unmapped-iova')
  })
})

describe('the e820 map (a boot\'s first lines)', () => {
  const map = [
    '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009efff] usable',
    '[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x000000006fffffff] usable',
    '[    0.000000] BIOS-e820: [mem 0x0000000070000000-0x0000000070ffffff] reserved',
    '[    0.000000] BIOS-e820: [mem 0x0000000071000000-0x000000007bffffff] usable',
    '[    0.000000] BIOS-e820: [mem 0x00000000ff000000-0x00000000ffffffff] reserved',
  ].join('\n')
  const fault = (bdf: string, addr: string) => `[  300.0] DMAR: [DMA Write NO_PASID] Request device [${bdf}] fault addr 0x${addr} [fault reason 0x05] PTE Write access is not set`
  const lead = (text: string) => triageRecords(parseKernelLog(text), text.split('\n').length, {source: 'log'}).faults[0]!.explanation

  it('parses both spellings (3.x+ inclusive ends, older exclusive ones) into reserved and usable ranges', () => {
    const old = parseKernelLog('BIOS-e820: 000000007c000000 - 0000000080000000 (reserved)\nBIOS-e820: 0000000000100000 - 000000007c000000 (usable)\nBIOS-e820: 00000000fed00000 - 00000000fed00400 (ACPI NVS)')
    expect(old.map((r) => r.type === 'context' ? [r.event, r.detail] : r.type)).toEqual([['e820-reserved', '0x7c000000-0x7fffffff'], ['e820-usable', '0x100000-0x7bffffff']])
  })

  it('an unmapped address in a firmware hole inside low RAM is undeclared firmware DMA, citing the map line', () => {
    const e = lead(`${map}\n${fault('04:00.0', '70012000')}`)
    expect(e).toMatchObject({rule: 'address-in-e820-reserved', category: 'firmware-dma'})
    expect(e.evidence.map((v) => v.source)).toContain('log:3')
  })

  it('not for the reserved ranges above RAM (the DMA API hands out IOVAs there), the iGPU, or a map read past the first lines', () => {
    expect(lead(`${map}\n${fault('04:00.0', 'ffffc000')}`).rule).toBe('dma-api-mapping-gone')
    expect(lead(`${map}\n${fault('00:02.0', '70012000')}`).category).toBe('igfx')
    const late = `${'[    0.1] filler\n'.repeat(600)}${map}\n${fault('04:00.0', '70012000')}`
    expect(parseKernelLog(late).some((r) => r.type === 'context')).toBe(false)
    expect(lead(late).rule).toBe('unmapped-iova')
  })
})

describe('driver lines (a log\'s first lines): which driver owns a requester, and what it was doing', () => {
  const lead = (text: string) => triageRecords(parseKernelLog(text), text.split('\n').length, {source: 'log'}).faults[0]!.explanation
  const write = '[ 50.2] DMAR: [DMA Write] Request device [00:14.0] PASID ffffffff fault addr ffcda000 [fault reason 05] PTE Write access is not set'

  it('a fault right after the requester\'s own driver cancelled or aborted work is DMA after unmap, citing the driver line', () => {
    const e = lead(`[ 50.1] xhci_hcd 0000:00:14.0: WARN Cannot submit Set TR Deq Ptr\n${write}`)
    expect(e).toMatchObject({rule: 'dma-after-driver-gave-up', category: 'stale-dma'})
    expect(e.evidence.map((v) => v.source)).toContain('log:1')
  })

  it('not for another device\'s driver, a quiet message, a line after the fault, or one long before it', () => {
    expect(lead(`[ 50.1] xhci_hcd 0000:00:15.0: WARN Cannot submit Set TR Deq Ptr\n${write}`).rule).toBe('dma-api-mapping-gone')
    expect(lead(`[ 50.1] xhci_hcd 0000:00:14.0: hcc params 0x200077c1\n${write}`).rule).toBe('dma-api-mapping-gone')
    expect(lead(`${write}\n[ 50.3] xhci_hcd 0000:00:14.0: WARN Cannot submit Set TR Deq Ptr`).rule).toBe('dma-api-mapping-gone')
    expect(lead(`[ 50.1] xhci_hcd 0000:00:14.0: WARN Cannot submit Set TR Deq Ptr\n${'[ 50.15] other\n'.repeat(40)}${write}`).rule).toBe('dma-api-mapping-gone')
  })

  it('vfio-pci lines make the requester an assigned device: a compatibility-format MSI from it is the guest\'s own MSI programming', () => {
    const msi = '[ 1414.2] DMAR: [INTR-REMAP] Request device [02:00.0] fault index 0x0 [fault reason 0x25] Blocked a compatibility format interrupt request'
    expect(lead(msi).rule).toBe('ir-compatibility-msi')
    expect(lead(`[ 1400.0] vfio-pci 0000:02:00.0: enabling device (0000 -> 0002)\n${msi}`)).toMatchObject({rule: 'vfio-guest-msi', category: 'guest-passthrough'})
  })

  it('driver lines are read in the first 512 lines only, alike in both paths', () => {
    const late = `${'[ 1.0] filler\n'.repeat(600)}[ 50.1] xhci_hcd 0000:00:14.0: WARN Cannot submit Set TR Deq Ptr\n${write}`
    expect(parseKernelLog(late).some((r) => r.type === 'context')).toBe(false)
    const parser = new LogParser()
    const bytes: string[] = []
    parser.pushText('', (r) => bytes.push(r.type), Buffer.from(`[ 50.1] xhci_hcd 0000:00:14.0: WARN Cannot submit Set TR Deq Ptr\n${write}\n`))
    expect(bytes).toEqual(['context', 'fault'])
  })
})

describe('a Thunderbolt/USB4 host interface as requester', () => {
  const write = '[ 5.2] DMAR: [DMA Write] Request device [04:00.0] PASID ffffffff fault addr 69974000 [fault reason 05] PTE Write access is not set'
  const lead = (text: string) => triageRecords(parseKernelLog(text), text.split('\n').length, {source: 'log'}).faults[0]!.explanation

  it('the thunderbolt driver\'s own line for the requester makes an unmapped write its connection-manager firmware', () => {
    expect(lead(write).rule).toBe('unmapped-iova')
    expect(lead(`[ 5.0] thunderbolt 0000:04:00.0: using firmware connection manager\n${write}`)).toMatchObject({rule: 'thunderbolt-connection-manager-dma', category: 'firmware-dma'})
    // Another function's thunderbolt line says nothing about 04:00.0.
    expect(lead(`[ 5.0] thunderbolt 0000:06:00.0: using firmware connection manager\n${write}`).rule).toBe('unmapped-iova')
  })
})
