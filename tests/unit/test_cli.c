/* Unit tests for common/cli: the strict number, duration, endpoint and name
 * parsers every binary's flags go through, and the one-line usage error. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL

// ---------------------------------------------------------------------------
// Doubles

static void
test_cli_double_accepts_plain_and_scientific(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double value;
    } cases[] = {{"0", 0},   {"1", 1},        {"2.5", 2.5},
                 {"-3", -3}, {"1e3", 1000},   {".5", 0.5},
                 {"+7", 7},  {"1E-3", 0.001}, {"100", 100}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double out = -999;
        if (et_cli_parse_double(cases[i].text, -10, 1000, &out) != 0)
            fail_msg("'%s' refused", cases[i].text);
        assert_true(out == cases[i].value);
    }
}

static void
test_cli_double_range_is_inclusive(void **state)
{
    (void)state;
    double out = 0;
    assert_int_equal(et_cli_parse_double("1", 1, 2, &out), 0);
    assert_true(out == 1);
    assert_int_equal(et_cli_parse_double("2", 1, 2, &out), 0);
    assert_true(out == 2);
    assert_int_equal(et_cli_parse_double("0.999", 1, 2, &out), -1);
    assert_int_equal(et_cli_parse_double("2.001", 1, 2, &out), -1);
}

static void
test_cli_double_rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",       " 1",  "1 ",   "\t1", "1x",  "x1",       "1..2",
        "--1",    "inf", "-inf", "nan", "NAN", "infinity", "1e999",
        "-1e999", "1,5", "e3",   "-",   "+",   "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double out = 42;
        if (et_cli_parse_double(bad[i], -1e300, 1e300, &out) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(out == 42); /* untouched on failure */
    }
    double out = 0;
    assert_int_equal(et_cli_parse_double(NULL, 0, 1, &out), -1);
}

// ---------------------------------------------------------------------------
// Unsigned integers

static void
test_cli_u64_accepts_full_range(void **state)
{
    (void)state;
    uint64_t out = 1;
    assert_int_equal(et_cli_parse_u64("0", 0, UINT64_MAX, &out), 0);
    assert_true(out == 0);
    assert_int_equal(
        et_cli_parse_u64("18446744073709551615", 0, UINT64_MAX, &out), 0);
    assert_true(out == UINT64_MAX);
    assert_int_equal(et_cli_parse_u64("10000", 1, 10000, &out), 0);
    assert_true(out == 10000);
    assert_int_equal(et_cli_parse_u64("1", 1, 10000, &out), 0);
    assert_true(out == 1);
}

static void
test_cli_u64_rejects_malformed_and_out_of_range(void **state)
{
    (void)state;
    static const char *const bad[] = {"",
                                      "-1",
                                      "+1",
                                      " 1",
                                      "1 ",
                                      "1.0",
                                      "1e3",
                                      "0x10",
                                      "abc",
                                      "12abc",
                                      "18446744073709551616",
                                      "99999999999999999999999",
                                      "0",
                                      "10001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t out = 42;
        if (et_cli_parse_u64(bad[i], 1, 10000, &out) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(out == 42);
    }
    uint64_t out = 0;
    assert_int_equal(et_cli_parse_u64(NULL, 0, 1, &out), -1);
}

// ---------------------------------------------------------------------------
// Durations

static void
test_cli_duration_understands_every_unit(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t ns;
    } cases[] = {
        {"40ns", 40},
        {"250us", 250 * NS_PER_US},
        {"10ms", 10 * NS_PER_MS},
        {"2s", 2 * NS_PER_S},
        {"2.5s", 2500 * NS_PER_MS},
        {"1m", 60 * NS_PER_S},
        {"1.5m", 90 * NS_PER_S},
        {"0.5ms", 500 * NS_PER_US},
        {".5s", 500 * NS_PER_MS},
        {"0s", 0},
        {"0", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t out = 42;
        if (et_cli_parse_duration_ns(cases[i].text, NS_PER_S, 0,
                                     3600 * NS_PER_S, &out) != 0)
            fail_msg("'%s' refused", cases[i].text);
        if (out != cases[i].ns)
            fail_msg("'%s' gave %llu ns, expected %llu", cases[i].text,
                     (unsigned long long)out, (unsigned long long)cases[i].ns);
    }
}

static void
test_cli_duration_bare_number_uses_default_unit(void **state)
{
    (void)state;
    uint64_t out = 0;
    assert_int_equal(
        et_cli_parse_duration_ns("3", NS_PER_S, 0, 3600 * NS_PER_S, &out), 0);
    assert_true(out == 3 * NS_PER_S);
    assert_int_equal(
        et_cli_parse_duration_ns("3", NS_PER_MS, 0, 3600 * NS_PER_S, &out), 0);
    assert_true(out == 3 * NS_PER_MS);
    assert_int_equal(
        et_cli_parse_duration_ns("1.5", NS_PER_MS, 0, 3600 * NS_PER_S, &out),
        0);
    assert_true(out == 1500 * NS_PER_US);
    assert_int_equal(et_cli_parse_duration_ns("7", 1, 0, 100, &out), 0);
    assert_true(out == 7);
}

static void
test_cli_duration_rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",     " 1s",   "1s ", "1 s",   "1sec", "1h",  "1S",   "1Ms",
        "ms",   "s",     "-1s", "-0",    "+1s",  "inf", "infs", "nan",
        "nans", "1e999", "1s1", "1..5s", "x",    "1ms!"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t out = 42;
        if (et_cli_parse_duration_ns(bad[i], NS_PER_S, 0, UINT64_MAX, &out) !=
            -1)
            fail_msg("'%s' accepted as %llu ns", bad[i],
                     (unsigned long long)out);
        assert_true(out == 42);
    }
    uint64_t out = 0;
    assert_int_equal(et_cli_parse_duration_ns(NULL, 1, 0, 1, &out), -1);
}

