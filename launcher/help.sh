# launcher/help.sh: `./eventide help` and each command's --help text (the
# options of run, up and produce are shared, so each block is written once).

help_main() {
  cat <<'TEXT'
usage: ./eventide COMMAND [options]

  demo                  the main experiment, with sensible defaults
  test                  build (release and ASan/UBSan) and run every test
  build                 build the release binaries (run, up, sweep and keys
                        build on first use by themselves)
  run [options]         one complete run: start, load, drain, report, stop
  sweep --rates LIST    one run per rate (and duration): tables and plots
  sweep --keepalive LIST
                        one trace replay per keep-alive policy (0,60,600,kpa):
                        cold starts against idle memory, a table and a figure
  validate [--quick]    check this machine against queueing theory
                        (M/M/1, M/M/2, M/M/4, M/D/1 at rho 0.5 and 0.8)
  up [options]          start collector, broker and workers; leave them running
  produce [options]     send load into the running pipeline
  scale FUNCTION N      start or stop worker processes until N run
                        ([--host H] with a pipeline across --hosts or
                        on a Slurm cluster: H a node)
  status [--json]       processes, endpoints, queue depths
  top [--once]          live view of the running pipeline: a row per
                        function (rates, queue, replicas, percentiles)
  down                  drain and stop everything, write the results
  restart broker        kill the running pipeline's broker and start it again
                        on the same endpoints (workers register again)
  restart collector     kill the running pipeline's collector and start it
                        again: it resumes from its journal, nothing lost
  restart mosquitto     (up --ingest mqtt) stop mosquitto and start it again:
                        sessions and queued readings kept
  keys [DIR] [--force]  create CURVE keys for --curve (default .eventide/keys)
  sensors --mqtt URL --source nab:FILE [--speedup X]
                        publish a NAB series over MQTT as devices would
  help                  this text

Run './eventide COMMAND --help' for a command's options.

Environment: EVENTIDE_BUILD (build directory, default build/release),
EVENTIDE_STATE (pipeline state of up/down, default .eventide),
EVENTIDE_WORKFLOWS (a directory searched for --workflow NAME first).
TEXT
}

