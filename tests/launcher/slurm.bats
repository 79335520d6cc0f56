#!/usr/bin/env bats
# --cluster slurm without a cluster (launcher/slurm.sh): the --cluster
# grammar and the options it excludes; the srun template through
# host_argv; a step as a process (pid_of, pid_alive, sig_proc); reading
# squeue, scontrol, salloc, sstat and sacct output, garbage included, with
# stand-ins for the Slurm commands that print what a test gives them.

load helpers

setup() {
  fake="$BATS_TEST_TMPDIR/bin"
  mkdir -p "$fake"
  export PATH="$fake:$PATH"
}

# fake_cmd NAME EXIT STDOUT [STDERR]: a stand-in for the command NAME that
# logs its arguments to $fake/NAME.args and prints STDOUT (and STDERR).
fake_cmd() {
  printf '%s' "$3" >"$fake/$1.out"
  printf '%s' "${4-}" >"$fake/$1.err"
  cat >"$fake/$1" <<EOF
#!/usr/bin/env bash
printf '%s\n' "\$*" >>"$fake/$1.args"
cat "$fake/$1.out"
cat "$fake/$1.err" >&2
exit $2
EOF
  chmod +x "$fake/$1"
}

@test "--cluster slurm: the allocation of the environment, nothing requested" {
  in_launcher 'parse_pipeline_opt --cluster slurm
               echo "$CLUSTER|$SL_NODES|$SL_JOB|$SL_OWNED"'
  expect_ok
  expect_output "slurm|||0"
}

@test "--cluster slurm:OPTIONS: a new allocation's shape, or a job id" {
  in_launcher 'parse_pipeline_opt --cluster slurm:nodes=002,partition=debug,time=1-02:03:04,account=a.b,qos=low,wait=30
               echo "$SL_NODES|$SL_PARTITION|$SL_TIME|$SL_ACCOUNT|$SL_QOS|$SL_WAIT|$SL_JOB"
               parse_pipeline_opt --cluster slurm:job=1234
               echo "$SL_NODES|$SL_PARTITION|$SL_JOB"'
  expect_ok
  expect_output "2|debug|1-02:03:04|a.b|low|30|
||1234"
}

@test "--cluster: every slip is one usage error naming the flag" {
  local v
  for v in slurmx 'slurm:' slurm:nodes=0 slurm:nodes=x slurm:nodes=123456 \
           'slurm:time=abc' 'slurm:partition=a b' slurm:job=0 slurm:job=12x \
           slurm:wait=0 slurm:nodes=1,wait=86401 slurm:color=red slurm:nodes \
           slurm:nodes=1,nodes=2 slurm:nodes=2,,time=1 slurm:nodes=2, \
           slurm:nodes=2,job=5 slurm:partition=debug slurm:time=10; do
    in_launcher 'parse_pipeline_opt --cluster "$1"' "$v"
    expect_usage "--cluster '$v'"
  done
}

@test "--cluster excludes --hosts, --host-cmd, --netem, --supervise, --cpus and ipc" {
  in_launcher 'parse_pipeline_opt --cluster slurm; parse_pipeline_opt --hosts h; check_pipeline_opts'
  expect_usage "--hosts 'h': not with --cluster"
  in_launcher 'parse_pipeline_opt --cluster slurm; parse_pipeline_opt --host-cmd "ssh {host}"; check_pipeline_opts'
  expect_usage "--host-cmd 'ssh {host}': not with --cluster"
  in_launcher 'parse_pipeline_opt --cluster slurm; parse_pipeline_opt --netem "a=delay 1ms"; check_pipeline_opts'
  expect_usage "--netem 'a=delay 1ms': not with --cluster"
  in_launcher 'parse_pipeline_opt --cluster slurm; parse_pipeline_opt --supervise 1; check_pipeline_opts'
  expect_usage "--supervise '1': not with --cluster"
  in_launcher 'parse_pipeline_opt --cluster slurm; parse_pipeline_opt --cpus broker=0; check_pipeline_opts'
  expect_usage "--cpus 'broker=0': not with --cluster"
  in_launcher 'parse_pipeline_opt --cluster slurm; parse_pipeline_opt --transport ipc; check_pipeline_opts'
  expect_usage "--transport 'ipc': --cluster runs over tcp"
  in_launcher 'parse_pipeline_opt --cluster slurm; parse_pipeline_opt --port-base 5550; check_pipeline_opts; echo "$TRANSPORT"'
  expect_ok
  expect_output tcp
}

