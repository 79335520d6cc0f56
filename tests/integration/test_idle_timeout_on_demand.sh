#!/usr/bin/env bash
# Scale to zero by keep-alive: with --autoscale kpa --min 0 --idle-timeout 1
# and an event every 2 s, each instance leaves on its own a second after
# its event. The autoscaler must take those departures for what they are
# (it sends a scale command only when its decision changes, and its
# decision does not change), start an instance again when the next event
# is queued and not before (no restart without work), and the run must
# not stop it while a function with queued events has no instance.
# Every instance's lifetime reaches the collector.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service const:5ms --mode sleep \
  --workers 0 --autoscale kpa --min 0 --idle-timeout 1 \
  --autoscale-arg --tick=0.5 --arrival constant --rate 0.5 --duration 8 \
  --out "$out" >"$ET_TMP/run.log" 2>&1 || { cat "$ET_TMP/run.log" >&2; fail "run failed"; }

s="$out/summary.json"
expect_accounted "$s"
sent=$(json "$s" .events.sent)
expect_eq "events sent" "$sent" 4
expect_eq completed "$(json "$s" .events.completed)" "$sent"
expect_eq failed "$(json "$s" .events.failed)" 0
left=$(grep -c 'left on their own' "$out/autoscaler.log" || true)
[ "$left" -ge 1 ] || fail "the autoscaler never saw an instance leave on its own"
idle=$(cat "$out"/worker-synthetic-*.log | grep -c 'leaving (idle timeout)' || true)
[ "$idle" -ge 1 ] || fail "no instance left on its idle timeout"
starts=$(grep -c 'synthetic: scaling [0-9]* -> ' "$out/autoscaler.log" || true)
[ "$starts" -ge 2 ] || fail "only $starts scale command(s): an instance that left was not replaced"
# On demand: at most one start per event (a restart without work would
# start one after every idle departure).
[ "$starts" -le "$sent" ] || fail "$starts scale commands for $sent events: instances restarted without work"
# Every instance started is known to the collector, also one started for
# the last event (it reports as soon as it is ready).
logs=$(ls "$out"/worker-synthetic-*.log | wc -l)
expect_eq "instances in summary.json" "$(json "$s" .workers.started)" "$logs"
pass "$sent events, $idle idle departures, $starts starts on demand, lost 0"
