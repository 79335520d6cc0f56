/* Accuracy counters: a confusion matrix for classification, and for
 * windows two flags per window (seen in an accepted event, detected by an
 * alert inside it) plus the alerts outside every window, and what the NAB
 * score needs: each window's rows and its earliest alert's row, and the
 * false alarms' weights. A row is the event's sequence number, which for
 * a nab: source is its row in the series, and over MQTT its place in the
 * order of arrival: the series' row when one device sends one series and
 * nothing is lost (labels are per series, windows are numbered per series:
 * several series through one producer share window numbers). */
#include "collector/accuracy.h"

#include "collector/nabscore.h"
#include "common/ckpt.h"
#include "common/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_ROW_NONE UINT64_MAX

struct et_accuracy_tally_t {
    et_accuracy_kind_t kind;
    int source_set;
    uint64_t tp, fp, tn, fn, unscored;
    /* The shadow verdicts' matrix, over the same events (has_shadow: any
     * event came with one). */
    int has_shadow;
    uint64_t shadow_tp, shadow_fp, shadow_tn, shadow_fn, shadow_unscored;
    uint8_t window_seen[ET_AGG_WINDOWS_MAX + 1];
    uint8_t window_detected[ET_AGG_WINDOWS_MAX + 1];
    uint64_t false_alarms, alerts, events_in_windows;
    /* NAB: rows first..last of each seen window (by accepted events), the
     * earliest alert's row in it (S_ROW_NONE before one), the seen
     * windows in the order they were seen, and the false alarms' summed
     * weights. */
    uint64_t window_first[ET_AGG_WINDOWS_MAX + 1];
    uint64_t window_last[ET_AGG_WINDOWS_MAX + 1];
    uint64_t window_alert[ET_AGG_WINDOWS_MAX + 1];
    uint16_t seen[ET_AGG_WINDOWS_MAX];
    size_t n_seen;
    double false_alarm_weight;
};

static uint64_t
s_row(uint64_t event_id)
{
    return event_id & ((UINT64_C(1) << ET_EVENT_SEQ_BITS) - 1);
}

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
    /* The data decides what the labels mean. Readings over MQTT are
     * labelled with the windows of their series, as nab: rows are. */
    if (strncmp(source, "nab:", 4) == 0 || strncmp(source, "mqtt://", 7) == 0)
        self->kind = ET_ACCURACY_WINDOWS;
    else if (strcmp(source, "fraud") == 0)
        self->kind = ET_ACCURACY_CLASSIFICATION;
}

void
et_accuracy_tally_accepted(et_accuracy_tally_t *self, int32_t label,
                           uint64_t event_id)
{
    if (self->kind != ET_ACCURACY_WINDOWS || label <= 0 ||
        label > ET_AGG_WINDOWS_MAX)
        return;
    uint64_t row = s_row(event_id);
    if (!self->window_seen[label]) {
        self->window_seen[label] = 1;
        self->window_first[label] = row;
        self->window_last[label] = row;
        self->window_alert[label] = S_ROW_NONE;
        self->seen[self->n_seen++] = (uint16_t)label;
        return;
    }
    if (row < self->window_first[label])
        self->window_first[label] = row;
    if (row > self->window_last[label])
        self->window_last[label] = row;
}

/* The weight of a false alarm at 'row': it depends on the window that
 * ended last before it. Every event before 'row' was accepted before it
 * (one producer sends in order), so that window's rows are all known. */
static double
s_false_alarm_weight(const et_accuracy_tally_t *self, uint64_t row)
{
    int found = 0;
    unsigned prev = 0;
    for (size_t i = 0; i < self->n_seen; i++) {
        unsigned k = self->seen[i];
        if (self->window_last[k] < row &&
            (!found || self->window_last[k] > self->window_last[prev])) {
            found = 1;
            prev = k;
        }
    }
    return et_nabscore_false_positive(found,
                                      found ? self->window_first[prev] : 0,
                                      found ? self->window_last[prev] : 0, row);
}

/* The shadow's matrix counts every event the main one sees, so the two
 * compare over the same events: one without a shadow verdict is
 * unscored there. */
static void
s_shadow_verdict(et_accuracy_tally_t *self, const et_record_t *r)
{
    const et_detail_t *d = &r->detail;
    if (d->has_shadow)
        self->has_shadow = 1;
    if (!d->has_shadow || d->shadow_outcome < 0)
        self->shadow_unscored++;
    else if (r->label == 1)
        d->shadow_outcome >= 1 ? self->shadow_tp++ : self->shadow_fn++;
    else
        d->shadow_outcome >= 1 ? self->shadow_fp++ : self->shadow_tn++;
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
        s_shadow_verdict(self, r);
    } else if (self->kind == ET_ACCURACY_WINDOWS) {
        if (r->label < 0 || r->outcome < 0)
            return;
        self->alerts += positive;
        uint64_t row = s_row(r->event_id);
        if (r->label > 0 && r->label <= ET_AGG_WINDOWS_MAX) {
            self->events_in_windows++;
            /* Only the earliest alert in a window counts, whatever order
             * the verdicts come in. */
            if (positive && self->window_seen[r->label]) {
                self->window_detected[r->label] = 1;
                if (row < self->window_alert[r->label])
                    self->window_alert[r->label] = row;
            }
        } else if (r->label == 0 && positive) {
            self->false_alarms++;
            self->false_alarm_weight += s_false_alarm_weight(self, row);
        }
    }
}

static double
s_ratio(uint64_t num, uint64_t den)
{
    return den > 0 ? (double)num / (double)den : 0.0;
}

