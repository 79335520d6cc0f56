#!/usr/bin/env bash
# A function that hangs: the stage timeout catches the event, which is
# retried on another slot; heartbeats keep the hung worker alive in the
# broker's eyes (proof of life, not of readiness). Nothing is lost.
. "$(dirname "$0")/lib.sh"

cat >"$ET_TMP/hang.json" <<'JSON'
{"name": "hang",
 "stages": [{"function": "faulty", "slots": 2, "timeout_ms": 300, "retries": 4,
             "options": {"service_ms": 2, "hang_probability": 0.05, "hang_ms": 1500}}]}
JSON
out="$ET_TMP/out"
"$EVENTIDE" run --workflow "$ET_TMP/hang.json" --workers 4 --rate 100 \
  --duration 4 --arrival constant --out "$out" >"$ET_TMP/run.log" 2>&1 ||
  { cat "$ET_TMP/run.log" >&2; fail "run failed"; }
s="$out/summary.json"
expect_accounted "$s"
expect_eq rejected "$(json "$s" .events.rejected)" 0
retries=$(json "$s" '.stages[0].retries')
[ "$retries" -ge 5 ] || fail "only $retries retries: the hangs were not timed out"
# Five attempts all hanging (0.05^5) should not happen in 400 events.
expect_eq failed "$(json "$s" .events.failed)" 0
jq -e '.events.failed_by_reason == {} or .events.failed_by_reason == null' "$s" >/dev/null ||
  fail "failures: $(jq -c .events.failed_by_reason "$s")"
# Each hung attempt answers late: the broker drops it as stale and says so
# in the results; its slot counted as busy until then, never above 1.
stale=$(json "$s" .broker.stale_results)
[ "$stale" -ge 1 ] && [ "$stale" -le "$retries" ] ||
  fail "stale results $stale, expected 1..$retries (one per timed-out attempt at most)"
expect_eq "records dropped" "$(json "$s" .broker.records_dropped)" 0
jq -e '.functions[0].busy > 0 and .functions[0].busy <= 1' "$s" >/dev/null ||
  fail "busy over the load window: $(jq -c '.functions[0]' "$s")"
grep -q "stale results $stale," "$out/report.md" ||
  fail "report.md does not head with the stale results: $(sed -n 3,6p "$out/report.md")"
# Timed-out attempts are billed (dispatch to the timeout) as failed ones,
# and an event's residence in the stage spans its timed-out attempt.
jq -e --argjson retries "$retries" '.cost.failed_attempts >= $retries
       and .cost.requests >= .stages[0].completed + $retries
       and .cost.retry_share > 0
       and .stages[0].residence_ms.p99 >= 300' "$s" >/dev/null ||
  fail "retries unbilled or residence too short: $(jq -c '{cost, r: .stages[0].residence_ms}' "$s")"
pass "$retries timed-out attempts retried; all $(json "$s" .events.completed) events completed"
