#!/usr/bin/env bash
# Chaos: kill -9 a random worker every second while load runs at about 70%
# of capacity, and bring the count back with `eventide scale`. Every
# accepted event ends completed or failed with a reason; nothing is lost.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
# 4 workers x 4 slots x 100 ms = 160 events/s of capacity; load 112/s
# (70%). With about 2.8 busy slots per worker, a killed worker almost
# always takes events in flight with it (all four idle: ~1e-5).
"$EVENTIDE" up --workflow synthetic --service const:100ms --workers 4 --slots 4 \
  --out "$out" >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
"$EVENTIDE" produce --rate 112 --duration 8 --arrival poisson >"$ET_TMP/produce.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")

killed=0
for i in 1 2 3 4 5 6 7; do
  sleep 1
  victim=$("$EVENTIDE" status --json |
           jq -r '[.processes[] | select(.role == "worker" and .state == "running") | .pid] | .[]' |
           shuf -n 1 --random-source=<(yes "$i"))
  if [ -n "$victim" ]; then kill -9 "$victim" && killed=$((killed + 1)); fi
  "$EVENTIDE" scale synthetic 4 >/dev/null
done
wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "producer failed"; }
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }

s="$out/summary.json"
expect_accounted "$s"
accepted=$(json "$s" .events.accepted)
completed=$(json "$s" .events.completed)
failed=$(json "$s" .events.failed)
expect_eq "accepted = completed + failed" "$accepted" "$((completed + failed))"
# Every failure has a reason.
jq -e '(.events.failed_by_reason // {} | to_entries | map(.value) | add // 0) == .events.failed' "$s" >/dev/null ||
  fail "failures without reasons: $(jq -c .events "$s")"
retries=$(json "$s" '.stages[0].retries')
[ "$retries" -ge 1 ] || fail "no retries although $killed busy workers were killed"
pass "killed $killed workers under load: $completed completed, $failed failed, $retries retried, lost 0"
