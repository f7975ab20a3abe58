#!/usr/bin/env bash
# The whole test suite: the committed oclif manifest must match the build, every vitest suite
# (a test file that fails to load counts as a failure), the packages a user installs
# (scripts/check-packages.sh), then the real-kernel lab smoke run. Ends with the plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0
if ! git diff --quiet -- oclif.manifest.json 2>/dev/null; then
  echo "FAIL: oclif.manifest.json is stale: run 'npm run build' and commit it" >&2
  git --no-pager diff --stat -- oclif.manifest.json >&2
  status=1
fi

report=$(mktemp --suffix=.json)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=1
# Passed/failed tests, plus every test FILE that failed without running a test (an import or
# syntax error): vitest counts those in no test total, so they would vanish from the summary.
read -r passed failed < <(node -e '
  try {
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
    const unloaded = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0)
    for (const f of unloaded) console.error(`FAIL (did not load): ${f.name}: ${(f.message || "").split("\n")[0]}`)
    console.log(r.numPassedTests, r.numFailedTests + unloaded.length)
  } catch (e) { console.error(`test-all: no vitest report: ${e.message}`); console.log(0, 1) }' "$report") || { passed=0; failed=1; }
rm -f "$report"

# What a stranger installs (npm tarball, ...), each checked on a committed snapshot.
if bash scripts/check-packages.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi

if [[ -f .ci/lab-smoke.sh ]]; then
  if bash .ci/lab-smoke.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
fi

echo "${passed} passed, ${failed} failed"
((failed == 0)) || status=1
exit $status
