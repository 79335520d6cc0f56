/* Unit tests for broker/status's rendering of a STATS snapshot: the JSON
 * of `eventide-status --json` and the human table carry the counters that
 * must stay 0 in a healthy run (records dropped, stale results, bad
 * messages) next to the event counts. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static et_stats_t
s_stats(void)
{
    et_stats_t m;
    memset(&m, 0, sizeof m);
    m.t_ns = 1700000000000000000LL;
    snprintf(m.workflow, sizeof m.workflow, "fraud");
    m.accepted = 10;
    m.completed = 8;
    m.bad_messages = 1;
    m.stale_results = 2;
    m.records_dropped = 512;
    m.n_functions = 1;
    snprintf(m.functions[0].name, sizeof m.functions[0].name, "fraud");
    m.functions[0].instances = 1;
    m.functions[0].slots_total = 1;
    return m;
}

static void
test_status_json_carries_the_silent_counters(void **state)
{
    (void)state;
    et_stats_t m = s_stats();
    json_t *doc = et_status_to_json(&m);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "accepted")), 10);
    assert_int_equal(
        json_integer_value(json_object_get(doc, "records_dropped")), 512);
    assert_int_equal(json_integer_value(json_object_get(doc, "stale_results")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(doc, "bad_messages")),
                     1);
    json_decref(doc);
}

static void
test_status_print_shows_the_silent_counters(void **state)
{
    (void)state;
    et_stats_t m = s_stats();
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    et_status_print(&m, out);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, "records dropped 512, stale results 2, "
                                 "bad messages 1"));
    assert_non_null(strstr(text, "accepted 10"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_json_carries_the_silent_counters),
        cmocka_unit_test(test_status_print_shows_the_silent_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
