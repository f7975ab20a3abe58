/**
 * The shell commands vtd-check tells a user to run, in one place, by these rules:
 *  - writes to sysfs and root-owned files go through `echo … | sudo tee …` (a `sudo echo > file`
 *    redirects as the user, not as root);
 *  - running a block twice changes nothing the second time: unbind only when a driver other than
 *    vfio-pci holds the device, append a config line only when it is not there yet;
 *  - one way to persist a change, chosen from what the host shows (boot loader, distribution),
 *    with the other ways named in one line;
 *  - advice for the hypervisor actually detected, not always QEMU's.
 */
import type {BootFacts} from '../model/boot.js'
import {HYPERVISOR_NAMES, type HypervisorFacts, type HypervisorKind} from '../model/hypervisor.js'
import type {CpuVendor} from '../model/platform.js'

/** Whose eyes the facts were read with: the live host, or a snapshot (with meta.json's capture facts). */
export interface ReadAs {
  root: string
  capture?: {uid?: number}
  /** What could not be read; `refused` marks what the guarded reader would not read at all. */
  misses?: ReadonlyArray<{refused?: string}>
}

/** A snapshot taken by someone other than root (or with no meta.json to say). */
export function capturedWithoutRoot(host: ReadAs): boolean {
  return host.capture !== undefined && host.capture.uid !== 0
}

/**
 * What to do about a fact that needs root: on this host, run as root; a snapshot cannot be read
 * harder, so one captured without root is captured again as root.
 */
export function rootAdvice(host: ReadAs): string {
  if (host.capture === undefined) return 'run as root (sudo vtd-check)'
  if (host.capture.uid === 0) return 'the captured host refused it even to root: nothing more to read in this snapshot'
  const who = host.capture.uid === undefined ? 'with no record of its user' : `as uid ${host.capture.uid}`
  return `this snapshot was captured ${who}, not as root: capture again as root (\`sudo vtd-check capture --out DIR\`) and read that one`
}

/** A failed read as the guarded reader reports it: `refused` when it would not read the file at all. */
interface FailedRead {
  path: string
  refused?: string
}

/** Why a file could not be used, for a finding: the guard's refusal, else the usual "needs root". */
export function unreadableWords(read: FailedRead): string {
  return read.refused === undefined ? 'needs root to read' : `was refused (${read.refused})`
}

/**
 * What to do about a file that could not be read: root (or a root capture) helps only when the host
 * kept it from its reader; a file the guard refused in a snapshot is not read by anyone's rights.
 */
export function readAdvice(host: ReadAs, read: FailedRead): string {
  if (read.refused === undefined) return rootAdvice(host)
  return `vtd-check does not read ${read.path} (${read.refused}): a damaged or tampered snapshot; capture the host again (\`sudo vtd-check capture --out DIR\`) and read that one`
}

/** A word for the shell: quoted when it holds anything but safe characters. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}

const sysfsDevice = (bdf: string) => `/sys/bus/pci/devices/${bdf}`

/** Bind devices to vfio-pci until reboot: override, unbind only what another driver holds, probe. */
export function vfioBindCommands(devices: Array<{bdf: string; driver?: string | undefined}>): string[] {
  const out = ['sudo modprobe vfio-pci']
  for (const {bdf, driver} of devices) {
    const dir = sysfsDevice(bdf)
    out.push(`echo vfio-pci | sudo tee ${dir}/driver_override`)
    // Guarded: after the first run the device is on vfio-pci (or unbound), and the line does nothing.
    if (driver !== undefined && !driver.startsWith('vfio'))
      out.push(`[ ! -e ${dir}/driver ] || [ ${dir}/driver -ef /sys/bus/pci/drivers/vfio-pci ] || echo ${bdf} | sudo tee ${dir}/driver/unbind`)
    out.push(`echo ${bdf} | sudo tee /sys/bus/pci/drivers_probe`)
  }
  return out
}

/** Append `line` to a root-owned file unless it is already there (exactly). */
export function appendLineOnce(line: string, file: string): string {
  const quoted = shellWord(line)
  return `grep -qxF ${quoted} ${file} 2>/dev/null || echo ${quoted} | sudo tee -a ${file}`
}

