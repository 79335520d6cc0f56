/* faulty: a function that breaks on purpose, for reliability experiments
 * and tests. Each call serves for service_ms, then with the configured
 * probabilities hangs (sleeps hang_ms, far past any stage timeout), fails
 * (returns ERROR) or crashes the whole instance (abort()). Otherwise it
 * echoes its input. The draws are seeded per slot, so a run is
 * repeatable. */
#include "workers/function.h"

#include "common/cli.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/rng.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    double service_ms;
    double hang_probability;
    double hang_ms;
    double error_probability;
    double crash_probability;
} s_params_t;

typedef struct {
    s_params_t params;
    unsigned slots;
    et_rng_t *rngs; /* one per slot */
} s_state_t;

static const char *const s_known[] = {"service_ms",        "hang_probability",
                                      "hang_ms",           "error_probability",
                                      "crash_probability", NULL};

static int
s_param(const et_function_config_t *cfg, const char *key, double min,
        double max, double *out, const char **flag, const char **value,
        char *why, size_t why_size)
{
    const char *text = et_function_option(cfg, key);
    if (!text)
        return 0;
    if (et_cli_parse_double(text, min, max, out) != 0)
        return et_function_option_error(cfg, key, flag, value, why, why_size,
                                        "%s: expected a number from %g to %g",
                                        key, min, max);
    return 0;
}

static int
s_parse(const et_function_config_t *cfg, s_params_t *p, const char **flag,
        const char **value, char *why, size_t why_size)
{
    *p = (s_params_t){.service_ms = 1, .hang_ms = 3600000};
    if (et_function_check_options(cfg, s_known, flag, value, why, why_size) !=
            0 ||
        s_param(cfg, "service_ms", 0, 60000, &p->service_ms, flag, value, why,
                why_size) ||
        s_param(cfg, "hang_probability", 0, 1, &p->hang_probability, flag,
                value, why, why_size) ||
        s_param(cfg, "hang_ms", 0, 86400000, &p->hang_ms, flag, value, why,
                why_size) ||
        s_param(cfg, "error_probability", 0, 1, &p->error_probability, flag,
                value, why, why_size) ||
        s_param(cfg, "crash_probability", 0, 1, &p->crash_probability, flag,
                value, why, why_size))
        return -1;
    return 0;
}

static int
s_check(const et_function_config_t *cfg, const char **flag, const char **value,
        char *why, size_t why_size)
{
    s_params_t p;
    return s_parse(cfg, &p, flag, value, why, why_size);
}

static int
s_init(void **state, const et_function_config_t *cfg, char *why,
       size_t why_size)
{
    const char *flag, *value;
    s_state_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    if (s_parse(cfg, &self->params, &flag, &value, why, why_size) != 0)
        goto fail;
    self->slots = cfg->slots ? cfg->slots : 1;
    self->rngs = calloc(self->slots, sizeof *self->rngs);
    if (!self->rngs) {
        snprintf(why, why_size, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < self->slots; i++)
        et_rng_seed(&self->rngs[i],
                    cfg->seed + 0x9e3779b97f4a7c15ULL * cfg->pid + i);
    *state = self;
    return 0;
fail:
    free(self->rngs);
    free(self);
    return -1;
}

static void
s_sleep_ms(double ms)
{
    uint64_t until = et_clock_mono_ns() + (uint64_t)(ms * 1e6);
    while (et_clock_sleep_until_mono(until) != 0)
        ; /* interrupted: sleep the rest */
}

static int
s_handle(void *state, unsigned slot, const void *input, size_t input_size,
         et_function_output_t *out)
{
    s_state_t *self = state;
    et_rng_t *rng = &self->rngs[slot % self->slots];
    s_sleep_ms(self->params.service_ms);
    double draw = et_rng_uniform(rng);
    const s_params_t *p = &self->params;
    if (draw < p->crash_probability)
        abort(); /* the instance dies mid-event, as a crashed one does */
    draw -= p->crash_probability;
    if (draw < p->hang_probability) {
        s_sleep_ms(p->hang_ms);
        return ET_STATUS_ERROR;
    }
    draw -= p->hang_probability;
    if (draw < p->error_probability)
        return ET_STATUS_ERROR;
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
    free(self->rngs);
    free(self);
    *state = NULL;
}

const et_function_def_t et_function_faulty = {
    .name = "faulty",
    .summary = "breaks on purpose: hangs, errors or crashes with set "
               "probabilities",
    .uses_service = 0,
    .check = s_check,
    .init = s_init,
    .handle = s_handle,
    .fini = s_fini,
};
