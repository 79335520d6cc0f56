# launcher/hosts.sh: one pipeline across several machines (--hosts FILE):
# the hosts file grammar, the placement of workers on hosts, the command
# template that runs a command on a host (--host-cmd), and the network
# conditions put on hosts (--netem).
#
# A hosts file names each host, its IPv4 address and the roles it runs:
#   # NAME   ADDRESS     ROLES
#   edge     10.0.1.2    producer
#   core     10.0.2.2    broker collector
#   cloud    10.0.3.2    workers:synthetic=2
# Every process on a host starts through --host-cmd (default `ssh {host}`),
# so the launcher, its run directory and logs stay on this machine.
#
# The hosts table below is, like the options (see options.sh), a run-wide
# setting: parse_hosts fills it from the file --hosts names and nothing
# changes it after that.

declare -ga HOST_NAMES=() PRODUCER_HOSTS=()
declare -gA HOST_ADDR=() HOST_LINE=() HOST_FNS=() HOST_PLAIN_WORKERS=()
declare -g BROKER_HOST="" COLLECTOR_HOST=""

hosts_error() { usage_error "$1:$2: $3"; } # FILE LINE MESSAGE

is_ipv4() {
  local IFS=. o
  [[ "$1" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || return 1
  for o in $1; do [ $((10#$o)) -le 255 ] || return 1; done
}

# parse_hosts FILE [WF]: fill the hosts table from FILE. With the workflow
# table WF, the functions workers:F=N names must be WF's and each of WF's
# functions must have a host (a running pipeline's own copy of its file,
# checked when it started, is read without). Strict: every error names the
# file and the line (exit 2).
parse_hosts() {
  local file="$1" wf_name="${2-}"
  HOST_NAMES=(); PRODUCER_HOSTS=(); BROKER_HOST=""; COLLECTOR_HOST=""
  HOST_ADDR=(); HOST_LINE=(); HOST_FNS=(); HOST_PLAIN_WORKERS=()
  [ -f "$file" ] && [ -r "$file" ] ||
    usage_error "--hosts '$file': no such readable file"
  [ "$(stat -c %s "$file")" -le 65536 ] ||
    usage_error "--hosts '$file': larger than 64 KiB"
  local line n=0 name addr role fns item fn cnt workflow=""
  local -a words items
  local -A seen_role
  [ -z "$wf_name" ] || workflow="$(wf_get "$wf_name" name)"
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    [[ "$line" =~ ^[[:print:][:space:]]*$ ]] || hosts_error "$file" "$n" "non-printable characters"
    line="${line%%#*}"
    read -r -a words <<<"$line"
    [ "${#words[@]}" -eq 0 ] && continue
    [ "${#words[@]}" -ge 3 ] ||
      hosts_error "$file" "$n" "expected NAME ADDRESS ROLE..., got '${words[*]}'"
    name="${words[0]}"; addr="${words[1]}"
    [[ "$name" =~ ^[A-Za-z][A-Za-z0-9_.-]{0,31}$ ]] ||
      hosts_error "$file" "$n" "host name '$name': expected a letter, then letters, digits, _ . - (at most 32)"
    [ -z "${HOST_ADDR[$name]+x}" ] ||
      hosts_error "$file" "$n" "host '$name' already named on line ${HOST_LINE[$name]}"
    is_ipv4 "$addr" || hosts_error "$file" "$n" "address '$addr': expected an IPv4 address"
    HOST_NAMES+=("$name"); HOST_ADDR[$name]="$addr"; HOST_LINE[$name]="$n"
    HOST_FNS[$name]=""; HOST_PLAIN_WORKERS[$name]=0
    seen_role=()
    for role in "${words[@]:2}"; do
      case "$role" in
        producer|broker|collector|workers) ;;
        workers:*)
          fns="${role#workers:}"
          [[ "$fns" =~ ^[A-Za-z0-9_.-]+=[0-9]+(,[A-Za-z0-9_.-]+=[0-9]+)*$ ]] ||
            hosts_error "$file" "$n" "role '$role': expected workers:FUNCTION=N[,FUNCTION=N...]"
          IFS=',' read -r -a items <<<"$fns"
          for item in "${items[@]}"; do
            fn="${item%%=*}"; cnt="${item#*=}"
            [ -z "$wf_name" ] || wf_has_function "$wf_name" "$fn" ||
              hosts_error "$file" "$n" "role '$role': workflow $workflow has no function '$fn'"
            [[ " ${HOST_FNS[$name]} " != *" $fn="* ]] ||
              hosts_error "$file" "$n" "role '$role': function '$fn' given twice"
            # (leading zeros dropped first: a long count must not wrap)
            [[ "$cnt" =~ ^0*([0-9]{1,4})$ ]] && [ "$((10#${BASH_REMATCH[1]}))" -le 1000 ] ||
              hosts_error "$file" "$n" "role '$role': at most 1000 instances"
            HOST_FNS[$name]+=" $fn=$((10#${BASH_REMATCH[1]}))"
          done
          role=workers: ;;
        *) hosts_error "$file" "$n" "unknown role '$role' (producer, broker, collector, workers, workers:FUNCTION=N)" ;;
      esac
      [ -z "${seen_role[$role]+x}" ] || hosts_error "$file" "$n" "role '${role%:}' given twice"
      seen_role[$role]=1
      case "$role" in
        producer) PRODUCER_HOSTS+=("$name") ;;
        broker) [ -z "$BROKER_HOST" ] ||
                  hosts_error "$file" "$n" "a second broker (host $BROKER_HOST on line ${HOST_LINE[$BROKER_HOST]} has it)"
                BROKER_HOST="$name" ;;
        collector) [ -z "$COLLECTOR_HOST" ] ||
                     hosts_error "$file" "$n" "a second collector (host $COLLECTOR_HOST on line ${HOST_LINE[$COLLECTOR_HOST]} has it)"
                   COLLECTOR_HOST="$name" ;;
        workers) HOST_PLAIN_WORKERS[$name]=1 ;;
      esac
    done
  done <"$file"
  [ "${#HOST_NAMES[@]}" -gt 0 ] || usage_error "--hosts '$file': no hosts"
  [ -n "$BROKER_HOST" ] || usage_error "--hosts '$file': no host has the broker role"
  [ -n "$COLLECTOR_HOST" ] || usage_error "--hosts '$file': no host has the collector role"
  [ "${#PRODUCER_HOSTS[@]}" -gt 0 ] ||
    usage_error "--hosts '$file': no host has the producer role"
  [ -n "$wf_name" ] || return 0
  for fn in $(wf_functions "$wf_name"); do
    [ -n "$(function_hosts "$fn")" ] ||
      usage_error "--hosts '$file': no host runs function '$fn' (add workers or workers:$fn=N)"
  done
}

