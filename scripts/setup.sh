#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine: system tools the tests compare against
# (pciutils for lspci, busybox for the sh capture, QEMU + kernel tooling for the lab),
# the npm dependencies from the lockfile, and the build (dist/ + oclif.manifest.json).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pciutils busybox-static qemu-system-x86 xz-utils cpio kmod zstd)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    # One retry: a mirror hiccup should not fail a fresh machine's set-up.
    for attempt in 1 2; do
      apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null && break
      [[ $attempt -eq 2 ]] && exit 1
      sleep 10
    done
  else
    echo "setup: missing Debian packages (run as root, or: sudo apt-get install ${missing[*]})" >&2
  fi
fi

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
