# More faults than the kernel will print: its fault reporting is rate limited, QEMU's is not.
TITLE="Fault flood: eight DMA faults in a burst (kernel rate limiting)"
TOPOLOGY="q35; intel-iommu (legacy mode, 39-bit).
- 0000:00:03.0 edu on the root bus"
IOMMU="intel-iommu"
DEVICES=(
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
)
MODULES=""
INJECT="edu (0000:00:03.0) reads 4 bytes at IOVAs 0xf000000, 0xf001000, ... 0xf007000 back to back.
QEMU records all eight (qemu-stderr.txt); the kernel's dmar_fault() shares one ratelimit
(burst 10 per 5 s, about three per fault) so dmesg shows only the first few, and may show a
'handling fault status reg' line whose fault record was not printed."
ACTIONS='
edu=0000:00:03.0
enable_bus_master $edu
for page in 0 1 2 3 4 5 6 7; do edu_dma $edu read $(printf 0x%x $(( 0xf000000 + page * 0x1000 ))) 4; done
'
