/* eventide-autoscaler's process: the SUB loop over the broker's STATS
 * snapshots, a policy decision per function per tick, and the scale
 * command, forked and reaped without ever blocking the loop. */
#include "autoscaler/autoscaler.h"

#include "autoscaler/capacity.h"

#include "autoscaler/metrics.h"
#include "common/clock.h"
#include "common/curve.h"
#include "common/zsock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* How often child processes are looked at when nothing else happens. */
#define S_POLL_MAX_MS 100
/* How often the /metrics text is rendered (as the broker's). */
#define S_METRICS_PERIOD_NS (1 * ET_NS_PER_S)
/* After SIGTERM, how long a timed-out command gets before SIGKILL. */
#define S_KILL_GRACE_NS (5 * ET_NS_PER_S)
/* How long instances a command started may take to become ready before
 * fewer ready ones are taken for departures (s_reconcile). */
#define S_START_GRACE_NS (5 * ET_NS_PER_S)
/* A failed command is retried after tick x 2^failures, at most this. */
#define S_RETRY_MAX_NS (60 * ET_NS_PER_S)

/* ---- the process -----------------------------------------------------------
 */

typedef struct {
    char name[ET_NAME_MAX];
    et_policy_t *policy;
    uint32_t spec;    /* replicas last decided */
    uint32_t applied; /* replicas the last successful command set */
    /* 1 once the stats showed 'applied' instances ready after the last
     * command: from then on, fewer ready means instances left on their
     * own (--idle-timeout, a crash), not that they are still starting */
    int applied_seen;
    uint64_t applied_ns; /* when the last command succeeded */
    /* instances left on their own since work last needed more: replaced
     * on demand only, so --idle-timeout stays the keep-alive */
    int departed;
    /* the scale command in flight, if any */
    pid_t pid;
    uint32_t cmd_replicas;
    uint64_t cmd_started_ns;
    int cmd_signalled; /* 1: SIGTERM sent, 2: SIGKILL sent */
    uint32_t failures;
    uint64_t retry_at_ns;
    /* the last decision, for /metrics */
    uint32_t ready;
    int decided;
    int panic;
    double metric;
    /* --max-instances: when it last had queued or running work, and what
     * its policy wanted at the last tick */
    uint64_t last_active_ns;
    uint32_t wanted;
    uint64_t evictions;
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
    uint64_t commands_ok;
    uint64_t commands_failed;
    /* --metrics: the server and the text it serves (NULL when off). */
    et_metrics_http_t *metrics_http;
    et_prom_t *prom;
    uint64_t next_metrics_ns;
};

/* Render the metrics and hand them to the server, at most once a period
 * unless 'force': never waits for a client. A failure keeps the last
 * text. */
static void
s_metrics_publish(et_autoscaler_t *self, uint64_t now, int force)
{
    if (!self->metrics_http || (!force && now < self->next_metrics_ns))
        return;
    self->next_metrics_ns = now + S_METRICS_PERIOD_NS;
    et_autoscaler_function_view_t fv[ET_STATS_FUNCTIONS_MAX];
    for (uint32_t i = 0; i < self->n_functions; i++) {
        const s_function_t *f = &self->functions[i];
        fv[i] = (et_autoscaler_function_view_t){.name = f->name,
                                                .desired = f->spec,
                                                .applied = f->applied,
                                                .ready = f->ready,
                                                .decided = f->decided,
                                                .panic = f->panic,
                                                .metric = f->metric};
    }
    et_autoscaler_view_t view = {
        .policy = et_policy_kind_name(self->config.policy.kind),
        .functions = fv,
        .n_functions = self->n_functions,
        .decisions = self->decisions_made,
        .commands_ok = self->commands_ok,
        .commands_failed = self->commands_failed,
        .bad_messages = self->bad_messages};
    if (et_autoscaler_metrics_render(self->prom, &view) != 0 ||
        et_metrics_http_publish(self->metrics_http, et_prom_text(self->prom),
                                et_prom_len(self->prom)) != 0)
        ET_LOG_WARN_LIMITED("cannot render the metrics: %s", strerror(errno));
}

/* --metrics: serve, and name the URL in --endpoints-file. 0 or -1. */
static int
s_metrics_start(et_autoscaler_t *self)
{
    if (!self->config.metrics[0])
        return 0;
    self->prom = et_prom_new();
    self->metrics_http = et_metrics_http_new(self->config.metrics);
    if (!self->prom || !self->metrics_http) {
        ET_LOG_ERROR("--metrics %s: cannot serve there: %s",
                     self->config.metrics, strerror(errno));
        return -1;
    }
    s_metrics_publish(self, et_clock_mono_ns(), 1);
    ET_LOG_INFO("metrics at %s", et_metrics_http_url(self->metrics_http));
    if (self->config.endpoints_file[0]) {
        const char *const names[] = {"METRICS"};
        const char *const urls[] = {et_metrics_http_url(self->metrics_http)};
        if (et_zsock_write_endpoints(self->config.endpoints_file, names, urls,
                                     1) != 0)
            return -1;
    }
    return 0;
}

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
    if (s_metrics_start(self) != 0)
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
    et_metrics_http_destroy(&self->metrics_http);
    et_prom_destroy(&self->prom);
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
        f->applied_seen = 0;
        f->applied_ns = now;
        self->commands_ok++;
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
    f->applied_seen = 1;
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

