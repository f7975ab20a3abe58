#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine: system tools the tests compare against
# (pciutils for lspci, busybox for the sh capture, QEMU + kernel tooling for the lab, groff for the man page,
# chromium and graphviz that render the HTML report and the DOT/Mermaid pictures,
# promtool and node_exporter that judge and serve `check --format prometheus`),
# the npm dependencies from the lockfile, and the build (dist/ + oclif.manifest.json).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pciutils busybox-static qemu-system-x86 xz-utils cpio kmod zstd prometheus prometheus-node-exporter groff-base chromium graphviz fonts-dejavu-core)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  # Root installs directly (a root-only image has no sudo); a user goes through sudo.
  as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then as_root=(sudo); else
      echo "setup: missing Debian packages; as root run: apt-get install ${missing[*]}" >&2
      missing=()
    fi
  fi
  if ((${#missing[@]})); then
    # One retry: a mirror hiccup should not fail a fresh machine's set-up.
    for attempt in 1 2; do
      "${as_root[@]}" apt-get update -qq &&
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null && break
      [[ $attempt -eq 2 ]] && exit 1
      sleep 10
    done
  fi
fi

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
