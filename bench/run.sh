#!/usr/bin/env bash
# bench/run.sh: Eventide's benchmarks, run on demand (never by the tests).
# baseline: raw libzmq relay (bench/relay_baseline.c); throughput: highest
# sustained noop rate; steady: a long run at a share of that rate, second
# by second; latency: noop at a light fixed rate; fidelity: M/M/c queue
# wait against Erlang C; fanout: the broker's CPU per event as the number
# of worker processes grows; metrics: what serving /metrics costs per
# event. Prints key=value lines, also kept in
# OUT/results.env, then a comparison against the design targets.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
EVENTIDE="$ROOT/eventide"
BIN="${EVENTIDE_BUILD:-$ROOT/build/release}/bin"
PROG="bench/run.sh"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

# Defaults (README.md explains each choice).
OUT=""
WORKERS=2          # throughput and latency: noop instances
SLOTS=64           # ... each with 64 slots: credits enough that the round
                   # trips they hide do not bound the rate (16 did: see README)
POINT_S=5          # seconds of load per throughput search point
START_RATE=1000    # first throughput point; doubled until one fails
MAX_RATE=1000000
MAX_P50_MS=20      # a point whose median latency exceeds this is not sustained
MAX_P99_MS=0       # optional p99 bound (0: none)
BISECT_PCT=5       # stop bisecting when the bracket is this tight
LAT_RATE=100
LAT_S=30
LAT_REPS=3         # latency runs; medians reported (placement varies)
FID_C="2,4"
FID_RHO=0.75
FID_SERVICE_MS=20
FID_S=120
FID_SEEDS=8
RAW_REPS=5         # baseline invocations, each a fresh set of processes
RAW_ARGS=(--runs 1 --messages 1000000 --rtt 20000)
SNAPSHOT=0
QUIET_PCT=15       # before each run, wait until the CPUs are this idle...
QUIET_WAIT=900     # ... but no longer than this (seconds), then go on
CPUS_ARGS=()       # --cpus ROLE=LIST ..., passed to every ./eventide run
STEADY_PCT=80      # steady: this share of the sustained rate...
STEADY_RATE=""     # ... unless a rate is given
STEADY_S=60
OVER_X=10               # overload: this many times the sustained rate...
OVER_RATE=""            # ... unless a rate is given
OVER_S=10
OVER_CAP=10000          # overload: the broker's --queue-cap (the launcher's default)
FAN_WORKERS="2,50,500"  # fanout: worker processes per point
FAN_SLOTS_TOTAL=128     # slots shared out among them (at most 64 each)
FAN_RATE=1000
FAN_SERVICE_MS=50       # const service, sleep mode: the broker's work, not the CPU's
FAN_S=20
MET_RATE=10000          # metrics: fixed noop rate of the on/off pairs
MET_PAIRS=5
MET_S=12

die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; exit 2; }
note() { echo "$PROG: $*" >&2; }

usage() {
  cat <<EOF
usage: bench/run.sh [PHASE...] [options]
PHASE: baseline throughput steady overload latency fidelity fanout metrics
       (default: all)
  --out DIR             run directories and results.env (default: a fresh
                        /tmp/eventide-bench.XXXXXX)
  --workers N           noop instances for throughput/latency (default $WORKERS)
  --slots N             slots per noop instance (default $SLOTS)
  --point-s S           seconds per throughput point (default $POINT_S)
  --start-rate EPS      first throughput point (default $START_RATE)
  --max-p50-ms MS       median latency bound for a sustained point (default $MAX_P50_MS)
  --max-p99-ms MS       p99 bound for a sustained point (default $MAX_P99_MS: none)
  --latency-rate EPS    light-load rate, constant arrivals (default $LAT_RATE)
  --latency-s S         light-load duration (default $LAT_S)
  --latency-reps N      light-load runs, medians reported (default $LAT_REPS)
  --raw-reps N          baseline invocations, medians reported (default $RAW_REPS)
  --fidelity-c LIST     servers per fidelity point (default $FID_C)
  --fidelity-rho R      target utilisation (default $FID_RHO)
  --fidelity-service-ms MS  mean of the exp service (default $FID_SERVICE_MS)
  --fidelity-s S        seconds per fidelity run (default $FID_S)
  --fidelity-seeds N    runs (seeds 1..N) per fidelity point (default $FID_SEEDS)
  --steady-pct P        steady: this % of the sustained rate the throughput
                        phase found in the same run (default $STEADY_PCT)
  --steady-rate EPS     steady: this rate instead (needed without throughput)
  --steady-s S          steady: seconds of load (default $STEADY_S)
  --overload-x X        overload: offer X times the sustained rate the
                        throughput phase found (default $OVER_X)
  --overload-rate EPS   overload: this rate instead, judged against it / X
  --overload-s S        overload: seconds of load (default $OVER_S)
  --fanout-workers LIST fanout: worker processes per point (default $FAN_WORKERS)
  --fanout-rate EPS     fanout: constant arrivals (default $FAN_RATE)
  --fanout-s S          fanout: seconds of load per point (default $FAN_S)
  --metrics-rate EPS    metrics: the noop rate of the on/off pairs (default $MET_RATE)
  --metrics-pairs N     metrics: pairs of runs, on and off (default $MET_PAIRS)
  --quiet-pct P         before each run wait until the machine's CPU use
                        (sampled over 2 s, niced work not counted) is below P%
                        (default $QUIET_PCT; 0: never wait)
  --quiet-wait S        wait at most S seconds for that, then run anyway
                        and say so (default $QUIET_WAIT)
  --cpus ROLE=LIST      pin a role's processes to cpus in every run (the
                        launcher's --cpus, e.g. producer=0; repeatable; not
                        the pinned latency run, which is all on cpu 0)
  --snapshot            copy the source tree into OUT/src, build and run
                        from there (immune to edits while it runs)
  --quick               short everything: a smoke test, not for RESULTS.md
  --help                this text
EOF
}

is_count() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
is_number() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v x="$1" 'BEGIN{exit !(x > 0)}'; }

