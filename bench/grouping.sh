#!/bin/sh
# Benchmark for the grouping replay (issue 6): compiles only what it needs (no `npm run build`:
# it wipes dist/) and runs bench/grouping.ts. Not a timed test.
set -eu
cd "$(dirname "$0")/.."
DIST=${BENCH_DIR:-${TMPDIR:-/tmp}/vtd-grouping-bench}
mkdir -p "$DIST"
npx tsc --outDir "$DIST" --rootDir . --module nodenext --moduleResolution nodenext --target es2022 \
  --strict --noUncheckedIndexedAccess --skipLibCheck --types node --declaration false \
  bench/grouping.ts
echo '{"type":"module"}' > "$DIST/package.json"
node "$DIST/bench/grouping.js"
