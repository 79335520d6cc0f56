/* The three scaling policies. Each follows its platform's published
 * algorithm (Knative's autoscaler.Scale and scaler.handleScaleToZero,
 * Kubernetes' replica calculator and stabilizeRecommendationWithBehaviors,
 * OpenFaaS's scaling factor), reduced to one call per tick. */
#include "autoscaler/policy.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_NS_PER_S 1e9
#define S_SECOND 1000000000ULL

typedef struct {
    uint64_t t_ns;
    double value;
} s_sample_t;

/* A time-ordered ring of samples; full means the oldest is overwritten. */
typedef struct {
    s_sample_t *items;
    size_t cap;
    size_t head; /* oldest */
    size_t size;
} s_ring_t;

struct et_policy_t {
    et_policy_config_t config;
    s_ring_t ring; /* kpa: concurrency; hpa: recommendations; rps: arrivals */
    /* kpa */
    int panicking;
    uint64_t panic_time_ns; /* last tick over the panic threshold */
    uint32_t max_panic_pods;
    int zero_pending;
    uint64_t zero_since_ns;
    /* rps */
    int below;
    uint64_t below_since_ns;
    int have_sample;
    int64_t last_sample_ns;
    uint64_t last_completed;
};

/* ---- config ---------------------------------------------------------------
 */

void
et_policy_config_defaults(et_policy_config_t *c, et_policy_kind_t kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->min_replicas = kind == ET_POLICY_KPA ? 0 : 1;
    c->max_replicas = 10;
    c->tick_ns = (kind == ET_POLICY_HPA ? 15 : 2) * S_SECOND;
    c->target = 1;
    c->stable_window_ns = 60 * S_SECOND;
    c->panic_window_ns = 6 * S_SECOND;
    c->panic_threshold = 2.0;
    c->max_scale_up_rate = 1000;
    c->max_scale_down_rate = 2;
    c->scale_to_zero_grace_ns = 30 * S_SECOND;
    c->target_utilization = 0.7;
    c->tolerance = 0.1;
    c->stabilization_ns = 300 * S_SECOND;
    c->scale_up_percent = 100;
    c->scale_up_pods = 4;
    c->target_rps = 10;
    c->step = 0;
    c->cooldown_ns = 30 * S_SECOND;
    c->rate_window_ns = 10 * S_SECOND;
}

static int
s_reject(const char **flag, const char **why, const char *f, const char *w)
{
    if (flag)
        *flag = f;
    if (why)
        *why = w;
    return -1;
}

