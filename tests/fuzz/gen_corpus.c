/* fuzz_gen_corpus OUTDIR: writes the seed corpora (OUTDIR/<target>/seed-*)
 * with the real encoders, so the seeds are valid inputs that the fuzzers
 * then mutate. Run once; the files are committed (tests/fuzz/README.md). */
#include "common/codec.h"
#include "common/hist.h"
#include "workers/fraud/txgen.h"
#include "workers/function.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *s_out;

static int
s_write(const char *target, const char *name, const void *data, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s_out, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%s/%s/seed-%s", s_out, target, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = (size > 0 && fwrite(data, 1, size, f) != size) ? -1 : 0;
    return fclose(f) != 0 ? -1 : rc;
}

static int
s_write_buf(const char *target, const char *name, msgpack_sbuffer *buf)
{
    int rc = s_write(target, name, buf->data, buf->size);
    msgpack_sbuffer_clear(buf);
    return rc;
}

static int
s_write_text(const char *target, const char *name, const char *text)
{
    return s_write(target, name, text, strlen(text));
}

static int
s_copy_file(const char *target, const char *name, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char data[65536];
    size_t size = fread(data, 1, sizeof data, f);
    fclose(f);
    return s_write(target, name, data, size);
}

static int
s_codec(void)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    int rc = 0;
    rc |= et_codec_encode_header(&b, ET_MSG_EVENT);
    rc |= s_write_buf("codec", "header-event", &b);
    rc |= et_codec_encode_header(&b, ET_MSG_STATS);
    rc |= s_write_buf("codec", "header-stats", &b);
    rc |= et_codec_encode_header(&b, ET_MSG_REGISTER);
    rc |= s_write_buf("codec", "header-register", &b);
    rc |= et_codec_encode_header(&b, ET_MSG_STARTING);
    rc |= s_write_buf("codec", "header-starting", &b);
    et_event_t ev = {42, 3, 1700000000000000000, 1700000000000100000,
                     1,  0, ET_KEY_NONE};
    rc |= et_codec_encode_event(&b, &ev);
    rc |= s_write_buf("codec", "event", &b);
    ev.key = 0x8badf00d12345678ULL; /* a keyed event: six fields */
    rc |= et_codec_encode_event(&b, &ev);
    rc |= s_write_buf("codec", "event-keyed", &b);
    /* EVENTS: a plain, a routed and a keyed event in one batch */
    et_event_t evs[3] = {ev, ev, ev};
    evs[0].key = ET_KEY_NONE;
    evs[1].event_id = 43;
    evs[1].key = ET_KEY_NONE;
    evs[1].route = 2;
    evs[2].event_id = 44;
    rc |= et_codec_encode_events(&b, evs, 3);
    rc |= s_write_buf("codec", "events", &b);
    rc |= et_codec_encode_header(&b, ET_MSG_EVENTS);
    rc |= s_write_buf("codec", "header-events", &b);
    et_reject_t rej = {.event_id = 42,
                       .reason = ET_REASON_QUEUE_FULL,
                       .pause_ns = 10000000,
                       .count = 1};
    rc |= et_codec_encode_reject(&b, &rej);
    rc |= s_write_buf("codec", "reject", &b);
    rej.count = 17;
    rc |= et_codec_encode_reject(&b, &rej);
    rc |= s_write_buf("codec", "reject-run", &b);
    rej.admit_eps = 250000;
    rc |= et_codec_encode_reject(&b, &rej);
    rc |= s_write_buf("codec", "reject-admit", &b);
    rc |= et_codec_encode_header(&b, ET_MSG_SHED);
    rc |= s_write_buf("codec", "header-shed", &b);
    static et_shed_t shed = {.producer_id = 3,
                             .reason = ET_REASON_QUEUE_FULL,
                             .first_event_id = (3ULL << 40) | 100,
                             .count = 3,
                             .intended_ns = {1700000000000000000,
                                             1700000000000050000,
                                             1700000000000090000},
                             .label = {-1, 0, 1}};
    rc |= et_codec_encode_shed(&b, &shed);
    rc |= s_write_buf("codec", "shed", &b);
    shed.label[1] = 1000; /* the four-byte label column */
    rc |= et_codec_encode_shed(&b, &shed);
    rc |= s_write_buf("codec", "shed-wide", &b);
    et_hello_t hello = {.producer_id = 1,
                        .arrival = "poisson:100",
                        .source = "fraud",
                        .rate_eps = 100,
                        .duration_s = 10.5,
                        .seed = 7,
                        .started_ns = 1700000000000000000};
    rc |= et_codec_encode_hello(&b, &hello);
    rc |= s_write_buf("codec", "hello", &b);
    et_done_t done = {1, 1000, 2, 5000, 100, 1700000001000000000, {0}};
    rc |= et_codec_encode_done(&b, &done);
    rc |= s_write_buf("codec", "done", &b);
    et_ready_t ready = {"preprocess", "preprocess-1", 1234, 2, 5000000, 100000};
    rc |= et_codec_encode_ready(&b, &ready);
    rc |= s_write_buf("codec", "ready", &b);
    et_task_t task = {42, 1, 0, 1700000000000000000, -1};
    rc |= et_codec_encode_task(&b, &task);
    rc |= s_write_buf("codec", "task", &b);
    et_result_t result = {42, 1, 1, ET_STATUS_OK, 250000, 2, 0.93, {0}};
    rc |= et_codec_encode_result(&b, &result);
    rc |= s_write_buf("codec", "result", &b);
    /* With a shadow verdict and the store's and the model's times. */
    et_result_t detailed = result;
    detailed.detail = (et_detail_t){.has_shadow = 1,
                                    .shadow_outcome = 1,
                                    .timed = 3,
                                    .timing_ns = {120000, 30000}};
    rc |= et_codec_encode_result(&b, &detailed);
    rc |= s_write_buf("codec", "result-detail", &b);
    et_task_t tasks[3] = {task, task, task};
    tasks[1].event_id = 43;
    tasks[2] = (et_task_t){UINT64_MAX, 255, 1000, 0, INT32_MAX};
    rc |= et_codec_encode_tasks(&b, tasks, 3);
    rc |= s_write_buf("codec", "tasks", &b);
    et_result_t results[3] = {result, result, result};
    results[1].status = ET_STATUS_ERROR;
    results[2] = (et_result_t){7, 0, 2, ET_STATUS_FILTERED, 0, -1, -0.0, {0}};
    results[1].detail = detailed.detail;
    rc |= et_codec_encode_results(&b, results, 3);
    rc |= s_write_buf("codec", "results", &b);
    et_usage_t usage = {
        "fraud", "fraud-2", 99,         4,         1700000000000000000,
        8000000, 6000000,   9000000000, 400000000, 300000000,
        5000,    3,         1};
    rc |= et_codec_encode_usage(&b, &usage);
    rc |= s_write_buf("codec", "usage", &b);
    et_stats_t stats = {.t_ns = 1700000000000000000,
                        .workflow = "fraud",
                        .accepted = 100,
                        .rejected = 2,
                        .completed = 90,
                        .failed = 1,
                        .retries = 3,
                        .in_flight = 7,
                        .bad_messages = 0,
                        .stale_results = 1,
                        .records_dropped = 512,
                        .n_functions = 0};
    rc |= et_codec_encode_stats(&b, &stats);
    rc |= s_write_buf("codec", "stats-empty", &b);
    stats.n_functions = 2;
    /* 10 s of broker time: preprocess 1 slot, 4 s busy; fraud 4 slots over
     * 2 instances, 16 slot-seconds busy. */
    stats.functions[0] = (et_stats_function_t){
        "preprocess", 3,  1000,       1,           1,          1,
        50,           53, 4000000000, 10000000000, 10000000000};
    stats.functions[1] = (et_stats_function_t){
        "fraud", 0,  1000,        2,           4,          2,
        40,      44, 16000000000, 40000000000, 20000000000};
    rc |= et_codec_encode_stats(&b, &stats);
    rc |= s_write_buf("codec", "stats", &b);
    et_record_t recs[4] = {{.kind = ET_RECORD_ACCEPTED,
                            .event_id = 1,
                            .producer_id = 1,
                            .intended_ns = 10,
                            .t_ns = 11,
                            .label = 0,
                            .outcome = -1},
                           {.kind = ET_RECORD_STAGE,
                            .event_id = 1,
                            .stage = 1,
                            .attempt = 1,
                            .intended_ns = 10,
                            .t_ns = 20,
                            .queue_ns = 3,
                            .service_ns = 5,
                            .label = -1,
                            .outcome = 1,
                            .cold = 1,
                            .score = 0.5,
                            .hold_ns = 7,
                            .residence_ns = 12},
                           {.kind = ET_RECORD_RETRY,
                            .event_id = 1,
                            .stage = 1,
                            .intended_ns = 10,
                            .t_ns = 15,
                            .label = -1,
                            .outcome = -1,
                            .reason = ET_REASON_TIMEOUT,
                            .hold_ns = 4},
                           {.kind = ET_RECORD_COMPLETED,
                            .event_id = 1,
                            .intended_ns = 10,
                            .t_ns = 30,
                            .label = -1,
                            .outcome = 2,
                            .reason = ET_REASON_FILTERED,
                            .score = -0.0}};
    rc |= et_codec_encode_records(&b, recs, 0);
    rc |= s_write_buf("codec", "records-empty", &b);
    rc |= et_codec_encode_records(&b, recs, 4);
    rc |= s_write_buf("codec", "records", &b);
    /* A SERVED record (common/served.h) among others. */
    et_record_t served[2] = {recs[1], recs[3]};
    served[0].kind = ET_RECORD_SERVED;
    served[0].reason = ET_REASON_FILTERED;
    rc |= et_codec_encode_records(&b, served, 2);
    rc |= s_write_buf("codec", "records-served", &b);
    /* A STAGE record with timings, a COMPLETED with a shadow verdict. */
    et_record_t detailed_recs[2] = {recs[1], recs[3]};
    detailed_recs[0].detail = (et_detail_t){.timed = 1, .timing_ns = {4, 0}};
    detailed_recs[1].detail =
        (et_detail_t){.has_shadow = 1, .shadow_outcome = 0};
    rc |= et_codec_encode_records(&b, detailed_recs, 2);
    rc |= s_write_buf("codec", "records-detail", &b);
    rc |= et_codec_encode_header(&b, ET_MSG_CLOCK);
    rc |= s_write_buf("codec", "header-clock", &b);
    et_time_req_t time_req = {5, 1700000000000000000};
    rc |= et_codec_encode_time_req(&b, &time_req);
    rc |= s_write_buf("codec", "time-req", &b);
    et_time_rep_t time_rep = {5, 1700000000000000000, 1700000000250100000,
                              1700000000250150000};
    rc |= et_codec_encode_time_rep(&b, &time_rep);
    rc |= s_write_buf("codec", "time-rep", &b);
    et_clock_report_t clock_report = {.role = ET_CLOCK_ROLE_PRODUCER,
                                      .name = "producer-1",
                                      .host = "host-b",
                                      .producer_id = 1,
                                      .offset_ns = -250000000,
                                      .bound_ns = 150000,
                                      .rtt_ns = 300000,
                                      .correction_ns = -250000000,
                                      .samples = 8,
                                      .lost = 1,
                                      .t_ns = 1700000000250150000};
    rc |= et_codec_encode_clock(&b, &clock_report);
    rc |= s_write_buf("codec", "clock", &b);
    et_workflow_msg_t workflow = {.name = "fraud",
                                  .n_stages = 3,
                                  .stages = {"preprocess", "fraud", "noop"}};
    rc |= et_codec_encode_workflow(&b, &workflow);
    rc |= s_write_buf("codec", "workflow", &b);
    et_collected_t collected = {
        .epoch = 1700000000123456789ULL, .seq = 4242, .resume = 1};
    rc |= et_codec_encode_collected(&b, &collected);
    rc |= s_write_buf("codec", "collected", &b);
    et_state_msg_t state = {.key = 0x9e3779b97f4a7c15ULL};
    rc |= et_codec_encode_state(&b, &state);
    rc |= s_write_buf("codec", "state", &b);
    /* The broker's sequence frame: 16 raw bytes, not msgpack. */
    unsigned char seq_frame[ET_SEQ_FRAME_SIZE];
    et_codec_encode_seq(
        seq_frame, &(et_seq_t){.epoch = 1700000000123456789ULL, .seq = 4243});
    rc |= s_write("codec", "seq-frame", seq_frame, sizeof seq_frame);
    /* Shapes the decoders must refuse: ext, bin, deep nesting, a map. */
    static const unsigned char s_ext[] = {0x92, 0xd4, 0x01, 0x02,
                                          0xc4, 0x01, 0x00};
    rc |= s_write("codec", "ext-bin", s_ext, sizeof s_ext);
    static const unsigned char s_deep[] = {0x91, 0x91, 0x91, 0x91, 0x91,
                                           0x91, 0x91, 0x91, 0x90};
    rc |= s_write("codec", "deep", s_deep, sizeof s_deep);
    static const unsigned char s_map[] = {
        0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0};
    rc |= s_write("codec", "map", s_map, sizeof s_map);
    msgpack_sbuffer_destroy(&b);
    return rc;
}

