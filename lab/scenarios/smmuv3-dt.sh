# ARM: the same aarch64 virt machine and SMMUv3 as smmuv3, booted from the device tree (acpi=off).
# On a device-tree boot the kernel asks for ACS (pci_request_acs, from of_iommu_configure) only
# when the SMMU first configures a device, after the PCI bus was enumerated: the root ports'
# ACS is never enabled, so the groups widen — the kernel's answer on 6.1 is what this records.
ARCH=arm64
ARM_TABLES=dt
TITLE="ARM SMMUv3 booted from the device tree (acpi=off): groups when the kernel never enables ACS"
TOPOLOGY="aarch64 virt (gpex host bridge), SMMUv3 at 0x09050000 described by the device tree (iommu-map), no ACPI.
- 0000:00:01.0 edu on the root bus, bound to pci-stub
- 0000:00:02.0 pcie-root-port -> 0000:01:00.0 edu, bound to pci-stub
- 0000:00:03.0 pcie-root-port -> 0000:02:00.0 edu, bound to pci-stub"
IOMMU="smmuv3"
DEVICES=(
  -device edu,bus=pcie.0,addr=0x1.0,dma_mask=0xffffffffffffffff
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2.0,chassis=1
  -device edu,bus=rp1,addr=0.0,dma_mask=0xffffffffffffffff
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x3.0,chassis=2
  -device edu,bus=rp2,addr=0.0,dma_mask=0xffffffffffffffff
)
MODULES="pci-stub"
INJECT="Nothing but driver binding: 0000:00:01.0, 0000:01:00.0 and 0000:02:00.0 are bound to pci-stub
(so each is configured by the SMMU and gets an IOMMU group), then the snapshot is taken."
ACTIONS='
bind_driver 0000:00:01.0 pci-stub
bind_driver 0000:01:00.0 pci-stub
bind_driver 0000:02:00.0 pci-stub
'
