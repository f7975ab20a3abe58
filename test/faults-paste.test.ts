/**
 * Pasted logs as users really post them (shapes taken from the real cases in
 * test/fixtures/fault-cases): records wrapped after the address, the requester or the index,
 * mail quote prefixes, segment-prefixed requesters, redacted addresses, Xen's old "[fault reason
 * NNh]" tail, the FSTS page-request-overflow bit, and context lines. Every shape must parse the
 * same through the line path and the byte path (the block scanner that skips non-keyword lines).
 */
import {describe, expect, it} from 'vitest'
import {LogParser, parseKernelLog, type LogRecord} from '../src/decode/kernel-log/index.js'
import {leadingExplanation, triageRecords} from '../src/replay/fault-triage.js'
import {faultsToJson, renderFaultsTable} from '../src/report/faults.js'
import {readFileSync} from 'node:fs'
import * as path from 'node:path'
import {loadFaultCases} from './support/fault-cases.js'
import {repoRoot} from './support/paths.js'

/** Both paths: parseKernelLog (line by line) and pushText over bytes (the prefilter skips lines without a keyword). */
function bothPaths(text: string): LogRecord[] {
  const lines = parseKernelLog(text)
  const parser = new LogParser()
  const bytes: LogRecord[] = []
  parser.pushText('', (r) => bytes.push(r), Buffer.from(text))
  bytes.push(...parser.end())
  expect(bytes).toEqual(lines)
  return lines
}

const faults = (records: LogRecord[]) => records.filter((r) => r.type === 'fault')

describe('every real case parses alike through both paths', () => {
  it('line by line and through the byte scanner', () => {
    for (const c of loadFaultCases(path.join(repoRoot, 'test/fixtures/fault-cases'))) bothPaths(c.log)
  })
})

describe('wrapped fault records', () => {
  it('wrapped after the address with no PASID field: the held head takes its bare "[fault reason NN]" continuation', () => {
    // antoineco/broadcom-wl#4: the journal wrapped a 4.13 single-line record; the continuation has no keyword.
    const recs = bothPaths('DMAR: DRHD: handling fault status reg 2\nDMAR: [DMA Read] Request device [02:00.0] fault addr fffeb000\n [fault reason 06] PTE Read access is not set\n')
    expect(recs.map((r) => r.type)).toEqual(['fault-status', 'fault'])
    expect(faults(recs)[0]).toMatchObject({requester: '0000:02:00.0', address: 0xfffeb000n, reason: 6, reasonText: 'PTE Read access is not set', line: 2})
    // A held head whose next line is something else still ends without a reason, and that line makes no record.
    const cut = bothPaths('DMAR: [DMA Read] Request device [02:00.0] fault addr fffeb000\nusb 1-1: new high-speed USB device number 2 using xhci_hcd\n')
    expect(cut.map((r) => r.type)).toEqual(['fault'])
    expect(faults(cut)[0]).toMatchObject({reasonText: '<missing "fault reason" line>'})
  })

  it('wrapped after the address, the continuation indented and without a keyword', () => {
    const recs = bothPaths('>   DMAR: DRHD: handling fault status reg 2\n>   DMAR: [DMA Write] Request device [00:12.0] PASID ffffffff fault addr 0\n>         [fault reason 05] PTE Write access is not set\n> \n')
    expect(recs.map((r) => r.type)).toEqual(['fault-status', 'fault'])
    expect(faults(recs)[0]).toMatchObject({requester: '0000:00:12.0', address: 0n, reason: 5, access: 'write', line: 2})
  })

  it('wrapped after the requester\'s PASID, after "fault addr", and after "fault index"', () => {
    const text = [
      '[  182.241864] DMAR: [DMA Write] Request device [00:02.0] PASID ffffffff ',
      'fault addr 0 [fault reason 02] Present bit in context entry is clear',
      '>   kernel: DMAR: [DMA Read NO_PASID] Request device [00:1e.3] fault addr',
      '>   0xffffa000 [fault reason 0x06] PTE Read access is not set',
      '>> [ 1414.206081] DMAR: [INTR-REMAP] Request device [02:00.0] fault index ',
      '>> 0x0 [fault reason 0x25] Blocked a compatibility format interrupt request',
    ].join('\n')
    const recs = bothPaths(text)
    expect(recs.map((r) => r.type)).toEqual(['fault', 'fault', 'fault'])
    expect(recs.map((r) => r.type === 'fault' && [r.requester, r.reason, r.line])).toEqual([
      ['0000:00:02.0', 0x02, 1], ['0000:00:1e.3', 0x06, 3], ['0000:02:00.0', 0x25, 5],
    ])
  })

  it('a fragment whose continuation never completes it is counted as unparsed, and the next message still parses', () => {
    const recs = bothPaths('DMAR: [DMA Write] Request Device [  :  :  .  ] fault addr\nDMAR: [fault reason 05] PTE Write access is not set\nDMAR: DRHD: handling fault status reg 2\n')
    expect(recs.map((r) => r.type)).toEqual(['unparsed', 'unparsed', 'fault-status'])
  })

  it('a status line and a fault glued by a quote marker are two records', () => {
    const recs = bothPaths('>>> DRHD: handling fault status reg 3> DMAR: [DMA Write] Request device [00:14.0] PASID ffffffff fault addr ffcda000 [fault reason 05] PTE Write access is not set\n')
    expect(recs.map((r) => r.type)).toEqual(['fault-status', 'fault'])
  })

  it('Xen wrapped after "fault addr" still makes a (reason-less) fault', () => {
    const recs = bothPaths('> (XEN) [VT-D]DMAR:[DMA Read] Request device [0000:00:02.0] fault addr\n> 8e43c000, iommu reg = ffff82c00021d000\n')
    expect(faults(recs)).toHaveLength(1)
    expect(faults(recs)[0]).toMatchObject({requester: '0000:00:02.0', address: 0x8e43c000n, format: 'xen'})
  })
})

