#!/usr/bin/env bats
# `eventide top` (launcher/top.sh, launcher/top.awk): the screen drawn
# from two scrapes (rates over the interval, gauges of the newer one,
# percentiles interpolated in the buckets' deltas, a counter reset, a
# missing collector), and its options and errors through ./eventide. The
# live view under tmux is tests/integration/test_top_tmux.sh.

load helpers

# scrape FILE ARRIVALS SUCCESS BUCKETS...: a broker scrape of one function
# "f" with these counters and duration buckets (le 0.001 0.01 0.1 +Inf,
# cumulative); response buckets ten times the duration's bounds with the
# same counts; queue 7, in flight 3, replicas starting 4 ready 2 busy 1
# leaving 0, cold starts as ARRIVALS / 10, rejections as ARRIVALS / 5.
scrape() {
  local file="$1" arr="$2" ok="$3"
  shift 3
  {
    echo '# HELP eventide_queue_depth jobs waiting'
    echo '# TYPE eventide_queue_depth gauge'
    echo 'eventide_queue_depth{function="f"} 7'
    echo 'eventide_inflight{function="f"} 3'
    echo "eventide_function_arrivals_total{function=\"f\"} $arr"
    echo "eventide_function_invocations_total{function=\"f\",outcome=\"success\"} $ok"
    echo 'eventide_function_invocations_total{function="f",outcome="error"} 0'
    echo 'eventide_function_replicas{function="f",state="busy"} 1'
    echo 'eventide_function_replicas{function="f",state="ready"} 2'
    echo 'eventide_function_replicas{function="f",state="leaving"} 0'
    echo 'eventide_function_replicas{function="f",state="starting"} 4'
    echo "eventide_function_coldstarts_total{function=\"f\"} $((arr / 10))"
    echo "eventide_function_rejected_total{function=\"f\"} $((arr / 5))"
    local le i=0 resp=(0.01 0.1 1 +Inf)
    for le in 0.001 0.01 0.1 +Inf; do
      i=$((i + 1))
      echo "eventide_function_duration_seconds_bucket{function=\"f\",le=\"$le\"} ${!i}"
      echo "eventide_function_response_seconds_bucket{function=\"f\",le=\"${resp[i - 1]}\"} ${!i}"
    done
    echo "eventide_events_accepted_total $arr"
    echo "eventide_events_completed_total $ok"
    echo 'eventide_events_rejected_total{reason="queue_full"} 4'
    echo 'eventide_events_rejected_total{reason="bad_payload"} 1'
    echo 'eventide_events_in_system 10'
  } >"$file"
}

draw() { # OLD NEW [OLD_COLLECTOR NEW_COLLECTOR]: top.awk over 10 s
  run --separate-stderr awk -v dt=10 -v url=http://b/metrics -v clock=12:00:00 \
    -v ob="$1" -v nb="$2" -v oc="${3-}" -v nc="${4-}" -f "$ET_ROOT/launcher/top.awk"
}

row() { echo "$output" | awk '$1 == "f"'; }

@test "top.awk: rates over the interval, gauges of the newer scrape" {
  scrape "$BATS_TEST_TMPDIR/o" 100 90 0 10 50 90
  scrape "$BATS_TEST_TMPDIR/n" 600 590 0 110 550 590
  draw "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/n"
  expect_ok
  # offered 500/10 s, done 500/10 s, rejected 100/10 s, queue 7,
  # inflight 3, 4 starting, 2 ready, 1 busy, 0 leaving, 50 cold starts in
  # the window.
  read -r -a f <<<"$(row)"
  [ "${f[1]}" = 50.0 ] && [ "${f[2]}" = 50.0 ] && [ "${f[3]}" = 10.0 ] &&
    [ "${f[4]}" = 7 ] && [ "${f[5]}" = 3 ] && [ "${f[6]}" = 4 ] &&
    [ "${f[7]}" = 2 ] && [ "${f[8]}" = 1 ] && [ "${f[9]}" = 0 ] &&
    [ "${f[14]}" = 50 ] || { show; return 1; }
  [[ "$output" == *"accepted 600 (50.0/s)"* ]] || { show; return 1; }
  [[ "$output" == *"rejected 5 (0.0/s)"* ]] || { show; return 1; }
  [[ "$output" == *"in system 10"* ]] || { show; return 1; }
}

