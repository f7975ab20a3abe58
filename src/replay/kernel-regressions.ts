/**
 * Known IOMMU kernel regressions as data: which releases carry the bug (introduced → fixed, per
 * stable line), the symptom a fault shows, and the upstream fix to name. A fault leads with one only
 * when the log itself names the running kernel (its "Linux version" banner, a USB root hub's
 * manufacturer line or an oops header), that kernel's stable base is known and in an affected
 * range, and the fault has the symptom; when the log does not tell the kernel, the regression is
 * only a candidate, with its ranges. Pure.
 */
import type {IommuFamily} from '../decode/kernel-log/index.js'

/** A release as [major, minor, patch, rc?]: 6.14-rc3 is [6, 14, 0, 3]; a release without rc sorts after its -rcs. */
export type Release = readonly [number, number, number, number?]

export interface KernelRegression {
  id: string
  /** The upstream fix: commit and subject, as `git log --oneline` prints them. */
  fix: {commit: string; subject: string}
  /** The commit that introduced the bug. */
  introducedBy: string
  /** Affected releases, [first affected, first fixed) per line; `fixed` undefined = not fixed on that line. */
  affected: ReadonlyArray<{from: Release; fixed?: Release}>
  /** The first mainline release (or -rc) with the fix. */
  fixedMainline: Release
  /** What the fault looks like: the IOMMU that reports it, DMA or interrupt, its reasons (VT-d) or events (AMD-Vi, SMMU). */
  symptom: {family: IommuFamily; kind?: 'dma' | 'interrupt'; reasons?: readonly number[]; events?: readonly string[]}
  /**
   * What the requester must show besides the symptom for the regression to lead; without it the
   * regression stays a candidate. 'shared-requester-id': the requester ID is shared with another
   * device (a DMA alias on the host, or a non-PCI device the log shows joining an IOMMU group).
   */
  requires?: 'shared-requester-id'
  /** What goes wrong, in our words. */
  summary: string
  /** Where the ranges come from. */
  evidence: string
}

export const KERNEL_REGRESSIONS: readonly KernelRegression[] = [
  {
    id: 'vtd-alias-context-order',
    fix: {commit: '320302baed05', subject: 'iommu/vt-d: Restore context entry setup order for aliased devices'},
    introducedBy: '2031c469f816 ("iommu/vt-d: Add support for static identity domain")',
    affected: [{from: [6, 12, 0], fixed: [6, 12, 35]}, {from: [6, 13, 0], fixed: [6, 15, 4]}],
    fixedMainline: [6, 16, 0],
    symptom: {family: 'intel-vtd', kind: 'dma', reasons: [0x05, 0x06]},
    // Only devices sharing a requester ID lose their mapping: its report shows "platform
    // pxa2xx-spi.3: Adding to iommu group 20" for the SPI controller's child at 00:1e.3. Any other
    // 0x05/0x06 fault on 6.12–6.15.3 (Ubuntu 25.04, Fedora 42 …) has other causes first.
    requires: 'shared-requester-id',
    summary: 'attaching a domain cleared and reset the context entry of devices that share a DMA alias behind a PCIe-to-PCI bridge, so the alias lost its mapping (Apple SPI keyboards and touchpads stopped working)',
    evidence: 'CVE-2025-38216 (affected >=6.12.0 <6.12.35, >=6.13.0 <6.15.4); the fix is in 6.16-rc1 and was backported to 6.15.4 and 6.12.35',
  },
  {
    id: 'vtd-bus-notifier-after-init',
    fix: {commit: '7ebb5f8e0010', subject: 'Revert "iommu/vt-d: Fix possible recursive locking in intel_iommu_init()"'},
    introducedBy: '9cd4f1434479 ("iommu/vt-d: Fix possible recursive locking in intel_iommu_init()")',
    // 9cd4f1434479 entered mainline in 6.0-rc5 and 5.19.9; its revert is in 6.0-rc7 and 5.19.11.
    affected: [{from: [5, 19, 9], fixed: [5, 19, 11]}, {from: [6, 0, 0, 5], fixed: [6, 0, 0, 7]}],
    fixedMainline: [6, 0, 0],
    symptom: {family: 'intel-vtd', kind: 'interrupt', reasons: [0x25]},
    summary: 'the DMAR bus notifier was registered only after the IOMMU initialisation, so devices added later (Thunderbolt docks and other hot-added devices) never joined their DMAR device scope and their MSIs bypassed interrupt remapping, which then blocked them as compatibility-format requests',
    evidence: 'bugzilla.kernel.org 216497; 9cd4f1434479 was merged for 6.0-rc5 and backported to 5.19.9, its revert 7ebb5f8e0010 (parent: Linux 6.0-rc6, Cc: stable # 5.19.x) is in 6.0-rc7 and 5.19.11',
  },
  {
    id: 'vtd-vf-msi-domain',
    fix: {commit: 'ff828729be44', subject: 'iommu/vt-d: Cure VF irqdomain hickup'},
    introducedBy: '85a8dfc57a0b ("iommm/vt-d: Store irq domain in struct device")',
    // Both in the 5.10 cycle: the bug came with the x86 MSI irqdomain rework merged for 5.10-rc1,
    // the fix went in with x86-urgent-2020-11-15 for 5.10-rc4; no release carried it.
    affected: [{from: [5, 10, 0, 1], fixed: [5, 10, 0, 4]}],
    fixedMainline: [5, 10, 0, 4],
    symptom: {family: 'intel-vtd', kind: 'interrupt', reasons: [0x25]},
    summary: 'Intel DMAR does not register SR-IOV virtual functions, so after the MSI irqdomain moved into struct device a VF got the plain PCI-MSI domain and sent compatibility-format MSIs that interrupt remapping blocked',
    evidence: 'Jason Gunthorpe\'s report "REGRESSION: Re: [patch V2 00/46] x86, PCI, XEN, genirq ...: Prepare for device MSI" (2020-11-12: "a regression on bare metal SRIOV VFs since -rc1", bisected into the series); Thomas Gleixner\'s fix "iommu/vt-d: Cure VF irqdomain hickup" (Fixes: 85a8dfc57a0b, tested by Itay Aveksis, 2020-11-16) is the base of Will Deacon\'s "IOMMU fixes for -rc5" pull, "already merged for -rc4" with x86-urgent-2020-11-15',
  },
  {
    id: 'amdvi-resume-eph-disabled',
    fix: {commit: 'ef75966abf95', subject: 'iommu/amd: Expicitly enable CNTRL.EPHEn bit in resume path'},
    introducedBy: 'c4cb23111103 ("iommu/amd: Add support for enable/disable IOPF")',
    // 6.10 and 6.11 reached end of life before the fix: one span from 6.10 to the 6.12 fix.
    affected: [{from: [6, 10, 0], fixed: [6, 12, 16]}, {from: [6, 13, 0], fixed: [6, 13, 4]}],
    fixedMainline: [6, 14, 0],
    symptom: {family: 'amd-vi', events: ['ILLEGAL_DEV_TABLE_ENTRY']},
    summary: 'since IOPF support the AMD IOMMU driver enables Enhanced PPR handling (CNTRL[EPHEn]) at boot but did not set it again on resume, so after a suspend the IOMMU found device-table entries illegal (ILLEGAL_DEV_TABLE_ENTRY) and the device — an amdgpu in the report — failed to resume',
    evidence: 'c4cb23111103 came with "IOMMU Updates for Linux v6.10" (2024-05); the fix ef75966abf95 (Fixes: c4cb23111103, Closes: bugzilla.kernel.org 219499, 2025-01-27) is in 6.14 and was backported to 6.13.4 (listed in the 6.13.4-rc2 review shortlog) and 6.12.16 (6.12.16-rc1 review, patch 056/230)',
  },
]

