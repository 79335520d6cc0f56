# launcher/top.sh: `./eventide top`, a live view of a running pipeline
# from the broker's and the collector's /metrics (docs/metrics.md): one row
# per function, refreshed every second; launcher/top.awk draws a screen
# from two scrapes WINDOW seconds apart. Reads STATE through state_run.

# top_urls: "BROKER_URL COLLECTOR_URL" of the pipeline `up` started (the
# collector's may be empty).
top_urls() {
  local run
  run="$(state_run)" || exit 1
  run_env "$run"
  [ -n "${METRICS_URL:-}" ] ||
    die "the running pipeline serves no metrics (it was started with --metrics off)"
  echo "$METRICS_URL ${METRICS_COLLECTOR_URL:-}"
}

# top_scrape URL FILE: FILE gets URL's metrics, or is left empty when they
# cannot be had within 2 s; 1 then.
top_scrape() {
  [ -n "$1" ] || { : >"$2"; return 1; }
  curl -s -f --max-time 2 -o "$2" "$1" 2>/dev/null || { : >"$2"; return 1; }
}

cmd_top() {
  local broker="" collector="" interval=1 window=10 once=0
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) help_top; return 0 ;;
      --once) once=1; shift; continue ;;
    esac
    [ -n "${2-}" ] || usage_error "top: $1 needs a value"
    case "$1" in
      --broker) [[ "$2" =~ ^https?://[^[:space:]]+$ ]] || usage_error "top: --broker '$2': expected a URL"
                broker="$2" ;;
      --collector) [[ "$2" =~ ^https?://[^[:space:]]+$ ]] || usage_error "top: --collector '$2': expected a URL"
                   collector="$2" ;;
      --window) [[ "$2" =~ ^[1-9][0-9]*$ ]] && [ "$2" -le 3600 ] ||
                  usage_error "top: --window '$2': expected 1..3600 seconds"
                window="$2" ;;
      *) usage_error "top: unknown option '$1'" ;;
    esac
    shift 2
  done
  command -v curl >/dev/null || die "top needs curl (apt-get install curl)"
  if [ -z "$broker" ]; then
    local urls
    urls="$(top_urls)" || exit 1
    read -r broker collector <<<"$urls"
  fi
  local dir tty=0 n=0 key clock oldest t_old
  [ -t 1 ] && tty=1
  # The broker renders its metrics once a second: one second between two
  # scrapes can hold two renderings or none, so --once looks over three.
  [ "$once" -eq 1 ] && { interval=3; window=1; }
  dir="$(mktemp -d "${TMPDIR:-/tmp}/eventide-top.XXXXXX")"
  TOP_DIR="$dir" # the EXIT trap runs after this function's locals are gone
  # Ctrl-C, q or the pipeline's end: the screen is left as it was drawn.
  trap 'rm -rf "$TOP_DIR"' EXIT
  trap 'exit 0' INT TERM
  # Scrape k goes to b.k / c.k with its time in t.k; the oldest kept is the
  # one WINDOW seconds back (fewer at the start: the window is what there is).
  top_scrape "$broker" "$dir/b.0" ||
    die "cannot read $broker (is the pipeline up, with metrics on?)"
  top_scrape "$collector" "$dir/c.0" || true
  date +%s.%N >"$dir/t.0"
  while :; do
    if [ "$tty" -eq 1 ] && [ -t 0 ]; then
      read -r -s -n 1 -t "$interval" key </dev/tty && [[ "$key" == [qQ] ]] && exit 0
    else
      sleep "$interval"
    fi
    n=$((n + 1))
    if ! top_scrape "$broker" "$dir/b.$n"; then
      echo "eventide top: $broker no longer answers: the pipeline has stopped"
      exit 0
    fi
    top_scrape "$collector" "$dir/c.$n" || true
    date +%s.%N >"$dir/t.$n"
    oldest=$((n - window)); [ "$oldest" -ge 0 ] || oldest=0
    rm -f "$dir/b.$((oldest - 1))" "$dir/c.$((oldest - 1))" "$dir/t.$((oldest - 1))"
    t_old="$(cat "$dir/t.$oldest")"
    clock="$(date +%H:%M:%S)"
    [ "$tty" -eq 1 ] && printf '\033[H\033[2J'
    awk -v dt="$(awk -v a="$t_old" -v b="$(cat "$dir/t.$n")" 'BEGIN { printf "%.3f", b - a }')" \
      -v url="$broker" -v clock="$clock" -v ob="$dir/b.$oldest" -v nb="$dir/b.$n" \
      -v oc="$dir/c.$oldest" -v nc="$dir/c.$n" -f "$ROOT/launcher/top.awk" || true
    [ "$tty" -eq 1 ] || echo
    [ "$once" -eq 1 ] && return 0
  done
}
