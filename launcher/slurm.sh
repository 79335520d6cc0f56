# launcher/slurm.sh: one pipeline on a Slurm cluster (--cluster
# slurm[:OPTIONS]). Slurm is a placement like --hosts, through the same
# seams: the allocation's nodes become the hosts table (hosts.sh) and srun
# the command template, so every process is a job step on its node,
# started by host_start; a step is known as HOST:slurm/JOB.STEP
# (processes.sh), signalled with scancel and found alive with squeue.
# Per-step CPU time and max RSS come from sacct when Slurm keeps
# accounting, else from sstat samples taken before steps stop.
#
# Settings (options.sh keeps their defaults): CLUSTER (empty or slurm);
# SL_NODES, SL_PARTITION, SL_TIME, SL_ACCOUNT, SL_QOS, SL_WAIT (a new
# allocation's request); SL_JOB (the job whose nodes the pipeline runs on)
# and SL_OWNED (1: the launcher requested it and releases it at the end).
# A run records CLUSTER, SL_JOB and SL_OWNED in RUN/env.

# cluster_parse VALUE: the value of --cluster: slurm, or slurm:KEY=VALUE,...
# with nodes, partition, time, account, qos, wait (a new allocation) or
# job (an existing one). Exit 2 naming the flag on any slip.
cluster_parse() {
  local value="$1" opts item key val
  local -a items
  local -A seen=()
  case "$value" in
    slurm) opts="" ;;
    slurm:?*) opts="${value#slurm:}" ;;
    *) usage_error "--cluster '$value': expected slurm or slurm:OPTIONS (e.g. slurm:nodes=2,time=30)" ;;
  esac
  CLUSTER=slurm
  SL_NODES=""; SL_PARTITION=""; SL_TIME=""; SL_ACCOUNT=""; SL_QOS=""; SL_WAIT=""; SL_JOB=""
  [ -n "$opts" ] || return 0
  [[ "$opts" != *,  && "$opts" != ,* && "$opts" != *,,* ]] ||
    usage_error "--cluster '$value': an empty option between commas"
  IFS=',' read -r -a items <<<"$opts"
  for item in "${items[@]}"; do
    [[ "$item" =~ ^[a-z]+=.+$ ]] ||
      usage_error "--cluster '$value': '$item': expected KEY=VALUE"
    key="${item%%=*}"; val="${item#*=}"
    [ -z "${seen[$key]+x}" ] || usage_error "--cluster '$value': '$key' given twice"
    seen[$key]=1
    case "$key" in
      nodes)
        [[ "$val" =~ ^0*([0-9]{1,5})$ ]] && [ "$((10#${BASH_REMATCH[1]}))" -ge 1 ] ||
          usage_error "--cluster '$value': nodes '$val': expected a count from 1 to 99999"
        SL_NODES="$((10#${BASH_REMATCH[1]}))" ;;
      partition|account|qos)
        [[ "$val" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] ||
          usage_error "--cluster '$value': $key '$val': expected letters, digits, _ . - (at most 64)"
        case "$key" in
          partition) SL_PARTITION="$val" ;;
          account) SL_ACCOUNT="$val" ;;
          qos) SL_QOS="$val" ;;
        esac ;;
      time)
        [[ "$val" =~ ^([0-9]{1,3}-)?[0-9]{1,5}(:[0-9]{1,2}){0,2}$ ]] ||
          usage_error "--cluster '$value': time '$val': expected a Slurm time limit: MINUTES, HH:MM:SS or D-HH:MM:SS"
        SL_TIME="$val" ;;
      wait)
        [[ "$val" =~ ^0*([0-9]{1,5})$ ]] && [ "$((10#${BASH_REMATCH[1]}))" -ge 1 ] &&
          [ "$((10#${BASH_REMATCH[1]}))" -le 86400 ] ||
          usage_error "--cluster '$value': wait '$val': expected seconds from 1 to 86400"
        SL_WAIT="$((10#${BASH_REMATCH[1]}))" ;;
      job)
        [[ "$val" =~ ^[1-9][0-9]{0,9}$ ]] ||
          usage_error "--cluster '$value': job '$val': expected a Slurm job id"
        SL_JOB="$val" ;;
      *) usage_error "--cluster '$value': unknown option '$key' (nodes, partition, time, account, qos, wait, job)" ;;
    esac
  done
  if [ -n "$SL_JOB" ] && [ -n "$SL_NODES" ]; then
    usage_error "--cluster '$value': job= runs in an allocation, nodes= requests one: not both"
  fi
  if [ -z "$SL_NODES" ]; then
    for key in partition time account qos wait; do
      [ -z "${seen[$key]+x}" ] ||
        usage_error "--cluster '$value': $key= shapes a new allocation: it needs nodes=N"
    done
  fi
  return 0
}

