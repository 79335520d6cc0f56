/* Unit tests for workers/function and the built-in functions: the registry,
 * the option helpers, noop's echo, synthetic's service model (sleep never
 * returns early, spin burns thread CPU) and its config checks. Timing is
 * asserted as lower bounds only: a shared machine can make calls slower, never
 * faster. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/clock.h"
#include "common/codec.h"
#include "common/dist.h"
#include "common/rng.h"
#include "workers/function.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

// ---------------------------------------------------------------------------
// Helpers

static et_function_config_t
s_config(const char *service, et_function_mode_t mode, unsigned slots)
{
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.service = service;
    cfg.mode = mode;
    cfg.seed = 1;
    cfg.pid = 1234;
    cfg.slots = slots;
    cfg.max_payload = ET_PAYLOAD_DEFAULT_MAX;
    return cfg;
}

static void *
s_init_ok(const et_function_def_t *def, const et_function_config_t *cfg)
{
    void *state = NULL;
    char why[256] = "";
    int rc = def->init(&state, cfg, why, sizeof why);
    if (rc != 0)
        fail_msg("init failed: %s", why);
    assert_non_null(state);
    return state;
}

// Call handle once; checks the output echoes the input.
static int
s_call_echo(const et_function_def_t *def, void *state, unsigned slot,
            const char *input, size_t size)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    et_function_output_t out = {.output = &sbuf, .outcome = ET_OUTCOME_NONE};
    int status = def->handle(state, slot, input, size, &out);
    if (status == ET_STATUS_OK) {
        assert_int_equal(sbuf.size, size);
        if (size > 0)
            assert_memory_equal(sbuf.data, input, size);
        assert_int_equal(out.outcome, ET_OUTCOME_NONE);
        assert_true(out.score == 0);
    }
    msgpack_sbuffer_destroy(&sbuf);
    return status;
}

static uint64_t
s_thread_cpu_ns(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts), 0);
    return (uint64_t)ts.tv_sec * ET_NS_PER_S + (uint64_t)ts.tv_nsec;
}

// ---------------------------------------------------------------------------
// Registry and option helpers

static void
test_registry_finds_builtins(void **state)
{
    (void)state;
    assert_ptr_equal(et_function_find("noop"), &et_function_noop);
    assert_ptr_equal(et_function_find("synthetic"), &et_function_synthetic);
    size_t count = 0;
    const et_function_def_t *const *list = et_function_list(&count);
    assert_true(count >= 2);
    for (size_t i = 0; i < count; i++) {
        assert_non_null(list[i]->name);
        assert_non_null(list[i]->summary);
        assert_non_null(list[i]->init);
        assert_non_null(list[i]->handle);
        assert_non_null(list[i]->fini);
        assert_ptr_equal(et_function_find(list[i]->name), list[i]);
    }
}

static void
test_registry_does_not_find_unknown(void **state)
{
    (void)state;
    assert_null(et_function_find("nope"));
    assert_null(et_function_find(""));
    assert_null(et_function_find("NOOP"));
    assert_null(et_function_find(NULL));
}

static void
test_option_returns_last_value_of_key(void **state)
{
    (void)state;
    et_function_config_t cfg = s_config(NULL, ET_FUNCTION_MODE_SLEEP, 1);
    cfg.options[0] = "model=a.json";
    cfg.options[1] = "modelx=b";
    cfg.options[2] = "model=c.json";
    cfg.options[3] = "empty=";
    cfg.n_options = 4;
    assert_string_equal(et_function_option(&cfg, "model"), "c.json");
    assert_string_equal(et_function_option(&cfg, "modelx"), "b");
    assert_string_equal(et_function_option(&cfg, "empty"), "");
    assert_null(et_function_option(&cfg, "mode"));
    assert_null(et_function_option(&cfg, "threshold"));
}

static void
test_check_options_rejects_unknown_keys(void **state)
{
    (void)state;
    static const char *const known[] = {"model", "threshold", NULL};
    et_function_config_t cfg = s_config(NULL, ET_FUNCTION_MODE_SLEEP, 1);
    const char *flag = NULL, *value = NULL;
    char why[128] = "";
    cfg.options[0] = "threshold=0.5";
    cfg.n_options = 1;
    assert_int_equal(
        et_function_check_options(&cfg, known, &flag, &value, why, sizeof why),
        0);
    cfg.options[1] = "thresh=0.5";
    cfg.n_options = 2;
    assert_int_equal(
        et_function_check_options(&cfg, known, &flag, &value, why, sizeof why),
        -1);
    assert_string_equal(flag, "--option");
    assert_string_equal(value, "thresh=0.5");
    assert_true(strlen(why) > 0);
}

static void
test_option_entry_and_error_name_the_whole_option(void **state)
{
    (void)state;
    et_function_config_t cfg = s_config(NULL, ET_FUNCTION_MODE_SLEEP, 1);
    cfg.options[0] = "alpha=0.1";
    cfg.options[1] = "alpha=2";
    cfg.n_options = 2;
    // The option et_function_option reads: the last one.
    assert_ptr_equal(et_function_option_entry(&cfg, "alpha"), cfg.options[1]);
    assert_null(et_function_option_entry(&cfg, "beta"));

    const char *flag = NULL, *value = "x";
    char why[64] = "";
    assert_int_equal(et_function_option_error(&cfg, "alpha", &flag, &value, why,
                                              sizeof why, "expected at most %d",
                                              1),
                     -1);
    assert_string_equal(flag, "--option");
    assert_string_equal(value, "alpha=2");
    assert_string_equal(why, "expected at most 1");
    // A missing option is named by no value at all.
    assert_int_equal(et_function_option_error(&cfg, "beta", &flag, &value, why,
                                              sizeof why, "beta is required"),
                     -1);
    assert_null(value);
    assert_string_equal(why, "beta is required");
}

static void
test_parse_bool_takes_the_usual_words(void **state)
{
    (void)state;
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    static const char *const bad[] = {"", "ON", "2", "y", "onn"};
    int b;
    for (size_t i = 0; i < 4; i++) {
        b = -1;
        assert_int_equal(et_function_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(et_function_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = -1;
        assert_int_equal(et_function_parse_bool(bad[i], &b), -1);
        assert_int_equal(b, -1);
    }
}

// ---------------------------------------------------------------------------
// noop

static void
test_function_time_adds_up_per_kind_and_ignores_nonsense(void **state)
{
    (void)state;
    et_function_output_t out = {.outcome = ET_OUTCOME_NONE};
    et_function_time(&out, ET_TIMING_STORE, 100);
    et_function_time(&out, ET_TIMING_STORE, 50); /* a second round trip */
    et_function_time(&out, ET_TIMING_MODEL, 0);
    assert_int_equal(out.timed,
                     (1u << ET_TIMING_STORE) | (1u << ET_TIMING_MODEL));
    assert_true(out.timing_ns[ET_TIMING_STORE] == 150);
    assert_true(out.timing_ns[ET_TIMING_MODEL] == 0);
    /* Unknown kinds and negative times change nothing. */
    et_function_time(&out, ET_TIMING_KINDS, 10);
    et_function_time(&out, -1, 10);
    et_function_time(&out, ET_TIMING_STORE, -5);
    et_function_time(NULL, ET_TIMING_STORE, 5);
    assert_int_equal(out.timed,
                     (1u << ET_TIMING_STORE) | (1u << ET_TIMING_MODEL));
    assert_true(out.timing_ns[ET_TIMING_STORE] == 150);
    /* A kind's first report starts from 0 whatever the field held. */
    et_function_output_t fresh = {.timing_ns = {999, 999}};
    et_function_time(&fresh, ET_TIMING_MODEL, 7);
    assert_int_equal(fresh.timed, 1u << ET_TIMING_MODEL);
    assert_true(fresh.timing_ns[ET_TIMING_MODEL] == 7);
}