static void
test_cli_duration_enforces_range(void **state)
{
    (void)state;
    uint64_t out = 0;
    const uint64_t min = 10 * NS_PER_MS, max = 3600 * NS_PER_S;
    assert_int_equal(et_cli_parse_duration_ns("10ms", 1, min, max, &out), 0);
    assert_true(out == min);
    assert_int_equal(et_cli_parse_duration_ns("60m", 1, min, max, &out), 0);
    assert_true(out == max);
    assert_int_equal(et_cli_parse_duration_ns("9ms", 1, min, max, &out), -1);
    assert_int_equal(et_cli_parse_duration_ns("9999us", 1, min, max, &out), -1);
    assert_int_equal(et_cli_parse_duration_ns("3601s", 1, min, max, &out), -1);
    assert_int_equal(et_cli_parse_duration_ns("61m", 1, min, max, &out), -1);
    assert_int_equal(et_cli_parse_duration_ns("1e300s", 1, min, max, &out), -1);
}

// Durations past INT64_MAX nanoseconds (292 years) still obey [min, max]
// exactly: no silent wrap-around through a signed conversion.
static void
test_cli_duration_never_returns_a_value_outside_the_range(void **state)
{
    (void)state;
    uint64_t out = 0;
    assert_int_equal(et_cli_parse_duration_ns("9300000000000000000ns", 1, 0,
                                              UINT64_MAX, &out),
                     0);
    assert_true(out == 9300000000000000000ULL);
    static const char *const huge[] = {"18446744073709551615ns",
                                       "18446744073709551616ns",
                                       "20000000000000000000", "1e30s"};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        out = 42;
        int rc = et_cli_parse_duration_ns(huge[i], 1, 0, UINT64_MAX, &out);
        if (rc == 0 && out < 18446744073709549568ULL)
            fail_msg("'%s' gave %llu ns", huge[i], (unsigned long long)out);
    }
    // A max that a double cannot hold exactly is still a hard bound.
    const uint64_t max = (1ULL << 62) + 1;
    out = 42;
    int rc =
        et_cli_parse_duration_ns("4611686018427387904ns", 1, 0, max - 2, &out);
    assert_true(rc == -1 || out <= max - 2);
}

// ---------------------------------------------------------------------------
// Endpoints

