/* msgpack codec for the wire protocol. Bodies are positional arrays with an
 * exact field count: compact, and any drift between sender and receiver is
 * caught as EPROTO rather than misread. One concept, the wire contract, one
 * encoder and decoder per message: hence the length. */
#include "common/codec.h"
#include "common/hash.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* ---- structural precheck ------------------------------------------------ */

static uint64_t
s_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int
et_codec_precheck(const void *data, size_t size)
{
    const uint8_t *p = data;
    size_t pos = 0;
    /* pending[d]: objects still to read at nesting depth d. */
    uint64_t pending[ET_MSGPACK_MAX_DEPTH + 1];
    int depth = 0;
    pending[0] = 1;

    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (pos >= size)
            goto bad;
        uint8_t b = p[pos++];
        uint64_t skip = 0;     /* bytes of scalar data after the tag */
        uint64_t children = 0; /* objects inside a container */
        int width = 0;         /* bytes of the length field */
        int container = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            skip = 0;
        } else if (b >= 0x80 && b <= 0x8f) {
            children = 2ULL * (b & 0x0f);
            container = 1;
        } else if (b >= 0x90 && b <= 0x9f) {
            children = b & 0x0f;
            container = 1;
        } else if (b >= 0xa0 && b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4:
            case 0xd9:
                width = 1;
                break;
            case 0xc5:
            case 0xda:
                width = 2;
                break;
            case 0xc6:
            case 0xdb:
                width = 4;
                break;
            case 0xc7:
                width = 1;
                skip = 1;
                break;
            case 0xc8:
                width = 2;
                skip = 1;
                break;
            case 0xc9:
                width = 4;
                skip = 1;
                break;
            case 0xca:
                skip = 4;
                break;
            case 0xcb:
                skip = 8;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break;
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
                width = 2;
                container = 1;
                break;
            case 0xdd:
                width = 4;
                container = 1;
                break;
            case 0xde:
                width = 2;
                container = 2;
                break;
            case 0xdf:
                width = 4;
                container = 2;
                break;
            default:
                goto bad; /* 0xc1 is never used */
            }
            if (width > 0) {
                if (size - pos < (size_t)width)
                    goto bad;
                uint64_t len = s_be(p + pos, width);
                pos += (size_t)width;
                if (container == 1)
                    children = len;
                else if (container == 2)
                    children = 2 * len;
                else
                    skip += len;
            }
        }
        if (container) {
            /* Every child takes at least one byte: a count larger than the
             * bytes left is a lie, whatever the nesting. */
            if (children > size - pos || depth == ET_MSGPACK_MAX_DEPTH)
                goto bad;
            pending[++depth] = children;
        } else {
            if (skip > size - pos)
                goto bad;
            pos += (size_t)skip;
        }
    }
    if (pos != size)
        goto bad;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

/* ---- decoding helpers ---------------------------------------------------- */

/* Bodies are read in place, without a msgpack zone: a cursor walks the
 * bytes that et_codec_precheck accepted, one item at a time, and fills one
 * msgpack_object as msgpack-c's unpacker would have (same types, so the
 * field checks below are those of before). A container item carries only
 * its size; its children follow on the same cursor, read by a sub-reader
 * (s_sub). Every read still checks its bounds. */
typedef struct {
    const uint8_t *p;
    size_t size;
    size_t pos;
} s_bytes_t;

typedef struct {
    s_bytes_t *bytes;   /* shared by a reader and its sub-readers */
    msgpack_object cur; /* the item last read */
    uint32_t count;
    uint32_t next;
    int bad;
} s_reader_t;

/* Read 'n' bytes big-endian at the cursor; 0 (and *ok 0) past the end. */
static uint64_t
s_take(s_bytes_t *b, size_t n, int *ok)
{
    if (b->size - b->pos < n) {
        *ok = 0;
        return 0;
    }
    uint64_t v = s_be(b->p + b->pos, (int)n);
    b->pos += n;
    return v;
}

/* A signed integer of any width, typed as msgpack-c types it: positive
 * when not negative. */
static void
s_signed(msgpack_object *o, int64_t v)
{
    if (v >= 0) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = (uint64_t)v;
    } else {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = v;
    }
}

/* Parse the item at the cursor into 'o': 0, or -1 when the bytes end. */
static int
s_item(s_bytes_t *b, msgpack_object *o)
{
    int ok = 1;
    if (b->pos >= b->size)
        return -1;
    uint8_t t = b->p[b->pos++];
    uint64_t n = 0; /* str/bin/ext length */
    memset(o, 0, sizeof *o);
    if (t <= 0x7f) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = t;
        return 0;
    }
    if (t >= 0xe0) {
        s_signed(o, (int8_t)t);
        return 0;
    }
    if (t <= 0x8f || (t >= 0x90 && t <= 0x9f)) {
        o->type = t <= 0x8f ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY;
        o->via.array.size = t & 0x0f;
        return 0;
    }
    if (t >= 0xa0 && t <= 0xbf) {
        o->type = MSGPACK_OBJECT_STR;
        n = t & 0x1f;
        goto data;
    }
    switch (t) {
    case 0xc0:
        o->type = MSGPACK_OBJECT_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        o->type = MSGPACK_OBJECT_BOOLEAN;
        o->via.boolean = t == 0xc3;
        return 0;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        o->type = MSGPACK_OBJECT_BIN;
        n = s_take(b, (size_t)1 << (t - 0xc4), &ok);
        goto data;
    case 0xd9:
    case 0xda:
    case 0xdb:
        o->type = MSGPACK_OBJECT_STR;
        n = s_take(b, (size_t)1 << (t - 0xd9), &ok);
        goto data;
    case 0xc7:
    case 0xc8:
    case 0xc9:
        o->type = MSGPACK_OBJECT_EXT;
        n = s_take(b, (size_t)1 << (t - 0xc7), &ok) + 1;
        goto data;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        o->type = MSGPACK_OBJECT_EXT;
        n = 1 + ((uint64_t)1 << (t - 0xd4));
        goto data;
    case 0xca: {
        uint32_t bits = (uint32_t)s_take(b, 4, &ok);
        float f;
        memcpy(&f, &bits, sizeof f);
        o->type = MSGPACK_OBJECT_FLOAT32;
        o->via.f64 = (double)f;
        break;
    }
    case 0xcb: {
        uint64_t bits = s_take(b, 8, &ok);
        o->type = MSGPACK_OBJECT_FLOAT64;
        memcpy(&o->via.f64, &bits, sizeof o->via.f64);
        break;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = s_take(b, (size_t)1 << (t - 0xcc), &ok);
        break;
    case 0xd0:
        s_signed(o, (int8_t)s_take(b, 1, &ok));
        break;
    case 0xd1:
        s_signed(o, (int16_t)s_take(b, 2, &ok));
        break;
    case 0xd2:
        s_signed(o, (int32_t)s_take(b, 4, &ok));
        break;
    case 0xd3:
        s_signed(o, (int64_t)s_take(b, 8, &ok));
        break;
    case 0xdc:
    case 0xdd:
        o->type = MSGPACK_OBJECT_ARRAY;
        o->via.array.size = (uint32_t)s_take(b, t == 0xdc ? 2 : 4, &ok);
        break;
    case 0xde:
    case 0xdf:
        o->type = MSGPACK_OBJECT_MAP;
        o->via.map.size = (uint32_t)s_take(b, t == 0xde ? 2 : 4, &ok);
        break;
    default:
        return -1; /* 0xc1 */
    }
    return ok ? 0 : -1;
data:
    /* A string's or a bin's bytes are pointed at, not copied; an ext's
     * are skipped (no decoder reads one). */
    if (!ok || n > b->size - b->pos)
        return -1;
    o->via.str.ptr = (const char *)b->p + b->pos;
    o->via.str.size = (uint32_t)n;
    b->pos += (size_t)n;
    return 0;
}

