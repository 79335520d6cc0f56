#!/usr/bin/env bash
# eventide sweep: one run per rate, then the report with the paper's three
# tables and the three figures as PNG and SVG; the tables the launcher
# prints (eventide-report --tables, read from the summaries) are exactly
# those sections of report.md.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/sweep"
"$EVENTIDE" sweep --workflow synthetic --service exp:5ms --workers 2 \
  --rates 5,20 --durations 2 --out "$out" >"$ET_TMP/sweep.log" 2>"$ET_TMP/sweep.err" ||
  { cat "$ET_TMP/sweep.log" "$ET_TMP/sweep.err" >&2; fail "sweep failed"; }
for r in 5 20; do
  [ -f "$out/rate-$r-dur-2/summary.json" ] || fail "no run for rate $r"
  expect_eq "lost at rate $r" "$(json "$out/rate-$r-dur-2/summary.json" .events.lost)" 0
done
for t in "Average latency" "Average throughput" "Average utilization"; do
  grep -q "$t" "$out/report.md" || fail "report.md lacks '$t'"
  grep -q "$t" "$ET_TMP/sweep.log" || fail "sweep did not print '$t'"
done
# The paper's sections of report.md, as the launcher once cut them out.
awk '/^#+ .*Average (latency|throughput|utilization)/ {show=1}
     /^#+ / && !/Average (latency|throughput|utilization)/ {show=0}
     show' "$out/report.md" >"$ET_TMP/sections.md"
# Tables 1, 2, 3 (the bottleneck, named) and 3b (every function).
[ "$(grep -c '^| 5 |' "$ET_TMP/sections.md")" = 4 ] ||
  fail "report.md's tables lack the rate-5 rows"
grep -q '^| 5 | [0-9.]* (synthetic) |$' "$ET_TMP/sections.md" ||
  fail "Table 3 does not name the bottleneck: $(grep '^| 5 |' "$ET_TMP/sections.md")"
"$ET_BIN_DIR/eventide-report" --tables "$out" >"$ET_TMP/tables.md" ||
  fail "eventide-report --tables failed"
cmp -s "$ET_TMP/sections.md" "$ET_TMP/tables.md" ||
  { diff "$ET_TMP/sections.md" "$ET_TMP/tables.md" >&2; fail "--tables differs from report.md"; }
# What the user sees: the report line, the tables, then where things are.
{ sed -n '1p' "$ET_TMP/sweep.log" | grep -q '^report: ' &&
  sed -n "2,$(( $(wc -l <"$ET_TMP/tables.md") + 1 ))p" "$ET_TMP/sweep.log" |
    cmp -s - "$ET_TMP/tables.md"; } ||
  { cat "$ET_TMP/sweep.log" >&2; fail "sweep did not print the tables after the report line"; }
for f in latency throughput utilization; do
  [ "$(head -c 8 "$out/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "$f.png is not a PNG"
  grep -q '<svg' "$out/$f.svg" || fail "$f.svg is not SVG"
done
pass "sweep wrote report.md with the three tables and six figures, and printed the tables"
