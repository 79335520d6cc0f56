/* Load-window arithmetic: counts kept as completions arrive, so nothing
 * per event is stored. HELLO reaches the collector before any record of
 * its producer's events, which is what lets a later HELLO settle the
 * drained count at once. */
#include "collector/window.h"

#include <string.h>

void
et_window_schedule(et_window_t *self, int64_t started_ns, int64_t duration_ns)
{
    if (started_ns <= 0 || duration_ns < 0)
        return;
    /* A hostile start next to INT64_MAX is clamped, not overflowed. */
    int64_t end_ns = duration_ns > INT64_MAX - started_ns
                         ? INT64_MAX
                         : started_ns + duration_ns;
    if (self->start_ns == 0 || started_ns < self->start_ns)
        self->start_ns = started_ns;
    if (end_ns > self->end_ns) {
        self->end_ns = end_ns;
        self->in_window += self->drained;
        self->drained = 0;
    }
}

int
et_window_bounds(const et_window_t *self, int64_t *start_ns, int64_t *end_ns)
{
    if (self->start_ns <= 0 || self->end_ns <= self->start_ns)
        return 0;
    *start_ns = self->start_ns;
    *end_ns = self->end_ns;
    return 1;
}

void
et_window_arrival(et_window_t *self, int64_t intended_ns)
{
    if (intended_ns > 0 &&
        (self->first_intended_ns == 0 || intended_ns < self->first_intended_ns))
        self->first_intended_ns = intended_ns;
}

void
et_window_completion(et_window_t *self, int64_t t_ns)
{
    if (t_ns > self->last_completion_ns)
        self->last_completion_ns = t_ns;
    /* Before any HELLO the window's end is unknown: held as drained until
     * a schedule takes it in. A completion before W's start (a producer
     * clock behind the broker's) still counts inside. */
    if (self->end_ns > 0 && t_ns <= self->end_ns)
        self->in_window++;
    else
        self->drained++;
}

void
et_window_fill(const et_window_t *self, uint64_t sent, et_window_result_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t start = self->start_ns, end = self->end_ns;
    uint64_t in_window = self->in_window, drained = self->drained;
    out->schedule = end > start && start > 0;
    if (!out->schedule) {
        /* No schedule announced: every completion up to the last. */
        start = self->first_intended_ns;
        end = self->last_completion_ns;
        in_window += drained;
        drained = 0;
    }
    if (start <= 0 || end <= start)
        return;
    out->window_s = (double)(end - start) / 1e9;
    out->in_window = in_window;
    out->drained = drained;
    if (drained > 0 && self->last_completion_ns > end)
        out->drain_s = (double)(self->last_completion_ns - end) / 1e9;
    out->mean_eps = (double)in_window / out->window_s;
    out->offered_eps = (double)sent / out->window_s;
}
