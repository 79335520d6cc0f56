/* Checkpoint fields: how a module packs its state as one msgpack array
 * headed by its own version, and a reader that walks such an array with a
 * sticky error, so that a load checks every field's type and bound and
 * answers EPROTO once at the end. A checkpoint file is untrusted input
 * like any other: nothing read here is used before it is checked. */
#ifndef ET_CKPT_H
#define ET_CKPT_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Start a module's array of 'n' fields, the version being the first. */
int et_ckpt_open(msgpack_packer *pk, uint32_t version, uint32_t n);
int et_ckpt_pack_u64(msgpack_packer *pk, uint64_t v);
int et_ckpt_pack_i64(msgpack_packer *pk, int64_t v);
int et_ckpt_pack_f64(msgpack_packer *pk, double v);
/* A NUL-terminated string. */
int et_ckpt_pack_str(msgpack_packer *pk, const char *s);
int et_ckpt_pack_bin(msgpack_packer *pk, const void *data, size_t size);

typedef struct {
    const msgpack_object *items;
    uint32_t n, next;
    int bad;
} et_ckpt_in_t;

/* Read 'obj': an array of exactly 'n' fields whose first is 'version'.
 * Otherwise the reader is bad from the start (every read then gives 0). */
void et_ckpt_in(et_ckpt_in_t *in, const msgpack_object *obj, uint32_t version,
                uint32_t n);
/* The next field as an unsigned integer at most 'max'. */
uint64_t et_ckpt_u64(et_ckpt_in_t *in, uint64_t max);
int64_t et_ckpt_i64(et_ckpt_in_t *in);
/* A float64, NaN refused (no state of the collector holds one). */
double et_ckpt_f64(et_ckpt_in_t *in);
/* A string shorter than 'size' without NULs, copied and terminated. */
void et_ckpt_str(et_ckpt_in_t *in, char *out, size_t size);
/* A binary field of exactly 'size' bytes, copied. */
void et_ckpt_bin(et_ckpt_in_t *in, void *out, size_t size);
/* The next field, of any type (a nested module's array), or NULL (bad). */
const msgpack_object *et_ckpt_obj(et_ckpt_in_t *in);
/* The next field as an array of at most 'max' items: its items and
 * *count, or NULL (bad, or empty with *count 0). */
const msgpack_object *et_ckpt_array(et_ckpt_in_t *in, uint32_t max,
                                    uint32_t *count);
/* Mark the reader bad (a check of the caller's own failed). */
void et_ckpt_fail(et_ckpt_in_t *in);
/* 0 when every field was read and checked, else -1 with errno EPROTO. */
int et_ckpt_done(const et_ckpt_in_t *in);

struct et_hist_t;
/* The next field as a histogram (common/hist.h's et_hist_unpack), put in
 * *slot in place of the one there. On failure the reader is bad (or errno
 * ENOMEM, also reported by et_ckpt_done) and *slot is kept. */
void et_ckpt_hist(et_ckpt_in_t *in, struct et_hist_t **slot);

/* A histogram that may not exist yet: packed as nil when 'h' is NULL; read
 * back into *slot (left NULL for nil). */
int et_ckpt_pack_hist_opt(msgpack_packer *pk, const struct et_hist_t *h);
void et_ckpt_hist_opt(et_ckpt_in_t *in, struct et_hist_t **slot);

#endif
