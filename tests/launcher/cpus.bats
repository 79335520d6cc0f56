#!/usr/bin/env bats
# --cpus ROLE=LIST (launcher/options.sh): its syntax and roles, checked as
# it is parsed; its cpus, against this machine, and its functions, against
# the workflow, before anything starts (exit 2, one line naming the
# value); what a run records in RUN/cpus and which list each process
# then gets (cpus_of); and the same through ./eventide.

load helpers

# the highest online cpu of this machine.
max_cpu() {
  local online
  online="$(cat /sys/devices/system/cpu/online 2>/dev/null || echo "0-$(($(nproc --all) - 1))")"
  online="${online##*,}"
  echo "${online##*-}"
}

# refuses_cpus CHECK TEXT VALUE...: --cpus VALUE (then CHECK, a launcher
# function, or : for none) is a usage error naming VALUE and holding TEXT.
refuses_cpus() {
  local check="$1" text="$2" v
  shift 2
  for v in "$@"; do
    in_launcher 'parse_pipeline_opt --cpus "$1"; '"$check"'; echo not reached' "$v"
    expect_usage "--cpus '$v'" "$text"
    [ -z "$output" ] || { show; return 1; }
  done
}

@test "--cpus: good cpu lists are stored, repeatable" {
  in_launcher 'for v in producer=0 broker=0,1 collector=0-3 autoscaler=0-2,5 workers=007 workers:fraud=1; do
                 parse_pipeline_opt --cpus "$v"
               done
               echo "$CPUS"'
  expect_ok
  expect_output "producer=0 broker=0,1 collector=0-3 autoscaler=0-2,5 workers=007 workers:fraud=1"
  # And against this machine: its first and last cpu, a range of them.
  max="$(max_cpu)"
  in_launcher 'parse_pipeline_opt --cpus "broker=0"; parse_pipeline_opt --cpus "workers=$1"
               parse_pipeline_opt --cpus "producer=0-$1"; parse_pipeline_opt --cpus "collector=0,$1"
               check_pipeline_opts; echo ok' "$max"
  expect_ok
  expect_output ok
}

@test "--cpus: bad syntax" {
  refuses_cpus : "expected ROLE=LIST" broker 0
  refuses_cpus : "expected a cpu list" broker= broker=a broker=1- broker=-1 \
    broker=1,,2 broker=,1 broker=1, "broker= 1" "broker=1 " "broker=1;2" broker=0x1 \
    broker=1-2-3 broker=12345 "broker=\$(reboot)"
  in_launcher 'parse_pipeline_opt --cpus ""'
  expect_usage "--cpus needs a value"
}

@test "--cpus: unknown role" {
  refuses_cpus : "unknown role" brokers=0 worker=0 supervisor=0 =0 workers:=0 \
    "workers:a b=0" Broker=0 producer-1=0
}

@test "--cpus: a role pinned twice" {
  in_launcher 'parse_pipeline_opt --cpus broker=0; parse_pipeline_opt --cpus broker=1'
  expect_usage "--cpus 'broker=1'" "broker is pinned twice ('broker=0')"
  # workers and workers:FUNCTION are two roles.
  in_launcher 'parse_pipeline_opt --cpus workers=0; parse_pipeline_opt --cpus workers:fraud=0; echo "$CPUS"'
  expect_ok
}

@test "--cpus: a cpu this machine does not have, a range backwards" {
  refuses_cpus check_pipeline_opts "no cpu $(($(max_cpu) + 1)) on this machine (online: " \
    "broker=$(($(max_cpu) + 1))" "workers=0-$(($(max_cpu) + 1))" "producer=0,$(($(max_cpu) + 1))"
  refuses_cpus check_pipeline_opts "no cpu 9999 on this machine" broker=9999
  refuses_cpus check_pipeline_opts "a range runs backwards" "broker=$(($(max_cpu) + 1))-0"
}

@test "--cpus: not with --hosts" {
  in_launcher 'parse_pipeline_opt --hosts /nonexistent; parse_pipeline_opt --cpus broker=0; check_pipeline_opts'
  expect_usage "--cpus 'broker=0'" "not with --hosts (placement there is per host)"
}