static void
test_function_clean_detail_drops_what_the_wire_refuses(void **state)
{
    (void)state;
    et_detail_t d = {.has_shadow = 1,
                     .shadow_outcome = 2,
                     .timed = 3,
                     .timing_ns = {40, 100}};
    assert_int_equal(et_function_clean_detail(&d, 100, 1), 0);
    assert_true(d.has_shadow && d.shadow_outcome == 2 && d.timed == 3);
    assert_true(d.timing_ns[0] == 40 && d.timing_ns[1] == 100);
    /* A time beyond the service, a negative one, a shadow below 0. */
    d = (et_detail_t){.has_shadow = 1,
                      .shadow_outcome = -3,
                      .timed = 3,
                      .timing_ns = {101, -1}};
    assert_int_equal(et_function_clean_detail(&d, 100, 1), 3);
    assert_true(!d.has_shadow && d.shadow_outcome == 0 && d.timed == 0);
    assert_true(d.timing_ns[0] == 0 && d.timing_ns[1] == 0);
    /* Unknown kinds go; a failed call keeps its times, not its shadow. */
    d = (et_detail_t){.has_shadow = 1,
                      .shadow_outcome = 1,
                      .timed = 0x81,
                      .timing_ns = {5, 77}};
    assert_int_equal(et_function_clean_detail(&d, 100, 0), 1);
    assert_true(!d.has_shadow && d.timed == 1 && d.timing_ns[0] == 5);
    assert_true(d.timing_ns[1] == 0);
    /* What it leaves, the codec takes. */
    et_result_t r = {.event_id = 1, .service_ns = 100, .outcome = 1};
    r.detail = d;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_result(&b, &r), 0);
    et_result_t back;
    assert_int_equal(et_codec_decode_result(b.data, b.size, &back), 0);
    assert_true(back.detail.timed == 1 && back.detail.timing_ns[0] == 5);
    msgpack_sbuffer_destroy(&b);
}