@test "a process as a job step: srun on its node, named after it, the script as argv" {
  in_launcher 'HOST_CMD="$(slurm_template 77)"
               local -a argv
               host_argv argv n2 "echo a b" worker-synthetic-3
               printf "<%s>" "${argv[@]}"; echo
               host_argv argv n1 "true"
               printf "<%s>" "${argv[@]}"'
  expect_ok
  expect_output "<srun><--jobid=77><--overlap><--whole><--nodes=1><--ntasks=1><--nodelist=n2><--job-name=worker-synthetic-3><--quiet><sh><-c><echo a b>
<srun><--jobid=77><--overlap><--whole><--nodes=1><--ntasks=1><--nodelist=n1><--job-name=eventide-sh><--quiet><sh><-c><true>"
}

@test "a step is HOST:slurm/JOB.STEP; squeue says whether it runs, scancel signals it" {
  run_dir="$BATS_TEST_TMPDIR/run"
  mkdir -p "$run_dir/pids"
  echo "n2 4242" >"$run_dir/pids/worker-a-1.host"
  echo "12.3" >"$run_dir/pids/worker-a-1.step"
  echo "n1 77" >"$run_dir/pids/broker.host"
  fake_cmd squeue 0 "RUNNING
"
  fake_cmd scancel 225 "" "scancel: error: Kill job error on job step id 12: Invalid job id specified"
  in_launcher 'pid_of "$1" worker-a-1; pid_of "$1" broker
               pid_alive n2:slurm/12.3 && echo alive
               sig_proc TERM n2:slurm/12.3 && echo signalled
               sig_proc KILL n2:slurm/12.3 && echo cancelled' "$run_dir"
  expect_ok
  expect_output "n2:slurm/12.3
n1:77
alive
signalled
cancelled"
  [ "$(cat "$fake/squeue.args")" = "-h --steps=12.3 -O StepState" ]
  [ "$(cat "$fake/scancel.args")" = "--quiet --signal=TERM 12.3
--quiet 12.3" ]
}

@test "a step squeue no longer lists, or whose job is gone, has ended; no answer: taken as alive" {
  fake_cmd squeue 0 ""
  in_launcher 'pid_alive n2:slurm/12.3 || echo ended'
  expect_ok
  expect_output ended
  fake_cmd squeue 1 "" "slurm_load_jobs error: Invalid job id specified"
  in_launcher 'pid_alive n2:slurm/12.3 || echo ended'
  expect_ok
  expect_output ended
  fake_cmd squeue 1 "" "squeue: error: Unable to contact slurm controller (connect failure)"
  in_launcher 'pid_alive n2:slurm/12.3 && echo alive'
  expect_ok
  expect_output alive
}

@test "step states from squeue: well-formed lines only" {
  fake_cmd squeue 0 "12.0|RUNNING|
12.1|COMPLETING|
garbage
12.x|RUNNING|
12.2|lower|
12.3|RUNNING|extra|
"
  in_launcher 'SL_JOB=12; local -A st; slurm_step_states st
               for k in $(printf "%s\n" "${!st[@]}" | sort); do echo "$k ${st[$k]}"; done'
  expect_ok
  expect_output "12.0 RUNNING
12.1 COMPLETING
12.3 RUNNING"
}

@test "the allocation's nodes become a hosts file: the first runs broker, collector, producer" {
  fake_cmd squeue 0 "RUNNING n[1-2],login
"
  cat >"$fake/scontrol" <<EOF
#!/usr/bin/env bash
case "\$1 \$2" in
  "show hostnames") [ "\$3" = "n[1-2],login" ] && printf 'n1\nn2\nlogin\n' ;;
  "show node") case "\$3" in
      n1) echo "NodeName=n1 Arch=x86_64"; echo "   NodeAddr=10.0.0.1 NodeHostName=n1" ;;
      n2) echo "   NodeAddr=10.0.0.2 NodeHostName=n2 Version=22.05" ;;
      login) echo "   NodeAddr=localhost NodeHostName=login" ;;
    esac ;;
