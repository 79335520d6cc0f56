#!/usr/bin/env bash
# Trace replay: the producer sends the Azure LLM trace's real arrival times
# at the given speed-up, and the synthetic function takes its service time
# from each request's token counts.
. "$(dirname "$0")/lib.sh"

trace="$ET_ROOT/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"
[ -f "$trace" ] || fail "missing $trace"
speedup=60
duration=5
# Requests in the trace's first duration*speedup seconds.
want=$(awk -F, -v span=$((duration * speedup)) '
  NR == 1 { next }
  { split($1, dt, /[- :]/); t = mktime(dt[1] " " dt[2] " " dt[3] " " dt[4] " " dt[5] " " int(dt[6])) + ($1 ~ /\./ ? ("0." substr($1, index($1, ".") + 1)) : 0)
    if (NR == 2) t0 = t
    if (t - t0 < span) n++ }
  END { print n }' "$trace")
out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service tokens:0.001ms:0.02ms --workers 4 \
  --arrival "trace:$trace" --speedup "$speedup" --duration "$duration" \
  --out "$out" >"$ET_TMP/run.log" 2>&1 || { cat "$ET_TMP/run.log" >&2; fail "run failed"; }
s="$out/summary.json"
expect_accounted "$s"
sent=$(json "$s" .events.sent)
# The boundary request may fall either side of the cut-off.
[ $((sent - want)) -ge -1 ] && [ $((sent - want)) -le 1 ] ||
  fail "sent $sent, the trace has $want requests in its first $((duration * speedup)) s"
jq -e '.run.arrival | startswith("trace:")' "$s" >/dev/null || fail "arrival: $(jq -c .run.arrival "$s")"
# Token-driven service times: prompt and output lengths differ per request.
jq -e '.stages[0].service_ms.p99 > .stages[0].service_ms.p50' "$s" >/dev/null ||
  fail "service times do not vary: $(jq -c .stages[0].service_ms "$s")"
pass "replayed $sent trace arrivals at x$speedup"
