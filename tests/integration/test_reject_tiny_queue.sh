#!/usr/bin/env bash
# A tiny queue bound under overload: every rejection is counted, and
# nothing is lost, both ways of refusing: the broker pausing the producer,
# which then refuses what falls due itself and reports it in SHED batches
# (the default), and the broker refusing each event (--shed-pause 0),
# also in batches, where a run of refusals is one REJECT to the producer
# and one SHED to the collector.
. "$(dirname "$0")/lib.sh"

# run_tiny NAME SHED_PAUSE [RATE GRAIN]: the overloaded run (2 s at 200
# events/s, one by one); checks what all ways share.
run_tiny() {
  local out="$ET_TMP/$1" rate="${3:-200}"
  "$EVENTIDE" run --workflow synthetic --service const:50ms --workers 1 \
    --queue-cap 2 --rate "$rate" --duration 2 --arrival constant \
    --send-grain "${4:-500us}" --shed-pause "$2" --out "$out" \
    >"$ET_TMP/$1.log" 2>&1 ||
    { cat "$ET_TMP/$1.log" >&2; fail "$1: run failed"; }
  s="$out/summary.json"
  expect_accounted "$s"
  expect_eq "$1: sent" "$(json "$s" .events.sent)" $((rate * 2))
  rejected=$(json "$s" .events.rejected)
  completed=$(json "$s" .events.completed)
  # One server at 20/s with room for 2 waiting cannot take 200/s.
  [ "$rejected" -gt 200 ] || fail "$1: only $rejected rejected"
  [ "$completed" -ge 20 ] || fail "$1: only $completed completed"
  # The producer saw exactly the rejections the collector counted.
  grep -q "rejected $rejected\b" "$ET_TMP/$1.log" ||
    fail "$1: producer's rejection count differs from the summary's ($rejected): $(grep 'producer' "$ET_TMP/$1.log")"
  shed=$(sed -n 's/.*under a pause (SHED): \([0-9]*\)$/\1/p' "$out/broker.log")
  [ -n "$shed" ] || fail "$1: the broker's log does not count SHED events"
}

run_tiny paused 10ms
[ "$shed" -gt 0 ] || fail "paused: nothing was refused at the producer"
grep -q "producer 1: .* rejected $rejected ($shed refused here: [0-9]* in a pause, [0-9]* over the broker's rate)" \
  "$ET_TMP/paused.log" ||
  fail "paused: the producer does not report its $shed refusals: $(grep 'producer 1' "$ET_TMP/paused.log")"
paused_shed=$shed

run_tiny one_by_one 0
expect_eq "one_by_one: refused at the producer" "$shed" 0

# 5,000 events/s in 5 ms batches, all refused by the broker: past the
# full queue the rest of each batch is one run, one REJECT and one SHED.
run_tiny batched 0 5000 5ms
expect_eq "batched: refused at the producer" "$shed" 0
runs=$(sed -n 's/.*; \([0-9]*\) REJECTED sent as \([0-9]*\) SHED message(s) instead$/\1 \2/p' \
  "$ET_TMP/batched/broker.log")
[ -n "$runs" ] || fail "batched: the broker's log does not count REJECTED sent as SHED"
read -r as_shed shed_msgs <<<"$runs"
[ "$shed_msgs" -gt 0 ] && [ "$as_shed" -gt $((rejected / 2)) ] ||
  fail "batched: only $as_shed of $rejected refusals went as SHED ($shed_msgs messages)"

pass "paused: $paused_shed of the rejections refused at the producer; one by one: none; batched: $as_shed of $rejected in $shed_msgs SHED; lost 0 all"
