#!/usr/bin/env bats
# The options of run, up, produce and sweep (launcher/options.sh): the
# values the launcher uses itself are judged there (stored, or a one-line
# usage error naming the flag, exit 2); the rest are stored as given and
# judged by the binaries, through the preflight (check_pipeline_argv in
# launcher/pipeline.sh), before anything starts; the checks across
# options, before and after the workflow is read; and the same through
# ./eventide.

load helpers

# accepts FLAG VAR VALUE...: parse_pipeline_opt stores each VALUE in the
# setting VAR (one shell for all the values, each in a subshell of it).
accepts() {
  local flag="$1" var="$2" v want=""
  shift 2
  in_launcher 'flag="$1" var="$2"; shift 2
               for v in "$@"; do
                 (parse_pipeline_opt "$flag" "$v"; eval "echo \"\${$var[*]}\"")
               done' "$flag" "$var" "$@"
  expect_ok
  for v in "$@"; do want+="$v"$'\n'; done
  expect_output "${want%$'\n'}"
}

# refuses FLAG VALUE...: for each VALUE, a usage error: exit status 2 and
# one line on stderr naming FLAG and VALUE ("FLAG needs a value" when
# VALUE is empty).
refuses() {
  local flag="$1" v k rc value n err
  shift
  in_launcher 'flag="$1"; shift
               for v in "$@"; do
                 rc=0
                 err="$( (parse_pipeline_opt "$flag" "$v") 2>&1 >/dev/null)" || rc=$?
                 printf "%s\037%s\037%s\037%s\n" "$rc" "$v" \
                   "$(printf "%s\n" "$err" | wc -l)" "$(printf "%s\n" "$err" | head -n 1)"
               done' "$flag" "$@"
  expect_ok
  [ "${#lines[@]}" -eq "$#" ] || { show; return 1; }
  k=0
  for v in "$@"; do
    IFS=$'\037' read -r rc value n err <<<"${lines[$k]}"
    k=$((k + 1))
    [ "$n" -eq 1 ] || { echo "$flag '$v': $n lines on stderr" >&2; show; return 1; }
    status="$rc" stderr="$err" stderr_lines=("$err")
    if [ -z "$v" ]; then expect_usage "$flag needs a value"
    else expect_usage "$flag '$v'"; fi
  done
}

@test "every option needs a value" {
  for flag in --workflow --workers --service --mode --slots --queue-cap \
              --shed-pause --task-batch --backlog-memory --spill-max --rate --source --labels --speedup --fraud-rate \
              --malformed-rate --duration --arrival --seed --payload-bytes \
              --out --drain-timeout --log-level --idle-timeout --memory-mb \
              --price-gb-s --price-requests --autoscale --min --max \
              --target --autoscale-arg --hosts --host-cmd --port-base \
              --netem --clock-sync --clock-skew --transport --curve \
              --supervise --checkpoint-interval --cpus --metrics \
              --service-scale --minutes --functions --iat --max-instances; do
    refuses "$flag" ""
  done
}

@test "an unknown option is refused by name" {
  in_launcher 'parse_pipeline_opt --bogus 1'
  expect_usage "unknown option '--bogus'"
}

@test "the defaults" {
  in_launcher 'echo "$WORKFLOW $WORKERS_SPEC $SERVICE $MODE $QUEUE_CAP $RATE $DURATION $ARRIVAL $SEED $TRANSPORT $CLOCK_SYNC $DRAIN_TIMEOUT $LOG_LEVEL $HOST_CMD"'
  expect_ok
  expect_output "synthetic 2 exp:10ms sleep 10000 10 10 poisson 1 ipc auto 30 info ssh {host}"
}

@test "--metrics: on 127.0.0.1, a free port, by default" {
  in_launcher 'echo "$METRICS"'
  expect_ok
  expect_output "127.0.0.1:0"
}

@test "--workflow is stored as given (workflow_load checks it)" {
  accepts --workflow WORKFLOW fraud ./my.json
}

@test "--workers: N or FUNCTION=N,..." {
  accepts --workers WORKERS_SPEC 3 0 fraud=2 preprocess=1,fraud=2,decide=1,sink=1 \
    a.b-c_d=1,e=2,
  refuses --workers many -1 1.5 a= =1 a=x a=1b=2 a=1,,b=2 ,a=1 "a b=1" "a=1 "
}