static int
s_workflow(const char *root)
{
    char path[4096];
    int rc = 0;
    snprintf(path, sizeof path, "%s/workflows/fraud.json", root);
    rc |= s_copy_file("workflow", "fraud.json", path);
    snprintf(path, sizeof path, "%s/workflows/sensor.json", root);
    rc |= s_copy_file("workflow", "sensor.json", path);
    rc |= s_write_text("workflow", "minimal",
                       "{\"name\":\"x\",\"stages\":[{\"function\":\"noop\"}]}");
    rc |= s_write_text(
        "workflow", "full",
        "{\"name\": \"w-1.0\", \"description\": \"d\", \"producer\": {},\n"
        " \"stages\": [{\"function\": \"synthetic\", \"slots\": 64,\n"
        "   \"timeout_ms\": 3600000, \"retries\": 100, \"description\": \"\",\n"
        "   \"options\": {\"a\": \"s\", \"b\": 1, \"c\": 2.5, \"d\": true}},\n"
        "  {\"function\": \"noop\", \"slots\": 1, \"timeout_ms\": 1,\n"
        "   \"retries\": 0}]}");
    rc |= s_write_text("workflow", "name-synthetic", "synthetic");
    rc |= s_write_text("workflow", "name-noop", "noop");
    rc |= s_write_text("workflow", "name-json", "missing.json");
    return rc;
}

