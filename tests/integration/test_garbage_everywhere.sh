#!/usr/bin/env bash
# Garbage sent to every bound socket (the broker's frontend and backend,
# the collector's PULL) is counted and dropped; the pipeline keeps serving
# and accounts for every real event afterwards.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" up --workflow noop --workers 2 --out "$out" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
st="$("$EVENTIDE" status --json)"
frontend=$(jq -r .endpoints.frontend <<<"$st")
backend=$(jq -r .endpoints.backend <<<"$st")
collector=$(jq -r .endpoints.collector <<<"$st")

ASAN_OPTIONS=detect_leaks=0 "$ET_BIN_DIR/et-garbage" "$frontend" dealer 3000 1 >/dev/null || fail "garbage to the frontend"
ASAN_OPTIONS=detect_leaks=0 "$ET_BIN_DIR/et-garbage" "$backend" dealer 3000 2 >/dev/null || fail "garbage to the backend"
ASAN_OPTIONS=detect_leaks=0 "$ET_BIN_DIR/et-garbage" "$collector" push 3000 3 >/dev/null || fail "garbage to the collector"

"$EVENTIDE" produce --rate 200 --duration 2 --arrival constant >"$ET_TMP/produce.log" 2>&1 ||
  { cat "$ET_TMP/produce.log" >&2; fail "producer failed after the garbage"; }
grep -q "sent 400 (send_failed 0), rejected 0" "$ET_TMP/produce.log" ||
  fail "producer: $(cat "$ET_TMP/produce.log")"

# Every process is still running, and the broker counted what it dropped.
"$EVENTIDE" status --json >"$ET_TMP/status.json"
jq -e '[.processes[] | select(.state != "running")] | length == 0' "$ET_TMP/status.json" >/dev/null ||
  fail "a process died: $(jq -c .processes "$ET_TMP/status.json")"
bad=$(jq -r '.broker.bad_messages' "$ET_TMP/status.json")
# Both ends cap message size (ZMQ_MAXMSGSIZE): an oversized frame closes
# that connection, and what was queued behind it goes with it.
[ "$bad" -ge 200 ] || fail "broker counted only $bad bad messages"

"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || fail "down failed"
s="$out/summary.json"
expect_accounted "$s"
expect_eq completed "$(json "$s" .events.completed)" 400
cbad=$(json "$s" .collector.bad_messages)
[ "$cbad" -ge 100 ] || fail "collector counted only $cbad bad messages"
pass "9000 malformed messages dropped (broker $bad, collector $cbad); 400 real events completed"
