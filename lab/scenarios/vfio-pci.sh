# A NIC handed to vfio-pci by driver_override, as one does before passthrough.
TITLE="Device bound to vfio-pci (driver_override)"
TOPOLOGY="q35; intel-iommu.
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 e1000e, rebound to vfio-pci
- 0000:00:1c.1 pcie-root-port (ACS) -> 0000:02:00.0 e1000e (left on e1000e)
- 0000:00:03.0 edu on the root bus"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1,multifunction=on
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x1c.1,chassis=2
  -device e1000e,bus=rp1,addr=0.0
  -device e1000e,bus=rp2,addr=0.0
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e vfio-pci vfio_iommu_type1"
INJECT="0000:01:00.0 unbound from e1000e, driver_override=vfio-pci, drivers_probe: /dev/vfio/<group>
appears."
ACTIONS='
bind_driver 0000:01:00.0 vfio-pci
'
