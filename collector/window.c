/* Load-window arithmetic: counts kept as completions arrive, so nothing
 * per event is stored. HELLO reaches the collector before any record of
 * its producer's events, which is what lets a later HELLO settle the
 * drained count at once. */
#include "collector/window.h"

#include "common/ckpt.h"

#include <errno.h>
#include <math.h>
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

int
et_window_slice(et_window_t *self, int64_t intended_ns)
{
    if (self->slice_end_ns <= self->slice_start_ns) {
        if (!et_window_bounds(self, &self->slice_start_ns, &self->slice_end_ns))
            return -1;
    }
    int64_t start = self->slice_start_ns, end = self->slice_end_ns;
    if (intended_ns < start || intended_ns >= end)
        return -1;
    /* In doubles: (intended - start) x K overflows int64 for long W. */
    double at = (double)(intended_ns - start) / (double)(end - start);
    int slice = (int)(at * ET_WINDOW_SLICES);
    return slice < ET_WINDOW_SLICES ? slice : ET_WINDOW_SLICES - 1;
}

void
et_slices_add(et_slices_t *self, int slice, double value)
{
    if (slice < 0 || slice >= ET_WINDOW_SLICES || !isfinite(value))
        return;
    self->sum[slice] += value;
    self->count[slice]++;
}

void
et_slices_ci95(const et_slices_t *self, et_ci95_t *out)
{
    double means[ET_WINDOW_SLICES];
    size_t n = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < ET_WINDOW_SLICES; i++)
        if (self->count[i] > 0)
            means[n++] = self->sum[i] / (double)self->count[i];
    out->batches = (uint32_t)n;
    out->known =
        et_window_batch_ci(means, n, &out->mean, &out->half_width) == 0;
}

double
et_window_t975(unsigned dof)
{
    static const double table[31] = {
        0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
        2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
        2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (dof == 0)
        return INFINITY;
    if (dof <= 30)
        return table[dof];
    double z = 1.959964, n = (double)dof;
    return z + (z * z * z + z) / (4.0 * n);
}

int
et_window_batch_ci(const double *batch_means, size_t n, double *mean,
                   double *half_width)
{
    if (n < 2)
        return -1;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(batch_means[i]))
            return -1;
        sum += batch_means[i];
    }
    double m = sum / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (batch_means[i] - m) * (batch_means[i] - m);
    *mean = m;
    *half_width = et_window_t975((unsigned)(n - 1)) *
                  sqrt(ss / (double)(n - 1)) / sqrt((double)n);
    return 0;
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 1u

int
et_window_save(const et_window_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, 9);
    rc |= et_ckpt_pack_i64(pk, self->start_ns);
    rc |= et_ckpt_pack_i64(pk, self->end_ns);
    rc |= et_ckpt_pack_u64(pk, self->in_window);
    rc |= et_ckpt_pack_u64(pk, self->drained);
    rc |= et_ckpt_pack_i64(pk, self->first_intended_ns);
    rc |= et_ckpt_pack_i64(pk, self->last_completion_ns);
    rc |= et_ckpt_pack_i64(pk, self->slice_start_ns);
    rc |= et_ckpt_pack_i64(pk, self->slice_end_ns);
    return rc ? -1 : 0;
}

int
et_window_load(et_window_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, 9);
    self->start_ns = et_ckpt_i64(&in);
    self->end_ns = et_ckpt_i64(&in);
    self->in_window = et_ckpt_u64(&in, UINT64_MAX);
    self->drained = et_ckpt_u64(&in, UINT64_MAX);
    self->first_intended_ns = et_ckpt_i64(&in);
    self->last_completion_ns = et_ckpt_i64(&in);
    self->slice_start_ns = et_ckpt_i64(&in);
    self->slice_end_ns = et_ckpt_i64(&in);
    if (et_ckpt_done(&in) != 0)
        return -1;
    if (self->end_ns < self->start_ns ||
        self->slice_end_ns < self->slice_start_ns) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int
et_slices_save(const et_slices_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, 1 + 2 * ET_WINDOW_SLICES);
    for (int i = 0; i < ET_WINDOW_SLICES; i++) {
        rc |= et_ckpt_pack_f64(pk, self->sum[i]);
        rc |= et_ckpt_pack_u64(pk, self->count[i]);
    }
    return rc ? -1 : 0;
}

int
et_slices_load(et_slices_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, 1 + 2 * ET_WINDOW_SLICES);
    for (int i = 0; i < ET_WINDOW_SLICES; i++) {
        self->sum[i] = et_ckpt_f64(&in);
        self->count[i] = et_ckpt_u64(&in, UINT64_MAX);
        if (!isfinite(self->sum[i]) ||
            (self->count[i] == 0 && self->sum[i] != 0))
            et_ckpt_fail(&in);
    }
    return et_ckpt_done(&in);
}
