/* Unit tests for common/workflow: the one reader of workflow files. Names
 * resolve the same way for every binary, a function's stages must agree on
 * its instance settings, and producer defaults and {out}/{root} options
 * come out as the launcher used to compute them. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/workflow.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[64];

static int
s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/et-test-workflow-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    unsetenv(ET_WORKFLOW_PATH_ENV);
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    assert_int_equal(system(cmd), 0);
    unsetenv(ET_WORKFLOW_PATH_ENV);
    return 0;
}

/* Write 'text' to DIR/NAME and return the path (static buffer). */
static const char *
s_write(const char *name, const char *text)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_workflow_every_shipped_name_resolves(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint32_t stages;
        const char *first;
    } cases[] = {{"synthetic", 1, "synthetic"},
                 {"noop", 1, "noop"},
                 {"fraud", 4, "preprocess"},
                 {"sensor", 4, "preprocess"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        et_workflow_t wf;
        char err[512] = "";
        if (et_workflow_resolve(&wf, cases[i].name, err, sizeof err) != 0)
            fail_msg("%s: %s", cases[i].name, err);
        assert_string_equal(wf.name, cases[i].name);
        assert_int_equal(wf.n_stages, cases[i].stages);
        assert_string_equal(wf.stages[0].function, cases[i].first);
        assert_non_null(strstr(wf.path, "workflows/"));
    }
}

static void
test_workflow_fraud_settings_are_read(void **state)
{
    (void)state;
    et_workflow_t wf;
    char err[512] = "";
    assert_int_equal(et_workflow_resolve(&wf, "fraud", err, sizeof err), 0);
    assert_int_equal(wf.n_functions, 4);
    assert_string_equal(wf.functions[1], "fraud");
    const et_stage_t *fraud = et_workflow_function_stage(&wf, "fraud");
    assert_non_null(fraud);
    // The feature store is real ({redis}); no modelled wait.
    assert_string_equal(fraud->io_delay, "");
    assert_string_equal(et_stage_option(fraud, "model"), "models/fraud.json");
    assert_string_equal(et_stage_option(fraud, "store"), "{redis}");
    assert_int_equal(fraud->timeout_ns, 5000ULL * 1000000ULL);
    assert_int_equal(fraud->slots, 1);
    const et_stage_t *pre = et_workflow_function_stage(&wf, "preprocess");
    assert_string_equal(pre->io_delay, "");
    assert_string_equal(et_workflow_producer_default(&wf, "source"), "fraud");
    assert_null(et_workflow_producer_default(&wf, "labels"));
    assert_null(et_workflow_function_stage(&wf, "anomaly"));
    assert_int_equal(et_workflow_function_index(&wf, "sink"), 3);
    assert_int_equal(et_workflow_function_index(&wf, "nope"), -1);

    assert_int_equal(et_workflow_resolve(&wf, "sensor", err, sizeof err), 0);
    assert_string_equal(et_workflow_producer_default(&wf, "speedup"), "100000");
    assert_string_equal(et_workflow_producer_default(&wf, "labels"),
                        "data/nab/combined_windows.json");
}

static void
test_workflow_unknown_name_lists_the_known_ones(void **state)
{
    (void)state;
    et_workflow_t wf;
    char err[512] = "";
    assert_int_equal(et_workflow_resolve(&wf, "fraudx", err, sizeof err), -1);
    assert_non_null(strstr(err, "fraudx: no such workflow"));
    assert_non_null(strstr(err, "fraud"));
    assert_non_null(strstr(err, "noop"));
    assert_int_equal(et_workflow_resolve(&wf, "a b", err, sizeof err), -1);
    assert_non_null(strstr(err, "expected a workflow name"));
}

