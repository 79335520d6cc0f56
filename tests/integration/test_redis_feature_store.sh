#!/usr/bin/env bash
# The fraud workflow through its real feature store: `eventide run` starts a
# private redis-server (unix socket in the run directory), preprocess writes
# each card's history there and fraud scores with the streaming features it
# reads back. Mid-run the store is first stopped (SIGSTOP: slow, every call
# times out), then killed (SIGKILL: down), then started again on the same
# socket: events whose retries all meet the dead store fail with reason
# dependency_unavailable, every event is accounted for, none is lost, and
# the workers write to the new store once it is back. The sink appends each
# decision to a Redis Stream on a consumer's Redis (one the test owns, which
# stays up): after the run it holds one entry per completed event.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  fail "redis-server and redis-cli are needed (apt-get install redis-server)"

# A private model (with streaming features, eventide-train's default)
# and a private shadow model (raw features only) keep the test
# independent of models/ in the tree.
# The sink's stream goes to the consumer's Redis instead of the run's
# ({redis}), so that killing the feature store leaves it alone and it
# outlives the run.
csock="$ET_TMP/consumer.sock"
wf="$ET_TMP/fraud.json"
jq --arg m "$ET_TMP/model.json" --arg raw "$ET_TMP/raw.json" --arg r "unix:$csock" \
  '.stages[1].options.model = $m | .stages[1].options.shadow_model = $raw | .stages[3].options.redis = $r' \
  "$ET_ROOT/workflows/fraud.json" >"$wf"
jq -e '.stages[3].function == "sink" and .stages[3].options.redis_stream == "eventide:decisions"' \
  "$wf" >/dev/null || fail "the fraud workflow's sink does not write to a Redis stream"
redis-server --port 0 --unixsocket "$csock" --unixsocketperm 700 --save '' \
  --appendonly no --dir "$ET_TMP" >"$ET_TMP/consumer-redis.log" 2>&1 &
ET_EXTRA_PIDS+=("$!")
for _ in $(seq 100); do [ -S "$csock" ] && break; sleep 0.05; done
[ -S "$csock" ] || fail "the consumer's redis-server did not start"
ccli() { redis-cli -s "$csock" "$@"; }
# The two trainings side by side: the shadow model adds little wall time.
"$ET_BIN_DIR/eventide-train" --out "$ET_TMP/raw.json" --samples 20000 \
  --rounds 40 --streaming off >"$ET_TMP/train-raw.log" 2>&1 &
raw_training=$!
ET_EXTRA_PIDS+=("$raw_training")
"$ET_BIN_DIR/eventide-train" --out "$ET_TMP/model.json" --samples 20000 \
  --rounds 40 >"$ET_TMP/train.log" 2>&1 || { cat "$ET_TMP/train.log" >&2; fail "training failed"; }
wait "$raw_training" || { cat "$ET_TMP/train-raw.log" >&2; fail "training the shadow model failed"; }
jq -e '.streaming == true and (.features | length) == 19' "$ET_TMP/model.json.metrics.json" >/dev/null ||
  fail "the model was not trained with streaming features"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow "$wf" --workers 1 --rate 100 --arrival constant \
  --duration 7 --drain-timeout 10 --out "$out" >"$ET_TMP/run.log" 2>&1 &
launcher=$!
ET_EXTRA_PIDS+=("$launcher")
collector_under_load "$out" "$launcher"
sock="$run/redis.sock"
[ -S "$sock" ] && [ -f "$run/pids/redis.pid" ] || fail "no private redis-server in $run"
rpid="$(cat "$run/pids/redis.pid")"
cli() { redis-cli -s "$sock" "$@"; }

# Features present: preprocess has written card histories, members
# "TX:AMOUNT" scored by event time.
for _ in $(seq 100); do
  [ "$(cli dbsize 2>/dev/null || echo 0)" -ge 20 ] && break
  sleep 0.05
