#!/usr/bin/env bash
# A tiny queue bound under overload: the broker rejects events back to the
# producer, every rejection is counted, and nothing is lost.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service const:50ms --workers 1 \
  --queue-cap 2 --rate 200 --duration 2 --arrival constant --out "$out" \
  >"$ET_TMP/run.log" 2>&1 || { cat "$ET_TMP/run.log" >&2; fail "run failed"; }

s="$out/summary.json"
expect_accounted "$s"
expect_eq sent "$(json "$s" .events.sent)" 400
rejected=$(json "$s" .events.rejected)
completed=$(json "$s" .events.completed)
# One server at 20/s with room for 2 waiting cannot take 200/s.
[ "$rejected" -gt 200 ] || fail "only $rejected rejected"
[ "$completed" -ge 20 ] || fail "only $completed completed"
# The producer saw exactly the rejections the collector counted.
grep -q "rejected $rejected\b" "$ET_TMP/run.log" ||
  fail "producer's rejection count differs from the summary's ($rejected): $(grep 'producer' "$ET_TMP/run.log")"
pass "rejected $rejected of 400, completed $completed, lost 0"
