#!/usr/bin/env bash
# An overloaded run (offered twice what one 50 ms slot serves, for 20 s)
# with a short drain: the events still queued when the drain ends are
# reported as unfinished with latency lower bounds, the latency says it is
# incomplete, throughput is measured over the producer's schedule with
# the drain's completions apart, and the stage's hold, overhead and
# residence are consistent with its service and queue. Presence and
# consistency only: how close throughput comes to capacity is measured in
# bench/RESULTS.md, not asserted here (2 noisy cores).
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/out"
"$EVENTIDE" run --workflow synthetic --service const:50ms --slots 1 \
  --workers 1 --rate 40 --duration 20 --drain-timeout 2 --out "$out" \
  >"$ET_TMP/run.log" 2>&1 || { cat "$ET_TMP/run.log" >&2; fail "run failed"; }
s="$out/summary.json"
expect_accounted "$s"

# The censored tail.
unfinished=$(json "$s" .events.unfinished)
[ "$unfinished" -gt 0 ] || fail "no unfinished events: the run was not overloaded"
expect_eq "unfinished = failed (shutting_down)" "$unfinished" \
  "$(json "$s" '.events.failed_by_reason.shutting_down')"
expect_eq "latency complete" "$(json "$s" .latency_ms.complete)" false
expect_eq "censored count" "$(json "$s" .latency_censored.count)" "$unfinished"
jq -e '.latency_censored.min_ms > 0
       and .latency_censored.min_ms <= .latency_censored.p50_ms
       and .latency_censored.p50_ms <= .latency_censored.max_ms
       and .latency_ms.max >= .latency_censored.max_ms' "$s" >/dev/null ||
  fail "censored block: $(jq -c .latency_censored "$s")"
jq -e '(.latency_ms.at_least | index("mean") != null and index("max") != null)' \
  "$s" >/dev/null || fail "at_least: $(jq -c .latency_ms.at_least "$s")"
grep -q '\*\*Incomplete:\*\*' "$out/report.md" || fail "report.md does not say incomplete"
grep -q '| ≥ ' "$out/report.md" || fail "report.md marks no lower bound"

# Throughput over the load window, the drain apart.
expect_eq "window" "$(json "$s" .throughput_eps.window)" schedule
jq -e '.throughput_eps.window_s == .run.duration_s
       and .throughput_eps.completed_in_window + .throughput_eps.drain_completed
           == .events.completed
       and .throughput_eps.drain_completed > 0
       and (.throughput_eps.mean * .throughput_eps.window_s
            - .throughput_eps.completed_in_window | fabs) < 1e-6
       and (.throughput_eps.offered_eps * .throughput_eps.window_s
            - .events.sent | fabs) < 1e-6
       and .throughput_eps.mean < .throughput_eps.offered_eps' "$s" >/dev/null ||
  fail "throughput: $(jq -c .throughput_eps "$s")"

# Hold, overhead and residence against service and queue.
jq -e '.stages[0] as $st
       | $st.hold_ms.mean >= $st.service_ms.mean
       and $st.overhead_ms.mean >= 0
       and (($st.hold_ms.mean - $st.service_ms.mean - $st.overhead_ms.mean)
            | fabs) < 0.01 * $st.hold_ms.mean
       and $st.residence_ms.mean >= $st.queue_ms.mean' "$s" >/dev/null ||
  fail "stage: $(jq -c '.stages[0] | {service_ms, hold_ms, overhead_ms, queue_ms, residence_ms}' "$s")"

# Cost: every dispatched attempt, at least every completed one.
jq -e '.cost.requests >= .stages[0].completed
       and .cost.failed_attempts >= 0 and .cost.retry_share < 1' "$s" >/dev/null ||
  fail "cost: $(jq -c .cost "$s")"

pass "$unfinished unfinished (censored from $(json "$s" .latency_censored.min_ms) ms);" \
  "throughput $(json "$s" .throughput_eps.mean)/s of $(json "$s" .throughput_eps.offered_eps)/s offered"
