#!/usr/bin/env bash
# The broker's and the collector's /metrics during a real pipeline: the
# URLs in status, scrapes that promtool accepts, counters that rise under
# load, 404 and 405, garbage bytes and 200 idle connections on the port
# while scrapes and the load go on, and at the end the counters agree with
# the collector's summary (lost 0).
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"
command -v curl >/dev/null || fail "curl missing"

out="$ET_TMP/out"
"$EVENTIDE" up --workflow synthetic --service exp:5ms --workers 2 \
  --out "$out" >"$ET_TMP/up.log" 2>&1 || { cat "$ET_TMP/up.log" >&2; fail "up failed"; }

url="$("$EVENTIDE" status --json | jq -r .endpoints.metrics)"
[[ "$url" =~ ^http://127\.0\.0\.1:([0-9]+)/metrics$ ]] || fail "status: metrics URL '$url'"
port="${BASH_REMATCH[1]}"
curl_url="$("$EVENTIDE" status --json | jq -r .endpoints.metrics_collector)"
[[ "$curl_url" =~ ^http://127\.0\.0\.1:[0-9]+/metrics$ ]] ||
  fail "status: collector metrics URL '$curl_url'"
[ "$curl_url" != "$url" ] || fail "broker and collector share $url"
"$EVENTIDE" status >"$ET_TMP/status.txt" || fail "status failed"
grep -qx "metrics: $url" "$ET_TMP/status.txt" || fail "status does not show $url"
grep -qx "metrics (collector): $curl_url" "$ET_TMP/status.txt" ||
  fail "status does not show $curl_url"
grep -q "metrics   $url (broker)" "$ET_TMP/up.log" || fail "up did not print $url"

# scrape FILE: GET the metrics into FILE; fails the test on an error.
scrape() { curl -sf -m 10 -o "$1" "$url" || fail "scrape of $url failed"; }
# series FILE REGEX: the sum of the samples whose series matches REGEX.
series() { awk -v re="$2" '$0 !~ /^#/ && $1 ~ re { s += $2 } END { print s + 0 }' "$1"; }
SUCCESS='^eventide_function_invocations_total[{].*outcome="success"'

scrape "$ET_TMP/idle.prom"
promtool check metrics <"$ET_TMP/idle.prom" || fail "promtool refused the idle scrape"
curl -sf -m 10 -o "$ET_TMP/c-idle.prom" "$curl_url" || fail "scrape of $curl_url failed"
promtool check metrics <"$ET_TMP/c-idle.prom" || fail "promtool refused the collector's scrape"
expect_eq "invocations before any load" "$(series "$ET_TMP/idle.prom" "$SUCCESS")" 0
# Both workers said READY before `up` returned; the snapshot follows
# within a second.
tries=0
until [ "$(series "$ET_TMP/idle.prom" '^eventide_function_replicas[{].*state="ready"')" -eq 2 ]; do
  tries=$((tries + 1)); [ "$tries" -le 100 ] || fail "the scrape never showed 2 ready replicas"
  sleep 0.2
  scrape "$ET_TMP/idle.prom"
done

"$EVENTIDE" produce --rate 200 --duration 8 --arrival poisson >"$ET_TMP/produce.log" 2>&1 &
ET_EXTRA_PIDS+=($!)
producer=$!

# The counter rises during the load (the snapshot is renewed each second).
first=0 tries=0
until [ "$first" -gt 0 ]; do
  tries=$((tries + 1)); [ "$tries" -le 100 ] || fail "invocations never rose above 0"
  sleep 0.2
  scrape "$ET_TMP/a.prom"
  first="$(series "$ET_TMP/a.prom" "$SUCCESS")"
done
promtool check metrics <"$ET_TMP/a.prom" || fail "promtool refused a scrape under load"

base="${url%/metrics}"
expect_eq "unknown path" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$base/nope")" 404
expect_eq "root" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$base/")" 404
expect_eq "POST" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -d x=1 "$url")" 405
expect_eq "DELETE" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X DELETE "$url")" 405

# Garbage: random bytes, a request line without end, an endless header.
for i in 1 2 3 4 5; do
  exec {g}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect for garbage"
  head -c 65536 /dev/urandom >&"$g" 2>/dev/null || true
  exec {g}>&-
done
exec {g}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect for garbage"
( printf 'GET /metrics HTTP/1.1\r\nX-Long: '; head -c 200000 /dev/zero | tr '\0' a ) >&"$g" 2>/dev/null || true
exec {g}>&-

# 200 connections that send nothing, held open while 20 scrapes run at
# once and the load goes on.
idle=()
for i in $(seq 200); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "connection $i refused"
  idle+=("$fd")
done
pids=()
for i in $(seq 20); do
  curl -sf -m 20 -o "$ET_TMP/par-$i.prom" "$url" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a scrape beside 200 idle connections failed"; done
for i in $(seq 20); do
  grep -q '^eventide_events_accepted_total ' "$ET_TMP/par-$i.prom" || fail "scrape $i incomplete"
done
for fd in "${idle[@]}"; do exec {fd}>&-; done

# Still rising while the load runs (a new snapshot each second).
second="$first" tries=0
until [ "$second" -gt "$first" ]; do
  tries=$((tries + 1)); [ "$tries" -le 100 ] || fail "invocations did not rise above $first"
  sleep 0.2
  scrape "$ET_TMP/b.prom"
  second="$(series "$ET_TMP/b.prom" "$SUCCESS")"
done

wait "$producer" || { cat "$ET_TMP/produce.log" >&2; fail "producer failed"; }

# Once the broker has seen every event the producer sent and nothing is
# left in the system, the counters are final (a snapshot from before the
# producer's end can look settled too: hence the sent count).
sent="$(sed -n 's/^.*producer 1: sent \([0-9]*\) .*$/\1/p' "$ET_TMP/produce.log" | tail -n 1)"
[ -n "$sent" ] && [ "$sent" -gt 0 ] || { cat "$ET_TMP/produce.log" >&2; fail "no sent count from the producer"; }
tries=0
while :; do
  scrape "$ET_TMP/end.prom"
  accepted="$(series "$ET_TMP/end.prom" '^eventide_events_accepted_total$')"
  rejected="$(series "$ET_TMP/end.prom" '^eventide_events_rejected_total[{]')"
  completed="$(series "$ET_TMP/end.prom" '^eventide_events_completed_total$')"
  failed="$(series "$ET_TMP/end.prom" '^eventide_events_failed_total$')"
  [ "$((accepted + rejected))" -eq "$sent" ] &&
    [ "$((completed + failed))" -eq "$accepted" ] && break
  tries=$((tries + 1)); [ "$tries" -le 150 ] || fail "the scrape never settled: $accepted accepted, $completed completed"
  sleep 0.2
done
promtool check metrics <"$ET_TMP/end.prom" || fail "promtool refused the last scrape"
# The collector's count follows (its snapshot, too, is renewed each second).
tries=0
until curl -sf -m 10 -o "$ET_TMP/c-end.prom" "$curl_url" &&
      [ "$(series "$ET_TMP/c-end.prom" '^eventide_events_total[{]outcome="completed"')" -eq "$completed" ]; do
  tries=$((tries + 1)); [ "$tries" -le 150 ] || fail "the collector's completed count never reached $completed"
  sleep 0.2
done
promtool check metrics <"$ET_TMP/c-end.prom" || fail "promtool refused the collector's last scrape"
expect_eq "end-to-end latencies, one per completed event" \
  "$(series "$ET_TMP/c-end.prom" '^eventide_event_latency_seconds_count$')" "$completed"
count="$(series "$ET_TMP/end.prom" '^eventide_function_duration_seconds_count[{]')"
expect_eq "one service time per successful invocation" "$count" \
  "$(series "$ET_TMP/end.prom" '^eventide_function_invocations_total[{].*outcome="(success|error)"')"

"$EVENTIDE" down >"$ET_TMP/down.log" 2>&1 || { cat "$ET_TMP/down.log" >&2; fail "down failed"; }
s="$out/summary.json"
expect_accounted "$s"
expect_eq "completed: metrics vs summary" "$completed" "$(json "$s" .events.completed)"
grep -q "metrics at $url" "$out/broker.log" || fail "the broker did not log its metrics URL"
pass "scraped $url (broker) and $curl_url (collector) under load: $completed completed, promtool ok, 404/405, garbage and 200 idle connections survived, lost 0"
