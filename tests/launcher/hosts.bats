#!/usr/bin/env bats
# The hosts file grammar and what follows from it (launcher/hosts.sh):
# parse_hosts with every error naming the file and the line, the roles,
# workers:F=N, duplicates, the missing roles and functions; which hosts run
# a function and the round-robin split of --workers; the command template
# (sh_quote, host_argv) for ssh and for other templates.

load helpers

setup() {
  hosts="$BATS_TEST_TMPDIR/hosts"
}

# hosts_file LINE...: write the hosts file, one argument a line.
hosts_file() { printf '%s\n' "$@" >"$hosts"; }

# parse WORKFLOW [SCRIPT]: parse_hosts on $hosts against WORKFLOW, then
# SCRIPT.
parse() {
  in_launcher 'local -A wf; workflow_load wf "$1"; parse_hosts "$2" wf; eval "${3-}"' \
    "$1" "$hosts" "${2-}"
}

# bad_line LINE TEXT: the usage error names $hosts, the line and TEXT.
bad_line() { expect_usage "$hosts:$1: " "$2"; }

@test "a hosts file: names, addresses, roles; comments and blank lines" {
  hosts_file "# NAME ADDRESS ROLES" "" \
    "edge   10.0.1.2  producer   # the load" \
    "  core 10.0.2.2 broker collector" \
    "cloud  10.0.3.2  workers:synthetic=2" \
    "edge2  10.0.1.3  producer workers"
  parse synthetic 'echo "${HOST_NAMES[*]}|$BROKER_HOST|$COLLECTOR_HOST|${PRODUCER_HOSTS[*]}"
                   for h in "${HOST_NAMES[@]}"; do
                     echo "$h ${HOST_ADDR[$h]} ${HOST_LINE[$h]} ${HOST_PLAIN_WORKERS[$h]}${HOST_FNS[$h]}"
                   done'
  expect_ok
  expect_output "edge core cloud edge2|core|core|edge edge2
edge 10.0.1.2 3 0
core 10.0.2.2 4 0
cloud 10.0.3.2 5 0 synthetic=2
edge2 10.0.1.3 6 1"
}

@test "a last line without a newline is read" {
  printf 'a 10.0.0.1 producer broker collector workers' >"$hosts"
  parse synthetic 'echo "${HOST_NAMES[*]}"'
  expect_ok
  expect_output a
}

@test "each line: NAME ADDRESS ROLE..." {
  hosts_file "# comment" "" "a 10.0.0.1"
  parse synthetic
  bad_line 3 "expected NAME ADDRESS ROLE..., got 'a 10.0.0.1'"
  hosts_file "a"
  parse synthetic
  bad_line 1 "expected NAME ADDRESS ROLE"
  printf 'a 10.0.0.1 producer broker collector workers\nb 10.0.0.2 work\001ers\n' >"$hosts"
  parse synthetic
  bad_line 2 "non-printable characters"
}

@test "host names: a letter, then letters, digits, _ . - (at most 32), each once" {
  for bad in 1a -a a/b 'a$' "$(printf 'a%.0s' {1..33})"; do
    hosts_file "x 10.0.0.1 producer broker collector workers" "$bad 10.0.0.2 workers"
    parse synthetic
    bad_line 2 "host name '$bad'"
  done
  hosts_file "a.b_c-1 10.0.0.1 producer broker collector workers" \
    "$(printf 'b%.0s' {1..32}) 10.0.0.2 workers"
  parse synthetic
  expect_ok
  hosts_file "a 10.0.0.1 producer broker collector" "b 10.0.0.2 workers" "a 10.0.0.3 workers"
  parse synthetic
  bad_line 3 "host 'a' already named on line 1"
}

@test "addresses: IPv4" {
  for bad in 10.0.0.300 10.0.0 10.0.0.1.2 host.example a.b.c.d 256.1.1.1 ::1 10.0.0.1/24; do
    hosts_file "a 10.0.0.1 producer broker collector workers" "b $bad workers"
    parse synthetic
    bad_line 2 "address '$bad': expected an IPv4 address"
  done
  hosts_file "a 255.255.255.255 producer broker collector" "b 0.0.0.0 workers" "c 010.1.1.1 workers"
  parse synthetic
  expect_ok
}