describe('wraps early in the line, and the printk caller ID', () => {
  // Shapes of real cases: kdump-arrowlake-uctp-0x39-wrapped, fdo-111455-amdgpu-host-bridge-sid.
  it('wrapped right after "Request device": the requester opens the next line', () => {
    const recs = bothPaths('[Fri May  1 09:46:36 2026] DMAR: [DMA Write NO_PASID] Request device\n[80:1f.6] fault addr 0x15fa71000 [fault reason 0x39] SM: Present bit\nin Root Entry is clear\n')
    expect(recs.map((r) => r.type)).toEqual(['fault'])
    expect(faults(recs)[0]).toMatchObject({requester: '0000:80:1f.6', address: 0x15fa71000n, reason: 0x39, access: 'write'})
  })

  it('wrapped after the "[INTR-REMAP]" tag and after "DRHD: handling", behind a syslog stamp and the caller ID', () => {
    const recs = bothPaths([
      'Aug 25 19:03:45 localhost kernel: [283824.053148][    C0] DMAR: DRHD: handling',
      'fault status reg 2',
      'Aug 25 19:03:45 localhost kernel: [283824.053153][    C0] DMAR: [INTR-REMAP]',
      'Request device [00:00.0] fault index 26 [fault reason 38] Blocked an interrupt',
      'request due to source-id verification failure',
    ].join('\n'))
    expect(recs.map((r) => r.type)).toEqual(['fault-status', 'fault'])
    expect(recs[0]).toMatchObject({type: 'fault-status', value: 2})
    // 4.7–5.13 print the reason in decimal: 38 is 0x26.
    expect(faults(recs)[0]).toMatchObject({requester: '0000:00:00.0', kind: 'interrupt', index: 0x26n, reason: 0x26})
  })

  it('the caller ID after a dmesg stamp is a prefix, not part of the message', () => {
    const recs = bothPaths('[  58.440907][ T1546] DMAR: [INTR-REMAP] Request device [64:00.5] fault index 0x8800 [fault reason 0x25] Blocked a compatibility format interrupt request\n')
    expect(faults(recs)[0]).toMatchObject({requester: '0000:64:00.5', reason: 0x25, time: {seconds: 58.440907}})
  })

  it('a line ending in "DRHD: handling" that nothing completes is counted, and the next message still parses', () => {
    const recs = bothPaths('DMAR: DRHD: handling\nDMAR: [DMA Read] Request device [00:02.0] PASID ffffffff fault addr 9c000000 [fault reason 06] PTE Read access is not set\n')
    expect(recs.map((r) => r.type)).toEqual(['unparsed', 'fault'])
  })
})