esac
EOF
  chmod +x "$fake/scontrol"
  in_launcher 'SL_JOB=9; slurm_hosts "$1"; grep -v "^#" "$1"
               parse_hosts "$1"; echo "$BROKER_HOST $COLLECTOR_HOST ${PRODUCER_HOSTS[*]}"' \
    "$BATS_TEST_TMPDIR/hosts"
  expect_ok
  expect_output "n1 10.0.0.1 broker collector producer workers
n2 10.0.0.2 workers
login 127.0.0.1 workers
n1 n1 n1"
}

# one_error LINE: exit status 1 and LINE the launcher's one message (bash
# run by in_launcher may add a warning of its own when a command
# substitution exits; ./eventide does not).
one_error() {
  [ "$status" -eq 1 ] && [ "${stderr_lines[0]}" = "$1" ] &&
    [ "$(grep -c '^eventide: ' <<<"$stderr")" -eq 1 ] || { show; false; }
}

@test "a job not running, a strange node list or NodeAddr: one clear error" {
  fake_cmd squeue 0 "PENDING (null)
"
  in_launcher 'SL_JOB=9; slurm_hosts "$1"' "$BATS_TEST_TMPDIR/hosts"
  one_error "eventide: slurm: job 9 is PENDING, not RUNNING"
  fake_cmd squeue 0 ""
  in_launcher 'SL_JOB=9; slurm_hosts "$1"' "$BATS_TEST_TMPDIR/hosts"
  [ "$status" -eq 1 ] && [[ "$stderr" == *"job 9 is not in the queue"* ]] || { show; false; }
  fake_cmd squeue 0 "RUNNING n1;rm
"
  in_launcher 'SL_JOB=9; slurm_hosts "$1"' "$BATS_TEST_TMPDIR/hosts"
  [ "$status" -eq 1 ] && [[ "$stderr" == *"unexpected node list 'n1;rm'"* ]] || { show; false; }
  fake_cmd squeue 0 "RUNNING n1
"
  fake_cmd scontrol 0 "n1
   NodeAddr=bad\$addr NodeHostName=n1
"
  in_launcher 'SL_JOB=9; slurm_hosts "$1"' "$BATS_TEST_TMPDIR/hosts"
  one_error "eventide: slurm: node n1: unexpected NodeAddr 'bad\$addr'"
  fake_cmd scontrol 0 "9node
"
  in_launcher 'SL_JOB=9; slurm_hosts "$1"' "$BATS_TEST_TMPDIR/hosts"
  [ "$status" -eq 1 ] && [[ "$stderr" == *"node name '9node'"* ]] || { show; false; }
}

@test "outside an allocation, --cluster slurm says how to get one" {
  for c in srun salloc squeue scontrol scancel sstat sacct; do fake_cmd "$c" 0 ""; done
  in_launcher 'unset SLURM_JOB_ID SLURM_JOBID; parse_pipeline_opt --cluster slurm; cluster_acquire "$1"' \
    "$BATS_TEST_TMPDIR/out"
  expect_usage "not inside a Slurm allocation" "slurm:nodes=N"
}

