#!/usr/bin/env bash
# A keyed instance that dies takes its keys' state with it, and the run
# says so: the sensor workflow under `up`, its only anomaly instance
# killed (-9) while a NAB series flows, a new one started with `eventide
# scale`. The series' next sample goes to the new instance, which starts
# the series afresh; the broker counts the lost state (summary.json
# broker.key_state_lost, /metrics, broker.log) and no event is lost.
. "$(dirname "$0")/lib.sh"

series="$ET_ROOT/data/nab/realKnownCause/ambient_temperature_system_failure.csv"
[ -f "$series" ] || fail "missing $series"
rows=$(($(wc -l <"$series") - 1))
out="$ET_TMP/out"
"$EVENTIDE" up --workflow sensor --workers 1 --out "$out" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
"$EVENTIDE" produce --source "nab:$series" --speedup 5000000 \
  >"$ET_TMP/produce.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")

delivered() { [ -f "$out/decisions.jsonl" ] && wc -l <"$out/decisions.jsonl" || echo 0; }
for ((i = 0; i < 600; i++)); do
  [ "$(delivered)" -ge $((rows / 4)) ] && break
  kill -0 "$producer" 2>/dev/null || fail "the series ended before a quarter was delivered"
  sleep 0.05
done
[ "$(delivered)" -ge $((rows / 4)) ] || fail "only $(delivered) samples delivered after 30 s"
victim="$("$EVENTIDE" status --json |
  jq -r '.processes[] | select(.function == "anomaly" and .state == "running") | .pid')"
[ -n "$victim" ] || fail "no running anomaly instance"
kill -9 "$victim"
"$EVENTIDE" scale anomaly 1 >/dev/null
wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "producer failed"; }
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }

s="$out/summary.json"
expect_accounted "$s"
expect_eq completed "$(json "$s" .events.completed)" "$rows"
lost="$(json "$s" .broker.key_state_lost)"
[ "$lost" -ge 1 ] || fail "the killed instance's key state was not counted lost: $(jq -c .broker "$s")"
grep -q "key state handover: [0-9]* state(s) handed over, $lost lost" "$out/broker.log" ||
  fail "broker.log: $(grep 'key state handover' "$out/broker.log")"
grep -q "state of key [0-9a-f]* lost (its holder is gone)" "$out/broker.log" ||
  fail "broker.log does not say whose state was lost"
pass "anomaly instance killed mid-series: $lost key state(s) lost and counted, $rows samples completed"
