#!/usr/bin/env bash
# A real Prometheus scraping a pipeline: `up --prometheus` starts one on
# contrib/prometheus's config; under 100 events/s its rate of completed
# invocations is within 10% of the offered rate, the recording rules
# evaluate, and after `scale` the replica count it holds follows; `down`
# stops it and leaves its data in the results; every event is accounted.
. "$(dirname "$0")/lib.sh"
launcher_only_test "up --prometheus"

command -v prometheus >/dev/null || fail "prometheus is needed (it is one of the launcher's packages)"
command -v promtool >/dev/null || fail "promtool is needed (Debian package prometheus)"
promtool check config "$ET_ROOT/contrib/prometheus/prometheus.yml" >"$ET_TMP/check.log" 2>&1 ||
  fail "contrib/prometheus/prometheus.yml: $(cat "$ET_TMP/check.log")"
promtool check rules "$ET_ROOT/contrib/prometheus/eventide.rules.yml" >"$ET_TMP/check.log" 2>&1 ||
  fail "contrib/prometheus/eventide.rules.yml: $(cat "$ET_TMP/check.log")"

out="$ET_TMP/out"
"$EVENTIDE" up --prometheus --workflow synthetic --service const:5ms --workers 2 \
  --out "$out" >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
prom="$("$EVENTIDE" status --json | jq -r .endpoints.prometheus)"
[[ "$prom" == http://127.0.0.1:* ]] || fail "status names no Prometheus: '$prom'"
grep -q "prometheus $prom" "$ET_TMP/up.log" || fail "up did not print the Prometheus URL"

# query EXPR: the first sample's value of an instant query ('' if none).
query() {
  curl -s -f --max-time 3 "$prom/api/v1/query" --data-urlencode "query=$1" |
    jq -r '.data.result[0].value[1] // ""'
}

rate=100
"$EVENTIDE" produce --rate "$rate" --duration 22 --arrival constant >"$ET_TMP/produce.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")

# rate(...[10s]) needs ten seconds of scrapes in the load; then a few
# tries, each a second apart (one scrape can land on either side of the
# broker's once-a-second rendering).
sleep 13
got="" ok=0
for _ in 1 2 3 4 5; do
  got="$(query 'sum(rate(eventide_function_invocations_total{outcome="success"}[10s]))')"
  if [ -n "$got" ] && awk -v g="$got" -v r="$rate" 'BEGIN { exit !(g >= 0.9 * r && g <= 1.1 * r) }'; then
    ok=1; break
  fi
  sleep 1
done
[ "$ok" -eq 1 ] || fail "Prometheus's rate of completed invocations is '$got', offered $rate/s (within 10% wanted)"
rule="$(query 'eventide:events_completed:rate10s')"
[ -n "$rule" ] && awk -v g="$rule" 'BEGIN { exit !(g > 0) }' ||
  fail "the recording rule eventide:events_completed:rate10s has no positive value: '$rule'"
[ -n "$(query 'eventide:event_latency_seconds:p99_10s')" ] ||
  fail "the recording rule eventide:event_latency_seconds:p99_10s has no value"
health="$(curl -s "$prom/api/v1/targets" | jq -r '[.data.activeTargets[].health] | join(",")')"
[ "$health" = "up,up" ] || fail "targets not both up: '$health'"

# The replica count follows a scale (ready + busy instances).
serving() { query 'sum(function:eventide_function_replicas:serving)'; }
expect_eq "replicas before the scale" "$(serving)" 2
"$EVENTIDE" scale synthetic 4 >/dev/null
seen=""
for _ in $(seq 1 40); do
  seen="$(serving)"
  [ "$seen" = 4 ] && break
  sleep 0.5
done
expect_eq "replicas in Prometheus after scale synthetic 4" "$seen" 4

wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "producer failed"; }
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
! curl -s --max-time 1 -o /dev/null "$prom/-/ready" || fail "Prometheus still answers after down"
[ -d "$out/prometheus/wal" ] || fail "no Prometheus data in $out/prometheus"
expect_accounted "$out/summary.json"
pass "Prometheus saw $got invocations/s of $rate offered, 2 -> 4 replicas after scale; data kept in OUT/prometheus; lost 0"
