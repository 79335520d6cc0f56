#!/usr/bin/env bash
# Autoscaling for real: a step up in load makes eventide-autoscaler (kpa,
# windows shortened so the test stays short) start worker processes, and a
# quiet period brings them back to the minimum. No event is lost, and the
# decisions are logged with their inputs.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" up --workflow synthetic --service const:20ms --workers 1 \
  --autoscale kpa --min 1 --max 5 --target 1 \
  --autoscale-arg --tick=0.5 --autoscale-arg --stable-window=4 \
  --autoscale-arg --panic-window=1 \
  --out "$out" >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }

count_workers() {
  "$EVENTIDE" status --json | jq '[.processes[] | select(.role == "worker" and .state == "running")] | length'
}
# 1 instance serves 50/s; 150/s needs 3 or more.
"$EVENTIDE" produce --rate 150 --duration 6 --arrival constant >"$ET_TMP/produce.log" 2>&1 ||
  { cat "$ET_TMP/produce.log" >&2; fail "producer failed"; }
peak=$(jq -s '[.[] | select(.function == "synthetic") | .desired] | max' "$out/autoscaler.jsonl")
[ "$peak" -ge 3 ] || fail "the autoscaler asked for at most $peak instances"
# Its /metrics says the same: a promtool-clean scrape, decisions taken,
# and the replicas it wants (kpa, by function) no more than it ever asked.
murl="$("$EVENTIDE" status --json | jq -r .endpoints.metrics_autoscaler)"
[[ "$murl" == http://127.0.0.1:*/metrics ]] || fail "status names no autoscaler metrics: '$murl'"
curl -s -f --max-time 3 -o "$ET_TMP/autoscaler.prom" "$murl" || fail "cannot scrape $murl"
promtool check metrics <"$ET_TMP/autoscaler.prom" >"$ET_TMP/promtool.log" 2>&1 ||
  fail "promtool on the autoscaler's metrics: $(cat "$ET_TMP/promtool.log")"
desired="$(awk '$1 == "eventide_autoscaler_desired_replicas{function=\"synthetic\",policy=\"kpa\"}" { print $2 }' "$ET_TMP/autoscaler.prom")"
[ -n "$desired" ] && [ "$desired" -ge 1 ] && [ "$desired" -le "$peak" ] ||
  fail "autoscaler metrics: desired replicas '$desired' (peak decided $peak)"
decisions="$(awk '$1 == "eventide_autoscaler_decisions_total" { print $2 }' "$ET_TMP/autoscaler.prom")"
[ -n "$decisions" ] && [ "$decisions" -gt 0 ] || fail "autoscaler metrics: decisions '$decisions'"
# Quiet: back to the minimum within the stable window plus the drain.
for _ in $(seq 1 60); do
  [ "$(count_workers)" -eq 1 ] && break
  sleep 0.5
done
expect_eq "workers after the quiet period" "$(count_workers)" 1
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }

s="$out/summary.json"
expect_accounted "$s"
expect_eq failed "$(json "$s" .events.failed)" 0
started=$(json "$s" .workers.started)
[ "$started" -ge 3 ] || fail "only $started workers ever started"
jq -e '.run.workers.synthetic >= 3' "$s" >/dev/null || fail "peak instances: $(jq -c .run.workers "$s")"
pass "scaled 1 -> $peak -> 1 on a load step; $started instances, lost 0"