static void
test_workflow_path_env_is_searched_first(void **state)
{
    (void)state;
    s_write("fraud.json", "{\"name\": \"myfraud\", \"stages\": "
                          "[{\"function\": \"noop\"}]}");
    s_write("mine.json", "{\"name\": \"mine\", \"stages\": "
                         "[{\"function\": \"synthetic\"}]}");
    char env[128];
    snprintf(env, sizeof env, "/nonexistent:%s", s_dir);
    setenv(ET_WORKFLOW_PATH_ENV, env, 1);
    et_workflow_t wf;
    char err[512] = "";
    assert_int_equal(et_workflow_resolve(&wf, "fraud", err, sizeof err), 0);
    assert_string_equal(wf.name, "myfraud");
    assert_int_equal(et_workflow_resolve(&wf, "mine", err, sizeof err), 0);
    assert_string_equal(wf.name, "mine");
    /* The project's own ones are still found behind it. */
    assert_int_equal(et_workflow_resolve(&wf, "sensor", err, sizeof err), 0);
}

static void
test_workflow_a_path_is_loaded_as_it_is(void **state)
{
    (void)state;
    const char *path = s_write("x.json", "{\"name\": \"x\", \"stages\": "
                                         "[{\"function\": \"noop\"}]}");
    et_workflow_t wf;
    char err[512] = "";
    assert_int_equal(et_workflow_resolve(&wf, path, err, sizeof err), 0);
    assert_string_equal(wf.path, path);
    assert_int_equal(
        et_workflow_resolve(&wf, "/nonexistent/x.json", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.json: cannot open"));
}

static void
test_workflow_repeated_function_with_same_settings(void **state)
{
    (void)state;
    const char *path =
        s_write("rep.json",
                "{\"name\": \"rep\", \"stages\": ["
                "{\"function\": \"noop\", \"slots\": 4, \"timeout_ms\": 100,"
                " \"options\": {\"a\": 1, \"b\": \"x\"}},"
                "{\"function\": \"synthetic\"},"
                "{\"function\": \"noop\", \"slots\": 4, \"timeout_ms\": 900,"
                " \"retries\": 0, \"options\": {\"b\": \"x\", \"a\": 1}}]}");
    et_workflow_t wf;
    char err[512] = "";
    if (et_workflow_load(&wf, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(wf.n_stages, 3);
    assert_int_equal(wf.n_functions, 2);
    assert_int_equal(wf.stage_function[0], 0);
    assert_int_equal(wf.stage_function[1], 1);
    assert_int_equal(wf.stage_function[2], 0);
    /* Timeouts and retries are the stage's own. */
    assert_int_equal(wf.stages[0].timeout_ns, 100ULL * 1000000ULL);
    assert_int_equal(wf.stages[2].timeout_ns, 900ULL * 1000000ULL);
    assert_int_equal(wf.stages[2].retries, 0);
}

static void
test_workflow_repeated_function_must_agree(void **state)
{
    (void)state;
    static const char *const seconds[] = {
        "{\"function\": \"noop\", \"slots\": 2}",
        "{\"function\": \"noop\", \"io_delay\": \"const:1ms\"}",
        "{\"function\": \"noop\", \"init_delay\": \"const:1s\"}",
        "{\"function\": \"noop\", \"options\": {\"a\": 2}}",
        "{\"function\": \"noop\", \"options\": {\"a\": 1, \"c\": 1}}",
        "{\"function\": \"noop\", \"runs\": \"synthetic\", "
        "\"options\": {\"a\": 1}}",
    };
    for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"name\": \"rep\", \"stages\": ["
                 "{\"function\": \"noop\", \"options\": {\"a\": 1}},"
                 "{\"function\": \"synthetic\"}, %s]}",
                 seconds[i]);
        const char *path = s_write("bad.json", text);
        et_workflow_t wf;
        char err[512] = "";
        assert_int_equal(et_workflow_load(&wf, path, err, sizeof err), -1);
        if (!strstr(err, "stages[0] and stages[2] both run function noop"))
            fail_msg("case %zu: %s", i, err);
    }
}

/* "routing": "per_stage" makes each stage a route of its own; "runs"
 * names the implementation a function's instances run. */
static void
test_workflow_routing_and_runs(void **state)
{
    (void)state;
    et_workflow_t wf;
    char err[512] = "";
    const char *path =
        s_write("r.json", "{\"name\": \"r\", \"routing\": \"per_stage\", "
                          "\"stages\": [{\"function\": \"fa\", \"runs\": "
                          "\"synthetic\", \"memory_mb\": 256, "
                          "\"options\": {\"service\": "
                          "\"pct:0=1,100=2\"}}, {\"function\": \"noop\"}]}");
    if (et_workflow_load(&wf, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(wf.routing, ET_WORKFLOW_PER_STAGE);
    assert_int_equal(wf.stages[0].memory_mb, 256);
    assert_int_equal(wf.stages[1].memory_mb, 0); /* the cost's default */
    assert_string_equal(wf.stages[0].runs, "synthetic");
    assert_string_equal(wf.stages[1].runs, "noop");
    path = s_write("c.json", "{\"name\": \"c\", \"routing\": \"chain\", "
                             "\"stages\": [{\"function\": \"noop\"}]}");
    assert_int_equal(et_workflow_load(&wf, path, err, sizeof err), 0);
    assert_int_equal(wf.routing, ET_WORKFLOW_CHAIN);
    static const char *const bad[][2] = {
        {"{\"name\": \"b\", \"routing\": \"fanout\", \"stages\": "
         "[{\"function\": \"noop\"}]}",
         "routing: expected"},
        {"{\"name\": \"b\", \"stages\": [{\"function\": \"noop\", "
         "\"runs\": \"no such/name\"}]}",
         "stages[0].runs: expected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = s_write("b.json", bad[i][0]);
        assert_int_equal(et_workflow_load(&wf, path, err, sizeof err), -1);
        if (!strstr(err, bad[i][1]))
            fail_msg("case %zu: %s", i, err);
    }
}

/* "key": "series" or "card" on a stage; anything else names its field. */
static void
test_workflow_stage_key_is_checked(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        const char *expect; /* NULL: refused */
    } cases[] = {
        {"\"series\"", "series"}, {"\"card\"", "card"}, {"\"\"", NULL},
        {"\"user\"", NULL},       {"1", NULL},          {"[\"card\"]", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"name\": \"k\", \"stages\": [{\"function\": \"noop\"}, "
                 "{\"function\": \"anomaly\", \"key\": %s}]}",
                 cases[i].key);
        const char *path = s_write("k.json", text);
        et_workflow_t wf;
        char err[512] = "";
        int rc = et_workflow_load(&wf, path, err, sizeof err);
        if (cases[i].expect) {
            if (rc != 0)
                fail_msg("case %zu: %s", i, err);
            assert_string_equal(wf.stages[0].key, "");
            assert_string_equal(wf.stages[1].key, cases[i].expect);
        } else if (rc == 0 || !strstr(err, "stages[1].key: expected")) {
            fail_msg("case %zu: rc %d, '%s'", i, rc, err);
        }
    }
}

static void
test_workflow_producer_block_is_checked(void **state)
{
    (void)state;
    static const struct {
        const char *producer;
        const char *error;
    } cases[] = {
        {"{\"source\": \"nab:x.csv\", \"speedup\": 40}", NULL},
        {"{\"sourc\": \"fraud\"}", "producer.sourc: unknown field"},
        {"{\"source\": [1]}", "producer.source: expected a string"},
        {"{\"source\": \"\"}", "producer.source: expected a string"},
        {"[1]", "producer: expected an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"name\": \"p\", \"producer\": %s, "
                 "\"stages\": [{\"function\": \"noop\"}]}",
                 cases[i].producer);
        const char *path = s_write("p.json", text);
        et_workflow_t wf;
        char err[512] = "";
        int rc = et_workflow_load(&wf, path, err, sizeof err);
        if (!cases[i].error) {
            if (rc != 0)
                fail_msg("case %zu: %s", i, err);
            assert_string_equal(et_workflow_producer_default(&wf, "speedup"),
                                "40");
        } else if (rc == 0 || !strstr(err, cases[i].error)) {
            fail_msg("case %zu: rc %d, '%s'", i, rc, err);
        }
    }
}

static void
test_workflow_bad_stage_fields_name_file_and_field(void **state)
{
    (void)state;
    static const struct {
        const char *stage;
        const char *error;
    } cases[] = {
        {"{\"function\": \"noop\", \"slot\": 1}", "stages[0].slot: unknown"},
        {"{\"function\": \"noop\", \"slots\": 65}", "stages[0].slots"},
        {"{\"function\": \"noop\", \"io_delay\": \"fast\"}",
         "stages[0].io_delay"},
        {"{\"function\": \"noop\", \"init_delay\": 2}",
         "stages[0].init_delay: expected a string"},
        {"{\"function\": \"noop\", \"init_delay\": \"slow\"}",
         "stages[0].init_delay"},
        {"{\"function\": \"noop\", \"memory_mb\": 0}",
         "stages[0].memory_mb: expected an integer from 1"},
        {"{\"function\": \"noop\", \"memory_mb\": \"1GB\"}",
         "stages[0].memory_mb"},
        {"{\"function\": \"no op\"}", "stages[0].function"},
        {"{\"slots\": 1}", "stages[0].function: is required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"name\": \"b\", \"stages\": [%s]}",
                 cases[i].stage);
        const char *path = s_write("b.json", text);
        et_workflow_t wf;
        char err[512] = "";
        assert_int_equal(et_workflow_load(&wf, path, err, sizeof err), -1);
        if (!strstr(err, cases[i].error) || !strstr(err, path))
            fail_msg("case %zu: '%s'", i, err);
    }
}

static void
test_workflow_expand_out_and_root(void **state)
{
    (void)state;
    char dst[256];
    assert_int_equal(
        et_workflow_expand("{out}/decisions.jsonl", "/r/1", dst, sizeof dst),
        0);
    assert_string_equal(dst, "/r/1/decisions.jsonl");
    assert_int_equal(et_workflow_expand("a{root}b", NULL, dst, sizeof dst), 0);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "a%sb", ET_SOURCE_DIR);
    assert_string_equal(dst, want);
    assert_int_equal(et_workflow_expand("plain", NULL, dst, sizeof dst), 0);
    assert_string_equal(dst, "plain");
    assert_int_equal(et_workflow_expand("{out}/x", NULL, dst, sizeof dst), -1);
    char small[8];
    assert_int_equal(
        et_workflow_expand("{out}", "/long/dir", small, sizeof small), -1);
    assert_int_equal(et_workflow_expand("1234567", NULL, small, sizeof small),
                     0);
    assert_int_equal(et_workflow_expand("12345678", NULL, small, sizeof small),
                     -1);
}

static void
test_workflow_single_builds_one_stage(void **state)
{
    (void)state;
    et_workflow_t wf;
    assert_int_equal(et_workflow_single(&wf, "noop"), 0);
    assert_int_equal(wf.n_stages, 1);
    assert_int_equal(wf.n_functions, 1);
    assert_string_equal(wf.functions[0], "noop");
    assert_int_equal(wf.stages[0].slots, 1);
    assert_int_equal(et_workflow_single(&wf, "a/b"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_workflow_every_shipped_name_resolves, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_fraud_settings_are_read,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow_unknown_name_lists_the_known_ones, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow_path_env_is_searched_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_a_path_is_loaded_as_it_is,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow_repeated_function_with_same_settings, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow_repeated_function_must_agree, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_routing_and_runs, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_producer_block_is_checked,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_stage_key_is_checked,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow_bad_stage_fields_name_file_and_field, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_expand_out_and_root,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workflow_single_builds_one_stage,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
