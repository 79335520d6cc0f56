#!/usr/bin/env bash
# Eventide on a real Slurm cluster on this machine: munged (its own key and
# socket), slurmctld and two slurmd, nodes n1 (10.231.7.2) and n2
# (10.231.7.3) each in a network namespace of its own, the controller in a
# third (10.231.7.1, the login node the launcher runs on); every state,
# spool, log and pid file in the test's temporary directory.
#   1. `run --cluster slurm:nodes=2 --curve` requests an allocation, runs
#      the broker and the collector as steps on n1 and the workers as steps
#      on both nodes, accounts every event, puts the steps (with sstat's figures:
#      this cluster keeps no accounting database) into summary.json and
#      releases the job; a run refused after its allocation was granted
#      releases it too.
#   2. `up --cluster slurm` inside an allocation made by salloc (found from
#      SLURM_JOB_ID), `scale` up (new steps) and down (scancel), `status`,
#      `produce`, `down`: every event accounted, the allocation kept; `up
#      --cluster slurm:nodes=2` then `down`: the allocation released.
#   3. contrib/slurm/sweep.sbatch through sbatch: a one-point sweep in the
#      batch job's allocation, its results copied back.
# At the end no job, no step and no process of the pipeline is left, and
# every daemon and namespace goes (also when the test fails: the trap).
# Skips (exit 77, ctest's SKIP_RETURN_CODE) when not root, when a package
# is missing, and in the ASan build (ET_SANITIZE_BUILD=1): this tests the
# launcher and Slurm, not the C code, which every other test covers there.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "${ET_SANITIZE_BUILD:-0}" != 1 ] ||
  skip "the Slurm test runs in the release build only (it tests the launcher and Slurm, not the C code under ASan/UBSan)"
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, slurmd)"
for c in munged mungekey slurmctld slurmd slurmstepd srun salloc squeue sinfo scontrol scancel sstat sacct nsenter ip; do
  command -v "$c" >/dev/null 2>&1 ||
    skip "no '$c' command: install slurm-wlm, slurm-client, munge (./eventide test installs them as root)"
done

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns_lib.sh"

ns_prefix="et-$$"
DAEMONS=()
# Whatever happens: the daemons, then every process in the namespaces (the
# steps, slurmstepd) and the namespaces, then lib.sh's clean-up.
slurm_test_exit() {
  local rc="$1" pid
  for pid in "${DAEMONS[@]-}"; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  done
  netns_down
  et_cleanup "$rc"
}
trap 'slurm_test_exit $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
netns_require "$ns_prefix"
netns_up "$ns_prefix" ctl n1 n2
ctl="/run/netns/$ns_prefix-ctl"

# munged wants every directory up to its socket searchable by all.
chmod 711 "$ET_TMP"
S="$ET_TMP/slurm"
mkdir -p "$S/state" "$S/spool/n1" "$S/spool/n2" "$S/log"
mkdir -m 755 "$S/munge"
chmod 711 "$S"
mungekey -c -k "$S/munge.key" >/dev/null 2>&1 || fail "mungekey could not create a key"
chmod 400 "$S/munge.key"
munged -F --socket="$S/munge/munge.socket.2" --key-file="$S/munge.key" \
  --pid-file="$S/munged.pid" --log-file="$S/log/munged.log" \
  --seed-file="$S/munged.seed" >"$S/log/munged.out" 2>&1 &
DAEMONS+=($!)

