/* eventide-autoscaler's process: configuration, the SUB loop over the
 * broker's STATS snapshots, a policy decision per function per tick, and
 * the scale command, forked and reaped without ever blocking the loop. */
#include "autoscaler/autoscaler.h"

#include "common/clock.h"
#include "common/curve.h"
#include "common/zsock.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* How often child processes are looked at when nothing else happens. */
#define S_POLL_MAX_MS 100
/* After SIGTERM, how long a timed-out command gets before SIGKILL. */
#define S_KILL_GRACE_NS (5 * ET_NS_PER_S)
/* A failed command is retried after tick x 2^failures, at most this. */
#define S_RETRY_MAX_NS (60 * ET_NS_PER_S)

/* ---- configuration --------------------------------------------------------
 */

enum {
    S_OPT_STATS = 256,
    S_OPT_POLICY,
    S_OPT_FUNCTION,
    S_OPT_MIN,
    S_OPT_MAX,
    S_OPT_TICK,
    S_OPT_TARGET,
    S_OPT_STABLE_WINDOW,
    S_OPT_PANIC_WINDOW,
    S_OPT_PANIC_THRESHOLD,
    S_OPT_MAX_UP_RATE,
    S_OPT_MAX_DOWN_RATE,
    S_OPT_ZERO_GRACE,
    S_OPT_TARGET_UTIL,
    S_OPT_TOLERANCE,
    S_OPT_STABILIZATION,
    S_OPT_UP_PERCENT,
    S_OPT_UP_PODS,
    S_OPT_TARGET_RPS,
    S_OPT_STEP,
    S_OPT_COOLDOWN,
    S_OPT_RATE_WINDOW,
    S_OPT_SCALE_CMD,
    S_OPT_HOST,
    S_OPT_CMD_TIMEOUT,
    S_OPT_DRY_RUN,
    S_OPT_DECISIONS,
    S_OPT_STATS_TIMEOUT,
    S_OPT_LOG_LEVEL,
    S_OPT_CURVE
};