# hosts_load FILE WF: parse_hosts, then HOSTS_FILE made absolute and every
# --netem naming a host of the file.
hosts_load() {
  local file="$1" item h
  parse_hosts "$file" "$2"
  HOSTS_FILE="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
  for item in "${NETEM[@]}"; do
    h="${item%%=*}"
    host_known "$h" || usage_error "--netem '$item': no host '$h' in $HOSTS_FILE"
  done
}

# load_hosts RUN: after run_env RUN, the hosts of that run (a copy of its
# hosts file is kept in RUN).
load_hosts() {
  [ -n "${HOSTS_FILE:-}" ] || return 0
  parse_hosts "$1/hosts"
  HOSTS_FILE="$1/hosts"
}

host_known() { [ -n "${HOST_ADDR[$1]+x}" ]; }

# function_hosts FUNCTION: the hosts that may run FUNCTION, as lines
# "HOST COUNT" (COUNT empty: the --workers count, split between them).
# Hosts with workers:FUNCTION=N, if any, else the hosts with `workers`.
function_hosts() {
  local fn="$1" h item explicit=0
  for h in "${HOST_NAMES[@]}"; do
    for item in ${HOST_FNS[$h]}; do
      [ "${item%%=*}" = "$fn" ] && { echo "$h ${item#*=}"; explicit=1; }
    done
  done
  [ "$explicit" -eq 1 ] && return 0
  for h in "${HOST_NAMES[@]}"; do
    [ "${HOST_PLAIN_WORKERS[$h]}" -eq 1 ] && echo "$h"
  done
  return 0
}

# worker_placement FUNCTION N: where FUNCTION's instances start, as lines
# "HOST COUNT": each host with workers:FUNCTION=C starts C; otherwise N is
# split round-robin between the hosts with `workers`, in file order.
worker_placement() {
  local fn="$1" n="$2" h cnt i=0 k
  local -a plain=()
  while read -r h cnt; do
    if [ -n "$cnt" ]; then echo "$h $cnt"; else plain+=("$h"); fi
  done < <(function_hosts "$fn")
  k="${#plain[@]}"
  for h in "${plain[@]}"; do
    echo "$h $((n / k + (i < n % k ? 1 : 0)))"
    i=$((i + 1))
  done
}

# sh_quote WORD: WORD as one POSIX sh word.
sh_quote() { local s="$1"; printf "'%s'" "${s//\'/\'\\\'\'}"; }
# sh_words WORD...: the words as a sh command line.
sh_words() {
  local w out=""
  for w in "$@"; do out+="$(sh_quote "$w") "; done
  printf '%s' "${out% }"
}

