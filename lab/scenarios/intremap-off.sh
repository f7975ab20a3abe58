# The unit without interrupt remapping (DMAR flags INTR_REMAP clear, ecap IR clear).
TITLE="Interrupt remapping not offered (intel-iommu,intremap=off)"
TOPOLOGY="q35; intel-iommu with intremap=off.
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 e1000e
- 0000:00:03.0 edu on the root bus"
IOMMU="intel-iommu,intremap=off"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1
  -device e1000e,bus=rp1,addr=0.0
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e vfio-pci vfio_iommu_type1"
INJECT="Nothing: the interest is the unit's capabilities (no IR), and what VFIO says about
interrupt remapping (vfio_iommu_type1's allow_unsafe_interrupts is captured)."
ACTIONS=''
