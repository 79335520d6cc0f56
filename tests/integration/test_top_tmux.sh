#!/usr/bin/env bash
# `eventide top` in a real terminal (a private tmux server): during load
# on a two-function pipeline, the screen shows both functions' rows with
# non-zero offered and completed rates and the end-to-end line; q quits it;
# the run still accounts for every event.
. "$(dirname "$0")/lib.sh"
launcher_only_test "eventide top in a terminal"

command -v tmux >/dev/null || fail "tmux is needed (it is one of the launcher's packages)"

cat >"$ET_TMP/two.json" <<'EOF'
{
  "name": "two",
  "description": "Two stages, for eventide top's rows.",
  "producer": {"source": "synthetic"},
  "stages": [
    {"function": "noop"},
    {"function": "synthetic"}
  ]
}
EOF
out="$ET_TMP/out"
"$EVENTIDE" up --workflow "$ET_TMP/two.json" --service const:2ms --workers 1 \
  --out "$out" >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }

"$EVENTIDE" produce --rate 100 --duration 14 --arrival constant >"$ET_TMP/produce.log" 2>&1 &
producer=$!
ET_EXTRA_PIDS+=("$producer")

sock="$ET_TMP/tmux.sock"
tmux -S "$sock" new-session -d -x 160 -y 30 \
  "EVENTIDE_STATE='$EVENTIDE_STATE' EVENTIDE_BUILD='$EVENTIDE_BUILD' EVENTIDE_NO_BUILD=1 '$EVENTIDE' top --window 3 2>'$ET_TMP/top.err'"
ET_EXTRA_PIDS+=("$(tmux -S "$sock" display-message -p '#{pid}')")

# Both rows with traffic: offered ($2) and done ($3) above zero. Polled,
# since the first screens come before the first events are through.
screen=""
for _ in $(seq 1 40); do
  sleep 0.5
  screen="$(tmux -S "$sock" capture-pane -p 2>/dev/null)" || break
  printf '%s\n' "$screen" | awk '
    ($1 == "noop" || $1 == "synthetic") && $2 + 0 > 0 && $3 + 0 > 0 { seen[$1] = 1 }
    END { exit !(("noop" in seen) && ("synthetic" in seen)) }' && break
done
printf '%s\n' "$screen" >"$ET_TMP/screen.log"
printf '%s\n' "$screen" | awk '
  ($1 == "noop" || $1 == "synthetic") && $2 + 0 > 0 && $3 + 0 > 0 { seen[$1] = 1 }
  END { exit !(("noop" in seen) && ("synthetic" in seen)) }' ||
  fail "top never showed both functions with traffic; last screen: $screen (stderr: $(cat "$ET_TMP/top.err" 2>/dev/null))"
[[ "$screen" == *"eventide top"* && "$screen" == *"end to end  p50 "* ]] ||
  fail "top's header or end-to-end line missing: $screen"

# q quits: the session (whose only command is top) ends.
tmux -S "$sock" send-keys q
for _ in $(seq 1 20); do
  tmux -S "$sock" has-session 2>/dev/null || break
  sleep 0.25
done
! tmux -S "$sock" has-session 2>/dev/null || fail "top did not quit on q"

wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "producer failed"; }
"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
expect_accounted "$out/summary.json"
pass "top showed noop and synthetic with traffic, quit on q; $(json "$out/summary.json" .events.completed) completed, lost 0"
