# launcher/options.sh: the options of run, up, produce and sweep: their
# defaults, the check of the values the launcher itself uses (exit 2
# naming the flag) and the checks across options, before the build and,
# once the workflow is read, against it. The values it only passes on are
# judged by the binaries (check_pipeline_argv in pipeline.sh).
#
# These run-wide settings are, with the hosts table (hosts.sh), the only
# globals the launcher keeps: set_pipeline_defaults gives each its default,
# parse_pipeline_opt sets them from the command line, the check_* functions
# and workflow_settle normalize a few (TRANSPORT=tcp under --curve or
# --hosts, HOSTS_FILE absolute, WORKFLOW the workflow's name and
# WORKFLOW_FILE its file), and from then on they are only read. A command
# acting on a running pipeline restores them, with the pipeline's
# endpoints, from RUN/env (run_env). Everything else a function computes
# is its output, on stdout or into a nameref, never a global.

set_pipeline_defaults() {
  WORKFLOW=synthetic
  WORKFLOW_SET=0
  WORKFLOW_FILE=""
  WORKERS_SPEC=2
  SERVICE="exp:10ms"
  SERVICE_SCALE=""
  MODE="sleep"
  SLOTS=""
  QUEUE_CAP=10000
  SHED_PAUSE=""
  TASK_BATCH=""
  SEND_GRAIN=""
  SPIN_BUDGET=""
  KEY_HANDOVER=""
  BACKLOG_MEMORY=""
  SPILL_MAX=""
  METRICS=127.0.0.1:0
  RATE=10
  DURATION=10
  ARRIVAL=poisson
  SEED=1
  PAYLOAD_BYTES=0
  OUT=""
  DRAIN_TIMEOUT=30
  LOG_LEVEL=info
  SOURCE=""
  INGEST=""
  LABELS=""
  SPEEDUP=""
  MINUTES=""
  FUNCTIONS=""
  IAT=""
  MQTT_DEVICES=""
  FRAUD_RATE=""
  MALFORMED_RATE=""
  RATE_SET=0
  DURATION_SET=0
  IDLE_TIMEOUT=""
  MEMORY_MB=""
  PRICE_GB_S=""
  PRICE_REQUESTS=""
  AUTOSCALE=""
  AS_MIN=""
  MAX_INSTANCES=""
  MAX_MEMORY_MB=""
  AS_MAX=""
  AS_TARGET=""
  AS_ARGS=()
  TRANSPORT=ipc
  TRANSPORT_SET=0
  CURVE_DIR=""
  HOSTS_FILE=""
  HOST_CMD="ssh {host}"
  HOST_CMD_SET=0
  PORT_BASE=""
  CLUSTER=""
  SL_NODES=""
  SL_PARTITION=""
  SL_TIME=""
  SL_ACCOUNT=""
  SL_QOS=""
  SL_WAIT=""
  SL_JOB=""
  SL_OWNED=0
  NETEM=()
  CLOCK_SYNC=auto
  CLOCK_SYNC_SET=0
  CLOCK_SKEWS=""
  SUPERVISE=0
  CHECKPOINT_INTERVAL=""
  CPUS=""
  REDIS=""
}

