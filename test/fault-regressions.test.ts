/**
 * Known kernel regressions (src/replay/kernel-regressions.ts): the affected ranges as the fix's
 * CVE record or the stable history states them, the lines that name the release (the "Linux
 * version" banner, a USB root hub's manufacturer, an oops header) as context events, and the rules
 * that lead with a regression (DMA and interrupt faults) only when that release is in range.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseKernelLog} from '../src/decode/kernel-log/index.js'
import {leadingExplanation, triageRecords, type TriageContext} from '../src/replay/fault-triage.js'
import {triageContextOf} from '../src/replay/fault-context.js'
import {evidenceModel} from './support/model.js'
import {affects, fixedIn, KERNEL_REGRESSIONS, parseRelease} from '../src/replay/kernel-regressions.js'
import {realData, repoRoot} from './support/paths.js'

const aliasOrder = KERNEL_REGRESSIONS.find((r) => r.id === 'vtd-alias-context-order')!

describe('known regression table', () => {
  it('parses banner releases, distro suffixes and -rc tags', () => {
    expect(parseRelease('6.15.2-arch1-1')).toEqual([6, 15, 2])
    expect(parseRelease('6.14.0-rc3')).toEqual([6, 14, 0, 3])
    expect(parseRelease('5.20.0-0.rc0.20220812git7ebfc85e2cd7.10.fc38.x86_64')).toEqual([5, 20, 0, 0])
    expect(parseRelease('6.16')).toEqual([6, 16, 0])
    expect(parseRelease('garbage')).toBeUndefined()
  })

  it('holds CVE-2025-38216\'s ranges (>=6.12.0 <6.12.35, >=6.13.0 <6.15.4)', () => {
    const at = (v: string) => affects(aliasOrder, parseRelease(v)!)
    expect(at('6.11.11-1-MANJARO')).toBe(false)
    expect(at('6.12.0')).toBe(true)
    expect(at('6.12.34')).toBe(true)
    expect(at('6.12.35')).toBe(false)
    expect(at('6.14.11')).toBe(true) // 6.14 reached end of life unfixed
    expect(at('6.15.3')).toBe(true)
    expect(at('6.15.4')).toBe(false)
    expect(at('6.16.0')).toBe(false)
    expect(fixedIn(aliasOrder)).toBe('6.16, 6.15.4, 6.12.35')
  })
})

// The fix commit's own excerpt (test/fixtures/fault-cases/applespi-alias-regression-6.15.case).
const caseText = readFileSync(path.join(repoRoot, 'test/fixtures/fault-cases/applespi-alias-regression-6.15.case'), 'utf8')
const excerpt = caseText.slice(caseText.indexOf('--- log\n') + 8)

function lead(log: string) {
  const l = leadingExplanation(triageRecords(parseKernelLog(log), log.split('\n').length))
  return {...l, text: [l.summary, ...l.causes, ...l.remediation].join('\n')}
}

describe('the banner leads to the regression', () => {
  it('reads "Linux version" as the kernel-release context (a real banner)', () => {
    const text = readFileSync(path.join(realData, 'dmesg', 'terra-rmrr-journal-k6.11-1.log'), 'utf8')
    const banner = parseKernelLog(text).find((r) => r.type === 'context' && r.event === 'kernel-release')
    expect(banner).toMatchObject({type: 'context', detail: '6.11.11-1-MANJARO'})
  })

  // The excerpt carries no banner; these prepend one (constructed) to test the rule's range check.
  it('leads with the regression, its fix and the fixed releases when the banner is in range', () => {
    const l = lead(`kernel: Linux version 6.15.2-arch1-1 (linux@archlinux) #1 SMP PREEMPT_DYNAMIC\n${excerpt}`)
    expect(l.category).toBe('kernel-bug')
    expect(l.text).toContain('320302baed05')
    expect(l.text).toContain('6.15.4')
  })

  it('stays a candidate, with its fix, when a rule that cannot tell leads on an affected kernel (an iGPU fault)', () => {
    const igfx = 'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7c592000 [fault reason 0x06] PTE Read access is not set'
    const on = (release: string) => lead(`kernel: Linux version ${release} (linux@archlinux) #1 SMP PREEMPT_DYNAMIC\n${igfx}`)
    expect(on('6.15.2-arch1-1')).toMatchObject({rule: 'igfx', certainty: 'cannot-tell'})
    expect(on('6.15.2-arch1-1').text).toContain('a known kernel regression this kernel (6.15.2-arch1-1) carries')
    expect(on('6.15.2-arch1-1').text).toContain('320302baed05')
    expect(on('6.15.4-arch1-1').text).not.toContain('320302baed05')
  })

  it('reads the report\'s "platform …: Adding to iommu group" line: a non-PCI device sharing a PCI function\'s requester ID', () => {
    const ctx = parseKernelLog('  kernel: platform pxa2xx-spi.3: Adding to iommu group 20').filter((r) => r.type === 'context')
    expect(ctx).toMatchObject([{event: 'platform-device-grouped', detail: 'pxa2xx-spi.3'}])
    expect(parseKernelLog('pci 0000:00:1e.3: Adding to iommu group 20').some((r) => r.type === 'context' && r.event === 'platform-device-grouped')).toBe(false)
  })

  it('only leads when the log shows a shared requester ID: on an affected kernel another 0x06 fault keeps it a candidate, with the condition', () => {
    const withoutShared = excerpt.split('\n').filter((l) => !l.includes('Adding to iommu group')).join('\n')
    const l = lead(`kernel: Linux version 6.15.2-arch1-1 (linux@archlinux) #1 SMP PREEMPT_DYNAMIC\n${withoutShared}`)
    expect(l).toMatchObject({rule: 'dma-api-mapping-gone', certainty: 'cannot-tell'})
    expect(l.text).toContain('a known kernel regression this kernel (6.15.2-arch1-1) carries')
    expect(l.text).toContain('if 0000:00:1e.3 shares its requester ID with another device')
  })

  it('does not blame the regression on a fixed kernel or without a banner', () => {
    expect(lead(`kernel: Linux version 6.15.4-arch1-1 (linux@archlinux) #1 SMP PREEMPT_DYNAMIC\n${excerpt}`).category).not.toBe('kernel-bug')
    expect(lead(excerpt).category).not.toBe('kernel-bug')
  })
})

// bugzilla 216497: 9cd4f1434479 (5.19.9) left hot-added devices out of their DMAR scope; reverted in 5.19.11.
const busNotifier = KERNEL_REGRESSIONS.find((r) => r.id === 'vtd-bus-notifier-after-init')!
const blocked = 'DMAR: DRHD: handling fault status reg 2\nDMAR: [INTR-REMAP] Request device [3d:00.0] fault index 0x8200 [fault reason 0x25] Blocked a compatibility format interrupt request\n'
const rootHub = (release: string) => `usb usb3: Manufacturer: Linux ${release} xhci-hcd\n`

describe('other lines that name the kernel release', () => {
  const release = (log: string) => parseKernelLog(log).find((r) => r.type === 'context' && r.event === 'kernel-release')
  it('a USB root hub\'s manufacturer string and an oops or WARNING header', () => {
    expect(release('Sep 19 09:34:40 kernel: usb usb3: Manufacturer: Linux 5.19.9-200.fc36.x86_64\n')).toMatchObject({detail: '5.19.9-200.fc36.x86_64'})
    expect(release('[   17.600629] CPU: 0 PID: 1546 Comm: kworker/0:3 Not tainted 5.14.0+ #4\n')).toMatchObject({detail: '5.14.0+'})
    expect(release('CPU: 0 PID: 0 Comm: swapper Tainted: G          I       4.19.80-intel-pk-standard #1\n')).toMatchObject({detail: '4.19.80-intel-pk-standard'})
    expect(release('[ 141.69] CPU: 10 UID: 0 PID: 5479 Comm: bash Not tainted 7.0.0-michal.pecio #2 PREEMPT(full)\n')).toMatchObject({detail: '7.0.0-michal.pecio'})
    // A USB device's own manufacturer string is not the kernel.
    expect(release('usb 3-1: Manufacturer: Linux Foundation\n')).toBeUndefined()
  })

  it('vmd in an oops\'s module list says VMD is on (not a module merely named like it)', () => {
    const vmd = (log: string) => parseKernelLog(log).some((r) => r.type === 'context' && r.event === 'vmd-domain')
    expect(vmd('Modules linked in: fjes(+) cec libahci igb(+) dca vmd(+) psample wmi\n')).toBe(true)
    expect(vmd('Modules linked in: vmd\n')).toBe(true)
    expect(vmd('Modules linked in: vmdk_helper nvme\n')).toBe(false)
  })
})

describe('a regression whose symptom is a blocked interrupt', () => {
  it('holds the 5.19 range (5.19.9 up to the revert in 5.19.11)', () => {
    const at = (v: string) => affects(busNotifier, parseRelease(v)!)
    expect([at('5.19.8'), at('5.19.9'), at('5.19.10'), at('5.19.11'), at('6.0.0')]).toEqual([false, true, true, false, false])
    expect(fixedIn(busNotifier)).toBe('6.0, 5.19.11')
  })

  it('leads a compatibility-format interrupt fault on an affected kernel, naming the revert', () => {
    const l = lead(rootHub('5.19.9-200.fc36.x86_64') + blocked)
    expect(l.category).toBe('kernel-bug')
    expect(l.rule).toBe('known-kernel-regression-interrupt')
    expect(l.text).toContain('7ebb5f8e0010')
  })

  it('not on a fixed kernel, not without a release, and VMD still leads on a host with VMD', () => {
    expect(lead(rootHub('5.19.11-200.fc36.x86_64') + blocked).category).not.toBe('kernel-bug')
    expect(lead(blocked).category).not.toBe('kernel-bug')
    expect(lead('vmd 0000:64:00.5: Bound to PCI domain 10000\n' + rootHub('5.19.9') + blocked).category).toBe('vmd')
  })
})

// The host's running kernel (uname -r of the live host or a --root snapshot) when the log names none.
describe('the host\'s kernel release, when the log names none', () => {
  /** The triage context the command builds from a host whose /proc/sys/kernel/osrelease holds `release`. */
  const hostWith = (release: string): TriageContext => triageContextOf(evidenceModel({release})).context
  const leadOn = (log: string, ctx: TriageContext) => {
    const l = leadingExplanation(triageRecords(parseKernelLog(log), log.split('\n').length, ctx))
    return {...l, text: [l.summary, ...l.causes, ...l.remediation].join('\n')}
  }

  it('the host model hands the release to triage, even with no PCI devices to trace', () => {
    expect(hostWith('5.19.9-200.fc36.x86_64').kernel).toEqual({release: '5.19.9-200.fc36.x86_64', source: '/proc/sys/kernel/osrelease'})
    expect(triageContextOf(evidenceModel({})).context.kernel).toBeUndefined()
  })

  it('leads with the known regression the host\'s kernel carries, citing where the release came from', () => {
    const l = leadOn(blocked, hostWith('5.19.9-200.fc36.x86_64'))
    expect(l).toMatchObject({category: 'kernel-bug', rule: 'known-kernel-regression-interrupt'})
    expect(l.text).toContain('7ebb5f8e0010')
    const groups = triageRecords(parseKernelLog(blocked), 3, hostWith('5.19.9-200.fc36.x86_64')).faults
    expect(groups[0]!.explanation.evidence.some((e) => e.source === '/proc/sys/kernel/osrelease' && e.fact.includes('the host runs'))).toBe(true)
  })

  it('a fixed host kernel rules it out, and the log\'s own kernel line wins over the host\'s', () => {
    expect(leadOn(blocked, hostWith('5.19.11-200.fc36.x86_64')).category).not.toBe('kernel-bug')
    expect(leadOn(rootHub('5.19.11-200.fc36.x86_64') + blocked, hostWith('5.19.9-200.fc36.x86_64')).category).not.toBe('kernel-bug')
    expect(leadOn(rootHub('5.19.9-200.fc36.x86_64') + blocked, hostWith('5.19.11-200.fc36.x86_64')).category).toBe('kernel-bug')
  })

  it('a distribution build whose stable base the release does not tell stays a candidate, said as the host\'s', () => {
    const l = leadOn(blocked, hostWith('5.19.0-1-amd64'))
    expect(l.category).not.toBe('kernel-bug')
    expect(l.text).toContain('the host runs (/proc/sys/kernel/osrelease; the log names no kernel) 5.19.0-1-amd64, a Debian build')
  })
})
