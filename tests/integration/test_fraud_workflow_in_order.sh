#!/usr/bin/env bash
# The real four-stage fraud workflow (preprocess -> XGBoost fraud ->
# decide -> sink): every event passes every stage in workflow order (the
# collector checks each event's stage sequence), filtered events stop after
# preprocess, decisions reach the sink, and accuracy is measured against
# the transactions' labels.
. "$(dirname "$0")/lib.sh"

# Private models (the decision's and the raw-features shadow, trained side
# by side) keep the test independent of models/ in the tree.
wf="$ET_TMP/fraud.json"
jq --arg m "$ET_TMP/model.json" --arg raw "$ET_TMP/raw.json" \
  '.stages[1].options.model = $m | .stages[1].options.shadow_model = $raw' \
  "$ET_ROOT/workflows/fraud.json" >"$wf"
"$ET_BIN_DIR/eventide-train" --out "$ET_TMP/raw.json" --samples 20000 \
  --rounds 40 --streaming off >"$ET_TMP/train-raw.log" 2>&1 &
raw_training=$!
ET_EXTRA_PIDS+=("$raw_training")
"$ET_BIN_DIR/eventide-train" --out "$ET_TMP/model.json" --samples 20000 \
  --rounds 40 >"$ET_TMP/train.log" 2>&1 || { cat "$ET_TMP/train.log" >&2; fail "training failed"; }
wait "$raw_training" || { cat "$ET_TMP/train-raw.log" >&2; fail "training the shadow model failed"; }

out="$ET_TMP/out"
"$EVENTIDE" run --workflow "$wf" --workers preprocess=1,fraud=2,decide=1,sink=1 \
  --rate 200 --duration 3 --malformed-rate 0.02 --out "$out" >"$ET_TMP/run.log" 2>&1 ||
  { cat "$ET_TMP/run.log" >&2; fail "run failed"; }

s="$out/summary.json"
expect_accounted "$s"
expect_eq failed "$(json "$s" .events.failed)" 0
expect_eq "order violations" "$(json "$s" .collector.order_violations)" 0
completed=$(json "$s" .events.completed)
filtered=$(json "$s" .events.filtered)
[ "$filtered" -gt 0 ] || fail "no malformed event was filtered"
jq -e '[.stages[].function] == ["preprocess", "fraud", "decide", "sink"]' "$s" >/dev/null ||
  fail "stages: $(jq -c '[.stages[].function]' "$s")"
expect_eq "preprocess completed" "$(json "$s" '.stages[0].completed')" "$completed"
for k in 1 2 3; do
  expect_eq "stage $k completed" "$(json "$s" ".stages[$k].completed")" "$((completed - filtered))"
done
expect_eq "decisions written" "$(wc -l <"$out/decisions.jsonl")" "$((completed - filtered))"
jq -e '.accuracy.kind == "classification" and (.accuracy.tp + .accuracy.fn) > 0
       and .accuracy.precision > 0.3 and .accuracy.recall > 0.3
       and (.accuracy.tp + .accuracy.fp + .accuracy.tn + .accuracy.fn + .accuracy.unscored)
           == (.events.completed - .events.filtered)' "$s" >/dev/null ||
  fail "accuracy: $(jq -c .accuracy "$s")"
# Every decided event has its shadow verdict too, with two fraud instances.
jq -e '.accuracy.shadow as $b | $b.unscored == 0
       and ($b.tp + $b.fp + $b.tn + $b.fn) == (.accuracy.tp + .accuracy.fp + .accuracy.tn + .accuracy.fn + .accuracy.unscored)
       and ($b.tp + $b.fn) == (.accuracy.tp + .accuracy.fn)' "$s" >/dev/null ||
  fail "shadow accuracy: $(jq -c .accuracy "$s")"
pass "$completed events through 4 stages in order ($filtered filtered); F1 $(json "$s" .accuracy.f1), shadow (raw features) $(json "$s" .accuracy.shadow.f1)"