parse_args() {
  PHASES=()
  while [ $# -gt 0 ]; do
    case "$1" in
      baseline|throughput|steady|overload|latency|fidelity|fanout|metrics) PHASES+=("$1"); shift; continue ;;
      -h|--help) usage; exit 0 ;;
      --snapshot) SNAPSHOT=1; shift; continue ;;
      --quick) POINT_S=2; LAT_S=5; LAT_REPS=1; FID_S=10; FID_SEEDS=1; RAW_REPS=2
               STEADY_S=10; FAN_WORKERS="2,20"; FAN_S=8; MET_PAIRS=1; MET_S=8
               RAW_ARGS=(--runs 1 --messages 200000 --rtt 5000)
               shift; continue ;;
    esac
    flag="$1"; value="${2-}"
    [ -n "$value" ] || usage_error "$flag needs a value (see --help)"
    case "$flag" in
      --out) OUT="$value" ;;
      --workers) is_count "$value" || usage_error "--workers '$value': expected a positive integer"; WORKERS="$value" ;;
      --slots) is_count "$value" || usage_error "--slots '$value': expected a positive integer"; SLOTS="$value" ;;
      --point-s) is_number "$value" || usage_error "--point-s '$value': expected seconds"; POINT_S="$value" ;;
      --start-rate) is_count "$value" || usage_error "--start-rate '$value': expected events per second"; START_RATE="$value" ;;
      --max-p50-ms) is_number "$value" || usage_error "--max-p50-ms '$value': expected milliseconds"; MAX_P50_MS="$value" ;;
      --max-p99-ms) [[ "$value" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage_error "--max-p99-ms '$value': expected milliseconds"; MAX_P99_MS="$value" ;;
      --latency-rate) is_number "$value" || usage_error "--latency-rate '$value': expected events per second"; LAT_RATE="$value" ;;
      --latency-s) is_number "$value" || usage_error "--latency-s '$value': expected seconds"; LAT_S="$value" ;;
      --latency-reps) is_count "$value" || usage_error "--latency-reps '$value': expected a positive integer"; LAT_REPS="$value" ;;
      --raw-reps) is_count "$value" || usage_error "--raw-reps '$value': expected a positive integer"; RAW_REPS="$value" ;;
      --fidelity-c) [[ "$value" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || usage_error "--fidelity-c '$value': expected a list like 2,4"; FID_C="$value" ;;
      --fidelity-rho) is_number "$value" && awk -v x="$value" 'BEGIN{exit !(x < 1)}' ||
                        usage_error "--fidelity-rho '$value': expected a number in (0, 1)"
                      FID_RHO="$value" ;;
      --fidelity-service-ms) is_number "$value" || usage_error "--fidelity-service-ms '$value': expected milliseconds"; FID_SERVICE_MS="$value" ;;
      --fidelity-s) is_number "$value" || usage_error "--fidelity-s '$value': expected seconds"; FID_S="$value" ;;
      --quiet-pct) [[ "$value" =~ ^[0-9]+$ ]] && [ "$value" -le 100 ] || usage_error "--quiet-pct '$value': expected 0..100"; QUIET_PCT="$value" ;;
      --quiet-wait) is_count "$value" || usage_error "--quiet-wait '$value': expected seconds"; QUIET_WAIT="$value" ;;
      --cpus) [[ "$value" != workers:* ]] ||
                usage_error "--cpus '$value': workers:FUNCTION does not fit every run (noop and synthetic workflows); use workers=LIST"
              CPUS_ARGS+=(--cpus "$value") ;;
      --steady-pct) [[ "$value" =~ ^[0-9]+$ ]] && [ "$value" -ge 1 ] && [ "$value" -le 100 ] ||
                      usage_error "--steady-pct '$value': expected 1..100"; STEADY_PCT="$value" ;;
      --steady-rate) is_count "$value" || usage_error "--steady-rate '$value': expected events per second"; STEADY_RATE="$value" ;;
      --steady-s) is_count "$value" && [ "$value" -ge 3 ] || usage_error "--steady-s '$value': expected seconds, at least 3"; STEADY_S="$value" ;;
      --overload-x) is_count "$value" && [ "$value" -ge 2 ] || usage_error "--overload-x '$value': expected an integer, at least 2"; OVER_X="$value" ;;
      --overload-rate) is_count "$value" || usage_error "--overload-rate '$value': expected events per second"; OVER_RATE="$value" ;;
      --overload-s) is_count "$value" && [ "$value" -ge 3 ] || usage_error "--overload-s '$value': expected seconds, at least 3"; OVER_S="$value" ;;
      --fanout-workers) [[ "$value" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || usage_error "--fanout-workers '$value': expected a list like 2,50,500"; FAN_WORKERS="$value" ;;
      --fanout-rate) is_count "$value" || usage_error "--fanout-rate '$value': expected events per second"; FAN_RATE="$value" ;;
      --metrics-rate) is_count "$value" || usage_error "--metrics-rate '$value': expected events per second"; MET_RATE="$value" ;;
      --metrics-pairs) is_count "$value" || usage_error "--metrics-pairs '$value': expected a positive integer"; MET_PAIRS="$value" ;;
      --fanout-s) is_count "$value" && [ "$value" -ge 4 ] || usage_error "--fanout-s '$value': expected seconds, at least 4"; FAN_S="$value" ;;
      --fidelity-seeds) is_count "$value" || usage_error "--fidelity-seeds '$value': expected a positive integer"; FID_SEEDS="$value" ;;
      *) usage_error "unknown option '$flag' (see --help)" ;;
    esac
    shift 2
  done
  [ ${#PHASES[@]} -gt 0 ] || PHASES=(baseline throughput steady overload latency fidelity fanout metrics)
  if [ -z "$OVER_RATE" ] && [[ " ${PHASES[*]} " == *" overload "* ]] &&
     [[ " ${PHASES[*]} " != *" throughput "* ]]; then
    usage_error "overload: run it with the throughput phase, or give --overload-rate EPS"
  fi
  # steady takes its rate from throughput unless given one.
  if [ -z "$STEADY_RATE" ] && [[ " ${PHASES[*]} " == *" steady "* ]] &&
     [[ " ${PHASES[*]} " != *" throughput "* ]]; then
    usage_error "steady: run it with the throughput phase, or give --steady-rate EPS"
  fi
}

# emit KEY VALUE: one machine-readable line, on stdout and in results.env.
emit() { echo "$1=$2" | tee -a "$RESULTS"; }
result() { grep -E "^$1=" "$RESULTS" | tail -n 1 | cut -d= -f2-; }

setup() {
  command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
  if [ -z "$OUT" ]; then OUT="$(mktemp -d /tmp/eventide-bench.XXXXXX)"; fi
  mkdir -p "$OUT/logs" || die "cannot create $OUT"
  OUT="$(cd "$OUT" && pwd)"
  RESULTS="$OUT/results.env"
  : >"$RESULTS"

  if [ "$SNAPSHOT" -eq 1 ]; then
    note "snapshot: copying $ROOT into $OUT/src"
    rm -rf "${OUT:?}/src" && mkdir -p "$OUT/src"
    local inside="./${OUT#"$ROOT"/}" # OUT itself, if it lies in the tree
    (cd "$ROOT" && tar --exclude=./build --exclude=./results --exclude=./.eventide \
       --exclude=./.git --exclude="$inside" -cf - .) | (cd "$OUT/src" && tar -xf -) || die "snapshot failed"
    ROOT="$OUT/src"; EVENTIDE="$ROOT/eventide"
    export EVENTIDE_BUILD="$ROOT/build/release"; BIN="$EVENTIDE_BUILD/bin"
  fi
  # Build only what the benchmarks run (the binaries the launcher starts and
  # the baseline), so a broken test target elsewhere does not stop them.
  local build="${BIN%/bin}" targets
  # The launcher's modules name them since it was split into launcher/.
  targets="$(cat "$EVENTIDE" "$ROOT"/launcher/*.sh | grep -o '\$BIN/eventide-[a-z-]*' |
    sed 's|.*/||' | sort -u | tr '\n' ' ')"
  [ -n "$targets" ] || die "no eventide-* binary named in $EVENTIDE or launcher/"
  note "building into $build: $targets eventide-bench-relay"
  {
    # Configure every time: a Makefile generated before a module was added
    # does not know its target.
    if [ -f "$build/CMakeCache.txt" ]; then cmake -S "$ROOT" -B "$build"
    else cmake -S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo; fi
    # shellcheck disable=SC2086
    cmake --build "$build" -j "$(nproc)" --target $targets eventide-bench-relay
  } >"$OUT/logs/build.log" 2>&1 || { tail -n 40 "$OUT/logs/build.log" >&2; die "build failed"; }
  # Every run below uses exactly these binaries, even if the tree changes.
  export EVENTIDE_NO_BUILD=1
  emit source_digest "$(cd "$ROOT" && find . -path ./build -prune -o -path ./.git -prune -o \
    -path ./results -prune -o -type f \( -name '*.c' -o -name '*.h' -o -name eventide -o \
    -name CMakeLists.txt \) -print | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"

  # machine description, for RESULTS.md
  emit machine_nproc "$(nproc)"
  emit machine_cpu "\"$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')\""
  emit machine_mem_kib "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
  emit machine_kernel "$(uname -r)"
  emit machine_debian "$(cat /etc/debian_version 2>/dev/null || echo unknown)"
  emit machine_libzmq "$(pkg-config --modversion libzmq 2>/dev/null || echo unknown)"
  emit machine_date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  # Other work on the machine skews every figure: keep the load with them.
  emit machine_loadavg_start "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
  check_cpus_args
}