# slurm_require: the Slurm client commands are here (exit 1 otherwise).
slurm_require() {
  local c
  for c in srun salloc squeue scontrol scancel sstat sacct; do
    command -v "$c" >/dev/null 2>&1 ||
      die "--cluster slurm: no '$c' command here (Debian package slurm-client)"
  done
}

# slurm_request: a new allocation (salloc --no-shell: no shell, the job
# holds the nodes until scancel) of SL_NODES whole nodes; SL_JOB its id,
# SL_OWNED=1. Whole nodes: the pipeline measures itself, and another
# job's load on its cores would be measured with it.
slurm_request() {
  local err rc=0 job pending
  local -a argv=(salloc --no-shell --job-name=eventide --nodes="$SL_NODES"
    --exclusive --immediate="${SL_WAIT:-120}")
  [ -n "$SL_PARTITION" ] && argv+=(--partition="$SL_PARTITION")
  [ -n "$SL_TIME" ] && argv+=(--time="$SL_TIME")
  [ -n "$SL_ACCOUNT" ] && argv+=(--account="$SL_ACCOUNT")
  [ -n "$SL_QOS" ] && argv+=(--qos="$SL_QOS")
  info "slurm: requesting $SL_NODES node(s): ${argv[*]}"
  # Not nested in the allocation this shell may be in: a job of its own.
  err="$(env -u SLURM_JOB_ID -u SLURM_JOBID "${argv[@]}" 2>&1 </dev/null)" || rc=$?
  job="$(sed -n 's/^salloc: Granted job allocation \([1-9][0-9]\{0,9\}\)$/\1/;T;p;q' <<<"$err")"
  if [ "$rc" -ne 0 ] || [ -z "$job" ]; then
    # A request that timed out may still be queued.
    pending="$(sed -n 's/^salloc: Pending job allocation \([1-9][0-9]\{0,9\}\)$/\1/;T;p;q' <<<"$err")"
    for job in $job $pending; do timeout 30 scancel "$job" >/dev/null 2>&1 || true; done
    die "slurm: no allocation of $SL_NODES node(s) (salloc exit $rc): $(grep -m 1 'error' <<<"$err" || tail -n 1 <<<"$err")"
  fi
  SL_JOB="$job"; SL_OWNED=1
  info "slurm: job $SL_JOB allocated (released when this command ends; after up, by down)"
}

# slurm_release: scancel the allocation the launcher requested (SL_OWNED);
# an allocation it was given stays. Once: SL_OWNED is 0 afterwards.
slurm_release() {
  [ "${SL_OWNED:-0}" = 1 ] && [ -n "${SL_JOB:-}" ] || return 0
  SL_OWNED=0
  if timeout 30 scancel "$SL_JOB" >/dev/null 2>&1; then
    info "slurm: allocation $SL_JOB released"
  else
    info "slurm: could not release allocation $SL_JOB (scancel $SL_JOB by hand)"
  fi
}

