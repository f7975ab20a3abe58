#!/bin/sh
# Runs a command as root: directly when already root (containers and CI images often have no
# sudo), through sudo otherwise. Without root or sudo it still runs, as this user: vtd-check then
# reports what needs root as "unknown" (exit 3) instead of failing.
#   scripts/as-root.sh ./bin/run.js [ARGS...]
if [ "$(id -u)" -eq 0 ]; then exec "$@"; fi
if command -v sudo >/dev/null 2>&1; then exec sudo "$@"; fi
echo "as-root: not root and no sudo: running as $(id -un); what needs root will be reported as unknown" >&2
exec "$@"
