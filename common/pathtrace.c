/* Path trace: see pathtrace.h. */
#include "common/pathtrace.h"

#include "common/clock.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* 16 MB at most: a light-load run of minutes fits, and past it points
 * are counted, not kept. */
#define S_POINTS_MAX (1u << 20)

typedef struct {
    uint32_t point;
    uint64_t t_ns;
} s_entry_t;

enum { S_UNKNOWN, S_OFF, S_ON };

static atomic_int s_state = S_UNKNOWN;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_entry_t *s_entries;
static atomic_uint s_count;
static char s_path[PATH_MAX];
static _Thread_local uint64_t s_woke_ns;

static void
s_at_exit(void)
{
    (void)et_path_flush();
}

/* Caller holds s_lock. */
static int
s_open_locked(const char *dir)
{
    if (!s_entries) {
        s_entries = malloc(S_POINTS_MAX * sizeof *s_entries);
        if (!s_entries)
            return -1;
        atexit(s_at_exit);
    }
    int n = snprintf(s_path, sizeof s_path, "%s/%ld.path", dir, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof s_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    atomic_store(&s_count, 0);
    atomic_store(&s_state, S_ON);
    return 0;
}

int
et_path_open(const char *dir)
{
    pthread_mutex_lock(&s_lock);
    int rc = s_open_locked(dir);
    pthread_mutex_unlock(&s_lock);
    return rc;
}

/* The first point decides, from the environment. */
static int
s_on(void)
{
    int state = atomic_load_explicit(&s_state, memory_order_acquire);
    if (state != S_UNKNOWN)
        return state == S_ON;
    pthread_mutex_lock(&s_lock);
    if (atomic_load(&s_state) == S_UNKNOWN) {
        const char *dir = getenv("EVENTIDE_PATH_TRACE");
        if (!dir || !*dir || s_open_locked(dir) != 0)
            atomic_store(&s_state, S_OFF);
    }
    pthread_mutex_unlock(&s_lock);
    return atomic_load(&s_state) == S_ON;
}

/* Only once s_on() said so. */
static void
s_record(et_path_point_t point, uint64_t t_ns)
{
    unsigned i = atomic_fetch_add_explicit(&s_count, 1, memory_order_relaxed);
    if (i < S_POINTS_MAX)
        s_entries[i] = (s_entry_t){.point = (uint32_t)point, .t_ns = t_ns};
}

void
et_path_mark_at(et_path_point_t point, uint64_t t_ns)
{
    if (s_on())
        s_record(point, t_ns);
}

void
et_path_mark(et_path_point_t point)
{
    if (s_on())
        s_record(point, et_clock_mono_ns());
}

void
et_path_woke(void)
{
    if (s_on())
        s_woke_ns = et_clock_mono_ns();
}

void
et_path_mark_woke(et_path_point_t point)
{
    if (s_on() && s_woke_ns != 0)
        s_record(point, s_woke_ns);
}

int
et_path_flush(void)
{
    if (atomic_load(&s_state) != S_ON)
        return 0;
    pthread_mutex_lock(&s_lock);
    unsigned n = atomic_exchange(&s_count, 0);
    unsigned kept = n < S_POINTS_MAX ? n : S_POINTS_MAX;
    FILE *f = fopen(s_path, "a");
    int rc = f ? 0 : -1;
    for (unsigned i = 0; f && i < kept; i++)
        if (fprintf(f, "%u %llu\n", (unsigned)s_entries[i].point,
                    (unsigned long long)s_entries[i].t_ns) < 0)
            rc = -1;
    if (f && n > kept &&
        fprintf(f, "# %u more points not kept\n", n - kept) < 0)
        rc = -1;
    if (f && fclose(f) != 0)
        rc = -1;
    pthread_mutex_unlock(&s_lock);
    return rc;
}
