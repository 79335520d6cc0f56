# launcher/pipeline.sh: a pipeline's processes: the collector, the broker,
# each function's workers, the autoscaler and the producers. Each binary's
# command line is built in one function (collector_argv, broker_argv,
# worker_argv, autoscaler_argv, producer_argv), so a flag changes in one
# place; then starting, scaling and stopping a pipeline in its run dir.
#
# RUN/env holds the run's settings (options.sh) and its endpoints
# (FRONTEND, BACKEND, COLLECTOR, STATS, METRICS_URL,
# METRICS_COLLECTOR_URL and, under --autoscale, METRICS_AUTOSCALER_URL:
# the /metrics of the broker, the collector and the autoscaler);
# every command acting on a running
# pipeline restores them with run_env before it starts anything.

# run_env RUN: the settings and endpoints of the pipeline in RUN.
run_env() {
  # shellcheck disable=SC1091
  . "$1/env"
}

# collector_argv OUT RUN RESULTS EXPECT GRACE BIND WF: into the array OUT,
# the collector's command line: it binds BIND, writes into RESULTS, and
# waits for EXPECT producers and GRACE seconds of late usage reports.
collector_argv() {
  local -n collector_argv_out="$1"
  local run="$2" results="$3" expect="$4" grace="$5" bind="$6" wf_name="$7"
  collector_argv_out=("$BIN/eventide-collector" --bind "$bind")
  [ -n "$MEMORY_MB" ] && collector_argv_out+=(--memory-mb "$MEMORY_MB")
  [ -n "$PRICE_GB_S" ] && collector_argv_out+=(--price-gb-s "$PRICE_GB_S")
  [ -n "$PRICE_REQUESTS" ] && collector_argv_out+=(--price-requests "$PRICE_REQUESTS")
  collector_argv_out+=(--out "$results" --expect-producers "$expect"
    --drain-timeout "$(awk -v d="$DRAIN_TIMEOUT" 'BEGIN { print d + 15 }')"
    --usage-grace "$grace")
  [ -n "$CURVE_DIR" ] && collector_argv_out+=(--curve "$CURVE_DIR")
  collector_argv_out+=(--metrics "$(metrics_addr collector)"
    --endpoints-file "$run/collector.endpoints"
    --workflow "$(wf_get "$wf_name" path)"
    --run-id "$(basename "$results")" --log-level "$LOG_LEVEL")
  # A collector killed and started again resumes from its journal; the
  # broker keeps what it has not acknowledged (docs/architecture.md,
  # Reliability). Not across hosts: restarts are local only.
  # Its checkpoints (RUN/collector.journal.ckpt) keep the journal to what
  # came since the last one.
  [ -z "${HOSTS_FILE:-}" ] && collector_argv_out+=(
    --journal "$run/collector.journal"
    --broker-endpoints "$run/broker.endpoints")
  [ -z "${HOSTS_FILE:-}" ] && [ -n "${CHECKPOINT_INTERVAL:-}" ] &&
    collector_argv_out+=(--checkpoint-interval "${CHECKPOINT_INTERVAL}s")
  return 0
}

# metrics_addr ROLE: the --metrics of ROLE (broker, collector or
# autoscaler): off, or IPV4:PORT; a port given is the broker's, the next
# one the collector's and the one after the autoscaler's, port 0 a free
# one for each.
metrics_addr() {
  local port="${METRICS##*:}" step=0
  case "$1" in collector) step=1 ;; autoscaler) step=2 ;; esac
  if [ "$step" -eq 0 ] || [ "$METRICS" = off ] || ! [[ "$port" =~ ^[0-9]{1,5}$ ]] ||
     [ "$((10#$port))" -eq 0 ]; then
    echo "$METRICS"
  else
    echo "${METRICS%:*}:$((10#$port + step))"
  fi
}

# broker_argv OUT RUN WF FRONTEND BACKEND COLLECTOR STATS: into the array
# OUT, the broker's command line.
broker_argv() {
  local -n broker_argv_out="$1"
  local run="$2" wf_name="$3"
  broker_argv_out=("$BIN/eventide-broker" --frontend "$4" --backend "$5"
    --collector "$6" --stats "$7" --workflow "$(wf_get "$wf_name" path)"
    --queue-cap "$QUEUE_CAP" --drain-timeout "$DRAIN_TIMEOUT"
    --log-level "$LOG_LEVEL")
  [ -n "$SHED_PAUSE" ] && broker_argv_out+=(--shed-pause "$SHED_PAUSE")
  [ -n "$TASK_BATCH" ] && broker_argv_out+=(--task-batch "$TASK_BATCH")
  [ -n "$KEY_HANDOVER" ] && broker_argv_out+=(--key-handover "$KEY_HANDOVER")
  # What the collector's socket does not take waits in memory, then here.
  [ -n "$BACKLOG_MEMORY" ] && broker_argv_out+=(--backlog-memory "$BACKLOG_MEMORY")
  [ -n "$SPILL_MAX" ] && broker_argv_out+=(--spill-max "$SPILL_MAX")
  broker_argv_out+=(--spill-file "$run/collector.spill")
  [ -z "${HOSTS_FILE:-}" ] && broker_argv_out+=(--collector-acks)
  broker_argv_out+=(--metrics "$(metrics_addr broker)")
  [ -n "$CURVE_DIR" ] && broker_argv_out+=(--curve "$CURVE_DIR")
  broker_argv_out+=(--endpoints-file "$run/broker.endpoints")
}

# worker_argv OUT WF FUNCTION INDEX [HOST]: into the array OUT, the command
# line of FUNCTION's instance INDEX (on HOST), but for --spawned-at, which
# is read on the worker's own host just before it starts. The worker reads
# its slots, io_delay and options from the workflow file itself; only what
# the user set on this command line is passed on top.
worker_argv() {
  local -n worker_argv_out="$1"
  local wf_name="$2" fn="$3" index="$4" host="${5-}"
  local -a clock
  worker_argv_out=("$BIN/eventide-worker" --function "$fn" --broker "$BACKEND"
    --collector "$COLLECTOR" --workflow "$(wf_get "$wf_name" path)")
  [ -n "${OUT:-}" ] && worker_argv_out+=(--out "$OUT")
  [ -n "${SLOTS:-}" ] && worker_argv_out+=(--slots "$SLOTS")
  worker_argv_out+=(--seed "$((SEED * 1000 + index))" --instance "$fn-$index"
    --log-level "$LOG_LEVEL")
  if [ "$fn" = synthetic ]; then
    worker_argv_out+=(--service "$SERVICE" --mode "$MODE")
  fi
  [ -n "${SERVICE_SCALE:-}" ] && worker_argv_out+=(--service-scale "$SERVICE_SCALE")
  [ -n "$IDLE_TIMEOUT" ] && worker_argv_out+=(--idle-timeout "$IDLE_TIMEOUT")
  [ -n "${SPIN_BUDGET:-}" ] && worker_argv_out+=(--spin-budget "$SPIN_BUDGET")
  [ -n "${REDIS_URL:-}" ] && worker_argv_out+=(--redis "$REDIS_URL")
  [ -n "${CURVE_DIR:-}" ] && worker_argv_out+=(--curve "$CURVE_DIR")
  clock_args clock workers "$host"
  worker_argv_out+=("${clock[@]}")
}

