#!/usr/bin/env bash
# The whole test suite: the committed oclif manifest must match the build, every vitest suite,
# then the real-kernel lab smoke run. Ends with the plain "N passed, N failed" line.
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
count() { node -e "const r=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));console.log(r[process.argv[2]])" "$report" "$1"; }
passed=$(count numPassedTests) || passed=0
failed=$(count numFailedTests) || failed=1
rm -f "$report"

if [[ -f .ci/lab-smoke.sh ]]; then
  if bash .ci/lab-smoke.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
fi

echo "${passed} passed, ${failed} failed"
((failed == 0)) || status=1
exit $status