static int
s_rules(const char *root)
{
    char path[4096];
    int rc = 0;
    snprintf(path, sizeof path, "%s/workflows/rules/fraud.rules", root);
    rc |= s_copy_file("rules", "fraud.rules", path);
    snprintf(path, sizeof path, "%s/workflows/rules/sensor.rules", root);
    rc |= s_copy_file("rules", "sensor.rules", path);
    rc |= s_write_text("rules", "minimal", "decisions a b\na otherwise\n");
    rc |= s_write_text("rules", "every-op",
                       "# all operators\r\n"
                       "decisions no-go go_2 maybe\n"
                       "go_2 if score >= 1e2 and amount > -3.5\n"
                       "maybe if value <= .5 and x1 < 7 and y == 0 and "
                       "z != +1E-3\n"
                       "\tno-go otherwise # tail\n");
    /* At the rule limit (256) and one past it. */
    static char many[256 * 32];
    size_t len = (size_t)snprintf(many, sizeof many, "decisions a b\n");
    for (int i = 0; i < 255; i++)
        len += (size_t)snprintf(many + len, sizeof many - len,
                                "a if f%d >= %d\n", i, i);
    snprintf(many + len, sizeof many - len, "b otherwise\n");
    rc |= s_write_text("rules", "256-rules", many);
    snprintf(many + len, sizeof many - len, "a if x < 0\nb otherwise\n");
    rc |= s_write_text("rules", "257-rules", many);
    return rc;
}

