/* A waiter that sleeps until just before its instant and spins for the
 * rest, within a CPU budget (see punctual.h for why). */
#include "common/punctual.h"

#include "common/clock.h"

#include <errno.h>

/* A spin's pause: lets the sibling hyperthread run and saves power. */
static inline void
s_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static int64_t
s_now(const et_punctual_t *self)
{
    return self->clock == ET_PUNCTUAL_REAL ? et_clock_real_ns()
                                           : (int64_t)et_clock_mono_ns();
}

static int
s_sleep_until(const et_punctual_t *self, int64_t at_ns)
{
    if (self->clock == ET_PUNCTUAL_REAL)
        return et_clock_sleep_until_real(at_ns);
    return at_ns < 0 ? 0 : et_clock_sleep_until_mono((uint64_t)at_ns);
}

void
et_punctual_init(et_punctual_t *self, et_punctual_clock_t clock, double share)
{
    if (!(share > 0)) /* also NaN */
        share = 0;
    if (share > 1)
        share = 1;
    *self = (et_punctual_t){
        .clock = clock,
        .budget_ns = (int64_t)(share * (double)ET_NS_PER_S),
        .late_mean_ns = ET_PUNCTUAL_MARGIN_START_NS,
    };
}

int64_t
et_punctual_margin(et_punctual_t *self, int64_t now_ns)
{
    if (self->budget_ns <= 0)
        return 0;
    if (now_ns - self->window_start_ns >= ET_NS_PER_S ||
        now_ns < self->window_start_ns) {
        self->window_start_ns = now_ns;
        self->spent_ns = 0;
    }
    int64_t margin = self->late_mean_ns + self->late_dev_ns;
    if (margin > ET_PUNCTUAL_SPIN_MAX_NS)
        margin = ET_PUNCTUAL_SPIN_MAX_NS;
    if (margin < 0)
        margin = 0;
    return self->spent_ns + margin <= self->budget_ns ? margin : 0;
}

void
et_punctual_learn(et_punctual_t *self, int64_t planned_ns, int64_t woke_ns)
{
    int64_t late = woke_ns - planned_ns;
    if (late < 0)
        late = 0;
    /* A wake-up later than a spin may cover is a busy machine: it must
     * not teach the waiter to spin for it. */
    if (late > ET_PUNCTUAL_SPIN_MAX_NS)
        late = ET_PUNCTUAL_SPIN_MAX_NS;
    /* Smoothed as TCP smooths round trips: mean by 1/8, deviation by 1/4. */
    int64_t err = late - self->late_mean_ns;
    self->late_mean_ns += err / 8;
    self->late_dev_ns += ((err < 0 ? -err : err) - self->late_dev_ns) / 4;
}

void
et_punctual_charge(et_punctual_t *self, int64_t now_ns, int64_t ns)
{
    if (now_ns - self->window_start_ns >= ET_NS_PER_S ||
        now_ns < self->window_start_ns) {
        self->window_start_ns = now_ns;
        self->spent_ns = 0;
    }
    if (ns < 0)
        ns = 0;
    self->spent_ns += ns;
    self->spins++;
    self->spun_ns += (uint64_t)ns;
}

int
et_punctual_wait(et_punctual_t *self, int64_t target_ns)
{
    int64_t now = s_now(self);
    if (now >= target_ns)
        return 0;
    int64_t margin = et_punctual_margin(self, now);
    int64_t wake_at = target_ns - margin;
    if (wake_at > now) {
        if (s_sleep_until(self, wake_at) != 0)
            return -1; /* EINTR: nothing to learn */
        now = s_now(self);
        et_punctual_learn(self, wake_at, now);
    }
    if (now >= target_ns)
        return 0;
    if (margin == 0) {
        /* Woken early without a signal (a clock step): sleep again. */
        errno = EINTR;
        return -1;
    }
    int64_t spin_start = now;
    while (now < target_ns) {
        s_relax();
        now = s_now(self);
    }
    et_punctual_charge(self, now, now - spin_start);
    return 0;
}
