#!/usr/bin/env bash
# Across hosts through real ssh, as in README's two-machine deployment:
# three network namespaces, each running its own ssh server (dropbear) on
# its address, and the launcher on the broker's host (like machine A of
# the guide) reaching every host, itself included, with
# --host-cmd 'ssh -F CONFIG {host}'. A whole run with CURVE and a skewed
# producer clock, its results written on the collector host's own file
# system and copied back, then up / scale --host / status / down. The ssh server's
# view of root's home is a private copy of /etc/passwd in its own mount
# namespace, so nothing of this machine's ssh set-up is read or changed.
# Skips (exit 0) only when namespaces cannot be created here.
. "$(dirname "$0")/lib.sh"
launcher_only_test "placement over ssh"

. "$(dirname "$0")/netns_lib.sh"
ns_prefix="ets-$$"
netns_test_trap
netns_require "$ns_prefix"
for tool in ssh ssh-keygen dropbear dropbearkey unshare; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool is missing (./eventide installs openssh-client and dropbear-bin)"
done
edge="$ns_prefix-edge"; core="$ns_prefix-core"; cloud="$ns_prefix-cloud"
netns_up "$ns_prefix" edge core cloud

# Keys, and a root whose home (for the ssh server only) is ours.
home="$ET_TMP/home"
mkdir -m 700 -p "$home/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$ET_TMP/id" -C eventide-test
cp "$ET_TMP/id.pub" "$home/.ssh/authorized_keys"
chmod 600 "$home/.ssh/authorized_keys"
awk -F: -v OFS=: -v h="$home" '$1 == "root" { $6 = h } { print }' /etc/passwd >"$ET_TMP/passwd"
dropbearkey -t ed25519 -f "$ET_TMP/hostkey" >/dev/null 2>&1
# The broker and collector host has a file system of its own for the
# first run's results (a tmpfs only its ssh sessions see), as a separate
# machine would: the launcher must copy them back.
out="$ET_TMP/run"
mkdir -p "$out"
i=1
for ns in "$edge" "$core" "$cloud"; do
  private=""
  [ "$ns" = "$core" ] && private="$out"
  # In a subshell: not a job of this shell, so its end at clean-up is
  # not reported.
  (ip netns exec "$ns" unshare -m sh -c \
     'mount --bind "$1" /etc/passwd && { [ -z "$5" ] || mount -t tmpfs eventide-test "$5"; } &&
      exec dropbear -F -E -s -m -r "$2" -p "$3:22" -P "$4"' \
     sh "$ET_TMP/passwd" "$ET_TMP/hostkey" "10.231.7.$i" "$ET_TMP/dropbear-$i.pid" "$private" \
     >"$ET_TMP/dropbear-$i.log" 2>&1 &)
  i=$((i + 1))
done
cat >"$ET_TMP/ssh_config" <<EOF
Host $edge
  HostName 10.231.7.1
Host $core
  HostName 10.231.7.2
Host $cloud
  HostName 10.231.7.3
Host *
  User root
  IdentityFile $ET_TMP/id
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 5
EOF
tpl="ssh -F $ET_TMP/ssh_config {host}"
# The launcher runs on the broker's host, the only place the others are
# reachable from here.
on_core() { ip netns exec "$core" "$@"; }
for h in "$edge" "$core" "$cloud"; do
  for _ in $(seq 50); do
    on_core ssh -F "$ET_TMP/ssh_config" "$h" true 2>/dev/null && continue 2
    sleep 0.1
  done
  fail "no ssh to $h: $(on_core ssh -F "$ET_TMP/ssh_config" "$h" true 2>&1; cat "$ET_TMP"/dropbear-*.log)"
done

cat >"$ET_TMP/hosts" <<EOF
$edge  10.231.7.1 producer
$core  10.231.7.2 broker collector
$cloud 10.231.7.3 workers:synthetic=2
EOF
keys="$ET_TMP/keys"
"$EVENTIDE" keys "$keys" >/dev/null

# 1. A whole run through ssh, CURVE on, the producer host's clock 300 ms
# behind, the results written on the collector's own file system.
on_core ssh -F "$ET_TMP/ssh_config" "$core" "touch $out/only-on-core"
[ ! -e "$out/only-on-core" ] || fail "the results directory on $core is not private to it"
on_core "$EVENTIDE" run --hosts "$ET_TMP/hosts" --host-cmd "$tpl" --curve "$keys" \
  --workflow synthetic --service exp:2ms --rate 100 --duration 3 --seed 9 \
  --clock-skew "$edge=-300" --out "$out" >"$ET_TMP/run.log" 2>&1 ||
  { cat "$ET_TMP/run.log" >&2; fail "run through ssh failed"; }
s="$out/summary.json"
[ -f "$s" ] || fail "the results were not copied back from $core: $(ls -A "$out")"
[ -f "$out/only-on-core" ] || fail "the copy from $core is not its results directory"
expect_accounted "$s"
expect_eq "run: completed" "$(json "$s" .events.completed)" "$(json "$s" .events.sent)"
expect_eq "run: workers on $cloud" "$(grep -l "on host $cloud as pid" "$out"/worker-*.log | wc -l)" 2
grep -q "INFO eventide: on host $core as pid" "$out/broker.log" ||
  fail "the broker did not run on $core"
jq -e --arg h "$edge" '[.clocks.sources[] | select(.role == "producer" and .host == $h)] |
  length == 1 and all(((.offset_ms - 300) | fabs) <= .bound_ms + 0.001 and .corrected)' "$s" >/dev/null ||
  fail "producer clock through ssh: $(jq -c .clocks.sources "$s")"
no_eventide_left() { # WHEN: no Eventide process is left in any namespace
  local ns left
  for ns in "$edge" "$core" "$cloud"; do
    left="$(ip netns pids "$ns" | xargs -r ps -o pid=,stat=,args= -p | grep 'eventide-' || true)"
    [ -z "$left" ] || fail "Eventide processes left in $ns after $1: $left"
  done
}
no_eventide_left run

# 2. The long-running form through ssh.
on_core "$EVENTIDE" up --hosts "$ET_TMP/hosts" --host-cmd "$tpl" --curve "$keys" \
  --workflow synthetic --service exp:2ms --out "$ET_TMP/up" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up through ssh failed"; }
on_core "$EVENTIDE" scale synthetic 3 --host "$cloud" >"$ET_TMP/scale.log" 2>&1 ||
  { cat "$ET_TMP/scale.log" >&2; fail "scale --host through ssh failed"; }
on_core "$EVENTIDE" status --json >"$ET_TMP/status.json" 2>"$ET_TMP/status.err" ||
  { cat "$ET_TMP/status.err" >&2; fail "status through ssh failed"; }
expect_eq "running workers on $cloud" \
  "$(jq "[.processes[] | select(.role == \"worker\" and .state == \"running\" and .host == \"$cloud\")] | length" "$ET_TMP/status.json")" 3
on_core "$EVENTIDE" produce --rate 50 --duration 2 >"$ET_TMP/produce.log" 2>&1 ||
  { cat "$ET_TMP/produce.log" >&2; fail "produce through ssh failed"; }
on_core "$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 ||
  { cat "$ET_TMP/down.log" >&2; fail "down through ssh failed"; }
if grep -q "did not stop" "$ET_TMP/down.log"; then
  fail "down had to kill: $(grep "did not stop" "$ET_TMP/down.log")"
fi
expect_accounted "$ET_TMP/up/summary.json"
expect_eq "up: workers started" "$(json "$ET_TMP/up/summary.json" .workers.started)" 3
no_eventide_left down
pass "run through real ssh across 3 namespaces (CURVE on, producer clock corrected, results copied back from the collector host's own file system); up/scale --host/status/produce/down"
