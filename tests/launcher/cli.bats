#!/usr/bin/env bats
# The entry point (./eventide and launcher/commands.sh, help.sh,
# pipeline.sh): help lists every command main dispatches, every command
# answers --help, the launcher works through a symlink and from another
# directory, reads no JSON itself, and builds each binary's command line
# from the settings and the workflow in one place.

load helpers

# The commands main() dispatches, from its case statement.
dispatched() {
  sed -n '/^main() {/,/^}/p' "$ET_ROOT/eventide" |
    sed -n 's/^ *\([a-z][a-z|-]*\)) cmd_.*/\1/p' | tr '|' '\n'
}

@test "help lists every command, build included" {
  eventide help
  expect_ok
  cmds="$(dispatched)"
  [ "$(echo "$cmds" | wc -l)" -ge 11 ] || { echo "$cmds"; false; }
  for c in $cmds; do
    grep -Eq "^  $c( |$)" <<<"$output" || { echo "help lacks $c" >&2; show; false; }
  done
  grep -Eq '^  build ' <<<"$output"
  eventide
  expect_ok
  grep -Eq '^usage: ./eventide COMMAND' <<<"$output"
}

@test "every command answers --help and -h with exit 0" {
  for c in $(dispatched); do
    eventide "$c" --help
    expect_ok
    [[ "$output" == usage:* ]] || { echo "$c --help" >&2; show; false; }
    eventide "$c" -h
    expect_ok
  done
}

@test "an unknown command: exit 2 and the help on stderr" {
  eventide dance
  [ "$status" -eq 2 ] || { show; false; }
  [[ "${stderr_lines[0]}" == "eventide: unknown command 'dance'" ]] || { show; false; }
  [[ "$stderr" == *"usage: ./eventide COMMAND"* ]] || { show; false; }
}

@test "through a symlink, from another directory" {
  mkdir -p "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/elsewhere"
  ln -s "$ET_ROOT/eventide" "$BATS_TEST_TMPDIR/bin/et"
  ln -s "$BATS_TEST_TMPDIR/bin/et" "$BATS_TEST_TMPDIR/et2"
  cd "$BATS_TEST_TMPDIR/elsewhere"
  EVENTIDE_BUILD="$(dirname "$ET_BIN_DIR")" EVENTIDE_NO_BUILD=1 \
    run --separate-stderr "$BATS_TEST_TMPDIR/et2" build
  expect_ok
  expect_output "built: $ET_BIN_DIR"
  EVENTIDE_BUILD="$(dirname "$ET_BIN_DIR")" EVENTIDE_NO_BUILD=1 \
    run --separate-stderr ../bin/et run --workflow nosuch
  expect_usage "--workflow 'nosuch'" "$ET_ROOT/workflows"
}

@test "build takes no arguments" {
  eventide build now
  expect_usage "build: unknown option 'now'"
}