cat >"$S/slurm.conf" <<EOF
ClusterName=eventide-test
SlurmctldHost=$(hostname -s)(10.231.7.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/munge.socket.2
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool/%n
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd-%n.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd-%n.log
SlurmctldPort=26817
SlurmdPort=26818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
NodeName=n1 NodeAddr=10.231.7.2 CPUs=2 State=UNKNOWN
NodeName=n2 NodeAddr=10.231.7.3 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$S/slurm.conf"
# nsenter, not ip netns exec: only the network changes (ip netns exec
# mounts a /sys of its own, where slurmd finds no cgroup file system).
in_ctl() { nsenter --net="$ctl" "$@"; }
for _ in $(seq 100); do [ -S "$S/munge/munge.socket.2" ] && break; sleep 0.05; done
[ -S "$S/munge/munge.socket.2" ] || fail "munged did not start: $(cat "$S/log/munged.out")"
in_ctl slurmctld -D -i >"$S/log/slurmctld.out" 2>&1 &
DAEMONS+=($!)
for n in n1 n2; do
  nsenter --net="/run/netns/$ns_prefix-$n" slurmd -D -N "$n" >"$S/log/slurmd-$n.out" 2>&1 &
  DAEMONS+=($!)
done
idle=""
for _ in $(seq 300); do
  idle="$(in_ctl sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle"' | wc -l)" || idle=0
  [ "$idle" -eq 2 ] && break
  sleep 0.1
done
[ "$idle" -eq 2 ] || fail "the two nodes did not come up idle: $(in_ctl sinfo -N 2>&1)"

# eventide ARGS...: the launcher on the login node.
eventide() { in_ctl "$EVENTIDE" "$@"; }
no_jobs() { # WHAT: the queue empties (a released job may stay COMPLETING
  # a while on a loaded machine: a generous wait, not a timing claim)
  local q _
  for _ in $(seq 300); do
    q="$(in_ctl squeue -h -o '%i %T' 2>&1)"
    [ -z "$q" ] && return 0
    sleep 0.1
  done
  fail "$1: jobs left in the queue after 30 s: $q"
}

# settles WHAT WANT CMD...: CMD's output becomes WANT within 30 s (a
# cancelled step may linger a moment while Slurm cleans it up).
settles() {
  local what="$1" want="$2" got _
  shift 2
  for _ in $(seq 300); do
    got="$("$@" 2>&1)" || true
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  fail "$what: got '$got', want '$want' (after 30 s)"
}
worker_step_count() { # JOB
  in_ctl squeue -h --steps -j "$1" -O 'StepName:40' | grep -c '^worker-synthetic-' || true
}
step_count() { in_ctl squeue -h --steps -j "$1" | wc -l; }

# 1. run: a new allocation of both nodes, CURVE on every link.
keys="$ET_TMP/keys"
"$EVENTIDE" keys "$keys" >"$ET_TMP/keys.log" 2>&1 ||
  { cat "$ET_TMP/keys.log" >&2; fail "eventide keys failed"; }
out="$ET_TMP/run"
eventide run --cluster slurm:nodes=2,time=5,wait=30 --curve "$keys" \
  --workflow synthetic --service exp:2ms --workers 3 --rate 100 --duration 3 \
  --seed 3 --out "$out" >"$ET_TMP/run.log" 2>&1 ||
  { cat "$ET_TMP/run.log" >&2; fail "run --cluster slurm failed"; }
s="$out/summary.json"
expect_accounted "$s"
expect_eq "run: workers started" "$(json "$s" .workers.started)" 3
grep -q "INFO eventide: on host n1 as pid [0-9]* in slurm step [0-9]*\.[0-9]*$" "$out/broker.log" ||
  fail "the broker did not run as a step on n1: $(head -n 3 "$out/broker.log")"
grep -q "INFO eventide: on host n1 as pid [0-9]* in slurm step" "$out/collector.log" ||
  fail "the collector did not run as a step on n1"
for n in n1 n2; do
  [ "$(grep -l "on host $n as pid [0-9]* in slurm step" "$out"/worker-*.log | wc -l)" -ge 1 ] ||
    fail "run: no worker step on $n"
done
grep -Eq 'broker up: .* frontend tcp://10\.231\.7\.2:[0-9]+, backend tcp://10\.231\.7\.2:[0-9]+' "$out/broker.log" ||
  fail "the broker did not bind n1's address: $(grep -m 3 tcp "$out/broker.log")"
grep -Eq 'CURVE on tcp://10\.231\.7\.2:[0-9]+ \(server\)' "$out/broker.log" ||
  fail "the broker did not bind CURVE on n1's address"
job="$(json "$s" .slurm.job)"
[[ "$job" =~ ^[0-9]+$ ]] || fail "summary.json: slurm.job '$job'"
expect_eq "run: allocated by eventide" "$(json "$s" .slurm.allocated_by_eventide)" true
expect_eq "run: nodes" "$(jq -c '[.slurm.nodes[] | .name + "=" + .address]' "$s")" \
  '["n1=10.231.7.2","n2=10.231.7.3"]'
expect_eq "run: worker steps on both nodes" \
  "$(jq -c '[.slurm.steps[] | select(.name | startswith("worker-")) | .node] | unique' "$s")" \
  '["n1","n2"]'
# No accounting database here: sacct refuses, the figures are sstat's,
# sampled while the steps ran; the note says so.
expect_eq "run: accounting source" "$(json "$s" .slurm.accounting)" sstat
jq -e '.slurm.accounting_note | test("sacct has no figures")' "$s" >/dev/null ||
  fail "run: accounting note: $(json "$s" .slurm.accounting_note)"
expect_eq "run: steps with figures" \
  "$(jq '[.slurm.steps[] | select(.cpu_s != null and .max_rss_kib > 0)] | length >= 5' "$s")" true
grep -q "slurm: per-step CPU time and max RSS from sstat" "$ET_TMP/run.log" ||
  fail "run did not say where the step figures come from"
grep -q "slurm: allocation $job released" "$ET_TMP/run.log" || fail "run did not release job $job"
no_jobs "after run"

# A start refused after the allocation was granted releases it.
rc=0
eventide run --cluster slurm:nodes=2,wait=30 --workers nosuch=1 --duration 1 \
  --out "$ET_TMP/refused" >"$ET_TMP/refused.log" 2>&1 || rc=$?
expect_eq "run with a bad --workers: exit status" "$rc" 2
grep -q "slurm: allocation [0-9]* released" "$ET_TMP/refused.log" ||
  fail "a refused run did not release its allocation: $(cat "$ET_TMP/refused.log")"
no_jobs "after a refused run"

# 2. up inside an allocation the user made (salloc), found from SLURM_JOB_ID.
alloc="$(in_ctl salloc --no-shell -N2 --immediate=30 2>&1)" ||
  fail "salloc: $alloc"
job2="$(sed -n 's/^salloc: Granted job allocation \([0-9]*\)$/\1/p' <<<"$alloc")"
[ -n "$job2" ] || fail "salloc: $alloc"
SLURM_JOB_ID="$job2" eventide up --cluster slurm --workflow synthetic \
  --service exp:2ms --workers 1 --out "$ET_TMP/up" >"$ET_TMP/up.log" 2>&1 ||
  { cat "$ET_TMP/up.log" >&2; fail "up --cluster slurm failed"; }
grep -q "node      n2 .*slurm job $job2" "$ET_TMP/up.log" || fail "up: $(cat "$ET_TMP/up.log")"
# worker_steps STATUS NODE: running worker steps on NODE in status --json.
worker_steps() {
  jq --arg n "$2" '[.processes[] | select(.role == "worker" and .host == $n and
                   .slurm_state == "RUNNING")] | length' "$1"
}
eventide scale synthetic 4 >"$ET_TMP/scale-up.log" 2>&1 ||
  { cat "$ET_TMP/scale-up.log" >&2; fail "scale up failed"; }