/* One map of 'n' string keys with double values. */
static void
s_pack_map(msgpack_sbuffer *b, const char *const *keys, const double *vals,
           int n, const char *series)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (size_t)n + (series ? 1 : 0));
    if (series) {
        msgpack_pack_str_with_body(&pk, "series", 6);
        msgpack_pack_str_with_body(&pk, series, strlen(series));
    }
    for (int i = 0; i < n; i++) {
        msgpack_pack_str_with_body(&pk, keys[i], strlen(keys[i]));
        msgpack_pack_double(&pk, vals[i]);
    }
}

static int
s_payloads(void)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    int rc = 0;
    /* Producer payloads, valid and malformed, from the real generator. */
    et_txgen_t *gen = et_txgen_new(11, 0.2, 0.3);
    if (!gen)
        return -1;
    int valid = 0, broken = 0;
    for (int i = 0; i < 200 && (valid < 4 || broken < 3); i++) {
        et_tx_t tx;
        et_txgen_next(gen, &tx);
        int *n = tx.label < 0 ? &broken : &valid;
        if (*n >= (tx.label < 0 ? 3 : 4))
            continue;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        rc |= et_txgen_pack(&tx, &pk);
        char name[32];
        snprintf(name, sizeof name, "tx-%s-%d", tx.label < 0 ? "bad" : "ok",
                 (*n)++);
        if (valid + broken == 1) {
            /* The preprocess output for the first one: fraud's input. */
            const et_function_def_t *def = et_function_find("preprocess");
            void *state = NULL;
            const char *opt = "schema=fraud";
            et_function_config_t cfg = {.slots = 1,
                                        .max_payload = ET_PAYLOAD_DEFAULT_MAX,
                                        .options = {opt},
                                        .n_options = 1};
            char why[256];
            msgpack_sbuffer out;
            msgpack_sbuffer_init(&out);
            et_function_output_t res = {.output = &out,
                                        .outcome = ET_OUTCOME_NONE};
            if (def && def->init(&state, &cfg, why, sizeof why) == 0 &&
                def->handle(state, 0, b.data, b.size, &res) == ET_STATUS_OK)
                rc |= s_write("payloads", "features", out.data, out.size);
            else
                rc = -1;
            if (def)
                def->fini(&state);
            msgpack_sbuffer_destroy(&out);
        }
        rc |= s_write_buf("payloads", name, &b);
    }
    et_txgen_destroy(&gen);
    static const char *const sensor_keys[] = {"ts", "value", "delta", "score"};
    const double sensor[] = {1700000000.5, 73.25, -0.5, 4.5};
    s_pack_map(&b, sensor_keys, sensor, 2, "machine_temperature");
    rc |= s_write_buf("payloads", "sensor", &b);
    s_pack_map(&b, sensor_keys, sensor, 4, "s");
    rc |= s_write_buf("payloads", "sensor-scored", &b);
    /* Handed-over key states (STATE_PUT) of series "s": preprocess's last
     * value, anomaly's moments and alarm state. */
    {
        msgpack_packer pk;
        msgpack_sbuffer_clear(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        rc |= msgpack_pack_map(&pk, 1) |
              msgpack_pack_str_with_body(&pk, "s", 1) |
              msgpack_pack_double(&pk, 73.25);
        rc |= s_write_buf("payloads", "state-preprocess", &b);
        msgpack_sbuffer_clear(&b);
        const double moments[] = {73.25, 70.5, 4.0, 0.1, 0.5};
        rc |= msgpack_pack_map(&pk, 1) |
              msgpack_pack_str_with_body(&pk, "s", 1) |
              msgpack_pack_array(&pk, 12) | msgpack_pack_uint64(&pk, 120);
        for (size_t i = 0; i < 5; i++)
            rc |= msgpack_pack_double(&pk, moments[i]);
        rc |= msgpack_pack_uint64(&pk, 70) | msgpack_pack_double(&pk, 0.4) |
              msgpack_pack_double(&pk, 0.2) | msgpack_pack_true(&pk) |
              msgpack_pack_false(&pk) | msgpack_pack_double(&pk, 1700000000);
        rc |= s_write_buf("payloads", "state-anomaly", &b);
    }
    static const char *const decide_keys[] = {"tx", "amount", "score"};
    const double decide[] = {7, 6000, 0.3};
    s_pack_map(&b, decide_keys, decide, 3, NULL);
    rc |= s_write_buf("payloads", "decide", &b);
    msgpack_sbuffer_destroy(&b);
    return rc;
}

