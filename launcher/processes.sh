# launcher/processes.sh: the processes the launcher starts, here or on a
# host of --hosts, and how it finds, checks and stops them again. Each one
# is recorded in the run directory: RUN/pids/NAME.pid (the local pid) and,
# for a process on a host, RUN/pids/NAME.host ("HOST PID") and, when it is
# a Slurm job step (--cluster slurm), RUN/pids/NAME.step ("JOB.STEP"); its
# output goes to RUN/logs/NAME.log.

# start_bg RUN NAME CMD...: start CMD in the background, logging to
# RUN/logs/NAME.log, and record its pid in RUN/pids/NAME.pid; pinned to
# the cpus RUN/cpus gives NAME (cpus_of).
start_bg() {
  local run="$1" name="$2"; shift 2
  local -a pin
  cpus_pin pin "$run" "$name"
  mkdir -p "$run/logs" "$run/pids"
  # Own session: a pipeline left up by `up` survives its terminal closing.
  # From the source tree, so relative paths in workflow options resolve.
  # setsid and taskset exec what follows: the pid stays CMD's own.
  (cd "$ROOT" && exec setsid "${pin[@]}" "$@") >>"$run/logs/$name.log" 2>&1 &
  echo $! >"$run/pids/$name.pid"
}

# host_start RUN NAME HOST [--stamp-spawn] CMD...: start_bg through the
# template; --stamp-spawn appends --spawned-at with HOST's own time. The
# process's first log line gives its pid on HOST, recorded with the host
# in RUN/pids/NAME.host ("HOST PID"); RUN/pids/NAME.pid keeps the local pid
# (the template's process: ssh or srun, or the process itself under ip
# netns exec). Under --cluster slurm the line also names the job step
# (from the step's own environment), recorded in RUN/pids/NAME.step and
# in the ledger RUN/slurm-steps.
host_start() {
  local run="$1" name="$2" host="$3" stamp="" in_step=""; shift 3
  if [ "${1-}" = --stamp-spawn ]; then
    # shellcheck disable=SC2016 # expanded on HOST, not here
    stamp=' --spawned-at "$(date +%s%N)"'; shift
  fi
  # shellcheck disable=SC2016 # expanded in the step, not here
  [ "${CLUSTER:-}" = slurm ] && in_step=' in slurm step $SLURM_JOB_ID.$SLURM_STEP_ID'
  mkdir -p "$run/logs" "$run/pids"
  local script
  local -a argv
  script="cd $(sh_quote "$ROOT") && echo \"\$(date -u +%Y-%m-%dT%H:%M:%S.000Z) INFO eventide: on host $host as pid \$\$$in_step\" && exec $(sh_words "$@")$stamp"
  host_argv argv "$host" "$script" "$name"
  # The log exists before the loop below reads it, whenever the
  # background shell gets to open it.
  : >>"$run/logs/$name.log"
  (exec setsid "${argv[@]}") </dev/null >>"$run/logs/$name.log" 2>&1 &
  local lpid=$! tries=0 rpid="" line step=""
  echo "$lpid" >"$run/pids/$name.pid"
  while :; do
    line="$(grep -F " INFO eventide: on host $host as pid " "$run/logs/$name.log" | tail -n 1)" || line=""
    rpid="$(sed -n 's/^.* as pid \([0-9][0-9]*\)\( in slurm step .*\)\{0,1\}$/\1/p' <<<"$line")"
    if [ -n "$rpid" ] && [ -n "$in_step" ]; then
      step="$(sed -n 's/^.* in slurm step \([0-9]\{1,10\}\.[0-9]\{1,10\}\)$/\1/p' <<<"$line")"
      [ -n "$step" ] || die "$name started on node $host outside a Slurm job step: $line"
      echo "$step" >"$run/pids/$name.step"
      slurm_record "$run" "$name" "$host" "$rpid" "$step"
    fi
    [ -n "$rpid" ] && break
    if ! kill -0 "$lpid" 2>/dev/null; then
      cat "$run/logs/$name.log" >&2
      die "$name did not start on host $host (command: ${HOST_CMD//\{host\}/$host})"
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 600 ] || die "$name did not start on host $host within 30 s"
    sleep 0.05
  done
  echo "$host $rpid" >"$run/pids/$name.host"
}

# pid_of RUN NAME: the process NAME (HOST:PID for a process on a host);
# local_pid_of: the local process (what this shell can wait for).
pid_of() {
  if [ -f "$1/pids/$2.host" ]; then
    local h p s
    read -r h p <"$1/pids/$2.host"
    if [ -f "$1/pids/$2.step" ]; then
      read -r s <"$1/pids/$2.step"
      echo "$h:slurm/$s"
    else
      echo "$h:$p"
    fi
  else
    cat "$1/pids/$2.pid" 2>/dev/null || true
  fi
}
local_pid_of() { cat "$1/pids/$2.pid" 2>/dev/null || true; }
# pid_into VAR RUN NAME: local_pid_of into VAR, without a subshell (for the
# loops that watch the run all along).
pid_into() {
  local _pid=""
  [ -f "$2/pids/$3.pid" ] && { read -r _pid <"$2/pids/$3.pid" || true; }
  printf -v "$1" '%s' "$_pid"
}

# A process is a local pid, HOST:PID for one started on a host of
# --hosts, checked and signalled through the template, or
# HOST:slurm/JOB.STEP for a Slurm job step, which Slurm checks (squeue)
# and signals (scancel).
pid_alive() {
  case "$1" in
    *:slurm/*) slurm_step_alive "${1#*:slurm/}" ;;
    *:*) host_sh "${1%%:*}" "kill -0 ${1#*:}" </dev/null >/dev/null 2>&1 ;;
    *) kill -0 "$1" 2>/dev/null && ! pid_zombie "$1" ;;
  esac
}

# pid_zombie PID: PID has exited and waits to be reaped. A process whose
# starter has exited is reaped by PID 1, which in a container may take a
# second or more; kill -0 still succeeds meanwhile, and `scale` would
# count an instance that has left (--idle-timeout) as running.
pid_zombie() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # the name, in parentheses, may hold spaces
  [ "${stat%% *}" = Z ]
}

sig_proc() { # SIGNAL PROCESS
  case "$2" in
    *:slurm/*) slurm_step_signal "$1" "${2#*:slurm/}" ;;
    *:*) host_sh "${2%%:*}" "kill -$1 ${2#*:}" </dev/null >/dev/null 2>&1 ;;
    *) kill "-$1" "$2" 2>/dev/null ;;
  esac
}

# stop_pids TIMEOUT PROCESS...: SIGTERM, wait up to TIMEOUT seconds, SIGKILL.
stop_pids() {
  local timeout="$1"; shift
  local pid deadline
  for pid in "$@"; do sig_proc TERM "$pid" || true; done
  deadline=$((SECONDS + timeout))
  for pid in "$@"; do
    while pid_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    if pid_alive "$pid"; then
      info "process $pid did not stop in ${timeout}s: killing it"
      sig_proc KILL "$pid" || true
    fi
  done
}
