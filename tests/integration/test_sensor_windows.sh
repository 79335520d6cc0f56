#!/usr/bin/env bash
# The sensor workflow on a real NAB series, replayed from its own
# timestamps: labelled anomaly windows are reported as detected or missed,
# with the false alarms.
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
pass "$rows samples; windows $(jq -c .accuracy "$s")"