/* Open 'data' as an array of exactly 'fields' items (or at least 'fields'
 * when 'fields_min_only'), reading through 'bytes'. */
static int
s_reader_open(s_reader_t *r, s_bytes_t *bytes, const void *data, size_t size,
              size_t max, uint32_t fields, int fields_min_only)
{
    memset(r, 0, sizeof *r);
    if (size > max) {
        errno = EMSGSIZE;
        return -1;
    }
    if (et_codec_precheck(data, size) != 0)
        return -1;
    *bytes = (s_bytes_t){.p = data, .size = size};
    r->bytes = bytes;
    if (s_item(bytes, &r->cur) != 0 || r->cur.type != MSGPACK_OBJECT_ARRAY)
        goto bad;
    r->count = r->cur.via.array.size;
    if (fields_min_only ? r->count < fields : r->count != fields)
        goto bad;
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

/* The reader's verdict: a body whose items were not all read is refused
 * too (no decoder leaves any unread when it accepts). */
static int
s_reader_close(s_reader_t *r)
{
    if (r->bad || r->bytes->pos != r->bytes->size) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

static const msgpack_object *
s_next(s_reader_t *r)
{
    if (r->bad || r->next >= r->count || s_item(r->bytes, &r->cur) != 0) {
        r->bad = 1;
        return NULL;
    }
    r->next++;
    return &r->cur;
}

/* A reader over the children of the array 'o' just read by 'r': 0, or -1
 * (and r->bad) when 'o' is not an array or its size is outside
 * [min, max]. */
static int
s_sub(s_reader_t *r, const msgpack_object *o, uint32_t min, uint32_t max,
      s_reader_t *sub)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < min ||
        o->via.array.size > max) {
        r->bad = 1;
        return -1;
    }
    *sub = (s_reader_t){.bytes = r->bytes, .count = o->via.array.size};
    return 0;
}

static uint64_t
s_read_u64(s_reader_t *r, uint64_t max)
{
    const msgpack_object *o = s_next(r);
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max) {
        r->bad = 1;
        return 0;
    }
    return o->via.u64;
}

static int64_t
s_read_i64(s_reader_t *r, int64_t min, int64_t max)
{
    const msgpack_object *o = s_next(r);
    int64_t v;
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        o->via.u64 <= (uint64_t)INT64_MAX)
        v = (int64_t)o->via.u64;
    else if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = o->via.i64;
    else {
        r->bad = 1;
        return 0;
    }
    if (v < min || v > max) {
        r->bad = 1;
        return 0;
    }
    return v;
}

static double
s_read_f64(s_reader_t *r, double min, double max)
{
    const msgpack_object *o = s_next(r);
    double v;
    if (o && (o->type == MSGPACK_OBJECT_FLOAT64 ||
              o->type == MSGPACK_OBJECT_FLOAT32))
        v = o->via.f64;
    else if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        v = (double)o->via.u64;
    else if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = (double)o->via.i64;
    else {
        r->bad = 1;
        return 0;
    }
    if (!isfinite(v) || v < min || v > max) {
        r->bad = 1;
        return 0;
    }
    return v;
}

/* A bin's bytes, in place: NULL (and r->bad) when the item is not a bin.
 * An empty bin gives a non-NULL pointer and *size 0. */
static const uint8_t *
s_read_bin(s_reader_t *r, size_t *size)
{
    const msgpack_object *o = s_next(r);
    *size = 0;
    if (!o || o->type != MSGPACK_OBJECT_BIN) {
        r->bad = 1;
        return NULL;
    }
    *size = o->via.bin.size;
    return o->via.bin.size ? (const uint8_t *)o->via.bin.ptr
                           : (const uint8_t *)"";
}

/* Copy a string of 1..cap-1 bytes with no NUL inside (or 0 bytes when
 * 'allow_empty'). */
static void
s_read_str(s_reader_t *r, char *dst, size_t cap, int allow_empty)
{
    const msgpack_object *o = s_next(r);
    dst[0] = '\0';
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap ||
        (!allow_empty && o->via.str.size == 0) ||
        (o->via.str.size > 0 &&
         memchr(o->via.str.ptr, '\0', o->via.str.size))) {
        r->bad = 1;
        return;
    }
    /* msgpack-c leaves ptr NULL for an empty string: no memcpy then. */
    if (o->via.str.size > 0)
        memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
}

#define S_U32 UINT32_MAX
#define S_I64_MIN INT64_MIN
#define S_I64_MAX INT64_MAX
#define S_NS_MAX INT64_MAX

/* ---- encoding helpers ---------------------------------------------------- */

/* msgpack_pack_* return 0 or -1. Chained with || they run left to right and
 * stop at the first failure; with | their order would be unspecified. */
static int
s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t len = strlen(s);
    return msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, s, len);
}

static int
s_done(int rc)
{
    if (rc != 0) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* ---- header -------------------------------------------------------------- */

static int
s_type_known(uint64_t type)
{
    return (type >= ET_MSG_EVENT && type <= ET_MSG_SHED) ||
           (type >= ET_MSG_READY && type <= ET_MSG_RESULTS) ||
           (type >= ET_MSG_RECORDS && type <= ET_MSG_EVENTS);
}

int
et_codec_encode_header(msgpack_sbuffer *buf, et_msg_type_t type)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    return s_done(msgpack_pack_array(&pk, 2) ||
                  msgpack_pack_uint8(&pk, ET_PROTOCOL_VERSION) ||
                  msgpack_pack_uint8(&pk, (uint8_t)type));
}

int
et_codec_decode_header(const void *data, size_t size, et_msg_type_t *type)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_HEADER_MAX, 2, 0) != 0)
        return -1;
    uint64_t version = s_read_u64(&r, UINT8_MAX);
    uint64_t t = s_read_u64(&r, UINT8_MAX);
    if (s_reader_close(&r) != 0)
        return -1;
    if (version != ET_PROTOCOL_VERSION) {
        errno = EPROTONOSUPPORT;
        return -1;
    }
    if (!s_type_known(t)) {
        errno = EPROTO;
        return -1;
    }
    *type = (et_msg_type_t)t;
    return 0;
}

/* ---- bodies -------------------------------------------------------------- */

#define S_PACKER(buf)                                                          \
    msgpack_packer pk;                                                         \
    msgpack_packer_init(&pk, (buf), msgpack_sbuffer_write)

