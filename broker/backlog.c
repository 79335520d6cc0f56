/* The collector backlog: a linked FIFO in memory in front of an
 * append-only spill file read from its start. Every message in memory is
 * older than every message in the file (a message goes to memory only
 * while the file holds none), so memory first, then the file, is FIFO
 * overall. */
#include "broker/backlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Each message in the file is this header, then its body. The file is
 * this process's own, on its own host: native byte order. */
#define S_SPILL_MAGIC 0x45544231u /* "ETB1" */
typedef struct {
    uint32_t magic;
    uint32_t size;
    uint64_t records;
    uint8_t type;
    uint8_t pad[7];
} s_spill_hdr_t;

/* Give the disk back (punch a hole over what was read) every this many
 * bytes read: a file that is never emptied, under a collector that keeps
 * just up, would otherwise only grow. */
#define S_PUNCH_EVERY (16u << 20)

typedef struct s_node_t {
    struct s_node_t *next;
    uint64_t records;
    size_t size;
    uint8_t type;
    unsigned char body[];
} s_node_t;

struct et_backlog_t {
    uint64_t memory_max;
    uint64_t spill_max;
    char *spill_path; /* NULL: no file */

    s_node_t *head, *tail; /* memory, oldest first */
    uint64_t mem_messages, mem_records, mem_bytes;

    int fd; /* -1 until the first spill */
    uint64_t read_off, write_off, punched_off;
    uint64_t spill_messages, spill_records;
    /* The file's first message, read but not yet sent. */
    unsigned char *spill_buf;
    size_t spill_cap;
    s_spill_hdr_t spill_hdr;
    int spill_loaded;

    uint64_t spilled_messages;
    uint64_t dropped_messages, dropped_records;
};

et_backlog_t *
et_backlog_new(const et_backlog_config_t *cfg)
{
    et_backlog_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->memory_max = cfg->memory_max;
    self->spill_max = cfg->spill_max;
    self->fd = -1;
    if (cfg->spill_path && cfg->spill_path[0]) {
        if (strlen(cfg->spill_path) >= PATH_MAX) {
            free(self);
            errno = EINVAL;
            return NULL;
        }
        self->spill_path = strdup(cfg->spill_path);
        if (!self->spill_path) {
            free(self);
            errno = ENOMEM;
            return NULL;
        }
    }
    return self;
}

static void
s_memory_free(et_backlog_t *self)
{
    while (self->head) {
        s_node_t *next = self->head->next;
        free(self->head);
        self->head = next;
    }
    self->tail = NULL;
    self->mem_messages = self->mem_records = self->mem_bytes = 0;
}

/* The file holds nothing: start it again from offset 0. */
static void
s_spill_reset(et_backlog_t *self)
{
    self->read_off = self->write_off = self->punched_off = 0;
    self->spill_messages = self->spill_records = 0;
    self->spill_loaded = 0;
    /* Best effort: a file that cannot shrink is overwritten from 0. */
    if (self->fd >= 0)
        (void)ftruncate(self->fd, 0);
}

void
et_backlog_destroy(et_backlog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_backlog_t *self = *self_p;
    s_memory_free(self);
    if (self->fd >= 0) {
        /* Emptied, not removed: the path may be anything the user named
         * (a device, a file another process watches). */
        (void)ftruncate(self->fd, 0);
        close(self->fd);
    }
    free(self->spill_buf);
    free(self->spill_path);
    free(self);
    *self_p = NULL;
}

static void
s_drop(et_backlog_t *self, uint64_t messages, uint64_t records)
{
    self->dropped_messages += messages;
    self->dropped_records += records;
}

static int
s_memory_push(et_backlog_t *self, uint8_t type, const void *body, size_t size,
              uint64_t records)
{
    s_node_t *node = malloc(sizeof *node + size);
    if (!node)
        return -1;
    node->next = NULL;
    node->records = records;
    node->size = size;
    node->type = type;
    if (size > 0)
        memcpy(node->body, body, size);
    if (self->tail)
        self->tail->next = node;
    else
        self->head = node;
    self->tail = node;
    self->mem_messages++;
    self->mem_records += records;
    self->mem_bytes += sizeof *node + size;
    return 0;
}

