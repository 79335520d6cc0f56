/* Cost: Lambda bills each invocation's duration rounded up to the next
 * millisecond, and instance time by the GB-second. */
#include "collector/cost.h"

#include "common/clock.h"

#include <math.h>
#include <string.h>

static uint64_t
s_ceil_ms(int64_t ns)
{
    if (ns <= 0)
        return 0;
    uint64_t u = (uint64_t)ns;
    return u / ET_NS_PER_MS + (u % ET_NS_PER_MS != 0);
}

static uint64_t
s_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void
et_cost_meter_add(et_cost_meter_t *meter, int64_t duration_ns, int failed)
{
    uint64_t ms = s_ceil_ms(duration_ns);
    meter->invocations++;
    meter->billed_ms = s_add_sat(meter->billed_ms, ms);
    if (failed) {
        meter->failed_invocations++;
        meter->failed_billed_ms = s_add_sat(meter->failed_billed_ms, ms);
    }
}

int
et_cost_model_valid(const et_cost_model_t *m)
{
    /* 'x >= 0' is false for NaN as well. */
    return m->memory_mb >= 1 && m->memory_mb <= ET_COST_MEMORY_MB_MAX &&
           m->price_per_gb_s >= 0 && isfinite(m->price_per_gb_s) &&
           m->price_per_million_requests >= 0 &&
           isfinite(m->price_per_million_requests);
}

void
et_cost_functions(const et_cost_model_t *model, const et_cost_memory_t *memory,
                  et_function_result_t *functions, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        et_function_result_t *f = &functions[i];
        f->memory_mb = model->memory_mb;
        for (size_t k = 0; memory && k < memory->n; k++)
            if (memory->memory_mb[k] > 0 &&
                strcmp(memory->names[k], f->name) == 0) {
                f->memory_mb = memory->memory_mb[k];
                break;
            }
        double gb = (double)f->memory_mb / 1024.0;
        f->gb_s = f->lifetime_s * gb;
        f->busy_gb_s = f->busy_s * gb;
        f->idle_gb_s = f->idle_s * gb;
        f->usd = f->gb_s * model->price_per_gb_s;
    }
}

void
et_cost_price(const et_cost_model_t *model, const et_cost_meter_t *meter,
              size_t instances, const et_function_result_t *functions, size_t n,
              et_cost_t *c)
{
    memset(c, 0, sizeof *c);
    c->model = *model;
    if (instances == 0)
        return;
    c->present = 1;
    double gb = (double)c->model.memory_mb / 1024.0;
    c->requests = meter->invocations;
    for (size_t i = 0; i < n; i++) {
        c->instance_gb_s += functions[i].gb_s;
        c->busy_gb_s += functions[i].busy_gb_s;
        c->idle_gb_s += functions[i].idle_gb_s;
    }
    c->billed_gb_s = (double)meter->billed_ms / 1000.0 * gb;
    double requests_usd =
        (double)c->requests * c->model.price_per_million_requests / 1e6;
    c->usd_instances =
        c->instance_gb_s * c->model.price_per_gb_s + requests_usd;
    c->usd_invocations =
        c->billed_gb_s * c->model.price_per_gb_s + requests_usd;
    c->failed_attempts = meter->failed_invocations;
    c->failed_attempts_gb_s = (double)meter->failed_billed_ms / 1000.0 * gb;
    c->usd_failed_attempts =
        c->failed_attempts_gb_s * c->model.price_per_gb_s +
        (double)c->failed_attempts * c->model.price_per_million_requests / 1e6;
    if (c->usd_invocations > 0)
        c->retry_share = c->usd_failed_attempts / c->usd_invocations;
}
