#!/usr/bin/env bash
# Builds what a stranger installs and checks each one on a committed snapshot, run from another
# directory so nothing resolves through this checkout:
#   npm tarball: npm pack -> npm install -g (into a temporary prefix) -> vtd-check
# Each prints "package: NAME ok" or fails the script. Needs the build (npm run build) first.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIXTURE=$REPO/sysfs-fixtures/lab-pch-acs-less-root-ports
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
T0=$SECONDS
step() { printf '== check-packages: %s (t=%ss)\n' "$*" "$((SECONDS - T0))"; }

# check_fixture NAME CMD...: CMD check --root FIXTURE --json, run from an empty directory, must
# give the snapshot's expected.json outcomes and exit code.
check_fixture() {
  local name=$1 rc=0; shift
  local devices
  devices=$(node -e 'console.log((JSON.parse(require("fs").readFileSync(process.argv[1])).devices ?? []).map((d) => "--device=" + d).join(" "))' "$FIXTURE/expected.json")
  mkdir -p "$WORK/elsewhere"
  # shellcheck disable=SC2086 # one word per --device flag
  (cd "$WORK/elsewhere" && "$@" check --root "$FIXTURE" $devices --json >"$WORK/$name.json") || rc=$?
  node "$REPO/scripts/expect-fixture.mjs" "$FIXTURE" "$rc" <"$WORK/$name.json"
}

step "npm pack"
(cd "$REPO" && npm pack --silent --pack-destination "$WORK" >/dev/null)
tarball=$(echo "$WORK"/vtd-check-*.tgz)
tar -tzf "$tarball" >"$WORK/tarball.list"
for want in package/LICENSE package/schema/check.schema.json package/oclif.manifest.json package/bin/run.js; do
  grep -qx "$want" "$WORK/tarball.list" || { echo "package: $want missing from the tarball" >&2; exit 1; }
done
if grep -q '\.map$' "$WORK/tarball.list"; then echo "package: the tarball ships source maps without sources" >&2; exit 1; fi
step "npm install -g $(basename "$tarball") --prefix (temporary)"
npm install -g --prefix "$WORK/prefix" --no-audit --no-fund --loglevel=error "$tarball"
check_fixture npm "$WORK/prefix/bin/vtd-check"
echo "package: npm tarball ok ($(stat -c %s "$tarball") bytes)"
