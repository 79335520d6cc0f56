/* Unit tests for the decide function: every rules-file error names the file,
 * the line and the problem; decisions follow first-match order with a
 * final 'otherwise'; a missing field fails only the rules that need it;
 * outcomes are decision indices; the shipped rules files parse. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/codec.h"
#include "workers/function.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// Helpers

static const et_function_def_t *s_def = &et_function_decide;
static char s_dir[64];
static char s_path[128];
static char s_option[160];

static int
s_setup(void **unused)
{
    (void)unused;
    snprintf(s_dir, sizeof s_dir, "/tmp/et_test_decide.XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_path, sizeof s_path, "%s/test.rules", s_dir);
    snprintf(s_option, sizeof s_option, "rules=%s", s_path);
    return 0;
}

static int
s_teardown(void **unused)
{
    (void)unused;
    unlink(s_path);
    rmdir(s_dir);
    return 0;
}

static void
s_write(const char *text, size_t len)
{
    FILE *f = fopen(s_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static et_function_config_t
s_config(const char *option)
{
    et_function_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.slots = 1;
    cfg.max_payload = ET_PAYLOAD_DEFAULT_MAX;
    if (option) {
        cfg.options[0] = option;
        cfg.n_options = 1;
    }
    return cfg;
}

// check() and init() must both refuse 'text' with why == "PATH:LINE: ..."
// (or "PATH: ..." for line 0) starting with 'problem'.
static void
s_expect_error_len(const char *text, size_t len, unsigned line,
                   const char *problem)
{
    s_write(text, len);
    et_function_config_t cfg = s_config(s_option);
    char expected[512];
    if (line > 0)
        snprintf(expected, sizeof expected, "%s:%u: %s", s_path, line, problem);
    else
        snprintf(expected, sizeof expected, "%s: %s", s_path, problem);

    const char *flag = NULL, *value = NULL;
    char why[512] = "";
    if (s_def->check(&cfg, &flag, &value, why, sizeof why) == 0)
        fail_msg("accepted: %s", text);
    if (strncmp(why, expected, strlen(expected)) != 0)
        fail_msg("why '%s'\nwanted '%s...'", why, expected);
    assert_string_equal(flag, "--option");
    assert_string_equal(value, s_option);

    void *state = NULL;
    char why_init[512] = "";
    assert_int_equal(s_def->init(&state, &cfg, why_init, sizeof why_init), -1);
    assert_null(state);
    assert_string_equal(why_init, why);
}

static void
s_expect_error(const char *text, unsigned line, const char *problem)
{
    s_expect_error_len(text, strlen(text), line, problem);
}

static void *
s_load(const char *text)
{
    s_write(text, strlen(text));
    et_function_config_t cfg = s_config(s_option);
    const char *flag, *value;
    char why[512] = "";
    if (s_def->check(&cfg, &flag, &value, why, sizeof why) != 0)
        fail_msg("check failed: %s", why);
    void *state = NULL;
    if (s_def->init(&state, &cfg, why, sizeof why) != 0)
        fail_msg("init failed: %s", why);
    assert_non_null(state);
    return state;
}

// An input map from "key=value" strings: a value that parses fully as a
// number is packed as a double (or an integer with a trailing 'i'), 'nil'
// as nil, '[...]' as a 2-element array, anything else as a string.
static void
s_pack_input(msgpack_sbuffer *sbuf, const char *const *fields, int n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(fields[i], '=');
        assert_non_null(eq);
        msgpack_pack_str_with_body(&pk, fields[i], (size_t)(eq - fields[i]));
        const char *v = eq + 1;
        char *end;
        double d = strtod(v, &end);
        if (strcmp(v, "nil") == 0) {
            msgpack_pack_nil(&pk);
        } else if (v[0] == '[') {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_double(&pk, 0.5);
            msgpack_pack_double(&pk, 1.5);
        } else if (end != v && strcmp(end, "i") == 0) {
            msgpack_pack_int64(&pk, (int64_t)d);
        } else if (end != v && *end == '\0') {
            msgpack_pack_double(&pk, d);
        } else {
            msgpack_pack_str_with_body(&pk, v, strlen(v));
        }
    }
}

typedef struct {
    int status;
    int32_t outcome;
    double score;
    char decision[32];
    msgpack_sbuffer output;
} s_result_t;

static void
s_run_raw(void *state, const void *input, size_t size, s_result_t *r)
{
    memset(r, 0, sizeof *r);
    msgpack_sbuffer_init(&r->output);
    et_function_output_t out = {.output = &r->output,
                                .outcome = ET_OUTCOME_NONE};
    r->status = s_def->handle(state, 0, input, size, &out);
    r->outcome = out.outcome;
    r->score = out.score;
    if (r->status != ET_STATUS_OK)
        return;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    assert_int_equal(
        msgpack_unpack_next(&up, r->output.data, r->output.size, &off),
        MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, r->output.size);
    assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
    msgpack_object_map *map = &up.data.via.map;
    // 'decision' is the last entry, and the only one.
    assert_true(map->size >= 1);
    msgpack_object_kv *last = &map->ptr[map->size - 1];
    assert_int_equal(last->key.via.str.size, 8);
    assert_memory_equal(last->key.via.str.ptr, "decision", 8);
    assert_int_equal(last->val.type, MSGPACK_OBJECT_STR);
    assert_true(last->val.via.str.size < sizeof r->decision);
    memcpy(r->decision, last->val.via.str.ptr, last->val.via.str.size);
    for (uint32_t i = 0; i + 1 < map->size; i++)
        assert_false(map->ptr[i].key.via.str.size == 8 &&
                     memcmp(map->ptr[i].key.via.str.ptr, "decision", 8) == 0);
    msgpack_unpacked_destroy(&up);
}

static void
s_run(void *state, const char *const *fields, int n, s_result_t *r)
{
    msgpack_sbuffer in;
    msgpack_sbuffer_init(&in);
    s_pack_input(&in, fields, n);
    s_run_raw(state, in.data, in.size, r);
    msgpack_sbuffer_destroy(&in);
}

// The decision for 'fields'; asserts success and outcome/decision agree.
static const char *
s_decide(void *state, const char *const *fields, int n, int32_t outcome)
{
    static s_result_t r;
    s_run(state, fields, n, &r);
    assert_int_equal(r.status, ET_STATUS_OK);
    assert_int_equal(r.outcome, outcome);
    msgpack_sbuffer_destroy(&r.output);
    return r.decision;
}

#define S_FIELDS(...)                                                          \
    (const char *const[])                                                      \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
#define S_COUNT(...) (int)(sizeof S_FIELDS(__VA_ARGS__) / sizeof(char *))
#define S_DECIDE(state, outcome, ...)                                          \
    s_decide((state), S_FIELDS(__VA_ARGS__), S_COUNT(__VA_ARGS__), (outcome))

static const char s_fraud_like[] = "# fraud rules\n"
                                   "decisions approve review block\n"
                                   "block  if score >= 0.90\n"
                                   "review if score >= 0.50\n"
                                   "review if amount >= 5000\n"
                                   "approve otherwise\n";

// ---------------------------------------------------------------------------
// Parsing

static void
test_decide_reports_each_parse_error_with_file_and_line(void **unused)
{
    (void)unused;
    s_expect_error("", 0, "no 'decisions' line");
    s_expect_error("# only a comment\n\n", 0, "no 'decisions' line");
    s_expect_error("approve otherwise\n", 1,
                   "expected 'decisions NAME...' before any rule");
    s_expect_error("decisions a\n", 1, "'decisions' needs at least two");
    s_expect_error("decisions a b\ndecisions c d\n", 2,
                   "a second 'decisions' line");
    s_expect_error("decisions a a\n", 1, "decision 'a' listed twice");
    s_expect_error("decisions a b!\n", 1, "bad decision name 'b!'");
    s_expect_error("decisions a otherwise\n", 1,
                   "'otherwise' is a keyword, not a decision name");
    s_expect_error("decisions a b c d e f g h i j k l m n o p q\n", 1,
                   "more than 16 decisions");
    s_expect_error("decisions a b\n\n# c\nc otherwise\n", 4,
                   "unknown decision 'c'");
    s_expect_error("decisions a b\na\n", 2,
                   "expected 'if' or 'otherwise' after 'a'");
    s_expect_error("decisions a b\na when score > 1\n", 2,
                   "expected 'if' or 'otherwise', not 'when'");
    s_expect_error("decisions a b\na otherwise now\n", 2,
                   "unexpected 'now' after 'otherwise'");
    s_expect_error("decisions a b\na if score >\n", 2,
                   "expected a condition FIELD OP NUMBER");
    s_expect_error("decisions a b\na if\n", 2,
                   "expected a condition FIELD OP NUMBER");
    s_expect_error("decisions a b\na if 9x > 1\n", 2, "bad field name '9x'");
    s_expect_error("decisions a b\na if score => 1\n", 2,
                   "unknown operator '=>'");
    s_expect_error("decisions a b\na if score = 1\n", 2,
                   "unknown operator '='");
    s_expect_error("decisions a b\na if score > high\n", 2,
                   "'high' is not a finite decimal number");
    s_expect_error("decisions a b\na if score > inf\n", 2,
                   "'inf' is not a finite decimal number");
    s_expect_error("decisions a b\na if score > 0x10\n", 2,
                   "'0x10' is not a finite decimal number");
    s_expect_error("decisions a b\na if score > 1e999\n", 2,
                   "'1e999' is not a finite decimal number");
    s_expect_error("decisions a b\na if score > 1.2.3\n", 2,
                   "'1.2.3' is not a finite decimal number");
    s_expect_error("decisions a b\na if score > 1 or amount > 2\n", 2,
                   "expected 'and' or the end of the line, not 'or'");
    s_expect_error("decisions a b\na if score > 1 and\n", 2,
                   "expected a condition FIELD OP NUMBER");
    s_expect_error("decisions a b\n"
                   "a if x > 1 and x > 2 and x > 3 and x > 4 and x > 5\n",
                   2, "more than 4 conditions in one rule");
    s_expect_error("decisions a b\nb otherwise\na if score > 1\n", 3,
                   "rule after 'otherwise' (line 2)");
    s_expect_error("decisions a b\nb if score > 1\n", 0, "no 'otherwise' rule");
    s_expect_error("decisions a b\n\x01 otherwise\n", 2,
                   "control or non-ASCII byte");
    s_expect_error("decisions a b\na if sc\xc3\xb6re > 1\n", 2,
                   "control or non-ASCII byte");
    static const char s_nul[] = "decisions a b\na oth\0erwise\n";
    s_expect_error_len(s_nul, sizeof s_nul - 1, 2, "NUL byte");
    s_expect_error("decisions a b c d e f g h i j k l m n o p q r s t u v w "
                   "x\n",
                   1, "more than 24 words on one line");

    // A line over 256 bytes.
    char text[400];
    snprintf(text, sizeof text, "decisions a b\n#%0300d\n", 0);
    s_expect_error(text, 2, "line longer than 256 bytes");

    // 257 rules.
    size_t size = 257 * 32 + 64;
    char *big = malloc(size);
    assert_non_null(big);
    size_t pos = (size_t)snprintf(big, size, "decisions a b\n");
    for (int i = 0; i < 257; i++)
        pos += (size_t)snprintf(big + pos, size - pos, "a if x > %d\n", i);
    s_expect_error(big, 258, "more than 256 rules");
    free(big);

    // Larger than 64 KiB (all comments).
    size = 70000;
    big = malloc(size + 1);
    assert_non_null(big);
    memset(big, '#', size);
    for (size_t i = 100; i < size; i += 100)
        big[i] = '\n';
    big[size] = '\0';
    s_expect_error(big, 0, "larger than 65536 bytes");
    free(big);
}

static void
test_decide_reports_unreadable_files(void **unused)
{
    (void)unused;
    unlink(s_path);
    et_function_config_t cfg = s_config(s_option);
    const char *flag, *value;
    char why[512];
    assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why), -1);
    char expected[256];
    snprintf(expected, sizeof expected, "%s: cannot open: ", s_path);
    assert_memory_equal(why, expected, strlen(expected));

    char option[160];
    snprintf(option, sizeof option, "rules=%s", s_dir);
    cfg = s_config(option);
    assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why), -1);
    snprintf(expected, sizeof expected, "%s: not a regular file", s_dir);
    assert_string_equal(why, expected);
}

static void
test_decide_requires_rules_and_no_other_option(void **unused)
{
    (void)unused;
    const char *flag, *value;
    char why[256];
    et_function_config_t cfg = s_config(NULL);
    assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why), -1);
    assert_string_equal(flag, "--option");
    assert_null(value);
    assert_non_null(strstr(why, "rules=PATH is required"));
    void *state = NULL;
    assert_int_equal(s_def->init(&state, &cfg, why, sizeof why), -1);

    cfg = s_config("rules=");
    assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why), -1);

    s_write(s_fraud_like, strlen(s_fraud_like));
    cfg = s_config(s_option);
    cfg.options[1] = "threshold=3";
    cfg.n_options = 2;
    assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why), -1);
    assert_string_equal(value, "threshold=3");
}

static void
test_decide_accepts_comments_blank_lines_tabs_and_crlf(void **unused)
{
    (void)unused;
    void *state =
        s_load("\r\n"
               "  # leading comment\r\n"
               "decisions\tok  alert # trailing comment: caf\xc3\xa9\r\n"
               "\n"
               "\talert if score >= 4 and value != -1.5e0 \r\n"
               "ok otherwise"); // no final newline
    assert_string_equal(S_DECIDE(state, 1, "score=4.0", "value=2"), "alert");
    assert_string_equal(S_DECIDE(state, 0, "score=4.0", "value=-1.5"), "ok");
    assert_string_equal(S_DECIDE(state, 0, "score=3.99", "value=2"), "ok");
    s_def->fini(&state);
    assert_null(state);
    s_def->fini(&state); // idempotent
}

// ---------------------------------------------------------------------------
// Deciding

/* decide with shadow_score=FIELD on 'fields': the verdict, and the
 * shadow verdict (NONE when there is none). */
