#!/usr/bin/env bash
# An MQTT source ends with its devices' end markers. A device that starts
# after every device seen so far has ended would be missed; with
# --mqtt-devices 2 the producer waits for the second device's end marker
# (however late it comes) and every reading of both is an event, while
# without it the input ends at the first device's marker.
. "$(dirname "$0")/lib.sh"

test_mosquitto "$ET_TMP/mq"
port="$MQ_PORT"

pub() { mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t "$topic" -m "$1"; }
# device NAME N: N readings, then the end marker.
device() {
  local i
  for i in $(seq 0 $(($2 - 1))); do
    pub "{\"device\":\"$1\",\"seq\":$i,\"series\":\"s\",\"ts\":$((i + 1)),\"value\":$i}"
  done
  pub "{\"device\":\"$1\",\"end\":true,\"count\":$2}"
}

# run_with OUT [--mqtt-devices N]: the run, device a once the producer
# runs and device b once a's readings have been served.
run_with() {
  local out="$1"
  shift
  topic="eventide/late/$(basename "$out")"
  # The producer's persistent session exists before anything is published.
  mosquitto_sub -h 127.0.0.1 -p "$port" -i eventide-producer-1 -c -q 1 \
    -t "$topic" -E || fail "cannot create the producer's session"
  "$EVENTIDE" run --workflow noop --workers 1 --duration 30 \
    --source "mqtt://127.0.0.1:$port/$topic" "$@" --out "$out" >"$ET_TMP/$(basename "$out").log" 2>&1 &
  local launcher=$!
  collector_under_load "$out" "$launcher"
  device a 3
  # b starts once the pipeline has served a's readings: the producer has
  # taken a's end marker by then.
  local done=0
  for _ in $(seq 300); do
    done="$("$ET_BIN_DIR/eventide-status" --stats "ipc://$run/stats.ipc" --json --timeout 2 \
      2>/dev/null | jq -r '.completed // 0')" || done=0
    [ "${done:-0}" -ge 3 ] && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.1
  done
  sleep 1 # a's end marker, just behind its readings, is taken by then
  device b 4
  wait "$launcher" || { cat "$ET_TMP/$(basename "$out").log" >&2; fail "run $out failed"; }
  trap et_cleanup EXIT
}

run_with "$ET_TMP/waited" --mqtt-devices 2
s="$ET_TMP/waited/summary.json"
expect_accounted "$s"
expect_eq "events with --mqtt-devices 2" "$(json "$s" .events.sent)" 7
expect_eq completed "$(json "$s" .events.completed)" 7
grep -q 'input over (end markers): 2 of 2 devices' "$ET_TMP/waited.log" ||
  fail "the input did not end on both end markers: $(grep 'input over' "$ET_TMP/waited.log")"

run_with "$ET_TMP/unwaited"
s="$ET_TMP/unwaited/summary.json"
expect_eq "events without --mqtt-devices" "$(json "$s" .events.sent)" 3
pass "a late device is waited for with --mqtt-devices 2 (7 events), missed without (3)"