# check_cpus_args: the launcher judges --cpus (syntax, roles, the cpus of
# this machine) before anything starts; asked here once, with a rate its
# preflight refuses, so a slip stops the benchmark before its first run
# and not in each. Records the pinning with the results.
check_cpus_args() {
  local err
  [ "${#CPUS_ARGS[@]}" -gt 0 ] || { emit cpus '""'; return 0; }
  err="$("$EVENTIDE" run --workflow noop "${CPUS_ARGS[@]}" --rate 0 \
           --out "$OUT/cpus-check" 2>&1 >/dev/null)" || true
  case "$err" in *"--cpus '"*) usage_error "${err#eventide: }" ;; esac
  rm -rf "${OUT:?}/cpus-check"
  emit cpus "\"${CPUS_ARGS[*]}\""
}

# cpu_busy_pct SECONDS: the whole machine's CPU use over SECONDS, from
# /proc/stat: busy = all but idle, iowait and nice (niced work, e.g. a
# fuzzer at nice 19, yields the CPU to the benchmark's processes).
cpu_busy_pct() {
  local a b
  a="$(head -n 1 /proc/stat)"; sleep "$1"; b="$(head -n 1 /proc/stat)"
  printf '%s\n%s\n' "$a" "$b" | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i
    tot[NR] = t; idle[NR] = $3 + $5 + $6 }
    END { dt = tot[2] - tot[1]; printf "%.0f", (dt > 0) ? 100 * (dt - (idle[2] - idle[1])) / dt : 0 }'
}