@test "roles: producer, broker, collector, workers, workers:F=N" {
  hosts_file "a 10.0.0.1 producer broker collector dancer"
  parse synthetic
  bad_line 1 "unknown role 'dancer'"
  hosts_file "a 10.0.0.1 producer broker collector Workers"
  parse synthetic
  bad_line 1 "unknown role 'Workers'"
  for bad in workers: workers:synthetic workers:synthetic= workers:=1 \
             workers:synthetic=1, workers:synthetic=x "workers:synthetic=1,,noop=1"; do
    hosts_file "a 10.0.0.1 producer broker collector $bad"
    parse synthetic
    bad_line 1 "role '$bad': expected workers:FUNCTION=N"
  done
}

@test "workers:F=N: functions of the workflow, each once, at most 1000" {
  hosts_file "a 10.0.0.1 producer broker collector workers:nosuch=1"
  parse synthetic
  bad_line 1 "role 'workers:nosuch=1': workflow synthetic has no function 'nosuch'"
  hosts_file "a 10.0.0.1 producer broker collector workers:fraud=1,fraud=2"
  parse fraud
  bad_line 1 "function 'fraud' given twice"
  hosts_file "a 10.0.0.1 producer broker collector workers:synthetic=1001"
  parse synthetic
  bad_line 1 "at most 1000 instances"
  hosts_file "a 10.0.0.1 producer broker collector workers:synthetic=99999999999999999999999"
  parse synthetic
  bad_line 1 "at most 1000 instances"
  hosts_file "a 10.0.0.1 producer broker collector workers:synthetic=0001000"
  parse synthetic 'echo "${HOST_FNS[a]}"'
  expect_ok
  expect_output " synthetic=1000"
}

@test "a role is given once per line" {
  hosts_file "a 10.0.0.1 producer producer broker collector workers"
  parse synthetic
  bad_line 1 "role 'producer' given twice"
  hosts_file "a 10.0.0.1 producer broker collector workers workers"
  parse synthetic
  bad_line 1 "role 'workers' given twice"
  hosts_file "a 10.0.0.1 producer broker collector workers:preprocess=1 workers:fraud=1"
  parse fraud
  bad_line 1 "role 'workers' given twice"
}

@test "one broker, one collector" {
  hosts_file "a 10.0.0.1 producer broker collector" "b 10.0.0.2 broker workers"
  parse synthetic
  bad_line 2 "a second broker (host a on line 1 has it)"
  hosts_file "a 10.0.0.1 producer broker collector workers" "b 10.0.0.2 workers" "c 10.0.0.3 collector"
  parse synthetic
  bad_line 3 "a second collector (host a on line 1 has it)"
}

@test "the file: readable, at most 64 KiB, with hosts for every role and every function" {
  in_launcher 'local -A wf; workflow_load wf synthetic; parse_hosts "$1" wf' "$BATS_TEST_TMPDIR/none"
  expect_usage "--hosts '$BATS_TEST_TMPDIR/none': no such readable file"
  { for i in $(seq 3000); do echo "# padding padding padding"; done; } >"$hosts"
  parse synthetic
  expect_usage "--hosts '$hosts': larger than 64 KiB"
  hosts_file "# nothing here" ""
  parse synthetic
  expect_usage "--hosts '$hosts': no hosts"
  hosts_file "a 10.0.0.1 producer collector workers"
  parse synthetic
  expect_usage "--hosts '$hosts': no host has the broker role"
  hosts_file "a 10.0.0.1 producer broker workers"
  parse synthetic
  expect_usage "--hosts '$hosts': no host has the collector role"
  hosts_file "a 10.0.0.1 broker collector workers"
  parse synthetic
  expect_usage "--hosts '$hosts': no host has the producer role"
  hosts_file "a 10.0.0.1 producer broker collector"
  parse synthetic
  expect_usage "--hosts '$hosts': no host runs function 'synthetic' (add workers or workers:synthetic=N)"
  hosts_file "a 10.0.0.1 producer broker collector workers:preprocess=1,fraud=1,decide=1"
  parse fraud
  expect_usage "no host runs function 'sink'"
}

