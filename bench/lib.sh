# bench/lib.sh: what the benchmark scripts share to find a run's processes
# and to count what they did over an interval. Sourced, not run.

# run_pids LAUNCHER: "PID:ROLE" of each of the run's processes below
# LAUNCHER (ROLE: broker, collector, producer, worker), one per line. One
# ps and one awk however many processes: with 500 workers, a readlink per
# process took longer on a loaded machine than a 20 s run.
run_pids() {
  ps -e -o pid=,ppid=,args= | awk -v root="$1" '
    {
      parent[$1] = $2
      exe = $3; sub(/.*\//, "", exe)
      if (exe ~ /^eventide-(broker|collector|producer|worker)$/) {
        sub(/^eventide-/, "", exe); role[$1] = exe
      }
    }
    END {
      changed = 1; mine[root] = 1
      while (changed) {
        changed = 0
        for (p in parent) if (!(p in mine) && (parent[p] in mine)) { mine[p] = 1; changed = 1 }
      }
      for (p in mine) if (p != root && (p in role)) print p ":" role[p]
    }'
}

# await_producer LAUNCHER TIMEOUT_S: wait until the run's producer runs
# (it starts last: then every process of the run does); 1 if the launcher
# ended or TIMEOUT_S passed first.
await_producer() {
  local deadline=$((SECONDS + $2)) pids
  while :; do
    # Not a pipe into grep -q: under pipefail its early exit fails the pipe.
    pids="$(run_pids "$1")"
    [[ $'\n'"$pids"$'\n' == *:producer$'\n'* ]] && return 0
    kill -0 "$1" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# cpu_ns PID...: CPU time used so far by every thread of the PIDs (the
# ZeroMQ I/O threads included), in nanoseconds, from each thread's
# schedstat; one cat however many processes.
cpu_ns() {
  local p files=()
  for p in "$@"; do files+=(/proc/"$p"/task/*/schedstat); done
  cat "${files[@]}" 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# events_between RUN_DIR START_NS END_NS: "COMPLETED SENT" in the wall-clock
# interval, from the run's per-second series (row k is the whole clock
# second k after the one the load started in; completions are bucketed by
# their end), a partly covered second counted pro rata.
events_between() {
  local t0
  t0="$(date -d "$(jq -r '.load_window.started_at' "$1/summary.json")" +%s)"
  awk -F, -v a="$2" -v b="$3" -v t0="$t0" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
      lo = t0 + $col["second"]; hi = lo + 1
      s = (a / 1e9 > lo ? a / 1e9 : lo); e = (b / 1e9 < hi ? b / 1e9 : hi)
      if (e > s) { c += $col["completed"] * (e - s); n += $col["sent"] * (e - s) }
    }
    END { printf "%d %d\n", c, n }' "$1/timeseries.csv"
}
