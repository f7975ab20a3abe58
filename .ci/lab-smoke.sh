#!/usr/bin/env bash
# CI smoke test of the real-kernel lab: install QEMU + busybox, fetch Debian's kernels, boot FOUR
# small scenarios (VT-d, AMD-Vi, ARM SMMUv3 with ACPI and from the device tree) under TCG (no KVM needed), capture snapshots and
# check they are real ones.
# Writes to a temporary directory, never over the committed sysfs-fixtures/.
#   .ci/lab-smoke.sh [SCENARIO...]   (default: iommu-on amd-vi smmuv3 smmuv3-dt)
#   .ci/lab-smoke.sh --all           (every scenario, two guests at a time: about 2-5 min)
# Env: LAB_SMOKE_NO_INSTALL=1 skips apt-get (tools already present).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${1:-}" = --all ]; then mapfile -t SCENARIOS < <("$REPO/lab/run.sh" --list); elif [ $# -gt 0 ]; then SCENARIOS=("$@"); else SCENARIOS=(iommu-on amd-vi smmuv3 smmuv3-dt); fi
T0=$SECONDS
step() { printf '\n== lab-smoke: %s (t=%ss)\n' "$*" "$((SECONDS - T0))"; }
fail() { printf 'lab-smoke: FAIL: %s\n' "$*" >&2; exit 1; }

SUDO=''; [ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -z "${LAB_SMOKE_NO_INSTALL:-}" ]; then
  if ! "$REPO/lab/run.sh" --check >/dev/null 2>&1; then
    step "apt-get install qemu-system-x86 qemu-system-arm qemu-efi-aarch64 busybox-static cpio kmod xz-utils (+ dpkg arch arm64)"
    grep -qx arm64 <<< "$(dpkg --print-foreign-architectures || true)" || $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      qemu-system-x86 qemu-system-arm qemu-efi-aarch64 busybox-static cpio kmod xz-utils >/dev/null
  fi
  # apt-get download needs package lists (container images often ship without them).
  has_kernel_list() { grep -q 'Depends: linux-image-[0-9]' <<< "$(apt-cache depends "$1" 2>/dev/null || true)"; }
  if { [ -z "${LAB_KERNEL_PKG:-}" ] && ! has_kernel_list linux-image-amd64; } \
    || { [ -z "${LAB_KERNEL_PKG_ARM64:-}" ] && ! has_kernel_list linux-image-arm64:arm64; }; then
    step "apt-get update (no package lists to find linux-image-amd64 / linux-image-arm64)"
    $SUDO apt-get update -qq
  fi
fi
"$REPO/lab/run.sh" --check || fail "lab tools missing"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
step "lab/run.sh ${SCENARIOS[*]} (kernel download + boot + capture)"
"$REPO/lab/run.sh" --jobs 2 --out "$OUT" "${SCENARIOS[@]}" || fail "the lab run failed"

