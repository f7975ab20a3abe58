/**
 * Kernel releases as rule data: when a quirk or grouping rule entered (or left) the kernel, so a
 * replay for `--kernel-version X` uses exactly the rules X had. Pure.
 */

/** [major, minor] of a kernel release. */
export type KernelVersion = readonly [number, number]

/**
 * The newest release the rule tables were checked against (drivers/pci/quirks.c, drivers/pci/pci.c,
 * drivers/pci/search.c, drivers/iommu/iommu.c of 6.18). A replay without a kernel version uses it.
 */
export const NEWEST_CHECKED_RELEASE: KernelVersion = [6, 18]

/** When a rule is in the kernel. */
export interface KernelSpan {
  /** First release that has it; undefined = older than every release this tool models (before 4.19). */
  since?: KernelVersion
  /** First release that no longer has it. */
  until?: KernelVersion
  /** Posted but in no release (and not in linux-next): applies only to a kernel ≥ `since` given explicitly. */
  unmerged?: boolean
  /** Where the version comes from: commit, subject, merge window. */
  evidence?: string
}

export function parseKernelVersion(text: string | undefined): KernelVersion | undefined {
  const match = text === undefined ? null : /^\s*v?(\d+)\.(\d+)/.exec(text)
  return match ? [Number(match[1]), Number(match[2])] : undefined
}

export const versionAtLeast = (v: KernelVersion, w: KernelVersion): boolean => v[0] > w[0] || (v[0] === w[0] && v[1] >= w[1])

export const formatVersion = (v: KernelVersion): string => `${v[0]}.${v[1]}`

/** Whether a rule is in kernel `version` (undefined = the newest checked release). */
export function inKernel(span: KernelSpan, version: KernelVersion | undefined): boolean {
  const v = version ?? NEWEST_CHECKED_RELEASE
  if (span.unmerged && version === undefined) return false
  if (span.since && !versionAtLeast(v, span.since)) return false
  if (span.until && versionAtLeast(v, span.until)) return false
  return true
}
