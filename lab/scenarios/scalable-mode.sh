# Scalable mode: PASID tables between context and page tables; fault lines name the PASID form.
TITLE="Scalable-mode VT-d (x-scalable-mode=on), DMA read and write faults"
TOPOLOGY="q35; intel-iommu with x-scalable-mode=on (Debian's kernel enables scalable mode by default
when the unit offers it).
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 e1000e
- 0000:00:03.0 edu on the root bus"
IOMMU="intel-iommu,x-scalable-mode=on"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1
  -device e1000e,bus=rp1,addr=0.0
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e"
INJECT="edu (0000:00:03.0) reads 4 bytes at IOVA 0x3300000, then writes 4 bytes to IOVA 0x3301000."
ACTIONS='
edu=0000:00:03.0
enable_bus_master $edu
edu_dma $edu read 0x3300000 4
sleep 1
edu_dma $edu write 0x3301000 4
'
