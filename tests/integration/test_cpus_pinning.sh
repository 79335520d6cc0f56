#!/usr/bin/env bash
# --cpus: a short noop run with the broker and the producer pinned to cpu 0
# and the workers to cpu 1. While it runs, every process its pids dir
# names is read from /proc: the pid is the eventide-* binary itself (taskset
# exec'd it) and its Cpus_allowed_list is what was asked; the collector,
# not named, keeps the launcher's own cpus. The run's launcher.log says
# what was pinned.
. "$(dirname "$0")/lib.sh"
launcher_only_test "--cpus pinning"

online="$(cat /sys/devices/system/cpu/online 2>/dev/null || echo 0)"
if [[ ! "$online" =~ (^|,)0-([1-9]|[0-9]{2,}) ]] && [[ ! "$online" =~ ^0,1 ]]; then
  echo "SKIP: cpus 0 and 1 are not both online here (online: $online); pinning apart needs two"
  exit 0
fi
command -v taskset >/dev/null || fail "no taskset (util-linux is Essential on Debian)"
own="$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow noop --workers 2 --rate 200 --duration 3 \
  --cpus broker=0 --cpus workers=1 --cpus producer=0 \
  --out "$out" >"$ET_TMP/run.log" 2>&1 &
launcher=$!
ET_EXTRA_PIDS+=("$launcher")

# Poll the run's pids dir while the run lasts: NAME -> the lists seen.
declare -A seen=()
rundir=""
while kill -0 "$launcher" 2>/dev/null; do
  if [ -z "$rundir" ]; then
    read -r _ rundir < <(run_collector "$out") || true
    [ -n "$rundir" ] || { sleep 0.05; continue; }
  fi
  for f in "$rundir"/pids/*.pid; do
    [ -f "$f" ] || continue
    name="$(basename "$f" .pid)"
    pid="$(cat "$f" 2>/dev/null)" || continue
    # Until the exec chain (setsid, taskset) reaches the binary, the pid
    # is still the launcher's subshell: judged once it is the binary.
    argv0="$(tr "\0" "\n" 2>/dev/null <"/proc/$pid/cmdline" | head -n 1)" || continue
    [[ "$(basename "$argv0")" == eventide-* ]] || continue
    list="$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)" ||
      continue
    [ -n "$list" ] || continue
    case " ${seen[$name]-} " in *" $list "*) ;; *) seen[$name]="${seen[$name]-} $list" ;; esac
  done
  sleep 0.05
done
wait "$launcher" || { cat "$ET_TMP/run.log" >&2; fail "the run failed"; }
[ -n "$rundir" ] || fail "never found the run's collector"

# expect_pinned NAME LIST: NAME was seen, always on LIST.
expect_pinned() {
  [ -n "${seen[$1]-}" ] || fail "$1: never seen running (seen: ${!seen[*]})"
  expect_eq "$1 Cpus_allowed_list" "${seen[$1]# }" "$2"
}
expect_pinned broker 0
expect_pinned producer-1 0
expect_pinned worker-noop-1 1
expect_pinned worker-noop-2 1
expect_pinned collector "$own"

grep -q "cpus: broker=0 workers=1 producer=0; every other process: $own" "$out/launcher.log" ||
  fail "launcher.log does not say what was pinned: $(cat "$out/launcher.log" 2>/dev/null)"
expect_accounted "$out/summary.json"
completed="$(json "$out/summary.json" .events.completed)"

# cpus_of_binary PID: its Cpus_allowed_list once PID is the eventide-*
# binary (the exec chain done), waiting up to 10 s; nothing if never.
cpus_of_binary() {
  local argv0
  for _ in $(seq 1 200); do
    argv0="$(tr "\0" "\n" 2>/dev/null <"/proc/$1/cmdline" | head -n 1)" || return 0
    if [[ "$(basename "$argv0")" == eventide-* ]]; then
      sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status"
      return 0
    fi
    sleep 0.05
  done
}

out2="$ET_TMP/out-up"
"$EVENTIDE" up --workflow synthetic --service const:1ms --workers 1 \
  --cpus broker=0 --cpus workers=1 --out "$out2" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
run="$(readlink -f "$EVENTIDE_STATE/current")"
"$EVENTIDE" scale synthetic 2 >/dev/null || fail "scale failed"
expect_eq "worker-synthetic-2 (started by scale)" \
  "$(cpus_of_binary "$(cat "$run/pids/worker-synthetic-2.pid")")" 1
old_broker="$(cat "$run/pids/broker.pid")"
"$EVENTIDE" restart broker >"$ET_TMP/restart.log" 2>&1 ||
  { cat "$ET_TMP/restart.log" >&2; fail "restart broker failed"; }
new_broker="$(cat "$run/pids/broker.pid")"
[ "$new_broker" != "$old_broker" ] || fail "restart broker kept pid $old_broker"
expect_eq "the restarted broker" "$(cpus_of_binary "$new_broker")" 0
"$EVENTIDE" status >"$ET_TMP/status.txt" 2>&1 || true
grep -qx "cpus: broker=0 workers=1 others=$own" "$ET_TMP/status.txt" ||
  fail "status does not show the pinning: $(cat "$ET_TMP/status.txt")"
"$EVENTIDE" status --json >"$ET_TMP/status.json"
expect_eq "status --json .cpus" "$(jq -c .cpus "$ET_TMP/status.json")" \
  "{\"broker\":\"0\",\"workers\":\"1\",\"others\":\"$own\"}"
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
pass "broker and producer on cpu 0, workers on cpu 1, collector on $own; $completed completed, lost 0; under up a scaled worker and a restarted broker pinned alike"