static void
s_decide_shadow(void *state, const char *const *fields, int n, int32_t outcome,
                int32_t shadow)
{
    msgpack_sbuffer in, output;
    msgpack_sbuffer_init(&in);
    msgpack_sbuffer_init(&output);
    s_pack_input(&in, fields, n);
    et_function_output_t out = {.output = &output,
                                .outcome = ET_OUTCOME_NONE,
                                .shadow_outcome = ET_OUTCOME_NONE};
    assert_int_equal(s_def->handle(state, 0, in.data, in.size, &out),
                     ET_STATUS_OK);
    assert_int_equal(out.outcome, outcome);
    assert_int_equal(out.shadow_outcome, shadow);
    msgpack_sbuffer_destroy(&output);
    msgpack_sbuffer_destroy(&in);
}

// The same rules decide again with "score" read from the shadow's field:
// every rule that reads score (and only those) sees the shadow's.
static void
test_decide_shadow_score_gives_a_shadow_verdict(void **unused)
{
    (void)unused;
    s_write(s_fraud_like, strlen(s_fraud_like));
    et_function_config_t cfg = s_config(s_option);
    cfg.options[1] = "shadow_score=raw";
    cfg.n_options = 2;
    const char *flag, *value;
    char why[256] = "";
    assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why), 0);
    void *state = NULL;
    if (s_def->init(&state, &cfg, why, sizeof why) != 0)
        fail_msg("init failed: %s", why);
    s_decide_shadow(state, S_FIELDS("score=0.95", "raw=0.2", "amount=10"), 3, 2,
                    0);
    s_decide_shadow(state, S_FIELDS("score=0.1", "raw=0.6", "amount=10"), 3, 0,
                    1);
    s_decide_shadow(state, S_FIELDS("score=0.1", "raw=0.0", "amount=6000"), 3,
                    1, 1);
    // No shadow score in the payload: no shadow verdict.
    s_decide_shadow(state, S_FIELDS("score=0.95", "amount=10"), 2, 2,
                    ET_OUTCOME_NONE);
    s_decide_shadow(state, S_FIELDS("score=0.95", "raw=nil"), 2, 2,
                    ET_OUTCOME_NONE);
    s_def->fini(&state);
    // Without the option there is never one.
    state = s_load(s_fraud_like);
    s_decide_shadow(state, S_FIELDS("score=0.95", "raw=0.2"), 2, 2,
                    ET_OUTCOME_NONE);
    s_def->fini(&state);
    // The field must be a name.
    const char *bad[] = {"shadow_score=", "shadow_score=9x", "shadow_score=a b",
                         "shadow_score=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.options[1] = bad[i];
        assert_int_equal(s_def->check(&cfg, &flag, &value, why, sizeof why),
                         -1);
        assert_string_equal(value, bad[i]);
        state = NULL;
        assert_int_equal(s_def->init(&state, &cfg, why, sizeof why), -1);
        assert_null(state);
    }
}

