# ARM: the aarch64 virt machine with an emulated SMMUv3, booted through UEFI with ACPI (IORT).
ARCH=arm64
TITLE="ARM SMMUv3 (aarch64 virt, ACPI IORT): groups, strict DMA domains, F_TRANSLATION faults from edu"
TOPOLOGY="aarch64 virt (gpex host bridge, GICv2m... ITS per QEMU default); SMMUv3 at 0x09050000 in front of PCI segment 0.
- 0000:00:01.0 edu on the root bus, bound to pci-stub
- 0000:00:02.0 pcie-root-port -> 0000:01:00.0 pcie-pci-bridge -> 0000:02:01.0 edu (conventional PCI), bound to pci-stub
- 0000:00:03.0 pcie-root-port -> 0000:03:00.0 edu, left without a driver"
IOMMU="smmuv3"
DEVICES=(
  -device edu,bus=pcie.0,addr=0x1.0,dma_mask=0xffffffffffffffff
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2.0,chassis=1
  -device pcie-pci-bridge,id=br1,bus=rp1,addr=0.0
  -device edu,bus=br1,addr=1.0,dma_mask=0xffffffffffffffff
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x3.0,chassis=2
  -device edu,bus=rp2,addr=0.0,dma_mask=0xffffffffffffffff
)
MODULES="pci-stub"
# On ACPI arm64 the SMMU configures a device (stream table entry, IOMMU group) when a driver
# binds to it (dma_configure -> iort_iommu_configure_id): an edu without a driver has no group.
INJECT="0000:00:01.0 and 0000:02:01.0 are bound to pci-stub (so they get a stream table entry and a
DMA domain with nothing mapped), then DMA: 00:01.0 reads IOVA 0x0 and writes IOVA 0x1000 (StreamID
0x8); 02:01.0 writes IOVA 0x7700000 (behind the PCIe-to-PCI bridge: StreamID 0x200, the bridge's
alias 0000:02:00.0). 0000:03:00.0 has no driver and reads IOVA 0x2000 (StreamID 0x300)."
ACTIONS='
a=0000:00:01.0; b=0000:02:01.0; c=0000:03:00.0
bind_driver $a pci-stub
bind_driver $b pci-stub
enable_bus_master $a
enable_bus_master $b
enable_bus_master $c
edu_check $a
edu_dma $a read 0x0 4;        sleep 0.5
edu_dma $a write 0x1000 4;    sleep 0.5
edu_dma $b write 0x7700000 4; sleep 0.5
edu_dma $c read 0x2000 4
'
