/* The collector's checkpoint file: its whole state (a msgpack body the
 * collector and its modules pack, see each module's _save/_load) behind a
 * fixed header with a magic, a version, the body's size and a checksum,
 * written atomically (common/atomicfile.h). Read back, it is untrusted
 * input: bounded, checked, and refused with a sentence, never half used. */
#ifndef ET_CHECKPOINT_H
#define ET_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

/* The largest body: far above a collector's state (its id sets are
 * bounded a producer, its per-second rows at a day). */
#define ET_CHECKPOINT_MAX (1ULL << 30)

/* Write 'body' to 'path' atomically (PATH.tmp, fsync, rename). 0, or -1
 * with errno (EFBIG above ET_CHECKPOINT_MAX); 'path' then unchanged. */
int et_checkpoint_write(const char *path, const void *body, size_t size);

/* Read the body at 'path' into a new buffer the caller frees. NULL with
 * errno and a sentence in 'why': ENOENT when there is no checkpoint,
 * EPROTO when it is not one of this version or does not check (cut
 * short, corrupted, oversized), else the read's. */
void *et_checkpoint_read(const char *path, size_t *size, char *why,
                         size_t why_size);

#endif
