#!/usr/bin/env bash
# Across hosts, emulated with network namespaces: three namespaces (a
# producer host, a broker + collector host, a worker host) on one bridge in
# a fourth, private range 10.231.7.0/24 that exists only inside them. A full
# `run --hosts --host-cmd 'ip netns exec {host}' --curve` accounts for every
# event, and measures and corrects the hosts' (emulated) clock offsets; an
# autoscaled run scales the worker host from the broker's host; a
# producer with another key directory is refused; `up`, `scale
# --host`, `status` and `down` work through the template; `--netem` puts a
# netem qdisc on the producer host's device (checked with tc, no timing).
# Skips (exit 0) only when namespaces cannot be created here.
. "$(dirname "$0")/lib.sh"
launcher_only_test "placement with --hosts"

. "$(dirname "$0")/netns_lib.sh"
ns_prefix="et-$$"
netns_test_trap
netns_require "$ns_prefix"
# netem is a kernel module (sch_netem) some kernels lack: then only the
# --netem part is skipped, and its failure must be clean.
have_netem=0
ip netns exec "$NETNS_PROBE" tc qdisc add dev lo root netem delay 1ms >/dev/null 2>&1 && have_netem=1
command -v tc >/dev/null 2>&1 || fail "tc (iproute2) is missing while ip netns works"
edge="$ns_prefix-edge"; core="$ns_prefix-core"; cloud="$ns_prefix-cloud"

netns_up "$ns_prefix" edge core cloud
# Nothing of this range may leak into the root namespace.
if ip -4 addr show | grep -q '10\.231\.7\.'; then fail "10.231.7.x appeared outside the namespaces"; fi

hosts="$ET_TMP/hosts"
cat >"$hosts" <<EOF
# NAME ADDRESS ROLES
$edge  10.231.7.1 producer
$core  10.231.7.2 broker collector
$cloud 10.231.7.3 workers:synthetic=2
EOF
tpl='ip netns exec {host}'

keys="$ET_TMP/keys"
"$EVENTIDE" keys "$keys" >"$ET_TMP/keys.log" 2>&1 ||
  { cat "$ET_TMP/keys.log" >&2; fail "eventide keys failed"; }

# Bad hosts files: one usage error naming the file and the line, exit 2.
bad_hosts() { # CONTENT EXPECTED-LINE PATTERN
  printf '%s\n' "$1" >"$ET_TMP/bad-hosts"
  local rc=0
  "$EVENTIDE" run --hosts "$ET_TMP/bad-hosts" --host-cmd "$tpl" --duration 1 \
    >/dev/null 2>"$ET_TMP/bad-hosts.err" || rc=$?
  expect_eq "bad hosts file ($3): exit status" "$rc" 2
  expect_eq "bad hosts file ($3): error lines" "$(wc -l <"$ET_TMP/bad-hosts.err")" 1
  grep -qF "$ET_TMP/bad-hosts:$2: " "$ET_TMP/bad-hosts.err" ||
    fail "bad hosts file ($3): $(cat "$ET_TMP/bad-hosts.err")"
  grep -q "$3" "$ET_TMP/bad-hosts.err" || fail "bad hosts file: $(cat "$ET_TMP/bad-hosts.err")"
}
bad_hosts "a 10.0.0.1 producer broker collector workers
b 10.0.0.300 workers" 2 "address '10.0.0.300'"
bad_hosts "a 10.0.0.1 producer broker collector dancer" 1 "unknown role 'dancer'"
bad_hosts "a 10.0.0.1 producer broker collector
b 10.0.0.2 broker workers" 2 "a second broker"
bad_hosts "a 10.0.0.1 producer broker collector
a 10.0.0.2 workers" 2 "already named on line 1"
bad_hosts "a 10.0.0.1 producer broker collector workers:nosuch=1" 1 "no function 'nosuch'"
bad_hosts "# comment