# producer_argv OUT WF ID [HOST]: into the array OUT, the command line of
# producer ID (on HOST): the load options given, else the workflow's
# defaults.
producer_argv() {
  local -n producer_argv_out="$1"
  local wf_name="$2" id="$3" host="${4-}"
  local source="$SOURCE" labels="$LABELS" speedup="$SPEEDUP" arrival="$ARRIVAL"
  local -a clock
  [ -n "$source" ] || source="$(wf_producer "$wf_name" source)"
  [ -n "$labels" ] || labels="$(wf_producer "$wf_name" labels)"
  # A replay paced by the data's own clock: speed-up from the workflow
  # unless the user asked for a fixed rate.
  if [ -z "$speedup" ] && [ "$RATE_SET" -eq 0 ]; then
    speedup="$(wf_producer "$wf_name" speedup)"
  fi
  case "$source" in
    nab:*) source="nab:$(abs_path "${source#nab:}")" ;;
    # The devices pace an MQTT source; it ends with their end markers.
    mqtt://*) speedup="" ;;
  esac
  case "$arrival" in
    trace:*) arrival="trace:$(abs_path "${arrival#trace:}")" ;;
    azure2019:*|azure2021:*) arrival="${arrival%%:*}:$(abs_path "${arrival#*:}")" ;;
  esac
  [ -n "$labels" ] && labels="$(abs_path "$labels")"
  producer_argv_out=("$BIN/eventide-producer" --broker "$FRONTEND")
  # HELLO and DONE also go straight to the collector: the run's sent count
  # survives the broker.
  [ -n "${COLLECTOR:-}" ] && producer_argv_out+=(--collector "$COLLECTOR")
  producer_argv_out+=(--id "$id" --rate "$RATE" --arrival "$arrival" --seed "$SEED"
    --payload-bytes "$PAYLOAD_BYTES" --log-level "$LOG_LEVEL")
  [ -n "${SEND_GRAIN:-}" ] && producer_argv_out+=(--send-grain "$SEND_GRAIN")
  [ -n "${SPIN_BUDGET:-}" ] && producer_argv_out+=(--spin-budget "$SPIN_BUDGET")
  # Replays (a time-driven source or a trace) run to their end unless a
  # duration is given.
  if [ "$DURATION_SET" -eq 1 ] ||
     { [ -z "$speedup" ] && [[ "$arrival" != trace:* ]] &&
       [[ "$arrival" != azure20[12][19]:* ]] &&
       [[ "$source" != mqtt://* ]]; }; then
    producer_argv_out+=(--duration "$DURATION")
  fi
  [ -n "$source" ] && producer_argv_out+=(--source "$source")
  [ -n "$labels" ] && producer_argv_out+=(--labels "$labels")
  [ -n "$speedup" ] && producer_argv_out+=(--speedup "$speedup")
  # A per-stage workflow (a trace replay's): the producer routes each
  # event to its trace function's stage.
  [ "$(wf_get "$wf_name" routing)" = per_stage ] &&
    producer_argv_out+=(--workflow "$(wf_get "$wf_name" path)")
  [ -n "${MINUTES:-}" ] && producer_argv_out+=(--minutes "$MINUTES")
  [ -n "${FUNCTIONS:-}" ] && producer_argv_out+=(--functions "$FUNCTIONS")
  [ -n "${IAT:-}" ] && producer_argv_out+=(--iat "$IAT")
  # --ingest mqtt: one device per producer, waited for even if it starts
  # after the producer subscribed.
  local devices="${MQTT_DEVICES:-}"
  [ -z "$devices" ] && [ -n "${INGEST:-}" ] && devices=1
  [ -n "$devices" ] && producer_argv_out+=(--mqtt-devices "$devices")
  [ -n "$FRAUD_RATE" ] && producer_argv_out+=(--fraud-rate "$FRAUD_RATE")
  [ -n "$MALFORMED_RATE" ] && producer_argv_out+=(--malformed-rate "$MALFORMED_RATE")
  [ -n "${CURVE_DIR:-}" ] && producer_argv_out+=(--curve "$CURVE_DIR")
  clock_args clock producer "$host"
  producer_argv_out+=("${clock[@]}")
}

# autoscaler_argv OUT RUN RESULTS: into the array OUT, the autoscaler's
# command line. It acts through this launcher's own `scale`, pointed at
# RUN, so status and down keep seeing every worker it starts.
autoscaler_argv() {
  local -n autoscaler_argv_out="$1"
  local run="$2" results="$3"
  autoscaler_argv_out=("$BIN/eventide-autoscaler" --stats "$STATS"
    --policy "$AUTOSCALE")
  [ -n "$AS_MIN" ] && autoscaler_argv_out+=(--min "$AS_MIN")
  [ -n "${MAX_INSTANCES:-}" ] && autoscaler_argv_out+=(--max-instances "$MAX_INSTANCES")
  # The memory cap prices each instance at its stage's memory_mb.
  if [ -n "${MAX_MEMORY_MB:-}" ]; then
    autoscaler_argv_out+=(--max-memory-mb "$MAX_MEMORY_MB")
    [ -n "$MEMORY_MB" ] && autoscaler_argv_out+=(--memory-mb "$MEMORY_MB")
    [ -f "$WORKFLOW" ] && autoscaler_argv_out+=(--workflow "$WORKFLOW")
  fi
  [ -n "$AS_MAX" ] && autoscaler_argv_out+=(--max "$AS_MAX")
  if [ -n "$AS_TARGET" ]; then
    case "$AUTOSCALE" in
      kpa) autoscaler_argv_out+=(--target "$AS_TARGET") ;;
      hpa) autoscaler_argv_out+=(--target-utilization "$AS_TARGET") ;;
      rps) autoscaler_argv_out+=(--target-rps "$AS_TARGET") ;;
    esac
  fi
  [ -n "$CURVE_DIR" ] && autoscaler_argv_out+=(--curve "$CURVE_DIR")
  [ "$METRICS" != off ] && autoscaler_argv_out+=(--metrics "$(metrics_addr autoscaler)"
    --endpoints-file "$run/autoscaler.endpoints")
  autoscaler_argv_out+=("${AS_ARGS[@]}" --decisions "$results/autoscaler.jsonl"
    --log-level "$LOG_LEVEL"
    --scale-cmd "EVENTIDE_RUN=$run EVENTIDE_BUILD=$BUILD $ROOT/eventide scale {function} {replicas}")
}

# The preflight: the binaries judge the values the launcher passes on (see
# parse_pipeline_opt). Each command line is built by its *_argv function,
# as it will be started, and run here with --check appended, from the
# source tree as start_bg and host_exec run it: the binary parses and
# checks everything, the workflow file included, and exits at once. Under
# --hosts the check runs on this machine too (the same tree and binaries);
# the hosts' own paths are not checked.

# check_argv CMD...: CMD --check. Exit 2 (a value refused) is the
# launcher's usage error with the binary's one-line message; any other
# failure dies.
check_argv() {
  local err rc=0 line
  err="$(cd "$ROOT" && "$@" --check 2>&1 >/dev/null)" || rc=$?
  case "$rc" in
    0) ;;
    # The first line without a pipe: under pipefail, head leaving before
    # printf has written is a SIGPIPE (exit 141), not a usage error.
    2) line="${err%%$'\n'*}"
       usage_error "${line:-$(basename "$1") refused its command line}" ;;
    *) die "cannot check the command line of $(basename "$1") (exit $rc): ${err:-no message}" ;;
  esac
}

