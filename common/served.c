/* SERVED records: see common/served.h. */
#include "common/served.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Open addressing over the event ids of one batch: twice its largest
 * size, a power of two. */
#define S_TABLE (2 * ET_SERVED_BATCH_MAX)

typedef struct {
    uint64_t event_id;
    int16_t accepted, stage, completed; /* indexes, -1: none */
    uint16_t records; /* of this event in the batch; 0: free */
} s_entry_t;

static s_entry_t *
s_find(s_entry_t *table, uint64_t event_id)
{
    uint64_t h = event_id * 0x9e3779b97f4a7c15ULL;
    for (size_t i = (size_t)(h >> 54) & (S_TABLE - 1);;
         i = (i + 1) & (S_TABLE - 1)) {
        s_entry_t *e = &table[i];
        if (e->records == 0) {
            e->event_id = event_id;
            e->accepted = e->stage = e->completed = -1;
            return e;
        }
        if (e->event_id == event_id)
            return e;
    }
}

/* The three records of one event may become one. */
static int
s_mergeable(const et_record_t *a, const et_record_t *s, const et_record_t *c)
{
    return a->intended_ns > 0 && a->producer_id == s->producer_id &&
           c->producer_id == s->producer_id && a->label == s->label &&
           c->label == s->label && a->intended_ns == s->intended_ns &&
           c->intended_ns == s->intended_ns && a->stage == s->stage &&
           a->attempt == 0 && s->stage == c->stage &&
           s->attempt == c->attempt && s->reason == ET_REASON_NONE &&
           (c->reason == ET_REASON_NONE || c->reason == ET_REASON_FILTERED) &&
           s->outcome == c->outcome &&
           memcmp(&s->score, &c->score, sizeof s->score) == 0 &&
           s->detail.has_shadow == c->detail.has_shadow &&
           s->detail.shadow_outcome == c->detail.shadow_outcome &&
           c->detail.timed == 0 && a->detail.has_shadow == 0 &&
           a->detail.timed == 0 && c->queue_ns == 0 && c->service_ns == 0 &&
           c->hold_ns == 0 && c->residence_ns == 0 && c->cold == 0 &&
           a->outcome == ET_OUTCOME_NONE;
}

static _Thread_local s_entry_t s_table[S_TABLE];

/* Fill s_table with the events of records[0..count). */
static void
s_index(const et_record_t *records, size_t count)
{
    s_entry_t *table = s_table;
    memset(table, 0, sizeof s_table);
    for (size_t i = 0; i < count; i++) {
        s_entry_t *e = s_find(table, records[i].event_id);
        e->records++;
        int16_t *slot = records[i].kind == ET_RECORD_ACCEPTED    ? &e->accepted
                        : records[i].kind == ET_RECORD_STAGE     ? &e->stage
                        : records[i].kind == ET_RECORD_COMPLETED ? &e->completed
                                                                 : NULL;
        if (slot)
            *slot = (int16_t)i;
    }
}

size_t
et_served_hold_back(et_record_t *records, size_t count, size_t from,
                    et_record_t *held, size_t *n_held)
{
    *n_held = 0;
    if (count > ET_SERVED_BATCH_MAX || from >= count)
        return count;
    s_index(records, count);
    size_t kept = from;
    for (size_t i = from; i < count; i++) {
        const et_record_t *r = &records[i];
        if (r->kind == ET_RECORD_ACCEPTED &&
            s_find(s_table, r->event_id)->records == 1)
            held[(*n_held)++] = *r;
        else
            records[kept++] = *r;
    }
    return kept;
}

size_t
et_served_coalesce(et_record_t *records, size_t count)
{
    if (count < 3 || count > ET_SERVED_BATCH_MAX)
        return count;
    s_index(records, count);
    s_entry_t *table = s_table;
    /* Records to drop: marked by kind 0 (no record has it). */
    size_t merged = 0;
    for (size_t t = 0; t < S_TABLE; t++) {
        const s_entry_t *e = &table[t];
        if (e->records != 3 || e->accepted < 0 || e->stage < 0 ||
            e->completed < 0)
            continue;
        et_record_t *a = &records[e->accepted];
        et_record_t *s = &records[e->stage];
        et_record_t *c = &records[e->completed];
        if (!s_mergeable(a, s, c))
            continue;
        et_record_t served = *s;
        served.kind = ET_RECORD_SERVED;
        served.t_ns = c->t_ns;
        served.reason = c->reason;
        *c = served;
        a->kind = 0;
        s->kind = 0;
        merged++;
    }
    if (merged == 0)
        return count;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (records[i].kind != 0)
            records[kept++] = records[i];
    return kept;
}

int
et_served_expand(const et_record_t *served, et_record_t out[3])
{
    if (served->kind != ET_RECORD_SERVED) {
        errno = EINVAL;
        return -1;
    }
    et_record_t *a = &out[0], *s = &out[1], *c = &out[2];
    memset(out, 0, 3 * sizeof *out);
    a->kind = ET_RECORD_ACCEPTED;
    a->event_id = served->event_id;
    a->stage = served->stage; /* the stage it entered at, and left */
    a->producer_id = served->producer_id;
    a->intended_ns = served->intended_ns;
    a->t_ns = served->t_ns;
    a->label = served->label;
    a->outcome = ET_OUTCOME_NONE;
    *s = *served;
    s->kind = ET_RECORD_STAGE;
    s->reason = ET_REASON_NONE;
    c->kind = ET_RECORD_COMPLETED;
    c->event_id = served->event_id;
    c->producer_id = served->producer_id;
    c->stage = served->stage;
    c->attempt = served->attempt;
    c->intended_ns = served->intended_ns;
    c->t_ns = served->t_ns;
    c->label = served->label;
    c->outcome = served->outcome;
    c->score = served->score;
    c->detail.has_shadow = served->detail.has_shadow;
    c->detail.shadow_outcome = served->detail.shadow_outcome;
    c->reason = served->reason;
    return 0;
}