@test "a requested allocation: salloc's job id, owned; a refusal cancels what is pending" {
  for c in srun squeue scontrol sstat sacct; do fake_cmd "$c" 0 ""; done
  fake_cmd scancel 0 ""
  fake_cmd salloc 0 "" "salloc: Pending job allocation 41
salloc: Granted job allocation 41
"
  in_launcher 'parse_pipeline_opt --cluster slurm:nodes=2,partition=p,time=10
               slurm_request 2>/dev/null; echo "$SL_JOB $SL_OWNED"; slurm_release'
  expect_ok
  [ "${lines[0]}" = "41 1" ] || { show; false; }
  [[ "$stderr" == *"slurm: allocation 41 released"* ]] || { show; false; }
  [ "$(cat "$fake/salloc.args")" = "--no-shell --job-name=eventide --nodes=2 --exclusive --immediate=120 --partition=p --time=10" ]
  [ "$(cat "$fake/scancel.args")" = 41 ]
  rm -f "$fake/scancel.args"
  fake_cmd salloc 1 "" "salloc: Pending job allocation 43
salloc: job 43 queued and waiting for resources
salloc: error: Unable to allocate resources: Connection timed out
"
  in_launcher 'parse_pipeline_opt --cluster slurm:nodes=5; slurm_request'
  [ "$status" -eq 1 ] || { show; false; }
  [[ "$stderr" == *"slurm: no allocation of 5 node(s) (salloc exit 1): salloc: error: Unable to allocate resources: Connection timed out"* ]] || { show; false; }
  [ "$(cat "$fake/scancel.args")" = 43 ]
}

@test "Slurm durations and sizes; anything else is refused" {
  in_launcher 'for t in 00:01:02 01:02.500 1-00:00:01 12:00; do slurm_seconds "$t"; done
               for k in 1684K 12M 1.5G 2048 0; do slurm_kib "$k"; done
               slurm_seconds abc || echo no; slurm_seconds "" || echo no; slurm_kib 5X || echo no'
  expect_ok
  expect_output "62.000
62.500
86401.000
720.000
1684
12288
1572864
2
0
no
no
no"
}

@test "usage lines of sstat and sacct: a step's CPU time and max RSS, or nothing" {
  in_launcher 'slurm_usage_line "3.1|cpu=00:00:02,energy=0,mem=3196K|3196K"
               slurm_usage_line "3.2|00:01.250|10M|extra"
               slurm_usage_line "3.batch|00:00:01|1K"
               slurm_usage_line "3|00:00:01|1K"
               slurm_usage_line "3.4|energy=0|1K"
               slurm_usage_line "3.5|00:00:01|"
               slurm_usage_line "garbage"'
  expect_ok
  expect_output "3.1 2.000 3196
3.2 1.250 10240"
}

# accounting_run: a run directory with a ledger of three steps, nodes n1
# and n2, and a summary.json in $BATS_TEST_TMPDIR/out.
accounting_run() {
  run_dir="$BATS_TEST_TMPDIR/run"; out_dir="$BATS_TEST_TMPDIR/out"
  mkdir -p "$run_dir/pids" "$out_dir"
  printf '%s\n' "broker 5.0 n1 100" "worker-a-1 5.3 n2 200" "worker-a-2 5.4 n1 300" \
    "bad name 5.5 n1 1" >"$run_dir/slurm-steps"
  printf '%s\n' "n1 10.0.0.1 broker collector producer workers" "n2 10.0.0.2 workers" >"$run_dir/hosts"
  echo '{"events":{"sent":5}}' >"$out_dir/summary.json"
}
accounting() {
  in_launcher 'CLUSTER=slurm; SL_JOB=5; SL_OWNED=1; parse_hosts "$1/hosts"
               slurm_sample "$1"; slurm_accounting "$1" "$2"' "$run_dir" "$out_dir"
}

@test "no accounting database: sstat's samples, taken while the steps ran, and a note" {
  accounting_run
  fake_cmd sstat 0 "5.0|cpu=00:00:01,mem=2048K|2048K
5.3|cpu=00:00:00.500,mem=1M|1M
5.9|garbage|x
"
  fake_cmd sacct 1 "" "Slurm accounting storage is disabled
"
  accounting
  expect_ok
  [[ "$stderr" == *"from sstat samples taken before each step stopped"* ]] || { show; false; }
  s="$out_dir/summary.json"
  [ "$(jq -c '.slurm | [.job, .allocated_by_eventide, .accounting]' "$s")" = '["5",true,"sstat"]' ]
  [ "$(jq -c '[.slurm.steps[] | [.name, .step, .node, .pid, .cpu_s, .max_rss_kib, .from]]' "$s")" = \
    '[["broker","5.0","n1",100,1,2048,"sstat"],["worker-a-1","5.3","n2",200,0.5,1024,"sstat"],["worker-a-2","5.4","n1",300,null,null,null]]' ]
  jq -e '.slurm.accounting_note | test("Slurm accounting storage is disabled")' "$s" >/dev/null
  [ "$(jq -c '.slurm.nodes' "$s")" = '[{"name":"n1","address":"10.0.0.1"},{"name":"n2","address":"10.0.0.2"}]' ]
  [ "$(jq '.events.sent' "$s")" = 5 ]
}