describe('wrapped context lines', () => {
  it('a kdump kernel\'s table copy still counts when the mail client wrapped its line, and leads a 0x39 fault', () => {
    const log = [
      '[Fri May  1 09:46:35 2026] DMAR: Translation already enabled - trying',
      'to copy translation structures',
      '[Fri May  1 09:46:35 2026] DMAR: Copied translation tables from',
      'previous kernel for dmar0',
      '[Fri May  1 09:46:36 2026] DMAR: [DMA Write NO_PASID] Request device [80:1f.6] fault addr 0x15fa71000 [fault reason 0x39] SM: Present bit in Root Entry is clear',
    ].join('\n')
    const recs = bothPaths(log)
    expect(recs.filter((r) => r.type === 'context' && r.event === 'kdump-tables-copied')).toHaveLength(2)
    expect(leadingExplanation(triageRecords(recs, 5)).category).toBe('kdump')
  })
})

describe('requester and address spellings', () => {
  it('a segment-prefixed requester in the single-line form', () => {
    expect(faults(bothPaths('DMAR: [DMA Write NO_PASID] Request device [0000:73:00.1] fault addr 0x0 [fault reason 0x05] PTE Write access is not set\n'))[0])
      .toMatchObject({requester: '0000:73:00.1', segmentPrinted: true, reason: 5})
    expect(faults(bothPaths('DMAR: [DMA Read NO_PASID] Request device [0001:0x02:0x00.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set\n'))[0])
      .toMatchObject({requester: '0001:02:00.0', reason: 6})
  })

  it('a redacted address is unknown, not zero, and the reason is still read', () => {
    const f = faults(bothPaths('\tDMAR: [DMA Read] Request device [06:00.0] fault addr ffxxxxxx [fault reason 06] PTE Read access is not set\n'))[0]!
    expect(f).toMatchObject({reason: 6, redacted: true})
    expect(f.type === 'fault' && f.address).toBeUndefined()
    const r = triageRecords([f], 1)
    expect(r.faults[0]!.explanation.rule).not.toBe('dma-to-address-zero')
  })

  it('Xen\'s old tail "[fault reason 06h]" is hex', () => {
    const recs = bothPaths('(XEN) [VT-D]iommu.c:775: DMAR:[DMA Read] Request device [00:02.0] fault addr 7fe8f000, iommu reg = ffff82c3fff57000\n(XEN) [VT-D]iommu.c:787: DMAR:[fault reason 06h] PTE Read access is not set\n')
    expect(faults(recs)[0]).toMatchObject({reason: 6, reasonText: 'PTE Read access is not set'})
  })

  it('fault-status bit 7 is the page-request overflow, and the report says page requests were lost', () => {
    const recs = bothPaths('DMAR: DRHD: handling fault status reg 80\n')
    expect(recs[0]).toMatchObject({type: 'fault-status', pageRequestOverflow: true, overflow: false})
    expect(faultsToJson(triageRecords(recs, 1), {origin: 'file', path: 'x', lines: 1}).notes.join()).toMatch(/page-request overflow bit \(PRO\)/)
  })

  it('the 4.4–5.10 svm.c page-request messages', () => {
    expect(bothPaths('DMAR: dmar1: Page request without PASID: 0000000000000001 0000000000000002\n')[0]).toMatchObject({type: 'prq', unit: 'dmar1', event: 'no-pasid'})
    expect(bothPaths('DMAR: dmar0: Page request for invalid PASID 5: 0000000000500001 0000000000000000\n')[0]).toMatchObject({type: 'prq', event: 'invalid-pasid', pasid: 5})
  })
})

