/* The producer table: entries keyed by producer id in a common/idmap (each
 * entry its own allocation, so the map's pointers stay valid), and the
 * sums the results need, kept as the input arrives. A producer run with
 * --collector sends HELLO and DONE twice, straight here and through the
 * broker: the first copy counts, the second is checked against it. */
#include "collector/producers.h"

#include "collector/clean.h"
#include "common/ckpt.h"
#include "common/idmap.h"
#include "common/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a second copy must repeat: the fields the results use. */
typedef struct {
    int64_t started_ns;
    double rate_eps, duration_s;
    uint64_t seed;
} s_hello_key_t;

typedef struct {
    uint64_t sent, send_failed;
    int64_t lag_max_ns, lag_mean_ns, finished_ns;
} s_done_key_t;

typedef struct {
    int hellos; /* copies received: 0, 1 or 2 */
    int dones;
    s_hello_key_t hello;
    s_done_key_t done;
    uint64_t arrived; /* accepted + rejected records of its events */
} s_producer_t;

struct et_producers_t {
    et_idmap_t *index; /* producer id -> s_producer_t */
    uint32_t expect;
    uint32_t done_count;
    int all_done;
    uint64_t all_done_mono_ns;
    uint64_t sent;   /* sum of DONE.sent */
    uint64_t undone; /* accepted + rejected of producers without DONE */
    uint64_t send_failed;
    uint64_t copies_disagree; /* second copies unlike the first */
    et_ingest_t ingest;       /* summed over the first DONE copies */
    /* the run's load, from the HELLOs */
    int have_hello;
    char arrival[ET_TEXT_MAX];
    char source[ET_TEXT_MAX];
    double rate_sum, duration_max;
    uint64_t seed;
    int64_t started_min; /* 0: none */
    int64_t lag_max_ns;
    double lag_weighted_sum, lag_weight, lag_plain_sum;
};

static int
s_bad(const char *why)
{
    ET_LOG_WARN_LIMITED("bad input: %s", why);
    return 1;
}

et_producers_t *
et_producers_new(uint32_t expect)
{
    et_producers_t *self = calloc(1, sizeof *self);
    if (!self || !(self->index = et_idmap_new())) {
        free(self);
        errno = ENOMEM;
        return NULL;
    }
    self->expect = expect;
    snprintf(self->arrival, sizeof self->arrival, "unknown");
    snprintf(self->source, sizeof self->source, "unknown");
    return self;
}

static void
s_free_entry(uint64_t key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    free(value);
}

void
et_producers_destroy(et_producers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_producers_t *self = *self_p;
    if (self->index) {
        et_idmap_each(self->index, s_free_entry, NULL);
        et_idmap_destroy(&self->index);
    }
    free(self);
    *self_p = NULL;
}

/* The producer with 'id', added when new. NULL with *bad set when the
 * table is full, or NULL with errno ENOMEM. */
