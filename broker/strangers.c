/* The REGISTER limiter: a small table of recently answered routing ids
 * (linear search: strangers are rare, the table is small) and a budget
 * that refills every period. */
#include "broker/strangers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ZeroMQ routing ids are at most 255 bytes. */
#define S_ROUTE_MAX 255

typedef struct {
    uint8_t route[S_ROUTE_MAX];
    uint8_t len; /* 0: free */
    uint64_t answered_ns;
} s_peer_t;

struct et_strangers_t {
    uint64_t period_ns;
    uint32_t budget;
    uint32_t spent;           /* answers in the current window */
    uint64_t window_start_ns; /* start of that window */
    int window_open;
    uint64_t answered, suppressed;
    s_peer_t peers[ET_STRANGERS_MAX];
};

et_strangers_t *
et_strangers_new(uint64_t period_ns, uint32_t budget)
{
    if (period_ns == 0 || budget == 0) {
        errno = EINVAL;
        return NULL;
    }
    et_strangers_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->period_ns = period_ns;
    self->budget = budget;
    return self;
}

void
et_strangers_destroy(et_strangers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static int
s_suppress(et_strangers_t *self)
{
    self->suppressed++;
    return 0;
}

int
et_strangers_answer(et_strangers_t *self, const void *route, size_t route_len,
                    uint64_t now_ns)
{
    if (route_len == 0 || route_len > S_ROUTE_MAX)
        return s_suppress(self);
    if (!self->window_open ||
        now_ns - self->window_start_ns >= self->period_ns ||
        now_ns < self->window_start_ns) {
        self->window_open = 1;
        self->window_start_ns = now_ns;
        self->spent = 0;
    }
    s_peer_t *slot = NULL, *oldest = &self->peers[0];
    for (size_t i = 0; i < ET_STRANGERS_MAX; i++) {
        s_peer_t *p = &self->peers[i];
        if (p->len == route_len && memcmp(p->route, route, route_len) == 0) {
            slot = p;
            break;
        }
        if (oldest->len != 0 &&
            (p->len == 0 || p->answered_ns < oldest->answered_ns))
            oldest = p;
    }
    /* A clock that went backwards (made-up clocks in tests) restarts the
     * peer's period rather than silencing it for ever. */
    if (slot && now_ns >= slot->answered_ns &&
        now_ns - slot->answered_ns < self->period_ns)
        return s_suppress(self);
    if (self->spent >= self->budget)
        return s_suppress(self);
    if (!slot) {
        slot = oldest;
        memcpy(slot->route, route, route_len);
        slot->len = (uint8_t)route_len;
    }
    slot->answered_ns = now_ns;
    self->spent++;
    self->answered++;
    return 1;
}

uint64_t
et_strangers_answered(const et_strangers_t *self)
{
    return self->answered;
}

uint64_t
et_strangers_suppressed(const et_strangers_t *self)
{
    return self->suppressed;
}