a 10.0.0.1" 3 "expected NAME ADDRESS ROLE"
usage_rc() { # WHAT ARGS...: the launcher must refuse ARGS with exit status 2
  local what="$1" rc=0; shift
  "$EVENTIDE" run "$@" --duration 1 >/dev/null 2>&1 || rc=$?
  expect_eq "$what: exit status" "$rc" 2
}
usage_rc "--netem without --hosts" --netem edge=delay
usage_rc "--port-base without --hosts" --port-base 24000
usage_rc "--hosts with --transport ipc" --hosts "$hosts" --transport ipc
usage_rc "--netem on an unknown host" --hosts "$hosts" --netem "nosuch=delay 1ms"
usage_rc "--port-base 80" --hosts "$hosts" --port-base 80

# 1. A complete run across the three hosts, CURVE on every link; the
# producer host's clock is 250 ms behind and the worker host's 600 ms
# ahead (emulated: namespaces share the kernel's clock).
out="$ET_TMP/run"
"$EVENTIDE" run --hosts "$hosts" --host-cmd "$tpl" --curve "$keys" \
  --workflow synthetic --service exp:2ms --rate 100 --duration 3 --seed 5 \
  --clock-skew "$edge=-250" --clock-skew "$cloud=600" \
  --out "$out" >"$ET_TMP/run.log" 2>&1 ||
  { cat "$ET_TMP/run.log" >&2; fail "run across namespaces failed"; }
s="$out/summary.json"
expect_accounted "$s"
expect_eq "run: completed" "$(json "$s" .events.completed)" "$(json "$s" .events.sent)"
expect_eq "run: workers started" "$(json "$s" .workers.started)" 2
# Each host's offset to the broker's clock, within the bound it reports;
# producer times corrected, so latency holds no trace of the 250 ms.
clock_ok() { # ROLE HOST TRUE-OFFSET-MS
  jq -e --arg r "$1" --arg h "$2" --argjson t "$3" \
    '[.clocks.sources[] | select(.role == $r and .host == $h)] | length > 0 and
     all(((.offset_ms - $t) | fabs) <= .bound_ms + 0.001)' "$s" >/dev/null ||
    fail "clock of $1 on $2: $(jq -c '.clocks.sources' "$s"), true offset $3 ms"
}
clock_ok producer "$edge" 250
clock_ok worker "$cloud" -600
expect_eq "run: latency corrected" "$(json "$s" .clocks.latency_corrected)" true
awk -v p="$(json "$s" .latency_ms.p50)" 'BEGIN { exit !(p < 100) }' ||
  fail "run: latency p50 $(json "$s" .latency_ms.p50) ms carries the producer's clock error"
grep -Eq 'CURVE on tcp://10\.231\.7\.2:[0-9]+ \(server\)' "$out/broker.log" ||
  fail "the broker did not bind CURVE on the core host's address"
grep -q "INFO eventide: on host $cloud as pid" "$out/worker-synthetic-1.log" ||
  fail "worker 1 did not run on $cloud"
grep -q "INFO eventide: on host $core as pid" "$out/collector.log" ||
  fail "the collector did not run on $core"