@test "--seed: an integer below 1e15 (worker_argv computes SEED*1000+INDEX)" {
  accepts --seed SEED 0 42 999999999999999
  refuses --seed -1 1.5 x 1k 1000000000000000 99999999999999999999
}

@test "--drain-timeout: seconds (collector_argv adds 15 in awk)" {
  accepts --drain-timeout DRAIN_TIMEOUT 10 0.5 0 3600
  refuses --drain-timeout fast -5 1e3 .5 5. 10s 1/2 "1 2"
}

@test "--rate and --duration remember that they were given" {
  in_launcher 'echo "$RATE_SET $DURATION_SET"; parse_pipeline_opt --rate 5; parse_pipeline_opt --duration 3; echo "$RATE_SET $DURATION_SET"'
  expect_ok
  expect_output $'0 0\n1 1'
}

@test "the values only passed on are stored as given: the binaries judge them" {
  for pair in --service:SERVICE --mode:MODE --slots:SLOTS --queue-cap:QUEUE_CAP \
              --shed-pause:SHED_PAUSE --task-batch:TASK_BATCH \
              --backlog-memory:BACKLOG_MEMORY \
              --spill-max:SPILL_MAX --metrics:METRICS \
              --rate:RATE --source:SOURCE --labels:LABELS --speedup:SPEEDUP \
              --fraud-rate:FRAUD_RATE --malformed-rate:MALFORMED_RATE \
              --duration:DURATION --arrival:ARRIVAL --payload-bytes:PAYLOAD_BYTES \
              --out:OUT --log-level:LOG_LEVEL --idle-timeout:IDLE_TIMEOUT \
              --memory-mb:MEMORY_MB --price-gb-s:PRICE_GB_S \
              --price-requests:PRICE_REQUESTS --min:AS_MIN --max:AS_MAX \
              --target:AS_TARGET --clock-sync:CLOCK_SYNC --hosts:HOSTS_FILE \
              --service-scale:SERVICE_SCALE --minutes:MINUTES \
              --functions:FUNCTIONS --iat:IAT --max-instances:MAX_INSTANCES; do
    accepts "${pair%%:*}" "${pair#*:}" 10 fast -5 1e3 "some value/x:1"
  done
}

@test "--max-instances needs --autoscale" {
  in_launcher 'parse_pipeline_opt --max-instances 4; check_pipeline_opts'
  expect_usage "--max-instances '4': needs --autoscale"
  in_launcher 'parse_pipeline_opt --max-instances 4
               parse_pipeline_opt --autoscale kpa; check_pipeline_opts; echo ok'
  expect_ok
  expect_output "ok"
}

@test "--autoscale: kpa, hpa or rps" {
  accepts --autoscale AUTOSCALE kpa hpa rps
  refuses --autoscale knative KPA
}

@test "--autoscale-arg: --flag=value, repeatable" {
  in_launcher 'parse_pipeline_opt --autoscale-arg --stable-window=6
               parse_pipeline_opt --autoscale-arg --panic-threshold=2.0
               printf "%s\n" "${AS_ARGS[@]}"'
  expect_ok
  expect_output $'--stable-window=6\n--panic-threshold=2.0'
  refuses --autoscale-arg stable-window=6 --stable-window --stable-window= \
    "--a=b c" "--A=1" "--a=\$(x)"
}

@test "--host-cmd: a command" {
  accepts --host-cmd HOST_CMD "ssh {host}" "ip netns exec {host}"
  refuses --host-cmd " ssh {host}"
}

@test "--port-base: a port from 1024 to 65532" {
  accepts --port-base PORT_BASE 1024 65532
  refuses --port-base 80 1023 65533 99999 x -1
}

@test "--redis: a socket path or HOST:PORT" {
  accepts --redis REDIS unix:/run/r.sock /tmp/r.sock 127.0.0.1:6379 redis://cache.local:6380
  refuses --redis relative.sock unix:r.sock host 'host:port' 'redis://a b:1'
}