static void
s_f1(uint64_t tp, uint64_t fp, uint64_t fn, double *precision, double *recall,
     double *f1)
{
    *precision = s_ratio(tp, tp + fp);
    *recall = s_ratio(tp, tp + fn);
    double sum = *precision + *recall;
    *f1 = sum > 0 ? 2 * *precision * *recall / sum : 0.0;
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
        s_f1(self->tp, self->fp, self->fn, &a->precision, &a->recall, &a->f1);
        a->has_shadow = self->has_shadow;
        a->shadow_tp = self->shadow_tp;
        a->shadow_fp = self->shadow_fp;
        a->shadow_tn = self->shadow_tn;
        a->shadow_fn = self->shadow_fn;
        a->shadow_unscored = self->shadow_unscored;
        s_f1(self->shadow_tp, self->shadow_fp, self->shadow_fn,
             &a->shadow_precision, &a->shadow_recall, &a->shadow_f1);
    } else if (a->kind == ET_ACCURACY_WINDOWS) {
        for (size_t k = 1; k <= ET_AGG_WINDOWS_MAX; k++) {
            a->windows += self->window_seen[k];
            a->detected += self->window_seen[k] && self->window_detected[k];
        }
        a->missed = a->windows - a->detected;
        double raw = self->false_alarm_weight;
        for (size_t i = 0; i < self->n_seen; i++) {
            unsigned k = self->seen[i];
            uint64_t first = self->window_first[k], last = self->window_last[k];
            uint64_t at = self->window_alert[k];
            if (at == S_ROW_NONE) {
                raw += ET_NABSCORE_A_FN;
                continue;
            }
            if (at < first) /* cannot happen: accepted before its verdict */
                at = first;
            if (at > last)
                at = last;
            raw += et_nabscore_true_positive(first, last, at);
        }
        a->nab_raw = raw;
        a->nab_score = et_nabscore_normalized(raw, a->windows);
        a->false_alarms = self->false_alarms;
        a->alerts = self->alerts;
        a->events_in_windows = self->events_in_windows;
    }
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 2u
#define S_CKPT_FIELDS 24

int
et_accuracy_tally_save(const et_accuracy_tally_t *self, msgpack_packer *pk)
{
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_FIELDS);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->kind);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->source_set);
    const uint64_t counters[] = {self->tp,       self->fp,
                                 self->tn,       self->fn,
                                 self->unscored, self->false_alarms,
                                 self->alerts,   self->events_in_windows};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        rc |= et_ckpt_pack_u64(pk, counters[i]);
    rc |= et_ckpt_pack_bin(pk, self->window_seen, sizeof self->window_seen);
    rc |= et_ckpt_pack_bin(pk, self->window_detected,
                           sizeof self->window_detected);
    rc |= et_ckpt_pack_bin(pk, self->window_first, sizeof self->window_first);
    rc |= et_ckpt_pack_bin(pk, self->window_last, sizeof self->window_last);
    rc |= et_ckpt_pack_bin(pk, self->window_alert, sizeof self->window_alert);
    rc |= et_ckpt_pack_bin(pk, self->seen, self->n_seen * sizeof *self->seen);
    rc |= et_ckpt_pack_f64(pk, self->false_alarm_weight);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)self->has_shadow);
    const uint64_t shadow[] = {self->shadow_tp, self->shadow_fp,
                               self->shadow_tn, self->shadow_fn,
                               self->shadow_unscored};
    for (size_t i = 0; i < sizeof shadow / sizeof shadow[0]; i++)
        rc |= et_ckpt_pack_u64(pk, shadow[i]);
    return rc ? -1 : 0;
}

int
et_accuracy_tally_load(et_accuracy_tally_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_FIELDS);
    self->kind = (et_accuracy_kind_t)et_ckpt_u64(&in, ET_ACCURACY_WINDOWS);
    self->source_set = (int)et_ckpt_u64(&in, 1);
    uint64_t *counters[] = {&self->tp,       &self->fp,
                            &self->tn,       &self->fn,
                            &self->unscored, &self->false_alarms,
                            &self->alerts,   &self->events_in_windows};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        *counters[i] = et_ckpt_u64(&in, UINT64_MAX);
    et_ckpt_bin(&in, self->window_seen, sizeof self->window_seen);
    et_ckpt_bin(&in, self->window_detected, sizeof self->window_detected);
    et_ckpt_bin(&in, self->window_first, sizeof self->window_first);
    et_ckpt_bin(&in, self->window_last, sizeof self->window_last);
    et_ckpt_bin(&in, self->window_alert, sizeof self->window_alert);
    const msgpack_object *seen = et_ckpt_obj(&in);
    self->false_alarm_weight = et_ckpt_f64(&in);
    self->has_shadow = (int)et_ckpt_u64(&in, 1);
    uint64_t *shadow[] = {&self->shadow_tp, &self->shadow_fp, &self->shadow_tn,
                          &self->shadow_fn, &self->shadow_unscored};
    for (size_t i = 0; i < sizeof shadow / sizeof shadow[0]; i++)
        *shadow[i] = et_ckpt_u64(&in, UINT64_MAX);
    if (et_ckpt_done(&in) != 0)
        return -1;
    if (seen->type != MSGPACK_OBJECT_BIN ||
        seen->via.bin.size % sizeof *self->seen ||
        seen->via.bin.size > sizeof self->seen)
        goto bad;
    self->n_seen = seen->via.bin.size / sizeof *self->seen;
    if (self->n_seen > 0)
        memcpy(self->seen, seen->via.bin.ptr, seen->via.bin.size);
    /* Indices into the window arrays, each a window seen. */
    for (size_t i = 0; i < self->n_seen; i++)
        if (self->seen[i] > ET_AGG_WINDOWS_MAX ||
            !self->window_seen[self->seen[i]])
            goto bad;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}