# parse_pipeline_opt FLAG VALUE: sets a setting or fails with exit 2.
# Every flag needs a value. The launcher judges only the values it uses
# itself:
#   --workers        its grammar: the launcher counts and places workers
#   --seed           an integer below 1e15: worker_argv computes
#                    SEED*1000+INDEX in shell arithmetic
#   --drain-timeout  a number: collector_argv computes it plus 15 s in awk
#   --autoscale      kpa, hpa or rps: it picks the autoscaler's target flag
#   --autoscale-arg  --flag=value: one word added to the autoscaler's argv
#   --transport      ipc or tcp: it picks the endpoints
#   --curve          an existing directory: made absolute, implies tcp
#   --clock-skew     ROLE=MS or HOST=MS: it routes each skew to the
#                    producer or the workers, or to one host's processes
#   --host-cmd       a command: the template it runs on the hosts
#   --cluster        slurm[:OPTIONS]: the allocation it asks for or uses
#                    (cluster_parse in slurm.sh)
#   --port-base      a port: it adds 1 to 3 for the broker's endpoints
#   --netem          HOST=SPEC: it runs `tc ... netem SPEC` on HOST
#   --supervise      a count from 0 to 100: its supervisor restarts the
#                    broker at most that often
#   --redis          a socket path or HOST:PORT: it hands it to the
#                    workers instead of starting a private redis-server
#   --cpus           ROLE=LIST: it starts each process under taskset
#                    (the LIST is checked against the machine by
#                    check_cpus)
#   (the --hosts file itself is read by hosts_load)
# The workflow is read (and --workflow checked) later, by workflow_load,
# once the binaries are built. Every other value (--rate, --duration,
# --mode, --slots, --service, --source, --min, --clock-sync, ...) is only
# passed on, and the binaries judge it: check_pipeline_argv runs each
# process's command line with --check before anything starts.
parse_pipeline_opt() {
  local flag="$1" value="${2-}"
  [ -n "$value" ] || usage_error "$flag needs a value"
  case "$flag" in
    --workflow) WORKFLOW="$value"; WORKFLOW_SET=1 ;;
    --workers) [[ "$value" =~ ^[0-9]+$|^[A-Za-z0-9_.-]+=[0-9]+(,[A-Za-z0-9_.-]+=[0-9]+)*,?$ ]] ||
                 usage_error "--workers '$value': expected N or FUNCTION=N,..."
               WORKERS_SPEC="$value" ;;
    --service) SERVICE="$value" ;;
    --service-scale) SERVICE_SCALE="$value" ;;
    --mode) MODE="$value" ;;
    --slots) SLOTS="$value" ;;
    --queue-cap) QUEUE_CAP="$value" ;;
    --shed-pause) SHED_PAUSE="$value" ;;
    --task-batch) TASK_BATCH="$value" ;;
    --send-grain) SEND_GRAIN="$value" ;;
    --spin-budget) SPIN_BUDGET="$value" ;;
    --key-handover) KEY_HANDOVER="$value" ;;
    --backlog-memory) BACKLOG_MEMORY="$value" ;;
    --spill-max) SPILL_MAX="$value" ;;
    --metrics) METRICS="$value" ;;
    --rate) RATE="$value"; RATE_SET=1 ;;
    --source) SOURCE="$value" ;;
    --ingest) INGEST="$value" ;;
    --labels) LABELS="$value" ;;
    --speedup) SPEEDUP="$value" ;;
    --minutes) MINUTES="$value" ;;
    --functions) FUNCTIONS="$value" ;;
    --iat) IAT="$value" ;;
    --mqtt-devices) MQTT_DEVICES="$value" ;;
    --fraud-rate) FRAUD_RATE="$value" ;;
    --malformed-rate) MALFORMED_RATE="$value" ;;
    --duration) DURATION="$value"; DURATION_SET=1 ;;
    --arrival) ARRIVAL="$value" ;;
    --seed) [[ "$value" =~ ^[0-9]{1,15}$ ]] ||
              usage_error "--seed '$value': expected an integer from 0 to 999999999999999"
            SEED="$value" ;;
    --payload-bytes) PAYLOAD_BYTES="$value" ;;
    --out) OUT="$value" ;;
    --drain-timeout) is_number "$value" ||
                       usage_error "--drain-timeout '$value': expected seconds"
                     DRAIN_TIMEOUT="$value" ;;
    --log-level) LOG_LEVEL="$value" ;;
    --idle-timeout) IDLE_TIMEOUT="$value" ;;
    --memory-mb) MEMORY_MB="$value" ;;
    --price-gb-s) PRICE_GB_S="$value" ;;
    --price-requests) PRICE_REQUESTS="$value" ;;
    --autoscale) [[ "$value" =~ ^(kpa|hpa|rps)$ ]] ||
                   usage_error "--autoscale '$value': expected kpa, hpa or rps"
                 AUTOSCALE="$value" ;;
    --min) AS_MIN="$value" ;;
    --max-instances) MAX_INSTANCES="$value" ;;
    --max-memory-mb) [[ "$value" =~ ^[1-9][0-9]{0,12}$ ]] ||
                       usage_error "--max-memory-mb '$value': expected a whole number of MB above 0"
                     MAX_MEMORY_MB="$value" ;;
    --max) AS_MAX="$value" ;;
    --target) AS_TARGET="$value" ;;
    --autoscale-arg) [[ "$value" =~ ^--[a-z-]+=[A-Za-z0-9_.:-]+$ ]] ||
                       usage_error "--autoscale-arg '$value': expected --flag=value"
                     AS_ARGS+=("$value") ;;
    --hosts) HOSTS_FILE="$value" ;;
    --host-cmd) [[ "$value" =~ ^[^[:space:]] ]] ||
                  usage_error "--host-cmd '$value': expected a command, e.g. 'ssh {host}'"
                HOST_CMD="$value"; HOST_CMD_SET=1 ;;
    --cluster) cluster_parse "$value" ;;
    --port-base) is_count "$value" && [ "$value" -ge 1024 ] && [ "$value" -le 65532 ] ||
                   usage_error "--port-base '$value': expected a port from 1024 to 65532"
                 PORT_BASE="$value" ;;
    --netem) [[ "$value" =~ ^[A-Za-z][A-Za-z0-9_.-]*=[A-Za-z0-9%.\ _-]+$ ]] ||
               usage_error "--netem '$value': expected HOST=SPEC, e.g. edge='delay 20ms loss 1%'"
             NETEM+=("$value") ;;
    --clock-sync) CLOCK_SYNC="$value"; CLOCK_SYNC_SET=1 ;;
    --clock-skew) [[ "$value" =~ ^[A-Za-z][A-Za-z0-9_.-]*=[+-]?[0-9]+([.][0-9]+)?$ ]] ||
                    usage_error "--clock-skew '$value': expected producer=MS, workers=MS or HOST=MS, e.g. producer=-250"
                  CLOCK_SKEWS="${CLOCK_SKEWS:+$CLOCK_SKEWS }$value" ;;
    --supervise) is_count "$value" && [ "$value" -le 100 ] ||
                   usage_error "--supervise '$value': expected how many restarts of the broker (and of the collector) to allow, 0 to 100"
                 SUPERVISE="$((10#$value))" ;;
    --checkpoint-interval) is_number "$value" ||
                             usage_error "--checkpoint-interval '$value': expected seconds (0: no checkpoints)"
                           CHECKPOINT_INTERVAL="$value" ;;
    --cpus) cpus_parse "$value" ;;
    --redis) [[ "$value" =~ ^(unix:)?/[^[:space:]]+$|^(redis://)?[A-Za-z0-9_.-]+:[0-9]{1,5}$ ]] ||
               usage_error "--redis '$value': expected unix:PATH, /PATH (a socket) or HOST:PORT"
             REDIS="$value" ;;
    --transport) [[ "$value" =~ ^(ipc|tcp)$ ]] ||
                   usage_error "--transport '$value': expected ipc or tcp"
                 TRANSPORT="$value"; TRANSPORT_SET=1 ;;
    --curve) [ -d "$value" ] ||
               usage_error "--curve '$value': no such directory (create one with ./eventide keys DIR)"
             CURVE_DIR="$(cd "$value" && pwd)" ;;
    *) usage_error "unknown option '$flag' (see ./eventide help)" ;;
  esac
}

