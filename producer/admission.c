/* The broker's pause and rate at the source: see admission.h. */
#include "producer/admission.h"

#include <math.h>

/* When the rate's hold started (the pause's end). */
static int64_t
s_rate_from(const et_admission_t *self)
{
    return self->rate_until_ns - ET_ADMISSION_HOLD_NS;
}

/* Tokens the rate gives from 'a_ns' to 'b_ns' (both in the hold): the
 * integral of rate_eps * (1 + (t - s_rate_from) / HOLD). */
static double
s_tokens_between(const et_admission_t *self, int64_t a_ns, int64_t b_ns)
{
    double a = (double)(a_ns - s_rate_from(self));
    double b = (double)(b_ns - s_rate_from(self));
    double hold = (double)ET_ADMISSION_HOLD_NS;
    return self->rate_eps / 1e9 * ((b - a) + (b * b - a * a) / (2.0 * hold));
}

void
et_admission_advise(et_admission_t *self, int64_t now_ns, int64_t pause_ns,
                    uint32_t admit_eps, uint8_t reason)
{
    if (pause_ns > 0 && now_ns + pause_ns > self->pause_until_ns)
        self->pause_until_ns = now_ns + pause_ns;
    self->reason = reason;
    if (admit_eps == 0)
        return;
    int64_t from =
        now_ns > self->pause_until_ns ? now_ns : self->pause_until_ns;
    self->rate_eps = admit_eps;
    self->rate_until_ns = from + ET_ADMISSION_HOLD_NS;
    self->tokens = ET_ADMISSION_RUN;
    self->tokens_at_ns = from;
    self->sending = 1;
}

et_admission_verdict_t
et_admission_check(et_admission_t *self, int64_t t_ns)
{
    if (t_ns < self->pause_until_ns) {
        self->paused++;
        return ET_ADMISSION_PAUSED;
    }
    if (t_ns >= self->rate_until_ns)
        return ET_ADMISSION_SEND;
    if (t_ns > self->tokens_at_ns) {
        self->tokens += s_tokens_between(self, self->tokens_at_ns, t_ns);
        if (self->tokens > ET_ADMISSION_RUN)
            self->tokens = ET_ADMISSION_RUN;
        self->tokens_at_ns = t_ns;
    }
    /* A run of sends while tokens last, then refusals until a whole run's
     * tokens are back: refusals in runs, as SHED batches want them. */
    if (self->sending && self->tokens < 1.0)
        self->sending = 0;
    else if (!self->sending && self->tokens >= ET_ADMISSION_RUN)
        self->sending = 1;
    if (!self->sending) {
        self->over_rate++;
        return ET_ADMISSION_OVER_RATE;
    }
    self->tokens -= 1.0;
    return ET_ADMISSION_SEND;
}

int64_t
et_admission_next_send_ns(const et_admission_t *self)
{
    int64_t at = self->pause_until_ns;
    if (!self->sending && self->tokens_at_ns < self->rate_until_ns) {
        /* Solve s_tokens_between(tokens_at, tokens_at + x) = missing:
         * a x^2 + b x - missing = 0, with the rate per ns. */
        double missing = ET_ADMISSION_RUN - self->tokens;
        double per_ns = self->rate_eps / 1e9;
        double hold = (double)ET_ADMISSION_HOLD_NS;
        double a = per_ns / (2.0 * hold);
        double b =
            per_ns *
            (1.0 + (double)(self->tokens_at_ns - s_rate_from(self)) / hold);
        double wait_ns = 2.0 * missing / (b + sqrt(b * b + 4.0 * a * missing));
        int64_t refilled = self->tokens_at_ns + (int64_t)wait_ns + 1;
        if (refilled > self->rate_until_ns)
            refilled = self->rate_until_ns;
        if (refilled > at)
            at = refilled;
    }
    return at;
}