static void
test_decide_first_matching_rule_wins(void **unused)
{
    (void)unused;
    void *state = s_load(s_fraud_like);
    assert_string_equal(S_DECIDE(state, 2, "score=0.95", "amount=10"), "block");
    // Matches both block and the amount rule: block comes first.
    assert_string_equal(S_DECIDE(state, 2, "score=0.95", "amount=9000"),
                        "block");
    assert_string_equal(S_DECIDE(state, 1, "score=0.5", "amount=10"), "review");
    assert_string_equal(S_DECIDE(state, 1, "score=0.1", "amount=5000"),
                        "review");
    assert_string_equal(S_DECIDE(state, 0, "score=0.1", "amount=4999.99"),
                        "approve");
    // Integer fields compare as numbers too.
    assert_string_equal(S_DECIDE(state, 1, "score=0i", "amount=7000i"),
                        "review");
    assert_string_equal(S_DECIDE(state, 0, "score=0i", "amount=-7000i"),
                        "approve");
    s_def->fini(&state);
}

static void
test_decide_missing_field_only_fails_its_rules(void **unused)
{
    (void)unused;
    void *state = s_load(s_fraud_like);
    // No score: the score rules do not match, the amount rule still can.
    assert_string_equal(S_DECIDE(state, 1, "amount=6000"), "review");
    assert_string_equal(S_DECIDE(state, 0, "amount=10"), "approve");
    assert_string_equal(S_DECIDE(state, 0, "tx=1"), "approve");
    // A field that is not a number counts as missing.
    assert_string_equal(S_DECIDE(state, 0, "score=high", "amount=1"),
                        "approve");
    assert_string_equal(S_DECIDE(state, 0, "score=nil", "amount=1"), "approve");
    assert_string_equal(S_DECIDE(state, 0, "score=[]", "amount=1"), "approve");
    assert_string_equal(S_DECIDE(state, 0, "score=nan", "amount=1"), "approve");
    // "otherwise" alone decides an empty map.
    assert_string_equal(S_DECIDE(state, 0, "x=1"), "approve");
    s_def->fini(&state);
}