@test "--supervise: how many broker (and collector) restarts, 0 (the default) to 100" {
  in_launcher 'echo "$SUPERVISE"'
  expect_ok
  expect_output 0
  accepts --supervise SUPERVISE 0 5 100
  refuses --supervise 101 -1 x 2.5 "5 "
}

@test "--checkpoint-interval: seconds, the collector's default when not given" {
  in_launcher 'echo "[$CHECKPOINT_INTERVAL]"'
  expect_ok
  expect_output "[]"
  accepts --checkpoint-interval CHECKPOINT_INTERVAL 0 0.5 30
  refuses --checkpoint-interval -1 x 5s
}

@test "--supervise: not with --hosts" {
  in_launcher 'parse_pipeline_opt --supervise 3; check_pipeline_opts; echo ok'
  expect_ok
  expect_output ok
  in_launcher 'parse_pipeline_opt --hosts /nonexistent; parse_pipeline_opt --supervise 3; check_pipeline_opts'
  expect_usage "--supervise '3'" "not with --hosts"
}

@test "--ingest: mqtt only, a nab: source, not with --hosts" {
  in_launcher 'parse_pipeline_opt --ingest mqtt; check_pipeline_opts; echo ok'
  expect_ok
  expect_output ok
  in_launcher 'parse_pipeline_opt --ingest kafka; check_pipeline_opts'
  expect_usage "--ingest 'kafka'" "expected mqtt"
  in_launcher 'parse_pipeline_opt --ingest mqtt; parse_pipeline_opt --source fraud; check_pipeline_opts'
  expect_usage "--ingest mqtt" "nab:FILE"
  in_launcher 'parse_pipeline_opt --hosts /nonexistent; parse_pipeline_opt --ingest mqtt; check_pipeline_opts'
  expect_usage "--ingest mqtt" "not with --hosts"
}

@test "--netem: HOST=SPEC, repeatable" {
  in_launcher 'parse_pipeline_opt --netem "edge=delay 20ms loss 1%"
               parse_pipeline_opt --netem core=rate_1mbit
               printf "%s\n" "${NETEM[@]}"'
  expect_ok
  expect_output $'edge=delay 20ms loss 1%\ncore=rate_1mbit'
  refuses --netem edge =delay "1edge=delay" "edge=" "edge=delay;rm -rf /" \
    "edge=\$(reboot)"
}

@test "--clock-skew: ROLE=MS or HOST=MS, repeatable" {
  in_launcher 'parse_pipeline_opt --clock-skew producer=-250
               parse_pipeline_opt --clock-skew workers=+5
               parse_pipeline_opt --clock-skew edge.1=1.5
               echo "$CLOCK_SKEWS"'
  expect_ok
  expect_output "producer=-250 workers=+5 edge.1=1.5"
  refuses --clock-skew 250 producer=250ms =5 1x=5 producer= producer=1e3 "producer=1 2"
}

@test "--clock-skew: a host name needs --hosts" {
  in_launcher 'parse_pipeline_opt --clock-skew producer=5; parse_pipeline_opt --clock-skew workers=-5; check_pipeline_opts'
  expect_ok
  in_launcher 'parse_pipeline_opt --clock-skew edge=250; check_pipeline_opts'
  expect_usage "--clock-skew 'edge=250'" "needs --hosts"
}

@test "clock_args: the role's skew, a host's wins, and the host's name" {
  in_launcher 'CLOCK_SKEWS="producer=-250 workers=+5 cloud=600"; CLOCK_SYNC=on
               show_args() { local -a a; clock_args a "$@"; echo "${a[*]}"; }
               show_args producer; show_args workers; show_args workers cloud
               show_args workers edge; CLOCK_SKEWS=""; show_args producer
               CLOCK_SKEWS="producer=1 producer=2 edge=3 edge=4"; show_args producer
               show_args producer edge'
  expect_ok
  expect_output "--clock-sync on --clock-skew -250
--clock-sync on --clock-skew 5
--clock-sync on --clock-skew 600 --host-name cloud
--clock-sync on --clock-skew 5 --host-name edge
--clock-sync on
--clock-sync on --clock-skew 1
--clock-sync on --clock-skew 4 --host-name edge"
}

@test "--transport: ipc or tcp" {
  accepts --transport TRANSPORT ipc tcp
  refuses --transport udp TCP
}