static int
s_pack_event(msgpack_packer *pk, const et_event_t *m)
{
    /* Five fields, a sixth (route) when not 0, a seventh (key) when set:
     * a keyed event spells its route even when it is 0. */
    int keyed = m->key != ET_KEY_NONE;
    int fields = keyed ? 7 : m->route ? 6 : 5;
    int rc = msgpack_pack_array(pk, (size_t)fields) ||
             msgpack_pack_uint64(pk, m->event_id) ||
             msgpack_pack_uint32(pk, m->producer_id) ||
             msgpack_pack_int64(pk, m->intended_ns) ||
             msgpack_pack_int64(pk, m->sent_ns) ||
             msgpack_pack_int32(pk, m->label);
    if (!rc && fields >= 6)
        rc = msgpack_pack_uint32(pk, m->route);
    if (!rc && keyed)
        rc = msgpack_pack_uint64(pk, m->key);
    return rc;
}

int
et_codec_encode_event(msgpack_sbuffer *buf, const et_event_t *m)
{
    S_PACKER(buf);
    return s_done(s_pack_event(&pk, m));
}

uint64_t
et_codec_key_of(const void *name, size_t size)
{
    uint64_t h = et_hash_u64(et_hash_fnv1a(ET_HASH_FNV_START, name, size));
    return h == ET_KEY_NONE ? 1 : h;
}

/* An event's 5..7 fields from 'r' (positioned at the first). */
static void
s_read_event(s_reader_t *r, et_event_t *m)
{
    if (r->count < 5 || r->count > 7)
        r->bad = 1;
    m->event_id = s_read_u64(r, UINT64_MAX);
    m->producer_id = (uint32_t)s_read_u64(r, S_U32);
    m->intended_ns = s_read_i64(r, 0, S_NS_MAX);
    m->sent_ns = s_read_i64(r, 0, S_NS_MAX);
    m->label = (int32_t)s_read_i64(r, -1, INT32_MAX);
    /* A sixth field 0 without a seventh would be a second spelling of
     * five, and a key field that says "no key" one of six: both refused. */
    m->route = r->count >= 6 ? (uint32_t)s_read_u64(r, ET_STAGES_MAX - 1) : 0;
    if (r->count == 6 && m->route == 0)
        r->bad = 1;
    m->key = ET_KEY_NONE;
    if (!r->bad && r->count == 7) {
        m->key = s_read_u64(r, UINT64_MAX);
        if (m->key == ET_KEY_NONE)
            r->bad = 1;
    }
}

int
et_codec_decode_event(const void *data, size_t size, et_event_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 5, 1) != 0)
        return -1;
    s_read_event(&r, m);
    return s_reader_close(&r);
}

int
et_codec_encode_reject(msgpack_sbuffer *buf, const et_reject_t *m)
{
    if (m->count > ET_BATCH_MAX || m->admit_eps > ET_ADMIT_EPS_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    int fields = m->admit_eps ? 5 : m->count > 1 ? 4 : 3;
    S_PACKER(buf);
    return s_done(
        msgpack_pack_array(&pk, (size_t)fields) ||
        msgpack_pack_uint64(&pk, m->event_id) ||
        msgpack_pack_uint8(&pk, m->reason) ||
        msgpack_pack_int64(&pk, m->pause_ns) ||
        (fields >= 4 && msgpack_pack_uint32(&pk, m->count ? m->count : 1)) ||
        (fields == 5 && msgpack_pack_uint32(&pk, m->admit_eps)));
}

int
et_codec_decode_reject(const void *data, size_t size, et_reject_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 3, 1) != 0)
        return -1;
    if (r.count > 5)
        r.bad = 1;
    m->event_id = s_read_u64(&r, UINT64_MAX);
    m->reason = (uint8_t)s_read_u64(&r, ET_REASON_MAX);
    m->pause_ns = s_read_i64(&r, 0, ET_PAUSE_MAX_NS);
    m->count = 1;
    m->admit_eps = 0;
    if (!r.bad && r.count >= 4) {
        m->count = (uint32_t)s_read_u64(&r, ET_BATCH_MAX);
        /* Four fields with a count of 1 would be a second spelling of
         * three; a fifth field of 0, of four. */
        if (m->count < (r.count == 4 ? 2u : 1u))
            r.bad = 1;
    }
    if (!r.bad && r.count == 5) {
        m->admit_eps = (uint32_t)s_read_u64(&r, ET_ADMIT_EPS_MAX);
        if (m->admit_eps == 0)
            r.bad = 1;
    }
    if (m->event_id > UINT64_MAX - (m->count - 1))
        r.bad = 1;
    return s_reader_close(&r);
}

/* Little-endian fixed-width integers, for the SHED's columns. */
static void
s_put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
s_get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* The label column's width: one byte each when every label fits an
 * int8 (labels are -1 or small classes nearly always), else four. */
static int
s_shed_label_width(const et_shed_t *m)
{
    for (uint32_t i = 0; i < m->count; i++)
        if (m->label[i] < INT8_MIN || m->label[i] > INT8_MAX)
            return 4;
    return 1;
}

int
et_codec_encode_shed(msgpack_sbuffer *buf, const et_shed_t *m)
{
    if (m->count > ET_SHED_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    /* Two columns as bins, so a receiver checks and reads them without
     * walking an item per value (a SHED of 2048 was 6,000 items). */
    uint8_t column[ET_SHED_MAX * 8];
    size_t intended_size = (size_t)m->count * 8;
    for (uint32_t i = 0; i < m->count; i++)
        s_put_le(column + 8 * i, (uint64_t)m->intended_ns[i], 8);
    S_PACKER(buf);
    int rc = msgpack_pack_array(&pk, 5) ||
             msgpack_pack_uint32(&pk, m->producer_id) ||
             msgpack_pack_uint8(&pk, m->reason) ||
             msgpack_pack_uint64(&pk, m->first_event_id) ||
             msgpack_pack_bin(&pk, intended_size) ||
             msgpack_pack_bin_body(&pk, column, intended_size);
    int width = s_shed_label_width(m);
    size_t label_size = (size_t)m->count * (size_t)width;
    for (uint32_t i = 0; i < m->count; i++)
        s_put_le(column + (size_t)width * i, (uint64_t)(int64_t)m->label[i],
                 width);
    rc = rc || msgpack_pack_bin(&pk, label_size) ||
         msgpack_pack_bin_body(&pk, column, label_size);
    return s_done(rc);
}

int
et_codec_decode_shed(const void *data, size_t size, et_shed_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 5, 0) != 0)
        return -1;
    m->producer_id = (uint32_t)s_read_u64(&r, S_U32);
    m->reason = (uint8_t)s_read_u64(&r, ET_REASON_MAX);
    m->first_event_id = s_read_u64(&r, UINT64_MAX);
    m->count = 0;
    size_t intended_size, label_size;
    const uint8_t *intended = s_read_bin(&r, &intended_size);
    const uint8_t *label = s_read_bin(&r, &label_size);
    if (r.bad || intended_size % 8 != 0 || intended_size / 8 > ET_SHED_MAX) {
        r.bad = 1;
        return s_reader_close(&r);
    }
    uint32_t count = (uint32_t)(intended_size / 8);
    /* The label column is one byte or four a label (a count of 0 has
     * neither). */
    int width = label_size == count ? 1 : 4;
    if (label_size != (size_t)count * (size_t)width) {
        r.bad = 1;
        return s_reader_close(&r);
    }
    for (uint32_t i = 0; i < count; i++) {
        int64_t t = (int64_t)s_get_le(intended + 8 * i, 8);
        int64_t l = width == 1 ? (int8_t)label[i]
                               : (int32_t)(uint32_t)s_get_le(label + 4 * i, 4);
        /* The ranges of an EVENT's fields: times >= 0, labels >= -1. */
        if (t < 0 || l < -1) {
            r.bad = 1;
            return s_reader_close(&r);
        }
        m->intended_ns[i] = t;
        m->label[i] = (int32_t)l;
    }
    m->count = count;
    return s_reader_close(&r);
}

