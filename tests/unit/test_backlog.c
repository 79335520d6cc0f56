/* Unit tests for broker/backlog: FIFO order across memory and the spill
 * file, new messages kept behind the file, the memory and file limits,
 * drops counted (no file, file full, file that cannot be written or read
 * back), replay that stops where the sender does and resumes there. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/backlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bookkeeping a message costs in memory beyond its body: the test learns
 * it from the backlog itself rather than from its private struct. */
static uint64_t
s_node_overhead(void)
{
    et_backlog_config_t cfg = {.memory_max = 1 << 20};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    assert_int_equal(et_backlog_push(b, 1, "", 0, 0), 0);
    uint64_t overhead = et_backlog_stats(b).memory_bytes;
    et_backlog_destroy(&b);
    return overhead;
}

/* Same for a message's header in the file. */
static uint64_t
s_spill_overhead(const char *path)
{
    et_backlog_config_t cfg = {
        .memory_max = 0, .spill_path = path, .spill_max = 1 << 20};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    assert_int_equal(et_backlog_push(b, 1, "", 0, 0), 0);
    uint64_t overhead = et_backlog_stats(b).spill_bytes;
    et_backlog_destroy(&b);
    return overhead;
}

typedef struct {
    char dir[64];
    char path[128];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/et-backlog.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/collector.spill", f->dir);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    (void)unlink(f->path);
    (void)rmdir(f->dir);
    free(f);
    return 0;
}

/* Message i: type i % 200, i + 1 records, a body of 'size' bytes that
 * says i. */
static void
s_body(unsigned i, unsigned char *buf, size_t size)
{
    for (size_t k = 0; k < size; k++)
        buf[k] = (unsigned char)(i * 31 + k);
}

static int
s_push(et_backlog_t *b, unsigned i, size_t size)
{
    unsigned char buf[4096];
    assert_true(size <= sizeof buf);
    s_body(i, buf, size);
    return et_backlog_push(b, (uint8_t)(i % 200), buf, size, i + 1);
}

/* A sender that checks each message is the next one expected, and says
 * EAGAIN once 'budget' messages went (budget < 0: never). */
typedef struct {
    unsigned next;
    const size_t *sizes; /* size of message i */
    long budget;
} s_sink_t;

static int
s_send(void *arg, uint8_t type, const void *body, size_t size)
{
    s_sink_t *sink = arg;
    if (sink->budget == 0) {
        errno = EAGAIN;
        return -1;
    }
    unsigned char want[4096];
    assert_int_equal(type, sink->next % 200);
    assert_int_equal(size, sink->sizes[sink->next]);
    s_body(sink->next, want, size);
    if (size > 0)
        assert_memory_equal(body, want, size);
    sink->next++;
    if (sink->budget > 0)
        sink->budget--;
    return 0;
}

static off_t
s_file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void
test_backlog_keeps_order_across_memory_and_spill(void **state)
{
    s_fixture_t *f = *state;
    size_t sizes[40];
    for (unsigned i = 0; i < 40; i++)
        sizes[i] = (i * 97) % 1500;
    uint64_t mem_need = 0;
    for (unsigned i = 0; i < 5; i++)
        mem_need += s_node_overhead() + sizes[i];
    /* Room for exactly the first five in memory. */
    et_backlog_config_t cfg = {
        .memory_max = mem_need, .spill_path = f->path, .spill_max = 1 << 20};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    assert_true(et_backlog_empty(b));
    uint64_t records = 0;
    for (unsigned i = 0; i < 40; i++) {
        assert_int_equal(s_push(b, i, sizes[i]), 0);
        records += i + 1;
    }
    et_backlog_stats_t s = et_backlog_stats(b);
    assert_int_equal(s.messages, 40);
    assert_int_equal(s.records, records);
    assert_int_equal(s.memory_bytes, mem_need);
    assert_int_equal(s.spilled_messages, 35);
    assert_int_equal(s.dropped_messages, 0);
    assert_true(s.spill_bytes > 0);
    assert_int_equal(s_file_size(f->path), (off_t)s.spill_bytes);

    s_sink_t sink = {.sizes = sizes, .budget = -1};
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 40);
    assert_int_equal(sink.next, 40);
    assert_true(et_backlog_empty(b));
    s = et_backlog_stats(b);
    assert_int_equal(s.messages + s.records + s.memory_bytes + s.spill_bytes,
                     0);
    /* Emptied, the file gives its space back. */
    assert_int_equal(s_file_size(f->path), 0);
    et_backlog_destroy(&b);
    assert_null(b);
    et_backlog_destroy(&b); /* idempotent */
    /* The file is left empty. */
    assert_int_equal(s_file_size(f->path), 0);
}

