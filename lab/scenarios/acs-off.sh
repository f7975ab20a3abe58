# The iommu-on topology with the two root ports' ACS capability removed: one difference (ACS) for `vtd-check diff`.
. "$LAB_DIR/scenarios/iommu-on.sh"
TITLE="ACS off on the root ports (disable-acs=on), reference topology"
TOPOLOGY="q35; intel-iommu (defaults). The iommu-on topology, but both root ports without an ACS capability:
- 0000:00:1c.0 pcie-root-port (chassis 1, multifunction, disable-acs=on) -> 0000:01:00.0 e1000e
- 0000:00:1c.1 pcie-root-port (chassis 2, disable-acs=on) -> 0000:02:00.0 nvme (no namespace)
- 0000:00:03.0 edu (conventional PCI function on the root bus)
- ICH9 built-ins: 0000:00:00.0 host bridge, 0000:00:1f.0 LPC, 0000:00:1f.2 AHCI, 0000:00:1f.3 SMBus"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1,multifunction=on,disable-acs=on
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x1c.1,chassis=2,disable-acs=on
  -device e1000e,bus=rp1,addr=0.0
  -device nvme,bus=rp2,addr=0.0,serial=lab0001
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
