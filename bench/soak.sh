#!/usr/bin/env bash
# bench/soak.sh: memory over a long steady load. Starts a pipeline with
# `./eventide up`, drives it with one long `./eventide produce`, samples
# every process's VmRSS and VmHWM from /proc every INTERVAL seconds, then
# `./eventide down` and prints per process the RSS after warm-up, at the
# end, the growth between them and the peak, plus the run's summary.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
EVENTIDE="$ROOT/eventide"
STATE="${EVENTIDE_STATE:-$ROOT/.eventide}"
PROG="bench/soak.sh"

MINUTES=10
RATE=""          # default: about half the workflow's capacity, see default_rate
WORKFLOW=fraud
WORKERS=""       # default: see default_workers
SLOTS=""         # default: the workflow's
SERVICE="exp:10ms"
ARRIVAL=poisson
SEED=1
INTERVAL=10      # seconds between samples
WARMUP=60        # growth is measured from the sample nearest this time
FLAT_KIB=1024    # growth after warm-up up to this is called flat
OUT=""
PLOT=1

die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; exit 2; }
note() { echo "$PROG: $*" >&2; }

usage() {
  cat <<EOF
usage: bench/soak.sh [options]
  --minutes M      minutes of steady load (default $MINUTES)
  --rate R         events/s (default: about half the pipeline's capacity:
                   fraud 47, synthetic 100; other workflows need --rate)
  --workflow W     workflow name or file (default $WORKFLOW)
  --workers SPEC   instances per function (default: fraud 1, synthetic 2)
  --slots N        slots per instance (default: the workflow's)
  --service DIST   synthetic service time (default $SERVICE)
  --arrival KIND   constant or poisson (default $ARRIVAL)
  --seed N         producer seed (default $SEED)
  --interval S     seconds between memory samples (default $INTERVAL)
  --warmup S       growth is measured from the sample nearest S seconds
                   (default $WARMUP)
  --flat-kib K     growth after warm-up up to K KiB is reported as flat
                   (default $FLAT_KIB)
  --out DIR        memory.csv, status.jsonl, logs and the run's results in
                   DIR/run (default: a fresh /tmp/eventide-soak.XXXXXX)
  --no-plot        do not draw DIR/memory.png
  --help           this text
Environment: EVENTIDE_BUILD, EVENTIDE_STATE, EVENTIDE_NO_BUILD are passed to
./eventide (use a private EVENTIDE_STATE to keep off other pipelines).
EOF
}

is_number() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v x="$1" 'BEGIN{exit !(x > 0)}'; }
is_count() { [[ "$1" =~ ^[0-9]+$ ]]; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) usage; exit 0 ;;
      --no-plot) PLOT=0; shift; continue ;;
      --minutes|--rate|--workflow|--workers|--slots|--service|--arrival|--seed|--interval|--warmup|--flat-kib|--out) ;;
      *) usage_error "unknown option '$1' (see --help)" ;;
    esac
    [ $# -ge 2 ] || usage_error "$1: expected a value"
    local v="$2"
    case "$1" in
      --minutes) is_number "$v" || usage_error "--minutes '$v': expected a positive number"; MINUTES="$v" ;;
      --rate) is_number "$v" || usage_error "--rate '$v': expected a positive number"; RATE="$v" ;;
      --workflow) [ -n "$v" ] || usage_error "--workflow '': expected a name or file"; WORKFLOW="$v" ;;
      --workers) [[ "$v" =~ ^[0-9A-Za-z_=,.-]+$ ]] || usage_error "--workers '$v': expected N or F=N,..."; WORKERS="$v" ;;
      --slots) [[ "$v" =~ ^[1-9][0-9]?$ ]] || usage_error "--slots '$v': expected 1..64"; SLOTS="$v" ;;
      --service) [ -n "$v" ] || usage_error "--service '': expected a distribution"; SERVICE="$v" ;;
      --arrival) [[ "$v" =~ ^(constant|poisson)$ ]] || usage_error "--arrival '$v': expected constant or poisson"; ARRIVAL="$v" ;;
      --seed) is_count "$v" || usage_error "--seed '$v': expected an integer"; SEED="$v" ;;
      --interval) is_number "$v" || usage_error "--interval '$v': expected a positive number of seconds"; INTERVAL="$v" ;;
      --warmup) is_count "$v" || usage_error "--warmup '$v': expected whole seconds"; WARMUP="$v" ;;
      --flat-kib) is_count "$v" || usage_error "--flat-kib '$v': expected an integer"; FLAT_KIB="$v" ;;
      --out) [ -n "$v" ] || usage_error "--out '': expected a directory"; OUT="$v" ;;
      *) usage_error "unknown option '$1' (see --help)" ;;
    esac
    shift 2
  done
  [ -n "$WORKERS" ] || WORKERS="$(default_workers)"
  [ -n "$RATE" ] || RATE="$(default_rate)"
  [ -n "$RATE" ] || usage_error "--rate: no default for workflow '$WORKFLOW'; give one"
}

