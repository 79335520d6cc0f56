/* Accuracy counters: a confusion matrix for classification, and for
 * windows two flags per window (seen in an accepted event, detected by an
 * alert inside it) plus the alerts outside every window. */
#include "collector/accuracy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct et_accuracy_tally_t {
    et_accuracy_kind_t kind;
    int source_set;
    uint64_t tp, fp, tn, fn, unscored;
    uint8_t window_seen[ET_AGG_WINDOWS_MAX + 1];
    uint8_t window_detected[ET_AGG_WINDOWS_MAX + 1];
    uint64_t false_alarms, alerts, events_in_windows;
};

et_accuracy_tally_t *
et_accuracy_tally_new(void)
{
    et_accuracy_tally_t *self = calloc(1, sizeof *self);
    if (!self)
        errno = ENOMEM;
    return self;
}

void
et_accuracy_tally_destroy(et_accuracy_tally_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void
et_accuracy_tally_source(et_accuracy_tally_t *self, const char *source)
{
    if (self->source_set)
        return;
    self->source_set = 1;
    /* The data decides what the labels mean. */
    if (strncmp(source, "nab:", 4) == 0)
        self->kind = ET_ACCURACY_WINDOWS;
    else if (strcmp(source, "fraud") == 0)
        self->kind = ET_ACCURACY_CLASSIFICATION;
}

void
et_accuracy_tally_accepted(et_accuracy_tally_t *self, int32_t label)
{
    if (self->kind == ET_ACCURACY_WINDOWS && label > 0 &&
        label <= ET_AGG_WINDOWS_MAX)
        self->window_seen[label] = 1;
}

void
et_accuracy_tally_verdict(et_accuracy_tally_t *self, const et_record_t *r)
{
    int positive = r->outcome >= 1;
    if (self->kind == ET_ACCURACY_CLASSIFICATION) {
        if (r->label != 0 && r->label != 1)
            return; /* unlabelled (a malformed event, say) */
        if (r->outcome < 0)
            self->unscored++;
        else if (r->label == 1)
            positive ? self->tp++ : self->fn++;
        else
            positive ? self->fp++ : self->tn++;
    } else if (self->kind == ET_ACCURACY_WINDOWS) {
        if (r->label < 0 || r->outcome < 0)
            return;
        self->alerts += positive;
        if (r->label > 0 && r->label <= ET_AGG_WINDOWS_MAX) {
            self->events_in_windows++;
            if (positive)
                self->window_detected[r->label] = 1;
        } else if (r->label == 0 && positive) {
            self->false_alarms++;
        }
    }
}

static double
s_ratio(uint64_t num, uint64_t den)
{
    return den > 0 ? (double)num / (double)den : 0.0;
}

void
et_accuracy_tally_fill(const et_accuracy_tally_t *self, et_accuracy_t *a)
{
    memset(a, 0, sizeof *a);
    a->kind = self->kind;
    if (a->kind == ET_ACCURACY_CLASSIFICATION) {
        a->tp = self->tp;
        a->fp = self->fp;
        a->tn = self->tn;
        a->fn = self->fn;
        a->unscored = self->unscored;
        a->precision = s_ratio(self->tp, self->tp + self->fp);
        a->recall = s_ratio(self->tp, self->tp + self->fn);
        double sum = a->precision + a->recall;
        a->f1 = sum > 0 ? 2 * a->precision * a->recall / sum : 0.0;
    } else if (a->kind == ET_ACCURACY_WINDOWS) {
        for (size_t k = 1; k <= ET_AGG_WINDOWS_MAX; k++) {
            a->windows += self->window_seen[k];
            a->detected += self->window_seen[k] && self->window_detected[k];
        }
        a->missed = a->windows - a->detected;
        a->false_alarms = self->false_alarms;
        a->alerts = self->alerts;
        a->events_in_windows = self->events_in_windows;
    }
}
