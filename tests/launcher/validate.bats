#!/usr/bin/env bats
# ./eventide validate (launcher/commands.sh cmd_validate): its options,
# the scenarios and their arrival rates, the command line of every run and
# of eventide-report --validate, and how the report's exit status becomes
# the verdict. Runs and report are test doubles: no pipeline starts.

load helpers

@test "validate --help and the usage errors" {
  eventide validate --help
  expect_ok
  [[ "${lines[0]}" == "usage: ./eventide validate [--quick] [--out DIR] [--duration S]" ]] ||
    { show; false; }
  eventide validate --bogus
  expect_usage "validate: unknown option '--bogus'"
  eventide validate --duration 0
  expect_usage "--duration '0': expected seconds above 0"
  eventide validate --duration x
  expect_usage "--duration 'x'"
  eventide validate --out
  expect_usage "--out needs a value"
}

@test "the scenarios: M/M/1, M/M/2, M/M/4, M/D/1 at rho 0.5 and 0.8; --quick three" {
  in_launcher 'validate_scenarios 0'
  expect_ok
  [ "${#lines[@]}" -eq 8 ] || { show; false; }
  [ "${lines[0]}" = "mm1-rho0.5 1 exp:20ms 0.5" ] || { show; false; }
  [ "${lines[3]}" = "md1-rho0.5 1 const:20ms 0.5" ] || { show; false; }
  [ "${lines[6]}" = "mm4-rho0.8 4 exp:20ms 0.8" ] || { show; false; }
  in_launcher 'validate_scenarios 1'
  expect_ok
  [ "${#lines[@]}" -eq 3 ] || { show; false; }
  # lambda = rho c / 20 ms
  in_launcher 'validate_rate 1 0.5; echo; validate_rate 2 0.8; echo; validate_rate 4 0.8'
  expect_ok
  [ "$output" = $'25\n80\n160' ] || { show; false; }
}

# fake_validate DIR: in DIR, a launcher ("eventide") that logs its run and
# writes the run's directory, and an eventide-report that logs its argv,
# writes validate.md and exits $FAKE_RC_report.
fake_validate() {
  fake_bins "$1/bin"
  cat >"$1/eventide" <<'FAKE'
#!/usr/bin/env bash
printf 'eventide %s\n' "$*" >>"$(dirname "$0")/bin/log"
while [ $# -gt 0 ]; do [ "$1" = --out ] && mkdir -p "$2"; shift; done
exit "${FAKE_RC_run:-0}"
FAKE
  cat >"$1/bin/eventide-report" <<'FAKE'
#!/usr/bin/env bash
printf 'eventide-report %s\n' "$*" >>"$(dirname "$0")/log"
while [ $# -gt 0 ]; do [ "$1" = --out ] && echo "| table |" >"$2/validate.md"; shift; done
exit "${FAKE_RC_report:-0}"
FAKE
  chmod +x "$1/eventide" "$1/bin/eventide-report"
}

@test "validate --quick: one run per scenario, then the report over them all" {
  fake="$BATS_TEST_TMPDIR/fake"
  fake_validate "$fake"
  out="$BATS_TEST_TMPDIR/out"
  EVENTIDE_NO_BUILD=1 in_launcher 'ROOT="$1"; BIN="$1/bin"; cmd_validate --quick --out "$2"' "$fake" "$out"
  expect_ok
  log="$(cat "$fake/bin/log")"
  [ "$(grep -c '^eventide run ' <<<"$log")" -eq 3 ] || { echo "$log"; false; }
  grep -qx "eventide run --workflow synthetic --service exp:20ms --mode sleep --slots 1 --workers 4 --arrival poisson --rate 160 --duration 20 --seed 2 --out $out/mm4-rho0.8" <<<"$log" ||
    { echo "$log"; false; }
  grep -qx "eventide-report --validate $out/mm1-rho0.5 --validate $out/mm4-rho0.8 --validate $out/md1-rho0.5 --out $out" <<<"$log" ||
    { echo "$log"; false; }
  [[ "$output" == *"validate: $out/validate.md"* ]] || { show; false; }
  [[ "$output" == *"verdict:  pass"* ]] || { show; false; }
  [[ "$stderr" == *"load average"* ]] || { show; false; }
}

@test "validate: theory outside an interval is exit 1 and a FAIL verdict; a failed run stops it" {
  fake="$BATS_TEST_TMPDIR/fake"
  fake_validate "$fake"
  out="$BATS_TEST_TMPDIR/out"
  FAKE_RC_report=1 EVENTIDE_NO_BUILD=1 in_launcher 'ROOT="$1"; BIN="$1/bin"; cmd_validate --duration 2 --out "$2"' "$fake" "$out"
  [ "$status" -eq 1 ] || { show; false; }
  [ "$(grep -c '^eventide run .*--duration 2 ' "$fake/bin/log")" -eq 8 ] || { cat "$fake/bin/log"; false; }
  [[ "$output" == *"verdict:  FAIL"* ]] || { show; false; }
  rm -f "$fake/bin/log"
  FAKE_RC_run=1 EVENTIDE_NO_BUILD=1 in_launcher 'ROOT="$1"; BIN="$1/bin"; cmd_validate --quick --out "$2"' "$fake" "$out"
  [ "$status" -eq 1 ] || { show; false; }
  [[ "$stderr" == *"validate: run mm1-rho0.5 failed (log: $out/mm1-rho0.5.log)"* ]] || { show; false; }
  ! grep -q eventide-report "$fake/bin/log"
}
