# launcher/prometheus.sh: `up --prometheus`, a private Prometheus server
# (Debian's prometheus) scraping the pipeline's broker and collector every
# second, with contrib/prometheus's config and recording rules; its data
# in the results directory (OUT/prometheus), its URL in RUN/env
# (PROMETHEUS_URL) and in status. Stopped by `down` after the collector.

# prometheus_config RUN: RUN/prometheus.yml, contrib's file with this
# run's targets (the autoscaler's job only under --autoscale) and the
# rules file's absolute path.
prometheus_config() {
  local run="$1" broker collector autoscaler
  broker="${METRICS_URL#http://}"; broker="${broker%%/*}"
  collector="${METRICS_COLLECTOR_URL#http://}"; collector="${collector%%/*}"
  autoscaler="${METRICS_AUTOSCALER_URL:-}"
  autoscaler="${autoscaler#http://}"; autoscaler="${autoscaler%%/*}"
  [ -n "$collector" ] || die "--prometheus: the collector serves no metrics"
  local -a drop=()
  [ -n "$autoscaler" ] || drop=(-e '/job_name: eventide-autoscaler/,/9466/d')
  sed "${drop[@]}" -e "s|'127.0.0.1:9464'|'$broker'|" -e "s|'127.0.0.1:9465'|'$collector'|" \
    -e "s|'127.0.0.1:9466'|'$autoscaler'|" \
    -e "s|^  - eventide.rules.yml$|  - $ROOT/contrib/prometheus/eventide.rules.yml|" \
    "$ROOT/contrib/prometheus/prometheus.yml" >"$run/prometheus.yml"
  grep -q "'$broker'" "$run/prometheus.yml" && grep -q "'$collector'" "$run/prometheus.yml" &&
    grep -q "$ROOT/contrib/prometheus/eventide.rules.yml" "$run/prometheus.yml" ||
    die "--prometheus: contrib/prometheus/prometheus.yml does not have the expected targets"
}

# prometheus_start RUN OUT: the server on 127.0.0.1 and a free port (a
# random one, tried again when taken), ready when it returns;
# PROMETHEUS_URL appended to RUN/env.
prometheus_start() {
  local run="$1" out="$2" port try url i pid
  command -v prometheus >/dev/null ||
    die "--prometheus needs Prometheus (apt-get install prometheus)"
  prometheus_config "$run"
  mkdir -p "$out/prometheus"
  for try in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    url="http://127.0.0.1:$port"
    : >"$run/logs/prometheus.log"
    start_bg "$run" prometheus prometheus --config.file="$run/prometheus.yml" \
      --storage.tsdb.path="$out/prometheus" --web.listen-address="127.0.0.1:$port" \
      --log.level=warn
    pid="$(pid_of "$run" prometheus)"
    for i in $(seq 1 150); do
      if curl -s -f --max-time 1 -o /dev/null "$url/-/ready" 2>/dev/null; then
        echo "PROMETHEUS_URL=$url" >>"$run/env"
        PROMETHEUS_URL="$url"
        return 0
      fi
      pid_alive "$pid" || break
      sleep 0.2
    done
    stop_pids 5 "$pid"
    grep -q 'address already in use' "$run/logs/prometheus.log" || break
  done
  cat "$run/logs/prometheus.log" >&2
  die "--prometheus: the Prometheus server did not become ready (log above)"
}
