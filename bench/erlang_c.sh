#!/usr/bin/env bash
# erlang_c.sh: M/M/c prediction of the mean queue wait, for bench/run.sh's
# fidelity check. Erlang C through the Erlang B recursion (stable for any c):
#   B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)),  C = B / (1 - rho (1 - B)),
#   W_q = C / (c mu - lambda),  a = lambda / mu,  rho = a / c.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/erlang_c.sh C LAMBDA_EPS SERVICE_MEAN_MS
       bench/erlang_c.sh --self-test
  C                servers (workers x slots), a positive integer
  LAMBDA_EPS       arrival rate, events per second
  SERVICE_MEAN_MS  mean service time, milliseconds
Prints: rho=... offered_erlangs=... erlang_c=... wq_ms=...
Exit 2 on a bad argument, 1 if rho >= 1 (no steady state).
EOF
}

erlang_c() { # C LAMBDA SERVICE_MS
  awk -v c="$1" -v lambda="$2" -v s_ms="$3" 'BEGIN {
    mu = 1000.0 / s_ms; a = lambda / mu; rho = a / c
    if (rho >= 1) { printf "rho=%.6f offered_erlangs=%.6f erlang_c=1 wq_ms=inf\n", rho, a; exit 1 }
    b = 1.0
    for (k = 1; k <= c; k++) b = a * b / (k + a * b)
    ec = b / (1 - rho * (1 - b))
    wq_ms = ec / (c * mu - lambda) * 1000.0
    printf "rho=%.6f offered_erlangs=%.6f erlang_c=%.6f wq_ms=%.6f\n", rho, a, ec, wq_ms
  }'
}

self_test() {
  # M/M/1: C = rho, W_q = rho/(mu - lambda). M/M/2: C = 2 rho^2 / (1 + rho).
  local got
  got="$(erlang_c 1 40 20)" # rho 0.8, W_q = 0.8/(50-40) s = 80 ms
  [[ "$got" == *"erlang_c=0.800000 wq_ms=80.000000" ]] ||
    { echo "self-test M/M/1 failed: $got" >&2; return 1; }
  got="$(erlang_c 2 75 20)" # rho 0.75, C = 0.642857, W_q = C/25 s
  [[ "$got" == *"erlang_c=0.642857 wq_ms=25.714286" ]] ||
    { echo "self-test M/M/2 failed: $got" >&2; return 1; }
  # M/M/4 at a = 3 (rho 0.75): C = 0.509434 (textbook tables: 0.5094)
  got="$(erlang_c 4 150 20)"
  [[ "$got" == *"erlang_c=0.509434"* ]] ||
    { echo "self-test M/M/4 failed: $got" >&2; return 1; }
  echo "erlang_c self-test passed"
}

case "${1-}" in
  -h|--help) usage; exit 0 ;;
  --self-test) self_test; exit $? ;;
esac
[ $# -eq 3 ] || { usage >&2; exit 2; }
[[ "$1" =~ ^[1-9][0-9]*$ ]] || { echo "erlang_c.sh: C '$1': expected a positive integer" >&2; exit 2; }
[[ "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v x="$2" 'BEGIN{exit !(x > 0)}' ||
  { echo "erlang_c.sh: LAMBDA_EPS '$2': expected a positive number" >&2; exit 2; }
[[ "$3" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v x="$3" 'BEGIN{exit !(x > 0)}' ||
  { echo "erlang_c.sh: SERVICE_MEAN_MS '$3': expected a positive number" >&2; exit 2; }
erlang_c "$1" "$2" "$3"
