/* Readings: both encodings are walked into the same field setter, so JSON
 * and msgpack payloads obey one set of rules. */
#include "producer/reading.h"

#include "common/cli.h"
#include "common/codec.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum { S_STR, S_NUM, S_BOOL, S_OTHER } s_kind_t;

/* One field's value, whatever the encoding. */
typedef struct {
    s_kind_t kind;
    const char *str;
    size_t len;
    double num;
    int is_uint; /* num came from a non-negative integer: u holds it */
    uint64_t u;
    int boolean;
} s_value_t;

enum {
    S_SEEN_SERIES = 1 << 0,
    S_SEEN_TS = 1 << 1,
    S_SEEN_VALUE = 1 << 2,
    S_SEEN_DEVICE = 1 << 3,
    S_SEEN_SEQ = 1 << 4,
    S_SEEN_TIME = 1 << 5,
    S_SEEN_END = 1 << 6,
    S_SEEN_COUNT = 1 << 7
};

typedef struct {
    et_reading_t *out;
    unsigned seen;
    char *why;
    size_t why_size;
} s_parse_t;

static int
s_bad(s_parse_t *p, const char *fmt, const char *name)
{
    et_cli_why(p->why, p->why_size, fmt, name);
    return -1;
}

static int
s_name(s_parse_t *p, const char *key, const s_value_t *v, char *dst)
{
    if (v->kind != S_STR || v->len == 0 || v->len > ET_READING_NAME_MAX ||
        memchr(v->str, '\0', v->len))
        return s_bad(p, "'%s': expected a name of 1 to 63 bytes", key);
    memcpy(dst, v->str, v->len);
    dst[v->len] = '\0';
    return 0;
}

static int
s_number(s_parse_t *p, const char *key, const s_value_t *v, double *dst)
{
    if (v->kind != S_NUM || !isfinite(v->num))
        return s_bad(p, "'%s': expected a finite number", key);
    *dst = v->num;
    return 0;
}

static int
s_count(s_parse_t *p, const char *key, const s_value_t *v, uint64_t *dst)
{
    if (v->kind != S_NUM || !v->is_uint || v->u > ET_READING_SEQ_MAX)
        return s_bad(p, "'%s': expected an integer from 0 to 2^53", key);
    *dst = v->u;
    return 0;
}

/* Times: unix seconds that fit in int64 nanoseconds, not before 1970. */
static int
s_time(s_parse_t *p, const char *key, const s_value_t *v, double *dst)
{
    if (s_number(p, key, v, dst) != 0)
        return -1;
    if (*dst < 0 || *dst > 9.2e9)
        return s_bad(p, "'%s': expected unix seconds, 0 to 9.2e9", key);
    return 0;
}

static int
s_field(s_parse_t *p, const char *key, size_t key_len, const s_value_t *v)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {{"series", S_SEEN_SERIES}, {"ts", S_SEEN_TS},
                 {"value", S_SEEN_VALUE},   {"device", S_SEEN_DEVICE},
                 {"seq", S_SEEN_SEQ},       {"time", S_SEEN_TIME},
                 {"end", S_SEEN_END},       {"count", S_SEEN_COUNT}};
    unsigned bit = 0;
    const char *name = NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) == key_len &&
            memcmp(known[i].name, key, key_len) == 0) {
            bit = known[i].bit;
            name = known[i].name;
        }
    }
    if (!bit)
        return 0; /* a field this producer does not use */
    if (p->seen & bit)
        return s_bad(p, "'%s' given twice", name);
    p->seen |= bit;
    et_reading_t *r = p->out;
    double t;
    switch (bit) {
    case S_SEEN_SERIES:
        return s_name(p, name, v, r->series);
    case S_SEEN_DEVICE:
        return s_name(p, name, v, r->device);
    case S_SEEN_TS:
        return s_time(p, name, v, &r->ts);
    case S_SEEN_VALUE:
        return s_number(p, name, v, &r->value);
    case S_SEEN_SEQ:
        r->has_seq = 1;
        return s_count(p, name, v, &r->seq);
    case S_SEEN_COUNT:
        return s_count(p, name, v, &r->seq);
    case S_SEEN_TIME:
        if (s_time(p, name, v, &t) != 0)
            return -1;
        r->has_time = 1;
        r->time_ns = (int64_t)llround(t * 1e9);
        return 0;
    case S_SEEN_END:
        if (v->kind != S_BOOL || !v->boolean)
            return s_bad(p, "'%s': expected true", name);
        r->end = 1;
        return 0;
    }
    return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

static int
s_parse_json(s_parse_t *p, const char *data, size_t size)
{
    json_error_t error;
    /* Rejects trailing bytes, NUL inside strings and repeated keys. */
    json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        et_cli_why(p->why, p->why_size, "bad JSON: %s", error.text);
        return -1;
    }
    int rc = 0;
    if (!json_is_object(root)) {
        rc = s_bad(p, "%s", "expected a JSON object");
        goto done;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        s_value_t v = {.kind = S_OTHER};
        if (json_is_string(value)) {
            v.kind = S_STR;
            v.str = json_string_value(value);
            v.len = json_string_length(value);
        } else if (json_is_integer(value)) {
            json_int_t i = json_integer_value(value);
            v.kind = S_NUM;
            v.num = (double)i;
            v.is_uint = i >= 0;
            v.u = i >= 0 ? (uint64_t)i : 0;
        } else if (json_is_real(value)) {
            v.kind = S_NUM;
            v.num = json_real_value(value);
        } else if (json_is_boolean(value)) {
            v.kind = S_BOOL;
            v.boolean = json_is_true(value);
        }
        if ((rc = s_field(p, key, strlen(key), &v)) != 0)
            goto done;
    }