# slurm_node_list JOB: the nodes of the running job JOB, one a line, in
# Slurm's order (the first one runs the broker and the collector).
slurm_node_list() {
  local job="$1" out state list tries=0
  while :; do
    out="$(timeout 30 squeue -h -j "$job" -o '%T %N' 2>&1)" ||
      die "slurm: cannot query job $job: $(head -n 1 <<<"$out")"
    read -r state list <<<"$(head -n 1 <<<"$out")"
    # Nodes being booted (a cloud partition): wait up to a minute.
    [ "$state" = CONFIGURING ] && [ "$tries" -lt 600 ] || break
    tries=$((tries + 1))
    sleep 0.1
  done
  [ -n "$state" ] || die "slurm: job $job is not in the queue (ended?)"
  [ "$state" = RUNNING ] || die "slurm: job $job is ${state}, not RUNNING"
  [[ "$list" =~ ^[][A-Za-z0-9_.,-]{1,4096}$ ]] ||
    die "slurm: job $job: unexpected node list '$list'"
  out="$(timeout 30 scontrol show hostnames "$list" 2>&1)" ||
    die "slurm: cannot expand node list '$list': $(head -n 1 <<<"$out")"
  printf '%s\n' "$out"
}

# slurm_node_addr NODE: NODE's IPv4 address: its NodeAddr, resolved when
# it is a name.
slurm_node_addr() {
  local node="$1" out addr
  out="$(timeout 30 scontrol show node "$node" 2>&1)" ||
    die "slurm: cannot query node $node: $(head -n 1 <<<"$out")"
  addr="$(sed -n 's/^.*[[:space:]]NodeAddr=\([^[:space:]]*\).*$/\1/;T;p;q' <<<"$out")"
  [ -n "$addr" ] || die "slurm: node $node: scontrol names no NodeAddr"
  if ! is_ipv4 "$addr"; then
    [[ "$addr" =~ ^[A-Za-z0-9_.-]{1,253}$ ]] ||
      die "slurm: node $node: unexpected NodeAddr '$addr'"
    addr="$(getent ahostsv4 "$addr" 2>/dev/null | awk 'NR == 1 { print $1 }')"
    is_ipv4 "$addr" || die "slurm: node $node: no IPv4 address for NodeAddr '$addr'"
  fi
  echo "$addr"
}

# slurm_hosts FILE: a hosts file (hosts.sh) for the job's nodes: the first
# runs the broker, the collector and the producer, and every node runs
# workers (--workers split round-robin, first node first).
slurm_hosts() {
  local file="$1" node roles="broker collector producer workers" all addr
  local -a nodes lines=()
  # (Into variables first: a failure in a command substitution inside
  # another command would not end the launcher.)
  all="$(slurm_node_list "$SL_JOB")"
  mapfile -t nodes <<<"$all"
  [ -n "$all" ] || die "slurm: job $SL_JOB has no nodes"
  for node in "${nodes[@]}"; do
    [[ "$node" =~ ^[A-Za-z][A-Za-z0-9_.-]{0,31}$ ]] ||
      die "slurm: node name '$node': eventide takes a letter, then letters, digits, _ . - (at most 32)"
    addr="$(slurm_node_addr "$node")"
    lines+=("$node $addr $roles")
    roles=workers
  done
  {
    echo "# Slurm job $SL_JOB, written by eventide"
    printf '%s\n' "${lines[@]}"
  } >"$file"
}

# slurm_template JOB: the command template (--host-cmd) of a job step on
# {host}, named {name}: one task, sharing the node's cores with the
# pipeline's other steps (--overlap: a new worker never waits for a core
# to free up) and allowed all the cores the job has there (--whole).
slurm_template() {
  echo "srun --jobid=$1 --overlap --whole --nodes=1 --ntasks=1 --nodelist={host} --job-name={name} --quiet"
}