static int
s_hist_one(et_hist_t *h, const char *name)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    int rc = h ? et_hist_pack(h, &pk) : -1;
    rc |= s_write_buf("hist", name, &b);
    msgpack_sbuffer_destroy(&b);
    et_hist_destroy(&h);
    return rc;
}

static int
s_hist(void)
{
    int rc = s_hist_one(et_hist_new_latency(), "empty");
    et_hist_t *h = et_hist_new_latency();
    if (!h)
        return -1;
    static const int64_t s_values[] = {0, 1, 999, 20000, 1500000, 60000000000};
    for (size_t i = 0; i < sizeof s_values / sizeof s_values[0]; i++)
        et_hist_record_n(h, s_values[i], i + 1);
    rc |= s_hist_one(h, "latency");
    h = et_hist_new(1000, 1000000, 2);
    if (!h)
        return -1;
    et_hist_record(h, 5000);
    et_hist_record(h, 2000000); /* overflow */
    rc |= s_hist_one(h, "overflow");
    h = et_hist_new(1, 2, 1);
    if (!h)
        return -1;
    et_hist_record(h, 1);
    rc |= s_hist_one(h, "tiny");
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUTDIR SOURCE_DIR\n", argv[0]);
        return 2;
    }
    s_out = argv[1];
    if (mkdir(s_out, 0755) != 0 && errno != EEXIST) {
        perror(s_out);
        return 1;
    }
    int rc = s_codec() | s_workflow(argv[2]) | s_rules(argv[2]) | s_payloads() |
             s_hist();
    if (rc != 0) {
        fprintf(stderr, "fuzz_gen_corpus: could not write every seed\n");
        return 1;
    }
    return 0;
}