/** The table's entry `id` (a rule that names one regression states it from here); throws for an id the table lacks. */
export function regressionNamed(id: string): KernelRegression {
  const regression = KERNEL_REGRESSIONS.find((r) => r.id === id)
  if (regression === undefined) throw new Error(`no known kernel regression "${id}"`)
  return regression
}

/** The release a version string starts with ("6.15.2-arch1-1" → [6, 15, 2]; "6.14.0-rc3" → [6, 14, 0, 3]; Fedora's "5.20.0-0.rc0.2022…" → [5, 20, 0, 0]). */
export function parseRelease(text: string | undefined): Release | undefined {
  const m = text === undefined ? null : /^(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+)|-0\.rc(\d+)\.)?/.exec(text)
  if (m === null) return undefined
  const rc = m[4] ?? m[5]
  const base: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]
  return rc === undefined ? base : [...base, Number(rc)]
}

function compare(a: Release, b: Release): number {
  const rc = (r: Release) => r[3] ?? Number.MAX_SAFE_INTEGER
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || rc(a) - rc(b)
}

export const formatRelease = (r: Release): string => `${r[0]}.${r[1]}${r[2] ? '.' + r[2] : ''}${r[3] === undefined ? '' : `-rc${r[3]}`}`

/** Whether `release` carries the regression. A release on no listed line is not affected. */
export function affects(regression: KernelRegression, release: Release): boolean {
  return regression.affected.some((span) => compare(release, span.from) >= 0 && (span.fixed === undefined || compare(release, span.fixed) < 0))
}

/** What a fault shows, in the terms a regression's symptom uses. */
export interface FaultSymptom {
  family: IommuFamily
  kind: 'dma' | 'interrupt'
  reason?: number
  event?: string
}

const hasSymptom = (r: KernelRegression, f: FaultSymptom): boolean =>
  r.symptom.family === f.family && (r.symptom.kind === undefined || r.symptom.kind === f.kind) &&
  (r.symptom.reasons === undefined || (f.reason !== undefined && r.symptom.reasons.includes(f.reason))) &&
  (r.symptom.events === undefined || (f.event !== undefined && r.symptom.events.includes(f.event)))

