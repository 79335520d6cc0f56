#!/usr/bin/env bash
# Chaos: the broker restarts under load. `up` with 3 workers and
# --supervise, a producer under load, `restart broker` mid-load: every
# worker registers again with the new broker and events keep completing.
# Then a crash (kill -9) with nobody asking: the supervisor restarts the
# broker, the workers register again, a second producer's events complete.
# `down` still writes summary.json, and every sent event is accounted for
# (events lost in the crashes are counted lost: no reason yet). No timing
# assertions: only generous waits.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" up --workflow synthetic --service exp:5ms --workers 3 \
  --supervise 3 --out "$out" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
run="$(readlink -f "$EVENTIDE_STATE/current")"
# shellcheck disable=SC1091
. "$run/env"

# wait_instances N: the broker (whichever runs now) has N instances ready.
wait_instances() {
  "$ET_BIN_DIR/eventide-status" --stats "$STATS" --wait-instances "$1" \
    --timeout 60 >/dev/null 2>&1
}
broker_pid() { cat "$run/pids/broker.pid"; }
# running PID: alive and not a zombie (init may reap a killed broker late).
running() {
  local stat
  stat="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ "$stat" != Z* ]]
}

"$EVENTIDE" produce --rate 200 --duration 8 --arrival poisson \
  >"$ET_TMP/produce1.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")
sleep 3
first="$(broker_pid)"
"$EVENTIDE" restart broker >"$ET_TMP/restart.log" 2>&1 ||
  { cat "$ET_TMP/restart.log" >&2; fail "restart broker failed"; }
second="$(broker_pid)"
[ "$second" != "$first" ] || fail "restart broker kept pid $first"
running "$first" && fail "the old broker $first still runs"
wait_instances 3 || fail "the workers did not all register again after restart broker"
# The producer lives through the restart: its DEALER reconnects, and its
# wait for DONE_ACK is bounded.
wait "$producer" || { cat "$ET_TMP/produce1.log" >&2; fail "producer 1 failed"; }

# A crash nobody asked for: the supervisor notices and restarts.
kill -KILL "$second"
for _ in $(seq 1 600); do
  third="$(broker_pid)"
  [ "$third" != "$second" ] && running "$third" && break
  sleep 0.1
done
[ "$third" != "$second" ] || fail "the supervisor did not restart the broker within 60 s"
wait_instances 3 || fail "the workers did not all register again after the crash"
"$EVENTIDE" produce --rate 100 --duration 2 --arrival poisson \
  >"$ET_TMP/produce2.log" 2>&1 ||
  { cat "$ET_TMP/produce2.log" >&2; fail "producer 2 failed"; }

# The supervisor is one of the run's processes; down stops it before the
# broker, so the broker's deliberate stop is not taken for a crash.
"$EVENTIDE" status --json >"$ET_TMP/status.json"
jq -e '.processes | map(select(.role == "supervisor" and .state == "running")) | length == 1' \
  "$ET_TMP/status.json" >/dev/null || fail "no running supervisor: $(cat "$ET_TMP/status.json")"
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
running "$third" && fail "down left the broker $third running"

s="$out/summary.json"
[ -f "$s" ] || fail "down wrote no summary.json"
expect_balanced "$s"
sent=$SENT completed=$COMPLETED failed=$FAILED rejected=$REJECTED lost=$LOST
# Every lost event has its reason: the collector saw three brokers start,
# so what a dead one held or never received is broker_restart; the rest
# is what `down` (a signal) left unfinished.
expect_eq "broker.restarts" "$(json "$s" .broker.restarts)" 2
jq -e '.events.lost_reasons | keys - ["broker_restart", "signal"] | length == 0' "$s" \
  >/dev/null || fail "unexpected lost reasons: $(jq -c .events.lost_reasons "$s")"

# The supervisor would hide a crash of its own making: under the
# sanitizers, no process may have reported one.
if grep -l -E 'ERROR: AddressSanitizer|runtime error:' "$out"/*.log; then
  fail "a sanitizer report in the logs above"
fi

# Two restarts in the launcher's log of the run, and the last broker
# completed events (its counters start at zero).
log="$out/launcher.log"
[ -f "$log" ] || fail "no launcher.log in the results"
expect_eq "restarts logged" "$(grep -c 'broker restarted' "$log")" 2
grep -q 'broker restarted (by hand' "$log" || fail "the restart by hand is not logged"
grep -q 'broker restarted (supervisor' "$log" || fail "the supervisor's restart is not logged"
last_done="$(grep 'broker done:' "$out/broker.log" | tail -n 1)"
last_completed="$(sed -n 's/.*completed \([0-9]*\),.*/\1/p' <<<"$last_done")"
[ "${last_completed:-0}" -gt 0 ] ||
  fail "the restarted broker completed nothing: $last_done"
expect_eq "broker starts" "$(grep -c 'broker up:' "$out/broker.log")" 3
pass "2 broker restarts under load (by hand, then by the supervisor): 3 workers back each time; sent $sent = completed $completed + failed $failed + rejected $rejected + lost $lost $(jq -c .events.lost_reasons "$s"); the last broker completed $last_completed"