static const struct option s_options[] = {
    {"stats", required_argument, NULL, S_OPT_STATS},
    {"policy", required_argument, NULL, S_OPT_POLICY},
    {"function", required_argument, NULL, S_OPT_FUNCTION},
    {"min", required_argument, NULL, S_OPT_MIN},
    {"max", required_argument, NULL, S_OPT_MAX},
    {"tick", required_argument, NULL, S_OPT_TICK},
    {"target", required_argument, NULL, S_OPT_TARGET},
    {"stable-window", required_argument, NULL, S_OPT_STABLE_WINDOW},
    {"panic-window", required_argument, NULL, S_OPT_PANIC_WINDOW},
    {"panic-threshold", required_argument, NULL, S_OPT_PANIC_THRESHOLD},
    {"max-scale-up-rate", required_argument, NULL, S_OPT_MAX_UP_RATE},
    {"max-scale-down-rate", required_argument, NULL, S_OPT_MAX_DOWN_RATE},
    {"scale-to-zero-grace", required_argument, NULL, S_OPT_ZERO_GRACE},
    {"target-utilization", required_argument, NULL, S_OPT_TARGET_UTIL},
    {"tolerance", required_argument, NULL, S_OPT_TOLERANCE},
    {"stabilization", required_argument, NULL, S_OPT_STABILIZATION},
    {"scale-up-percent", required_argument, NULL, S_OPT_UP_PERCENT},
    {"scale-up-pods", required_argument, NULL, S_OPT_UP_PODS},
    {"target-rps", required_argument, NULL, S_OPT_TARGET_RPS},
    {"step", required_argument, NULL, S_OPT_STEP},
    {"cooldown", required_argument, NULL, S_OPT_COOLDOWN},
    {"rate-window", required_argument, NULL, S_OPT_RATE_WINDOW},
    {"scale-cmd", required_argument, NULL, S_OPT_SCALE_CMD},
    {"host", required_argument, NULL, S_OPT_HOST},
    {"cmd-timeout", required_argument, NULL, S_OPT_CMD_TIMEOUT},
    {"dry-run", no_argument, NULL, S_OPT_DRY_RUN},
    {"decisions", required_argument, NULL, S_OPT_DECISIONS},
    {"stats-timeout", required_argument, NULL, S_OPT_STATS_TIMEOUT},
    {"log-level", required_argument, NULL, S_OPT_LOG_LEVEL},
    {"curve", required_argument, NULL, S_OPT_CURVE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

void
et_autoscaler_usage(FILE *out)
{
    fprintf(
        out,
        "usage: " ET_AUTOSCALER_PROG " --stats EP [options]\n"
        "Scales each function's worker processes from the broker's stats.\n"
        "  --stats EP                 the broker's PUB endpoint (required)\n"
        "  --policy kpa|hpa|rps       Knative KPA, Kubernetes HPA or "
        "OpenFaaS-style RPS (default kpa)\n"
        "  --function NAME            scale only NAME (repeatable; default "
        "every function in the stats)\n"
        "  --min N                    fewest replicas (default 0 for kpa, 1 "
        "for hpa and rps)\n"
        "  --max N                    most replicas (default 10)\n"
        "  --tick S                   decision period (default 2 for kpa and "
        "rps, 15 for hpa)\n"
        "kpa: concurrency = busy slots + queued events per function\n"
        "  --target C                 concurrency per instance (default 1; "
        "Knative's own default is 100\n"
        "                             for multi-concurrency containers, at "
        "70%% target utilization)\n"
        "  --stable-window S          averaging window (default 60)\n"
        "  --panic-window S           burst window (default 6)\n"
        "  --panic-threshold R        panic when panic-window desired >= R x "
        "ready (default 2 = 200%%)\n"
        "  --max-scale-up-rate R      at most ceil(R x ready) (default 1000)\n"
        "  --max-scale-down-rate R    at least floor(ready / R) (default 2)\n"
        "  --scale-to-zero-grace S    once the stable window wants 0, keep "
        "the last instance this long\n"
        "                             (default 30; needs --min 0)\n"
        "hpa: utilization = busy slots / slots (0 with no instance); at 0\n"
        "     replicas, waiting work scales to 1 (Kubernetes alone would "
        "stay at 0)\n"
        "  --target-utilization F     target utilization (default 0.7)\n"
        "  --tolerance F              no change within this of the target "
        "(default 0.1)\n"
        "  --stabilization S          scale down to the highest recommendation "
        "of this window (default 300)\n"
        "  --scale-up-percent P       scale up by at most P%% per tick ... "
        "(default 100)\n"
        "  --scale-up-pods N          ... or by N, whichever is more (default "
        "4)\n"
        "rps: arrivals per second per instance = (growth of completed + "
        "queued + busy) / s\n"
        "  --target-rps R             target per instance (default 10)\n"
        "  --step N                   replicas per step (default 20%% of "
        "--max, "
        "at least 1)\n"
        "  --cooldown S               below target this long before a step "
        "down (default 30)\n"
        "  --rate-window S            rate measured over (default 10)\n"
        "acting:\n"
        "  --scale-cmd TEMPLATE       run when a desired count changes "
        "(default '" ET_AUTOSCALER_DEFAULT_CMD "');\n"
        "                             {function}, {replicas} and {host} are "
        "substituted\n"
        "  --host H                   value of {host} (default localhost)\n"
        "  --cmd-timeout S            SIGTERM a scale command after S "
        "(default 120)\n"
        "  --dry-run                  decide and log, never run the command\n"
        "  --decisions FILE           write every decision as a JSON line "
        "(default: none)\n"
        "  --stats-timeout S          no decisions on stats older than S "
        "(default 5)\n"
        "  --log-level LEVEL          debug|info|warn|error|off (default "
        "info)\n"
        "  --curve DIR                CURVE to a tcp:// --stats, keys from "
        "DIR\n"
        "                             (client.key, server.pub) (default: "
        "none)\n"
        "  --help                     this text\n");
}

static int
s_bad(const char *flag, const char *value, const char *why)
{
    et_cli_error(ET_AUTOSCALER_PROG, flag, value, why);
    return -1;
}

/* A name or host that may go into a shell command line unquoted. */
static int
s_is_safe_word(const char *text, size_t max_len)
{
    return text && text[0] != '-' && et_cli_check_name(text, max_len) == 0;
}

static int
s_duration(const char *flag, const char *arg, uint64_t min_ns, uint64_t max_ns,
           const char *why, uint64_t *out)
{
    if (et_cli_parse_duration_ns(arg, ET_NS_PER_S, min_ns, max_ns, out) != 0)
        return s_bad(flag, arg, why);
    return 0;
}

static int
s_number(const char *flag, const char *arg, double min, double max,
         const char *why, double *out)
{
    if (et_cli_parse_double(arg, min, max, out) != 0)
        return s_bad(flag, arg, why);
    return 0;
}

static int
s_count(const char *flag, const char *arg, uint64_t max, const char *why,
        uint32_t *out)
{
    uint64_t n;
    if (et_cli_parse_u64(arg, 0, max, &n) != 0)
        return s_bad(flag, arg, why);
    *out = (uint32_t)n;
    return 0;
}

static int
s_config_option(et_autoscaler_config_t *c, int opt, const char *arg)
{
    et_policy_config_t *p = &c->policy;
    const uint64_t hour = ET_POLICY_WINDOW_MAX_NS;
    switch (opt) {
    case S_OPT_STATS:
        if (et_cli_check_endpoint(arg) != 0)
            return s_bad("--stats", arg,
                         "expected tcp://, ipc:// or inproc:// endpoint");
        snprintf(c->stats, sizeof c->stats, "%s", arg);
        return 0;
    case S_OPT_POLICY:
        return 0; /* read before the defaults */
    case S_OPT_FUNCTION:
        if (!s_is_safe_word(arg, ET_NAME_MAX - 1))
            return s_bad("--function", arg,
                         "expected 1-47 characters from [A-Za-z0-9_.-], not "
                         "starting with '-'");
        if (c->n_functions == ET_STATS_FUNCTIONS_MAX)
            return s_bad("--function", arg, "at most 16 functions");
        snprintf(c->functions[c->n_functions++], ET_NAME_MAX, "%s", arg);
        return 0;
    case S_OPT_MIN:
        return s_count("--min", arg, ET_POLICY_REPLICAS_MAX,
                       "expected 0 to 10000 replicas", &p->min_replicas);
    case S_OPT_MAX:
        return s_count("--max", arg, ET_POLICY_REPLICAS_MAX,
                       "expected 1 to 10000 replicas", &p->max_replicas);
    case S_OPT_TICK:
        return s_duration("--tick", arg, ET_POLICY_TICK_MIN_NS, hour,
                          "expected 0.1 to 3600 s", &p->tick_ns);
    case S_OPT_TARGET:
        return s_number("--target", arg, 1e-3, 1e6,
                        "expected a concurrency from 0.001 to 1e6", &p->target);
    case S_OPT_STABLE_WINDOW:
        return s_duration("--stable-window", arg, ET_POLICY_TICK_MIN_NS, hour,
                          "expected 0.1 to 3600 s", &p->stable_window_ns);
    case S_OPT_PANIC_WINDOW:
        return s_duration("--panic-window", arg, ET_POLICY_TICK_MIN_NS, hour,
                          "expected 0.1 to 3600 s", &p->panic_window_ns);
    case S_OPT_PANIC_THRESHOLD:
        return s_number("--panic-threshold", arg, 1, 100,
                        "expected a ratio from 1 to 100 (2 = 200%)",
                        &p->panic_threshold);
    case S_OPT_MAX_UP_RATE:
        return s_number("--max-scale-up-rate", arg, 1.001, 1e6,
                        "expected a rate above 1, at most 1e6",
                        &p->max_scale_up_rate);
    case S_OPT_MAX_DOWN_RATE:
        return s_number("--max-scale-down-rate", arg, 1.001, 1e6,
                        "expected a rate above 1, at most 1e6",
                        &p->max_scale_down_rate);
    case S_OPT_ZERO_GRACE:
        return s_duration("--scale-to-zero-grace", arg, 0, hour,
                          "expected 0 to 3600 s", &p->scale_to_zero_grace_ns);
    case S_OPT_TARGET_UTIL:
        return s_number("--target-utilization", arg, 0.01, 1,
                        "expected a fraction from 0.01 to 1",
                        &p->target_utilization);
    case S_OPT_TOLERANCE:
        return s_number("--tolerance", arg, 0, 0.99,
                        "expected a fraction from 0 to 0.99", &p->tolerance);
    case S_OPT_STABILIZATION:
        return s_duration("--stabilization", arg, 0, hour,
                          "expected 0 to 3600 s", &p->stabilization_ns);
    case S_OPT_UP_PERCENT:
        return s_number("--scale-up-percent", arg, 0, 1e6,
                        "expected 0 to 1e6 percent", &p->scale_up_percent);
    case S_OPT_UP_PODS:
        return s_count("--scale-up-pods", arg, ET_POLICY_REPLICAS_MAX,
                       "expected 0 to 10000 replicas", &p->scale_up_pods);
    case S_OPT_TARGET_RPS:
        return s_number("--target-rps", arg, 1e-3, 1e9,
                        "expected a rate from 0.001 to 1e9", &p->target_rps);
    case S_OPT_STEP:
        if (s_count("--step", arg, ET_POLICY_REPLICAS_MAX,
                    "expected 1 to 10000 replicas", &p->step) != 0)
            return -1;
        return p->step > 0
                   ? 0
                   : s_bad("--step", arg, "expected 1 to 10000 replicas");
    case S_OPT_COOLDOWN:
        return s_duration("--cooldown", arg, 0, hour, "expected 0 to 3600 s",
                          &p->cooldown_ns);
    case S_OPT_RATE_WINDOW:
        return s_duration("--rate-window", arg, ET_POLICY_TICK_MIN_NS, hour,
                          "expected 0.1 to 3600 s", &p->rate_window_ns);
    case S_OPT_SCALE_CMD:
        if (et_autoscaler_check_template(arg) != 0)
            return s_bad("--scale-cmd", arg,
                         "expected at most 1023 bytes with only {function}, "
                         "{replicas} and {host} placeholders");
        snprintf(c->scale_cmd, sizeof c->scale_cmd, "%s", arg);
        return 0;
    case S_OPT_HOST:
        if (!s_is_safe_word(arg, ET_AUTOSCALER_HOST_MAX - 1))
            return s_bad("--host", arg,
                         "expected 1-253 characters from [A-Za-z0-9_.-], not "
                         "starting with '-'");
        snprintf(c->host, sizeof c->host, "%s", arg);
        return 0;
    case S_OPT_CMD_TIMEOUT:
        return s_duration("--cmd-timeout", arg, ET_NS_PER_S, hour,
                          "expected 1 to 3600 s", &c->cmd_timeout_ns);
    case S_OPT_DRY_RUN:
        c->dry_run = 1;
        return 0;
    case S_OPT_DECISIONS:
        if (arg[0] == '\0' || strlen(arg) >= sizeof c->decisions)
            return s_bad("--decisions", arg, "expected a file path");
        snprintf(c->decisions, sizeof c->decisions, "%s", arg);
        return 0;
    case S_OPT_STATS_TIMEOUT:
        return s_duration("--stats-timeout", arg, ET_POLICY_TICK_MIN_NS, hour,
                          "expected 0.1 to 3600 s", &c->stats_timeout_ns);
    case S_OPT_LOG_LEVEL:
        if (et_log_parse_level(arg, &c->log_level) != 0)
            return s_bad("--log-level", arg,
                         "expected debug, info, warn, error or off");
        return 0;
    case S_OPT_CURVE: {
        char why[256];
        if (et_curve_check_dir(arg, why, sizeof why) != 0)
            return s_bad("--curve", arg, why);
        snprintf(c->curve_dir, sizeof c->curve_dir, "%s", arg);
        return 0;
    }
    }
    return s_bad("?", arg, "unhandled option");
}

/* The value given last for 'flag' (for naming it in a cross-check). */
static const char *
s_flag_value(const int *opts, char *const *args, int n, const char *flag)
{
    const char *value = NULL;
    for (int i = 0; i < n; i++)
        for (const struct option *o = s_options; o->name; o++)
            if (o->val == opts[i] && strcmp(flag + 2, o->name) == 0)
                value = args[i];
    return value;
}

int
et_autoscaler_config_parse(et_autoscaler_config_t *c, int argc, char **argv)
{
    /* Two passes: --policy chooses the defaults, and every other flag
     * overrides them whatever the order on the command line. */
    int rc = -1;
    int *opts = calloc((size_t)argc + 1, sizeof *opts);
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!opts || !args) {
        s_bad("argv", NULL, "out of memory");
        goto done;
    }
    et_policy_kind_t kind = ET_POLICY_KPA;
    int n = 0;
    opterr = 0; /* our own one-line errors */
    optind = 0; /* glibc: a full reset, so tests may parse again */
    for (;;) {
        int opt = getopt_long(argc, argv, ":h", s_options, NULL);
        if (opt == -1)
            break;
        if (opt == 'h') {
            rc = 1;
            goto done;
        }
        if (opt == ':') {
            s_bad(argv[optind - 1], NULL, "missing value");
            goto done;
        }
        if (opt == '?') {
            s_bad(argv[optind - 1], NULL, "unknown option");
            goto done;
        }
        if (opt == S_OPT_POLICY && et_policy_parse_kind(optarg, &kind) != 0) {
            s_bad("--policy", optarg, "expected kpa, hpa or rps");
            goto done;
        }
        opts[n] = opt;
        args[n++] = optarg;
    }
    if (optind < argc) {
        s_bad(argv[optind], NULL, "unexpected argument");
        goto done;
    }
    memset(c, 0, sizeof *c);
    et_policy_config_defaults(&c->policy, kind);
    snprintf(c->scale_cmd, sizeof c->scale_cmd, "%s",
             ET_AUTOSCALER_DEFAULT_CMD);
    snprintf(c->host, sizeof c->host, "localhost");
    c->cmd_timeout_ns = 120 * ET_NS_PER_S;
    c->stats_timeout_ns = 5 * ET_NS_PER_S;
    c->log_level = ET_LOG_LEVEL_INFO;
    for (int i = 0; i < n; i++)
        if (s_config_option(c, opts[i], args[i]) != 0)
            goto done;
    if (c->stats[0] == '\0') {
        s_bad("--stats", NULL, "required");
        goto done;
    }
    const char *flag, *why;
    if (et_policy_config_check(&c->policy, &flag, &why) != 0) {
        s_bad(flag, s_flag_value(opts, args, n, flag), why);
        goto done;
    }
    rc = 0;
done:
    free(opts);
    free(args);
    return rc;
}

/* ---- scale command template -----------------------------------------------
 */

/* Append 'text' (length 'len') at *pos; -1 when it does not fit. */
static int
s_append(char *buf, size_t size, size_t *pos, const char *text, size_t len)
{
    if (*pos + len >= size)
        return -1;
    memcpy(buf + *pos, text, len);
    *pos += len;
    buf[*pos] = '\0';
    return 0;
}

int
et_autoscaler_format_command(const char *tmpl, const char *function,
                             uint32_t replicas, const char *host, char *buf,
                             size_t size)
{
    if (!tmpl || !buf || size == 0 || strlen(tmpl) >= ET_AUTOSCALER_CMD_MAX ||
        !s_is_safe_word(function, ET_NAME_MAX - 1) ||
        !s_is_safe_word(host, ET_AUTOSCALER_HOST_MAX - 1) ||
        replicas > ET_POLICY_REPLICAS_MAX) {
        errno = EINVAL;
        return -1;
    }
    char number[16];
    snprintf(number, sizeof number, "%u", replicas);
    size_t pos = 0;
    buf[0] = '\0';
    for (const char *p = tmpl; *p;) {
        const char *value = NULL;
        size_t skip = 0;
        if (*p == '{') {
            if (strncmp(p, "{function}", 10) == 0)
                value = function, skip = 10;
            else if (strncmp(p, "{replicas}", 10) == 0)
                value = number, skip = 10;
            else if (strncmp(p, "{host}", 6) == 0)
                value = host, skip = 6;
            else {
                errno = EINVAL; /* a typo must not reach the shell */
                return -1;
            }
        } else if (*p == '}') {
            errno = EINVAL;
            return -1;
        }
        int rc = value ? s_append(buf, size, &pos, value, strlen(value))
                       : s_append(buf, size, &pos, p, 1);
        if (rc != 0) {
            errno = ENAMETOOLONG;
            return -1;
        }
        p += value ? skip : 1;
    }
    return 0;
}

int
et_autoscaler_check_template(const char *tmpl)
{
    char buf[ET_AUTOSCALER_CMD_MAX];
    if (!tmpl || tmpl[0] == '\0')
        return -1;
    /* Shortest values: only the template's own length and shape count. */
    return et_autoscaler_format_command(tmpl, "f", 0, "h", buf, sizeof buf) == 0
               ? 0
               : -1;
}

/* ---- the process -----------------------------------------------------------
 */

typedef struct {
    char name[ET_NAME_MAX];
    et_policy_t *policy;
    uint32_t spec;    /* replicas last decided */
    uint32_t applied; /* replicas the last successful command set */
    /* the scale command in flight, if any */
    pid_t pid;
    uint32_t cmd_replicas;
    uint64_t cmd_started_ns;
    int cmd_signalled; /* 1: SIGTERM sent, 2: SIGKILL sent */
    uint32_t failures;
    uint64_t retry_at_ns;
} s_function_t;

struct et_autoscaler_t {
    et_autoscaler_config_t config;
    void *ctx;
    void *sub;
    et_curve_t *curve; /* NULL: no CURVE */
    FILE *decisions;
    int devnull;
    et_stats_t latest;
    int have_latest;
    uint64_t latest_mono_ns;
    s_function_t functions[ET_STATS_FUNCTIONS_MAX];
    uint32_t n_functions;
    uint64_t bad_messages;
    int missing_checked; /* --function names looked up in the stats */
    uint64_t decisions_made;
    uint64_t commands_run;
    uint64_t commands_failed;
};

et_autoscaler_t *
et_autoscaler_new(const et_autoscaler_config_t *config)
{
    et_autoscaler_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->devnull = -1;
    if (self->config.decisions[0]) {
        self->decisions = fopen(self->config.decisions, "we");
        if (!self->decisions) {
            ET_LOG_ERROR("cannot open --decisions %s: %s",
                         self->config.decisions, strerror(errno));
            goto fail;
        }
    }
    /* Scale commands get no stdin: ssh would otherwise eat ours. */
    self->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (self->devnull < 0) {
        ET_LOG_ERROR("cannot open /dev/null: %s", strerror(errno));
        goto fail;
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        ET_LOG_ERROR("zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    self->sub = et_zsock_new(self->ctx, ZMQ_SUB, 100);
    int64_t maxmsgsize = ET_HEADER_MAX + ET_BODY_MAX;
    if (!self->sub ||
        zmq_setsockopt(self->sub, ZMQ_MAXMSGSIZE, &maxmsgsize,
                       sizeof maxmsgsize) != 0 ||
        zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, "", 0) != 0) {
        ET_LOG_ERROR("cannot create SUB socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if (self->config.curve_dir[0]) {
        char why[PATH_MAX + 256];
        self->curve = et_curve_new(
            self->config.curve_dir,
            et_curve_is_tcp(self->config.stats) ? ET_CURVE_CLIENT : 0, why,
            sizeof why);
        if (!self->curve) {
            ET_LOG_ERROR("--curve: %s", why);
            errno = EACCES;
            goto fail;
        }
    }
    if (et_curve_connect(self->curve, self->sub, self->config.stats) != 0)
        goto fail;
    const et_policy_config_t *p = &self->config.policy;
    ET_LOG_INFO("policy %s on %s: replicas %u..%u, tick %.2f s, command '%s' "
                "(host %s)%s",
                et_policy_kind_name(p->kind), self->config.stats,
                p->min_replicas, p->max_replicas,
                (double)p->tick_ns / ET_NS_PER_S, self->config.scale_cmd,
                self->config.host, self->config.dry_run ? ", dry run" : "");
    return self;
fail:;
    int saved = errno;
    et_autoscaler_destroy(&self);
    errno = saved;
    return NULL;
}

void
et_autoscaler_destroy(et_autoscaler_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_autoscaler_t *self = *self_p;
    for (uint32_t i = 0; i < self->n_functions; i++) {
        s_function_t *f = &self->functions[i];
        if (f->pid > 0)
            ET_LOG_WARN("%s: leaving scale command (pid %d, to %u) running",
                        f->name, (int)f->pid, f->cmd_replicas);
        et_policy_destroy(&f->policy);
    }
    et_zsock_close(&self->sub);
    if (self->ctx) {
        while (zmq_ctx_term(self->ctx) != 0 && errno == EINTR)
            ;
        self->ctx = NULL;
    }
    et_curve_destroy(&self->curve);
    if (self->devnull >= 0)
        close(self->devnull);
    if (self->decisions && fclose(self->decisions) != 0)
        ET_LOG_ERROR("cannot close --decisions %s: %s", self->config.decisions,
                     strerror(errno));
    free(self);
    *self_p = NULL;
}

/* ---- scale commands --------------------------------------------------------
 */

static void
s_command_start(et_autoscaler_t *self, s_function_t *f, uint64_t now)
{
    if (f->pid > 0 || f->spec == f->applied || now < f->retry_at_ns ||
        self->config.dry_run)
        return;
    char cmd[ET_AUTOSCALER_CMD_MAX];
    if (et_autoscaler_format_command(self->config.scale_cmd, f->name, f->spec,
                                     self->config.host, cmd, sizeof cmd) != 0) {
        ET_LOG_WARN_LIMITED("%s: cannot build the scale command: %s", f->name,
                            strerror(errno));
        f->retry_at_ns = now + S_RETRY_MAX_NS;
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        ET_LOG_WARN_LIMITED("%s: fork: %s", f->name, strerror(errno));
        f->retry_at_ns = now + self->config.policy.tick_ns;
        return;
    }
    if (pid == 0) {
        /* Child of a multi-threaded process (ZeroMQ's I/O threads): only
         * async-signal-safe calls until exec. Own process group, so a
         * timeout can stop the shell and whatever it started; the parent's
         * ignored SIGPIPE must not leak into the command; its output goes
         * to our log (stderr), never to our stdout. */
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        dup2(self->devnull, STDIN_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: whichever runs first wins the race */
    f->pid = pid;
    f->cmd_replicas = f->spec;
    f->cmd_started_ns = now;
    f->cmd_signalled = 0;
    self->commands_run++;
    ET_LOG_INFO("%s: scaling %u -> %u: pid %d: %s", f->name, f->applied,
                f->spec, (int)pid, cmd);
}

static void
s_command_finished(et_autoscaler_t *self, s_function_t *f, int status,
                   uint64_t now)
{
    double secs = (double)(now - f->cmd_started_ns) / ET_NS_PER_S;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ET_LOG_INFO("%s: scaled to %u (exit 0, %.2f s)", f->name,
                    f->cmd_replicas, secs);
        f->applied = f->cmd_replicas;
        f->failures = 0;
        f->retry_at_ns = 0;
    } else {
        self->commands_failed++;
        if (WIFEXITED(status))
            ET_LOG_WARN("%s: scale command to %u failed: exit %d (%.2f s)",
                        f->name, f->cmd_replicas, WEXITSTATUS(status), secs);
        else
            ET_LOG_WARN("%s: scale command to %u died of signal %d (%.2f s)",
                        f->name, f->cmd_replicas,
                        WIFSIGNALED(status) ? WTERMSIG(status) : 0, secs);
        if (f->failures < 16)
            f->failures++;
        uint64_t backoff = self->config.policy.tick_ns << f->failures;
        f->retry_at_ns =
            now + (backoff < S_RETRY_MAX_NS ? backoff : S_RETRY_MAX_NS);
    }
    f->pid = 0;
}

/* Reap finished commands, stop overdue ones and, if 'start', start
 * pending ones. */
static void
s_commands_service(et_autoscaler_t *self, uint64_t now, int start)
{
    for (uint32_t i = 0; i < self->n_functions; i++) {
        s_function_t *f = &self->functions[i];
        if (f->pid > 0) {
            int status;
            pid_t r = waitpid(f->pid, &status, WNOHANG);
            if (r == f->pid) {
                s_command_finished(self, f, status, now);
            } else if (r < 0 && errno != EINTR) {
                ET_LOG_WARN("%s: waitpid %d: %s", f->name, (int)f->pid,
                            strerror(errno));
                f->pid = 0;
            } else if (f->cmd_signalled == 0 &&
                       now - f->cmd_started_ns >= self->config.cmd_timeout_ns) {
                ET_LOG_WARN("%s: scale command pid %d still running after "
                            "%.0f s: SIGTERM",
                            f->name, (int)f->pid,
                            (double)self->config.cmd_timeout_ns / ET_NS_PER_S);
                if (kill(-f->pid, SIGTERM) != 0)
                    kill(f->pid, SIGTERM);
                f->cmd_signalled = 1;
            } else if (f->cmd_signalled == 1 &&
                       now - f->cmd_started_ns >=
                           self->config.cmd_timeout_ns + S_KILL_GRACE_NS) {
                ET_LOG_WARN("%s: scale command pid %d: SIGKILL", f->name,
                            (int)f->pid);
                if (kill(-f->pid, SIGKILL) != 0)
                    kill(f->pid, SIGKILL);
                f->cmd_signalled = 2;
            }
        }
        if (start)
            s_command_start(self, f, now);
    }
}

/* ---- decisions ------------------------------------------------------------
 */

static int
s_wanted(const et_autoscaler_t *self, const char *name)
{
    if (self->config.n_functions == 0)
        return 1;
    for (uint32_t i = 0; i < self->config.n_functions; i++)
        if (strcmp(self->config.functions[i], name) == 0)
            return 1;
    return 0;
}

static s_function_t *
s_function(et_autoscaler_t *self, const et_stats_function_t *sf)
{
    for (uint32_t i = 0; i < self->n_functions; i++)
        if (strcmp(self->functions[i].name, sf->name) == 0)
            return &self->functions[i];
    if (self->n_functions == ET_STATS_FUNCTIONS_MAX) {
        ET_LOG_WARN_LIMITED("more than %d functions: not scaling %s",
                            ET_STATS_FUNCTIONS_MAX, sf->name);
        return NULL;
    }
    s_function_t *f = &self->functions[self->n_functions];
    memset(f, 0, sizeof *f);
    f->policy = et_policy_new(&self->config.policy);
    if (!f->policy) {
        ET_LOG_WARN_LIMITED("%s: cannot create policy state: %s", sf->name,
                            strerror(errno));
        return NULL;
    }
    /* Same size, NUL-terminated by the decoder; distinct objects. */
    memcpy(f->name, sf->name, sizeof f->name);
    f->name[sizeof f->name - 1] = '\0';
    /* What runs now is the starting point: nothing to apply yet. */
    f->spec = f->applied = sf->instances;
    self->n_functions++;
    ET_LOG_INFO("%s: scaling from %u instance(s)", f->name, sf->instances);
    return f;
}

static void
s_decision_log(et_autoscaler_t *self, const s_function_t *f,
               const et_stats_function_t *sf, uint32_t current,
               const et_policy_decision_t *d)
{
    et_policy_kind_t kind = self->config.policy.kind;
    const char *arrow = d->desired != current ? "->" : "==";
    char clamp[32] = "";
    if (d->clamped)
        snprintf(clamp, sizeof clamp, " (clamped to %s)", d->clamped);
    if (kind == ET_POLICY_KPA)
        ET_LOG_INFO("%s kpa: concurrency %.0f (busy %u + queued %u), stable "
                    "avg %.2f, panic avg %.2f, panic %s, ready %u, current "
                    "%u %s desired %u: %s%s",
                    f->name, d->metric, sf->slots_busy, sf->queue_depth,
                    d->stable_avg, d->panic_avg, d->panic ? "yes" : "no",
                    sf->instances, current, arrow, d->desired, d->reason,
                    clamp);
    else if (kind == ET_POLICY_HPA)
        ET_LOG_INFO("%s hpa: utilization %.3f (busy %u / slots %u), queued "
                    "%u, ready %u, current %u, recommended %u %s desired %u: "
                    "%s%s",
                    f->name, d->metric, sf->slots_busy, sf->slots_total,
                    sf->queue_depth, sf->instances, current, d->raw, arrow,
                    d->desired, d->reason, clamp);
    else
        ET_LOG_INFO("%s rps: arrivals %.2f/s, %.2f/s per instance, queued "
                    "%u, busy %u, ready %u, current %u %s desired %u: %s%s",
                    f->name, d->rate, d->metric, sf->queue_depth,
                    sf->slots_busy, sf->instances, current, arrow, d->desired,
                    d->reason, clamp);
    if (!self->decisions)
        return;
    char when[40];
    int64_t real_ns = et_clock_real_ns();
    json_t *line = json_pack(
        "{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, "
        "s:s}",
        "t", et_clock_iso8601(real_ns, when, sizeof when), "t_ns",
        (json_int_t)real_ns, "function", f->name, "policy",
        et_policy_kind_name(kind), "ready", (json_int_t)sf->instances,
        "queue_depth", (json_int_t)sf->queue_depth, "slots_total",
        (json_int_t)sf->slots_total, "slots_busy", (json_int_t)sf->slots_busy,
        "completed", (json_int_t)sf->completed, "current", (json_int_t)current,
        "raw", (json_int_t)d->raw, "desired", (json_int_t)d->desired, "action",
        d->desired != current ? "scale" : "hold", "reason", d->reason);
    if (!line)
        return;
    if (d->clamped)
        json_object_set_new(line, "clamped", json_string(d->clamped));
    if (kind == ET_POLICY_KPA) {
        json_object_set_new(line, "concurrency", json_real(d->metric));
        json_object_set_new(line, "stable_avg", json_real(d->stable_avg));
        json_object_set_new(line, "panic_avg", json_real(d->panic_avg));
        json_object_set_new(line, "panic", json_boolean(d->panic));
    } else if (kind == ET_POLICY_HPA) {
        json_object_set_new(line, "utilization", json_real(d->metric));
    } else {
        json_object_set_new(line, "arrival_rate", json_real(d->rate));
        json_object_set_new(line, "rps_per_instance", json_real(d->metric));
    }
    if (json_dumpf(line, self->decisions, JSON_COMPACT) != 0 ||
        fputc('\n', self->decisions) == EOF || fflush(self->decisions) != 0)
        ET_LOG_WARN_LIMITED("cannot write --decisions %s: %s",
                            self->config.decisions, strerror(errno));
    json_decref(line);
}

static void
s_tick(et_autoscaler_t *self, uint64_t now)
{
    if (!self->have_latest) {
        ET_LOG_DEBUG("waiting for the first stats snapshot");
        return;
    }
    if (now - self->latest_mono_ns > self->config.stats_timeout_ns) {
        ET_LOG_WARN_LIMITED(
            "no stats from %s for over %.1f s: holding", self->config.stats,
            (double)self->config.stats_timeout_ns / ET_NS_PER_S);
        return;
    }
    const et_stats_t *stats = &self->latest;
    for (uint32_t i = 0; !self->missing_checked && i < self->config.n_functions;
         i++) {
        uint32_t j = 0;
        while (j < stats->n_functions &&
               strcmp(stats->functions[j].name, self->config.functions[i]) != 0)
            j++;
        if (j == stats->n_functions)
            ET_LOG_WARN("--function %s: not in workflow %s's stats (yet)",
                        self->config.functions[i], stats->workflow);
    }
    self->missing_checked = 1;
    for (uint32_t i = 0; i < stats->n_functions; i++) {
        const et_stats_function_t *sf = &stats->functions[i];
        if (!s_wanted(self, sf->name))
            continue;
        s_function_t *f = s_function(self, sf);
        if (!f)
            continue;
        et_policy_input_t in = {.now_ns = now,
                                .sample_ns = stats->t_ns,
                                .current = f->spec,
                                .ready = sf->instances,
                                .queue_depth = sf->queue_depth,
                                .slots_total = sf->slots_total,
                                .slots_busy = sf->slots_busy,
                                .completed = sf->completed};
        et_policy_decision_t d;
        et_policy_step(f->policy, &in, &d);
        self->decisions_made++;
        s_decision_log(self, f, sf, f->spec, &d);
        f->spec = d.desired;
    }
}

/* A snapshot is usable when it is well formed and every function name is
 * one a command line may carry. */
static void
s_receive(et_autoscaler_t *self, uint64_t now)
{
    for (;;) {
        zmq_msg_t frames[ET_FRAMES_MAX];
        int too_many = 0;
        int count = et_zsock_recv(self->sub, frames, ET_FRAMES_MAX, &too_many,
                                  ZMQ_DONTWAIT);
        if (count < 0)
            return;
        et_msg_type_t type;
        et_stats_t stats;
        int ok = !too_many && count == 2 &&
                 et_codec_decode_header(zmq_msg_data(&frames[0]),
                                        zmq_msg_size(&frames[0]), &type) == 0 &&
                 type == ET_MSG_STATS &&
                 et_codec_decode_stats(zmq_msg_data(&frames[1]),
                                       zmq_msg_size(&frames[1]), &stats) == 0;
        et_zsock_frames_close(frames, count);
        for (uint32_t i = 0; ok && i < stats.n_functions; i++)
            ok = s_is_safe_word(stats.functions[i].name, ET_NAME_MAX - 1);
        if (!ok) {
            self->bad_messages++;
            ET_LOG_WARN_LIMITED("dropped a bad stats message (%llu so far)",
                                (unsigned long long)self->bad_messages);
            continue;
        }
        self->latest = stats;
        self->have_latest = 1;
        self->latest_mono_ns = now;
    }
}

int
et_autoscaler_run(et_autoscaler_t *self, const volatile sig_atomic_t *stop)
{
    int rc = 0;
    uint64_t tick = self->config.policy.tick_ns;
    uint64_t next_tick = et_clock_mono_ns() + tick;
    while (!*stop) {
        uint64_t now = et_clock_mono_ns();
        s_commands_service(self, now, 1);
        long wait_ms =
            now < next_tick ? (long)((next_tick - now) / ET_NS_PER_MS) + 1 : 0;
        if (wait_ms > S_POLL_MAX_MS)
            wait_ms = S_POLL_MAX_MS;
        zmq_pollitem_t item = {self->sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, wait_ms) < 0) {
            if (errno == EINTR)
                continue; /* the loop condition looks at the flag */
            if (errno != ETERM) {
                ET_LOG_ERROR("zmq_poll: %s", zmq_strerror(errno));
                rc = -1;
            }
            break;
        }
        now = et_clock_mono_ns();
        if (item.revents & ZMQ_POLLIN)
            s_receive(self, now);
        if (now >= next_tick) {
            s_tick(self, now);
            s_commands_service(self, now, 1);
            next_tick += tick;
            if (next_tick <= now) /* fell behind: skip, don't burst */
                next_tick = now + tick;
        }
    }
    /* Reap whatever finished meanwhile; the rest is left running. */
    s_commands_service(self, et_clock_mono_ns(), 0);
    ET_LOG_INFO("stopping: %llu decisions, %llu scale commands (%llu failed), "
                "%llu bad messages",
                (unsigned long long)self->decisions_made,
                (unsigned long long)self->commands_run,
                (unsigned long long)self->commands_failed,
                (unsigned long long)self->bad_messages);
    return rc;
}
