#!/usr/bin/env bash
# Chaos: the collector is killed (SIGKILL) and restarted under load, twice:
# `restart collector` by hand, then a plain kill -9 that the supervisor of
# --supervise restarts. Each new collector replays its journal and the
# broker (--collector-acks) sends again what it had not journaled, so
# after `down` summary.json accounts for every event sent, nothing lost,
# nothing counted twice, as an uninterrupted collector would have.
# With checkpoints every 0.5 s the journal holds only what came since the
# last one: each restart loads the checkpoint and replays that much, and
# the journal never grows near what the whole run sent.
# ET_CHAOS_NO_RESUME=1 restarts each collector on a journal of its own
# (nothing to resume: it starts from what the broker still sends): the
# test must then fail (checked by hand, see the commit that added it).
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" up --workflow synthetic --service exp:2ms --workers 2 \
  --supervise 2 --checkpoint-interval 0.5 --out "$out" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
run="$(readlink -f "$EVENTIDE_STATE/current")"
[ -s "$run/collector.argv" ] || fail "up recorded no collector command line"
if [ "${ET_CHAOS_NO_RESUME:-0}" = 1 ]; then
  sed -i 's#--journal [^ ]* #--journal '"$run"'/fresh.$$.journal #' "$run/collector.argv"
fi

collector_pid() { cat "$run/pids/collector.pid"; }
# running PID: alive and not a zombie.
running() {
  local stat
  stat="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ "$stat" != Z* ]]
}
# journal_moves: the journal grows past its header or is started again
# (a checkpoint renames a new one in) within 5 s.
journal_moves() {
  local before
  before="$(stat -c %i:%s "$run/collector.journal")"
  for _ in $(seq 1 100); do
    [ "$(stat -c %i:%s "$run/collector.journal")" != "$before" ] && return 0
    sleep 0.05
  done
  return 1
}
# The journal's largest size, sampled every 50 ms until `down`.
( max=0
  while [ -e "$run/collector.journal" ]; do
    n="$(stat -c %s "$run/collector.journal" 2>/dev/null || echo 0)"
    [ "$n" -gt "$max" ] && { max="$n"; echo "$max" >"$ET_TMP/journal.max"; }
    sleep 0.05
  done ) &
ET_EXTRA_PIDS+=("$!")

"$EVENTIDE" produce --rate 200 --duration 10 --arrival poisson --seed 3 \
  >"$ET_TMP/produce.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")
sleep 3
first="$(collector_pid)"
"$EVENTIDE" restart collector >"$ET_TMP/restart.log" 2>&1 ||
  { cat "$ET_TMP/restart.log" >&2; fail "restart collector failed"; }
second="$(collector_pid)"
[ "$second" != "$first" ] || fail "restart collector kept pid $first"
running "$first" && fail "the old collector $first still runs"
running "$second" || fail "the restarted collector $second is not running"
[ "${ET_CHAOS_NO_RESUME:-0}" = 1 ] || journal_moves ||
  fail "the restarted collector journals nothing new"

# A crash nobody asked for, of a collector that had stalled for a second
# first: what the broker sent meanwhile waits in the socket's kernel
# buffer and dies with it, so the broker must send it again. The
# supervisor restarts it.
sleep 2
kill -STOP "$second"
sleep 1
kill -KILL "$second"
third="$second"
for _ in $(seq 1 300); do
  third="$(collector_pid)"
  [ "$third" != "$second" ] && running "$third" && break
  sleep 0.1
done
[ "$third" != "$second" ] || fail "the supervisor did not restart the collector within 30 s"
wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "the producer failed"; }
# The journal once the load is over (`down` removes the run directory).
sleep 1
journal_end="$(stat -c %s "$run/collector.journal")" || fail "no journal at the end of the load"

"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
running "$third" && fail "down left the collector $third running"

