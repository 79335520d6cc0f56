# tests/launcher/helpers.bash: loaded by every launcher test. in_launcher
# runs bash code in a fresh shell with the launcher's settings, shell
# options (set -euo pipefail) and modules, as ./eventide would; no
# pipeline is started. Needs ET_ROOT (the source tree) and ET_BIN_DIR (a
# build's bin directory), as the integration tests do.
bats_require_minimum_version 1.5.0

: "${ET_ROOT:?ET_ROOT must point at the source tree}"
: "${ET_BIN_DIR:?ET_BIN_DIR must point at the bin directory of the build}"
export ET_ROOT ET_BIN_DIR

# in_launcher SCRIPT [ARG...]: run SCRIPT as the body of a function ($1...
# are the ARGs) after the launcher's modules and set_pipeline_defaults;
# sets status, output (stdout) and stderr, as bats's run does.
in_launcher() {
  ET_TEST_TMP="$BATS_TEST_TMPDIR" run --separate-stderr bash -c '
set -euo pipefail
ROOT="$ET_ROOT"
BIN="$ET_BIN_DIR"
BUILD="$(dirname "$BIN")"
STATE="$ET_TEST_TMP/state"
PROG=eventide
for m in util deps options workflow hosts slurm processes pipeline ingest commands prometheus top help; do
  . "$ROOT/launcher/$m.sh"
done
set_pipeline_defaults
# In a function, as the launcher always calls its modules.
s_main() { eval "$s_script"; }
s_script="$1"; shift
s_main "$@"' in_launcher "$@"
}

# eventide ARG...: the launcher itself, on the build under test, with
# state in the test's directory; sets status, output and stderr.
eventide() {
  EVENTIDE_BUILD="$(dirname "$ET_BIN_DIR")" EVENTIDE_NO_BUILD=1 \
    EVENTIDE_STATE="$BATS_TEST_TMPDIR/state" \
    run --separate-stderr "$ET_ROOT/eventide" "$@"
}

# show: what the last run did, for a failing test's log.
show() {
  echo "status $status; stdout: ${output-}" >&2
  echo "stderr: ${stderr-}" >&2
}

# expect_ok: status 0.
expect_ok() {
  [ "$status" -eq 0 ] || { show; return 1; }
}

# expect_usage TEXT...: exit status 2 and exactly one line on stderr,
# "eventide: ...", holding every TEXT.
expect_usage() {
  local t
  [ "$status" -eq 2 ] || { echo "want exit status 2" >&2; show; return 1; }
  [ "${#stderr_lines[@]}" -eq 1 ] || { echo "want one line on stderr" >&2; show; return 1; }
  [[ "$stderr" == "eventide: "* ]] || { echo "want 'eventide: ' first" >&2; show; return 1; }
  for t in "$@"; do
    [[ "$stderr" == *"$t"* ]] || { echo "stderr lacks: $t" >&2; show; return 1; }
  done
}

# expect_output TEXT: stdout is exactly TEXT.
expect_output() {
  [ "$output" = "$1" ] || { echo "want stdout: $1" >&2; show; return 1; }
}

# fake_bins DIR: in DIR, stand-ins for the pipeline's binaries: each logs
# "NAME ARGS..." to DIR/log, then exits $FAKE_RC_NAME (NAME without
# eventide-, - as _; default 0), saying why on stderr in two lines.
fake_bins() {
  local b
  mkdir -p "$1"
  for b in collector broker worker producer autoscaler; do
    cat >"$1/eventide-$b" <<'FAKE'
#!/usr/bin/env bash
name="$(basename "$0")"
printf '%s %s\n' "$name" "$*" >>"$(dirname "$0")/log"
var="FAKE_RC_${name#eventide-}"
rc="${!var:-0}"
[ "$rc" -eq 0 ] || printf '%s: --flag '"'"'v'"'"': why\nmore\n' "$name" >&2
exit "$rc"
FAKE
    chmod +x "$1/eventide-$b"
  done
}

# fake_run DIR [KEY=VALUE...]: DIR as the run directory of a pipeline that
# `up` started on synthetic (nothing runs), its env with the KEY=VALUEs.
fake_run() {
  local run="$1"; shift
  mkdir -p "$run/pids" "$run/logs"
  {
    printf '%s\n' "FRONTEND=ipc://$run/frontend.ipc" "BACKEND=ipc://$run/backend.ipc" \
      "COLLECTOR=ipc://$run/collector.ipc" "STATS=ipc://$run/stats.ipc" \
      TRANSPORT=ipc CURVE_DIR= "OUT=$run/out" WORKFLOW=synthetic \
      "WORKFLOW_FILE=$ET_ROOT/workflows/synthetic.json" SERVICE=exp:10ms MODE=sleep \
      SLOTS= SEED=1 LOG_LEVEL=info IDLE_TIMEOUT= HOSTS_FILE= "HOST_CMD='ssh {host}'" \
      CLOCK_SYNC=auto CLOCK_SKEWS= "$@"
  } >"$run/env"
  echo 1 >"$run/next-producer"
}