# Half capacity. fraud, 1 instance of each function with 1 slot: the sink
# is the bottleneck at ~10.6 ms mean service (its modelled 10 ms delivery;
# the feature store and XGBoost take about 0.3 ms in fraud), ~94 ev/s, so
# 47. synthetic exp:10ms with 2 single-slot instances: 200 ev/s, so 100.
default_rate() {
  case "$WORKFLOW" in
    fraud) [ "$WORKERS" = 1 ] && echo 47 ;;
    synthetic) [ "$WORKERS" = 2 ] && [ "$SERVICE" = "exp:10ms" ] && echo 100 ;;
  esac
  return 0
}
default_workers() { case "$WORKFLOW" in synthetic) echo 2 ;; *) echo 1 ;; esac; }

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

# sleep_until T: sleep until the epoch time T (fractional).
sleep_until() {
  local d
  d="$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')"
  [ "$d" = "0.000" ] || sleep "$d"
}

# mem_of PID: "rss_kb hwm_kb", nothing if the process is gone.
mem_of() {
  awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r != "") print r, h }' \
    "/proc/$1/status" 2>/dev/null || true
}

producer_pid() {
  [ -n "${PJOB:-}" ] || return 0
  local p
  for p in $(pgrep -P "$PJOB" 2>/dev/null || true); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "eventide-produc" ] && { echo "$p"; return; }
  done
  return 0
}

# sample: one row per live process into memory.csv, the broker's stats
# into status.jsonl. Pids come from `./eventide status --json` (refreshed
# every sample, so a replaced worker is followed), plus the producer.
sample() {
  local st="" procs_txt procs=() name pid m t p
  if st="$("$EVENTIDE" status --json 2>>"$OUT/soak.log")" && procs_txt="$(
       jq -r '.processes[] | select(.state == "running") | "\(.name) \(.pid)"' <<<"$st")"; then
    LAST_PROCS="$procs_txt"
  else
    note "status --json failed at $(elapsed "$T0") s; using the previous pids" 2>>"$OUT/soak.log"
  fi
  mapfile -t procs <<<"$LAST_PROCS"
  pid="$(producer_pid)"
  [ -n "$pid" ] && procs+=("producer $pid")
  t="$(elapsed "$T0")"
  for p in "${procs[@]}"; do
    [ -n "$p" ] || continue
    read -r name pid <<<"$p"
    m="$(mem_of "$pid")"
    if [ -z "$m" ]; then
      echo "$t $name $pid gone" >>"$OUT/soak.log"; continue
    fi
    echo "$t,$name,$pid,${m/ /,}" >>"$OUT/memory.csv"
  done
  jq -c --argjson t "$t" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '{t: $t, loadavg: $load, broker: .broker}' <<<"${st:-null}" \
    >>"$OUT/status.jsonl" 2>/dev/null || true
}

# shellcheck disable=SC2317 # a trap handler
cleanup() {
  local rc=$?
  if [ -n "${PJOB:-}" ] && kill -0 "$PJOB" 2>/dev/null; then
    local pp; pp="$(producer_pid)"
    if [ -n "$pp" ]; then kill -TERM "$pp" 2>/dev/null || true; fi
    kill -TERM "$PJOB" 2>/dev/null || true
  fi
  # Only the pipeline this script started: `up` moved the state link.
  if [ "${UP_TRIED:-0}" = 1 ] && [ "${DOWN_DONE:-0}" = 0 ] &&
     [ "$(readlink "$STATE/current" 2>/dev/null || true)" != "${PREV_LINK:-}" ] &&
     [ -L "$STATE/current" ]; then
    note "stopping the pipeline (./eventide down)"
    "$EVENTIDE" down >>"$OUT/down.log" 2>&1 || true
  fi
  exit "$rc"
}

