#!/usr/bin/env bash
# --cpus: a short noop run with the broker and the producer pinned to cpu 0
# and the workers to cpu 1. While it runs, every process its pids dir
# names is read from /proc: the pid is the eventide-* binary itself (taskset
# exec'd it) and its Cpus_allowed_list is what was asked; the collector,
# not named, keeps the launcher's own cpus. The run's launcher.log says
# what was pinned.
. "$(dirname "$0")/lib.sh"

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
pass "broker and producer on cpu 0, workers on cpu 1, collector on $own; $(json "$out/summary.json" .events.completed) completed, lost 0"
