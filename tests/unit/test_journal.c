/* Unit tests for collector/journal: entries written come back in order
 * with their frames and times; a resumed journal keeps its run id and
 * start time and appends after its last entry; a last entry cut short is
 * discarded and cut off; a corrupt entry or header is an error that says
 * where; an empty file starts a new journal. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "collector/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char path[64];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->path, sizeof f->path, "/tmp/et-journal-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0)
        return -1;
    close(fd);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    unlink(f->path);
    free(f);
    return 0;
}

/* What a replay saw. */
typedef struct {
    size_t n;
    uint8_t kind[16];
    uint64_t mono[16];
    char text[16][32];
    size_t frames[16];
    int fail_at; /* -1: never */
} s_seen_t;

static int
s_collect(void *arg, const et_journal_entry_t *e)
{
    s_seen_t *seen = arg;
    if ((int)seen->n == seen->fail_at) {
        errno = ENOMEM;
        return -1;
    }
    assert_true(seen->n < 16);
    seen->kind[seen->n] = e->kind;
    seen->mono[seen->n] = e->mono_ns;
    seen->frames[seen->n] = e->n_frames;
    seen->text[seen->n][0] = '\0';
    for (int i = 0; i < e->n_frames; i++)
        strncat(seen->text[seen->n], e->frame[i], e->size[i]);
    seen->n++;
    return 0;
}

static void
s_append(et_journal_t *j, uint64_t mono, const char *a, const char *b)
{
    et_journal_entry_t e = {.kind = ET_JOURNAL_MESSAGE,
                            .n_frames = 2,
                            .mono_ns = mono,
                            .frame = {a, b},
                            .size = {strlen(a), strlen(b)}};
    assert_int_equal(et_journal_append(j, &e), 0);
}

static et_journal_t *
s_open(const char *path, int resume, et_journal_header_t *h, int *resumed)
{
    char why[256];
    et_journal_t *j =
        et_journal_open(path, resume, h, resumed, why, sizeof why);
    if (!j)
        fail_msg("open: %s", why);
    return j;
}

static void
s_write_three(const char *path)
{
    et_journal_header_t h = {.run_id = "run-1", .started_real_ns = 1234};
    int resumed = 1;
    et_journal_t *j = s_open(path, 0, &h, &resumed);
    assert_int_equal(resumed, 0);
    s_append(j, 10, "h1", "body-one");
    s_append(j, 20, "h2", "body-two");
    s_append(j, 30, "h3", "body-three");
    et_journal_destroy(&j);
    assert_null(j);
}

static void
test_journal_replays_what_was_written_and_appends_after_it(void **state)
{
    s_fixture_t *f = *state;
    s_write_three(f->path);
    et_journal_header_t h = {.run_id = "other", .started_real_ns = 99};
    int resumed = 0;
    et_journal_t *j = s_open(f->path, 1, &h, &resumed);
    assert_int_equal(resumed, 1);
    assert_string_equal(h.run_id, "run-1");
    assert_true(h.started_real_ns == 1234);
    s_seen_t seen = {.fail_at = -1};
    uint64_t entries = 0, cut = 0;
    char why[256];
    assert_int_equal(
        et_journal_replay(j, s_collect, &seen, &entries, &cut, why, sizeof why),
        0);
    assert_true(entries == 3 && cut == 0);
    assert_string_equal(seen.text[0], "h1body-one");
    assert_string_equal(seen.text[2], "h3body-three");
    assert_true(seen.mono[1] == 20);
    et_journal_entry_t mark = {.kind = ET_JOURNAL_RESUMED, .mono_ns = 40};
    assert_int_equal(et_journal_append(j, &mark), 0);
    s_append(j, 50, "h4", "body-four");
    et_journal_destroy(&j);

    j = s_open(f->path, 1, &h, &resumed);
    s_seen_t again = {.fail_at = -1};
    assert_int_equal(et_journal_replay(j, s_collect, &again, &entries, &cut,
                                       why, sizeof why),
                     0);
    assert_true(entries == 5);
    assert_int_equal(again.kind[3], ET_JOURNAL_RESUMED);
    assert_int_equal(again.frames[3], 0);
    assert_string_equal(again.text[4], "h4body-four");
    et_journal_destroy(&j);
}