# cluster_acquire OUT: under --cluster slurm, the allocation (the one in
# this shell's environment or job=, or a new one for nodes=), its nodes as
# the hosts file OUT/slurm.hosts (HOSTS_FILE) and srun as the template
# (HOST_CMD). The caller releases a new allocation (slurm_release) however
# it ends.
cluster_acquire() {
  local out="$1"
  [ "${CLUSTER:-}" = slurm ] || return 0
  slurm_require
  if [ -n "$SL_NODES" ]; then
    slurm_request
  elif [ -z "$SL_JOB" ]; then
    SL_JOB="${SLURM_JOB_ID:-${SLURM_JOBID:-}}"
    [ -n "$SL_JOB" ] ||
      usage_error "--cluster slurm: not inside a Slurm allocation (no SLURM_JOB_ID): run under salloc or sbatch, name one with slurm:job=ID, or request one with slurm:nodes=N"
    [[ "$SL_JOB" =~ ^[1-9][0-9]{0,9}$ ]] || die "SLURM_JOB_ID '$SL_JOB': expected a job id"
  fi
  mkdir -p "$out"
  slurm_hosts "$out/slurm.hosts"
  HOSTS_FILE="$out/slurm.hosts"
  HOST_CMD="$(slurm_template "$SL_JOB")"
}

# ---- steps ------------------------------------------------------------------

# slurm_step_alive STEP: the step JOB.STEP is in the queue (any state).
# When Slurm cannot be asked it is taken as alive: a stop then ends with
# scancel rather than forgetting a step that still runs.
slurm_step_alive() {
  local out rc=0
  out="$(timeout 30 squeue -h --steps="$1" -O StepState 2>&1)" || rc=$?
  if [ "$rc" -ne 0 ]; then
    # The whole job is gone: so is the step.
    [[ "$out" == *"Invalid job id"* ]] && return 1
    return 0
  fi
  [ -n "${out//[[:space:]]/}" ]
}

# slurm_step_signal SIGNAL STEP: scancel the step (KILL) or send it SIGNAL.
# Slurm 22.05's scancel exits 225 ("Kill job error ... Invalid job id")
# for a step even when the signal was delivered, so its status says
# nothing: the callers look at the step afterwards (slurm_step_alive).
slurm_step_signal() {
  if [ "$1" = KILL ]; then
    timeout 30 scancel --quiet "$2" >/dev/null 2>&1 || true
  else
    timeout 30 scancel --quiet --signal="$1" "$2" >/dev/null 2>&1 || true
  fi
  return 0
}

# slurm_step_states OUT: into the associative array OUT, the state of each
# step of SL_JOB in the queue (RUNNING, ...), by JOB.STEP; 1 (OUT empty)
# when Slurm cannot be asked.
slurm_step_states() {
  local -n slurm_step_states_out="$1"
  local out step state
  slurm_step_states_out=()
  out="$(timeout 30 squeue -h --steps -j "$SL_JOB" -O 'StepId:|,StepState:|' 2>/dev/null)" || return 1
  while IFS='|' read -r step state _; do
    [[ "$step" =~ ^[0-9]{1,10}\.[0-9]{1,10}$ && "$state" =~ ^[A-Z_]{1,32}$ ]] &&
      slurm_step_states_out[$step]="$state"
  done <<<"$out"
  return 0
}

# slurm_record RUN NAME HOST PID STEP: the ledger RUN/slurm-steps (one
# line per step the pipeline started, "NAME STEP HOST PID"), kept after
# the step ends for the accounting.
slurm_record() {
  echo "$2 $5 $3 $4" >>"$1/slurm-steps"
}

# ---- accounting -----------------------------------------------------------