int
et_codec_shed_ids_valid(const et_shed_t *m)
{
    uint64_t seq = m->first_event_id & ((1ULL << ET_EVENT_SEQ_BITS) - 1);
    return m->first_event_id >> ET_EVENT_SEQ_BITS == m->producer_id &&
           seq + m->count <= (1ULL << ET_EVENT_SEQ_BITS);
}

int
et_codec_encode_hello(msgpack_sbuffer *buf, const et_hello_t *m)
{
    S_PACKER(buf);
    return s_done(msgpack_pack_array(&pk, 7) ||
                  msgpack_pack_uint32(&pk, m->producer_id) ||
                  s_pack_str(&pk, m->arrival) || s_pack_str(&pk, m->source) ||
                  msgpack_pack_double(&pk, m->rate_eps) ||
                  msgpack_pack_double(&pk, m->duration_s) ||
                  msgpack_pack_uint64(&pk, m->seed) ||
                  msgpack_pack_int64(&pk, m->started_ns));
}

int
et_codec_decode_hello(const void *data, size_t size, et_hello_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 7, 0) != 0)
        return -1;
    m->producer_id = (uint32_t)s_read_u64(&r, S_U32);
    s_read_str(&r, m->arrival, sizeof m->arrival, 0);
    s_read_str(&r, m->source, sizeof m->source, 1);
    m->rate_eps = s_read_f64(&r, 0, 1e9);
    m->duration_s = s_read_f64(&r, 0, 1e9);
    m->seed = s_read_u64(&r, UINT64_MAX);
    m->started_ns = s_read_i64(&r, 0, S_NS_MAX);
    return s_reader_close(&r);
}

/* DONE is six fields, or twelve with the ingest counts of a producer fed
 * from outside: a producer with its own schedule sends what it always did. */
#define S_DONE_FIELDS 6
#define S_DONE_INGEST_FIELDS 12

int
et_codec_encode_done(msgpack_sbuffer *buf, const et_done_t *m)
{
    S_PACKER(buf);
    const et_ingest_t *in = &m->ingest;
    int ingest = in->kind != ET_INGEST_NONE;
    int rc = msgpack_pack_array(&pk, ingest ? S_DONE_INGEST_FIELDS
                                            : S_DONE_FIELDS) ||
             msgpack_pack_uint32(&pk, m->producer_id) ||
             msgpack_pack_uint64(&pk, m->sent) ||
             msgpack_pack_uint64(&pk, m->send_failed) ||
             msgpack_pack_int64(&pk, m->lag_max_ns) ||
             msgpack_pack_int64(&pk, m->lag_mean_ns) ||
             msgpack_pack_int64(&pk, m->finished_ns);
    if (!rc && ingest)
        rc = msgpack_pack_uint8(&pk, in->kind) ||
             msgpack_pack_uint64(&pk, in->received) ||
             msgpack_pack_uint64(&pk, in->malformed) ||
             msgpack_pack_uint64(&pk, in->duplicates) ||
             msgpack_pack_uint64(&pk, in->gaps) ||
             msgpack_pack_uint64(&pk, in->reconnects);
    return s_done(rc);
}

int
et_codec_decode_done(const void *data, size_t size, et_done_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, S_DONE_FIELDS, 1) !=
        0)
        return -1;
    if (r.count != S_DONE_FIELDS && r.count != S_DONE_INGEST_FIELDS)
        r.bad = 1;
    m->producer_id = (uint32_t)s_read_u64(&r, S_U32);
    m->sent = s_read_u64(&r, UINT64_MAX);
    m->send_failed = s_read_u64(&r, UINT64_MAX);
    m->lag_max_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->lag_mean_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->finished_ns = s_read_i64(&r, 0, S_NS_MAX);
    memset(&m->ingest, 0, sizeof m->ingest);
    if (!r.bad && r.count == S_DONE_INGEST_FIELDS) {
        et_ingest_t *in = &m->ingest;
        in->kind = (uint8_t)s_read_u64(&r, ET_INGEST_MQTT);
        in->received = s_read_u64(&r, UINT64_MAX);
        in->malformed = s_read_u64(&r, UINT64_MAX);
        in->duplicates = s_read_u64(&r, UINT64_MAX);
        in->gaps = s_read_u64(&r, UINT64_MAX);
        in->reconnects = s_read_u64(&r, UINT64_MAX);
        if (in->kind == ET_INGEST_NONE)
            r.bad = 1;
    }
    return s_reader_close(&r);
}

int
et_codec_encode_ready(msgpack_sbuffer *buf, const et_ready_t *m)
{
    S_PACKER(buf);
    return s_done(msgpack_pack_array(&pk, 6) || s_pack_str(&pk, m->function) ||
                  s_pack_str(&pk, m->instance) ||
                  msgpack_pack_uint32(&pk, m->pid) ||
                  msgpack_pack_uint32(&pk, m->slots) ||
                  msgpack_pack_int64(&pk, m->cold_start_ns) ||
                  msgpack_pack_int64(&pk, m->init_ns));
}

int
et_codec_decode_ready(const void *data, size_t size, et_ready_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 6, 0) != 0)
        return -1;
    s_read_str(&r, m->function, sizeof m->function, 0);
    s_read_str(&r, m->instance, sizeof m->instance, 0);
    m->pid = (uint32_t)s_read_u64(&r, S_U32);
    m->slots = (uint32_t)s_read_u64(&r, 1024);
    m->cold_start_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->init_ns = s_read_i64(&r, 0, S_NS_MAX);
    if (m->slots == 0)
        r.bad = 1;
    return s_reader_close(&r);
}

static int
s_pack_task(msgpack_packer *pk, const et_task_t *m)
{
    return msgpack_pack_array(pk, 5) || msgpack_pack_uint64(pk, m->event_id) ||
           msgpack_pack_uint32(pk, m->stage) ||
           msgpack_pack_uint32(pk, m->attempt) ||
           msgpack_pack_int64(pk, m->intended_ns) ||
           msgpack_pack_int32(pk, m->label);
}

/* The five fields of a task from 'r' (positioned at the first). */
static void
s_read_task(s_reader_t *r, et_task_t *m)
{
    m->event_id = s_read_u64(r, UINT64_MAX);
    m->stage = (uint32_t)s_read_u64(r, 255);
    m->attempt = (uint32_t)s_read_u64(r, 1000);
    m->intended_ns = s_read_i64(r, 0, S_NS_MAX);
    m->label = (int32_t)s_read_i64(r, -1, INT32_MAX);
}

int
et_codec_encode_task(msgpack_sbuffer *buf, const et_task_t *m)
{
    S_PACKER(buf);
    return s_done(s_pack_task(&pk, m));
}

int
et_codec_decode_task(const void *data, size_t size, et_task_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 5, 0) != 0)
        return -1;
    s_read_task(&r, m);
    return s_reader_close(&r);
}

/* ---- detail: a shadow verdict and timings, two optional fields ---------- */

static const char *const s_timing_names[ET_TIMING_KINDS] = {"store", "model"};

