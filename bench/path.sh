#!/usr/bin/env bash
# bench/path.sh: where one event's time goes at light load, hop by hop.
# Runs `eventide run` with EVENTIDE_PATH_TRACE set, so the producer, the
# broker and the worker stamp fixed points of each event's way on
# CLOCK_MONOTONIC (common/pathtrace.h), then orders the stamps of all the
# processes by time, one event at a time, and prints each step's p10, p50
# and p90 across the events. Meant for light load (one event in flight:
# the stamps carry no event id) on one host. Run on demand (never by the
# tests); results go to bench/RESULTS.md by hand.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PROG="bench/path.sh"

WORKFLOW=synthetic
SERVICE=const:10ms
RATE=20
DURATION=15
SKIP_S=2
OUT=""
TREE="$ROOT"
EXTRA=()

die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; exit 2; }

usage() {
  cat <<EOF2
usage: bench/path.sh [options] [-- more eventide run options]
  --workflow NAME   the workflow (default $WORKFLOW; one stage)
  --service DIST    its --service, with --mode sleep (default $SERVICE;
                    "" for a workflow without that option, e.g. noop)
  --rate EPS        constant arrivals per second (default $RATE; keep it
                    low enough that events do not overlap)
  --duration S      seconds of load (default $DURATION); the first
                    $SKIP_S s are left out (connections, clock probes)
  --tree DIR        run the eventide of another source tree (built)
  --out DIR         where the run, the stamps and path.txt go (default: a
                    fresh /tmp/eventide-path.XXXXXX)
  --help            this text
Extra options after -- go to eventide run (e.g. --cpus broker=1).
EOF2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --workflow) WORKFLOW="${2:?}"; shift 2 ;;
    --service) SERVICE="${2?}"; shift 2 ;;
    --rate) RATE="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --tree) TREE="$(cd "${2:?}" && pwd)"; shift 2 ;;
    --out) OUT="${2:?}"; shift 2 ;;
    --help|-h) usage; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) usage_error "unknown option $1 (see --help)" ;;
  esac
done
[[ "$RATE" =~ ^[1-9][0-9]*$ ]] || usage_error "--rate: a positive whole number"
[[ "$DURATION" =~ ^[0-9]+$ ]] && [ "$DURATION" -gt "$SKIP_S" ] ||
  usage_error "--duration: whole seconds, more than $SKIP_S"
[ -x "$TREE/build/release/bin/eventide-broker" ] ||
  die "$TREE is not built (./eventide build there)"

[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/eventide-path.XXXXXX)"
mkdir -p "$OUT/stamps"
rm -rf "$OUT/run" "$OUT"/stamps/*.path

service=()
[ -z "$SERVICE" ] || service=(--service "$SERVICE" --mode sleep)
(cd "$TREE" && EVENTIDE_NO_BUILD=1 EVENTIDE_PATH_TRACE="$OUT/stamps" \
  exec ./eventide run --workflow "$WORKFLOW" ${service[@]+"${service[@]}"} \
  --workers 1 --arrival constant --rate "$RATE" --duration "$DURATION" \
  --out "$OUT/run" ${EXTRA[@]+"${EXTRA[@]}"}) >"$OUT/run.log" 2>&1 ||
  die "the run failed: $OUT/run.log"

# The points, numbered as et_path_point_t.
names="producer_woke producer_sending producer_sent broker_woke broker_event
broker_admitted broker_task_sending broker_task_sent worker_woke worker_task
slot_woke function_start function_end result_sending result_sent
broker_woke_result broker_result"

# One event: from a producer_woke to the next; each point's first stamp.
# Each step is one pair of consecutive points the event passed.
cat "$OUT"/stamps/*.path | grep -v '^#' | sort -k2,2n |
  awk -v names="$names" -v skip_ns="$((SKIP_S * 1000000000))" '
    BEGIN {
      n = split(names, name, /[ \n]+/)
      for (p = 1; p <= n; p++) number[name[p]] = p
      start = number["function_start"]; end = number["function_end"]
    }
    function flush(   p, prev, total) {
      if (!(1 in at) || !(n in at) || at[1] < first + skip_ns) return
      prev = 0
      for (p = 1; p <= n; p++) {
        if (!(p in at)) continue
        if (prev) printf "%02d %s->%s %.1f\n", p, name[prev], name[p], (at[p] - at[prev]) / 1000
        prev = p
      }
      total = at[n] - at[1]
      if ((start in at) && (end in at)) total -= at[end] - at[start]
      printf "99 total(without_the_function) %.1f\n", total / 1000
    }
    {
      if (!first) first = $2
      if ($1 == 1) { flush(); delete at }
      if (!($1 in at)) at[$1] = $2
    }
    END { flush() }' | sort -k1,1 -k3,3n |
  awk '
    function report() {
      if (!count) return
      printf "%-44s %9.1f %9.1f %9.1f %6d\n", step, v[int(count * 0.1) + 1], v[int(count * 0.5) + 1], v[int(count * 0.9) + 1], count
    }
    $2 != step { report(); step = $2; count = 0 }
    { v[++count] = $3 }
    END { report() }' >"$OUT/steps.txt"
[ -s "$OUT/steps.txt" ] || die "no whole event among the stamps: $OUT/stamps"

summary="$OUT/run/summary.json"
{
  echo "# bench/path.sh: $WORKFLOW${SERVICE:+, --service $SERVICE --mode sleep}, 1 worker, $RATE events/s for $DURATION s${EXTRA[*]:+, ${EXTRA[*]}}"
  jq -r '"# run: completed \(.events.completed), lost \(.events.lost); end-to-end p50 \(.latency_ms.p50) ms, service p50 \(.stages[0].service_ms.p50) ms, hold p50 \(.stages[0].hold_ms.p50) ms"' "$summary"
  printf '%-44s %9s %9s %9s %6s\n' "step (us)" p10 p50 p90 events
  cat "$OUT/steps.txt"
} | tee "$OUT/path.txt"
