/* Unit tests for common/mqtturl: the URLs and client ids every MQTT
 * client of the project accepts, and what each refuses. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/mqtturl.h"

#include <stdio.h>
#include <string.h>

static void
test_url_gives_host_port_topic(void **state)
{
    (void)state;
    et_mqtturl_t u;
    char why[256];
    assert_int_equal(et_mqtturl_parse("mqtt://broker.local:1883/plant/m1/temp",
                                      0, &u, why, sizeof why),
                     0);
    assert_string_equal(u.host, "broker.local");
    assert_int_equal(u.port, 1883);
    assert_string_equal(u.topic, "plant/m1/temp");
}

static void
test_wildcards_only_in_filters_and_whole_levels(void **state)
{
    (void)state;
    et_mqtturl_t u;
    char why[256];
    const char *filters[] = {"mqtt://h:1/#", "mqtt://h:1/a/+/b",
                             "mqtt://h:1/a/#", "mqtt://h:1/+"};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        assert_int_equal(et_mqtturl_parse(filters[i], 1, &u, why, sizeof why),
                         0);
        /* A publisher names one topic. */
        assert_int_equal(et_mqtturl_parse(filters[i], 0, &u, why, sizeof why),
                         -1);
    }
    const char *bad[] = {"mqtt://h:1/a#", "mqtt://h:1/a/#/b", "mqtt://h:1/a+",
                         "mqtt://h:1/+a/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(et_mqtturl_parse(bad[i], 1, &u, why, sizeof why), -1);
}

static void
test_bad_urls_are_refused_with_a_reason(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "tcp://h:1/t",
                         "mqtt://h/t",
                         "mqtt://h:1",
                         "mqtt://:1/t",
                         "mqtt://h:0/t",
                         "mqtt://h:65536/t",
                         "mqtt://h:12345678/t",
                         "mqtt://h:x/t",
                         "mqtt://h:1/",
                         "mqtt://h_1:1/t",
                         "mqtt://h:1/a b",
                         "mqtt://h:1/caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_mqtturl_t u;
        char why[256] = "";
        assert_int_equal(et_mqtturl_parse(bad[i], 1, &u, why, sizeof why), -1);
        assert_true(why[0] != '\0');
    }
    /* Bounds: the longest topic fits, one byte more does not. */
    char url[ET_MQTTURL_TOPIC_MAX + 32];
    int n = snprintf(url, sizeof url, "mqtt://h:1/");
    memset(url + n, 't', ET_MQTTURL_TOPIC_MAX);
    url[n + ET_MQTTURL_TOPIC_MAX] = '\0';
    et_mqtturl_t u;
    char why[256];
    assert_int_equal(et_mqtturl_parse(url, 0, &u, why, sizeof why), 0);
    url[n + ET_MQTTURL_TOPIC_MAX] = 't';
    url[n + ET_MQTTURL_TOPIC_MAX + 1] = '\0';
    assert_int_equal(et_mqtturl_parse(url, 0, &u, why, sizeof why), -1);
}

static void
test_client_ids(void **state)
{
    (void)state;
    assert_int_equal(et_mqtturl_client_id_check("eventide-producer-1"), 0);
    assert_int_equal(et_mqtturl_client_id_check("run_7.a"), 0);
    assert_int_equal(et_mqtturl_client_id_check(""), -1);
    assert_int_equal(et_mqtturl_client_id_check("a b"), -1);
    assert_int_equal(et_mqtturl_client_id_check("a/b"), -1);
    char id[ET_MQTTURL_CLIENT_ID_MAX + 2];
    memset(id, 'a', sizeof id - 1);
    id[ET_MQTTURL_CLIENT_ID_MAX] = '\0';
    assert_int_equal(et_mqtturl_client_id_check(id), 0);
    id[ET_MQTTURL_CLIENT_ID_MAX] = 'a';
    id[ET_MQTTURL_CLIENT_ID_MAX + 1] = '\0';
    assert_int_equal(et_mqtturl_client_id_check(id), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_gives_host_port_topic),
        cmocka_unit_test(test_wildcards_only_in_filters_and_whole_levels),
        cmocka_unit_test(test_bad_urls_are_refused_with_a_reason),
        cmocka_unit_test(test_client_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
