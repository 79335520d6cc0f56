/* The id set as one stream a producer. In a stream every sequence below
 * 'base' is in the set but for the holes, sorted runs [lo, hi) that were
 * passed over unfinished; a ring bitmap holds [base, base + bits), the
 * bit of sequence q at q % bits. The base moves up as the bits below it
 * fill. The window doubles up to S_BITS_MAX; an id further ahead slides
 * it, the unset bits passed over becoming holes: an event lost for good
 * costs a hole, not a window that grows for the rest of the run. */
#include "common/idset.h"

#include "common/ckpt.h"
#include "common/codec.h"
#include "common/idmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_BITS_FIRST 4096ULL
#define S_BITS_MAX (1ULL << 22) /* 512 KiB: seconds of disorder at 100k/s */
#define S_SEQ_MASK ((1ULL << ET_EVENT_SEQ_BITS) - 1)
#define S_NONE SIZE_MAX

typedef struct {
    uint64_t lo, hi;
} s_run_t;

typedef struct {
    uint64_t base;
    uint64_t bits; /* a power of two, at least 64 */
    uint64_t *words;
    s_run_t *holes;
    size_t n_holes, cap_holes;
} s_stream_t;

struct et_idset_t {
    et_idmap_t *streams; /* producer id -> s_stream_t */
    size_t count;
    size_t bytes;
};

et_idset_t *
et_idset_new(void)
{
    et_idset_t *self = calloc(1, sizeof *self);
    if (self)
        self->streams = et_idmap_new();
    if (!self || !self->streams) {
        free(self);
        errno = ENOMEM;
        return NULL;
    }
    return self;
}

static void
s_stream_free(uint64_t key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    s_stream_t *s = value;
    free(s->words);
    free(s->holes);
    free(s);
}

void
et_idset_destroy(et_idset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_idset_t *self = *self_p;
    et_idmap_each(self->streams, s_stream_free, NULL);
    et_idmap_destroy(&self->streams);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------------
// One stream's bits and holes

static int
s_bit(const s_stream_t *s, uint64_t q)
{
    uint64_t i = q & (s->bits - 1);
    return (int)((s->words[i >> 6] >> (i & 63)) & 1);
}

static void
s_put_bit(s_stream_t *s, uint64_t q, int on)
{
    uint64_t i = q & (s->bits - 1);
    if (on)
        s->words[i >> 6] |= 1ULL << (i & 63);
    else
        s->words[i >> 6] &= ~(1ULL << (i & 63));
}

/* The index of the hole run holding q, or S_NONE. */
static size_t
s_hole_at(const s_stream_t *s, uint64_t q)
{
    size_t lo = 0, hi = s->n_holes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->holes[mid].lo <= q)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && q < s->holes[lo - 1].hi ? lo - 1 : S_NONE;
}

static int
s_reserve_holes(et_idset_t *set, s_stream_t *s, size_t want)
{
    if (want <= s->cap_holes)
        return 0;
    size_t cap = s->cap_holes ? s->cap_holes : 16;
    while (cap < want)
        cap *= 2;
    s_run_t *holes = realloc(s->holes, cap * sizeof *holes);
    if (!holes) {
        errno = ENOMEM;
        return -1;
    }
    set->bytes += (cap - s->cap_holes) * sizeof *holes;
    s->holes = holes;
    s->cap_holes = cap;
    return 0;
}

/* Append [lo, hi), above every hole so far (room reserved). */
static void
s_append_hole(s_stream_t *s, uint64_t lo, uint64_t hi)
{
    if (s->n_holes > 0 && s->holes[s->n_holes - 1].hi == lo)
        s->holes[s->n_holes - 1].hi = hi;
    else
        s->holes[s->n_holes++] = (s_run_t){lo, hi};
}

/* Take q out of hole run i: the late id has finished after all. */
static int
s_fill_hole(et_idset_t *set, s_stream_t *s, size_t i, uint64_t q)
{
    s_run_t *run = &s->holes[i];
    if (run->lo == q && run->hi == q + 1) {
        memmove(run, run + 1, (s->n_holes - i - 1) * sizeof *run);
        s->n_holes--;
    } else if (run->lo == q) {
        run->lo++;
    } else if (run->hi == q + 1) {
        run->hi--;
    } else {
        if (s_reserve_holes(set, s, s->n_holes + 1) != 0)
            return -1;
        run = &s->holes[i];
        memmove(run + 2, run + 1, (s->n_holes - i - 1) * sizeof *run);
        run[1] = (s_run_t){q + 1, run->hi};
        run->hi = q;
        s->n_holes++;
    }
    return 0;
}

