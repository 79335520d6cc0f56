/* Fuzz target: decide's rules-file parser, through the function interface.
 * The input is written as a rules file (rules=PATH); check and init must
 * agree, fail with a "PATH..." reason, and rules that load must decide a
 * few payloads with an outcome and a "decision" entry. */
#include "workers/function.h"

#include "common/codec.h"

#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_path[64];
static char s_option[80];
static msgpack_sbuffer s_payloads[3];

static void
s_fail(const char *what)
{
    fprintf(stderr, "fuzz_rules: %s\n", what);
    abort();
}

static void
s_unlink(void)
{
    if (s_path[0] != '\0')
        unlink(s_path);
}

/* {score, amount, value} maps with a spread of values, and an empty map. */
static void
s_make_payloads(void)
{
    static const double s_values[2][3] = {{0.95, 7000, -3}, {0.2, 12.5, 40}};
    static const char *const s_keys[3] = {"score", "amount", "value"};
    for (int i = 0; i < 3; i++) {
        msgpack_sbuffer_init(&s_payloads[i]);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &s_payloads[i], msgpack_sbuffer_write);
        int n = i < 2 ? 3 : 0;
        if (msgpack_pack_map(&pk, (size_t)n) != 0)
            s_fail("pack");
        for (int k = 0; k < n; k++)
            if (msgpack_pack_str_with_body(&pk, s_keys[k], strlen(s_keys[k])) !=
                    0 ||
                msgpack_pack_double(&pk, s_values[i][k]) != 0)
                s_fail("pack");
    }
}

/* The output must be one map holding a string "decision". */
static void
s_check_output(const msgpack_sbuffer *out)
{
    if (et_codec_precheck(out->data, out->size) != 0)
        s_fail("output is not one msgpack object");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, out->data, out->size, &off) !=
            MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP)
        s_fail("output is not a map");
    int found = 0;
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 8 &&
            memcmp(kv->key.via.str.ptr, "decision", 8) == 0) {
            if (kv->val.type != MSGPACK_OBJECT_STR || kv->val.via.str.size == 0)
                s_fail("decision is not a name");
            found++;
        }
    }
    if (found != 1)
        s_fail("not exactly one decision in the output");
    msgpack_unpacked_destroy(&u);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(s_path, sizeof s_path, "/tmp/et-fuzz-rules-%ld.rules",
             (long)getpid());
    snprintf(s_option, sizeof s_option, "rules=%s", s_path);
    s_make_payloads();
    atexit(s_unlink);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_path[0] == '\0')
        LLVMFuzzerInitialize(NULL, NULL);
    FILE *f = fopen(s_path, "wb");
    if (!f || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        s_fail("cannot write the rules file");

    const et_function_def_t *def = et_function_find("decide");
    if (!def || !def->check || !def->init || !def->handle || !def->fini)
        s_fail("no decide function");
    et_function_config_t cfg = {.service = NULL,
                                .mode = ET_FUNCTION_MODE_SLEEP,
                                .seed = 1,
                                .pid = 1,
                                .slots = 1,
                                .max_payload = ET_PAYLOAD_DEFAULT_MAX,
                                .options = {s_option},
                                .n_options = 1};
    const char *flag = NULL, *value = NULL;
    char why[512] = "";
    int checked = def->check(&cfg, &flag, &value, why, sizeof why);
    if (checked != 0 && (strncmp(why, s_path, strlen(s_path)) != 0 || !flag))
        s_fail("check failed without naming the file");

    void *state = NULL;
    char why_init[512] = "";
    int inited = def->init(&state, &cfg, why_init, sizeof why_init);
    if ((checked == 0) != (inited == 0))
        s_fail("check and init disagree");
    if (inited != 0) {
        if (state != NULL || strcmp(why, why_init) != 0)
            s_fail("init failed differently from check");
        return 0;
    }
    if (!state)
        s_fail("init succeeded without state");
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    for (int i = 0; i < 3; i++) {
        msgpack_sbuffer_clear(&out);
        et_function_output_t res = {
            .output = &out, .outcome = ET_OUTCOME_NONE, .score = 0};
        int status =
            def->handle(state, 0, s_payloads[i].data, s_payloads[i].size, &res);
        if (status != ET_STATUS_OK || res.outcome < 0 || res.outcome >= 16)
            s_fail("a valid payload was not decided");
        s_check_output(&out);
    }
    msgpack_sbuffer_destroy(&out);
    def->fini(&state);
    if (state != NULL)
        s_fail("fini left state");
    return 0;
}