# check_transport: --curve secures TCP links, so it implies --transport
# tcp and contradicts an explicit --transport ipc.
check_transport() {
  [ -n "$CURVE_DIR" ] || return 0
  if [ "$TRANSPORT_SET" -eq 1 ] && [ "$TRANSPORT" != tcp ]; then
    usage_error "--curve '$CURVE_DIR': needs --transport tcp (CURVE secures TCP links; ipc sockets stay in a private run directory)"
  fi
  TRANSPORT=tcp
}

# check_hosts_opts: the options that need --hosts (or --cluster, whose
# nodes become the hosts) have it, and --hosts (which runs over tcp) is
# not asked to use ipc. The hosts file itself is read by hosts_load,
# against the workflow.
check_hosts_opts() {
  if [ -n "$CLUSTER" ]; then
    [ -z "$HOSTS_FILE" ] ||
      usage_error "--hosts '$HOSTS_FILE': not with --cluster (Slurm places the processes on its nodes)"
    [ "$HOST_CMD_SET" -eq 0 ] ||
      usage_error "--host-cmd '$HOST_CMD': not with --cluster (processes start as job steps with srun)"
    [ "${#NETEM[@]}" -eq 0 ] ||
      usage_error "--netem '${NETEM[0]}': not with --cluster (a job step has no root on its node)"
  elif [ -z "$HOSTS_FILE" ]; then
    [ "${#NETEM[@]}" -eq 0 ] || usage_error "--netem '${NETEM[0]}': needs --hosts"
    [ -z "$PORT_BASE" ] || usage_error "--port-base '$PORT_BASE': needs --hosts"
    return 0
  fi
  local what="--hosts"
  [ -n "$CLUSTER" ] && what="--cluster"
  [ "$SUPERVISE" -eq 0 ] ||
    usage_error "--supervise '$SUPERVISE': not with $what (the supervisor restarts a broker on this machine only)"
  [ -z "$CPUS" ] ||
    usage_error "--cpus '${CPUS%% *}': not with $what (placement there is per host)"
  if [ "$TRANSPORT_SET" -eq 1 ] && [ "$TRANSPORT" != tcp ]; then
    usage_error "--transport '$TRANSPORT': $what runs over tcp"
  fi
  TRANSPORT=tcp
}

