# IOMMU on (Debian's default): the reference topology, plus one DMA read fault from edu.
TITLE="IOMMU on, reference topology, one DMA read fault"
TOPOLOGY="q35; intel-iommu (defaults: 39-bit, intremap auto, legacy mode). Root ports with ACS:
- 0000:00:1c.0 pcie-root-port (chassis 1) -> 0000:01:00.0 e1000e
- 0000:00:1c.1 pcie-root-port (chassis 2) -> 0000:02:00.0 nvme (no namespace)
- 0000:00:03.0 edu (conventional PCI function on the root bus)
- ICH9 built-ins: 0000:00:00.0 host bridge, 0000:00:1f.0 LPC, 0000:00:1f.2 AHCI, 0000:00:1f.3 SMBus"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1,multifunction=on
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x1c.1,chassis=2
  -device e1000e,bus=rp1,addr=0.0
  -device nvme,bus=rp2,addr=0.0,serial=lab0001
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e nvme"
INJECT="edu (0000:00:03.0, no driver, so it sits in the kernel's default DMA domain with nothing
mapped) reads 4 bytes at IOVA 0x12345000: unmapped, so the IOMMU blocks it and the kernel logs a
DMA Read fault."
ACTIONS='
edu=0000:00:03.0
enable_bus_master $edu
edu_check $edu
edu_dma $edu read 0x12345000 4
'
