/* Unit tests for autoscaler/command: the scale command template is filled
 * in exactly, and nothing a shell or ssh would interpret (metacharacters,
 * options, unknown placeholders) ever gets through. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "autoscaler/command.h"
#include "common/codec.h"

#include <errno.h>
#include <string.h>

static void
test_template_substitutes_and_rejects_bad_values(void **state)
{
    (void)state;
    char buf[ET_AUTOSCALER_CMD_MAX];
    assert_int_equal(et_autoscaler_format_command(
                         "ssh {host} /opt/eventide scale {function} {replicas}",
                         "fraud", 7, "node-2.lan", buf, sizeof buf),
                     0);
    assert_string_equal(buf, "ssh node-2.lan /opt/eventide scale fraud 7");
    assert_int_equal(et_autoscaler_format_command(ET_AUTOSCALER_DEFAULT_CMD,
                                                  "synthetic", 0, "localhost",
                                                  buf, sizeof buf),
                     0);
    assert_string_equal(buf, "eventide scale synthetic 0");
    const char *bad_names[] = {"a;rm -rf /", "x y",  "$(id)", "-oProxy",
                               "",           "a`b`", "n\n"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        errno = 0;
        assert_int_equal(et_autoscaler_format_command("s {function}",
                                                      bad_names[i], 1, "h", buf,
                                                      sizeof buf),
                         -1);
        assert_int_equal(errno, EINVAL);
        errno = 0;
        assert_int_equal(et_autoscaler_format_command(
                             "s {host}", "f", 1, bad_names[i], buf, sizeof buf),
                         -1);
        assert_int_equal(errno, EINVAL);
    }
    assert_int_equal(et_autoscaler_format_command("s {replicas}", "f", 10001,
                                                  "h", buf, sizeof buf),
                     -1);
    /* Unknown or unbalanced placeholders never reach the shell. */
    assert_int_equal(et_autoscaler_check_template("scale {fn} {replicas}"), -1);
    assert_int_equal(et_autoscaler_check_template("scale {function"), -1);
    assert_int_equal(et_autoscaler_check_template("scale }"), -1);
    assert_int_equal(et_autoscaler_check_template(""), -1);
    assert_int_equal(et_autoscaler_check_template("true"), 0);
    /* Too long for the buffer. */
    char small[16];
    errno = 0;
    assert_int_equal(et_autoscaler_format_command("eventide scale {function}",
                                                  "synthetic", 1, "h", small,
                                                  sizeof small),
                     -1);
    assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_safe_words_exclude_options_and_metacharacters(void **state)
{
    (void)state;
    assert_true(et_autoscaler_is_safe_word("node-2.lan", 16));
    assert_true(et_autoscaler_is_safe_word("a_b", 3));
    assert_false(et_autoscaler_is_safe_word("a_b", 2));
    assert_false(et_autoscaler_is_safe_word("-n", 16));
    assert_false(et_autoscaler_is_safe_word("", 16));
    assert_false(et_autoscaler_is_safe_word(NULL, 16));
    assert_false(et_autoscaler_is_safe_word("a/b", 16));
    assert_false(et_autoscaler_is_safe_word("a$b", 16));
}

/* Every function name the stats may carry and the longest host fit the
 * longest template's substitution limit, or fail with ENAMETOOLONG. */
static void
test_longest_values_fit_or_say_so(void **state)
{
    (void)state;
    char function[ET_NAME_MAX];
    memset(function, 'f', sizeof function - 1);
    function[sizeof function - 1] = '\0';
    char host[ET_AUTOSCALER_HOST_MAX];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    char buf[ET_AUTOSCALER_CMD_MAX];
    assert_int_equal(et_autoscaler_format_command("ssh {host} s {function} "
                                                  "{replicas}",
                                                  function, 10000, host, buf,
                                                  sizeof buf),
                     0);
    assert_int_equal(strlen(buf),
                     4 + strlen(host) + 3 + strlen(function) + 1 + 5);
    // One character more is not a safe word of that kind.
    char longer[ET_AUTOSCALER_HOST_MAX + 1];
    memset(longer, 'h', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    errno = 0;
    assert_int_equal(
        et_autoscaler_format_command("{host}", "f", 1, longer, buf, sizeof buf),
        -1);
    assert_int_equal(errno, EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_substitutes_and_rejects_bad_values),
        cmocka_unit_test(test_safe_words_exclude_options_and_metacharacters),
        cmocka_unit_test(test_longest_values_fit_or_say_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
