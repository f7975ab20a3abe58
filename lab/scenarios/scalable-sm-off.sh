# A unit that offers scalable mode, used in legacy mode because the kernel was told sm_off.
. "$LAB_DIR/scenarios/scalable-mode.sh"
TITLE="Scalable-mode capable unit, kernel in legacy mode (intel_iommu=sm_off)"
KERNEL_ARGS="intel_iommu=on,sm_off"
INJECT="Same actions as lab-scalable-mode: edu (0000:00:03.0) reads 4 bytes at IOVA 0x3300000, then
writes 4 bytes to IOVA 0x3301000. ECAP still says SMTS; the fault lines take the legacy NO_PASID
form because the kernel did not enable scalable mode."