static void
test_backlog_new_messages_wait_behind_the_spill(void **state)
{
    s_fixture_t *f = *state;
    size_t sizes[30];
    for (unsigned i = 0; i < 30; i++)
        sizes[i] = 100;
    et_backlog_config_t cfg = {.memory_max = 3 * (s_node_overhead() + 100),
                               .spill_path = f->path,
                               .spill_max = 1 << 20};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(s_push(b, i, sizes[i]), 0);
    /* Memory empties, the file still holds 7: what comes next must not
     * overtake them, though memory has room again. */
    s_sink_t sink = {.sizes = sizes, .budget = 4};
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 4);
    assert_int_equal(et_backlog_stats(b).memory_bytes, 0);
    for (unsigned i = 10; i < 20; i++)
        assert_int_equal(s_push(b, i, sizes[i]), 0);
    assert_int_equal(et_backlog_stats(b).memory_bytes, 0);
    sink.budget = -1;
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 16);
    assert_int_equal(sink.next, 20);
    /* The file is empty again: memory is used first once more. */
    for (unsigned i = 20; i < 30; i++)
        assert_int_equal(s_push(b, i, sizes[i]), 0);
    et_backlog_stats_t s = et_backlog_stats(b);
    assert_int_equal(s.memory_bytes, 3 * (s_node_overhead() + 100));
    assert_int_equal(s.messages, 10);
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 10);
    assert_int_equal(sink.next, 30);
    assert_int_equal(et_backlog_stats(b).dropped_messages, 0);
    et_backlog_destroy(&b);
}

static void
test_backlog_replay_resumes_where_the_sender_stopped(void **state)
{
    s_fixture_t *f = *state;
    size_t sizes[25];
    for (unsigned i = 0; i < 25; i++)
        sizes[i] = 10 + i;
    et_backlog_config_t cfg = {
        .memory_max = 1000, .spill_path = f->path, .spill_max = 1 << 20};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    for (unsigned i = 0; i < 25; i++)
        assert_int_equal(s_push(b, i, sizes[i]), 0);
    assert_true(et_backlog_stats(b).spilled_messages > 0);
    /* Three at a time: the one refused stays first, in memory and in the
     * file alike. */
    s_sink_t sink = {.sizes = sizes};
    size_t total = 0;
    for (int pass = 0; pass < 20 && !et_backlog_empty(b); pass++) {
        sink.budget = 3;
        size_t sent = et_backlog_flush(b, s_send, &sink);
        assert_true(sent <= 3);
        total += sent;
        assert_int_equal(et_backlog_stats(b).messages, 25 - total);
    }
    assert_int_equal(total, 25);
    assert_int_equal(sink.next, 25);
    /* A sender that refuses at once leaves an empty backlog empty. */
    sink.budget = 0;
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 0);
    et_backlog_destroy(&b);
}

static void
test_backlog_drops_and_counts_when_memory_is_full_without_spill(void **state)
{
    (void)state;
    size_t sizes[8];
    for (unsigned i = 0; i < 8; i++)
        sizes[i] = 50;
    et_backlog_config_t cfg = {.memory_max = 4 * (s_node_overhead() + 50)};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(s_push(b, i, sizes[i]), 0);
    errno = 0;
    assert_int_equal(s_push(b, 4, sizes[4]), -1);
    assert_int_equal(errno, ENOBUFS);
    assert_int_equal(s_push(b, 5, sizes[5]), -1);
    et_backlog_stats_t s = et_backlog_stats(b);
    assert_int_equal(s.messages, 4);
    assert_int_equal(s.dropped_messages, 2);
    assert_int_equal(s.dropped_records, 5 + 6);
    assert_int_equal(s.spilled_messages, 0);
    /* What was kept still goes out, in order. */
    s_sink_t sink = {.sizes = sizes, .budget = -1};
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 4);
    assert_int_equal(sink.next, 4);
    et_backlog_destroy(&b);
}

static void
test_backlog_spill_limit_counts_what_does_not_fit(void **state)
{
    s_fixture_t *f = *state;
    uint64_t per = s_spill_overhead(f->path) + 200;
    size_t sizes[10];
    for (unsigned i = 0; i < 10; i++)
        sizes[i] = 200;
    /* Memory 0: everything goes to the file, which holds three. */
    et_backlog_config_t cfg = {
        .memory_max = 0, .spill_path = f->path, .spill_max = 3 * per + 10};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(s_push(b, i, sizes[i]), 0);
    errno = 0;
    assert_int_equal(s_push(b, 3, sizes[3]), -1);
    assert_int_equal(errno, ENOBUFS);
    /* Larger than the file could ever hold. */
    unsigned char big[4096] = {0};
    errno = 0;
    assert_int_equal(et_backlog_push(b, 9, big, sizeof big, 7), -1);
    assert_int_equal(errno, EMSGSIZE);
    et_backlog_stats_t s = et_backlog_stats(b);
    assert_int_equal(s.spill_bytes, 3 * per);
    assert_int_equal(s.dropped_messages, 2);
    assert_int_equal(s.dropped_records, 4 + 7);
    /* Two sent: room for two more, kept behind the one left. */
    s_sink_t sink = {.sizes = sizes, .budget = 2};
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 2);
    sink.next = 2;
    assert_int_equal(s_push(b, 3, sizes[3]), 0);
    assert_int_equal(s_push(b, 4, sizes[4]), 0);
    assert_int_equal(s_push(b, 5, sizes[5]), -1);
    sink.budget = -1;
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 3);
    assert_int_equal(sink.next, 5);
    assert_int_equal(et_backlog_stats(b).dropped_messages, 3);
    et_backlog_destroy(&b);
}

