/* Unit tests for common/pathtrace: nothing is recorded or written before
 * it is opened; once opened, each point goes to DIR/PID.path with its
 * instant (a given one, now, or the thread's last wake-up), in order; a
 * flush starts again. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "common/pathtrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[64];
static char s_file[128];

static int
s_setup(void **state)
{
    (void)state;
    unsetenv("EVENTIDE_PATH_TRACE");
    strcpy(s_dir, "/tmp/et-test-pathtrace.XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_file, sizeof s_file, "%s/%ld.path", s_dir, (long)getpid());
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    unlink(s_file);
    rmdir(s_dir);
    return 0;
}

/* Reads up to 'max' "point t" lines of the file; returns how many. */
static int
s_read(unsigned *points, unsigned long long *times, int max)
{
    FILE *f = fopen(s_file, "r");
    if (!f)
        return -1;
    int n = 0;
    while (n < max && fscanf(f, "%u %llu", &points[n], &times[n]) == 2)
        n++;
    fclose(f);
    return n;
}

static void
test_pathtrace_records_in_order(void **state)
{
    (void)state;
    /* Unopened, with no EVENTIDE_PATH_TRACE: nothing is kept or written. */
    et_path_mark(ET_PATH_PRODUCER_WOKE);
    assert_int_equal(et_path_flush(), 0);
    assert_int_equal(access(s_file, F_OK), -1);

    assert_int_equal(et_path_open(s_dir), 0);
    uint64_t before = et_clock_mono_ns();
    et_path_woke();
    et_path_mark_at(ET_PATH_BROKER_EVENT, 42);
    et_path_mark(ET_PATH_BROKER_ADMITTED);
    et_path_mark_woke(ET_PATH_BROKER_WOKE);
    uint64_t after = et_clock_mono_ns();
    assert_int_equal(et_path_flush(), 0);

    unsigned points[8];
    unsigned long long times[8];
    assert_int_equal(s_read(points, times, 8), 3);
    assert_int_equal(points[0], ET_PATH_BROKER_EVENT);
    assert_int_equal(times[0], 42);
    assert_int_equal(points[1], ET_PATH_BROKER_ADMITTED);
    assert_true(times[1] >= before && times[1] <= after);
    /* The wake-up's instant, kept before the points marked after it. */
    assert_int_equal(points[2], ET_PATH_BROKER_WOKE);
    assert_true(times[2] >= before && times[2] <= times[1]);

    /* A flush starts again: the next one appends only what came after. */
    et_path_mark_at(ET_PATH_RESULT_SENT, 7);
    assert_int_equal(et_path_flush(), 0);
    assert_int_equal(s_read(points, times, 8), 4);
    assert_int_equal(points[3], ET_PATH_RESULT_SENT);
    assert_int_equal(times[3], 7);
}

static void
test_pathtrace_refuses_a_path_too_long(void **state)
{
    (void)state;
    char dir[5000];
    memset(dir, 'd', sizeof dir - 1);
    dir[sizeof dir - 1] = '\0';
    assert_int_equal(et_path_open(dir), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pathtrace_records_in_order,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pathtrace_refuses_a_path_too_long,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