# wait_quiet NAME: other work on this 2-core machine changes every figure,
# so wait until it is idle; a run that could not wait is marked in the
# results (KEY noisy_NAME).
wait_quiet() {
  [ "$QUIET_PCT" -gt 0 ] || return 0
  local start=$SECONDS busy
  while :; do
    busy="$(cpu_busy_pct 2)"
    [ "$busy" -lt "$QUIET_PCT" ] && break
    if [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
      note "  machine still ${busy}% busy after ${QUIET_WAIT}s: running $1 anyway"
      emit "noisy_$1" "$busy"
      return 0
    fi
    sleep 5
  done
  [ $((SECONDS - start)) -gt 3 ] && note "  waited $((SECONDS - start))s for an idle machine before $1"
  return 0
}

# et_run NAME ARGS...: one ./eventide run into OUT/NAME; 0 if it produced a
# summary.json.
et_run() {
  local name="$1"; shift
  rm -rf "${OUT:?}/$name"
  wait_quiet "$name"
  "$EVENTIDE" run --out "$OUT/$name" --log-level warn "${CPUS_ARGS[@]}" "$@" \
    >"$OUT/logs/$name.log" 2>&1 &&
    [ -f "$OUT/$name/summary.json" ]
}

# ---- baseline ---------------------------------------------------------------

median() { # VALUES...: their median
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

joined() { local IFS=,; echo "$*"; }

# raw_value FILE KEY: one key=value from a baseline output
raw_value() { grep "^$2=" "$1" | cut -d= -f2; }

phase_baseline() {
  # Each invocation starts fresh processes, which the scheduler places
  # anew: on this VM a round trip between processes on different CPUs
  # costs about twice one within a CPU, so one invocation is not enough.
  note "baseline: raw libzmq relay, $RAW_REPS x ($BIN/eventide-bench-relay ${RAW_ARGS[*]})"
  local i f mps=() p50=() p99=() mean=()
  for i in $(seq 1 "$RAW_REPS"); do
    wait_quiet "baseline-$i"
    f="$OUT/logs/baseline-$i.out"
    "$BIN/eventide-bench-relay" "${RAW_ARGS[@]}" >"$f" 2>"$OUT/logs/baseline-$i.err" ||
      { cat "$OUT/logs/baseline-$i.err" >&2; die "baseline failed"; }
    mps+=("$(raw_value "$f" relay_throughput_mps)")
    p50+=("$(raw_value "$f" rtt_p50_us)")
    p99+=("$(raw_value "$f" rtt_p99_us)")
    mean+=("$(raw_value "$f" rtt_mean_us)")
  done
  emit raw_msg_bytes "$(raw_value "$f" msg_bytes)"
  emit raw_relay_messages "$(raw_value "$f" relay_messages)"
  emit raw_relay_window "$(raw_value "$f" relay_window)"
  emit raw_rtt_requests "$(raw_value "$f" rtt_requests)"
  emit raw_relay_throughput_mps "$(median "${mps[@]}")"
  emit raw_relay_throughput_mps_all "$(joined "${mps[@]}")"
  emit raw_rtt_p50_us "$(median "${p50[@]}")"
  emit raw_rtt_p50_us_all "$(joined "${p50[@]}")"
  emit raw_rtt_p99_us "$(median "${p99[@]}")"
  emit raw_rtt_p99_us_all "$(joined "${p99[@]}")"
  emit raw_rtt_mean_us "$(median "${mean[@]}")"
  # Everything on one CPU: no cross-CPU wake-ups, the best case.
  if command -v taskset >/dev/null; then
    wait_quiet baseline-pinned
    f="$OUT/logs/baseline-pinned.out"
    taskset -c 0 "$BIN/eventide-bench-relay" "${RAW_ARGS[@]}" >"$f" 2>"$OUT/logs/baseline-pinned.err" ||
      { cat "$OUT/logs/baseline-pinned.err" >&2; die "baseline (pinned) failed"; }
    emit raw_pinned_relay_throughput_mps "$(raw_value "$f" relay_throughput_mps)"
    emit raw_pinned_rtt_p50_us "$(raw_value "$f" rtt_p50_us)"
    emit raw_pinned_rtt_p99_us "$(raw_value "$f" rtt_p99_us)"
  fi
  # The same relay with no more in flight than Eventide's workers x slots:
  # what credit-based dispatch alone costs a raw relay.
  local w=$((WORKERS * SLOTS))
  wait_quiet baseline-credit
  f="$OUT/logs/baseline-w$w.out"
  "$BIN/eventide-bench-relay" --runs 3 --messages 200000 --window "$w" --rtt 1 --warmup 0 \
    >"$f" 2>"$OUT/logs/baseline-w$w.err" ||
    { cat "$OUT/logs/baseline-w$w.err" >&2; die "baseline (window $w) failed"; }
  emit raw_credit_window "$w"
  emit raw_credit_throughput_mps "$(raw_value "$f" relay_throughput_mps)"
}

# ---- throughput --------------------------------------------------------------

# point_ok RATE DURATION NAME: the run at RATE was sustained: nothing
# rejected, failed or lost, every event completed, the producer kept its
# schedule, completions kept pace and no backlog built up. The backlog test
# is on the median: a queue that grows through the run drags it up, while
# one 100 ms stall (which at 30000 ev/s delays more than 1% of the events)
# decides the p99 on its own.
point_ok() {
  local rate="$1" dur="$2" name="$3"
  et_run "$name" --workflow noop --workers "$WORKERS" --slots "$SLOTS" \
    --arrival constant --rate "$rate" --duration "$dur" --seed 1 || return 1
  jq -e --argjson r "$rate" --argjson d "$dur" --argjson p50 "$MAX_P50_MS" \
    --argjson p99 "$MAX_P99_MS" '
    .events.rejected == 0 and .events.lost == 0 and .events.failed == 0
    and .events.completed == .events.sent and .events.sent >= 0.99 * $r * $d
    and .throughput_eps.mean >= 0.97 * $r and .latency_ms.p50 <= $p50
    and ($p99 == 0 or .latency_ms.p99 <= $p99)' \
    "$OUT/$name/summary.json" >/dev/null
}

point_line() { # NAME: the figures of one point, for the log
  jq -r '"sent \(.events.sent) rejected \(.events.rejected) lost \(.events.lost) thru \(.throughput_eps.mean|floor) p50 \(.latency_ms.p50)ms p99 \(.latency_ms.p99)ms"' \
    "$OUT/$1/summary.json" 2>/dev/null || echo "run failed (log: $OUT/logs/$1.log)"
}

phase_throughput() {
  note "throughput: noop, $WORKERS workers x $SLOTS slots, constant arrivals, ${POINT_S}s per point"
  local lo=0 hi=0 rate="$START_RATE" n=0 ok
  while [ "$rate" -le "$MAX_RATE" ]; do
    n=$((n + 1))
    if point_ok "$rate" "$POINT_S" "tput-$n-$rate"; then ok=pass; lo=$rate; else ok=fail; hi=$rate; fi
    note "  $rate ev/s: $ok ($(point_line "tput-$n-$rate"))"
    [ "$ok" = fail ] && break
    rate=$((rate * 2))
  done
  [ "$lo" -gt 0 ] || die "throughput: even $START_RATE ev/s is not sustained (try --start-rate)"
  [ "$hi" -gt 0 ] || die "throughput: still sustained at $MAX_RATE ev/s"
  while [ $(( (hi - lo) * 100 )) -gt $((lo * BISECT_PCT)) ]; do
    rate=$(( (lo + hi) / 2 ))
    n=$((n + 1))
    if point_ok "$rate" "$POINT_S" "tput-$n-$rate"; then ok=pass; lo=$rate; else ok=fail; hi=$rate; fi
    note "  $rate ev/s: $ok ($(point_line "tput-$n-$rate"))"
  done
  # Confirm with a run twice as long; step down 5% while it fails (a
  # short point can miss a stall that a longer run meets).
  local tries=0 confirm_s
  confirm_s=$(awk -v s="$POINT_S" 'BEGIN{print 2 * s}')
  while :; do
    n=$((n + 1))
    if point_ok "$lo" "$confirm_s" "tput-confirm-$lo"; then
      note "  confirm $lo ev/s for ${confirm_s}s: pass ($(point_line "tput-confirm-$lo"))"
      break
    fi
    note "  confirm $lo ev/s for ${confirm_s}s: fail ($(point_line "tput-confirm-$lo"))"
    tries=$((tries + 1))
    [ "$tries" -lt 10 ] || die "throughput: no confirmed rate down to $lo ev/s"
    lo=$((lo * 95 / 100))
  done
  local s="$OUT/tput-confirm-$lo/summary.json"
  emit et_tput_workers "$WORKERS"
  emit et_tput_slots "$SLOTS"
  emit et_tput_first_failing_eps "$hi"
  emit et_tput_sustained_eps "$lo"
  emit et_tput_confirm_s "$confirm_s"
  emit et_tput_measured_eps "$(jq '.throughput_eps.mean' "$s")"
  emit et_tput_p50_ms "$(jq '.latency_ms.p50' "$s")"
  emit et_tput_p99_ms "$(jq '.latency_ms.p99' "$s")"
  emit et_tput_cpu_pct "$(jq '.utilization_pct.cpu_lifetime' "$s")"
}

# judge_seconds CSV DURATION RATE: from a run's timeseries.csv, the whole
# clock seconds of the load (the first and the last are partial): the
# fewest completions in one, that second, how many seconds fell below 90%
# of RATE, and the series, comma-separated. Fails when there is none.
judge_seconds() {
  awk -F, -v d="$2" -v r="$3" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["second"] >= 1 && $col["second"] <= d - 1 {
      c = $col["completed"]; n++
      if (n == 1 || c < min) { min = c; min_s = $col["second"] }
      if (c < 0.9 * r) below++
      series = series (series == "" ? "" : ",") c
    }
    END { if (n == 0) exit 1; printf "%d %d %d %s\n", min, min_s, below + 0, series }' "$1"
}

# ---- steady -------------------------------------------------------------------

# A long run below the sustained rate, judged second by second: a short
# throughput point can pass with a stall that a minute meets (GC-like
# pauses, a timer's drift, a queue that creeps). The whole clock seconds
# of the load (the first and the last are partial) are each compared with
# the offered rate.
phase_steady() {
  local rate="$STEADY_RATE" sustained s
  if [ -z "$rate" ]; then
    sustained="$(result et_tput_sustained_eps || true)"
    [ -n "$sustained" ] || die "steady: no sustained rate yet (run throughput first, or --steady-rate EPS)"
    rate=$((sustained * STEADY_PCT / 100))
  fi
  note "steady: noop, $WORKERS workers x $SLOTS slots, constant $rate ev/s for ${STEADY_S}s"
  et_run steady --workflow noop --workers "$WORKERS" --slots "$SLOTS" \
    --arrival constant --rate "$rate" --duration "$STEADY_S" --seed 1 ||
    die "steady run failed (log: $OUT/logs/steady.log)"
  s="$OUT/steady/summary.json"
  note "  $(point_line steady)"
  local min min_s below series
  read -r min min_s below series < <(judge_seconds "$OUT/steady/timeseries.csv" "$STEADY_S" "$rate") ||
    die "steady: no whole second in $OUT/steady/timeseries.csv"
  emit et_steady_rate_eps "$rate"
  emit et_steady_s "$STEADY_S"
  emit et_steady_lost "$(jq .events.lost "$s")"
  emit et_steady_rejected "$(jq .events.rejected "$s")"
  emit et_steady_p50_ms "$(jq .latency_ms.p50 "$s")"
  emit et_steady_p99_ms "$(jq .latency_ms.p99 "$s")"
  emit et_steady_min_eps "$min"
  emit et_steady_min_second "$min_s"
  emit et_steady_min_pct "$(awk -v m="$min" -v r="$rate" 'BEGIN{printf "%.1f", m / r * 100}')"
  emit et_steady_seconds_below_90pct "$below"
  emit et_steady_completed_per_s "$series"
}

# ---- overload -----------------------------------------------------------------

# A burst far above what the pipeline serves (issue 17): completions must
# not collapse while the excess is refused (at the producer, after the
# broker's first queue_full), and the admitted events must not wait much
# longer than a full queue takes to drain. Judged on the whole clock
# seconds of the load against the sustained rate, and on the admitted
# (completed) events' p99 against queue cap / sustained rate + 1 s.
phase_overload() {
  local rate="$OVER_RATE" sustained s
  if [ -z "$rate" ]; then
    sustained="$(result et_tput_sustained_eps || true)"
    [ -n "$sustained" ] || die "overload: no sustained rate yet (run throughput first, or --overload-rate EPS)"
    rate=$((sustained * OVER_X))
  else
    sustained=$((rate / OVER_X))
  fi
  note "overload: noop, $WORKERS workers x $SLOTS slots, Poisson $rate ev/s (${OVER_X}x $sustained) for ${OVER_S}s, queue cap $OVER_CAP"
  et_run overload --workflow noop --workers "$WORKERS" --slots "$SLOTS" \
    --arrival poisson --rate "$rate" --duration "$OVER_S" --seed 1 \
    --queue-cap "$OVER_CAP" ||
    die "overload run failed (log: $OUT/logs/overload.log)"
  s="$OUT/overload/summary.json"
  note "  $(point_line overload)"
  local min min_s below series
  read -r min min_s below series < <(judge_seconds "$OUT/overload/timeseries.csv" "$OVER_S" "$sustained") ||
    die "overload: no whole second in $OUT/overload/timeseries.csv"
  emit ov_rate_eps "$rate"
  emit ov_sustained_eps "$sustained"
  emit ov_s "$OVER_S"
  emit ov_queue_cap "$OVER_CAP"
  emit ov_sent "$(jq .events.sent "$s")"
  emit ov_sent_pct "$(jq --argjson r "$rate" --argjson d "$OVER_S" '.events.sent / ($r * $d) * 100 | . * 10 | floor / 10' "$s")"
  emit ov_rejected "$(jq .events.rejected "$s")"
  emit ov_lost "$(jq .events.lost "$s")"
  emit ov_completed "$(jq .events.completed "$s")"
  emit ov_p50_ms "$(jq .latency_ms.p50 "$s")"
  emit ov_p99_ms "$(jq .latency_ms.p99 "$s")"
  emit ov_p99_bound_ms "$(awk -v c="$OVER_CAP" -v r="$sustained" 'BEGIN{printf "%.1f", c / r * 1000 + 1000}')"
  emit ov_min_completed_eps "$min"
  emit ov_min_second "$min_s"
  emit ov_min_pct "$(awk -v m="$min" -v r="$sustained" 'BEGIN{printf "%.1f", m / r * 100}')"
  emit ov_seconds_below_90pct "$below"
  emit ov_completed_per_s "$series"
}

# ---- latency ------------------------------------------------------------------

phase_latency() {
  note "latency: noop, $WORKERS workers x $SLOTS slots, constant $LAT_RATE ev/s for ${LAT_S}s, $LAT_REPS run(s)"
  local i s k v
  local -A all=()
  for i in $(seq 1 "$LAT_REPS"); do
    et_run "latency-$i" --workflow noop --workers "$WORKERS" --slots "$SLOTS" \
      --arrival constant --rate "$LAT_RATE" --duration "$LAT_S" --seed "$i" ||
      die "latency run failed (log: $OUT/logs/latency-$i.log)"
    s="$OUT/latency-$i/summary.json"
    jq -e '.events.lost == 0 and .events.rejected == 0 and .events.failed == 0' "$s" >/dev/null ||
      note "latency: WARNING: events lost, rejected or failed: $(jq -c .events "$s")"
    note "  run $i: $(point_line "latency-$i")"
    # producers.lag_mean_ms: how late the producer sent, on average; it is
    # part of the latency (measured from the intended send time).
    for k in events.completed events.lost latency_ms.mean latency_ms.p50 latency_ms.p90 \
             latency_ms.p99 latency_ms.max 'stages[0].queue_ms.p50' producers.lag_mean_ms; do
      v="$(jq ".$k // \"n/a\"" "$s")"
      all[$k]="${all[$k]:+${all[$k]},}$v"
    done
  done
  emit et_lat_rate_eps "$LAT_RATE"
  emit et_lat_runs "$LAT_REPS"
  emit et_lat_events "${all[events.completed]}"
  emit et_lat_lost "${all[events.lost]}"
  for k in latency_ms.mean:mean latency_ms.p50:p50 latency_ms.p90:p90 latency_ms.p99:p99 \
           latency_ms.max:max 'stages[0].queue_ms.p50:queue_p50' producers.lag_mean_ms:producer_lag_mean; do
    IFS=, read -r -a vs <<<"${all[${k%:*}]}"
    emit "et_lat_${k#*:}_ms" "$(median "${vs[@]}")"
    emit "et_lat_${k#*:}_ms_all" "${all[${k%:*}]}"
  done
  # The whole pipeline on one CPU, to compare with the pinned baseline
  # (without --cpus, which would place it otherwise).
  if command -v taskset >/dev/null; then
    wait_quiet latency-pinned
    rm -rf "${OUT:?}/latency-pinned"
    taskset -c 0 "$EVENTIDE" run --out "$OUT/latency-pinned" --log-level warn --workflow noop \
      --workers "$WORKERS" --slots "$SLOTS" --arrival constant --rate "$LAT_RATE" \
      --duration "$LAT_S" --seed 1 >"$OUT/logs/latency-pinned.log" 2>&1 ||
      die "pinned latency run failed (log: $OUT/logs/latency-pinned.log)"
    s="$OUT/latency-pinned/summary.json"
    note "  pinned to CPU 0: $(point_line latency-pinned)"
    emit et_lat_pinned_lost "$(jq .events.lost "$s")"
    emit et_lat_pinned_p50_ms "$(jq .latency_ms.p50 "$s")"
    emit et_lat_pinned_p99_ms "$(jq .latency_ms.p99 "$s")"
  fi
  # The raw relay paced as these runs are (one request every 1/rate), so
  # its processes sleep between requests as Eventide's do: the baseline's
  # back-to-back round trip never lets a CPU go idle, and on a VM waking
  # an idle CPU is most of a light-load hop's cost.
  local interval_us n f p50=() p99=()
  interval_us=$(awk -v r="$LAT_RATE" 'BEGIN{printf "%d", 1e6 / r}')
  n=$(awk -v r="$LAT_RATE" -v s="$LAT_S" 'BEGIN{n = int(r * s); print (n < 1000) ? n : 1000}')
  [ "$n" -ge 1 ] || n=1
  note "  raw relay paced at $LAT_RATE requests/s: $LAT_REPS x $n round trips"
  for i in $(seq 1 "$LAT_REPS"); do
    wait_quiet "latency-relay-$i"
    f="$OUT/logs/latency-relay-$i.out"
    "$BIN/eventide-bench-relay" --runs 1 --messages 1000 --warmup 50 --rtt "$n" \
      --rtt-interval-us "$interval_us" >"$f" 2>"$OUT/logs/latency-relay-$i.err" ||
      { cat "$OUT/logs/latency-relay-$i.err" >&2; die "paced relay failed"; }
    p50+=("$(raw_value "$f" rtt_p50_us)")
    p99+=("$(raw_value "$f" rtt_p99_us)")
  done
  emit raw_paced_interval_us "$interval_us"
  emit raw_paced_rtt_p50_us "$(median "${p50[@]}")"
  emit raw_paced_rtt_p50_us_all "$(joined "${p50[@]}")"
  emit raw_paced_rtt_p99_us "$(median "${p99[@]}")"
}

# ---- fidelity -------------------------------------------------------------------

# t quantile (0.975) for n-1 degrees of freedom, for a 95% interval.
t975() {
  awk -v n="$1" 'BEGIN { split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 2.131 2.120 2.110 2.101 2.093", t, " ")
    print (n - 1 >= 1 && n - 1 <= 19) ? t[n - 1] : 1.96 }'
}

# mean_ci95 VALUES...: "MEAN HALF_WIDTH" of a 95% t interval ("MEAN n/a"
# for one value).
mean_ci95() {
  local t
  t=$(t975 "$#")
  printf '%s\n' "$@" | awk -v t="$t" '{ x[NR] = $1; s += $1 } END {
    m = s / NR; v = 0; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2
    if (NR > 1) printf "%.4f %.4f", m, t * sqrt(v / (NR - 1) / NR)
    else printf "%.4f n/a", m }'
}

