#!/usr/bin/env bash
# Every binary and command answers --help, and a bad value gets one line
# naming the flag and exit status 2.
. "$(dirname "$0")/lib.sh"

expect_usage_error() { # FLAG CMD...
  local flag="$1"; shift
  set +e
  "$@" >"$ET_TMP/out.txt" 2>"$ET_TMP/err.txt"
  local rc=$?
  set -e
  [ $rc -eq 2 ] || fail "'$*' exited $rc, want 2"
  [ "$(wc -l <"$ET_TMP/err.txt")" -eq 1 ] || fail "'$*' printed: $(cat "$ET_TMP/err.txt")"
  grep -q -- "$flag" "$ET_TMP/err.txt" || fail "'$*' error does not name $flag: $(cat "$ET_TMP/err.txt")"
}

for b in broker producer worker collector status; do
  "$ET_BIN_DIR/eventide-$b" --help >/dev/null || fail "eventide-$b --help"
done
# -h is --help too (eventide-broker used to call it an unknown option).
for b in broker status; do
  "$ET_BIN_DIR/eventide-$b" -h >"$ET_TMP/help.txt" || fail "eventide-$b -h"
  grep -q "^usage: eventide-$b " "$ET_TMP/help.txt" || fail "eventide-$b -h: $(head -n 3 "$ET_TMP/help.txt")"
done
for c in run up produce scale status down test demo; do
  "$EVENTIDE" "$c" --help >/dev/null || fail "eventide $c --help"
done

ep=ipc://$ET_TMP/x.ipc
expect_usage_error --queue-cap "$ET_BIN_DIR/eventide-broker" --frontend "$ep" --backend "$ep" --collector "$ep" --queue-cap 0
expect_usage_error --frontend "$ET_BIN_DIR/eventide-broker" --frontend nowhere --backend "$ep" --collector "$ep"
expect_usage_error --workflow "$ET_BIN_DIR/eventide-broker" --frontend "$ep" --backend "$ep" --collector "$ep" --workflow bogus
expect_usage_error --collector "$ET_BIN_DIR/eventide-broker" --frontend "$ep" --backend "$ep"
expect_usage_error --wait-instances "$ET_BIN_DIR/eventide-status" --stats "$ep" --wait-instances -1
expect_usage_error --rate "$ET_BIN_DIR/eventide-producer" --broker "$ep" --rate -5
expect_usage_error --arrival "$ET_BIN_DIR/eventide-producer" --broker "$ep" --arrival sometimes
expect_usage_error --broker "$ET_BIN_DIR/eventide-producer" --rate 5
expect_usage_error --workflow "$ET_BIN_DIR/eventide-producer" --broker "$ep" --workflow bogus
expect_usage_error --speedup "$ET_BIN_DIR/eventide-producer" --broker "$ep" --speedup 10
# A workflow's relative paths are the project's, from any directory.
(cd "$ET_TMP" && "$ET_BIN_DIR/eventide-producer" --broker "$ep" --workflow sensor --check) ||
  fail "eventide-producer --workflow sensor --check from $ET_TMP"
"$ET_BIN_DIR/eventide-autoscaler" --help >/dev/null || fail "eventide-autoscaler --help"
"$ET_BIN_DIR/eventide-autoscaler" --stats "$ep" --policy hpa --check ||
  fail "eventide-autoscaler --check"
expect_usage_error --stats "$ET_BIN_DIR/eventide-autoscaler" --policy hpa
expect_usage_error --max "$ET_BIN_DIR/eventide-autoscaler" --stats "$ep" --max 0
expect_usage_error --min "$ET_BIN_DIR/eventide-autoscaler" --stats "$ep" --min 5 --max 3
expect_usage_error --scale-cmd "$ET_BIN_DIR/eventide-autoscaler" --stats "$ep" --scale-cmd 'scale {fn}'
expect_usage_error --slots "$ET_BIN_DIR/eventide-worker" --function noop --broker "$ep" --collector "$ep" --slots 0
expect_usage_error --service "$ET_BIN_DIR/eventide-worker" --function synthetic --broker "$ep" --collector "$ep" --service exp:abc
expect_usage_error --expect-producers "$ET_BIN_DIR/eventide-collector" --bind "$ep" --out "$ET_TMP/o" --expect-producers x
printf '{"name": "nostages", "stages": []}\n' >"$ET_TMP/nostages.json"
for bad in bogus "" "$ET_TMP/missing.json" "$ET_TMP/nostages.json"; do
  expect_usage_error --workflow "$ET_BIN_DIR/eventide-collector" --bind "$ep" --out "$ET_TMP/o" --workflow "$bad"
done
# The stage list comes from the workflow (and the broker) now.
expect_usage_error --stages "$ET_BIN_DIR/eventide-collector" --bind "$ep" --out "$ET_TMP/o" --stages a,b
"$ET_BIN_DIR/eventide-collector" --bind "$ep" --out "$ET_TMP/o" --workflow fraud --check ||
  fail "eventide-collector --workflow fraud --check"
expect_usage_error --rate "$EVENTIDE" run --rate fast
expect_usage_error --workers "$EVENTIDE" run --workers many
expect_usage_error --mode "$EVENTIDE" run --mode jog
pass "help everywhere; bad values named with exit 2"
