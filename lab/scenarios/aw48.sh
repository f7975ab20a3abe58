# 48-bit address width: 4-level second-level tables; a fault above the 39-bit range.
TITLE="48-bit address width (aw-bits=48), DMA fault above 512 GiB"
TOPOLOGY="q35; intel-iommu with aw-bits=48 (SAGAW 4-level).
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 e1000e
- 0000:00:03.0 edu on the root bus"
IOMMU="intel-iommu,aw-bits=48"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1
  -device e1000e,bus=rp1,addr=0.0
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e"
INJECT="edu (0000:00:03.0) reads 4 bytes at IOVA 0x8000001000 (bit 39 set: only reachable with a
4-level table), then writes 4 bytes to IOVA 0x4400000."
ACTIONS='
edu=0000:00:03.0
enable_bus_master $edu
edu_dma $edu read 0x8000001000 4
sleep 1
edu_dma $edu write 0x4400000 4
'