static void
test_journal_cuts_off_a_last_entry_cut_short(void **state)
{
    s_fixture_t *f = *state;
    s_write_three(f->path);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    /* The kill came five bytes before the end of the last entry. */
    assert_int_equal(truncate(f->path, st.st_size - 5), 0);
    et_journal_header_t h;
    int resumed = 0;
    et_journal_t *j = s_open(f->path, 1, &h, &resumed);
    s_seen_t seen = {.fail_at = -1};
    uint64_t entries = 0, cut = 0;
    char why[256];
    assert_int_equal(
        et_journal_replay(j, s_collect, &seen, &entries, &cut, why, sizeof why),
        0);
    assert_true(entries == 2);
    uint64_t last_len = 32 + strlen("h3body-three");
    assert_true(cut == last_len - 5);
    s_append(j, 60, "h5", "after");
    et_journal_destroy(&j);
    /* Cut short inside an entry's head too. */
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(truncate(f->path, st.st_size - (off_t)(32 + 7 - 10)), 0);
    j = s_open(f->path, 1, &h, &resumed);
    s_seen_t seen2 = {.fail_at = -1};
    assert_int_equal(et_journal_replay(j, s_collect, &seen2, &entries, &cut,
                                       why, sizeof why),
                     0);
    assert_true(entries == 2 && cut == 10);
    et_journal_destroy(&j);
}