int
et_policy_config_check(const et_policy_config_t *c, const char **flag,
                       const char **why)
{
    if (c->kind != ET_POLICY_KPA && c->kind != ET_POLICY_HPA &&
        c->kind != ET_POLICY_RPS)
        return s_reject(flag, why, "--policy", "expected kpa, hpa or rps");
    if (c->max_replicas < 1 || c->max_replicas > ET_POLICY_REPLICAS_MAX)
        return s_reject(flag, why, "--max", "expected 1 to 10000 replicas");
    if (c->min_replicas > c->max_replicas)
        return s_reject(flag, why, "--min", "must not exceed --max");
    if (c->tick_ns < ET_POLICY_TICK_MIN_NS || c->tick_ns > 3600 * S_SECOND)
        return s_reject(flag, why, "--tick", "expected 0.1 to 3600 s");
    if (!(c->target > 0 && c->target <= 1e6))
        return s_reject(flag, why, "--target",
                        "expected a concurrency above 0, at most 1e6");
    /* Windows shorter than a tick matter only to their own policy. */
    if ((c->kind == ET_POLICY_KPA && c->stable_window_ns < c->tick_ns) ||
        c->stable_window_ns > ET_POLICY_WINDOW_MAX_NS)
        return s_reject(flag, why, "--stable-window",
                        "expected at least one --tick, at most 3600 s");
    if (c->panic_window_ns < 1 || c->panic_window_ns > c->stable_window_ns)
        return s_reject(flag, why, "--panic-window",
                        "expected above 0 and at most --stable-window");
    if (!(c->panic_threshold >= 1 && c->panic_threshold <= 100))
        return s_reject(flag, why, "--panic-threshold",
                        "expected a ratio from 1 to 100 (2 = 200%)");
    if (!(c->max_scale_up_rate > 1 && c->max_scale_up_rate <= 1e6))
        return s_reject(flag, why, "--max-scale-up-rate",
                        "expected a rate above 1, at most 1e6");
    if (!(c->max_scale_down_rate > 1 && c->max_scale_down_rate <= 1e6))
        return s_reject(flag, why, "--max-scale-down-rate",
                        "expected a rate above 1, at most 1e6");
    if (c->scale_to_zero_grace_ns > ET_POLICY_WINDOW_MAX_NS)
        return s_reject(flag, why, "--scale-to-zero-grace",
                        "expected 0 to 3600 s");
    if (!(c->target_utilization > 0 && c->target_utilization <= 1))
        return s_reject(flag, why, "--target-utilization",
                        "expected a fraction above 0, at most 1");
    if (!(c->tolerance >= 0 && c->tolerance < 1))
        return s_reject(flag, why, "--tolerance",
                        "expected a fraction from 0, below 1");
    if (c->stabilization_ns > ET_POLICY_WINDOW_MAX_NS)
        return s_reject(flag, why, "--stabilization", "expected 0 to 3600 s");
    if (!(c->scale_up_percent >= 0 && c->scale_up_percent <= 1e6))
        return s_reject(flag, why, "--scale-up-percent",
                        "expected 0 to 1e6 percent");
    if (c->scale_up_percent <= 0 && c->scale_up_pods == 0)
        return s_reject(flag, why, "--scale-up-pods",
                        "must be above 0 when --scale-up-percent is 0");
    if (!(c->target_rps > 0 && c->target_rps <= 1e9))
        return s_reject(flag, why, "--target-rps",
                        "expected a rate above 0, at most 1e9");
    if (c->step > c->max_replicas)
        return s_reject(flag, why, "--step", "must not exceed --max");
    if (c->cooldown_ns > ET_POLICY_WINDOW_MAX_NS)
        return s_reject(flag, why, "--cooldown", "expected 0 to 3600 s");
    if ((c->kind == ET_POLICY_RPS && c->rate_window_ns < c->tick_ns) ||
        c->rate_window_ns > ET_POLICY_WINDOW_MAX_NS)
        return s_reject(flag, why, "--rate-window",
                        "expected at least one --tick, at most 3600 s");
    return 0;
}

int
et_policy_parse_kind(const char *text, et_policy_kind_t *kind)
{
    if (!text)
        return -1;
    if (strcmp(text, "kpa") == 0)
        *kind = ET_POLICY_KPA;
    else if (strcmp(text, "hpa") == 0)
        *kind = ET_POLICY_HPA;
    else if (strcmp(text, "rps") == 0)
        *kind = ET_POLICY_RPS;
    else
        return -1;
    return 0;
}

const char *
et_policy_kind_name(et_policy_kind_t kind)
{
    switch (kind) {
    case ET_POLICY_KPA:
        return "kpa";
    case ET_POLICY_HPA:
        return "hpa";
    case ET_POLICY_RPS:
        return "rps";
    }
    return "?";
}

uint32_t
et_policy_rps_step(const et_policy_config_t *c)
{
    if (c->step > 0)
        return c->step;
    /* OpenFaaS: ceil(max / 100 * scaling factor 20). */
    uint32_t step = (c->max_replicas * 20 + 99) / 100;
    return step > 0 ? step : 1;
}

/* ---- samples --------------------------------------------------------------
 */

static s_sample_t *
s_ring_at(s_ring_t *r, size_t i)
{
    return &r->items[(r->head + i) % r->cap];
}

static void
s_ring_push(s_ring_t *r, uint64_t t_ns, double value)
{
    if (r->size == r->cap) {
        r->head = (r->head + 1) % r->cap;
        r->size--;
    }
    s_sample_t *s = &r->items[(r->head + r->size) % r->cap];
    s->t_ns = t_ns;
    s->value = value;
    r->size++;
}

/* Drop samples at or before 'cutoff_ns' (a window is (now - w, now]). */
static void
s_ring_evict(s_ring_t *r, uint64_t now_ns, uint64_t window_ns)
{
    while (r->size > 0) {
        uint64_t t = s_ring_at(r, 0)->t_ns;
        if (now_ns - t < window_ns)
            break;
        r->head = (r->head + 1) % r->cap;
        r->size--;
    }
}