done
cards="$(cli dbsize)"
[ "$cards" -ge 20 ] || fail "only $cards card histories in the store"
key="$(cli --scan --pattern 'eventide:card:*' | head -n 1)"
[ -n "$key" ] || fail "no eventide:card:* key"
cli zrange "$key" 0 -1 withscores | paste - - | grep -Eqx '[0-9]+:[0-9]+\.[0-9]{2}	[0-9.e+]+' ||
  fail "history $key holds something else: $(cli zrange "$key" 0 -1 withscores | head -n 4)"

# Slow: every call times out (store_timeout_ms, 200 ms) while it is stopped.
kill -STOP "$rpid"
sleep 1.5
kill -CONT "$rpid"
sleep 0.5
# Down: the socket refuses, retries meet the same, events fail.
kill -KILL "$rpid"
sleep 1
# Back, empty, on the same socket: the workers connect again by themselves.
rm -f "$sock"
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' \
  --appendonly no --dir "$ET_TMP" >"$ET_TMP/redis2.log" 2>&1 &
ET_EXTRA_PIDS+=("$!")
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "the second redis-server did not start"
# The workers write to it by themselves (the run directory, and with it
# the socket, goes when the run ends: look now).
for _ in $(seq 100); do
  [ "$(cli dbsize 2>/dev/null || echo 0)" -gt 0 ] && break
  sleep 0.05
done
again="$(cli dbsize)"
[ "$again" -gt 0 ] || fail "nothing was written to the store once it was back"

rc=0
wait "$launcher" || rc=$?
expect_eq "exit status of the run" "$rc" 0
s="$out/summary.json"
expect_accounted "$s"
failed="$FAILED"
[ "$failed" -gt 0 ] || fail "no event failed while the store was down"
# The only reason anything failed is the store.
expect_eq "failed_by_reason" "$(jq -c .events.failed_by_reason "$s")" \
  "{\"dependency_unavailable\":$failed}"
[ "$COMPLETED" -gt "$failed" ] || fail "completed $COMPLETED, failed $failed"
# The report says why events failed.
grep -q dependency_unavailable "$out/report.md" ||
  fail "report.md does not name dependency_unavailable"

# The workers: fraud scored with streaming features read from the store;
# the slow store timed out, the dead one refused.
grep -q '19 features, streaming from the feature store' "$out/worker-fraud-1.log" ||
  fail "fraud did not use the streaming features: $(grep 'model' "$out/worker-fraud-1.log")"
grep -Eq 'feature store [0-9]+ reads' "$out/worker-fraud-1.log" ||
  fail "fraud read nothing from the store"
grep -q 'no reply in time' "$out/worker-preprocess-1.log" ||
  fail "no timeout while the store was stopped"
grep -q 'cannot connect' "$out/worker-preprocess-1.log" ||
  fail "no refused connection while the store was down"
[ -s "$out/redis.log" ] || fail "no redis.log in $out"

# The stream: one entry per event that completed through the sink (not
# filtered by preprocess; the consumer's Redis never failed, so no sink
# attempt was retried), each with its event id, the decision and the
# times, the same decisions as the JSON lines.
sunk=$((COMPLETED - $(json "$s" .events.filtered)))
[ "$sunk" -gt 0 ] || fail "no event reached the sink"
expect_eq "stream entries (XLEN)" "$(ccli xlen eventide:decisions)" "$sunk"
# Each entry as one JSON object: its id, then its fields.
ccli --json xrange eventide:decisions - + |
  jq -c '.[] | {id: .[0]} + (.[1] | [range(0; length; 2) as $i | {key: .[$i], value: .[$i + 1]}] | from_entries)' \
    >"$ET_TMP/stream.jsonl" || fail "XRANGE of the stream did not parse"
[ "$(wc -l <"$ET_TMP/stream.jsonl")" -eq "$sunk" ] ||
  fail "XRANGE gave $(wc -l <"$ET_TMP/stream.jsonl") entries, expected $sunk"