@test "top.awk: percentiles interpolate within the buckets of the window only" {
  # Before: 90 fast observations. In the window: 100 new ones, all in
  # (0.01, 0.1]: p50 = 10 + 90 * 0.5 = 55 ms, p99 = 10 + 90 * 0.99 = 99.1.
  scrape "$BATS_TEST_TMPDIR/o" 90 90 90 90 90 90
  scrape "$BATS_TEST_TMPDIR/n" 190 190 90 90 190 190
  draw "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/n"
  expect_ok
  read -r -a f <<<"$(row)"
  [ "${f[10]}" = 55.0 ] && [ "${f[11]}" = 99.1 ] || { show; return 1; }
  # The response's buckets are ten times wider: 550 and 991 ms.
  [ "${f[12]}" = 550.0 ] && [ "${f[13]}" = 991.0 ] || { show; return 1; }
  # Nothing new: no percentile, not the old ones.
  draw "$BATS_TEST_TMPDIR/n" "$BATS_TEST_TMPDIR/n"
  read -r -a f <<<"$(row)"
  [ "${f[10]}" = - ] && [ "${f[11]}" = - ] && [ "${f[12]}" = - ] &&
    [ "${f[1]}" = 0.0 ] || { show; return 1; }
}

@test "top.awk: past the last finite bucket the percentile says so" {
  scrape "$BATS_TEST_TMPDIR/o" 0 0 0 0 0 0
  scrape "$BATS_TEST_TMPDIR/n" 10 10 0 0 0 10
  draw "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/n"
  read -r -a f <<<"$(row)"
  [ "${f[11]}" = ">100.0" ] || { show; return 1; }
}

@test "top.awk: a counter that went down was reset and counts from zero" {
  # A restarted broker: 1000 before, 30 now -> 30 in the window.
  scrape "$BATS_TEST_TMPDIR/o" 1000 1000 0 0 1000 1000
  scrape "$BATS_TEST_TMPDIR/n" 30 30 0 0 30 30
  draw "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/n"
  read -r -a f <<<"$(row)"
  [ "${f[1]}" = 3.0 ] && [ "${f[2]}" = 3.0 ] || { show; return 1; }
}

@test "top.awk: end to end from the collector's histogram, or says it has none" {
  scrape "$BATS_TEST_TMPDIR/o" 0 0 0 0 0 0
  scrape "$BATS_TEST_TMPDIR/n" 10 10 0 10 10 10
  draw "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/n" /nonexistent ""
  [[ "$output" == *"end to end  (no collector metrics)"* ]] || { show; return 1; }
  printf '%s\n' 'eventide_event_latency_seconds_bucket{le="0.01"} 0' \
    'eventide_event_latency_seconds_bucket{le="0.1"} 40' \
    'eventide_event_latency_seconds_bucket{le="+Inf"} 40' \
    'eventide_event_latency_seconds_count 40' >"$BATS_TEST_TMPDIR/c"
  draw "$BATS_TEST_TMPDIR/o" "$BATS_TEST_TMPDIR/n" /nonexistent "$BATS_TEST_TMPDIR/c"
  [[ "$output" == *"end to end  p50 55.0 ms  p99 99.1 ms  (40 completed"* ]] || { show; return 1; }
}

@test "top.awk: garbage lines are skipped; no function at all is an error" {
  scrape "$BATS_TEST_TMPDIR/n" 10 10 0 0 10 10
  printf '%s\n' 'not a metric' '{{{ 1' 'x{function="' '' >>"$BATS_TEST_TMPDIR/n"
  draw /nonexistent "$BATS_TEST_TMPDIR/n"
  expect_ok
  [ -n "$(row)" ] || { show; return 1; }
  printf 'garbage\n' >"$BATS_TEST_TMPDIR/g"
  draw /nonexistent "$BATS_TEST_TMPDIR/g"
  [ "$status" -eq 1 ] && [[ "$output" == *"no functions"* ]] || { show; return 1; }
}

@test "eventide top: bad options are usage errors; no pipeline is an error" {
  eventide top --window 0
  expect_usage "--window '0'"
  eventide top --broker 'not a url'
  expect_usage "--broker 'not a url'"
  eventide top --frobnicate 1
  expect_usage "unknown option '--frobnicate'"
  eventide top --once
  [ "$status" -eq 1 ] && [ "${#stderr_lines[@]}" -eq 1 ] &&
    [[ "$stderr" == *"no pipeline is up"* ]] || { show; return 1; }
  eventide top --once --broker http://127.0.0.1:9/metrics
  [ "$status" -eq 1 ] && [[ "$stderr" == *"cannot read http://127.0.0.1:9/metrics"* ]] || { show; return 1; }
}

@test "eventide top --help and help list it" {
  eventide top --help
  expect_ok
  [[ "$output" == *"usage: ./eventide top"* ]] || { show; return 1; }
  eventide help
  [[ "$output" == *"top [--once]"* ]] || { show; return 1; }
}