const char *
et_codec_timing_name(int kind)
{
    return kind >= 0 && kind < ET_TIMING_KINDS ? s_timing_names[kind] : NULL;
}

static int
s_detail_present(const et_detail_t *d)
{
    return d->has_shadow || (d->timed & ((1u << ET_TIMING_KINDS) - 1u));
}

static int
s_pack_detail(msgpack_packer *pk, const et_detail_t *d)
{
    unsigned n = 0;
    for (int k = 0; k < ET_TIMING_KINDS; k++)
        n += (d->timed >> k) & 1u;
    int rc = msgpack_pack_int32(pk, d->has_shadow ? d->shadow_outcome
                                                  : ET_OUTCOME_NONE) ||
             msgpack_pack_array(pk, n);
    for (int k = 0; k < ET_TIMING_KINDS && rc == 0; k++)
        if (d->timed & (1u << k))
            rc = msgpack_pack_array(pk, 2) || msgpack_pack_uint8(pk, k) ||
                 msgpack_pack_int64(pk, d->timing_ns[k]);
    return rc;
}

/* The two fields s_pack_detail wrote. Each kind at most once, each time
 * within 0..service_ns: a part of the service time. */
static void
s_read_detail(s_reader_t *r, et_detail_t *d, int64_t service_ns)
{
    memset(d, 0, sizeof *d);
    int32_t shadow = (int32_t)s_read_i64(r, -1, INT32_MAX);
    if (shadow != ET_OUTCOME_NONE) {
        d->has_shadow = 1;
        d->shadow_outcome = shadow;
    }
    s_reader_t list;
    if (s_sub(r, s_next(r), 0, ET_TIMING_KINDS, &list) != 0)
        return;
    for (uint32_t i = 0; i < list.count; i++) {
        s_reader_t sub;
        if (s_sub(r, s_next(&list), 2, 2, &sub) != 0)
            return;
        uint64_t kind = s_read_u64(&sub, ET_TIMING_KINDS - 1);
        int64_t ns = s_read_i64(&sub, 0, service_ns);
        if (sub.bad || (d->timed & (1u << kind))) {
            r->bad = 1;
            return;
        }
        d->timed |= (uint8_t)(1u << kind);
        d->timing_ns[kind] = ns;
    }
}

static int
s_pack_result(msgpack_packer *pk, const et_result_t *m)
{
    int detail = s_detail_present(&m->detail);
    return msgpack_pack_array(pk, detail ? 9 : 7) ||
           msgpack_pack_uint64(pk, m->event_id) ||
           msgpack_pack_uint32(pk, m->stage) ||
           msgpack_pack_uint32(pk, m->attempt) ||
           msgpack_pack_uint8(pk, m->status) ||
           msgpack_pack_int64(pk, m->service_ns) ||
           msgpack_pack_int32(pk, m->outcome) ||
           msgpack_pack_double(pk, m->score) ||
           (detail && s_pack_detail(pk, &m->detail));
}

/* A RESULT body has 7 fields, or 9 with a detail. */
static void
s_read_result(s_reader_t *r, et_result_t *m)
{
    m->event_id = s_read_u64(r, UINT64_MAX);
    m->stage = (uint32_t)s_read_u64(r, 255);
    m->attempt = (uint32_t)s_read_u64(r, 1000);
    m->status = (uint8_t)s_read_u64(r, ET_STATUS_MAX);
    m->service_ns = s_read_i64(r, 0, S_NS_MAX);
    m->outcome = (int32_t)s_read_i64(r, -1, INT32_MAX);
    m->score = s_read_f64(r, -1e300, 1e300);
    memset(&m->detail, 0, sizeof m->detail);
    if (r->count == 9)
        s_read_detail(r, &m->detail, m->service_ns);
    else if (r->count != 7)
        r->bad = 1;
}

int
et_codec_encode_result(msgpack_sbuffer *buf, const et_result_t *m)
{
    S_PACKER(buf);
    return s_done(s_pack_result(&pk, m));
}

int
et_codec_decode_result(const void *data, size_t size, et_result_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 7, 1) != 0)
        return -1;
    s_read_result(&r, m);
    return s_reader_close(&r);
}

/* ---- batches --------------------------------------------------------------
 */

int
et_codec_batch_fits(size_t count, uint64_t bytes)
{
    return count >= 1 && count <= ET_BATCH_MAX &&
           (count == 1 || bytes <= ET_BATCH_BYTES_MAX);
}

