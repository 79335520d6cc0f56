#!/usr/bin/env bash
# `eventide down` (SIGTERM to the broker, then the workers, then the
# collector) in the middle of load: the broker refuses new events, finishes
# every admitted one, and nothing accepted is lost.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" up --workflow synthetic --service exp:10ms --workers 2 \
  --out "$out" >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
"$EVENTIDE" produce --rate 150 --duration 6 --arrival poisson >"$ET_TMP/produce.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")
sleep 2
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
wait "$producer" || true

s="$out/summary.json"
accepted=$(json "$s" .events.accepted)
completed=$(json "$s" .events.completed)
failed=$(json "$s" .events.failed)
[ "$accepted" -gt 100 ] || fail "only $accepted accepted before the drain"
expect_eq "accepted = completed + failed" "$accepted" "$((completed + failed))"
expect_eq "failed (drain had time to finish everything)" "$failed" 0
expect_eq lost "$(json "$s" .events.lost)" 0
pass "drained under load: $accepted accepted, all completed"
