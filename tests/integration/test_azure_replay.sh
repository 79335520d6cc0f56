#!/usr/bin/env bash
# Azure Functions trace replay through the launcher: minutes 900-904 of the
# 10-function sample at x60. The launcher writes the replay's workflow (one
# single-stage route per trace function, run by synthetic with its own
# percentile table), every function gets its own instance, and the run
# sends exactly the trace's invocations of that window, per function, with
# nothing lost. The per-function figures' data (functions.csv,
# slowdown_cdf.csv, instances.csv) agree with summary.json, and the
# figures are drawn.
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

# functions.csv: one point per function with invocations, its cold ratio
# and rate those of summary.json (printed the same way).
jq -r '.stages[] | select(.completed > 0) |
  "\(.function),\(.completed),\(.cold_events)"' "$s" | sort >"$ET_TMP/fn_want"
tail -n +2 "$out/functions.csv" | cut -d, -f1-3 | sort >"$ET_TMP/fn_got"
diff "$ET_TMP/fn_want" "$ET_TMP/fn_got" >&2 ||
  fail "functions.csv's points differ from summary.json's functions with invocations"
jq -r '.stages[] | select(.completed > 0) |
  "\(.function) \(.cold_ratio) \(.invocations_per_min)"' "$s" | sort >"$ET_TMP/ratio_want"
tail -n +2 "$out/functions.csv" | awk -F, '{ print $1, $4, $5 }' | sort >"$ET_TMP/ratio_got"
awk 'NR == FNR { r[$1] = $2; m[$1] = $3; next }
     !($1 in r) || (r[$1] - $2)^2 > 1e-12 || (m[$1] - $3)^2 > 1e-6 * m[$1]^2 {
       print "function " $1 ": csv " $2 " " $3 ", summary " r[$1] " " m[$1]; bad = 1 }
     END { exit bad }' "$ET_TMP/ratio_want" "$ET_TMP/ratio_got" >&2 ||
  fail "functions.csv's cold ratios or rates differ from summary.json"

# slowdown_cdf.csv: CDFs that never decrease and end at 1; summary.json's
# percentiles over every invocation, in order.
awk -F, 'NR == 1 { next }
  { if ($1 <= x) { print "line " NR ": slowdown does not increase"; exit 1 }
    x = $1
    for (i = 2; i <= NF; i++) {
      if ($i < y[i] || $i > 1) { print "line " NR ": CDF " i " decreases or exceeds 1"; exit 1 }
      y[i] = $i } }
  END { for (i = 2; i <= NF; i++) if (y[i] != 1) { print "CDF " i " ends at " y[i]; exit 1 } }' \
  "$out/slowdown_cdf.csv" >&2 || fail "slowdown_cdf.csv is not a CDF ending at 1"
expect_eq "slowdown invocations" "$(json "$s" .slowdown.invocations)" "$want_total"
jq -e '.slowdown | .p50 <= .p90 and .p90 <= .p99 and .p99 <= .p999 and .p999 <= .max' \
  "$s" >/dev/null || fail "slowdown percentiles out of order: $(jq -c .slowdown "$s")"

# instances.csv: one column per function, summing to the total each second.
expect_eq "instance columns" "$(head -1 "$out/instances.csv" | awk -F, '{ print NF - 2 }')" 10
awk -F, 'NR > 1 { t = 0; for (i = 3; i <= NF; i++) t += $i
  if (t != $2) { print "second " $1 ": functions " t ", total " $2; exit 1 } }' \
  "$out/instances.csv" >&2 || fail "instances.csv's functions do not sum to the total"
expect_eq "instances.csv rows" "$(($(wc -l <"$out/instances.csv") - 1))" \
  "$(($(wc -l <"$out/timeseries.csv") - 1))"
for fig in slowdown_cdf cold_vs_rate instances; do
  [ -s "$out/$fig.png" ] && [ -s "$out/$fig.svg" ] ||
    fail "no $fig figure: $(cat "$out/functions-plot.log" 2>/dev/null)"
done
pass "replayed $want_total invocations of $(wc -l <"$ET_TMP/want") functions, each on its own instances"