@test "--cpus workers:FUNCTION against the workflow's functions" {
  in_launcher 'local -A wf; workflow_load wf fraud
               parse_pipeline_opt --cpus workers:fraud=0; parse_pipeline_opt --cpus workers=0
               check_against_workflow wf; echo ok'
  expect_ok
  expect_output ok
  in_launcher 'local -A wf; workflow_load wf fraud
               parse_pipeline_opt --cpus workers:nosuch=0; check_against_workflow wf'
  expect_usage "--cpus 'workers:nosuch=0'" "workflow fraud has no function 'nosuch'"
}

@test "cpus_record and cpus_of: workers:FUNCTION before workers, others the launcher's cpus" {
  run_dir="$BATS_TEST_TMPDIR/run"
  mkdir -p "$run_dir"
  own="$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)"
  in_launcher 'parse_pipeline_opt --cpus broker=1; parse_pipeline_opt --cpus workers=0
               parse_pipeline_opt --cpus workers:a-b=2-3; parse_pipeline_opt --cpus producer=0,2
               cpus_record "$1"
               for n in broker collector autoscaler supervisor producer-1 producer-12 \
                        worker-a-1 worker-a-b-1 worker-a-b-c-10 worker-sink-2; do
                 echo "$n $(cpus_of "$1" "$n")"
               done
               local -a pin; cpus_pin pin "$1" worker-a-b-3; echo "${pin[*]}"' "$run_dir"
  expect_ok
  expect_output "broker 1
collector $own
autoscaler $own
supervisor $own
producer-1 0,2
producer-12 0,2
worker-a-1 0
worker-a-b-1 2-3
worker-a-b-c-10 0
worker-sink-2 0
taskset -c 2-3"
  grep -q "INFO eventide\[[0-9]*\] cpus: broker=1 workers=0 workers:a-b=2-3 producer=0,2; every other process: $own (the launcher's own)" \
    "$run_dir/logs/launcher.log" || { cat "$run_dir/logs/launcher.log"; false; }
  # A run without --cpus records nothing and pins nothing.
  rm -rf "$run_dir"; mkdir -p "$run_dir"
  in_launcher 'cpus_record "$1"; echo "[$(cpus_of "$1" broker)]"
               local -a pin; cpus_pin pin "$1" broker; echo "${#pin[@]}"' "$run_dir"
  expect_ok
  expect_output $'[]\n0'
  [ ! -e "$run_dir/cpus" ] && [ ! -e "$run_dir/logs/launcher.log" ]
}

@test "./eventide run, up, sweep and produce refuse a bad --cpus before anything starts" {
  out="$BATS_TEST_TMPDIR/out"
  eventide run --cpus broker=9999 --out "$out"
  expect_usage "--cpus 'broker=9999'" "no cpu 9999"
  eventide up --cpus brokers=0 --out "$out"
  expect_usage "--cpus 'brokers=0'" "unknown role"
  eventide sweep --rates 1 --cpus workers=x --out "$out"
  expect_usage "--cpus 'workers=x'" "expected a cpu list"
  eventide run --workflow fraud --cpus workers:nosuch=0 --out "$out"
  expect_usage "--cpus 'workers:nosuch=0'" "no function 'nosuch'"
  eventide run --hosts "$BATS_TEST_TMPDIR/hosts" --cpus broker=0 --out "$out"
  expect_usage "--cpus 'broker=0'" "not with --hosts"
  [ ! -e "$out" ]
  [ ! -e "$BATS_TEST_TMPDIR/state" ]
  # produce pins its own producer only.
  run_dir="$BATS_TEST_TMPDIR/run"
  fake_run "$run_dir"
  EVENTIDE_RUN="$run_dir" eventide produce --cpus broker=0
  expect_usage "--cpus 'broker=0'" "produce starts a producer only"
  EVENTIDE_RUN="$run_dir" eventide produce --cpus producer=9999
  expect_usage "--cpus 'producer=9999'" "no cpu 9999"
  [ "$(cat "$run_dir/next-producer")" = 1 ]
}

@test "help run and help produce document --cpus" {
  eventide help
  eventide run --help
  expect_ok
  [[ "$output" == *"--cpus ROLE=LIST"*"workers:FUNCTION"*"not with --hosts"* ]] || { show; false; }
  eventide up --help
  [[ "$output" == *"--cpus ROLE=LIST"* ]] || { show; false; }
  eventide produce --help
  [[ "$output" == *"--cpus producer=LIST"* ]] || { show; false; }
}
