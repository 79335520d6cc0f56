#!/usr/bin/env bats
# `up --prometheus` (launcher/prometheus.sh): the config written for a run
# (contrib's, with the run's two targets and the rules' absolute path, and
# still valid for promtool), and the combinations refused before anything
# starts. The live server is tests/integration/test_prometheus_live.sh.

load helpers

@test "prometheus_config: the run's targets and rules in contrib's config" {
  in_launcher '
    mkdir -p "$ET_TEST_TMP/run"
    METRICS_URL=http://127.0.0.1:4001/metrics
    METRICS_COLLECTOR_URL=http://127.0.0.1:4002/metrics
    prometheus_config "$ET_TEST_TMP/run"
    grep -v "^#" "$ET_TEST_TMP/run/prometheus.yml"'
  expect_ok
  [[ "$output" == *"targets: ['127.0.0.1:4001']"* ]] || { show; return 1; }
  [[ "$output" == *"targets: ['127.0.0.1:4002']"* ]] || { show; return 1; }
  [[ "$output" == *"- $ET_ROOT/contrib/prometheus/eventide.rules.yml"* ]] || { show; return 1; }
  [[ "$output" != *"9464"* && "$output" != *"9465"* ]] || { show; return 1; }
  # No autoscaler: no job for it.
  [[ "$output" != *"eventide-autoscaler"* && "$output" != *"9466"* ]] || { show; return 1; }
  if command -v promtool >/dev/null; then
    run promtool check config "$BATS_TEST_TMPDIR/run/prometheus.yml"
    expect_ok
  fi
}

@test "prometheus_config: under --autoscale the autoscaler is a third job" {
  in_launcher '
    mkdir -p "$ET_TEST_TMP/run"
    METRICS_URL=http://127.0.0.1:4001/metrics
    METRICS_COLLECTOR_URL=http://127.0.0.1:4002/metrics
    METRICS_AUTOSCALER_URL=http://127.0.0.1:4003/metrics
    prometheus_config "$ET_TEST_TMP/run"
    grep -v "^#" "$ET_TEST_TMP/run/prometheus.yml"'
  expect_ok
  [[ "$output" == *"job_name: eventide-autoscaler"* ]] || { show; return 1; }
  [[ "$output" == *"targets: ['127.0.0.1:4003']"* ]] || { show; return 1; }
  [[ "$output" != *"9466"* ]] || { show; return 1; }
  if command -v promtool >/dev/null; then
    run promtool check config "$BATS_TEST_TMPDIR/run/prometheus.yml"
    expect_ok
  fi
}

@test "prometheus_config: no collector metrics is an error, not a half config" {
  in_launcher '
    mkdir -p "$ET_TEST_TMP/run"
    METRICS_URL=http://127.0.0.1:4001/metrics METRICS_COLLECTOR_URL=""
    prometheus_config "$ET_TEST_TMP/run"; echo not reached'
  [ "$status" -eq 1 ] && [[ "$stderr" == *"the collector serves no metrics"* ]] &&
    [ -z "$output" ] || { show; return 1; }
}

@test "up --prometheus: refused with --metrics off and with --hosts" {
  eventide up --prometheus --metrics off
  expect_usage "--prometheus" "--metrics off"
  printf 'a 10.0.0.1 broker collector workers producers\n' >"$BATS_TEST_TMPDIR/hosts"
  eventide up --prometheus --hosts "$BATS_TEST_TMPDIR/hosts"
  expect_usage "--prometheus" "--hosts"
}

@test "up --help names --prometheus" {
  eventide up --help
  expect_ok
  [[ "$output" == *"--prometheus"* ]] || { show; return 1; }
}
