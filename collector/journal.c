/* The journal file: a fixed header, then entries, each a fixed 32-byte
 * head (magic, kind, frame sizes, the monotonic time, an XXH64 checksum
 * over head and frames) followed by its frames. Appends are one writev;
 * a process killed part-way leaves a prefix of an entry, which the next
 * replay finds short of its declared size and cuts off. */
#include "collector/journal.h"

#include "common/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#define S_FILE_MAGIC "ETJRNL03"
/* The whole file of a journal given up (et_journal_abandon). */
#define S_ABANDONED_MAGIC "ETJRNLAB"
#define S_VERSION 3u
#define S_ENTRY_MAGIC 0x454a4531u /* "1EJE" */

typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    int64_t started_real_ns;
    char run_id[ET_JOURNAL_RUN_ID_MAX];
    uint64_t generation;
    uint32_t check;
    uint32_t pad;
} s_file_hdr_t;

typedef struct {
    uint32_t magic;
    uint8_t kind;
    uint8_t too_many;
    uint8_t n_frames;
    uint8_t pad;
    uint64_t mono_ns;
    uint32_t size[ET_JOURNAL_FRAMES_MAX];
    uint32_t check;
} s_entry_hdr_t;

_Static_assert(sizeof(s_entry_hdr_t) == 32, "entry head is 32 bytes");

struct et_journal_t {
    int fd;
    char path[PATH_MAX];
    uint64_t end;       /* after the last whole entry */
    uint64_t max_bytes; /* et_journal_set_max; 0: none */
    unsigned char *buf;
    size_t cap;
};

/* The 32-bit check a header keeps: XXH64 (libxxhash) over the head up to
 * the check, then over each frame in turn, the hash so far the seed of
 * the next, folded. Every message the collector takes is journaled, so
 * this runs over every byte it receives: XXH64 reads eight bytes a step
 * where the FNV-1a before it read one (2.7% of a whole machine's samples
 * at 10x overload went to that loop). */
static uint32_t
s_fold(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32));
}

/* Read exactly 'size' bytes at 'off': their count (short only at the end
 * of the file), or -1 with errno. */
