#!/usr/bin/env bash
# clock_offset.sh: how well Eventide's clock-offset estimate works across
# hosts. Three network namespaces (producer host "edge", broker and
# collector host "core", worker host "cloud", CURVE on every link), the
# producer host's clock set 250 ms behind and the worker host's 600 ms
# ahead with --clock-skew, at each rate: the estimated offsets against the
# true ones (error, reported bound, round trip), and latency with the
# correction, without it (--clock-sync off), and with no skew at all.
# Root only (ip netns); on demand, never run by ./eventide test.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT=""
DURATION=20
RATES="100,2000"
EDGE_SKEW_MS=-250
CLOUD_SKEW_MS=600

usage() {
  cat <<'EOF'
usage: bench/clock_offset.sh [--out DIR] [--duration S] [--rates LIST]
  --out DIR       where runs and results.env go (default: a new
                  /tmp/eventide-clock.XXXXXX)
  --duration S    seconds of load per run (default 20)
  --rates LIST    events per second, comma-separated (default 100,2000)
Needs root (network namespaces). Prints a Markdown table at the end.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --out) OUT="${2:?--out needs a value}"; shift 2 ;;
    --duration) [[ "${2-}" =~ ^[0-9]+$ ]] || { echo "clock_offset.sh: --duration '${2-}': expected seconds" >&2; exit 2; }
                DURATION="$2"; shift 2 ;;
    --rates) [[ "${2-}" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "clock_offset.sh: --rates '${2-}': expected e.g. 100,2000" >&2; exit 2; }
             RATES="$2"; shift 2 ;;
    *) echo "clock_offset.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "clock_offset.sh: needs root (ip netns)" >&2; exit 1; }
[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/eventide-clock.XXXXXX)"
mkdir -p "$OUT"

# shellcheck source=../tests/integration/netns_lib.sh
. "$ROOT/tests/integration/netns_lib.sh"
prefix="etb-$$"
edge="$prefix-edge"; core="$prefix-core"; cloud="$prefix-cloud"
export EVENTIDE_STATE="$OUT/state"
trap netns_down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

"$ROOT/eventide" build >/dev/null
netns_up "$prefix" edge core cloud
"$ROOT/eventide" keys "$OUT/keys" >/dev/null
cat >"$OUT/hosts" <<EOF
$edge  10.231.7.1 producer
$core  10.231.7.2 broker collector
$cloud 10.231.7.3 workers:synthetic=2
EOF

# run NAME RATE PRODUCER-TRUE-MS WORKER-TRUE-MS ARGS...: one run across the
# namespaces, its estimates compared with the true offsets; prints its line.
run() {
  local name="$1" rate="$2" pe="$3" we="$4" dir; shift 4
  dir="$OUT/$name-$rate"
  EVENTIDE_NO_BUILD=1 "$ROOT/eventide" run --hosts "$OUT/hosts" \
    --host-cmd 'ip netns exec {host}' --curve "$OUT/keys" \
    --workflow synthetic --service exp:2ms --slots 8 --rate "$rate" \
    --duration "$DURATION" --seed 7 --out "$dir" "$@" >"$dir.log" 2>&1 ||
    { tail -n 20 "$dir.log" >&2; echo "clock_offset.sh: run $name at $rate failed" >&2; exit 1; }
  jq -r --arg n "$name" --arg r "$rate" --argjson pe "$pe" --argjson we "$we" '
    def src($role): [.clocks.sources[] | select(.role == $role)];
    def r3: . * 1000 | round / 1000;
    (src("producer")[0]) as $p | (src("worker")) as $w |
    [$n, $r, (.latency_ms.p50 | r3), (.latency_ms.p99 | r3), .events.lost,
     $pe, (if $p then ($p.offset_ms | r3) else "-" end),
     (if $p then (($p.offset_ms - $pe) * 1000 | round) else "-" end),
     (if $p then ($p.bound_ms * 1000 | round) else "-" end),
     (if $p then ($p.rtt_ms * 1000 | round) else "-" end),
     (if $p then $p.estimates else "-" end),
     (if ($w | length) > 0 then ([$w[] | (.offset_ms - $we) | fabs] | max * 1000 | round) else "-" end),
     (if ($w | length) > 0 then ([$w[] | .bound_ms] | max * 1000 | round) else "-" end),
     (if .clocks.latency_error_bound_ms then (.clocks.latency_error_bound_ms | r3) else "-" end),
     .collector.latency_negative] | @tsv' \
    "$dir/summary.json" | tee -a "$OUT/results.tsv"
}

: >"$OUT/results.tsv"
skews=(--clock-skew "$edge=$EDGE_SKEW_MS" --clock-skew "$cloud=$CLOUD_SKEW_MS")
for rate in ${RATES//,/ }; do
  run no-skew "$rate" 0 0
  run skew-corrected "$rate" "$((-EDGE_SKEW_MS))" "$((-CLOUD_SKEW_MS))" "${skews[@]}"
  run skew-uncorrected "$rate" "$((-EDGE_SKEW_MS))" "$((-CLOUD_SKEW_MS))" "${skews[@]}" --clock-sync off
done

echo
echo "| run | rate ev/s | p50 ms | p99 ms | lost | producer true offset ms | estimated ms | error us | bound us | rtt us | estimates | worst worker error us | worst worker bound us | latency error bound ms | negative latencies |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
while IFS=$'\t' read -r -a f; do
  printf '|'; printf ' %s |' "${f[@]}"; echo
done <"$OUT/results.tsv"
echo
echo "raw runs: $OUT"
