#!/usr/bin/env bash
# vtd-check real-kernel lab: boots Debian's linux-image-amd64 under QEMU (TCG, q35, emulated
# VT-d) with a busybox initramfs, runs a scenario's actions in the guest, captures a snapshot
# with the project's own capture script and writes it to sysfs-fixtures/lab-<scenario>/.
# Scenarios with ARCH=arm64 boot Debian's linux-image-arm64 with busybox-static:arm64 on QEMU's
# aarch64 virt machine (TCG, cortex-a57, UEFI from qemu-efi-aarch64, ACPI) with an SMMUv3.
#
#   lab/run.sh [--jobs N] [--out DIR] [SCENARIO...]   (no scenario: all of lab/scenarios/)
#   lab/run.sh --list | --check
#
# Installs nothing. Needs: qemu-system-x86_64, busybox (static), apt-get + dpkg (to fetch and
# unpack the kernel), modinfo (kmod), cpio, gzip, base64, node + npx tsc (capture script).
# arm64 scenarios also need qemu-system-aarch64 (qemu-system-arm), qemu-efi-aarch64 and dpkg's
# arm64 architecture (`dpkg --add-architecture arm64; apt-get update`) to download the kernel.
# Env: LAB_CACHE (default lab-cache/), LAB_KERNEL_PKG (default: what linux-image-amd64 depends
# on), LAB_KERNEL_PKG_ARM64 (likewise for linux-image-arm64), LAB_TIMEOUT seconds per boot
# (default 300), LAB_CAPTURE_SCRIPT (a prebuilt script file).
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/.." && pwd)
CACHE=${LAB_CACHE:-$REPO/lab-cache}
OUT_ROOT=$REPO/sysfs-fixtures
TIMEOUT=${LAB_TIMEOUT:-300}
JOBS=1
ARM64_FIRMWARE=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd

