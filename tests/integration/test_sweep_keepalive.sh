#!/usr/bin/env bash
# Keep-alive policies compared: `sweep --keepalive 0,3600` replays minutes
# 900-901 of the 10-function Azure sample twice from zero instances. Both
# runs complete exactly the trace's invocations; keep-alive 0 s (an idle
# instance leaves at once) has at least as many cold starts as keeping
# instances for an hour of trace time (longer than the run: each invoked
# function then starts once, for its first event, which is a cold start
# under any policy), and far less idle memory. At most one instance per
# function (--max 1): every instance is then started for waiting work and
# serves it, so keep-alive 0's idle time is the few ms from READY to the
# task, against seconds per function kept alive.
. "$(dirname "$0")/lib.sh"

dir="$ET_ROOT/data/azure-functions-2019/sample-10"
[ -f "$dir/10_inv.csv" ] || fail "missing $dir/10_inv.csv"
first=900
last=901
# The trace's invocations in the window, total and functions invoked,
# read here with awk, independently of the producer's reader.
read -r want_total want_functions < <(awk -F, -v a="$first" -v b="$last" '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { n = 0
    for (m = a; m <= b; m++) n += $(col["minute_" m])
    t += n; f += n > 0 }
  END { print t, f }' "$dir/10_inv.csv")
[ "$want_total" -gt 0 ] || fail "no invocations in minutes $first-$last"

out="$ET_TMP/sweep"
"$EVENTIDE" sweep --keepalive 0,3600 --arrival "azure2019:$dir" \
  --minutes "$first-$last" --speedup 30 --service-scale 0.001 --max 1 \
  --out "$out" >"$ET_TMP/sweep.log" 2>&1 ||
  { cat "$ET_TMP/sweep.log" >&2; fail "sweep failed"; }
[ -s "$out/keepalive.md" ] || fail "no keepalive.md"
[ -s "$out/keepalive.csv" ] || fail "no keepalive.csv"
grep -q '^| 0 s |' "$out/keepalive.md" || fail "keepalive.md has no row for 0 s"
grep -q '^| 3600 s |' "$out/keepalive.md" || fail "keepalive.md has no row for 3600 s"
if command -v gnuplot >/dev/null; then
  [ -s "$out/keepalive.png" ] || fail "no keepalive.png"
fi

# col POLICY NAME: a column of the CSV by its header name.
col() {
  awk -F, -v p="\"$1\"" -v name="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $1 == p { v = $(c[name]); gsub(/"/, "", v); print v }' "$out/keepalive.csv"
}
for p in 0 3600; do
  s="$out/keepalive-$p/summary.json"
  expect_accounted "$s"
  expect_eq "keep-alive $p: sent" "$(col "$p" sent)" "$want_total"
  expect_eq "keep-alive $p: invocations" "$(col "$p" invocations)" "$want_total"
  expect_eq "keep-alive $p: failed" "$(col "$p" failed)" 0
  # Every waiting event is either the cold start or behind one.
  jq -e '[.stages[] | select(.cold_invocations + .cold_waits != .cold_events)]
         | length == 0' "$s" >/dev/null ||
    fail "keep-alive $p: cold_invocations + cold_waits != cold_events"
  # GB-s: busy and idle are parts of the whole, per function and in all.
  jq -e '(.cost.busy_gb_s + .cost.idle_gb_s <= .cost.gb_s * 1.000001)
         and ((([.functions[] | .idle_gb_s] | add) - .cost.idle_gb_s | fabs) < 1e-6)' \
    "$s" >/dev/null || fail "keep-alive $p: GB-s parts do not add up"
  jq -e '.evictions.total == 0 and all(.functions[]; .evictions == 0)' "$s" \
    >/dev/null || fail "keep-alive $p: evictions without a node cap"
done
cold0="$(col 0 cold_starts)"
cold_long="$(col 3600 cold_starts)"
[ "$cold_long" -ge "$want_functions" ] ||
  fail "keep-alive 3600: $cold_long cold starts, fewer than the $want_functions functions invoked"
[ "$cold0" -ge "$cold_long" ] ||
  fail "cold starts grew with the keep-alive: 0 s $cold0, 3600 s $cold_long"
idle0="$(col 0 idle_gb_s)"
idle_long="$(col 3600 idle_gb_s)"
awk -v a="$idle0" -v b="$idle_long" 'BEGIN { exit !(b > a) }' ||
  fail "idle GB-s did not grow with the keep-alive: 0 s $idle0, 3600 s $idle_long"
pass "keep-alive 0 s: $cold0 cold starts, $idle0 idle GB-s; 3600 s: $cold_long, $idle_long (of $want_total invocations)"