# report: per process RSS at warm-up, at the end, growth, peak, and the
# least-squares slope after warm-up; collector's by-design growth noted.
report() {
  local ev_warm ev_end
  ev_warm="$(jq -s --argjson w "$WARMUP" \
    '[.[] | select(.broker != null)] | min_by((.t - $w) | fabs) | .broker.accepted // 0' \
    "$OUT/status.jsonl" 2>/dev/null || echo 0)"
  ev_end="$(jq -s '[.[] | select(.broker != null)] | last | .broker.accepted // 0' \
    "$OUT/status.jsonl" 2>/dev/null || echo 0)"
  awk -F, -v w="$WARMUP" -v flat="$FLAT_KIB" -v evw="$ev_warm" -v eve="$ev_end" '
    NR == 1 { next }
    {
      n = $2; t = $1 + 0; r = $4 + 0; h = $5 + 0
      if (!(n in seen)) { seen[n] = 1; order[++k] = n }
      d = t - w; if (d < 0) d = -d
      if (!(n in wd) || d < wd[n]) { wd[n] = d; wr[n] = r; wt[n] = t }
      er[n] = r; et[n] = t; pid[n] = $3
      if (r > pk[n]) pk[n] = r
      if (h > pk[n]) pk[n] = h
      if (t >= w) { sn[n]++; sx[n] += t; sy[n] += r; sxx[n] += t * t; sxy[n] += t * r }
    }
    END {
      printf "%-22s %8s %10s %10s %9s %7s %10s %10s  %s\n", "process", "pid", \
        "rss@" w "s", "rss@end", "growth", "%", "peak", "KiB/min", "verdict"
      for (i = 1; i <= k; i++) {
        n = order[i]; g = er[n] - wr[n]; pc = wr[n] > 0 ? 100 * g / wr[n] : 0
        sl = 0
        if (sn[n] > 1) {
          den = sn[n] * sxx[n] - sx[n] * sx[n]
          if (den > 0) sl = 60 * (sn[n] * sxy[n] - sx[n] * sy[n]) / den
        }
        # Every process, the collector included (its finished-id set is a
        # per-producer watermark and window, common/idset), must stay flat.
        v = (g <= flat && g >= -flat) ? "flat" : (g > 0 ? "GREW" : "shrank")
        printf "%-22s %8s %9dK %9dK %8dK %6.1f%% %9dK %10.1f  %s\n", n, pid[n], \
          wr[n], er[n], g, pc, pk[n], sl, v
      }
      printf "\nrss@%ds taken at t=%s s, rss@end at t=%s s (per process times in memory.csv)\n", \
        w, wt[order[1]], et[order[1]]
      if (eve > evw)
        printf "%d events accepted after warm-up\n", eve - evw
    }' "$OUT/memory.csv"
}

run_summary() {
  local s="$OUT/run/summary.json"
  [ -f "$s" ] || { echo "no summary.json in $OUT/run"; return 1; }
  jq -r '"events: sent \(.events.sent), completed \(.events.completed), failed \(.events.failed), rejected \(.events.rejected), lost \(.events.lost), duplicates dropped \(.events.duplicates_dropped), send_failed \(.events.send_failed)",
    "failed by reason: \(.events.failed_by_reason | tostring)",
    "latency ms: p50 \(.latency_ms.p50), p90 \(.latency_ms.p90), p99 \(.latency_ms.p99), max \(.latency_ms.max); throughput \(.throughput_eps.mean) ev/s",
    "collector: end \(.collector.end), bad_messages \(.collector.bad_messages), order_violations \(.collector.order_violations // 0)"' "$s"
}

plot() {
  command -v gnuplot >/dev/null 2>&1 || { note "no gnuplot: no memory.png"; return 0; }
  local dat="$OUT/memory.dat" gp="$OUT/memory.gp" names
  # One block per process: time (min), RSS (MiB), RSS minus its warm-up value (KiB).
  awk -F, -v w="$WARMUP" 'NR > 1 {
      n = $2; if (!(n in seen)) { seen[n] = 1; order[++k] = n }
      c[n]++; T[n, c[n]] = $1; R[n, c[n]] = $4
      d = $1 - w; if (d < 0) d = -d
      if (!(n in wd) || d < wd[n]) { wd[n] = d; wr[n] = $4 } }
    END { for (i = 1; i <= k; i++) { n = order[i]; print "\"" n "\""
            for (j = 1; j <= c[n]; j++)
              printf "%.3f %.3f %d\n", T[n, j] / 60, R[n, j] / 1024, R[n, j] - wr[n]
            printf "\n\n" } }' "$OUT/memory.csv" >"$dat"
  names="$(awk -F, 'NR > 1 && !($2 in s) { s[$2] = 1; n++ } END { print n + 0 }' "$OUT/memory.csv")"
  cat >"$gp" <<EOF
set terminal pngcairo size 1000,900 font ",10"
set output "$OUT/memory.png"
set multiplot layout 2,1 title "Eventide soak: $WORKFLOW at $RATE ev/s ($ARRIVAL), RSS every ${INTERVAL} s"
set key outside right
set grid
set xlabel "minutes since the load started"
set ylabel "RSS (MiB)"
plot for [i=0:$((names - 1))] "$dat" index i using 1:2 with linespoints pt 7 ps 0.4 title columnheader(1)
set ylabel "RSS minus RSS at ${WARMUP} s (KiB)"
set xrange [$(awk -v w="$WARMUP" 'BEGIN { print w / 60 }'):*]
plot for [i=0:$((names - 1))] "$dat" index i using 1:3 with linespoints pt 7 ps 0.4 title columnheader(1)
unset multiplot
EOF
  gnuplot "$gp" 2>"$OUT/memory-plot.log" || note "gnuplot failed (see $OUT/memory-plot.log)"
}

