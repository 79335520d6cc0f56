#!/usr/bin/env bash
# eventide validate --quick, tiny: every scenario runs and has its
# intervals in summary.json; validate.md, validate.png and validate.svg are
# written; the exit status and the printed verdict agree (0 pass, 1 fail:
# the statistics of 3-second runs on shared cores are not checked); a bad
# option is exit 2. eventide-report --validate on a run it cannot check
# (no summary) is exit 1 without a verdict.
. "$(dirname "$0")/lib.sh"

out="$ET_TMP/validate"
rc=0
"$EVENTIDE" validate --quick --duration 3 --out "$out" \
  >"$ET_TMP/validate.log" 2>"$ET_TMP/validate.err" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] ||
  { cat "$ET_TMP/validate.log" "$ET_TMP/validate.err" >&2; fail "validate exited $rc"; }
for s in mm1-rho0.5 mm4-rho0.8 md1-rho0.5; do
  sum="$out/$s/summary.json"
  [ -f "$sum" ] || fail "no run for $s"
  expect_eq "lost in $s" "$(json "$sum" .events.lost)" 0
  for f in .latency_ms.ci95.batches '.stages[0].queue_ms.ci95.batches' \
           '.stages[0].residence_ms.ci95.batches' \
           '.stages[0].hold_ms.ci95.batches'; do
    b="$(json "$sum" "$f")"
    [ "$b" -ge 2 ] && [ "$b" -le 30 ] || fail "$s: $f is '$b', want 2..30"
  done
  # E[hold^2] >= E[hold]^2 (the mean of the squares, exact sums).
  awk -v m="$(json "$sum" '.stages[0].hold_ms.mean')" \
      -v m2="$(json "$sum" '.stages[0].hold_ms.m2')" \
      'BEGIN { exit !(m > 0 && m2 >= m * m * 0.999) }' ||
    fail "$s: hold_ms.m2 below mean^2"
  grep -q "^| $s | " "$out/validate.md" || fail "validate.md has no row for $s"
done
[ "$(head -c 8 "$out/validate.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
  fail "validate.png is not a PNG"
grep -q '<svg' "$out/validate.svg" || fail "validate.svg is not SVG"
grep -q "^validate: $out/validate.md$" "$ET_TMP/validate.log" ||
  fail "validate did not say where validate.md is"
if [ "$rc" -eq 0 ]; then
  grep -q '^verdict:  pass' "$ET_TMP/validate.log" || fail "exit 0 without a pass verdict"
  grep -q '^\*\*Verdict: pass\.\*\*' "$out/validate.md" || fail "validate.md does not say pass"
else
  grep -q '^verdict:  FAIL' "$ET_TMP/validate.log" || fail "exit 1 without a FAIL verdict"
  grep -q '^\*\*Verdict: fail\.\*\*' "$out/validate.md" || fail "validate.md does not say fail"
fi

rc=0
"$EVENTIDE" validate --quick --bogus >/dev/null 2>&1 || rc=$?
expect_eq "validate with a bad option" "$rc" 2
mkdir -p "$ET_TMP/empty"
rc=0
"$ET_BIN_DIR/eventide-report" --validate "$ET_TMP/empty" --out "$ET_TMP" \
  >"$ET_TMP/empty.log" 2>&1 || rc=$?
expect_eq "eventide-report --validate on a run without summary" "$rc" 1
grep -q 'summary.json: cannot open' "$ET_TMP/empty.log" ||
  fail "eventide-report did not say why: $(cat "$ET_TMP/empty.log")"
pass "validate --quick wrote three runs with intervals, validate.md and its figure; exit codes agree with the verdict"