/** How initramfs is rebuilt on each distribution family (modprobe.d options must reach it). */
const INITRAMFS: Record<BootFacts['distro'], {command: string; name: string}> = {
  debian: {command: 'sudo update-initramfs -u', name: 'Debian/Ubuntu'},
  redhat: {command: 'sudo dracut -f', name: 'Fedora/RHEL'},
  suse: {command: 'sudo dracut -f', name: 'openSUSE'},
  arch: {command: 'sudo mkinitcpio -P', name: 'Arch'},
  unknown: {command: 'sudo update-initramfs -u', name: 'Debian/Ubuntu'},
}

export interface Persistence {
  commands: string[]
  /** One line naming the other ways (not to be run as well). */
  otherwise: string
}

/** An `options vfio-pci … ids=` line in any modprobe.d file (either spelling of the module). */
const MODPROBE_VFIO_IDS = String.raw`^\s*options\s+vfio[-_]pci\s(.*\s)?ids=`

/**
 * vfio-pci claims the IDs at boot; softdeps load it before the host drivers. `ids` is one string
 * parameter and the last assignment wins, so a second `ids=` would silently drop the devices an
 * earlier one passes through: the IDs are merged into the assignment that is already in effect —
 * the kernel command line's when it has one (kmod appends it after every modprobe.d option), else
 * the last modprobe.d file's — and only written as a new line when there is none.
 */
