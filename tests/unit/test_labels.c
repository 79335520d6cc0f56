/* Unit tests for producer/labels: readings over MQTT are labelled by the
 * windows of their series (NAB's combined_windows.json, by series name),
 * a series the file does not know is unlabelled, and bad files are
 * refused with a reason. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"
#include "producer/csv.h"
#include "producer/labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ET_SOURCE_DIR
#error "ET_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif

#define WINDOWS ET_SOURCE_DIR "/data/nab/combined_windows.json"

static int64_t
s_ns(const char *text)
{
    int64_t ns;
    assert_int_equal(et_csv_parse_time_ns(text, &ns), 0);
    return ns;
}

static void
test_windows_label_readings_by_series(void **state)
{
    (void)state;
    char why[256] = "";
    et_labels_t *labels = et_labels_load(WINDOWS, why, sizeof why);
    assert_non_null(labels);
    const char *series = "machine_temperature_system_failure";
    /* Its second window: 2013-12-15 17:50 .. 2013-12-17 17:00, ends in. */
    assert_int_equal(
        et_labels_find(labels, series, s_ns("2013-12-15 17:50:00")), 2);
    assert_int_equal(
        et_labels_find(labels, series, s_ns("2013-12-17 17:00:00")), 2);
    assert_int_equal(
        et_labels_find(labels, series, s_ns("2013-12-17 17:05:00")), 0);
    assert_int_equal(
        et_labels_find(labels, series, s_ns("2013-12-02 21:15:00")), 0);
    assert_int_equal(et_labels_find(labels, "no_such_series", 0),
                     ET_LABEL_NONE);
    assert_true(et_labels_has(labels, series));
    assert_false(et_labels_has(labels, "no_such_series"));
    et_labels_destroy(&labels);
    assert_null(labels);
    et_labels_destroy(&labels);
}

static void
s_refuses(const char *text)
{
    char path[] = "/tmp/et-test-labels-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char why[256] = "";
    errno = 0;
    et_labels_t *labels = et_labels_load(path, why, sizeof why);
    unlink(path);
    if (labels)
        fail_msg("accepted: %s", text);
    assert_int_equal(errno, EINVAL);
    assert_true(why[0] != '\0');
}

static void
test_bad_files_are_refused(void **state)
{
    (void)state;
    s_refuses("not json");
    s_refuses("[]");
    s_refuses("{\"a/x.csv\": 3}");
    s_refuses("{\"a/x.csv\": [[\"2014-01-02 00:00:00\"]]}");
    s_refuses("{\"a/x.csv\": [[\"2014-01-02 00:00:00\", "
              "\"2014-01-01 00:00:00\"]]}");
    /* Two entries for one series name. */
    s_refuses("{\"a/x.csv\": [], \"b/x.csv\": []}");
    char why[256] = "";
    assert_null(et_labels_load("/nonexistent/windows.json", why, sizeof why));
    assert_int_equal(errno, ENOENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_label_readings_by_series),
        cmocka_unit_test(test_bad_files_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
