/* Fuzz target: summary.json as eventide-report reads it (report/summary.c,
 * et_summary_parse). A results directory is a file a user can hand us from
 * anywhere, so what parses must keep every bound the reports rely on, a
 * refusal must say why in printable text and leave nothing to free, and
 * parsing is deterministic. */
#include "report/summary.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_fail(const char *what)
{
    fprintf(stderr, "fuzz_summary: %s\n", what);
    abort();
}

static void
s_check_text(const char *text, size_t size, const char *what)
{
    const char *end = memchr(text, '\0', size);
    if (!end)
        s_fail(what);
    for (const char *p = text; p < end; p++)
        if (*p < 0x20 || *p > 0x7e)
            s_fail(what);
}

static void
s_check_fields(const et_summary_fields_t *f)
{
    if (!f->present && (f->n_fields != 0 || f->fields))
        s_fail("an absent object has fields");
    if (f->n_fields > ET_SUMMARY_FIELDS_MAX)
        s_fail("too many generic fields");
    for (size_t i = 0; i < f->n_fields; i++) {
        s_check_text(f->fields[i].name, sizeof f->fields[i].name,
                     "field name not printable");
        s_check_text(f->fields[i].value, sizeof f->fields[i].value,
                     "field value not printable");
    }
}

/* What every accepted summary must satisfy. */
static void
s_check_summary(const et_summary_t *s)
{
    if (!(s->rate_eps > 0) || !(s->duration_s > 0))
        s_fail("run.rate_eps or run.duration_s not positive");
    if (s->n_stages > ET_SUMMARY_STAGES_MAX || (s->n_stages && !s->stages))
        s_fail("stage count out of range");
    if (s->n_functions > ET_SUMMARY_FUNCTIONS_MAX ||
        (s->n_functions && !s->functions))
        s_fail("function count out of range");
    for (size_t i = 0; i < s->n_stages; i++) {
        s_check_text(s->stages[i].function, sizeof s->stages[i].function,
                     "stage function not printable");
        if (!s->stages[i].function[0])
            s_fail("empty stage function accepted");
    }
    for (size_t i = 0; i < s->n_functions; i++)
        s_check_text(s->functions[i].function, sizeof s->functions[i].function,
                     "function name not printable");
    if (s->has_bottleneck)
        s_check_text(s->bottleneck, sizeof s->bottleneck,
                     "bottleneck not printable");
    s_check_fields(&s->accuracy);
    s_check_fields(&s->cost);
}

/* The figures a second parse of the same bytes must give again. */
static int
s_same(const et_summary_t *a, const et_summary_t *b)
{
    return a->sent == b->sent && a->completed == b->completed &&
           a->failed == b->failed && a->lost == b->lost &&
           a->n_stages == b->n_stages && a->n_functions == b->n_functions &&
           a->accuracy.n_fields == b->accuracy.n_fields &&
           a->cost.n_fields == b->cost.n_fields &&
           memcmp(&a->latency_p99_ms, &b->latency_p99_ms,
                  sizeof a->latency_p99_ms) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    et_summary_t s, again;
    char why[256];
    memset(why, 0x7f, sizeof why);
    if (et_summary_parse(&s, (const char *)data, size, why, sizeof why) != 0) {
        if (errno != EINVAL && errno != ENOMEM)
            s_fail("refusal with an unexpected errno");
        s_check_text(why, sizeof why, "refusal reason not printable");
        if (!why[0])
            s_fail("refusal without a reason");
        if (s.stages || s.functions || s.accuracy.fields || s.cost.fields)
            s_fail("a refusal left something to free");
        return 0;
    }
    s_check_summary(&s);
    if (et_summary_parse(&again, (const char *)data, size, why, sizeof why) !=
            0 ||
        !s_same(&s, &again))
        s_fail("the same bytes parsed differently");
    et_summary_clear(&again);
    et_summary_clear(&s);
    if (s.stages || s.n_stages || s.functions)
        s_fail("clear left something");
    return 0;
}
