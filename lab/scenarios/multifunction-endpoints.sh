# Multifunction endpoints without ACS: a PCIe one behind a root port, a conventional one on the root bus.
TITLE="Multifunction endpoints (no ACS on the functions)"
TOPOLOGY="q35; intel-iommu.
- 0000:00:1c.0 pcie-root-port (ACS) -> one multifunction PCIe endpoint:
  - 0000:01:00.0 e1000e (multifunction=on)
  - 0000:01:00.1 nvme
- 0000:00:1c.1 pcie-root-port (ACS) -> 0000:02:00.0 e1000e (single function)
- root bus slot 5, multifunction: 0000:00:05.0 edu, 0000:00:05.1 edu"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1,multifunction=on
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x1c.1,chassis=2
  -device e1000e,bus=rp1,addr=0.0,multifunction=on
  -device nvme,bus=rp1,addr=0.1,serial=lab0005
  -device e1000e,bus=rp2,addr=0.0
  -device edu,bus=pcie.0,addr=0x5.0,multifunction=on,dma_mask=0xffffffffffffffff
  -device edu,bus=pcie.0,addr=0x5.1,dma_mask=0xffffffffffffffff
)
MODULES="e1000e nvme"
INJECT="edu function 0000:00:05.1 reads 4 bytes at IOVA 0x5510000 (fault names 00:05.1 itself)."
ACTIONS='
edu=0000:00:05.1
enable_bus_master $edu
edu_dma $edu read 0x5510000 4
'
