#!/usr/bin/env bash
# The sensor workflow fed over MQTT (run --ingest mqtt): eventide sensors
# publishes a NAB series to the run's private mosquitto, the producer
# subscribes. The test adds readings of its own (a malformed payload of
# each kind, a msgpack reading, a duplicate, a gap) and restarts
# mosquitto mid-run: ingestion resumes, and every published reading is
# one event (events = readings published - malformed, lost = 0), the
# malformed ones and the duplicate counted and skipped, the gap counted.
# The sink also publishes every decision over MQTT (mqtt=), to a second
# mosquitto of the test's own: one message per decision, under its topic.
. "$(dirname "$0")/lib.sh"

# The decisions' mosquitto, on a free port, and a subscriber whose
# persistent session exists before the first decision is published.
test_mosquitto "$ET_TMP/dmq"
dport="$MQ_PORT"
dsub=(mosquitto_sub -h 127.0.0.1 -p "$dport" -i decisions-test -c -q 1
  -t 'eventide/decisions/#')
"${dsub[@]}" -E || fail "cannot subscribe to the decisions' mosquitto"
(exec "${dsub[@]}" -v) >"$ET_TMP/decisions.mqtt" 2>"$ET_TMP/dsub.log" &
ET_EXTRA_PIDS+=("$!")
jq --arg url "mqtt://127.0.0.1:$dport/eventide/decisions" \
  '(.stages[] | select(.function == "sink") | .options.mqtt) = $url' \
  "$ET_ROOT/workflows/sensor.json" >"$ET_TMP/sensor-mqtt.json"

series="$ET_ROOT/data/nab/realKnownCause/ec2_request_latency_system_failure.csv"
[ -f "$series" ] || fail "missing $series"
rows=$(($(wc -l <"$series") - 1))
out="$ET_TMP/out"
topic="eventide/sensors/1"
# About 14 days of 5-minute samples, 150000 times faster: about 8 s.
"$EVENTIDE" run --workflow "$ET_TMP/sensor-mqtt.json" --workers 1 --ingest mqtt \
  --source "nab:$series" --speedup 150000 --out "$out" >"$ET_TMP/run.log" 2>&1 &
launcher=$!
collector_under_load "$out" "$launcher"
conf="$run/mosquitto/mosquitto.conf"
port="$(sed -n 's/^listener \([0-9]*\) .*/\1/p' "$conf")"
[ -n "$port" ] || fail "no listener in $conf"

# pub [mosquitto_pub options]: one message to the run's topic, QoS 1.
pub() { mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t "$topic" "$@"; }

# The device's readings flow first: a probe device below that ends before
# the producer has seen the real one would end the input (every device seen
# has sent its end marker), and mosquitto delivers in the order it took.
mosquitto_sub -h 127.0.0.1 -p "$port" -t "$topic" -C 200 -W 20 >/dev/null ||
  fail "no readings on $topic"

# Malformed: not JSON, a reading without its value, a value of the wrong
# type, more than the 4096 bytes a payload may have, msgpack that is not a
# map: counted and skipped.
pub -m 'not a reading'
pub -m '{"series":"probe","ts":1}'
pub -m '{"series":"probe","ts":1,"value":"high"}'
pub -m "{\"series\":\"probe\",\"ts\":1,\"value\":1,\"pad\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}"
printf '\x93\x01\x02\x03' >"$ET_TMP/array.bin"
pub -f "$ET_TMP/array.bin"
malformed=5
# Device probe-a: seq 0 twice (the second a duplicate), then its end.
pub -m '{"device":"probe-a","seq":0,"series":"probe","ts":1,"value":1}'
pub -m '{"device":"probe-a","seq":0,"series":"probe","ts":1,"value":1}'
pub -m '{"device":"probe-a","end":true,"count":1}'
# Device probe-b, in msgpack: seq 0 and 2 of 3 (seq 1 is a gap).
printf '\x85\xa6device\xa7probe-b\xa3seq\x00\xa6series\xa5probe\xa2ts\x01\xa5value\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00' >"$ET_TMP/b0.bin"
printf '\x85\xa6device\xa7probe-b\xa3seq\x02\xa6series\xa5probe\xa2ts\x03\xa5value\xcb\x40\x00\x00\x00\x00\x00\x00\x00' >"$ET_TMP/b2.bin"
pub -f "$ET_TMP/b0.bin"
pub -f "$ET_TMP/b2.bin"
pub -m '{"device":"probe-b","end":true,"count":3}'
probe_events=3

# Restart mosquitto: SIGTERM (it saves its store), then the same config on
# the same port, as the launcher would.
old="$(cat "$run/pids/mosquitto.pid")"
kill -TERM "$old"
for _ in $(seq 200); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
kill -0 "$old" 2>/dev/null && fail "mosquitto did not stop"
(exec setsid mosquitto -c "$conf") >>"$run/logs/mosquitto.log" 2>&1 &
new=$!
ET_EXTRA_PIDS+=("$new")
echo "$new" >"$run/pids/mosquitto.pid"

wait "$launcher" || { cat "$ET_TMP/run.log" >&2; fail "run failed"; }
s="$out/summary.json"
published="$(sed -n 's/^sensors: published \([0-9]*\) (failed 0).*/\1/p' "$out/sensors-1.log")"
expect_eq "readings the device published" "$published" "$rows"
expect_accounted "$s"
expect_eq "events = readings published - malformed" "$SENT" \
  "$((published + probe_events))"
expect_eq "malformed" "$(json "$s" .producers.ingest.malformed)" "$malformed"
in_dups="$(json "$s" .producers.ingest.duplicates)"
[ "$in_dups" -ge 1 ] || fail "duplicates: got $in_dups, want at least 1"
expect_eq "gaps" "$(json "$s" .producers.ingest.gaps)" 1
expect_eq "received = events + malformed + duplicates" \
  "$(json "$s" .producers.ingest.received)" "$((SENT + malformed + in_dups))"
reconnects="$(json "$s" .producers.ingest.reconnects)"
[ "$reconnects" -ge 1 ] || fail "the producer never reconnected"
grep -q "reconnected" "$out/sensors-1.log" || fail "the device never reconnected"
jq -e '.accuracy.kind == "windows" and .accuracy.windows >= 1' "$s" >/dev/null ||
  fail "accuracy: $(jq -c .accuracy "$s")"
# Every decision the sink wrote also went out over MQTT, under its topic.
jsonl="$(wc -l <"$out/decisions.jsonl")"
for _ in $(seq 200); do
  [ "$(wc -l <"$ET_TMP/decisions.mqtt")" -ge "$jsonl" ] && break
  sleep 0.05
done
for decision in $(jq -r .decision "$out/decisions.jsonl" | sort -u); do
  expect_eq "MQTT decisions under eventide/decisions/$decision" \
    "$(grep -c "^eventide/decisions/$decision " "$ET_TMP/decisions.mqtt" || true)" \
    "$(jq -r .decision "$out/decisions.jsonl" | grep -cx "$decision")"
done
expect_eq "MQTT decisions" "$(wc -l <"$ET_TMP/decisions.mqtt")" "$jsonl"
[ "$jsonl" -ge "$COMPLETED" ] || fail "decisions.jsonl: $jsonl lines, $COMPLETED completed"
pass "$published readings + $probe_events probes as $SENT events; ingest $(jq -c .producers.ingest "$s")"
