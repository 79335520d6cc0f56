#!/usr/bin/env bash
# The sensor workflow on a real NAB series, replayed from its own
# timestamps: labelled anomaly windows are reported as detected or missed,
# with the false alarms. Then again with two instances per function: the
# workflow's preprocess and anomaly stages are keyed by series, so each
# series still goes to one instance and the accuracy figures are exactly
# those of one instance (without keys they are not: each instance would
# keep the baseline of an interleaved half of the series).
. "$(dirname "$0")/lib.sh"

series="$ET_ROOT/data/nab/realKnownCause/ec2_request_latency_system_failure.csv"
[ -f "$series" ] || fail "missing $series"
rows=$(($(wc -l <"$series") - 1))
out="$ET_TMP/out"
# About 14 days of 5-minute samples, 300000 times faster: about 4 s.
"$EVENTIDE" run --workflow sensor --workers 1 --source "nab:$series" \
  --speedup 300000 --out "$out" >"$ET_TMP/run.log" 2>&1 ||
  { cat "$ET_TMP/run.log" >&2; fail "run failed"; }
s="$out/summary.json"
expect_accounted "$s"
expect_eq sent "$(json "$s" .events.sent)" "$rows"
expect_eq "order violations" "$(json "$s" .collector.order_violations)" 0
jq -e '.accuracy.kind == "windows" and .accuracy.windows >= 1
       and .accuracy.detected + .accuracy.missed == .accuracy.windows
       and .accuracy.detected >= 1 and .accuracy.events_in_windows > 0' "$s" >/dev/null ||
  fail "accuracy: $(jq -c .accuracy "$s")"
# The NAB score: better than raising no alert at all (0), at most perfect
# (100); alerting on every sample, or on none, scores 0 or less.
jq -e '.accuracy.nab_score | type == "number" and . > 0 and . <= 100' "$s" >/dev/null ||
  fail "NAB score: $(jq -c .accuracy "$s")"

out2="$ET_TMP/out2"
"$EVENTIDE" run --workflow sensor --workers 2 --source "nab:$series" \
  --speedup 300000 --out "$out2" >"$ET_TMP/run2.log" 2>&1 ||
  { cat "$ET_TMP/run2.log" >&2; fail "run with 2 instances failed"; }
s2="$out2/summary.json"
expect_accounted "$s2"
expect_eq "instances of anomaly" \
  "$(jq -r '.functions[] | select(.function == "anomaly") | .peak_instances' "$s2")" 2
one="$(jq -cS .accuracy "$s")"
two="$(jq -cS .accuracy "$s2")"
[ "$one" = "$two" ] ||
  fail "accuracy depends on the instance count: 1: $one; 2: $two"
# Every sample went to its series' instance; none had to move.
grep -q "keyed dispatch: $((2 * rows)) event(s) sent to their key's instance, 0 key move" \
  "$out2/broker.log" || fail "broker: $(grep 'keyed dispatch' "$out2/broker.log")"
pass "$rows samples; windows $(jq -c .accuracy "$s"), the same with 2 instances"
