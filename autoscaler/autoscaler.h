/* The autoscaler process: the SUB loop over the broker's STATS snapshots,
 * one policy decision per function per tick, and the scale command run
 * asynchronously when a function's desired replica count changes. Its
 * configuration is autoscaler/config.h. */
#ifndef ET_AUTOSCALER_H
#define ET_AUTOSCALER_H

#include "autoscaler/config.h"

#include <signal.h>

typedef struct et_autoscaler_t et_autoscaler_t;

/* Open the decisions file, connect the SUB socket. Returns NULL (errno
 * set, reason logged) on failure. Copies 'config'. */
et_autoscaler_t *et_autoscaler_new(const et_autoscaler_config_t *config);

/* Destroy *self_p and set it to NULL. Scale commands still running are
 * left to finish (they are logged). Does nothing if *self_p is NULL. */
void et_autoscaler_destroy(et_autoscaler_t **self_p);

/* Decide every tick until *stop becomes non-zero. Returns 0, or -1 on a
 * runtime error (logged). */
int et_autoscaler_run(et_autoscaler_t *self, const volatile sig_atomic_t *stop);

#endif