/* Double the window until 'need' bits fit (at most S_BITS_MAX). */
static int
s_grow(et_idset_t *set, s_stream_t *s, uint64_t need)
{
    uint64_t bits = s->bits;
    while (bits < need && bits < S_BITS_MAX)
        bits *= 2;
    uint64_t *words = calloc(bits / 64, sizeof *words);
    if (!words) {
        errno = ENOMEM;
        return -1;
    }
    uint64_t mask = bits - 1;
    for (uint64_t q = s->base; q < s->base + s->bits; q++)
        if (s_bit(s, q))
            words[(q & mask) >> 6] |= 1ULL << (q & mask & 63);
    set->bytes += (bits - s->bits) / 8;
    free(s->words);
    s->words = words;
    s->bits = bits;
    return 0;
}

/* Move the base up to new_base; the unset bits passed over become holes.
 * Runs are counted first so that a failure leaves the stream as it was. */
static int
s_slide(et_idset_t *set, s_stream_t *s, uint64_t new_base)
{
    uint64_t end = s->base + s->bits;
    uint64_t stop = new_base < end ? new_base : end;
    size_t runs = new_base > end ? 1 : 0;
    int in_run = 0;
    for (uint64_t q = s->base; q < stop; q++) {
        int unset = !s_bit(s, q);
        runs += unset && !in_run;
        in_run = unset;
    }
    if (s_reserve_holes(set, s, s->n_holes + runs) != 0)
        return -1;
    for (uint64_t q = s->base; q < stop; q++) {
        if (s_bit(s, q))
            s_put_bit(s, q, 0);
        else
            s_append_hole(s, q, q + 1);
    }
    if (new_base > end)
        s_append_hole(s, end, new_base);
    s->base = new_base;
    return 0;
}

/* Move the base past the bits that are set, a word at a time when it
 * can: in order, nearly every insert ends here. */
static void
s_advance(s_stream_t *s)
{
    for (;;) {
        uint64_t i = s->base & (s->bits - 1);
        if ((i & 63) == 0 && s->words[i >> 6] == UINT64_MAX) {
            s->words[i >> 6] = 0;
            s->base += 64;
        } else if (s_bit(s, s->base)) {
            s_put_bit(s, s->base, 0);
            s->base++;
        } else {
            return;
        }
    }
}