main() {
  parse_args "$@"
  command -v jq >/dev/null 2>&1 || die "needs jq"
  command -v pgrep >/dev/null 2>&1 || die "needs pgrep (procps)"
  [ -n "$OUT" ] || OUT="$(mktemp -d /tmp/eventide-soak.XXXXXX)"
  mkdir -p "$OUT"
  OUT="$(cd "$OUT" && pwd)"
  [ ! -e "$OUT/memory.csv" ] || die "$OUT/memory.csv exists: choose a fresh --out"
  local secs samples up_args=(--workflow "$WORKFLOW" --workers "$WORKERS")
  secs="$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 + 0.5 }')"
  [ "$secs" -ge 1 ] || usage_error "--minutes '$MINUTES': less than a second"
  samples="$(awk -v s="$secs" -v i="$INTERVAL" 'BEGIN { printf "%d", s / i + 1e-9 }')"
  [ "$WORKFLOW" = synthetic ] && up_args+=(--service "$SERVICE")
  [ -n "$SLOTS" ] && up_args+=(--slots "$SLOTS")

  PREV_LINK="$(readlink "$STATE/current" 2>/dev/null || true)"
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  {
    echo "command: $PROG $*"
    echo "started: $(date -Is)  host: $(uname -srm)  cpus: $(nproc)"
    echo "workflow $WORKFLOW, workers $WORKERS${SLOTS:+ x $SLOTS slots}, rate $RATE ev/s $ARRIVAL, $MINUTES min, sample every $INTERVAL s"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  } | tee "$OUT/soak.log" >&2

  UP_TRIED=1
  "$EVENTIDE" up "${up_args[@]}" --out "$OUT/run" >"$OUT/up.log" 2>&1 ||
    { cat "$OUT/up.log" >&2; die "./eventide up failed"; }
  echo "time_s,name,pid,rss_kb,hwm_kb" >"$OUT/memory.csv"
  : >"$OUT/status.jsonl"
  LAST_PROCS=""

  "$EVENTIDE" produce --rate "$RATE" --duration "$secs" --arrival "$ARRIVAL" \
    --seed "$SEED" >"$OUT/producer.log" 2>&1 &
  PJOB=$!
  T0="$(now)"
  note "load running for $secs s; samples in $OUT/memory.csv"
  local k=0
  while [ "$k" -le "$samples" ]; do
    sleep_until "$(awk -v t="$T0" -v k="$k" -v i="$INTERVAL" 'BEGIN { printf "%.6f", t + k * i }')"
    sample
    if [ $((k % 6)) -eq 0 ]; then
      note "t=$(elapsed "$T0") s: $(awk -F, -v t="$(tail -n 1 "$OUT/memory.csv" | cut -d, -f1)" \
        '$1 == t { printf "%s %dK  ", $2, $4 }' "$OUT/memory.csv")"
    fi
    k=$((k + 1))
  done

  local prc=0
  wait "$PJOB" || prc=$?
  PJOB=""
  if [ "$prc" -ne 0 ]; then
    note "./eventide produce exited with status $prc (see $OUT/producer.log)"
    # The launcher is a bash script read as it runs: edited meanwhile, it
    # can fail after its producer has finished cleanly.
    grep -q '^producer [0-9]*: sent' "$OUT/producer.log" &&
      note "(the producer itself finished: $(grep '^producer [0-9]*: sent' "$OUT/producer.log"))"
  fi
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/soak.log"
  "$EVENTIDE" down >"$OUT/down.log" 2>&1 || note "./eventide down failed (see $OUT/down.log)"
  DOWN_DONE=1

  {
    echo
    echo "== memory (KiB; growth = rss@end - rss@${WARMUP}s; peak = max of RSS samples and VmHWM) =="
    report
    echo
    echo "== run =="
    run_summary || true
    grep -h '^load average' "$OUT/soak.log" || true
    echo "files: $OUT/{memory.csv,status.jsonl,soak.log,producer.log} and $OUT/run/"
  } | tee "$OUT/report.txt"
  [ "$PLOT" -eq 0 ] || { plot && [ -f "$OUT/memory.png" ] && echo "plot: $OUT/memory.png"; }
  return "$prc"
}

# One line: bash reads a script as it runs, so an edit during a soak must
# not be read after main returns.
main "$@"; exit $?
