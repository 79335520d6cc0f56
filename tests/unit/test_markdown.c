/* Unit tests for common/markdown: the two escapes (every formatting
 * character for untrusted text, only '|' for cleaned text), the alignment
 * row, printable copies of untrusted text and numbers as reports show
 * them; and the error contract on a failing stream. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/markdown.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*s_writer_fn)(FILE *out, const char *text);

/* What 'writer' makes of 'text'. The caller frees it. */
static char *
s_written(s_writer_fn writer, const char *text)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    assert_non_null(out);
    assert_int_equal(writer(out, text), 0);
    assert_int_equal(fclose(out), 0);
    return buf;
}

static void
test_md_text_escapes_every_formatting_character(void **state)
{
    (void)state;
    char *got = s_written(et_md_text, "a|b\\c`d*e_f[g]h<i>j#k plain-1.0");
    assert_string_equal(got,
                        "a\\|b\\\\c\\`d\\*e\\_f\\[g\\]h\\<i\\>j\\#k plain-1.0");
    free(got);
    got = s_written(et_md_text, "");
    assert_string_equal(got, "");
    free(got);
}

static void
test_md_cell_escapes_only_the_pipe(void **state)
{
    (void)state;
    char *got = s_written(et_md_cell, "tx_small.csv|*x* [y] #z");
    assert_string_equal(got, "tx_small.csv\\|*x* [y] #z");
    free(got);
}

static int
s_rule(FILE *out, const char *align)
{
    return et_md_rule(out, align);
}

static void
test_md_rule_aligns_each_column(void **state)
{
    (void)state;
    char *got = s_written(s_rule, "lrr");
    assert_string_equal(got, "|---|---:|---:|\n");
    free(got);
    got = s_written(s_rule, "");
    assert_string_equal(got, "|\n");
    free(got);
}

static void
test_md_writers_fail_on_a_failing_stream(void **state)
{
    (void)state;
    FILE *ro = fopen("/dev/null", "r"); // writes fail
    assert_non_null(ro);
    assert_int_equal(et_md_text(ro, "x"), -1);
    assert_int_equal(et_md_cell(ro, "|"), -1);
    assert_int_equal(et_md_rule(ro, "l"), -1);
    assert_true(ferror(ro));
    fclose(ro);
}

static void
test_md_printable_replaces_and_cuts(void **state)
{
    (void)state;
    char buf[8];
    et_md_printable(buf, sizeof buf, "a\tb\x01\x7f\xc3\xa9");
    assert_string_equal(buf, "a?b????");
    et_md_printable(buf, sizeof buf, "abcdefghij");
    assert_string_equal(buf, "abcd...");
    et_md_printable(buf, sizeof buf, "abcdefg"); // fits exactly
    assert_string_equal(buf, "abcdefg");
    char tiny[1];
    et_md_printable(tiny, sizeof tiny, "abc");
    assert_string_equal(tiny, "");
}

static void
test_md_number_has_no_exponent_noise(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(et_md_number(buf, sizeof buf, 2), "2");
    assert_string_equal(et_md_number(buf, sizeof buf, 0.5), "0.5");
    assert_string_equal(et_md_number(buf, sizeof buf, 1000000), "1000000");
    assert_string_equal(et_md_number(buf, sizeof buf, 2.0 / 3), "0.666667");
    assert_string_equal(et_md_number(buf, sizeof buf, 1e20), "1e+20");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md_text_escapes_every_formatting_character),
        cmocka_unit_test(test_md_cell_escapes_only_the_pipe),
        cmocka_unit_test(test_md_rule_aligns_each_column),
        cmocka_unit_test(test_md_writers_fail_on_a_failing_stream),
        cmocka_unit_test(test_md_printable_replaces_and_cuts),
        cmocka_unit_test(test_md_number_has_no_exponent_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
