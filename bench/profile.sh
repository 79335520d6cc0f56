#!/usr/bin/env bash
# bench/profile.sh: where a noop pipeline's CPU goes, per process. Runs
# `eventide run --workflow noop` at one rate and, over the middle of the
# load, counts with `perf stat` each process's CPU time, context switches
# and system calls, divided by the events that completed (the producer's
# by the events it sent) in that same interval. With --record, also a
# system-wide `perf record -g` of the interval and its top entries. Run on
# demand (never by the tests); results go to bench/RESULTS.md by hand.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PROG="bench/profile.sh"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

RATE=20000
DURATION=12
WORKERS=2
SLOTS=16
OUT=""
RECORD=0
TREE="$ROOT"
EXTRA=()

die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; exit 2; }

usage() {
  cat <<EOF
usage: bench/profile.sh [options] [-- more eventide run options]
  --rate EPS        offered noop events per second (default $RATE)
  --duration S      seconds of load, at least 8 (default $DURATION); the
                    counts cover the middle half of it
  --workers N       noop instances (default $WORKERS)
  --slots N         slots per instance (default $SLOTS)
  --record          also perf record -g (system-wide) over the same
                    interval: OUT/perf.data, OUT/perf-by-process.txt,
                    OUT/perf-symbols.txt
  --tree DIR        run the eventide of another source tree (built), for
                    before/after comparisons (default: this one)
  --out DIR         where the run and the counts go (default: a fresh
                    /tmp/eventide-profile.XXXXXX)
  --help            this text
Prints one line per process: CPU ms in the interval, CPU us, context
switches and system calls per event.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --rate) RATE="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --workers) WORKERS="${2:?}"; shift 2 ;;
    --slots) SLOTS="${2:?}"; shift 2 ;;
    --record) RECORD=1; shift ;;
    --tree) TREE="$(cd "${2:?}" && pwd)"; shift 2 ;;
    --out) OUT="${2:?}"; shift 2 ;;
    --help|-h) usage; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) usage_error "unknown option $1 (see --help)" ;;
  esac
done
[[ "$RATE" =~ ^[1-9][0-9]*$ ]] || usage_error "--rate: a positive whole number"
[[ "$DURATION" =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 8 ] ||
  usage_error "--duration: whole seconds, at least 8"
command -v perf >/dev/null || die "perf is needed (apt-get install linux-perf)"
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
[ -x "$TREE/build/release/bin/eventide-broker" ] ||
  die "$TREE is not built (./eventide build there)"

[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/eventide-profile.XXXXXX)"
mkdir -p "$OUT"
rm -rf "$OUT/run" "$OUT"/stat.*

(cd "$TREE" && EVENTIDE_NO_BUILD=1 exec ./eventide run --workflow noop \
  --workers "$WORKERS" --slots "$SLOTS" --rate "$RATE" --duration "$DURATION" \
  --out "$OUT/run" ${EXTRA[@]+"${EXTRA[@]}"}) >"$OUT/run.log" 2>&1 &
LAUNCHER=$!
trap 'kill -- "$LAUNCHER" 2>/dev/null || true' EXIT

await_producer "$LAUNCHER" 60 ||
  die "the run ended early or did not start within 60 s: $OUT/run.log"
mapfile -t pids < <(run_pids "$LAUNCHER")

window=$((DURATION / 2))
sleep "$((DURATION / 4))"
started_ns="$(date +%s%N)"
counters=()
for entry in "${pids[@]}"; do
  perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter \
    -p "${entry%%:*}" -o "$OUT/stat.${entry#*:}.${entry%%:*}" sleep "$window" &
  counters+=($!)
done
if [ "$RECORD" = 1 ]; then
  perf record -q -F 999 -g -a -o "$OUT/perf.data" sleep "$window" 2>/dev/null &
  counters+=($!)
fi
wait "${counters[@]}" || true
ended_ns="$(date +%s%N)"
wait "$LAUNCHER" || die "the run failed: $OUT/run.log"
trap - EXIT

summary="$OUT/run/summary.json"
[ -f "$summary" ] || die "no summary.json: $OUT/run.log"
read -r completed sent < <(events_between "$OUT/run" "$started_ns" "$ended_ns")
[ "$completed" -gt 0 ] || die "no event completed in the interval"

{
  echo "# bench/profile.sh: noop, $WORKERS x $SLOTS slots, $RATE events/s offered, $DURATION s"
  echo "# interval $(awk -v a="$started_ns" -v b="$ended_ns" 'BEGIN{printf "%.2f", (b-a)/1e9}') s: $completed completed, $sent sent"
  jq -r '"# run: sent \(.events.sent), completed \(.events.completed), rejected \(.events.rejected), lost \(.events.lost), p50 \(.latency_ms.p50) ms, p99 \(.latency_ms.p99) ms"' "$summary"
  printf '%-10s %8s %10s %8s %10s %10s\n' process pid cpu_ms cpu_us/ev cs/ev syscalls/ev
  for f in "$OUT"/stat.*; do
    name="${f#"$OUT"/stat.}"; r="${name%%.*}"; pid="${name#*.}"
    per="$completed"; [ "$r" = producer ] && per="$sent"
    awk -F, -v r="$r" -v pid="$pid" -v n="$per" '
      $3 == "task-clock" { cpu = $1 }
      $3 == "context-switches" { cs = $1 }
      $3 == "raw_syscalls:sys_enter" { sc = $1 }
      END { printf "%-10s %8s %10.0f %8.2f %10.3f %10.3f\n", r, pid, cpu, cpu * 1000 / n, cs / n, sc / n }' "$f"
  done | sort
} | tee "$OUT/profile.txt"

if [ "$RECORD" = 1 ]; then
  perf report -i "$OUT/perf.data" --no-children --sort comm,dso -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -30 >"$OUT/perf-by-process.txt"
  perf report -i "$OUT/perf.data" --no-children --sort comm,sym -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -60 >"$OUT/perf-symbols.txt"
  echo "perf: $OUT/perf-by-process.txt, $OUT/perf-symbols.txt"
fi
