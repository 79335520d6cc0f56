/* Unit tests for common/atomicfile: a file appears whole or not at all,
 * NAME.tmp never stays behind, the old file survives a failed write, and
 * each failure comes back as -1 with the errno that says why. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/atomicfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[] = "/tmp/et-test-atomicfile-XXXXXX";

static int
s_setup(void **state)
{
    (void)state;
    return mkdtemp(s_dir) ? 0 : -1;
}

static int
s_teardown(void **state)
{
    (void)state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/out.txt", s_dir);
    unlink(path);
    return rmdir(s_dir);
}

static int
s_write_text(FILE *file, const void *context)
{
    return fputs(context, file) == EOF ? -1 : 0;
}

/* Writes half, then fails the way a writer reports a reason. */
static int
s_write_half_then_fail(FILE *file, const void *context)
{
    (void)context;
    fputs("half", file);
    errno = ENOSPC;
    return -1;
}

/* Fails without saying why. */
static int
s_fail_silently(FILE *file, const void *context)
{
    (void)file;
    (void)context;
    return -1;
}

static char *
s_read(const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 256);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 255, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void
test_atomicfile_writes_then_replaces_leaving_no_tmp(void **state)
{
    (void)state;
    assert_int_equal(et_atomicfile_write(s_dir, "out.txt", s_write_text, "one"),
                     0);
    char *text = s_read("out.txt");
    assert_string_equal(text, "one");
    free(text);
    assert_int_equal(et_atomicfile_write(s_dir, "out.txt", s_write_text, "two"),
                     0);
    text = s_read("out.txt");
    assert_string_equal(text, "two");
    free(text);
    assert_null(s_read("out.txt.tmp"));
}

static void
test_atomicfile_failed_writer_keeps_the_old_file_and_its_errno(void **state)
{
    (void)state;
    assert_int_equal(et_atomicfile_write(s_dir, "out.txt", s_write_text, "old"),
                     0);
    errno = 0;
    assert_int_equal(
        et_atomicfile_write(s_dir, "out.txt", s_write_half_then_fail, NULL),
        -1);
    assert_int_equal(errno, ENOSPC);
    char *text = s_read("out.txt");
    assert_string_equal(text, "old");
    free(text);
    assert_null(s_read("out.txt.tmp"));
    // A writer that gives no reason: EIO, never a stale errno.
    errno = EACCES;
    assert_int_equal(
        et_atomicfile_write(s_dir, "out.txt", s_fail_silently, NULL), -1);
    assert_int_equal(errno, EIO);
    assert_null(s_read("out.txt.tmp"));
}

static void
test_atomicfile_reports_why_it_could_not_write(void **state)
{
    (void)state;
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/not/there", s_dir);
    errno = 0;
    assert_int_equal(et_atomicfile_write(missing, "out.txt", s_write_text, "x"),
                     -1);
    assert_int_equal(errno, ENOENT);
    char *long_name = malloc(PATH_MAX + 1);
    assert_non_null(long_name);
    memset(long_name, 'n', PATH_MAX);
    long_name[PATH_MAX] = '\0';
    assert_int_equal(et_atomicfile_write(s_dir, long_name, s_write_text, "x"),
                     -1);
    assert_int_equal(errno, ENAMETOOLONG);
    free(long_name);
    // The target is a directory: rename fails, nothing is left behind.
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", s_dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char inner[160];
    snprintf(inner, sizeof inner, "%s/x", sub);
    FILE *f = fopen(inner, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(et_atomicfile_write(s_dir, "sub", s_write_text, "x"), -1);
    assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
    assert_null(s_read("sub.tmp"));
    assert_int_equal(unlink(inner), 0);
    assert_int_equal(rmdir(sub), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomicfile_writes_then_replaces_leaving_no_tmp),
        cmocka_unit_test(
            test_atomicfile_failed_writer_keeps_the_old_file_and_its_errno),
        cmocka_unit_test(test_atomicfile_reports_why_it_could_not_write),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