# host_argv OUT HOST SCRIPT [NAME]: into the array OUT, the command that
# runs the sh script SCRIPT on HOST through the --host-cmd template ({host}
# its name, {addr} its address, {name} the process's name NAME, else
# eventide-sh). ssh joins its arguments into one string for the remote
# shell, so for ssh the script is quoted once more; any other template (ip
# netns exec, sudo, docker exec, srun under --cluster slurm) gets argv as
# it is.
host_argv() {
  local -n host_argv_out="$1"
  local host="$2" script="$3" name="${4:-eventide-sh}" tpl
  tpl="${HOST_CMD//\{host\}/$host}"
  tpl="${tpl//\{addr\}/${HOST_ADDR[$host]-}}"
  tpl="${tpl//\{name\}/$name}"
  read -r -a host_argv_out <<<"$tpl"
  if [ "$(basename "${host_argv_out[0]}")" = ssh ]; then
    host_argv_out+=("sh -c $(sh_quote "$script")")
  else
    host_argv_out+=(sh -c "$script")
  fi
}

# host_sh HOST SCRIPT: run the sh script SCRIPT on HOST.
host_sh() {
  local -a argv
  host_argv argv "$1" "$2"
  "${argv[@]}"
}

# host_run HOST CMD...: CMD on HOST.
host_run() { local host="$1"; shift; host_sh "$host" "$(sh_words "$@")"; }

# host_exec HOST CMD...: CMD on HOST in the foreground, from the source tree.
host_exec() {
  local host="$1"; shift
  host_sh "$host" "cd $(sh_quote "$ROOT") && exec $(sh_words "$@")"
}

# hosts_prepare RUN OUT: the run directory on every host (a no-op where
# the file system is shared), the results directory on the collector's
# host, then the --netem conditions.
hosts_prepare() {
  local run="$1" out="$2" h
  : >"$run/.launcher"
  cp "$HOSTS_FILE" "$run/hosts"
  for h in "${HOST_NAMES[@]}"; do
    host_run "$h" mkdir -p -m 700 "$run" </dev/null >"$run/host-$h.err" 2>&1 ||
      { cat "$run/host-$h.err" >&2
        die "host $h: cannot run commands through '${HOST_CMD//\{host\}/$h}'"; }
    rm -f "$run/host-$h.err"
  done
  host_run "$COLLECTOR_HOST" mkdir -p "$out" </dev/null ||
    die "host $COLLECTOR_HOST: cannot create $out"
  netem_apply "$run"
}

# hosts_finish RUN OUT: copy the results from the collector's host unless
# the file system is shared (the marker file is visible there), remove the
# conditions and every host's run directory.
hosts_finish() {
  local run="$1" out="$2" marker
  netem_remove "$run"
  marker="$out/.eventide-local.$$"
  : >"$marker" 2>/dev/null || true
  if ! host_run "$COLLECTOR_HOST" test -e "$marker" </dev/null 2>/dev/null; then
    host_sh "$COLLECTOR_HOST" "cd $(sh_quote "$out") && tar cf - ." </dev/null |
      tar -C "$out" -xf - || info "could not copy the results from host $COLLECTOR_HOST"
  fi
  rm -f "$marker"
  hosts_clean "$run"
}

# hosts_clean RUN: remove RUN on the hosts that do not share this machine's
# file system (where the marker RUN/.launcher is not visible).
hosts_clean() {
  local run="$1" h
  for h in "${HOST_NAMES[@]}"; do
    host_sh "$h" "test -e $(sh_quote "$run/.launcher") || rm -rf $(sh_quote "$run")" \
      </dev/null >/dev/null 2>&1 || true
  done
}

# netem_apply RUN: for each --netem HOST=SPEC, `tc qdisc replace ... root
# netem SPEC` on the device that carries HOST's address, run on HOST
# through the template (needs root there); recorded in RUN/netem.
netem_apply() {
  local run="$1" item h spec dev
  for item in "${NETEM[@]}"; do
    h="${item%%=*}"; spec="${item#*=}"
    dev="$(host_run "$h" ip -o -4 addr show </dev/null 2>/dev/null |
           awk -v a="${HOST_ADDR[$h]}" '{ split($4, p, "/"); if (p[1] == a) { print $2; exit } }')"
    [ -n "$dev" ] || die "--netem '$item': no device on host $h has address ${HOST_ADDR[$h]}"
    # shellcheck disable=SC2086
    host_run "$h" tc qdisc replace dev "$dev" root netem $spec </dev/null ||
      die "--netem '$item': tc on host $h refused it"
    echo "$h $dev" >>"$run/netem"
    info "netem on host $h ($dev): $spec"
  done
}

# netem_remove RUN: undo netem_apply.
netem_remove() {
  local run="$1" h dev
  [ -f "$run/netem" ] || return 0
  while read -r h dev; do
    host_run "$h" tc qdisc del dev "$dev" root </dev/null >/dev/null 2>&1 || true
  done <"$run/netem"
  rm -f "$run/netem"
}
