#!/usr/bin/env bash
# The `starting` replicas of /metrics and `eventide top` with a real
# cold start: a workflow whose function models a 3 s init (init_delay),
# `scale` to two instances, and the new one counts as starting (STARTING
# before its init) until its READY, then ready; a third instance scaled
# away during its init says BYE and stops counting at once (not after
# --start-timeout); the pipeline then serves, and every event is
# accounted.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl missing"

wf="$ET_TMP/slowstart.json"
cat >"$wf" <<'EOF'
{"name": "slowstart",
 "stages": [{"function": "synthetic", "init_delay": "const:3s"}]}
EOF

out="$ET_TMP/out"
"$EVENTIDE" up --workflow "$wf" --service const:1ms --workers 1 \
  --out "$out" >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
url="$("$EVENTIDE" status --json | jq -r .endpoints.metrics)"
[[ "$url" =~ ^http:// ]] || fail "status: metrics URL '$url'"

scrape() { curl -sf -m 10 -o "$1" "$url" || fail "scrape of $url failed"; }
# replicas FILE STATE: the synthetic replicas in STATE in the scrape.
replicas() {
  awk -v s="state=\"$2\"" '$1 ~ /^eventide_function_replicas[{]function="synthetic"/ &&
    index($1, s) { v = $2 } END { print v + 0 }' "$1"
}
# await STATE N WHAT: scrape until STATE shows N replicas (30 s at most).
await() {
  local tries=0
  until scrape "$ET_TMP/m.prom"; [ "$(replicas "$ET_TMP/m.prom" "$1")" -eq "$2" ]; do
    tries=$((tries + 1)); [ "$tries" -le 150 ] || fail "never $2 $1 replica(s) ($3)"
    sleep 0.2
  done
}

await ready 1 "after up"
expect_eq "starting after up" "$(replicas "$ET_TMP/m.prom" starting)" 0

# A second instance: starting for its 3 s init, then ready.
"$EVENTIDE" scale synthetic 2 >"$ET_TMP/scale2.log" 2>&1 ||
  { cat "$ET_TMP/scale2.log" >&2; fail "scale 2 failed"; }
await starting 1 "during the second instance's init"
# top shows it too (column START of the function's row).
"$EVENTIDE" top --once --window 1 >"$ET_TMP/top.txt" 2>&1 ||
  { cat "$ET_TMP/top.txt" >&2; fail "top --once failed"; }
grep -q "^FUNCTION .* START " "$ET_TMP/top.txt" || { cat "$ET_TMP/top.txt" >&2; fail "top has no START column"; }
row="$(awk '$1 == "synthetic"' "$ET_TMP/top.txt")"
read -r -a f <<<"$row"
[ "${f[6]-}" = 1 ] || [ "${f[7]-}" = 2 ] || { cat "$ET_TMP/top.txt" >&2; fail "top did not show the starting instance: '$row'"; }
await ready 2 "after the second instance's init"
expect_eq "starting once both are ready" "$(replicas "$ET_TMP/m.prom" starting)" 0

# A third, scaled away during its init: BYE before READY.
"$EVENTIDE" scale synthetic 3 >"$ET_TMP/scale3.log" 2>&1 ||
  { cat "$ET_TMP/scale3.log" >&2; fail "scale 3 failed"; }
await starting 1 "during the third instance's init"
"$EVENTIDE" scale synthetic 2 >"$ET_TMP/scale2b.log" 2>&1 ||
  { cat "$ET_TMP/scale2b.log" >&2; fail "scale back to 2 failed"; }
await starting 0 "after the third instance left during its init"
expect_eq "starts expired" \
  "$(awk '$1 == "eventide_worker_starts_expired_total" { print $2 }' "$ET_TMP/m.prom")" 0
expect_eq "ready after the scale-in" "$(replicas "$ET_TMP/m.prom" ready)" 2

"$EVENTIDE" produce --rate 100 --duration 2 >"$ET_TMP/produce.log" 2>&1 ||
  { cat "$ET_TMP/produce.log" >&2; fail "produce failed"; }
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
s="$out/summary.json"
expect_accounted "$s"
[ "$(json "$s" .events.completed)" -gt 0 ] || fail "nothing completed"
# Each instance waited its modelled init (the logs are copied to OUT).
expect_eq "instances that waited 3 s" \
  "$(grep -l "modelled init: waiting 3000.0 ms" "$out"/worker-synthetic-*.log | wc -l)" 3
pass "a modelled 3 s init showed as a starting replica in /metrics and top until READY; one scaled away during init stopped counting at once; lost 0"
