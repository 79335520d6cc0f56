#!/usr/bin/env bash
# Chaos: kill -9 the collector in the middle of `eventide run`. No results
# can be written; the launcher says so, names paths that exist (every log
# copied into OUT before the run directory goes) and exits 1.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service const:5ms --workers 1 \
  --rate 100 --duration 10 --seed 5 --out "$out" >"$ET_TMP/run.log" 2>&1 &
launcher=$!
ET_EXTRA_PIDS+=("$launcher")

# Once the load has started.
collector_under_load "$out" "$launcher"
sleep 1
kill -KILL "$cpid"

rc=0
wait "$launcher" || rc=$?
expect_eq "exit status of the run" "$rc" 1
grep -q 'no summary.json can be written' "$ET_TMP/run.log" ||
  fail "the launcher did not say there are no results: $(tail -n 5 "$ET_TMP/run.log")"
[ ! -e "$out/summary.json" ] || fail "a summary.json appeared without a collector"
for f in broker.log collector.log worker-synthetic-1.log; do
  [ -s "$out/$f" ] || fail "no $f in $out"
done
for p in $(grep -o "$out/[A-Za-z0-9_.-]*\.log" "$ET_TMP/run.log" | sort -u); do
  [ -f "$p" ] || fail "the launcher named $p, which does not exist"
done
[ ! -e "$run" ] || fail "the run directory $run was left behind"
pass "collector killed mid-run: exit 1, no summary said so, logs in $out"
