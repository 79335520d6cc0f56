/* Unit tests for report/csvfile: the report's CSV inputs opened only as
 * bounded regular files, read in bounded lines without NUL bytes, split
 * at commas with a field limit. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "tmpdir_fixture.h"

#include "report/csvfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[] = "/tmp/et-csvfile.XXXXXX";

static void
s_write(const char *name, const char *bytes, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int
s_setup(void **state)
{
    (void)state;
    strcpy(s_dir, "/tmp/et-csvfile.XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int
s_teardown(void **state)
{
    (void)state;
    return et_test_rm_tree(s_dir);
}

static void
test_open_takes_only_bounded_regular_files(void **state)
{
    (void)state;
    char why[128];
    s_write("ok.csv", "a,b\n", 4);
    FILE *f = et_csvfile_open(s_dir, "ok.csv", 4, why, sizeof why);
    assert_non_null(f);
    fclose(f);
    assert_null(et_csvfile_open(s_dir, "ok.csv", 3, why, sizeof why));
    assert_int_equal(errno, EFBIG);
    assert_non_null(strstr(why, "larger than 3 bytes"));
    assert_null(et_csvfile_open(s_dir, "missing.csv", 100, why, sizeof why));
    assert_int_equal(errno, ENOENT);
    /* A FIFO would block a reader: refused without waiting for a writer. */
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo.csv", s_dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_null(et_csvfile_open(s_dir, "fifo.csv", 100, why, sizeof why));
    assert_non_null(strstr(why, "not a regular file"));
    assert_null(et_csvfile_open(s_dir, ".", 100, why, sizeof why));
    char long_name[PATH_MAX + 8];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_null(et_csvfile_open(s_dir, long_name, 100, why, sizeof why));
    assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_getline_bounds_lines_and_refuses_nul(void **state)
{
    (void)state;
    char why[128], line[8];
    s_write("lines.csv", "ab\r\ncd\n\nlast", 12);
    FILE *f = et_csvfile_open(s_dir, "lines.csv", 100, why, sizeof why);
    assert_non_null(f);
    assert_int_equal(et_csvfile_getline(f, line, sizeof line, why, sizeof why),
                     1);
    assert_string_equal(line, "ab"); /* CRLF taken as one end */
    assert_int_equal(et_csvfile_getline(f, line, sizeof line, why, sizeof why),
                     1);
    assert_string_equal(line, "cd");
    assert_int_equal(et_csvfile_getline(f, line, sizeof line, why, sizeof why),
                     1);
    assert_string_equal(line, "");
    assert_int_equal(et_csvfile_getline(f, line, sizeof line, why, sizeof why),
                     1);
    assert_string_equal(line, "last"); /* no end on the last line */
    assert_int_equal(et_csvfile_getline(f, line, sizeof line, why, sizeof why),
                     0);
    fclose(f);

    s_write("long.csv", "12345678\n", 9);
    f = et_csvfile_open(s_dir, "long.csv", 100, why, sizeof why);
    assert_int_equal(et_csvfile_getline(f, line, sizeof line, why, sizeof why),
                     -1);
    assert_non_null(strstr(why, "longer than 7 bytes"));
    fclose(f);

    s_write("nul.csv", "a\0b\n", 4);
    f = et_csvfile_open(s_dir, "nul.csv", 100, why, sizeof why);
    assert_int_equal(et_csvfile_getline(f, line, sizeof line, why, sizeof why),
                     -1);
    assert_string_equal(why, "NUL byte");
    fclose(f);
}

static void
test_split_counts_fields_up_to_a_limit(void **state)
{
    (void)state;
    char *field[3];
    char a[] = "1,,three";
    assert_int_equal(et_csvfile_split(a, field, 3), 3);
    assert_string_equal(field[0], "1");
    assert_string_equal(field[1], "");
    assert_string_equal(field[2], "three");
    char b[] = "only";
    assert_int_equal(et_csvfile_split(b, field, 3), 1);
    assert_string_equal(field[0], "only");
    char c[] = "1,2,3,4";
    assert_int_equal(et_csvfile_split(c, field, 3), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_takes_only_bounded_regular_files),
        cmocka_unit_test(test_getline_bounds_lines_and_refuses_nul),
        cmocka_unit_test(test_split_counts_fields_up_to_a_limit),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