export function persistVfioIds(ids: string[], hostDrivers: string[], boot: BootFacts, onCmdline: {ids: string[]; via: string[]} = {ids: [], via: []}): Persistence {
  const file = '/etc/modprobe.d/vfio.conf'
  const initramfs = INITRAMFS[boot.distro]
  const others = [...new Set(Object.values(INITRAMFS).map((i) => i.command))].filter((c) => c !== initramfs.command)
  const softdeps = hostDrivers.map((d) => appendLineOnce(`softdep ${d} pre: vfio-pci`, file))
  if (onCmdline.via.length > 0) {
    const merged = [...new Set([...onCmdline.ids, ...ids])].join(',')
    const cmdline = kernelCommandLineCommands({add: [`vfio-pci.ids=${merged}`], remove: onCmdline.via.filter((t) => t !== `vfio-pci.ids=${merged}`)}, boot)
    return {
      commands: [...softdeps, ...(softdeps.length > 0 ? [initramfs.command] : []), ...cmdline.commands],
      otherwise: `the kernel command line already sets ${onCmdline.via.join(' ')}, which overrides any modprobe.d \`ids=\`, so the IDs are added there; ${cmdline.otherwise}`,
    }
  }
  const idList = ids.join(' ')
  const mergeIds =
    `for id in ${idList}; do f=$(grep -lsE '${MODPROBE_VFIO_IDS}' /etc/modprobe.d/*.conf | tail -n 1); ` +
    `if [ -z "$f" ]; then echo "options vfio-pci ids=$id" | sudo tee -a ${file}; ` +
    `elif ! grep -qsE "${MODPROBE_VFIO_IDS}([^[:space:]]*,)?$id(,|[[:space:]]|$)" "$f"; then sudo sed -i -E "/^\\s*options\\s+vfio[-_]pci\\s/s/(\\sids=[^[:space:]]*)/\\1,$id/" "$f"; fi; done`
  return {
    commands: [...softdeps, mergeIds, initramfs.command],
    otherwise: `other ways (use one, not both): \`vfio-pci.ids=${ids.join(',')}\` on the kernel command line; initramfs on other distributions: ${others.map((c) => `\`${c}\``).join(', ')}`,
  }
}

/** Per-device override that survives reboots, when vfio-pci.ids would also take an identical device the host keeps. */
export function persistOverrides(bdfs: string[]): Persistence {
  return {
    commands: bdfs.map((b) => `sudo driverctl set-override ${b} vfio-pci`),
    otherwise: 'driverctl (its own package) re-applies the override at every boot; vfio-pci.ids is not an option here: an identical device stays on the host',
  }
}

/** For a sed pattern (basic regex, "/" delimited) and a sed replacement. */
const escapeBre = (text: string) => text.replace(/[.[\]*^$\\/]/g, '\\$&')
const escapeReplacement = (text: string) => text.replace(/[\\/&]/g, '\\$&')

/** Kernel command-line changes through the boot loader this host uses. */
export function kernelCommandLineCommands(change: {add: string[]; remove: string[]}, boot: BootFacts): Persistence {
  const commands: string[] = []
  const grubFile = '/etc/default/grub'
  // The other ways name this change (adding and removing), so a Fedora user removing a parameter is not shown --args.
  const grubbyArgs = [...(change.add.length > 0 ? [`--args=${shellWord(change.add.join(' '))}`] : []), ...(change.remove.length > 0 ? [`--remove-args=${shellWord(change.remove.join(' '))}`] : [])]
  const kernelstubSteps = [...change.add.map((p) => `sudo kernelstub -a ${shellWord(p)}`), ...change.remove.map((p) => `sudo kernelstub -d ${shellWord(p)}`)]
  const others: Record<string, string> = {
    grub: `GRUB: edit GRUB_CMDLINE_LINUX in ${grubFile}, then \`sudo update-grub\` (or \`grub2-mkconfig -o /boot/grub2/grub.cfg\`)`,
    grubby: `Fedora/RHEL: \`sudo grubby --update-kernel=ALL ${grubbyArgs.join(' ')}\``,
    kernelstub: `Pop!_OS: ${kernelstubSteps.map((c) => `\`${c}\``).join(', ')}`,
    'systemd-boot': 'systemd-boot: the `options` line of loader/entries/*.conf',
  }
  let method: keyof typeof others
  if (boot.loader === 'kernelstub') {
    method = 'kernelstub'
    for (const p of change.add) commands.push(`sudo kernelstub -a ${shellWord(p)}`)
    for (const p of change.remove) commands.push(`sudo kernelstub -d ${shellWord(p)}`)
  } else if (boot.loader === 'systemd-boot') {
    method = 'systemd-boot'
    const entries = '"$(bootctl -p)"/loader/entries/*.conf'
    for (const p of change.add) commands.push(`sudo sed -i '/^options/{/ ${escapeBre(p)}\\( \\|$\\)/!s/$/ ${escapeReplacement(p)}/}' ${entries}`)
    for (const p of change.remove) commands.push(`sudo sed -i '/^options/s/ ${escapeBre(p)}\\( \\|$\\)/\\1/g' ${entries}`)
  } else if (boot.distro === 'redhat') {
    method = 'grubby'
    if (change.add.length > 0) commands.push(`sudo grubby --update-kernel=ALL --args=${shellWord(change.add.join(' '))}`)
    if (change.remove.length > 0) commands.push(`sudo grubby --update-kernel=ALL --remove-args=${shellWord(change.remove.join(' '))}`)
  } else {
    method = 'grub'
    for (const p of change.add) commands.push(`grep -q '^GRUB_CMDLINE_LINUX\\(_DEFAULT\\)\\?=.*[" ]${escapeBre(p)}[" ]' ${grubFile} || sudo sed -i 's/^GRUB_CMDLINE_LINUX="/&${escapeReplacement(p)} /' ${grubFile}`)
    for (const p of change.remove) commands.push(`sudo sed -i '/^GRUB_CMDLINE_LINUX/s/\\([" ]\\)${escapeBre(p)}\\([" ]\\)/\\1\\2/g' ${grubFile}`)
    commands.push(boot.distro === 'arch' ? 'sudo grub-mkconfig -o /boot/grub/grub.cfg' : boot.distro === 'suse' ? 'sudo grub2-mkconfig -o /boot/grub2/grub.cfg' : 'sudo update-grub')
  }
  const seen = boot.loader === 'unknown' ? 'boot loader not identified from /proc/cmdline, GRUB assumed' : `${boot.loader} seen on /proc/cmdline`
  return {commands, otherwise: `then reboot. ${seen[0]?.toUpperCase()}${seen.slice(1)}; other boot setups: ${Object.entries(others).filter(([k]) => k !== method).map(([, v]) => v).join('; ')}`}
}

interface GuestAdvice {
  /** How to give this guest a DMA-remapping IOMMU (or why it cannot have one). */
  viommu: (cpu: CpuVendor) => string
  /** How to expose VT-x/AMD-V to this guest (nested virtualization). */
  nested: (cpu: CpuVendor) => string
}

const qemuViommu = (cpu: CpuVendor) =>
  cpu === 'amd'
    ? 'QEMU `-machine q35,kernel-irqchip=split -device amd-iommu,intremap=on` (or `-device intel-iommu,intremap=on`), libvirt `<iommu model="intel"><driver intremap="on"/></iommu>`'
    : 'QEMU `-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on`, libvirt `<iommu model="intel"><driver intremap="on"/></iommu>`'
const kvmNested = (cpu: CpuVendor) => `on the KVM host \`options ${cpu === 'amd' ? 'kvm_amd' : 'kvm_intel'} nested=1\` in /etc/modprobe.d/kvm.conf, and QEMU \`-cpu host\` / libvirt \`<cpu mode="host-passthrough"/>\``