listing() { for g in "$1"/sys/kernel/iommu_groups/*/; do [ -d "$g" ] && ls "$g/devices" | tr '\n' ' ' && echo; done | sort; }

check_snapshot() { # NAME
  local name=$1 snap=$OUT/lab-$1 groups members table=DMAR enabled='DMAR: Intel(R) Virtualization Technology for Directed I/O'
  # An amd-iommu guest (its README holds the QEMU command line) publishes IVRS, and the kernel says AMD-Vi instead of DMAR.
  if grep -q -- '-device amd-iommu' "$snap/README.md" 2>/dev/null; then table=IVRS enabled='AMD-Vi: Interrupt remapping enabled'; fi
  step "checking lab-$name"
  if grep -q -- '-arm64 ' "$snap/proc/version" 2>/dev/null; then check_arm_snapshot "$name"; return; fi
  [ "$(head -c 4 "$snap/sys/firmware/acpi/tables/$table" 2>/dev/null)" = "$table" ] || fail "$name: no ACPI $table table"
  [ -s "$snap/proc/cmdline" ] && [ -s "$snap/meta.json" ] && [ -s "$snap/README.md" ] && [ -s "$snap/dmesg.txt" ] \
    || fail "$name: snapshot files missing"
  groups=$(find "$snap/sys/kernel/iommu_groups" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l || true)
  members=$(find "$snap/sys/kernel/iommu_groups" -path '*/devices/*' -type l 2>/dev/null | wc -l || true)
  if grep -qE '(intel|amd)_iommu=off' "$snap/proc/cmdline"; then
    [ "$groups" -eq 0 ] || fail "$name: the IOMMU is off on the command line but $groups IOMMU groups"
  else
    [ "$groups" -gt 0 ] && [ "$members" -gt 0 ] || fail "$name: no IOMMU groups (or no members)"
    grep -qF "$enabled" "$snap/dmesg.txt" || fail "$name: dmesg.txt does not say \"$enabled\""
    if grep -q '^dma-' "$snap/lab-injected.txt" && ! grep -q 'iommu=pt' "$snap/proc/cmdline"; then
      grep -q 'DMAR: \[DMA ' "$snap/dmesg.txt" || fail "$name: a DMA fault was injected but the kernel logged none"
      grep -q '^vtd_dmar_fault ' "$snap/qemu-stderr.txt" || fail "$name: a DMA fault was injected but QEMU traced none"
    fi
  fi
  echo "lab-smoke: $name: $groups IOMMU groups, $members member links, $table table," \
    "$(grep -c 'DMAR: \[DMA ' "$snap/dmesg.txt" || true) kernel fault line(s)"
  # Drift against the committed snapshot: a newer kernel may group differently. Reported, not fatal.
  local committed=$REPO/sysfs-fixtures/lab-$name
  if [ -d "$committed" ]; then
    if diff <(listing "$committed") <(listing "$snap") >/dev/null; then
      echo "lab-smoke: $name: IOMMU groups match the committed sysfs-fixtures/lab-$name"
    else
      echo "lab-smoke: $name: WARNING: IOMMU groups differ from the committed snapshot (kernel $(cat "$snap/proc/sys/kernel/osrelease")):"
      diff <(listing "$committed") <(listing "$snap") || true
    fi
  fi
}

# The SMMUv3 guest: IORT, an smmu3.* unit, groups, and an F_TRANSLATION event from the kernel and
# from QEMU for the DMA the guest injected from a device with a driver.
check_arm_snapshot() { # NAME
  local name=$1 snap=$OUT/lab-$1 groups units table='IORT table'
  if grep -qE '(^| )acpi=off( |$)' "$snap/proc/cmdline"; then
    # A device-tree boot: no ACPI at all, the SMMU comes from QEMU's device tree.
    [ ! -e "$snap/sys/firmware/acpi" ] || fail "$name: acpi=off but the snapshot has ACPI tables"
    table='device tree, no ACPI'
  else
    [ "$(head -c 4 "$snap/sys/firmware/acpi/tables/IORT" 2>/dev/null)" = IORT ] || fail "$name: no ACPI IORT table"
  fi
  [ -s "$snap/proc/cmdline" ] && [ -s "$snap/meta.json" ] && [ -s "$snap/README.md" ] && [ -s "$snap/dmesg.txt" ] \
    || fail "$name: snapshot files missing"
  groups=$(find "$snap/sys/kernel/iommu_groups" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l || true)
  units=$(find "$snap/sys/class/iommu" -mindepth 1 -maxdepth 1 -name 'smmu3.*' 2>/dev/null | wc -l || true)
  [ "$units" -gt 0 ] || fail "$name: no /sys/class/iommu/smmu3.* unit"
  [ "$groups" -gt 0 ] || fail "$name: no IOMMU groups"
  grep -q 'arm-smmu-v3 .*: ias .*-bit, oas .*-bit' "$snap/dmesg.txt" || fail "$name: dmesg.txt does not show the SMMUv3 probed"
  if grep -q '^dma-' "$snap/lab-injected.txt"; then
    grep -q 'arm-smmu-v3 .*: event 0x10 received:' "$snap/dmesg.txt" || fail "$name: DMA was injected but the kernel logged no F_TRANSLATION event"
    grep -q '^smmuv3_record_event SMMU_EVT_F_TRANSLATION ' "$snap/qemu-stderr.txt" || fail "$name: DMA was injected but QEMU recorded no F_TRANSLATION event"
  fi
  echo "lab-smoke: $name: $groups IOMMU groups, $units SMMUv3 unit(s), $table," \
    "$(grep -c 'arm-smmu-v3 .*: event 0x' "$snap/dmesg.txt" || true) kernel event(s)"
  local committed=$REPO/sysfs-fixtures/lab-$name
  if [ -d "$committed" ] && ! diff <(listing "$committed") <(listing "$snap") >/dev/null; then
    echo "lab-smoke: $name: WARNING: IOMMU groups differ from the committed snapshot:"
    diff <(listing "$committed") <(listing "$snap") || true
  fi
}

for name in "${SCENARIOS[@]}"; do check_snapshot "$name"; done
step "passed"
