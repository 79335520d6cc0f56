# launcher/commands.sh: the commands (cmd_NAME for `./eventide NAME`):
# each parses its command line, checks it, builds if needed, reads the
# workflow once and drives the modules. Exit 0 done, 1 failure, 2 usage.

# workflow_settle WF: after workflow_load, WORKFLOW is the workflow's name
# and WORKFLOW_FILE its file (the settings a run records in RUN/env).
workflow_settle() {
  WORKFLOW="$(wf_get "$1" name)"
  WORKFLOW_FILE="$(wf_get "$1" path)"
}

cmd_run() {
  set_pipeline_defaults
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) help_run; return 0 ;;
      *) parse_pipeline_opt "$1" "${2-}"; shift 2 ;;
    esac
  done
  check_pipeline_opts
  ensure_built
  [ -n "$OUT" ] || OUT="$ROOT/results/$(date +%Y%m%d-%H%M%S)-$$"
  OUT="$(abs_dir "$OUT")"
  local -A wf
  azure_workflow_prepare "$OUT"
  workflow_load wf "$WORKFLOW" "$OUT"
  workflow_settle wf
  # --cluster slurm: the allocation (released whatever ends the run, when
  # the launcher requested it) and its nodes as the hosts.
  trap 'slurm_release' EXIT
  trap 'exit 130' INT TERM
  cluster_acquire "$OUT"
  check_against_workflow wf
  ingest_prepare wf 1
  check_pipeline_argv wf "$OUT" 1 10
  mkdir -p "$OUT"
  ensure_model wf
  local run
  run="$(mktemp -d /tmp/eventide.XXXXXX)"
  # Whatever ends the run, the logs reach OUT before RUN goes.
  # shellcheck disable=SC2064
  trap "pipeline_kill $(printf %q "$run"); save_logs $(printf %q "$run") $(printf %q "$OUT"); rm -rf $(printf %q "$run"); slurm_release" EXIT
  pipeline_start "$run" "$OUT" 1 10 wf
  ingest_up "$run"
  ingest_devices "$run" 1
  info "running workflow $WORKFLOW"
  [ -n "${METRICS_URL:-}" ] &&
    info "metrics at $METRICS_URL (broker), ${METRICS_COLLECTOR_URL:-} (collector)${METRICS_AUTOSCALER_URL:+, $METRICS_AUTOSCALER_URL (autoscaler)}"
  # The producer, the broker's drain and the collector, watched: a broker
  # or collector that dies ends the run here (exit 1, logs in OUT).
  supervise_run "$run" wf
  ingest_down "$run"
  pipeline_stop "$run"
  [ -n "$HOSTS_FILE" ] && hosts_finish "$run" "$OUT"
  slurm_accounting "$run" "$OUT"
  slurm_release
  summary_print "$run"
  save_logs "$run" "$OUT"
  [ -f "$OUT/summary.json" ] || die "no summary.json in $OUT; logs: $(logs_hint "$OUT")"
  summary_add_evictions "$OUT"
  # Rate, replicas, queue and latency over time (needs gnuplot).
  "$BIN/eventide-report" --timeseries "$OUT" >/dev/null 2>"$OUT/timeseries-plot.log" ||
    info "no timeseries figure (see $OUT/timeseries-plot.log)"
  # A trace replay's per-function figures: slowdown CDF, cold-start ratio
  # against invocation rate, instances per function over time.
  case "$ARRIVAL" in azure2019:*|azure2021:*)
    "$BIN/eventide-report" --functions "$OUT" >/dev/null 2>"$OUT/functions-plot.log" ||
      info "no per-function figures (see $OUT/functions-plot.log)" ;;
  esac
  echo "results: $OUT"
  # Results, but a process died on the way: say so in the exit status.
  [ "${COLLECTOR_SELF_RESTARTS:-0}" -eq 0 ] ||
    die "the collector died during the run and was restarted from its journal ($COLLECTOR_SELF_RESTARTS time(s)): results in $OUT/summary.json (collector.restarts); logs: $(logs_hint "$OUT")"
}

