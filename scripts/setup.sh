#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine: system tools the tests compare against
# (pciutils for lspci, bsdutils for script(1) that gives tests a terminal, busybox for the sh capture, QEMU + kernel tooling for the lab — x86 and, for
# the SMMUv3 lab, aarch64 with its UEFI firmware and dpkg's arm64 architecture —, groff for the man page,
# chromium and graphviz that render the HTML report and the DOT/Mermaid pictures,
# promtool and node_exporter that judge and serve `check --format prometheus`),
# the npm dependencies from the lockfile, and the build (dist/ + oclif.manifest.json).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pciutils bsdutils busybox-static qemu-system-x86 qemu-system-arm qemu-efi-aarch64 xz-utils cpio kmod zstd prometheus prometheus-node-exporter groff-base chromium graphviz fonts-dejavu-core)
missing=()
# The SMMUv3 lab downloads linux-image-arm64 and busybox-static:arm64 (apt-get download, never installed).
add_arm64=0
grep -qx arm64 <<< "$(dpkg --print-foreign-architectures 2>/dev/null || true)" || add_arm64=1
for pkg in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == *'install ok installed'* ]] || missing+=("$pkg")
done
if ((${#missing[@]} || add_arm64)); then
  # Root installs directly (a root-only image has no sudo); a user goes through sudo.
  as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then as_root=(sudo); else
      echo "setup: missing Debian packages; as root run: apt-get install ${missing[*]}" >&2
      ((add_arm64)) && echo "setup: and for the SMMUv3 lab: dpkg --add-architecture arm64 && apt-get update" >&2
      missing=(); add_arm64=0
    fi
  fi
  if ((${#missing[@]} || add_arm64)); then
    if ((add_arm64)); then "${as_root[@]}" dpkg --add-architecture arm64 || true; fi
    # One retry: a mirror hiccup should not fail a fresh machine's set-up.
    for attempt in 1 2; do
      "${as_root[@]}" apt-get update -qq &&
        { ((${#missing[@]} == 0)) || "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } && break
      [[ $attempt -eq 2 ]] && exit 1
      sleep 10
    done
  fi
fi

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
