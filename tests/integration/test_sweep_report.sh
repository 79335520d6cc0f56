#!/usr/bin/env bash
# eventide sweep: one run per rate, then the report with the paper's three
# tables and the three figures as PNG and SVG.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/sweep"
"$EVENTIDE" sweep --workflow synthetic --service exp:5ms --workers 2 \
  --rates 5,20 --durations 2 --out "$out" >"$ET_TMP/sweep.log" 2>&1 ||
  { cat "$ET_TMP/sweep.log" >&2; fail "sweep failed"; }
for r in 5 20; do
  [ -f "$out/rate-$r-dur-2/summary.json" ] || fail "no run for rate $r"
  expect_eq "lost at rate $r" "$(json "$out/rate-$r-dur-2/summary.json" .events.lost)" 0
done
for t in "Average latency" "Average throughput" "Average utilization"; do
  grep -q "$t" "$out/report.md" || fail "report.md lacks '$t'"
  grep -q "$t" "$ET_TMP/sweep.log" || fail "sweep did not print '$t'"
done
for f in latency throughput utilization; do
  [ "$(head -c 8 "$out/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "$f.png is not a PNG"
  grep -q '<svg' "$out/$f.svg" || fail "$f.svg is not SVG"
done
pass "sweep wrote report.md with the three tables and six figures"