describe('context lines', () => {
  it('are records of their own, and lead a log without faults', () => {
    const text = '[    0.013013] DMAR-IR: This system BIOS has enabled interrupt remapping\n               on a chipset that contains an erratum making that\n'
    const recs = bothPaths(text)
    expect(recs).toMatchObject([{type: 'context', event: 'ir-erratum', line: 1}])
    expect(leadingExplanation(triageRecords(recs, 2))).toMatchObject({category: 'ir-erratum'})
  })

  it('the erratum leads a fault on that platform; an oops in the fault dumper makes 0x59 the kdump case', () => {
    const erratum = parseKernelLog(' DMAR-IR: This system BIOS has enabled interrupt remapping\nDMAR: [DMA Read] Request device [00:1e.0] PASID ffffffff fault addr df63e000 [fault reason 06] PTE Read access is not set\n')
    expect(triageRecords(erratum, 2).faults[0]!.explanation).toMatchObject({rule: 'chipset-ir-erratum', category: 'ir-erratum'})
    const kdump = parseKernelLog('[   13.396478] DMAR: [DMA Read NO_PASID] Request device [81:00.0] fault addr 0xffffd000 [fault reason 0x59] SM: Present bit in PA$\n[   13.396494] RIP: 0010:dmar_fault_dump_ptes+0x13b/0x295\n')
    const e = triageRecords(kdump, 2).faults[0]!.explanation
    expect(e).toMatchObject({rule: 'kdump-pasid-tables', category: 'kdump'})
    expect(e.summary).not.toMatch(/context entry/)
  })
})