static void
test_backlog_spill_that_cannot_be_written_is_counted(void **state)
{
    s_fixture_t *f = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/no/such/dir/collector.spill", f->dir);
    size_t sizes[4] = {10, 10, 10, 10};
    et_backlog_config_t cfg = {.memory_max = s_node_overhead() + 10,
                               .spill_path = path,
                               .spill_max = 1 << 20};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    assert_int_equal(s_push(b, 0, sizes[0]), 0);
    errno = 0;
    assert_int_equal(s_push(b, 1, sizes[1]), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(s_push(b, 2, sizes[2]), -1);
    et_backlog_stats_t s = et_backlog_stats(b);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.dropped_messages, 2);
    assert_int_equal(s.dropped_records, 2 + 3);
    et_backlog_destroy(&b);

    /* A device that is always full: opened, but every write fails. */
    if (access("/dev/full", W_OK) != 0)
        return;
    cfg.spill_path = "/dev/full";
    b = et_backlog_new(&cfg);
    assert_non_null(b);
    assert_int_equal(s_push(b, 0, sizes[0]), 0);
    errno = 0;
    assert_int_equal(s_push(b, 1, sizes[1]), -1);
    assert_int_equal(errno, ENOSPC);
    s = et_backlog_stats(b);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.spilled_messages, 0);
    assert_int_equal(s.dropped_records, 2);
    s_sink_t sink = {.sizes = sizes, .budget = -1};
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 1);
    et_backlog_destroy(&b);
    assert_int_equal(access("/dev/full", W_OK), 0);
}

static void
test_backlog_spill_that_does_not_read_back_is_counted(void **state)
{
    s_fixture_t *f = *state;
    size_t sizes[12];
    for (unsigned i = 0; i < 12; i++)
        sizes[i] = 64;
    et_backlog_config_t cfg = {.memory_max = 2 * (s_node_overhead() + 64),
                               .spill_path = f->path,
                               .spill_max = 1 << 20};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    uint64_t spilled_records = 0;
    for (unsigned i = 0; i < 12; i++) {
        assert_int_equal(s_push(b, i, sizes[i]), 0);
        if (i >= 2)
            spilled_records += i + 1;
    }
    /* Someone scribbles over the file's first header. */
    int fd = open(f->path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8);
    close(fd);
    s_sink_t sink = {.sizes = sizes, .budget = -1};
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 2);
    et_backlog_stats_t s = et_backlog_stats(b);
    assert_true(et_backlog_empty(b));
    assert_int_equal(s.dropped_messages, 10);
    assert_int_equal(s.dropped_records, spilled_records);
    /* And it is usable again. */
    sink.next = 12;
    size_t more[13] = {[12] = 64};
    sink.sizes = more;
    assert_int_equal(s_push(b, 12, 64), 0);
    assert_int_equal(et_backlog_flush(b, s_send, &sink), 1);
    et_backlog_destroy(&b);
}

static void
test_backlog_drop_all_counts_everything_held(void **state)
{
    s_fixture_t *f = *state;
    et_backlog_config_t cfg = {
        .memory_max = 500, .spill_path = f->path, .spill_max = 1 << 20};
    et_backlog_t *b = et_backlog_new(&cfg);
    assert_non_null(b);
    uint64_t records = 0;
    for (unsigned i = 0; i < 20; i++) {
        assert_int_equal(s_push(b, i, 100), 0);
        records += i + 1;
    }
    assert_true(et_backlog_stats(b).spilled_messages > 0);
    et_backlog_drop_all(b);
    et_backlog_stats_t s = et_backlog_stats(b);
    assert_true(et_backlog_empty(b));
    assert_int_equal(s.dropped_messages, 20);
    assert_int_equal(s.dropped_records, records);
    assert_int_equal(s.memory_bytes + s.spill_bytes, 0);
    et_backlog_destroy(&b);
}

static void
test_backlog_new_rejects_a_path_too_long(void **state)
{
    (void)state;
    char path[PATH_MAX + 10];
    memset(path, 'a', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    et_backlog_config_t cfg = {.memory_max = 10, .spill_path = path};
    errno = 0;
    assert_null(et_backlog_new(&cfg));
    assert_int_equal(errno, EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_backlog_keeps_order_across_memory_and_spill, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_backlog_new_messages_wait_behind_the_spill, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_backlog_replay_resumes_where_the_sender_stopped, s_setup,
            s_teardown),
        cmocka_unit_test(
            test_backlog_drops_and_counts_when_memory_is_full_without_spill),
        cmocka_unit_test_setup_teardown(
            test_backlog_spill_limit_counts_what_does_not_fit, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_backlog_spill_that_cannot_be_written_is_counted, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_backlog_spill_that_does_not_read_back_is_counted, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_backlog_drop_all_counts_everything_held, s_setup, s_teardown),
        cmocka_unit_test(test_backlog_new_rejects_a_path_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