/** Advice per hypervisor (each a setting on the hypervisor side, where the fix is made). */
const GUEST_ADVICE: Record<HypervisorKind, GuestAdvice> = {
  qemu: {viommu: (cpu) => `give this VM an emulated IOMMU: ${qemuViommu(cpu)}`, nested: kvmNested},
  kvm: {
    viommu: (cpu) => `the KVM-based VMM running this guest must emulate an IOMMU: ${qemuViommu(cpu)}; Cloud Hypervisor \`iommu=on\` on each device; Firecracker has none`,
    nested: kvmNested,
  },
  firecracker: {
    viommu: () => 'Firecracker emulates no IOMMU and passes no PCI devices through: run this on bare metal, or in a VMM that emulates one (QEMU `-device intel-iommu,intremap=on`, Cloud Hypervisor `iommu=on`)',
    nested: () => 'Firecracker does not offer nested virtualization: run KVM guests (and VFIO) on bare metal or under QEMU',
  },
  'cloud-hypervisor': {
    viommu: () => 'put the devices behind Cloud Hypervisor\'s virtio-iommu: `iommu=on` on each `--device`/`--disk`/`--net`, or `--platform iommu_segments=[0]`',
    nested: kvmNested,
  },
  'hyper-v': {
    // hyperv-iommu (interrupt remapping only) is in every kernel; DMA remapping needs the newer para-virtualized driver.
    viommu: () => 'Hyper-V emulates no VT-d: use a kernel with its para-virtualized IOMMU (CONFIG_HYPERV_PVIOMMU) where the Hyper-V host offers it, or assign the device from the Hyper-V host with Discrete Device Assignment (`Add-VMAssignableDevice`)',
    nested: () => 'on the Hyper-V host (PowerShell, VM off): `Set-VMProcessor -VMName <vm> -ExposeVirtualizationExtensions $true`',
  },
  vmware: {
    viommu: () => 'in the VM\'s settings enable "Expose IOMMU to the guest OS" (`vvtd.enable = "TRUE"` in the .vmx; EFI firmware, VM off)',
    nested: () => 'in the VM\'s settings enable "Expose hardware assisted virtualization to the guest OS" (`vhv.enable = "TRUE"` in the .vmx)',
  },
  xen: {
    viommu: () => 'Xen gives guests no virtual IOMMU: assign the device from dom0 instead (`xl pci-assignable-add <BDF>`, then `pci = [ \'<BDF>\' ]` in the guest\'s xl config)',
    nested: () => 'in the guest\'s xl config set `nestedhvm = 1` (HVM guests only)',
  },
  virtualbox: {
    viommu: (cpu) => `on the VirtualBox host (VM off): \`VBoxManage modifyvm <vm> --iommu ${cpu === 'amd' ? 'amd' : 'intel'}\` (VirtualBox 7; the chipset must be ICH9)`,
    nested: () => 'on the VirtualBox host (VM off): `VBoxManage modifyvm <vm> --nested-hw-virt on`',
  },
  unknown: {
    viommu: (cpu) => `give this VM an emulated IOMMU on its hypervisor (${qemuViommu(cpu)}; VMware "Expose IOMMU to the guest OS"; VirtualBox \`--iommu\`), or run on bare metal`,
    nested: (cpu) => `enable nested virtualization on the hypervisor (${kvmNested(cpu)}; Hyper-V \`Set-VMProcessor -ExposeVirtualizationExtensions $true\`; VMware "Expose hardware assisted virtualization")`,
  },
}