/* Open a batch body: an array of 1..max parts (max <= ET_BATCH_MAX). */
static int
s_batch_open(s_reader_t *r, s_bytes_t *bytes, const void *data, size_t size,
             size_t max)
{
    if (s_reader_open(r, bytes, data, size, ET_BODY_MAX, 1, 1) != 0)
        return -1;
    if (max > ET_BATCH_MAX)
        max = ET_BATCH_MAX;
    if (r->count > max) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

/* The next part of an open batch as a reader over its items: 0, or -1
 * (and r->bad) when it is no array of 'fields' or 'fields_alt' items. */
static int
s_batch_part(s_reader_t *r, uint32_t fields, uint32_t fields_alt,
             s_reader_t *sub)
{
    const msgpack_object *o = s_next(r);
    if (!o || o->type != MSGPACK_OBJECT_ARRAY ||
        (o->via.array.size != fields && o->via.array.size != fields_alt)) {
        r->bad = 1;
        return -1;
    }
    *sub = (s_reader_t){.bytes = r->bytes, .count = o->via.array.size};
    return 0;
}

int
et_codec_encode_tasks(msgpack_sbuffer *buf, const et_task_t *tasks,
                      size_t count)
{
    if (count == 0 || count > ET_BATCH_MAX) {
        errno = EINVAL;
        return -1;
    }
    S_PACKER(buf);
    int rc = msgpack_pack_array(&pk, (uint32_t)count);
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = s_pack_task(&pk, &tasks[i]);
    return s_done(rc);
}

int
et_codec_decode_tasks(const void *data, size_t size, et_task_t *tasks,
                      size_t max, size_t *count)
{
    *count = 0;
    s_reader_t r;
    s_bytes_t bytes;
    if (s_batch_open(&r, &bytes, data, size, max) != 0)
        return -1;
    for (uint32_t i = 0; i < r.count && !r.bad; i++) {
        s_reader_t sub;
        if (s_batch_part(&r, 5, 5, &sub) != 0)
            break;
        s_read_task(&sub, &tasks[i]);
        r.bad |= sub.bad;
    }
    if (s_reader_close(&r) != 0)
        return -1;
    *count = r.count;
    return 0;
}

int
et_codec_encode_results(msgpack_sbuffer *buf, const et_result_t *results,
                        size_t count)
{
    if (count == 0 || count > ET_BATCH_MAX) {
        errno = EINVAL;
        return -1;
    }
    S_PACKER(buf);
    int rc = msgpack_pack_array(&pk, (uint32_t)count);
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = s_pack_result(&pk, &results[i]);
    return s_done(rc);
}

int
et_codec_decode_results(const void *data, size_t size, et_result_t *results,
                        size_t max, size_t *count)
{
    *count = 0;
    s_reader_t r;
    s_bytes_t bytes;
    if (s_batch_open(&r, &bytes, data, size, max) != 0)
        return -1;
    for (uint32_t i = 0; i < r.count && !r.bad; i++) {
        s_reader_t sub;
        if (s_batch_part(&r, 7, 9, &sub) != 0)
            break;
        s_read_result(&sub, &results[i]);
        r.bad |= sub.bad;
    }
    if (s_reader_close(&r) != 0)
        return -1;
    *count = r.count;
    return 0;
}

int
et_codec_encode_events(msgpack_sbuffer *buf, const et_event_t *events,
                       size_t count)
{
    if (count == 0 || count > ET_BATCH_MAX) {
        errno = EINVAL;
        return -1;
    }
    S_PACKER(buf);
    int rc = msgpack_pack_array(&pk, (uint32_t)count);
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = s_pack_event(&pk, &events[i]);
    return s_done(rc);
}

int
et_codec_decode_events(const void *data, size_t size, et_event_t *events,
                       size_t max, size_t *count)
{
    *count = 0;
    s_reader_t r;
    s_bytes_t bytes;
    if (s_batch_open(&r, &bytes, data, size, max) != 0)
        return -1;
    for (uint32_t i = 0; i < r.count && !r.bad; i++) {
        s_reader_t sub;
        if (s_sub(&r, s_next(&r), 5, 7, &sub) != 0)
            break;
        s_read_event(&sub, &events[i]);
        r.bad |= sub.bad;
    }
    if (s_reader_close(&r) != 0)
        return -1;
    *count = r.count;
    return 0;
}

int
et_codec_encode_usage(msgpack_sbuffer *buf, const et_usage_t *m)
{
    S_PACKER(buf);
    return s_done(msgpack_pack_array(&pk, 13) || s_pack_str(&pk, m->function) ||
                  s_pack_str(&pk, m->instance) ||
                  msgpack_pack_uint32(&pk, m->pid) ||
                  msgpack_pack_uint32(&pk, m->slots) ||
                  msgpack_pack_int64(&pk, m->started_ns) ||
                  msgpack_pack_int64(&pk, m->cold_start_ns) ||
                  msgpack_pack_int64(&pk, m->init_ns) ||
                  msgpack_pack_int64(&pk, m->lifetime_ns) ||
                  msgpack_pack_int64(&pk, m->busy_ns) ||
                  msgpack_pack_int64(&pk, m->cpu_ns) ||
                  msgpack_pack_uint64(&pk, m->served) ||
                  msgpack_pack_uint64(&pk, m->errors) ||
                  msgpack_pack_uint8(&pk, m->final));
}

int
et_codec_decode_usage(const void *data, size_t size, et_usage_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 13, 0) != 0)
        return -1;
    s_read_str(&r, m->function, sizeof m->function, 0);
    s_read_str(&r, m->instance, sizeof m->instance, 0);
    m->pid = (uint32_t)s_read_u64(&r, S_U32);
    m->slots = (uint32_t)s_read_u64(&r, 1024);
    m->started_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->cold_start_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->init_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->lifetime_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->busy_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->cpu_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->served = s_read_u64(&r, UINT64_MAX);
    m->errors = s_read_u64(&r, UINT64_MAX);
    m->final = (uint8_t)s_read_u64(&r, 1);
    if (m->slots == 0)
        r.bad = 1;
    return s_reader_close(&r);
}

int
et_codec_encode_stats(msgpack_sbuffer *buf, const et_stats_t *m)
{
    S_PACKER(buf);
    if (m->n_functions > ET_STATS_FUNCTIONS_MAX) {
        errno = EINVAL;
        return -1;
    }
    int keyed = m->key_handovers != 0 || m->key_state_lost != 0;
    int rc = msgpack_pack_array(&pk, keyed ? 14 : 12) ||
             msgpack_pack_int64(&pk, m->t_ns) || s_pack_str(&pk, m->workflow) ||
             msgpack_pack_uint64(&pk, m->accepted) ||
             msgpack_pack_uint64(&pk, m->rejected) ||
             msgpack_pack_uint64(&pk, m->completed) ||
             msgpack_pack_uint64(&pk, m->failed) ||
             msgpack_pack_uint64(&pk, m->retries) ||
             msgpack_pack_uint64(&pk, m->in_flight) ||
             msgpack_pack_uint64(&pk, m->bad_messages) ||
             msgpack_pack_uint64(&pk, m->stale_results) ||
             msgpack_pack_uint64(&pk, m->records_dropped) ||
             msgpack_pack_array(&pk, m->n_functions);
    for (uint32_t i = 0; i < m->n_functions; i++) {
        const et_stats_function_t *f = &m->functions[i];
        rc |= msgpack_pack_array(&pk, 11) || s_pack_str(&pk, f->name) ||
              msgpack_pack_uint32(&pk, f->queue_depth) ||
              msgpack_pack_uint32(&pk, f->queue_cap) ||
              msgpack_pack_uint32(&pk, f->instances) ||
              msgpack_pack_uint32(&pk, f->slots_total) ||
              msgpack_pack_uint32(&pk, f->slots_busy) ||
              msgpack_pack_uint64(&pk, f->completed) ||
              msgpack_pack_uint64(&pk, f->arrived) ||
              msgpack_pack_uint64(&pk, f->busy_slot_ns) ||
              msgpack_pack_uint64(&pk, f->serving_slot_ns) ||
              msgpack_pack_uint64(&pk, f->instance_ns);
    }
    if (keyed)
        rc |= msgpack_pack_uint64(&pk, m->key_handovers) ||
              msgpack_pack_uint64(&pk, m->key_state_lost);
    return s_done(rc);
}

int
et_codec_decode_stats(const void *data, size_t size, et_stats_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 12, 1) != 0)
        return -1;
    if (r.count != 12 && r.count != 14)
        r.bad = 1;
    m->t_ns = s_read_i64(&r, 0, S_NS_MAX);
    s_read_str(&r, m->workflow, sizeof m->workflow, 0);
    m->accepted = s_read_u64(&r, UINT64_MAX);
    m->rejected = s_read_u64(&r, UINT64_MAX);
    m->completed = s_read_u64(&r, UINT64_MAX);
    m->failed = s_read_u64(&r, UINT64_MAX);
    m->retries = s_read_u64(&r, UINT64_MAX);
    m->in_flight = s_read_u64(&r, UINT64_MAX);
    m->bad_messages = s_read_u64(&r, UINT64_MAX);
    m->stale_results = s_read_u64(&r, UINT64_MAX);
    m->records_dropped = s_read_u64(&r, UINT64_MAX);
    s_reader_t list;
    m->n_functions = 0;
    if (s_sub(&r, s_next(&r), 0, ET_STATS_FUNCTIONS_MAX, &list) != 0)
        return s_reader_close(&r);
    for (uint32_t i = 0; i < list.count && !r.bad; i++) {
        s_reader_t sub;
        if (s_sub(&r, s_next(&list), 11, 11, &sub) != 0)
            break;
        et_stats_function_t *f = &m->functions[i];
        s_read_str(&sub, f->name, sizeof f->name, 0);
        f->queue_depth = (uint32_t)s_read_u64(&sub, S_U32);
        f->queue_cap = (uint32_t)s_read_u64(&sub, S_U32);
        f->instances = (uint32_t)s_read_u64(&sub, S_U32);
        f->slots_total = (uint32_t)s_read_u64(&sub, S_U32);
        f->slots_busy = (uint32_t)s_read_u64(&sub, S_U32);
        f->completed = s_read_u64(&sub, UINT64_MAX);
        f->arrived = s_read_u64(&sub, UINT64_MAX);
        f->busy_slot_ns = s_read_u64(&sub, UINT64_MAX);
        f->serving_slot_ns = s_read_u64(&sub, UINT64_MAX);
        f->instance_ns = s_read_u64(&sub, UINT64_MAX);
        r.bad |= sub.bad;
        m->n_functions = i + 1;
    }
    m->key_handovers = m->key_state_lost = 0;
    if (r.count == 14 && !r.bad) {
        m->key_handovers = s_read_u64(&r, UINT64_MAX);
        m->key_state_lost = s_read_u64(&r, UINT64_MAX);
        /* Sent only when not both 0: one encoding per value. */
        if (m->key_handovers == 0 && m->key_state_lost == 0)
            r.bad = 1;
    }
    return s_reader_close(&r);
}

