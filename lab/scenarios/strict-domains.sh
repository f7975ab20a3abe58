# iommu.strict=1: default domains flush the IOTLB on every unmap (type DMA instead of DMA-FQ).
. "$LAB_DIR/scenarios/iommu-on.sh"
TITLE="Strict invalidation (iommu.strict=1), reference topology"
KERNEL_ARGS="iommu.strict=1"
INJECT="Same actions as lab-iommu-on: edu (0000:00:03.0) reads 4 bytes at IOVA 0x12345000 (a fault).
The difference is the default domain type: DMA (strict) rather than DMA-FQ (lazy, Debian's default)."
