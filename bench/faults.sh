#!/bin/sh
# Benchmark for `vtd-check faults` (issue 5): builds a >= 1 GiB kernel log from real lines,
# times `grep -c DMAR` and the faults pipeline on the same (page-cached) file, and prints the
# throughput ratio and the pipeline's peak RSS. Targets: ratio >= 1/3, RSS < 150 MiB.
# Not a timed test: run by hand or in CI as `sh bench/faults.sh`.
set -eu
cd "$(dirname "$0")/.."
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/vtd-faults-bench}
SIZE=${BENCH_BYTES:-1073741824}
mkdir -p "$WORK"
LOG="$WORK/kernel-1g.log"
DIST="$WORK/dist"

# Compile only what the pipeline needs (no `npm run build`: it wipes dist/).
npx tsc --outDir "$DIST" --rootDir . --module nodenext --moduleResolution nodenext --target es2022 \
  --strict --skipLibCheck --types node --declaration false \
  src/decode/kernel-log/index.ts src/replay/fault-triage.ts src/host/log-stream.ts src/report/faults.ts
echo '{"type":"module"}' > "$DIST/package.json"
ln -sfn "$PWD/node_modules" "$DIST/node_modules"

[ -s "$LOG" ] && [ "$(wc -c < "$LOG")" -ge "$SIZE" ] || node bench/faults.build-log.mjs "$LOG" "$SIZE"
cat "$LOG" > /dev/null   # warm the page cache so both runs read from memory

# Best of 3 for grep: wall seconds, and CPU seconds when GNU time (Debian: `time`) is installed
# (the machine may be shared, so CPU time is the steadier comparison).
GREP_WALL=999999; GREP_CPU=999999
for i in 1 2 3; do
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %U %S" -o "$WORK/grep.time" grep -c DMAR "$LOG" > "$WORK/grep.count"
  else
    t0=$(date +%s.%N); grep -c DMAR "$LOG" > "$WORK/grep.count"; t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{printf "%.3f -1 0\n", $2 - $1}' > "$WORK/grep.time"
  fi
  read -r W U S < "$WORK/grep.time"
  GREP_WALL=$(echo "$W $GREP_WALL" | awk '{print ($1 < $2) ? $1 : $2}')
  GREP_CPU=$(echo "$U $S $GREP_CPU" | awk '{c = $1 + $2; print ($1 >= 0 && c < $3) ? c : $3}')
done
GREP_COUNT=$(cat "$WORK/grep.count")
RUN1=$(node bench/faults.run.mjs "$DIST" "$LOG"); echo "$RUN1"
RUN2=$(node bench/faults.run.mjs "$DIST" "$LOG"); echo "$RUN2"
BYTES=$(wc -c < "$LOG")
node -e '
const [bytes, grepWall, grepCpu, grepCount] = process.argv.slice(1, 5).map(Number)
const runs = process.argv.slice(5).map((r) => JSON.parse(r))
const best = (k) => Math.min(...runs.map((r) => r[k]))
const run = runs[0], wall = best("seconds"), cpu = best("cpuSeconds"), rss = Math.max(...runs.map((r) => r.peakRssMiB))
const mb = (s) => bytes / 1e6 / s
console.log(`file: ${(bytes / 2 ** 30).toFixed(2)} GiB, ${run.lines} lines, grep -c DMAR = ${grepCount}`)
console.log(`grep -c DMAR : wall ${grepWall.toFixed(2)} s (${mb(grepWall).toFixed(0)} MB/s), cpu ${grepCpu.toFixed(2)} s (${mb(grepCpu).toFixed(0)} MB/s)`)
console.log(`vtd faults   : wall ${wall.toFixed(2)} s (${mb(wall).toFixed(0)} MB/s), cpu ${cpu.toFixed(2)} s (${mb(cpu).toFixed(0)} MB/s); ${run.faultRecords} fault lines in ${run.groups} groups, ${run.events} event groups`)
for (const [name, ours, theirs] of [["wall", wall, grepWall], ["cpu", cpu, grepCpu]]) {
  if (theirs >= 999999) { console.log(`ratio (${name}) : n/a (install GNU time for CPU seconds)`); continue }
  const ratio = theirs / ours
  console.log(`ratio (${name}) : ${ratio.toFixed(3)} of grep throughput (target >= 0.333) ${ratio >= 1 / 3 ? "MET" : "NOT MET"}`)
}
console.log(`peak RSS     : ${rss.toFixed(1)} MiB (target < 150) ${rss < 150 ? "MET" : "NOT MET"}`)
' "$BYTES" "$GREP_WALL" "$GREP_CPU" "$GREP_COUNT" "$RUN1" "$RUN2"
