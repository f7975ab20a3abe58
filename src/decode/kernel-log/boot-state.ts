/** Boot-time IOMMU state: group membership, the default domain type, interrupt remapping, "IOMMU ready". */
import type {RecordBase} from './records.js'
import type {Shape} from './shape.js'


export interface GroupRecord extends RecordBase {
  type: 'group'
  device: string
  group: number
}

export interface DomainTypeRecord extends RecordBase {
  type: 'domain-type'
  /** iommu: Default domain type: Translated / Passthrough / Unmanaged. */
  domainType: 'translated' | 'passthrough' | 'unmanaged'
  viaCmdline: boolean
}

export interface InterruptRemappingRecord extends RecordBase {
  type: 'ir-state'
  state: 'x2apic' | 'xapic' | 'disabled' | 'x2apic-opt-out'
}

/** CONFIG_DMAR_DEBUG walk dump lines after a fault (≈5.17+). */

/** The last line of a successful intel_iommu_init: DMA translation is active from here on. */
export interface IommuReadyRecord extends RecordBase {
  type: 'iommu-ready'
}

export const BOOT_STATE_SHAPES: Shape[] = [
  {
    name: 'group-add',
    probe: 'iommu group',
    re: /([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): Adding to iommu group (\d+)/,
    build: (m, cx) => ({...cx.base, type: 'group', device: m[1]!, group: Number(m[2])}),
  },
  {
    name: 'group-add-old',
    probe: 'to group',
    re: /iommu: Adding device ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) to group (\d+)/,
    build: (m, cx) => ({...cx.base, type: 'group', device: m[1]!, group: Number(m[2])}),
  },
  {
    name: 'domain-type',
    probe: 'Default domain type',
    re: /iommu: Default domain type: (Translated|Passthrough|Unmanaged)( \(set via kernel command line\))?/,
    build: (m, cx) => ({...cx.base, type: 'domain-type', domainType: m[1]!.toLowerCase() as 'translated' | 'passthrough' | 'unmanaged', viaCmdline: m[2] !== undefined}),
  },
  {
    name: 'ir-enabled',
    probe: 'IRQ remapping in',
    re: /Enabled IRQ remapping in (x2apic|xapic) mode/,
    build: (m, cx) => ({...cx.base, type: 'ir-state', state: m[1] as 'x2apic' | 'xapic'}),
  },
  {
    name: 'ir-failed',
    probe: 'irq remapping',
    re: /Failed to enable irq remapping/,
    build: (_m, cx) => ({...cx.base, type: 'ir-state', state: 'disabled'}),
  },
  {
    name: 'ir-opt-out',
    probe: 'x2apic opt out',
    re: /x2apic is disabled because BIOS sets x2apic opt out bit/,
    build: (_m, cx) => ({...cx.base, type: 'ir-state', state: 'x2apic-opt-out'}),
  },
  {
    // ≥4.2 "DMAR: Intel(R) Virtualization Technology for Directed I/O", 3.x "PCI-DMA: Intel(R) …"
    name: 'iommu-ready',
    probe: 'Technology for Directed I/O',
    re: /(?:DMAR|PCI-DMA): Intel\(R\) Virtualization Technology for Directed I\/O/,
    build: (_m, cx) => ({...cx.base, type: 'iommu-ready'}),
  },
  {
    name: 'iommu-ready-2.6',
    probe: 'Using DMAR IOMMU',
    re: /PCI-DMA: Using DMAR IOMMU/,
    build: (_m, cx) => ({...cx.base, type: 'iommu-ready'}),
  },
]