state_run() { # the run directory of the pipeline started by `up`
  # The autoscaler of a `run` names its private run directory.
  if [ -n "${EVENTIDE_RUN:-}" ]; then
    [ -d "$EVENTIDE_RUN" ] || die "EVENTIDE_RUN $EVENTIDE_RUN is not a directory"
    echo "$EVENTIDE_RUN"; return
  fi
  [ -L "$STATE/current" ] && [ -d "$STATE/current" ] ||
    die "no pipeline is up (start one with ./eventide up)"
  readlink -f "$STATE/current"
}

cmd_up() {
  set_pipeline_defaults
  local prometheus=0
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) help_up; return 0 ;;
      --prometheus) prometheus=1; shift ;;
      *) parse_pipeline_opt "$1" "${2-}"; shift 2 ;;
    esac
  done
  check_pipeline_opts
  if [ "$prometheus" -eq 1 ]; then
    [ "$METRICS" != off ] || usage_error "--prometheus: there is nothing to scrape with --metrics off"
    [ -z "$HOSTS_FILE" ] ||
      usage_error "--prometheus: not with --hosts (the metrics listen on the broker's and collector's hosts)"
    [ -z "$CLUSTER" ] ||
      usage_error "--prometheus: not with --cluster (the metrics listen on the broker's and collector's node)"
  fi
  if [ -L "$STATE/current" ] && [ -d "$STATE/current" ]; then
    local pid
    pid="$(pid_of "$(readlink -f "$STATE/current")" broker)"
    [ -n "$pid" ] && pid_alive "$pid" &&
      die "a pipeline is already up (./eventide down first)"
  fi
  ensure_built
  [ -n "$OUT" ] || OUT="$ROOT/results/$(date +%Y%m%d-%H%M%S)-up"
  OUT="$(abs_dir "$OUT")"
  local -A wf
  azure_workflow_prepare "$OUT"
  workflow_load wf "$WORKFLOW" "$OUT"
  workflow_settle wf
  # --cluster slurm: an allocation up requested stays until down, unless
  # the start fails.
  trap 'slurm_release' EXIT
  cluster_acquire "$OUT"
  check_against_workflow wf
  ingest_prepare wf 1
  check_pipeline_argv wf "$OUT" 0 0
  mkdir -p "$OUT" "$STATE"
  ensure_model wf
  local run
  run="$(mktemp -d /tmp/eventide.XXXXXX)"
  ln -sfn "$run" "$STATE/current"
  # Processes outlive this command: run them in their own session so a
  # closing terminal does not take them along.
  if [ -n "$HOSTS_FILE" ]; then
    # A start that fails half-way leaves nothing on the hosts (netem too).
    # shellcheck disable=SC2064
    trap "pipeline_kill '$run'; rm -rf '$run'; rm -f '$STATE/current'; slurm_release" EXIT
  fi
  pipeline_start "$run" "$OUT" 0 0 wf
  ingest_up "$run"
  trap - EXIT
  [ "$prometheus" -eq 1 ] && prometheus_start "$run" "$OUT"
  echo 1 >"$run/next-producer"
  echo "pipeline up: workflow $WORKFLOW"
  echo "  frontend  $FRONTEND"
  echo "  backend   $BACKEND"
  echo "  collector $COLLECTOR"
  echo "  stats     $STATS"
  [ -n "${METRICS_URL:-}" ] && echo "  metrics   $METRICS_URL (broker)"
  [ -n "${METRICS_COLLECTOR_URL:-}" ] &&
    echo "  metrics   $METRICS_COLLECTOR_URL (collector)"
  [ -n "${METRICS_AUTOSCALER_URL:-}" ] &&
    echo "  metrics   $METRICS_AUTOSCALER_URL (autoscaler)"
  [ -n "$INGEST" ] &&
    echo "  mqtt      mqtt://127.0.0.1:$INGEST_PORT/eventide/sensors/ID (mosquitto; produce starts eventide sensors for producer ID)"
  [ -n "${PROMETHEUS_URL:-}" ] &&
    echo "  prometheus $PROMETHEUS_URL (scrapes both every second; data in $OUT/prometheus)"
  if [ -n "$CURVE_DIR" ]; then
    echo "  security  CURVE on every TCP link, keys in $CURVE_DIR"
  fi
  if [ -n "$CLUSTER" ]; then
    local h
    for h in "${HOST_NAMES[@]}"; do
      printf '  node      %-12s %-15s slurm job %s%s\n' "$h" "${HOST_ADDR[$h]}" "$SL_JOB" \
        "$([ "$SL_OWNED" = 1 ] && echo ' (released by down)')"
    done
  elif [ -n "$HOSTS_FILE" ]; then
    local h
    for h in "${HOST_NAMES[@]}"; do
      printf '  host      %-12s %-15s via %s\n' "$h" "${HOST_ADDR[$h]}" "${HOST_CMD//\{host\}/$h}"
    done
  fi
  echo "  results   $OUT (written by ./eventide down)"
}

