#!/bin/sh
# Entrypoint of the one-shot container image (Dockerfile): checks the machine the container runs
# on. The host's /sys and /proc are mounted read-only at $VTD_CHECK_HOST/sys and /proc (default
# /host), so $VTD_CHECK_HOST reads like a snapshot; the host's kernel log is added beside them as
# dmesg.txt (the container's own directory, not a mount), read from /dev/kmsg (dmesg) or, failing
# that, a mounted host journal. Then: vtd-check ARGS... --root $VTD_CHECK_HOST
# Without a readable log the log-based checks say so.
set -eu
host=${VTD_CHECK_HOST:-/host}
[ -d "$host/sys/bus/pci" ] || { echo "vtd-check container: mount the host's /sys at $host/sys (and /proc at $host/proc), read-only" >&2; exit 2; }
log=$host/dmesg.txt
rm -f "$log"
if dmesg >"$log" 2>/dev/null && [ -s "$log" ]; then :
elif command -v journalctl >/dev/null && [ -d "$host/var/log/journal" ] &&
  journalctl -k -b --no-pager -q -o short-monotonic -D "$host/var/log/journal" >"$log" 2>/dev/null && [ -s "$log" ]; then :
else
  rm -f "$log"
  echo "vtd-check container: no kernel log (run with --device /dev/kmsg --cap-add SYSLOG, or mount /var/log/journal at $host/var/log/journal)" >&2
fi
[ $# -gt 0 ] || set -- check
exec vtd-check "$@" --root "$host"