@test "a running pipeline's own copy is read without its workflow" {
  hosts_file "a 10.0.0.1 producer broker collector workers:whatever=2"
  in_launcher 'parse_hosts "$1"; echo "${HOST_FNS[a]}"' "$hosts"
  expect_ok
  expect_output " whatever=2"
}

@test "function_hosts: the hosts with workers:F=N, else those with workers" {
  hosts_file "a 10.0.0.1 producer broker collector workers" \
    "b 10.0.0.2 workers:fraud=3,sink=1" "c 10.0.0.3 workers workers:fraud=2" \
    "d 10.0.0.4 workers"
  parse fraud 'for f in fraud sink preprocess; do echo "$f:"; function_hosts "$f"; done'
  expect_ok
  expect_output "fraud:
b 3
c 2
sink:
b 1
preprocess:
a
c
d"
}

@test "worker_placement: explicit counts, else --workers round-robin in file order" {
  hosts_file "a 10.0.0.1 producer broker collector workers" \
    "b 10.0.0.2 workers:fraud=3" "c 10.0.0.3 workers" "d 10.0.0.4 workers"
  parse fraud 'worker_placement fraud 7; echo -; worker_placement sink 7
               echo -; worker_placement decide 2; echo -; worker_placement preprocess 0'
  expect_ok
  expect_output "b 3
-
a 3
c 2
d 2
-
a 1
c 1
d 0
-
a 0
c 0
d 0"
}

@test "hosts_load: the file made absolute; --netem names its hosts" {
  hosts_file "edge 10.0.0.1 producer" "core 10.0.0.2 broker collector workers"
  cd "$BATS_TEST_TMPDIR"
  in_launcher 'local -A wf; workflow_load wf synthetic
               parse_pipeline_opt --netem "edge=delay 5ms"
               hosts_load hosts wf; echo "$HOSTS_FILE"' 
  expect_ok
  expect_output "$hosts"
  in_launcher 'local -A wf; workflow_load wf synthetic
               parse_pipeline_opt --netem "cloud=delay 5ms"; hosts_load hosts wf'
  expect_usage "--netem 'cloud=delay 5ms': no host 'cloud' in $hosts"
}

@test "--clock-skew names a host of the file" {
  hosts_file "edge 10.0.0.1 producer" "core 10.0.0.2 broker collector workers"
  in_launcher 'local -A wf; workflow_load wf synthetic
               parse_pipeline_opt --hosts "$1"; parse_pipeline_opt --clock-skew edge=-250
               parse_pipeline_opt --clock-skew producer=5
               check_pipeline_opts; check_against_workflow wf' "$hosts"
  expect_ok
  in_launcher 'local -A wf; workflow_load wf synthetic
               parse_pipeline_opt --hosts "$1"; parse_pipeline_opt --clock-skew cloud=600
               check_pipeline_opts; check_against_workflow wf' "$hosts"
  expect_usage "--clock-skew 'cloud=600': no host 'cloud' in $hosts"
}

@test "check_pipeline_argv under --hosts: here, each worker host and each producer host" {
  hosts_file "edge 10.0.0.1 producer" "edge2 10.0.0.4 producer" \
    "core 10.0.0.2 broker collector workers" "cloud 10.0.0.3 workers"
  fake_bins "$BATS_TEST_TMPDIR/bin"
  in_launcher 'local -A wf; workflow_load wf synthetic
               parse_pipeline_opt --hosts "$1"; parse_pipeline_opt --clock-skew cloud=600
               check_pipeline_opts; check_against_workflow wf; BIN="$2"
               check_pipeline_argv wf /res 1 10' "$hosts" "$BATS_TEST_TMPDIR/bin"
  expect_ok
  log="$BATS_TEST_TMPDIR/bin/log"
  run awk '{ for (i = 1; i < NF; i++) if ($i == "--host-name") h = $(i + 1)
             print $1, h, $NF; h = "" }' "$log"
  [ "$output" = "eventide-broker  --check
eventide-collector  --check
eventide-worker core --check
eventide-worker cloud --check
eventide-producer edge --check
eventide-producer edge2 --check" ] || { cat "$log"; false; }
  grep -q -- "--clock-skew 600 --host-name cloud --check" "$log"
}

