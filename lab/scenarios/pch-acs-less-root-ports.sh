# Consumer-PCH style: one multifunction slot of root ports, none with ACS.
TITLE="Multifunction root ports without ACS (consumer PCH style)"
TOPOLOGY="q35; intel-iommu. Four root ports as functions of slot 0x1c, all with disable-acs=on
(no ACS capability), like a desktop PCH:
- 0000:00:1c.0 -> 0000:01:00.0 e1000e
- 0000:00:1c.1 -> 0000:02:00.0 nvme
- 0000:00:1c.2 -> 0000:03:00.0 e1000e
- 0000:00:1c.3 -> 0000:04:00.0 nvme
- 0000:00:03.0 edu on the root bus"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1,multifunction=on,disable-acs=on
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x1c.1,chassis=2,disable-acs=on
  -device pcie-root-port,id=rp3,bus=pcie.0,addr=0x1c.2,chassis=3,disable-acs=on
  -device pcie-root-port,id=rp4,bus=pcie.0,addr=0x1c.3,chassis=4,disable-acs=on
  -device e1000e,bus=rp1,addr=0.0
  -device nvme,bus=rp2,addr=0.0,serial=lab0002
  -device e1000e,bus=rp3,addr=0.0
  -device nvme,bus=rp4,addr=0.0,serial=lab0003
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e nvme"
INJECT="Nothing: the interest is the kernel's grouping (ports without ACS cannot isolate their
functions from each other, so the kernel should merge them and everything below them)."
ACTIONS=''