static int
s_spill_open(et_backlog_t *self)
{
    if (self->fd >= 0)
        return 0;
    int fd =
        open(self->spill_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    self->fd = fd;
    s_spill_reset(self);
    return 0;
}

/* Append header and body at write_off; a write that fails part-way is cut
 * off again, so the file only ever holds whole messages. */
static int
s_spill_push(et_backlog_t *self, uint8_t type, const void *body, size_t size,
             uint64_t records)
{
    if (s_spill_open(self) != 0)
        return -1;
    s_spill_hdr_t hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.magic = S_SPILL_MAGIC;
    hdr.size = (uint32_t)size;
    hdr.records = records;
    hdr.type = type;
    size_t total = sizeof hdr + size;
    size_t done = 0;
    while (done < total) {
        struct iovec iov[2];
        int n = 0;
        if (done < sizeof hdr) {
            iov[n].iov_base = (char *)&hdr + done;
            iov[n++].iov_len = sizeof hdr - done;
            if (size > 0) {
                iov[n].iov_base = (void *)body;
                iov[n++].iov_len = size;
            }
        } else {
            iov[n].iov_base = (char *)body + (done - sizeof hdr);
            iov[n++].iov_len = total - done;
        }
        ssize_t w = pwritev(self->fd, iov, n, (off_t)(self->write_off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int saved = w < 0 ? errno : ENOSPC;
            (void)ftruncate(self->fd, (off_t)self->write_off);
            errno = saved;
            return -1;
        }
        done += (size_t)w;
    }
    self->write_off += total;
    self->spill_messages++;
    self->spill_records += records;
    self->spilled_messages++;
    return 0;
}

int
et_backlog_push(et_backlog_t *self, uint8_t type, const void *body, size_t size,
                uint64_t records)
{
    uint64_t need = sizeof(s_node_t) + (uint64_t)size;
    if (self->spill_messages == 0 && self->mem_bytes <= self->memory_max &&
        need <= self->memory_max - self->mem_bytes) {
        if (s_memory_push(self, type, body, size, records) == 0)
            return 0;
        /* Out of memory: the file, if any, may still take it. */
    }
    int why = ENOBUFS;
    if (self->spill_path) {
        uint64_t spill_need = sizeof(s_spill_hdr_t) + (uint64_t)size;
        uint64_t held = self->write_off - self->read_off;
        if (size > UINT32_MAX || spill_need > self->spill_max) {
            why = EMSGSIZE;
        } else if (held <= self->spill_max &&
                   spill_need <= self->spill_max - held) {
            if (s_spill_push(self, type, body, size, records) == 0)
                return 0;
            why = errno;
        }
    }
    s_drop(self, 1, records);
    errno = why;
    return -1;
}

/* Read the file's first message into spill_buf. 0; -1 when the file
 * cannot be read back or does not hold what was written; -2 when memory
 * for it is short (the file is left as it is, to try again). */
static int
s_spill_load(et_backlog_t *self)
{
    if (self->spill_loaded)
        return 0;
    s_spill_hdr_t hdr;
    uint64_t held = self->write_off - self->read_off;
    ssize_t r;
    do
        r = pread(self->fd, &hdr, sizeof hdr, (off_t)self->read_off);
    while (r < 0 && errno == EINTR);
    if (r != (ssize_t)sizeof hdr || hdr.magic != S_SPILL_MAGIC ||
        hdr.size > held - sizeof hdr || hdr.records > self->spill_records)
        return -1;
    if (hdr.size > self->spill_cap) {
        unsigned char *buf = realloc(self->spill_buf, hdr.size);
        if (!buf)
            return -2;
        self->spill_buf = buf;
        self->spill_cap = hdr.size;
    }
    size_t done = 0;
    while (done < hdr.size) {
        r = pread(self->fd, self->spill_buf + done, hdr.size - done,
                  (off_t)(self->read_off + sizeof hdr + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    self->spill_hdr = hdr;
    self->spill_loaded = 1;
    return 0;
}

static void
s_spill_advance(et_backlog_t *self)
{
    self->read_off += sizeof self->spill_hdr + self->spill_hdr.size;
    self->spill_messages--;
    self->spill_records -= self->spill_hdr.records;
    self->spill_loaded = 0;
    if (self->spill_messages == 0) {
        s_spill_reset(self);
        return;
    }
    if (self->read_off - self->punched_off >= S_PUNCH_EVERY) {
        /* Best effort: not every file system can. */
        (void)fallocate(self->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                        (off_t)self->read_off);
        self->punched_off = self->read_off;
    }
}

size_t
et_backlog_flush(et_backlog_t *self, et_backlog_send_fn send, void *arg)
{
    size_t sent = 0;
    while (self->head) {
        s_node_t *node = self->head;
        if (send(arg, node->type, node->body, node->size) != 0)
            return sent;
        self->head = node->next;
        if (!self->head)
            self->tail = NULL;
        self->mem_messages--;
        self->mem_records -= node->records;
        self->mem_bytes -= sizeof *node + node->size;
        free(node);
        sent++;
    }
    while (self->spill_messages > 0) {
        int rc = s_spill_load(self);
        if (rc == -2)
            return sent;
        if (rc != 0) {
            int saved = errno;
            s_drop(self, self->spill_messages, self->spill_records);
            s_spill_reset(self);
            errno = saved;
            return sent;
        }
        if (send(arg, self->spill_hdr.type, self->spill_buf,
                 self->spill_hdr.size) != 0)
            return sent;
        s_spill_advance(self);
        sent++;
    }
    return sent;
}

void
et_backlog_drop_all(et_backlog_t *self)
{
    s_drop(self, self->mem_messages + self->spill_messages,
           self->mem_records + self->spill_records);
    s_memory_free(self);
    if (self->spill_messages > 0)
        s_spill_reset(self);
}

int
et_backlog_empty(const et_backlog_t *self)
{
    return self->mem_messages == 0 && self->spill_messages == 0;
}

et_backlog_stats_t
et_backlog_stats(const et_backlog_t *self)
{
    et_backlog_stats_t s = {.messages =
                                self->mem_messages + self->spill_messages,
                            .records = self->mem_records + self->spill_records,
                            .memory_bytes = self->mem_bytes,
                            .spill_bytes = self->write_off - self->read_off,
                            .spilled_messages = self->spilled_messages,
                            .dropped_messages = self->dropped_messages,
                            .dropped_records = self->dropped_records};
    return s;
}
