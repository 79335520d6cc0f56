#!/usr/bin/env bash
# Chaos: the collector stopped (SIGSTOP) across the end of the load, so
# the broker finishes its drain with records the collector has not taken.
# It hands them over for up to 10 s before exiting: the collector, resumed
# meanwhile, gets them all and the run ends with nothing lost.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service const:2ms --workers 1 \
  --rate 200 --duration 12 --seed 13 --out "$out" >"$ET_TMP/run.log" 2>&1 &
launcher=$!
ET_EXTRA_PIDS+=("$launcher")

# Once the load has started; the collector is resumed whatever happens.
collector_under_load "$out" "$launcher"

sleep 1
kill -STOP "$cpid"
# The broker's drain begins once the producer is done: wait for it.
for _ in $(seq 400); do
  grep -q 'handing the collector' "$run/logs/broker.log" 2>/dev/null && break
  sleep 0.05
done
grep -q 'handing the collector' "$run/logs/broker.log" ||
  fail "the broker did not hand over a backlog at its end: $(tail -n 5 "$run/logs/broker.log")"
sleep 2
kill -CONT "$cpid"

rc=0
wait "$launcher" || rc=$?
[ "$rc" -eq 0 ] || { tail -n 20 "$ET_TMP/run.log" >&2; fail "the run exited $rc"; }
s="$out/summary.json"
expect_accounted "$s"
expect_eq "collector.end" "$(json "$s" .collector.end)" complete
grep -q 'the collector took everything kept for it again' "$out/broker.log" ||
  fail "the broker did not finish handing over its backlog"
if grep -q 'did not take' "$out/broker.log"; then
  fail "the broker dropped what it kept: $(grep 'did not take' "$out/broker.log")"
fi
if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$out"/*.log; then
  fail "a sanitizer report in the logs above"
fi
pass "collector stopped across the end: the broker handed over its backlog; sent $SENT, completed $COMPLETED, lost 0"