/* Mean of the samples within (now - window, now]; 0 when there are none
 * (Knative divides by the buckets it has, not by the whole window). */
static double
s_ring_mean(s_ring_t *r, uint64_t now_ns, uint64_t window_ns)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < r->size; i++) {
        s_sample_t *s = s_ring_at(r, i);
        if (now_ns - s->t_ns < window_ns) {
            sum += s->value;
            n++;
        }
    }
    return n ? sum / (double)n : 0;
}

static double
s_ring_max(s_ring_t *r)
{
    double max = 0;
    for (size_t i = 0; i < r->size; i++)
        if (s_ring_at(r, i)->value > max)
            max = s_ring_at(r, i)->value;
    return max;
}

/* A window of n ticks holds n samples even when ticks jitter: the edge
 * sits half a tick inside it (Knative aligns to 1 s buckets instead). */
static uint64_t
s_window(const et_policy_config_t *c, uint64_t window_ns)
{
    uint64_t half = c->tick_ns / 2;
    return window_ns > half + 1 ? window_ns - half : 1;
}

/* ceil() that forgives floating-point noise: 2.1 / 0.7 is 3, not 4. */
static double
s_ceil(double x)
{
    return ceil(x - 1e-9);
}

static uint32_t
s_to_replicas(double x)
{
    if (!(x > 0))
        return 0;
    if (x >= ET_POLICY_REPLICAS_MAX)
        return ET_POLICY_REPLICAS_MAX;
    return (uint32_t)x;
}

static uint32_t
s_clamp(const et_policy_config_t *c, uint32_t n, et_policy_decision_t *out)
{
    if (n < c->min_replicas) {
        out->clamped = "--min";
        return c->min_replicas;
    }
    if (n > c->max_replicas) {
        out->clamped = "--max";
        return c->max_replicas;
    }
    return n;
}

/* ---- lifecycle ------------------------------------------------------------
 */

et_policy_t *
et_policy_new(const et_policy_config_t *config)
{
    if (et_policy_config_check(config, NULL, NULL) != 0) {
        errno = EINVAL;
        return NULL;
    }
    et_policy_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    uint64_t window = config->kind == ET_POLICY_KPA   ? config->stable_window_ns
                      : config->kind == ET_POLICY_HPA ? config->stabilization_ns
                                                      : config->rate_window_ns;
    /* One sample per tick, plus the one at the window's far edge. */
    self->ring.cap = (size_t)(window / config->tick_ns) + 2;
    self->ring.items = calloc(self->ring.cap, sizeof *self->ring.items);
    if (!self->ring.items) {
        free(self);
        errno = ENOMEM;
        return NULL;
    }
    return self;
}

void
et_policy_destroy(et_policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->ring.items);
    free(*self_p);
    *self_p = NULL;
}

/* ---- kpa ------------------------------------------------------------------
 */