static s_stream_t *
s_stream(et_idset_t *self, uint64_t producer)
{
    s_stream_t *s = et_idmap_get(self->streams, producer);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (s)
        s->words = calloc(S_BITS_FIRST / 64, sizeof *s->words);
    if (!s || !s->words || et_idmap_put(self->streams, producer, s) != 0) {
        if (s)
            free(s->words);
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    s->bits = S_BITS_FIRST;
    self->bytes += sizeof *s + S_BITS_FIRST / 8;
    return s;
}

// ---------------------------------------------------------------------------
// The set

int
et_idset_insert(et_idset_t *self, uint64_t id)
{
    uint64_t q = id & S_SEQ_MASK;
    s_stream_t *s = s_stream(self, id >> ET_EVENT_SEQ_BITS);
    if (!s)
        return -1;
    if (q < s->base) {
        size_t i = s_hole_at(s, q);
        if (i == S_NONE)
            return 0;
        if (s_fill_hole(self, s, i, q) != 0)
            return -1;
        self->count++;
        return 1;
    }
    if (q - s->base >= s->bits && s->bits < S_BITS_MAX &&
        s_grow(self, s, q - s->base + 1) != 0)
        return -1;
    if (q - s->base >= s->bits && s_slide(self, s, q - s->bits + 1) != 0)
        return -1;
    if (s_bit(s, q))
        return 0;
    s_put_bit(s, q, 1);
    s_advance(s);
    self->count++;
    return 1;
}

int
et_idset_contains(const et_idset_t *self, uint64_t id)
{
    uint64_t q = id & S_SEQ_MASK;
    const s_stream_t *s = et_idmap_get(self->streams, id >> ET_EVENT_SEQ_BITS);
    if (!s)
        return 0;
    if (q < s->base)
        return s_hole_at(s, q) == S_NONE;
    return q - s->base < s->bits && s_bit(s, q);
}

size_t
et_idset_size(const et_idset_t *self)
{
    return self->count;
}

size_t
et_idset_bytes(const et_idset_t *self)
{
    return self->bytes;
}

// ---------------------------------------------------------------------------
// Checkpoint

#define S_CKPT_VERSION 1u
/* Streams are producers: no more than the collector keeps. */
#define S_CKPT_STREAMS_MAX 65536u
#define S_CKPT_HOLES_MAX (1u << 26)

typedef struct {
    msgpack_packer *pk;
    int rc;
} s_save_t;

static void
s_save_stream(uint64_t key, void *value, void *arg)
{
    s_save_t *save = arg;
    const s_stream_t *s = value;
    msgpack_packer *pk = save->pk;
    save->rc |= et_ckpt_open(pk, S_CKPT_VERSION, 5);
    save->rc |= et_ckpt_pack_u64(pk, key);
    save->rc |= et_ckpt_pack_u64(pk, s->base);
    save->rc |= et_ckpt_pack_bin(pk, s->words, s->bits / 8);
    save->rc |= et_ckpt_pack_bin(pk, s->holes, s->n_holes * sizeof *s->holes);
}

int
et_idset_save(const et_idset_t *self, msgpack_packer *pk)
{
    s_save_t save = {.pk = pk};
    save.rc |= et_ckpt_open(pk, S_CKPT_VERSION, 3);
    save.rc |= et_ckpt_pack_u64(pk, self->count);
    save.rc |= msgpack_pack_array(pk, (uint32_t)et_idmap_size(self->streams));
    et_idmap_each(self->streams, s_save_stream, &save);
    return save.rc ? -1 : 0;
}

static int
s_load_stream(et_idset_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, 5);
    uint64_t producer = et_ckpt_u64(&in, UINT64_MAX >> ET_EVENT_SEQ_BITS);
    uint64_t base = et_ckpt_u64(&in, S_SEQ_MASK + 1);
    const msgpack_object *words = et_ckpt_obj(&in);
    const msgpack_object *holes = et_ckpt_obj(&in);
    if (et_ckpt_done(&in) != 0 || words->type != MSGPACK_OBJECT_BIN ||
        holes->type != MSGPACK_OBJECT_BIN)
        goto bad;
    uint64_t bits = (uint64_t)words->via.bin.size * 8;
    size_t n_holes = holes->via.bin.size / sizeof(s_run_t);
    if (bits < S_BITS_FIRST || bits > S_BITS_MAX || (bits & (bits - 1)) ||
        holes->via.bin.size % sizeof(s_run_t) || n_holes > S_CKPT_HOLES_MAX ||
        et_idmap_get(self->streams, producer))
        goto bad;
    s_stream_t *s = s_stream(self, producer);
    if (!s)
        return -1;
    if (bits > s->bits && s_grow(self, s, bits) != 0)
        return -1;
    if (s_reserve_holes(self, s, n_holes) != 0)
        return -1;
    memcpy(s->words, words->via.bin.ptr, bits / 8);
    if (n_holes > 0)
        memcpy(s->holes, holes->via.bin.ptr, n_holes * sizeof(s_run_t));
    s->n_holes = n_holes;
    s->base = base;
    /* Holes sorted, disjoint, not touching (appends merge them) and below
     * the base; and the base's own bit clear (it would have advanced). */
    for (size_t i = 0; i < n_holes; i++) {
        const s_run_t *r = &s->holes[i];
        if (r->lo >= r->hi || r->hi > base ||
            (i > 0 && r->lo <= s->holes[i - 1].hi))
            goto bad;
    }
    if (s_bit(s, base))
        goto bad;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

int
et_idset_load(et_idset_t *self, const msgpack_object *obj)
{
    et_ckpt_in_t in;
    et_ckpt_in(&in, obj, S_CKPT_VERSION, 3);
    uint64_t count = et_ckpt_u64(&in, SIZE_MAX);
    uint32_t n = 0;
    const msgpack_object *streams = et_ckpt_array(&in, S_CKPT_STREAMS_MAX, &n);
    if (et_ckpt_done(&in) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (s_load_stream(self, &streams[i]) != 0)
            return -1;
    self->count = (size_t)count;
    return 0;
}
