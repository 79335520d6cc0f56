/* Fuzz target: the functions that parse untrusted msgpack payloads. Each
 * input goes to handle() of preprocess (schema=fraud and schema=sensor),
 * fraud (a tiny model trained at start), anomaly, decide (the fraud rules)
 * and sink (JSON lines to /dev/null). Every OK output must be one msgpack
 * map the next stage can read, with a finite score; it is then fed to the
 * stage that follows in the shipped workflows. */
#include "workers/function.h"
#include "workers/train.h"

#include "common/codec.h"
#include "common/log.h"

#include <math.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ET_SOURCE_DIR
#define ET_SOURCE_DIR "."
#endif

typedef enum {
    S_PRE_FRAUD,
    S_PRE_SENSOR,
    S_FRAUD,
    S_ANOMALY,
    S_DECIDE,
    S_SINK,
    S_STAGES
} s_stage_t;

typedef struct {
    const char *function;
    const char *option; /* one KEY=VALUE, or NULL */
    const et_function_def_t *def;
    void *state;
    s_stage_t next; /* S_STAGES: the end */
} s_instance_t;

static char s_dir[64];
static char s_model_option[128];
static s_instance_t s_instances[S_STAGES] = {
    [S_PRE_FRAUD] = {"preprocess", "schema=fraud", NULL, NULL, S_FRAUD},
    [S_PRE_SENSOR] = {"preprocess", "schema=sensor", NULL, NULL, S_ANOMALY},
    [S_FRAUD] = {"fraud", s_model_option, NULL, NULL, S_DECIDE},
    [S_ANOMALY] = {"anomaly", "warmup=2", NULL, NULL, S_DECIDE},
    [S_DECIDE] = {"decide",
                  "rules=" ET_SOURCE_DIR "/workflows/rules/fraud.rules", NULL,
                  NULL, S_SINK},
    [S_SINK] = {"sink", "path=/dev/null", NULL, NULL, S_STAGES},
};
static msgpack_sbuffer s_out[S_STAGES];

static void
s_fail(const char *function, const char *what)
{
    fprintf(stderr, "fuzz_payloads: %s: %s\n", function, what);
    abort();
}

/* The model is in memory once fraud's init has returned. The instances
 * are never finished: at exit XGBoost's thread-local state is already gone
 * (glibc runs thread_local destructors before atexit handlers), and the
 * statics keep them reachable for LeakSanitizer. */
static void
s_remove_model(void)
{
    char path[160];
    snprintf(path, sizeof path, "%s/fraud.json", s_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/fraud.json.metrics.json", s_dir);
    unlink(path);
    rmdir(s_dir);
}

/* The smallest model eventide-train makes: parsing is what is fuzzed. */
static void
s_train(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/et-fuzz-payloads-XXXXXX");
    if (!mkdtemp(s_dir))
        s_fail("fraud", "cannot make a temporary directory");
    et_train_config_t cfg;
    et_train_config_defaults(&cfg);
    snprintf(cfg.out, sizeof cfg.out, "%s/fraud.json", s_dir);
    cfg.samples = 1000;
    cfg.rounds = 5;
    cfg.max_depth = 3;
    cfg.fraud_rate = 0.1;
    cfg.threads = 1;
    /* Raw features: the fuzzed payload is parsed without a feature store
     * (its replies are tested in test_store and test_fraud). */
    cfg.streaming = 0;
    cfg.log_level = ET_LOG_LEVEL_ERROR;
    et_train_metrics_t metrics;
    char why[256];
    if (et_train_run(&cfg, &metrics, NULL, why, sizeof why) != 0)
        s_fail("fraud", why);
    snprintf(s_model_option, sizeof s_model_option, "model=%s/fraud.json",
             s_dir);
}

/* An OK output must be one msgpack map for the next stage. */
static void
s_check_output(const s_instance_t *inst, const msgpack_sbuffer *out,
               const et_function_output_t *res)
{
    if (!isfinite(res->score))
        s_fail(inst->function, "score not finite");
    if (out->size == 0 || et_codec_precheck(out->data, out->size) != 0)
        s_fail(inst->function, "output is not one msgpack object");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, out->data, out->size, &off) !=
            MSGPACK_UNPACK_SUCCESS ||
        off != out->size || u.data.type != MSGPACK_OBJECT_MAP)
        s_fail(inst->function, "output is not a map");
    msgpack_unpacked_destroy(&u);
}

/* Run 'input' through instance 'i' and, when it is OK, on down the
 * workflow. */
static void
s_run(s_stage_t i, const void *input, size_t size)
{
    while (i < S_STAGES) {
        s_instance_t *inst = &s_instances[i];
        msgpack_sbuffer *out = &s_out[i];
        msgpack_sbuffer_clear(out);
        et_function_output_t res = {
            .output = out, .outcome = ET_OUTCOME_NONE, .score = 0};
        int status = inst->def->handle(inst->state, 0, input, size, &res);
        if (status < ET_STATUS_OK || status > ET_STATUS_MAX)
            s_fail(inst->function, "status out of range");
        if (status != ET_STATUS_OK)
            return;
        s_check_output(inst, out, &res);
        input = out->data;
        size = out->size;
        i = inst->next;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    et_log_init("fuzz", ET_LOG_LEVEL_ERROR);
    s_train();
    for (int i = 0; i < S_STAGES; i++) {
        s_instance_t *inst = &s_instances[i];
        msgpack_sbuffer_init(&s_out[i]);
        inst->def = et_function_find(inst->function);
        if (!inst->def)
            s_fail(inst->function, "not registered");
        et_function_config_t cfg = {.mode = ET_FUNCTION_MODE_SLEEP,
                                    .seed = 1,
                                    .pid = (uint32_t)getpid(),
                                    .slots = 1,
                                    .max_payload = ET_PAYLOAD_DEFAULT_MAX,
                                    .options = {inst->option},
                                    .n_options = inst->option ? 1 : 0};
        char why[512];
        if (inst->def->init(&inst->state, &cfg, why, sizeof why) != 0)
            s_fail(inst->function, why);
    }
    s_remove_model();
    return 0;
}

/* The input as a key's handed-over state (STATE_PUT), for the key of the
 * series "s" that a seed names: an import that succeeds exports again,
 * and that export imports again. */
static void
s_state(s_stage_t i, const uint8_t *data, size_t size)
{
    s_instance_t *in = &s_instances[i];
    if (!in->def->state_import)
        return;
    uint64_t key = et_codec_key_of("s", 1);
    int rc = in->def->state_import(in->state, key, data, size);
    if (rc != 0 && rc != -1)
        s_fail(in->function, "state_import returned neither 0 nor -1");
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    if (in->def->state_export(in->state, key, &out) != 0)
        s_fail(in->function, "state_export failed");
    if (rc == 0 && out.size > ET_STATE_MAX)
        s_fail(in->function, "an exported state exceeds ET_STATE_MAX");
    if (rc == 0 &&
        in->def->state_import(in->state, key, out.data, out.size) != 0)
        s_fail(in->function, "its own export does not import");
    msgpack_sbuffer_destroy(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_instances[0].def)
        LLVMFuzzerInitialize(NULL, NULL);
    for (int i = 0; i < S_STAGES; i++)
        s_run((s_stage_t)i, data, size);
    s_state(S_PRE_SENSOR, data, size);
    s_state(S_ANOMALY, data, size);
    return 0;
}