const CLOUD_ADVICE: Record<NonNullable<HypervisorFacts['cloud']>, {viommu: string; nested: string}> = {
  aws: {viommu: 'EC2 virtual instances have no IOMMU for the guest: use a bare-metal (`*.metal`) instance type', nested: 'EC2: use a bare-metal (`*.metal`) instance type for KVM'},
  gcp: {viommu: 'Compute Engine VMs have no IOMMU for the guest: use a bare-metal (`*-metal`) machine type', nested: 'Compute Engine: create the VM with `--enable-nested-virtualization`'},
  // Hyper-V gives Azure guests interrupt remapping at most (hyperv-iommu), never DMA remapping.
  azure: {
    viommu: 'Azure VMs get no DMA-remapping IOMMU, so they cannot pass devices on to their own guests: for a GPU choose an N-series size (Azure assigns the GPU to this VM itself), for VFIO run on a bare-metal host',
    nested: 'Azure: resize the VM to a size that supports nested virtualization (the size\'s documentation says so; most Dv3/Ev3 and newer general-purpose sizes) — Azure runs `Set-VMProcessor` for you, not the guest',
  },
}

/** "this is a Firecracker VM", "this is a VM (hypervisor not identified)". */
export function guestWords(hv: HypervisorFacts): string {
  if (hv.cloud === 'aws') return 'this is an Amazon EC2 instance'
  if (hv.cloud === 'gcp') return 'this is a Google Compute Engine VM'
  if (hv.cloud === 'azure') return 'this is a Microsoft Azure VM'
  return hv.kind === undefined || hv.kind === 'unknown' ? 'this is a VM (hypervisor not identified)' : `this is a ${HYPERVISOR_NAMES[hv.kind]} VM`
}

/** What to do about a guest with no IOMMU, for the hypervisor detected. */
export function guestIommuAdvice(hv: HypervisorFacts, cpu: CpuVendor): string {
  const advice = hv.cloud ? CLOUD_ADVICE[hv.cloud].viommu : GUEST_ADVICE[hv.kind ?? 'unknown'].viommu(cpu)
  return `${guestWords(hv)} without an emulated IOMMU: ${advice}`
}

/** What to do about a guest without VT-x/AMD-V, for the hypervisor detected. */
export function guestNestedAdvice(hv: HypervisorFacts, cpu: CpuVendor): string {
  const advice = hv.cloud ? CLOUD_ADVICE[hv.cloud].nested : GUEST_ADVICE[hv.kind ?? 'unknown'].nested(cpu)
  return `${guestWords(hv)}: ${advice}`
}

/** An emulated VT-d unit (caching mode) without interrupt remapping: where it is switched on. */
export function guestInterruptRemappingAdvice(hv: HypervisorFacts): string {
  if (hv.kind === 'vmware') return 'VMware\'s virtual IOMMU remaps interrupts when "Expose IOMMU to the guest OS" is on and the VM uses EFI firmware; update the VM hardware version'
  if (hv.kind === 'virtualbox') return 'VirtualBox\'s Intel IOMMU is experimental: use QEMU (`-device intel-iommu,intremap=on`) for interrupt remapping'
  return 'on the hypervisor give the emulated IOMMU interrupt remapping: QEMU `-device intel-iommu,intremap=on` with `-machine kernel-irqchip=split`'
}

/** A kernel command-line change as remediation steps: what, the commands for this host's boot loader, the other ways. */
export function commandLineSteps(change: {add: string[]; remove: string[]}, boot: BootFacts): string[] {
  if (change.add.length === 0 && change.remove.length === 0) return []
  const {commands, otherwise} = kernelCommandLineCommands(change, boot)
  return [...commands, otherwise]
}
