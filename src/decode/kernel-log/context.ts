/**
 * Lines that are not faults but change what a fault means: chipset errata, firmware-table bugs the
 * kernel reports, out-of-tree RMRR relaxing, kdump table copies and a kdump kernel's command line,
 * an oops in the fault dumper, a driver unmapping what it never mapped, a device removed from its
 * group, the vmd driver (Intel VMD is on). Triage attaches them to
 * the explanation (src/replay/fault-triage.ts).
 */
import type {RecordBase} from './records.js'
import type {Shape} from './shape.js'

export type ContextEvent =
  | 'ir-erratum' // "DMAR-IR: This system BIOS has enabled interrupt remapping on a chipset that contains an erratum"
  | 'dmar-all-ones' // "Your BIOS is broken; DMAR reported at address … returns all ones!"
  | 'ir-firmware-bug' // "DMAR-IR: [Firmware Bug]: ioapic 0 has no mapping iommu, …"
  | 'rmrr-not-reserved' // "[Firmware Bug]: No firmware reserved region can cover this RMRR"
  | 'rmrr-relaxable' // "Intel-IOMMU: assuming all RMRRs are relaxable" (out-of-tree patch)
  | 'rmrr-scope-workaround' // "[Firmware Bug]: RMRR entry for device … is broken - applying workaround"
  | 'fault-dump-oops' // an oops whose RIP is dmar_fault_dump_ptes
  | 'kdump-tables-copied' // a kdump/kexec kernel taking over the previous kernel's translation tables
  | 'ioapic-timer-panic' // "timer doesn't work through Interrupt-remapped IO-APIC"
  | 'unmap-unmatched' // WARNING in intel_unmap: a driver unmapped a page it never mapped
  | 'iommu-map-warning' // a WARNING or oops RIP inside the IOMMU driver's own map/page-table code ("at drivers/iommu/amd_iommu.c:1474 iommu_map_page+0x…"): detail the function
  | 'device-removed' // "pci …: Removing from iommu group N"
  | 'dmar-scope-endpoint' // Xen listing a DMAR structure's device scope at boot ("(XEN) [VT-D] endpoint: 0000:04:00.0"): detail the BDF
  // "platform pxa2xx-spi.3: Adding to iommu group 20": a device that is no PCI function joined an
  // IOMMU group — on VT-d it does DMA with a PCI function's requester ID (an ACPI namespace device
  // the DMAR table declares, or a PCI function's DMA sub-device), so two devices share one context entry
  | 'platform-device-grouped'
  | 'vmd-domain' // any line of the vmd driver ("vmd 0000:64:05.5: Bound to PCI domain 10000"), vmd in an oops's "Modules linked in:", or a line naming a device in a PCI domain above 0xffff ("nvme 10000:e1:00.0: …"): Intel VMD is on
  | 'kdump-kernel' // a kernel command line with elfcorehdr= (kexec adds it for the capture kernel)
  | 'e820-reserved' // "BIOS-e820: [mem 0x…-0x…] reserved": memory the firmware keeps (detail "0xstart-0xend", inclusive)
  | 'e820-usable' // "BIOS-e820: [mem 0x…-0x…] usable": RAM the kernel may hand out (same detail)
  | 'kernel-release' // the boot banner "Linux version 6.15.2-arch1-1 (…)", a USB root hub's "Manufacturer: Linux 5.19.9-200.fc36.x86_64" or an oops header's "Not tainted 5.14.0+ #4", in a log's first lines: detail "6.15.2-arch1-1", with a distribution's stable base when the line names it ("6.1.0-13-amd64 (Debian 6.1.55-1)")
  | 'driver-line' // a driver's own line about a PCI function ("xhci_hcd 0000:00:14.0: …"): detail "DRIVER BDF"
  | 'pci-id' // the PCI core enumerating a function ("pci 0000:05:00.0: [8086:1137] type 00 class 0x0c0340"): detail "BDF VVVV:DDDD CCCCCC"
  | 'driver-trouble' // the same, reporting trouble (timeout, abort, cancel, reset, WARN) or its link down: detail "DRIVER BDF: message"
  | 'amd-vi-firmware-bug' // "AMD-Vi: [Firmware Bug]: IOAPIC[4] not in IVRS table", "[Firmware Bug]: AMD-Vi: No southbridge IOAPIC found"
  | 'amd-vi-ir-disabled' // "AMD-Vi: Disabling interrupt remapping" (after an IVRS IOAPIC check failed)
  // CONFIG_DMA_API_DEBUG (kernel/dma/debug.c): a driver unmapped or synced a buffer with another
  // direction than it mapped it with. detail "DRIVER DEVICE: frees with DMA_X, mapped with DMA_Y (device address 0x…)"
  | 'dma-api-direction'

