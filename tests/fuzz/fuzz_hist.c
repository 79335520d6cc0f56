/* Fuzz target: et_hist_unpack on msgpack from the network, after
 * et_codec_precheck as production code must do. What unpacks must answer
 * queries within its own bounds, pack and unpack to the same bytes, and
 * merge with itself into a histogram that still unpacks. */
#include "common/codec.h"
#include "common/hist.h"

#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_fail(const char *what)
{
    fprintf(stderr, "fuzz_hist: %s\n", what);
    abort();
}

static void
s_pack(const et_hist_t *h, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    if (et_hist_pack(h, &pk) != 0)
        s_fail("pack");
}

/* Unpack 'buf' the production way; the histogram must come back. */
static et_hist_t *
s_unpack_bytes(const msgpack_sbuffer *buf)
{
    if (et_codec_precheck(buf->data, buf->size) != 0)
        s_fail("packed histogram fails the precheck");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, buf->data, buf->size, &off) !=
        MSGPACK_UNPACK_SUCCESS)
        s_fail("packed histogram does not unpack");
    et_hist_t *h = et_hist_unpack(&u.data);
    msgpack_unpacked_destroy(&u);
    if (!h)
        s_fail("packed histogram rejected by et_hist_unpack");
    return h;
}

static void
s_check_queries(const et_hist_t *h)
{
    uint64_t count = et_hist_count(h);
    int64_t min = et_hist_min(h), max = et_hist_max(h);
    if (et_hist_overflow(h) > count || min > max || min < 0)
        s_fail("count, overflow, min or max out of step");
    static const double s_ps[] = {0, 0.1, 50, 90, 99, 99.9, 100};
    int64_t last = 0;
    for (size_t i = 0; i < sizeof s_ps / sizeof s_ps[0]; i++) {
        int64_t v = et_hist_percentile(h, s_ps[i]);
        if (count == 0 ? v != 0 : v < min || v > max || v < last)
            s_fail("percentile outside [min, max] or not monotonic");
        last = v;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || et_codec_precheck(data, size) != 0)
        return 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, (const char *)data, size, &off) !=
        MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&u);
        return 0;
    }
    et_hist_t *h = et_hist_unpack(&u.data);
    msgpack_unpacked_destroy(&u);
    if (!h)
        return 0;
    s_check_queries(h);

    msgpack_sbuffer one, two;
    msgpack_sbuffer_init(&one);
    msgpack_sbuffer_init(&two);
    s_pack(h, &one);
    et_hist_t *again = s_unpack_bytes(&one);
    s_pack(again, &two);
    if (one.size != two.size || memcmp(one.data, two.data, one.size) != 0)
        s_fail("pack, unpack, pack changed the bytes");
    if (et_hist_count(again) != et_hist_count(h) ||
        et_hist_min(again) != et_hist_min(h) ||
        et_hist_max(again) != et_hist_max(h) ||
        et_hist_overflow(again) != et_hist_overflow(h))
        s_fail("round trip changed a summary");

    /* A merge that is accepted keeps the invariants unpack checks. */
    uint64_t count = et_hist_count(h);
    if (et_hist_merge(h, again) == 0) {
        if (et_hist_count(h) != 2 * count)
            s_fail("merge lost counts");
        s_check_queries(h);
        msgpack_sbuffer_clear(&two);
        s_pack(h, &two);
        et_hist_t *merged = s_unpack_bytes(&two);
        et_hist_destroy(&merged);
    }
    msgpack_sbuffer_destroy(&one);
    msgpack_sbuffer_destroy(&two);
    et_hist_destroy(&again);
    et_hist_destroy(&h);
    return 0;
}