static s_producer_t *
s_producer(et_producers_t *self, uint32_t id, int *bad)
{
    *bad = 0;
    s_producer_t *p = et_idmap_get(self->index, id);
    if (p)
        return p;
    if (et_idmap_size(self->index) >= ET_AGG_PRODUCERS_MAX) {
        *bad = s_bad("too many producers");
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (!p || et_idmap_put(self->index, id, p) != 0) {
        free(p);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

int
et_producers_arrival(et_producers_t *self, uint32_t id)
{
    int bad;
    s_producer_t *p = s_producer(self, id, &bad);
    if (!p)
        return bad ? bad : -1;
    if (!p->dones) {
        p->arrived++;
        self->undone++;
    }
    return 0;
}

int
et_producers_hello(et_producers_t *self, const et_hello_t *m)
{
    int bad;
    s_producer_t *p = s_producer(self, m->producer_id, &bad);
    if (!p)
        return bad ? bad : -1;
    s_hello_key_t key = {.started_ns = m->started_ns,
                         .rate_eps = m->rate_eps,
                         .duration_s = m->duration_s,
                         .seed = m->seed};
    if (p->hellos >= 2)
        return s_bad("a third HELLO from one producer");
    if (p->hellos++ == 1) {
        if (memcmp(&key, &p->hello, sizeof key) != 0) {
            self->copies_disagree++;
            ET_LOG_WARN("producer %u: its two HELLOs disagree; the first "
                        "counts",
                        m->producer_id);
        }
        return 0;
    }
    p->hello = key;
    if (!self->have_hello) {
        self->have_hello = 1;
        et_clean_text(self->arrival, sizeof self->arrival, m->arrival);
        et_clean_text(self->source, sizeof self->source, m->source);
        self->seed = m->seed;
    }
    self->rate_sum += m->rate_eps;
    if (m->duration_s > self->duration_max)
        self->duration_max = m->duration_s;
    if (m->started_ns > 0 &&
        (self->started_min == 0 || m->started_ns < self->started_min))
        self->started_min = m->started_ns;
    return 0;
}

int
et_producers_done(et_producers_t *self, const et_done_t *m,
                  uint64_t now_mono_ns)
{
    int bad;
    s_producer_t *p = s_producer(self, m->producer_id, &bad);
    if (!p)
        return bad ? bad : -1;
    s_done_key_t key = {.sent = m->sent,
                        .send_failed = m->send_failed,
                        .lag_max_ns = m->lag_max_ns,
                        .lag_mean_ns = m->lag_mean_ns,
                        .finished_ns = m->finished_ns};
    if (p->dones >= 2)
        return s_bad("a third DONE from one producer");
    if (p->dones++ == 1) {
        if (memcmp(&key, &p->done, sizeof key) != 0) {
            self->copies_disagree++;
            ET_LOG_WARN("producer %u: its two DONEs disagree (sent %llu, "
                        "then %llu); the first counts",
                        m->producer_id, (unsigned long long)p->done.sent,
                        (unsigned long long)m->sent);
        }
        return 0;
    }
    p->done = key;
    /* From now on the producer's own count stands for its events. */
    self->undone -= p->arrived;
    self->sent += m->sent;
    self->send_failed += m->send_failed;
    if (m->ingest.kind != ET_INGEST_NONE) {
        self->ingest.kind = m->ingest.kind;
        self->ingest.received += m->ingest.received;
        self->ingest.malformed += m->ingest.malformed;
        self->ingest.duplicates += m->ingest.duplicates;
        self->ingest.gaps += m->ingest.gaps;
        self->ingest.reconnects += m->ingest.reconnects;
    }
    if (m->lag_max_ns > self->lag_max_ns)
        self->lag_max_ns = m->lag_max_ns;
    self->lag_weighted_sum += (double)m->lag_mean_ns * (double)m->sent;
    self->lag_weight += (double)m->sent;
    self->lag_plain_sum += (double)m->lag_mean_ns;
    self->done_count++;
    if (self->expect > 0 && !self->all_done &&
        self->done_count >= self->expect) {
        self->all_done = 1;
        self->all_done_mono_ns = now_mono_ns;
    }
    return 0;
}

typedef struct {
    int all;
} s_copies_t;

static void
s_check_copies(uint64_t key, void *value, void *arg)
{
    (void)key;
    const s_producer_t *p = value;
    s_copies_t *c = arg;
    if (p->dones < 2)
        c->all = 0;
}

int
et_producers_all_copies(const et_producers_t *self)
{
    if (!self->all_done)
        return 0;
    s_copies_t c = {.all = 1};
    et_idmap_each(self->index, s_check_copies, &c);
    return c.all;
}

uint64_t
et_producers_sent(const et_producers_t *self)
{
    return self->sent + self->undone;
}

int
et_producers_all_done(const et_producers_t *self, uint64_t *since_mono_ns)
{
    if (self->expect == 0 || !self->all_done)
        return 0;
    *since_mono_ns = self->all_done_mono_ns;
    return 1;
}

int64_t
et_producers_started_ns(const et_producers_t *self)
{
    return self->started_min;
}

void
et_producers_fill(const et_producers_t *self, et_results_t *r)
{
    snprintf(r->arrival, sizeof r->arrival, "%s", self->arrival);
    snprintf(r->source, sizeof r->source, "%s", self->source);
    r->rate_eps = self->rate_sum;
    r->duration_s = self->duration_max;
    r->seed = self->seed;
    r->send_failed = self->send_failed;
    r->producers = et_idmap_size(self->index);
    r->producers_done = self->done_count;
    r->producer_copies_disagree = self->copies_disagree;
    r->ingest = self->ingest;
    r->lag_max_ms = (double)self->lag_max_ns / 1e6;
    if (self->lag_weight > 0)
        r->lag_mean_ms = self->lag_weighted_sum / self->lag_weight / 1e6;
    else if (self->done_count > 0)
        r->lag_mean_ms = self->lag_plain_sum / self->done_count / 1e6;
}

/* ---- checkpoint ---------------------------------------------------------- */

#define S_CKPT_VERSION 1u
#define S_CKPT_FIELDS 20
#define S_CKPT_ENTRY_FIELDS 15

typedef struct {
    msgpack_packer *pk;
    int rc;
} s_save_t;

static void
s_save_entry(uint64_t key, void *value, void *arg)
{
    s_save_t *save = arg;
    const s_producer_t *p = value;
    msgpack_packer *pk = save->pk;
    int rc = et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_ENTRY_FIELDS);
    rc |= et_ckpt_pack_u64(pk, key);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)p->hellos);
    rc |= et_ckpt_pack_u64(pk, (uint64_t)p->dones);
    rc |= et_ckpt_pack_i64(pk, p->hello.started_ns);
    rc |= et_ckpt_pack_f64(pk, p->hello.rate_eps);
    rc |= et_ckpt_pack_f64(pk, p->hello.duration_s);
    rc |= et_ckpt_pack_u64(pk, p->hello.seed);
    rc |= et_ckpt_pack_u64(pk, p->done.sent);
    rc |= et_ckpt_pack_u64(pk, p->done.send_failed);
    rc |= et_ckpt_pack_i64(pk, p->done.lag_max_ns);
    rc |= et_ckpt_pack_i64(pk, p->done.lag_mean_ns);
    rc |= et_ckpt_pack_i64(pk, p->done.finished_ns);
    rc |= et_ckpt_pack_u64(pk, p->arrived);
    rc |= msgpack_pack_nil(pk); /* room for a field to come */
    save->rc |= rc;
}

