#!/usr/bin/env bash
# Clock offsets: producers and workers whose clocks are off on purpose
# (--clock-skew) are measured against the broker's clock to within the
# bound they report, producer timestamps are corrected so latency is right,
# and a worker's cold start is unaffected. Without the estimate (--clock-sync
# off) the same skew shows in latency, and a clock that is ahead is flagged
# in summary.json and report.md. On one host with no skew nothing is
# corrected: the estimate cannot exclude zero.
. "$(dirname "$0")/lib.sh"

# |$1 - $2| <= $3 (+ 1 us for the rounding of the ms figures)?
within() { awk -v a="$1" -v b="$2" -v e="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= e + 0.001) }'; }

usage_rc() { # WHAT ARGS...: the launcher refuses ARGS with exit status 2
  local what="$1" rc=0; shift
  "$EVENTIDE" run "$@" --duration 1 >/dev/null 2>"$ET_TMP/usage.err" || rc=$?
  expect_eq "$what: exit status" "$rc" 2
  expect_eq "$what: error lines" "$(wc -l <"$ET_TMP/usage.err")" 1
}
usage_rc "--clock-sync maybe" --clock-sync maybe
usage_rc "--clock-skew without a key" --clock-skew 250
usage_rc "--clock-skew with a unit" --clock-skew producer=250ms
usage_rc "--clock-skew on a host without --hosts" --clock-skew edge=250
for bin in producer worker; do
  for bad in "--clock-skew 1e99" "--clock-skew 90000000" "--clock-sync sometimes" \
             "--clock-interval 10ms" "--host-name a/b"; do
    rc=0
    # shellcheck disable=SC2086
    "$ET_BIN_DIR/eventide-$bin" $bad >/dev/null 2>"$ET_TMP/bad.err" || rc=$?
    expect_eq "eventide-$bin $bad: exit status" "$rc" 2
    grep -q -- "${bad%% *} '" "$ET_TMP/bad.err" ||
      fail "eventide-$bin $bad: $(cat "$ET_TMP/bad.err")"
  done
done

run() { # OUT ARGS...
  local out="$1"; shift
  "$EVENTIDE" run --workflow synthetic --service exp:2ms --rate 100 \
    --duration 3 --seed 3 --out "$out" "$@" >"$out.log" 2>&1 ||
    { cat "$out.log" >&2; fail "run $* failed"; }
  expect_accounted "$out/summary.json"
}
source_of() { # SUMMARY ROLE FIELD: the field of the first source of ROLE
  jq -r --arg r "$2" "[.clocks.sources[] | select(.role == \$r)][0].$3" "$1"
}

# 1. A producer 400 ms behind and workers 5 s ahead, estimated and
# corrected (--clock-sync auto, the default).
out="$ET_TMP/skewed"
run "$out" --clock-skew producer=-400 --clock-skew workers=+5000
s="$out/summary.json"
off="$(source_of "$s" producer offset_ms)"; bound="$(source_of "$s" producer bound_ms)"
within "$off" 400 "$bound" || fail "producer offset $off ms +/- $bound, true 400"
expect_eq "producer corrected" "$(source_of "$s" producer corrected)" true
expect_eq "producer correction = offset" "$(source_of "$s" producer correction_ms)" "$off"
expect_eq "latency corrected" "$(json "$s" .clocks.latency_corrected)" true
expect_eq "error bound = the producer's bound" \
  "$(json "$s" .clocks.latency_error_bound_ms)" "$(source_of "$s" producer latency_error_bound_ms)"
awk -v p="$(json "$s" .latency_ms.p50)" 'BEGIN { exit !(p < 100) }' ||
  fail "corrected latency p50 $(json "$s" .latency_ms.p50) ms still carries the 400 ms skew"
expect_eq "latency_negative" "$(json "$s" .collector.latency_negative)" 0
expect_eq "worker sources" "$(jq '[.clocks.sources[] | select(.role == "worker")] | length' "$s")" 2
for w in 0 1; do
  off="$(jq -r "[.clocks.sources[] | select(.role == \"worker\")][$w].offset_ms" "$s")"
  bound="$(jq -r "[.clocks.sources[] | select(.role == \"worker\")][$w].bound_ms" "$s")"
  within "$off" -5000 "$bound" || fail "worker $w offset $off ms +/- $bound, true -5000"
done
expect_eq "worker: nothing corrected" "$(source_of "$s" worker corrected)" false
expect_eq "worker: no latency bound" "$(source_of "$s" worker latency_error_bound_ms)" null
# The spawn time is read on the worker's own (skewed) clock: a cold start
# under the skew (were it read on this clock, it would include the 5 s).
awk -v c="$(json "$s" .workers.cold_start_ms.max)" 'BEGIN { exit !(c > 0 && c < 5000) }' ||
  fail "cold start $(json "$s" .workers.cold_start_ms.max) ms with a skewed worker clock"
grep -q '^## Clocks' "$out/report.md" || fail "report.md has no Clocks section"
grep -q 'Producer timestamps were corrected' "$out/report.md" ||
  fail "report.md does not say the timestamps were corrected"

# 2. The same skew without the estimate: latency carries it.
out="$ET_TMP/off-behind"
run "$out" --clock-sync off --clock-skew producer=-400
s="$out/summary.json"
expect_eq "off: sources" "$(jq '.clocks.sources | length' "$s")" 0
expect_eq "off: error bound" "$(json "$s" .clocks.latency_error_bound_ms)" null
awk -v p="$(json "$s" .latency_ms.p50)" 'BEGIN { exit !(p >= 399) }' ||
  fail "uncorrected latency p50 $(json "$s" .latency_ms.p50) ms lacks the 400 ms skew"
grep -q 'Clock offsets were not estimated' "$out/report.md" ||
  fail "report.md does not say offsets were not estimated"

# 3. A producer clock ahead and uncorrected: completions precede their
# intended times on the broker's clock, counted and flagged.
out="$ET_TMP/off-ahead"
run "$out" --clock-sync off --clock-skew producer=400
s="$out/summary.json"
expect_eq "ahead: latency_negative" "$(json "$s" .collector.latency_negative)" \
  "$(json "$s" .events.completed)"
grep -q 'completed before their intended send time' "$out/report.md" ||
  fail "report.md does not warn of negative latencies"

# 4. One host, no skew: the estimate includes zero, nothing is corrected,
# and the producer's bound is what the reported error is.
out="$ET_TMP/same-host"
run "$out"
s="$out/summary.json"
off="$(source_of "$s" producer offset_ms)"; bound="$(source_of "$s" producer bound_ms)"
within "$off" 0 "$bound" || fail "same host: offset $off ms outside +/- $bound"
expect_eq "same host: corrected" "$(source_of "$s" producer corrected)" false
expect_eq "same host: latency corrected" "$(json "$s" .clocks.latency_corrected)" false
pass "skewed producer and workers measured within their bounds and corrected; uncorrected skew shows and is flagged; same host left alone"
