/* Peers on the backend the broker does not know (forgotten after a silence,
 * or from before a restart) are told REGISTER so they say READY again. This
 * decides which of them get an answer: at most one per peer per period and
 * a bounded number per period overall, so a stream of garbage cannot turn
 * the broker into a sender. Pure: no sockets, the caller passes the time. */
#ifndef ET_STRANGERS_H
#define ET_STRANGERS_H

#include <stddef.h>
#include <stdint.h>

/* Peers remembered at once; beyond that the longest-unanswered is
 * forgotten (and may be answered again sooner than the period). */
#define ET_STRANGERS_MAX 256

typedef struct et_strangers_t et_strangers_t;

/* New limiter: each peer answered at most once per 'period_ns', at most
 * 'budget' answers in all per period. Returns NULL with errno EINVAL
 * (period or budget 0) or ENOMEM. The caller owns the result. */
et_strangers_t *et_strangers_new(uint64_t period_ns, uint32_t budget);

/* Destroy *self_p and set it to NULL. Does nothing if *self_p is NULL. */
void et_strangers_destroy(et_strangers_t **self_p);

/* 1 when the unknown peer 'route' (1..255 bytes) is to be answered at
 * 'now_ns' (the answer is then counted as sent), 0 when it is to be left
 * unanswered (counted as suppressed). */
int et_strangers_answer(et_strangers_t *self, const void *route,
                        size_t route_len, uint64_t now_ns);

/* Answers allowed and withheld since the start. */
uint64_t et_strangers_answered(const et_strangers_t *self);
uint64_t et_strangers_suppressed(const et_strangers_t *self);

#endif