int
et_codec_encode_collected(msgpack_sbuffer *buf, const et_collected_t *m)
{
    S_PACKER(buf);
    return s_done(
        msgpack_pack_array(&pk, 3) || msgpack_pack_uint64(&pk, m->epoch) ||
        msgpack_pack_uint64(&pk, m->seq) ||
        (m->resume ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk)));
}

int
et_codec_decode_collected(const void *data, size_t size, et_collected_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 3, 0) != 0)
        return -1;
    m->epoch = s_read_u64(&r, UINT64_MAX);
    m->seq = s_read_u64(&r, UINT64_MAX);
    const msgpack_object *o = s_next(&r);
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
        r.bad = 1;
    else
        m->resume = o->via.boolean ? 1 : 0;
    return s_reader_close(&r);
}

int
et_codec_encode_state(msgpack_sbuffer *buf, const et_state_msg_t *m)
{
    S_PACKER(buf);
    return s_done(msgpack_pack_array(&pk, 1) ||
                  msgpack_pack_uint64(&pk, m->key));
}

int
et_codec_decode_state(const void *data, size_t size, et_state_msg_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 1, 0) != 0)
        return -1;
    m->key = s_read_u64(&r, UINT64_MAX);
    if (m->key == ET_KEY_NONE)
        r.bad = 1;
    return s_reader_close(&r);
}

void
et_codec_encode_seq(unsigned char *out, const et_seq_t *seq)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(seq->epoch >> (56 - 8 * i));
        out[8 + i] = (unsigned char)(seq->seq >> (56 - 8 * i));
    }
}

int
et_codec_decode_seq(const void *data, size_t size, et_seq_t *seq)
{
    if (size != ET_SEQ_FRAME_SIZE) {
        errno = EPROTO;
        return -1;
    }
    const unsigned char *p = data;
    uint64_t epoch = 0, n = 0;
    for (int i = 0; i < 8; i++) {
        epoch = epoch << 8 | p[i];
        n = n << 8 | p[8 + i];
    }
    if (epoch == 0 || n == 0) {
        errno = EPROTO;
        return -1;
    }
    seq->epoch = epoch;
    seq->seq = n;
    return 0;
}

int
et_codec_encode_time_req(msgpack_sbuffer *buf, const et_time_req_t *m)
{
    S_PACKER(buf);
    return s_done(msgpack_pack_array(&pk, 2) ||
                  msgpack_pack_uint32(&pk, m->seq) ||
                  msgpack_pack_int64(&pk, m->t1_ns));
}

int
et_codec_decode_time_req(const void *data, size_t size, et_time_req_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 2, 0) != 0)
        return -1;
    m->seq = (uint32_t)s_read_u64(&r, S_U32);
    m->t1_ns = s_read_i64(&r, 0, S_NS_MAX);
    return s_reader_close(&r);
}

int
et_codec_encode_time_rep(msgpack_sbuffer *buf, const et_time_rep_t *m)
{
    S_PACKER(buf);
    return s_done(
        msgpack_pack_array(&pk, 4) || msgpack_pack_uint32(&pk, m->seq) ||
        msgpack_pack_int64(&pk, m->t1_ns) ||
        msgpack_pack_int64(&pk, m->t2_ns) || msgpack_pack_int64(&pk, m->t3_ns));
}

int
et_codec_decode_time_rep(const void *data, size_t size, et_time_rep_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 4, 0) != 0)
        return -1;
    m->seq = (uint32_t)s_read_u64(&r, S_U32);
    m->t1_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->t2_ns = s_read_i64(&r, 0, S_NS_MAX);
    m->t3_ns = s_read_i64(&r, 0, S_NS_MAX);
    return s_reader_close(&r);
}

#define S_OFFSET_MAX ET_CLOCK_OFFSET_MAX_NS

int
et_codec_encode_clock(msgpack_sbuffer *buf, const et_clock_report_t *m)
{
    S_PACKER(buf);
    return s_done(
        msgpack_pack_array(&pk, 11) || msgpack_pack_uint8(&pk, m->role) ||
        s_pack_str(&pk, m->name) || s_pack_str(&pk, m->host) ||
        msgpack_pack_uint32(&pk, m->producer_id) ||
        msgpack_pack_int64(&pk, m->offset_ns) ||
        msgpack_pack_int64(&pk, m->bound_ns) ||
        msgpack_pack_int64(&pk, m->rtt_ns) ||
        msgpack_pack_int64(&pk, m->correction_ns) ||
        msgpack_pack_uint32(&pk, m->samples) ||
        msgpack_pack_uint32(&pk, m->lost) || msgpack_pack_int64(&pk, m->t_ns));
}

int
et_codec_decode_clock(const void *data, size_t size, et_clock_report_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 11, 0) != 0)
        return -1;
    m->role = (uint8_t)s_read_u64(&r, ET_CLOCK_ROLE_MAX);
    s_read_str(&r, m->name, sizeof m->name, 0);
    s_read_str(&r, m->host, sizeof m->host, 0);
    m->producer_id = (uint32_t)s_read_u64(&r, S_U32);
    m->offset_ns = s_read_i64(&r, -S_OFFSET_MAX, S_OFFSET_MAX);
    m->bound_ns = s_read_i64(&r, 0, S_OFFSET_MAX);
    m->rtt_ns = s_read_i64(&r, 0, 2 * S_OFFSET_MAX);
    m->correction_ns = s_read_i64(&r, -S_OFFSET_MAX, S_OFFSET_MAX);
    m->samples = (uint32_t)s_read_u64(&r, S_U32);
    m->lost = (uint32_t)s_read_u64(&r, S_U32);
    m->t_ns = s_read_i64(&r, 0, S_NS_MAX);
    if (m->role == 0)
        r.bad = 1;
    return s_reader_close(&r);
}

#define S_RECORD_FIELDS 16

int
et_codec_encode_workflow(msgpack_sbuffer *buf, const et_workflow_msg_t *m)
{
    if (m->n_stages == 0 || m->n_stages > ET_STAGES_MAX) {
        errno = EINVAL;
        return -1;
    }
    S_PACKER(buf);
    int rc = msgpack_pack_array(&pk, 2) || s_pack_str(&pk, m->name) ||
             msgpack_pack_array(&pk, m->n_stages);
    for (uint32_t i = 0; i < m->n_stages && rc == 0; i++)
        rc = s_pack_str(&pk, m->stages[i]);
    return s_done(rc);
}

