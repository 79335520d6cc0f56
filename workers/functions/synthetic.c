/* synthetic: returns its input unchanged after a service time drawn from
 * --service (common/dist.h), or computed from the event's token counts
 * (--service tokens[:PREFILL:PER_TOKEN], for LLM trace replay), either
 * sleeping (no CPU) or spinning (burning the calling thread's CPU time).
 * The queueing experiments' workhorse. */
#include "workers/function.h"

#include "common/cli.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/dist.h"
#include "common/punctual.h"
#include "common/rng.h"
#include "workers/payload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_DEFAULT_SERVICE "exp:10ms"
/* --service tokens: an LLM-like cost, prefill per prompt token plus decode
 * per generated token (docs/data.md explains the defaults). */
#define S_TOKENS "tokens"
#define S_TOKENS_PREFILL_NS (100 * ET_NS_PER_US)
#define S_TOKENS_PER_TOKEN_NS (10 * ET_NS_PER_MS)

/* One generator and one waiter per slot, each slot on its own cache
 * lines: slots run concurrently and must not share state (or a line). */
typedef struct {
    et_rng_t rng;
    et_punctual_t waiter;
} s_slot_state_t;

typedef struct {
    s_slot_state_t s;
    char pad[64 - sizeof(s_slot_state_t) % 64];
} s_slot_t;

/* What --service asks for: a distribution, or the token model. */
typedef struct {
    int tokens;
    et_dist_t dist;
    double prefill_ns;   /* tokens: per prompt (context) token */
    double per_token_ns; /* tokens: per generated token */
} s_service_t;

typedef struct {
    s_service_t service;
    et_function_mode_t mode;
    unsigned slots;
    s_slot_t *per_slot;
} s_state_t;

/* "tokens" or "tokens:PREFILL:PER_TOKEN" (durations, bare = ms). 0 or -1. */
static int
s_parse_tokens(const char *text, s_service_t *service, char *why,
               size_t why_size)
{
    service->tokens = 1;
    service->prefill_ns = S_TOKENS_PREFILL_NS;
    service->per_token_ns = S_TOKENS_PER_TOKEN_NS;
    const char *params = text + strlen(S_TOKENS);
    if (*params == '\0')
        return 0;
    char prefill[64];
    const char *per_token = strchr(params + 1, ':');
    size_t len = per_token ? (size_t)(per_token - params - 1) : 0;
    uint64_t a, b;
    if (*params != ':' || !per_token || len >= sizeof prefill)
        goto bad;
    memcpy(prefill, params + 1, len);
    prefill[len] = '\0';
    if (et_cli_parse_duration_ns(prefill, ET_NS_PER_MS, 0,
                                 (uint64_t)ET_DIST_MAX_NS, &a) != 0 ||
        et_cli_parse_duration_ns(per_token + 1, ET_NS_PER_MS, 0,
                                 (uint64_t)ET_DIST_MAX_NS, &b) != 0)
        goto bad;
    service->prefill_ns = (double)a;
    service->per_token_ns = (double)b;
    return 0;
bad:
    snprintf(why, why_size,
             "expected tokens or tokens:PREFILL:PER_TOKEN, durations in "
             "0..60 s such as tokens:0.1ms:10ms");
    return -1;
}

/* Parsing the service lives here, not in the runtime: the token model is
 * this function's own. */
static int
s_parse_service(const et_function_config_t *cfg, s_service_t *service,
                char *why, size_t why_size)
{
    /* --service, else the workflow's option service= (a trace function's
     * own percentile table), else the default. */
    const char *text =
        cfg->service ? cfg->service : et_function_option(cfg, "service");
    if (!text)
        text = S_DEFAULT_SERVICE;
    memset(service, 0, sizeof *service);
    size_t len = strlen(S_TOKENS);
    double scale = cfg->service_scale > 0 ? cfg->service_scale : 1;
    if (strncmp(text, S_TOKENS, len) == 0 &&
        (text[len] == '\0' || text[len] == ':')) {
        if (s_parse_tokens(text, service, why, why_size) != 0)
            return -1;
        service->prefill_ns *= scale;
        service->per_token_ns *= scale;
        return 0;
    }
    if (et_dist_parse(text, &service->dist, why, why_size) != 0)
        return -1;
    if (et_dist_set_scale(&service->dist, scale) != 0) {
        snprintf(why, why_size, "--service-scale must be 1e-9 to 1");
        return -1;
    }
    return 0;
}

static int
s_check(const et_function_config_t *cfg, const char **flag, const char **value,
        char *why, size_t why_size)
{
    s_service_t service;
    if (s_parse_service(cfg, &service, why, why_size) != 0) {
        *flag = cfg->service ? "--service" : "--option";
        *value = cfg->service ? cfg->service
                              : et_function_option_entry(cfg, "service");
        if (!*value)
            *value = S_DEFAULT_SERVICE;
        return -1;
    }
    if (cfg->mode != ET_FUNCTION_MODE_SLEEP &&
        cfg->mode != ET_FUNCTION_MODE_SPIN) {
        *flag = "--mode";
        *value = "?";
        snprintf(why, why_size, "expected sleep or spin");
        return -1;
    }
    static const char *const known[] = {"service", NULL};
    return et_function_check_options(cfg, known, flag, value, why, why_size);
}

