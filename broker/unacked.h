/* What the broker sent the collector and the collector has not yet said
 * it journaled (--collector-acks): each message with its sequence number,
 * in the order sent, until an acknowledgement drops it, or a resume asks
 * for it again. Bounded in bytes; single-threaded; knows nothing of
 * ZeroMQ. */
#ifndef ET_UNACKED_H
#define ET_UNACKED_H

#include <stddef.h>
#include <stdint.h>

typedef struct et_unacked_t et_unacked_t;

typedef struct {
    uint64_t messages;  /* kept now */
    uint64_t bytes;     /* kept now, bookkeeping included */
    uint64_t resent;    /* messages sent again after a resume */
    uint64_t no_memory; /* messages that could not be kept: no memory */
    uint64_t first_seq; /* oldest kept (0: none) */
} et_unacked_stats_t;

/* Sends one kept message again. 0 when sent, or -1 with errno (EAGAIN:
 * not now); on -1 it stays first to be sent again. */
typedef int (*et_unacked_send_fn)(void *arg, uint64_t seq, uint8_t type,
                                  const void *body, size_t size);

/* New, empty, holding at most 'max_bytes' (bookkeeping included). NULL
 * with errno ENOMEM. The caller owns the result. */
et_unacked_t *et_unacked_new(uint64_t max_bytes);

/* Free everything kept. Does nothing if *self_p is NULL; sets it NULL. */
void et_unacked_destroy(et_unacked_t **self_p);

/* Keep a copy of a message about to be sent with 'seq', which must be
 * greater than every seq kept. 0, or -1 with errno ENOBUFS (no room
 * within the bound: send it later) or ENOMEM (counted in no_memory).
 * Must not be called while et_unacked_resending. */
int et_unacked_keep(et_unacked_t *self, uint64_t seq, uint8_t type,
                    const void *body, size_t size);

/* Forget the message kept last, right after et_unacked_keep (its send
 * failed); constant time. Anything else in between (an acknowledgement)
 * and it does nothing. */
void et_unacked_forget_last(et_unacked_t *self);

/* The collector journaled everything up to 'seq': drop it. Returns how
 * many messages were dropped. */
size_t et_unacked_ack(et_unacked_t *self, uint64_t seq);

/* The collector asks for everything after 'seq' again: drop up to 'seq',
 * and every message kept after it is to be sent again, in order
 * (et_unacked_resend), before anything new. */
void et_unacked_rewind(et_unacked_t *self, uint64_t seq);

/* 1 while kept messages wait to be sent again, else 0. */
int et_unacked_resending(const et_unacked_t *self);

/* Send the messages waiting to be sent again, oldest first, through
 * 'send' until it fails or none is left. Returns how many were sent. */
size_t et_unacked_resend(et_unacked_t *self, et_unacked_send_fn send,
                         void *arg);

et_unacked_stats_t et_unacked_stats(const et_unacked_t *self);

#endif