s="$out/summary.json"
[ -f "$s" ] || fail "down wrote no summary.json"
expect_accounted "$s"
sent=$SENT completed=$COMPLETED failed=$FAILED rejected=$REJECTED
# The producer's own count: 10 s at 200 events/s, every one sent.
produced="$(sed -n 's/.*done: \([0-9]*\) sent.*/\1/p' "$out/collector.log" | head -n 1)"
expect_eq "events.sent (the producer's DONE)" "$sent" "${produced:-none}"
expect_eq "collector.restarts" "$(json "$s" .collector.restarts)" 2
# Nothing taken twice: every record the broker sent again was skipped
# before the aggregate (collector.duplicates_skipped), none reached it
# twice (events.duplicates_dropped).
expect_eq "events.duplicates_dropped" "$(json "$s" .events.duplicates_dropped)" 0
expect_eq "broker.records_dropped" "$(json "$s" .broker.records_dropped)" 0
expect_eq "collector.bad_messages" "$(json "$s" .collector.bad_messages)" 0
expect_eq "stages[0].completed" "$(json "$s" '.stages[0].completed')" "$completed"
# Every completion is in the per-second series (the latency histograms'
# seconds) exactly once.
[ "$(head -n 1 "$out/timeseries.csv" | cut -d, -f5)" = completed ] ||
  fail "timeseries.csv column 5 is not completed: $(head -n 1 "$out/timeseries.csv")"
series="$(awk -F, 'NR > 1 { c += $5 } END { print c + 0 }' "$out/timeseries.csv")"
expect_eq "timeseries completed" "$series" "$completed"
# The run keeps its id and start time across restarts.
grep -q 'resumed run ' "$out/collector.log" || fail "no collector says it resumed"
# What died in the stalled collector's socket came again from the broker.
resent="$(sed -n 's/.* \([0-9]*\) sent again on .*/\1/p' "$out/broker.log" | tail -n 1)"
[ "${resent:-0}" -gt 0 ] ||
  fail "the broker sent nothing again: $(grep 'collector acknowledgements' "$out/broker.log")"

# Checkpoints: a collector resumed from one, the last wrote several, and
# the journal stayed far below a whole-run journal (about 165 bytes an
# event): at most what came between two checkpoints, 0.5 s apart, or
# what the broker sent again after a restart; once the load is over, only
# what came after the last checkpoint.
grep -q 'resumed run .* from its checkpoint and --journal' "$out/collector.log" ||
  fail "no collector resumed from a checkpoint"
written="$(sed -n 's/.*checkpoints: \([0-9]*\) written.*/\1/p' "$out/collector.log" | tail -n 1)"
[ "${written:-0}" -ge 3 ] || fail "the last collector wrote ${written:-no} checkpoints, expected 3 or more"
whole=$((sent * 165))
journal_max="$(cat "$ET_TMP/journal.max" 2>/dev/null || echo 0)"
[ "$journal_max" -gt 0 ] || fail "the journal was never seen"
# (The broker's resend after the stalled collector's restart is seconds
# of load at once: about a third of the run here.)
[ "$journal_max" -lt $((whole * 3 / 4)) ] ||
  fail "the journal reached $journal_max bytes, 3/4 of a whole-run journal ($whole bytes) or more"
[ "$journal_end" -lt $((whole / 10)) ] ||
  fail "the journal ends with $journal_end bytes, a tenth of a whole-run journal ($whole bytes) or more"

# Under the sanitizers, no process may have reported an error.
if grep -l -E 'ERROR: AddressSanitizer|runtime error:' "$out"/*.log; then
  fail "a sanitizer report in the logs above"
fi
log="$out/launcher.log"
[ -f "$log" ] || fail "no launcher.log in the results"
grep -q 'collector restarted (by hand' "$log" || fail "the restart by hand is not logged"
grep -q 'collector restarted (supervisor' "$log" || fail "the supervisor's restart is not logged"
skipped="$(json "$s" .collector.duplicates_skipped)"
gaps="$(json "$s" .collector.out_of_order_skipped)"
pass "2 collector restarts under load (by hand, then SIGSTOP, kill -9 and the supervisor): sent $sent = completed $completed + failed $failed + rejected $rejected, lost 0; $resent message(s) sent again by the broker, duplicates skipped $skipped, out of order skipped $gaps; checkpoints every 0.5 s ($written by the last collector), the journal at most $journal_max bytes, $journal_end at the end (a whole-run one: about $whole)"