static ssize_t
s_pread_all(int fd, void *buf, size_t size, uint64_t off)
{
    size_t done = 0;
    while (done < size) {
        ssize_t r =
            pread(fd, (char *)buf + done, size - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static int
s_write_all(int fd, struct iovec *iov, int n, uint64_t off)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    size_t done = 0;
    while (done < total) {
        /* Skip what was written already. */
        struct iovec rest[ET_JOURNAL_FRAMES_MAX + 1];
        int m = 0;
        size_t skip = done;
        for (int i = 0; i < n; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            rest[m].iov_base = (char *)iov[i].iov_base + skip;
            rest[m++].iov_len = iov[i].iov_len - skip;
            skip = 0;
        }
        ssize_t w = pwritev(fd, rest, m, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

static uint32_t
s_file_check(const s_file_hdr_t *h)
{
    return s_fold(XXH64(h, offsetof(s_file_hdr_t, check), 0));
}

static void
s_header(s_file_hdr_t *h, const et_journal_header_t *header)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, S_FILE_MAGIC, sizeof h->magic);
    h->version = S_VERSION;
    h->header_size = sizeof *h;
    h->started_real_ns = header->started_real_ns;
    h->generation = header->generation;
    snprintf(h->run_id, sizeof h->run_id, "%s", header->run_id);
    h->check = s_file_check(h);
}

et_journal_t *
et_journal_open(const char *path, int resume, et_journal_header_t *header,
                int *resumed, char *why, size_t why_size)
{
    *resumed = 0;
    if (strlen(path) >= PATH_MAX) {
        et_cli_why(why, why_size, "path too long");
        errno = EINVAL;
        return NULL;
    }
    et_journal_t *self = calloc(1, sizeof *self);
    if (!self) {
        et_cli_why(why, why_size, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    self->fd = -1;
    snprintf(self->path, sizeof self->path, "%s", path);
    self->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->fd < 0) {
        et_cli_why(why, why_size, "cannot open: %s", strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(self->fd, &st) != 0) {
        et_cli_why(why, why_size, "cannot stat: %s", strerror(errno));
        goto fail;
    }
    if (resume && st.st_size > 0) {
        s_file_hdr_t h;
        ssize_t r = s_pread_all(self->fd, &h, sizeof h, 0);
        if (r < 0) {
            et_cli_why(why, why_size, "cannot read: %s", strerror(errno));
            goto fail;
        }
        if ((size_t)r >= sizeof S_ABANDONED_MAGIC - 1 &&
            memcmp(&h, S_ABANDONED_MAGIC, sizeof S_ABANDONED_MAGIC - 1) == 0) {
            /* The generation it was given up in; a mark without one
             * (written before checkpoints) is never resumed from. */
            header->generation = UINT64_MAX;
            if ((size_t)r >= sizeof S_ABANDONED_MAGIC - 1 + sizeof(uint64_t))
                memcpy(&header->generation,
                       (const char *)&h + sizeof S_ABANDONED_MAGIC - 1,
                       sizeof(uint64_t));
            et_cli_why(why, why_size,
                       "given up during the run (it reached its bound or could "
                       "not be written): this run cannot be resumed");
            errno = ESTALE;
            goto fail;
        }
        /* A header cut short: nothing after it was ever written, so the
         * run had taken nothing yet. Start again. */
        if ((size_t)r == sizeof h) {
            if (memcmp(h.magic, S_FILE_MAGIC, sizeof h.magic) != 0 ||
                h.version != S_VERSION || h.header_size != sizeof h ||
                h.check != s_file_check(&h) ||
                memchr(h.run_id, '\0', sizeof h.run_id) == NULL) {
                et_cli_why(why, why_size,
                           "not an Eventide collector journal of version %u "
                           "(bad header)",
                           S_VERSION);
                errno = EPROTO;
                goto fail;
            }
            memcpy(header->run_id, h.run_id, sizeof header->run_id);
            header->started_real_ns = h.started_real_ns;
            header->generation = h.generation;
            self->end = sizeof h;
            *resumed = 1;
            return self;
        }
    }
    s_file_hdr_t h;
    s_header(&h, header);
    struct iovec iov = {.iov_base = &h, .iov_len = sizeof h};
    if (ftruncate(self->fd, 0) != 0 || s_write_all(self->fd, &iov, 1, 0) != 0) {
        et_cli_why(why, why_size, "cannot write: %s", strerror(errno));
        goto fail;
    }
    self->end = sizeof h;
    return self;
fail:;
    int saved = errno;
    et_journal_destroy(&self);
    errno = saved;
    return NULL;
}

/* An entry's check over its head and its frames: the writer's and the
 * replay's one computation. */
static uint32_t
s_entry_check(const s_entry_hdr_t *h, const et_journal_entry_t *e)
{
    uint64_t c = XXH64(h, offsetof(s_entry_hdr_t, check), 0);
    for (int i = 0; i < e->n_frames; i++)
        c = XXH64(e->frame[i], e->size[i], c);
    return s_fold(c);
}

/* Entry 'index' (from 1) at 'off' does not check because of 'what': the
 * journal is corrupt. Always -1, errno EPROTO. */
static int
s_corrupt(char *why, size_t why_size, uint64_t index, uint64_t off,
          const char *what)
{
    et_cli_why(why, why_size,
               "entry %llu at offset %llu does not check (%s): the journal "
               "is corrupt",
               (unsigned long long)index, (unsigned long long)off, what);
    errno = EPROTO;
    return -1;
}

int
et_journal_replay(et_journal_t *self, et_journal_replay_fn fn, void *arg,
                  uint64_t *entries, uint64_t *discarded_bytes, char *why,
                  size_t why_size)
{
    *entries = 0;
    *discarded_bytes = 0;
    struct stat st;
    if (fstat(self->fd, &st) != 0) {
        et_cli_why(why, why_size, "cannot stat: %s", strerror(errno));
        return -1;
    }
    uint64_t file_size = (uint64_t)st.st_size;
    uint64_t off = self->end;
    while (off < file_size) {
        s_entry_hdr_t h;
        ssize_t r = s_pread_all(self->fd, &h, sizeof h, off);
        if (r < 0) {
            et_cli_why(why, why_size, "cannot read at offset %llu: %s",
                       (unsigned long long)off, strerror(errno));
            return -1;
        }
        if ((size_t)r < sizeof h)
            break; /* cut short */
        size_t total = 0;
        int ok =
            h.magic == S_ENTRY_MAGIC &&
            (h.kind == ET_JOURNAL_MESSAGE || h.kind == ET_JOURNAL_RESUMED) &&
            h.too_many <= 1 && h.n_frames <= ET_JOURNAL_FRAMES_MAX &&
            h.pad == 0;
        for (int i = 0; ok && i < ET_JOURNAL_FRAMES_MAX; i++) {
            if (h.size[i] > ET_JOURNAL_FRAME_MAX ||
                (i >= h.n_frames && h.size[i] != 0))
                ok = 0;
            total += h.size[i];
        }
        if (!ok)
            return s_corrupt(why, why_size, *entries + 1, off, "bad head");
        if (off + sizeof h + total > file_size)
            break; /* cut short */
        if (total > self->cap) {
            unsigned char *buf = realloc(self->buf, total);
            if (!buf) {
                et_cli_why(why, why_size, "out of memory");
                errno = ENOMEM;
                return -1;
            }
            self->buf = buf;
            self->cap = total;
        }
        r = s_pread_all(self->fd, self->buf, total, off + sizeof h);
        if (r < 0 || (size_t)r != total) {
            et_cli_why(why, why_size, "cannot read at offset %llu: %s",
                       (unsigned long long)off,
                       r < 0 ? strerror(errno) : "file shrank");
            if (r >= 0)
                errno = EIO;
            return -1;
        }
        et_journal_entry_t e = {.kind = h.kind,
                                .too_many = h.too_many,
                                .n_frames = h.n_frames,
                                .mono_ns = h.mono_ns};
        size_t at = 0;
        for (int i = 0; i < h.n_frames; i++) {
            e.frame[i] = self->buf + at;
            e.size[i] = h.size[i];
            at += h.size[i];
        }
        if (s_entry_check(&h, &e) != h.check)
            return s_corrupt(why, why_size, *entries + 1, off, "checksum");
        if (fn(arg, &e) != 0) {
            et_cli_why(why, why_size, "entry %llu could not be replayed: %s",
                       (unsigned long long)*entries + 1, strerror(errno));
            return -1;
        }
        off += sizeof h + total;
        (*entries)++;
    }
    if (off < file_size) {
        if (ftruncate(self->fd, (off_t)off) != 0) {
            et_cli_why(why, why_size, "cannot cut off the last entry: %s",
                       strerror(errno));
            return -1;
        }
        *discarded_bytes = file_size - off;
    }
    self->end = off;
    return 0;
}

int
et_journal_append(et_journal_t *self, const et_journal_entry_t *e)
{
    if (e->n_frames > ET_JOURNAL_FRAMES_MAX || e->too_many > 1 ||
        (e->kind != ET_JOURNAL_MESSAGE && e->kind != ET_JOURNAL_RESUMED)) {
        errno = EINVAL;
        return -1;
    }
    s_entry_hdr_t h;
    memset(&h, 0, sizeof h);
    h.magic = S_ENTRY_MAGIC;
    h.kind = e->kind;
    h.too_many = e->too_many;
    h.n_frames = e->n_frames;
    h.mono_ns = e->mono_ns;
    struct iovec iov[ET_JOURNAL_FRAMES_MAX + 1];
    iov[0].iov_base = &h;
    iov[0].iov_len = sizeof h;
    for (int i = 0; i < e->n_frames; i++) {
        if (e->size[i] > ET_JOURNAL_FRAME_MAX) {
            errno = EINVAL;
            return -1;
        }
        h.size[i] = (uint32_t)e->size[i];
        iov[i + 1].iov_base = (void *)e->frame[i];
        iov[i + 1].iov_len = e->size[i];
    }
    h.check = s_entry_check(&h, e);
    uint64_t total = sizeof h;
    for (int i = 0; i < e->n_frames; i++)
        total += e->size[i];
    if (self->max_bytes && self->end + total > self->max_bytes) {
        errno = EFBIG;
        return -1;
    }
    if (s_write_all(self->fd, iov, e->n_frames + 1, self->end) != 0) {
        int saved = errno;
        (void)ftruncate(self->fd, (off_t)self->end);
        errno = saved;
        return -1;
    }
    self->end += total;
    return 0;
}

int
et_journal_abandon(et_journal_t *self, uint64_t generation)
{
    struct iovec iov[2] = {
        {.iov_base = (void *)S_ABANDONED_MAGIC,
         .iov_len = sizeof S_ABANDONED_MAGIC - 1},
        {.iov_base = &generation, .iov_len = sizeof generation}};
    if (ftruncate(self->fd, 0) != 0 || s_write_all(self->fd, iov, 2, 0) != 0)
        return -1;
    self->end = iov[0].iov_len + iov[1].iov_len;
    return 0;
}

int
et_journal_restart(et_journal_t *self, const et_journal_header_t *header)
{
    char tmp[PATH_MAX + 8];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", self->path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    s_file_hdr_t h;
    s_header(&h, header);
    struct iovec iov = {.iov_base = &h, .iov_len = sizeof h};
    if (s_write_all(fd, &iov, 1, 0) != 0 || rename(tmp, self->path) != 0) {
        int saved = errno;
        close(fd);
        (void)unlink(tmp);
        errno = saved;
        return -1;
    }
    close(self->fd);
    self->fd = fd;
    self->end = sizeof h;
    return 0;
}

void
et_journal_set_max(et_journal_t *self, uint64_t max_bytes)
{
    self->max_bytes = max_bytes;
}

uint64_t
et_journal_size(const et_journal_t *self)
{
    return self->end;
}

void
et_journal_destroy(et_journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_journal_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    free(self->buf);
    free(self);
    *self_p = NULL;
}