@test "./eventide run: a bad hosts file is one line naming file and line, exit 2" {
  hosts_file "a 10.0.0.1 producer broker collector" "b 10.0.0.300 workers"
  eventide run --hosts "$hosts" --duration 1 --out "$BATS_TEST_TMPDIR/out"
  bad_line 2 "address '10.0.0.300'"
  eventide up --hosts "$hosts" --transport ipc
  expect_usage "--transport 'ipc'"
  [ ! -e "$BATS_TEST_TMPDIR/out" ]
}

@test "sh_quote and sh_words: any word survives sh" {
  in_launcher 'sh -c "printf \"<%s>\\n\" $(sh_words "$@")"' \
    "it's" 'a "b"' '$HOME' '`id`' 'back\slash' '' ' lead' $'new\nline' '*'
  expect_ok
  expect_output "<it's>
<a \"b\">
<\$HOME>
<\`id\`>
<back\\slash>
<>
< lead>
<new
line>
<*>"
  in_launcher "sh_quote \"it's\""
  expect_output "'it'\\''s'"
}

@test "host_argv: ssh gets the script quoted once more, other templates argv as it is" {
  hosts_file "edge 10.0.0.1 producer" "core 10.0.0.2 broker collector workers"
  script="cd '/x y' && exec echo \"it's\""
  argv='local -A wf; workflow_load wf synthetic; parse_hosts "$1" wf
        HOST_CMD="$2"; local -a a; host_argv a "$3" "$4"; printf "<%s>\n" "${a[@]}"'
  in_launcher "$argv" "$hosts" "ssh -p 2222 {host}" edge "$script"
  expect_ok
  expect_output "<ssh>
<-p>
<2222>
<edge>
<sh -c 'cd '\\''/x y'\\'' && exec echo \"it'\\''s\"'>"
  in_launcher "$argv" "$hosts" "/usr/bin/ssh -l {host} {addr}" core "$script"
  expect_ok
  expect_output "</usr/bin/ssh>
<-l>
<core>
<10.0.0.2>
<sh -c 'cd '\\''/x y'\\'' && exec echo \"it'\\''s\"'>"
  in_launcher "$argv" "$hosts" "ip netns exec {host}" edge "$script"
  expect_ok
  expect_output "<ip>
<netns>
<exec>
<edge>
<sh>
<-c>
<$script>"
}

@test "host_run through ssh and through a plain template runs the same words" {
  # A stand-in ssh that, like ssh, joins its arguments for the remote shell.
  mkdir -p "$BATS_TEST_TMPDIR/fake"
  printf '#!/bin/sh\nshift\nexec sh -c "$*"\n' >"$BATS_TEST_TMPDIR/fake/ssh"
  chmod +x "$BATS_TEST_TMPDIR/fake/ssh"
  hosts_file "edge 10.0.0.1 producer broker collector workers"
  run_on='local -A wf; workflow_load wf synthetic; parse_hosts "$1" wf
          HOST_CMD="$2"; host_run edge printf "<%s>\n" "it'"'"'s" "a b" "\$HOME" ""'
  want="<it's>
<a b>
<\$HOME>
<>"
  in_launcher "$run_on" "$hosts" "$BATS_TEST_TMPDIR/fake/ssh {host}"
  expect_ok
  expect_output "$want"
  in_launcher "$run_on" "$hosts" "env HOST={host}"
  expect_ok
  expect_output "$want"
}