for ns in "$edge" "$core" "$cloud"; do
  [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns after run: $(ip netns pids "$ns")"
done

# 1b. Through an ssh-like template (a stand-in that joins its arguments
# into one string for a shell, as ssh does), plain `workers` hosts sharing
# --workers 3 round-robin, no CURVE.
mkdir -p "$ET_TMP/fakessh"
cat >"$ET_TMP/fakessh/ssh" <<'EOF'
#!/bin/sh
host="$1"; shift
exec ip netns exec "$host" sh -c "$*"
EOF
chmod +x "$ET_TMP/fakessh/ssh"
cat >"$ET_TMP/hosts2" <<EOF
$edge  10.231.7.1 producer workers
$core  10.231.7.2 broker collector
$cloud 10.231.7.3 workers
EOF
out2="$ET_TMP/run2"
"$EVENTIDE" run --hosts "$ET_TMP/hosts2" --host-cmd "$ET_TMP/fakessh/ssh {host}" \
  --workflow noop --workers 3 --rate 100 --duration 1 --out "$out2" \
  >"$ET_TMP/run2.log" 2>&1 || { cat "$ET_TMP/run2.log" >&2; fail "run through the ssh-like template failed"; }
expect_accounted "$out2/summary.json"
expect_eq "run2: workers started" "$(json "$out2/summary.json" .workers.started)" 3
expect_eq "run2: workers on $edge" "$(grep -l "on host $edge as pid" "$out2"/worker-*.log | wc -l)" 2
expect_eq "run2: workers on $cloud" "$(grep -l "on host $cloud as pid" "$out2"/worker-*.log | wc -l)" 1

# 1c. Autoscaling across hosts: the autoscaler runs on the broker's host
# and scales the worker host through the launcher there.
cat >"$ET_TMP/hosts3" <<EOF
$edge  10.231.7.1 producer
$core  10.231.7.2 broker collector
$cloud 10.231.7.3 workers
EOF
out3="$ET_TMP/run3"
"$EVENTIDE" run --hosts "$ET_TMP/hosts3" --host-cmd "$tpl" --workflow synthetic \
  --service const:20ms --workers 1 --autoscale rps --target 20 --max 4 \
  --rate 120 --duration 6 --out "$out3" >"$ET_TMP/run3.log" 2>&1 ||
  { cat "$ET_TMP/run3.log" >&2; fail "autoscaled run across namespaces failed"; }
expect_accounted "$out3/summary.json"
grep -q "INFO eventide: on host $core as pid" "$out3/autoscaler.log" ||
  fail "the autoscaler did not run on $core"
started="$(json "$out3/summary.json" .workers.started)"
[ "$started" -ge 2 ] || fail "the autoscaler started no worker ($started in all): $(tail -n 5 "$out3/autoscaler.log")"
# Every worker ran on the workers' host. The summary counts the instances
# the collector heard from, so one the autoscaler started in the last
# moment may have a log but no report: at least $started logs, all there.
on_cloud="$(grep -l "on host $cloud as pid" "$out3"/worker-*.log | wc -l)"
all_logs="$(ls "$out3"/worker-*.log | wc -l)"
expect_eq "run3: worker logs not on $cloud" "$((all_logs - on_cloud))" 0
[ "$on_cloud" -ge "$started" ] ||
  fail "run3: $on_cloud worker logs on $cloud, fewer than the $started instances started"
[ -s "$out3/autoscaler.jsonl" ] || fail "no autoscaler decisions recorded"

# 2. A long-running pipeline: up, a refused producer, scale, status, down.
netem=()
if [ "$have_netem" -eq 1 ]; then
  netem=(--netem "$edge=delay 20ms")
else
  echo "NOTE: this kernel has no netem qdisc (sch_netem): --netem is only checked to fail cleanly"
  rc=0
  "$EVENTIDE" up --hosts "$hosts" --host-cmd "$tpl" --workflow synthetic \
    --netem "$edge=delay 20ms" --out "$ET_TMP/up-netem" >"$ET_TMP/up-netem.log" 2>&1 || rc=$?
  expect_eq "up --netem without netem: exit status" "$rc" 1
  grep -q -- "--netem '$edge=delay 20ms': tc on host $edge refused it" "$ET_TMP/up-netem.log" ||
    fail "up --netem without netem: $(cat "$ET_TMP/up-netem.log")"
  for ns in "$edge" "$core" "$cloud"; do
    [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns after a failed up"
  done
  [ ! -e "$EVENTIDE_STATE/current" ] || fail "a failed up left its run directory behind"
fi
# Port 24000+ inside private namespaces: nothing else can hold them.
"$EVENTIDE" up --hosts "$hosts" --host-cmd "$tpl" --curve "$keys" \
  --workflow synthetic --service exp:2ms --port-base 24000 \
  "${netem[@]}" --out "$ET_TMP/up" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up across namespaces failed"; }
run="$(readlink -f "$EVENTIDE_STATE/current")"
# shellcheck disable=SC1091
. "$run/env"
expect_eq "frontend" "$FRONTEND" "tcp://10.231.7.2:24001"
expect_eq "collector" "$COLLECTOR" "tcp://10.231.7.2:24000"
if [ "$have_netem" -eq 1 ]; then
  ip netns exec "$edge" tc qdisc show dev eth0 | grep -q 'netem .*delay 20ms' ||
    fail "no netem qdisc on $edge: $(ip netns exec "$edge" tc qdisc show dev eth0)"
  if ip netns exec "$core" tc qdisc show dev eth0 | grep -q netem; then
    fail "netem on $core too"
  fi
fi

# Another key directory's client key: the broker refuses the producer.
intruder="$ET_TMP/intruder"
"$ET_BIN_DIR/eventide-keys" --dir "$intruder" >/dev/null
cp "$keys/server.pub" "$intruder/server.pub"
rc=0
"$EVENTIDE" produce --curve "$intruder" --rate 50 --duration 1 \
  >"$ET_TMP/intruder.out" 2>"$ET_TMP/intruder.err" || rc=$?
[ "$rc" -ne 0 ] || fail "a producer with an unknown key ran: $(cat "$ET_TMP/intruder.out")"
grep -q 'refused client key .* (unknown key) from 10\.231\.7\.1' "$run/logs/broker.log" ||
  fail "the broker did not log the refusal from the edge host"

rc=0
"$EVENTIDE" produce --host "$cloud" --duration 1 >/dev/null 2>&1 || rc=$?
expect_eq "produce --host on a host without the producer role: exit status" "$rc" 2
"$EVENTIDE" scale synthetic 3 --host "$cloud" >"$ET_TMP/scale.log" 2>&1 ||
  { cat "$ET_TMP/scale.log" >&2; fail "scale --host failed"; }
grep -q "synthetic: 3 instance(s) on $cloud" "$ET_TMP/scale.log" ||
  fail "scale: $(cat "$ET_TMP/scale.log")"
rc=0
"$EVENTIDE" scale synthetic 1 --host "$edge" >/dev/null 2>&1 || rc=$?
expect_eq "scale --host on a host without workers: exit status" "$rc" 2
"$EVENTIDE" status --json >"$ET_TMP/status.json" 2>"$ET_TMP/status.err" ||
  { cat "$ET_TMP/status.err" >&2; fail "status failed"; }
expect_eq "running workers on $cloud" \
  "$(jq "[.processes[] | select(.role == \"worker\" and .state == \"running\" and .host == \"$cloud\")] | length" "$ET_TMP/status.json")" 3
expect_eq "broker stats reach status" "$(jq '.broker != null' "$ET_TMP/status.json")" true
"$EVENTIDE" produce --rate 50 --duration 2 >"$ET_TMP/produce.log" 2>&1 ||
  { cat "$ET_TMP/produce.log" >&2; fail "admitted producer failed"; }
"$EVENTIDE" scale synthetic 1 >"$ET_TMP/scale2.log" 2>&1 || fail "scale in failed"
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
s="$ET_TMP/up/summary.json"
expect_accounted "$s"
expect_eq "up: producers counted" "$(json "$s" .producers.count)" 1
if ip netns exec "$edge" tc qdisc show dev eth0 | grep -q netem; then
  fail "the netem qdisc outlived down"
fi
for ns in "$edge" "$core" "$cloud"; do
  [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns after down"
done
pass "run across 3 namespaces with CURVE ($(json "$out/summary.json" .events.sent) events, lost 0); wrong key refused; up/scale --host/status/down; netem $([ "$have_netem" -eq 1 ] && echo "applied and removed" || echo "unavailable: clean failure checked")"
