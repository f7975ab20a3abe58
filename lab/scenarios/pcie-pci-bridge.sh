# Conventional PCI devices behind a PCIe-to-PCI bridge: they share the bridge's requester ID.
TITLE="PCIe-to-PCI bridge with conventional devices behind it, DMA fault from behind it"
TOPOLOGY="q35; intel-iommu.
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 pcie-pci-bridge
  - 0000:02:01.0 edu (conventional PCI)
  - 0000:02:02.0 e1000 (conventional PCI)
- 0000:00:1c.1 pcie-root-port (ACS) -> 0000:03:00.0 e1000e"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1,multifunction=on
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x1c.1,chassis=2
  -device pcie-pci-bridge,id=br1,bus=rp1,addr=0.0
  -device edu,bus=br1,addr=1.0,dma_mask=0xffffffffffffffff
  -device e1000,bus=br1,addr=2.0
  -device e1000e,bus=rp2,addr=0.0
)
MODULES="e1000 e1000e"
INJECT="edu behind the bridge (0000:02:01.0) writes 4 bytes to IOVA 0x7700000 and reads 4 bytes
at IOVA 0x7701000. Transactions from behind a PCIe-to-PCI bridge carry the bridge's
secondary-bus alias as requester (0000:02:00.0), which is what the kernel's fault line names."
ACTIONS='
edu=0000:02:01.0
enable_bus_master $edu
edu_check $edu
edu_dma $edu write 0x7700000 4
sleep 1
edu_dma $edu read 0x7701000 4
'