# slurm_seconds TIME: a Slurm duration ([D-]HH:MM:SS, MM:SS.mmm) in seconds
# with three decimals; 1 when TIME is not one. (No {m,n} in the awk
# patterns: Debian's mawk has none.)
slurm_seconds() {
  awk -v t="$1" 'BEGIN {
    if (t !~ /^([0-9]+-)?[0-9]+:[0-9]+(:[0-9]+)?([.][0-9]+)?$/) exit 1
    d = 0
    if (index(t, "-")) { d = substr(t, 1, index(t, "-") - 1); t = substr(t, index(t, "-") + 1) }
    n = split(t, p, ":")
    s = p[n] + 60 * p[n - 1] + (n == 3 ? 3600 * p[1] : 0)
    printf "%.3f\n", s + 86400 * d }'
}

# slurm_kib SIZE: a Slurm size (1684K, 12M, 1.5G, bytes without a suffix)
# in KiB; 1 when SIZE is not one.
slurm_kib() {
  awk -v v="$1" 'BEGIN {
    if (v !~ /^[0-9]+([.][0-9]+)?[KMGTP]?$/) exit 1
    u = substr(v, length(v)); m = 1 / 1024
    if (u ~ /[KMGTP]/) {
      m = (u == "K") ? 1 : (u == "M") ? 1024 : (u == "G") ? 1048576 : (u == "T") ? 1073741824 : 1099511627776
      v = substr(v, 1, length(v) - 1)
    }
    printf "%d\n", v * m + 0.5 }'
}

# slurm_usage_line LINE: "STEP CPU_S MAX_RSS_KIB" from a line of sstat or
# sacct (--parsable2: JOBID|TOTALCPU|MAXRSS[|...]), or nothing when it is
# not a step's with both figures.
slurm_usage_line() {
  local step cpu rss secs kib
  IFS='|' read -r step cpu rss _ <<<"$1"
  [[ "$step" =~ ^[0-9]{1,10}\.[0-9]{1,10}$ ]] || return 0
  # sstat's total is a TRES list (cpu=00:00:01,mem=...); sacct's a time.
  [[ "$cpu" == *cpu=* ]] && { cpu="${cpu#*cpu=}"; cpu="${cpu%%,*}"; }
  secs="$(slurm_seconds "$cpu")" || return 0
  kib="$(slurm_kib "$rss")" || return 0
  echo "$step $secs $kib"
}

# slurm_sample RUN: one sstat of every running step of the job, the last
# sample of each kept in RUN/slurm-usage/STEP ("CPU_S MAX_RSS_KIB TIME").
# Taken before steps are stopped: sstat sees running steps only. Where
# sstat fails, its message goes to RUN/slurm-sstat.err.
slurm_sample() {
  local run="$1" out line step cpu kib
  [ "${CLUSTER:-}" = slurm ] && [ -n "${SL_JOB:-}" ] || return 0
  out="$(timeout 30 sstat --allsteps -j "$SL_JOB" --parsable2 --noheader \
           --format=JobID,TRESUsageInTot,MaxRSS 2>&1)" ||
    { head -n 1 <<<"$out" >"$run/slurm-sstat.err"; return 0; }
  mkdir -p "$run/slurm-usage"
  while IFS= read -r line; do
    read -r step cpu kib <<<"$(slurm_usage_line "$line")"
    [ -n "$step" ] || continue
    echo "$cpu $kib $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$run/slurm-usage/$step"
  done <<<"$out"
}