phase_fidelity() {
  local c seed rate name s pred meas_wq meas_s lam_eff pred_meas
  IFS=',' read -r -a cs <<<"$FID_C"
  for c in "${cs[@]}"; do
    # lambda = rho * c * mu
    rate=$(awk -v r="$FID_RHO" -v c="$c" -v s="$FID_SERVICE_MS" 'BEGIN{printf "%.4f", r * c * 1000 / s}')
    pred=$("$HERE/erlang_c.sh" "$c" "$rate" "$FID_SERVICE_MS")
    note "fidelity: c=$c, exp:${FID_SERVICE_MS}ms sleep, poisson $rate ev/s, ${FID_S}s x $FID_SEEDS seed(s); nominal $pred"
    local wqs=() preds=() diffs=()
    for seed in $(seq 1 "$FID_SEEDS"); do
      name="fid-c$c-seed$seed"
      et_run "$name" --workflow synthetic --workers "$c" --slots 1 \
        --service "exp:${FID_SERVICE_MS}ms" --mode sleep --arrival poisson \
        --rate "$rate" --duration "$FID_S" --seed "$seed" ||
        die "fidelity run $name failed (log: $OUT/logs/$name.log)"
      s="$OUT/$name/summary.json"
      meas_wq=$(jq '.stages[0].queue_ms.mean' "$s")
      meas_s=$(jq '.stages[0].service_ms.mean' "$s")
      # The run's own arrival rate and service mean: the prediction for the
      # load that was actually offered, apart from sampling noise.
      lam_eff=$(jq '.events.sent / .run.duration_s' "$s")
      pred_meas=$("$HERE/erlang_c.sh" "$c" "$lam_eff" "$meas_s" | sed 's/.*wq_ms=//') || pred_meas=inf
      note "  seed $seed: sent $(jq .events.sent "$s") lost $(jq .events.lost "$s"), service mean ${meas_s} ms, busy (lifetime) $(jq .utilization_pct.busy_lifetime "$s")%, busy over the load window $(jq '.bottleneck.busy * 100' "$s")%, W_q measured ${meas_wq} ms, Erlang C at the run's own lambda and E[S] ${pred_meas} ms"
      emit "fid_c${c}_seed${seed}_sent" "$(jq .events.sent "$s")"
      emit "fid_c${c}_seed${seed}_lost" "$(jq .events.lost "$s")"
      emit "fid_c${c}_seed${seed}_service_mean_ms" "$meas_s"
      emit "fid_c${c}_seed${seed}_busy_pct" "$(jq .utilization_pct.busy_lifetime "$s")"
      emit "fid_c${c}_seed${seed}_lambda_eps" "$lam_eff"
      emit "fid_c${c}_seed${seed}_wq_ms" "$meas_wq"
      emit "fid_c${c}_seed${seed}_wq_pred_own_ms" "$pred_meas"
      wqs+=("$meas_wq"); preds+=("$pred_meas")
      diffs+=("$(awk -v m="$meas_wq" -v p="$pred_meas" 'BEGIN{printf "%.4f", m - p}')")
    done
    emit "fid_c${c}_rate_eps" "$rate"
    emit "fid_c${c}_wq_pred_ms" "$(echo "$pred" | sed 's/.*wq_ms=//')"
    emit "fid_c${c}_erlang_c" "$(echo "$pred" | sed 's/.*erlang_c=//; s/ .*//')"
    # Mean over seeds, 95% t interval from the spread between seeds (each
    # run's mean is one sample: waits inside a run are correlated).
    local stats
    stats=$(mean_ci95 "${wqs[@]}")
    emit "fid_c${c}_wq_ms" "${stats% *}"
    emit "fid_c${c}_wq_ci95_ms" "${stats#* }"
    emit "fid_c${c}_wq_pred_own_ms" "$(printf '%s\n' "${preds[@]}" | awk '{s += $1} END {printf "%.4f", s / NR}')"
    emit "fid_c${c}_rel_err_pct" "$(awk -v m="${stats% *}" -v p="$(result "fid_c${c}_wq_pred_ms")" 'BEGIN{printf "%.1f", (m - p) / p * 100}')"
    emit "fid_c${c}_rel_err_own_pct" "$(awk -v m="${stats% *}" -v p="$(result "fid_c${c}_wq_pred_own_ms")" 'BEGIN{printf "%.1f", (m - p) / p * 100}')"
    # Paired by run: measured minus the run's own prediction cancels the
    # run-to-run spread of lambda and E[S].
    stats=$(mean_ci95 "${diffs[@]}")
    emit "fid_c${c}_diff_own_ms" "${stats% *}"
    emit "fid_c${c}_diff_own_ci95_ms" "${stats#* }"
  done
}

