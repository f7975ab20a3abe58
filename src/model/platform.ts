/** The CPU and kernel release, from /proc/cpuinfo and /proc/sys/kernel/osrelease. */
import type {Read} from '../host/fs.js'

export type CpuVendor = 'intel' | 'amd' | 'other' | 'unknown'

export interface CpuFacts {
  vendor: CpuVendor
  /** Flags of the first processor; empty when cpuinfo was unreadable. */
  flags: Set<string>
  hypervisor: boolean
  modelName?: string
}

export interface KernelVersion {
  release: string
  major: number
  minor: number
}

export function parseCpu(read: Read<string>): CpuFacts {
  if (!read.ok) return {vendor: 'unknown', flags: new Set(), hypervisor: false}
  const first = read.value.split(/\n\s*\n/)[0] ?? ''
  const field = (name: string) => first.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim()
  const vendorId = field('vendor_id')
  const vendor: CpuVendor = vendorId === 'GenuineIntel' ? 'intel' : vendorId === 'AuthenticAMD' || vendorId === 'HygonGenuine' ? 'amd' : vendorId ? 'other' : 'unknown'
  const flags = new Set((field('flags') ?? '').split(/\s+/).filter(Boolean))
  return {vendor, flags, hypervisor: flags.has('hypervisor'), modelName: field('model name')}
}

export function parseKernelVersion(read: Read<string>): KernelVersion | undefined {
  if (!read.ok) return undefined
  const release = read.value.trim()
  const match = release.match(/^(\d+)\.(\d+)/)
  return match ? {release, major: Number(match[1]), minor: Number(match[2])} : undefined
}

export function kernelAtLeast(kernel: KernelVersion | undefined, major: number, minor: number): boolean | undefined {
  if (!kernel) return undefined
  return kernel.major > major || (kernel.major === major && kernel.minor >= minor)
}
