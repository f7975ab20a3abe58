# SR-IOV: an NVMe PF (in an NVM subsystem) with two VFs enabled.
TITLE="SR-IOV: nvme PF with 2 VFs enabled"
TOPOLOGY="q35; intel-iommu.
- 0000:00:1c.0 pcie-root-port (ACS) -> 0000:01:00.0 nvme PF (nvme-subsys, sriov_max_vfs=2, ARI)
  - VFs 0000:01:00.1 and 0000:01:00.2 (after sriov_numvfs=2; no driver probed on them)
- 0000:00:1c.1 pcie-root-port (ACS) -> 0000:02:00.0 e1000e"
IOMMU="intel-iommu"
DEVICES=(
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x1c.0,chassis=1,multifunction=on
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x1c.1,chassis=2
  -device nvme-subsys,id=subsys0
  -device nvme,bus=rp1,addr=0.0,serial=lab0006,subsys=subsys0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,max_ioqpairs=6,msix_qsize=4
  -device e1000e,bus=rp2,addr=0.0
)
MODULES="e1000e nvme"
INJECT="sriov_drivers_autoprobe=0, then sriov_numvfs=2 on the PF 0000:01:00.0."
ACTIONS='
enable_vfs 0000:01:00.0 2
'