static void
s_flip(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void
test_journal_refuses_a_corrupt_entry_and_says_where(void **state)
{
    s_fixture_t *f = *state;
    s_write_three(f->path);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    off_t first =
        st.st_size - (off_t)(3 * 32 + strlen("h1body-one") +
                             strlen("h2body-two") + strlen("h3body-three"));
    /* A byte of the second entry's body: its checksum fails. */
    s_flip(f->path, first + 32 + 10 + 32 + 3);
    et_journal_header_t h;
    int resumed = 0;
    et_journal_t *j = s_open(f->path, 1, &h, &resumed);
    s_seen_t seen = {.fail_at = -1};
    uint64_t entries = 0, cut = 0;
    char why[256];
    errno = 0;
    assert_int_equal(
        et_journal_replay(j, s_collect, &seen, &entries, &cut, why, sizeof why),
        -1);
    assert_int_equal(errno, EPROTO);
    assert_non_null(strstr(why, "entry 2"));
    assert_non_null(strstr(why, "corrupt"));
    et_journal_destroy(&j);

    /* A size beyond any frame: refused before anything is allocated. */
    s_write_three(f->path);
    int fd = open(f->path, O_RDWR);
    uint32_t huge = 0xffffffffu;
    assert_int_equal(pwrite(fd, &huge, 4, first + 16), 4);
    close(fd);
    j = s_open(f->path, 1, &h, &resumed);
    errno = 0;
    assert_int_equal(
        et_journal_replay(j, s_collect, &seen, &entries, &cut, why, sizeof why),
        -1);
    assert_int_equal(errno, EPROTO);
    assert_non_null(strstr(why, "entry 1"));
    et_journal_destroy(&j);
}

static void
test_journal_refuses_a_file_that_is_not_one(void **state)
{
    s_fixture_t *f = *state;
    s_write_three(f->path);
    s_flip(f->path, 20); /* inside the run id: the header's check fails */
    et_journal_header_t h;
    int resumed = 0;
    char why[256];
    errno = 0;
    assert_null(et_journal_open(f->path, 1, &h, &resumed, why, sizeof why));
    assert_int_equal(errno, EPROTO);
    assert_non_null(strstr(why, "not an Eventide collector journal"));
    FILE *file = fopen(f->path, "w");
    fputs("{\"this\": \"is json, not a journal, but long enough to hold a "
          "header of the size the journal's header has, more or less, if "
          "we keep on writing for a while longer than this: here, more, "
          "and more, and more, and more, and more text, and more text, "
          "and then some more text to pass the size of three hundred "
          "bytes; nearly there, a few more words, and we are done.\"}",
          file);
    fclose(file);
    errno = 0;
    assert_null(et_journal_open(f->path, 1, &h, &resumed, why, sizeof why));
    assert_int_equal(errno, EPROTO);
}

/* Empty (or absent, or a header cut short): a new journal; without
 * --resume, a journal that exists is started again. */
static void
test_journal_starts_new_when_empty_or_not_resuming(void **state)
{
    s_fixture_t *f = *state;
    et_journal_header_t h = {.run_id = "fresh", .started_real_ns = 7};
    int resumed = 1;
    et_journal_t *j = s_open(f->path, 1, &h, &resumed);
    assert_int_equal(resumed, 0);
    et_journal_destroy(&j);
    assert_int_equal(truncate(f->path, 10), 0);
    j = s_open(f->path, 1, &h, &resumed);
    assert_int_equal(resumed, 0);
    et_journal_destroy(&j);
    s_write_three(f->path);
    et_journal_header_t h2 = {.run_id = "new", .started_real_ns = 8};
    j = s_open(f->path, 0, &h2, &resumed);
    assert_int_equal(resumed, 0);
    s_seen_t seen = {.fail_at = -1};
    uint64_t entries = 9, cut = 9;
    char why[256];
    assert_int_equal(
        et_journal_replay(j, s_collect, &seen, &entries, &cut, why, sizeof why),
        0);
    assert_true(entries == 0 && cut == 0);
    et_journal_destroy(&j);
    j = s_open(f->path, 1, &h, &resumed);
    assert_int_equal(resumed, 1);
    assert_string_equal(h.run_id, "new");
    et_journal_destroy(&j);
}

static void
test_journal_replay_stops_when_the_handler_fails(void **state)
{
    s_fixture_t *f = *state;
    s_write_three(f->path);
    et_journal_header_t h;
    int resumed = 0;
    et_journal_t *j = s_open(f->path, 1, &h, &resumed);
    s_seen_t seen = {.fail_at = 1};
    uint64_t entries = 0, cut = 0;
    char why[256];
    errno = 0;
    assert_int_equal(
        et_journal_replay(j, s_collect, &seen, &entries, &cut, why, sizeof why),
        -1);
    assert_int_equal(errno, ENOMEM);
    assert_true(entries == 1);
    et_journal_destroy(&j);
    et_journal_destroy(&j);
}

static void
test_journal_append_refuses_entries_out_of_bounds(void **state)
{
    s_fixture_t *f = *state;
    et_journal_header_t h = {.run_id = "r"};
    int resumed = 0;
    et_journal_t *j = s_open(f->path, 0, &h, &resumed);
    uint64_t size = et_journal_size(j);
    et_journal_entry_t e = {.kind = 9, .n_frames = 0};
    errno = 0;
    assert_int_equal(et_journal_append(j, &e), -1);
    assert_int_equal(errno, EINVAL);
    e.kind = ET_JOURNAL_MESSAGE;
    e.n_frames = ET_JOURNAL_FRAMES_MAX + 1;
    assert_int_equal(et_journal_append(j, &e), -1);
    e.n_frames = 1;
    e.frame[0] = "x";
    e.size[0] = (size_t)ET_JOURNAL_FRAME_MAX + 1;
    assert_int_equal(et_journal_append(j, &e), -1);
    assert_true(et_journal_size(j) == size);
    /* Past its bound: EFBIG, nothing written; within it, written. */
    e.size[0] = 1;
    et_journal_set_max(j, size + 32);
    errno = 0;
    assert_int_equal(et_journal_append(j, &e), -1);
    assert_int_equal(errno, EFBIG);
    assert_true(et_journal_size(j) == size);
    et_journal_set_max(j, size + 33);
    assert_int_equal(et_journal_append(j, &e), 0);
    assert_true(et_journal_size(j) == size + 33);
    et_journal_destroy(&j);
}

/* A journal given up (full, or a write failed) is never resumed from: a
 * resume fails and says why; without resume it starts anew. */
static void
test_journal_abandoned_is_not_resumed(void **state)
{
    s_fixture_t *f = *state;
    s_write_three(f->path);
    et_journal_header_t h;
    int resumed = 0;
    et_journal_t *j = s_open(f->path, 1, &h, &resumed);
    assert_int_equal(resumed, 1);
    assert_int_equal(et_journal_abandon(j, 7), 0);
    assert_true(et_journal_size(j) == 16);
    et_journal_destroy(&j);
    char why[256] = "";
    errno = 0;
    assert_null(et_journal_open(f->path, 1, &h, &resumed, why, sizeof why));
    assert_int_equal(errno, ESTALE);
    /* The generation it was given up in, for the collector's rule. */
    assert_true(h.generation == 7);
    assert_non_null(strstr(why, "cannot be resumed"));
    et_journal_header_t h2 = {.run_id = "anew", .started_real_ns = 5};
    j = s_open(f->path, 0, &h2, &resumed);
    assert_int_equal(resumed, 0);
    et_journal_destroy(&j);
    j = s_open(f->path, 1, &h2, &resumed);
    assert_int_equal(resumed, 1);
    assert_string_equal(h2.run_id, "anew");
    et_journal_destroy(&j);
}

/* A journal started again holds only its new header (a new generation),
 * in place of the old file; appends and a replay go on from there. */
static void
test_journal_restart_empties_it_in_a_new_generation(void **state)
{
    s_fixture_t *f = *state;
    s_write_three(f->path);
    et_journal_header_t h;
    int resumed = 0;
    et_journal_t *j = s_open(f->path, 1, &h, &resumed);
    uint64_t entries = 0, discarded = 0;
    char why[256];
    s_seen_t old = {.fail_at = -1};
    assert_int_equal(et_journal_replay(j, s_collect, &old, &entries, &discarded,
                                       why, sizeof why),
                     0);
    assert_true(entries == 3);
    uint64_t full = et_journal_size(j);
    et_journal_header_t next = h;
    next.generation = h.generation + 1;
    assert_int_equal(et_journal_restart(j, &next), 0);
    assert_true(et_journal_size(j) < full);
    char *frames[2] = {"a", "bc"};
    et_journal_entry_t e = {.kind = ET_JOURNAL_MESSAGE, .n_frames = 2};
    for (int i = 0; i < 2; i++) {
        e.frame[i] = frames[i];
        e.size[i] = strlen(frames[i]);
    }
    assert_int_equal(et_journal_append(j, &e), 0);
    et_journal_destroy(&j);
    et_journal_header_t again;
    j = s_open(f->path, 1, &again, &resumed);
    assert_int_equal(resumed, 1);
    assert_true(again.generation == h.generation + 1);
    assert_string_equal(again.run_id, h.run_id);
    s_seen_t seen = {.fail_at = -1};
    assert_int_equal(et_journal_replay(j, s_collect, &seen, &entries,
                                       &discarded, why, sizeof why),
                     0);
    assert_true(entries == 1);
    assert_string_equal(seen.text[0], "abc");
    et_journal_destroy(&j);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    assert_int_equal(access(tmp, F_OK), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_journal_replays_what_was_written_and_appends_after_it, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_cuts_off_a_last_entry_cut_short, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_refuses_a_corrupt_entry_and_says_where, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_refuses_a_file_that_is_not_one, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_starts_new_when_empty_or_not_resuming, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_replay_stops_when_the_handler_fails, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_append_refuses_entries_out_of_bounds, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_journal_abandoned_is_not_resumed,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_restart_empties_it_in_a_new_generation, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