@test "--curve: an existing directory, made absolute, implying tcp" {
  mkdir -p "$BATS_TEST_TMPDIR/keys"
  cd "$BATS_TEST_TMPDIR"
  in_launcher 'parse_pipeline_opt --curve keys; check_pipeline_opts; echo "$CURVE_DIR $TRANSPORT"'
  expect_ok
  expect_output "$BATS_TEST_TMPDIR/keys tcp"
  refuses --curve "$BATS_TEST_TMPDIR/no-such-dir"
  in_launcher 'parse_pipeline_opt --curve nowhere'
  expect_usage "--curve 'nowhere'" "./eventide keys"
  in_launcher 'parse_pipeline_opt --curve "$1"; parse_pipeline_opt --transport ipc; check_pipeline_opts' "$BATS_TEST_TMPDIR/keys"
  expect_usage "--curve '$BATS_TEST_TMPDIR/keys'" "needs --transport tcp"
  in_launcher 'parse_pipeline_opt --curve "$1"; parse_pipeline_opt --transport tcp; check_pipeline_opts' "$BATS_TEST_TMPDIR/keys"
  expect_ok
}

@test "--netem and --port-base need --hosts; --hosts runs over tcp" {
  in_launcher 'parse_pipeline_opt --netem edge=delay; check_pipeline_opts'
  expect_usage "--netem 'edge=delay'" "needs --hosts"
  in_launcher 'parse_pipeline_opt --port-base 24000; check_pipeline_opts'
  expect_usage "--port-base '24000'" "needs --hosts"
  in_launcher 'parse_pipeline_opt --hosts h; parse_pipeline_opt --transport ipc; check_pipeline_opts'
  expect_usage "--transport 'ipc'" "--hosts runs over tcp"
  in_launcher 'parse_pipeline_opt --hosts h; check_pipeline_opts; echo "$TRANSPORT"'
  expect_ok
  expect_output tcp
}

@test "--workers against the workflow's functions" {
  in_launcher 'local -A wf; workflow_load wf fraud
               parse_pipeline_opt --workers preprocess=1,fraud=2; check_workers_spec wf
               for f in preprocess fraud decide; do workers_for "$f"; done
               parse_pipeline_opt --workers 3; check_workers_spec wf; workers_for sink'
  expect_ok
  expect_output $'1\n2\n0\n3'
  in_launcher 'local -A wf; workflow_load wf fraud
               parse_pipeline_opt --workers preprocess=1,nosuch=2; check_workers_spec wf'
  expect_usage "--workers 'preprocess=1,nosuch=2'" "workflow fraud has no function 'nosuch'"
  in_launcher 'local -A wf; workflow_load wf synthetic
               parse_pipeline_opt --workers fraud=1; check_workers_spec wf'
  expect_usage "--workers 'fraud=1'" "workflow synthetic has no function 'fraud'"
}

@test "check_argv: --check appended, from the source tree; exit 2 is the binary's line, other failures die" {
  fake_bins "$BATS_TEST_TMPDIR/bin"
  fake="$BATS_TEST_TMPDIR/bin/eventide-producer"
  cd "$BATS_TEST_TMPDIR"
  in_launcher 'check_argv "$1" --rate 5 "a b"; pwd' "$fake"
  expect_ok
  expect_output "$BATS_TEST_TMPDIR"
  [ "$(cat "$BATS_TEST_TMPDIR/bin/log")" = "eventide-producer --rate 5 a b --check" ]
  FAKE_RC_producer=2 in_launcher 'check_argv "$1" --rate x; echo not reached' "$fake"
  expect_usage "eventide-producer: --flag 'v': why"
  [ -z "$output" ]
  FAKE_RC_producer=3 in_launcher 'check_argv "$1" --rate x; echo not reached' "$fake"
  [ "$status" -eq 1 ] || { show; false; }
  [[ "$stderr" == *"eventide-producer (exit 3)"*"why"* ]] || { show; false; }
  in_launcher 'check_argv "$1/eventide-nosuch"' "$BATS_TEST_TMPDIR/bin"
  [ "$status" -eq 1 ] || { show; false; }
  # The binary runs in the source tree, as start_bg runs it.
  printf '#!/bin/sh\npwd >"%s"\n' "$BATS_TEST_TMPDIR/cwd" >"$BATS_TEST_TMPDIR/bin/pwd-fake"
  chmod +x "$BATS_TEST_TMPDIR/bin/pwd-fake"
  in_launcher 'check_argv "$1"' "$BATS_TEST_TMPDIR/bin/pwd-fake"
  expect_ok
  [ "$(cat "$BATS_TEST_TMPDIR/cwd")" = "$ET_ROOT" ]
}

