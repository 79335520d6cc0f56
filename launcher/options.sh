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
  MODE="sleep"
  SLOTS=""
  QUEUE_CAP=10000
  SHED_PAUSE=""
  RATE=10
  DURATION=10
  ARRIVAL=poisson
  SEED=1
  PAYLOAD_BYTES=0
  OUT=""
  DRAIN_TIMEOUT=30
  LOG_LEVEL=info
  SOURCE=""
  LABELS=""
  SPEEDUP=""
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
  AS_MAX=""
  AS_TARGET=""
  AS_ARGS=()
  TRANSPORT=ipc
  TRANSPORT_SET=0
  CURVE_DIR=""
  HOSTS_FILE=""
  HOST_CMD="ssh {host}"
  PORT_BASE=""
  NETEM=()
  CLOCK_SYNC=auto
  CLOCK_SYNC_SET=0
  CLOCK_SKEWS=""
  SUPERVISE=0
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
#   --port-base      a port: it adds 1 to 3 for the broker's endpoints
#   --netem          HOST=SPEC: it runs `tc ... netem SPEC` on HOST
#   --supervise      a count from 0 to 100: its supervisor restarts the
#                    broker at most that often
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
    --mode) MODE="$value" ;;
    --slots) SLOTS="$value" ;;
    --queue-cap) QUEUE_CAP="$value" ;;
    --shed-pause) SHED_PAUSE="$value" ;;
    --rate) RATE="$value"; RATE_SET=1 ;;
    --source) SOURCE="$value" ;;
    --labels) LABELS="$value" ;;
    --speedup) SPEEDUP="$value" ;;
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
    --max) AS_MAX="$value" ;;
    --target) AS_TARGET="$value" ;;
    --autoscale-arg) [[ "$value" =~ ^--[a-z-]+=[A-Za-z0-9_.:-]+$ ]] ||
                       usage_error "--autoscale-arg '$value': expected --flag=value"
                     AS_ARGS+=("$value") ;;
    --hosts) HOSTS_FILE="$value" ;;
    --host-cmd) [[ "$value" =~ ^[^[:space:]] ]] ||
                  usage_error "--host-cmd '$value': expected a command, e.g. 'ssh {host}'"
                HOST_CMD="$value" ;;
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
                   usage_error "--supervise '$value': expected how many broker restarts to allow, 0 to 100"
                 SUPERVISE="$((10#$value))" ;;
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

# check_hosts_opts: the options that need --hosts have it, and --hosts
# (which runs over tcp) is not asked to use ipc. The hosts file itself is
# read by hosts_load, against the workflow.
check_hosts_opts() {
  if [ -z "$HOSTS_FILE" ]; then
    [ "${#NETEM[@]}" -eq 0 ] || usage_error "--netem '${NETEM[0]}': needs --hosts"
    [ -z "$PORT_BASE" ] || usage_error "--port-base '$PORT_BASE': needs --hosts"
    return 0
  fi
  [ "$SUPERVISE" -eq 0 ] ||
    usage_error "--supervise '$SUPERVISE': not with --hosts (the supervisor restarts a broker on this machine only)"
  if [ "$TRANSPORT_SET" -eq 1 ] && [ "$TRANSPORT" != tcp ]; then
    usage_error "--transport '$TRANSPORT': --hosts runs over tcp"
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
  check_transport
  check_hosts_opts
  [ -n "$HOSTS_FILE" ] || check_clock_skews
}

# check_against_workflow WF: the checks that need the workflow table WF
# (see workflow_load): the --workers spec, the hosts file and the host
# names other options use.
check_against_workflow() {
  check_workers_spec "$1"
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
