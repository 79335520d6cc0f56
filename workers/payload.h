/* Reading and writing the msgpack maps that flow between functions (the
 * payload contract of docs/workflows.md): unpack one untrusted map, find a
 * key, read a number, an unsigned integer, a boolean or a text with
 * bounds, and copy a map minus some entries before adding new ones. Every
 * function reads its input through these, so they all validate the same
 * way. Stateless and thread-safe. */
#ifndef ET_PAYLOAD_H
#define ET_PAYLOAD_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Unpack 'data' into 'out' (initialised by the caller, destroyed by the
 * caller either way) and check that it is exactly one map. The codec's
 * precheck runs first, so hostile lengths or nesting deeper than
 * ET_MSGPACK_MAX_DEPTH never make msgpack-c allocate. Returns 0, or -1
 * with errno EINVAL (empty, malformed, too deep, not a map, or bytes
 * after the map). */
int et_payload_unpack_map(const void *data, size_t size, msgpack_unpacked *out);

/* Nonzero when 'key' is a string equal to 'name'. */
int et_payload_key_is(const msgpack_object *key, const char *name);

/* Nonzero when every key of 'map' (a MAP object) is a string. */
int et_payload_keys_are_strings(const msgpack_object *map);

/* The value of the first entry of 'map' whose key is 'name', or NULL. */
const msgpack_object *et_payload_find(const msgpack_object *map,
                                      const char *name);

/* The value of the one entry of 'map' whose key is 'name'. Returns 0, or
 * -1 with errno ENOENT (no such key) or EEXIST (the key appears twice: a
 * malformed payload). */
int et_payload_find_unique(const msgpack_object *map, const char *name,
                           const msgpack_object **value);

/* An integer or a float as a double, finite and with |value| <= 'bound'
 * (INFINITY: any finite value). Returns 0 or -1. */
int et_payload_number(const msgpack_object *obj, double bound, double *out);

/* A non-negative integer <= 'max'. Returns 0 or -1. */
int et_payload_uint(const msgpack_object *obj, uint64_t max, uint64_t *out);

/* A boolean as 0 or 1. Returns 0 or -1. */
int et_payload_bool(const msgpack_object *obj, int *out);

/* A string of 1..max_len bytes without control characters (names such as
 * a series end up in logs and JSON lines). Points *text at its bytes (not
 * NUL-terminated) and sets *len. Returns 0 or -1. */
int et_payload_text(const msgpack_object *obj, size_t max_len,
                    const char **text, size_t *len);

/* et_payload_pack_except: also leave out entries whose value is an array,
 * a map, binary or an extension. */
#define ET_PAYLOAD_SCALARS 1u

/* Pack a map header for the entries of 'map' that are kept plus 'extra'
 * more, then the kept entries, in order: all but those whose key is
 * 'drop' (and, with ET_PAYLOAD_SCALARS, non-scalar ones). The caller packs
 * its 'extra' entries next. Returns 0 or -1 (the packer failed). */
int et_payload_pack_except(msgpack_packer *pk, const msgpack_object *map,
                           const char *drop, unsigned flags, uint32_t extra);

#endif
