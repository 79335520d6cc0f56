/* Streaming per-card features (see streaming.h). The windows are computed
 * from the history at read time rather than kept as running sums: a sum
 * updated on write would depend on the order in which the pipeline's
 * instances happen to process a card's events, a window over the history
 * in event time does not. */
#include "workers/fraud/streaming.h"

#include "common/hashmap.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_names[ET_STREAM_FEATURES] = {
    "card_count_1h", "card_log_amount_1h", "card_count_24h",
    "card_log_amount_24h", "card_log_since_last_s"};

/* Amounts as features.h accepts them. */
#define S_AMOUNT_MAX 1e7
/* Longest decimal text of an id or a number we parse. */
#define S_NUMBER_MAX 32

/* Is entry 'e' strictly before transaction (tx, ts)? */
static int
s_before(const et_stream_entry_t *e, uint64_t tx, double ts)
{
    return e->ts < ts || (e->ts == ts && e->tx < tx);
}

void
et_stream_features(const et_stream_entry_t *entries, size_t n, uint64_t tx,
                   double ts, float out[ET_STREAM_FEATURES])
{
    double count_short = 0, amount_short = 0, count_long = 0, amount_long = 0;
    double since = ET_STREAM_KEEP_S;
    for (size_t i = 0; i < n; i++) {
        const et_stream_entry_t *e = &entries[i];
        if (!isfinite(e->ts) || !isfinite(e->amount) || e->amount <= 0 ||
            e->tx == tx || !s_before(e, tx, ts))
            continue;
        double age = ts - e->ts;
        if (age < since)
            since = age;
        if (age < ET_STREAM_WINDOW_LONG_S) {
            count_long++;
            amount_long += e->amount;
        }
        if (age < ET_STREAM_WINDOW_SHORT_S) {
            count_short++;
            amount_short += e->amount;
        }
    }
    out[0] = (float)count_short;
    out[1] = (float)log1p(amount_short);
    out[2] = (float)count_long;
    out[3] = (float)log1p(amount_long);
    out[4] = (float)log1p(since);
}

const char *
et_stream_feature_name(size_t index)
{
    return index < ET_STREAM_FEATURES ? s_names[index] : NULL;
}

/* ---- the store's text ---------------------------------------------------- */

size_t
et_stream_member_format(uint64_t tx, double amount,
                        char buf[ET_STREAM_MEMBER_MAX + 1])
{
    /* Cents, as the generator rounds them: the text of a retry's write is
     * the same as the first's. */
    int len =
        snprintf(buf, ET_STREAM_MEMBER_MAX + 1, "%" PRIu64 ":%.2f", tx, amount);
    if (len < 0)
        len = 0;
    if ((size_t)len > ET_STREAM_MEMBER_MAX)
        len = ET_STREAM_MEMBER_MAX;
    return (size_t)len;
}

/* 'len' bytes into a NUL-terminated copy; -1 when too long or holding a
 * NUL. */
static int
s_copy(const char *text, size_t len, char *buf, size_t size)
{
    if (!text || len == 0 || len >= size || memchr(text, '\0', len))
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return 0;
}

/* A decimal number, all of 'text': [-]digits[.digits][e[+-]digits], as
 * Redis and we write them (no inf, nan, hex or spaces). */
static int
s_parse_number(const char *text, double *value)
{
    for (const char *p = text; *p; p++)
        if (!strchr("0123456789.-+eE", *p))
            return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
        return -1;
    *value = v;
    return 0;
}