static void
test_noop_echoes_input(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_noop;
    et_function_config_t cfg = s_config(NULL, ET_FUNCTION_MODE_SLEEP, 2);
    void *fn = s_init_ok(def, &cfg);
    static const char input[] = "\x93\x01\xa3"
                                "abc\xc0";
    assert_int_equal(s_call_echo(def, fn, 0, input, sizeof input - 1),
                     ET_STATUS_OK);
    assert_int_equal(s_call_echo(def, fn, 1, "", 0), ET_STATUS_OK);
    char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 31);
    assert_int_equal(s_call_echo(def, fn, 1, big, sizeof big), ET_STATUS_OK);
    def->fini(&fn);
    assert_null(fn);
    def->fini(&fn); /* idempotent */
}

static void
test_noop_rejects_options(void **state)
{
    (void)state;
    et_function_config_t cfg = s_config(NULL, ET_FUNCTION_MODE_SLEEP, 1);
    cfg.options[0] = "x=1";
    cfg.n_options = 1;
    void *fn = NULL;
    char why[128] = "";
    assert_int_equal(et_function_noop.init(&fn, &cfg, why, sizeof why), -1);
    assert_null(fn);
    assert_true(strlen(why) > 0);
}

// ---------------------------------------------------------------------------
// synthetic

static void
test_synthetic_sleep_never_returns_early(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg = s_config("const:2ms", ET_FUNCTION_MODE_SLEEP, 1);
    void *fn = s_init_ok(def, &cfg);
    for (int i = 0; i < 10; i++) {
        uint64_t start = et_clock_mono_ns();
        assert_int_equal(s_call_echo(def, fn, 0, "payload", 7), ET_STATUS_OK);
        assert_true(et_clock_mono_ns() - start >= 2 * ET_NS_PER_MS);
    }
    def->fini(&fn);
    assert_null(fn);
}

