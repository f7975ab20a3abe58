#!/bin/sh
# Entrypoint of the one-shot container image (Dockerfile): checks the machine the container runs
# on. The host's /sys and /proc are mounted read-only under $VTD_CHECK_HOST (default /host); this
# builds a snapshot-shaped view of them (links, nothing copied) plus the host's kernel log as
# dmesg.txt, read from /dev/kmsg (dmesg) or, failing that, the host's journal, then runs
#   vtd-check ARGS... --root VIEW
# Without a readable log the log-based checks say so (the view simply has no dmesg.txt).
set -eu
host=${VTD_CHECK_HOST:-/host}
view=${VTD_CHECK_VIEW:-/run/vtd-check-host}
[ -d "$host/sys/bus/pci" ] || { echo "vtd-check container: mount the host's /sys at $host/sys (and /proc at $host/proc), read-only" >&2; exit 2; }
mkdir -p "$view"
ln -sfn "$host/sys" "$view/sys"
ln -sfn "$host/proc" "$view/proc"
rm -f "$view/dmesg.txt"
if dmesg >"$view/dmesg.txt" 2>/dev/null && [ -s "$view/dmesg.txt" ]; then :
elif command -v journalctl >/dev/null && [ -d "$host/var/log/journal" ] &&
  journalctl -k -b --no-pager -q -o short-monotonic -D "$host/var/log/journal" >"$view/dmesg.txt" 2>/dev/null && [ -s "$view/dmesg.txt" ]; then :
else
  rm -f "$view/dmesg.txt"
  echo "vtd-check container: no kernel log (run with --device /dev/kmsg --cap-add SYSLOG, or mount /var/log/journal at $host/var/log/journal)" >&2
fi
[ $# -gt 0 ] || set -- check
exec vtd-check "$@" --root "$view"