static void
s_kpa(et_policy_t *self, const et_policy_input_t *in, et_policy_decision_t *out)
{
    const et_policy_config_t *c = &self->config;
    /* In flight plus waiting: what Knative's queue-proxy and activator
     * report as a revision's concurrency. */
    double concurrency = (double)in->slots_busy + (double)in->queue_depth;
    s_ring_push(&self->ring, in->now_ns, concurrency);
    uint64_t stable_window = s_window(c, c->stable_window_ns);
    uint64_t panic_window = s_window(c, c->panic_window_ns);
    s_ring_evict(&self->ring, in->now_ns, stable_window);
    out->metric = concurrency;
    out->stable_avg = s_ring_mean(&self->ring, in->now_ns, stable_window);
    out->panic_avg = s_ring_mean(&self->ring, in->now_ns, panic_window);

    double ready = in->ready > 0 ? in->ready : 1;
    double max_up = ceil(c->max_scale_up_rate * ready);
    double max_down = floor(ready / c->max_scale_down_rate);
    double dspc = s_ceil(out->stable_avg / c->target);
    double dppc = s_ceil(out->panic_avg / c->target);
    uint32_t stable = s_to_replicas(fmin(fmax(dspc, max_down), max_up));
    uint32_t panic = s_to_replicas(fmin(fmax(dppc, max_down), max_up));
    out->raw = s_to_replicas(dspc);

    int over = dppc / ready >= c->panic_threshold;
    if (over) {
        self->panicking = 1;
        self->panic_time_ns = in->now_ns; /* each burst extends the panic */
    } else if (self->panicking &&
               in->now_ns - self->panic_time_ns >= c->stable_window_ns) {
        self->panicking = 0;
        self->max_panic_pods = 0;
    }
    uint32_t desired = stable;
    out->reason = "stable window";
    if (self->panicking) {
        /* Provision for the larger of the two; never scale down. */
        if (panic > desired)
            desired = panic;
        if (desired > self->max_panic_pods)
            self->max_panic_pods = desired;
        if (dppc > dspc)
            out->raw = s_to_replicas(dppc);
        desired = self->max_panic_pods;
        out->reason = over ? "panic: burst over threshold"
                           : "panic: holding until a stable window passes";
    } else if (dspc < max_down && stable > 0) {
        out->reason = "stable window, limited by --max-scale-down-rate";
    } else if (dspc > max_up) {
        out->reason = "stable window, limited by --max-scale-up-rate";
    }
    out->panic = self->panicking;

    /* The activator: work waiting with nothing to serve it means at least
     * one instance now, whatever the windows say. */
    if (concurrency > 0 && desired == 0) {
        desired = 1;
        out->reason = "activator: work waiting at zero";
    }
    if (desired == 0 && c->min_replicas == 0 && in->current > 0) {
        /* Knative marks the revision inactive once the stable window wants
         * zero, then keeps the last instance for the grace period. */
        if (!self->zero_pending) {
            self->zero_pending = 1;
            self->zero_since_ns = in->now_ns;
        }
        if (in->now_ns - self->zero_since_ns < c->scale_to_zero_grace_ns) {
            desired = 1;
            out->reason = "idle: keeping one for the scale-to-zero grace";
        } else {
            out->reason = "idle for the scale-to-zero grace: to zero";
        }
    } else if (desired > 0) {
        self->zero_pending = 0;
    }
    out->desired = s_clamp(c, desired, out);
}

/* ---- hpa ------------------------------------------------------------------
 */

static void
s_hpa(et_policy_t *self, const et_policy_input_t *in, et_policy_decision_t *out)
{
    const et_policy_config_t *c = &self->config;
    out->metric = in->slots_total > 0
                      ? (double)in->slots_busy / (double)in->slots_total
                      : 0;
    uint32_t raw;
    if (in->ready == 0) {
        /* No ready instance, no metric: Kubernetes skips the period. From
         * zero it would stay at zero; Eventide treats waiting work as a
         * scale to one (what KEDA's activation adds to an HPA). */
        if (in->current == 0 && in->queue_depth > 0) {
            out->raw = 1;
            out->desired = s_clamp(c, 1, out);
            out->reason = "work waiting at zero: scale from zero";
        } else {
            out->raw = in->current;
            out->desired = s_clamp(c, in->current, out);
            out->reason = in->current ? "no ready instance: no metric, hold"
                                      : "idle at zero";
        }
        return;
    }
    double ratio = out->metric / c->target_utilization;
    if (fabs(ratio - 1) <= c->tolerance) {
        raw = in->current;
        out->reason = "within tolerance";
    } else {
        raw = s_to_replicas(s_ceil(ratio * (double)in->ready));
        out->reason = raw > in->current   ? "utilization above target"
                      : raw < in->current ? "utilization below target"
                                          : "at target";
    }
    out->raw = raw;
    s_ring_push(&self->ring, in->now_ns, (double)raw);
    s_ring_evict(&self->ring, in->now_ns, s_window(c, c->stabilization_ns));

    uint32_t desired = in->current;
    if (raw < in->current) {
        /* The highest recommendation of the stabilisation window wins. */
        uint32_t held = s_to_replicas(s_ring_max(&self->ring));
        desired = held < in->current ? held : in->current;
        if (desired > raw)
            out->reason = "scale-down stabilisation: highest recent "
                          "recommendation";
    } else if (raw > in->current) {
        double limit =
            fmax(ceil((double)in->current * (1 + c->scale_up_percent / 100)),
                 (double)in->current + c->scale_up_pods);
        desired = raw;
        if ((double)raw > limit) {
            desired = s_to_replicas(limit);
            out->reason = "utilization above target, limited by scale-up "
                          "policy";
        }
    }
    out->desired = s_clamp(c, desired, out);
}

