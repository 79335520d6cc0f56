#!/usr/bin/env bash
# A complete `eventide run`: every event sent is accounted for (lost == 0),
# latencies are plausible for the service time, and all result files exist.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service exp:2ms --workers 2 \
  --rate 200 --duration 3 --seed 7 --out "$out" >"$ET_TMP/run.log" 2>&1 ||
  { cat "$ET_TMP/run.log" >&2; fail "eventide run failed"; }

s="$out/summary.json"
[ -f "$s" ] || fail "no summary.json"
expect_eq schema "$(json "$s" .schema)" "eventide.summary/1"
expect_accounted "$s"
expect_eq rejected "$(json "$s" .events.rejected)" 0
expect_eq failed "$(json "$s" .events.failed)" 0
sent=$(json "$s" .events.sent)
# Poisson at 200/s for 3 s: 600 expected; 6 sigma is about 150.
[ "$sent" -gt 450 ] && [ "$sent" -lt 750 ] || fail "sent $sent, expected about 600"
# Latency includes the 2 ms mean service time, so p99 cannot be below it,
# and nothing in a healthy run takes seconds.
jq -e '.latency_ms.p50 > 0 and .latency_ms.p99 >= 2 and .latency_ms.max < 5000
       and .latency_ms.p50 <= .latency_ms.p99 and .latency_ms.p99 <= .latency_ms.max' "$s" >/dev/null ||
  fail "implausible latency: $(jq -c .latency_ms "$s")"
jq -e '.utilization_pct.busy_lifetime > 0 and .utilization_pct.busy_lifetime <= 100' "$s" >/dev/null ||
  fail "implausible lifetime utilization: $(jq -c .utilization_pct "$s")"
# Over the load window, from the broker's integrals: a fraction of the
# slots that were there (2 workers, 1 slot each), CPU known, and the one
# function is the bottleneck.
jq -e '.load_window.s == 3 and .load_window.stats_covered_s > 0
       and .load_window.stats_covered_s <= .load_window.s
       and (.functions | length == 1)
       and (.functions[0] | .busy > 0 and .busy <= 1 and .offered > 0
            and .cpu >= 0 and .instances_mean > 0 and .instances_mean <= 2.001
            and .slots_mean == .instances_mean and .arrival_rate_eps > 0)
       and .bottleneck.function == "synthetic"
       and .bottleneck.busy == .functions[0].busy' "$s" >/dev/null ||
  fail "implausible utilization over the load window: $(jq -c '{load_window, bottleneck, functions}' "$s")"
# The silent counters reach the results, and a healthy run has none.
jq -e '.broker.records_dropped == 0 and .broker.stale_results == 0
       and .events.duplicates_dropped == 0' "$s" >/dev/null ||
  fail "silent counters: $(jq -c '{broker, events}' "$s")"
grep -q '^\*\*Bottleneck:\*\* synthetic, busy' "$out/report.md" ||
  fail "report.md does not name the bottleneck first: $(head -n 5 "$out/report.md")"
jq -e '.throughput_eps.mean > 0 and .throughput_eps.peak >= .throughput_eps.mean * 0.5' "$s" >/dev/null ||
  fail "implausible throughput: $(jq -c .throughput_eps "$s")"
jq -e '.stages | length == 1 and .[0].function == "synthetic"
       and .[0].service_ms.mean >= 1' "$s" >/dev/null ||
  fail "bad stages: $(jq -c .stages "$s")"
expect_eq "workers started" "$(json "$s" .workers.started)" 2
expect_eq "run.workers" "$(json "$s" .run.workers.synthetic)" 2
for f in timeseries.csv report.md; do
  [ -s "$out/$f" ] || fail "missing $f"
done
grep -q '^results: ' "$ET_TMP/run.log" || fail "run did not print where the results are"
# The run ends as designed: the broker's DRAIN reaches every worker (each
# also has its clock-probe connection open), which leaves and reports its
# final usage at once, instead of waiting out the broker's silence.
for w in "$out"/worker-*.log; do
  grep -q 'leaving (broker sent DRAIN)' "$w" || fail "$(basename "$w"): no DRAIN from the broker: $(tail -n 3 "$w")"
  if grep -q 'no word from the broker' "$w"; then fail "$(basename "$w") waited for a broker that was gone"; fi
done
# A workflow that uses one function for two stages: each stage is named
# after its own function, in order, and every event passes all three.
cat >"$ET_TMP/twice.json" <<'EOF'
{"name": "twice", "stages": [{"function": "noop"}, {"function": "synthetic"},
                             {"function": "noop"}]}
EOF
"$EVENTIDE" run --workflow "$ET_TMP/twice.json" --service exp:1ms --rate 50 \
  --duration 1 --out "$ET_TMP/twice" >"$ET_TMP/twice.log" 2>&1 ||
  { cat "$ET_TMP/twice.log" >&2; fail "run of a workflow with a repeated function failed"; }
t="$ET_TMP/twice/summary.json"
expect_accounted "$t"
expect_eq "stage names" "$(jq -c '[.stages[].function]' "$t")" '["noop","synthetic","noop"]'
expect_eq "third stage completions" "$(json "$t" '.stages[2].completed')" "$(json "$t" .events.completed)"
expect_eq "order violations" "$(json "$t" .collector.order_violations)" 0
pass "run accounted for $sent events, p99 $(json "$s" .latency_ms.p99) ms; a repeated function's stages named in order"
