# launcher/top.awk: one screen of `eventide top` from two scrapes of the
# broker's /metrics and two of the collector's, WINDOW seconds apart:
#   awk -v dt=SECONDS -v url=URL -v clock=HH:MM:SS -v ob=OLD_BROKER \
#       -v nb=NEW_BROKER -v oc=OLD_COLLECTOR -v nc=NEW_COLLECTOR -f top.awk
# (an empty or missing file stands for a scrape that failed). Rates and quantiles
# are over the interval between the two; gauges are the newer scrape's.
# Prometheus text format 0.0.4 as docs/metrics.md lists it; anything else
# in the files is ignored. Written for mawk (Debian's awk): no asort.

BEGIN {
  parse(1, ob); parse(2, nb); parse(3, oc); parse(4, nc)
  render()
  exit status
}

# parse(ROLE, FILE): every sample of FILE (1 old broker, 2 new broker, 3
# old collector, 4 new collector) into v[ROLE, NAME SUBSEP FUNCTION
# SUBSEP LABEL]; a missing or empty file adds nothing.
function parse(file, path,    line, f, name, labels, b, fn, extra, key) {
  if (path == "") return
  while ((getline line < path) > 0) {
    if (line ~ /^#/) continue
    if (split(line, f, " ") < 2) continue
    name = f[1]; labels = ""
    b = index(name, "{")
    if (b > 0) { labels = substr(name, b + 1); name = substr(name, 1, b - 1)
                 sub(/}$/, "", labels) }
    fn = label(labels, "function"); extra = ""
    if (name ~ /_bucket$/) extra = label(labels, "le")
    else if (labels ~ /outcome=/) extra = label(labels, "outcome")
    else if (labels ~ /state=/) extra = label(labels, "state")
    else if (labels ~ /reason=/) extra = label(labels, "reason")
    else if (labels ~ /kind=/) extra = label(labels, "kind")
    key = name SUBSEP fn SUBSEP extra
    v[file, key] = f[2] + 0
    if (!(key in seen)) { seen[key] = 1; order[++n_keys] = key }
    if (file == 2 && name == "eventide_queue_depth" && !(fn in is_fn)) {
      is_fn[fn] = 1; fns[++n_fns] = fn
    }
  }
  close(path)
}

# label(LABELS, NAME): the value of NAME in a {a="x",b="y"} body.
function label(labels, want,    i, s, k, val) {
  s = labels
  while (length(s) > 0) {
    i = index(s, "=\"")
    if (i == 0) return ""
    k = substr(s, 1, i - 1); sub(/^,/, "", k)
    s = substr(s, i + 2)
    i = index(s, "\"")
    val = substr(s, 1, i - 1)
    s = substr(s, i + 1)
    if (k == want) return val
  }
  return ""
}

# delta(OLD, NEW, NAME, FN, EXTRA): how much a counter rose; a counter
# that went down was reset (a restarted broker) and counts from zero.
function delta(o, nw, name, fn, extra,    k, a, c) {
  k = name SUBSEP fn SUBSEP extra
  c = v[nw, k]; a = ((o, k) in v) ? v[o, k] : 0
  return (c >= a) ? c - a : c
}

function gauge(nw, name, fn, extra) { return v[nw, name SUBSEP fn SUBSEP extra] + 0 }

# sum_over(OLD, NEW, NAME): a counter's rise summed over its labels.
function sum_over(o, nw, name,    i, k, p, t) {
  t = 0
  for (i = 1; i <= n_keys; i++) {
    k = order[i]; split(k, p, SUBSEP)
    if (p[1] == name && ((nw, k) in v)) t += delta(o, nw, p[1], p[2], p[3])
  }
  return t
}

# quantile(OLD, NEW, FAMILY, FN, Q): Q's quantile in ms of the histogram's
# observations between the scrapes, interpolated linearly within a bucket
# (as Prometheus's histogram_quantile); "-" without observations, ">B"
# past the last finite bound B.
function quantile(o, nw, fam, fn, q,    i, k, p, le, cum, prev_cum, prev_le, total, rank, last) {
  total = delta(o, nw, fam "_bucket", fn, "+Inf")
  if (total <= 0) return "-"
  rank = q * total; prev_cum = 0; prev_le = 0; last = 0
  for (i = 1; i <= n_keys; i++) {
    k = order[i]; split(k, p, SUBSEP)
    if (p[1] != fam "_bucket" || p[2] != fn) continue
    if (p[3] == "+Inf") return sprintf(">%s", fmt_ms(last * 1000))
    le = p[3] + 0; cum = delta(o, nw, p[1], p[2], p[3])
    if (cum >= rank && cum > prev_cum)
      return fmt_ms((prev_le + (le - prev_le) * (rank - prev_cum) / (cum - prev_cum)) * 1000)
    prev_cum = cum; prev_le = le; last = le
  }
  return "-"
}