# check_worker_argv WF FUNCTION INDEX [HOST]: the preflight of FUNCTION's
# instance INDEX (on HOST; with --hosts and no HOST, on each host that
# may run FUNCTION: a host's clock skew is its own).
check_worker_argv() {
  local wf_name="$1" fn="$2" index="$3" host="${4-}" h
  local -a argv
  if [ -z "$host" ] && [ -n "${HOSTS_FILE:-}" ]; then
    while read -r h _; do
      worker_argv argv "$wf_name" "$fn" "$index" "$h"
      check_argv "${argv[@]}"
    done < <(function_hosts "$fn")
    return 0
  fi
  worker_argv argv "$wf_name" "$fn" "$index" "$host"
  check_argv "${argv[@]}"
}

# check_producer_argv WF ID [HOST]: the preflight of producer ID (on HOST;
# with --hosts and no HOST, on each producer host).
check_producer_argv() {
  local wf_name="$1" id="$2" host="${3-}" h
  local -a argv hosts=("$host")
  [ -z "$host" ] && [ -n "${HOSTS_FILE:-}" ] && hosts=("${PRODUCER_HOSTS[@]}")
  for h in "${hosts[@]}"; do
    producer_argv argv "$wf_name" "$id" "$h"
    check_argv "${argv[@]}"
  done
}

# preflight_run: the run directory a preflight names (never created).
preflight_run() { echo "${TMPDIR:-/tmp}/eventide.preflight"; }

# preflight_endpoints: stand-ins for the endpoints FRONTEND BACKEND
# COLLECTOR STATS, of the run's transport, on one line: before a pipeline
# starts they are not known (the kernel picks the tcp ports). Callers read
# them into locals of the same names, which the *_argv functions see.
preflight_endpoints() {
  local run
  run="$(preflight_run)"
  if [ "$TRANSPORT" = tcp ]; then
    echo "tcp://127.0.0.1:* tcp://127.0.0.1:* tcp://127.0.0.1:* tcp://127.0.0.1:*"
  else
    echo "ipc://$run/frontend.ipc ipc://$run/backend.ipc ipc://$run/collector.ipc ipc://$run/stats.ipc"
  fi
}

# check_pipeline_argv WF RESULTS EXPECT GRACE: the preflight of a whole
# pipeline as pipeline_start and run_producer would start it, before
# anything starts: the broker, the collector, each function's workers, a
# producer and, under --autoscale, the autoscaler, with stand-in endpoints
# (preflight_endpoints) and run directory (preflight_run).
check_pipeline_argv() {
  local wf_name="$1" results="$2" expect="$3" grace="$4" fn run
  local FRONTEND BACKEND COLLECTOR STATS REDIS_URL
  local -a argv
  run="$(preflight_run)"
  read -r FRONTEND BACKEND COLLECTOR STATS < <(preflight_endpoints)
  REDIS_URL="$(redis_url "$wf_name" "$run")" || exit 2
  # The broker first: it gets --drain-timeout as given, the collector that
  # plus 15 s, so a refusal names the user's value.
  broker_argv argv "$run" "$wf_name" "$FRONTEND" "$BACKEND" "$COLLECTOR" "$STATS"
  check_argv "${argv[@]}"
  collector_argv argv "$run" "$results" "$expect" "$grace" "$COLLECTOR" "$wf_name"
  check_argv "${argv[@]}"
  for fn in $(wf_functions "$wf_name"); do
    check_worker_argv "$wf_name" "$fn" 1
  done
  check_producer_argv "$wf_name" 1
  if [ -n "$AUTOSCALE" ]; then
    autoscaler_argv argv "$run" "$results"
    check_argv "${argv[@]}"
  fi
}

# run_producer RUN WF ID [HOST]: producer ID of the pipeline in RUN in the
# foreground, from the source tree, pinned as its own --cpus producer=LIST
# or else RUN/cpus says (with --hosts: on HOST, by default the first
# producer host).
run_producer() {
  local run="$1" wf_name="$2" id="$3" host="${4-}" list
  local -a argv pin
  if [ -n "${HOSTS_FILE:-}" ]; then
    host="${host:-${PRODUCER_HOSTS[0]}}"
    producer_argv argv "$wf_name" "$id" "$host"
    host_exec "$host" "${argv[@]}" </dev/null
    return
  fi
  producer_argv argv "$wf_name" "$id"
  cpus_pin pin "$run" "producer-$id"
  # produce --cpus producer=LIST: this producer's own.
  list="$(cpus_given producer)"
  [ -n "$list" ] && pin=(taskset -c "$list")
  (cd "$ROOT" && exec "${pin[@]}" "${argv[@]}")
}

# run_status ARGS...: eventide-status, on the broker's host under --hosts
# (this machine may have no route to it).
run_status() {
  if [ -n "${HOSTS_FILE:-}" ]; then
    host_exec "$BROKER_HOST" "$BIN/eventide-status" "$@" </dev/null
  else
    "$BIN/eventide-status" "$@"
  fi
}

# start_worker RUN WF FUNCTION INDEX [HOST]
start_worker() {
  local run="$1" wf_name="$2" fn="$3" index="$4" host="${5-}"
  local -a argv
  worker_argv argv "$wf_name" "$fn" "$index" "$host"
  # The spawn time is read on the worker's own host (its clock may differ
  # from this one's), just before the process starts.
  if [ -n "$host" ]; then
    host_start "$run" "worker-$fn-$index" "$host" --stamp-spawn "${argv[@]}"
  else
    start_bg "$run" "worker-$fn-$index" "${argv[@]}" --spawned-at "$(now_ns)"
  fi
}

