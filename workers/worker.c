/* Worker runtime: configuration, the main thread's socket loop and the slot
 * threads. The main thread and the slots talk over inproc sockets: main
 * binds a ROUTER, each slot connects a DEALER named "slot-<i>", so a
 * finished task wakes zmq_poll like any other message and payloads move
 * between threads without copies. */
#include "workers/worker.h"

#include "common/cli.h"
#include "common/clock.h"
#include "common/clockprobe.h"
#include "common/curve.h"
#include "common/zsock.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_PROG "eventide-worker"
#define S_SLOTS_ENDPOINT "inproc://slots"

#define S_BROKER_HWM 1000
#define S_COLLECTOR_HWM 100
#define S_SLOT_HWM 16

/* Longest the main loop sleeps: bounds how late it notices the stop flag
 * when a signal lands just before zmq_poll. */
#define S_POLL_MAX_MS 100
/* READY is retried this often until the broker connection is up. */
#define S_READY_RETRY_MS 10
#define S_SLOT_START_TIMEOUT_NS (10 * ET_NS_PER_S)
#define S_SLOT_STOP_WAIT_NS (2 * ET_NS_PER_S)
#define S_FINAL_USAGE_TIMEOUT_NS (1 * ET_NS_PER_S)
/* Heartbeats to the broker, and how long its silence is tolerated before
 * we assume it lost us (its own timeout for us is 3 s by default). */
#define S_HEARTBEAT_NS (1 * ET_NS_PER_S)
#define S_BROKER_TIMEOUT_NS (5 * ET_NS_PER_S)
/* Messages handled per socket per pass, so neither side starves. */
#define S_BATCH 256
/* Outputs up to this size are copied (the sbuffer is reused); larger ones
 * are handed to ZeroMQ without a copy. */
#define S_COPY_MAX (64 * 1024)

/* ---- configuration ------------------------------------------------------- */

