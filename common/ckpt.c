/* Checkpoint fields: packing helpers and the sticky-error reader. */
#include "common/ckpt.h"

#include "common/hist.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int
et_ckpt_open(msgpack_packer *pk, uint32_t version, uint32_t n)
{
    if (msgpack_pack_array(pk, n) != 0)
        return -1;
    return msgpack_pack_uint32(pk, version);
}

int
et_ckpt_pack_u64(msgpack_packer *pk, uint64_t v)
{
    return msgpack_pack_uint64(pk, v);
}

int
et_ckpt_pack_i64(msgpack_packer *pk, int64_t v)
{
    return msgpack_pack_int64(pk, v);
}

int
et_ckpt_pack_f64(msgpack_packer *pk, double v)
{
    return msgpack_pack_double(pk, v);
}

int
et_ckpt_pack_str(msgpack_packer *pk, const char *s)
{
    size_t len = strlen(s);
    if (msgpack_pack_str(pk, len) != 0)
        return -1;
    return msgpack_pack_str_body(pk, s, len);
}

int
et_ckpt_pack_bin(msgpack_packer *pk, const void *data, size_t size)
{
    if (msgpack_pack_bin(pk, size) != 0)
        return -1;
    return msgpack_pack_bin_body(pk, data, size);
}

void
et_ckpt_in(et_ckpt_in_t *in, const msgpack_object *obj, uint32_t version,
           uint32_t n)
{
    memset(in, 0, sizeof *in);
    if (!obj || obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size != n ||
        n == 0) {
        in->bad = 1;
        return;
    }
    in->items = obj->via.array.ptr;
    in->n = n;
    if (et_ckpt_u64(in, UINT32_MAX) != version)
        in->bad = 1;
}

static const msgpack_object *
s_next(et_ckpt_in_t *in)
{
    if (in->bad || in->next >= in->n) {
        in->bad = 1;
        return NULL;
    }
    return &in->items[in->next++];
}

uint64_t
et_ckpt_u64(et_ckpt_in_t *in, uint64_t max)
{
    const msgpack_object *o = s_next(in);
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max) {
        in->bad = 1;
        return 0;
    }
    return o->via.u64;
}

int64_t
et_ckpt_i64(et_ckpt_in_t *in)
{
    const msgpack_object *o = s_next(in);
    if (!o)
        return 0;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        o->via.u64 <= (uint64_t)INT64_MAX)
        return (int64_t)o->via.u64;
    in->bad = 1;
    return 0;
}

double
et_ckpt_f64(et_ckpt_in_t *in)
{
    const msgpack_object *o = s_next(in);
    if (!o)
        return 0;
    if ((o->type != MSGPACK_OBJECT_FLOAT64 &&
         o->type != MSGPACK_OBJECT_FLOAT32) ||
        isnan(o->via.f64)) {
        in->bad = 1;
        return 0;
    }
    return o->via.f64;
}

void
et_ckpt_str(et_ckpt_in_t *in, char *out, size_t size)
{
    out[0] = '\0';
    const msgpack_object *o = s_next(in);
    if (!o)
        return;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= size ||
        (o->via.str.size > 0 &&
         memchr(o->via.str.ptr, '\0', o->via.str.size))) {
        in->bad = 1;
        return;
    }
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
}

void
et_ckpt_bin(et_ckpt_in_t *in, void *out, size_t size)
{
    const msgpack_object *o = s_next(in);
    if (!o)
        return;
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != size) {
        in->bad = 1;
        return;
    }
    if (size > 0)
        memcpy(out, o->via.bin.ptr, size);
}

const msgpack_object *
et_ckpt_obj(et_ckpt_in_t *in)
{
    return s_next(in);
}

const msgpack_object *
et_ckpt_array(et_ckpt_in_t *in, uint32_t max, uint32_t *count)
{
    *count = 0;
    const msgpack_object *o = s_next(in);
    if (!o)
        return NULL;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > max) {
        in->bad = 1;
        return NULL;
    }
    *count = o->via.array.size;
    return o->via.array.ptr;
}

void
et_ckpt_fail(et_ckpt_in_t *in)
{
    in->bad = 1;
}

void
et_ckpt_hist(et_ckpt_in_t *in, et_hist_t **slot)
{
    const msgpack_object *o = s_next(in);
    if (!o)
        return;
    et_hist_t *h = et_hist_unpack(o);
    if (!h) {
        in->bad = errno == ENOMEM ? 2 : 1;
        return;
    }
    et_hist_destroy(slot);
    *slot = h;
}

int
et_ckpt_pack_hist_opt(msgpack_packer *pk, const et_hist_t *h)
{
    return h ? et_hist_pack(h, pk) : msgpack_pack_nil(pk);
}

void
et_ckpt_hist_opt(et_ckpt_in_t *in, et_hist_t **slot)
{
    if (!in->bad && in->next < in->n &&
        in->items[in->next].type == MSGPACK_OBJECT_NIL) {
        in->next++;
        et_hist_destroy(slot);
        return;
    }
    et_ckpt_hist(in, slot);
}

int
et_ckpt_done(const et_ckpt_in_t *in)
{
    if (in->bad || in->next != in->n) {
        errno = in->bad == 2 ? ENOMEM : EPROTO;
        return -1;
    }
    return 0;
}