/* An instance's memory for --max-memory-mb: --workflow's, else
 * --memory-mb. */
static uint32_t
s_memory_mb(const et_autoscaler_t *self, const char *function)
{
    const et_autoscaler_config_t *c = &self->config;
    for (uint32_t i = 0; i < c->n_memory; i++)
        if (strcmp(c->memory_names[i], function) == 0)
            return c->memory_mb_of[i] ? c->memory_mb_of[i] : c->memory_mb;
    return c->memory_mb;
}

/* --max-instances: the policies' answers fitted under the node's cap; a
 * function with work evicts idle instances of others, least recently
 * used first (autoscaler/capacity.h). */
static void
s_fit_capacity(et_autoscaler_t *self, uint64_t now)
{
    et_capacity_function_t fit[ET_STATS_FUNCTIONS_MAX];
    for (uint32_t i = 0; i < self->n_functions; i++) {
        const s_function_t *f = &self->functions[i];
        fit[i] = (et_capacity_function_t){
            .desired = f->decided ? f->wanted : f->spec,
            .current = f->spec,
            .active = f->last_active_ns == now,
            .last_active_ns = f->last_active_ns,
            .memory_mb = s_memory_mb(self, f->name)};
    }
    et_capacity_fit(fit, self->n_functions, self->config.max_instances,
                    self->config.max_memory_mb);
    for (uint32_t i = 0; i < self->n_functions; i++) {
        s_function_t *f = &self->functions[i];
        if (fit[i].evicted > 0) {
            f->evictions += fit[i].evicted;
            ET_LOG_INFO("%s: %u idle instance%s evicted (node full: "
                        "--max-instances %u, --max-memory-mb %llu)",
                        f->name, fit[i].evicted, fit[i].evicted == 1 ? "" : "s",
                        self->config.max_instances,
                        (unsigned long long)self->config.max_memory_mb);
        }
        f->spec = fit[i].granted;
    }
}

/* A scale command is sent only when the decision differs from what the
 * last command applied, so instances that leave on their own (their
 * --idle-timeout, a crash) would never be replaced while the decision
 * stays the same. Once the applied count has been seen ready, fewer ready
 * instances mean departures: 'applied' follows them down, and the next
 * decision that differs from it restarts what is wanted, once there is
 * work for it (s_tick). Instances still
 * starting are given S_START_GRACE_NS before the same is assumed; a command
 * sent too early costs nothing, as `eventide scale` counts live processes. */
static void
s_reconcile(s_function_t *f, uint32_t ready, uint64_t now)
{
    if (f->pid > 0)
        return; /* a command in flight decides what runs */
    if (ready >= f->applied) {
        f->applied_seen = 1;
        return;
    }
    if (!f->applied_seen && now - f->applied_ns < S_START_GRACE_NS)
        return;
    ET_LOG_INFO("%s: %u of %u instance(s) ready: %u left on their own", f->name,
                ready, f->applied, f->applied - ready);
    f->applied = ready;
    f->applied_seen = 1;
    f->departed = 1;
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
        s_reconcile(f, sf->instances, now);
        et_policy_decision_t d;
        et_policy_step(f->policy, &in, &d);
        self->decisions_made++;
        s_decision_log(self, f, sf, f->spec, &d);
        if (sf->queue_depth > 0 || sf->slots_busy > 0)
            f->last_active_ns = now;
        uint32_t desired = d.desired;
        if (f->departed && desired > f->applied) {
            if (sf->queue_depth == 0 && sf->slots_busy == 0)
                desired = f->applied; /* no work: they stay gone */
            else
                f->departed = 0;
        }
        f->wanted = desired;
        if (self->config.max_instances == 0 && self->config.max_memory_mb == 0)
            f->spec = desired;
        f->ready = sf->instances;
        f->decided = 1;
        f->panic = d.panic;
        f->metric = d.metric;
    }
    if (self->config.max_instances > 0 || self->config.max_memory_mb > 0)
        s_fit_capacity(self, now);
}

/* Every snapshot, not only the one a tick reads, may show the applied
 * count ready: an instance with a short --idle-timeout can come and go
 * between two ticks. */
static void
s_note_ready(et_autoscaler_t *self, const et_stats_t *stats)
{
    for (uint32_t i = 0; i < stats->n_functions; i++)
        for (uint32_t j = 0; j < self->n_functions; j++) {
            s_function_t *f = &self->functions[j];
            if (f->pid == 0 && strcmp(f->name, stats->functions[i].name) == 0 &&
                stats->functions[i].instances >= f->applied)
                f->applied_seen = 1;
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
            ok = et_autoscaler_is_safe_word(stats.functions[i].name,
                                            ET_NAME_MAX - 1);
        if (!ok) {
            self->bad_messages++;
            ET_LOG_WARN_LIMITED("dropped a bad stats message (%llu so far)",
                                (unsigned long long)self->bad_messages);
            continue;
        }
        s_note_ready(self, &stats);
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
        s_metrics_publish(self, now, 0);
        if (now >= next_tick) {
            s_tick(self, now);
            s_commands_service(self, now, 1);
            s_metrics_publish(self, now, 1);
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