int
et_producers_save(const et_producers_t *self, msgpack_packer *pk)
{
    s_save_t save = {.pk = pk};
    save.rc |= et_ckpt_open(pk, S_CKPT_VERSION, S_CKPT_FIELDS);
    save.rc |= et_ckpt_pack_u64(pk, self->done_count);
    save.rc |= et_ckpt_pack_u64(pk, (uint64_t)self->all_done);
    save.rc |= et_ckpt_pack_u64(pk, self->all_done_mono_ns);
    save.rc |= et_ckpt_pack_u64(pk, self->sent);
    save.rc |= et_ckpt_pack_u64(pk, self->undone);
    save.rc |= et_ckpt_pack_u64(pk, self->send_failed);
    save.rc |= et_ckpt_pack_u64(pk, self->copies_disagree);
    save.rc |= et_ckpt_pack_u64(pk, (uint64_t)self->have_hello);
    save.rc |= et_ckpt_pack_str(pk, self->arrival);
    save.rc |= et_ckpt_pack_str(pk, self->source);
    save.rc |= et_ckpt_pack_f64(pk, self->rate_sum);
    save.rc |= et_ckpt_pack_f64(pk, self->duration_max);
    save.rc |= et_ckpt_pack_u64(pk, self->seed);
    save.rc |= et_ckpt_pack_i64(pk, self->started_min);
    save.rc |= et_ckpt_pack_i64(pk, self->lag_max_ns);
    save.rc |= et_ckpt_pack_f64(pk, self->lag_weighted_sum);
    save.rc |= et_ckpt_pack_f64(pk, self->lag_weight);
    save.rc |= et_ckpt_pack_f64(pk, self->lag_plain_sum);
    save.rc |= msgpack_pack_array(pk, (uint32_t)et_idmap_size(self->index));
    et_idmap_each(self->index, s_save_entry, &save);
    return save.rc ? -1 : 0;
}

