#!/usr/bin/env bash
# Chaos: kill -9 the broker in the middle of `eventide run`. The run still
# ends with results: exit status 1, summary.json with end broker_lost,
# sent (the producer's own DONE, sent straight to the collector) equal to
# completed + failed + rejected + lost, every lost event under a reason in
# events.lost_reasons, and every log in OUT.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
# Two workers at 20 ms for 200 events/s: more than they can serve, so the
# broker holds a queue and events in flight when it dies.
"$EVENTIDE" run --workflow synthetic --service const:20ms --workers 2 \
  --rate 200 --duration 10 --seed 11 --out "$out" >"$ET_TMP/run.log" 2>&1 &
launcher=$!
ET_EXTRA_PIDS+=("$launcher")

# The run's directory, from its collector's command line (its own --out),
# then the broker's pid; the producer's HELLO reaching the collector says
# the load has started.
run=""
for _ in $(seq 600); do
  found="$(run_collector "$out")"
  if [ -n "$found" ]; then
    run="${found#* }"
    [ -f "$run/pids/producer-1.pid" ] &&
      grep -q 'producer 1 started' "$run/logs/collector.log" && break
  fi
  kill -0 "$launcher" 2>/dev/null || { cat "$ET_TMP/run.log" >&2; fail "the run ended before the load started"; }
  sleep 0.05
done
[ -n "$run" ] && [ -f "$run/pids/broker.pid" ] || fail "no broker found for the run"
bpid="$(cat "$run/pids/broker.pid")"
# Mid-run: some of the load is through, most is still to come.
sleep 2
kill -KILL "$bpid"

rc=0
wait "$launcher" || rc=$?
expect_eq "exit status of the run" "$rc" 1
grep -q 'the broker died during the run' "$ET_TMP/run.log" ||
  fail "the launcher did not say the broker died: $(tail -n 5 "$ET_TMP/run.log")"

s="$out/summary.json"
[ -f "$s" ] || fail "no summary.json after the broker died"
expect_eq end "$(json "$s" .collector.end)" broker_lost
# Every lost event has a reason, and here that is the broker's death.
expect_balanced "$s"
sent=$SENT completed=$COMPLETED failed=$FAILED rejected=$REJECTED lost=$LOST
if [ "$lost" -gt 0 ]; then
  expect_eq "lost_reasons" "$(jq -c .events.lost_reasons "$s")" "{\"broker_lost\":$lost}"
fi
# sent is the producer's own count, from its DONE to the collector.
expect_eq "producers done" "$(json "$s" .producers.done)" 1
grep -q "producer 1 done: $sent sent" "$out/collector.log" ||
  fail "sent $sent is not the producer's DONE: $(grep 'producer 1 done' "$out/collector.log")"
# Logs in OUT, and every path the launcher named exists.
for f in broker.log collector.log; do
  [ -s "$out/$f" ] || fail "no $f in $out"
done
ls "$out"/worker-synthetic-*.log >/dev/null 2>&1 || fail "no worker logs in $out"
for p in $(grep -o "$out/[A-Za-z0-9_.-]*\.log" "$ET_TMP/run.log" | sort -u); do
  [ -f "$p" ] || fail "the launcher named $p, which does not exist"
done
[ ! -e "$run" ] || fail "the run directory $run was left behind"
pass "broker killed mid-run: exit 1, end broker_lost, sent $sent = completed $completed + failed $failed + rejected $rejected + lost $lost ($(jq -c .events.lost_reasons "$s"))"
