# A PCIe expander bridge: a second host bridge with its own root bus (0000:80) under the same unit.
TITLE="Second PCIe root bus (pxb-pcie, bus 0x80) with a root port and endpoint, DMA fault from it"
TOPOLOGY="q35; intel-iommu.
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 e1000e
- 0000:00:05.0 pxb-pcie (expander, bus_nr=0x80) -> root bus 0000:80
  - 0000:80:00.0 pcie-root-port (ACS) -> 0000:81:00.0 e1000e
  - 0000:80:01.0 pcie-root-port (ACS) -> 0000:82:00.0 edu (pxb-pcie takes only bridges)"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1
  -device e1000e,bus=rp1,addr=0.0
  -device pxb-pcie,id=pxb1,bus_nr=0x80,bus=pcie.0,addr=0x5.0
  -device pcie-root-port,id=rp2,bus=pxb1,addr=0.0,chassis=2
  -device e1000e,bus=rp2,addr=0.0
  -device pcie-root-port,id=rp3,bus=pxb1,addr=1.0,chassis=3
  -device edu,bus=rp3,addr=0.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e"
INJECT="edu below the second root bus (0000:82:00.0) writes 4 bytes to IOVA 0x6600000."
ACTIONS='
edu=0000:82:00.0
enable_bus_master $edu
edu_dma $edu write 0x6600000 4
'
