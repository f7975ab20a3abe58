# The iommu-on topology and actions with translation disabled on the kernel command line.
. "$LAB_DIR/scenarios/iommu-on.sh"
TITLE="IOMMU off (intel_iommu=off), reference topology"
KERNEL_ARGS="intel_iommu=off"
INJECT="Same actions as lab-iommu-on: edu (0000:00:03.0) reads 4 bytes at 0x12345000. With the
IOMMU off the DMA goes straight to the bus (beyond the 256 MiB of RAM: unassigned), so there is no
fault and no IOMMU group; the DMAR table is still there."