grep -q "synthetic: 4 instance(s)" "$ET_TMP/scale-up.log" || fail "scale up: $(cat "$ET_TMP/scale-up.log")"
eventide status --json >"$ET_TMP/status.json" 2>"$ET_TMP/status.err" ||
  { cat "$ET_TMP/status.err" >&2; fail "status failed"; }
expect_eq "status: worker steps on n1" "$(worker_steps "$ET_TMP/status.json" n1)" 2
expect_eq "status: worker steps on n2" "$(worker_steps "$ET_TMP/status.json" n2)" 2
expect_eq "status: the broker's step is job $job2's" \
  "$(jq -r '.processes[] | select(.name == "broker") | .slurm_job' "$ET_TMP/status.json")" "$job2"
# Slurm agrees: four worker steps (named after the processes) in the queue.
expect_eq "squeue: worker steps" \
  "$(in_ctl squeue -h --steps -j "$job2" -O 'StepName:40' | grep -c '^worker-synthetic-')" 4
eventide status >"$ET_TMP/status.txt" 2>&1 || fail "status (text) failed"
grep -Eq "^worker-synthetic-4 +n2 +$job2\.[0-9]+ +[0-9]+ RUNNING$" "$ET_TMP/status.txt" ||
  fail "status: $(cat "$ET_TMP/status.txt")"
eventide produce --rate 80 --duration 2 >"$ET_TMP/produce.log" 2>&1 ||
  { cat "$ET_TMP/produce.log" >&2; fail "produce failed"; }
eventide scale synthetic 1 >"$ET_TMP/scale-down.log" 2>&1 ||
  { cat "$ET_TMP/scale-down.log" >&2; fail "scale down failed"; }
