/* Waiting for an instant without being late by the timer's wake-up. A
 * thread that sleeps until t runs again some tens of µs after t on a
 * virtual machine (the wake-up's cost), and everything it then does is
 * that late: a producer's event, a modelled service time. A punctual
 * waiter learns how late its wake-ups are, sleeps until that much before
 * t and spins on the clock for the rest. Spinning takes a CPU from the
 * system being measured, so it is capped: at most 'share' of one CPU per
 * second, at most ET_PUNCTUAL_SPIN_MAX per wait; beyond that it sleeps
 * as before. Never returns before t. One waiter per thread. */
#ifndef ET_PUNCTUAL_H
#define ET_PUNCTUAL_H

#include <stdint.h>

/* The longest spin of one wait: the wake-up lateness is learned up to
 * this, a longer one is a busy machine, not the timer. */
#define ET_PUNCTUAL_SPIN_MAX_NS 200000LL

/* The lateness assumed before any wake-up was seen. */
#define ET_PUNCTUAL_MARGIN_START_NS 50000LL

typedef enum {
    ET_PUNCTUAL_REAL = 0, /* et_clock_real_ns (with its skew) */
    ET_PUNCTUAL_MONO = 1  /* et_clock_mono_ns */
} et_punctual_clock_t;

typedef struct {
    et_punctual_clock_t clock;
    int64_t budget_ns;       /* spin allowed per second; 0: never spin */
    int64_t late_mean_ns;    /* smoothed lateness of a wake-up */
    int64_t late_dev_ns;     /* and its smoothed deviation */
    int64_t window_start_ns; /* this second of the budget, on 'clock' */
    int64_t spent_ns;        /* spun in it */
    uint64_t spins;          /* waits that spun */
    uint64_t spun_ns;        /* in all */
} et_punctual_t;

/* 'share' of one CPU, 0..1 (clamped), may be spent spinning. */
void et_punctual_init(et_punctual_t *self, et_punctual_clock_t clock,
                      double share);

/* How far before its target a wait would wake now: the learned lateness
 * plus its deviation, at most ET_PUNCTUAL_SPIN_MAX_NS; 0 when the budget
 * of the second that holds 'now_ns' cannot pay for it. */
int64_t et_punctual_margin(et_punctual_t *self, int64_t now_ns);

/* A wake-up planned for 'planned_ns' came at 'woke_ns': learn its
 * lateness (early wake-ups count as 0). */
void et_punctual_learn(et_punctual_t *self, int64_t planned_ns,
                       int64_t woke_ns);

/* 'ns' of spinning was spent at 'now_ns': charge it to the budget. */
void et_punctual_charge(et_punctual_t *self, int64_t now_ns, int64_t ns);

/* Wait until 'target_ns' on the waiter's clock. Returns 0 once it has
 * passed, -1 with errno EINTR when a signal cut the sleep short (the
 * caller looks at its stop flag and calls again). */
int et_punctual_wait(et_punctual_t *self, int64_t target_ns);

#endif