static void
test_decide_operators_and_conjunctions(void **unused)
{
    (void)unused;
    void *state = s_load("decisions none ge gt le lt eq ne both\n"
                         "both if x >= 1 and y < 0\n"
                         "eq if x == 2\n"
                         "gt if x > 2\n"
                         "ge if x >= 1\n"
                         "lt if x < -2\n"
                         "le if x <= -2\n"
                         "ne if x != 0\n"
                         "none otherwise\n");
    assert_string_equal(S_DECIDE(state, 7, "x=1", "y=-1"), "both");
    assert_string_equal(S_DECIDE(state, 1, "x=1", "y=0"), "ge");
    assert_string_equal(S_DECIDE(state, 5, "x=2"), "eq");
    assert_string_equal(S_DECIDE(state, 2, "x=2.5"), "gt");
    assert_string_equal(S_DECIDE(state, 1, "x=1"), "ge");
    assert_string_equal(S_DECIDE(state, 4, "x=-2.5"), "lt");
    assert_string_equal(S_DECIDE(state, 3, "x=-2"), "le");
    assert_string_equal(S_DECIDE(state, 6, "x=0.5"), "ne");
    assert_string_equal(S_DECIDE(state, 0, "x=0"), "none");
    s_def->fini(&state);
}

static void
test_decide_output_copies_scalars_and_sets_score(void **unused)
{
    (void)unused;
    void *state = s_load(s_fraud_like);
    s_result_t r;
    const char *const in[] = {"tx=42i",      "card=7i",    "amount=120",
                              "features=[]", "score=0.97", "decision=stale",
                              "note=hi"};
    s_run(state, in, 7, &r);
    assert_int_equal(r.status, ET_STATUS_OK);
    assert_int_equal(r.outcome, 2);
    assert_true(r.score == 0.97);
    assert_string_equal(r.decision, "block");
    // tx, card, amount, score, note, decision: no features, one decision.
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    assert_int_equal(
        msgpack_unpack_next(&up, r.output.data, r.output.size, &off),
        MSGPACK_UNPACK_SUCCESS);
    const char *keys[] = {"tx", "card", "amount", "score", "note", "decision"};
    assert_int_equal(up.data.via.map.size, 6);
    for (int i = 0; i < 6; i++) {
        msgpack_object_str *k = &up.data.via.map.ptr[i].key.via.str;
        assert_int_equal(k->size, strlen(keys[i]));
        assert_memory_equal(k->ptr, keys[i], k->size);
    }
    assert_int_equal(up.data.via.map.ptr[0].val.type,
                     MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(up.data.via.map.ptr[0].val.via.u64, 42);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&r.output);

    // No score: the reported score is 0.
    const char *const no_score[] = {"amount=10"};
    s_run(state, no_score, 1, &r);
    assert_int_equal(r.status, ET_STATUS_OK);
    assert_int_equal(r.outcome, 0);
    assert_true(r.score == 0);
    msgpack_sbuffer_destroy(&r.output);
    s_def->fini(&state);
}

