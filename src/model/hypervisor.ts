/**
 * Which hypervisor (if any) runs this host, so advice names the right knob: QEMU's
 * `-device intel-iommu` means nothing on Hyper-V or Firecracker. Read from what the kernel itself
 * uses: the DMI system vendor/product (sys/class/dmi/id), /sys/hypervisor/type (Xen), the
 * CPU "hypervisor" flag, and the boot log ("Hypervisor detected: …", the ACPI tables' OEM ids,
 * "DMI: …"). Pure: its inputs are strings already collected.
 */

export type HypervisorKind =
  | 'qemu' // QEMU (with KVM or TCG), libvirt, Proxmox
  | 'firecracker'
  | 'cloud-hypervisor'
  | 'hyper-v' // also Azure (cloud 'azure')
  | 'vmware'
  | 'xen'
  | 'virtualbox'
  | 'kvm' // a KVM-based VMM we cannot name (no DMI)
  | 'unknown' // a guest, no more known

export type CloudProvider = 'aws' | 'gcp' | 'azure'

export interface HypervisorFacts {
  /** True when this host is a VM guest. */
  guest: boolean
  kind?: HypervisorKind
  cloud?: CloudProvider
  /** What told us, each with its source (for evidence). */
  evidence: Array<{fact: string; source: string}>
}

export interface HypervisorInput {
  cpuHypervisorFlag: boolean
  dmi: {sysVendor?: string; productName?: string; chassisAssetTag?: string}
  /** /sys/hypervisor/type, trimmed, when readable. */
  hypervisorType?: string
  logLines: string[]
}