@test "with an accounting database: sacct's final figures" {
  accounting_run
  fake_cmd sstat 0 ""
  fake_cmd sacct 0 "5|00:00:09|
5.0|00:00:03|4M
5.3|00:00:02.250|3000K
5.4|00:00:01|1G
"
  accounting
  expect_ok
  [[ "$stderr" == *"per-step CPU time and max RSS from sacct"* ]] || { show; false; }
  [ "$(jq -c '[.slurm.accounting, [.slurm.steps[] | [.step, .cpu_s, .max_rss_kib, .from]]]' "$out_dir/summary.json")" = \
    '["sacct",[["5.0",3,4096,"sacct"],["5.3",2.25,3000,"sacct"],["5.4",1,1048576,"sacct"]]]' ]
}

@test "a step sacct does not have yet keeps its last sstat sample" {
  accounting_run
  fake_cmd sstat 0 "5.4|cpu=00:00:04,mem=2M|2M
"
  fake_cmd sacct 0 "5.0|00:00:03|4M
"
  accounting
  expect_ok
  [ "$(jq -c '[.slurm.steps[] | [.step, .cpu_s, .max_rss_kib, .from, (.sampled_at != null)]]' "$out_dir/summary.json")" = \
    '[["5.0",3,4096,"sacct",false],["5.3",null,null,null,false],["5.4",4,2048,"sstat",true]]' ]
}

@test "neither sacct nor sstat: no figures, and the output says why" {
  accounting_run
  fake_cmd sstat 1 "" "sstat: error: Unable to contact slurm controller
"
  fake_cmd sacct 1 "" "Slurm accounting storage is disabled
"
  accounting
  expect_ok
  [[ "$stderr" == *"slurm: no per-step CPU time or max RSS"* ]] || { show; false; }
  [ "$(jq -c '[.slurm.accounting, [.slurm.steps[] | .cpu_s]]' "$out_dir/summary.json")" = '["none",[null,null,null]]' ]
  jq -e '.slurm.accounting_note | test("Unable to contact")' "$out_dir/summary.json" >/dev/null
}

@test "a function's live workers: one squeue for every step; records of ended ones go" {
  run_dir="$BATS_TEST_TMPDIR/run"
  mkdir -p "$run_dir/pids"
  for i in 1 2 3; do
    echo 100$i >"$run_dir/pids/worker-a-$i.pid"
    echo "n$i 20$i" >"$run_dir/pids/worker-a-$i.host"
    echo "12.$i" >"$run_dir/pids/worker-a-$i.step"
  done
  fake_cmd squeue 0 "12.0|RUNNING|
12.1|RUNNING|
12.3|COMPLETING|
"
  in_launcher 'CLUSTER=slurm; SL_JOB=12; worker_pids "$1" a; worker_pids "$1" a n3' "$run_dir"
  expect_ok
  expect_output "n1:slurm/12.1
n3:slurm/12.3
n3:slurm/12.3"
  [ "$(wc -l <"$fake/squeue.args")" -eq 2 ]
  [ ! -e "$run_dir/pids/worker-a-2.step" ] && [ ! -e "$run_dir/pids/worker-a-2.pid" ]
  # Slurm does not answer: every step is kept, as alive.
  fake_cmd squeue 1 "" "squeue: error: Unable to contact slurm controller"
  in_launcher 'CLUSTER=slurm; SL_JOB=12; worker_pids "$1" a' "$run_dir"
  expect_ok
  expect_output "n1:slurm/12.1
n3:slurm/12.3"
}

@test "up --prometheus is refused with --cluster" {
  eventide up --prometheus --cluster slurm
  expect_usage "--prometheus: not with --cluster"
}
