/**
 * How this host boots and rebuilds its initramfs, so a plan gives ONE way to make a change
 * persist (and names the others in one line). Read from what a snapshot holds: the boot loader
 * leaves its mark on /proc/cmdline (GRUB passes `BOOT_IMAGE=`; systemd-boot and kernelstub load
 * the EFI stub with `initrd=\EFI\…`), the distribution on /proc/version (the build's compiler
 * string names Debian, Ubuntu, Red Hat …) and the kernel release (`.el9`, `.fc40`).
 */

export type BootLoader = 'grub' | 'systemd-boot' | 'kernelstub' | 'unknown'
export type DistroFamily = 'debian' | 'redhat' | 'suse' | 'arch' | 'unknown'

export interface BootFacts {
  loader: BootLoader
  distro: DistroFamily
  /** Why we think so, one line each (for notes beside the commands). */
  evidence: string[]
}

const DISTRO_TABLE: Array<{pattern: RegExp; family: DistroFamily}> = [
  {pattern: /\b(Debian|Ubuntu)\b|-(amd64|arm64|generic)\b/, family: 'debian'},
  {pattern: /Red Hat|\.el\d+|\.fc\d+|\bFedora\b|\bAlmaLinux\b|\bRocky\b/, family: 'redhat'},
  {pattern: /\bSUSE\b|-default\b/, family: 'suse'},
  {pattern: /-arch\d|archlinux/, family: 'arch'},
]

export function detectBoot(cmdline: string | undefined, procVersion: string | undefined, kernelRelease: string | undefined): BootFacts {
  const evidence: string[] = []
  let loader: BootLoader = 'unknown'
  if (cmdline !== undefined) {
    if (/(^|\s)BOOT_IMAGE=/.test(cmdline)) {
      loader = 'grub'
      evidence.push('/proc/cmdline carries BOOT_IMAGE= (set by GRUB)')
    } else if (/(^|\s)initrd=\\EFI\\Pop_OS/i.test(cmdline)) {
      loader = 'kernelstub'
      evidence.push('/proc/cmdline loads the initrd from \\EFI\\Pop_OS… (kernelstub)')
    } else if (/(^|\s)initrd=\\/.test(cmdline)) {
      loader = 'systemd-boot'
      evidence.push('/proc/cmdline loads the initrd by an EFI path (systemd-boot / EFI stub)')
    } else evidence.push('/proc/cmdline names no boot loader (no BOOT_IMAGE=, no EFI initrd=)')
  }
  const versionText = `${procVersion ?? ''} ${kernelRelease ?? ''}`
  const distro = DISTRO_TABLE.find((row) => row.pattern.test(versionText))?.family ?? 'unknown'
  if (distro !== 'unknown') evidence.push(`/proc/version: a ${distro}-family kernel build`)
  return {loader, distro, evidence}
}