/** DMI sys_vendor / product_name patterns, first match wins (as systemd-detect-virt's dmi_vendor_table). */
const DMI_TABLE: Array<{pattern: RegExp; kind: HypervisorKind; cloud?: CloudProvider}> = [
  {pattern: /^QEMU\b|Standard PC \((Q35|i440FX)|\bKVM\b/, kind: 'qemu'},
  {pattern: /^Amazon EC2\b/, kind: 'kvm', cloud: 'aws'},
  {pattern: /^Google\b|Google Compute Engine/, kind: 'kvm', cloud: 'gcp'},
  {pattern: /^Microsoft Corporation\b.*Virtual Machine|^Virtual Machine$/, kind: 'hyper-v'},
  {pattern: /^VMware\b|VMware Virtual Platform|\bVMware\d/, kind: 'vmware'},
  {pattern: /^innotek GmbH\b|VirtualBox/, kind: 'virtualbox'},
  {pattern: /^Xen\b|HVM domU/, kind: 'xen'},
  {pattern: /^Cloud Hypervisor\b/, kind: 'cloud-hypervisor'},
  {pattern: /^(Red Hat|oVirt|Nutanix|OpenStack|KubeVirt)\b/, kind: 'qemu'},
]

/** The kernel's "Hypervisor detected: %s" names (arch/x86/kernel/cpu/hypervisor.c, each hypervisor_x86.name). */
const DETECTED_TABLE: Array<{pattern: RegExp; kind: HypervisorKind}> = [
  {pattern: /^KVM/, kind: 'kvm'},
  {pattern: /^Microsoft Hyper-V/, kind: 'hyper-v'},
  {pattern: /^VMware/, kind: 'vmware'},
  {pattern: /^Xen/, kind: 'xen'},
]

/** ACPI table OEM ids in the boot log ("ACPI: XSDT 0x… (v01 FIRECK …)"): VMMs without DMI still build ACPI tables. */
const ACPI_OEM_TABLE: Array<{pattern: RegExp; kind: HypervisorKind}> = [
  {pattern: /\(v\d+ FIRECK\b/, kind: 'firecracker'},
  {pattern: /\(v\d+ CLOUDH\b/, kind: 'cloud-hypervisor'},
  {pattern: /\(v\d+ BOCHS\b/, kind: 'qemu'},
  {pattern: /\(v\d+ VBOX\b/, kind: 'virtualbox'},
  {pattern: /\(v\d+ VRTUAL\b/, kind: 'hyper-v'},
]

/**
 * Device-tree machine models of virtual boards ("Machine model: %s", drivers/of/fdt.c): an arm64
 * guest booted from its VMM's device tree has no DMI and no hypervisor CPU flag.
 */
const DT_MODEL_TABLE: Array<{pattern: RegExp; kind: HypervisorKind}> = [
  // QEMU's virt machine (hw/arm/virt.c: "linux,dummy-virt").
  {pattern: /^linux,dummy-virt$/, kind: 'qemu'},
]

export function detectHypervisor(input: HypervisorInput): HypervisorFacts {
  const evidence: HypervisorFacts['evidence'] = []
  let kind: HypervisorKind | undefined
  let cloud: CloudProvider | undefined
  const settle = (found: HypervisorKind, fact: string, source: string): void => {
    // The XSDT and RSDT lines name the same OEM: one fact, stated once.
    if (!evidence.some((e) => e.fact === fact)) evidence.push({fact, source})
    // A named VMM beats the bare "KVM" the CPUID leaf reports.
    if (kind === undefined || kind === 'kvm' || kind === 'unknown') kind = found
  }
  if (input.cpuHypervisorFlag) evidence.push({fact: 'CPU flag "hypervisor" set', source: '/proc/cpuinfo'})
  const dmi = [input.dmi.sysVendor, input.dmi.productName].filter((s): s is string => s !== undefined && s.trim() !== '').join(' ')
  const fromDmi = DMI_TABLE.find((row) => row.pattern.test(dmi))
  if (fromDmi) {
    settle(fromDmi.kind, `DMI system "${dmi}"`, '/sys/class/dmi/id/sys_vendor')
    if (fromDmi.cloud) cloud = fromDmi.cloud
  }
  if (input.hypervisorType === 'xen') settle('xen', 'hypervisor type xen', '/sys/hypervisor/type')
  for (const line of input.logLines) {
    const detected = /Hypervisor detected: (.+)$/.exec(line)?.[1]?.trim()
    const row = detected === undefined ? undefined : DETECTED_TABLE.find((r) => r.pattern.test(detected))
    if (row && detected !== undefined) settle(row.kind, `Hypervisor detected: ${detected}`, 'dmesg')
    const machineModel = /\bMachine model: (.+)$/.exec(line)?.[1]?.trim()
    const dtRow = machineModel === undefined ? undefined : DT_MODEL_TABLE.find((r) => r.pattern.test(machineModel))
    if (dtRow) settle(dtRow.kind, `device-tree machine model ${machineModel}`, 'dmesg')
    if (/ACPI: (XSDT|RSDT|RSDP) /.test(line)) {
      const oem = ACPI_OEM_TABLE.find((r) => r.pattern.test(line))
      if (oem) settle(oem.kind, `ACPI tables built by ${line.match(/\(v\d+ ([^\s)]+)/)?.[1] ?? '?'}`, 'dmesg')
    }
    if (fromDmi === undefined) {
      const dmiLine = /\bDMI: (.+)$/.exec(line)?.[1]
      const row2 = dmiLine === undefined ? undefined : DMI_TABLE.find((r) => r.pattern.test(dmiLine))
      if (row2 && dmiLine !== undefined) {
        settle(row2.kind, `DMI: ${dmiLine.trim()}`, 'dmesg')
        if (row2.cloud) cloud = row2.cloud
      }
    }
  }
  // Azure runs Hyper-V, and its DMI system is "Microsoft Corporation Virtual Machine" like any Hyper-V guest's; only the
  // chassis asset tag tells them apart (the tag cloud-init's Azure datasource checks). The advice differs: on Azure the
  // knobs are VM sizes, not the Hyper-V host's PowerShell.
  if (input.dmi.chassisAssetTag?.trim() === AZURE_CHASSIS_ASSET_TAG) {
    settle('hyper-v', `DMI chassis asset tag ${AZURE_CHASSIS_ASSET_TAG} (Microsoft Azure)`, '/sys/class/dmi/id/chassis_asset_tag')
    cloud = 'azure'
  }
  const guest = input.cpuHypervisorFlag || kind !== undefined
  if (guest && kind === undefined) kind = 'unknown'
  return {guest, ...(kind === undefined ? {} : {kind}), ...(cloud === undefined ? {} : {cloud}), evidence}
}

/** The chassis asset tag every Azure VM carries ("MSFT AZURE VM" in ASCII codes). */
export const AZURE_CHASSIS_ASSET_TAG = '7783-7084-3265-9085-8269-3286-77'

/** How advice names each hypervisor. */
export const HYPERVISOR_NAMES: Record<HypervisorKind, string> = {
  qemu: 'QEMU/KVM',
  firecracker: 'Firecracker',
  'cloud-hypervisor': 'Cloud Hypervisor',
  'hyper-v': 'Hyper-V',
  vmware: 'VMware',
  xen: 'Xen',
  virtualbox: 'VirtualBox',
  kvm: 'a KVM-based hypervisor',
  unknown: 'an unidentified hypervisor',
}