static void
test_decide_rejects_malformed_input(void **unused)
{
    (void)unused;
    void *state = s_load(s_fraud_like);
    s_result_t r;
    const char *bad[] = {
        "",                 // empty
        "\x93\x01\x02\x03", // an array
        "\x81\x01\x02",     // integer key
        "\x82\xa1x\x01",    // truncated
        "\x80\x80",         // two objects
        "\xc1",             // reserved byte
    };
    const size_t sizes[] = {0, 4, 3, 4, 2, 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_run_raw(state, bad[i], sizes[i], &r);
        if (r.status != ET_STATUS_ERROR)
            fail_msg("bad input %zu accepted", i);
        msgpack_sbuffer_destroy(&r.output);
    }
    s_def->fini(&state);
}

// ---------------------------------------------------------------------------
// The shipped rules files

// The source tree's root, from this file's path (CMake compiles with
// absolute paths) or $ET_ROOT.
static void
s_shipped(const char *name, char *option, size_t size)
{
    const char *root = getenv("ET_ROOT");
    char from_file[512];
    if (!root) {
        snprintf(from_file, sizeof from_file, "%s", __FILE__);
        char *cut = strstr(from_file, "tests/unit/test_decide.c");
        assert_non_null(cut);
        *cut = '\0';
        root = from_file;
    }
    snprintf(option, size, "rules=%s%s%s", root,
             root[0] && root[strlen(root) - 1] != '/' ? "/" : "", name);
}

