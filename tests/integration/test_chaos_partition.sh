#!/usr/bin/env bash
# Chaos: a 5 s network partition between the broker and its workers. Two
# emulated hosts (network namespaces on one bridge, netns_lib.sh): the
# producer, broker and collector on one, two workers on the other, over
# tcp. Under steady load the workers' link goes down (ip link set down)
# for 5 s, past the broker's --worker-timeout (3 s), then up again. The
# broker declares both workers lost and retries their events; once the
# link is back they register again (their ZMTP heartbeats closed the dead
# connection: they reconnect and say READY) and serve what waited; every
# sent event is accounted for, none lost. No timing assertions: only
# generous waits.
# Skips (exit 0) only when namespaces cannot be created here.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/netns_lib.sh"
ns_prefix="et-part-$$"
netns_test_trap
netns_require "$ns_prefix"
core="$ns_prefix-core"; cloud="$ns_prefix-cloud"
netns_up "$ns_prefix" core cloud

hosts="$ET_TMP/hosts"
cat >"$hosts" <<EOF
$core  10.231.7.1 producer broker collector
$cloud 10.231.7.2 workers:synthetic=2
EOF
out="$ET_TMP/out"
# 2 workers x 1 slot x 5 ms: room for ~400 events/s; the load is 100/s.
"$EVENTIDE" up --hosts "$hosts" --host-cmd 'ip netns exec {host}' \
  --workflow synthetic --service exp:5ms --out "$out" \
  >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up across namespaces failed"; }
run="$(readlink -f "$EVENTIDE_STATE/current")"
# shellcheck disable=SC1091
. "$run/env"
# The broker's STATS, asked from its own host: 10.231.7.x cannot be
# reached from the root namespace. stats_json: one snapshot;
# wait_instances N: until N instances are ready (60 s at most).
stats_json() {
  ip netns exec "$core" "$ET_BIN_DIR/eventide-status" --stats "$STATS" --json --timeout 10
}
wait_instances() {
  ip netns exec "$core" "$ET_BIN_DIR/eventide-status" --stats "$STATS" \
    --wait-instances "$1" --timeout 60 >/dev/null 2>&1
}
wait_instances 2 || fail "the two workers never registered"

"$EVENTIDE" produce --rate 100 --duration 11 --arrival poisson \
  >"$ET_TMP/produce.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")

# Some seconds of service, then the partition: the workers' end of their
# veth goes down (its peer on the bridge loses carrier with it).
sleep 3
before="$(stats_json | jq .completed)"
[ "$before" -gt 0 ] || fail "nothing completed before the partition"
ip -n "$cloud" link set eth0 down
sleep 5 &
partition=$!
ET_EXTRA_PIDS+=("$partition")
# What the broker has completed late in the partition, when nothing can
# reach it from the workers: whatever completes beyond it, the workers
# served after the link came back.
sleep 4
cut_off="$(stats_json)"
during="$(jq .completed <<<"$cut_off")"
wait "$partition" || true
ip -n "$cloud" link set eth0 up
wait_instances 2 || fail "the workers did not register again after the partition"
wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "the producer failed"; }
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
for ns in "$core" "$cloud"; do
  [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns after down: $(ip netns pids "$ns")"
done

s="$out/summary.json"
[ -f "$s" ] || fail "down wrote no summary.json"
expect_accounted "$s"
# Both workers were declared lost in the partition, and each said READY
# again after it: lines of the broker's log, in order.
for w in synthetic-1 synthetic-2; do
  awk -v w="$w" '
    index($0, "worker " w " (pid ") && / silent for .*: lost$/ { lost = 1 }
    lost && index($0, "worker " w " ready: ") { back = 1 }
    END { exit !back }' "$out/broker.log" ||
    fail "worker $w was not lost and then ready again: $(grep -F "worker $w " "$out/broker.log" | grep -v DEBUG)"
done
# Their events in flight were retried (or failed worker_lost), and what
# waited for them was served once they were back.
retried=$(json "$s" '.stages[0].retries')
failed_lost=$(json "$s" '.events.failed_by_reason.worker_lost // 0')
[ $((retried + failed_lost)) -ge 1 ] ||
  fail "no event retried or failed worker_lost although both workers were lost"
completed=$(json "$s" .events.completed)
[ "$completed" -gt "$during" ] ||
  fail "nothing completed after the partition ($completed in all, $during before the link came back; stats then: $cut_off)"

# The namespaces go with the test: removed here, checked, not left to the
# EXIT trap alone.
netns_down
if ip netns list | grep -q "^$ns_prefix-"; then fail "namespaces left: $(ip netns list | grep "^$ns_prefix-")"; fi
pass "5 s partition between broker and workers: both lost and back; $SENT sent, $completed completed ($((completed - during)) after the link came back), $retried retried, $FAILED failed, lost 0"
