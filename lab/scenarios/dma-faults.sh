# Several DMA reads and writes at chosen IOVAs, to exercise fault parsing and grouping of faults.
TITLE="DMA read and write faults at chosen addresses"
TOPOLOGY="q35; intel-iommu (legacy mode, 39-bit).
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 e1000e
- 0000:00:03.0 edu on the root bus
- 0000:00:04.0 edu on the root bus"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1
  -device e1000e,bus=rp1,addr=0.0
  -device edu,bus=pcie.0,addr=0x3.0,dma_mask=0xffffffffffffffff
  -device edu,bus=pcie.0,addr=0x4.0,dma_mask=0xffffffffffffffff
)
MODULES="e1000e"
# dmar_fault() draws on one ratelimit (burst 10 per 5 s) three times per fault (the "handling"
# line, the record, the empty-record check): three faults per window keeps every fault in dmesg.
INJECT="From 0000:00:03.0: read 0x0, write 0x1000, read 0xabcd000.
Then, after a 6 s pause (the kernel's fault printing is rate limited), from 0000:00:04.0: read
0x100000000 (4 GiB), write 0xdead0000, and from 0000:00:03.0 again: write 0x7fff0000."
ACTIONS='
a=0000:00:03.0; b=0000:00:04.0
enable_bus_master $a
enable_bus_master $b
edu_dma $a read 0x0 4;          sleep 0.5
edu_dma $a write 0x1000 4;      sleep 0.5
edu_dma $a read 0xabcd000 4;    sleep 6
edu_dma $b read 0x100000000 4;  sleep 0.5
edu_dma $b write 0xdead0000 4;  sleep 0.5
edu_dma $a write 0x7fff0000 4
'
