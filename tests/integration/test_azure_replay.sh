#!/usr/bin/env bash
# Azure Functions trace replay through the launcher: minutes 900-904 of the
# 10-function sample at x60. The launcher writes the replay's workflow (one
# single-stage route per trace function, run by synthetic with its own
# percentile table), every function gets its own instance, and the run
# sends exactly the trace's invocations of that window, per function, with
# nothing lost.
. "$(dirname "$0")/lib.sh"

dir="$ET_ROOT/data/azure-functions-2019/sample-10"
[ -f "$dir/10_inv.csv" ] || fail "missing $dir/10_inv.csv"
first=900
last=904
# The trace's invocations per function in the window, read here with awk,
# independently of the producer's reader: "NAME COUNT" lines, NAME as the
# reader names functions (f + 10 hex digits of HashFunction - 8 of HashApp).
awk -F, -v a="$first" -v b="$last" '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { n = 0
    for (m = a; m <= b; m++) n += $(col["minute_" m])
    printf "f%s-%s %d\n", substr($(col["HashFunction"]), 1, 10),
      substr($(col["HashApp"]), 1, 8), n }' "$dir/10_inv.csv" |
  sort >"$ET_TMP/want"
want_total=$(awk '{ t += $2 } END { print t }' "$ET_TMP/want")
[ "$want_total" -gt 0 ] || fail "no invocations in minutes $first-$last"

out="$ET_TMP/out"
"$EVENTIDE" run --arrival "azure2019:$dir" --minutes "$first-$last" \
  --speedup 60 --service-scale 0.001 --workers 1 \
  --out "$out" >"$ET_TMP/run.log" 2>&1 || { cat "$ET_TMP/run.log" >&2; fail "run failed"; }
s="$out/summary.json"
expect_accounted "$s"
expect_eq "events sent" "$(json "$s" .events.sent)" "$want_total"
expect_eq "events completed" "$(json "$s" .events.completed)" "$want_total"
expect_eq "events lost" "$(json "$s" .events.lost)" 0
expect_eq "stage order violations" "$(json "$s" .collector.order_violations)" 0
expect_eq "workflow" "$(json "$s" .run.workflow)" azure
[ -f "$out/azure-workflow.json" ] || fail "no azure-workflow.json in the results"
# Every function of the trace is a stage of its own, completing exactly
# its invocations of the window.
jq -r '.stages[] | "\(.function) \(.completed)"' "$s" | sort >"$ET_TMP/got"
diff "$ET_TMP/want" "$ET_TMP/got" >&2 ||
  fail "completions per function differ from the trace (want < > got)"
expect_eq "stages" "$(jq '.stages | length' "$s")" 10
pass "replayed $want_total invocations of $(wc -l <"$ET_TMP/want") functions, each on its own instances"
