#!/usr/bin/env bash
# bench/nab.sh: the sensor workflow on each NAB realKnownCause series, each
# replayed in about SPAN_S seconds (speed-up = the series' span / SPAN_S),
# once per instance count. Prints, per instance count, a table per series
# (windows detected of total, false alarms, NAB score) and the totals,
# read from each run's summary.json. Run on demand, never by the tests.
#   bench/nab.sh [--workers "1 2"] [--span-s 40] [--workflow sensor]
#                [--out DIR] [-- RUN-ARGS...]
# --workflow: a variant of the sensor workflow (a JSON file) to compare;
# RUN-ARGS go to every `eventide run`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
EVENTIDE="$ROOT/eventide"
PROG="bench/nab.sh"

WORKERS="1 2"
SPAN_S=40
WORKFLOW=sensor
OUT=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) WORKERS="$2"; shift 2 ;;
    --span-s) SPAN_S="$2"; shift 2 ;;
    --workflow) WORKFLOW="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$PROG: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ "$SPAN_S" =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: --span-s: expected a positive integer" >&2; exit 2; }
command -v jq >/dev/null || { echo "$PROG: needs jq" >&2; exit 1; }
[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/nab-bench.XXXXXX)"
mkdir -p "$OUT"
# A private state directory: other runs on the machine keep theirs.
export EVENTIDE_STATE="${EVENTIDE_STATE:-$OUT/state}"

DATA="$ROOT/data/nab/realKnownCause"
SERIES=(ambient_temperature_system_failure cpu_utilization_asg_misconfiguration
        ec2_request_latency_system_failure machine_temperature_system_failure
        nyc_taxi rogue_agent_key_hold rogue_agent_key_updown)

# span_s FILE: seconds from the first row's timestamp to the last's.
span_s() {
  local first last
  first="$(sed -n 2p "$1" | cut -d, -f1)"
  last="$(tail -n 1 "$1" | cut -d, -f1)"
  echo $(( $(date -u -d "$last" +%s) - $(date -u -d "$first" +%s) ))
}

for n in $WORKERS; do
  printf '\n## %s instance(s) per function (speed-up = span / %s s)\n\n' "$n" "$SPAN_S"
  printf '| series | windows detected | false alarms | NAB score | speed-up |\n'
  printf '|---|---:|---:|---:|---:|\n'
  tot_det=0 tot_win=0 tot_fa=0 tot_nab=0
  for s in "${SERIES[@]}"; do
    file="$DATA/$s.csv"
    span="$(span_s "$file")"
    speedup=$(( span / SPAN_S ))
    dir="$OUT/n$n/$s"
    if ! "$EVENTIDE" run --workflow "$WORKFLOW" --workers "$n" --source "nab:$file" \
        --speedup "$speedup" --out "$dir" "${EXTRA[@]}" >"$OUT/n$n-$s.log" 2>&1; then
      echo "$PROG: run failed: $s, $n instance(s) (log: $OUT/n$n-$s.log)" >&2
      exit 1
    fi
    read -r det win fa nab < <(jq -r '.accuracy | "\(.detected) \(.windows) \(.false_alarms) \(.nab_score)"' "$dir/summary.json")
    printf '| %s | %s / %s | %s | %.1f | %s |\n' "$s" "$det" "$win" "$fa" "$nab" "$speedup"
    tot_det=$((tot_det + det)); tot_win=$((tot_win + win)); tot_fa=$((tot_fa + fa))
    tot_nab="$(awk -v a="$tot_nab" -v b="$nab" 'BEGIN { print a + b }')"
  done
  printf '| **total** | **%s / %s** | **%s** | **%.1f** (mean) | |\n' "$tot_det" "$tot_win" "$tot_fa" \
    "$(awk -v a="$tot_nab" -v k="${#SERIES[@]}" 'BEGIN { print a / k }')"
done
echo
echo "runs: $OUT"