static void *
s_load_shipped(const char *name)
{
    char option[600];
    s_shipped(name, option, sizeof option);
    et_function_config_t cfg = s_config(option);
    const char *flag, *value;
    char why[512] = "";
    if (s_def->check(&cfg, &flag, &value, why, sizeof why) != 0)
        fail_msg("%s: %s", name, why);
    void *state = NULL;
    if (s_def->init(&state, &cfg, why, sizeof why) != 0)
        fail_msg("%s: %s", name, why);
    return state;
}

static void
test_decide_shipped_rules_parse_and_decide(void **unused)
{
    (void)unused;
    void *fraud = s_load_shipped("workflows/rules/fraud.rules");
    assert_string_equal(S_DECIDE(fraud, 2, "tx=1i", "amount=20", "score=0.93"),
                        "block");
    assert_string_equal(S_DECIDE(fraud, 1, "tx=2i", "amount=20", "score=0.6"),
                        "review");
    assert_string_equal(S_DECIDE(fraud, 0, "tx=3i", "amount=20", "score=0.01"),
                        "approve");
    s_def->fini(&fraud);

    void *sensor = s_load_shipped("workflows/rules/sensor.rules");
    // The anomaly function decides what is an alarm; a high score alone
    // is not one.
    assert_string_equal(S_DECIDE(sensor, 1, "series=m", "ts=1", "value=80",
                                 "score=4", "alarm=1i"),
                        "alert");
    assert_string_equal(S_DECIDE(sensor, 0, "series=m", "ts=1", "value=80",
                                 "score=40", "alarm=0i"),
                        "ok");
    assert_string_equal(
        S_DECIDE(sensor, 0, "series=m", "ts=1", "value=80", "score=40"), "ok");
    s_def->fini(&sensor);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_decide_reports_each_parse_error_with_file_and_line),
        cmocka_unit_test(test_decide_reports_unreadable_files),
        cmocka_unit_test(test_decide_requires_rules_and_no_other_option),
        cmocka_unit_test(
            test_decide_accepts_comments_blank_lines_tabs_and_crlf),
        cmocka_unit_test(test_decide_shadow_score_gives_a_shadow_verdict),
        cmocka_unit_test(test_decide_first_matching_rule_wins),
        cmocka_unit_test(test_decide_missing_field_only_fails_its_rules),
        cmocka_unit_test(test_decide_operators_and_conjunctions),
        cmocka_unit_test(test_decide_output_copies_scalars_and_sets_score),
        cmocka_unit_test(test_decide_rejects_malformed_input),
        cmocka_unit_test(test_decide_shipped_rules_parse_and_decide),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
