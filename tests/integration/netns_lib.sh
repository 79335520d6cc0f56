# Emulated hosts on one machine (root): network namespaces joined by a
# bridge, for the namespace test and the clock benchmark. Sourced, not run.
# The range 10.231.7.0/24 exists only inside the namespaces.

NETNS_ALL=()

# netns_require PREFIX: exit 0 with a SKIP line where network namespaces
# cannot be made (not root, no iproute2); otherwise NETNS_PROBE names a
# fresh namespace PREFIX-probe to try things in (netns_down removes it).
netns_require() {
  local err=""
  NETNS_PROBE="$1-probe"
  if ! command -v ip >/dev/null 2>&1 || ! err="$(ip netns add "$NETNS_PROBE" 2>&1)"; then
    echo "SKIP: ip netns is unavailable or not permitted here (${err:-no ip command}); run as root with iproute2"
    exit 0
  fi
  NETNS_ALL+=("$NETNS_PROBE")
}

# netns_test_trap: for tests (lib.sh): whatever happens, remove the
# namespaces first, then et_cleanup with the test's exit status.
netns_test_trap() {
  trap 'netns_test_exit $?' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
}
netns_test_exit() {
  netns_down
  et_cleanup "$1"
}

# netns_up PREFIX HOST...: a switch namespace PREFIX-sw with bridge br0,
# and a namespace PREFIX-HOST per HOST whose eth0 has 10.231.7.<i>/24 (i =
# 1, 2, ... in order) and joins the bridge (an empty PREFIX: sw and HOST).
# Every namespace made is added to NETNS_ALL, so netns_down removes it even
# after a failure half-way.
netns_up() {
  local prefix="${1:+$1-}" i=1 h ns sw; shift
  sw="${prefix}sw"
  ip netns add "$sw"; NETNS_ALL+=("$sw")
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  ip -n "$sw" link set lo up
  for h in "$@"; do
    ns="$prefix$h"
    ip netns add "$ns"; NETNS_ALL+=("$ns")
    ip link add eth0 netns "$ns" type veth peer name "p$i" netns "$sw"
    ip -n "$sw" link set "p$i" master br0
    ip -n "$sw" link set "p$i" up
    ip -n "$ns" addr add "10.231.7.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    i=$((i + 1))
  done
}

# netns_down: kill what runs in the namespaces (a process keeps its
# namespace alive), then delete them. Never fails.
netns_down() {
  local ns pid
  for ns in "${NETNS_ALL[@]-}"; do
    [ -n "$ns" ] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for ns in "${NETNS_ALL[@]-}"; do
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  done
  NETNS_ALL=()
}