function fmt_ms(x) {
  if (x >= 1000) return sprintf("%.0f", x)
  if (x >= 10) return sprintf("%.1f", x)
  return sprintf("%.2f", x)
}

function rate(x) { return sprintf("%.1f", (dt > 0) ? x / dt : 0) }

function render(    rej, i, f) {
  if (n_fns == 0) { print "eventide top: no functions in the broker's metrics (" url ")"; status = 1; return }
  rej = sum_over(1, 2, "eventide_events_rejected_total")
  printf "eventide top  %s  %s  (rates and percentiles over the last %.0f s)\n", clock, url, dt
  printf "events  accepted %d (%s/s)  completed %d (%s/s)  failed %d  rejected %d (%s/s)  in system %d\n",
    gauge(2, "eventide_events_accepted_total", "", ""), rate(delta(1, 2, "eventide_events_accepted_total", "", "")),
    gauge(2, "eventide_events_completed_total", "", ""), rate(delta(1, 2, "eventide_events_completed_total", "", "")),
    gauge(2, "eventide_events_failed_total", "", ""),
    gauge_sum(2, "eventide_events_rejected_total"), rate(rej),
    gauge(2, "eventide_events_in_system", "", "")
  printf "        retries %d  workers lost %d  stale results %d  records dropped %d\n",
    gauge(2, "eventide_retries_total", "", ""), gauge_sum(2, "eventide_workers_lost_total"),
    gauge(2, "eventide_stale_results_total", "", ""), gauge(2, "eventide_records_dropped_total", "", "")
  if (("4" SUBSEP "eventide_event_latency_seconds_bucket" SUBSEP "" SUBSEP "+Inf") in v)
    printf "end to end  p50 %s ms  p99 %s ms  (%d completed in the window, collector)\n",
      quantile(3, 4, "eventide_event_latency_seconds", "", 0.50),
      quantile(3, 4, "eventide_event_latency_seconds", "", 0.99),
      delta(3, 4, "eventide_event_latency_seconds_count", "", "")
  else
    print "end to end  (no collector metrics)"
  printf "%-16s %9s %8s %7s %6s %5s %5s %5s %4s %5s %8s %8s %8s %8s %5s\n", "FUNCTION",
    "OFFERED/s", "DONE/s", "REJ/s", "QUEUE", "INFL", "START", "READY", "BUSY", "LEAVE",
    "SVC_P50", "SVC_P99", "RESP_P50", "RESP_P99", "COLD"
  for (i = 1; i <= n_fns; i++) {
    f = fns[i]
    printf "%-16s %9s %8s %7s %6d %5d %5d %5d %4d %5d %8s %8s %8s %8s %5d\n", substr(f, 1, 16),
      rate(delta(1, 2, "eventide_function_arrivals_total", f, "")),
      rate(delta(1, 2, "eventide_function_invocations_total", f, "success")),
      rate(delta(1, 2, "eventide_function_rejected_total", f, "")),
      gauge(2, "eventide_queue_depth", f, ""), gauge(2, "eventide_inflight", f, ""),
      gauge(2, "eventide_function_replicas", f, "starting"),
      gauge(2, "eventide_function_replicas", f, "ready"), gauge(2, "eventide_function_replicas", f, "busy"),
      gauge(2, "eventide_function_replicas", f, "leaving"),
      quantile(1, 2, "eventide_function_duration_seconds", f, 0.50),
      quantile(1, 2, "eventide_function_duration_seconds", f, 0.99),
      quantile(1, 2, "eventide_function_response_seconds", f, 0.50),
      quantile(1, 2, "eventide_function_response_seconds", f, 0.99),
      delta(1, 2, "eventide_function_coldstarts_total", f, "")
  }
  print "(ms; RESP: from entering the function's queue to its result; q quits)"
}

# gauge_sum(NEW, NAME): a family's values in one scrape summed over labels.
function gauge_sum(nw, name,    i, k, p, t) {
  t = 0
  for (i = 1; i <= n_keys; i++) {
    k = order[i]; split(k, p, SUBSEP)
    if (p[1] == name && ((nw, k) in v)) t += v[nw, k]
  }
  return t
}