static void
test_synthetic_sleep_uses_no_cpu_to_speak_of(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg =
        s_config("const:50ms", ET_FUNCTION_MODE_SLEEP, 1);
    void *fn = s_init_ok(def, &cfg);
    uint64_t cpu = s_thread_cpu_ns();
    uint64_t start = et_clock_mono_ns();
    assert_int_equal(s_call_echo(def, fn, 0, "x", 1), ET_STATUS_OK);
    assert_true(et_clock_mono_ns() - start >= 50 * ET_NS_PER_MS);
    /* Sleeping costs microseconds of CPU; half the service time would
     * mean it spun. */
    assert_true(s_thread_cpu_ns() - cpu < 25 * ET_NS_PER_MS);
    def->fini(&fn);
}

static void
test_synthetic_spin_burns_thread_cpu(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg = s_config("const:20ms", ET_FUNCTION_MODE_SPIN, 1);
    void *fn = s_init_ok(def, &cfg);
    for (int i = 0; i < 3; i++) {
        uint64_t cpu = s_thread_cpu_ns();
        uint64_t start = et_clock_mono_ns();
        assert_int_equal(s_call_echo(def, fn, 0, "spin", 4), ET_STATUS_OK);
        assert_true(s_thread_cpu_ns() - cpu >= 20 * ET_NS_PER_MS);
        assert_true(et_clock_mono_ns() - start >= 20 * ET_NS_PER_MS);
    }
    def->fini(&fn);
}

static void
test_synthetic_zero_service_time_echoes(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg = s_config("const:0ms", ET_FUNCTION_MODE_SPIN, 1);
    void *fn = s_init_ok(def, &cfg);
    assert_int_equal(s_call_echo(def, fn, 0, "abc", 3), ET_STATUS_OK);
    assert_int_equal(s_call_echo(def, fn, 0, "", 0), ET_STATUS_OK);
    def->fini(&fn);
}

static void
test_synthetic_default_service_is_accepted(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg = s_config(NULL, ET_FUNCTION_MODE_SLEEP, 1);
    const char *flag = NULL, *value = NULL;
    char why[128];
    assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), 0);
    void *fn = s_init_ok(def, &cfg);
    def->fini(&fn);
}

static void
test_synthetic_rejects_bad_service_with_reason(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "bogus",
        "exp",
        "exp:",
        "exp:-1ms",
        "exp:10parsecs",
        "const:1h",
        "uniform:5ms",
        "uniform:9ms:1ms",
        "lognormal:10ms:99",
        "exp:1:2",
        "",
    };
    const et_function_def_t *def = &et_function_synthetic;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_function_config_t cfg = s_config(bad[i], ET_FUNCTION_MODE_SLEEP, 1);
        void *fn = NULL;
        char why[256] = "";
        assert_int_equal(def->init(&fn, &cfg, why, sizeof why), -1);
        assert_null(fn);
        assert_true(strlen(why) > 0);
        const char *flag = NULL, *value = NULL;
        why[0] = '\0';
        assert_int_equal(def->check(&cfg, &flag, &value, why, sizeof why), -1);
        assert_string_equal(flag, "--service");
        assert_string_equal(value, bad[i]);
        assert_true(strlen(why) > 0);
    }
}

static void
test_synthetic_rejects_options_and_bad_mode(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg = s_config("exp:1ms", ET_FUNCTION_MODE_SLEEP, 1);
    cfg.options[0] = "rate=3";
    cfg.n_options = 1;
    void *fn = NULL;
    char why[256] = "";
    assert_int_equal(def->init(&fn, &cfg, why, sizeof why), -1);
    assert_null(fn);
    cfg.n_options = 0;
    cfg.mode = (et_function_mode_t)7;
    assert_int_equal(def->init(&fn, &cfg, why, sizeof why), -1);
    assert_null(fn);
}

static void
test_synthetic_rejects_slot_out_of_range(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg = s_config("const:0ms", ET_FUNCTION_MODE_SLEEP, 2);
    void *fn = s_init_ok(def, &cfg);
    assert_int_equal(s_call_echo(def, fn, 1, "a", 1), ET_STATUS_OK);
    assert_int_equal(s_call_echo(def, fn, 2, "a", 1), ET_STATUS_ERROR);
    def->fini(&fn);
}

typedef struct {
    const et_function_def_t *def;
    void *fn;
    unsigned slot;
    int failures;
} s_caller_t;

