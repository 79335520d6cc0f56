#!/usr/bin/env bash
# The long-running form: up, load, scale up and down by hand while the load
# runs, then to zero with a backlog (which then counts as cold), down.
# Scaling in must not lose an accepted event.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" up --workflow synthetic --service exp:5ms --workers 1 \
  --out "$out" >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }

"$EVENTIDE" status --json >"$ET_TMP/status.json"
jq -e '.processes | map(select(.role == "worker" and .state == "running")) | length == 1' \
  "$ET_TMP/status.json" >/dev/null || fail "status: $(cat "$ET_TMP/status.json")"

"$EVENTIDE" produce --rate 150 --duration 6 --arrival poisson >"$ET_TMP/produce.log" 2>&1 &
ET_EXTRA_PIDS+=($!)
producer=$!

count_workers() {
  "$EVENTIDE" status --json | jq '[.processes[] | select(.role == "worker" and .state == "running")] | length'
}
sleep 1
"$EVENTIDE" scale synthetic 3 >/dev/null
expect_eq "workers after scale up" "$(count_workers)" 3
sleep 1.5
"$EVENTIDE" scale synthetic 1 >/dev/null
expect_eq "workers after scale down" "$(count_workers)" 1
sleep 1
"$EVENTIDE" scale synthetic 2 >/dev/null
expect_eq "workers after scale up again" "$(count_workers)" 2

wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "producer failed"; }

# Scale to zero with a backlog: 1000 events at 5x one instance's capacity,
# then its last instance leaves. What waits in the queue now waits for a
# cold start, so it counts as cold although it arrived while an instance
# was there (nothing else in this test is cold: the pipeline never had
# zero instances before).
"$EVENTIDE" scale synthetic 1 >/dev/null
"$EVENTIDE" produce --rate 1000 --duration 1 --arrival constant >"$ET_TMP/burst.log" 2>&1 ||
  { cat "$ET_TMP/burst.log" >&2; fail "burst producer failed"; }
"$EVENTIDE" scale synthetic 0 >/dev/null
expect_eq "workers after scale to zero" "$(count_workers)" 0
"$EVENTIDE" scale synthetic 1 >/dev/null
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
[ ! -e "$EVENTIDE_STATE/current" ] || fail "down left the pipeline registered"

s="$out/summary.json"
expect_accounted "$s"
expect_eq failed "$(json "$s" .events.failed)" 0
started=$(json "$s" .workers.started)
[ "$started" -ge 5 ] || fail "only $started workers started"
cold="$(json "$s" '.stages[0].cold_events')"
[ "$cold" -ge 100 ] || fail "only $cold events counted cold after scaling to zero with a backlog"
grep -q 'no instance left; [0-9]* queued event(s) now wait for a cold start' "$out/broker.log" ||
  fail "the broker did not say the backlog now waits for a cold start"
pass "scaled 1 -> 3 -> 1 -> 2 under load, then to zero with a backlog ($cold events cold); $(json "$s" .events.completed) completed, lost 0"
