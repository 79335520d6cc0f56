/* Unit tests for synthetic's token service model (--service tokens): the
 * check hook accepts the documented forms and refuses the rest, the service
 * time is ctx x PREFILL + gen x PER_TOKEN, and an event without valid
 * {ctx, gen} is an error result. Timing is asserted as lower bounds, with
 * a generous upper bound: a shared machine makes calls slower, never
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
#include "workers/function.h"

#include <msgpack.h>
#include <string.h>

static et_function_config_t
s_config(const char *service)
{
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.service = service;
    cfg.mode = ET_FUNCTION_MODE_SLEEP;
    cfg.seed = 1;
    cfg.pid = 1234;
    cfg.slots = 1;
    cfg.max_payload = ET_PAYLOAD_DEFAULT_MAX;
    return cfg;
}

static void *
s_init_ok(const char *service)
{
    const et_function_def_t *def = &et_function_synthetic;
    et_function_config_t cfg = s_config(service);
    void *state = NULL;
    char why[256] = "";
    if (def->init(&state, &cfg, why, sizeof why) != 0)
        fail_msg("init '%s' failed: %s", service, why);
    return state;
}

// Call handle on 'input'; on success the output echoes the input. Sets
// *took_ns to the call's wall time.
static int
s_call(void *state, const msgpack_sbuffer *input, uint64_t *took_ns)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    et_function_output_t result = {.output = &out, .outcome = ET_OUTCOME_NONE};
    uint64_t t0 = et_clock_mono_ns();
    int status = et_function_synthetic.handle(state, 0, input->data,
                                              input->size, &result);
    *took_ns = et_clock_mono_ns() - t0;
    if (status == ET_STATUS_OK) {
        assert_int_equal(out.size, input->size);
        assert_memory_equal(out.data, input->data, input->size);
    }
    msgpack_sbuffer_destroy(&out);
    return status;
}

// The trace payload {seq, ctx, gen}.
static void
s_trace_payload(msgpack_sbuffer *buf, uint64_t ctx, uint64_t gen)
{
    msgpack_sbuffer_clear(buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_map(&pk, 3), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, "seq", 3), 0);
    assert_int_equal(msgpack_pack_uint64(&pk, 9), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, "ctx", 3), 0);
    assert_int_equal(msgpack_pack_uint64(&pk, ctx), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, "gen", 3), 0);
    assert_int_equal(msgpack_pack_uint64(&pk, gen), 0);
}

static void
test_tokens_service_is_accepted(void **state)
{
    (void)state;
    static const char *const good[] = {"tokens", "tokens:0.2ms:5ms",
                                       "tokens:0:0", "tokens:100us:1"};
    const et_function_def_t *def = &et_function_synthetic;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        et_function_config_t cfg = s_config(good[i]);
        const char *flag = NULL, *value = NULL;
        char why[256] = "";
        if (def->check(&cfg, &flag, &value, why, sizeof why) != 0)
            fail_msg("'%s' refused: %s", good[i], why);
        void *fn = s_init_ok(good[i]);
        def->fini(&fn);
        assert_null(fn);
    }
}

static void
test_bad_tokens_service_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "tokens:",
        "tokens:1ms",
        "tokens:1ms:",
        "tokens::1ms",
        "tokens:1ms:2ms:3ms",
        "tokens:-1ms:1ms",
        "tokens:1ms:61s",
        "tokens:1h:1ms",
        "tokens:abc:1ms",
        "tokensx",
        "Tokens",
        "tokens 1ms 1ms",
    };
    const et_function_def_t *def = &et_function_synthetic;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        et_function_config_t cfg = s_config(bad[i]);
        const char *flag = NULL, *value = NULL;
        char why[256] = "";
        if (def->check(&cfg, &flag, &value, why, sizeof why) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_string_equal(flag, "--service");
        assert_string_equal(value, bad[i]);
        assert_true(strlen(why) > 0);
        void *fn = NULL;
        assert_int_equal(def->init(&fn, &cfg, why, sizeof why), -1);
        assert_null(fn);
    }
}

// 100 prompt tokens x 0.1 ms + 2 generated x 5 ms = 20 ms.
static void
test_service_time_follows_token_counts(void **state)
{
    (void)state;
    void *fn = s_init_ok("tokens:0.1ms:5ms");
    msgpack_sbuffer in;
    msgpack_sbuffer_init(&in);
    uint64_t took = 0;
    s_trace_payload(&in, 100, 2);
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_OK);
    assert_true(took >= 20 * ET_NS_PER_MS);
    assert_true(took < 20 * ET_NS_PER_MS + 500 * ET_NS_PER_MS);
    // Twice the generated tokens: 10 + 20 = 30 ms.
    s_trace_payload(&in, 100, 4);
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_OK);
    assert_true(took >= 30 * ET_NS_PER_MS);
    // No tokens at all: no wait to speak of.
    s_trace_payload(&in, 0, 0);
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_OK);
    assert_true(took < 5 * ET_NS_PER_MS);
    msgpack_sbuffer_destroy(&in);
    et_function_synthetic.fini(&fn);
}

// The defaults: 0.1 ms per prompt token, 10 ms per generated token.
static void
test_default_token_costs(void **state)
{
    (void)state;
    void *fn = s_init_ok("tokens");
    msgpack_sbuffer in;
    msgpack_sbuffer_init(&in);
    uint64_t took = 0;
    s_trace_payload(&in, 200, 1); // 20 ms + 10 ms
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_OK);
    assert_true(took >= 30 * ET_NS_PER_MS);
    assert_true(took < 30 * ET_NS_PER_MS + 500 * ET_NS_PER_MS);
    msgpack_sbuffer_destroy(&in);
    et_function_synthetic.fini(&fn);
}

static void
test_event_without_valid_tokens_is_an_error(void **state)
{
    (void)state;
    void *fn = s_init_ok("tokens:0:0");
    msgpack_sbuffer in;
    msgpack_sbuffer_init(&in);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &in, msgpack_sbuffer_write);
    uint64_t took;

    // Empty input.
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_ERROR);
    // The synthetic source's [seq]: no token fields.
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_ERROR);
    // gen missing.
    msgpack_sbuffer_clear(&in);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "ctx", 3);
    msgpack_pack_uint64(&pk, 5);
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_ERROR);
    // Negative, float, string and repeated counts.
    static const int kinds = 4;
    for (int kind = 0; kind < kinds; kind++) {
        msgpack_sbuffer_clear(&in);
        msgpack_pack_map(&pk, kind == 3 ? 3 : 2);
        msgpack_pack_str_with_body(&pk, "ctx", 3);
        msgpack_pack_uint64(&pk, 5);
        msgpack_pack_str_with_body(&pk, "gen", 3);
        if (kind == 0)
            msgpack_pack_int64(&pk, -1);
        else if (kind == 1)
            msgpack_pack_double(&pk, 3.0);
        else if (kind == 2)
            msgpack_pack_str_with_body(&pk, "3", 1);
        else {
            msgpack_pack_uint64(&pk, 3);
            msgpack_pack_str_with_body(&pk, "gen", 3);
            msgpack_pack_uint64(&pk, 4);
        }
        if (s_call(fn, &in, &took) != ET_STATUS_ERROR)
            fail_msg("case %d accepted", kind);
    }
    // A valid map followed by trailing bytes, and a truncated map.
    s_trace_payload(&in, 1, 1);
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_OK);
    msgpack_pack_nil(&pk);
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_ERROR);
    s_trace_payload(&in, 1, 1);
    in.size -= 1;
    assert_int_equal(s_call(fn, &in, &took), ET_STATUS_ERROR);
    msgpack_sbuffer_destroy(&in);
    et_function_synthetic.fini(&fn);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_service_is_accepted),
        cmocka_unit_test(test_bad_tokens_service_is_refused),
        cmocka_unit_test(test_service_time_follows_token_counts),
        cmocka_unit_test(test_default_token_costs),
        cmocka_unit_test(test_event_without_valid_tokens_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
