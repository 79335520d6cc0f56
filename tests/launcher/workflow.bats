#!/usr/bin/env bats
# The workflow as the launcher reads it (launcher/workflow.sh): once,
# through eventide-workflow, into a table: names and files, functions and
# stages, each function's settings and options, {out}, the producer's
# defaults, and a bad workflow as a usage error.

load helpers

@test "a name: fraud, with every fact the launcher uses" {
  in_launcher 'local -A wf; workflow_load wf fraud /tmp/results
    wf_get wf name; wf_get wf path; wf_functions wf; wf_get wf stages
    wf_producer wf source; echo "[$(wf_producer wf labels)]"
    wf_get wf function.fraud.slots; wf_get wf function.fraud.io_delay
    echo "[$(wf_get wf function.decide.io_delay)]"
    wf_option wf fraud model; wf_option wf sink path; wf_option wf decide rules
    wf_has_function wf decide && echo yes; wf_has_function wf noop || echo no
    wf_has_function wf fra || echo no'
  expect_ok
  expect_output "fraud
$ET_ROOT/workflows/fraud.json
preprocess fraud decide sink
preprocess,fraud,decide,sink
fraud
[]
1

[]
models/fraud.json
/tmp/results/decisions.jsonl
workflows/rules/fraud.rules
yes
no
no"
}

@test "synthetic and noop are workflow files too" {
  in_launcher 'for w in synthetic noop; do local -A wf; workflow_load wf "$w"
               echo "$(wf_get wf name) $(wf_get wf path) $(wf_functions wf) $(wf_producer wf source)"; done'
  expect_ok
  expect_output "synthetic $ET_ROOT/workflows/synthetic.json synthetic synthetic
noop $ET_ROOT/workflows/noop.json noop synthetic"
}

@test "the producer's defaults: sensor replays a series at a speed-up" {
  in_launcher 'local -A wf; workflow_load wf sensor
               wf_producer wf source; wf_producer wf labels; wf_producer wf speedup'
  expect_ok
  expect_output "nab:data/nab/realKnownCause/machine_temperature_system_failure.csv
data/nab/combined_windows.json
100000"
}

@test "a file, relative to the current directory, made absolute; a repeated function" {
  mkdir -p "$BATS_TEST_TMPDIR/w"
  cat >"$BATS_TEST_TMPDIR/w/twice.json" <<'JSON'
{"name": "twice", "stages": [
  {"function": "noop", "slots": 3, "options": {"b": "2", "a": "{root}/x", "c": "{out}/y"}},
  {"function": "synthetic", "io_delay": "const:1ms"},
  {"function": "noop", "slots": 3, "options": {"b": "2", "a": "{root}/x", "c": "{out}/y"}}]}
JSON
  cd "$BATS_TEST_TMPDIR"
  in_launcher 'local -A wf; workflow_load wf w/twice.json "$PWD/out"
               wf_get wf path; wf_functions wf; wf_get wf stages
               wf_get wf function.noop.slots
               wf_option wf noop b; wf_option wf noop a; wf_option wf noop c'
  expect_ok
  expect_output "$BATS_TEST_TMPDIR/w/twice.json
noop synthetic
noop,synthetic,noop
3
2
$ET_ROOT/x
$BATS_TEST_TMPDIR/out/y"
}

@test "an existing file wins over a workflow of the same name" {
  cd "$BATS_TEST_TMPDIR"
  printf '{"name": "mine", "stages": [{"function": "noop"}]}\n' >fraud
  in_launcher 'local -A wf; workflow_load wf fraud; wf_get wf name; wf_get wf path'
  expect_ok
  expect_output "mine
$BATS_TEST_TMPDIR/fraud"
}

@test "a bad workflow is one usage error naming --workflow" {
  in_launcher 'local -A wf; workflow_load wf bogus'
  expect_usage "--workflow 'bogus'" "no such workflow" "fraud"
  printf '{"name": "x", "stages": []}\n' >"$BATS_TEST_TMPDIR/empty.json"
  in_launcher 'local -A wf; workflow_load wf "$1"' "$BATS_TEST_TMPDIR/empty.json"
  expect_usage "--workflow '$BATS_TEST_TMPDIR/empty.json'" "stages"
  printf '{"name": "x", "stages": [{"function": "noop"}], "typo": 1}\n' >"$BATS_TEST_TMPDIR/typo.json"
  in_launcher 'local -A wf; workflow_load wf "$1"' "$BATS_TEST_TMPDIR/typo.json"
  expect_usage "--workflow '$BATS_TEST_TMPDIR/typo.json'" "typo"
  printf '{"name": ' >"$BATS_TEST_TMPDIR/broken.json"
  in_launcher 'local -A wf; workflow_load wf "$1"' "$BATS_TEST_TMPDIR/broken.json"
  expect_usage "--workflow '$BATS_TEST_TMPDIR/broken.json'"
  in_launcher 'local -A wf; workflow_load wf no/such.json'
  expect_usage "--workflow 'no/such.json'"
}

@test "without the build: a runtime error, not a usage error" {
  in_launcher 'BIN=/nonexistent; local -A wf; workflow_load wf fraud'
  [ "$status" -eq 1 ] || { show; false; }
  [[ "$stderr" == *"cannot read workflow 'fraud'"* ]] || { show; false; }
}

@test "workflow_parse: only into an associative array; a table with a name and functions" {
  in_launcher 'local -a wf; workflow_parse wf <<<"name=x"'
  [ "$status" -eq 1 ] || { show; false; }
  [[ "$stderr" == *"not an associative array"* ]] || { show; false; }
  in_launcher 'local -A wf; workflow_parse wf <<<"path=/x"'
  [ "$status" -eq 1 ] || { show; false; }
}
