# Shared helpers for integration tests: a private temp dir and state dir per
# test, the launcher pointed at the build under test, and clean-up of every
# process whatever happens.
set -euo pipefail

: "${ET_BIN_DIR:?ET_BIN_DIR must point at the bin directory of the build}"
: "${ET_ROOT:?ET_ROOT must point at the source tree}"

ET_TMP="$(mktemp -d /tmp/et-test.XXXXXX)"
export EVENTIDE_BUILD="$(dirname "$ET_BIN_DIR")"
export EVENTIDE_STATE="$ET_TMP/state"
export EVENTIDE_NO_BUILD=1
EVENTIDE="$ET_ROOT/eventide"

# et_cleanup [RC]: RC is the exit status to keep (default: the last
# command's, as when it is the EXIT trap itself).
et_cleanup() {
  local rc=$?
  [ $# -gt 0 ] && rc="$1"
  if [ -L "$EVENTIDE_STATE/current" ]; then
    local run f
    run="$(readlink -f "$EVENTIDE_STATE/current")"
    for f in "$run"/pids/*.pid; do
      [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
    done
    rm -rf "$run"
  fi
  for f in "${ET_EXTRA_PIDS[@]-}"; do
    [ -n "$f" ] && kill -KILL "$f" 2>/dev/null || true
  done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then # 77: a skip
    echo "--- test failed (rc=$rc); logs:" >&2
    find "$ET_TMP" -name '*.log' -exec sh -c 'echo "== $1"; tail -n 30 "$1"' _ {} \; >&2 || true
  fi
  rm -rf "$ET_TMP"
  exit $rc
}
ET_EXTRA_PIDS=()
trap et_cleanup EXIT

# launcher_only_test WHAT: skips (77) in the ASan build a test whose
# subject is the launcher (WHAT), not the C code: its processes run paths
# that other integration tests run under ASan, and running it twice would
# only spend the suite's time budget (ET_SANITIZE_BUILD, tests/CMakeLists.txt).
launcher_only_test() {
  if [ "${ET_SANITIZE_BUILD:-0}" = 1 ]; then
    echo "SKIP: tests $1 (the launcher); runs in the release build only"
    exit 77
  fi
}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# json FILE FILTER: one value from a JSON file.
json() { jq -r "$2" "$1"; }

# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

# run_collector OUT: "PID RUNDIR" of the collector that `eventide run
# --out OUT` started, or nothing yet. Its --check preflight has the same
# command line for an instant and is passed over (as is a process gone
# before its command line was read).
run_collector() {
  local pid args dir
  for pid in $(pgrep -f -- "eventide-collector .*--out $1 " || true); do
    args="$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline")" || continue
    grep -qx -- --check <<<"$args" && continue
    dir="$(sed -n 's#^\(.*\)/collector\.endpoints$#\1#p' <<<"$args")"
    [ -n "$dir" ] && { echo "$pid $dir"; return 0; }
  done
  return 0
}

# collector_under_load OUT LAUNCHER: wait until the collector of the `run
# --out OUT` (whose launcher is LAUNCHER, its output in ET_TMP/run.log)
# has producer 1's HELLO, so the load has started; sets cpid and run to
# its pid and run directory. From then on the EXIT trap also resumes it,
# so a test that stops the collector (SIGSTOP) never leaves it stopped.
collector_under_load() {
  local out="$1" launcher="$2" found
  cpid="" run=""
  for _ in $(seq 600); do
    found="$(run_collector "$out")"
    if [ -n "$found" ]; then
      cpid="${found%% *}" run="${found#* }"
      grep -q 'producer 1 started' "$run/logs/collector.log" 2>/dev/null && break
    fi
    kill -0 "$launcher" 2>/dev/null || { cat "$ET_TMP/run.log" >&2; fail "the run ended before the load started"; }
    sleep 0.05
  done
  [ -n "$cpid" ] || fail "no collector found for the run"
  trap 'rc=$?; kill -CONT "$cpid" 2>/dev/null || true; et_cleanup "$rc"' EXIT
}

# expect_balanced SUMMARY: something was sent, every sent event is
# completed, failed, rejected or lost, and lost_reasons add up to lost.
# Leaves the counts in SENT, COMPLETED, FAILED, REJECTED and LOST.
expect_balanced() {
  local s="$1"
  SENT=$(json "$s" .events.sent)
  COMPLETED=$(json "$s" .events.completed)
  FAILED=$(json "$s" .events.failed)
  REJECTED=$(json "$s" .events.rejected)
  LOST=$(json "$s" .events.lost)
  [ "$SENT" -gt 0 ] || fail "nothing was sent"
  expect_eq "sent = completed + failed + rejected + lost" \
    "$SENT" "$((COMPLETED + FAILED + REJECTED + LOST))"
  expect_eq "lost_reasons add up to lost" \
    "$(jq '[(.events.lost_reasons // {})[]] | add // 0' "$s")" "$LOST"
}

# expect_accounted SUMMARY: every sent event ended exactly once, none lost.
expect_accounted() {
  expect_balanced "$1"
  expect_eq "lost" "$LOST" 0
}

# test_mosquitto DIR: a mosquitto of the test's own on a free localhost
# port (its config and log in DIR), killed by the clean-up; its port in
# MQ_PORT once it runs.
test_mosquitto() {
  local dir="$1" p
  MQ_PORT=""
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    ss -Htln | awk '{print $4}' | grep -qE "[:.]$p\$" || { MQ_PORT=$p; break; }
  done
  [ -n "$MQ_PORT" ] || fail "no free port"
  mkdir -p "$dir"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\n' "$MQ_PORT" "$(id -un)" \
    >"$dir/mosquitto.conf"
  (exec mosquitto -c "$dir/mosquitto.conf") >"$dir/mosquitto.log" 2>&1 &
  ET_EXTRA_PIDS+=("$!")
  for _ in $(seq 200); do
    grep -q ' running$' "$dir/mosquitto.log" && return 0
    sleep 0.05
  done
  fail "mosquitto did not start: $(tail -3 "$dir/mosquitto.log")"
}