static const struct option s_long_options[] = {
    {"function", required_argument, NULL, 'f'},
    {"broker", required_argument, NULL, 'b'},
    {"collector", required_argument, NULL, 'c'},
    {"slots", required_argument, NULL, 'n'},
    {"service", required_argument, NULL, 's'},
    {"mode", required_argument, NULL, 'm'},
    {"seed", required_argument, NULL, 'S'},
    {"instance", required_argument, NULL, 'i'},
    {"spawned-at", required_argument, NULL, 'T'},
    {"usage-interval", required_argument, NULL, 'u'},
    {"idle-timeout", required_argument, NULL, 'I'},
    {"io-delay", required_argument, NULL, 'D'},
    {"max-payload", required_argument, NULL, 'p'},
    {"option", required_argument, NULL, 'o'},
    {"log-level", required_argument, NULL, 'L'},
    {"curve", required_argument, NULL, 'C'},
    {"clock-sync", required_argument, NULL, 'y'},
    {"clock-interval", required_argument, NULL, 'v'},
    {"clock-skew", required_argument, NULL, 'k'},
    {"host-name", required_argument, NULL, 'H'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void
s_print_help(FILE *out)
{
    fprintf(out,
            "Usage: " S_PROG " --function NAME --broker ENDPOINT "
            "--collector ENDPOINT [options]\n"
            "\n"
            "One serverless function instance: connects to the broker's "
            "backend,\nannounces READY, serves tasks on N slots and reports "
            "usage to the collector.\n"
            "\n"
            "  --function NAME       function to run (required, see below)\n"
            "  --broker ENDPOINT     broker backend ROUTER to connect to "
            "(required)\n"
            "  --collector ENDPOINT  collector PULL to connect to "
            "(required)\n"
            "  --slots N             tasks served at once, 1..%d "
            "(default 1)\n"
            "  --service DIST        service time of functions that model "
            "one\n"
            "                        (default " ET_WORKER_DEFAULT_SERVICE
            "): const:D, exp:MEAN,\n"
            "                        uniform:LOW:HIGH, "
            "lognormal:MEDIAN:SIGMA\n"
            "  --mode sleep|spin     spend the service time sleeping or "
            "burning CPU\n"
            "                        (default sleep)\n"
            "  --seed N              random seed (default 1)\n"
            "  --instance NAME       instance name (default FUNCTION-PID)\n"
            "  --spawned-at NS       CLOCK_REALTIME ns when the launcher "
            "spawned this\n"
            "                        process, read on this host: where the "
            "cold start\n"
            "                        begins (default: when main() began)\n"
            "  --usage-interval S    time between USAGE reports, e.g. 1, "
            "500ms (default 1)\n"
            "  --io-delay DIST       after each call, wait a modelled "
            "downstream call\n"
            "                        (feature store, database): const:5ms, "
            "exp:20ms, ...;\n"
            "                        part of the service time (default "
            "none)\n"
            "  --idle-timeout S      keep-alive: leave as on SIGTERM after "
            "S with no\n"
            "                        task, e.g. 30, 500ms (default 0 = "
            "never)\n"
            "  --max-payload BYTES   largest input or output payload "
            "(default %u, at\n"
            "                        most %u)\n"
            "  --option KEY=VALUE    function option, repeatable (at most "
            "%d)\n"
            "  --log-level LEVEL     debug, info, warn, error or off "
            "(default info)\n"
            "  --curve DIR           CURVE on tcp:// links, keys from DIR "
            "(client.key,\n"
            "                        server.pub) (default: none, plain "
            "TCP)\n"
            "  --clock-sync MODE     estimate this clock's offset to the "
            "broker's and\n"
            "                        report it to the collector: auto or on "
            "(the same\n"
            "                        here: a worker's times never cross "
            "hosts), or off\n"
            "                        (default auto)\n"
            "  --clock-interval S    probe burst interval, 100ms..3600 s "
            "(default 5)\n"
            "  --clock-skew MS       emulate a clock MS milliseconds ahead "
            "(negative:\n"
            "                        behind), at most a day (default 0)\n"
            "  --host-name NAME      this host's name in clock reports "
            "(default: the\n"
            "                        system's host name)\n"
            "  --help                print this help\n"
            "\n"
            "Functions:\n",
            ET_WORKER_SLOTS_MAX, ET_PAYLOAD_DEFAULT_MAX, ET_PAYLOAD_HARD_MAX,
            ET_FUNCTION_OPTIONS_MAX);
    size_t count;
    const et_function_def_t *const *list = et_function_list(&count);
    for (size_t i = 0; i < count; i++)
        fprintf(out, "  %-12s  %s\n", list[i]->name, list[i]->summary);
}

static void
s_function_config(const et_worker_config_t *cfg, et_function_config_t *fcfg)
{
    memset(fcfg, 0, sizeof *fcfg);
    fcfg->service = cfg->service;
    fcfg->mode = cfg->mode;
    fcfg->seed = cfg->seed;
    fcfg->pid = (uint32_t)getpid();
    fcfg->slots = cfg->slots;
    fcfg->max_payload = cfg->max_payload;
    for (unsigned i = 0; i < cfg->n_options; i++)
        fcfg->options[i] = cfg->options[i];
    fcfg->n_options = cfg->n_options;
}

/* "KEY=VALUE" with KEY a name; VALUE may be empty. */
static int
s_check_option(const char *text)
{
    const char *eq = strchr(text, '=');
    char key[ET_NAME_MAX];
    if (!eq || eq == text || (size_t)(eq - text) >= sizeof key)
        return -1;
    memcpy(key, text, (size_t)(eq - text));
    key[eq - text] = '\0';
    return et_cli_check_name(key, sizeof key - 1);
}

static int
s_usage_error(const char *flag, const char *value, const char *why)
{
    et_cli_error(S_PROG, flag, value, why);
    return 2;
}

/* After getopt: required flags, the function's own check, derived
 * defaults. */
static int
s_config_finish(et_worker_config_t *cfg, const char *function_name)
{
    if (!function_name)
        return s_usage_error("--function", NULL, "is required");
    if (!cfg->broker)
        return s_usage_error("--broker", NULL, "is required");
    if (!cfg->collector)
        return s_usage_error("--collector", NULL, "is required");
    const et_function_def_t *def = cfg->function;
    if (def->check) {
        et_function_config_t fcfg;
        s_function_config(cfg, &fcfg);
        const char *flag = "--function", *value = function_name;
        char why[160] = "rejected by the function";
        if (def->check(&fcfg, &flag, &value, why, sizeof why) != 0)
            return s_usage_error(flag, value, why);
    }
    if (cfg->instance[0] == '\0') {
        int len = snprintf(cfg->instance, sizeof cfg->instance, "%s-%ld",
                           def->name, (long)getpid());
        if (len < 0 || (size_t)len >= sizeof cfg->instance)
            return s_usage_error("--instance", NULL,
                                 "default name too long; give one");
    }
    return 0;
}

int
et_worker_config_parse(int argc, char **argv, et_worker_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->slots = 1;
    cfg->mode = ET_FUNCTION_MODE_SLEEP;
    cfg->seed = 1;
    cfg->spawned_at_ns = et_clock_real_ns();
    cfg->usage_interval_ns = ET_NS_PER_S;
    cfg->max_payload = ET_PAYLOAD_DEFAULT_MAX;
    cfg->log_level = ET_LOG_LEVEL_INFO;
    cfg->bye_timeout_ns = ET_WORKER_BYE_TIMEOUT_NS;
    cfg->clock_sync = ET_CLOCKSYNC_AUTO;
    cfg->clock_interval_ns = ET_CLOCKSYNC_INTERVAL_DEFAULT_NS;

    const char *function_name = NULL;
    uint64_t u;
    optind = 0; /* GNU: full re-initialisation, so tests can parse twice */
    opterr = 0;
    int opt;
    /* '+': stop at the first non-option instead of permuting argv. */
    while ((opt = getopt_long(argc, argv, "+:h", s_long_options, NULL)) != -1) {
        const char *flag = argv[optind - 1];
        switch (opt) {
        case 'f':
            cfg->function = et_function_find(optarg);
            if (!cfg->function)
                return s_usage_error("--function", optarg,
                                     "unknown function (see --help)");
            function_name = optarg;
            break;
        case 'b':
        case 'c':
            if (et_cli_check_endpoint(optarg) != 0)
                return s_usage_error(opt == 'b' ? "--broker" : "--collector",
                                     optarg,
                                     "expected tcp://, ipc:// or inproc://");
            if (opt == 'b')
                cfg->broker = optarg;
            else
                cfg->collector = optarg;
            break;
        case 'n':
            if (et_cli_parse_u64(optarg, 1, ET_WORKER_SLOTS_MAX, &u) != 0)
                return s_usage_error("--slots", optarg,
                                     "expected an integer from 1 to 64");
            cfg->slots = (unsigned)u;
            break;
        case 's':
            if (optarg[0] == '\0')
                return s_usage_error("--service", optarg, "is empty");
            cfg->service = optarg;
            break;
        case 'm':
            if (strcmp(optarg, "sleep") == 0)
                cfg->mode = ET_FUNCTION_MODE_SLEEP;
            else if (strcmp(optarg, "spin") == 0)
                cfg->mode = ET_FUNCTION_MODE_SPIN;
            else
                return s_usage_error("--mode", optarg,
                                     "expected sleep or spin");
            break;
        case 'S':
            if (et_cli_parse_u64(optarg, 0, UINT64_MAX, &cfg->seed) != 0)
                return s_usage_error("--seed", optarg,
                                     "expected a non-negative integer");
            break;
        case 'i':
            if (et_cli_check_name(optarg, ET_NAME_MAX - 1) != 0)
                return s_usage_error("--instance", optarg,
                                     "expected 1-47 characters from "
                                     "A-Z a-z 0-9 _ . -");
            snprintf(cfg->instance, sizeof cfg->instance, "%s", optarg);
            break;
        case 'T':
            /* Same host, same clock: a spawn time in the future is a
             * bug in the caller, and would make cold starts negative. */
            if (et_cli_parse_u64(optarg, 1, INT64_MAX, &u) != 0 ||
                (int64_t)u > et_clock_real_ns() + ET_NS_PER_S)
                return s_usage_error("--spawned-at", optarg,
                                     "expected CLOCK_REALTIME nanoseconds, "
                                     "not in the future");
            cfg->spawned_at_ns = (int64_t)u;
            break;
        case 'u':
            if (et_cli_parse_duration_ns(optarg, ET_NS_PER_S, 10 * ET_NS_PER_MS,
                                         3600 * ET_NS_PER_S,
                                         &cfg->usage_interval_ns) != 0)
                return s_usage_error("--usage-interval", optarg,
                                     "expected a duration from 10ms to 1h "
                                     "(bare number = seconds)");
            break;
        case 'D': {
            char why[160];
            if (et_dist_parse(optarg, &cfg->io_delay, why, sizeof why) != 0)
                return s_usage_error("--io-delay", optarg, why);
            cfg->has_io_delay = 1;
            break;
        }
        case 'I':
            if (et_cli_parse_duration_ns(optarg, ET_NS_PER_S, 0,
                                         86400 * ET_NS_PER_S,
                                         &cfg->idle_timeout_ns) != 0)
                return s_usage_error("--idle-timeout", optarg,
                                     "expected a duration from 0 (never) to "
                                     "24h (bare number = seconds)");
            break;
        case 'p':
            if (et_cli_parse_u64(optarg, 1, ET_PAYLOAD_HARD_MAX, &u) != 0)
                return s_usage_error("--max-payload", optarg,
                                     "expected bytes from 1 to 16777216");
            cfg->max_payload = (size_t)u;
            break;
        case 'o':
            if (cfg->n_options == ET_FUNCTION_OPTIONS_MAX)
                return s_usage_error("--option", optarg,
                                     "too many options (at most 32)");
            if (s_check_option(optarg) != 0)
                return s_usage_error("--option", optarg,
                                     "expected KEY=VALUE, KEY from "
                                     "A-Z a-z 0-9 _ . -");
            cfg->options[cfg->n_options++] = optarg;
            break;
        case 'y':
            if (et_clocksync_parse_mode(optarg, &cfg->clock_sync) != 0)
                return s_usage_error("--clock-sync", optarg,
                                     "expected auto, on or off");
            break;
        case 'v':
            if (et_cli_parse_duration_ns(
                    optarg, ET_NS_PER_S, (uint64_t)ET_CLOCKSYNC_INTERVAL_MIN_NS,
                    (uint64_t)ET_CLOCKSYNC_INTERVAL_MAX_NS, &u) != 0)
                return s_usage_error("--clock-interval", optarg,
                                     "expected a duration in 100ms..3600 s, "
                                     "e.g. 5, 500ms");
            cfg->clock_interval_ns = (int64_t)u;
            break;
        case 'k':
            if (et_clocksync_parse_skew(optarg, &cfg->clock_skew_ns) != 0)
                return s_usage_error("--clock-skew", optarg,
                                     "expected milliseconds, at most "
                                     "86400000 either way");
            break;
        case 'H':
            if (et_cli_check_name(optarg, ET_NAME_MAX - 1) != 0)
                return s_usage_error("--host-name", optarg,
                                     "expected 1-47 characters from "
                                     "A-Z a-z 0-9 _ . -");
            snprintf(cfg->host_name, sizeof cfg->host_name, "%s", optarg);
            break;
        case 'L':
            if (et_log_parse_level(optarg, &cfg->log_level) != 0)
                return s_usage_error("--log-level", optarg,
                                     "expected debug, info, warn, error or "
                                     "off");
            break;
        case 'C': {
            char why[256];
            if (et_curve_check_dir(optarg, why, sizeof why) != 0)
                return s_usage_error("--curve", optarg, why);
            cfg->curve_dir = optarg;
            break;
        }
        case 'h':
            s_print_help(stdout);
            return 1;
        case ':':
            return s_usage_error(flag, NULL, "needs a value");
        default:
            return s_usage_error(flag, NULL, "unknown option (see --help)");
        }
    }
    if (optind < argc)
        return s_usage_error(argv[optind], NULL, "unexpected argument");
    return s_config_finish(cfg, function_name);
}

/* ---- runtime state ------------------------------------------------------- */

typedef struct s_worker_t s_worker_t;

typedef struct {
    /* Set before the thread starts, read-only afterwards. */
    unsigned index;
    const s_worker_t *worker;
    char route[16]; /* "slot-<index>", its inproc routing id */
    /* Main thread only. */
    pthread_t thread;
    int hello; /* its socket is connected: it may be given tasks */
    int busy;
} s_slot_t;

struct s_worker_t {
    const et_worker_config_t *cfg;
    const et_function_def_t *def;
    et_function_config_t fcfg;
    void *fn_state;
    int fn_ready;

    void *ctx;
    void *broker;      /* DEALER to the broker's backend */
    void *collector;   /* PUSH to the collector */
    void *slots_sock;  /* ROUTER, inproc, to the slot threads */
    et_curve_t *curve; /* NULL: no CURVE */
    msgpack_sbuffer body;

    s_slot_t slots[ET_WORKER_SLOTS_MAX];
    unsigned n_started, n_hello, n_busy;

    uint64_t spawned_mono_ns; /* cfg->spawned_at_ns on CLOCK_MONOTONIC */
    int64_t init_ns;
    int64_t cold_start_ns;
    int ready; /* READY went out */
    uint64_t slots_deadline_ns;
    uint64_t broker_wait_warn_ns;

    int leaving;
    int bye_acked;
    uint64_t next_heartbeat_ns;
    uint64_t last_broker_ns; /* last message from the broker */
    int broker_silent;       /* silent past the timeout: re-register */
    uint64_t leave_deadline_ns;
    uint64_t next_usage_ns;
    /* Last TASK in, task done or READY out: the keep-alive clock for
     * --idle-timeout. */
    uint64_t last_active_ns;

    /* Usage: served counts tasks the function ran; errors counts tasks
     * answered ERROR, by the function or by the runtime. */
    int64_t busy_ns;
    uint64_t served;
    uint64_t errors;
    uint64_t bad_messages;
    uint64_t violations;
    uint64_t send_failures;

    /* Probes of the broker's clock (started once READY went out: the broker
     * is there), reported to the collector; NULL with --clock-sync off. */
    et_clockprobe_t *probe;
    int probe_tried;
    char host[ET_NAME_MAX];
    int64_t spawned_at_ns; /* cfg->spawned_at_ns on the (skewed) clock */
};

#define S_BAD(w, ...)                                                          \
    do {                                                                       \
        (w)->bad_messages++;                                                   \
        ET_LOG_WARN_LIMITED(__VA_ARGS__);                                      \
    } while (0)

/* ---- slot threads -------------------------------------------------------- */

/* What a slot reports to the main thread, which validates it: the slots
 * never log per event, so rate-limited logging stays single-threaded. */
typedef struct {
    et_result_t result; /* status still unset */
    int status;         /* as handle returned it */
    size_t output_size; /* bytes the function wrote */
    int output_failed;  /* the output could not be made a message */
} s_slot_reply_t;

static void
s_free_output(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Run one task and turn its output into a message (empty when the output
 * is larger than --max-payload). */
static void
s_slot_serve(const s_slot_t *slot, et_rng_t *rng, const et_task_t *task,
             zmq_msg_t *input, msgpack_sbuffer *sbuf, s_slot_reply_t *reply,
             zmq_msg_t *output)
{
    const s_worker_t *w = slot->worker;
    msgpack_sbuffer_clear(sbuf);
    et_function_output_t out = {
        .output = sbuf, .outcome = ET_OUTCOME_NONE, .score = 0};
    uint64_t start = et_clock_mono_ns();
    int status = w->def->handle(w->fn_state, slot->index, zmq_msg_data(input),
                                zmq_msg_size(input), &out);
    if (w->cfg->has_io_delay) {
        /* The function's downstream call (a feature store, a database),
         * modelled as a wait: I/O time inside the service time. */
        uint64_t until =
            et_clock_mono_ns() + et_dist_sample_ns(&w->cfg->io_delay, rng);
        while (et_clock_sleep_until_mono(until) != 0)
            ;
    }
    uint64_t end = et_clock_mono_ns();

    memset(reply, 0, sizeof *reply);
    reply->result = (et_result_t){
        .event_id = task->event_id,
        .stage = task->stage,
        .attempt = task->attempt,
        .service_ns = (int64_t)(end - start),
        .outcome = out.outcome,
        .score = out.score,
    };
    reply->status = status;
    reply->output_size = sbuf->size;

    size_t size = sbuf->size;
    if (size == 0 || size > w->cfg->max_payload) {
        zmq_msg_init(output);
    } else if (size <= S_COPY_MAX) {
        if (zmq_msg_init_size(output, size) == 0) {
            memcpy(zmq_msg_data(output), sbuf->data, size);
        } else {
            zmq_msg_init(output);
            reply->output_failed = 1;
        }
    } else {
        char *data = msgpack_sbuffer_release(sbuf);
        /* ZeroMQ frees the buffer when the last reference goes. */
        if (zmq_msg_init_data(output, data, size, s_free_output, NULL) != 0) {
            free(data);
            zmq_msg_init(output);
            reply->output_failed = 1;
        }
    }
}

/* A slot thread: say hello, then serve [task][payload] messages until an
 * empty one (stop) or ETERM. Signals are blocked here, so they always
 * reach the main thread. */
static void *
s_slot_main(void *arg)
{
    s_slot_t *slot = arg;
    const s_worker_t *w = slot->worker;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    /* Each slot draws its own modelled delays: seeded, independent. */
    et_rng_t rng;
    et_rng_seed(&rng, w->cfg->seed + 0x9e3779b97f4a7c15ULL * getpid() +
                          0xbf58476d1ce4e5b9ULL * (slot->index + 1));
    void *sock = et_zsock_new(w->ctx, ZMQ_DEALER, S_SLOT_HWM);
    if (!sock ||
        zmq_setsockopt(sock, ZMQ_ROUTING_ID, slot->route,
                       strlen(slot->route)) != 0 ||
        et_zsock_connect(sock, S_SLOTS_ENDPOINT) != 0 ||
        zmq_send(sock, "", 0, 0) != 0) {
        ET_LOG_ERROR("slot %u cannot start: %s", slot->index,
                     zmq_strerror(errno));
        goto done;
    }
    for (;;) {
        zmq_msg_t frames[2];
        int too_many;
        int n = et_zsock_recv(sock, frames, 2, &too_many, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* ETERM: the context is going away */
        }
        if (n != 2 || too_many ||
            zmq_msg_size(&frames[0]) != sizeof(et_task_t)) {
            if (!(n == 1 && zmq_msg_size(&frames[0]) == 0))
                ET_LOG_ERROR("slot %u: unexpected internal message",
                             slot->index);
            et_zsock_frames_close(frames, n);
            break;
        }
        et_task_t task;
        memcpy(&task, zmq_msg_data(&frames[0]), sizeof task);
        s_slot_reply_t reply;
        zmq_msg_t output;
        s_slot_serve(slot, &rng, &task, &frames[1], &sbuf, &reply, &output);
        et_zsock_frames_close(frames, n);
        if (zmq_send(sock, &reply, sizeof reply, ZMQ_SNDMORE) < 0 ||
            zmq_msg_send(&output, sock, 0) < 0) {
            zmq_msg_close(&output);
            break;
        }
        zmq_msg_close(&output);
    }
done:
    et_zsock_close(&sock);
    msgpack_sbuffer_destroy(&sbuf);
    return NULL;
}

static int
s_slots_start(s_worker_t *w)
{
    for (unsigned i = 0; i < w->cfg->slots; i++) {
        s_slot_t *slot = &w->slots[i];
        slot->index = i;
        slot->worker = w;
        snprintf(slot->route, sizeof slot->route, "slot-%u", i);
        int rc = pthread_create(&slot->thread, NULL, s_slot_main, slot);
        if (rc != 0) {
            ET_LOG_ERROR("cannot start slot thread %u: %s", i, strerror(rc));
            return -1;
        }
        w->n_started++;
    }
    return 0;
}

/* ---- messages to the broker and the collector ---------------------------- */

static int64_t
s_since_spawn_ns(const s_worker_t *w, uint64_t mono_ns)
{
    return mono_ns > w->spawned_mono_ns
               ? (int64_t)(mono_ns - w->spawned_mono_ns)
               : 0;
}

static int
s_send_usage(s_worker_t *w, int final)
{
    et_usage_t usage = {
        .pid = (uint32_t)getpid(),
        .slots = w->cfg->slots,
        .started_ns = w->spawned_at_ns,
        .cold_start_ns = w->ready ? w->cold_start_ns : 0,
        .init_ns = w->init_ns,
        .lifetime_ns = s_since_spawn_ns(w, et_clock_mono_ns()),
        .busy_ns = w->busy_ns,
        .cpu_ns = (int64_t)et_clock_cpu_ns(),
        .served = w->served,
        .errors = w->errors,
        .final = (uint8_t)(final ? 1 : 0),
    };
    snprintf(usage.function, sizeof usage.function, "%s", w->def->name);
    snprintf(usage.instance, sizeof usage.instance, "%s", w->cfg->instance);
    msgpack_sbuffer_clear(&w->body);
    if (et_codec_encode_usage(&w->body, &usage) != 0)
        return -1;
    uint64_t give_up = et_clock_mono_ns() + S_FINAL_USAGE_TIMEOUT_NS;
    for (;;) {
        if (et_zsock_send(w->collector, NULL, ET_MSG_USAGE, &w->body, NULL,
                          ZMQ_DONTWAIT) == 0)
            return 0;
        /* A periodic report may be skipped (the next one is cumulative);
         * the final one is worth waiting a little for. */
        if (!final || errno != EAGAIN || et_clock_mono_ns() >= give_up)
            break;
        usleep(10000);
    }
    w->send_failures++;
    if (final)
        ET_LOG_WARN("cannot send the final USAGE to %s: %s", w->cfg->collector,
                    zmq_strerror(errno));
    else
        ET_LOG_WARN_LIMITED("cannot send USAGE to %s: %s", w->cfg->collector,
                            zmq_strerror(errno));
    return -1;
}

/* Send RESULT; 'payload' is consumed either way. */
static void
s_send_result(s_worker_t *w, const et_result_t *result, zmq_msg_t *payload)
{
    msgpack_sbuffer_clear(&w->body);
    if (et_codec_encode_result(&w->body, result) != 0 ||
        et_zsock_send(w->broker, NULL, ET_MSG_RESULT, &w->body, payload,
                      ZMQ_DONTWAIT) != 0) {
        w->send_failures++;
        ET_LOG_WARN_LIMITED("cannot send RESULT for event %llu: %s",
                            (unsigned long long)result->event_id,
                            zmq_strerror(errno));
    }
    zmq_msg_close(payload);
}

/* Answer a task the runtime cannot run, so the event is not lost. */
static void
s_reply_error(s_worker_t *w, const et_task_t *task)
{
    et_result_t result = {
        .event_id = task->event_id,
        .stage = task->stage,
        .attempt = task->attempt,
        .status = ET_STATUS_ERROR,
        .outcome = ET_OUTCOME_NONE,
    };
    zmq_msg_t empty;
    zmq_msg_init(&empty);
    w->errors++;
    s_send_result(w, &result, &empty);
}

/* Returns 0 (sent or retry later) or -1 on a fatal socket error. */
static int
s_try_ready(s_worker_t *w)
{
    uint64_t now = et_clock_mono_ns();
    et_ready_t ready = {
        .pid = (uint32_t)getpid(),
        .slots = w->cfg->slots,
        .cold_start_ns = s_since_spawn_ns(w, now),
        .init_ns = w->init_ns,
    };
    snprintf(ready.function, sizeof ready.function, "%s", w->def->name);
    snprintf(ready.instance, sizeof ready.instance, "%s", w->cfg->instance);
    msgpack_sbuffer_clear(&w->body);
    if (et_codec_encode_ready(&w->body, &ready) != 0) {
        ET_LOG_ERROR("cannot encode READY");
        return -1;
    }
    /* IMMEDIATE: until the connection is up the send fails with EAGAIN
     * and is retried; the wait counts as cold start, since no event could
     * be served before. */
    if (et_zsock_send(w->broker, NULL, ET_MSG_READY, &w->body, NULL,
                      ZMQ_DONTWAIT) != 0) {
        if (errno == EAGAIN || errno == EINTR) {
            if (now >= w->broker_wait_warn_ns) {
                ET_LOG_WARN("still waiting for the broker at %s",
                            w->cfg->broker);
                w->broker_wait_warn_ns = now + 10 * ET_NS_PER_S;
            }
            return 0;
        }
        ET_LOG_ERROR("cannot send READY: %s", zmq_strerror(errno));
        return -1;
    }
    w->ready = 1;
    w->last_broker_ns = now;
    w->next_heartbeat_ns = now;
    w->last_active_ns = now;
    if (w->cold_start_ns > 0) {
        ET_LOG_INFO("registered again with the broker");
        return 0;
    }
    w->cold_start_ns = ready.cold_start_ns;
    ET_LOG_INFO("ready: %s x%u slot%s as %s, cold start %.1f ms (init "
                "%.1f ms)",
                w->def->name, w->cfg->slots, w->cfg->slots == 1 ? "" : "s",
                w->cfg->instance, (double)w->cold_start_ns / 1e6,
                (double)w->init_ns / 1e6);
    return 0;
}

/* Start leaving: BYE to the broker, which answers BYE once every task it
 * sent us is on its way. */
static void
s_leave(s_worker_t *w, const char *why)
{
    w->leaving = 1;
    w->leave_deadline_ns =
        et_clock_mono_ns() + (uint64_t)w->cfg->bye_timeout_ns;
    if (!w->ready) {
        /* The broker never heard of us: nothing to wait for. */
        w->bye_acked = 1;
        ET_LOG_INFO("leaving (%s) before READY", why);
        return;
    }
    if (et_zsock_send(w->broker, NULL, ET_MSG_BYE, NULL, NULL, ZMQ_DONTWAIT) !=
        0) {
        /* No connection to the broker: no task can arrive either. */
        ET_LOG_WARN("cannot send BYE: %s; leaving when idle",
                    zmq_strerror(errno));
        w->bye_acked = 1;
        return;
    }
    ET_LOG_INFO("leaving (%s): BYE sent, %u task%s in flight", why, w->n_busy,
                w->n_busy == 1 ? "" : "s");
}

/* ---- incoming messages --------------------------------------------------- */

static s_slot_t *
s_free_slot(s_worker_t *w)
{
    for (unsigned i = 0; i < w->n_started; i++)
        if (w->slots[i].hello && !w->slots[i].busy)
            return &w->slots[i];
    return NULL;
}

static void
s_on_task(s_worker_t *w, zmq_msg_t *frames, int n, int too_many)
{
    et_task_t task;
    if (n != 3 || too_many) {
        S_BAD(w, "TASK with %s%d frames dropped", too_many ? "> " : "", n);
        return;
    }
    if (et_codec_decode_task(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]),
                             &task) != 0) {
        S_BAD(w, "TASK with a bad body dropped: %s", strerror(errno));
        return;
    }
    w->last_active_ns = et_clock_mono_ns(); /* even one answered ERROR */
    size_t size = zmq_msg_size(&frames[2]);
    if (size > w->cfg->max_payload) {
        S_BAD(w,
              "TASK for event %llu: payload of %zu bytes exceeds "
              "--max-payload %zu; answered ERROR",
              (unsigned long long)task.event_id, size, w->cfg->max_payload);
        s_reply_error(w, &task);
        return;
    }
    s_slot_t *slot = s_free_slot(w);
    if (!slot) {
        /* The broker only sends to a free slot: it and we disagree. */
        w->violations++;
        ET_LOG_WARN_LIMITED("TASK for event %llu while all %u slots are "
                            "busy (protocol violation); answered ERROR",
                            (unsigned long long)task.event_id, w->cfg->slots);
        s_reply_error(w, &task);
        return;
    }
    if (zmq_send(w->slots_sock, slot->route, strlen(slot->route),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(w->slots_sock, &task, sizeof task, ZMQ_SNDMORE) < 0 ||
        zmq_msg_send(&frames[2], w->slots_sock, 0) < 0) {
        ET_LOG_ERROR("cannot hand event %llu to slot %u: %s",
                     (unsigned long long)task.event_id, slot->index,
                     zmq_strerror(errno));
        s_reply_error(w, &task);
        return;
    }
    slot->busy = 1;
    w->n_busy++;
}

static void
s_on_broker_message(s_worker_t *w, zmq_msg_t *frames, int n, int too_many)
{
    et_msg_type_t type;
    if (et_codec_decode_header(zmq_msg_data(&frames[0]),
                               zmq_msg_size(&frames[0]), &type) != 0) {
        S_BAD(w, "message from the broker with a bad header dropped: %s",
              strerror(errno));
        return;
    }
    w->last_broker_ns = et_clock_mono_ns();
    if (w->broker_silent) {
        /* The broker may have declared us lost meanwhile (and retried our
         * events elsewhere): say READY again so it knows us. */
        w->broker_silent = 0;
        if (!w->leaving) {
            ET_LOG_INFO("the broker is back: registering again");
            w->ready = 0;
        }
    }
    switch (type) {
    case ET_MSG_TASK:
        s_on_task(w, frames, n, too_many);
        break;
    case ET_MSG_DRAIN:
    case ET_MSG_BYE:
        if (n != 1 || too_many) {
            S_BAD(w, "%s with %d frames dropped", et_codec_type_name(type), n);
            break;
        }
        if (type == ET_MSG_DRAIN) {
            if (!w->leaving)
                s_leave(w, "broker sent DRAIN");
            /* The broker sends DRAIN only once it dispatches nothing more
             * to us: there is no answer to wait for. */
            w->bye_acked = 1;
        } else {
            if (!w->leaving) {
                /* The broker is letting us go first: no BYE owed. */
                ET_LOG_INFO("broker said BYE first: leaving");
                w->leaving = 1;
            } else {
                ET_LOG_DEBUG("broker answered BYE");
            }
            w->bye_acked = 1;
        }
        break;
    case ET_MSG_HEARTBEAT:
        ET_LOG_DEBUG("heartbeat from the broker");
        break;
    default:
        S_BAD(w, "unexpected %s from the broker dropped",
              et_codec_type_name(type));
        break;
    }
}

/* Returns 0, or -1 on a fatal socket error. */
static int
s_drain_broker(s_worker_t *w)
{
    for (int i = 0; i < S_BATCH; i++) {
        zmq_msg_t frames[3];
        int too_many;
        int n = et_zsock_recv(w->broker, frames, 3, &too_many, ZMQ_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            ET_LOG_ERROR("cannot receive from the broker: %s",
                         zmq_strerror(errno));
            return -1;
        }
        s_on_broker_message(w, frames, n, too_many);
        et_zsock_frames_close(frames, n);
    }
    return 0;
}

static s_slot_t *
s_slot_by_route(s_worker_t *w, const zmq_msg_t *route)
{
    zmq_msg_t *r = (zmq_msg_t *)route; /* zmq_msg_data is not const */
    for (unsigned i = 0; i < w->n_started; i++) {
        size_t len = strlen(w->slots[i].route);
        if (zmq_msg_size(r) == len &&
            memcmp(zmq_msg_data(r), w->slots[i].route, len) == 0)
            return &w->slots[i];
    }
    return NULL;
}

static void
s_on_slot_message(s_worker_t *w, zmq_msg_t *frames, int n)
{
    s_slot_t *slot = s_slot_by_route(w, &frames[0]);
    if (slot && n == 2 && zmq_msg_size(&frames[1]) == 0) {
        if (!slot->hello) {
            slot->hello = 1;
            w->n_hello++;
        }
        return;
    }
    if (!slot || n != 3 || zmq_msg_size(&frames[1]) != sizeof(s_slot_reply_t) ||
        !slot->busy) {
        ET_LOG_ERROR("unexpected internal message from a slot dropped");
        return;
    }
    s_slot_reply_t reply;
    memcpy(&reply, zmq_msg_data(&frames[1]), sizeof reply);
    et_result_t *result = &reply.result;
    slot->busy = 0;
    w->n_busy--;
    w->last_active_ns = et_clock_mono_ns();

    int status = reply.status;
    const char *name = w->def->name;
    unsigned long long id = (unsigned long long)result->event_id;
    if (status < 0 || status > ET_STATUS_MAX) {
        ET_LOG_WARN_LIMITED("%s returned status %d for event %llu", name,
                            status, id);
        status = ET_STATUS_ERROR;
    } else if (result->outcome < ET_OUTCOME_NONE || !isfinite(result->score)) {
        ET_LOG_WARN_LIMITED("%s gave outcome %d, score %g for event %llu", name,
                            (int)result->outcome, result->score, id);
        status = ET_STATUS_ERROR;
    } else if (reply.output_size > w->cfg->max_payload) {
        ET_LOG_WARN_LIMITED("%s output of %zu bytes for event %llu exceeds "
                            "--max-payload %zu",
                            name, reply.output_size, id, w->cfg->max_payload);
        status = ET_STATUS_ERROR;
    } else if (reply.output_failed) {
        ET_LOG_WARN_LIMITED("no memory for the output of event %llu", id);
        status = ET_STATUS_ERROR;
    }
    if (status == ET_STATUS_ERROR) {
        /* An ERROR carries no output, outcome or score. */
        zmq_msg_close(&frames[2]);
        zmq_msg_init(&frames[2]);
        result->outcome = ET_OUTCOME_NONE;
        result->score = 0;
        w->errors++;
    }
    result->status = (uint8_t)status;
    w->busy_ns += result->service_ns;
    w->served++;
    ET_LOG_DEBUG("event %llu stage %u served by slot %u in %.3f ms: %s", id,
                 result->stage, slot->index, (double)result->service_ns / 1e6,
                 status == ET_STATUS_OK      ? "ok"
                 : status == ET_STATUS_ERROR ? "error"
                                             : "filtered");
    s_send_result(w, result, &frames[2]);
}

static int
s_drain_slots(s_worker_t *w)
{
    for (int i = 0; i < S_BATCH; i++) {
        zmq_msg_t frames[3];
        int too_many;
        int n =
            et_zsock_recv(w->slots_sock, frames, 3, &too_many, ZMQ_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            ET_LOG_ERROR("cannot receive from the slots: %s",
                         zmq_strerror(errno));
            return -1;
        }
        if (too_many)
            ET_LOG_ERROR("oversized internal message from a slot dropped");
        else
            s_on_slot_message(w, frames, n);
        et_zsock_frames_close(frames, n);
    }
    return 0;
}

/* ---- main loop ----------------------------------------------------------- */

/* The keep-alive clock runs only while the instance is registered,
 * staying and has nothing to do. */
static int
s_idle_watch(const s_worker_t *w)
{
    return w->cfg->idle_timeout_ns > 0 && w->ready && !w->leaving &&
           w->n_busy == 0;
}

static int
s_poll_timeout_ms(const s_worker_t *w, uint64_t now)
{
    uint64_t until = w->next_usage_ns;
    if (w->leaving && !w->bye_acked && w->leave_deadline_ns < until)
        until = w->leave_deadline_ns;
    if (s_idle_watch(w) &&
        w->last_active_ns + w->cfg->idle_timeout_ns + 1 < until)
        until = w->last_active_ns + w->cfg->idle_timeout_ns + 1;
    uint64_t ms =
        until > now ? (until - now + ET_NS_PER_MS - 1) / ET_NS_PER_MS : 0;
    if (!w->ready && !w->leaving && w->n_hello == w->cfg->slots &&
        ms > S_READY_RETRY_MS)
        ms = S_READY_RETRY_MS;
    return ms > S_POLL_MAX_MS ? S_POLL_MAX_MS : (int)ms;
}

/* Once READY went out (the broker is there), start the clock probes. A
 * worker only reports its offset: its own times never cross hosts. */
static void
s_start_probe(s_worker_t *w)
{
    w->probe_tried = 1;
    et_clockprobe_config_t probe = {.ctx = w->ctx,
                                    .endpoint = w->cfg->broker,
                                    .curve = w->curve,
                                    .mode = w->cfg->clock_sync,
                                    .interval_ns = w->cfg->clock_interval_ns,
                                    .role = ET_CLOCK_ROLE_WORKER,
                                    .name = w->cfg->instance,
                                    .host = w->host,
                                    .producer_id = 0,
                                    .corrects = 0};
    w->probe = et_clockprobe_start(&probe);
    if (!w->probe && errno != 0)
        ET_LOG_WARN("cannot start the clock probes: %s", strerror(errno));
}

/* The main thread's loop: one pass = flags and timers, then poll, then
 * messages. Periodic work (USAGE now, heartbeats later) goes with the
 * timers. Returns 0 when the worker has left, -1 on a fatal error. */
static int
s_loop(s_worker_t *w, volatile sig_atomic_t *stop)
{
    for (;;) {
        uint64_t now = et_clock_mono_ns();
        if (*stop && !w->leaving)
            s_leave(w, "signal");
        if (w->leaving && w->n_busy == 0 &&
            (w->bye_acked || now >= w->leave_deadline_ns)) {
            if (!w->bye_acked)
                ET_LOG_WARN("the broker did not answer BYE within %.0f s",
                            (double)w->cfg->bye_timeout_ns / 1e9);
            return 0;
        }
        if (s_idle_watch(w) && now > w->last_active_ns &&
            now - w->last_active_ns > w->cfg->idle_timeout_ns) {
            /* Scale to zero on our own: exactly the SIGTERM path, so a
             * task already on its way is still served. */
            ET_LOG_INFO("idle for %g s: leaving",
                        (double)w->cfg->idle_timeout_ns / 1e9);
            s_leave(w, "idle timeout");
        }
        if (!w->ready && !w->leaving) {
            if (w->n_hello == w->cfg->slots) {
                if (s_try_ready(w) != 0)
                    return -1;
            } else if (now >= w->slots_deadline_ns) {
                ET_LOG_ERROR("only %u of %u slot threads started", w->n_hello,
                             w->cfg->slots);
                return -1;
            }
        }
        if (w->ready && !w->leaving && now >= w->next_heartbeat_ns) {
            /* From the main thread, so it flows while every slot is busy. */
            if (et_zsock_send(w->broker, NULL, ET_MSG_HEARTBEAT, NULL, NULL,
                              ZMQ_DONTWAIT) != 0)
                ET_LOG_DEBUG("heartbeat not sent: %s", zmq_strerror(errno));
            w->next_heartbeat_ns = now + S_HEARTBEAT_NS;
        }
        if (w->ready && !w->broker_silent && now > w->last_broker_ns &&
            now - w->last_broker_ns > S_BROKER_TIMEOUT_NS) {
            w->broker_silent = 1;
            ET_LOG_WARN("no word from the broker for %.1f s",
                        (double)(now - w->last_broker_ns) / 1e9);
        }
        if (w->ready && !w->probe_tried)
            s_start_probe(w);
        if (now >= w->next_usage_ns) {
            s_send_usage(w, 0);
            w->next_usage_ns += w->cfg->usage_interval_ns;
            if (w->next_usage_ns <= now) /* fell behind: do not burst */
                w->next_usage_ns = now + w->cfg->usage_interval_ns;
        }

        zmq_pollitem_t items[2] = {
            {.socket = w->broker, .events = ZMQ_POLLIN},
            {.socket = w->slots_sock, .events = ZMQ_POLLIN},
        };
        if (zmq_poll(items, 2, s_poll_timeout_ms(w, now)) < 0) {
            if (errno == EINTR)
                continue;
            ET_LOG_ERROR("poll failed: %s", zmq_strerror(errno));
            return -1;
        }
        /* Slots first: a finished task frees a slot for the next TASK. */
        if ((items[1].revents & ZMQ_POLLIN) && s_drain_slots(w) != 0)
            return -1;
        if ((items[0].revents & ZMQ_POLLIN) && s_drain_broker(w) != 0)
            return -1;
    }
}

/* ---- setup and teardown -------------------------------------------------- */

static int
s_setup(s_worker_t *w)
{
    w->ctx = zmq_ctx_new();
    if (!w->ctx) {
        ET_LOG_ERROR("cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        return -1;
    }
    w->broker = et_zsock_new(w->ctx, ZMQ_DEALER, S_BROKER_HWM);
    w->collector = et_zsock_new(w->ctx, ZMQ_PUSH, S_COLLECTOR_HWM);
    w->slots_sock =
        et_zsock_new(w->ctx, ZMQ_ROUTER, 4 * S_SLOT_HWM * ET_WORKER_SLOTS_MAX);
    if (!w->broker || !w->collector || !w->slots_sock) {
        ET_LOG_ERROR("cannot create sockets: %s", zmq_strerror(errno));
        return -1;
    }
    if (w->cfg->curve_dir) {
        int tcp = et_curve_is_tcp(w->cfg->broker) ||
                  et_curve_is_tcp(w->cfg->collector);
        char why[PATH_MAX + 256];
        w->curve = et_curve_new(w->cfg->curve_dir, tcp ? ET_CURVE_CLIENT : 0,
                                why, sizeof why);
        if (!w->curve) {
            ET_LOG_ERROR("--curve: %s", why);
            return -1;
        }
    }
    /* Connect before init, so the connections come up while it runs. */
    if (et_curve_connect(w->curve, w->broker, w->cfg->broker) != 0 ||
        et_curve_connect(w->curve, w->collector, w->cfg->collector) != 0 ||
        et_zsock_bind(w->slots_sock, S_SLOTS_ENDPOINT) != 0)
        return -1;

    char why[256] = "unknown reason";
    uint64_t start = et_clock_mono_ns();
    if (w->def->init(&w->fn_state, &w->fcfg, why, sizeof why) != 0) {
        ET_LOG_ERROR("%s init failed: %s", w->def->name, why);
        return -1;
    }
    w->init_ns = (int64_t)(et_clock_mono_ns() - start);
    w->fn_ready = 1;
    return s_slots_start(w);
}

/* Tell every slot to stop, then join them. A slot inside handle()
 * finishes that call first. */
static void
s_slots_stop(s_worker_t *w)
{
    /* A slot that has not said hello yet cannot be addressed; they are
     * local threads, so this wait is short unless one failed to start. */
    uint64_t give_up = et_clock_mono_ns() + S_SLOT_STOP_WAIT_NS;
    while (w->n_hello < w->n_started && et_clock_mono_ns() < give_up) {
        zmq_pollitem_t item = {.socket = w->slots_sock, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, 10);
        if ((rc < 0 && errno != EINTR) || (rc > 0 && s_drain_slots(w) != 0))
            break;
    }
    int shutdown = 0;
    for (unsigned i = 0; i < w->n_started; i++) {
        s_slot_t *slot = &w->slots[i];
        if (!slot->hello ||
            zmq_send(w->slots_sock, slot->route, strlen(slot->route),
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(w->slots_sock, "", 0, 0) < 0)
            shutdown = 1;
    }
    /* A slot we cannot reach is woken by ETERM instead. */
    if (shutdown && w->ctx)
        zmq_ctx_shutdown(w->ctx);
    for (unsigned i = 0; i < w->n_started; i++) {
        int rc = pthread_join(w->slots[i].thread, NULL);
        if (rc != 0)
            ET_LOG_ERROR("cannot join slot %u: %s", i, strerror(rc));
    }
    w->n_started = 0;
}

static void
s_teardown(s_worker_t *w)
{
    et_clockprobe_stop(&w->probe);
    s_slots_stop(w);
    if (w->fn_ready)
        w->def->fini(&w->fn_state);
    et_zsock_close(&w->slots_sock);
    et_zsock_close(&w->collector);
    et_zsock_close(&w->broker);
    if (w->ctx) {
        while (zmq_ctx_term(w->ctx) != 0 && errno == EINTR)
            ;
        w->ctx = NULL;
    }
    et_curve_destroy(&w->curve);
    msgpack_sbuffer_destroy(&w->body);
}

static void
s_log_left(const s_worker_t *w)
{
    double lifetime_s = (double)s_since_spawn_ns(w, et_clock_mono_ns()) / 1e9;
    double capacity_s = lifetime_s * w->cfg->slots;
    ET_LOG_INFO(
        "left after %.1f s: served %llu (errors %llu), busy %.1f%% "
        "of %u slot%s; bad messages %llu, protocol violations %llu, "
        "send failures %llu",
        lifetime_s, (unsigned long long)w->served,
        (unsigned long long)w->errors,
        capacity_s > 0 ? 100.0 * ((double)w->busy_ns / 1e9) / capacity_s : 0.0,
        w->cfg->slots, w->cfg->slots == 1 ? "" : "s",
        (unsigned long long)w->bad_messages, (unsigned long long)w->violations,
        (unsigned long long)w->send_failures);
}

int
et_worker_run(const et_worker_config_t *cfg, volatile sig_atomic_t *stop)
{
    s_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        ET_LOG_ERROR("out of memory");
        return -1;
    }
    w->cfg = cfg;
    w->def = cfg->function;
    s_function_config(cfg, &w->fcfg);
    msgpack_sbuffer_init(&w->body);

    /* --spawned-at was read on this host's system clock: an emulated skew
     * applies to it as to every later reading. */
    et_clock_set_skew_ns(cfg->clock_skew_ns);
    w->spawned_at_ns = cfg->spawned_at_ns + cfg->clock_skew_ns;
    et_clocksync_host_name(cfg->host_name, w->host, sizeof w->host);

    /* Where spawned_at lies on the monotonic clock: lifetimes and the cold
     * start then survive realtime clock steps during the run. */
    uint64_t now = et_clock_mono_ns();
    int64_t age = et_clock_real_ns() - w->spawned_at_ns;
    if (age < 0)
        age = 0;
    w->spawned_mono_ns = (uint64_t)age < now ? now - (uint64_t)age : 0;

    if (cfg->service && !w->def->uses_service)
        ET_LOG_WARN("--service %s is ignored: %s has no service model",
                    cfg->service, w->def->name);

    /* Every thread started from here on (ZeroMQ's I/O thread, the slots,
     * threads a function's init starts) inherits a mask without SIGINT
     * and SIGTERM, so those always interrupt the main thread's poll. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &block, &saved);
    if (rc != 0) {
        ET_LOG_ERROR("cannot block signals: %s", strerror(rc));
        rc = -1;
    } else {
        rc = s_setup(w);
        int restored = pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (restored != 0) {
            ET_LOG_ERROR("cannot unblock signals: %s", strerror(restored));
            rc = -1;
        }
    }

    if (rc == 0) {
        now = et_clock_mono_ns();
        w->slots_deadline_ns = now + S_SLOT_START_TIMEOUT_NS;
        w->broker_wait_warn_ns = now + 5 * ET_NS_PER_S;
        w->next_usage_ns = now + cfg->usage_interval_ns;
        rc = s_loop(w, stop);
    }
    if (w->collector && w->fn_ready)
        s_send_usage(w, 1);
    if (w->fn_ready)
        s_log_left(w);
    s_teardown(w);
    free(w);
    return rc;
}
