#!/bin/sh
# Container entrypoint of the DaemonSet: every $VTD_CHECK_INTERVAL seconds, assess the node
# (the host's /sys and /proc mounted read-only under $VTD_CHECK_ROOT) and write
#   - the Prometheus exposition into node_exporter's textfile directory, and
#   - the NFD feature file into NFD's features.d directory,
# each through a temporary file and a rename, so neither collector ever reads half a file.
# Exit codes 1 (a check fails) and 3 (could not tell) are answers, not errors: the files are
# written for them too; anything that printed nothing leaves the previous file in place.
set -u
root=${VTD_CHECK_ROOT:-/host}
interval=${VTD_CHECK_INTERVAL:-300}
textfile_dir=${VTD_CHECK_TEXTFILE_DIR:-/textfile}
features_dir=${VTD_CHECK_FEATURES_DIR:-/features.d}

publish() { # FORMAT DIR NAME [OPTIONS]
  format=$1 dir=$2 name=$3
  shift 3
  tmp="$dir/.$name.$$"
  vtd-check check --root "$root" --format "$format" "$@" > "$tmp"
  status=$?
  if [ -s "$tmp" ] && [ "$status" -ne 2 ]; then mv -f "$tmp" "$dir/$name"; else rm -f "$tmp"; echo "vtd-check --format $format failed (exit $status)" >&2; fi
}

# As PID 1 a shell ignores SIGTERM unless it traps it: stop at once when the pod is deleted.
sleeper=
trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' TERM INT
while :; do
  [ -d "$textfile_dir" ] && publish prometheus "$textfile_dir" vtd-check.prom
  # Labels expire after three missed rounds, so a node whose pod is gone does not keep stale ones.
  [ -d "$features_dir" ] && publish nfd "$features_dir" vtd-check --nfd-expiry $((interval * 3))
  sleep "$interval" &
  sleeper=$!
  wait "$sleeper"
done
