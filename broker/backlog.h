/* The broker's backlog for the collector: the encoded messages the
 * collector's socket would not take at once, kept in order (a bounded FIFO
 * in memory that spills, once full, to a bounded file) and sent again,
 * oldest first, as soon as the socket takes them. What cannot be kept is
 * counted, never silent. Single-threaded; knows nothing of ZeroMQ. */
#ifndef ET_BACKLOG_H
#define ET_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct et_backlog_t et_backlog_t;

typedef struct {
    uint64_t memory_max;    /* bytes of messages held in memory (0: none) */
    const char *spill_path; /* file for what memory cannot hold; NULL or
                               "": no file, such messages are dropped */
    uint64_t spill_max;     /* bytes the spill file may hold */
} et_backlog_config_t;

/* What the backlog holds and what it could not keep. */
typedef struct {
    uint64_t messages;         /* held now, memory and file */
    uint64_t records;          /* the records those messages carry */
    uint64_t memory_bytes;     /* held in memory, bookkeeping included */
    uint64_t spill_bytes;      /* held in the file, headers included */
    uint64_t spilled_messages; /* ever written to the file */
    uint64_t dropped_messages; /* could not be kept, or read back */
    uint64_t dropped_records;  /* the records those carried */
} et_backlog_stats_t;

/* Sends one message. Returns 0 when sent, or -1 with errno (EAGAIN: not
 * now, try later); on -1 the message stays first in the backlog. */
typedef int (*et_backlog_send_fn)(void *arg, uint8_t type, const void *body,
                                  size_t size);

/* New empty backlog. The spill path is copied; the file is created (and
 * truncated) only when memory first overflows. Returns NULL with errno
 * (EINVAL for a path too long, ENOMEM). The caller owns the result. */
et_backlog_t *et_backlog_new(const et_backlog_config_t *cfg);

/* Free everything held (without counting it: see et_backlog_drop_all),
 * empty and close the spill file (it is not removed). Does nothing if *self_p
 * is NULL; sets it to NULL. */
void et_backlog_destroy(et_backlog_t **self_p);

/* Keep a copy of the message (its 'type', 'size' bytes of 'body', and how
 * many lifecycle 'records' it carries) behind every message held: in
 * memory while the file is empty and memory has room, else in the file.
 * Returns 0, or -1 when it cannot be kept, counted as dropped, with errno:
 * ENOBUFS (memory full and the file full or not configured), EMSGSIZE
 * (larger than any message the file holds), or the error that opening or
 * writing the file gave (ENOSPC, EACCES, ...). */
int et_backlog_push(et_backlog_t *self, uint8_t type, const void *body,
                    size_t size, uint64_t records);

/* Send the held messages, oldest first, through 'send' until it fails or
 * none is left. Returns how many were sent. A file that cannot be read
 * back (an I/O error, a header that does not check) has everything it
 * holds counted as dropped and is emptied. */
size_t et_backlog_flush(et_backlog_t *self, et_backlog_send_fn send, void *arg);

/* Give up on everything held: counted as dropped, memory freed, file
 * emptied. */
void et_backlog_drop_all(et_backlog_t *self);

/* Nothing is held. */
int et_backlog_empty(const et_backlog_t *self);

et_backlog_stats_t et_backlog_stats(const et_backlog_t *self);

#endif
