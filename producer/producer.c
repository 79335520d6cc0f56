/* The producer's configuration and run loop: connect a DEALER to the
 * broker's frontend, wait for the connection, then send every arrival of
 * the schedule at its intended CLOCK_REALTIME instant with its source's
 * payload and label, counting REJECTs as they come back, and finish with
 * the DONE / DONE_ACK handshake. */
#include "producer/producer.h"

#include "common/clock.h"
#include "common/clockprobe.h"
#include "common/curve.h"
#include "common/zsock.h"
#include "producer/arrival.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <zmq.h>

#define S_PROG "eventide-producer"

/* The schedule starts this long after the connection, so that the first
 * event is not late merely because HELLO was being sent. */
#define S_START_DELAY_NS (10 * ET_NS_PER_MS)
/* Waits longer than this poll the socket; shorter ones, and the last
 * stretch of long ones, sleep with clock_nanosleep for precision. */
#define S_SLEEP_MAX_NS (2 * ET_NS_PER_MS)
/* Upper bound on any blocking wait, so the stop flag and the progress bar
 * are looked at often enough. */
#define S_POLL_MAX_MS 100
/* Messages handled per drain, so a flood of REJECTs cannot stall sends. */
#define S_DRAIN_MAX 1024
#define S_DRAIN_EVERY_NS ET_NS_PER_MS
#define S_PROGRESS_EVERY_NS (250 * ET_NS_PER_MS)
#define S_PROGRESS_WIDTH 30
#define S_SEQ_BITS 40
#define S_SEQ_LIMIT (1ULL << S_SEQ_BITS)

/* ---- configuration ------------------------------------------------------- */

void
et_producer_config_defaults(et_producer_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->id = 1;
    cfg->rate_eps = 10;
    cfg->duration_ns = 10 * ET_NS_PER_S;
    snprintf(cfg->arrival, sizeof cfg->arrival, "poisson");
    snprintf(cfg->source, sizeof cfg->source, "synthetic");
    cfg->speedup = 1;
    cfg->fraud_rate = 0.02;
    cfg->malformed_rate = 0.005;
    cfg->seed = 1;
    cfg->payload_bytes = 0;
    cfg->ack_timeout_ns = 5 * ET_NS_PER_S;
    cfg->connect_timeout_ns = 10 * ET_NS_PER_S;
    cfg->log_level = ET_LOG_LEVEL_INFO;
    cfg->progress = ET_PRODUCER_PROGRESS_AUTO;
    cfg->clock_sync = ET_CLOCKSYNC_AUTO;
    cfg->clock_interval_ns = ET_CLOCKSYNC_INTERVAL_DEFAULT_NS;
}

static void
s_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: " S_PROG " --broker ENDPOINT [options]\n"
        "Send open-loop load into the broker's frontend.\n"
        "\n"
        "  --broker ENDPOINT      broker frontend (tcp://, ipc://); required\n"
        "  --id N                 producer id, 0..65535 (default 1)\n"
        "  --rate EPS             events per second, > 0, <= 1e6 (default "
        "10);\n"
        "                         unused by trace and timestamp replays\n"
        "  --duration S           schedule length, e.g. 10, 500ms, 2m; <= "
        "86400 s\n"
        "                         (default 10 s; for a replay: until its data "
        "ends)\n"
        "  --arrival KIND         constant, poisson, bursty[:ON:OFF[:LOW]],\n"
        "                         step:T1=R1,T2=R2,... or trace:FILE (default "
        "poisson)\n"
        "                         bursty: Poisson at --rate for ON s, then at "
        "LOW\n"
        "                         events/s for OFF s, repeating (defaults "
        "5, 5, 0)\n"
        "                         step: Poisson at --rate, then at R1 events/s "
        "from\n"
        "                         T1 s, R2 from T2 s, ... (e.g. "
        "step:10=100,20=20)\n"
        "                         trace:FILE replays the request times of an "
        "Azure\n"
        "                         LLM trace (TIMESTAMP,ContextTokens,"
        "GeneratedTokens),\n"
        "                         (t - t0) / speedup; a synthetic payload is "
        "then\n"
        "                         {seq, ctx, gen} with the request's token "
        "counts\n"
        "  --source SPEC          payloads and labels: synthetic, fraud or "
        "nab:FILE\n"
        "                         (default synthetic); nab:FILE replays a "
        "NAB series\n"
        "                         (timestamp,value) as {series, ts, value}\n"
        "  --labels FILE          nab: anomaly windows (NAB's "
        "combined_windows.json);\n"
        "                         label = 1-based window index or 0 (default "
        "none)\n"
        "  --speedup X            replay X times faster than recorded, > 0, "
        "<= 1e9\n"
        "                         (default 1); with nab:FILE, giving it makes "
        "arrivals\n"
        "                         follow the series' timestamps, (ts - ts0) / "
        "X,\n"
        "                         instead of --rate and --arrival\n"
        "  --fraud-rate F         fraud: base rate of fraud, 0..0.5 (default "
        "0.02)\n"
        "  --malformed-rate F     fraud: share of malformed events, 0..0.5\n"
        "                         (default 0.005)\n"
        "  --seed N               seed of the schedule and the fraud source "
        "(default 1)\n"
        "  --payload-bytes N      synthetic: padding bytes per event, "
        "0..65536\n"
        "                         (default 0)\n"
        "  --ack-timeout S        wait for DONE_ACK, 0..3600 s (default 5)\n"
        "  --connect-timeout S    wait for the broker, 1ms..3600 s (default "
        "10)\n"
        "  --log-level LEVEL      debug, info, warn, error, off (default "
        "info)\n"
        "  --progress WHEN        auto (stderr is a terminal), always, never\n"
        "                         (default auto)\n"
        "  --curve DIR            CURVE to a tcp:// broker, keys from DIR\n"
        "                         (client.key, server.pub) (default: none)\n"
        "  --clock-sync MODE      estimate this clock's offset to the broker's "
        "and\n"
        "                         correct the times sent: auto (when the "
        "estimate\n"
        "                         excludes zero), on (always) or off (no "
        "probes)\n"
        "                         (default auto)\n"
        "  --clock-interval S     probe burst interval, 100ms..3600 s "
        "(default 5)\n"
        "  --clock-skew MS        emulate a clock MS milliseconds ahead "
        "(negative:\n"
        "                         behind), at most a day (default 0)\n"
        "  --host-name NAME       this host's name in clock reports\n"
        "                         (default: the system's host name)\n"
        "  -h, --help             this help\n"
        "\n"
        "A replay (--arrival trace:FILE or --source nab:FILE) ends when its "
        "data\n"
        "ends, or at --duration if that comes first (never past 86400 s).\n"
        "Prints one summary line on stdout. Exit status: 0 ok, 1 runtime "
        "error,\n"
        "2 usage error.\n");
}