# ---- fanout -------------------------------------------------------------------

# fan_point N: one run with N sleep-mode worker processes at a fixed rate;
# the broker's CPU (all its threads, from schedstat) over the middle half
# of the load, per event completed in that interval, and the workers'.
fan_point() {
  local n="$1" slots name launcher pids broker a_ns b_ns c0 c1 w0 w1
  local -a workers
  slots=$(( (FAN_SLOTS_TOTAL + n - 1) / n )); [ "$slots" -le 64 ] || slots=64
  name="fanout-$n"
  rm -rf "${OUT:?}/$name"
  wait_quiet "$name"
  local started=$SECONDS
  "$EVENTIDE" run --out "$OUT/$name" --log-level warn "${CPUS_ARGS[@]}" --workflow synthetic \
    --service "const:${FAN_SERVICE_MS}ms" --mode sleep --workers "$n" --slots "$slots" \
    --arrival constant --rate "$FAN_RATE" --duration "$FAN_S" --seed 1 \
    >"$OUT/logs/$name.log" 2>&1 &
  launcher=$!
  if ! await_producer "$launcher" 900; then
    kill "$launcher" 2>/dev/null || true; wait "$launcher" || true
    die "fanout: $n workers: the run did not start (log: $OUT/logs/$name.log)"
  fi
  local ready_s=$((SECONDS - started))
  pids="$(run_pids "$launcher")"
  broker="$(echo "$pids" | awk -F: '$2 == "broker" { print $1; exit }')"
  [ -n "$broker" ] || die "fanout: no broker process found"
  sleep "$(awk -v s="$FAN_S" 'BEGIN{print s / 4}')"
  a_ns="$(date +%s%N)"; c0="$(cpu_ns "$broker")"
  mapfile -t workers < <(echo "$pids" | awk -F: '$2 == "worker" { print $1 }')
  w0="$(cpu_ns "${workers[@]}")"
  sleep "$(awk -v s="$FAN_S" 'BEGIN{print s / 2}')"
  b_ns="$(date +%s%N)"; c1="$(cpu_ns "$broker")"
  w1="$(cpu_ns "${workers[@]}")"
  wait "$launcher" || die "fanout: $n workers: the run failed (log: $OUT/logs/$name.log)"
  local s="$OUT/$name/summary.json" completed sent
  read -r completed sent < <(events_between "$OUT/$name" "$a_ns" "$b_ns")
  [ "$completed" -gt 0 ] || die "fanout: $n workers: nothing completed in the interval"
  note "  $n workers x $slots slots (ready after ${ready_s}s, $((SECONDS - started))s in all): $(point_line "$name")"
  emit "fan_w${n}_slots" "$slots"
  emit "fan_w${n}_wall_s" "$((SECONDS - started))"
  emit "fan_w${n}_interval_completed" "$completed"
  emit "fan_w${n}_broker_us_per_event" "$(awk -v c="$((c1 - c0))" -v n="$completed" 'BEGIN{printf "%.2f", c / 1000 / n}')"
  emit "fan_w${n}_broker_cpu_pct" "$(awk -v c="$((c1 - c0))" -v t="$((b_ns - a_ns))" 'BEGIN{printf "%.1f", c / t * 100}')"
  emit "fan_w${n}_workers_us_per_event" "$(awk -v c="$((w1 - w0))" -v n="$completed" 'BEGIN{printf "%.2f", c / 1000 / n}')"
  emit "fan_w${n}_lost" "$(jq .events.lost "$s")"
  emit "fan_w${n}_service_p50_ms" "$(jq '.stages[0].service_ms.p50' "$s")"
  emit "fan_w${n}_p50_ms" "$(jq .latency_ms.p50 "$s")"
  emit "fan_w${n}_p99_ms" "$(jq .latency_ms.p99 "$s")"
}

