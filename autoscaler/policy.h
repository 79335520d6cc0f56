/* Scaling policies as pure functions of their inputs and state: Knative's
 * KPA (concurrency, stable and panic windows), Kubernetes' HPA (utilization,
 * tolerance, scale-down stabilisation) and OpenFaaS-style RPS steps. No
 * sockets and no clocks: every call brings its own timestamps, so tests can
 * replay any metric sequence exactly. */
#ifndef ET_POLICY_H
#define ET_POLICY_H

#include <stdint.h>

typedef enum {
    ET_POLICY_KPA = 0,
    ET_POLICY_HPA = 1,
    ET_POLICY_RPS = 2
} et_policy_kind_t;

/* Longest window any policy keeps, and the shortest tick: together they
 * bound the samples one function's state holds (36001). */
#define ET_POLICY_WINDOW_MAX_NS (3600LL * 1000000000LL)
#define ET_POLICY_TICK_MIN_NS (100LL * 1000000LL)
#define ET_POLICY_REPLICAS_MAX 10000

typedef struct {
    et_policy_kind_t kind;
    uint32_t min_replicas;
    uint32_t max_replicas;
    uint64_t tick_ns; /* decision period; sizes the sample windows */

    /* kpa */
    double target;                   /* concurrency per instance */
    uint64_t stable_window_ns;       /* 60 s */
    uint64_t panic_window_ns;        /* 6 s (10% of the stable window) */
    double panic_threshold;          /* 2.0: panic-window desired / ready */
    double max_scale_up_rate;        /* 1000 */
    double max_scale_down_rate;      /* 2 */
    uint64_t scale_to_zero_grace_ns; /* 30 s */

    /* hpa */
    double target_utilization; /* 0.7 */
    double tolerance;          /* 0.1 */
    uint64_t stabilization_ns; /* 300 s, scale-down only */
    double scale_up_percent;   /* 100: at most double per period ... */
    uint32_t scale_up_pods;    /* 4: ... or add 4, whichever is more */

    /* rps */
    double target_rps;       /* arrivals per second per instance: 10 */
    uint32_t step;           /* replicas per step; 0: 20% of max, >= 1 */
    uint64_t cooldown_ns;    /* 30 s below target before a step down */
    uint64_t rate_window_ns; /* 10 s, as OpenFaaS's rate(...[10s]) */
} et_policy_config_t;

/* Fill 'config' with the real platform's defaults for 'kind' (min 0 for
 * kpa, 1 otherwise; max 10; tick 2 s for kpa and rps, 15 s for hpa). */
void et_policy_config_defaults(et_policy_config_t *config,
                               et_policy_kind_t kind);

/* Check a config's ranges and cross-field rules. Returns 0, or -1 and sets
 * *flag to the command-line flag at fault and *why to a static sentence. */
int et_policy_config_check(const et_policy_config_t *config, const char **flag,
                           const char **why);

/* Parse "kpa", "hpa" or "rps". Returns 0 or -1. */
int et_policy_parse_kind(const char *text, et_policy_kind_t *kind);
const char *et_policy_kind_name(et_policy_kind_t kind);

/* The replicas an rps step moves: config->step, or 20% of max (ceil, >= 1)
 * when it is 0, as OpenFaaS's scaling factor. */
uint32_t et_policy_rps_step(const et_policy_config_t *config);

/* One function's metrics at one tick. */
typedef struct {
    uint64_t now_ns;   /* the decision's time (monotonic) */
    int64_t sample_ns; /* when the broker took the snapshot (for rates) */
    uint32_t current;  /* replicas last asked for (the "spec") */
    uint32_t ready;    /* instances that said READY */
    uint32_t queue_depth;
    uint32_t slots_total;
    uint32_t slots_busy;
    uint64_t completed; /* cumulative stage completions */
} et_policy_input_t;

typedef struct {
    uint32_t desired;   /* within [min, max] */
    uint32_t raw;       /* the metric's own answer, before limits and clamps */
    int panic;          /* kpa: in panic mode */
    double metric;      /* kpa: concurrency; hpa: utilization; rps: per inst. */
    double stable_avg;  /* kpa: stable-window concurrency */
    double panic_avg;   /* kpa: panic-window concurrency */
    double rate;        /* rps: arrivals per second (all instances) */
    const char *reason; /* static text */
    const char *clamped; /* "--min", "--max" or NULL */
} et_policy_decision_t;

typedef struct et_policy_t et_policy_t;

/* New state for one function under a checked 'config' (copied). Returns
 * NULL with errno (EINVAL for a bad config, ENOMEM). */
et_policy_t *et_policy_new(const et_policy_config_t *config);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_policy_destroy(et_policy_t **self_p);

/* Feed one tick's input and decide. Calls must come with non-decreasing
 * now_ns. Never fails. */
void et_policy_step(et_policy_t *self, const et_policy_input_t *in,
                    et_policy_decision_t *out);

#endif
