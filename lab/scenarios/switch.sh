# A PCIe switch (TI X3130 model) below a root port, endpoints on its downstream ports.
TITLE="PCIe switch: x3130 upstream + three xio3130 downstream ports"
TOPOLOGY="q35; intel-iommu.
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 x3130-upstream
  - 0000:02:00.0 xio3130-downstream -> 0000:03:00.0 e1000e
  - 0000:02:01.0 xio3130-downstream -> 0000:04:00.0 nvme
  - 0000:02:02.0 xio3130-downstream -> 0000:05:00.0 e1000e
- 0000:00:03.0 edu on the root bus"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1
  -device x3130-upstream,id=up1,bus=rp1,addr=0.0
  -device xio3130-downstream,id=dn1,bus=up1,addr=0.0,chassis=11,slot=1
  -device xio3130-downstream,id=dn2,bus=up1,addr=1.0,chassis=12,slot=2
  -device xio3130-downstream,id=dn3,bus=up1,addr=2.0,chassis=13,slot=3
  -device e1000e,bus=dn1,addr=0.0
  -device nvme,bus=dn2,addr=0.0,serial=lab0004
  -device e1000e,bus=dn3,addr=0.0
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e nvme"
INJECT="Nothing: the interest is grouping across the switch ports."
ACTIONS=''
