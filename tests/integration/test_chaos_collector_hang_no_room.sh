#!/usr/bin/env bash
# Chaos: the collector stopped (SIGSTOP) mid-run while the broker has no
# room to keep what it misses (--backlog-memory 0, --spill-max 1). The
# broker still never waits; the records it cannot keep are dropped and
# counted: summary.json has broker.records_dropped > 0, and the events
# whose records were dropped are lost with a reason, never silently.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service const:2ms --workers 1 \
  --rate 200 --duration 13 --seed 12 --backlog-memory 0 --spill-max 1 \
  --drain-timeout 2 --out "$out" >"$ET_TMP/run.log" 2>&1 &
launcher=$!
ET_EXTRA_PIDS+=("$launcher")

# Once the load has started; the collector is resumed whatever happens.
collector_under_load "$out" "$launcher"

sleep 2
kill -STOP "$cpid"
sleep 8
kill -CONT "$cpid"

wait "$launcher" || true
s="$out/summary.json"
[ -f "$s" ] || { tail -n 20 "$ET_TMP/run.log" >&2; fail "no summary.json"; }
expect_balanced "$s"
dropped="$(json "$s" .broker.records_dropped)"
[ "$dropped" -gt 0 ] || fail "records were dropped but broker.records_dropped is $dropped"
[ "$LOST" -gt 0 ] || fail "records were dropped but no event is lost"
grep -q 'the collector backlog cannot keep a' "$out/broker.log" ||
  fail "the broker did not log what it dropped"
if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$out"/*.log; then
  fail "a sanitizer report in the logs above"
fi
pass "no room for the backlog: $dropped records dropped and counted, $LOST events lost ($(jq -c .events.lost_reasons "$s"))"
