#!/usr/bin/env bash
# Builds what a stranger installs and checks each one on a committed snapshot, run from another
# directory so nothing resolves through this checkout:
#   npm tarball: npm pack -> npm install -g (into a temporary prefix) -> vtd-check
#   standalone executable: packaging/build-sea.mjs -> build/vtd-check (Node's SEA, no Node needed)
#   container image: docker build + run on a snapshot, only where a Docker engine answers
#   .deb: packaging/build-deb.sh -> dpkg -i -> /usr/bin/vtd-check, its man page and bash
#         completion -> dpkg -r (needs root: CI is; a user run says it skipped that part)
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

step "standalone executable (typecheck packaging/, node packaging/build-sea.mjs)"
(cd "$REPO" && npx tsc -p tsconfig.packaging.json)
node "$REPO/packaging/build-sea.mjs" 2>&1 | grep -v "Can't find string offset for section name" || true
[[ -x $REPO/build/vtd-check ]] || { echo "package: the standalone executable was not built" >&2; exit 1; }
check_fixture sea "$REPO/build/vtd-check"
echo "package: standalone executable ok ($(stat -c %s "$REPO/build/vtd-check") bytes)"

step "container image (Dockerfile)"
if timeout 20 docker info >/dev/null 2>&1; then
  docker build -q -t vtd-check:ci "$REPO" >/dev/null
  # The image checks a committed snapshot mounted where the host's /sys and /proc would be.
  rc=0
  docker run --rm -v "$FIXTURE/sys:/host/sys:ro" -v "$FIXTURE/proc:/host/proc:ro" vtd-check:ci check --json >"$WORK/container.json" || rc=$?
  node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));if(r.host.kernel!=="6.1.0-56-amd64")process.exit(1)' "$WORK/container.json"
  echo "package: container image ok (exit $rc on a snapshot mounted as the host)"
else
  echo "package: container image NOT BUILT: no Docker engine reachable here (docker info failed); the Dockerfile and its entrypoint are tested by test/container.test.ts"
fi

step "deb (packaging/build-deb.sh)"
bash "$REPO/packaging/build-deb.sh"
deb=$(echo "$REPO"/build/vtd-check_*.deb)
if [[ $(id -u) -ne 0 ]]; then
  echo "package: .deb built; installing it needs root: skipped (CI runs as root)"
  exit 0
fi
step "dpkg -i $(basename "$deb")"
dpkg -i "$deb" >/dev/null
# Removed again whatever happens next: the machine keeps no trace of the test.
trap 'dpkg -r vtd-check >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
[[ $(command -v vtd-check) == /usr/bin/vtd-check ]] || { echo "package: vtd-check is not /usr/bin/vtd-check after dpkg -i" >&2; exit 1; }
check_fixture deb env PATH=/usr/bin:/bin vtd-check
# The man page as installed, formatted by groff: the sections and every command are there.
zcat /usr/share/man/man1/vtd-check.1.gz | groff -man -Tutf8 -ww 2>"$WORK/man.warnings" | sed 's/.\x08//g' >"$WORK/man.txt"
[[ ! -s $WORK/man.warnings ]] || { echo "package: groff warnings in the installed man page:" >&2; cat "$WORK/man.warnings" >&2; exit 1; }
for want in 'EXIT STATUS' 'vtd-check groups' 'vtd-check faults' '--lspci-dump'; do
  grep -qF -- "$want" "$WORK/man.txt" || { echo "package: installed man page lacks '$want'" >&2; exit 1; }
done
# Bash completion as installed: commands, then a command's flags.
completes() { # WORDS... -> what bash would offer for the last word
  bash -c 'source /usr/share/bash-completion/completions/vtd-check; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vtd-check_autocomplete; echo "${COMPREPLY[*]}"' _ "$@"
}
[[ $(completes vtd-check gro) == groups ]] || { echo "package: bash completion of 'vtd-check gro' is '$(completes vtd-check gro)'" >&2; exit 1; }
[[ $(completes vtd-check groups --pre) == --predict ]] || { echo "package: bash completion of 'vtd-check groups --pre' is '$(completes vtd-check groups --pre)'" >&2; exit 1; }
step "dpkg -r vtd-check"
dpkg -r vtd-check >/dev/null
[[ ! -e /usr/bin/vtd-check && ! -e /usr/share/man/man1/vtd-check.1.gz ]] || { echo "package: dpkg -r left files behind" >&2; exit 1; }
echo "package: .deb ok ($(stat -c %s "$deb") bytes: installed, checked a snapshot, man page, completion, removed)"