# check_clock_skews: each --clock-skew names a role, or a host of --hosts
# (known once hosts_load has read the file).
check_clock_skews() {
  local item key
  for item in $CLOCK_SKEWS; do
    key="${item%%=*}"
    case "$key" in producer|workers) continue ;; esac
    if [ -z "$HOSTS_FILE" ]; then
      usage_error "--clock-skew '$item': expected producer=MS or workers=MS (a host name needs --hosts)"
    fi
    host_known "$key" || usage_error "--clock-skew '$item': no host '$key' in $HOSTS_FILE"
  done
}

# check_pipeline_opts: the checks across options that need neither the
# build nor the workflow, so a slip is reported before any build starts.
check_pipeline_opts() {
  # The node's cap is the autoscaler's: without one nothing would hold it.
  if [ -n "$MAX_INSTANCES" ] && [ -z "$AUTOSCALE" ]; then
    usage_error "--max-instances '$MAX_INSTANCES': needs --autoscale (the autoscaler keeps the node's instances under it)"
  fi
  if [ -n "$MAX_MEMORY_MB" ] && [ -z "$AUTOSCALE" ]; then
    usage_error "--max-memory-mb '$MAX_MEMORY_MB': needs --autoscale (the autoscaler keeps the node's memory under it)"
  fi
  check_ingest_opts
  check_transport
  check_hosts_opts
  [ -n "$HOSTS_FILE" ] || [ -n "$CLUSTER" ] || check_clock_skews
  check_cpus
}

# check_against_workflow WF: the checks that need the workflow table WF
# (see workflow_load): the --workers spec, the hosts file and the host
# names other options use.
check_against_workflow() {
  check_workers_spec "$1"
  check_cpus_functions "$1"
  if [ -n "$HOSTS_FILE" ]; then
    hosts_load "$HOSTS_FILE" "$1"
    check_clock_skews
  fi
}

