# launcher/keepalive.sh: keep-alive policies compared (issue 13): `sweep
# --keepalive LIST` replays the same trace once per policy and writes one
# table and one figure; and the evictions the autoscaler logged, added to
# a run's summary.json.

# summary_add_evictions OUT: the autoscaler's evictions (its log's "F: N
# idle instance(s) evicted" lines) as functions[].evictions and
# evictions.total in OUT/summary.json; 0 everywhere without an autoscaler.
summary_add_evictions() {
  local out="$1" counts="{}"
  if [ -f "$out/autoscaler.log" ]; then
    counts="$(sed -nE 's/.* ([A-Za-z0-9_.-]+): ([0-9]+) idle instances? evicted .*/\1 \2/p' \
                "$out/autoscaler.log" |
              awk '{ n[$1] += $2 }
                   END { printf "{"; s = ""
                         for (f in n) { printf "%s\"%s\":%d", s, f, n[f]; s = "," }
                         printf "}" }')"
  fi
  if jq --argjson n "$counts" \
       '.functions = [(.functions // [])[] | .evictions = ($n[.function] // 0)]
        | .evictions = {total: ([$n[]] | add // 0)}' \
       "$out/summary.json" >"$out/summary.json.tmp"; then
    mv "$out/summary.json.tmp" "$out/summary.json"
  else
    rm -f "$out/summary.json.tmp"
    info "cannot add the evictions to $out/summary.json"
  fi
}

help_sweep_keepalive() {
  cat <<'EOF'
usage: ./eventide sweep --keepalive 0,60,600,kpa --arrival azure2019:DIR [--out DIR]
                        [--speedup X] [run options]
  The same trace replayed once per keep-alive policy, each from zero
  instances (--workers 0): a number K keeps an idle instance K seconds of
  trace time (workers' --idle-timeout K/X s of wall time, at least 1 ms;
  the KPA autoscaler only starts instances), `kpa` is Knative's KPA with
  its windows in trace time (stable 60 s, scale-to-zero grace 30 s, panic
  6 s; divided by X). Writes DIR/keepalive.md and .csv (policy,
  invocations, cold-start ratio, p99 slowdown, GB-s, idle GB-s, cost,
  evictions) and DIR/keepalive.png/.svg (cold-start ratio and idle GB-s
  against keep-alive). Each policy's run is in DIR/keepalive-P.
  --tick S       the autoscaler's decision period, wall seconds (default 0.2)
  --drain-timeout S  as run's (default here 120: keep-alive 0's backlog)
EOF
}

# s_ka_wall_ms K SPEEDUP: K seconds of trace time in whole wall ms, >= 1.
s_ka_wall_ms() {
  awk -v k="$1" -v x="$2" 'BEGIN { ms = int(k * 1000 / x + 0.5); print (ms < 1 ? 1 : ms) }'
}

# s_ka_row POLICY OUT: one CSV row from a policy's summary.json.
s_ka_row() {
  jq -r --arg p "$1" '
    def ssum(f): [.stages[] | f] | add // 0;
    (ssum(.completed)) as $done
    | ([.stages[] | .slowdown.p99 | select(. != null)] | sort) as $sl
    | [$p, .events.sent, $done, ssum(.cold_invocations), ssum(.cold_waits),
       (if $done > 0 then ssum(.cold_invocations) / $done else 0 end),
       (if ($sl | length) > 0 then $sl[(($sl | length) / 2 | floor)] else null end),
       (.cost.gb_s // 0), (.cost.idle_gb_s // 0), (.cost.usd_instances // 0),
       (.evictions.total // 0), .events.lost, .events.failed]
    | @csv' "$2/summary.json"
}

cmd_sweep_keepalive() {
  local policies="" sweep="" tick="0.2" speedup=1 p arrival="" drain=""
  local -a run_args=()
  for p in "$@"; do
    case "$p" in -h|--help) help_sweep_keepalive; return 0 ;; esac
  done
  while [ $# -gt 0 ]; do
    case "$1" in
      --keepalive) [[ "${2-}" =~ ^(kpa|[0-9]+)(,(kpa|[0-9]+))*$ ]] ||
                     usage_error "--keepalive '${2-}': expected a list of seconds and kpa, like 0,60,600,kpa"
                   policies="$2"; shift 2 ;;
      --out) [ -n "${2-}" ] || usage_error "--out needs a value"
             sweep="$2"; shift 2 ;;
      --tick) [[ "${2-}" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage_error "--tick '${2-}': expected seconds"
              tick="$2"; shift 2 ;;
      --workers|--autoscale|--idle-timeout|--rates|--durations)
        usage_error "$1: sweep --keepalive sets it for each policy" ;;
      --speedup) { [[ "${2-}" =~ ^[0-9]+([.][0-9]+)?$ ]] &&
                   awk -v x="$2" 'BEGIN { exit !(x > 0) }'; } ||
                   usage_error "--speedup '${2-}': expected a number above 0"
                 speedup="$2"; run_args+=("$1" "$2"); shift 2 ;;
      --arrival) arrival="${2-}"; run_args+=("$1" "${2-}"); shift 2 ;;
      --drain-timeout) drain="${2-}"; run_args+=("$1" "${2-}"); shift 2 ;;
      *) [ $# -ge 2 ] || usage_error "$1 needs a value"
         run_args+=("$1" "$2"); shift 2 ;;
    esac
  done
  [ -n "$policies" ] || usage_error "sweep: --keepalive is required (e.g. --keepalive 0,60,600,kpa)"
  [[ "$arrival" == azure20* ]] ||
    usage_error "sweep --keepalive: replays a trace: give --arrival azure2019:DIR or azure2021:FILE"
  # Keep-alive 0 starts an instance for nearly every burst: the backlog
  # at the load's end takes longer than the usual 10 s to drain, and an
  # invocation failed at the drain would not be the policy's doing.
  [ -n "$drain" ] || run_args+=(--drain-timeout 120)
  ensure_built
  [ -n "$sweep" ] || sweep="$ROOT/results/keepalive-$(date +%Y%m%d-%H%M%S)"
  sweep="$(abs_dir "$sweep")"
  mkdir -p "$sweep"
  local csv="$sweep/keepalive.csv"
  echo "policy,sent,invocations,cold_starts,cold_waits,cold_start_ratio,slowdown_p99_median,gb_s,idle_gb_s,usd_instances,evictions,lost,failed" >"$csv.tmp"
  for p in ${policies//,/ }; do
    local -a args=(--workers 0 --autoscale kpa --autoscale-arg "--tick=$tick")
    if [ "$p" = kpa ]; then
      # Knative's windows in trace time; the panic window and the grace at
      # least one tick, as the autoscaler requires of the stable window.
      local stable grace panic
      stable="$(awk -v x="$speedup" -v t="$tick" 'BEGIN { v = 60 / x; printf "%.3f", (v < t ? t : v) }')"
      grace="$(awk -v x="$speedup" 'BEGIN { printf "%.3f", 30 / x }')"
      panic="$(awk -v x="$speedup" -v s="$stable" 'BEGIN { v = 6 / x; printf "%.3f", (v > s ? s : v) }')"
      args+=(--autoscale-arg "--stable-window=$stable" --autoscale-arg "--panic-window=$panic"
             --autoscale-arg "--scale-to-zero-grace=$grace")
    else
      # The keep-alive is the workers' own; KPA never scales to zero here.
      args+=(--idle-timeout "$(s_ka_wall_ms "$p" "$speedup")ms"
             --autoscale-arg "--scale-to-zero-grace=3600")
    fi
    info "sweep: keep-alive $p"
    "$ROOT/eventide" run "${run_args[@]}" "${args[@]}" --out "$sweep/keepalive-$p" \
      >"$sweep/keepalive-$p.log" 2>&1 ||
      { tail -n 30 "$sweep/keepalive-$p.log" >&2
        die "sweep policy $p failed (log: $sweep/keepalive-$p.log)"; }
    s_ka_row "$p" "$sweep/keepalive-$p" >>"$csv.tmp" ||
      die "cannot read $sweep/keepalive-$p/summary.json"
  done
  mv "$csv.tmp" "$csv"
  s_ka_table "$csv" "$speedup" >"$sweep/keepalive.md"
  s_ka_figure "$sweep" || info "no keep-alive figure (is gnuplot installed?)"
  cat "$sweep/keepalive.md"
  echo
  echo "table:  $sweep/keepalive.md $csv"
  echo "figure: $sweep/keepalive.png (and .svg)"
}

# s_ka_table CSV SPEEDUP: the markdown table of the CSV.
s_ka_table() {
  echo "## Keep-alive policies compared"
  echo
  echo "Keep-alive in seconds of trace time (speed-up $2: wall = trace / $2)."
  echo "Cold-start ratio: cold starts / invocations (an invocation that found no"
  echo "instance serving and no start pending). Slowdown p99: the median over"
  echo "functions of residence p99 / service p50. GB-s in wall seconds."
  echo
  echo "| keep-alive | invocations | cold starts | cold waits | cold-start ratio | slowdown p99 | GB-s | idle GB-s | cost USD | evictions |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  tail -n +2 "$1" | tr -d '"' |
    awk -F, '{ printf "| %s | %s | %s | %s | %.3f | %s | %.2f | %.2f | %.6f | %s |\n",
               ($1 == "kpa" ? "kpa" : $1 " s"), $3, $4, $5, $6,
               ($7 == "" ? "–" : sprintf("%.2f", $7)), $8, $9, $10, $11 }'
}

# s_ka_figure SWEEP: cold-start ratio and idle GB-s against keep-alive (the
# numeric policies on x, kpa as a labelled point at the right).
s_ka_figure() {
  local dir="$1" fmt
  command -v gnuplot >/dev/null || return 1
  tail -n +2 "$dir/keepalive.csv" | tr -d '"' |
    awk -F, '{ print NR - 1, ($1 == "kpa" ? "kpa" : $1 "s"), $6, $9 }' >"$dir/keepalive.dat"
  for fmt in png svg; do
    gnuplot <<EOF || return 1
set terminal ${fmt}$([ "$fmt" = png ] && echo "cairo size 900,500" || echo " size 900,500")
set output "$dir/keepalive.$fmt"
set title "Keep-alive: cold starts against idle memory"
set xlabel "keep-alive (trace time)"
set ylabel "cold-start ratio"
set y2label "idle GB-s"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top center
set style data linespoints
plot "$dir/keepalive.dat" using 1:3:xtic(2) axes x1y1 title "cold-start ratio" lw 2 pt 7, \
     "" using 1:4 axes x1y2 title "idle GB-s" lw 2 pt 5
EOF
  done
}