phase_fanout() {
  note "fanout: synthetic const:${FAN_SERVICE_MS}ms, sleep mode, constant $FAN_RATE ev/s for ${FAN_S}s, $FAN_WORKERS worker processes"
  local n
  for n in ${FAN_WORKERS//,/ }; do fan_point "$n"; done
}

# ---- metrics ------------------------------------------------------------------

# cpu_per_event NAME ARGS...: one noop run (ARGS added to it) in the
# background; over the middle half of its load, the CPU time of every
# process of the run (all threads, schedstat) per event completed then.
# Prints the figure (us).
cpu_per_event() {
  local name="$1" launcher a_ns b_ns c0 c1 completed sent
  shift
  local -a pids
  rm -rf "${OUT:?}/$name"
  wait_quiet "$name" >&2 # its noisy_ line must not join the printed figure
  "$EVENTIDE" run --out "$OUT/$name" --log-level warn "${CPUS_ARGS[@]}" --workflow noop \
    --workers "$WORKERS" --slots "$SLOTS" --arrival constant --rate "$MET_RATE" \
    --duration "$MET_S" --seed 1 "$@" >"$OUT/logs/$name.log" 2>&1 &
  launcher=$!
  if ! await_producer "$launcher" 120; then
    kill "$launcher" 2>/dev/null || true; wait "$launcher" || true
    die "metrics: $name: the run did not start (log: $OUT/logs/$name.log)"
  fi
  mapfile -t pids < <(run_pids "$launcher" | cut -d: -f1)
  sleep "$(awk -v s="$MET_S" 'BEGIN{print s / 4}')"
  a_ns="$(date +%s%N)"; c0="$(cpu_ns "${pids[@]}")"
  sleep "$(awk -v s="$MET_S" 'BEGIN{print s / 2}')"
  b_ns="$(date +%s%N)"; c1="$(cpu_ns "${pids[@]}")"
  wait "$launcher" || die "metrics: $name: the run failed (log: $OUT/logs/$name.log)"
  read -r completed sent < <(events_between "$OUT/$name" "$a_ns" "$b_ns")
  [ "$completed" -gt 0 ] || die "metrics: $name: nothing completed in the interval"
  jq -e '.events.lost == 0 and .events.rejected == 0' "$OUT/$name/summary.json" >/dev/null ||
    note "  $name: WARNING: $(point_line "$name")"
  awk -v c="$((c1 - c0))" -v n="$completed" 'BEGIN{printf "%.2f", c / 1000 / n}'
}

# What serving /metrics costs: pairs of the same noop run with the
# launcher's default --metrics (broker and collector serving, rendered once
# a second, scraped by nobody) and with --metrics off, alternating which
# goes first; the whole pipeline's CPU per event, medians and the median of
# the paired ratios. CPU per event, not a throughput search: at a fixed
# rate it is far less noisy, and the pipeline's throughput on a full
# machine is CPU over CPU per event.
phase_metrics() {
  note "metrics: noop, $WORKERS workers x $SLOTS slots, constant $MET_RATE ev/s for ${MET_S}s, $MET_PAIRS pairs on/off"
  local i on off on_all="" off_all="" ratios=()
  for i in $(seq 1 "$MET_PAIRS"); do
    if [ $((i % 2)) -eq 1 ]; then
      on="$(cpu_per_event "metrics-on-$i")"; off="$(cpu_per_event "metrics-off-$i" --metrics off)"
    else
      off="$(cpu_per_event "metrics-off-$i" --metrics off)"; on="$(cpu_per_event "metrics-on-$i")"
    fi
    note "  pair $i: on $on us/event, off $off us/event"
    on_all="${on_all:+$on_all,}$on"; off_all="${off_all:+$off_all,}$off"
    ratios+=("$(awk -v a="$on" -v b="$off" 'BEGIN{printf "%.4f", a / b}')")
  done
  IFS=, read -r -a ons <<<"$on_all"; IFS=, read -r -a offs <<<"$off_all"
  emit met_rate_eps "$MET_RATE"
  emit met_pairs "$MET_PAIRS"
  emit met_on_us_per_event_all "$on_all"
  emit met_off_us_per_event_all "$off_all"
  emit met_on_us_per_event "$(median "${ons[@]}")"
  emit met_off_us_per_event "$(median "${offs[@]}")"
  emit met_cost_pct "$(awk -v r="$(median "${ratios[@]}")" 'BEGIN{printf "%.1f", (r - 1) * 100}')"
}

# ---- comparison -----------------------------------------------------------------

compare() {
  local raw_mps raw_p50 et_eps et_p50 c m

  raw_mps="$(result raw_relay_throughput_mps || true)"
  raw_p50="$(result raw_rtt_p50_us || true)"
  et_eps="$(result et_tput_sustained_eps || true)"
  et_p50="$(result et_lat_p50_ms || true)"
  echo
  if [ -n "$raw_mps" ] && [ -n "$et_eps" ]; then
    emit ratio_throughput_pct "$(awk -v e="$et_eps" -v r="$raw_mps" 'BEGIN{printf "%.2f", e / r * 100}')"
    awk -v e="$et_eps" -v r="$raw_mps" 'BEGIN{p = e / r * 100
      printf "throughput: eventide %d ev/s / raw relay %d msg/s = %.2f%% (target >= 15%%: %s; design 25%%)\n", e, r, p, (p >= 15) ? "met" : "MISSED"}'
    # The same relay held to the throughput phase's credit window: what
    # share of what the window allows a raw relay the platform reaches.
    local w_raw w_et
    w_raw="$(result raw_credit_throughput_mps || true)"
    w_et=$(( $(result et_tput_workers || echo 0) * $(result et_tput_slots || echo 0) ))
    if [ -n "$w_raw" ] && [ "$(result raw_credit_window || true)" = "$w_et" ]; then
      emit ratio_throughput_window_pct "$(awk -v e="$et_eps" -v r="$w_raw" 'BEGIN{printf "%.2f", e / r * 100}')"
      echo "throughput at the same window ($w_et in flight): eventide $et_eps ev/s / raw relay $w_raw msg/s = $(result ratio_throughput_window_pct)%"
    fi
  fi
  if [ -n "$raw_p50" ] && [ -n "$et_p50" ]; then
    emit ratio_latency_p50 "$(awk -v e="$et_p50" -v r="$raw_p50" 'BEGIN{printf "%.2f", e * 1000 / r}')"
    awk -v e="$et_p50" -v r="$raw_p50" 'BEGIN{x = e * 1000 / r
      printf "latency p50: eventide %.1f us / raw RTT %.1f us = %.2fx (target <= 1.5x: %s)\n", e * 1000, r, x, (x <= 1.5) ? "met" : "MISSED"}'
  fi
  local paced_raw
  paced_raw="$(result raw_paced_rtt_p50_us || true)"
  if [ -n "$paced_raw" ] && [ -n "$et_p50" ]; then
    emit ratio_latency_p50_paced "$(awk -v e="$et_p50" -v r="$paced_raw" 'BEGIN{printf "%.2f", e * 1000 / r}')"
    echo "latency p50 against the raw relay paced at the same rate: eventide $(awk -v e="$et_p50" 'BEGIN{printf "%.1f", e * 1000}') us / raw RTT $paced_raw us = $(result ratio_latency_p50_paced)x"
  fi
  local pin_raw pin_et
  pin_raw="$(result raw_pinned_rtt_p50_us || true)"
  pin_et="$(result et_lat_pinned_p50_ms || true)"
  if [ -n "$pin_raw" ] && [ -n "$pin_et" ]; then
    emit ratio_latency_p50_pinned "$(awk -v e="$pin_et" -v r="$pin_raw" 'BEGIN{printf "%.2f", e * 1000 / r}')"
    echo "latency p50, all on one CPU: eventide $(awk -v e="$pin_et" 'BEGIN{printf "%.1f", e * 1000}') us / raw RTT $pin_raw us = $(result ratio_latency_p50_pinned)x"
  fi
  m="$(result et_steady_min_eps || true)"
  if [ -n "$m" ]; then
    echo "steady: $(result et_steady_rate_eps) ev/s for $(result et_steady_s)s: slowest whole second $m completed ($(result et_steady_min_pct)%, second $(result et_steady_min_second)), $(result et_steady_seconds_below_90pct) second(s) below 90% (target: none)"
  fi
  m="$(result ov_min_completed_eps || true)"
  if [ -n "$m" ]; then
    awk -v m="$m" -v pct="$(result ov_min_pct)" -v sec="$(result ov_min_second)" \
        -v rate="$(result ov_rate_eps)" -v sus="$(result ov_sustained_eps)" \
        -v p99="$(result ov_p99_ms)" -v bound="$(result ov_p99_bound_ms)" \
        -v lost="$(result ov_lost)" 'BEGIN{
      printf "overload: %d ev/s offered (%.0fx %d): slowest whole second %d completed (%s%% of %d, second %d; target >= 90%%: %s); admitted p99 %.1f ms (bound %s ms: %s); lost %d\n",
        rate, rate / sus, sus, m, pct, sus, sec, (pct >= 90) ? "met" : "MISSED", p99, bound, (p99 < bound) ? "met" : "MISSED", lost}'
  fi
  local first="" n v
  for n in ${FAN_WORKERS//,/ }; do
    v="$(result "fan_w${n}_broker_us_per_event" || true)"
    [ -n "$v" ] || continue
    [ -n "$first" ] || first="$v"
    echo "fanout: $n worker processes: broker $v us CPU per event ($(awk -v v="$v" -v f="$first" 'BEGIN{printf "%+.0f", (v / f - 1) * 100}')% against the first point; target within 20%), workers $(result "fan_w${n}_workers_us_per_event") us, p50 $(result "fan_w${n}_p50_ms") ms for a ${FAN_SERVICE_MS} ms service"
  done
  m="$(result met_cost_pct || true)"
  if [ -n "$m" ]; then
    echo "metrics: the pipeline's CPU per event with /metrics served $(result met_on_us_per_event) us, off $(result met_off_us_per_event) us: ${m}% (median of $(result met_pairs) paired ratios at $(result met_rate_eps) ev/s; target: at most 3%)"
  fi
  IFS=',' read -r -a cs <<<"$FID_C"
  for c in "${cs[@]}"; do
    m="$(result "fid_c${c}_wq_ms" || true)"
    [ -n "$m" ] || continue
    echo "fidelity c=$c: W_q measured $m ms (95% CI +-$(result "fid_c${c}_wq_ci95_ms")), Erlang C $(result "fid_c${c}_wq_pred_ms") ms nominal ($(result "fid_c${c}_rel_err_pct")%), $(result "fid_c${c}_wq_pred_own_ms") ms at the runs' own lambda, E[S] ($(result "fid_c${c}_rel_err_own_pct")%); paired measured - own prediction $(result "fid_c${c}_diff_own_ms") ms (95% CI +-$(result "fid_c${c}_diff_own_ci95_ms"))"
  done
  echo "results: $RESULTS (run directories in $OUT)"
}

main() {
  parse_args "$@"
  setup
  local phase
  for phase in "${PHASES[@]}"; do
    "phase_$phase"
    emit "machine_loadavg_after_$phase" "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
  done
  compare
}

# Everything above is definitions: bash has read the whole file before main
# runs, so editing this script during a long benchmark is safe.
main "$@"; exit
