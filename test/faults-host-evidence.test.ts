/**
 * Fault rules that read the host model built from an lspci listing (`faults FILE --lspci-dump`):
 * a requester that is an SR-IOV VF by its vendor:device when the listing shows no PF link, and a
 * blocked compatibility-format interrupt from a bus segment 0 lacks on a host whose listing shows
 * Intel VMD (a VMD controller, or a PCI domain above 0xffff); and the host's /proc/cmdline (`--root`)
 * saying the kernel is a kdump capture kernel. The listings are written in lspci's
 * own formats (-nn headings, -k driver lines); the fault lines are the real ones of the corpus cases
 * vmd-icelake-msi-remap and real-mlx5-vf-intremap-k5.10-1.
 */
import {describe, expect, it} from 'vitest'
import {parseKernelLog} from '../src/decode/kernel-log/index.js'
import {triageContextOf} from '../src/replay/fault-context.js'
import {triageRecords} from '../src/replay/fault-triage.js'
import {evidenceModel} from './support/model.js'

/** The triage context `faults --lspci-dump` builds from this listing. */
const listing = (text: string) => triageContextOf(evidenceModel({lspci: text})).context
function lead(log: string, lspci: string) {
  return triageRecords(parseKernelLog(log), log.split('\n').length, listing(lspci)).faults[0]!.explanation
}

const vmdFault = 'DMAR: DRHD: handling fault status reg 2\nDMAR: [INTR-REMAP] Request device [0xe2:0x00.0] fault index 0xa00 [fault reason 0x25] Blocked a compatibility format interrupt request\n'
const nvme = '0000:00:00.0 Host bridge [0600]: Intel Corporation Ice Lake Memory Map/VT-d [8086:09a2] (rev 04)\n'
const vmdController = '0000:64:00.5 RAID bus controller [0104]: Intel Corporation Volume Management Device NVMe RAID Controller [8086:28c0] (rev 04)\n'

describe('VMD from the host listing', () => {
  it('a VMD controller in the listing makes a blocked interrupt from a bus segment 0 lacks a device behind VMD, citing the controller', () => {
    const e = lead(vmdFault, nvme + vmdController)
    expect(e).toMatchObject({rule: 'vmd-msi-remapping', category: 'vmd'})
    expect(e.evidence.some((v) => v.fact.includes('0000:64:00.5 is an Intel VMD controller (8086:28c0)'))).toBe(true)
  })

  it('so does a device in a PCI domain above 0xffff (only the vmd driver makes those)', () => {
    const e = lead(vmdFault, nvme + '10000:e2:00.0 Non-Volatile memory controller [0108]: Intel Corporation NVMe Datacenter SSD [3DNAND, Beta Rock Controller] [8086:0a54]\n')
    expect(e.rule).toBe('vmd-msi-remapping')
    expect(e.evidence.some((v) => v.fact.includes('PCI domain 10000'))).toBe(true)
  })

  it('without VMD in the listing the source ID that is no PCI function stays the IOAPIC/HPET candidate', () => {
    expect(lead(vmdFault, nvme).rule).toBe('ir-compatibility-format')
  })
})

const mlxLog = 'DMAR: DRHD: handling fault status reg 2\nDMAR: [INTR-REMAP] Request device [42:00.2] fault index 1600 [fault reason 37] Blocked a compatibility format interrupt request\n'

describe('an SR-IOV VF from the host listing', () => {
  it('a VF vendor:device with no PF link in the listing is a VF', () => {
    const e = lead(mlxLog, '42:00.2 Ethernet controller [0200]: Mellanox Technologies MT28908 Family [ConnectX-6 Virtual Function] [15b3:101c]\n')
    expect(e).toMatchObject({rule: 'vf-msi-not-remapped', category: 'kernel-bug'})
  })

  it('the PF\'s own ID is not, and a VF bound to vfio-pci is the guest\'s', () => {
    expect(lead(mlxLog, '42:00.2 Ethernet controller [0200]: Mellanox Technologies MT28908 Family [ConnectX-6] [15b3:101b]\n').rule).not.toBe('vf-msi-not-remapped')
    const guest = lead(mlxLog, '42:00.2 Ethernet controller [0200]: Mellanox Technologies MT28908 Family [ConnectX-6 Virtual Function] [15b3:101c]\n\tKernel driver in use: vfio-pci\n')
    expect(guest).toMatchObject({rule: 'vfio-guest-msi', category: 'guest-passthrough'})
  })
})

