#!/usr/bin/env bash
# Chaos: SIGSTOP the collector for 12 s in the middle of `eventide run`,
# then SIGCONT. The broker must not wait for it: it keeps dispatching
# (its own STATS, read live, show completions going on during the stop),
# keeps what the collector misses in order (in memory, then in the spill
# file: --backlog-memory is tiny here) and replays it. The run ends with
# summary.json, every sent event accounted, none lost, no record dropped.
. "$(dirname "$0")/lib.sh"

STOP_S=12
out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service const:5ms --workers 2 \
  --rate 300 --duration 26 --seed 11 --backlog-memory 65536 \
  --out "$out" >"$ET_TMP/run.log" 2>&1 &
launcher=$!
ET_EXTRA_PIDS+=("$launcher")

# Once the load has started; the collector is resumed whatever happens.
collector_under_load "$out" "$launcher"

# completed STATS: the broker's completed count, from its PUB socket.
completed() {
  "$ET_BIN_DIR/eventide-status" --stats "ipc://$run/stats.ipc" --json \
    --timeout 5 | jq -r .completed
}

sleep 3
kill -STOP "$cpid"
sleep 2
before="$(completed)" || fail "no stats from the broker while the collector is stopped"
sleep "$((STOP_S - 4))"
after="$(completed)" || fail "no stats from the broker while the collector is stopped"
sleep 2
kill -CONT "$cpid"
# At 300 events/s, 8 s of a broker that dispatches complete thousands;
# the bound asks for one second's worth only, as the machine may be slow.
[ "$((after - before))" -ge 300 ] ||
  fail "the broker stalled with the collector: completed $before, then $after"

rc=0
wait "$launcher" || rc=$?
[ "$rc" -eq 0 ] || { tail -n 20 "$ET_TMP/run.log" >&2; fail "the run exited $rc"; }
s="$out/summary.json"
[ -f "$s" ] || fail "no summary.json"
expect_accounted "$s"
expect_eq "collector.end" "$(json "$s" .collector.end)" complete
expect_eq "broker.records_dropped" "$(json "$s" .broker.records_dropped)" 0
[ "$COMPLETED" -ge "$((after))" ] || fail "completed $COMPLETED < $after seen live"
# The backlog was used, and past memory: the file took the rest.
grep -q 'spilling to .*/collector.spill' "$out/broker.log" ||
  fail "the broker never spilled its backlog: $(grep -i collector "$out/broker.log" | tail -n 5)"
grep -q 'the collector took everything kept for it again' "$out/broker.log" ||
  fail "the broker never replayed its backlog"
if grep -q 'lost the connection to the collector' "$out/broker.log"; then
  fail "the collector's connection was dropped during the stop"
fi
grep -q 'broker done: .*records dropped 0$' "$out/broker.log" ||
  fail "the broker did not end cleanly: $(tail -n 3 "$out/broker.log")"
if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$out"/*.log; then
  fail "a sanitizer report in the logs above"
fi
pass "collector stopped ${STOP_S}s mid-run: broker completed $((after - before)) meanwhile; sent $SENT, completed $COMPLETED, lost 0, records dropped 0"
