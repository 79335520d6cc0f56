#!/usr/bin/env bash
# TCP transport and CURVE: a plain TCP run and a CURVE run account for every
# event; under CURVE a client whose key is not in authorized/ is refused (it
# fails within its connect timeout, the broker and the collector log the
# refusal with its key), a client without CURVE gets nothing through, and
# an admitted producer still works.
. "$(dirname "$0")/lib.sh"

keys="$ET_TMP/keys"
"$EVENTIDE" keys "$keys" >"$ET_TMP/keys.log" 2>&1 ||
  { cat "$ET_TMP/keys.log" >&2; fail "eventide keys failed"; }
for f in server.key client.key; do
  expect_eq "$f mode" "$(stat -c %a "$keys/$f")" 600
done
[ -s "$keys/server.pub" ] && [ -s "$keys/authorized/client.pub" ] ||
  fail "eventide keys wrote no public keys"
if "$EVENTIDE" keys "$keys" >"$ET_TMP/keys2.log" 2>&1; then
  fail "eventide keys overwrote existing keys"
fi
grep -q 'exists: not overwritten' "$ET_TMP/keys2.log" ||
  fail "no reason given for keeping the keys: $(cat "$ET_TMP/keys2.log")"

# A bad --curve is one usage error line and exit 2 for every binary.
for bin in broker collector worker producer status autoscaler; do
  rc=0
  "$ET_BIN_DIR/eventide-$bin" --curve "$ET_TMP/no-such-dir" >/dev/null \
    2>"$ET_TMP/bad-curve.err" || rc=$?
  expect_eq "eventide-$bin --curve missing-dir exit status" "$rc" 2
  expect_eq "eventide-$bin error lines" "$(wc -l <"$ET_TMP/bad-curve.err")" 1
  grep -q -- "--curve '$ET_TMP/no-such-dir'" "$ET_TMP/bad-curve.err" ||
    fail "eventide-$bin: $(cat "$ET_TMP/bad-curve.err")"
done

# A secret key others can read is refused when the process starts.
loose="$ET_TMP/loose"
cp -r "$keys" "$loose"
chmod 644 "$loose/server.key"
rc=0
"$ET_BIN_DIR/eventide-collector" --bind 'tcp://127.0.0.1:*' --out "$ET_TMP/loose-out" \
  --curve "$loose" --expect-producers 0 >/dev/null 2>"$ET_TMP/loose.err" || rc=$?
expect_eq "collector with a mode 644 server.key: exit status" "$rc" 1
grep -q 'server.key: mode 0644: .*chmod 600' "$ET_TMP/loose.err" ||
  fail "no permission refusal: $(cat "$ET_TMP/loose.err")"

# --curve secures TCP only: with an explicit ipc transport it is a usage error.
rc=0
"$EVENTIDE" run --transport ipc --curve "$keys" --duration 1 >/dev/null 2>&1 || rc=$?
expect_eq "--curve with --transport ipc exit status" "$rc" 2

# 1. Plain TCP, ports chosen by the kernel.
out="$ET_TMP/tcp"
"$EVENTIDE" run --transport tcp --workflow noop --workers 2 --rate 200 \
  --duration 2 --arrival constant --out "$out" >"$ET_TMP/tcp.log" 2>&1 ||
  { cat "$ET_TMP/tcp.log" >&2; fail "plain TCP run failed"; }
expect_accounted "$out/summary.json"
expect_eq "tcp: rejected" "$(json "$out/summary.json" .events.rejected)" 0
grep -Eq 'frontend tcp://127\.0\.0\.1:[0-9]+, backend tcp://127\.0\.0\.1:[0-9]+' \
  "$out/broker.log" || fail "the broker did not listen on TCP"
if grep -q CURVE "$out/broker.log"; then fail "a plain TCP run used CURVE"; fi
tcp_sent=$(json "$out/summary.json" .events.sent)

# 2. A complete run with CURVE on every link.
out="$ET_TMP/curve"
"$EVENTIDE" run --curve "$keys" --workflow synthetic --service exp:2ms \
  --workers 2 --rate 200 --duration 3 --seed 3 --out "$out" >"$ET_TMP/curve.log" 2>&1 ||
  { cat "$ET_TMP/curve.log" >&2; fail "CURVE run failed"; }