int
et_codec_decode_workflow(const void *data, size_t size, et_workflow_msg_t *m)
{
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX, 2, 0) != 0)
        return -1;
    s_read_str(&r, m->name, sizeof m->name, 0);
    s_reader_t sub;
    m->n_stages = 0;
    if (s_sub(&r, s_next(&r), 1, ET_STAGES_MAX, &sub) != 0)
        return s_reader_close(&r);
    for (uint32_t i = 0; i < sub.count && !sub.bad; i++)
        s_read_str(&sub, m->stages[i], sizeof m->stages[i], 0);
    r.bad |= sub.bad;
    if (!r.bad)
        m->n_stages = sub.count;
    return s_reader_close(&r);
}

int
et_codec_encode_records(msgpack_sbuffer *buf, const et_record_t *records,
                        size_t count)
{
    S_PACKER(buf);
    int rc = msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
        const et_record_t *m = &records[i];
        int detail = s_detail_present(&m->detail);
        rc |= msgpack_pack_array(&pk, S_RECORD_FIELDS + (detail ? 2 : 0)) ||
              msgpack_pack_uint8(&pk, m->kind) ||
              msgpack_pack_uint64(&pk, m->event_id) ||
              msgpack_pack_uint32(&pk, m->producer_id) ||
              msgpack_pack_uint32(&pk, m->stage) ||
              msgpack_pack_uint32(&pk, m->attempt) ||
              msgpack_pack_int64(&pk, m->intended_ns) ||
              msgpack_pack_int64(&pk, m->t_ns) ||
              msgpack_pack_int64(&pk, m->queue_ns) ||
              msgpack_pack_int64(&pk, m->service_ns) ||
              msgpack_pack_int32(&pk, m->label) ||
              msgpack_pack_int32(&pk, m->outcome) ||
              msgpack_pack_uint8(&pk, m->reason) ||
              msgpack_pack_uint8(&pk, m->cold) ||
              msgpack_pack_double(&pk, m->score) ||
              msgpack_pack_int64(&pk, m->hold_ns) ||
              msgpack_pack_int64(&pk, m->residence_ns) ||
              (detail && s_pack_detail(&pk, &m->detail));
    }
    return s_done(rc);
}

int
et_codec_decode_records(const void *data, size_t size, et_record_t *records,
                        size_t max, size_t *count)
{
    *count = 0;
    if (size > ET_BODY_MAX * 16) {
        errno = EMSGSIZE;
        return -1;
    }
    s_reader_t r;
    s_bytes_t bytes;
    if (s_reader_open(&r, &bytes, data, size, ET_BODY_MAX * 16, 0, 1) != 0)
        return -1;
    if (r.count > max) {
        errno = EMSGSIZE;
        return -1;
    }
    for (uint32_t i = 0; i < r.count && !r.bad; i++) {
        s_reader_t sub;
        if (s_batch_part(&r, S_RECORD_FIELDS, S_RECORD_FIELDS + 2, &sub) != 0)
            break;
        et_record_t *m = &records[i];
        m->kind = (uint8_t)s_read_u64(&sub, ET_RECORD_MAX);
        m->event_id = s_read_u64(&sub, UINT64_MAX);
        m->producer_id = (uint32_t)s_read_u64(&sub, S_U32);
        m->stage = (uint32_t)s_read_u64(&sub, 255);
        m->attempt = (uint32_t)s_read_u64(&sub, 1000);
        m->intended_ns = s_read_i64(&sub, 0, S_NS_MAX);
        m->t_ns = s_read_i64(&sub, 0, S_NS_MAX);
        m->queue_ns = s_read_i64(&sub, 0, S_NS_MAX);
        m->service_ns = s_read_i64(&sub, 0, S_NS_MAX);
        m->label = (int32_t)s_read_i64(&sub, -1, INT32_MAX);
        m->outcome = (int32_t)s_read_i64(&sub, -1, INT32_MAX);
        m->reason = (uint8_t)s_read_u64(&sub, ET_REASON_MAX);
        m->cold = (uint8_t)s_read_u64(&sub, ET_COLD_START);
        m->score = s_read_f64(&sub, -1e300, 1e300);
        m->hold_ns = s_read_i64(&sub, 0, S_NS_MAX);
        m->residence_ns = s_read_i64(&sub, 0, S_NS_MAX);
        memset(&m->detail, 0, sizeof m->detail);
        if (sub.count == S_RECORD_FIELDS + 2)
            s_read_detail(&sub, &m->detail, m->service_ns);
        if (m->kind == 0)
            sub.bad = 1;
        r.bad |= sub.bad;
    }
    if (s_reader_close(&r) != 0)
        return -1;
    *count = r.count;
    return 0;
}

const char *
et_codec_type_name(et_msg_type_t type)
{
    switch (type) {
    case ET_MSG_EVENT:
        return "EVENT";
    case ET_MSG_REJECT:
        return "REJECT";
    case ET_MSG_HELLO:
        return "HELLO";
    case ET_MSG_DONE:
        return "DONE";
    case ET_MSG_DONE_ACK:
        return "DONE_ACK";
    case ET_MSG_SHED:
        return "SHED";
    case ET_MSG_TIME_REQ:
        return "TIME_REQ";
    case ET_MSG_TIME_REP:
        return "TIME_REP";
    case ET_MSG_READY:
        return "READY";
    case ET_MSG_TASK:
        return "TASK";
    case ET_MSG_RESULT:
        return "RESULT";
    case ET_MSG_HEARTBEAT:
        return "HEARTBEAT";
    case ET_MSG_DRAIN:
        return "DRAIN";
    case ET_MSG_BYE:
        return "BYE";
    case ET_MSG_REGISTER:
        return "REGISTER";
    case ET_MSG_STARTING:
        return "STARTING";
    case ET_MSG_TASKS:
        return "TASKS";
    case ET_MSG_RESULTS:
        return "RESULTS";
    case ET_MSG_RECORDS:
        return "RECORDS";
    case ET_MSG_USAGE:
        return "USAGE";
    case ET_MSG_STATS:
        return "STATS";
    case ET_MSG_CLOCK:
        return "CLOCK";
    case ET_MSG_WORKFLOW:
        return "WORKFLOW";
    case ET_MSG_STATE_GET:
        return "STATE_GET";
    case ET_MSG_STATE:
        return "STATE";
    case ET_MSG_STATE_PUT:
        return "STATE_PUT";
    case ET_MSG_COLLECTED:
        return "COLLECTED";
    case ET_MSG_EVENTS:
        return "EVENTS";
    }
    return "UNKNOWN";
}

const char *
et_codec_reason_name(et_reason_t reason)
{
    switch (reason) {
    case ET_REASON_NONE:
        return "none";
    case ET_REASON_QUEUE_FULL:
        return "queue_full";
    case ET_REASON_SHUTTING_DOWN:
        return "shutting_down";
    case ET_REASON_FUNCTION_ERROR:
        return "function_error";
    case ET_REASON_TIMEOUT:
        return "timeout";
    case ET_REASON_WORKER_LOST:
        return "worker_lost";
    case ET_REASON_BAD_PAYLOAD:
        return "bad_payload";
    case ET_REASON_FILTERED:
        return "filtered";
    case ET_REASON_DEPENDENCY_UNAVAILABLE:
        return "dependency_unavailable";
    }
    return "unknown";
}