int
et_stream_member_parse(const char *text, size_t len, uint64_t *tx,
                       double *amount)
{
    char buf[ET_STREAM_MEMBER_MAX + 1];
    if (s_copy(text, len, buf, sizeof buf) != 0)
        goto bad;
    char *colon = strchr(buf, ':');
    if (!colon || colon == buf || colon - buf > 20)
        goto bad;
    *colon = '\0';
    for (const char *p = buf; *p; p++)
        if (*p < '0' || *p > '9')
            goto bad;
    errno = 0;
    char *end = NULL;
    unsigned long long id = strtoull(buf, &end, 10);
    if (errno != 0 || *end != '\0')
        goto bad;
    double value;
    if (s_parse_number(colon + 1, &value) != 0 || !(value > 0) ||
        value >= S_AMOUNT_MAX)
        goto bad;
    *tx = (uint64_t)id;
    *amount = value;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

int
et_stream_score_parse(const char *text, size_t len, double *ts)
{
    char buf[S_NUMBER_MAX + 1];
    double value;
    if (s_copy(text, len, buf, sizeof buf) != 0 ||
        s_parse_number(buf, &value) != 0 || value < 0) {
        errno = EINVAL;
        return -1;
    }
    *ts = value;
    return 0;
}

/* ---- in-memory histories ------------------------------------------------- */

typedef struct {
    et_stream_entry_t entries[ET_STREAM_KEEP_MAX + 1];
    size_t n;
} s_history_t;

struct et_stream_memory_t {
    et_hashmap_t *cards; /* decimal card id -> s_history_t */
    size_t max_cards;
};

static void
s_free_history(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    free(value);
}

et_stream_memory_t *
et_stream_memory_new(size_t max_cards)
{
    et_stream_memory_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->max_cards = max_cards;
    self->cards = et_hashmap_new(max_cards);
    if (!self->cards) {
        free(self);
        return NULL;
    }
    return self;
}

void
et_stream_memory_destroy(et_stream_memory_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_stream_memory_t *self = *self_p;
    et_hashmap_each(self->cards, s_free_history, NULL);
    et_hashmap_destroy(&self->cards);
    free(self);
    *self_p = NULL;
}

static s_history_t *
s_history(const et_stream_memory_t *self, uint64_t card)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, card);
    return et_hashmap_get(self->cards, key);
}

/* Sorted set order: by ts, ties by id. */
static int
s_by_ts(const void *a, const void *b)
{
    const et_stream_entry_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->tx > y->tx) - (x->tx < y->tx);
}

int
et_stream_memory_record(et_stream_memory_t *self, uint64_t card, uint64_t tx,
                        double ts, double amount)
{
    s_history_t *h = s_history(self, card);
    if (!h) {
        if (et_hashmap_size(self->cards) >= self->max_cards) {
            errno = ENOSPC;
            return -1;
        }
        char key[24];
        snprintf(key, sizeof key, "%" PRIu64, card);
        h = calloc(1, sizeof *h);
        if (!h || et_hashmap_put(self->cards, key, h) != 0) {
            free(h);
            errno = ENOMEM;
            return -1;
        }
    }
    size_t i = 0;
    while (i < h->n && h->entries[i].tx != tx)
        i++;
    h->entries[i] = (et_stream_entry_t){tx, ts, amount};
    if (i == h->n)
        h->n++;
    qsort(h->entries, h->n, sizeof h->entries[0], s_by_ts);
    /* ZREMRANGEBYSCORE -inf (ts - keep), then ZREMRANGEBYRANK: the
     * store's trim, in its order. */
    size_t drop = 0;
    while (drop < h->n && h->entries[drop].ts <= ts - ET_STREAM_KEEP_S)
        drop++;
    if (h->n - drop > ET_STREAM_KEEP_MAX)
        drop = h->n - ET_STREAM_KEEP_MAX;
    memmove(h->entries, h->entries + drop,
            (h->n - drop) * sizeof h->entries[0]);
    h->n -= drop;
    return 0;
}

size_t
et_stream_memory_read(const et_stream_memory_t *self, uint64_t card, double ts,
                      et_stream_entry_t *out)
{
    const s_history_t *h = s_history(self, card);
    size_t n = 0;
    /* Newest first, as ZREVRANGEBYSCORE ... LIMIT 0 KEEP_MAX returns
     * them. */
    for (size_t i = h ? h->n : 0; i > 0 && n < ET_STREAM_KEEP_MAX; i--) {
        const et_stream_entry_t *e = &h->entries[i - 1];
        if (e->ts <= ts && e->ts > ts - ET_STREAM_KEEP_S)
            out[n++] = *e;
    }
    return n;
}