expect_eq "distinct event ids in the stream" \
  "$(jq -r .event_id "$ET_TMP/stream.jsonl" | sort -u | wc -l)" "$sunk"
# try: an entry missing a field counts as bad, not as a jq error.
good="$(jq -c 'select(try ((.event_id | test("^[0-9]+$")) and (.decision | IN("approve", "review", "block"))
                        and (.intended_ts | tonumber) > 1e9 and (.sink_ts | tonumber) >= (.intended_ts | tonumber)
                        and (.tx | test("^[0-9]+$")) and (.score | tonumber) >= 0) catch false)' \
  "$ET_TMP/stream.jsonl" | wc -l)"
expect_eq "stream entries with an event id, a decision, its score and times" "$good" "$sunk"
expect_eq "decisions in the stream and in decisions.jsonl" \
  "$(jq -r .decision "$ET_TMP/stream.jsonl" | sort | uniq -c | tr -s ' ')" \
  "$(jq -r .decision "$out/decisions.jsonl" | sort | uniq -c | tr -s ' ')"
grep -Eq "sink: Redis stream $sunk appends, mean [0-9.]+ ms, 0 failed" "$out/worker-sink-1.log" ||
  fail "the sink did not log its appends: $(grep 'Redis stream' "$out/worker-sink-1.log")"
# Fraud F1 with and without the streaming features, measured through the
# pipeline: the decision's matrix (raw + streaming) and the shadow's (raw
# only, decided by the same rules) over the same events.
jq -e '.accuracy.kind == "classification" and (.accuracy.shadow | type) == "object"' "$s" >/dev/null ||
  fail "summary.json has no shadow matrix: $(jq -c .accuracy "$s")"
jq -e '.accuracy as $a | $a.shadow as $b
       | ([$a.f1, $a.precision, $a.recall, $b.f1, $b.precision, $b.recall] | all(. >= 0 and . <= 1))
       and ($a.tp + $a.fp + $a.tn + $a.fn + $a.unscored) == ($b.tp + $b.fp + $b.tn + $b.fn + $b.unscored)
       and $b.unscored == $a.unscored and ($b.tp + $b.fp + $b.tn + $b.fn) > 0' "$s" >/dev/null ||
  fail "the two matrices do not cover the same events: $(jq -c .accuracy "$s")"
grep -Eq '^\| decision \| [0-9.]+ \|' "$out/report.md" && grep -Eq '^\| shadow \| [0-9.]+ \|' "$out/report.md" ||
  fail "report.md lacks the decision and shadow rows"
# The store's time next to the model's, per stage: preprocess writes,
# fraud reads and predicts; decide and sink measure nothing. Every count
# is at most the stage's attempts; each time is a part of the service.
timings() { jq -c --arg f "$1" '.stages[] | select(.function == $f) | .timings | keys' "$s"; }
expect_eq "preprocess timings" "$(timings preprocess)" '["store"]'
expect_eq "fraud timings" "$(timings fraud)" '["model","store"]'
expect_eq "decide timings" "$(timings decide)" '[]'
jq -e '[.stages[] | . as $st | .timings[] | .count > 0 and .count <= $st.completed
        and .p50 > 0 and .p50 <= .p99 and .p99 < 5000 and .mean > 0] | all' "$s" >/dev/null ||
  fail "stage timings out of bounds: $(jq -c '[.stages[] | {function, completed, timings}]' "$s")"
grep -q 'measured parts of the service time' "$out/report.md" ||
  fail "report.md lacks the stage timings table"
f1s="F1 $(jq -r '.accuracy.f1 * 1000 | round / 1000' "$s") (raw + streaming) vs $(jq -r '.accuracy.shadow.f1 * 1000 | round / 1000' "$s") (raw)"

pass "$COMPLETED completed, $failed failed (dependency_unavailable) of $SENT; $f1s; $cards card histories mid-run, $again in the store started again; $sunk entries in the decisions stream"
