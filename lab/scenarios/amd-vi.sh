# AMD-Vi instead of VT-d: QEMU's amd-iommu (IVRS table, ivhd0, interrupt remapping on).
TITLE="AMD-Vi (amd-iommu, intremap on): IVRS, ivhd0, groups, interrupt remapping"
TOPOLOGY="q35 with kernel-irqchip=split (amd-iommu,intremap=on requires it); amd-iommu (QEMU adds
its own PCI function, 0000:00:01.0 here: the IOMMU's PCI capability). Root ports with ACS:
- 0000:00:1c.0 pcie-root-port (chassis 1) -> 0000:01:00.0 e1000e
- 0000:00:1c.1 pcie-root-port (chassis 2) -> 0000:02:00.0 nvme (no namespace)
- 0000:00:1c.2 pcie-root-port (chassis 3) -> 0000:03:00.0 pcie-pci-bridge -> 0000:04:01.0 e1000
  (conventional PCI: its requester ID is the bridge's alias, which QEMU's IVRS states as an
  alias range entry)
- 0000:00:03.0 edu (conventional PCI function on the root bus)
- ICH9 built-ins: 0000:00:00.0 host bridge, 0000:00:1f.0 LPC, 0000:00:1f.2 AHCI, 0000:00:1f.3 SMBus"
MACHINE="q35,kernel-irqchip=split"
IOMMU="amd-iommu,intremap=on"
IOMMU_NAME="emulated AMD-Vi"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1,multifunction=on
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x1c.1,chassis=2
  -device pcie-root-port,id=rp3,bus=pcie.0,addr=0x1c.2,chassis=3
  -device e1000e,bus=rp1,addr=0.0
  -device nvme,bus=rp2,addr=0.0,serial=lab0001
  -device pcie-pci-bridge,id=br1,bus=rp3,addr=0.0
  -device e1000,bus=br1,addr=1.0
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e nvme e1000"
INJECT="Nothing: QEMU 7.2's amd-iommu never delivers IO_PAGE_FAULT events to the guest (its event
log is not written for them), so DMA faults are not injected here; the fault corpus holds real
AMD-Vi lines instead. The interest is the IVRS table, the ivhd0 unit files, the groups and
interrupt remapping."
ACTIONS=''