grep -q "synthetic: 1 instance(s)" "$ET_TMP/scale-down.log" || fail "scale down: $(cat "$ET_TMP/scale-down.log")"
settles "squeue: worker steps after scale down" 1 worker_step_count "$job2"
eventide down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
s2="$ET_TMP/up/summary.json"
expect_accounted "$s2"
expect_eq "up: producers" "$(json "$s2" .producers.count)" 1
expect_eq "up: instances that reported" "$(json "$s2" .workers.started)" 4
expect_eq "up: allocated by eventide" "$(json "$s2" .slurm.allocated_by_eventide)" false
# The allocation was the user's: down leaves it, with no step in it.
expect_eq "after down: job $job2" "$(in_ctl squeue -h -j "$job2" -o %T)" RUNNING
settles "after down: steps of job $job2" 0 step_count "$job2"
in_ctl scancel "$job2"
for _ in $(seq 100); do [ -z "$(in_ctl squeue -h -o %i)" ] && break; sleep 0.1; done
no_jobs "after scancel $job2"

# An allocation that up requested: status names it, down releases it.
eventide up --cluster slurm:nodes=2,wait=30 --workflow noop --workers 1 \
  --out "$ET_TMP/up-own" >"$ET_TMP/up-own.log" 2>&1 ||
  { cat "$ET_TMP/up-own.log" >&2; fail "up --cluster slurm:nodes=2 failed"; }
job4="$(in_ctl squeue -h -o %i)"
[[ "$job4" =~ ^[0-9]+$ ]] || fail "up: jobs in the queue: '$job4'"
eventide status >"$ET_TMP/status-own.txt" 2>&1 || fail "status failed"
grep -q "^slurm job $job4, allocated by up (down releases it)$" "$ET_TMP/status-own.txt" ||
  fail "status: $(head -n 5 "$ET_TMP/status-own.txt")"
eventide down >"$ET_TMP/down-own.log" 2>&1 || { cat "$ET_TMP/down-own.log" >&2; fail "down failed"; }
grep -q "slurm: allocation $job4 released" "$ET_TMP/down-own.log" ||
  fail "down did not release job $job4: $(cat "$ET_TMP/down-own.log")"
expect_eq "up (own allocation): lost" "$(json "$ET_TMP/up-own/summary.json" .events.lost)" 0
no_jobs "after down of an allocation up requested"

# 3. contrib/slurm/sweep.sbatch: a sweep inside a batch job (one point),
# its results copied back from the first node's scratch directory.
results="$ET_TMP/sbatch-results"
submitted="$(EVENTIDE_DIR="$ET_ROOT" RESULTS="$results" RATES=60 DURATIONS=2 in_ctl sbatch --nodes=2 \
  --output="$ET_TMP/sbatch-%j.log" "$ET_ROOT/contrib/slurm/sweep.sbatch" \
  --workflow synthetic --service exp:2ms --workers 2 2>&1)" || fail "sbatch: $submitted"
job3="$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$submitted")"
[ -n "$job3" ] || fail "sbatch: $submitted"
for _ in $(seq 600); do [ -z "$(in_ctl squeue -h -j "$job3" 2>/dev/null)" ] && break; sleep 0.1; done
grep -q "sweep.sbatch: results in $results/sweep-$job3" "$ET_TMP/sbatch-$job3.log" ||
  fail "sweep.sbatch: $(tail -n 20 "$ET_TMP/sbatch-$job3.log")"
s3="$results/sweep-$job3/rate-60-dur-2/summary.json"
expect_accounted "$s3"
expect_eq "sbatch: the batch job's allocation" "$(json "$s3" .slurm.job)/$(json "$s3" .slurm.allocated_by_eventide)" "$job3/false"
expect_eq "sbatch: worker steps on both nodes" \
  "$(jq -c '[.slurm.steps[] | select(.name | startswith("worker-")) | .node] | unique' "$s3")" '["n1","n2"]'
[ -s "$results/sweep-$job3/report.md" ] || fail "sweep.sbatch: no report.md copied back"
no_jobs "after the batch job"

# Nothing of the pipeline is left: slurmd alone on each node, the
# controller alone on the login node (no srun, no launcher).
for n in n1 n2 ctl; do
  left=""
  for pid in $(ip netns pids "$ns_prefix-$n"); do
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    case "$n $comm" in
      "n1 slurmd"|"n2 slurmd"|"ctl slurmctld"|"ctl slurmscriptd"|*" ") ;;
      *) left+=" $pid($comm)" ;;
    esac
  done
  [ -z "$left" ] || fail "processes left on $n:$left"
done
pass "Slurm: run on 2 nodes ($(json "$s" .events.sent) events, lost 0, steps on n1 and n2, sstat figures, job released); up in an salloc job, scale 1 -> 4 -> 1 by steps, produce, down (lost 0, job kept); contrib/slurm/sweep.sbatch (lost 0, results copied back)"