cmd_produce() {
  set_pipeline_defaults
  local id="" host=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) help_produce; return 0 ;;
      --id) is_count "${2-}" || usage_error "--id '${2-}': expected an integer"
            id="$2"; shift 2 ;;
      --host) [ -n "${2-}" ] || usage_error "--host needs a value"
              host="$2"; shift 2 ;;
      *) parse_pipeline_opt "$1" "${2-}"; shift 2 ;;
    esac
  done
  # A producer may bring its own keys (--curve) and clock options; else
  # the pipeline's. The workflow is always the pipeline's (a --workflow
  # given here is only checked).
  [ -z "$INGEST" ] ||
    usage_error "--ingest: give it to up; produce then publishes over the pipeline's mosquitto by itself"
  local run own_curve="$CURVE_DIR" own_sync="$CLOCK_SYNC" own_skews="$CLOCK_SKEWS"
  local own_sync_set="$CLOCK_SYNC_SET" own_workflow="$WORKFLOW"
  local own_workflow_set="$WORKFLOW_SET"
  run="$(state_run)"
  run_env "$run"
  if [ "$own_workflow_set" -eq 1 ]; then
    local -A asked
    workflow_load asked "$own_workflow"
  fi
  local -A wf
  workflow_load wf "$WORKFLOW_FILE" "$OUT"
  load_hosts "$run"
  [ -n "$own_curve" ] && CURVE_DIR="$own_curve"
  [ "$own_sync_set" -eq 1 ] && CLOCK_SYNC="$own_sync"
  [ -n "$own_skews" ] && CLOCK_SKEWS="$own_skews"
  check_clock_skews
  # A producer's own --cpus pins it alone; the pipeline's (RUN/cpus) else.
  local item
  for item in $CPUS; do
    [ "${item%%=*}" = producer ] ||
      usage_error "--cpus '$item': produce starts a producer only (producer=LIST; the pipeline's processes are pinned by up)"
    [ -z "$HOSTS_FILE" ] ||
      usage_error "--cpus '$item': not with --hosts (placement there is per host)"
  done
  check_cpus
  if [ -n "$host" ]; then
    [ -n "$HOSTS_FILE" ] || usage_error "--host '$host': the pipeline runs without --hosts"
    printf '%s\n' "${PRODUCER_HOSTS[@]}" | grep -qxF -- "$host" ||
      usage_error "--host '$host': not a producer host (${PRODUCER_HOSTS[*]})"
  fi
  # The id a producer without --id takes is spent only once its command
  # line passed the preflight.
  local next="$id"
  [ -n "$next" ] || next="$(cat "$run/next-producer" 2>/dev/null || echo 1)"
  [ -n "$HOSTS_FILE" ] && [ -z "$host" ] && host="${PRODUCER_HOSTS[0]}"
  # Under up --ingest mqtt (RUN/env): the producer reads its own topic of
  # the pipeline's mosquitto, its devices publish the series there.
  ingest_prepare wf "$next"
  check_producer_argv wf "$next" "$host"
  if [ -z "$id" ]; then
    id="$next"
    echo $((id + 1)) >"$run/next-producer"
  fi
  local rc=0
  ingest_devices "$run" "$id"
  run_producer "$run" wf "$id" "$host" || rc=$?
  ingest_devices_stop "$run" "$id"
  return "$rc"
}

