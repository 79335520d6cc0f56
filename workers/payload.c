/* Payload maps: the one reader and copier the functions share. */
#include "workers/payload.h"

#include "common/codec.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int
et_payload_unpack_map(const void *data, size_t size, msgpack_unpacked *out)
{
    size_t off = 0;
    /* The precheck also refuses bytes after the first object; the offset
     * check keeps that true should msgpack-c ever read less. */
    if (size == 0 || et_codec_precheck(data, size) != 0 ||
        msgpack_unpack_next(out, data, size, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != size || out->data.type != MSGPACK_OBJECT_MAP) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int
et_payload_key_is(const msgpack_object *key, const char *name)
{
    size_t len = strlen(name);
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == len &&
           memcmp(key->via.str.ptr, name, len) == 0;
}

int
et_payload_keys_are_strings(const msgpack_object *map)
{
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (map->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
            return 0;
    return 1;
}

const msgpack_object *
et_payload_find(const msgpack_object *map, const char *name)
{
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (et_payload_key_is(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    return NULL;
}

int
et_payload_find_unique(const msgpack_object *map, const char *name,
                       const msgpack_object **value)
{
    const msgpack_object *found = NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        if (!et_payload_key_is(&map->via.map.ptr[i].key, name))
            continue;
        if (found) {
            errno = EEXIST;
            return -1;
        }
        found = &map->via.map.ptr[i].val;
    }
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    *value = found;
    return 0;
}

int
et_payload_number(const msgpack_object *obj, double bound, double *out)
{
    double v;
    switch (obj->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        v = (double)obj->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v = (double)obj->via.i64;
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        v = obj->via.f64;
        break;
    default:
        return -1;
    }
    if (!isfinite(v) || fabs(v) > bound)
        return -1;
    *out = v;
    return 0;
}

int
et_payload_uint(const msgpack_object *obj, uint64_t max, uint64_t *out)
{
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER || obj->via.u64 > max)
        return -1;
    *out = obj->via.u64;
    return 0;
}

int
et_payload_bool(const msgpack_object *obj, int *out)
{
    if (obj->type != MSGPACK_OBJECT_BOOLEAN)
        return -1;
    *out = obj->via.boolean ? 1 : 0;
    return 0;
}

int
et_payload_text(const msgpack_object *obj, size_t max_len, const char **text,
                size_t *len)
{
    if (obj->type != MSGPACK_OBJECT_STR || obj->via.str.size == 0 ||
        obj->via.str.size > max_len)
        return -1;
    for (uint32_t i = 0; i < obj->via.str.size; i++) {
        unsigned char c = (unsigned char)obj->via.str.ptr[i];
        if (c < 0x20 || c == 0x7f)
            return -1;
    }
    *text = obj->via.str.ptr;
    *len = obj->via.str.size;
    return 0;
}

static int
s_is_scalar(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_BOOLEAN:
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
    case MSGPACK_OBJECT_STR:
        return 1;
    default:
        return 0;
    }
}

static int
s_kept(const msgpack_object_kv *kv, const char *drop, unsigned flags)
{
    if (drop && et_payload_key_is(&kv->key, drop))
        return 0;
    return !(flags & ET_PAYLOAD_SCALARS) || s_is_scalar(&kv->val);
}

int
et_payload_pack_except(msgpack_packer *pk, const msgpack_object *map,
                       const char *drop, unsigned flags, uint32_t extra)
{
    const msgpack_object_map *m = &map->via.map;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < m->size; i++)
        kept += (uint32_t)s_kept(&m->ptr[i], drop, flags);
    if (msgpack_pack_map(pk, kept + extra) != 0)
        return -1;
    for (uint32_t i = 0; i < m->size; i++) {
        if (!s_kept(&m->ptr[i], drop, flags))
            continue;
        if (msgpack_pack_object(pk, m->ptr[i].key) != 0 ||
            msgpack_pack_object(pk, m->ptr[i].val) != 0)
            return -1;
    }
    return 0;
}
