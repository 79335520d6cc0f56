# Emulated hosts on one machine (root): network namespaces joined by a
# bridge, for the namespace test and the clock benchmark. Sourced, not run.
# The range 10.231.7.0/24 exists only inside the namespaces.

NETNS_ALL=()

# netns_up PREFIX HOST...: a switch namespace PREFIX-sw with bridge br0,
# and a namespace PREFIX-HOST per HOST whose eth0 has 10.231.7.<i>/24 (i =
# 1, 2, ... in order) and joins the bridge. Every namespace made is added
# to NETNS_ALL, so netns_down removes it even after a failure half-way.
netns_up() {
  local prefix="$1" sw="$1-sw" i=1 h ns; shift
  ip netns add "$sw"; NETNS_ALL+=("$sw")
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  ip -n "$sw" link set lo up
  for h in "$@"; do
    ns="$prefix-$h"
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