@test "check_pipeline_argv: every process of the pipeline, with --check, nothing started" {
  fake_bins "$BATS_TEST_TMPDIR/bin"
  log="$BATS_TEST_TMPDIR/bin/log"
  in_launcher 'local -A wf; workflow_load wf fraud /res; BIN="$1"
               parse_pipeline_opt --autoscale kpa; parse_pipeline_opt --slots 3
               check_pipeline_argv wf /res 1 10' "$BATS_TEST_TMPDIR/bin"
  expect_ok
  run awk '{ print $1, $NF }' "$log"
  [ "$output" = "eventide-broker --check
eventide-collector --check
eventide-worker --check
eventide-worker --check
eventide-worker --check
eventide-worker --check
eventide-producer --check
eventide-autoscaler --check" ] || { cat "$log"; false; }
  grep -q -- "--function preprocess .*--slots 3 " "$log"
  grep -q -- "--function fraud " "$log"
  grep -q -- "--function decide " "$log"
  grep -q -- "--function sink " "$log"
  grep -q -- "^eventide-collector .*--out /res " "$log"
  grep -q -- "^eventide-broker --frontend ipc://" "$log"
  # The first refusal ends the preflight.
  rm -f "$log"
  FAKE_RC_collector=2 in_launcher 'local -A wf; workflow_load wf fraud; BIN="$1"
               check_pipeline_argv wf /res 1 10' "$BATS_TEST_TMPDIR/bin"
  expect_usage "eventide-collector: --flag 'v': why"
  run awk '{ print $1 }' "$log"
  [ "$output" = $'eventide-broker\neventide-collector' ] || { cat "$log"; false; }
  # tcp: stand-in tcp endpoints; no autoscaler without --autoscale.
  rm -f "$log"
  in_launcher 'local -A wf; workflow_load wf synthetic; BIN="$1"; TRANSPORT=tcp
               check_pipeline_argv wf /res 0 0' "$BATS_TEST_TMPDIR/bin"
  expect_ok
  run awk '{ print $1 }' "$log"
  [ "$output" = $'eventide-broker\neventide-collector\neventide-worker\neventide-producer' ] ||
    { cat "$log"; false; }
  grep -q -- "^eventide-worker .*--broker tcp://127.0.0.1:\* " "$log"
}

# expect_refused TEXT...: a usage error (expect_usage) and nothing created.
expect_refused() {
  expect_usage "$@"
  [ ! -e "$BATS_TEST_TMPDIR/out" ] || { echo "results created" >&2; false; }
  [ ! -e "$BATS_TEST_TMPDIR/state" ] || { echo "state created" >&2; false; }
}

@test "./eventide run: the values passed on are judged by the binaries before anything starts" {
  # FLAG VALUE BINARY [MORE OPTIONS]
  while read -r flag value binary more; do
    # shellcheck disable=SC2086 # MORE is options
    eventide run $more "$flag" "$value" --out "$BATS_TEST_TMPDIR/out"
    # The binary names its own flag: hpa's target, an --autoscale-arg's.
    case "$flag" in
      --target) flag=--target-utilization ;;
      --autoscale-arg) flag="${value%%=*}"; value="${value#*=}" ;;
    esac
    expect_refused "eventide-$binary: $flag '$value'"
  done <<'CASES'