s="$out/summary.json"
expect_accounted "$s"
expect_eq "curve: completed" "$(json "$s" .events.completed)" "$(json "$s" .events.sent)"
expect_eq "curve: workers started" "$(json "$s" .workers.started)" 2
for role in broker collector; do
  grep -Eq "CURVE on tcp://127\.0\.0\.1:[0-9]+ \(server\)" "$out/$role.log" ||
    fail "$role: no CURVE server socket"
  grep -q 'ZAP handler admits 1 client key' "$out/$role.log" ||
    fail "$role: no ZAP handler"
  if grep -q 'refused client key' "$out/$role.log"; then
    fail "$role refused an admitted client"
  fi
done

# 3. A long-running pipeline, and clients that must be kept out.
"$EVENTIDE" up --curve "$keys" --workflow noop --workers 1 --out "$ET_TMP/up" \
  >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }
grep -q 'security  CURVE' "$ET_TMP/up.log" || fail "up does not say it runs CURVE"
run="$(readlink -f "$EVENTIDE_STATE/current")"
# shellcheck disable=SC1091
. "$run/env"
[[ "$FRONTEND" =~ ^tcp://127\.0\.0\.1:[0-9]+$ ]] || fail "frontend $FRONTEND"
"$EVENTIDE" status >"$ET_TMP/status.log" 2>&1 || fail "status failed under CURVE"
grep -q '^noop ' "$ET_TMP/status.log" || fail "status shows no stats: $(cat "$ET_TMP/status.log")"

# The intruder has its own client key and the right server key.
intruder="$ET_TMP/intruder"
"$ET_BIN_DIR/eventide-keys" --dir "$intruder" >/dev/null
cp "$keys/server.pub" "$intruder/server.pub"
ikey="$(sed -n 's/^public=//p' "$intruder/authorized/client.pub")"
[ ${#ikey} -eq 40 ] || fail "cannot read the intruder's public key"

started=$SECONDS
rc=0
"$ET_BIN_DIR/eventide-producer" --broker "$FRONTEND" --curve "$intruder" \
  --connect-timeout 3 --rate 50 --duration 1 --id 7 \
  >"$ET_TMP/intruder.out" 2>"$ET_TMP/intruder.err" || rc=$?
[ "$rc" -ne 0 ] || fail "a producer with an unknown key ran: $(cat "$ET_TMP/intruder.out")"
[ $((SECONDS - started)) -le 8 ] || fail "the refused producer took $((SECONDS - started)) s"
grep -q 'no connection to the broker' "$ET_TMP/intruder.err" ||
  fail "refused producer: $(cat "$ET_TMP/intruder.err")"
grep -qF "refused client key $ikey (unknown key) from 127.0.0.1" "$run/logs/broker.log" ||
  fail "the broker did not log the refused key $ikey"

rc=0
"$ET_BIN_DIR/eventide-status" --stats "$STATS" --curve "$intruder" --timeout 2 \
  >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "stats reached a subscriber with an unknown key"

# Without CURVE at all, nothing gets through either.
rc=0
"$ET_BIN_DIR/eventide-producer" --broker "$FRONTEND" --connect-timeout 2 \
  --rate 50 --duration 1 --id 8 >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a producer without CURVE ran"

# A worker with the unknown key: the collector refuses it too.
"$ET_BIN_DIR/eventide-worker" --function noop --broker "$BACKEND" \
  --collector "$COLLECTOR" --curve "$intruder" --instance intruder-1 \
  >"$ET_TMP/intruder-worker.log" 2>&1 &
ET_EXTRA_PIDS+=($!)
for _ in $(seq 1 100); do
  grep -qF "refused client key $ikey" "$run/logs/collector.log" && break
  sleep 0.05
done
grep -qF "refused client key $ikey (unknown key)" "$run/logs/collector.log" ||
  fail "the collector did not log the refused key"
kill -KILL "${ET_EXTRA_PIDS[-1]}" 2>/dev/null || true

# The admitted producer still works, and only its events count.
"$EVENTIDE" produce --rate 50 --duration 1 >"$ET_TMP/produce.log" 2>&1 ||
  { cat "$ET_TMP/produce.log" >&2; fail "admitted producer failed"; }
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
s="$ET_TMP/up/summary.json"
expect_accounted "$s"
expect_eq "producers counted" "$(json "$s" .producers.count)" 1
expect_eq "instances" "$(json "$s" .workers.started)" 1
grep -Eq 'CURVE: [1-9][0-9]* connection\(s\) refused' "$ET_TMP/up/broker.log" ||
  fail "the broker's refusal count is missing"
pass "tcp run ($tcp_sent events), CURVE run ($(json "$out/summary.json" .events.sent) events) accounted; unknown key refused by broker and collector"
