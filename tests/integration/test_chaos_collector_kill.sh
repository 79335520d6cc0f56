#!/usr/bin/env bash
# Chaos: kill -9 the collector in the middle of `eventide run`, without
# --supervise. The launcher restarts it from its journal (the broker sends
# again what it had not acknowledged), the run ends with a summary.json
# that accounts for every event (lost 0, collector.restarts 1), says what
# happened, names paths that exist (every log copied into OUT before the
# run directory goes) and exits 1: a process died. A collector killed more
# often than the launcher restarts it (3 times) ends the run without
# results: the second part.
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
grep -q 'restarted from its journal (1 time(s)): results in' "$ET_TMP/run.log" ||
  fail "the launcher did not say the collector was restarted: $(tail -n 5 "$ET_TMP/run.log")"
s="$out/summary.json"
[ -f "$s" ] || fail "no summary.json after the restart: $(tail -n 5 "$ET_TMP/run.log")"
expect_accounted "$s"
expect_eq "collector restarts" "$(json "$s" .collector.restarts)" 1
expect_eq "collector end" "$(json "$s" .collector.end)" complete
for f in broker.log collector.log worker-synthetic-1.log launcher.log; do
  [ -s "$out/$f" ] || fail "no $f in $out"
done
grep -q 'restart 1 of 3' "$out/launcher.log" || fail "launcher.log does not record the restart"
for p in $(grep -o "$out/[A-Za-z0-9_.-]*\.\(log\|json\)" "$ET_TMP/run.log" | sort -u); do
  [ -f "$p" ] || fail "the launcher named $p, which does not exist"
done
[ ! -e "$run" ] || fail "the run directory $run was left behind"
sent="$(json "$s" .events.sent)"

# Killed again each time it comes back: after 3 restarts the run ends
# without results, and says so.
out2="$ET_TMP/out2"
"$EVENTIDE" run --workflow synthetic --service const:5ms --workers 1 \
  --rate 100 --duration 20 --seed 5 --out "$out2" >"$ET_TMP/run2.log" 2>&1 &
launcher=$!
ET_EXTRA_PIDS+=("$launcher")
collector_under_load "$out2" "$launcher"
killed=0 last=""
while kill -0 "$launcher" 2>/dev/null && [ "$killed" -lt 6 ]; do
  pid="$(cat "$run/pids/collector.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ "$pid" != "$last" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1)) && last="$pid"
  fi
  sleep 0.2
done
rc=0
wait "$launcher" || rc=$?
expect_eq "exit status of the run killed 4 times" "$rc" 1
grep -q 'no summary.json can be written' "$ET_TMP/run2.log" ||
  fail "the launcher did not say there are no results: $(tail -n 5 "$ET_TMP/run2.log")"
[ ! -e "$out2/summary.json" ] || fail "a summary.json appeared although the collector kept dying"
[ -s "$out2/collector.log" ] || fail "no collector.log in $out2"
pass "collector killed mid-run: restarted from its journal, $sent sent, lost 0, exit 1; killed $killed times: no results, said so, logs in OUT"