static void
test_cli_endpoint_accepts_tcp_ipc_inproc(void **state)
{
    (void)state;
    static const char *const good[] = {"tcp://127.0.0.1:5555",
                                       "tcp://*:5555",
                                       "tcp://[::1]:1",
                                       "ipc:///tmp/eventide/broker.sock",
                                       "ipc://@abstract",
                                       "inproc://collector",
                                       "tcp://x",
                                       "inproc://a"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (et_cli_check_endpoint(good[i]) != 0)
            fail_msg("'%s' refused", good[i]);
}

static void
test_cli_endpoint_rejects_other_schemes_and_empty_body(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",          "tcp://",   "ipc://",   "inproc://", "udp://1.2.3.4:5",
        "pgm://x",   "epgm://x", "TCP://x",  "tcp:/x",    "tcp:x",
        "://x",      "tcp",      " tcp://x", "http://x",  "ws://x",
        "vmci://1:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (et_cli_check_endpoint(bad[i]) != -1)
            fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(et_cli_check_endpoint(NULL), -1);
}

static void
test_cli_endpoint_rejects_over_long(void **state)
{
    (void)state;
    char text[ET_ENDPOINT_MAX + 2];
    strcpy(text, "ipc://");
    size_t prefix = strlen(text);
    // Longest accepted: ET_ENDPOINT_MAX - 1 characters.
    memset(text + prefix, 'a', ET_ENDPOINT_MAX - 1 - prefix);
    text[ET_ENDPOINT_MAX - 1] = '\0';
    assert_int_equal(et_cli_check_endpoint(text), 0);
    text[ET_ENDPOINT_MAX - 1] = 'a';
    text[ET_ENDPOINT_MAX] = '\0';
    assert_int_equal(et_cli_check_endpoint(text), -1);
}

// ---------------------------------------------------------------------------
// Names

static void
test_cli_name_accepts_allowed_characters(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "detect",  "detect-v1.2", "Stage_3",
                                       "0", "a.b-c_d", "...",         "-"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (et_cli_check_name(good[i], 47) != 0)
            fail_msg("'%s' refused", good[i]);
}

static void
test_cli_name_rejects_empty_long_and_odd_characters(void **state)
{
    (void)state;
    static const char *const bad[] = {"",     "a b",  "a/b",         "a:b",
                                      "a\tb", "a\nb", "caf\xc3\xa9", "a*",
                                      "../x", " a",   "a$",          "a,b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (et_cli_check_name(bad[i], 47) != -1)
            fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(et_cli_check_name(NULL, 47), -1);
    char name[49];
    memset(name, 'n', 47);
    name[47] = '\0';
    assert_int_equal(et_cli_check_name(name, 47), 0);
    name[47] = 'n';
    name[48] = '\0';
    assert_int_equal(et_cli_check_name(name, 47), -1);
}

// ---------------------------------------------------------------------------
// The usage error line

static void
s_capture_error(const char *flag, const char *value, char *out, size_t size)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    et_cli_error("eventide-broker", flag, value, "expected a number");
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, size - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

static void
test_cli_error_prints_one_line_naming_flag_and_value(void **state)
{
    (void)state;
    char text[256];
    s_capture_error("--rate", "abc", text, sizeof text);
    assert_string_equal(text,
                        "eventide-broker: --rate 'abc': expected a number\n");
    s_capture_error("--rate", NULL, text, sizeof text);
    assert_string_equal(text, "eventide-broker: --rate: expected a number\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_double_accepts_plain_and_scientific),
        cmocka_unit_test(test_cli_double_range_is_inclusive),
        cmocka_unit_test(test_cli_double_rejects_malformed),
        cmocka_unit_test(test_cli_u64_accepts_full_range),
        cmocka_unit_test(test_cli_u64_rejects_malformed_and_out_of_range),
        cmocka_unit_test(test_cli_duration_understands_every_unit),
        cmocka_unit_test(test_cli_duration_bare_number_uses_default_unit),
        cmocka_unit_test(test_cli_duration_rejects_malformed),
        cmocka_unit_test(test_cli_duration_enforces_range),
        cmocka_unit_test(
            test_cli_duration_never_returns_a_value_outside_the_range),
        cmocka_unit_test(test_cli_endpoint_accepts_tcp_ipc_inproc),
        cmocka_unit_test(
            test_cli_endpoint_rejects_other_schemes_and_empty_body),
        cmocka_unit_test(test_cli_endpoint_rejects_over_long),
        cmocka_unit_test(test_cli_name_accepts_allowed_characters),
        cmocka_unit_test(test_cli_name_rejects_empty_long_and_odd_characters),
        cmocka_unit_test(test_cli_error_prints_one_line_naming_flag_and_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
