/**
 * The running kernel as a log names it (src/decode/kernel-log/context.ts: the banner, a USB root
 * hub, an oops header) and its stable base (src/replay/kernel-regressions.ts runningKernel):
 * distribution builds whose release string is not their stable base (Debian's and Ubuntu's
 * X.Y.0-N, RHEL's .elN) only tell it when the banner carries the distribution's signature, and a
 * regression then leads; otherwise it is only a candidate. Every line here is real
 * (test/fixtures/kernel-release/SOURCES.md and the fixtures named there).
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {parseKernelLog} from '../src/decode/kernel-log/index.js'
import {leadingExplanation, triageRecords} from '../src/replay/fault-triage.js'
import {affects, affectedText, KERNEL_REGRESSIONS, parseRelease, runningKernel} from '../src/replay/kernel-regressions.js'
import {realData, repoRoot} from './support/paths.js'

const fixture = (p: string) => readFileSync(path.join(repoRoot, 'test/fixtures', p), 'utf8')
const lines = fixture('kernel-release/lines.txt').split('\n').filter((l) => l.length > 0)
const lineWith = (text: string, needle: string) => text.split('\n').find((l) => l.includes(needle))!
const detail = (line: string) => parseKernelLog(line + '\n').find((r) => r.type === 'context' && r.event === 'kernel-release')?.detail

describe('the kernel-release line, with a distribution\'s stable base', () => {
  it('keeps the signature of Ubuntu, Proxmox (PMX and the older PVE) and Debian banners', () => {
    expect(lines.map(detail)).toEqual([
      '5.4.0-42-generic (Ubuntu 5.4.44)',
      '6.8.12-5-pve (Proxmox 6.8.12-5)',
      '5.15.30-2-pve (Proxmox 5.15.30-3)',
      '5.10.54-1.fc32.qubes.x86_64',
      '6.1.20-generic',
    ])
    expect(detail(lineWith(readFileSync(path.join(realData, 'dmesg', 'terra-rmrr-dmesgH-k6.1-1.log'), 'utf8'), 'Linux version'))).toBe('6.1.0-31-amd64 (Debian 6.1.128-1)')
  })

  it('reads a Debian oops header\'s version after the build number, and the compiler\'s "Debian 12.2.0" is not a kernel', () => {
    const ft232 = fixture('fault-cases/amdvi-ft232r-xhci-set-deq-4.18.case')
    expect(detail(lineWith(ft232, 'Linux version'))).toBe('4.18.0-0.bpo.1-amd64 (Debian 4.18.6-1~bpo9+1)')
    expect(detail(lineWith(ft232, 'Not tainted'))).toBe('4.18.0-0.bpo.1-amd64 (Debian 4.18.6-1~bpo9+1)')
    // A lockdep splat's own release line, and the oops header of the same real log.
    const lockdep = fixture('fault-cases/icelake-d-8250-msi-zero-dump-lockdep.case')
    expect(detail(lineWith(lockdep, '#1 Not tainted'))).toBe('5.20.0-0.rc0.20220812git7ebfc85e2cd7.10.fc38.x86_64')
    expect(detail(lineWith(lockdep, 'Comm: rngd'))).toBe('5.20.0-0.rc0.20220812git7ebfc85e2cd7.10.fc38.x86_64')
    // The Proxmox banner's toolchain names Debian 12.2.0; only the part after "#1" is the kernel's.
    expect(detail(lines[1]!)).not.toContain('12.2.0')
  })
})

describe('the stable base of the running kernel', () => {
  const base = (d: string | undefined) => runningKernel(d)?.base
  it('is the release itself for stable-numbered builds (Fedora, Arch, Manjaro, Qubes, mainline -rc)', () => {
    expect(base('5.19.9-200.fc36.x86_64')).toEqual([5, 19, 9])
    expect(base('6.11.11-1-MANJARO')).toEqual([6, 11, 11])
    expect(base(detail(lines[3]!))).toEqual([5, 10, 54])
    expect(base('5.10.0-rc1-00029-gb643128b917c')).toEqual([5, 10, 0, 1])
    expect(base('6.8.0-rc5-1-mainline')).toEqual([6, 8, 0, 5])
  })

  it('is the signature\'s release for Debian, Ubuntu and Proxmox builds that carry one', () => {
    expect(runningKernel(detail(lines[0]!))).toEqual({release: '5.4.0-42-generic', base: [5, 4, 44], distro: 'Ubuntu'})
    expect(runningKernel('6.1.0-31-amd64 (Debian 6.1.128-1)')).toEqual({release: '6.1.0-31-amd64', base: [6, 1, 128], distro: 'Debian'})
    expect(runningKernel(detail(lines[1]!))?.base).toEqual([6, 8, 12])
    expect(runningKernel('6.12.48+deb13-amd64')).toEqual({release: '6.12.48+deb13-amd64', base: [6, 12, 48], distro: 'Debian'})
  })

  it('is unknown for a distribution build named without its signature (root hub lines, Ubuntu oops headers, RHEL, SLES)', () => {
    expect(runningKernel('6.1.0-20-amd64')).toEqual({release: '6.1.0-20-amd64', distro: 'Debian'})
    expect(runningKernel('4.18.0-0.bpo.1-amd64')?.base).toBeUndefined()
    expect(runningKernel('5.15.0-91-generic')?.base).toBeUndefined()
    expect(runningKernel('5.15.0-1034-azure')?.base).toBeUndefined()
    expect(runningKernel('5.14.0-362.8.1.el9_3.x86_64')?.base).toBeUndefined()
    expect(runningKernel('5.14.21-150500.55.19-default')?.base).toBeUndefined()
  })
})

const alias = KERNEL_REGRESSIONS.find((r) => r.id === 'vtd-alias-context-order')!
const caseLog = (name: string) => {
  const text = fixture(`fault-cases/${name}.case`)
  return text.slice(text.indexOf('--- log\n') + 8)
}
function lead(log: string) {
  const l = leadingExplanation(triageRecords(parseKernelLog(log), log.split('\n').length))
  return {...l, text: [l.summary, ...l.causes, ...l.remediation].join('\n')}
}

describe('a regression on a distribution kernel', () => {
  it('leads when the signature puts the stable base in range, and says whose build it is', () => {
    // A constructed banner in Debian's real format (the applespi excerpt carries none).
    const l = lead('kernel: Linux version 6.12.0-31-amd64 (debian-kernel@lists.debian.org) (gcc-14 (Debian 14.2.0-19) 14.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.12.33-1 (2025-06-19)\n' + caseLog('applespi-alias-regression-6.15'))
    expect(l.category).toBe('kernel-bug')
    expect(l.summary).toContain("Debian's build of 6.12.33")
    expect(l.text).toContain('backported')
  })

  it('does not lead on a Debian build the log names only by its package release; it lists the regression as a candidate with its ranges', () => {
    const l = lead('usb usb1: Manufacturer: Linux 6.12.0-31-amd64 xhci-hcd\n' + caseLog('applespi-alias-regression-6.15'))
    expect(l.category).not.toBe('kernel-bug')
    expect(l.causes.join('\n')).toContain('if this kernel is 6.12.0–6.12.34 or 6.13–6.15.3')
    expect(l.causes.join('\n')).toContain('a Debian build whose stable base the log does not tell')
  })
})

describe('a regression as a candidate', () => {
  it('is listed, with its ranges and fix, when the log names no kernel', () => {
    const l = lead(caseLog('applespi-alias-regression-6.15'))
    expect(l.certainty).toBe('cannot-tell')
    expect(l.causes.some((c) => c.includes('320302baed05') && c.includes('6.12.0–6.12.34 or 6.13–6.15.3') && c.includes('the log does not name the kernel'))).toBe(true)
  })

  it('is not listed when the log names a kernel outside its ranges', () => {
    const l = lead('kernel: Linux version 6.11.11-1-MANJARO (linux611@manjaro) #1 SMP PREEMPT_DYNAMIC\n' + caseLog('applespi-alias-regression-6.15'))
    expect(l.causes.join('\n')).not.toContain('320302baed05')
  })

  it('puts the affected ranges in words', () => {
    expect(affectedText(alias)).toBe('6.12.0–6.12.34 or 6.13–6.15.3')
    expect(affectedText(KERNEL_REGRESSIONS.find((r) => r.id === 'vtd-vf-msi-domain')!)).toBe('5.10-rc1 up to 5.10-rc4 (not included)')
  })
})

describe('a regression only -rc kernels carried', () => {
  const vf = KERNEL_REGRESSIONS.find((r) => r.id === 'vtd-vf-msi-domain')!
  it('holds 5.10-rc1 to rc3, not 5.10-rc4, 5.10 or 5.9', () => {
    const at = (v: string) => affects(vf, parseRelease(v)!)
    expect([at('5.9.16'), at('5.10.0-rc1'), at('5.10.0-rc3+'), at('5.10.0-rc4'), at('5.10.0'), at('5.10.1')]).toEqual([false, true, true, false, false, false])
  })

  it('leads the real mlx5 VF excerpt once an oops header names an affected -rc kernel', () => {
    const excerpt = readFileSync(path.join(realData, 'dmesg', 'mlx5-vf-intremap-k5.10-1.log'), 'utf8')
    // The excerpt names no kernel; this header (constructed, in the real supermicro case's shape) does.
    const header = '[    3.182381] CPU: 0 PID: 0 Comm: swapper/0 Not tainted 5.10.0-rc2 #1\n'
    const l = lead(header + excerpt)
    expect(l.category).toBe('kernel-bug')
    expect(l.text).toContain('ff828729be44')
    expect(lead(header.replace('rc2', 'rc4') + excerpt).category).not.toBe('kernel-bug')
  })
})

describe('an AMD-Vi regression (ILLEGAL_DEV_TABLE_ENTRY after resume, ef75966abf95)', () => {
  const eph = KERNEL_REGRESSIONS.find((r) => r.id === 'amdvi-resume-eph-disabled')!
  // The fix commit's own sample log (test/fixtures/fault-cases/amdvi-resume-eph-illegal-dte-amdgpu.case); it names no kernel.
  const excerpt = caseLog('amdvi-resume-eph-illegal-dte-amdgpu')
  it('holds 6.10 up to 6.12.16 (6.10 and 6.11 ended unfixed) and 6.13 up to 6.13.4', () => {
    const at = (v: string) => affects(eph, parseRelease(v)!)
    expect([at('6.9.12'), at('6.10.0'), at('6.11.11'), at('6.12.15'), at('6.12.16'), at('6.13.3'), at('6.13.4'), at('6.14.0')])
      .toEqual([false, true, true, true, false, true, false, false])
  })

  it('leads the device-table fault when a root hub names an affected Arch kernel, not a fixed one', () => {
    const hub = (release: string) => `Nov 14 11:52:10 Thinkbook kernel: usb usb1: Manufacturer: Linux ${release} xhci-hcd\n`
    const l = lead(hub('6.12.10-arch1-1') + excerpt)
    expect(l.category).toBe('kernel-bug')
    expect(l.rule).toBe('amd-vi-known-kernel-regression')
    expect(l.text).toContain('ef75966abf95')
    // On a fixed kernel neither the range rule nor the dump-reading rule names the bug.
    expect(lead(hub('6.12.16-arch1-1') + excerpt).category).toBe('device-table')
  })

  it('is a candidate, with its ranges, when the log names no kernel', () => {
    const l = lead(excerpt)
    expect(l.certainty).toBe('cannot-tell')
    expect(l.causes.some((c) => c.includes('if this kernel is 6.10–6.12.15 or 6.13.0–6.13.3') && c.includes('ef75966abf95'))).toBe(true)
  })
})