describe('what the report says', () => {
  const report = (text: string) => faultsToJson(triageRecords(parseKernelLog(text), text.split('\n').length), {origin: 'file', path: 'x.log', lines: text.split('\n').length})

  it('never "No faults" while fault-like lines were left unparsed: it counts them and shows each one', () => {
    const out = renderFaultsTable(report('DMAR: [DMA Sideways] Request device [zz:02.0] fault addr 1 [fault reason 06] ?\nDMAR: [DMA Upwards] Request device [zz:03.0] fault addr 1 [fault reason 06] ?\n'))
    expect(out).not.toMatch(/^No DMAR/)
    expect(out).toMatch(/2 fault-like line\(s\) were not understood/)
    expect(out).toContain('[DMA Sideways]')
    expect(out).toContain('[DMA Upwards]')
  })

  it('a hand-typed line that keeps only the kernel\'s reason text (no requester, no "fault reason") is unparsed, not "No faults"', () => {
    // Typed from a screenshot (test/fixtures/fault-cases/cloudpods-r420-typed-reason.case).
    const typed = 'DMAR: DRHD: hangling fault status req xxx...PTE Read access is not set'
    expect(bothPaths(typed).map((r) => r.type)).toEqual(['unparsed'])
    expect(renderFaultsTable(report(typed))).toMatch(/^No fault could be parsed .*1 fault-like line\(s\) were not understood/)
    for (const reasonOnly of ['DMAR: xx Present bit in context entry is clear', 'DMAR: [INTR-REMAP] xx Blocked a compatibility format interrupt request', 'DMAR: fault addr 1234 (typed)']) {
      expect(bothPaths(reasonOnly).map((r) => r.type), reasonOnly).toEqual(['unparsed'])
    }
    // An IOMMU line that is not a fault stays out of it.
    expect(bothPaths('DMAR: IOMMU enabled')).toEqual([])
  })

  it('a flood says records were lost to the kernel\'s rate limit', () => {
    const out = renderFaultsTable(report('[  1.0] dmar_fault: 893 callbacks suppressed\n[  1.1] DMAR: [DMA Read] Request device [03:00.0] PASID ffffffff fault addr 9c000000 [fault reason 06] PTE Read access is not set\n'))
    expect(out).toMatch(/893 more lost to the kernel's rate limit/)
  })

  it('identical explanations for neighbouring pages are shown once', () => {
    const lines = [0x1000, 0x2000, 0x3000].map((a) => `[ 50.0] DMAR: [DMA Read] Request device [03:00.0] PASID ffffffff fault addr ${a.toString(16)} [fault reason 06] PTE Read access is not set`)
    const out = renderFaultsTable(report(lines.join('\n') + '\n'))
    expect(out.match(/^\d+\. 0000:03:00\.0/gm)).toHaveLength(1)
    expect(out).toMatch(/the same explanation covers 2 more group\(s\)/)
  })

  it('neighbouring pages explained alike at different times (real early-boot excerpt) are shown once', () => {
    // Dasharo NV41 (test/fixtures/real/dmesg/SOURCES.md): two iGPU reads 13 µs apart, one cause.
    const log = readFileSync(path.join(repoRoot, 'test/fixtures/real/dmesg/dasharo-nv41-boot-k6.x-1.log'), 'utf8')
    const parsed = report(log)
    expect(parsed.faults.map((f) => f.explanation.rule)).toEqual(['early-boot-firmware-dma', 'early-boot-firmware-dma'])
    const out = renderFaultsTable(parsed)
    expect(out.match(/^\d+\. 0000:00:02\.0/gm)).toHaveLength(1)
    expect(out).toMatch(/the same explanation covers 1 more group\(s\) of this requester: read 0x7cd87000/)
  })

  it('a piped excerpt without a boot timeline never claims firmware DMA during boot, and says why', () => {
    const piped = report('DMAR: [DMA Read NO_PASID] Request device [03:00.0] fault addr 0x7cd80000 [fault reason 0x01] Present bit in root entry is clear\n')
    expect(piped.faults[0]!.explanation.rule).not.toBe('early-boot-firmware-dma')
    expect(piped.faults[0]!.explanation.evidence.some((e) => /timing unknown/.test(e.fact))).toBe(true)
    // With seconds-since-boot stamps the same line at 0.36 s is boot-time firmware DMA.
    const stamped = report('[    0.361089] DMAR: [DMA Read NO_PASID] Request device [03:00.0] fault addr 0x7cd80000 [fault reason 0x01] Present bit in root entry is clear\n')
    expect(stamped.faults[0]!.explanation.rule).toBe('early-boot-firmware-dma')
  })

  it('0x05 reads as "not mapped writable", 0x27 as the kernel prints it, a missing reason without "not in the kernel\'s tables"', () => {
    const r = report('DMAR: [DMA Write] Request device [04:00.0] PASID ffffffff fault addr ffffc000 [fault reason 05] PTE Write access is not set\n')
    expect(r.faults[0]!.meaning).toMatch(/^Not mapped writable/)
    expect(r.faults[0]!.explanation.causes[0]).toMatch(/wrong DMA direction/)
    const missing = report('dmar: DMAR:[DMA Read] Request device [02:00.0] fault addr a0c58000\n')
    expect(missing.faults[0]!.explanation.summary).not.toMatch(/not in the kernel's tables/)
    expect(missing.faults[0]!.explanation.summary).toMatch(/reason line is missing/)
  })
})

describe('retyped lines and debug-option lines', () => {
  it('a fault line retyped by hand ("[DMA read NO PASID]", "[Fault reason 0x02]") is still a fault record', () => {
    const recs = bothPaths('DMAR: [DMA read NO PASID] Request device [05:00.0] fault addr 0x12174000 [Fault reason 0x02] Present bit in context entry is clear\n')
    expect(faults(recs)[0]).toMatchObject({requester: '0000:05:00.0', address: 0x12174000n, reason: 2, access: 'read', format: 'pasid-tag'})
  })

  it('a line aligned by its poster ("[DMA Read  NO_PASID]", two spaces) is still a fault record', () => {
    // macbookpro-radeon-m370x-0x0c-unresolved: the author lined the Read record up under the Write one.
    const recs = bothPaths('DMAR: [DMA Read  NO_PASID] Request device [0000:01:00.0] fault addr 0x68c00000 [fault reason 0x0c] non-zero reserved fields in PTE\n')
    expect(faults(recs)[0]).toMatchObject({requester: '0000:01:00.0', address: 0x68c00000n, reason: 0x0c, access: 'read', format: 'pasid-tag'})
  })

  it('a two-line head quoted without its reason line, access lower-cased and no space before "fault addr", is a fault whose reason is unknown', () => {
    // de2104x-kexec-no-shutdown-handler: a commit message quoting the 4.x heads ("DMAR: DMAR:[DMA read] …]fault addr").
    const recs = bothPaths('DMAR: DMAR:[DMA read] Request device [5e:00.0]fault addr fffff000\nDMAR: DMAR:[DMA read] Request device [5e:00.0]fault addr fffff000\n')
    expect(recs.map((r) => r.type)).toEqual(['fault', 'fault'])
    expect(faults(recs)[0]).toMatchObject({requester: '0000:5e:00.0', address: 0xfffff000n, access: 'read', format: 'two-line'})
    expect(faults(recs)[0]!.reason).toBeUndefined()
  })

  it('DMA-API direction warnings and the page walk\'s pte lines pass the byte prefilter', () => {
    const recs = bothPaths([
      'kernel: DMA-API: igb 0000:06:00.0: device driver frees DMA memory with different direction [device address=0x00000000fffff000] [size=2048 bytes] [mapped with DMA_FROM_DEVICE] [unmapped with DMA_TO_DEVICE]',
      'kernel: DMAR: pte level: 1, pte value: 0x0000000123456001',
    ].join('\n') + '\n')
    expect(recs.map((r) => r.type)).toEqual(['context', 'walk-dump'])
  })
})

describe("Xen's console forwarded to syslog, wrapped by a mail client (xen-i915-latitude-tb-dock-pipe-fault-unresolved)", () => {
  it('the "hypervisor:" syslog tag is a prefix; the head wrapped after "iommu reg =" and the tail after "reason 06 -" still make one fault', () => {
    const log = ['Oct 14 18:41:49.056589 VM hypervisor: (XEN) [VT-D]DMAR:[DMA Read]', 'Request device [0000:00:02.0] fault addr 39b5845000, iommu reg =', 'ffff82c00021d000',
      'Oct 14 18:41:49.056594 VM hypervisor: (XEN) [VT-D]DMAR: reason 06 -', 'PTE Read access is not set'].join('\n')
    const rs = bothPaths(log)
    expect(rs).toHaveLength(1)
    expect(rs[0]).toMatchObject({type: 'fault', requester: '0000:00:02.0', reason: 6, access: 'read', address: 0x39b5845000n, format: 'xen', line: 1})
    // unwrapped, the same record
    expect(bothPaths('Oct 14 18:41:49.056589 VM hypervisor: (XEN) [VT-D]DMAR:[DMA Read] Request device [0000:00:02.0] fault addr 39b5845000, iommu reg = ffff82c00021d000\nOct 14 18:41:49.056594 VM hypervisor: (XEN) [VT-D]DMAR: reason 06 - PTE Read access is not set'))
      .toMatchObject([{type: 'fault', reason: 6, reasonText: 'PTE Read access is not set'}])
  })
})

describe('a function the log never names while it names function 0 (xen-emulex-be3-hidden-functions-rmrr)', () => {
  // Xen's boot lines list each DMAR structure's device scope; the quoted faults lost their reason lines.
  const SCOPE = ['(XEN) [VT-D]found ACPI_DMAR_RMRR:', '(XEN) [VT-D] endpoint: 0000:04:00.0', '(XEN) [VT-D] endpoint: 0000:04:00.1']
  const HEAD = (fn: number) => `(XEN) [VT-D]DMAR:[DMA Write] Request device [0000:04:00.${fn}] fault addr bdf80000`
  const lead = (lines: string[]) => leadingExplanation(triageRecords(bothPaths(lines.join('\n') + '\n'), lines.length))
  it('reads Xen\'s device-scope lines as the functions the firmware names, on both paths, and only under Xen', () => {
    const ctx = bothPaths(SCOPE.join('\n') + '\n').filter((r) => r.type === 'context')
    expect(ctx.map((r) => r.type === 'context' ? [r.event, r.detail] : [])).toEqual([['dmar-scope-endpoint', '0000:04:00.0'], ['dmar-scope-endpoint', '0000:04:00.1']])
    expect(bothPaths('[    1.0] DMAR: endpoint: 0000:04:00.0\n').filter((r) => r.type === 'context')).toEqual([])
  })
  it('leads a reasonless fault from an unnamed function of a named device with a hidden/phantom function, and says it cannot tell', () => {
    const e = lead([...SCOPE, HEAD(4)])
    expect(e).toMatchObject({rule: 'phantom-function-reason-lost', category: 'dma-alias', certainty: 'cannot-tell'})
    expect(e.summary).toContain('function 4')
  })
  it('stays out when the log names the function, when function 0 is not named, or when the reason line came', () => {
    expect(lead([...SCOPE, HEAD(1)]).rule).not.toBe('phantom-function-reason-lost')
    expect(lead([SCOPE[0]!, '(XEN) [VT-D] endpoint: 0000:05:00.0', HEAD(4)]).rule).not.toBe('phantom-function-reason-lost')
    expect(lead([...SCOPE, HEAD(4), '(XEN) [VT-D]DMAR: reason 05 - PTE Write access is not set']).rule).not.toBe('phantom-function-reason-lost')
  })
})

describe('the rate limit\'s line wrapped after "callbacks" (amdvi-aorus-gen4-nvme-fstrim-address0-unresolved)', () => {
  it('joins "suppressed" on the next line into one suppressed record, on both paths', () => {
    const recs = bothPaths('  [Fri Jul 19 17:05:08 2019] amd_iommu_report_page_fault: 28 callbacks \nsuppressed\n')
    expect(recs.filter((r) => r.type === 'suppressed')).toMatchObject([{source: 'amd_iommu_report_page_fault', count: 28}])
    expect(bothPaths('dmar_fault: 5 callbacks\nsuppressed\n').map((r) => r.type)).toEqual(['suppressed'])
    expect(bothPaths('dmar_fault: 5 callbacks suppressed\n').map((r) => r.type)).toEqual(['suppressed'])
  })
})

describe('an invalidation-descriptor dump shortened to its first quadword (arc-b70-vfio-reset-devtlb-timeout-pci-noats)', () => {
  it('is still a descriptor record, with qw0 and no qw1, on both paths', () => {
    // The poster's journalctl paste elides qw1 with "...": the descriptor (and the device it names) is in qw0.
    const recs = bothPaths('01:46:35 DMAR: VT-d detected Invalidation Time-out Error: SID 0\n01:46:35 DMAR: QI PRIOR: Device-TLB Invalidation qw0 = 0x5300530000000003, ...   (repeats)\n')
    const qi = recs.filter((r) => r.type === 'qi')
    expect(qi).toHaveLength(2)
    expect(qi[1]).toMatchObject({event: 'descriptor', position: 'PRIOR', descriptor: 'Device-TLB Invalidation', qw0: 0x5300530000000003n})
    expect(qi[1]).not.toHaveProperty('qw1')
  })
})

describe('a device-TLB invalidation descriptor names its device (qw0 bits 47:32)', () => {
  const lead = (log: string) => leadingExplanation(triageRecords(parseKernelLog(log), log.split('\n').length))

  it('the descriptor record carries the source ID it targets; other descriptor types carry none', () => {
    const recs = bothPaths('DMAR: QI HEAD: Device-TLB Invalidation qw0 = 0xaf0300100003, qw1 = 0x7ffffffffffff001\nDMAR: QI PRIOR: Invalidation Wait qw0 = 0x200000025, qw1 = 0x10005f634\n')
    expect(recs[0]).toMatchObject({type: 'qi', event: 'descriptor', sid: '0000:af:00.3', sidRaw: 0xaf03})
    expect(recs[1]).not.toHaveProperty('sid')
  })

  it('a time-out whose own SID is 0 is explained for the device the stuck descriptor targets', () => {
    // arc-b70-vfio-reset-devtlb-timeout-pci-noats: "SID 0", and the descriptor names 53:00.0 (the Arc B70).
    const e = lead('01:46:35 DMAR: VT-d detected Invalidation Time-out Error: SID 0\n01:46:35 DMAR: QI PRIOR: Device-TLB Invalidation qw0 = 0x5300530000000003, ...   (repeats)\n')
    expect(e).toMatchObject({rule: 'qi-timeout', category: 'device-tlb'})
    expect(e.summary).toMatch(/timed out for 0000:53:00\.0/)
    // Without the descriptor the SID stays what the unit latched.
    expect(lead('DMAR: VT-d detected Invalidation Time-out Error: SID 0\n').summary).toMatch(/did not latch a useful requester/)
  })
})