static int
s_init(void **state, const et_function_config_t *cfg, char *why,
       size_t why_size)
{
    const char *flag, *value;
    if (s_check(cfg, &flag, &value, why, why_size) != 0)
        return -1;
    if (cfg->slots == 0) {
        snprintf(why, why_size, "needs at least one slot");
        return -1;
    }
    s_state_t *self = calloc(1, sizeof *self);
    if (!self)
        goto nomem;
    /* sizeof(s_slot_t) is a multiple of 64, as aligned_alloc needs. */
    self->per_slot = aligned_alloc(64, cfg->slots * sizeof *self->per_slot);
    if (!self->per_slot)
        goto nomem;
    memset(self->per_slot, 0, cfg->slots * sizeof *self->per_slot);
    if (s_parse_service(cfg, &self->service, why, why_size) != 0)
        goto fail;
    self->mode = cfg->mode;
    self->slots = cfg->slots;
    /* Replicas started with the same --seed must still differ, and so
     * must the slots of one replica; et_rng_seed mixes the sum well. */
    for (unsigned i = 0; i < cfg->slots; i++) {
        et_rng_seed(&self->per_slot[i].s.rng,
                    cfg->seed + 0x9e3779b97f4a7c15ULL * cfg->pid +
                        0xbf58476d1ce4e5b9ULL * (i + 1));
        et_punctual_init(&self->per_slot[i].s.waiter, ET_PUNCTUAL_MONO,
                         cfg->spin_share / cfg->slots);
    }
    *state = self;
    return 0;
nomem:
    snprintf(why, why_size, "out of memory");
fail:
    if (self)
        free(self->per_slot);
    free(self);
    return -1;
}

static uint64_t
s_thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * ET_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Burn this thread's CPU until it has run for 'ns'. Checking the clock
 * only every few hundred iterations keeps the work mostly arithmetic. */
static void
s_spin(uint64_t ns)
{
    uint64_t start = s_thread_cpu_ns();
    volatile uint64_t sink = start;
    while (s_thread_cpu_ns() - start < ns) {
        for (int i = 0; i < 256; i++)
            sink = sink * 6364136223846793005ULL + 1442695040888963407ULL;
    }
}

/* Wait until an absolute instant: a signal or an early wake-up never
 * shortens the service time, and the slot's punctual waiter keeps the
 * timer's late wake-up from lengthening it. */
static void
s_sleep(et_punctual_t *waiter, uint64_t ns)
{
    int64_t until = (int64_t)(et_clock_mono_ns() + ns);
    while (et_punctual_wait(waiter, until) != 0 && errno == EINTR)
        ;
}

/* Service time of a trace request: ctx x prefill + gen x per-token,
 * clamped to 60 s. 0, or -1 when the payload has no valid {ctx, gen}. */
static int
s_tokens_ns(const s_service_t *service, const void *input, size_t input_size,
            uint64_t *ns)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    const msgpack_object *ctx_obj, *gen_obj;
    uint64_t ctx = 0, gen = 0;
    int rc = -1;
    if (et_payload_unpack_map(input, input_size, &unpacked) == 0 &&
        et_payload_find_unique(&unpacked.data, "ctx", &ctx_obj) == 0 &&
        et_payload_uint(ctx_obj, UINT64_MAX, &ctx) == 0 &&
        et_payload_find_unique(&unpacked.data, "gen", &gen_obj) == 0 &&
        et_payload_uint(gen_obj, UINT64_MAX, &gen) == 0)
        rc = 0;
    msgpack_unpacked_destroy(&unpacked);
    if (rc != 0)
        return -1;
    /* Counts up to 2^64 times 60 s stay finite in a double. */
    double total =
        (double)ctx * service->prefill_ns + (double)gen * service->per_token_ns;
    *ns = total < ET_DIST_MAX_NS ? (uint64_t)total : (uint64_t)ET_DIST_MAX_NS;
    return 0;
}

static int
s_handle(void *state, unsigned slot, const void *input, size_t input_size,
         et_function_output_t *out)
{
    s_state_t *self = state;
    if (!self || slot >= self->slots)
        return ET_STATUS_ERROR;
    uint64_t ns = 0;
    if (self->service.tokens) {
        if (s_tokens_ns(&self->service, input, input_size, &ns) != 0)
            return ET_STATUS_ERROR;
    } else {
        ns =
            et_dist_sample_ns(&self->service.dist, &self->per_slot[slot].s.rng);
    }
    if (ns > 0) {
        if (self->mode == ET_FUNCTION_MODE_SPIN)
            s_spin(ns);
        else
            s_sleep(&self->per_slot[slot].s.waiter, ns);
    }
    if (input_size > 0 &&
        msgpack_sbuffer_write(out->output, input, input_size) != 0)
        return ET_STATUS_ERROR;
    return ET_STATUS_OK;
}

static void
s_fini(void **state)
{
    if (!state || !*state)
        return;
    s_state_t *self = *state;
    free(self->per_slot);
    free(self);
    *state = NULL;
}

const et_function_def_t et_function_synthetic = {
    .name = "synthetic",
    .summary = "returns its input after a --service time (--mode)",
    .uses_service = 1,
    .check = s_check,
    .init = s_init,
    .handle = s_handle,
    .fini = s_fini,
};
