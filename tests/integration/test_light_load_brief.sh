#!/usr/bin/env bash
# At light load a brief function's tasks (noop) are served by the worker's
# main thread itself, without waking a slot thread: every event is still
# accounted for, and the worker's last log line counts the tasks its main
# thread served (the first ones go to a slot while the service-time
# estimate forms, so not all of them).
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow noop --workers 1 --slots 4 --arrival constant \
  --rate 50 --duration 3 --seed 3 --out "$out" >"$ET_TMP/run.log" 2>&1 ||
  { cat "$ET_TMP/run.log" >&2; fail "eventide run failed"; }

s="$out/summary.json"
expect_accounted "$s"
expect_eq rejected "$(json "$s" .events.rejected)" 0
expect_eq failed "$(json "$s" .events.failed)" 0
completed="$(json "$s" .events.completed)"
[ "$completed" -gt 100 ] || fail "completed $completed, expected about 150"

line="$(grep 'left after' "$out"/worker-noop-1.log)" ||
  fail "no final line in the worker's log: $(tail -n 3 "$out"/worker-noop-1.log)"
here="$(sed -n 's/.* \([0-9][0-9]*\) served by the main thread.*/\1/p' <<<"$line")"
served="$(sed -n 's/.*: served \([0-9][0-9]*\) .*/\1/p' <<<"$line")"
[ -n "$here" ] && [ -n "$served" ] || fail "cannot read the worker's counts: $line"
expect_eq "worker served" "$served" "$completed"
[ "$here" -gt 0 ] && [ "$here" -lt "$served" ] ||
  fail "served by the main thread: $here of $served (expected some, not all): $line"
pass "served by the main thread: $here of $served"
