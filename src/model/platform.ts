/** The CPU and kernel release, from /proc/cpuinfo and /proc/sys/kernel/osrelease. */
import type {Read} from '../host/fs.js'

export type CpuVendor = 'intel' | 'amd' | 'other' | 'unknown'
/** Which kernel architecture's parameters apply (x86 has `iommu=`, Arm only the generic `iommu.*`). */
export type CpuArchitecture = 'x86' | 'arm' | 'unknown'

export interface CpuFacts {
  vendor: CpuVendor
  architecture: CpuArchitecture
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
  if (!read.ok) return {vendor: 'unknown', architecture: 'unknown', flags: new Set(), hypervisor: false}
  const first = read.value.split(/\n\s*\n/)[0] ?? ''
  const field = (name: string) => first.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim()
  const vendorId = field('vendor_id')
  const vendor: CpuVendor = vendorId === 'GenuineIntel' ? 'intel' : vendorId === 'AuthenticAMD' || vendorId === 'HygonGenuine' ? 'amd' : vendorId ? 'other' : 'unknown'
  // x86 prints vendor_id; Arm kernels print "CPU architecture: 8" (arch/arm64/kernel/cpuinfo.c) and no vendor_id.
  const architecture: CpuArchitecture = vendor === 'intel' || vendor === 'amd' ? 'x86' : field('CPU architecture') !== undefined ? 'arm' : 'unknown'
  const flags = new Set((field('flags') ?? '').split(/\s+/).filter(Boolean))
  return {vendor, architecture, flags, hypervisor: flags.has('hypervisor'), modelName: field('model name')}
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