static int
s_load_entry(et_producers_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_ENTRY_FIELDS);
    uint64_t id = et_ckpt_u64(&in, UINT32_MAX);
    s_producer_t v;
    memset(&v, 0, sizeof v);
    v.hellos = (int)et_ckpt_u64(&in, 2);
    v.dones = (int)et_ckpt_u64(&in, 2);
    v.hello.started_ns = et_ckpt_i64(&in);
    v.hello.rate_eps = et_ckpt_f64(&in);
    v.hello.duration_s = et_ckpt_f64(&in);
    v.hello.seed = et_ckpt_u64(&in, UINT64_MAX);
    v.done.sent = et_ckpt_u64(&in, UINT64_MAX);
    v.done.send_failed = et_ckpt_u64(&in, UINT64_MAX);
    v.done.lag_max_ns = et_ckpt_i64(&in);
    v.done.lag_mean_ns = et_ckpt_i64(&in);
    v.done.finished_ns = et_ckpt_i64(&in);
    v.arrived = et_ckpt_u64(&in, UINT64_MAX);
    (void)et_ckpt_obj(&in);
    if (et_ckpt_done(&in) != 0)
        return -1;
    if (et_idmap_get(self->index, id)) {
        errno = EPROTO;
        return -1;
    }
    int bad;
    s_producer_t *p = s_producer(self, (uint32_t)id, &bad);
    if (!p) {
        if (bad)
            errno = EPROTO;
        return -1;
    }
    *p = v;
    return 0;
}

int
et_producers_load(et_producers_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, S_CKPT_FIELDS);
    self->done_count = (uint32_t)et_ckpt_u64(&in, UINT32_MAX);
    self->all_done = (int)et_ckpt_u64(&in, 1);
    self->all_done_mono_ns = et_ckpt_u64(&in, UINT64_MAX);
    self->sent = et_ckpt_u64(&in, UINT64_MAX);
    self->undone = et_ckpt_u64(&in, UINT64_MAX);
    self->send_failed = et_ckpt_u64(&in, UINT64_MAX);
    self->copies_disagree = et_ckpt_u64(&in, UINT64_MAX);
    self->have_hello = (int)et_ckpt_u64(&in, 1);
    et_ckpt_str(&in, self->arrival, sizeof self->arrival);
    et_ckpt_str(&in, self->source, sizeof self->source);
    self->rate_sum = et_ckpt_f64(&in);
    self->duration_max = et_ckpt_f64(&in);
    self->seed = et_ckpt_u64(&in, UINT64_MAX);
    self->started_min = et_ckpt_i64(&in);
    self->lag_max_ns = et_ckpt_i64(&in);
    self->lag_weighted_sum = et_ckpt_f64(&in);
    self->lag_weight = et_ckpt_f64(&in);
    self->lag_plain_sum = et_ckpt_f64(&in);
    uint32_t n = 0;
    const msgpack_object *entries =
        et_ckpt_array(&in, ET_AGG_PRODUCERS_MAX, &n);
    if (et_ckpt_done(&in) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (s_load_entry(self, &entries[i]) != 0)
            return -1;
    return 0;
}