# check_workers_spec WF: every function --workers names is one of WF's.
check_workers_spec() {
  is_count "$WORKERS_SPEC" && return 0
  local item fn
  local -a items
  IFS=',' read -r -a items <<<"$WORKERS_SPEC"
  for item in "${items[@]}"; do
    fn="${item%%=*}"
    wf_has_function "$1" "$fn" ||
      usage_error "--workers '$WORKERS_SPEC': workflow $(wf_get "$1" name) has no function '$fn'"
  done
}

# workers_for FUNCTION: how many instances the --workers spec asks for.
workers_for() {
  local fn="$1" item
  local -a items
  if is_count "$WORKERS_SPEC"; then
    echo "$WORKERS_SPEC"; return
  fi
  IFS=',' read -r -a items <<<"$WORKERS_SPEC"
  for item in "${items[@]}"; do
    [ "${item%%=*}" = "$fn" ] && { echo "${item#*=}"; return; }
  done
  echo 0
}

# clock_args OUT ROLE [HOST]: into the array OUT, the clock options of a
# producer or a worker: --clock-sync, the emulated --clock-skew of its role
# or its host (the host's wins) and, on a host of --hosts, its name for the
# reports.
clock_args() {
  local -n clock_args_out="$1"
  local role="$2" host="${3-}" item skew=""
  clock_args_out=(--clock-sync "${CLOCK_SYNC:-auto}")
  for item in ${CLOCK_SKEWS:-}; do
    [ "${item%%=*}" = "$role" ] && [ -z "$skew" ] && skew="${item#*=}"
  done
  for item in ${CLOCK_SKEWS:-}; do
    [ -n "$host" ] && [ "${item%%=*}" = "$host" ] && skew="${item#*=}"
  done
  [ -n "$skew" ] && clock_args_out+=(--clock-skew "${skew#+}")
  [ -n "$host" ] && clock_args_out+=(--host-name "$host")
  return 0
}

# ---- --cpus ROLE=LIST: pinning processes to CPUs ----------------------------
# Benchmarks on a small machine pin the pipeline's processes apart: the
# load generator's CPU is otherwise taken from the system it measures.
# CPUS holds the items as given ("broker=1 workers=0"); a run records
# them in RUN/cpus (cpus_record), which start_bg and the producer's start
# read (cpus_of), so processes started later (scale, the autoscaler, a
# broker restart) are pinned alike.

# cpus_parse ITEM: one --cpus value, ROLE=LIST, added to CPUS. ROLE is
# producer, broker, collector, autoscaler, workers or workers:FUNCTION;
# LIST the kernel's cpu-list syntax (0, 0,1, 0-3, 0-2,5).
cpus_parse() {
  local item="$1" role="${1%%=*}" list="${1#*=}" have
  [[ "$item" == *=* ]] ||
    usage_error "--cpus '$item': expected ROLE=LIST, e.g. broker=1 or workers=0-1"
  [[ "$role" =~ ^(producer|broker|collector|autoscaler|workers|workers:[A-Za-z0-9_.-]+)$ ]] ||
    usage_error "--cpus '$item': unknown role '$role' (producer, broker, collector, autoscaler, workers or workers:FUNCTION)"
  [[ "$list" =~ ^[0-9]{1,4}(-[0-9]{1,4})?(,[0-9]{1,4}(-[0-9]{1,4})?)*$ ]] ||
    usage_error "--cpus '$item': expected a cpu list like 0, 0,1, 0-3 or 0-2,5"
  for have in $CPUS; do
    [ "${have%%=*}" = "$role" ] && usage_error "--cpus '$item': $role is pinned twice ('$have')"
  done
  CPUS="${CPUS:+$CPUS }$item"
}

# cpu_ids LIST: the cpus of a cpu list, one a line; 1 when a range runs
# backwards.
cpu_ids() {
  local part lo hi
  local -a parts
  IFS=',' read -r -a parts <<<"$1"
  for part in "${parts[@]}"; do
    lo="$((10#${part%-*}))"; hi="$((10#${part#*-}))"
    [ "$lo" -le "$hi" ] || return 1
    seq "$lo" "$hi"
  done
}

