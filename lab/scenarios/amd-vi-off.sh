# The amd-vi topology booted with amd_iommu=off: the IVRS table is there, AMD-Vi is not.
. "$LAB_DIR/scenarios/amd-vi.sh"
TITLE="AMD-Vi turned off (amd_iommu=off): IVRS present, no unit, no groups"
KERNEL_ARGS="amd_iommu=off"
INJECT="Nothing: the interest is a host whose firmware offers AMD-Vi (IVRS) while the kernel
command line turns it off, so the family is known from the table alone."
