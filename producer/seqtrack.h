/* Duplicates and gaps per device: each device numbers its readings 0, 1,
 * 2, ...; QoS 1 delivers every one at least once, so after a broker
 * restart some may come twice, and a device that published while nobody
 * held its session may leave holes. A number seen before is a duplicate;
 * the gaps are the numbers from the device's first to its highest (or, once
 * its end marker said how many it published, from 0 to count - 1) never
 * seen. Not thread-safe. */
#ifndef ET_SEQTRACK_H
#define ET_SEQTRACK_H

#include <stddef.h>
#include <stdint.h>

/* Most devices tracked; a reading from one more is refused (ENOSPC). */
#define ET_SEQTRACK_DEVICES_MAX 4096
/* How far behind a device's highest number a duplicate is still told from
 * a late arrival; anything older is taken for a duplicate. */
#define ET_SEQTRACK_WINDOW 4096

typedef enum {
    ET_SEQTRACK_NEW = 0,      /* first time seen: send it */
    ET_SEQTRACK_DUPLICATE = 1 /* seen before (or too old to tell): skip */
} et_seqtrack_verdict_t;

typedef struct et_seqtrack_t et_seqtrack_t;

/* New tracker. NULL with errno ENOMEM. */
et_seqtrack_t *et_seqtrack_new(void);

/* Destroy *self_p and set it to NULL. NULL-safe. */
void et_seqtrack_destroy(et_seqtrack_t **self_p);

/* Reading 'seq' of 'device' (1..255 bytes). Returns an
 * et_seqtrack_verdict_t, or -1 with errno ENOSPC (a device beyond
 * ET_SEQTRACK_DEVICES_MAX), EINVAL (a bad name) or ENOMEM. */
int et_seqtrack_see(et_seqtrack_t *self, const char *device, uint64_t seq);

/* The end marker of 'device': it published 'count' readings. A second
 * marker with another count replaces the first. 0 or -1 as
 * et_seqtrack_see. */
int et_seqtrack_end(et_seqtrack_t *self, const char *device, uint64_t count);

/* Numbers never seen, over every device (see the top of this file). */
uint64_t et_seqtrack_gaps(const et_seqtrack_t *self);

/* Readings seen once, over every device. */
uint64_t et_seqtrack_unique(const et_seqtrack_t *self);

/* 1 when every device seen (at least one) sent its end marker, else 0. */
int et_seqtrack_all_ended(const et_seqtrack_t *self);

/* 1 when every device seen (at least one) sent its end marker and has no
 * gap left, else 0. */
int et_seqtrack_complete(const et_seqtrack_t *self);

/* Devices that sent their end marker, and devices seen at all. */
size_t et_seqtrack_ended(const et_seqtrack_t *self);
size_t et_seqtrack_devices(const et_seqtrack_t *self);

#endif
