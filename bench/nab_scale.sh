#!/usr/bin/env bash
# bench/nab_scale.sh: state that survives scaling, on each NAB
# realKnownCause series. Per series: the sensor workflow with one instance
# per function for the whole run (fixed), then under `up` with preprocess
# and anomaly scaled 1 -> 2 -> 4 -> 1 -> 2 while the series flows (at 1/6,
# 2/6, 3/6 and 4/6 of its replay), once with the key state handover
# (--key-handover on, the default) and once without (off). Prints a table:
# windows detected and false alarms of each, the key moves, states handed
# over and lost, and whether every sample's score and alarm equals the
# fixed run's. Run on demand, never by the tests.
#   bench/nab_scale.sh [--span-s 10] [--out DIR]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
EVENTIDE="$ROOT/eventide"
PROG="bench/nab_scale.sh"

SPAN_S=10
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --span-s) SPAN_S="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$PROG: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ "$SPAN_S" =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: --span-s: expected a positive integer" >&2; exit 2; }
command -v jq >/dev/null || { echo "$PROG: needs jq" >&2; exit 1; }
[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/nab-scale.XXXXXX)"
mkdir -p "$OUT"
export EVENTIDE_STATE="${EVENTIDE_STATE:-$OUT/state}"

DATA="$ROOT/data/nab/realKnownCause"
SERIES=(ambient_temperature_system_failure cpu_utilization_asg_misconfiguration
        ec2_request_latency_system_failure machine_temperature_system_failure
        nyc_taxi rogue_agent_key_hold rogue_agent_key_updown)

span_s() {
  local first last
  first="$(sed -n 2p "$1" | cut -d, -f1)"
  last="$(tail -n 1 "$1" | cut -d, -f1)"
  echo $(( $(date -u -d "$last" +%s) - $(date -u -d "$first" +%s) ))
}

# scaled FILE SPEEDUP HANDOVER DIR: the run under up, scaled mid-run.
scaled() {
  local file="$1" speedup="$2" handover="$3" dir="$4" n
  "$EVENTIDE" up --workflow sensor --workers 1 --key-handover "$handover" \
    --out "$dir" >"$dir.up.log" 2>&1
  "$EVENTIDE" produce --source "nab:$file" --speedup "$speedup" >"$dir.produce.log" 2>&1 &
  local producer=$!
  for n in 2 4 1 2; do
    sleep "$(awk -v s="$SPAN_S" 'BEGIN { print s / 6 }')"
    "$EVENTIDE" scale anomaly "$n" >/dev/null
    "$EVENTIDE" scale preprocess "$n" >/dev/null
  done
  wait "$producer"
  "$EVENTIDE" down >"$dir.down.log" 2>&1
}

acc() { jq -r '"\(.accuracy.detected)/\(.accuracy.windows), \(.accuracy.false_alarms)"' "$1/summary.json"; }
samples() { jq -c '[.ts, .delta, .score, .alarm]' "$1/decisions.jsonl" | sort; }

printf '| series | fixed: windows, false alarms | scaled, handover: windows, false alarms | key moves | handed over | lost | every sample as fixed | scaled, no handover: windows, false alarms | every sample as fixed |\n'
printf '|---|---|---|---:|---:|---:|---|---|---|\n'
for s in "${SERIES[@]}"; do
  file="$DATA/$s.csv"
  speedup=$(( $(span_s "$file") / SPAN_S ))
  "$EVENTIDE" run --workflow sensor --workers 1 --source "nab:$file" \
    --speedup "$speedup" --out "$OUT/$s-fixed" >"$OUT/$s-fixed.log" 2>&1
  scaled "$file" "$speedup" on "$OUT/$s-on"
  scaled "$file" "$speedup" off "$OUT/$s-off"
  samples "$OUT/$s-fixed" >"$OUT/$s-fixed.samples"
  same_on=no same_off=no
  samples "$OUT/$s-on" | cmp -s - "$OUT/$s-fixed.samples" && same_on=yes
  samples "$OUT/$s-off" | cmp -s - "$OUT/$s-fixed.samples" && same_off=yes
  moves="$(sed -n 's/.*instance, \([0-9]*\) key move.*/\1/p' "$OUT/$s-on/broker.log")"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" \
    "$(acc "$OUT/$s-fixed")" "$(acc "$OUT/$s-on")" "$moves" \
    "$(jq .broker.key_handovers "$OUT/$s-on/summary.json")" \
    "$(jq .broker.key_state_lost "$OUT/$s-on/summary.json")" "$same_on" \
    "$(acc "$OUT/$s-off")" "$same_off"
done
echo
echo "runs in $OUT"
