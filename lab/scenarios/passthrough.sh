# iommu=pt: the reference topology with identity (pass-through) default domains.
. "$LAB_DIR/scenarios/iommu-on.sh"
TITLE="Pass-through default domains (iommu=pt), reference topology"
KERNEL_ARGS="iommu=pt"
INJECT="edu (0000:00:03.0) reads 4 bytes at 0x1000000 (guest RAM, 16 MiB). With an identity
domain the IOVA is the physical address: no fault expected."
ACTIONS='
edu=0000:00:03.0
enable_bus_master $edu
edu_dma $edu read 0x1000000 4
'
