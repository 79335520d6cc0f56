# launcher/workflow.sh: the workflow as the launcher sees it. It is read
# once per command through `eventide-workflow` (common/workflow is the one
# reader of workflow files; the launcher never parses JSON) into an
# associative array, the workflow table, which the functions here read.
#
# A table is passed by its name: `local -A wf; workflow_load wf fraud "$OUT"`
# and then `wf_functions wf`. Its keys are eventide-workflow's lines (name,
# path, functions, stages, producer.KEY, function.F.slots,
# function.F.io_delay, function.F.option.KEY, stage.N.timeout_ms,
# stage.N.retries). The processes read their own settings from the
# file; the launcher reads only what it uses itself.

# workflow_load TABLE NAME|FILE [OUT]: fill TABLE with the workflow NAME
# (workflows/NAME.json, or under $EVENTIDE_WORKFLOWS) or FILE, {out} in
# option values replaced by the results directory OUT. An existing file
# wins over a name and is made absolute (the processes run from the source
# tree). Needs the build; a bad workflow is a usage error naming
# --workflow (exit 2).
workflow_load() {
  local what="$2" out="${3-}" arg="$2" text err errfile rc=0
  local -a extra=()
  [ -f "$what" ] && arg="$(abs_path "$what")"
  [ -n "$out" ] && extra=(--out "$out")
  errfile="$(mktemp)"
  text="$("$BIN/eventide-workflow" --workflow "$arg" "${extra[@]}" 2>"$errfile")" ||
    rc=$?
  err="$(cat "$errfile")"
  rm -f "$errfile"
  case "$rc" in
    0) ;;
    2) usage_error "${err#eventide-workflow: }" ;;
    *) die "cannot read workflow '$what' ($BIN/eventide-workflow exited $rc): $err" ;;
  esac
  workflow_parse "$1" <<<"$text"
}

# azure_workflow_prepare OUT: with --arrival azure2019:DIR or
# azure2021:FILE and no --workflow, the replay's own workflow: the
# producer reads the trace with the run's --minutes and --functions and
# writes OUT/azure-workflow.json (one single-stage route per trace
# function, each run by synthetic with its percentile table), which
# becomes WORKFLOW. The producer then gets it too and names each event's
# route (producer_argv). A bad trace is a usage error (exit 2).
azure_workflow_prepare() {
  local out="$1" err rc=0
  case "$ARRIVAL" in azure2019:*|azure2021:*) ;; *) return 0 ;; esac
  [ "$WORKFLOW_SET" -eq 0 ] || return 0
  local -a argv=("$BIN/eventide-producer" --arrival "${ARRIVAL%%:*}:$(abs_path "${ARRIVAL#*:}")"
    --seed "$SEED" --write-workflow "$out/azure-workflow.json" --log-level warn)
  [ -n "$MINUTES" ] && argv+=(--minutes "$MINUTES")
  [ -n "$FUNCTIONS" ] && argv+=(--functions "$FUNCTIONS")
  [ -n "$IAT" ] && argv+=(--iat "$IAT")
  [ -n "$SPEEDUP" ] && argv+=(--speedup "$SPEEDUP")
  mkdir -p "$out"
  err="$("${argv[@]}" 2>&1)" || rc=$?
  case "$rc" in
    0) WORKFLOW="$out/azure-workflow.json" ;;
    2) usage_error "${err#eventide-producer: }" ;;
    *) die "cannot write the replay's workflow: $err" ;;
  esac
}

# workflow_parse TABLE: fill TABLE from eventide-workflow's KEY=VALUE lines
# on stdin.
workflow_parse() {
  # An indexed array would take the keys as arithmetic: a caller's slip.
  [[ "$(declare -p "$1" 2>/dev/null)" == "declare -A"* ]] ||
    die "workflow_parse: '$1' is not an associative array (local -A $1)"
  local -n workflow_parse_t="$1"
  local line
  workflow_parse_t=()
  while IFS= read -r line; do
    [[ "$line" == *=* ]] || continue
    workflow_parse_t[${line%%=*}]="${line#*=}"
  done
  [ -n "${workflow_parse_t[name]-}" ] && [ -n "${workflow_parse_t[functions]-}" ] ||
    die "eventide-workflow printed no name= or functions= line"
}

# wf_get TABLE KEY [DEFAULT]: KEY's value, or DEFAULT (empty).
wf_get() {
  local -n wf_get_t="$1"
  printf '%s\n' "${wf_get_t[$2]-${3-}}"
}

# wf_functions TABLE: the distinct functions in stage order, on one line.
wf_functions() { wf_get "$1" functions; }

# wf_has_function TABLE FUNCTION: does a stage run FUNCTION?
wf_has_function() {
  local -n wf_has_function_t="$1"
  [[ " ${wf_has_function_t[functions]-} " == *" $2 "* ]]
}

# wf_producer TABLE KEY: the workflow's default for a producer option
# (source, labels, speedup), or nothing.
wf_producer() { wf_get "$1" "producer.$2"; }

# wf_option TABLE FUNCTION KEY: one option of FUNCTION, or nothing.
wf_option() { wf_get "$1" "function.$2.option.$3"; }

# wf_uses_redis TABLE: does an option of the workflow name the run's Redis
# ({redis}, the feature store)?
wf_uses_redis() {
  local -n wf_uses_redis_t="$1"
  local key
  for key in "${!wf_uses_redis_t[@]}"; do
    [[ "$key" == function.*.option.* && "${wf_uses_redis_t[$key]}" == *"{redis}"* ]] &&
      return 0
  done
  return 1
}

# ensure_model TABLE: train the fraud model on first use, where the fraud
# function's model option says (relative to the source tree), and again
# when it predates the streaming features (its metrics do not say
# "streaming"); a model trained with --streaming off is kept. The same for
# its shadow_model option, trained with --streaming off (raw features
# only) when it is missing.
ensure_model() {
  local model shadow
  wf_has_function "$1" fraud || return 0
  model="$(wf_option "$1" fraud model)"
  model="${model:-models/fraud.json}"
  case "$model" in /*) ;; *) model="$ROOT/$model" ;; esac
  if [ -f "$model" ]; then
    jq -e 'has("streaming")' "$model.metrics.json" >/dev/null 2>&1 ||
      { info "the model at $model predates the streaming features: training it again"
        train_model "$model"; }
  else
    info "no model at $model: training it (eventide-train, seeded, a few seconds)"
    train_model "$model"
  fi
  shadow="$(wf_option "$1" fraud shadow_model)"
  [ -n "$shadow" ] || return 0
  case "$shadow" in /*) ;; *) shadow="$ROOT/$shadow" ;; esac
  [ -f "$shadow" ] && return 0
  info "no shadow model at $shadow: training it on raw features only (eventide-train --streaming off)"
  train_model "$shadow" --streaming off
}

# train_model PATH [FLAGS...]: eventide-train --out PATH FLAGS.
train_model() {
  mkdir -p "$(dirname "$1")"
  "$BIN/eventide-train" --out "$@" >&2 || die "training the fraud model $1 failed"
}