static void *
s_caller_main(void *arg)
{
    s_caller_t *caller = arg;
    char input[64];
    for (int i = 0; i < 50; i++) {
        int len =
            snprintf(input, sizeof input, "slot %u call %d", caller->slot, i);
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init(&sbuf);
        et_function_output_t out = {.output = &sbuf,
                                    .outcome = ET_OUTCOME_NONE};
        int status = caller->def->handle(caller->fn, caller->slot, input,
                                         (size_t)len, &out);
        if (status != ET_STATUS_OK || sbuf.size != (size_t)len ||
            memcmp(sbuf.data, input, (size_t)len) != 0)
            caller->failures++;
        msgpack_sbuffer_destroy(&sbuf);
    }
    return NULL;
}

// Slots call handle concurrently (the sanitizers watch for races).
static void
test_synthetic_slots_run_concurrently(void **state)
{
    (void)state;
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg =
        s_config("uniform:0ms:1ms", ET_FUNCTION_MODE_SPIN, 4);
    void *fn = s_init_ok(def, &cfg);
    pthread_t threads[4];
    s_caller_t callers[4];
    for (unsigned i = 0; i < 4; i++) {
        callers[i] = (s_caller_t){.def = def, .fn = fn, .slot = i};
        assert_int_equal(
            pthread_create(&threads[i], NULL, s_caller_main, &callers[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(callers[i].failures, 0);
    }
    def->fini(&fn);
}

// The service distribution itself, checked by sampling rather than by
// the wall clock: exp:10ms has mean 10 ms and a standard deviation equal
// to it; 100000 draws put the sample mean within 1% with overwhelming
// probability (the standard error is 0.3%).
static void
test_synthetic_service_distribution_has_the_mean(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double mean_ns;
    } cases[] = {
        {"exp:10ms", 10e6},
        {"uniform:5ms:15ms", 10e6},
        {"const:2ms", 2e6},
        {"lognormal:10ms:0.5", 10e6 * 1.1331484530668263},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        et_dist_t dist;
        char why[128];
        assert_int_equal(et_dist_parse(cases[c].text, &dist, why, sizeof why),
                         0);
        et_rng_t rng;
        et_rng_seed(&rng, 42);
        double sum = 0;
        const int n = 100000;
        for (int i = 0; i < n; i++)
            sum += (double)et_dist_sample_ns(&dist, &rng);
        double mean = sum / n;
        assert_true(fabs(mean - cases[c].mean_ns) < 0.01 * cases[c].mean_ns);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_finds_builtins),
        cmocka_unit_test(test_registry_does_not_find_unknown),
        cmocka_unit_test(test_option_returns_last_value_of_key),
        cmocka_unit_test(test_check_options_rejects_unknown_keys),
        cmocka_unit_test(test_option_entry_and_error_name_the_whole_option),
        cmocka_unit_test(test_parse_bool_takes_the_usual_words),
        cmocka_unit_test(
            test_function_time_adds_up_per_kind_and_ignores_nonsense),
        cmocka_unit_test(
            test_function_clean_detail_drops_what_the_wire_refuses),
        cmocka_unit_test(test_noop_echoes_input),
        cmocka_unit_test(test_noop_rejects_options),
        cmocka_unit_test(test_synthetic_sleep_never_returns_early),
        cmocka_unit_test(test_synthetic_sleep_uses_no_cpu_to_speak_of),
        cmocka_unit_test(test_synthetic_spin_burns_thread_cpu),
        cmocka_unit_test(test_synthetic_zero_service_time_echoes),
        cmocka_unit_test(test_synthetic_default_service_is_accepted),
        cmocka_unit_test(test_synthetic_rejects_bad_service_with_reason),
        cmocka_unit_test(test_synthetic_rejects_options_and_bad_mode),
        cmocka_unit_test(test_synthetic_rejects_slot_out_of_range),
        cmocka_unit_test(test_synthetic_slots_run_concurrently),
        cmocka_unit_test(test_synthetic_service_distribution_has_the_mean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