help_pipeline_opts() {
  cat <<'EOF'
  --workflow NAME|FILE   synthetic, noop, a workflow under workflows/ (fraud,
                         sensor) or a workflow JSON file (default synthetic)
  --workers N|F=N,...    instances per function: N for every function, or
                         per function, e.g. preprocess=1,fraud=2 (default 2)
  --service DIST         synthetic service time: const:10ms, exp:10ms,
                         uniform:5ms:15ms, lognormal:10ms:0.5,
                         pct:0=80ms,50=100ms,100=1s (a percentile table), or
                         tokens[:PREFILL:PER_TOKEN]
                         (from a trace's token counts) (default exp:10ms)
  --service-scale X      multiply every service time drawn by X, 0 < X <= 1
                         (shrink a trace's long executions) (default 1)
  --mode sleep|spin      synthetic: sleep (I/O-bound) or burn CPU (default sleep)
  --slots N              concurrent events per instance (default: the
                         workflow stage's slots, else 1)
  --queue-cap N          queue bound per function (default 10000)
  --shed-pause S         an event refused because the queue is full pauses
                         its producer at least this long (up to 4 times:
                         half the queue's drain time), then holds it for a
                         second to 1.25 times the queue's completion rate
                         (growing to twice that over the second):
                         what falls due in the pause or beyond the rate is
                         refused at the producer and reported in batches,
                         so overload costs the broker little
                         (default 10ms; 0: refuse each event at the broker)
  --task-batch N         most tasks in one message to a worker with several
                         free slots (default 64; 1: one TASK per event)
  --send-grain S         a producer sends at most once per S: the events
                         that fall due meanwhile go in one message (EVENTS),
                         each up to S late, its latency counted from its own
                         intended time (default 500us; 0: each at its time)
  --spin-budget PCT      percent of one CPU a producer (and each worker's
                         slots together) may spend spinning just before a
                         send or the end of a modelled wait is due, so that
                         it comes on time rather than late by the timer's
                         wake-up (default 1; 0: sleep only)
  --key-handover on|off  keyed stages: when the instances change, hand each
                         moving key's state to its new instance (default
                         on; off: the key starts afresh there)
  --backlog-memory BYTES what the collector does not take at once waits in
                         the broker's memory, in order (default 67108864),
                         then in RUN/collector.spill up to --spill-max BYTES
                         (default 4294967296); beyond: records_dropped
  --metrics IPV4:PORT|off
                         broker and collector: serve Prometheus metrics at
                         http://IPV4:PORT/metrics (the collector on PORT+1;
                         port 0: a free one each; the URLs are in
                         ./eventide status) (default 127.0.0.1:0)
  --drain-timeout S      broker: after the load, keep serving admitted events
                         this long (default 30); the collector waits 15 s more
  --log-level LEVEL      debug|info|warn|error (default info)
  --idle-timeout S       keep-alive: an idle instance leaves after S
                         (default: never); with --autoscale and --min 0
                         this is scale to zero
  --memory-mb N          cost model: memory per instance (default 1024)
  --price-gb-s USD       cost model: per GB-second (default 0.0000166667)
  --price-requests USD   cost model: per million requests (default 0.20)
  --autoscale POLICY     kpa | hpa | rps: eventide-autoscaler starts and
                         stops workers; --workers is the initial count
  --min N, --max N       autoscaler bounds per function (policy defaults)
  --max-instances N      autoscaler: instances of all functions together;
                         when full, a function with work evicts an idle
                         instance of another, least recently used first
  --max-memory-mb MB     autoscaler: memory of all instances together, each
                         at its stage's memory_mb (else --memory-mb); evicts
                         as --max-instances
  --target X             kpa: concurrency per instance; hpa: busy-slot
                         utilization (0-1); rps: events/s per instance
  --autoscale-arg F=V    any other eventide-autoscaler flag, e.g.
                         --autoscale-arg --stable-window=6 (repeatable)
  --transport ipc|tcp    ipc: private sockets in the run directory; tcp:
                         127.0.0.1 with ports the kernel picks (default ipc)
  --curve DIR            CURVE on every TCP link, keys from DIR (see
                         ./eventide keys); implies --transport tcp
  --redis URL            the feature store of the fraud workflow ({redis}
                         in its options): an existing Redis at unix:PATH,
                         /PATH or HOST:PORT (default: a private
                         redis-server per run on a unix socket in the run
                         directory, no TCP port, no persistence)
  --clock-sync MODE      producers and workers estimate their clock's offset
                         to the broker's (NTP-style probes, reported in
                         summary.json); producers correct the times they
                         send: auto (when the offset is measurably not
                         zero), on (always), off (no probes) (default auto)
  --clock-skew K=MS      emulate a clock MS ms ahead (negative: behind) for
                         K = producer, workers or a host of --hosts
                         (repeatable)
  --supervise N          restart a broker that dies, at most N times, and a
                         collector that dies, at most N times too (each
                         restart logged in the results' launcher.log);
                         not with --hosts (default 0: never)
  --checkpoint-interval S
                         the collector writes its whole state to
                         RUN/collector.journal.ckpt every S seconds and
                         empties its journal, so a restart resumes a run of
                         any length from little disk (default 5; 0: no
                         checkpoints, the journal holds the whole run)
  --cpus ROLE=LIST       pin ROLE's processes to the cpus LIST (taskset;
                         0, 0,1, 0-3, 0-2,5) for benchmarks: ROLE =
                         producer, broker, collector, autoscaler, workers
                         (every instance, also those started later) or
                         workers:FUNCTION (before workers); others keep
                         the launcher's cpus; recorded in launcher.log;
                         repeatable; not with --hosts
EOF
}

help_hosts_opts() {
  cat <<'EOF'
  --hosts FILE           run across hosts: lines "NAME ADDRESS ROLE...",
                         roles producer, broker, collector, workers (the
                         --workers count, split between such hosts) and
                         workers:FUNCTION=N[,...]; implies --transport tcp
  --host-cmd TEMPLATE    how to run a command on a host; {host} is its
                         name, {addr} its address (default 'ssh {host}';
                         e.g. 'ip netns exec {host}')
  --port-base P          with --hosts: collector P, broker frontend P+1,
                         backend P+2, stats P+3 (default: ports the kernel
                         picks, read back from the hosts)
  --netem HOST=SPEC      with --hosts: tc netem SPEC (e.g. 'delay 20ms
                         loss 1%') on HOST's device, run through the
                         template, removed at the end (repeatable)
  --cluster slurm[:OPTS] run on a Slurm allocation: the broker, collector
                         and producer as job steps on its first node,
                         one step per worker on every node (srun); the
                         allocation of this shell (salloc, sbatch), or
                         OPTS job=ID, or a new one: nodes=N[,partition=P,
                         time=T,account=A,qos=Q,wait=S], released at the
                         end (up: by down); not with --hosts
EOF
}

help_load_opts() {
  cat <<'EOF'
  --rate EPS             events per second (default 10)
  --duration S           seconds of load (default 10; replays: the whole data)
  --arrival KIND         constant | poisson | bursty[:ON:OFF[:LOW]] |
                         step:T1=R1,... | trace:FILE | azure2019:DIR |
                         azure2021:FILE (default poisson)
  --minutes A-B          azure20xx: minutes A to B of the trace's day
  --functions SEL        azure20xx: all | top:N | sample:N[:SEED]
  --iat KIND             azure2019: poisson | uniform | equidistant arrivals
                         inside each minute (the minute's count is kept)
  --seed N               same seed, same event sequence (default 1)
  --source SPEC          synthetic | fraud | nab:FILE | mqtt://HOST:PORT/TOPIC
                         (default: the workflow's)
  --mqtt-devices N       mqtt:// sources: the input ends once N devices have
                         sent their end marker (default: once every device
                         seen so far has; --ingest mqtt: 1 per producer)
  --ingest mqtt          run, up: a private mosquitto; each producer (up:
                         each produce) subscribes to its own topic and
                         eventide sensors publishes the series there
  --labels FILE          ground-truth windows for nab: sources (default: the
                         workflow's)
  --speedup X            replay data or a trace X times faster than recorded
                         (default: the workflow's, unless --rate is given)
  --fraud-rate F         fraud source: share of fraudulent transactions
                         (default 0.02)
  --malformed-rate F     fraud source: share of malformed events (default 0.005)
  --payload-bytes N      synthetic source: padding per event (default 0)
EOF
}

help_run() {
  echo "usage: ./eventide run [options]"
  help_pipeline_opts; help_hosts_opts; help_load_opts
  echo "  --out DIR              results directory (default results/<timestamp>)"
}
help_up() {
  echo "usage: ./eventide up [options]"
  help_pipeline_opts; help_hosts_opts
  echo "  --out DIR              results directory, written by down"
  echo "  --prometheus           also start a private Prometheus server scraping the"
  echo "                         broker and the collector every second, with"
  echo "                         contrib/prometheus's rules; data in DIR/prometheus"
}
help_produce() {
  echo "usage: ./eventide produce [options]"
  help_load_opts
  echo "  --id N                 producer id (default: next free)"
  echo "  --curve DIR            this producer's CURVE keys (default: the pipeline's)"
  echo "  --clock-sync MODE      auto, on or off (default: the pipeline's)"
  echo "  --clock-skew K=MS      emulate this producer's clock MS ms off (K: producer"
  echo "                         or its host) (default: the pipeline's)"
  echo "  --cpus producer=LIST   pin this producer to the cpus LIST (default: the"
  echo "                         pipeline's --cpus producer, if any)"
  echo "  --host H               with --hosts: the producer host to send from"
  echo "                         (default: the first producer host)"
}
help_scale() {
  echo "usage: ./eventide scale FUNCTION N [--host H]   (start or stop workers until N run)"
  echo "  --host H   with --hosts: N is the count on host H; without it new"
  echo "             workers go to the least loaded of the function's hosts"
}
help_restart() {
  echo "usage: ./eventide restart broker   (under up: SIGKILL the broker and start it"
  echo "  again with the same command line and endpoints; what it held is lost, the"
  echo "  workers and producers reconnect and the workers say READY again)"
  echo "       ./eventide restart collector   (under up: SIGKILL the collector and start"
  echo "  it again with --resume on the same endpoints: it replays RUN/collector.journal"
  echo "  and the broker sends again what it had not journaled; nothing is lost)"
  echo "       ./eventide restart mosquitto   (under up --ingest mqtt: SIGTERM mosquitto,"
  echo "  which saves its store, and start it on the same port; the sessions and the"
  echo "  readings queued in them are kept, producers and devices reconnect)"
}
help_status() { echo "usage: ./eventide status [--json]"; }
help_top() {
  cat <<'EOF'
usage: ./eventide top [--window S] [--once] [--broker URL] [--collector URL]
  A live view of the pipeline `up` started, from its /metrics: totals, end
  to end p50/p99, and one row per function (offered and completed rate,
  queue, in flight, replicas ready/busy/leaving, service p50/p99, queue
  wait p99, cold starts). Refreshed every second; rates and percentiles
  over the last S seconds (default 10). q or Ctrl-C quits. When its output
  is not a terminal it prints one plain screen per second; --once prints
  one (over one second) and exits. --broker/--collector take the URLs a
  `run` prints (metrics ...), for a pipeline `up` did not start.
EOF
}
help_down() { echo "usage: ./eventide down   (drain, stop everything, write results)"; }
help_test() { echo "usage: ./eventide test   (release + ASan/UBSan builds, whole suite)"; }
help_demo() { echo "usage: ./eventide demo   (the fraud workflow swept at 2, 5, 10 events/s, ~2 min)"; }
help_keys() {
  echo "usage: ./eventide keys [DIR] [--force]"
  echo "  create CURVE keys in DIR (default .eventide/keys): server.key and client.key"
  echo "  (mode 0600), server.pub, authorized/client.pub; existing keys are kept"
  echo "  unless --force. Use them with run/up --curve DIR."
}
help_sweep() {
  echo "usage: ./eventide sweep --rates 2,5,10 [--durations 30,60] [--out DIR] [run options]"
  echo "  one run per (rate, duration) point into DIR/rate-R-dur-D, then DIR/report.md"
  echo "  with the tables and DIR/{latency,throughput,utilization}.{png,svg}"
  echo "       ./eventide sweep --keepalive 0,60,600,kpa --arrival azure2019:DIR [run options]"
  echo "  the same trace once per keep-alive policy (./eventide sweep --keepalive --help)"
}

help_validate() {
  cat <<'EOF'
usage: ./eventide validate [--quick] [--out DIR] [--duration S]
  Runs the synthetic workflow (sleep mode, 1 slot per worker, Poisson
  arrivals) as M/M/1, M/M/2, M/M/4 (exp:20ms) and M/D/1 (const:20ms), each
  at rho 0.5 and 0.8, then compares each run's measured wait in queue W_q
  and end-to-end W (95% intervals by batch means) with queueing theory
  computed from the run's own arrival rate and hold times; writes
  DIR/validate.md and DIR/validate.{png,svg}. Exit 0 when theory lies
  inside every interval, 1 when it does not (or a run failed), 2 usage.
  --quick        three scenarios (M/M/1 0.5, M/M/4 0.8, M/D/1 0.5) of 20 s:
                 under 2 minutes (full: eight of 50 s, under 10 minutes)
  --out DIR      where the runs and the report go
                 (default results/validate-DATE)
  --duration S   seconds of load per scenario (default 50, --quick 20)
EOF
}

help_build() {
  echo "usage: ./eventide build   (install missing packages, configure and build the"
  echo "  release binaries into build/release, or \$EVENTIDE_BUILD; incremental)"
}