--rate fast producer
--rate 0 producer
--duration 10x producer
--speedup -1 producer
--fraud-rate 2 producer --workflow fraud
--malformed-rate x producer
--payload-bytes -1 producer
--arrival sometimes producer
--source bogus producer
--labels /no/such/labels.json producer --workflow sensor
--mode jog worker
--slots 0 worker
--service exp:abc worker
--idle-timeout x worker --workflow fraud
--clock-sync maybe worker
--queue-cap 0 broker
--shed-pause 11s broker
--task-batch 0 broker
--task-batch 65 broker
--backlog-memory lots broker
--spill-max -1 broker
--metrics localhost:9100 broker
--metrics 127.0.0.1:65536 broker
--metrics 1.2.3:80 broker
--drain-timeout 99999 broker
--log-level loud broker
--memory-mb 0 collector
--price-gb-s x collector
--price-requests -1 collector
--min x autoscaler --autoscale kpa
--max 0 autoscaler --autoscale kpa
--target 7 autoscaler --autoscale hpa
--autoscale-arg --stable-window=x autoscaler --autoscale kpa
CASES
}

@test "./eventide up and sweep: the preflight, at every point of a sweep" {
  eventide up --slots 0 --out "$BATS_TEST_TMPDIR/out"
  expect_refused "eventide-worker: --slots '0'"
  eventide up --rate x --out "$BATS_TEST_TMPDIR/out"
  expect_refused "eventide-producer: --rate 'x'"
  eventide sweep --rates 1,2,0 --out "$BATS_TEST_TMPDIR/out"
  expect_refused "eventide-producer: --rate '0'"
  eventide sweep --rates 1 --durations 5,0 --out "$BATS_TEST_TMPDIR/out"
  expect_refused "eventide-producer: --duration '0'"
  eventide sweep --rates 1 --mode jog --out "$BATS_TEST_TMPDIR/out"
  expect_refused "eventide-worker: --mode 'jog'"
}

@test "./eventide produce and scale: the preflight before a process starts" {
  run_dir="$BATS_TEST_TMPDIR/run"
  fake_run "$run_dir"
  EVENTIDE_RUN="$run_dir" eventide produce --rate x
  expect_usage "eventide-producer: --rate 'x'"
  EVENTIDE_RUN="$run_dir" eventide produce --clock-sync maybe --duration 1
  expect_usage "eventide-producer: --clock-sync 'maybe'"
  # The refused producer spent no id.
  [ "$(cat "$run_dir/next-producer")" = 1 ]
  fake_run "$run_dir" SLOTS=0
  EVENTIDE_RUN="$run_dir" eventide scale synthetic 2
  expect_usage "eventide-worker: --slots '0'"
  [ -z "$(ls "$run_dir/pids")" ]
  # Nothing to start, nothing to check.
  EVENTIDE_RUN="$run_dir" eventide scale synthetic 0
  expect_ok
  expect_output "synthetic: 0 instance(s)"
}

@test "./eventide refuses bad values with one line and exit 2, before anything starts" {
  out="$BATS_TEST_TMPDIR/out"
  eventide run --rate fast --out "$out"
  expect_usage "--rate 'fast'"
  eventide run --workers many --out "$out"
  expect_usage "--workers 'many'"
  eventide run --mode jog --out "$out"
  expect_usage "--mode 'jog'"
  eventide run --out "$out" --duration
  expect_usage "--duration needs a value"
  eventide run --workflow fraud --workers fraud=1,nosuch=1 --out "$out"
  expect_usage "--workers 'fraud=1,nosuch=1'" "no function 'nosuch'"
  eventide run --workflow bogus --out "$out"
  expect_usage "--workflow 'bogus'" "no such workflow"
  eventide up --clock-skew edge=250 --out "$out"
  expect_usage "--clock-skew 'edge=250'"
  eventide up --transport ipc --curve "$BATS_TEST_TMPDIR" --out "$out"
  expect_usage "--curve '$BATS_TEST_TMPDIR'"
  eventide sweep --rates 1,x --out "$out"
  expect_usage "--rates '1,x'"
  eventide sweep --rates 1 --workflow bogus --out "$out"
  expect_usage "--workflow 'bogus'"
  eventide produce --id x
  expect_usage "--id 'x'"
  eventide scale synthetic many
  expect_usage "N 'many'"
  eventide status --bogus
  expect_usage "status: unknown option '--bogus'"
  # Nothing was created for a refused command.
  [ ! -e "$out" ]
  [ ! -e "$BATS_TEST_TMPDIR/state" ]
}
