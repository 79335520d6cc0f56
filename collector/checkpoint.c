/* The checkpoint file: a 32-byte header (magic, version, body size, an
 * FNV-1a checksum over header and body), then the body. */
#include "collector/checkpoint.h"

#include "common/atomicfile.h"
#include "common/cli.h"
#include "common/hash.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAGIC "ETCKPT01"
#define S_VERSION 1u

typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t pad;
    uint64_t size;
    uint64_t check;
} s_hdr_t;

_Static_assert(sizeof(s_hdr_t) == 32, "checkpoint header is 32 bytes");

typedef struct {
    const void *body;
    size_t size;
} s_write_t;

static uint64_t
s_check(const s_hdr_t *h, const void *body, size_t size)
{
    uint64_t c = et_hash_fnv1a(ET_HASH_FNV_START, h, offsetof(s_hdr_t, check));
    return et_hash_fnv1a(c, body, size);
}

/* et_atomicfile_writer_fn */
static int
s_writer(FILE *f, const void *context)
{
    const s_write_t *w = context;
    s_hdr_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, S_MAGIC, sizeof h.magic);
    h.version = S_VERSION;
    h.size = w->size;
    h.check = s_check(&h, w->body, w->size);
    if (fwrite(&h, sizeof h, 1, f) != 1 ||
        (w->size > 0 && fwrite(w->body, w->size, 1, f) != 1))
        return -1;
    return 0;
}

int
et_checkpoint_write(const char *path, const void *body, size_t size)
{
    if (size > ET_CHECKPOINT_MAX) {
        errno = EFBIG;
        return -1;
    }
    char a[PATH_MAX], b[PATH_MAX];
    if (strlen(path) >= sizeof a) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a, path, strlen(path) + 1);
    memcpy(b, path, strlen(path) + 1);
    s_write_t w = {.body = body, .size = size};
    return et_atomicfile_write(dirname(a), basename(b), s_writer, &w);
}

void *
et_checkpoint_read(const char *path, size_t *size, char *why, size_t why_size)
{
    *size = 0;
    void *body = NULL;
    FILE *f = fopen(path, "rbe");
    if (!f) {
        int saved = errno;
        et_cli_why(why, why_size, "cannot open: %s", strerror(errno));
        errno = saved;
        return NULL;
    }
    s_hdr_t h;
    if (fread(&h, sizeof h, 1, f) != 1 ||
        memcmp(h.magic, S_MAGIC, sizeof h.magic) != 0 ||
        h.version != S_VERSION || h.pad != 0) {
        et_cli_why(why, why_size,
                   "not an Eventide collector checkpoint of version %u (bad "
                   "or short header)",
                   S_VERSION);
        errno = EPROTO;
        goto fail;
    }
    if (h.size > ET_CHECKPOINT_MAX) {
        et_cli_why(why, why_size, "body of %llu bytes, above the %llu kept",
                   (unsigned long long)h.size,
                   (unsigned long long)ET_CHECKPOINT_MAX);
        errno = EPROTO;
        goto fail;
    }
    body = malloc(h.size ? h.size : 1);
    if (!body) {
        et_cli_why(why, why_size, "out of memory");
        errno = ENOMEM;
        goto fail;
    }
    /* One byte more than the body: the file must end there. */
    char extra;
    if ((h.size > 0 && fread(body, h.size, 1, f) != 1) ||
        fread(&extra, 1, 1, f) != 0) {
        et_cli_why(why, why_size, "%s (header says %llu bytes)",
                   ferror(f) ? strerror(errno) : "body of the wrong size",
                   (unsigned long long)h.size);
        errno = EPROTO;
        goto fail;
    }
    if (s_check(&h, body, h.size) != h.check) {
        et_cli_why(why, why_size, "checksum does not match: corrupt");
        errno = EPROTO;
        goto fail;
    }
    fclose(f);
    *size = h.size;
    return body;
fail:;
    int saved = errno;
    free(body);
    fclose(f);
    errno = saved;
    return NULL;
}
