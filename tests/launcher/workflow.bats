#!/usr/bin/env bats
# The workflow as the launcher reads it (launcher/workflow.sh): once,
# through eventide-workflow, into a table: names and files, functions and
# stages, each function's settings and options in order, {out}, the
# producer's defaults, and a bad workflow as a usage error.

load helpers

@test "a name: fraud, with every fact the launcher uses" {
  in_launcher 'local -A wf; workflow_load wf fraud /tmp/results
    wf_get wf name; wf_get wf path; wf_functions wf; wf_stages wf
    wf_producer wf source; echo "[$(wf_producer wf labels)]"
    wf_slots wf fraud; wf_io_delay wf fraud; echo "[$(wf_io_delay wf decide)]"
    wf_options wf fraud; wf_options wf sink; wf_option wf decide rules
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
exp:40ms
[]
model=models/fraud.json
path=/tmp/results/decisions.jsonl
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
               wf_get wf path; wf_functions wf; wf_stages wf; wf_slots wf noop
               wf_options wf noop; SLOTS=7; wf_slots wf noop'
  expect_ok
  expect_output "$BATS_TEST_TMPDIR/w/twice.json
noop synthetic
noop,synthetic,noop
3
b=2
a=$ET_ROOT/x
c=$BATS_TEST_TMPDIR/out/y
7"
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

@test "workflow_parse: options of functions whose names hold dots" {
  in_launcher 'local -A wf
    workflow_parse wf <<EOT
name=dots
path=/x.json
functions=a a.option.b
stages=a,a.option.b
function.a.slots=1
function.a.option.k=1
function.a.option.b.option.k=2
function.a.option.b.slots=2
function.a.option.b.option.j=3=4
EOT
    echo "[$(wf_options wf a)]"; echo "[$(wf_options wf a.option.b)]"; wf_slots wf a.option.b'
  expect_ok
  expect_output "[k=1]
[k=2
j=3=4]
2"
}

@test "workflow_parse: only into an associative array; a table with a name and functions" {
  in_launcher 'local -a wf; workflow_parse wf <<<"name=x"'
  [ "$status" -eq 1 ] || { show; false; }
  [[ "$stderr" == *"not an associative array"* ]] || { show; false; }
  in_launcher 'local -A wf; workflow_parse wf <<<"path=/x"'
  [ "$status" -eq 1 ] || { show; false; }
}