@test "the launcher reads no JSON: no jq in it, and bats among the packages" {
  ! grep -nw jq "$ET_ROOT/eventide" $(ls "$ET_ROOT"/launcher/*.sh | grep -v deps.sh)
  in_launcher 'printf "%s\n" "${APT_PACKAGES[@]}"'
  expect_ok
  grep -qx bats <<<"$output"
  grep -qx jq <<<"$output"
  grep -qx procps <<<"$output"
}

@test "every module opens with what it is for and defines only functions and settings" {
  for m in "$ET_ROOT"/launcher/*.sh; do
    head -n 1 "$m" | grep -q "^# launcher/$(basename "$m"): " || { echo "$m" >&2; false; }
    # Sourcing a module alone runs nothing and prints nothing.
    run bash -euo pipefail -c '. "$1"' _ "$m"
    [ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$m: $output" >&2; false; }
  done
}

# Settings as `run` leaves them, for the command-line builders below.
pipeline_settings='
  FRONTEND=ipc:///r/frontend.ipc; BACKEND=ipc:///r/backend.ipc
  COLLECTOR=ipc:///r/collector.ipc; STATS=ipc:///r/stats.ipc
  show_argv() { local -a a; "$@"; printf "%s\n" "${a[*]}"; }'

@test "redis_url: the private store for a workflow that names {redis}, --redis instead, none otherwise" {
  in_launcher "$pipeline_settings"'
    local -A wf syn; workflow_load wf fraud /out; workflow_load syn synthetic
    echo "[$(redis_url wf /r)] [$(redis_url syn /r)]"
    REDIS=host:6379; echo "[$(redis_url wf /r)] [$(redis_url syn /r)]"
    REDIS_URL="$(redis_url wf /r)"; show_argv worker_argv a wf fraud 1
    REDIS=""; HOSTS_FILE=/h; redis_url wf /r'
  expect_usage "--hosts: workflow fraud uses a feature store ({redis}); give --redis HOST:PORT"
  fraud="$ET_ROOT/workflows/fraud.json"
  expect_output "[unix:/r/redis.sock] []
[host:6379] []
$ET_BIN_DIR/eventide-worker --function fraud --broker ipc:///r/backend.ipc --collector ipc:///r/collector.ipc --workflow $fraud --seed 1001 --instance fraud-1 --log-level info --redis host:6379 --clock-sync auto"
}

@test "worker_argv: the workflow file, and on top only what the user set" {
  in_launcher "$pipeline_settings"'
    OUT=/out; local -A wf; workflow_load wf fraud "$OUT"
    SEED=3; IDLE_TIMEOUT=30; CLOCK_SKEWS=workers=5
    show_argv worker_argv a wf fraud 2
    show_argv worker_argv a wf sink 1 cloud
    OUT=""; local -A syn; workflow_load syn synthetic
    SLOTS=4; IDLE_TIMEOUT=""; CLOCK_SKEWS=""; CURVE_DIR=/k; SERVICE=const:5ms; MODE=spin
    show_argv worker_argv a syn synthetic 1'
  expect_ok
  fraud="$ET_ROOT/workflows/fraud.json"
  expect_output "$ET_BIN_DIR/eventide-worker --function fraud --broker ipc:///r/backend.ipc --collector ipc:///r/collector.ipc --workflow $fraud --out /out --seed 3002 --instance fraud-2 --log-level info --idle-timeout 30 --clock-sync auto --clock-skew 5
$ET_BIN_DIR/eventide-worker --function sink --broker ipc:///r/backend.ipc --collector ipc:///r/collector.ipc --workflow $fraud --out /out --seed 3001 --instance sink-1 --log-level info --idle-timeout 30 --clock-sync auto --clock-skew 5 --host-name cloud
$ET_BIN_DIR/eventide-worker --function synthetic --broker ipc:///r/backend.ipc --collector ipc:///r/collector.ipc --workflow $ET_ROOT/workflows/synthetic.json --slots 4 --seed 3001 --instance synthetic-1 --log-level info --service const:5ms --mode spin --curve /k --clock-sync auto"
}

@test "worker_argv's command line is one the worker accepts, with the workflow's settings" {
  in_launcher "$pipeline_settings"'
    OUT=/tmp/et-bats-out; local -A wf; workflow_load wf fraud "$OUT"
    REDIS_URL=unix:/tmp/et-bats-redis.sock
    show_argv worker_argv a wf sink 1'
  expect_ok
  # The sink's decision stream names {redis}: run and up pass --redis.
  [[ "$output" == *"--redis unix:/tmp/et-bats-redis.sock"* ]]
  # --check validates the whole command line, the workflow file included.
  run $output --check
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
}

@test "producer_argv: flags given, else the workflow's defaults; replays run to their end" {
  cd "$ET_ROOT"
  in_launcher "$pipeline_settings"'
    local -A wf; workflow_load wf sensor
    show_argv producer_argv a wf 1
    parse_pipeline_opt --rate 5; show_argv producer_argv a wf 2 edge
    local -A syn; workflow_load syn synthetic; RATE_SET=0
    parse_pipeline_opt --arrival trace:data/nab/combined_windows.json
    parse_pipeline_opt --clock-skew producer=-250
    show_argv producer_argv a syn 3
    parse_pipeline_opt --duration 2; parse_pipeline_opt --fraud-rate 0.1
    parse_pipeline_opt --curve /; show_argv producer_argv a syn 4'
  expect_ok
  nab="nab:$ET_ROOT/data/nab/realKnownCause/machine_temperature_system_failure.csv"
  labels="$ET_ROOT/data/nab/combined_windows.json"
  expect_output "$ET_BIN_DIR/eventide-producer --broker ipc:///r/frontend.ipc --collector ipc:///r/collector.ipc --id 1 --rate 10 --arrival poisson --seed 1 --payload-bytes 0 --log-level info --source $nab --labels $labels --speedup 100000 --clock-sync auto
$ET_BIN_DIR/eventide-producer --broker ipc:///r/frontend.ipc --collector ipc:///r/collector.ipc --id 2 --rate 5 --arrival poisson --seed 1 --payload-bytes 0 --log-level info --duration 10 --source $nab --labels $labels --clock-sync auto --host-name edge
$ET_BIN_DIR/eventide-producer --broker ipc:///r/frontend.ipc --collector ipc:///r/collector.ipc --id 3 --rate 5 --arrival trace:$labels --seed 1 --payload-bytes 0 --log-level info --source synthetic --clock-sync auto --clock-skew -250
$ET_BIN_DIR/eventide-producer --broker ipc:///r/frontend.ipc --collector ipc:///r/collector.ipc --id 4 --rate 5 --arrival trace:$labels --seed 1 --payload-bytes 0 --log-level info --duration 2 --source synthetic --fraud-rate 0.1 --curve / --clock-sync auto --clock-skew -250"
}

@test "broker_argv: --backlog-memory and --spill-max passed on, the spill file in the run directory" {
  in_launcher "$pipeline_settings"'
    local -A wf; workflow_load wf fraud
    BACKLOG_MEMORY=1024; SPILL_MAX=2048
    show_argv broker_argv a /r wf ipc:///r/f ipc:///r/b ipc:///r/c ipc:///r/s'
  expect_ok
  expect_output "$ET_BIN_DIR/eventide-broker --frontend ipc:///r/f --backend ipc:///r/b --collector ipc:///r/c --stats ipc:///r/s --workflow $ET_ROOT/workflows/fraud.json --queue-cap 10000 --drain-timeout 30 --log-level info --backlog-memory 1024 --spill-max 2048 --spill-file /r/collector.spill --collector-acks --metrics 127.0.0.1:0 --endpoints-file /r/broker.endpoints"
}

@test "collector_argv, broker_argv and autoscaler_argv" {
  in_launcher "$pipeline_settings"'
    local -A wf; workflow_load wf fraud
    MEMORY_MB=512; CURVE_DIR=/k
    show_argv collector_argv a /r /res/run-7 1 10 ipc:///r/collector.ipc wf
    show_argv broker_argv a /r wf tcp://f tcp://b tcp://c tcp://s
    parse_pipeline_opt --metrics off
    show_argv broker_argv a /r wf tcp://f tcp://b tcp://c tcp://s
    parse_pipeline_opt --metrics 0.0.0.0:9464
    show_argv broker_argv a /r wf tcp://f tcp://b tcp://c tcp://s
    show_argv collector_argv a /r /res/run-7 1 10 ipc:///r/collector.ipc wf
    AUTOSCALE=hpa; AS_MIN=0; AS_TARGET=0.7; AS_ARGS=(--stable-window=6)
    show_argv autoscaler_argv a /r /res/run-7
    parse_pipeline_opt --metrics off
    show_argv autoscaler_argv a /r /res/run-7'
  expect_ok
  build="$(dirname "$ET_BIN_DIR")"
  expect_output "$ET_BIN_DIR/eventide-collector --bind ipc:///r/collector.ipc --memory-mb 512 --out /res/run-7 --expect-producers 1 --drain-timeout 45 --usage-grace 10 --curve /k --metrics 127.0.0.1:0 --endpoints-file /r/collector.endpoints --workflow $ET_ROOT/workflows/fraud.json --run-id run-7 --log-level info --journal /r/collector.journal --broker-endpoints /r/broker.endpoints
$ET_BIN_DIR/eventide-broker --frontend tcp://f --backend tcp://b --collector tcp://c --stats tcp://s --workflow $ET_ROOT/workflows/fraud.json --queue-cap 10000 --drain-timeout 30 --log-level info --spill-file /r/collector.spill --collector-acks --metrics 127.0.0.1:0 --curve /k --endpoints-file /r/broker.endpoints
$ET_BIN_DIR/eventide-broker --frontend tcp://f --backend tcp://b --collector tcp://c --stats tcp://s --workflow $ET_ROOT/workflows/fraud.json --queue-cap 10000 --drain-timeout 30 --log-level info --spill-file /r/collector.spill --collector-acks --metrics off --curve /k --endpoints-file /r/broker.endpoints
$ET_BIN_DIR/eventide-broker --frontend tcp://f --backend tcp://b --collector tcp://c --stats tcp://s --workflow $ET_ROOT/workflows/fraud.json --queue-cap 10000 --drain-timeout 30 --log-level info --spill-file /r/collector.spill --collector-acks --metrics 0.0.0.0:9464 --curve /k --endpoints-file /r/broker.endpoints
$ET_BIN_DIR/eventide-collector --bind ipc:///r/collector.ipc --memory-mb 512 --out /res/run-7 --expect-producers 1 --drain-timeout 45 --usage-grace 10 --curve /k --metrics 0.0.0.0:9465 --endpoints-file /r/collector.endpoints --workflow $ET_ROOT/workflows/fraud.json --run-id run-7 --log-level info --journal /r/collector.journal --broker-endpoints /r/broker.endpoints
$ET_BIN_DIR/eventide-autoscaler --stats ipc:///r/stats.ipc --policy hpa --min 0 --target-utilization 0.7 --curve /k --metrics 0.0.0.0:9466 --endpoints-file /r/autoscaler.endpoints --stable-window=6 --decisions /res/run-7/autoscaler.jsonl --log-level info --scale-cmd EVENTIDE_RUN=/r EVENTIDE_BUILD=$build $ET_ROOT/eventide scale {function} {replicas}
$ET_BIN_DIR/eventide-autoscaler --stats ipc:///r/stats.ipc --policy hpa --min 0 --target-utilization 0.7 --curve /k --stable-window=6 --decisions /res/run-7/autoscaler.jsonl --log-level info --scale-cmd EVENTIDE_RUN=/r EVENTIDE_BUILD=$build $ET_ROOT/eventide scale {function} {replicas}"
}

@test "with --hosts: no collector journal, no acknowledgements, and restart collector refused" {
  in_launcher "$pipeline_settings"'
    local -A wf; workflow_load wf synthetic
    HOSTS_FILE=/h
    show_argv collector_argv a /r /res/run-7 1 10 tcp://10.0.0.1:7000 wf
    show_argv broker_argv a /r wf tcp://f tcp://b tcp://c tcp://s'
  expect_ok
  [[ "$output" != *--journal* ]] || { show; return 1; }
  [[ "$output" != *--broker-endpoints* ]] || { show; return 1; }
  [[ "$output" != *--collector-acks* ]] || { show; return 1; }
  run_dir="$BATS_TEST_TMPDIR/state/run-1"
  mkdir -p "$run_dir"
  ln -s "$run_dir" "$BATS_TEST_TMPDIR/state/current"
  printf 'HOSTS_FILE=/h\nCOLLECTOR=tcp://10.0.0.1:7000\n' >"$run_dir/env"
  eventide restart collector
  [ "$status" -eq 1 ] || { show; return 1; }
  [[ "$stderr" == *"restart collector: not with --hosts"* ]] || { show; return 1; }
}

@test "restart: broker or collector, nothing else" {
  eventide restart autoscaler
  expect_usage "restart broker|collector"
  eventide restart collector extra
  expect_usage "restart broker|collector"
}
