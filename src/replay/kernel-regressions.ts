/**
 * Known VT-d kernel regressions as data: which releases carry the bug (introduced → fixed, per
 * stable line), the symptom a fault shows, and the upstream fix to name. A fault leads with one only
 * when the log itself names the running kernel (its "Linux version" banner, a USB root hub's
 * manufacturer line or an oops header) in an affected range and the fault has the symptom. Pure.
 */

/** A release as [major, minor, patch] (patch 0 for a mainline release or an -rc). */
export type Release = readonly [number, number, number]

export interface KernelRegression {
  id: string
  /** The upstream fix: commit and subject, as `git log --oneline` prints them. */
  fix: {commit: string; subject: string}
  /** The commit that introduced the bug. */
  introducedBy: string
  /** Affected releases, [first affected, first fixed) per line; `fixed` undefined = not fixed on that line. */
  affected: ReadonlyArray<{from: Release; fixed?: Release}>
  /** The first mainline release with the fix. */
  fixedMainline: Release
  /** What the fault looks like. */
  symptom: {reasons: readonly number[]}
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
    symptom: {reasons: [0x05, 0x06]},
    summary: 'attaching a domain cleared and reset the context entry of devices that share a DMA alias behind a PCIe-to-PCI bridge, so the alias lost its mapping (Apple SPI keyboards and touchpads stopped working)',
    evidence: 'CVE-2025-38216 (affected >=6.12.0 <6.12.35, >=6.13.0 <6.15.4); the fix is in 6.16-rc1 and was backported to 6.15.4 and 6.12.35',
  },
  {
    id: 'vtd-bus-notifier-after-init',
    fix: {commit: '7ebb5f8e0010', subject: 'Revert "iommu/vt-d: Fix possible recursive locking in intel_iommu_init()"'},
    introducedBy: '9cd4f1434479 ("iommu/vt-d: Fix possible recursive locking in intel_iommu_init()")',
    // 9cd4f1434479 entered mainline in 6.0-rc5 (before any release) and 5.19.9; its revert is in 6.0-rc7 and 5.19.11.
    affected: [{from: [5, 19, 9], fixed: [5, 19, 11]}],
    fixedMainline: [6, 0, 0],
    symptom: {reasons: [0x25]},
    summary: 'the DMAR bus notifier was registered only after the IOMMU initialisation, so devices added later (Thunderbolt docks and other hot-added devices) never joined their DMAR device scope and their MSIs bypassed interrupt remapping, which then blocked them as compatibility-format requests',
    evidence: 'bugzilla.kernel.org 216497; 9cd4f1434479 was merged for 6.0-rc5 and backported to 5.19.9, its revert 7ebb5f8e0010 is in 6.0-rc7 and 5.19.11',
  },
]

/** The release a "Linux version" banner names ("6.15.2-arch1-1" → [6, 15, 2]; "6.14.0-rc3" → [6, 14, 0]). */
export function parseRelease(text: string | undefined): Release | undefined {
  const m = text === undefined ? null : /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined
}

function compare(a: Release, b: Release): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

export const formatRelease = (r: Release): string => `${r[0]}.${r[1]}${r[2] ? '.' + r[2] : ''}`

/** Whether `release` carries the regression. A release newer than every affected line's start but on no listed line is fixed (mainline). */
export function affects(regression: KernelRegression, release: Release): boolean {
  return regression.affected.some((span) => compare(release, span.from) >= 0 && (span.fixed === undefined || compare(release, span.fixed) < 0))
}

/** Regressions whose affected ranges hold `release` and whose symptom includes `reason`. */
export function regressionsFor(release: Release, reason: number): KernelRegression[] {
  return KERNEL_REGRESSIONS.filter((r) => r.symptom.reasons.includes(reason) && affects(r, release))
}

/** The releases that carry the fix, for the advice ("6.16, 6.15.4, 6.12.35"). */
export function fixedIn(regression: KernelRegression): string {
  const lines = regression.affected.flatMap((span) => (span.fixed ? [formatRelease(span.fixed)] : []))
  return [formatRelease(regression.fixedMainline), ...lines.reverse()].join(', ')
}
