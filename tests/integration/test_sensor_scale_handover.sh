#!/usr/bin/env bash
# State that survives scaling: the sensor workflow on a NAB series under
# `up`, its keyed functions (preprocess, anomaly) scaled 1 -> 2 -> 4 -> 1
# -> 2 while the series flows. The series' key moves between instances,
# and each time the broker hands its state (the last value, the
# baseline) from the old instance to the new one, so every sample gets
# exactly the delta, score and alarm it gets with one instance for the
# whole run, and the accuracy figures are the same. Without the handover
# the new instance starts the series afresh and the scores differ.
. "$(dirname "$0")/lib.sh"

series="$ET_ROOT/data/nab/realKnownCause/ambient_temperature_system_failure.csv"
[ -f "$series" ] || fail "missing $series"
rows=$(($(wc -l <"$series") - 1))

# One instance per function, fixed: the reference.
fixed="$ET_TMP/fixed"
"$EVENTIDE" run --workflow sensor --workers 1 --source "nab:$series" \
  --speedup 8000000 --out "$fixed" >"$ET_TMP/fixed.log" 2>&1 ||
  { cat "$ET_TMP/fixed.log" >&2; fail "fixed run failed"; }
expect_accounted "$fixed/summary.json"

out="$ET_TMP/out"
"$EVENTIDE" up --workflow sensor --workers 1 --out "$out" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
# About 6 s of samples (a year of hourly readings, 5e6 times faster).
"$EVENTIDE" produce --source "nab:$series" --speedup 5000000 \
  >"$ET_TMP/produce.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")

# delivered: samples the sink has written so far.
delivered() { [ -f "$out/decisions.jsonl" ] && wc -l <"$out/decisions.jsonl" || echo 0; }
# wait_delivered N: until N samples are through (or the producer is done).
wait_delivered() {
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(delivered)" -ge "$1" ] && return 0
    kill -0 "$producer" 2>/dev/null || return 0
    sleep 0.05
  done
  fail "only $(delivered) of $rows samples delivered after 30 s"
}
# Each change while the series flows, at a point of its progress.
step=0
for counts in 2 4 1 2; do
  step=$((step + 1))
  wait_delivered $((rows * step / 6))
  "$EVENTIDE" scale anomaly "$counts" >/dev/null
  "$EVENTIDE" scale preprocess "$counts" >/dev/null
done
wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "producer failed"; }
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }

s="$out/summary.json"
expect_accounted "$s"
expect_eq sent "$(json "$s" .events.sent)" "$rows"
expect_eq completed "$(json "$s" .events.completed)" "$rows"
peak="$(jq -r '.functions[] | select(.function == "anomaly") | .peak_instances' "$s")"
[ "$peak" -ge 2 ] || fail "anomaly never ran more than $peak instance(s)"

# The key moved, and its state went with it every time.
line="$(grep 'key state handover:' "$out/broker.log")" || fail "no handover line in broker.log"
moves="$(sed -n 's/.*keyed dispatch: [0-9]* event(s) sent to their key.s instance, \([0-9]*\) key move.*/\1/p' "$out/broker.log")"
handed="$(sed -n 's/.*key state handover: \([0-9]*\) state(s) handed over.*/\1/p' <<<"$line")"
lost="$(sed -n 's/.*handed over, \([0-9]*\) lost.*/\1/p' <<<"$line")"
[ -n "$moves" ] && [ "$moves" -ge 1 ] || fail "the key never moved: $(grep 'keyed dispatch' "$out/broker.log")"
[ -n "$handed" ] && [ "$handed" -ge 1 ] || fail "no state handed over: $line"
expect_eq "key states lost" "$lost" 0
# summary.json says the same.
expect_eq "summary key_handovers" "$(json "$s" .broker.key_handovers)" "$handed"
expect_eq "summary key_state_lost" "$(json "$s" .broker.key_state_lost)" 0

# Every sample: the same delta, score and alarm as with one instance.
per_sample() { jq -c '[.ts, .delta, .score, .alarm]' "$1/decisions.jsonl" | sort; }
per_sample "$fixed" >"$ET_TMP/fixed.samples"
per_sample "$out" >"$ET_TMP/scaled.samples"
expect_eq "samples delivered" "$(wc -l <"$ET_TMP/scaled.samples")" "$rows"
cmp -s "$ET_TMP/fixed.samples" "$ET_TMP/scaled.samples" ||
  fail "samples scored differently after scaling: $(diff "$ET_TMP/fixed.samples" "$ET_TMP/scaled.samples" | head -4 | tr '\n' ' ')"
one="$(jq -cS .accuracy "$fixed/summary.json")"
scaled="$(jq -cS .accuracy "$s")"
[ "$one" = "$scaled" ] || fail "accuracy changed with scaling: fixed $one; scaled $scaled"
pass "$rows samples, $moves key move(s), $handed state(s) handed over, 0 lost: accuracy $scaled as with one instance"