/** Regressions whose symptom the fault has, whatever the kernel. */
export const regressionsWithSymptom = (f: FaultSymptom): KernelRegression[] => KERNEL_REGRESSIONS.filter((r) => hasSymptom(r, f))

/** Regressions whose affected ranges hold `release` and whose symptom the fault has. */
export function regressionsFor(release: Release, f: FaultSymptom): KernelRegression[] {
  return regressionsWithSymptom(f).filter((r) => affects(r, release))
}

/** The releases that carry the fix, for the advice ("6.16, 6.15.4, 6.12.35"). */
export function fixedIn(regression: KernelRegression): string {
  const lines = regression.affected.flatMap((span) => (span.fixed && compare(span.fixed, regression.fixedMainline) !== 0 && span.fixed[3] === undefined ? [formatRelease(span.fixed)] : []))
  return [formatRelease(regression.fixedMainline), ...lines.reverse()].join(', ')
}

/** The affected releases in words ("6.12.0–6.12.34 or 6.13–6.15.3"; "5.10-rc1 up to 5.10-rc4"). */
export function affectedText(regression: KernelRegression): string {
  return regression.affected.map(({from, fixed}) => {
    if (fixed === undefined) return `${formatRelease(from)} and later ${from[0]}.${from[1]}.y`
    const lastPatch = fixed[3] === undefined && fixed[2] > 0 ? formatRelease([fixed[0], fixed[1], fixed[2] - 1]) : undefined
    const first = from[2] === 0 && from[3] === undefined && fixed[0] === from[0] && fixed[1] === from[1] ? `${from[0]}.${from[1]}.0` : formatRelease(from)
    return lastPatch !== undefined ? `${first}–${lastPatch}` : `${first} up to ${formatRelease(fixed)} (not included)`
  }).join(' or ')
}

/**
 * The kernel a log names, read from its kernel-release detail ("6.1.0-13-amd64 (Debian 6.1.55-1)",
 * "6.8.0-45-generic (Ubuntu 6.8.12)", "6.15.2-arch1-1"). `base` is the stable release it is built
 * from when that can be told; distribution builds carry backports, so `distro` says whose build it is.
 */
export interface RunningKernel {
  /** The release as the log prints it. */
  release: string
  /** The stable release the kernel is built from, when the log tells it. */
  base?: Release
  /** The distribution whose build this is, when the release string shows one. */
  distro?: string
}

/** Release strings of distribution builds whose number is not their stable base: X.Y.0-N-flavour (Debian, Ubuntu), RHEL's .elN, SUSE's 150xxx. */
const DISTRO_BUILDS: ReadonlyArray<{re: RegExp; distro: string}> = [
  {re: /^\d+\.\d+\.0-\d+(?:\.bpo\.\d+)?-(?:amd64|arm64|armmp\S*|686\S*|cloud-\S+|rt-\S+|powerpc64le|s390x)$/, distro: 'Debian'},
  {re: /\.el\d+/, distro: 'Red Hat Enterprise Linux (or a rebuild)'},
  {re: /^\d+\.\d+\.\d+-150\d{3}\./, distro: 'SUSE Linux Enterprise'},
  {re: /^\d+\.\d+\.0-\d+(?:[.~]\S*)?-[a-z]/, distro: 'Ubuntu (or another distribution)'},
]

export function runningKernel(detail: string | undefined): RunningKernel | undefined {
  const m = detail === undefined ? null : /^(\d+\.\d+\S*)(?: \((Debian|Ubuntu|Proxmox) (\d+\.\d+\.\d+)\S*\))?/.exec(detail)
  if (m === null) return undefined
  const release = m[1]!
  if (m[2] !== undefined) return {release, base: parseRelease(m[3])!, distro: m[2]}
  const debianVersioned = /^(\d+\.\d+\.\d+)\+deb\d+/.exec(release) // Debian 13+: "6.12.48+deb13-amd64"
  if (debianVersioned !== null) return {release, base: parseRelease(debianVersioned[1])!, distro: 'Debian'}
  // Proxmox numbers its builds after the stable release of the Ubuntu kernel they come from ("6.8.12-4-pve").
  if (/-pve$/.test(release)) return {release, base: parseRelease(release)!, distro: 'Proxmox'}
  const build = DISTRO_BUILDS.find((d) => d.re.test(release))
  if (build !== undefined && parseRelease(release)?.[3] === undefined) return {release, distro: build.distro}
  return {release, base: parseRelease(release)!}
}

/** How the advice names a kernel: "6.1.0-13-amd64 (Debian's build of 6.1.55)". */
export function describeKernel(k: RunningKernel): string {
  if (k.distro === undefined) return k.release
  return k.base === undefined ? `${k.release}, a ${k.distro} build whose stable base the log does not tell` : `${k.release}, ${k.distro}'s build of ${formatRelease(k.base)}`
}