# cpus_online: the cpu list of this machine's online cpus.
cpus_online() {
  local online
  online="$(cat /sys/devices/system/cpu/online 2>/dev/null)" || online=""
  [[ "$online" =~ ^[0-9,-]+$ ]] || online="0-$(($(nproc --all) - 1))"
  echo "$online"
}

# check_cpus: every --cpus list names cpus of this machine, and taskset
# can pin to them here (a cgroup's cpuset may allow fewer). Before anything
# starts: a process that failed to pin would die at start.
check_cpus() {
  [ -n "$CPUS" ] || return 0
  local item list online id err ids
  local -A is_online=()
  command -v taskset >/dev/null 2>&1 ||
    usage_error "--cpus '${CPUS%% *}': needs taskset (Debian package util-linux)"
  online="$(cpus_online)"
  for id in $(cpu_ids "$online"); do is_online[$id]=1; done
  for item in $CPUS; do
    list="${item#*=}"
    ids="$(cpu_ids "$list")" ||
      usage_error "--cpus '$item': a range runs backwards (expected LOW-HIGH)"
    for id in $ids; do
      [ -n "${is_online[$id]-}" ] ||
        usage_error "--cpus '$item': no cpu $id on this machine (online: $online)"
    done
    err="$(taskset -c "$list" true 2>&1)" ||
      usage_error "--cpus '$item': taskset cannot pin to $list here: ${err%%$'\n'*}"
  done
}

# check_cpus_functions WF: every workers:FUNCTION of --cpus is one of WF's.
check_cpus_functions() {
  local item role
  for item in $CPUS; do
    role="${item%%=*}"
    [[ "$role" == workers:* ]] || continue
    wf_has_function "$1" "${role#workers:}" ||
      usage_error "--cpus '$item': workflow $(wf_get "$1" name) has no function '${role#workers:}'"
  done
}

# cpus_given ROLE: the list --cpus gave ROLE, or nothing.
cpus_given() {
  local item
  for item in $CPUS; do
    [ "${item%%=*}" = "$1" ] && { echo "${item#*=}"; return 0; }
  done
  return 0
}

# cpus_record RUN: RUN/cpus, lines "ROLE LIST", and a line of the run's
# launcher.log saying what is pinned. Every process of a role not named
# gets the launcher's own cpus ("others"): it would otherwise inherit
# whatever pinned process started it (the autoscaler starts workers).
cpus_record() {
  local run="$1" item others
  [ -n "$CPUS" ] || return 0
  others="$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)"
  {
    for item in $CPUS; do echo "${item%%=*} ${item#*=}"; done
    echo "others $others"
  } >"$run/cpus"
  run_log "$run" INFO "cpus: $CPUS; every other process: $others (the launcher's own)"
}

# cpus_of RUN NAME: the cpu list the process NAME of RUN is pinned to
# (workers:FUNCTION before workers), or nothing when the run pins none.
cpus_of() {
  local run="$1" name="$2" role fn="" key list
  [ -f "$run/cpus" ] || return 0
  case "$name" in
    worker-*) fn="${name#worker-}"; fn="${fn%-*}"; role=workers ;;
    producer-*) role=producer ;;
    *) role="$name" ;;
  esac
  for key in ${fn:+"workers:$fn"} "$role" others; do
    list="$(awk -v k="$key" '$1 == k { print $2; exit }' "$run/cpus")"
    [ -n "$list" ] && { echo "$list"; return 0; }
  done
  return 0
}

# cpus_pin OUT RUN NAME: into the array OUT, the words that pin NAME
# ("taskset -c LIST"), or none.
cpus_pin() {
  local -n cpus_pin_out="$1"
  local list
  list="$(cpus_of "$2" "$3")"
  cpus_pin_out=()
  [ -n "$list" ] && cpus_pin_out=(taskset -c "$list")
  return 0
}