done:
    json_decref(root);
    return rc;
}

/* ---- msgpack ------------------------------------------------------------- */

static int
s_parse_msgpack(s_parse_t *p, const char *data, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t off = 0;
    int rc = -1;
    /* Declared lengths are checked against the bytes first, so a hostile
     * count can never make msgpack-c allocate for it. */
    if (et_codec_precheck(data, size) != 0 ||
        msgpack_unpack_next(&unpacked, data, size, &off) !=
            MSGPACK_UNPACK_SUCCESS ||
        off != size) {
        s_bad(p, "%s", "neither a JSON object nor one msgpack map");
        goto done;
    }
    const msgpack_object *root = &unpacked.data;
    if (root->type != MSGPACK_OBJECT_MAP) {
        s_bad(p, "%s", "expected a msgpack map");
        goto done;
    }
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key;
        const msgpack_object *o = &root->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR) {
            s_bad(p, "%s", "a msgpack key that is not a string");
            goto done;
        }
        s_value_t v = {.kind = S_OTHER};
        switch (o->type) {
        case MSGPACK_OBJECT_STR:
            v.kind = S_STR;
            v.str = o->via.str.ptr;
            v.len = o->via.str.size;
            break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            v.kind = S_NUM;
            v.num = (double)o->via.u64;
            v.is_uint = 1;
            v.u = o->via.u64;
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            v.kind = S_NUM;
            v.num = (double)o->via.i64;
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            v.kind = S_NUM;
            v.num = o->via.f64;
            break;
        case MSGPACK_OBJECT_BOOLEAN:
            v.kind = S_BOOL;
            v.boolean = o->via.boolean;
            break;
        default:
            break;
        }
        /* msgpack-c may leave ptr NULL for an empty string. */
        if (v.kind == S_STR && !v.str)
            v.str = "";
        if (s_field(p, k->via.str.size ? k->via.str.ptr : "", k->via.str.size,
                    &v) != 0)
            goto done;
    }
    rc = 0;
done:
    msgpack_unpacked_destroy(&unpacked);
    return rc;
}

/* ---- the interface ------------------------------------------------------- */

int
et_reading_parse(const void *data, size_t size, et_reading_t *out, char *why,
                 size_t why_size)
{
    s_parse_t p = {.out = out, .why = why, .why_size = why_size};
    memset(out, 0, sizeof *out);
    if (size > ET_READING_PAYLOAD_MAX) {
        et_cli_why(why, why_size, "payload of %zu bytes, more than %d", size,
                   ET_READING_PAYLOAD_MAX);
        return -1;
    }
    if (size == 0) {
        et_cli_why(why, why_size, "empty payload");
        return -1;
    }
    const char *bytes = data;
    size_t first = 0;
    while (first < size && strchr(" \t\r\n", bytes[first]) && bytes[first])
        first++;
    int rc = first < size && bytes[first] == '{'
                 ? s_parse_json(&p, bytes, size)
                 : s_parse_msgpack(&p, bytes, size);
    if (rc != 0)
        return -1;
    if (out->end) {
        if (!(p.seen & S_SEEN_DEVICE) || !(p.seen & S_SEEN_COUNT)) {
            et_cli_why(why, why_size,
                       "an end marker needs 'device' and "
                       "'count'");
            return -1;
        }
        out->has_seq = 1;
        return 0;
    }
    if (p.seen & S_SEEN_COUNT) {
        et_cli_why(why, why_size, "'count' belongs to an end marker");
        return -1;
    }
    const unsigned needed = S_SEEN_SERIES | S_SEEN_TS | S_SEEN_VALUE;
    if ((p.seen & needed) != needed) {
        et_cli_why(why, why_size,
                   "a reading needs 'series', 'ts' and "
                   "'value'");
        return -1;
    }
    if (!(p.seen & S_SEEN_DEVICE))
        memcpy(out->device, out->series, sizeof out->device);
    return 0;
}

int
et_reading_pack(const et_reading_t *reading, msgpack_sbuffer *buf)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    size_t len = strlen(reading->series);
    if (msgpack_pack_map(&pk, 3) || msgpack_pack_str(&pk, 6) ||
        msgpack_pack_str_body(&pk, "series", 6) || msgpack_pack_str(&pk, len) ||
        msgpack_pack_str_body(&pk, reading->series, len) ||
        msgpack_pack_str(&pk, 2) || msgpack_pack_str_body(&pk, "ts", 2) ||
        msgpack_pack_double(&pk, reading->ts) || msgpack_pack_str(&pk, 5) ||
        msgpack_pack_str_body(&pk, "value", 5) ||
        msgpack_pack_double(&pk, reading->value)) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}