# slurm_accounting RUN OUT: the section "slurm" of OUT/summary.json (or
# OUT/slurm.json when there is no summary): the job, its nodes and each
# step the pipeline started with its node, pid and, where Slurm has them,
# CPU time and max RSS: from sacct (final figures) when Slurm keeps
# accounting, else the last sstat sample before the step stopped, else
# none and why (per step: "from"). Says on stderr which it was.
slurm_accounting() {
  local run="$1" out="$2" sacct rc=0 source note line name step node pid
  local cpu kib at from steps="" h node_json=""
  local -A final=()
  [ "${CLUSTER:-}" = slurm ] && [ -n "${SL_JOB:-}" ] || return 0
  sacct="$(timeout 30 sacct -j "$SL_JOB" --parsable2 --noheader \
             --format=JobID,TotalCPU,MaxRSS 2>&1)" || rc=$?
  if [ "$rc" -eq 0 ]; then
    while IFS= read -r line; do
      read -r step cpu kib <<<"$(slurm_usage_line "$line")"
      [ -n "$step" ] && final[$step]="$cpu $kib"
    done <<<"$sacct"
  fi
  if [ "${#final[@]}" -gt 0 ]; then
    source=sacct
    note="sacct: final figures from Slurm's accounting"
  elif [ -d "$run/slurm-usage" ]; then
    source=sstat
    note="sstat: the last sample before each step stopped (its CPU time after that is not counted); sacct has no figures: $(head -n 1 <<<"$sacct")"
  else
    source=none
    note="no figures: sacct: $(head -n 1 <<<"$sacct"); sstat: $(cat "$run/slurm-sstat.err" 2>/dev/null || echo 'no sample')"
  fi
  if [ -f "$run/slurm-steps" ]; then
    while read -r name step node pid; do
      [[ "$name" =~ ^[A-Za-z0-9_.-]+$ && "$step" =~ ^[0-9]+\.[0-9]+$ &&
         "$node" =~ ^[A-Za-z0-9_.-]+$ && "$pid" =~ ^[0-9]+$ ]] || continue
      # Each step's own source: slurmdbd may not have a step that just
      # ended yet, while its last sample is at hand.
      cpu=null; kib=null; at=null; from=null
      if [ -n "${final[$step]-}" ]; then
        read -r cpu kib <<<"${final[$step]}"
        from='"sacct"'
      elif [ -f "$run/slurm-usage/$step" ]; then
        read -r cpu kib at <"$run/slurm-usage/$step"
        [[ "$cpu" =~ ^[0-9]+\.[0-9]{3}$ && "$kib" =~ ^[0-9]+$ &&
           "$at" =~ ^[0-9T:Z-]+$ ]] || { cpu=null; kib=null; at=null; }
        [ "$at" = null ] || { at="\"$at\""; from='"sstat"'; }
      fi
      steps+="${steps:+,}{\"name\":\"$name\",\"step\":\"$step\",\"node\":\"$node\",\"pid\":$pid,\"cpu_s\":$cpu,\"max_rss_kib\":$kib,\"from\":$from,\"sampled_at\":$at}"
    done <"$run/slurm-steps"
  fi
  for h in "${HOST_NAMES[@]}"; do
    node_json+="${node_json:+,}{\"name\":\"$h\",\"address\":\"${HOST_ADDR[$h]}\"}"
  done
  local section dest="$out/summary.json"
  section="{\"job\":\"$SL_JOB\",\"allocated_by_eventide\":$([ "${SL_OWNED:-0}" = 1 ] && echo true || echo false),\"nodes\":[$node_json],\"accounting\":\"$source\",\"steps\":[$steps]}"
  if [ -f "$dest" ]; then
    if ! jq --argjson s "$section" --arg note "$note" \
           '.slurm = ($s + {accounting_note: $note})' "$dest" >"$dest.tmp" ||
       ! mv "$dest.tmp" "$dest"; then
      rm -f "$dest.tmp"
      info "slurm: could not add the steps to $dest"
      return 0
    fi
  else
    jq -n --argjson s "$section" --arg note "$note" '$s + {accounting_note: $note}' \
      >"$out/slurm.json" || { info "slurm: could not write $out/slurm.json"; return 0; }
  fi
  case "$source" in
    sacct) info "slurm: per-step CPU time and max RSS from sacct (summary.json: slurm.steps)" ;;
    sstat) info "slurm: per-step CPU time and max RSS from sstat samples taken before each step stopped; sacct has none (is slurmdbd configured?)" ;;
    none) info "slurm: no per-step CPU time or max RSS: Slurm keeps no accounting here ($note)" ;;
  esac
}