say() { printf 'lab: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

missing_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=("qemu-system-x86_64 (apt-get install qemu-system-x86)")
  # The applet list is read whole first: busybox writes it one applet per write, so a `grep -q`
  # that stops at "devmem" kills it with SIGPIPE and pipefail turns that into "missing".
  local applets=''
  command -v busybox >/dev/null && applets=$(busybox --list 2>/dev/null || true)
  grep -qx devmem <<< "$applets" || missing+=("busybox with devmem (apt-get install busybox-static)")
  command -v apt-get >/dev/null || missing+=("apt-get (Debian/Ubuntu host)")
  command -v dpkg >/dev/null || missing+=("dpkg")
  command -v modinfo >/dev/null || missing+=("modinfo (apt-get install kmod)")
  command -v cpio >/dev/null || missing+=("cpio (apt-get install cpio)")
  command -v node >/dev/null || missing+=("node")
  if [ "${NEED_ARM64:-}" = 1 ]; then
    command -v qemu-system-aarch64 >/dev/null || missing+=("qemu-system-aarch64 (apt-get install qemu-system-arm)")
    [ -f "$ARM64_FIRMWARE" ] || missing+=("$ARM64_FIRMWARE (apt-get install qemu-efi-aarch64)")
    grep -qx arm64 <<< "$(dpkg --print-foreign-architectures 2>/dev/null || true)" \
      || missing+=("dpkg architecture arm64 (dpkg --add-architecture arm64; apt-get update)")
  fi
  if [ ${#missing[@]} -gt 0 ]; then printf '%s\n' "${missing[@]}"; fi
}

check_tools() {
  local missing
  missing=$(missing_tools)
  if [ -n "$missing" ]; then
    say "missing tools:"; printf '  %s\n' "$missing" >&2; return 1
  fi
  grep -q 'dynamically linked' <<< "$(file -L "$(command -v busybox)" 2>/dev/null || true)" \
    && die "busybox is dynamically linked; install busybox-static"
  return 0
}

# --- kernel ---------------------------------------------------------------------------------
kernel_package() { # ARCH
  if [ "$1" = arm64 ]; then
    if [ -n "${LAB_KERNEL_PKG_ARM64:-}" ]; then echo "$LAB_KERNEL_PKG_ARM64"; return; fi
    apt-cache depends linux-image-arm64:arm64 2>/dev/null \
      | awk '/Depends: linux-image-[0-9]/ {sub(/:arm64$/, "", $2); print $2 ":arm64"; exit}'
    return
  fi
  if [ -n "${LAB_KERNEL_PKG:-}" ]; then echo "$LAB_KERNEL_PKG"; return; fi
  apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

# unpack_package PKG DIR: apt-get download PKG (name[:arch]) into the cache, dpkg -x it to DIR once.
unpack_package() {
  local pkg=$1 dir=$2 name=${1%%:*}
  if [ ! -f "$dir/.unpacked" ]; then
    mkdir -p "$CACHE/debs"
    say "downloading $pkg"
    (cd "$CACHE/debs" && apt-get download "$pkg" 2>&1 | { grep -v '^W: Download is performed unsandboxed' >&2 || true; }) \
      || die "apt-get download $pkg failed"
    rm -rf "$dir"; mkdir -p "$dir"
    dpkg -x "$(ls "$CACHE"/debs/"${name}"_*.deb | head -n1)" "$dir"
    touch "$dir/.unpacked"
  fi
}

# fetch_kernel [ARCH]: sets KPKG KDIR KREL VMLINUZ KVERSION BUSYBOX; downloads and unpacks once
# into the cache. arm64 also takes busybox from busybox-static:arm64 (the host's is x86).
fetch_kernel() {
  local arch=${1:-amd64}
  KPKG=$(kernel_package "$arch")
  [ -n "$KPKG" ] || die "cannot tell which kernel package linux-image-$arch depends on (apt-get update? dpkg --add-architecture $arch?)"
  KDIR=$CACHE/${KPKG%%:*}
  unpack_package "$KPKG" "$KDIR"
  VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -n1)
  KREL=${VMLINUZ##*/vmlinuz-}
  KVERSION=$(dpkg-deb -f "$(ls "$CACHE"/debs/"${KPKG%%:*}"_*.deb | head -n1)" Version 2>/dev/null || echo unknown)
  BUSYBOX=$(command -v busybox)
  if [ "$arch" = arm64 ]; then
    unpack_package busybox-static:arm64 "$CACHE/busybox-arm64"
    BUSYBOX=$CACHE/busybox-arm64/bin/busybox
  fi
}

# module_path NAME: the .ko* file of a module name ('-' and '_' are the same to the kernel).
module_path() {
  local want=${1//-/_}
  if [ ! -f "$KDIR/.module-index" ]; then
    # Scenarios sharing a kernel run in parallel: build the index aside and rename it into place,
    # so no scenario ever reads a half-written index (a "module not found" that a retry hid).
    local partial="$KDIR/.module-index.$BASHPID"
    find "$KDIR/lib/modules/$KREL/kernel" -name '*.ko*' | while read -r f; do
      local b=${f##*/}; b=${b%%.ko*}; echo "${b//-/_} $f"
    done > "$partial"
    mv -f "$partial" "$KDIR/.module-index"
  fi
  awk -v m="$want" '$1 == m {print $2; exit}' "$KDIR/.module-index"
}

# resolve_modules NAME...: prints module names in load order (dependencies first), once each.
resolve_modules() {
  local -A seen=()
  local order=()
  visit() {
    local name=${1//-/_} path dep
    [ -n "${seen[$name]:-}" ] && return 0
    seen[$name]=1
    path=$(module_path "$name")
    if [ -z "$path" ]; then
      grep -q "/${name}.ko\|/${1}.ko" "$KDIR/lib/modules/$KREL/modules.builtin" 2>/dev/null && return 0
      die "module $1 not found in $KPKG (and not built in)"
    fi
    for dep in $(modinfo -F depends "$path" | tr ',' ' '); do visit "$dep"; done
    order+=("$name")
  }
  local m
  for m in "$@"; do visit "$m"; done
  [ ${#order[@]} -eq 0 ] || printf '%s\n' "${order[@]}"
}

# --- capture script -------------------------------------------------------------------------
capture_script() {
  if [ -n "${LAB_CAPTURE_SCRIPT:-}" ]; then cat "$LAB_CAPTURE_SCRIPT"; return; fi
  local dist=$CACHE/dist
  if [ ! -f "$dist/.built" ] || [ -n "$(find "$REPO/src" -newer "$dist/.built" -name '*.ts' | head -n1)" ]; then
    say "compiling the capture script (tsc -> $dist)"
    rm -rf "$dist"
    # Emit even if an unrelated file has a type error: only capture-script.js is needed.
    (cd "$REPO" && npx tsc -p tsconfig.json --outDir "$dist" >/dev/null 2>&1) || true
    [ -f "$dist/src/collect/capture-script.js" ] || die "tsc did not emit src/collect/capture-script.js"
    touch "$dist/.built"
  fi
  node -e "import('$dist/src/collect/capture-script.js').then(m => process.stdout.write(m.captureScript('lab')))"
}

# --- one scenario ---------------------------------------------------------------------------
scenario_file() { echo "$LAB_DIR/scenarios/$1.sh"; }

load_scenario() {
  TITLE=''; TOPOLOGY=''; INJECT=''; IOMMU=''; KERNEL_ARGS=''; MODULES=''; ACTIONS=''; TRACE=''; ARCH=amd64
  # arm64 only: firmware tables the kernel reads, acpi (IORT) or dt (the device tree QEMU builds).
  ARM_TABLES=acpi
  MACHINE=q35; IOMMU_NAME='emulated VT-d'
  DEVICES=()
  # shellcheck disable=SC1090
  . "$(scenario_file "$1")"
  [ -n "$TITLE" ] || die "$1: TITLE is empty"
}

build_initramfs() { # NAME WORKDIR
  local name=$1 work=$2 root=$2/root m
  rm -rf "$root"; mkdir -p "$root"/{bin,dev,proc,sys,lab,lib/modules,tmp}
  cp "$BUSYBOX" "$root/bin/busybox"
  cp "$LAB_DIR/guest/init.sh" "$root/init"; chmod 755 "$root/init"
  cp "$LAB_DIR/guest/guest-lib.sh" "$root/lab/guest-lib.sh"
  printf '%s\n' "$ACTIONS" > "$root/lab/actions.sh"
  capture_script > "$root/lab/capture.sh"
  # shellcheck disable=SC2086
  resolve_modules $MODULES > "$root/lib/modules/load-order"
  while read -r m; do
    [ -n "$m" ] || continue
    local src; src=$(module_path "$m")
    case $src in
      *.ko.xz) xz -dc "$src" > "$root/lib/modules/$m.ko" ;;
      *.ko.zst) zstd -dcq "$src" > "$root/lib/modules/$m.ko" ;;
      *.ko.gz) gzip -dc "$src" > "$root/lib/modules/$m.ko" ;;
      *) cp "$src" "$root/lib/modules/$m.ko" ;;
    esac
  done < "$root/lib/modules/load-order"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"
}

run_scenario() { # NAME
  local name=$1 work=$CACHE/work/$1 out=$OUT_ROOT/lab-$1
  load_scenario "$name"
  fetch_kernel "$ARCH"
  rm -rf "$work"; mkdir -p "$work"
  build_initramfs "$name" "$work"
  local append qemu xfer=$work/xfer.txt
  if [ "$ARCH" = arm64 ]; then
    # The virt machine has one UART: the snapshot goes out on the console (init.sh silences the
    # kernel log first). UEFI loads the kernel (fw_cfg); acpi=force: ACPI tables (IORT), not DT;
    # acpi=off: the device tree QEMU generates (iommu-map), as an embedded board boots.
    local tables=acpi=force; [ "$ARM_TABLES" = dt ] && tables=acpi=off
    append="console=ttyAMA0 panic=-1 $tables lab.xfer=ttyAMA0${KERNEL_ARGS:+ $KERNEL_ARGS}"
    qemu=(qemu-system-aarch64 -machine "virt,accel=tcg${IOMMU:+,iommu=$IOMMU}" -cpu cortex-a57 -smp 1 -m 512M
      -nodefaults -display none -no-reboot -monitor none -serial "file:$work/console.log")
    # UEFI hands the kernel ACPI and an empty device tree ("EFI stub: Generating empty DTB"): a
    # device-tree boot loads the kernel directly, with the device tree QEMU generates.
    [ "$ARM_TABLES" = dt ] || qemu+=(-bios "$ARM64_FIRMWARE")
    xfer=$work/console.log
  else
    # no_timer_check: under TCG on a busy host the IO-APIC timer probe can miss its window and
    # panic ("timer doesn't work through Interrupt-remapped IO-APIC"); the check proves nothing here.
    append="console=ttyS0 panic=-1 no_timer_check${KERNEL_ARGS:+ $KERNEL_ARGS}"
    qemu=(qemu-system-x86_64 -machine "$MACHINE,accel=tcg" -smp 1 -m 256M -nodefaults -display none
      -no-reboot -monitor none -serial "file:$work/console.log" -serial "file:$xfer")
    [ -n "$IOMMU" ] && qemu+=(-device "$IOMMU")
  fi
  qemu+=("${DEVICES[@]}")
  if [ "$ARCH" = arm64 ]; then
    # smmuv3_record_event: every event QEMU's SMMUv3 queues for the guest (type and StreamID).
    qemu+=(-trace "enable=smmuv3_record_event" ${TRACE:+-trace "enable=$TRACE"})
  else
    # vtd_dmar_fault is QEMU's record of every fault it reports to the guest; the
    # "vtd_iova_to_slpte: detected ..." lines are error_report_once (first of each kind).
    qemu+=(-trace "enable=vtd_dmar_fault" -trace "enable=vtd_fault_disabled" ${TRACE:+-trace "enable=$TRACE"})
  fi
  local shown=("${qemu[@]}" -kernel "vmlinuz-$KREL" -initrd initrd.gz -append "$append")
  qemu+=(-kernel "$VMLINUZ" -initrd "$work/initrd.gz" -append "$append")
  say "$name: booting"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  timeout "$TIMEOUT" "${qemu[@]}" > "$work/qemu-stdout.txt" 2> "$work/qemu-stderr.txt" || rc=$?
  t1=$(date +%s.%N)
  local seconds; seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  if [ $rc -ne 0 ]; then
    say "$name: qemu exited $rc after ${seconds}s; its stderr and the console tail:"
    tail -n 10 "$work/qemu-stderr.txt" >&2; tail -n 30 "$work/console.log" >&2; return 1
  fi
  tr -d '\r' < "$xfer" | sed -n '/^=====VTD-LAB-BEGIN=====$/,/^=====VTD-LAB-END=====$/p' \
    | sed '1d;$d' > "$work/xfer.b64"
  grep -q '^=====VTD-LAB-END=====' "$xfer" || {
    say "$name: no complete snapshot on the transfer port after ${seconds}s; console tail:"
    tail -n 30 "$work/console.log" >&2; return 1; }
  rm -rf "$work/unpacked"; mkdir -p "$work/unpacked"
  base64 -d < "$work/xfer.b64" | tar -xzm --no-same-owner -C "$work/unpacked"
  # Replace only what the lab generates: files others add beside a snapshot (expected.json with
  # the checks' expected outcomes, notes) survive a regeneration.
  mkdir -p "$out"
  rm -rf "${out:?}"/{sys,proc,dev,dmesg.txt,meta.json,qemu-stderr.txt,lab-injected.txt,README.md}
  cp -a "$work/unpacked/snap/." "$out/"
  cp "$work/qemu-stderr.txt" "$out/qemu-stderr.txt"
  local injected=''; [ -f "$work/unpacked/lab/injected.txt" ] && injected=$(cat "$work/unpacked/lab/injected.txt")
  printf '%s\n' "$injected" | sed '/^$/d' > "$out/lab-injected.txt"
  local shown_text='' arg
  for arg in "${shown[@]}"; do case $arg in *' '*) shown_text+="'$arg' " ;; *) shown_text+="$arg " ;; esac; done
  shown_text=${shown_text//$work\//}
  write_readme "$name" "$out" "$seconds" "${shown_text//$ARM64_FIRMWARE/QEMU_EFI.fd}" "$append"
  say "$name: ok in ${seconds}s, $(du -sh "$out" | cut -f1), $(ls "$out/sys/kernel/iommu_groups" 2>/dev/null | wc -l) iommu groups"
  echo "$name $seconds" >> "$CACHE/timings.txt"
}

write_readme() { # NAME OUT SECONDS QEMU-CMDLINE APPEND
  local name=$1 out=$2
  local cmdline; cmdline=$(cat "$out/proc/cmdline" 2>/dev/null || echo "$5")
  local version; version=$(cat "$out/proc/version" 2>/dev/null || echo "$KREL")
  {
    echo "# lab-$name: $TITLE"
    echo
    echo "Real-kernel snapshot made by \`lab/run.sh $name\` (scenario \`lab/scenarios/$name.sh\`):"
    if [ "$ARCH" = arm64 ]; then
      echo "Debian's \`${KPKG%%:*}\` ($KVERSION) booted under QEMU $(qemu-system-aarch64 --version | head -n1 | sed 's/QEMU emulator version //') (TCG, aarch64 virt, cortex-a57,"
      if [ "$ARM_TABLES" = dt ]; then
        echo "no UEFI: QEMU loads the kernel with its own device tree, \`acpi=off\` (no ACPI, no IORT), emulated ${IOMMU:-no IOMMU}),"
      else
        echo "UEFI from Debian's qemu-efi-aarch64, ACPI with \`acpi=force\`, emulated ${IOMMU:-no IOMMU}),"
      fi
    else
      echo "Debian's \`$KPKG\` ($KVERSION) booted under QEMU $(qemu-system-x86_64 --version | head -n1 | sed 's/QEMU emulator version //') (TCG, $MACHINE, $IOMMU_NAME),"
    fi
    echo "busybox initramfs, snapshot taken inside the guest by the project's own \`capture --script\`."
    echo "Do not edit by hand: rerun the lab."
    echo
    echo "## Topology"
    echo "$TOPOLOGY"
    echo
    echo "## What was injected"
    echo "${INJECT:-Nothing: boot, then capture.}"
    echo
    echo "Injected events as the guest recorded them (\`lab-injected.txt\`: kind, BDF, address, bytes):"
    echo '```'; cat "$out/lab-injected.txt"; echo '```'
    echo
    echo "## Kernel"
    echo "- version: \`$version\`"
    echo "- command line: \`$cmdline\`"
    echo
    echo "## QEMU command line"
    echo '```'; echo "$4"; echo '```'
    echo
    echo "## Files"
    echo "- \`sys/\`, \`proc/\`, \`dmesg.txt\`, \`meta.json\`: the snapshot (DESIGN.md layout)."
    [ "$ARCH" = arm64 ] && echo "- \`qemu-stderr.txt\`: QEMU's own stderr: \`smmuv3_record_event\` trace lines (every event the SMMUv3 queued: type, StreamID)."
    [ "$ARCH" = arm64 ] || echo "- \`qemu-stderr.txt\`: QEMU's own stderr: \`vtd_dmar_fault\` trace lines (every fault QEMU"
    [ "$ARCH" = arm64 ] || echo "  reported: source id, reason, address, write) and \`vtd_iova_to_slpte: detected ...\` lines"
    [ "$ARCH" = arm64 ] || echo "  (the first of each kind, with the page-table level where the walk stopped) — the"
    [ "$ARCH" = arm64 ] || echo "  emulator's ground truth for translation replay."
    echo "- \`lab-injected.txt\`: what the guest actions did."
    echo
    echo "Boot + actions + capture + transfer took ${3}s on the machine that generated it."
  } > "$out/README.md"
}

# run_with_retry NAME: a TCG guest on a loaded machine can stall; one more boot before failing.
run_with_retry() {
  (run_scenario "$1") && return 0
  say "$1: retrying once"
  (run_scenario "$1") && return 0
  say "$1: FAILED"; return 1
}

# --- main -----------------------------------------------------------------------------------
# scenario_arch NAME: the ARCH a scenario file sets (amd64 when it sets none).
scenario_arch() { sed -n 's/^ARCH=\([a-z0-9_]*\).*/\1/p' "$(scenario_file "$1")" | tail -n1 | grep . || echo amd64; }

all_scenarios() { for f in "$LAB_DIR"/scenarios/*.sh; do b=${f##*/}; echo "${b%.sh}"; done; }

main() {
  local names=()
  while [ $# -gt 0 ]; do
    case $1 in
      --list) all_scenarios; exit 0 ;;
      --check) NEED_ARM64=1; check_tools && say "all tools present"; exit $? ;;
      --jobs) JOBS=$2; shift ;;
      --out) OUT_ROOT=$(cd "$2" && pwd); shift ;;
      -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
      -*) die "unknown option $1" ;;
      *) [ -f "$(scenario_file "$1")" ] || die "no scenario $1 (see --list)"; names+=("$1") ;;
    esac
    shift
  done
  [ ${#names[@]} -gt 0 ] || mapfile -t names < <(all_scenarios)
  local archs; archs=$(for n in "${names[@]}"; do scenario_arch "$n"; done | sort -u)
  grep -qx arm64 <<< "$archs" && NEED_ARM64=1
  check_tools || exit 1
  mkdir -p "$CACHE"
  # Download every kernel once before parallel jobs start.
  local a; for a in $archs; do fetch_kernel "$a"; done
  say "kernel(s) ready for $(echo $archs), ${#names[@]} scenario(s), $JOBS at a time"
  # One copy of the capture script for every scenario (and every parallel job).
  capture_script > "$CACHE/capture.sh.new" && mv "$CACHE/capture.sh.new" "$CACHE/capture.sh"
  export LAB_CAPTURE_SCRIPT=$CACHE/capture.sh
  : > "$CACHE/timings.txt"
  local failed=0 t0=$SECONDS
  if [ "$JOBS" -gt 1 ]; then
    export LAB_CACHE=$CACHE LAB_TIMEOUT=$TIMEOUT
    printf '%s\n' "${names[@]}" | xargs -P "$JOBS" -I{} "$LAB_DIR/run.sh" --single {} --out "$OUT_ROOT" || failed=1
  else
    local n; for n in "${names[@]}"; do run_with_retry "$n" || failed=1; done
  fi
  say "done in $((SECONDS - t0))s; per scenario (s):"; sort "$CACHE/timings.txt" >&2
  return $failed
}

if [ "${1:-}" = --single ]; then
  # Internal: one scenario, called by main for --jobs (appends to the shared timings file).
  shift; n=$1; shift; [ "${1:-}" = --out ] && OUT_ROOT=$2
  run_with_retry "$n"
else
  main "$@"
fi
