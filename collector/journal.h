/* The collector's journal: every message it takes, appended to a file
 * before it is processed, so a collector killed and started again with
 * --resume replays it and continues as if it had never stopped. A file
 * header holds the run id and the run's original start time. Reading is
 * bounded and validated: a last entry cut short (the kill came mid-write)
 * is discarded and cut off the file; anything else that does not check is
 * an error. The file is this host's own: native byte order. With
 * checkpoints (collector/checkpoint.h) the journal is started again
 * empty after each, its header naming the checkpoint's generation. */
#ifndef ET_JOURNAL_H
#define ET_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

/* Frames an entry holds, and the largest frame (the collector's own
 * ZMQ_MAXMSGSIZE is smaller). */
#define ET_JOURNAL_FRAMES_MAX 3
#define ET_JOURNAL_FRAME_MAX (4u << 20)
#define ET_JOURNAL_RUN_ID_MAX 256

typedef struct et_journal_t et_journal_t;

typedef enum {
    ET_JOURNAL_MESSAGE = 1, /* a message taken from the socket */
    ET_JOURNAL_RESUMED = 2  /* a collector resumed from here */
} et_journal_kind_t;

typedef struct {
    uint8_t kind;     /* et_journal_kind_t */
    uint8_t too_many; /* the message had more frames than it kept */
    uint8_t n_frames; /* 0..ET_JOURNAL_FRAMES_MAX */
    uint64_t mono_ns; /* CLOCK_MONOTONIC when it was taken */
    const void *frame[ET_JOURNAL_FRAMES_MAX];
    size_t size[ET_JOURNAL_FRAMES_MAX];
} et_journal_entry_t;

typedef struct {
    char run_id[ET_JOURNAL_RUN_ID_MAX]; /* NUL-terminated */
    int64_t started_real_ns;
    /* Which checkpoint the journal follows (collector/checkpoint.h): 0
     * for none, else the checkpoint of this generation holds everything
     * taken before the journal's first entry. */
    uint64_t generation;
} et_journal_header_t;

/* One entry replayed: 0, or -1 to stop the replay (errno kept). The
 * entry's frames are valid only during the call. */
typedef int (*et_journal_replay_fn)(void *arg, const et_journal_entry_t *entry);

/* Open the journal at 'path'. With 'resume' and a file that holds a
 * header, *header is filled from it (the caller replays next); else the
 * file is created or truncated and *header written to it. *resumed says
 * which. NULL with errno and a sentence in 'why' (EPROTO: not a journal
 * or another version; EINVAL: the path too long; ESTALE: given up, with
 * header->generation the generation it was given up in, see
 * et_journal_abandon). */
et_journal_t *et_journal_open(const char *path, int resume,
                              et_journal_header_t *header, int *resumed,
                              char *why, size_t why_size);

/* Read every entry after the header, in order, through 'fn'; a last entry
 * cut short is discarded and the file cut there (*discarded_bytes says how
 * much), and appends go after the last whole entry. 0 with *entries, or -1
 * with errno and 'why' (EPROTO for an entry that does not check, with its
 * offset; an I/O error; the errno of 'fn'). Call once, right after
 * et_journal_open, before any append. */
int et_journal_replay(et_journal_t *self, et_journal_replay_fn fn, void *arg,
                      uint64_t *entries, uint64_t *discarded_bytes, char *why,
                      size_t why_size);

/* Append one entry with write(2) (no fsync: a killed process leaves it in
 * the page cache). 0, or -1 with errno (EINVAL for an entry out of
 * bounds, EFBIG when it would take the file past et_journal_set_max,
 * else the write's), the file then cut back to its last whole entry. */
int et_journal_append(et_journal_t *self, const et_journal_entry_t *entry);

/* Give the journal up: it will miss messages, so it must never be resumed
 * from, unless a checkpoint of a later generation than 'generation' holds
 * everything (the collector's rule). The file keeps only a mark and the
 * generation, and et_journal_open with 'resume' fails on it (errno
 * ESTALE, 'why' says so). 0, or -1 with errno. */
int et_journal_abandon(et_journal_t *self, uint64_t generation);

/* Start the journal again, empty, with 'header' (a new generation): the
 * new file is written beside it (PATH.tmp) and renamed over it, so a
 * process killed at any point leaves the old journal or the new one,
 * whole. 0, or -1 with errno (the old journal then kept, and in use). */
int et_journal_restart(et_journal_t *self, const et_journal_header_t *header);

/* Appends that would take the file past 'max_bytes' fail (0: no bound). */
void et_journal_set_max(et_journal_t *self, uint64_t max_bytes);

/* Bytes in the file. */
uint64_t et_journal_size(const et_journal_t *self);

/* Close. Does nothing if *self_p is NULL; sets it NULL. The file stays. */
void et_journal_destroy(et_journal_t **self_p);

#endif