// kdump-uctp-root-copy-0x39's line: 0x39 alone does not say kdump (a running kernel shows it too).
const uctp = 'DMAR: [DMA Read NO_PASID] Request device [80:14.0] fault addr 0xe81759000 [fault reason 0x39] SM: Present bit in Root Entry is clear\n'

describe('the host\'s kernel command line (/proc/cmdline of the live host or a --root snapshot)', () => {
  const withCmdline = (cmdline: string) => triageRecords(parseKernelLog(uctp), 2, triageContextOf(evidenceModel({cmdline})).context).faults[0]!.explanation

  it('elfcorehdr= (kexec adds it for the capture kernel) makes the fault a kdump kernel\'s, citing /proc/cmdline', () => {
    // The shape kexec-tools gives a capture kernel's command line (elfcorehdr= appended to the crash kernel's own parameters).
    const e = withCmdline('BOOT_IMAGE=(hd0,gpt2)/vmlinuz-7.0.0 ro irqpoll nr_cpus=1 reset_devices cgroup_disable=memory udev.children-max=2 elfcorehdr=0x6f000000')
    expect(e).toMatchObject({rule: 'kdump-takeover', category: 'kdump'})
    expect(e.evidence).toContainEqual({fact: 'the host\'s kernel command line carries elfcorehdr=: this is a kdump capture kernel', source: '/proc/cmdline'})
  })

  it('the first kernel\'s crashkernel= reservation is not a capture kernel, and without a command line nothing changes', () => {
    expect(withCmdline('BOOT_IMAGE=/vmlinuz-7.0.0 root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M intel_iommu=on').category).not.toBe('kdump')
    expect(triageRecords(parseKernelLog(uctp), 2, {}).faults[0]!.explanation.category).not.toBe('kdump')
  })
})

// amdvi-hd7790-vfio-runtime-pm-d3cold-iotlb-timeout: the GPU's IOTLB time-outs, and the PM status lines lspci -vvv prints.
const iotlb = ['[   72.645091] AMD-Vi: Completion-Wait loop timed out',
  '[   73.231711] ahci 0000:0c:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0017 address=0xc5f3f000 flags=0x0050]',
  '[   73.231724] ahci 0000:0c:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0017 address=0xc5f3f040 flags=0x0050]',
  '[   73.500538] iommu ivhd0: AMD-Vi: Event logged [IOTLB_INV_TIMEOUT device=06:00.0 address=0x1001e4600]', ''].join('\n')
const gpu = (pmStatus: string, driver: string) => `06:00.0 VGA compatible controller: Advanced Micro Devices, Inc. [AMD/ATI] Bonaire XT [Radeon HD 7790/8770 / R7 360 / R9 260/360 OEM] (prog-if 00 [VGA controller])
\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-
\tCapabilities: [50] Power Management version 3
\t\tFlags: PMEClk- DSI- D1+ D2+ AuxCurrent=0mA PME(D0-,D1+,D2+,D3hot+,D3cold-)
\t\tStatus: ${pmStatus} NoSoftRst+ PME-Enable+ DSel=0 DScale=0 PME-
\tKernel driver in use: ${driver}
`

describe('a vfio-pci device the listing shows powered down', () => {
  it('reads the PM capability\'s status (D3 is D3hot), not the command/status register\'s "Status: Cap+"', () => {
    expect(evidenceModel({lspci: gpu('D3', 'vfio-pci')}).topology.devices.get('0000:06:00.0')?.powerState).toBe('D3hot')
    expect(evidenceModel({lspci: gpu('D0', 'vfio-pci')}).topology.devices.get('0000:06:00.0')?.powerState).toBe('D0')
  })

  it('IOTLB time-outs from it lead with vfio-pci\'s idle runtime PM, ahead of the stalled queue\'s other faults', () => {
    const e = lead(iotlb, gpu('D3', 'vfio-pci'))
    expect(e).toMatchObject({rule: 'amd-vi-iotlb-timeout-vfio-idle-d3', category: 'kernel-bug'})
    expect(e.remediation.join('\n')).toContain('vfio_pci.disable_idle_d3=1')
  })

  it('not when it is in D0, nor when another driver holds it', () => {
    expect(lead(iotlb, gpu('D0', 'vfio-pci')).rule).toBe('amd-vi-iotlb-timeout')
    expect(lead(iotlb, gpu('D3', 'amdgpu')).rule).toBe('amd-vi-iotlb-timeout')
  })
})