/* ---- rps ------------------------------------------------------------------
 */

static void
s_rps(et_policy_t *self, const et_policy_input_t *in, et_policy_decision_t *out)
{
    const et_policy_config_t *c = &self->config;
    uint32_t step = et_policy_rps_step(c);
    uint64_t in_system = (uint64_t)in->queue_depth + in->slots_busy;
    if (self->have_sample && in->completed < self->last_completed)
        self->ring.size = 0; /* the broker restarted: counters went back */
    if (!self->have_sample || in->sample_ns > self->last_sample_ns ||
        self->ring.size == 0) {
        /* Arrivals so far = completions + what is waiting or in service,
         * so the rate sees work that is queued but not yet served. The
         * ring is keyed by the broker's snapshot time, not by ticks. */
        uint64_t t = in->sample_ns > 0 ? (uint64_t)in->sample_ns : 0;
        s_ring_push(&self->ring, t, (double)(in->completed + in_system));
        s_ring_evict(&self->ring, t, c->rate_window_ns + 1);
        self->have_sample = 1;
        self->last_sample_ns = in->sample_ns;
        self->last_completed = in->completed;
    }
    int have_rate = 0;
    if (self->ring.size >= 2) {
        s_sample_t *first = s_ring_at(&self->ring, 0);
        s_sample_t *last = s_ring_at(&self->ring, self->ring.size - 1);
        if (last->t_ns > first->t_ns) {
            double arrivals = last->value - first->value;
            out->rate = arrivals > 0 ? arrivals * S_NS_PER_S /
                                           (double)(last->t_ns - first->t_ns)
                                     : 0;
            have_rate = 1;
        }
    }
    uint32_t serving = in->ready > in->current ? in->ready : in->current;
    out->metric = out->rate / (serving > 0 ? serving : 1);
    uint32_t desired = in->current;
    if (in->current == 0) {
        /* The gateway scales a function from zero on its first request. */
        self->below = 0;
        if (in_system > 0 || out->rate > 0) {
            desired = 1;
            out->reason = "work waiting at zero: scale from zero";
        } else {
            out->reason = "idle at zero";
        }
    } else if (!have_rate) {
        out->reason = "no rate yet: hold";
    } else if (out->metric > c->target_rps) {
        self->below = 0;
        desired = in->current + step;
        out->reason = "above target: step up";
    } else if (out->metric < c->target_rps) {
        /* Never below what the load needs at target, so a step down does
         * not bounce straight back up. */
        uint32_t needed = s_to_replicas(s_ceil(out->rate / c->target_rps));
        if (!self->below) {
            self->below = 1;
            self->below_since_ns = in->now_ns;
        }
        if (in->current <= c->min_replicas) {
            self->below = 0;
            out->reason = "below target, at --min";
        } else if (needed >= in->current) {
            out->reason = "below target, but the load needs every replica";
        } else if (in->now_ns - self->below_since_ns >= c->cooldown_ns) {
            desired = in->current > step ? in->current - step : 0;
            if (desired < needed)
                desired = needed;
            self->below_since_ns = in->now_ns; /* the next step waits too */
            out->reason = "below target for the cool-down: step down";
        } else {
            out->reason = "below target: cooling down";
        }
    } else {
        self->below = 0;
        out->reason = "at target";
    }
    out->raw = desired;
    out->desired = s_clamp(c, desired, out);
}

void
et_policy_step(et_policy_t *self, const et_policy_input_t *in,
               et_policy_decision_t *out)
{
    memset(out, 0, sizeof *out);
    switch (self->config.kind) {
    case ET_POLICY_KPA:
        s_kpa(self, in, out);
        break;
    case ET_POLICY_HPA:
        s_hpa(self, in, out);
        break;
    case ET_POLICY_RPS:
        s_rps(self, in, out);
        break;
    }
}