export interface ContextRecord extends RecordBase {
  type: 'context'
  event: ContextEvent
  /** The device or address the line names, as printed (full BDF where the kernel prints one). */
  detail?: string
}

const context = (event: ContextEvent, probe: string, re: RegExp, detail?: (m: RegExpExecArray) => string | undefined): Shape => ({
  name: `context-${event}`,
  probe,
  re,
  build: (m, cx) => {
    const rec: ContextRecord = {...cx.base, type: 'context', event}
    const d = detail?.(m)
    if (d !== undefined) rec.detail = d
    return rec
  },
})

/** "6.1.0-13-amd64 (Debian 6.1.55-1)": the release, then the distribution's stable base when the line names it. */
function releaseDetail(m: RegExpExecArray): string {
  const distro = m[2] === 'PMX' || m[2] === 'PVE' ? 'Proxmox' : m[2] ?? (m[4] !== undefined ? 'Ubuntu' : undefined)
  return distro === undefined ? m[1]! : `${m[1]} (${distro} ${m[3] ?? m[4]})`
}

export const CONTEXT_SHAPES: Shape[] = [
  // The kernel's warning spans five lines; only its first carries a keyword the prefilter sees.
  context('ir-erratum', 'BIOS has enabled interrupt remapping', /This system BIOS has enabled interrupt remapping/),
  context('dmar-all-ones', 'returns all ones', /DMAR reported at address ([0-9a-f]+) returns all ones/, (m) => '0x' + m[1]),
  context('ir-firmware-bug', 'DMAR-IR: [Firmware Bug]', /DMAR-IR: \[Firmware Bug\]: (.*)$/, (m) => m[1]!.trim()),
  context('rmrr-not-reserved', 'No firmware reserved region', /No firmware reserved region can cover this RMRR \[0x([0-9a-f]+)-0x([0-9a-f]+)\]/, (m) => `0x${m[1]}-0x${m[2]}`),
  context('rmrr-relaxable', 'RMRRs are relaxable', /assuming all RMRRs are relaxable/),
  context('rmrr-scope-workaround', 'is broken - applying workaround', /RMRR entry for device ([0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) is broken - applying workaround/, (m) => '0000:' + m[1]),
  context('fault-dump-oops', 'dmar_fault_dump_ptes', /RIP: [0-9a-f]+:dmar_fault_dump_ptes/),
  // Each line's first words suffice: mail clients wrap these long lines ("… - trying" / "to copy translation structures").
  // The third is printed by a kernel that is not a kdump kernel (intel/iommu.c init_dmars): it
  // turns translation off and copies nothing — a kexec'd kernel, or firmware that left VT-d on.
  context('kdump-tables-copied', 'ranslation', /Copied translation tables from\b|Translation already enabled - trying\b|(Translation was enabled for \S+ but we are not in kdump mode)/,
    (m) => (m[1] === undefined ? undefined : 'not a kdump kernel')),
  context('ioapic-timer-panic', 'Interrupt-remapped IO-APIC', /timer doesn't work through Interrupt-remapped IO-APIC/),
  context('unmap-unmatched', 'intel_unmap', /WARNING: .*(?:intel-iommu\.c|intel\/iommu\.c|iommu\.c):\d+ intel_unmap/),
  // The IOMMU driver warning inside its own mapping code (a WARN_ON in increase_address_space(),
  // alloc_pte(), __domain_mapping()'s "PTE … already set"): the mapping a device then uses may be
  // missing or torn. The function is on the WARNING line (file in drivers/iommu/) or, when a mail
  // client wrapped that line, on the register dump's RIP line (a name holding "iommu"). Unmap is
  // the line above (a driver's bookkeeping, not the IOMMU driver's).
  context('iommu-map-warning', 'WARNING:', /WARNING: .*\bat drivers\/iommu\/\S+:\d+ ((?!\w*unmap)\w*(?:map|pte|pgtable|address_space)\w*)\+0x/, (m) => m[1]),
  context('iommu-map-warning', 'RIP:', /RIP: [0-9a-f]{4}:((?!\w*unmap)(?=\w*iommu)\w*(?:map|pte|pgtable|address_space)\w*)\+0x/, (m) => m[1]),
  context('vmd-domain', 'vmd ', /\bvmd ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): /, (m) => m[1]),
  // Distribution builds name their stable base after the build number: Debian "#1 SMP … Debian 6.1.55-1 (2023-09-29)",
  // Proxmox "#1 SMP … PMX 6.8.12-4 (…)" (before 2023 "PVE 5.15.30-3"), Ubuntu "… (Ubuntu 6.8.0-45.45-generic 6.8.12)"; the detail keeps it: "6.1.0-13-amd64 (Debian 6.1.55-1)".
  context('kernel-release', 'Linux version ', /Linux version (\d+\.\d+\S*)(?:.* #\d\S*(?: .*?)? (?:(Debian|PMX|PVE) (\d+\.\d+\.\d+\S*)|\(Ubuntu \S+ (\d+\.\d+\.\d+)\)))?/, releaseDetail),
  // Excerpts rarely keep the banner, but other lines name the release: each USB root hub's
  // manufacturer string and the header of every oops or WARNING ("Comm: … Not tainted 5.14.0+ #4").
  context('kernel-release', 'Manufacturer: Linux ', /usb usb\d+: Manufacturer: Linux (\d+\.\d+\S*)/, (m) => m[1]),
  context('kernel-release', 'ainted', /\bComm: .*? (?:Not tainted|Tainted: [A-Z ]*?) ?(\d+\.\d+[^\s#]*) #\S*(?: (Debian) (\d+\.\d+\.\d+\S*))?/, releaseDetail),
  // A lockdep splat names the release on its own line: "5.20.0-0.rc0.20220812git7ebfc85e2cd7.10.fc38.x86_64 #1 Not tainted".
  context('kernel-release', 'ainted', /(?:^|\s)(\d+\.\d+\.\d+\S*) #\d\S* (?:Not tainted|Tainted: )/, (m) => m[1]),
  // An oops or WARNING lists the loaded modules: vmd among them means a VMD controller bound it.
  context('vmd-domain', 'Modules linked in:', /Modules linked in: (?:.* )?vmd(?:\(\S*\))?(?: |$)/),
  context('kdump-kernel', 'elfcorehdr=', /ommand line: .*\belfcorehdr=(\S+)/, (m) => `elfcorehdr=${m[1]}`),
  // The firmware's memory map, printed in the first lines of a boot (parser.ts EARLY_LINES); only
  // reserved and usable ranges matter here. 3.x+ prints inclusive ends, older kernels an exclusive one.
  {
    name: 'context-e820',
    probe: 'BIOS-e820',
    re: /BIOS-e820: (?:\[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] (reserved|usable)\s*$|([0-9a-f]{8,16}) - ([0-9a-f]{8,16}) \((reserved|usable)\))/,
    build: (m, cx) => {
      const end = m[2] !== undefined ? BigInt('0x' + m[2]) : BigInt('0x' + m[5]!) - 1n
      const start = BigInt('0x' + (m[1] ?? m[4]!))
      const event = (m[3] ?? m[6]) === 'usable' ? 'e820-usable' : 'e820-reserved'
      return {...cx.base, type: 'context', event, detail: `0x${start.toString(16)}-0x${end.toString(16)}`}
    },
  },
  context('amd-vi-firmware-bug', '[Firmware', /AMD-Vi: \[Firmware (?:Bug|Warn)\]:[\s:]*(.*)$|\[Firmware (?:Bug|Warn)\]: AMD-Vi:[\s:]*(.*)$/, (m) => (m[1] ?? m[2])!.trim()),
  context('amd-vi-ir-disabled', 'Disabling interrupt remapping', /AMD-Vi: Disabling interrupt remapping/),
  // 4.20+ prints "DMA-API: DRIVER DEVICE: device driver …", older kernels "DRIVER DEVICE: DMA-API: device driver …".
  context('dma-api-direction', 'with different direction',
    /(?:(\S+) (\S+): )?DMA-API: (?:(\S+) (\S+): )?device driver (frees|syncs) DMA memory with different direction \[device address=(0x[0-9a-f]+)\] \[size=\d+ bytes\] \[mapped with (DMA_\w+)\] \[(?:unmapped|synced) with (DMA_\w+)\]/,
    (m) => `${m[3] ?? m[1] ?? 'NULL'} ${m[4] ?? m[2] ?? 'NULL'}: ${m[5]} with ${m[8]}, mapped with ${m[7]} (device address ${m[6]})`),
  // Xen prints each DRHD/RMRR/ATSR device scope it parsed (xen/drivers/passthrough/vtd/dmar.c
  // acpi_parse_dev_scope, iommu=verbose or debug builds): the functions the firmware says exist.
  // The parser has stripped the "(XEN) [VT-D]" prefix by then (cx.xen says it was there).
  {
    name: 'context-dmar-scope-endpoint',
    probe: 'endpoint: ',
    re: /^\s*endpoint: ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\s*$/,
    build: (m, cx) => (cx.xen ? {...cx.base, type: 'context', event: 'dmar-scope-endpoint', detail: m[1]!} : undefined),
  },
  context('platform-device-grouped', 'Adding to iommu group', /(?:^|\s)(?:platform|acpi) (\S+): Adding to iommu group \d+/, (m) => m[1]),
  context('device-removed', 'Removing from iommu group', /([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): Removing from iommu group (\d+)/, (m) => m[1]),
]

/** The PCI core's enumeration line: "pci 0000:bb:dd.f: [vvvv:dddd] type 00 class 0xcccccc". */
const PCI_ID_LINE = /(?:^|\s)pci ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): \[([0-9a-f]{4}):([0-9a-f]{4})\] type [0-9a-f]{2} class 0x([0-9a-f]{6})/
/**
 * A driver's dev_printk line, "DRIVER 0000:bb:dd.f: message", or its netdev_printk line, which puts
 * the interface name after the device ("r8169 0000:2d:00.0 enp45s0: Link is Down"; the message then
 * starts with that name), after any stamp or quote prefix.
 */
const DRIVER_LINE = /(?:^|\s)([a-z][\w.-]*) ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])(?::| (?=[\w.@-]+: )) ?(.*)$/
/** Driver messages that say it gave up on, or reset, work the device may still be doing. */
export const TROUBLE = /\b(?:WARN|time-?out|timed out|abort(?:ing|ed)?|cancel(?:led|ling)?|reset(?:ting)?|hang|hung|Cannot|fail(?:ed|ure|s)?)\b/i
/**
 * A NIC driver reporting its link down ("r8169 …: Link is Down", "igb …: NIC Link is Down",
 * "mlx5_core …: Link down", "tg3 …: Link is down."): kept with the trouble lines because a close,
 * reset or card reboot that takes the link down is when rings are torn down under a NIC that may
 * still hold their descriptors (rules read it apart from TROUBLE: a link can also just drop).
 */
export const LINK_DOWN = /\blink (?:is )?down\b/i
/**
 * A PCI domain number above 0xffff ("nvme 10000:e1:00.0: …", "nvme nvme0: pci function 10000:e1:00.0"): only the vmd
 * driver creates such domains on x86 (drivers/pci/controller/vmd.c, vmd_find_free_domain: "VMD
 * domains start at 0x10000 to not clash with ACPI _SEG domains", whose _SEG numbers are 16 bits).
 */
const VMD_DOMAIN_LINE = /(?:^|\s)[a-z][\w.-]* (1[0-9a-f]{4}):[0-9a-f]{2}(?::[0-9a-f]{2}\.[0-7])?(?:[: ]|$)/
/** The PCI core and port drivers describe the bus, not a device's own work. */
const NOT_A_DEVICE_DRIVER = new Set(['pci', 'pcieport', 'pci_bus'])

/**
 * The context record of a driver line, or of the PCI core's enumeration line that gives a function's
 * vendor, device and class (read only in a log's first lines, parser.ts EARLY_LINES:
 * a pasted excerpt is short, and a full log's driver lines would slow the keyword scan). These
 * lines carry no IOMMU keyword; they tell which driver owns a requester and whether it was
 * cancelling or resetting work just before a fault.
 */
export function driverLine(line: string, lineNo: number): ContextRecord | undefined {
  const id = PCI_ID_LINE.exec(line)
  if (id !== null) return {line: lineNo, text: line.trim(), type: 'context', event: 'pci-id', detail: `${id[1]} ${id[2]}:${id[3]} ${id[4]}`}
  const m = DRIVER_LINE.exec(line)
  if (m === null) {
    const vmd = VMD_DOMAIN_LINE.exec(line)
    return vmd === null ? undefined : {line: lineNo, text: line.trim(), type: 'context', event: 'vmd-domain', detail: `PCI domain ${vmd[1]}, which only VMD creates`}
  }
  if (NOT_A_DEVICE_DRIVER.has(m[1]!)) return undefined
  const message = m[3]!.trim()
  const trouble = TROUBLE.test(message) || LINK_DOWN.test(message)
  return {line: lineNo, text: line.trim(), type: 'context', event: trouble ? 'driver-trouble' : 'driver-line', detail: trouble ? `${m[1]} ${m[2]}: ${message}` : `${m[1]} ${m[2]}`}
}