cmd_scale() {
  [ "${1-}" = "-h" ] || [ "${1-}" = "--help" ] && { help_scale; return 0; }
  local host=""
  if [ $# -eq 4 ] && [ "$3" = --host ]; then
    host="$4"; set -- "$1" "$2"
  fi
  [ $# -eq 2 ] || usage_error "usage: ./eventide scale FUNCTION N [--host H]"
  local fn="$1" n="$2" run
  is_count "$n" || usage_error "scale: N '$n': expected a count"
  run="$(state_run)"
  run_env "$run"
  load_hosts "$run"
  if [ -n "$host" ]; then
    [ -n "$HOSTS_FILE" ] || usage_error "scale: --host '$host': the pipeline runs without --hosts"
    function_hosts "$fn" | awk '{print $1}' | grep -qxF -- "$host" ||
      usage_error "scale: --host '$host': not a host for function '$fn' ($(function_hosts "$fn" | awk '{print $1}' | tr '\n' ' '))"
  fi
  local -A wf
  workflow_load wf "$WORKFLOW_FILE" "$OUT"
  wf_has_function wf "$fn" || usage_error "scale: workflow $WORKFLOW has no function '$fn'"
  # Before starting any: the preflight of the next instance's command line.
  if [ "$(worker_pids "$run" "$fn" "$host" | wc -l)" -lt "$n" ]; then
    check_worker_argv wf "$fn" "$(cat "$run/next-index-$fn" 2>/dev/null || echo 1)" "$host"
  fi
  scale_to "$run" wf "$fn" "$n" "$host"
  if [ -n "$host" ]; then
    echo "$fn: $(worker_pids "$run" "$fn" "$host" | wc -l) instance(s) on $host, $(worker_pids "$run" "$fn" | wc -l) in all"
  else
    echo "$fn: $(worker_pids "$run" "$fn" | wc -l) instance(s)"
  fi
}

cmd_status() {
  local json=0
  case "${1-}" in
    --json) json=1 ;;
    -h|--help) help_status; return 0 ;;
    "") ;;
    *) usage_error "status: unknown option '$1'" ;;
  esac
  local run
  run="$(state_run)"
  run_env "$run"
  load_hosts "$run"
  local -a curve=()
  [ -n "${CURVE_DIR:-}" ] && curve=(--curve "$CURVE_DIR")
  local f name pid state where host p step sstate
  local -a procs=()
  # Under --cluster slurm, the state of every step, asked once.
  local -A step_states=()
  local states_known=1
  [ -n "${CLUSTER:-}" ] && { slurm_step_states step_states || states_known=0; }
  for f in "$run"/pids/*.pid; do
    [ -f "$f" ] || continue
    name="$(basename "$f" .pid)"
    where="$(pid_of "$run" "$name")"
    pid="${where#*:}"; host=""; step="-"; sstate="-"
    [[ "$where" == *:* ]] && host="${where%%:*}"
    if [[ "$where" == *:slurm/* ]]; then
      step="${where#*:slurm/}"
      read -r _ pid <"$run/pids/$name.host"
      if [ "$states_known" -eq 1 ]; then
        sstate="${step_states[$step]:-ENDED}"
        state=stopped; [ "$sstate" != ENDED ] && state=running
      else
        sstate=UNKNOWN; state=unknown
      fi
    else
      state=stopped; pid_alive "$where" && state=running
    fi
    procs+=("$name $pid $state ${host:--} $step $sstate")
  done
  if [ "$json" -eq 1 ]; then
    printf '{"run_dir":"%s","results":"%s","workflow":"%s",' "$run" "$OUT" "$WORKFLOW"
    # --cpus: ROLE: LIST, "others" for every process of a role not named.
    [ -f "$run/cpus" ] &&
      awk 'BEGIN { printf "\"cpus\":{" }
           { printf "%s\"%s\":\"%s\"", (NR > 1 ? "," : ""), $1, $2 }
           END { printf "}," }' "$run/cpus"
    printf '"endpoints":{"frontend":"%s","backend":"%s","collector":"%s","stats":"%s","metrics":"%s","metrics_collector":"%s","metrics_autoscaler":"%s","prometheus":"%s"},' \
      "$FRONTEND" "$BACKEND" "$COLLECTOR" "$STATS" "${METRICS_URL:-}" \
      "${METRICS_COLLECTOR_URL:-}" "${METRICS_AUTOSCALER_URL:-}" "${PROMETHEUS_URL:-}"
    printf '"processes":['
    local first=1 role fn
    for p in "${procs[@]}"; do
      read -r name pid state host step sstate <<<"$p"
      role="${name%%-*}"; fn=""
      [ "$role" = worker ] && { fn="${name#worker-}"; fn="${fn%-*}"; }
      [ $first -eq 1 ] || printf ','
      first=0
      printf '{"name":"%s","role":"%s","pid":%s,"function":"%s","state":"%s"' \
        "$name" "$role" "$pid" "$fn" "$state"
      [ "$step" != - ] && printf ',"slurm_job":"%s","slurm_step":"%s","slurm_state":"%s"' \
        "${step%%.*}" "$step" "$sstate"
      if [ "$host" != - ]; then
        printf ',"host":"%s","address":"%s"}' "$host" "${HOST_ADDR[$host]}"
      else
        printf '}'
      fi
    done
    printf '],"broker":'
    run_status --stats "$STATS" "${curve[@]}" --json --timeout 3 2>/dev/null ||
      printf 'null'
    printf '}\n'
  else
    echo "workflow $WORKFLOW, run dir $run, results $OUT"
    [ -n "${METRICS_URL:-}" ] && echo "metrics: $METRICS_URL"
    [ -n "${METRICS_COLLECTOR_URL:-}" ] &&
      echo "metrics (collector): $METRICS_COLLECTOR_URL"
    [ -n "${METRICS_AUTOSCALER_URL:-}" ] &&
      echo "metrics (autoscaler): $METRICS_AUTOSCALER_URL"
    [ -n "${PROMETHEUS_URL:-}" ] && echo "prometheus: $PROMETHEUS_URL"
    [ -f "$run/cpus" ] &&
      echo "cpus: $(awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2 }' "$run/cpus")"
    if [ -n "${CLUSTER:-}" ]; then
      echo "slurm job $SL_JOB$([ "$SL_OWNED" = 1 ] && echo ', allocated by up (down releases it)')"
      printf '%-28s %-12s %-12s %8s %s\n' process node step pid state
    elif [ -n "$HOSTS_FILE" ]; then
      printf '%-28s %-12s %8s %s\n' process host pid state
    else
      printf '%-28s %8s %s\n' process pid state
    fi
    for p in "${procs[@]}"; do
      read -r name pid state host step sstate <<<"$p"
      if [ -n "${CLUSTER:-}" ]; then
        printf '%-28s %-12s %-12s %8s %s\n' "$name" "$host" "$step" "$pid" \
          "$([ "$sstate" != - ] && echo "$sstate" || echo "$state")"
      elif [ -n "$HOSTS_FILE" ]; then
        printf '%-28s %-12s %8s %s\n' "$name" "$host" "$pid" "$state"
      else
        printf '%-28s %8s %s\n' "$name" "$pid" "$state"
      fi
    done
    run_status --stats "$STATS" "${curve[@]}" --timeout 3 ||
      echo "(no stats from the broker)"
  fi
}

cmd_down() {
  [ "${1-}" = "-h" ] || [ "${1-}" = "--help" ] && { help_down; return 0; }
  local run
  run="$(state_run)"
  run_env "$run"
  load_hosts "$run"
  ingest_down "$run"
  pipeline_stop "$run"
  [ -n "$HOSTS_FILE" ] && hosts_finish "$run" "$OUT"
  slurm_accounting "$run" "$OUT"
  slurm_release
  cp "$run"/logs/*.log "$OUT/" 2>/dev/null || true
  cat "$run/logs/collector.log" 2>/dev/null | grep -v -E ' (INFO|DEBUG) ' || true
  rm -f "$STATE/current"
  rm -rf "$run"
  echo "pipeline down; results: $OUT"
}

cmd_restart() {
  case "${1-}" in
    -h|--help) help_restart; return 0 ;;
    broker|collector|mosquitto) ;;
    *) usage_error "usage: ./eventide restart broker|collector|mosquitto" ;;
  esac
  [ $# -eq 1 ] || usage_error "usage: ./eventide restart broker|collector|mosquitto"
  local run what="$1"
  run="$(state_run)"
  run_env "$run"
  if [ "$what" = mosquitto ]; then
    [ -n "${INGEST:-}" ] || die "restart mosquitto: this pipeline was started without --ingest mqtt"
    mqtt_restart "$run" ||
      die "mosquitto did not come back: see $run/logs/mosquitto.log"
    echo "mosquitto restarted: pid $(local_pid_of "$run" mosquitto), its store and sessions kept; producers and devices reconnect by themselves"
    return 0
  fi
  [ -z "$HOSTS_FILE" ] ||
    die "restart $what: not with --hosts or --cluster (the $what runs on another machine)"
  if [ "$what" = collector ]; then
    [ -s "$run/collector.argv" ] ||
      die "restart collector: this pipeline's collector keeps no journal (started by an older launcher?)"
    restart_collector "$run" "by hand: ./eventide restart collector" ||
      die "the collector did not come back: $(tail -n 1 "$run/logs/launcher.log") (logs: $run/logs)"
    echo "collector restarted: pid $(local_pid_of "$run" collector); it resumed from its journal and the broker sends what it missed"
    return 0
  fi
  restart_broker "$run" "by hand: ./eventide restart broker" ||
    die "the broker did not come back: $(tail -n 1 "$run/logs/launcher.log") (logs: $run/logs)"
  echo "broker restarted: pid $(local_pid_of "$run" broker); the workers register again by themselves"
}

# The supervisor process of --supervise (start_supervisor): internal.
cmd_supervise_broker() {
  [ $# -eq 2 ] && [ -d "$1" ] && is_count "$2" ||
    usage_error "__supervise-broker RUN MAX: internal to run and up --supervise"
  supervise_broker "$1" "$2"
}

cmd_build() {
  case "${1-}" in
    -h|--help) help_build; return 0 ;;
    "") ;;
    *) usage_error "build: unknown option '$1' (see ./eventide build --help)" ;;
  esac
  ensure_built
  echo "built: $BIN"
}

cmd_test() {
  [ "${1-}" = "-h" ] || [ "${1-}" = "--help" ] && { help_test; return 0; }
  ensure_deps
  info "building (release) in $BUILD"
  build_into "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  info "building (ASan/UBSan) in $ASAN_BUILD"
  build_into "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DET_SANITIZE=ON
  local rc=0
  info "tests: release build"
  # -j2: integration tests are RUN_SERIAL (tests/CMakeLists.txt); the
  # hermetic ones share the two cores.
  (cd "$BUILD" && ctest -j2 --output-on-failure --timeout 600) || rc=1
  info "tests: ASan/UBSan build"
  (cd "$ASAN_BUILD" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest -j2 --output-on-failure --timeout 900) || rc=1
  [ $rc -eq 0 ] && echo "all tests passed (release and ASan/UBSan builds)"
  return $rc
}

# check_sweep_argv WF SWEEP RATES DURATIONS: the preflight of a sweep's
# points (as their `run`s will start them, in SWEEP/rate-R-dur-D): the
# pipeline's command lines once, the producer's at every rate and
# duration.
# The settings set here are locals that the *_argv functions read (bash
# scope is dynamic).
# shellcheck disable=SC2034
check_sweep_argv() {
  local wf_name="$1" sweep="$2" rates="$3" durations="$4" r d
  local OUT="$sweep/rate-${rates%%,*}-dur-${durations%%,*}"
  local RATE="${rates%%,*}" RATE_SET=1 DURATION="${durations%%,*}" DURATION_SET=1
  local FRONTEND BACKEND COLLECTOR STATS
  check_pipeline_argv "$wf_name" "$OUT" 1 10
  read -r FRONTEND BACKEND COLLECTOR STATS < <(preflight_endpoints)
  for d in ${durations//,/ }; do
    for r in ${rates//,/ }; do
      OUT="$sweep/rate-$r-dur-$d" RATE="$r" DURATION="$d"
      check_producer_argv "$wf_name" 1
    done
  done
}

cmd_sweep() {
  # Keep-alive policies compared is a sweep of its own (launcher/keepalive.sh).
  local a
  for a in "$@"; do
    [ "$a" = --keepalive ] && { cmd_sweep_keepalive "$@"; return; }
  done
  set_pipeline_defaults
  local rates="" durations="" sweep="" r d
  local -a run_args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) help_sweep; return 0 ;;
      --rates) [[ "${2-}" =~ ^[0-9]+([.][0-9]+)?(,[0-9]+([.][0-9]+)?)*$ ]] ||
                 usage_error "--rates '${2-}': expected a list like 2,5,10"
               rates="$2"; shift 2 ;;
      --durations) [[ "${2-}" =~ ^[0-9]+([.][0-9]+)?(,[0-9]+([.][0-9]+)?)*$ ]] ||
                     usage_error "--durations '${2-}': expected a list like 30,60"
                   durations="$2"; shift 2 ;;
      --out) [ -n "${2-}" ] || usage_error "--out needs a value"
             sweep="$2"; shift 2 ;;
      --rate) usage_error "--rate: a sweep takes --rates LIST" ;;
      --duration) usage_error "--duration: a sweep takes --durations LIST" ;;
      *) parse_pipeline_opt "$1" "${2-}"; run_args+=("$1" "$2"); shift 2 ;;
    esac
  done
  [ -n "$rates" ] || usage_error "sweep: --rates is required (e.g. --rates 2,5,10)"
  [ -z "$INGEST" ] ||
    usage_error "--ingest: a sweep sets rates; MQTT readings come at the devices' pace"
  check_pipeline_opts
  [ -n "$durations" ] || durations="$DURATION"
  ensure_built
  [ -n "$sweep" ] || sweep="$ROOT/results/sweep-$(date +%Y%m%d-%H%M%S)"
  sweep="$(abs_dir "$sweep")"
  # Each point is a whole `run`, which checks everything again; here a
  # slip is reported before the first point starts. The name is for the
  # messages and the report's title.
  local -A wf
  workflow_load wf "$WORKFLOW"
  workflow_settle wf
  # --cluster slurm: one allocation for every point (a new one requested
  # here is released at the end); each point's run is given it by job id.
  trap 'slurm_release' EXIT
  trap 'exit 130' INT TERM
  cluster_acquire "$sweep"
  if [ -n "$CLUSTER" ]; then
    local -a given=("${run_args[@]}")
    local i
    run_args=()
    for ((i = 0; i < ${#given[@]}; i += 2)); do
      [ "${given[i]}" = --cluster ] || run_args+=("${given[i]}" "${given[i + 1]}")
    done
    run_args+=(--cluster "slurm:job=$SL_JOB")
  fi
  check_against_workflow wf
  check_sweep_argv wf "$sweep" "$rates" "$durations"
  mkdir -p "$sweep"
  for d in ${durations//,/ }; do
    for r in ${rates//,/ }; do
      info "sweep: workflow $WORKFLOW at $r events/s for $d s"
      "$ROOT/eventide" run "${run_args[@]}" --rate "$r" --duration "$d" \
        --out "$sweep/rate-$r-dur-$d" >"$sweep/rate-$r-dur-$d.log" 2>&1 ||
        { tail -n 30 "$sweep/rate-$r-dur-$d.log" >&2
          die "sweep point rate $r duration $d failed (log: $sweep/rate-$r-dur-$d.log)"; }
      grep -E '^(events|latency ms|throughput|utilization) ' \
        "$sweep/rate-$r-dur-$d.log" | sed 's/^/    /' >&2 || true
    done
  done
  "$BIN/eventide-report" --sweep "$sweep" --title "Eventide sweep: workflow $WORKFLOW" ||
    die "cannot write the sweep report"
  # The paper's three tables, then where everything is.
  "$BIN/eventide-report" --tables "$sweep" || die "cannot print the sweep tables"
  echo
  echo "report:  $sweep/report.md"
  echo "figures: $sweep/latency.png $sweep/throughput.png $sweep/utilization.png (and .svg)"
}

# validate_scenarios QUICK: the queueing systems `validate` runs, one a
# line, "NAME SERVERS SERVICE RHO": M/M/1, M/M/2, M/M/4 (exponential 20 ms
# service) and M/D/1 (constant 20 ms), each at rho 0.5 and 0.8; QUICK=1:
# one server, four and the constant service, each once.
validate_scenarios() {
  if [ "$1" = 1 ]; then
    printf '%s\n' "mm1-rho0.5 1 exp:20ms 0.5" "mm4-rho0.8 4 exp:20ms 0.8" \
      "md1-rho0.5 1 const:20ms 0.5"
    return
  fi
  local rho
  for rho in 0.5 0.8; do
    printf '%s\n' "mm1-rho$rho 1 exp:20ms $rho" "mm2-rho$rho 2 exp:20ms $rho" \
      "mm4-rho$rho 4 exp:20ms $rho" "md1-rho$rho 1 const:20ms $rho"
  done
}

# validate_rate SERVERS RHO: the arrival rate (events/s) that offers RHO
# to SERVERS slots of a 20 ms mean service: rho c / 0.020.
validate_rate() {
  awk -v c="$1" -v rho="$2" 'BEGIN { printf "%g", rho * c / 0.020 }'
}

cmd_validate() {
  local quick=0 out="" duration="" name c service rho rate seed=0 rc=0
  local -a runs=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) help_validate; return 0 ;;
      --quick) quick=1; shift ;;
      --out) [ -n "${2-}" ] || usage_error "--out needs a value"
             out="$2"; shift 2 ;;
      --duration) is_number "${2-}" && awk -v d="$2" 'BEGIN { exit !(d > 0) }' ||
                    usage_error "--duration '${2-}': expected seconds above 0"
                  duration="$2"; shift 2 ;;
      *) usage_error "validate: unknown option '$1' (see ./eventide validate --help)" ;;
    esac
  done
  [ -n "$duration" ] || { [ "$quick" = 1 ] && duration=20 || duration=50; }
  ensure_built
  [ -n "$out" ] || out="$ROOT/results/validate-$(date +%Y%m%d-%H%M%S)"
  out="$(abs_dir "$out")"
  mkdir -p "$out"
  # Theory knows nothing of other work on the machine: say how busy it is.
  info "validate: load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" \
    "on $(nproc 2>/dev/null || echo '?') cores; close other work for a fair check"
  while read -r name c service rho; do
    seed=$((seed + 1))
    rate="$(validate_rate "$c" "$rho")"
    info "validate: $name: $c worker(s) x 1 slot, $service service, Poisson at $rate events/s for $duration s"
    # Built above: each run skips the build check (seconds of cmake).
    EVENTIDE_NO_BUILD=1 "$ROOT/eventide" run --workflow synthetic \
      --service "$service" --mode sleep \
      --slots 1 --workers "$c" --arrival poisson --rate "$rate" \
      --duration "$duration" --seed "$seed" --out "$out/$name" \
      >"$out/$name.log" 2>&1 ||
      { tail -n 30 "$out/$name.log" >&2
        die "validate: run $name failed (log: $out/$name.log)"; }
    runs+=(--validate "$out/$name")
  done < <(validate_scenarios "$quick")
  "$BIN/eventide-report" "${runs[@]}" --out "$out" || rc=$?
  [ -f "$out/validate.md" ] || die "validate: no validate.md in $out"
  # The table, then where it is and the verdict.
  grep -E '^\|' "$out/validate.md" || true
  echo
  echo "validate: $out/validate.md"
  echo "figure:   $out/validate.png (and .svg)"
  if [ "$rc" -eq 0 ]; then
    echo "verdict:  pass (theory inside every 95% interval)"
  else
    echo "verdict:  FAIL (theory outside an interval, or see the messages above)"
  fi
  return "$rc"
}

# cmd_sensors: eventide-sensors, which judges its own options (--help
# lists them): a NAB series published over MQTT as devices would.
cmd_sensors() {
  ensure_built
  exec "$BIN/eventide-sensors" "$@"
}

cmd_keys() {
  local dir=""
  local -a force=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) help_keys; return 0 ;;
      --force) force=(--force); shift ;;
      -*) usage_error "keys: unknown option '$1' (see ./eventide keys --help)" ;;
      *) [ -z "$dir" ] || usage_error "keys: one directory only, got '$dir' and '$1'"
         dir="$1"; shift ;;
    esac
  done
  [ -n "$dir" ] || dir="$STATE/keys"
  ensure_built
  mkdir -p "$(dirname "$dir")"
  "$BIN/eventide-keys" --dir "$dir" "${force[@]}" || exit 1
  echo "use them with: ./eventide run --curve $dir ...  (or up --curve $dir)"
}

cmd_demo() {
  [ "${1-}" = "-h" ] || [ "${1-}" = "--help" ] && { help_demo; return 0; }
  info "demo: the fraud workflow (preprocess -> XGBoost fraud model -> decide -> sink)"
  info "      at 2, 5 and 10 events/s, 30 s each: about two minutes"
  cmd_sweep --workflow fraud --rates 2,5,10 --durations 30 \
    --workers 1 --arrival poisson --seed 1 \
    --out "$ROOT/results/demo-$(date +%Y%m%d-%H%M%S)"
}