# worker_pids RUN FUNCTION [HOST]: live workers of FUNCTION (on HOST),
# oldest first; the records of dead ones are removed.
worker_pids() {
  local run="$1" fn="$2" host="${3-}" f name index pid alive
  # Slurm steps: the queue is asked once, not once per step.
  local -A steps_in_queue=()
  local queue_known=0
  if [ -n "${CLUSTER:-}" ] && slurm_step_states steps_in_queue; then queue_known=1; fi
  for f in "$run/pids/worker-$fn-"*.pid; do
    name="$(basename "$f" .pid)"
    index="${name#"worker-$fn-"}"
    # The glob for function a also matches worker-a-b-1, function a-b's.
    is_count "$index" && echo "$index $name"
  done | sort -n | while read -r index name; do
    pid="$(pid_of "$run" "$name")"
    if [ -n "$host" ] && [ "${pid%%:*}" != "$host" ]; then continue; fi
    if [[ "$pid" == *:slurm/* ]] && [ "$queue_known" -eq 1 ]; then
      alive=0; [ -n "${steps_in_queue[${pid#*:slurm/}]+x}" ] && alive=1
    else
      alive=0; pid_alive "$pid" && alive=1
    fi
    if [ "$alive" -eq 1 ]; then echo "$pid"
    else rm -f "$run/pids/$name.pid" "$run/pids/$name.host" "$run/pids/$name.step"; fi
  done
}

# least_loaded_host RUN FUNCTION: of the hosts that run FUNCTION, the one
# with the fewest live instances of it.
least_loaded_host() {
  local run="$1" fn="$2" h best="" bestn=-1 cnt
  while read -r h _; do
    cnt="$(worker_pids "$run" "$fn" "$h" | wc -l)"
    if [ "$bestn" -lt 0 ] || [ "$cnt" -lt "$bestn" ]; then best="$h"; bestn="$cnt"; fi
  done < <(function_hosts "$fn")
  echo "$best"
}

# scale_to RUN WF FUNCTION N [HOST]: start or stop workers until N run (on
# HOST; with --hosts and no HOST new ones go to the least loaded host).
scale_to() {
  local run="$1" wf_name="$2" fn="$3" want="$4" host="${5-}" have next on
  local -a pids victims
  mapfile -t pids < <(worker_pids "$run" "$fn" "$host")
  have=${#pids[@]}
  if [ "$have" -lt "$want" ]; then
    # One counter per function: the autoscaler may scale two at once.
    next=$(cat "$run/next-index-$fn" 2>/dev/null || echo 1)
    while [ "$have" -lt "$want" ]; do
      on="$host"
      [ -z "$on" ] && [ -n "${HOSTS_FILE:-}" ] && on="$(least_loaded_host "$run" "$fn")"
      start_worker "$run" "$wf_name" "$fn" "$next" "$on"
      next=$((next + 1)); have=$((have + 1))
    done
    echo "$next" >"$run/next-index-$fn"
  elif [ "$have" -gt "$want" ]; then
    # Newest first: they have served least. SIGTERM makes a worker say BYE
    # and finish what it was given before leaving. Slurm's figures of a
    # step are sampled while it still runs.
    victims=("${pids[@]:$want}")
    slurm_sample "$run"
    stop_pids 30 "${victims[@]}"
  fi
}

# place_workers RUN WF FUNCTION PLACED: start FUNCTION's first instances
# (the --workers count; with --hosts, on the hosts worker_placement
# gives) and set the variable PLACED to how many.
place_workers() {
  local run="$1" wf_name="$2" fn="$3" want line h cnt
  local -n place_workers_placed="$4"
  local -a where
  want="$(workers_for "$fn")"
  if [ -z "$HOSTS_FILE" ]; then
    scale_to "$run" "$wf_name" "$fn" "$want"
    place_workers_placed="$want"
    return 0
  fi
  mapfile -t where < <(worker_placement "$fn" "$want")
  place_workers_placed=0
  for line in "${where[@]}"; do
    read -r h cnt <<<"$line"
    scale_to "$run" "$wf_name" "$fn" "$cnt" "$h"
    place_workers_placed=$((place_workers_placed + cnt))
  done
}

# endpoint_of RUN ROLE NAME: the endpoint NAME that ROLE wrote into
# RUN/ROLE.endpoints once bound (tcp: the port the kernel chose for
# tcp://127.0.0.1:*, so choosing and binding a port never race).
endpoint_of() {
  local run="$1" role="$2" name="$3" file="$1/$2.endpoints" tries=0 ep pid
  local where
  where="$(pid_of "$run" "$role")"
  # On a host the file is read back through the template (it may be
  # another machine's /tmp).
  until if [[ "$where" == *:* ]]; then
          host_sh "${where%%:*}" "cat $(sh_quote "$file")" </dev/null \
            >"$file.read" 2>/dev/null && [ -s "$file.read" ]
        else [ -f "$file" ]; fi; do
    pid="$(pid_of "$run" "$role")"
    if ! pid_alive "$pid"; then
      cat "$run/logs/$role.log" >&2
      die "the $role stopped while the pipeline was starting"
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 600 ] || die "the $role did not bind within 30 s"
    sleep 0.05
  done
  [[ "$where" == *:* ]] && file="$file.read"
  ep="$(sed -n "s/^$name=//p" "$file")"
  [[ "$ep" =~ ^tcp://[0-9.]+:[0-9]+$|^http://[0-9.]+:[0-9]+/metrics$ ]] ||
    die "the $role wrote a bad $name endpoint '$ep' into $file"
  echo "$ep"
}

# pipeline_start RUN RESULTS EXPECT_PRODUCERS USAGE_GRACE WF: collector,
# broker, autoscaler and workers of the workflow table WF, ready when it
# returns; RUN/env written and restored.
pipeline_start() {
  local run="$1" out="$2" expect="$3" grace="$4" wf_name="$5" fn placed
  mkdir -p "$run/logs" "$run/pids" "$out"
  local any="tcp://127.0.0.1:*" collector_bind frontend backend collector stats
  local -a on_collector=(start_bg "$run" collector) on_broker=(start_bg "$run" broker)
  local -a argv
  if [ -n "$HOSTS_FILE" ]; then
    hosts_prepare "$run" "$out"
    on_collector=(host_start "$run" collector "$COLLECTOR_HOST")
    on_broker=(host_start "$run" broker "$BROKER_HOST")
    local ca="${HOST_ADDR[$COLLECTOR_HOST]}" ba="${HOST_ADDR[$BROKER_HOST]}"
    if [ -n "$PORT_BASE" ]; then
      collector_bind="tcp://$ca:$PORT_BASE"
      frontend="tcp://$ba:$((PORT_BASE + 1))"
      backend="tcp://$ba:$((PORT_BASE + 2))"
      stats="tcp://$ba:$((PORT_BASE + 3))"
    else
      collector_bind="tcp://$ca:*"
      frontend="tcp://$ba:*"; backend="$frontend"; stats="$frontend"
    fi
  elif [ "$TRANSPORT" = tcp ]; then
    collector_bind="$any"
    frontend="$any"; backend="$any"; stats="$any"
  else
    collector_bind="ipc://$run/collector.ipc"
    frontend="ipc://$run/frontend.ipc"
    backend="ipc://$run/backend.ipc"
    stats="ipc://$run/stats.ipc"
  fi
  # Before the first process: every start reads the pinning from RUN/cpus.
  cpus_record "$run"
  collector_argv argv "$run" "$out" "$expect" "$grace" "$collector_bind" "$wf_name"
  "${on_collector[@]}" "${argv[@]}"
  collector="$collector_bind"
  [ "$TRANSPORT" = tcp ] && collector="$(endpoint_of "$run" collector COLLECTOR)"
  local metrics_collector_url=""
  [ "$METRICS" != off ] &&
    metrics_collector_url="$(endpoint_of "$run" collector METRICS)"
  [ -z "$HOSTS_FILE" ] &&
    collector_record "$run" "$collector" "$metrics_collector_url" "${argv[@]}"
  broker_argv argv "$run" "$wf_name" "$frontend" "$backend" "$collector" "$stats"
  "${on_broker[@]}" "${argv[@]}"
  if [ "$TRANSPORT" = tcp ]; then
    frontend="$(endpoint_of "$run" broker FRONTEND)"
    backend="$(endpoint_of "$run" broker BACKEND)"
    stats="$(endpoint_of "$run" broker STATS)"
  fi
  # --metrics with port 0: the URL names the port chosen, and a restart
  # (broker_record) binds that one again.
  local metrics_url="" bound="$METRICS"
  if [ "$METRICS" != off ]; then
    metrics_url="$(endpoint_of "$run" broker METRICS)"
    bound="${metrics_url#http://}"; bound="${bound%/metrics}"
  fi
  METRICS="$bound" broker_argv argv "$run" "$wf_name" "$frontend" "$backend" "$collector" "$stats"
  broker_record "$run" "${argv[@]}"
  # The feature store, before the workers that use it.
  REDIS_URL="$(redis_url "$wf_name" "$run")" || exit 2
  if [ -n "$REDIS_URL" ] && [ -z "$REDIS" ]; then
    redis_start "$run"
  elif [ -n "$REDIS_URL" ] && [ -z "$HOSTS_FILE" ] && [ -z "${CLUSTER:-}" ] &&
       ! redis_ping "$REDIS_URL"; then
    info "warning: no answer from the Redis at $REDIS_URL: events will fail with dependency_unavailable until it answers"
  fi
  # The run's env: how scale, produce and status find this pipeline.
  {
    local v
    printf 'FRONTEND=%q\nBACKEND=%q\nCOLLECTOR=%q\nSTATS=%q\nMETRICS_URL=%q\nMETRICS_COLLECTOR_URL=%q\n' \
      "$frontend" "$backend" "$collector" "$stats" "$metrics_url" "$metrics_collector_url"
    for v in TRANSPORT CURVE_DIR OUT WORKFLOW WORKFLOW_FILE SERVICE SERVICE_SCALE MODE \
             SLOTS SEED LOG_LEVEL IDLE_TIMEOUT SPIN_BUDGET HOSTS_FILE HOST_CMD \
             CLOCK_SYNC CLOCK_SKEWS CLUSTER SL_JOB SL_OWNED REDIS_URL; do
      printf '%s=%q\n' "$v" "${!v}"
    done
  } >"$run/env"
  run_env "$run"
  if [ -n "$AUTOSCALE" ]; then
    start_autoscaler "$run" "$out"
    if [ "$METRICS" != off ]; then
      METRICS_AUTOSCALER_URL="$(endpoint_of "$run" autoscaler METRICS)"
      printf 'METRICS_AUTOSCALER_URL=%q\n' "$METRICS_AUTOSCALER_URL" >>"$run/env"
    fi
  fi
  local total=0
  for fn in $(wf_functions "$wf_name"); do
    place_workers "$run" "$wf_name" "$fn" placed
    total=$((total + placed))
  done
  # Ready means every worker said READY to the broker. A process that
  # died on the way (a bad workflow file, say) ends the wait at once.
  local tries=0 role pid
  local -a curve=()
  [ -n "$CURVE_DIR" ] && curve=(--curve "$CURVE_DIR")
  until run_status --stats "$STATS" --wait-instances "$total" \
          "${curve[@]}" --timeout 1 >/dev/null 2>&1; do
    for role in collector broker; do
      pid="$(pid_of "$run" "$role")"
      if ! pid_alive "$pid"; then
        cat "$run/logs/$role.log" >&2
        die "the $role stopped while the pipeline was starting"
      fi
    done
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ]; then
      tail -n 20 "$run"/logs/*.log >&2
      die "pipeline did not become ready in 120 s"
    fi
  done
  [ "${SUPERVISE:-0}" -gt 0 ] && start_supervisor "$run" "$SUPERVISE"
  return 0
}

# redis_url WF RUN: the Redis the workers of WF get as --redis: --redis
# when given, else the private one's socket in RUN when the workflow uses
# {redis}, else nothing.
redis_url() {
  wf_uses_redis "$1" || return 0
  if [ -n "$REDIS" ]; then
    echo "$REDIS"
  elif [ -n "${CLUSTER:-}" ]; then
    usage_error "--cluster: workflow $(wf_get "$1" name) uses a feature store ({redis}); give --redis HOST:PORT that every node reaches"
  elif [ -n "${HOSTS_FILE:-}" ]; then
    usage_error "--hosts: workflow $(wf_get "$1" name) uses a feature store ({redis}); give --redis HOST:PORT that every workers host reaches"
  else
    echo "unix:$2/redis.sock"
  fi
}

# redis_ping URL: does the Redis at URL (unix:PATH, /PATH, [redis://]HOST:PORT)
# answer PING within 2 s? (redis-cli comes with redis-server.)
redis_ping() {
  local url="${1#redis://}"
  local -a where
  case "$url" in
    unix:*) where=(-s "${url#unix:}") ;;
    /*) where=(-s "$url") ;;
    *) where=(-h "${url%:*}" -p "${url##*:}") ;;
  esac
  [ "$(timeout 2 redis-cli "${where[@]}" ping 2>/dev/null)" = PONG ]
}

# redis_start RUN: a private redis-server for the run, on a unix socket in
# RUN only (port 0: no TCP), without persistence (nothing is saved or
# appended), logging into RUN/logs/redis.log; ready when its socket is.
redis_start() {
  local run="$1" tries=0 pid
  command -v redis-server >/dev/null 2>&1 ||
    die "the workflow needs a feature store and redis-server is not installed (apt-get install redis-server), or give --redis URL"
  start_bg "$run" redis redis-server --port 0 --unixsocket "$run/redis.sock" \
    --unixsocketperm 700 --save '' --appendonly no --dir "$run" \
    --daemonize no --databases 1 --logfile ''
  until [ -S "$run/redis.sock" ]; do
    pid="$(pid_of "$run" redis)"
    if ! pid_alive "$pid"; then
      cat "$run/logs/redis.log" >&2
      die "redis-server stopped while starting"
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 200 ] || die "redis-server did not open $run/redis.sock in 10 s"
    sleep 0.05
  done
}

# start_autoscaler RUN RESULTS
start_autoscaler() {
  local run="$1" out="$2"
  local -a argv starter=(start_bg "$run" autoscaler)
  if [ -n "${HOSTS_FILE:-}" ]; then
    # On the broker's host, where the stats are published (this machine may
    # have no route there); its scale command runs this launcher on that
    # host, which must see this run directory.
    host_run "$BROKER_HOST" test -e "$run/.launcher" </dev/null >/dev/null 2>&1 ||
      die "--autoscale with --hosts: the autoscaler runs on the broker's host $BROKER_HOST and scales through the launcher there, which cannot see $run; launch from $BROKER_HOST (or share $STATE with it)"
    starter=(host_start "$run" autoscaler "$BROKER_HOST")
  fi
  autoscaler_argv argv "$run" "$out"
  "${starter[@]}" "${argv[@]}"
}

# stop_workers RUN: SIGTERM every worker of RUN (each says BYE, finishes
# what it holds and sends its final usage report), SIGKILL after 15 s.
stop_workers() {
  local run="$1" f
  local -a pids=()
  # HOST:PID for a worker on a host of --hosts: the signal must reach the
  # worker there, not the local ssh client that started it.
  for f in "$run"/pids/worker-*.pid; do
    [ -f "$f" ] && pids+=("$(pid_of "$run" "$(basename "$f" .pid)")")
  done
  [ "${#pids[@]}" -gt 0 ] && stop_pids 15 "${pids[@]}"
  return 0
}

# stranded_wait: while some function has events queued and no instance
# (scaled to zero by --idle-timeout or --min 0 as the load ended), wait
# for the autoscaler to start one, at most 30 s: the broker's drain would
# otherwise fail those events as shutting_down.
stranded_wait() {
  local tries=0 n
  local -a curve=()
  [ -n "${CURVE_DIR:-}" ] && curve=(--curve "$CURVE_DIR")
  while [ "$tries" -lt 150 ]; do
    n="$(run_status --stats "$STATS" "${curve[@]}" --json --timeout 2 2>/dev/null |
      jq '[.functions[] | select(.queue_depth > 0 and .instances == 0)] | length' 2>/dev/null)" ||
      return 0
    [ "${n:-0}" -eq 0 ] && return 0
    [ "$tries" -eq 0 ] && info "waiting for the autoscaler to start functions with events queued and no instance"
    sleep 0.2
    tries=$((tries + 1))
  done
  info "functions still without an instance after 30 s: their queued events fail as shutting_down"
}

# pipeline_stop RUN: broker first (its supervisor before it; it finishes
# admitted work and tells the workers to drain), then workers, then the
# collector (writes results).
pipeline_stop() {
  local run="$1" pid
  slurm_sample "$run"
  # The autoscaler first, so it starts nothing while the rest stops; but
  # not before it started the functions it had scaled to zero that still
  # have events queued.
  pid="$(pid_of "$run" autoscaler)"
  if [ -n "$pid" ]; then
    stranded_wait
    stop_pids 15 "$pid"
  fi
  stop_broker "$run" 60
  stop_workers "$run"
  pid="$(pid_of "$run" collector)"
  [ -n "$pid" ] && stop_pids 30 "$pid"
  # The private feature store once no worker can call it.
  pid="$(pid_of "$run" redis)"
  [ -n "$pid" ] && stop_pids 15 "$pid"
  # up --prometheus: last, so it scraped what the others said last.
  pid="$(pid_of "$run" prometheus)"
  [ -n "$pid" ] && stop_pids 15 "$pid"
  return 0
}

# pipeline_kill RUN: SIGKILL for every process of RUN, netem removed and
# the hosts' run directories too (a failed or interrupted start).
pipeline_kill() {
  local run="$1" f
  : >"$run/broker.stopping" 2>/dev/null || true
  for f in "$run"/pids/*.host; do
    [ -f "$f" ] && { sig_proc KILL "$(pid_of "$run" "$(basename "$f" .host)")" || true; }
  done
  for f in "$run"/pids/*.pid; do
    # A Slurm step's local pid is its srun, which ends with the step; and
    # one that the autoscaler's scale started lives on another machine.
    [ -f "${f%.pid}.step" ] && continue
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
  done
  if [ -n "${HOSTS_FILE:-}" ] && [ -f "$run/hosts" ]; then
    netem_remove "$run"
    hosts_clean "$run"
  fi
  return 0
}

# ---- supervising a run ------------------------------------------------------
# `run` keeps an eye on the broker and the collector (their pids) while the
# producer runs, while the broker drains and while the collector finishes.
# A broker that dies ends the run as broker_lost: the collector, sent
# SIGUSR1, writes summary.json without it. A collector that dies leaves no
# results to write. Either way every log is copied into OUT first, the
# messages name paths in OUT, and the launcher exits 1.

# save_logs RUN OUT: every process's log into OUT (OUT/NAME.log), as a
# finished run leaves them. Every path that ends a run calls it before
# RUN is removed.
save_logs() {
  cp "$1"/logs/*.log "$2/" 2>/dev/null || true
}

# logs_hint OUT: the central processes' logs in OUT, for messages.
logs_hint() {
  local out="$1" role hint=""
  for role in broker collector; do
    [ -f "$out/$role.log" ] && hint+="$out/$role.log, "
  done
  echo "${hint}every log in $out/*.log"
}

# start_producer_bg RUN WF ID: producer ID in the background (with --hosts
# on the first producer host), recorded as RUN/pids/producer-ID.pid so that
# pipeline_kill reaches it; PRODUCER_PID is the process this shell waits
# for (on a host: its host command, which signals do not reach).
start_producer_bg() {
  local run="$1" wf_name="$2" id="$3" host
  local -a argv pin
  if [ -n "${HOSTS_FILE:-}" ]; then
    host="${PRODUCER_HOSTS[0]}"
    producer_argv argv "$wf_name" "$id" "$host"
    host_exec "$host" "${argv[@]}" </dev/null &
  else
    producer_argv argv "$wf_name" "$id"
    cpus_pin pin "$run" "producer-$id"
    (cd "$ROOT" && exec "${pin[@]}" "${argv[@]}") &
  fi
  PRODUCER_PID=$!
  echo "$PRODUCER_PID" >"$run/pids/producer-$id.pid"
}

# producer_end RUN: stop the producer if it still runs (here, not on a
# host: there it ends by itself) and wait for it. SIGTERM ends its
# schedule; it sends DONE to the collector first, then waits at most its
# --ack-timeout for the broker. Returns its exit status.
producer_end() {
  local run="$1" rc=0
  [ -n "${PRODUCER_PID:-}" ] || return 0
  if [ -z "${HOSTS_FILE:-}" ]; then
    kill -TERM "$PRODUCER_PID" 2>/dev/null || true
  fi
  wait "$PRODUCER_PID" || rc=$?
  PRODUCER_PID=""
  rm -f "$run"/pids/producer-*.pid
  return "$rc"
}

# summary_print RUN: the collector's summary, its log less the timestamped
# log lines.
summary_print() {
  grep -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$1/logs/collector.log" || true
}

# run_broker_lost RUN WHY: the broker died (WHY: how it was seen). The
# producer and the workers stop (their DONE and final usage reports go to
# the collector), the collector is told with SIGUSR1 and writes
# summary.json (end broker_lost, the events it cannot account lost with
# that reason). Exits 1.
run_broker_lost() {
  local run="$1" why="$2" cpid crc=0 pid
  info "the broker died during the run ($why): ending the run without it"
  cpid="$(local_pid_of "$run" collector)"
  producer_end "$run" || true
  pid="$(pid_of "$run" autoscaler)"
  [ -n "$pid" ] && stop_pids 15 "$pid"
  stop_workers "$run"
  sig_proc USR1 "$(pid_of "$run" collector)" || true
  # It ends within 2 s, plus the usage grace when reports are missing.
  while kill -0 "$cpid" 2>/dev/null; do nap 0.2; done
  wait "$cpid" || crc=$?
  pipeline_stop "$run"
  [ -n "${HOSTS_FILE:-}" ] && hosts_finish "$run" "$OUT"
  save_logs "$run" "$OUT"
  summary_print "$run"
  [ -f "$OUT/summary.json" ] ||
    die "the broker died and the collector wrote no summary.json (exit status $crc); logs: $(logs_hint "$OUT")"
  die "the broker died during the run: results in $OUT/summary.json (collector.end broker_lost; events.lost_reasons counts what it held); logs: $(logs_hint "$OUT")"
}

# run_collector_lost RUN WHY: the collector died (or failed) before it
# wrote the results: everything else is stopped. Exits 1.
run_collector_lost() {
  local run="$1" why="$2"
  info "the collector ended before its results ($why)"
  producer_end "$run" || true
  pipeline_kill "$run"
  save_logs "$run" "$OUT"
  if [ -f "$OUT/summary.json" ]; then
    die "the collector failed ($why) after writing $OUT/summary.json; logs: $(logs_hint "$OUT")"
  fi
  die "the collector ended ($why): no summary.json can be written; logs: $(logs_hint "$OUT")"
}

# exit_why RC: an exit status in words.
exit_why() {
  if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))"
  else echo "exit status $1"; fi
}

# A collector that dies during `run` with no supervisor is restarted from
# its journal here, at most this many times: lossless (the broker sends
# again what it had not acknowledged), and the only way the run can still
# end with results. The run then exits 1 (see run_collector_restarted).
COLLECTOR_SELF_RESTARTS_MAX=3

# collector_watch RUN: nothing while the collector runs, or once it ended
# well (exit 0: the results are written; it may end before the broker's
# process does). A collector that died is restarted from its journal (by
# the supervisor, or here); one that failed, or cannot be restarted, ends
# the run (run_collector_lost). Sets COLLECTOR_ENDED once it ended well.
collector_watch() {
  local run="$1" cpid rc=0 pid
  [ -n "${COLLECTOR_ENDED:-}" ] && return 0
  pid_into cpid "$run" collector
  kill -0 "$cpid" 2>/dev/null && return 0
  # Only the first collector is this shell's child: a restarted one
  # (--supervise) ended well if it wrote the results.
  if [ "$cpid" != "${COLLECTOR_REAPED-}" ]; then
    COLLECTOR_REAPED="$cpid"
    wait "$cpid" 2>/dev/null || rc=$?
  else
    rc=1
  fi
  if [ "$rc" -eq 127 ]; then
    rc=1
    [ "$OUT/summary.json" -nt "$run/collector.argv" ] && rc=0
  fi
  if [ "$rc" -ne 0 ] && [ -s "$run/collector.argv" ] &&
     ! [ -f "$run/collector.given-up" ]; then
    # The supervisor restarts it, unless its restarts are used up.
    pid_into pid "$run" supervisor
    [ -n "$pid" ] && s_running "$pid" && return 0
    if [ "${SUPERVISE:-0}" -eq 0 ] &&
       [ "${COLLECTOR_SELF_RESTARTS:-0}" -lt "$COLLECTOR_SELF_RESTARTS_MAX" ]; then
      COLLECTOR_SELF_RESTARTS=$((${COLLECTOR_SELF_RESTARTS:-0} + 1))
      info "the collector died ($(exit_why "$rc")): restarting it from its journal ($COLLECTOR_SELF_RESTARTS of $COLLECTOR_SELF_RESTARTS_MAX)"
      restart_collector "$run" "run: the collector died ($(exit_why "$rc")), restart $COLLECTOR_SELF_RESTARTS of $COLLECTOR_SELF_RESTARTS_MAX" "$cpid" &&
        return 0
      info "the collector could not be restarted (see $OUT/launcher.log)"
    fi
  fi
  [ "$rc" -eq 0 ] || run_collector_lost "$run" "$(exit_why "$rc")"
  COLLECTOR_ENDED=1
}

# broker_up RUN: the broker runs, or its supervisor (--supervise) is
# restarting it; a supervisor that used up its restarts has ended.
broker_up() {
  local pid
  pid_into pid "$1" broker
  [ -n "$pid" ] && s_running "$pid" && return 0
  pid_into pid "$1" supervisor
  [ -n "$pid" ] && s_running "$pid"
}

# supervise_run RUN WF: producer 1, then the broker's drain, then the
# collector's results, watching the broker and the collector all along
# (every 0.2 s). Returns when the collector wrote the results; a death
# before that ends the run through run_broker_lost or run_collector_lost
# (exit 1). Under --supervise a broker that dies is restarted by the
# supervisor; the run is lost only once that gives up.
supervise_run() {
  local run="$1" wf_name="$2" first bpid pid prc=0 brc=0 deadline
  COLLECTOR_ENDED=""
  first="$(local_pid_of "$run" broker)"
  start_producer_bg "$run" "$wf_name" 1
  while kill -0 "$PRODUCER_PID" 2>/dev/null; do
    collector_watch "$run"
    if [ -z "$COLLECTOR_ENDED" ] && ! broker_up "$run"; then
      run_broker_lost "$run" "its process is gone"
    fi
    nap 0.2
  done
  producer_end "$run" || prc=$?
  collector_watch "$run"
  if [ -z "$COLLECTOR_ENDED" ] && ! broker_up "$run"; then
    run_broker_lost "$run" "its process is gone"
  fi
  if [ "$prc" -ne 0 ]; then
    pipeline_kill "$run"
    save_logs "$run" "$OUT"
    die "producer failed ($(exit_why "$prc")); logs: $(logs_hint "$OUT")"
  fi
  # The broker finishes what it admitted and tells the workers to leave;
  # they send their final usage reports; the collector ends by itself once
  # every event is accounted for (or its drain timeout passes) and every
  # instance has reported, and writes the results. The supervisor goes
  # first, so the draining broker is not taken for a dead one. The
  # autoscaler stays until the broker has drained: events still queued for
  # a function at zero instances (scaled to zero, evicted, kept alive 0 s)
  # get their instance instead of failing shutting_down at the drain's end;
  # the drain starts once it started what it had scaled to zero.
  [ -n "$(pid_of "$run" autoscaler)" ] && stranded_wait
  stop_supervisor "$run"
  # Slurm steps: their CPU time and RSS while they still run (the workers
  # leave by themselves once the broker drained).
  slurm_sample "$run"
  # The signal goes to the broker itself (HOST:PID on a host of --hosts);
  # its local process (there: the host command) tells when it ended.
  bpid="$(local_pid_of "$run" broker)"
  sig_proc TERM "$(pid_of "$run" broker)" || true
  deadline=$((SECONDS + 120))
  while [ -n "$bpid" ] && s_running "$bpid"; do
    collector_watch "$run"
    if [ "$SECONDS" -ge "$deadline" ]; then
      info "the broker did not stop in 120s: killing it"
      sig_proc KILL "$(pid_of "$run" broker)" || true
      deadline=$((SECONDS + 120))
    fi
    nap 0.2
  done
  pid="$(pid_of "$run" autoscaler)"
  [ -n "$pid" ] && stop_pids 15 "$pid"
  # Only the first broker is this shell's child; a restarted one's status
  # is its supervisor's to see.
  [ "$bpid" = "$first" ] && { wait "$bpid" || brc=$?; }
  if [ "$brc" -ne 0 ]; then
    [ -n "$COLLECTOR_ENDED" ] ||
      run_broker_lost "$run" "$(exit_why "$brc") while draining"
    info "the broker ended ($(exit_why "$brc")) after the results were written"
  fi
  while [ -z "$COLLECTOR_ENDED" ]; do
    collector_watch "$run"
    [ -n "$COLLECTOR_ENDED" ] || nap 0.2
  done
}

# ---- broker restarts ---------------------------------------------------------
# `restart broker` and the supervisor of --supervise kill the broker (a
# crash-restart: what it held is lost) and start it again with the command
# line pipeline_start recorded in RUN/broker.argv, on the same endpoints.
# Workers and producers reconnect by themselves; workers say READY again
# (see docs/architecture.md, Flows). Each restart is a line of
# RUN/logs/launcher.log, which down copies to the results.

# run_log RUN LEVEL MESSAGE: a line of the launcher's log of the run.
run_log() {
  mkdir -p "$1/logs"
  printf '%s %s eventide[%d] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" \
    "$2" "$$" "$3" >>"$1/logs/launcher.log"
}

# broker_record RUN ARGV...: the broker's command line as it bound (tcp:
# the ports the kernel chose), so a restart binds the same endpoints.
broker_record() {
  local run="$1"; shift
  printf '%q ' "$@" >"$run/broker.argv"
}

# s_running PID: PID is a live local process. A zombie is not: it is dead
# until its parent (init, for a pipeline left up by `up`) reaps it, which
# may take a while. Read from /proc (no procps on a minimal Debian).
s_running() {
  local stat
  [ -n "$1" ] && read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  # The state follows the command name, which may hold ") ".
  stat="${stat##*) }"
  [[ "$stat" != Z* ]]
}

# s_dead PID: not (or no longer) a live process.
s_dead() { ! s_running "$1"; }
# s_bound_or_dead RUN ROLE PID: ROLE's process PID wrote its endpoints
# (RUN/ROLE.endpoints: it bound), or died.
s_bound_or_dead() { [ -f "$1/$2.endpoints" ] || ! s_running "$3"; }

# s_wait_for TRIES CMD...: CMD every 50 ms until it succeeds, at most TRIES
# times. 0, or 1 when it never did.
s_wait_for() {
  local tries="$1" i
  shift
  for ((i = 0; i < tries; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}

# restart_role RUN ROLE WHY DEAD TRIES "ENDPOINTS" [EXTRA...]: kill ROLE
# (broker or collector) and start it again from RUN/ROLE.argv plus EXTRA;
# with DEAD (the pid a supervisor saw die), only if that is still ROLE's
# (another restart may have come first). Under RUN/ROLE.lock, so a restart
# by hand and the supervisor never start two. ENDPOINTS are the ones it
# bound (an ipc one's file, left behind, is removed first). Waits up to
# TRIES x 50 ms until it bound. 0, or 1 (logged) when it did not come up.
restart_role() {
  local run="$1" lock rc=0
  exec {lock}>>"$run/$2.lock"
  flock "$lock"
  s_restart_role_locked "$@" {lock}>&- || rc=$?
  exec {lock}>&-
  return "$rc"
}

s_restart_role_locked() {
  local run="$1" role="$2" why="$3" dead="$4" tries="$5" endpoints="$6" old new ep
  shift 6
  local -a argv
  old="$(local_pid_of "$run" "$role")"
  [ -z "$dead" ] || [ "$old" = "$dead" ] || return 0
  if [ ! -s "$run/$role.argv" ]; then
    run_log "$run" ERROR "cannot restart the $role: no command line in $run/$role.argv"
    return 1
  fi
  eval "argv=($(cat "$run/$role.argv"))"
  if [ -n "$old" ]; then
    kill -KILL "$old" 2>/dev/null || true
    if ! s_wait_for 200 s_dead "$old"; then
      run_log "$run" ERROR "$role pid $old survived SIGKILL for 10 s: not restarted"
      return 1
    fi
  fi
  for ep in $endpoints; do
    case "$ep" in ipc://*) rm -f "${ep#ipc://}" ;; esac
  done
  rm -f "$run/$role.endpoints"
  start_bg "$run" "$role" "${argv[@]}" "$@"
  new="$(local_pid_of "$run" "$role")"
  if ! s_wait_for "$tries" s_bound_or_dead "$run" "$role" "$new"; then
    run_log "$run" ERROR "the restarted $role (pid $new) did not bind within $((tries / 20)) s"
    return 1
  fi
  if [ ! -f "$run/$role.endpoints" ]; then
    run_log "$run" ERROR "the restarted $role (pid $new) stopped at once: see logs/$role.log"
    return 1
  fi
  run_log "$run" INFO "$role restarted ($why): pid ${old:-none} killed, pid $new bound $endpoints"
}

# restart_broker RUN WHY [DEAD]: restart_role for the broker: what it held
# is lost. Needs the run's env (run_env) for its endpoints.
restart_broker() {
  restart_role "$1" broker "$2" "${3-}" 600 "$FRONTEND $BACKEND $STATS"
}

# ---- collector restarts ------------------------------------------------------
# `restart collector` and the supervisor kill the collector and start it
# again with RUN/collector.argv plus --resume: it replays its journal
# (RUN/collector.journal) and asks the broker (--collector-acks) for what
# it had not journaled. Same endpoints: the one it bound, the /metrics port
# it got.

# collector_record RUN BOUND METRICS_URL ARGV...: the collector's command
# line with --bind BOUND (tcp: the port the kernel chose) and --metrics
# the address METRICS_URL names (when not off).
collector_record() {
  local run="$1" bound="$2" url="$3" i addr
  shift 3
  local -a argv=("$@")
  for ((i = 0; i < ${#argv[@]} - 1; i++)); do
    case "${argv[i]}" in
      --bind) argv[i + 1]="$bound" ;;
      --metrics)
        if [ -n "$url" ]; then
          addr="${url#http://}"; argv[i + 1]="${addr%/metrics}"
        fi ;;
    esac
  done
  printf '%q ' "${argv[@]}" >"$run/collector.argv"
}

# restart_collector RUN WHY [DEAD]: restart_role for the collector, with
# --resume (its replay comes before the bind: a long journal takes a
# while). Needs the run's env (run_env).
restart_collector() {
  restart_role "$1" collector "$2" "${3-}" 1200 "$COLLECTOR" --resume
}

# stop_supervisor RUN: the broker is about to stop on purpose: mark it and
# stop its supervisor (if any), so the stop is not taken for a crash.
stop_supervisor() {
  local pid
  : >"$1/broker.stopping"
  pid="$(pid_of "$1" supervisor)"
  [ -n "$pid" ] && stop_pids 5 "$pid"
  return 0
}

# stop_broker RUN TIMEOUT: stop the broker on purpose (SIGTERM: it drains),
# its supervisor first.
stop_broker() {
  local run="$1" timeout="$2" pid
  stop_supervisor "$run"
  pid="$(pid_of "$run" broker)"
  [ -n "$pid" ] && stop_pids "$timeout" "$pid"
  return 0
}

# start_supervisor RUN MAX: the supervisor process (RUN/pids/supervisor.pid,
# stopped by stop_broker like any other): ./eventide's internal command
# __supervise-broker, which runs supervise_broker.
start_supervisor() {
  start_bg "$1" supervisor "$ROOT/eventide" __supervise-broker "$1" "$2"
}

# supervise_broker RUN MAX: every half second, a broker that died (not
# stopped on purpose: RUN/broker.stopping) is restarted, at most MAX times;
# so is a collector that died (RUN/collector.argv: one that can resume),
# at most MAX times too, counted apart. The supervisor is stopped before
# either is stopped on purpose.
supervise_broker() {
  local run="$1" max="$2" restarts=0 collector_restarts=0 pid
  run_env "$run"
  trap 'exit 0' TERM INT
  run_log "$run" INFO "supervisor up (pid $$): restarts a broker or a collector that dies, at most $max time(s) each"
  while :; do
    nap 0.5
    [ -f "$run/broker.stopping" ] && return 0
    pid_into pid "$run" collector
    # A collector that wrote the results (run: it ends by itself) is done.
    if [ -s "$run/collector.argv" ] && [ -n "$pid" ] && ! s_running "$pid" &&
       ! [ "$OUT/summary.json" -nt "$run/collector.argv" ] &&
       ! [ -f "$run/collector.given-up" ]; then
      if [ "$collector_restarts" -ge "$max" ]; then
        run_log "$run" ERROR "the collector (pid $pid) died; not restarted: --supervise $max restarts used up"
        : >"$run/collector.given-up"
      else
        collector_restarts=$((collector_restarts + 1))
        restart_collector "$run" "supervisor: pid $pid died, restart $collector_restarts of $max" "$pid" ||
          run_log "$run" ERROR "supervisor: collector restart $collector_restarts of $max failed"
      fi
    fi
    pid_into pid "$run" broker
    [ -n "$pid" ] && s_running "$pid" && continue
    [ -f "$run/broker.stopping" ] && return 0
    if [ "$restarts" -ge "$max" ]; then
      run_log "$run" ERROR "the broker (pid $pid) died; not restarted: --supervise $max restarts used up"
      return 1
    fi
    restarts=$((restarts + 1))
    restart_broker "$run" "supervisor: pid $pid died, restart $restarts of $max" "$pid" ||
      run_log "$run" ERROR "supervisor: restart $restarts of $max failed"
  done
}