enum {
    S_OPT_BROKER = 256,
    S_OPT_ID,
    S_OPT_RATE,
    S_OPT_DURATION,
    S_OPT_ARRIVAL,
    S_OPT_SEED,
    S_OPT_PAYLOAD_BYTES,
    S_OPT_ACK_TIMEOUT,
    S_OPT_CONNECT_TIMEOUT,
    S_OPT_LOG_LEVEL,
    S_OPT_PROGRESS,
    S_OPT_SOURCE,
    S_OPT_LABELS,
    S_OPT_SPEEDUP,
    S_OPT_FRAUD_RATE,
    S_OPT_MALFORMED_RATE,
    S_OPT_CURVE,
    S_OPT_CLOCK_SYNC,
    S_OPT_CLOCK_INTERVAL,
    S_OPT_CLOCK_SKEW,
    S_OPT_HOST_NAME
};

/* fraud_rates_given bits */
#define S_GIVEN_FRAUD_RATE 1
#define S_GIVEN_MALFORMED_RATE 2

static const struct option s_options[] = {
    {"broker", required_argument, NULL, S_OPT_BROKER},
    {"id", required_argument, NULL, S_OPT_ID},
    {"rate", required_argument, NULL, S_OPT_RATE},
    {"duration", required_argument, NULL, S_OPT_DURATION},
    {"arrival", required_argument, NULL, S_OPT_ARRIVAL},
    {"seed", required_argument, NULL, S_OPT_SEED},
    {"payload-bytes", required_argument, NULL, S_OPT_PAYLOAD_BYTES},
    {"ack-timeout", required_argument, NULL, S_OPT_ACK_TIMEOUT},
    {"connect-timeout", required_argument, NULL, S_OPT_CONNECT_TIMEOUT},
    {"log-level", required_argument, NULL, S_OPT_LOG_LEVEL},
    {"progress", required_argument, NULL, S_OPT_PROGRESS},
    {"source", required_argument, NULL, S_OPT_SOURCE},
    {"labels", required_argument, NULL, S_OPT_LABELS},
    {"speedup", required_argument, NULL, S_OPT_SPEEDUP},
    {"fraud-rate", required_argument, NULL, S_OPT_FRAUD_RATE},
    {"malformed-rate", required_argument, NULL, S_OPT_MALFORMED_RATE},
    {"curve", required_argument, NULL, S_OPT_CURVE},
    {"clock-sync", required_argument, NULL, S_OPT_CLOCK_SYNC},
    {"clock-interval", required_argument, NULL, S_OPT_CLOCK_INTERVAL},
    {"clock-skew", required_argument, NULL, S_OPT_CLOCK_SKEW},
    {"host-name", required_argument, NULL, S_OPT_HOST_NAME},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* Apply one option. Returns 0, or -1 after printing the usage error. */
static int
s_apply_option(et_producer_config_t *cfg, int opt, const char *flag,
               const char *arg)
{
    uint64_t u = 0;
    double d = 0;
    const char *why = NULL;
    switch (opt) {
    case S_OPT_BROKER:
        if (et_cli_check_endpoint(arg) != 0) {
            why = "expected tcp://HOST:PORT or ipc://PATH";
            break;
        }
        snprintf(cfg->broker, sizeof cfg->broker, "%s", arg);
        break;
    case S_OPT_ID:
        if (et_cli_parse_u64(arg, 0, ET_PRODUCER_ID_MAX, &u) != 0)
            why = "expected an integer in 0..65535";
        cfg->id = (uint32_t)u;
        break;
    case S_OPT_RATE:
        if (et_cli_parse_double(arg, 0, ET_PRODUCER_RATE_MAX, &d) != 0 ||
            d <= 0)
            why = "expected events per second, > 0 and <= 1000000";
        cfg->rate_eps = d;
        break;
    case S_OPT_DURATION:
        if (et_cli_parse_duration_ns(
                arg, ET_NS_PER_S, 1,
                (uint64_t)ET_PRODUCER_DURATION_MAX_S * ET_NS_PER_S, &u) != 0)
            why = "expected a duration > 0 and <= 86400 s, e.g. 10, 500ms, "
                  "2m";
        cfg->duration_ns = (int64_t)u;
        cfg->duration_given = 1;
        break;
    case S_OPT_ARRIVAL:
        if (strlen(arg) >= sizeof cfg->arrival) {
            why = "too long";
            break;
        }
        snprintf(cfg->arrival, sizeof cfg->arrival, "%s", arg);
        break;
    case S_OPT_SOURCE:
        if (strlen(arg) >= sizeof cfg->source) {
            why = "too long";
            break;
        }
        snprintf(cfg->source, sizeof cfg->source, "%s", arg);
        break;
    case S_OPT_LABELS:
        if (!*arg || strlen(arg) >= sizeof cfg->labels) {
            why = "expected a file name";
            break;
        }
        snprintf(cfg->labels, sizeof cfg->labels, "%s", arg);
        break;
    case S_OPT_SPEEDUP:
        if (et_cli_parse_double(arg, 0, ET_ARRIVAL_SPEEDUP_MAX, &d) != 0 ||
            d <= 0)
            why = "expected a factor > 0 and <= 1e9";
        cfg->speedup = d;
        cfg->speedup_given = 1;
        break;
    case S_OPT_FRAUD_RATE:
    case S_OPT_MALFORMED_RATE:
        if (et_cli_parse_double(arg, 0, 0.5, &d) != 0) {
            why = "expected a fraction in 0..0.5";
            break;
        }
        if (opt == S_OPT_FRAUD_RATE) {
            cfg->fraud_rate = d;
            cfg->fraud_rates_given |= S_GIVEN_FRAUD_RATE;
        } else {
            cfg->malformed_rate = d;
            cfg->fraud_rates_given |= S_GIVEN_MALFORMED_RATE;
        }
        break;
    case S_OPT_SEED:
        if (et_cli_parse_u64(arg, 0, UINT64_MAX, &u) != 0)
            why = "expected an unsigned 64-bit integer";
        cfg->seed = u;
        break;
    case S_OPT_PAYLOAD_BYTES:
        if (et_cli_parse_u64(arg, 0, ET_PRODUCER_PAYLOAD_MAX, &u) != 0)
            why = "expected an integer in 0..65536";
        cfg->payload_bytes = (uint32_t)u;
        break;
    case S_OPT_ACK_TIMEOUT:
        if (et_cli_parse_duration_ns(arg, ET_NS_PER_S, 0, 3600ULL * ET_NS_PER_S,
                                     &u) != 0)
            why = "expected a duration in 0..3600 s, e.g. 5, 500ms";
        cfg->ack_timeout_ns = (int64_t)u;
        break;
    case S_OPT_CONNECT_TIMEOUT:
        if (et_cli_parse_duration_ns(arg, ET_NS_PER_S, ET_NS_PER_MS,
                                     3600ULL * ET_NS_PER_S, &u) != 0)
            why = "expected a duration in 1ms..3600 s, e.g. 10, 500ms";
        cfg->connect_timeout_ns = (int64_t)u;
        break;
    case S_OPT_LOG_LEVEL:
        if (et_log_parse_level(arg, &cfg->log_level) != 0)
            why = "expected debug, info, warn, error or off";
        break;
    case S_OPT_PROGRESS:
        if (strcmp(arg, "auto") == 0)
            cfg->progress = ET_PRODUCER_PROGRESS_AUTO;
        else if (strcmp(arg, "always") == 0)
            cfg->progress = ET_PRODUCER_PROGRESS_ALWAYS;
        else if (strcmp(arg, "never") == 0)
            cfg->progress = ET_PRODUCER_PROGRESS_NEVER;
        else
            why = "expected auto, always or never";
        break;
    case S_OPT_CURVE: {
        static char curve_why[256];
        if (et_curve_check_dir(arg, curve_why, sizeof curve_why) != 0) {
            why = curve_why;
            break;
        }
        snprintf(cfg->curve_dir, sizeof cfg->curve_dir, "%s", arg);
        break;
    }
    case S_OPT_CLOCK_SYNC:
        if (et_clocksync_parse_mode(arg, &cfg->clock_sync) != 0)
            why = "expected auto, on or off";
        break;
    case S_OPT_CLOCK_INTERVAL:
        if (et_cli_parse_duration_ns(
                arg, ET_NS_PER_S, (uint64_t)ET_CLOCKSYNC_INTERVAL_MIN_NS,
                (uint64_t)ET_CLOCKSYNC_INTERVAL_MAX_NS, &u) != 0)
            why = "expected a duration in 100ms..3600 s, e.g. 5, 500ms";
        cfg->clock_interval_ns = (int64_t)u;
        break;
    case S_OPT_CLOCK_SKEW:
        if (et_clocksync_parse_skew(arg, &cfg->clock_skew_ns) != 0)
            why = "expected milliseconds, at most 86400000 either way";
        break;
    case S_OPT_HOST_NAME:
        if (et_cli_check_name(arg, ET_NAME_MAX - 1) != 0) {
            why = "expected a name of 1..47 letters, digits, '.', '_', '-'";
            break;
        }
        snprintf(cfg->host_name, sizeof cfg->host_name, "%s", arg);
        break;
    default:
        why = "unknown option";
        break;
    }
    if (why) {
        et_cli_error(S_PROG, flag, arg, why);
        return -1;
    }
    return 0;
}

/* Seeds: producers that share a --seed still draw independent schedules
 * and transaction streams, and a producer's two never correlate. */
static uint64_t
s_arrival_seed(const et_producer_config_t *cfg)
{
    return cfg->seed + 0x9e3779b97f4a7c15ULL * cfg->id;
}

static uint64_t
s_source_seed(const et_producer_config_t *cfg)
{
    return cfg->seed + 0xbf58476d1ce4e5b9ULL * ((uint64_t)cfg->id + 1);
}

/* Make the schedule and the source that 'cfg' describes. Returns 0, or -1
 * after writing the flag at fault into *flag and the reason into 'why'. */
static int
s_make(const et_producer_config_t *cfg, et_arrival_t **arrival,
       et_source_t **source, const char **flag, char *why, size_t why_size)
{
    *arrival = et_arrival_new_speedup(cfg->arrival, cfg->rate_eps, cfg->speedup,
                                      s_arrival_seed(cfg), why, why_size);
    if (!*arrival) {
        if (errno == ENOMEM)
            snprintf(why, why_size, "out of memory");
        *flag = "--arrival";
        return -1;
    }
    et_source_options_t opts;
    et_source_options_defaults(&opts);
    opts.seed = s_source_seed(cfg);
    opts.payload_bytes = cfg->payload_bytes;
    opts.fraud_rate = cfg->fraud_rate;
    opts.malformed_rate = cfg->malformed_rate;
    *source = et_source_new(cfg->source, &opts, why, why_size);
    if (!*source) {
        *flag = "--source";
        return -1;
    }
    if (cfg->labels[0] &&
        et_source_load_labels(*source, cfg->labels, why, why_size) != 0) {
        *flag = "--labels";
        return -1;
    }
    return 0;
}

/* The checks no single flag can make alone. Returns 0 or 2. */
static int
s_check_config(const et_producer_config_t *cfg)
{
    et_arrival_t *arrival = NULL;
    et_source_t *source = NULL;
    const char *flag = NULL;
    const char *value = NULL;
    char why[512] = "";
    char number[64];
    if (s_make(cfg, &arrival, &source, &flag, why, sizeof why) != 0)
        goto usage;
    et_source_kind_t kind = et_source_kind(source);
    int trace = et_arrival_kind(arrival) == ET_ARRIVAL_TRACE;
    if (trace && kind == ET_SOURCE_NAB) {
        flag = "--arrival";
        snprintf(why, sizeof why,
                 "a nab source has its own timestamps: replay them with "
                 "--speedup, not a trace");
    } else if (cfg->speedup_given && !trace && kind != ET_SOURCE_NAB) {
        flag = "--speedup";
        snprintf(number, sizeof number, "%g", cfg->speedup);
        value = number;
        snprintf(why, sizeof why,
                 "only replays use it: --arrival trace:FILE or --source "
                 "nab:FILE");
    } else if (cfg->fraud_rates_given && kind != ET_SOURCE_FRAUD) {
        int fraud = cfg->fraud_rates_given & S_GIVEN_FRAUD_RATE;
        flag = fraud ? "--fraud-rate" : "--malformed-rate";
        snprintf(number, sizeof number, "%g",
                 fraud ? cfg->fraud_rate : cfg->malformed_rate);
        value = number;
        snprintf(why, sizeof why, "only --source fraud uses it");
    } else if (cfg->payload_bytes && kind != ET_SOURCE_SYNTHETIC) {
        flag = "--payload-bytes";
        snprintf(number, sizeof number, "%" PRIu32, cfg->payload_bytes);
        value = number;
        snprintf(why, sizeof why, "pads the synthetic source's payload only");
    }
    if (flag)
        goto usage;
    et_source_destroy(&source);
    et_arrival_destroy(&arrival);
    return 0;
usage:
    if (!value)
        value = strcmp(flag, "--arrival") == 0  ? cfg->arrival
                : strcmp(flag, "--source") == 0 ? cfg->source
                                                : cfg->labels;
    et_cli_error(S_PROG, flag, value, why);
    et_source_destroy(&source);
    et_arrival_destroy(&arrival);
    return 2;
}

int
et_producer_config_parse(int argc, char **argv, et_producer_config_t *cfg)
{
    et_producer_config_defaults(cfg);
    /* optind = 0 makes glibc reinitialise fully; '+' stops at the first
     * non-option instead of permuting argv; ':' reports a missing value
     * as ':' so that we, not getopt, print the one error line. */
    optind = 0;
    opterr = 0;
    int opt;
    int long_index = -1;
    while ((opt = getopt_long(argc, argv, "+:h", s_options, &long_index)) !=
           -1) {
        /* argv[optind - 1] is the value when it was a separate word, so
         * name a long option from the table. */
        char flag[64];
        if (long_index >= 0)
            snprintf(flag, sizeof flag, "--%s", s_options[long_index].name);
        else
            snprintf(flag, sizeof flag, "%s", argv[optind - 1]);
        long_index = -1;
        switch (opt) {
        case 'h':
            s_usage(stdout);
            return 1;
        case ':':
            et_cli_error(S_PROG, flag, NULL, "needs a value");
            return 2;
        case '?':
            et_cli_error(S_PROG, flag, NULL, "unknown option (see --help)");
            return 2;
        default:
            if (s_apply_option(cfg, opt, flag, optarg) != 0)
                return 2;
        }
    }
    if (optind < argc) {
        et_cli_error(S_PROG, argv[optind], NULL, "unexpected argument");
        return 2;
    }
    if (cfg->broker[0] == '\0') {
        et_cli_error(S_PROG, "--broker", NULL,
                     "required (the broker's frontend endpoint)");
        return 2;
    }
    return s_check_config(cfg);
}

/* ---- the run ------------------------------------------------------------- */

typedef struct {
    const et_producer_config_t *cfg;
    volatile sig_atomic_t *stop;
    void *ctx;
    void *sock;
    et_curve_t *curve; /* NULL: no CURVE */
    et_arrival_t *arrival;
    et_source_t *source;
    msgpack_sbuffer body;    /* reused for every message body */
    msgpack_sbuffer payload; /* the next event's payload, from the source */
    int32_t label;           /* the next event's label */
    /* nab with --speedup: offsets follow the series' timestamps */
    int time_driven;
    double time0_s;              /* the first sample's time */
    int64_t prev_offset_ns;      /* offsets never decrease */
    char time_text[ET_TEXT_MAX]; /* its HELLO arrival text */
    int64_t limit_ns;            /* no event at or after this offset */
    int64_t planned_ns;          /* expected length, for HELLO and progress */
    double planned_rate_eps;     /* for HELLO */
    int64_t start_ns;            /* CLOCK_REALTIME of offset 0 */
    uint64_t scheduled;          /* events whose time came: the next seq */
    uint64_t sent;
    uint64_t send_failed;
    uint64_t rejected;
    uint64_t bad_messages;
    int64_t lag_max_ns;
    double lag_sum_ns;
    int done_sent;
    int done_acked;
    int progress;
    uint64_t progress_next_ns; /* CLOCK_MONOTONIC */
    uint64_t drain_next_ns;    /* CLOCK_MONOTONIC */
    /* The clock's offset to the broker's: its correction is added to every
     * time this producer sends (start_ns and the schedule stay on its own
     * clock, which it sleeps on). NULL with --clock-sync off. */
    et_clockprobe_t *probe;
    char name[ET_NAME_MAX];
    char host[ET_NAME_MAX];
} s_run_t;

static void
s_progress(s_run_t *run, int final)
{
    if (!run->progress)
        return;
    uint64_t now = et_clock_mono_ns();
    if (!final && now < run->progress_next_ns)
        return;
    run->progress_next_ns = now + S_PROGRESS_EVERY_NS;
    double frac = 0;
    if (run->start_ns > 0)
        frac = run->planned_ns > 0
                   ? (double)(et_clock_real_ns() - run->start_ns) /
                         (double)run->planned_ns
                   : 1;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    char bar[S_PROGRESS_WIDTH + 1];
    int filled = (int)(frac * S_PROGRESS_WIDTH);
    for (int i = 0; i < S_PROGRESS_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[S_PROGRESS_WIDTH] = '\0';
    /* \r and erase-to-end-of-line redraw the bar in place. */
    fprintf(stderr,
            "\r[%s] %3d%%  sent %" PRIu64 "  rejected %" PRIu64 "\033[K%s", bar,
            (int)(frac * 100), run->sent, run->rejected, final ? "\n" : "");
    fflush(stderr);
}

static void
s_bad_message(s_run_t *run, const char *what)
{
    run->bad_messages++;
    ET_LOG_WARN_LIMITED("bad message from the broker: %s (%" PRIu64 " so far)",
                        what, run->bad_messages);
}

static void
s_handle(s_run_t *run, zmq_msg_t *frames, int count, int too_many)
{
    et_msg_type_t type;
    if (too_many) {
        s_bad_message(run, "too many frames");
        return;
    }
    if (et_codec_decode_header(zmq_msg_data(&frames[0]),
                               zmq_msg_size(&frames[0]), &type) != 0) {
        s_bad_message(run, "bad header");
        return;
    }
    if (type == ET_MSG_REJECT) {
        et_reject_t reject;
        if (count != 2 ||
            et_codec_decode_reject(zmq_msg_data(&frames[1]),
                                   zmq_msg_size(&frames[1]), &reject) != 0) {
            s_bad_message(run, "malformed REJECT");
            return;
        }
        uint64_t seq = reject.event_id & (S_SEQ_LIMIT - 1);
        if ((reject.event_id >> S_SEQ_BITS) != run->cfg->id ||
            seq >= run->scheduled) {
            s_bad_message(run, "REJECT for an event this producer never sent");
            return;
        }
        run->rejected++;
        ET_LOG_DEBUG("event %" PRIu64 " rejected: %s", seq,
                     et_codec_reason_name((et_reason_t)reject.reason));
        return;
    }
    /* DONE_ACK is a header alone; a body, if any, carries nothing we use. */
    if (type == ET_MSG_DONE_ACK && count <= 2) {
        if (!run->done_sent) {
            s_bad_message(run, "DONE_ACK before DONE");
            return;
        }
        run->done_acked = 1;
        return;
    }
    s_bad_message(run, et_codec_type_name(type));
}

/* Handle what the broker sent, without blocking. Returns 0 or -1 when the
 * socket is unusable. */
static int
s_drain(s_run_t *run)
{
    for (int i = 0; i < S_DRAIN_MAX; i++) {
        zmq_msg_t frames[ET_FRAMES_MAX];
        int too_many = 0;
        int count = et_zsock_recv(run->sock, frames, ET_FRAMES_MAX, &too_many,
                                  ZMQ_DONTWAIT);
        if (count < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            ET_LOG_ERROR("receive: %s", zmq_strerror(errno));
            return -1;
        }
        s_handle(run, frames, count, too_many);
        et_zsock_frames_close(frames, count);
    }
    return 0;
}

/* Wait on the socket for up to 'timeout_ms' for 'events'. 0 or -1. */
static int
s_poll(s_run_t *run, short events, long timeout_ms)
{
    zmq_pollitem_t item = {run->sock, 0, events, 0};
    if (zmq_poll(&item, 1, timeout_ms) < 0 && errno != EINTR) {
        ET_LOG_ERROR("poll: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Wait until the CLOCK_REALTIME instant 'target_ns', handling incoming
 * messages meanwhile; returns early when stopped. 0 or -1. */
static int
s_wait_until(s_run_t *run, int64_t target_ns)
{
    for (;;) {
        /* An empty non-blocking receive costs libzmq a poll() system call,
         * so at high rates look for REJECTs once per millisecond, not once
         * per event; they wait in the socket's queue meanwhile. */
        uint64_t mono = et_clock_mono_ns();
        if (mono >= run->drain_next_ns) {
            if (s_drain(run) != 0)
                return -1;
            s_progress(run, 0);
            run->drain_next_ns = mono + S_DRAIN_EVERY_NS;
        }
        if (*run->stop)
            return 0;
        int64_t left = target_ns - et_clock_real_ns();
        if (left <= 0)
            return 0;
        if (left > S_SLEEP_MAX_NS) {
            long ms = (long)((left - S_SLEEP_MAX_NS / 2) / ET_NS_PER_MS);
            if (s_poll(run, ZMQ_POLLIN,
                       ms < S_POLL_MAX_MS ? ms : S_POLL_MAX_MS) != 0)
                return -1;
            run->drain_next_ns = 0;
            continue;
        }
        /* EINTR: go round and look at the stop flag. */
        et_clock_sleep_until_real(target_ns);
    }
}

static void
s_record_lag(s_run_t *run, int64_t lag_ns)
{
    if (lag_ns < 0)
        lag_ns = 0;
    if (lag_ns > run->lag_max_ns)
        run->lag_max_ns = lag_ns;
    run->lag_sum_ns += (double)lag_ns;
}

/* Send event 'seq' due at 'intended_ns', with the payload and label the
 * source prepared. A refused send is counted, not retried: open loop.
 * Returns 0, or -1 when the run cannot go on. */
static int
s_send_event(s_run_t *run, uint64_t seq, int64_t intended_ns)
{
    const et_producer_config_t *cfg = run->cfg;
    int64_t correction = et_clockprobe_correction(run->probe);
    zmq_msg_t payload;
    if (zmq_msg_init_size(&payload, run->payload.size) != 0) {
        ET_LOG_ERROR("out of memory building event %" PRIu64, seq);
        return -1;
    }
    if (run->payload.size)
        memcpy(zmq_msg_data(&payload), run->payload.data, run->payload.size);

    et_event_t event = {.event_id = ((uint64_t)cfg->id << S_SEQ_BITS) | seq,
                        .producer_id = cfg->id,
                        .intended_ns = intended_ns + correction,
                        .sent_ns = et_clock_real_ns() + correction,
                        .label = run->label};
    msgpack_sbuffer_clear(&run->body);
    if (et_codec_encode_event(&run->body, &event) != 0) {
        zmq_msg_close(&payload);
        ET_LOG_ERROR("out of memory building event %" PRIu64, seq);
        return -1;
    }
    int rc = et_zsock_send(run->sock, NULL, ET_MSG_EVENT, &run->body, &payload,
                           ZMQ_DONTWAIT);
    int saved = errno;
    zmq_msg_close(&payload);
    s_record_lag(run, event.sent_ns - event.intended_ns);
    if (rc == 0) {
        run->sent++;
        return 0;
    }
    run->send_failed++;
    if (saved == ETERM)
        return -1;
    if (saved != EAGAIN)
        ET_LOG_WARN_LIMITED("send event: %s", zmq_strerror(saved));
    return 0;
}

/* HELLO's arrival text: the schedule's, or the series' own timestamps. */
static const char *
s_arrival_text(const s_run_t *run)
{
    return run->time_driven ? run->time_text
                            : et_arrival_describe(run->arrival);
}

/* Fix the schedule's limit and the plan HELLO announces. A replay without
 * --duration runs until its data ends (at most the longest duration); its
 * announced rate is the data's mean rate at this speed-up. */
static void
s_plan(s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    const int64_t max_ns = (int64_t)ET_PRODUCER_DURATION_MAX_S * ET_NS_PER_S;
    uint64_t count = 0;
    int64_t span_ns = 0;
    double first_s = 0, last_s = 0;
    int replay = 1;
    run->time_driven =
        cfg->speedup_given && et_source_kind(run->source) == ET_SOURCE_NAB;
    if (run->time_driven) {
        et_source_extent(run->source, &count, &first_s, &last_s);
        double span = (last_s - first_s) * 1e9 / cfg->speedup;
        span_ns = span < (double)max_ns ? (int64_t)llround(span) : max_ns;
        snprintf(run->time_text, sizeof run->time_text, "timestamps x%.10g",
                 cfg->speedup);
    } else if (et_arrival_extent(run->arrival, &count, &span_ns)) {
        /* a trace */
    } else if (et_source_extent(run->source, &count, NULL, NULL)) {
        /* a finite source at --rate: its expected length */
        double span = (double)count / cfg->rate_eps * 1e9;
        span_ns = span < (double)max_ns ? (int64_t)llround(span) : max_ns;
    } else {
        replay = 0;
    }
    run->limit_ns = cfg->duration_given || !replay ? cfg->duration_ns : max_ns;
    if (!replay) {
        run->planned_ns = cfg->duration_ns;
        run->planned_rate_eps =
            et_arrival_mean_rate(run->arrival, cfg->duration_ns);
        return;
    }
    run->planned_ns = span_ns < run->limit_ns ? span_ns : run->limit_ns;
    double rate =
        span_ns > 0 ? (double)count / ((double)span_ns / 1e9) : cfg->rate_eps;
    /* The codec bounds HELLO's rate. */
    run->planned_rate_eps =
        rate < ET_ARRIVAL_RATE_MAX ? rate : ET_ARRIVAL_RATE_MAX;
    if (!cfg->duration_given && span_ns >= max_ns)
        ET_LOG_WARN("the replay lasts longer than %d s at this speed-up; "
                    "only its first %d s are sent",
                    ET_PRODUCER_DURATION_MAX_S, ET_PRODUCER_DURATION_MAX_S);
    uint64_t backwards = run->time_driven ? et_source_backwards(run->source)
                                          : et_arrival_backwards(run->arrival);
    if (backwards)
        ET_LOG_INFO("%" PRIu64 " rows are earlier than the row before; "
                    "they are sent right after it",
                    backwards);
}

static void
s_no_connection(const s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    ET_LOG_ERROR("no connection to the broker at %s within %.3g s%s",
                 cfg->broker, (double)cfg->connect_timeout_ns / 1e9,
                 cfg->curve_dir[0]
                     ? " (CURVE: is this client's public key in the "
                       "broker's authorized/, and server.pub the "
                       "broker's key?)"
                     : "");
}

/* Before anything is timed: wait for the clock probes' first burst (they
 * connect on their own socket). Returns 0 (with or without an estimate),
 * 1 when stopped, -1 when the broker never came. */
static int
s_sync_first(s_run_t *run)
{
    if (!run->probe || et_clockprobe_wait_first(
                           run->probe, run->cfg->connect_timeout_ns, run->stop))
        return 0;
    if (*run->stop)
        return 1;
    s_no_connection(run);
    return -1;
}

/* Wait for the connection (IMMEDIATE: sends fail with EAGAIN until it is
 * up), then send HELLO and fix the schedule's start. Returns 0, 1 when
 * stopped first, or -1 when the broker never came. */
static int
s_hello(s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    uint64_t deadline = et_clock_mono_ns() + (uint64_t)cfg->connect_timeout_ns;
    et_hello_t hello = {.producer_id = cfg->id,
                        .rate_eps = run->planned_rate_eps,
                        .duration_s = (double)run->planned_ns / 1e9,
                        .seed = cfg->seed};
    snprintf(hello.arrival, sizeof hello.arrival, "%s", s_arrival_text(run));
    snprintf(hello.source, sizeof hello.source, "%s",
             et_source_describe(run->source));
    for (;;) {
        if (*run->stop)
            return 1;
        int64_t start_ns = et_clock_real_ns() + S_START_DELAY_NS;
        hello.started_ns = start_ns + et_clockprobe_correction(run->probe);
        msgpack_sbuffer_clear(&run->body);
        if (et_codec_encode_hello(&run->body, &hello) != 0) {
            ET_LOG_ERROR("out of memory building HELLO");
            return -1;
        }
        if (et_zsock_send(run->sock, NULL, ET_MSG_HELLO, &run->body, NULL,
                          ZMQ_DONTWAIT) == 0) {
            run->start_ns = start_ns;
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR) {
            ET_LOG_ERROR("send HELLO: %s", zmq_strerror(errno));
            return -1;
        }
        uint64_t now = et_clock_mono_ns();
        if (now >= deadline) {
            s_no_connection(run);
            return -1;
        }
        long ms = (long)((deadline - now) / ET_NS_PER_MS) + 1;
        if (s_poll(run, ZMQ_POLLOUT, ms < S_POLL_MAX_MS ? ms : S_POLL_MAX_MS))
            return -1;
    }
}

/* Send DONE and wait for DONE_ACK (every REJECT has arrived by then).
 * Returns 0, or -1 when DONE could not be sent at all. */
static int
s_done(s_run_t *run)
{
    const et_producer_config_t *cfg = run->cfg;
    uint64_t scheduled = run->sent + run->send_failed;
    et_done_t done = {
        .producer_id = cfg->id,
        .sent = run->sent,
        .send_failed = run->send_failed,
        .lag_max_ns = run->lag_max_ns,
        .lag_mean_ns =
            scheduled ? (int64_t)(run->lag_sum_ns / (double)scheduled) : 0,
        .finished_ns =
            et_clock_real_ns() + et_clockprobe_correction(run->probe)};
    msgpack_sbuffer_clear(&run->body);
    if (et_codec_encode_done(&run->body, &done) != 0) {
        ET_LOG_ERROR("out of memory building DONE");
        return -1;
    }
    uint64_t deadline = et_clock_mono_ns() + (uint64_t)cfg->ack_timeout_ns;
    while (!run->done_sent) {
        if (et_zsock_send(run->sock, NULL, ET_MSG_DONE, &run->body, NULL,
                          ZMQ_DONTWAIT) == 0) {
            run->done_sent = 1;
            break;
        }
        if (errno != EAGAIN && errno != EINTR) {
            ET_LOG_ERROR("send DONE: %s", zmq_strerror(errno));
            return -1;
        }
        uint64_t now = et_clock_mono_ns();
        if (now >= deadline) {
            ET_LOG_ERROR("could not send DONE to the broker within %.3g s",
                         (double)cfg->ack_timeout_ns / 1e9);
            return -1;
        }
        long ms = (long)((deadline - now) / ET_NS_PER_MS) + 1;
        if (s_drain(run) != 0 ||
            s_poll(run, ZMQ_POLLOUT, ms < S_POLL_MAX_MS ? ms : S_POLL_MAX_MS))
            return -1;
    }
    for (;;) {
        if (s_drain(run) != 0)
            return -1;
        s_progress(run, 0);
        if (run->done_acked)
            return 0;
        uint64_t now = et_clock_mono_ns();
        if (now >= deadline)
            break;
        long ms = (long)((deadline - now) / ET_NS_PER_MS) + 1;
        if (s_poll(run, ZMQ_POLLIN, ms < S_POLL_MAX_MS ? ms : S_POLL_MAX_MS))
            return -1;
    }
    s_progress(run, 1);
    run->progress = 0;
    ET_LOG_WARN("no DONE_ACK from the broker within %.3g s: the rejected "
                "count may be short",
                (double)cfg->ack_timeout_ns / 1e9);
    return 0;
}

/* The next event's offset, with its payload and label ready in 'run'.
 * Returns 1, 0 when the schedule or the source has ended, or -1. */
static int
s_next_event(s_run_t *run, int64_t *offset_ns, int *cut)
{
    et_source_request_t request = {.seq = run->scheduled};
    double event_time_s = 0;
    int rc;
    *cut = 0;
    if (run->time_driven) {
        rc = et_source_next(run->source, &request, &run->payload, &run->label,
                            &event_time_s);
        if (rc <= 0)
            goto ended;
        if (run->scheduled == 0)
            run->time0_s = event_time_s;
        /* A sample earlier than the one before goes out at once. */
        double offset = (event_time_s - run->time0_s) * 1e9 / run->cfg->speedup;
        int64_t at = offset < (double)run->limit_ns ? (int64_t)llround(offset)
                                                    : run->limit_ns;
        *offset_ns = at > run->prev_offset_ns ? at : run->prev_offset_ns;
        run->prev_offset_ns = *offset_ns;
    } else {
        if (!et_arrival_next(run->arrival, offset_ns)) {
            if (et_arrival_extent(run->arrival, NULL, NULL))
                ET_LOG_INFO("%s ended after %" PRIu64 " events",
                            et_arrival_describe(run->arrival), run->scheduled);
            return 0;
        }
        if (*offset_ns >= run->limit_ns) {
            *cut = 1;
            return 0;
        }
        request.has_tokens = et_arrival_tokens(
            run->arrival, &request.ctx_tokens, &request.gen_tokens);
        rc = et_source_next(run->source, &request, &run->payload, &run->label,
                            &event_time_s);
        if (rc <= 0)
            goto ended;
    }
    if (*offset_ns >= run->limit_ns) {
        *cut = 1;
        return 0;
    }
    return 1;
ended:
    if (rc < 0)
        ET_LOG_ERROR("event %" PRIu64 ": %s", run->scheduled, strerror(errno));
    else
        ET_LOG_INFO("%s ended after %" PRIu64 " events",
                    et_source_describe(run->source), run->scheduled);
    return rc;
}

/* The schedule itself: every arrival before the limit, at its time. */
static int
s_schedule(s_run_t *run)
{
    int64_t offset_ns = 0;
    int cut = 1;
    while (!*run->stop) {
        if (run->scheduled >= S_SEQ_LIMIT) {
            ET_LOG_WARN("event sequence space exhausted; stopping early");
            break;
        }
        int rc = s_next_event(run, &offset_ns, &cut);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        int64_t intended_ns = run->start_ns + offset_ns;
        if (s_wait_until(run, intended_ns) != 0)
            return -1;
        if (*run->stop)
            break;
        /* Counted before sending, so a REJECT racing back is recognised. */
        uint64_t seq = run->scheduled++;
        if (s_send_event(run, seq, intended_ns) != 0)
            return -1;
    }
    /* Cut by the duration: stay for all of it, the load's window is the
     * schedule's. A replay whose data ended is over. */
    if (!*run->stop && cut && s_wait_until(run, run->start_ns + run->limit_ns))
        return -1;
    return 0;
}

static void
s_summary(const s_run_t *run)
{
    uint64_t scheduled = run->sent + run->send_failed;
    double lag_mean_ms =
        scheduled ? run->lag_sum_ns / (double)scheduled / 1e6 : 0.0;
    printf("producer %" PRIu32 ": sent %" PRIu64 " (send_failed %" PRIu64
           "), rejected %" PRIu64
           ", behind schedule max %.2f ms mean %.2f ms\n",
           run->cfg->id, run->sent, run->send_failed, run->rejected,
           (double)run->lag_max_ns / 1e6, lag_mean_ms);
    fflush(stdout);
}

int
et_producer_run(const et_producer_config_t *cfg, volatile sig_atomic_t *stop)
{
    int result = -1;
    s_run_t run = {.cfg = cfg, .stop = stop};
    et_clock_set_skew_ns(cfg->clock_skew_ns);
    snprintf(run.name, sizeof run.name, "producer-%" PRIu32, cfg->id);
    et_clocksync_host_name(cfg->host_name, run.host, sizeof run.host);
    msgpack_sbuffer_init(&run.body);
    msgpack_sbuffer_init(&run.payload);
    run.progress =
        cfg->progress == ET_PRODUCER_PROGRESS_ALWAYS ||
        (cfg->progress == ET_PRODUCER_PROGRESS_AUTO && isatty(STDERR_FILENO));

#ifdef PR_SET_TIMERSLACK
    /* The default 50 us timer slack would make every sleep that late. */
    if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0)
        ET_LOG_DEBUG("cannot lower timer slack: %s", strerror(errno));
#endif

    char why[512];
    const char *flag = NULL;
    if (s_make(cfg, &run.arrival, &run.source, &flag, why, sizeof why) != 0) {
        ET_LOG_ERROR("%s: %s", flag, why);
        goto fail;
    }
    s_plan(&run);
    run.ctx = zmq_ctx_new();
    if (!run.ctx) {
        ET_LOG_ERROR("zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    run.sock = et_zsock_new(run.ctx, ZMQ_DEALER, ET_PRODUCER_HWM);
    if (!run.sock) {
        ET_LOG_ERROR("DEALER socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if (cfg->curve_dir[0]) {
        char key_why[PATH_MAX + 256];
        run.curve = et_curve_new(
            cfg->curve_dir, et_curve_is_tcp(cfg->broker) ? ET_CURVE_CLIENT : 0,
            key_why, sizeof key_why);
        if (!run.curve) {
            ET_LOG_ERROR("--curve: %s", key_why);
            goto fail;
        }
    }
    if (et_curve_connect(run.curve, run.sock, cfg->broker) != 0)
        goto fail;
    et_clockprobe_config_t probe = {.ctx = run.ctx,
                                    .endpoint = cfg->broker,
                                    .curve = run.curve,
                                    .mode = cfg->clock_sync,
                                    .interval_ns = cfg->clock_interval_ns,
                                    .role = ET_CLOCK_ROLE_PRODUCER,
                                    .name = run.name,
                                    .host = run.host,
                                    .producer_id = cfg->id,
                                    .corrects = 1};
    run.probe = et_clockprobe_start(&probe);
    if (!run.probe && errno != 0) {
        ET_LOG_ERROR("cannot start the clock probes: %s", strerror(errno));
        goto fail;
    }

    int hello = s_sync_first(&run);
    if (hello == 0)
        hello = s_hello(&run);
    if (hello < 0)
        goto fail;
    if (hello == 0) {
        ET_LOG_INFO("connected to %s: %s events, %s arrivals at %g events/s "
                    "for %g s, seed %" PRIu64,
                    cfg->broker, et_source_describe(run.source),
                    s_arrival_text(&run), run.planned_rate_eps,
                    (double)run.planned_ns / 1e9, cfg->seed);
        if (s_schedule(&run) != 0 || s_done(&run) != 0)
            goto fail;
        if (*stop)
            ET_LOG_WARN("stopped early after %" PRIu64 " events",
                        run.scheduled);
    } else {
        ET_LOG_WARN("stopped before the broker accepted the connection");
    }
    s_progress(&run, 1);
    if (run.bad_messages)
        ET_LOG_WARN("%" PRIu64 " bad messages from the broker were dropped",
                    run.bad_messages);
    s_summary(&run);
    result = 0;
fail:
    if (result != 0 && run.progress && run.start_ns > 0)
        fputc('\n', stderr);
    et_clockprobe_stop(&run.probe);
    et_zsock_close(&run.sock);
    /* EINTR: a signal arrived during termination; it can be resumed. */
    while (run.ctx && zmq_ctx_term(run.ctx) != 0 && errno == EINTR)
        ;
    et_curve_destroy(&run.curve);
    et_source_destroy(&run.source);
    et_arrival_destroy(&run.arrival);
    msgpack_sbuffer_destroy(&run.payload);
    msgpack_sbuffer_destroy(&run.body);
    return result;
}
