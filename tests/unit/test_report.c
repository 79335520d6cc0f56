/* Unit tests for collector/report: summary.json read back with jansson
 * against every key of the results contract, timeseries.csv's header and
 * rows, report.md's tables, atomic writes and the output directory. One
 * module: long because every key of the results contract is checked. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "tmpdir_fixture.h"

#include "collector/aggregate.h"
#include "collector/report.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 (1700000000LL * ET_NS_PER_S)
#define MS ET_NS_PER_MS
#define S ET_NS_PER_S

typedef struct {
    char dir[64];
    et_aggregate_t *agg;
} s_fixture_t;

// ---------------------------------------------------------------------------
// Helpers

static void
s_add(et_aggregate_t *agg, et_record_kind_t kind, uint64_t id, uint32_t stage,
      int64_t intended, int64_t t)
{
    et_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = (uint8_t)kind;
    r.event_id = id;
    r.stage = stage;
    r.intended_ns = intended;
    r.t_ns = t;
    r.queue_ns = 2 * MS;
    r.service_ns = 5 * MS;
    r.hold_ns = 6 * MS;
    r.residence_ns = 8 * MS;
    r.label = -1;
    r.outcome = -1;
    assert_int_equal(et_aggregate_add_record(agg, &r), 0);
}

/* A small two-stage run over 'seconds' seconds, one event per second. */
static et_aggregate_t *
s_run(int seconds)
{
    et_aggregate_config_t config = {.run_id = "test-run|x",
                                    .workflow = "pipeline",
                                    .expect_producers = 1,
                                    .started_real_ns = T0};
    et_aggregate_t *agg = et_aggregate_new(&config);
    assert_non_null(agg);
    et_hello_t hello = {.producer_id = 0,
                        .rate_eps = 1,
                        .duration_s = 3,
                        .seed = 42,
                        .started_ns = T0};
    snprintf(hello.arrival, sizeof hello.arrival, "constant|odd");
    snprintf(hello.source, sizeof hello.source, "synth|x");
    assert_int_equal(et_aggregate_add_hello(agg, &hello), 0);
    et_stats_t stats = {.t_ns = T0, .n_functions = 2};
    snprintf(stats.workflow, sizeof stats.workflow, "pipeline");
    snprintf(stats.functions[0].name, ET_NAME_MAX, "decode");
    snprintf(stats.functions[1].name, ET_NAME_MAX, "clas\"sify");
    stats.functions[0].instances = 1;
    stats.functions[1].instances = 2;
    stats.functions[0].queue_depth = 3;
    assert_int_equal(et_aggregate_add_stats(agg, &stats), 0);
    for (int i = 0; i < seconds; i++) {
        int64_t t = T0 + i * S;
        uint64_t id = (uint64_t)i;
        s_add(agg, ET_RECORD_ACCEPTED, id, 0, t, t);
        s_add(agg, ET_RECORD_STAGE, id, 0, t, t + 5 * MS);
        s_add(agg, ET_RECORD_STAGE, id, 1, t, t + 10 * MS);
        s_add(agg, ET_RECORD_COMPLETED, id, 1, t, t + 10 * MS);
    }
    s_add(agg, ET_RECORD_REJECTED, 1000, 0, T0, T0);
    et_usage_t usage = {.pid = 1,
                        .slots = 1,
                        .started_ns = T0,
                        .cold_start_ns = 250 * MS,
                        .lifetime_ns = 10 * S,
                        .busy_ns = 1 * S,
                        .cpu_ns = 2 * S,
                        .served = 3,
                        .final = 1};
    snprintf(usage.function, ET_NAME_MAX, "decode");
    snprintf(usage.instance, ET_NAME_MAX, "decode-1");
    assert_int_equal(et_aggregate_add_usage(agg, &usage), 0);
    et_done_t done = {.producer_id = 0,
                      .sent = (uint64_t)seconds + 1,
                      .send_failed = 2,
                      .lag_max_ns = MS,
                      .lag_mean_ns = MS};
    assert_int_equal(et_aggregate_add_done(agg, &done, 0), 0);
    et_aggregate_count_bad_message(agg);
    et_aggregate_finish(agg, ET_AGG_END_COMPLETE, T0 + (seconds + 1) * S);
    return agg;
}

/* One CLOCK report: rtt is twice the bound, 8 samples and 1 lost. */
static void
s_clock(et_aggregate_t *agg, et_clock_role_t role, const char *name,
        const char *host, int64_t offset, int64_t bound, int64_t correction,
        int64_t t)
{
    et_clock_report_t c = {.role = (uint8_t)role,
                           .producer_id =
                               role == ET_CLOCK_ROLE_PRODUCER ? 3 : 0,
                           .offset_ns = offset,
                           .bound_ns = bound,
                           .rtt_ns = 2 * bound,
                           .correction_ns = correction,
                           .samples = 8,
                           .lost = 1,
                           .t_ns = t};
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.host, sizeof c.host, "%s", host);
    assert_int_equal(et_aggregate_add_clock(agg, &c), 0);
}

/* Write the results of fx->agg as it stands. */
static void
s_write_agg(s_fixture_t *fx)
{
    const et_results_t *r = et_aggregate_results(fx->agg);
    assert_non_null(r);
    assert_int_equal(et_report_write_all(fx->dir, r), 0);
}

static int
s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/et_test_report_XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    et_aggregate_destroy(&fx->agg);
    et_test_rm_tree(fx->dir);
    free(fx);
    return 0;
}

static const et_results_t *
s_write(s_fixture_t *fx, int seconds)
{
    fx->agg = s_run(seconds);
    const et_results_t *r = et_aggregate_results(fx->agg);
    assert_non_null(r);
    assert_int_equal(et_report_write_all(fx->dir, r), 0);
    return r;
}

static char *
s_read(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int
s_count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static int
s_exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static json_t *
s_load_summary(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    if (!root)
        fail_msg("summary.json: %s (line %d)", error.text, error.line);
    return root;
}

// ---------------------------------------------------------------------------
// summary.json

static void
test_report_summary_has_every_contract_key_with_its_type(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 3);
    json_t *root = s_load_summary(fx->dir);

    const char *schema, *id, *workflow, *arrival, *started, *finished;
    double rate, duration, mean, p50, p90, p99, p999, max, tmean, tpeak, busy,
        cpu, cold_p50, cold_max;
    json_int_t seed, sent, accepted, rejected, completed, failed, lost, dups,
        w_started, w_stopped;
    json_t *workers_map, *stages, *accuracy, *cost;
    json_error_t error;
    // Non-strict unpacking: every contract key must be there with its type
    // (I = integer, F = number, s = string, n = null); additions are fine.
    int rc = json_unpack_ex(
        root, &error, 0,
        "{s:s,"
        " s:{s:s, s:s, s:s, s:F, s:F, s:I, s:o, s:s, s:s},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:F, s:F, s:F, s:F, s:F, s:F},"
        " s:{s:F, s:F},"
        " s:{s:F, s:F},"
        " s:o,"
        " s:{s:I, s:I, s:{s:F, s:F}},"
        " s:o, s:o}",
        "schema", &schema, "run", "id", &id, "workflow", &workflow, "arrival",
        &arrival, "rate_eps", &rate, "duration_s", &duration, "seed", &seed,
        "workers", &workers_map, "started_at", &started, "finished_at",
        &finished, "events", "sent", &sent, "accepted", &accepted, "rejected",
        &rejected, "completed", &completed, "failed", &failed, "lost", &lost,
        "duplicates_dropped", &dups, "latency_ms", "mean", &mean, "p50", &p50,
        "p90", &p90, "p99", &p99, "p999", &p999, "max", &max, "throughput_eps",
        "mean", &tmean, "peak", &tpeak, "utilization_pct", "busy_lifetime",
        &busy, "cpu_lifetime", &cpu, "stages", &stages, "workers", "started",
        &w_started, "stopped", &w_stopped, "cold_start_ms", "p50", &cold_p50,
        "max", &cold_max, "accuracy", &accuracy, "cost", &cost);
    if (rc != 0)
        fail_msg("contract: %s at %s", error.text, error.source);

    assert_string_equal(schema, "eventide.summary/1");
    assert_string_equal(id, "test-run|x");
    assert_string_equal(workflow, "pipeline");
    assert_string_equal(arrival, "constant|odd");
    assert_true(rate == 1.0 && duration == 3.0);
    assert_int_equal(seed, 42);
    assert_string_equal(started, "2023-11-14T22:13:20.000Z");
    assert_string_equal(finished, "2023-11-14T22:13:24.000Z");
    assert_true(json_is_object(workers_map));
    assert_int_equal(json_integer_value(json_object_get(workers_map, "decode")),
                     1);
    assert_int_equal(
        json_integer_value(json_object_get(workers_map, "clas\"sify")), 2);
    assert_int_equal(sent, 4);
    assert_int_equal(accepted, 3);
    assert_int_equal(rejected, 1);
    assert_int_equal(completed, 3);
    assert_int_equal(failed, 0);
    assert_int_equal(lost, 0);
    assert_int_equal(dups, 0);
    assert_true(p50 > 9.9 && p50 < 10.1 && max == 10.0 && mean == 10.0);
    assert_true(p90 >= p50 && p99 >= p90 && p999 >= p99);
    assert_true(tpeak == 1.0 && tmean > 0);
    assert_true(busy == 10.0 && cpu == 20.0);
    assert_int_equal(w_started, 1);
    assert_int_equal(w_stopped, 1);
    assert_true(cold_p50 > 249.0 && cold_p50 < 251.0 && cold_max == 250.0);
    assert_true(json_is_null(accuracy));
    // One instance reported, so the run has a cost (checked below).
    assert_true(json_is_object(cost));

    assert_true(json_is_array(stages));
    assert_int_equal(json_array_size(stages), 2);
    const char *names[] = {"decode", "clas\"sify"};
    for (size_t i = 0; i < 2; i++) {
        const char *function;
        json_int_t s_completed, s_failed, s_retries, s_cold;
        double q_mean, q_p50, q_p99, v_mean, v_p50, v_p99, h_mean, h_p50, h_p99,
            o_mean, o_p50, o_p99, r_mean, r_p50, r_p99;
        rc = json_unpack_ex(
            json_array_get(stages, i), &error, 0,
            "{s:s, s:I, s:I, s:I, s:I, s:{s:F, s:F, s:F}, s:{s:F, s:F, s:F},"
            " s:{s:F, s:F, s:F}, s:{s:F, s:F, s:F}, s:{s:F, s:F, s:F}}",
            "function", &function, "completed", &s_completed, "failed",
            &s_failed, "retries", &s_retries, "cold_starts", &s_cold,
            "queue_ms", "mean", &q_mean, "p50", &q_p50, "p99", &q_p99,
            "service_ms", "mean", &v_mean, "p50", &v_p50, "p99", &v_p99,
            "hold_ms", "mean", &h_mean, "p50", &h_p50, "p99", &h_p99,
            "overhead_ms", "mean", &o_mean, "p50", &o_p50, "p99", &o_p99,
            "residence_ms", "mean", &r_mean, "p50", &r_p50, "p99", &r_p99);
        if (rc != 0)
            fail_msg("stages[%zu]: %s", i, error.text);
        assert_string_equal(function, names[i]);
        assert_int_equal(s_completed, 3);
        assert_true(q_mean == 2.0 && v_mean == 5.0);
        assert_true(h_mean == 6.0 && o_mean == 1.0 && r_mean == 8.0);
        assert_true(h_p50 > 5.99 && h_p99 < 6.01 && o_p99 < 1.01 &&
                    r_p50 > 7.99 && r_p99 < 8.01);
    }
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(stages, 0), "cold_starts")),
                     1);
    json_decref(root);
}

static void
test_report_summary_additions_are_present(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 2);
    json_t *root = s_load_summary(fx->dir);
    json_int_t send_failed, filtered, p_count, p_failed, bad;
    double lag_max, lag_mean, window;
    const char *end;
    json_t *functions;
    json_error_t error;
    int rc = json_unpack_ex(
        root, &error, 0,
        "{s:{s:I, s:I}, s:{s:F}, s:{s:I, s:F, s:F, s:I}, s:{s:I, s:s}, s:o}",
        "events", "send_failed", &send_failed, "filtered", &filtered,
        "throughput_eps", "window_s", &window, "producers", "count", &p_count,
        "lag_max_ms", &lag_max, "lag_mean_ms", &lag_mean, "send_failed",
        &p_failed, "collector", "bad_messages", &bad, "end", &end, "functions",
        &functions);
    if (rc != 0)
        fail_msg("additions: %s", error.text);
    assert_int_equal(send_failed, 2);
    assert_int_equal(filtered, 0);
    assert_int_equal(p_failed, 2);
    assert_int_equal(p_count, 1);
    assert_int_equal(bad, 1);
    assert_string_equal(end, "complete");
    assert_true(lag_max == 1.0 && lag_mean == 1.0);
    assert_true(json_is_array(functions));
    assert_int_equal(json_array_size(functions), 2);
    // Nothing lost, no reasons; the producer's copies agreed.
    json_t *events = json_object_get(root, "events");
    json_t *reasons = json_object_get(events, "lost_reasons");
    assert_true(json_is_object(reasons));
    assert_int_equal(json_object_size(reasons), 0);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(root, "producers"),
                                           "copies_disagree")),
        0);
    json_decref(root);
}

/* The batch-means intervals: three events at 0, 1 and 2 s of a 3 s W
 * fall in three of its 30 slices; every latency, wait and hold is the
 * same, so each interval is its value with half-width 0. */
static void
test_report_summary_has_batch_means_intervals(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 3);
    json_t *root = s_load_summary(fx->dir);
    double l_mean, l_half, q_mean, q_half, h_mean, h_half, m2;
    json_int_t l_batches, q_batches, h_batches;
    json_error_t error;
    int rc = json_unpack_ex(root, &error, 0, "{s:{s:{s:F, s:F, s:I}}}",
                            "latency_ms", "ci95", "mean", &l_mean, "half_width",
                            &l_half, "batches", &l_batches);
    if (rc != 0)
        fail_msg("latency_ms.ci95: %s", error.text);
    json_t *stage = json_array_get(json_object_get(root, "stages"), 0);
    rc = json_unpack_ex(
        stage, &error, 0, "{s:{s:{s:F, s:F, s:I}}, s:{s:F, s:{s:F, s:F, s:I}}}",
        "queue_ms", "ci95", "mean", &q_mean, "half_width", &q_half, "batches",
        &q_batches, "hold_ms", "m2", &m2, "ci95", "mean", &h_mean, "half_width",
        &h_half, "batches", &h_batches);
    if (rc != 0)
        fail_msg("stage ci95: %s", error.text);
    assert_int_equal(l_batches, 3);
    assert_int_equal(q_batches, 3);
    assert_int_equal(h_batches, 3);
    assert_true(fabs(l_mean - 10.0) < 1e-9 && l_half == 0);
    assert_true(fabs(q_mean - 2.0) < 1e-9 && q_half == 0);
    assert_true(fabs(h_mean - 6.0) < 1e-9 && h_half == 0);
    assert_true(fabs(m2 - 36.0) < 1e-9); // E[hold^2], ms^2
    double r_mean, r_half;
    json_int_t r_batches;
    rc = json_unpack_ex(stage, &error, 0, "{s:{s:{s:F, s:F, s:I}}}",
                        "residence_ms", "ci95", "mean", &r_mean, "half_width",
                        &r_half, "batches", &r_batches);
    if (rc != 0)
        fail_msg("residence_ms.ci95: %s", error.text);
    assert_int_equal(r_batches, 3);
    assert_true(fabs(r_mean - 8.0) < 1e-9 && r_half == 0);
    json_decref(root);
}

/* One event: one batch, no interval (null, not a zero-width one). */
static void
test_report_summary_ci95_is_null_with_one_batch(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 1);
    json_t *root = s_load_summary(fx->dir);
    json_t *stage = json_array_get(json_object_get(root, "stages"), 0);
    assert_true(json_is_null(
        json_object_get(json_object_get(root, "latency_ms"), "ci95")));
    assert_true(json_is_null(
        json_object_get(json_object_get(stage, "queue_ms"), "ci95")));
    assert_true(json_is_null(
        json_object_get(json_object_get(stage, "hold_ms"), "ci95")));
    assert_true(json_is_null(
        json_object_get(json_object_get(stage, "residence_ms"), "ci95")));
    json_decref(root);
}

/* A producer fed over MQTT: its DONE's ingest counts, summed over the
 * producers (the first copy of each DONE only), are producers.ingest; a
 * run without one has no such key. */
static void
test_report_summary_has_mqtt_ingest_counts(void **state)
{
    s_fixture_t *fx = *state;
    et_aggregate_config_t config = {.run_id = "mqtt",
                                    .workflow = "sensor",
                                    .expect_producers = 2,
                                    .started_real_ns = T0};
    fx->agg = et_aggregate_new(&config);
    assert_non_null(fx->agg);
    for (uint64_t i = 0; i < 3; i++) {
        s_add(fx->agg, ET_RECORD_ACCEPTED, i, 0, T0, T0);
        s_add(fx->agg, ET_RECORD_COMPLETED, i, 0, T0, T0 + MS);
    }
    et_done_t done = {.producer_id = 0,
                      .sent = 2,
                      .ingest = {.kind = ET_INGEST_MQTT,
                                 .received = 5,
                                 .malformed = 2,
                                 .duplicates = 1,
                                 .gaps = 3,
                                 .reconnects = 1}};
    assert_int_equal(et_aggregate_add_done(fx->agg, &done, 0), 0);
    /* The other copy of the same DONE counts once. */
    assert_int_equal(et_aggregate_add_done(fx->agg, &done, 0), 0);
    et_done_t other = {
        .producer_id = 1,
        .sent = 1,
        .ingest = {.kind = ET_INGEST_MQTT, .received = 2, .malformed = 1}};
    assert_int_equal(et_aggregate_add_done(fx->agg, &other, 0), 0);
    et_aggregate_finish(fx->agg, ET_AGG_END_COMPLETE, T0 + S);
    s_write_agg(fx);
    json_t *root = s_load_summary(fx->dir);
    json_t *ingest =
        json_object_get(json_object_get(root, "producers"), "ingest");
    assert_non_null(ingest);
    assert_string_equal(json_string_value(json_object_get(ingest, "source")),
                        "mqtt");
    assert_int_equal(json_integer_value(json_object_get(ingest, "received")),
                     7);
    assert_int_equal(json_integer_value(json_object_get(ingest, "malformed")),
                     3);
    assert_int_equal(json_integer_value(json_object_get(ingest, "duplicates")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(ingest, "gaps")), 3);
    assert_int_equal(json_integer_value(json_object_get(ingest, "reconnects")),
                     1);
    json_decref(root);
    /* Without a producer fed from outside there is no ingest block. */
    et_aggregate_destroy(&fx->agg);
    s_write(fx, 1);
    root = s_load_summary(fx->dir);
    assert_null(json_object_get(json_object_get(root, "producers"), "ingest"));
    json_decref(root);
}

static void
test_report_every_lost_event_has_the_runs_end_as_its_reason(void **state)
{
    s_fixture_t *fx = *state;
    et_aggregate_config_t config = {.run_id = "lost",
                                    .workflow = "synthetic",
                                    .expect_producers = 1,
                                    .started_real_ns = T0};
    fx->agg = et_aggregate_new(&config);
    assert_non_null(fx->agg);
    for (uint64_t i = 0; i < 4; i++)
        s_add(fx->agg, ET_RECORD_ACCEPTED, i, 0, T0, T0);
    s_add(fx->agg, ET_RECORD_COMPLETED, 0, 0, T0, T0 + MS);
    et_done_t done = {.producer_id = 0, .sent = 6};
    assert_int_equal(et_aggregate_add_done(fx->agg, &done, 0), 0);
    et_done_t copy = done;
    copy.sent = 5; // the other copy disagrees
    assert_int_equal(et_aggregate_add_done(fx->agg, &copy, 0), 0);
    et_aggregate_finish(fx->agg, ET_AGG_END_BROKER_LOST, T0 + S);
    s_write_agg(fx);
    json_t *root = s_load_summary(fx->dir);
    json_t *events = json_object_get(root, "events");
    assert_int_equal(json_integer_value(json_object_get(events, "lost")), 5);
    json_t *reasons = json_object_get(events, "lost_reasons");
    assert_int_equal(json_object_size(reasons), 1);
    assert_int_equal(
        json_integer_value(json_object_get(reasons, "broker_lost")), 5);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(root, "collector"), "end")),
                        "broker_lost");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(root, "producers"),
                                           "copies_disagree")),
        1);
    json_decref(root);
    const char *md = s_read(fx->dir, "report.md");
    assert_non_null(strstr(md, "| ended by | broker_lost |"));
    assert_non_null(strstr(md, "Lost events by reason: broker_lost 5"));
}

static void
test_report_complete_latency_says_so(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 3);
    json_t *root = s_load_summary(fx->dir);
    int complete = 0;
    json_t *at_least;
    json_int_t unfinished, c_count;
    double c_min, c_p50, c_max;
    json_error_t error;
    int rc = json_unpack_ex(
        root, &error, 0, "{s:{s:I}, s:{s:b, s:o}, s:{s:I, s:F, s:F, s:F}}",
        "events", "unfinished", &unfinished, "latency_ms", "complete",
        &complete, "at_least", &at_least, "latency_censored", "count", &c_count,
        "min_ms", &c_min, "p50_ms", &c_p50, "max_ms", &c_max);
    if (rc != 0)
        fail_msg("latency completeness: %s", error.text);
    assert_int_equal(unfinished, 0);
    assert_true(complete);
    assert_true(json_is_array(at_least));
    assert_int_equal(json_array_size(at_least), 0);
    assert_int_equal(c_count, 0);
    assert_true(c_min == 0 && c_p50 == 0 && c_max == 0);
    json_decref(root);
    char *md = s_read(fx->dir, "report.md");
    assert_null(strstr(md, "Incomplete"));
    assert_null(strstr(md, "≥"));
}

static void
test_report_incomplete_latency_marks_its_lower_bounds(void **state)
{
    s_fixture_t *fx = *state;
    fx->agg = s_run(3);
    // One event was still in the system 20 s after its intended send when
    // the drain ended.
    et_record_t r = {.kind = ET_RECORD_FAILED,
                     .event_id = 500,
                     .intended_ns = T0,
                     .t_ns = T0 + 20 * S,
                     .reason = ET_REASON_SHUTTING_DOWN,
                     .label = -1,
                     .outcome = -1};
    assert_int_equal(et_aggregate_add_record(fx->agg, &r), 0);
    s_write_agg(fx);
    json_t *root = s_load_summary(fx->dir);
    int complete = 1;
    json_t *at_least;
    json_int_t unfinished, failed, c_count;
    double c_min, c_p50, c_max, p50, p90;
    json_error_t error;
    int rc = json_unpack_ex(
        root, &error, 0,
        "{s:{s:I, s:I}, s:{s:F, s:F, s:b, s:o}, s:{s:I, s:F, s:F, s:F}}",
        "events", "failed", &failed, "unfinished", &unfinished, "latency_ms",
        "p50", &p50, "p90", &p90, "complete", &complete, "at_least", &at_least,
        "latency_censored", "count", &c_count, "min_ms", &c_min, "p50_ms",
        &c_p50, "max_ms", &c_max);
    if (rc != 0)
        fail_msg("latency completeness: %s", error.text);
    // Unfinished events stay counted as failed (shutting_down).
    assert_int_equal(failed, 1);
    assert_int_equal(unfinished, 1);
    assert_false(complete);
    // Latencies 10, 10, 10 ms and >= 20 s: p50 is exact, p90 and above
    // fall on the unfinished event.
    assert_true(p50 > 9.9 && p50 < 10.1);
    assert_true(p90 > 19900 && p90 < 20100);
    const char *expect[] = {"mean", "p90", "p99", "p999", "max"};
    assert_int_equal(json_array_size(at_least), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_array_get(at_least, i)),
                            expect[i]);
    assert_int_equal(c_count, 1);
    assert_true(c_min == 20000.0 && c_max == 20000.0);
    assert_true(c_p50 > 19900 && c_p50 < 20100);
    json_decref(root);
    char *md = s_read(fx->dir, "report.md");
    assert_non_null(strstr(md, "**Incomplete:**"));
    assert_non_null(strstr(md, "| ≥ 5007.500 | 10.0"));
    assert_non_null(strstr(md, "| ≥ 20000.000 | ≥ 20000.000 | ≥ 20000.000 | "
                               "≥ 20000.000 |"));
    assert_non_null(strstr(md, "1 of the failed events were unfinished"));
    assert_non_null(strstr(
        md, "Lower bounds of the unfinished events (ms): min 20000.000"));
}

static void
test_report_throughput_is_over_the_load_window(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 3);
    json_t *root = s_load_summary(fx->dir);
    const char *window;
    double mean, offered, window_s, drain_s;
    json_int_t in_window, drained;
    json_error_t error;
    int rc = json_unpack_ex(
        root, &error, 0, "{s:{s:F, s:s, s:F, s:F, s:I, s:I, s:F}}",
        "throughput_eps", "mean", &mean, "window", &window, "window_s",
        &window_s, "offered_eps", &offered, "completed_in_window", &in_window,
        "drain_completed", &drained, "drain_s", &drain_s);
    if (rc != 0)
        fail_msg("throughput_eps: %s", error.text);
    // HELLO: 3 s from T0; 3 events completed inside it, 4 sent.
    assert_string_equal(window, "schedule");
    assert_true(window_s == 3.0 && mean == 1.0);
    assert_true(fabs(offered - 4.0 / 3.0) < 1e-9);
    assert_int_equal(in_window, 3);
    assert_int_equal(drained, 0);
    assert_true(drain_s == 0);
    json_decref(root);
    char *md = s_read(fx->dir, "report.md");
    assert_non_null(
        strstr(md, "| 1.000 | 1.333 | 1 | 3.000 | 3 | 0 | 0.000 |"));
    assert_non_null(strstr(md, "from the producers' schedule start"));
}

static void
test_report_summary_has_the_run_source_and_cost(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 3);
    json_t *root = s_load_summary(fx->dir);
    const char *source, *model;
    json_int_t memory_mb, requests;
    double price_gb_s, price_requests, instance_gb_s, billed_gb_s,
        usd_instances, usd_invocations;
    json_error_t error;
    int rc = json_unpack_ex(
        root, &error, 0,
        "{s:{s:s}, s:{s:s, s:I, s:F, s:F, s:I, s:F, s:F, "
        "s:F, s:F}}",
        "run", "source", &source, "cost", "model", &model, "memory_mb",
        &memory_mb, "price_per_gb_s", &price_gb_s, "price_per_million_requests",
        &price_requests, "requests", &requests, "instance_gb_s", &instance_gb_s,
        "billed_gb_s", &billed_gb_s, "usd_instances", &usd_instances,
        "usd_invocations", &usd_invocations);
    if (rc != 0)
        fail_msg("run.source and cost: %s", error.text);
    assert_string_equal(source, "synth|x");
    assert_string_equal(model, "aws-lambda-x86");
    assert_int_equal(memory_mb, 1024);
    assert_true(price_gb_s == 0.0000166667 && price_requests == 0.2);
    // Three events through two stages: 6 invocations of 5 ms each; one
    // instance that lived 10 s; 1 GB.
    assert_int_equal(requests, 6);
    assert_true(fabs(instance_gb_s - 10.0) < 1e-9);
    assert_true(fabs(billed_gb_s - 0.030) < 1e-9);
    assert_true(fabs(usd_instances - (10 * 0.0000166667 + 6 * 0.2 / 1e6)) <
                1e-12);
    assert_true(fabs(usd_invocations - (0.030 * 0.0000166667 + 6 * 0.2 / 1e6)) <
                1e-12);
    json_int_t failed_attempts;
    double failed_gb_s, usd_failed, share;
    rc = json_unpack_ex(
        root, &error, 0, "{s:{s:I, s:F, s:F, s:F}}", "cost", "failed_attempts",
        &failed_attempts, "failed_attempts_gb_s", &failed_gb_s,
        "usd_failed_attempts", &usd_failed, "retry_share", &share);
    if (rc != 0)
        fail_msg("cost's failed attempts: %s", error.text);
    assert_int_equal(failed_attempts, 0);
    assert_true(failed_gb_s == 0 && usd_failed == 0 && share == 0);
    json_decref(root);
}

/* A one-stage fraud run: six labelled events, each with a verdict and a
 * shadow verdict, and the function's store and model timings. */
static void
test_report_has_the_shadow_matrix_and_the_stage_timings(void **state)
{
    s_fixture_t *fx = *state;
    et_aggregate_config_t config = {.run_id = "fraud-run",
                                    .workflow = "fraud",
                                    .expect_producers = 1,
                                    .started_real_ns = T0};
    fx->agg = et_aggregate_new(&config);
    assert_non_null(fx->agg);
    et_hello_t hello = {.rate_eps = 6, .duration_s = 1, .started_ns = T0};
    snprintf(hello.arrival, sizeof hello.arrival, "constant");
    snprintf(hello.source, sizeof hello.source, "fraud");
    assert_int_equal(et_aggregate_add_hello(fx->agg, &hello), 0);
    /* label, verdict, shadow verdict: decision TP TP FN FP TN TN (F1 2/3),
     * shadow TP FN FN TN TN FP (F1 0.4). */
    const int32_t rows[6][3] = {{1, 2, 1}, {1, 1, 0}, {1, 0, 0},
                                {0, 1, 0}, {0, 0, 0}, {0, 0, 1}};
    for (uint64_t i = 0; i < 6; i++) {
        int64_t t = T0 + (int64_t)i * 100 * MS;
        et_record_t r;
        memset(&r, 0, sizeof r);
        r.event_id = i;
        r.intended_ns = t;
        r.t_ns = t;
        r.kind = ET_RECORD_ACCEPTED;
        r.label = rows[i][0];
        r.outcome = -1;
        assert_int_equal(et_aggregate_add_record(fx->agg, &r), 0);
        r.kind = ET_RECORD_STAGE;
        r.t_ns = t + 5 * MS;
        r.service_ns = 5 * MS;
        r.hold_ns = 6 * MS;
        r.residence_ns = 6 * MS;
        r.outcome = rows[i][1];
        r.detail = (et_detail_t){.has_shadow = 1,
                                 .shadow_outcome = rows[i][2],
                                 .timed = 3,
                                 .timing_ns = {(int64_t)(i + 1) * MS, MS}};
        assert_int_equal(et_aggregate_add_record(fx->agg, &r), 0);
        r.kind = ET_RECORD_COMPLETED;
        r.service_ns = r.hold_ns = r.residence_ns = 0;
        r.detail.timed = 0;
        r.detail.timing_ns[0] = r.detail.timing_ns[1] = 0;
        assert_int_equal(et_aggregate_add_record(fx->agg, &r), 0);
    }
    et_aggregate_finish(fx->agg, ET_AGG_END_COMPLETE, T0 + 2 * S);
    s_write_agg(fx);
    json_t *root = s_load_summary(fx->dir);
    double f1, shadow_f1, shadow_precision, shadow_recall;
    json_int_t tp, fp, tn, fn, unscored;
    json_error_t error;
    if (json_unpack_ex(root, &error, 0,
                       "{s:{s:F, s:{s:F, s:F, s:F, s:I, s:I, s:I, s:I, s:I}}}",
                       "accuracy", "f1", &f1, "shadow", "precision",
                       &shadow_precision, "recall", &shadow_recall, "f1",
                       &shadow_f1, "tp", &tp, "fp", &fp, "tn", &tn, "fn", &fn,
                       "unscored", &unscored) != 0)
        fail_msg("accuracy.shadow: %s", error.text);
    assert_true(fabs(f1 - 2.0 / 3.0) < 1e-9);
    assert_true(fabs(shadow_precision - 0.5) < 1e-9);
    assert_true(fabs(shadow_recall - 1.0 / 3.0) < 1e-9);
    assert_true(fabs(shadow_f1 - 0.4) < 1e-9);
    assert_true(tp == 1 && fp == 1 && tn == 2 && fn == 2 && unscored == 0);
    json_t *stage = json_array_get(json_object_get(root, "stages"), 0);
    double store_p50, store_p99, model_p50;
    json_int_t store_count, model_count;
    if (json_unpack_ex(
            stage, &error, 0, "{s:{s:{s:I, s:F, s:F}, s:{s:I, s:F}}}",
            "timings", "store", "count", &store_count, "p50", &store_p50, "p99",
            &store_p99, "model", "count", &model_count, "p50", &model_p50) != 0)
        fail_msg("stages[0].timings: %s", error.text);
    assert_int_equal(store_count, 6);
    assert_int_equal(model_count, 6);
    assert_true(fabs(store_p50 - 3.0) < 0.01 && fabs(store_p99 - 6.0) < 0.01);
    assert_true(fabs(model_p50 - 1.0) < 0.01);
    json_decref(root);
    char *md = s_read(fx->dir, "report.md");
    const char *lines[] = {
        "| decision | 0.6667 | 0.6667 | 0.6667 | 2 | 1 | 2 | 1 | 0 |",
        "| shadow | 0.5000 | 0.3333 | 0.4000 | 1 | 1 | 2 | 2 | 0 |",
        "### Stages: measured parts of the service time",
        "| 0 | stage0 | 5.000 / 5.000 | 6 | 3.000 / 6.000 | 6 | 1.000 / "
        "1.000 |"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(md, lines[i]))
            fail_msg("report.md lacks \"%s\"", lines[i]);
}

/* Without shadow verdicts or timings: accuracy.shadow null, timings {}, and
 * no such tables. */
static void
test_report_without_shadow_or_timings_says_nothing_of_them(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 3);
    json_t *root = s_load_summary(fx->dir);
    json_t *stages = json_object_get(root, "stages");
    for (size_t i = 0; i < json_array_size(stages); i++) {
        json_t *timings = json_object_get(json_array_get(stages, i), "timings");
        assert_true(json_is_object(timings) && json_object_size(timings) == 0);
    }
    json_decref(root);
    char *md = s_read(fx->dir, "report.md");
    assert_null(strstr(md, "measured parts of the service time"));
    assert_null(strstr(md, "| shadow |"));
}

static void
test_report_splits_queue_wait_into_cold_and_warm(void **state)
{
    s_fixture_t *fx = *state;
    et_aggregate_config_t config = {
        .run_id = "cold", .workflow = "synthetic", .started_real_ns = T0};
    fx->agg = et_aggregate_new(&config);
    assert_non_null(fx->agg);
    // Event 1 waited 800 ms for an instance to start, 2 and 3 did not.
    for (uint64_t id = 1; id <= 3; id++) {
        et_record_t r = {.kind = ET_RECORD_STAGE,
                         .event_id = id,
                         .intended_ns = T0,
                         .t_ns = T0 + S,
                         .queue_ns = id == 1 ? 800 * MS : 4 * MS,
                         .service_ns = 5 * MS,
                         .cold = id == 1,
                         .label = -1,
                         .outcome = -1};
        assert_int_equal(et_aggregate_add_record(fx->agg, &r), 0);
    }
    const et_results_t *r = et_aggregate_results(fx->agg);
    assert_non_null(r);
    assert_int_equal(et_report_write_all(fx->dir, r), 0);
    json_t *root = s_load_summary(fx->dir);
    double c_mean, c_p50, c_p99, w_mean, w_p50, w_p99;
    json_int_t cold_events;
    json_error_t error;
    int rc = json_unpack_ex(
        json_array_get(json_object_get(root, "stages"), 0), &error, 0,
        "{s:I, s:{s:F, s:F, s:F}, s:{s:F, s:F, s:F}}", "cold_events",
        &cold_events, "cold_queue_ms", "mean", &c_mean, "p50", &c_p50, "p99",
        &c_p99, "warm_queue_ms", "mean", &w_mean, "p50", &w_p50, "p99", &w_p99);
    if (rc != 0)
        fail_msg("stages[0]: %s", error.text);
    assert_int_equal(cold_events, 1);
    assert_true(c_mean == 800.0 && c_p50 > 799 && c_p99 < 801);
    assert_true(w_mean == 4.0 && w_p50 > 3.99 && w_p99 < 4.01);
    // No instance ever reported: cost is null.
    assert_true(json_is_null(json_object_get(root, "cost")));
    json_decref(root);
    char *md = s_read(fx->dir, "report.md");
    assert_non_null(strstr(md, "### Queue wait: cold and warm events"));
    assert_non_null(strstr(md, "| 0 | stage0 | 1 | 800.000 / "));
    assert_null(strstr(md, "## Cost"));
}

/* Several functions (a trace replay's): each stage's cold ratio and
 * slowdown in summary.json, and the per-function table in report.md. */
static void
test_report_per_function_cold_ratio_and_slowdown(void **state)
{
    s_fixture_t *fx = *state;
    et_aggregate_config_t config = {
        .run_id = "fns", .workflow = "azure", .started_real_ns = T0};
    fx->agg = et_aggregate_new(&config);
    assert_non_null(fx->agg);
    // Stage 0: four results of 5 ms service, one a cold start and one
    // waiting behind it, residence 20 ms; stage 1: one warm result with
    // residence = service = 10 ms. Only the cold start is in the ratio.
    for (uint64_t id = 1; id <= 5; id++) {
        uint32_t stage = id == 5;
        et_record_t r = {.kind = ET_RECORD_STAGE,
                         .event_id = id,
                         .stage = stage,
                         .intended_ns = T0,
                         .t_ns = T0 + S,
                         .queue_ns = stage ? 0 : 15 * MS,
                         .service_ns = stage ? 10 * MS : 5 * MS,
                         .hold_ns = stage ? 10 * MS : 5 * MS,
                         .residence_ns = stage ? 10 * MS : 20 * MS,
                         .cold = id == 1   ? ET_COLD_START
                                 : id == 2 ? ET_COLD_WAIT
                                           : ET_COLD_NONE,
                         .label = -1,
                         .outcome = -1};
        assert_int_equal(et_aggregate_add_record(fx->agg, &r), 0);
    }
    const et_results_t *r = et_aggregate_results(fx->agg);
    assert_non_null(r);
    assert_int_equal(et_report_write_all(fx->dir, r), 0);
    json_t *root = s_load_summary(fx->dir);
    json_t *stages = json_object_get(root, "stages");
    double ratio[2], p50[2], p99[2];
    json_int_t cold_inv[2], cold_waits[2], cold_events[2];
    for (size_t i = 0; i < 2; i++) {
        json_error_t error;
        if (json_unpack_ex(json_array_get(stages, i), &error, 0,
                           "{s:F, s:{s:F, s:F}, s:I, s:I, s:I}", "cold_ratio",
                           &ratio[i], "slowdown", "p50", &p50[i], "p99",
                           &p99[i], "cold_invocations", &cold_inv[i],
                           "cold_waits", &cold_waits[i], "cold_events",
                           &cold_events[i]) != 0)
            fail_msg("stages[%zu]: %s", i, error.text);
    }
    assert_true(ratio[0] == 0.25 && ratio[1] == 0.0);
    assert_int_equal(cold_inv[0], 1);
    assert_int_equal(cold_waits[0], 1);
    assert_int_equal(cold_events[0], 2);
    assert_int_equal(cold_inv[1] + cold_waits[1] + cold_events[1], 0);
    assert_true(p50[0] > 3.9 && p50[0] < 4.1 && p99[0] > 3.9 && p99[0] < 4.1);
    assert_true(p50[1] > 0.99 && p50[1] < 1.01);
    json_decref(root);
    char *md = s_read(fx->dir, "report.md");
    assert_non_null(strstr(md, "### Per function: cold starts and slowdown"));
    // Most completions first; then the totals.
    const char *first = strstr(md, "| stage0 | 4 | 0.250 |");
    const char *second = strstr(md, "| stage1 | 1 | 0.000 |");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    assert_non_null(strstr(md, "| all 2 | 5 | 0.200 |"));
}

/* The per-function figures' data: functions.csv has one row per function
 * with results, consistent with summary.json; slowdown_cdf.csv is a CDF
 * per column ending at 1; instances.csv's columns add up to its total. */
static void
test_report_per_function_csvs_match_the_summary(void **state)
{
    s_fixture_t *fx = *state;
    et_aggregate_config_t config = {
        .run_id = "fcsv", .workflow = "azure", .started_real_ns = T0};
    fx->agg = et_aggregate_new(&config);
    assert_non_null(fx->agg);
    et_hello_t hello;
    memset(&hello, 0, sizeof hello);
    hello.producer_id = 1;
    snprintf(hello.arrival, sizeof hello.arrival, "azure2019");
    snprintf(hello.source, sizeof hello.source, "synthetic");
    hello.rate_eps = 1;
    hello.duration_s = 120; // |W| = 2 minutes
    hello.started_ns = T0;
    assert_int_equal(et_aggregate_add_hello(fx->agg, &hello), 0);
    et_workflow_msg_t wf = {.n_stages = 3};
    snprintf(wf.name, sizeof wf.name, "azure");
    const char *fn[] = {"f,0", "f1", "f2"};
    for (int i = 0; i < 3; i++)
        snprintf(wf.stages[i], sizeof wf.stages[i], "%s", fn[i]);
    assert_int_equal(et_aggregate_add_workflow(fx->agg, &wf), 0);
    // Arrivals in seconds 0 and 2 make the timeseries' rows.
    for (uint64_t id = 1; id <= 8; id++) {
        int64_t when = T0 + (id == 8 ? 2 * S : 0);
        et_record_t a = {.kind = ET_RECORD_ACCEPTED,
                         .event_id = id,
                         .intended_ns = when,
                         .t_ns = when,
                         .label = -1,
                         .outcome = -1};
        assert_int_equal(et_aggregate_add_record(fx->agg, &a), 0);
    }
    // f,0: six results (two cold), slowdowns 2..7; f1: two; f2: none.
    for (uint64_t id = 1; id <= 8; id++) {
        uint32_t stage = id <= 6 ? 0 : 1;
        et_record_t r = {.kind = ET_RECORD_STAGE,
                         .event_id = id,
                         .stage = stage,
                         .intended_ns = T0,
                         .t_ns = T0 + S,
                         .service_ns = 1 * MS,
                         .hold_ns = 1 * MS,
                         .residence_ns = (int64_t)(id + 1) * MS,
                         .cold = id == 1 || id == 4,
                         .label = -1,
                         .outcome = -1};
        assert_int_equal(et_aggregate_add_record(fx->agg, &r), 0);
    }
    et_stats_t st;
    memset(&st, 0, sizeof st);
    st.n_functions = 3;
    for (int t = 0; t < 3; t++) {
        st.t_ns = T0 + t * S;
        for (uint32_t i = 0; i < 3; i++) {
            snprintf(st.functions[i].name, sizeof st.functions[i].name, "%s",
                     fn[i]);
            st.functions[i].instances = (uint32_t)(t + i);
        }
        assert_int_equal(et_aggregate_add_stats(fx->agg, &st), 0);
    }
    const et_results_t *r = et_aggregate_results(fx->agg);
    assert_non_null(r);
    assert_int_equal(et_report_write_all(fx->dir, r), 0);

    json_t *root = s_load_summary(fx->dir);
    json_t *sd = json_object_get(root, "slowdown");
    assert_int_equal(json_integer_value(json_object_get(sd, "invocations")), 8);
    double p50 = json_real_value(json_object_get(sd, "p50"));
    assert_true(p50 > 4.99 && p50 < 5.01);
    json_t *stages = json_object_get(root, "stages");
    json_t *st0 = json_array_get(stages, 0);
    double rate0 = json_real_value(json_object_get(st0, "invocations_per_min"));
    assert_true(rate0 > 2.99 && rate0 < 3.01); // 6 results in 2 minutes
    assert_true(json_is_null(json_object_get(
        json_object_get(json_array_get(stages, 2), "invocation_slowdown"),
        "p50")));

    char *csv = s_read(fx->dir, "functions.csv");
    assert_int_equal(s_count_lines(csv), 1 + 2); // f2 has no results
    assert_non_null(strstr(csv, "function,completed,cold_events,cold_ratio,"
                                "invocations_per_min,slowdown_p50,"
                                "slowdown_p99\n"));
    // The name's comma became '_'; the cold ratio is summary.json's.
    double ratio = json_real_value(json_object_get(st0, "cold_ratio"));
    char want[96];
    snprintf(want, sizeof want, "\nf_0,6,2,%.6f,3.000000,", ratio);
    assert_non_null(strstr(csv, want));
    assert_non_null(strstr(csv, "\nf1,2,0,0.000000,1.000000,"));
    json_decref(root);

    csv = s_read(fx->dir, "slowdown_cdf.csv");
    assert_true(strncmp(csv, "slowdown,platform,f_0,f1\n", 25) == 0);
    double prev[3] = {0, 0, 0}, last[3] = {0, 0, 0}, x_prev = 0;
    int rows = 0;
    for (char *line = strchr(csv, '\n') + 1; *line;
         line = strchr(line, '\n') + 1) {
        double x, y[3];
        assert_int_equal(
            sscanf(line, "%lf,%lf,%lf,%lf", &x, &y[0], &y[1], &y[2]), 4);
        assert_true(x > x_prev);
        for (int k = 0; k < 3; k++) {
            assert_true(y[k] >= prev[k] && y[k] <= 1);
            prev[k] = last[k] = y[k];
        }
        x_prev = x;
        rows++;
    }
    assert_true(rows > 2);
    for (int k = 0; k < 3; k++)
        assert_true(last[k] == 1.0);

    csv = s_read(fx->dir, "instances.csv");
    assert_true(strncmp(csv, "second,total,f_0,f1,f2\n", 23) == 0);
    int seen = 0;
    for (char *line = strchr(csv, '\n') + 1; *line;
         line = strchr(line, '\n') + 1) {
        unsigned sec, total, a, b, c;
        assert_int_equal(
            sscanf(line, "%u,%u,%u,%u,%u", &sec, &total, &a, &b, &c), 5);
        assert_int_equal(total, a + b + c);
        seen++;
    }
    assert_int_equal(seen, 3);
    assert_non_null(strstr(csv, "\n2,9,2,3,4\n"));
    char *md = s_read(fx->dir, "report.md");
    assert_non_null(strstr(md, "### Per function: figures"));
    assert_non_null(strstr(md, "(slowdown_cdf.png)"));
}

static void
test_report_summary_of_an_empty_run_is_complete_and_valid(void **state)
{
    s_fixture_t *fx = *state;
    et_aggregate_config_t config = {
        .run_id = "empty", .workflow = "synthetic", .started_real_ns = T0};
    fx->agg = et_aggregate_new(&config);
    assert_non_null(fx->agg);
    et_aggregate_finish(fx->agg, ET_AGG_END_SIGNAL, T0 + S);
    const et_results_t *r = et_aggregate_results(fx->agg);
    assert_non_null(r);
    assert_int_equal(et_report_write_all(fx->dir, r), 0);
    json_t *root = s_load_summary(fx->dir);
    assert_true(json_is_array(json_object_get(root, "stages")));
    assert_int_equal(json_array_size(json_object_get(root, "stages")), 0);
    assert_true(json_is_real(
        json_object_get(json_object_get(root, "latency_ms"), "p99")));
    assert_true(json_is_object(
        json_object_get(json_object_get(root, "run"), "workers")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(root, "run"), "source")),
                        "unknown");
    assert_true(json_is_null(json_object_get(root, "cost")));
    // No HELLO, no STATS: the window, the bottleneck and the broker's
    // counters are unknown, not 0.
    assert_true(json_is_null(json_object_get(root, "load_window")));
    assert_true(json_is_null(json_object_get(root, "bottleneck")));
    assert_true(json_is_null(json_object_get(root, "broker")));
    json_decref(root);
    // A header and no rows.
    assert_int_equal(s_count_lines(s_read(fx->dir, "timeseries.csv")), 1);
}

static void
test_report_summary_has_the_clocks_object(void **state)
{
    s_fixture_t *fx = *state;
    fx->agg = s_run(3);
    // A producer 2 ms then 3 ms behind the broker, 10 s apart, never
    // corrected; a worker with one estimate.
    s_clock(fx->agg, ET_CLOCK_ROLE_PRODUCER, "producer-0", "prod|host", 2 * MS,
            MS / 2, 0, T0);
    s_clock(fx->agg, ET_CLOCK_ROLE_PRODUCER, "producer-0", "prod|host", 3 * MS,
            MS / 2, 0, T0 + 10 * S);
    s_clock(fx->agg, ET_CLOCK_ROLE_WORKER, "decode-1", "wh", -1 * MS, MS / 4, 0,
            T0 + S);
    s_write_agg(fx);
    json_t *root = s_load_summary(fx->dir);

    const char *reference, *method;
    json_t *sources, *bound_all;
    json_int_t dropped, negative, overflow;
    int corrected_all;
    json_error_t error;
    int rc = json_unpack_ex(
        root, &error, 0, "{s:{s:s, s:s, s:o, s:I, s:b, s:o}, s:{s:I, s:I}}",
        "clocks", "reference", &reference, "method", &method, "sources",
        &sources, "sources_dropped", &dropped, "latency_corrected",
        &corrected_all, "latency_error_bound_ms", &bound_all, "collector",
        "latency_negative", &negative, "latency_overflow", &overflow);
    if (rc != 0)
        fail_msg("clocks: %s", error.text);
    assert_string_equal(reference, "broker");
    assert_string_equal(method, "ntp-style probe bursts; each estimate is "
                                "the burst's minimum round trip");
    assert_int_equal(dropped, 0);
    assert_false(corrected_all);
    assert_int_equal(negative, 0);
    assert_int_equal(overflow, 0);
    // Worst |offset| + bound 3.5 ms, plus 100 ppm over the 10 s gap.
    assert_true(json_is_number(bound_all));
    assert_true(fabs(json_number_value(bound_all) - 4.5) < 1e-9);
    assert_true(json_is_array(sources));
    assert_int_equal(json_array_size(sources), 2);

    const char *role, *name, *host;
    json_int_t producer_id, estimates, samples, lost;
    double offset, bound, rtt, offset_min, offset_max, drift, correction,
        error_bound;
    int corrected;
    rc = json_unpack_ex(
        json_array_get(sources, 0), &error, JSON_STRICT,
        "{s:s, s:s, s:s, s:I, s:F, s:F, s:F, s:F, s:F, s:F, s:F, s:b, s:I, "
        "s:I, s:I, s:F}",
        "role", &role, "name", &name, "host", &host, "producer_id",
        &producer_id, "offset_ms", &offset, "bound_ms", &bound, "rtt_ms", &rtt,
        "offset_min_ms", &offset_min, "offset_max_ms", &offset_max, "drift_ppm",
        &drift, "correction_ms", &correction, "corrected", &corrected,
        "estimates", &estimates, "samples", &samples, "lost", &lost,
        "latency_error_bound_ms", &error_bound);
    if (rc != 0)
        fail_msg("clocks.sources[0]: %s", error.text);
    assert_string_equal(role, "producer");
    assert_string_equal(name, "producer-0");
    assert_string_equal(host, "prod|host");
    assert_int_equal(producer_id, 3);
    assert_true(offset == 3.0 && bound == 0.5 && rtt == 1.0);
    assert_true(offset_min == 2.0 && offset_max == 3.0);
    assert_true(fabs(drift - 100.0) < 1e-6);
    assert_true(correction == 0.0);
    assert_false(corrected);
    assert_int_equal(estimates, 2);
    assert_int_equal(samples, 8);
    assert_int_equal(lost, 1);
    assert_true(fabs(error_bound - 4.5) < 1e-9);

    // A worker: no producer_id, drift unknown after one estimate, and no
    // latency error (its clock never enters latency).
    json_t *w = json_array_get(sources, 1);
    assert_string_equal(json_string_value(json_object_get(w, "role")),
                        "worker");
    assert_string_equal(json_string_value(json_object_get(w, "name")),
                        "decode-1");
    assert_null(json_object_get(w, "producer_id"));
    assert_true(json_number_value(json_object_get(w, "offset_ms")) == -1.0);
    assert_true(json_number_value(json_object_get(w, "bound_ms")) == 0.25);
    assert_true(json_is_null(json_object_get(w, "drift_ppm")));
    assert_true(json_is_null(json_object_get(w, "latency_error_bound_ms")));
    assert_true(json_is_false(json_object_get(w, "corrected")));
    json_decref(root);
}

static void
test_report_summary_clocks_are_null_where_unknown_without_sources(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 2);
    json_t *root = s_load_summary(fx->dir);
    json_t *clocks = json_object_get(root, "clocks");
    assert_true(json_is_object(clocks));
    assert_string_equal(json_string_value(json_object_get(clocks, "reference")),
                        "broker");
    assert_true(json_is_array(json_object_get(clocks, "sources")));
    assert_int_equal(json_array_size(json_object_get(clocks, "sources")), 0);
    assert_int_equal(
        json_integer_value(json_object_get(clocks, "sources_dropped")), 0);
    assert_true(json_is_false(json_object_get(clocks, "latency_corrected")));
    assert_true(
        json_is_null(json_object_get(clocks, "latency_error_bound_ms")));
    json_t *collector = json_object_get(root, "collector");
    assert_true(
        json_is_integer(json_object_get(collector, "latency_negative")));
    assert_true(
        json_is_integer(json_object_get(collector, "latency_overflow")));
    json_decref(root);
}

// ---------------------------------------------------------------------------
// timeseries.csv and report.md

static void
test_report_timeseries_has_a_header_and_one_row_per_second(void **state)
{
    s_fixture_t *fx = *state;
    const et_results_t *r = s_write(fx, 5);
    char *csv = s_read(fx->dir, "timeseries.csv");
    const char *header =
        "second,sent,accepted,rejected,completed,failed,"
        "queue_depth,instances,busy_slots,p50_ms,p99_ms,memory_mb\n";
    assert_memory_equal(csv, header, strlen(header));
    assert_int_equal(r->n_rows, 5);
    assert_int_equal(s_count_lines(csv), 1 + 5);
    // Second 0: 2 sent (1 accepted, 1 rejected), 1 completed at 10 ms,
    // queue depth 3 from the STATS snapshot.
    assert_non_null(strstr(csv, "\n0,2,1,1,1,0,3,3,0,10.0"));
    // Memory over time: 3 instances at the cost model's 1024 MB.
    char *row0 = strstr(csv, "\n0,2,1,1,1,0,3,3,0,10.0");
    char *end0 = strchr(row0 + 1, '\n');
    assert_non_null(end0);
    assert_memory_equal(end0 - 5, ",3072", 5);
    // Every row has all twelve columns.
    for (char *line = strchr(csv, '\n'); line && line[1];
         line = strchr(line + 1, '\n')) {
        int commas = 0;
        for (char *c = line + 1; *c && *c != '\n'; c++)
            commas += *c == ',';
        assert_int_equal(commas, 11);
    }
}

static void
test_report_markdown_contains_the_tables(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 3);
    char *md = s_read(fx->dir, "report.md");
    const char *sections[] = {"# Eventide run test-run\\|x\n",
                              "| run id | test-run\\|x |",
                              "## Run",
                              "## Events",
                              "## Latency (ms)",
                              "## Throughput",
                              "## Utilization",
                              "## Stages",
                              "### Stages: hold and residence",
                              "| 0 | decode | 6.000 / 6.000 / 6.000 | "
                              "1.000 / 1.000 / 1.000 | 8.000 / 8.000 / "
                              "8.000 |",
                              "## Workers and cold starts",
                              "## Timeseries",
                              "| p50 ms | p99 ms |",
                              "| sent | accepted | rejected | completed |",
                              "(balanced)",
                              "| 0 | decode |",
                              "constant\\|odd",
                              "| source | synth\\|x |",
                              "## Cost",
                              "| requests | instance GB-s | billed GB-s |",
                              "| 6 | 10.000 | 0.030 | 0.000168 | 0.000002 |",
                              "Instance GB-s by what the instances did"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (!strstr(md, sections[i]))
            fail_msg("report.md lacks \"%s\"", sections[i]);
}

static void
test_report_markdown_says_when_clocks_were_not_estimated(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 3);
    char *md = s_read(fx->dir, "report.md");
    assert_non_null(strstr(
        md, "## Clocks\n\nClock offsets were not estimated: end-to-end "
            "latency takes each producer's timestamps as they are (right "
            "when producers share the broker's host or clock).\n"));
    assert_null(strstr(md, "| role | name | host |"));
    assert_null(strstr(md, "**Warning:**"));
}

static void
test_report_markdown_has_the_clocks_table_and_warns_of_early_completions(
    void **state)
{
    s_fixture_t *fx = *state;
    fx->agg = s_run(3);
    s_clock(fx->agg, ET_CLOCK_ROLE_PRODUCER, "producer-0", "prod|host", 4 * MS,
            MS / 2, 4 * MS, T0);
    s_clock(fx->agg, ET_CLOCK_ROLE_WORKER, "decode-1", "wh", -1 * MS, MS / 4, 0,
            T0 + S);
    // Completed 1 s before it was due on the broker's clock.
    s_add(fx->agg, ET_RECORD_COMPLETED, 77, 0, T0 + S, T0);
    s_write_agg(fx);
    char *md = s_read(fx->dir, "report.md");
    const char *lines[] = {
        "## Clocks\n",
        "| role | name | host | offset ms | ± bound ms | rtt ms | drift ppm | "
        "corrected | estimates | lost |\n",
        "| producer | producer-0 | prod\\|host | 4.000 | 0.500 | 1.000 | "
        "unknown | yes | 1 | 1 |\n",
        "| worker | decode-1 | wh | -1.000 | 0.250 | 0.500 | unknown | no | 1 "
        "| 1 |\n",
        "Producer timestamps were corrected by their offsets to the broker's "
        "clock; the latency error bound from clock offsets is ± 0.500 ms.\n",
        "**Warning:** 1 events completed before their intended send time on "
        "the broker's clock, i.e. a producer's clock is ahead and was not "
        "corrected"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(md, lines[i]))
            fail_msg("report.md lacks \"%s\"", lines[i]);
    assert_null(strstr(md, "Clock offsets were not estimated"));
    json_t *root = s_load_summary(fx->dir);
    json_t *clocks = json_object_get(root, "clocks");
    assert_true(json_is_true(json_object_get(clocks, "latency_corrected")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(root, "collector"),
                                           "latency_negative")),
        1);
    json_decref(root);
}

static void
test_report_markdown_leaves_long_timeseries_to_the_csv(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 121);
    char *md = s_read(fx->dir, "report.md");
    assert_non_null(strstr(md, "121 one-second rows"));
    assert_null(strstr(md, "| 120 | "));
}

// ---------------------------------------------------------------------------
// Files and the stdout summary

static void
test_report_writes_atomically_leaving_no_temporary_files(void **state)
{
    s_fixture_t *fx = *state;
    s_write(fx, 2);
    assert_true(s_exists(fx->dir, "summary.json"));
    assert_true(s_exists(fx->dir, "timeseries.csv"));
    assert_true(s_exists(fx->dir, "report.md"));
    assert_false(s_exists(fx->dir, "summary.json.tmp"));
    assert_false(s_exists(fx->dir, "timeseries.csv.tmp"));
    assert_false(s_exists(fx->dir, "report.md.tmp"));
    // Rewriting replaces the files.
    assert_int_equal(
        et_report_write_summary(fx->dir, et_aggregate_results(fx->agg)), 0);
}

static void
test_report_write_fails_cleanly_into_a_missing_directory(void **state)
{
    s_fixture_t *fx = *state;
    fx->agg = s_run(1);
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/not/there", fx->dir);
    errno = 0;
    assert_int_equal(
        et_report_write_all(missing, et_aggregate_results(fx->agg)), -1);
    assert_int_equal(errno, ENOENT);
}

static void
test_report_prepare_dir_creates_parents_like_mkdir_p(void **state)
{
    s_fixture_t *fx = *state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/a/b/c/", fx->dir);
    assert_int_equal(et_report_prepare_dir(path), 0);
    assert_int_equal(et_report_prepare_dir(path), 0); // already there
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    // A file in the way.
    snprintf(path, sizeof path, "%s/file", fx->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(et_report_prepare_dir(path), -1);
    assert_int_equal(errno, ENOTDIR);
    snprintf(path, sizeof path, "%s/file/sub", fx->dir);
    assert_int_equal(et_report_prepare_dir(path), -1);
    assert_int_equal(et_report_prepare_dir(""), -1);
}

static void
test_report_prints_a_short_summary(void **state)
{
    s_fixture_t *fx = *state;
    fx->agg = s_run(3);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    et_report_print_summary(out, et_aggregate_results(fx->agg), "/x/out");
    fclose(out);
    assert_int_equal(s_count_lines(text), 7);
    assert_non_null(strstr(text, "sent 4  completed 3  rejected 1  failed 0  "
                                 "lost 0"));
    assert_non_null(strstr(text, "p50 10.0"));
    // One STATS sample only: nothing over the load window is known.
    assert_non_null(strstr(text, "utilization  bottleneck unknown  lifetime "
                                 "busy 10.0%  cpu 20.0%"));
    assert_non_null(strstr(text, "counters     records dropped 0  stale "
                                 "results 0  duplicates dropped 0"));
    assert_non_null(strstr(text, "/x/out"));
    free(text);
}

/* s_run's functions over more STATS: at T0 + 4 s decode has had 1 slot
 * (2 s of it busy) and 4 arrivals, clas"sify 2 slots (6 s busy) and 4;
 * the broker dropped 3 records and 1 stale result. The load window is
 * the HELLO's [T0, T0 + 3 s]: three quarters of each. */
static void
s_more_stats(et_aggregate_t *agg)
{
    et_stats_t stats = {.t_ns = T0 + 4 * S,
                        .n_functions = 2,
                        .stale_results = 1,
                        .records_dropped = 3};
    snprintf(stats.workflow, sizeof stats.workflow, "pipeline");
    stats.functions[0] = (et_stats_function_t){.instances = 1,
                                               .slots_total = 1,
                                               .arrived = 4,
                                               .busy_slot_ns = 2 * S,
                                               .serving_slot_ns = 4 * S,
                                               .instance_ns = 4 * S};
    stats.functions[1] = (et_stats_function_t){.instances = 2,
                                               .slots_total = 2,
                                               .arrived = 4,
                                               .busy_slot_ns = 6 * S,
                                               .serving_slot_ns = 8 * S,
                                               .instance_ns = 8 * S};
    snprintf(stats.functions[0].name, ET_NAME_MAX, "decode");
    snprintf(stats.functions[1].name, ET_NAME_MAX, "clas\"sify");
    assert_int_equal(et_aggregate_add_stats(agg, &stats), 0);
}

static json_t *
s_function_json(json_t *root, const char *name)
{
    json_t *functions = json_object_get(root, "functions");
    for (size_t i = 0; i < json_array_size(functions); i++) {
        json_t *f = json_array_get(functions, i);
        if (strcmp(json_string_value(json_object_get(f, "function")), name) ==
            0)
            return f;
    }
    fail_msg("no function %s", name);
    return NULL;
}

static double
s_real(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        fail_msg("%s: not a number", key);
    return json_number_value(v);
}

static void
test_report_summary_has_utilization_over_the_load_window(void **state)
{
    s_fixture_t *fx = *state;
    fx->agg = s_run(3);
    s_more_stats(fx->agg);
    s_write_agg(fx);
    json_t *root = s_load_summary(fx->dir);
    json_t *w = json_object_get(root, "load_window");
    assert_string_equal(json_string_value(json_object_get(w, "started_at")),
                        "2023-11-14T22:13:20.000Z");
    assert_string_equal(json_string_value(json_object_get(w, "ended_at")),
                        "2023-11-14T22:13:23.000Z");
    assert_true(s_real(w, "s") == 3.0 && s_real(w, "stats_covered_s") == 3.0);
    json_t *decode = s_function_json(root, "decode");
    assert_true(fabs(s_real(decode, "busy") - 0.5) < 1e-12);
    assert_true(fabs(s_real(decode, "slots_mean") - 1.0) < 1e-12);
    assert_true(fabs(s_real(decode, "instances_mean") - 1.0) < 1e-12);
    assert_true(fabs(s_real(decode, "arrival_rate_eps") - 1.0) < 1e-12);
    // 1 event/s x 6 ms of hold (not the 5 ms of service) over 1 slot.
    assert_true(fabs(s_real(decode, "offered") - 0.006) < 1e-9);
    // Its one instance used 2 s of CPU over 10 s from T0: 0.6 s in W.
    assert_true(fabs(s_real(decode, "cpu") - 0.2) < 1e-9);
    // The lifetime figures keep their old meaning under their new names.
    assert_true(s_real(decode, "busy_lifetime_pct") == 10.0);
    assert_true(s_real(decode, "cpu_lifetime_pct") == 20.0);
    json_t *classify = s_function_json(root, "clas\"sify");
    assert_true(fabs(s_real(classify, "busy") - 0.75) < 1e-12);
    assert_true(fabs(s_real(classify, "slots_mean") - 2.0) < 1e-12);
    // No instance of it reported USAGE: its CPU is unknown.
    assert_true(json_is_null(json_object_get(classify, "cpu")));
    json_t *b = json_object_get(root, "bottleneck");
    assert_string_equal(json_string_value(json_object_get(b, "function")),
                        "clas\"sify");
    assert_true(fabs(s_real(b, "busy") - 0.75) < 1e-12);
    json_t *broker = json_object_get(root, "broker");
    assert_int_equal(
        json_integer_value(json_object_get(broker, "records_dropped")), 3);
    assert_int_equal(
        json_integer_value(json_object_get(broker, "stale_results")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(broker, "bad_messages")), 0);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(root, "events"),
                                           "duplicates_dropped")),
        0);
    json_decref(root);
    // report.md says it first.
    char *md = s_read(fx->dir, "report.md");
    const char *headline =
        strstr(md, "**Bottleneck:** clas\"sify, busy 75.0 %");
    assert_non_null(headline);
    assert_true(headline < strstr(md, "## Run"));
    assert_non_null(strstr(md, "**Silent counters:** records dropped 3, stale "
                               "results 1, duplicates dropped 0."));
    assert_non_null(strstr(md, "could not send 3 lifecycle records"));
    assert_non_null(strstr(md, "| decode | 50.00 | 0.60 | 20.00 | 1.000 | "
                               "1.000 | 1.000 | 10.00 | 20.00 |"));
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_report_summary_has_every_contract_key_with_its_type, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_has_the_shadow_matrix_and_the_stage_timings, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_without_shadow_or_timings_says_nothing_of_them, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_additions_are_present, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_report_complete_latency_says_so,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_incomplete_latency_marks_its_lower_bounds, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_throughput_is_over_the_load_window, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_has_the_run_source_and_cost, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_per_function_csvs_match_the_summary, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_per_function_cold_ratio_and_slowdown, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_splits_queue_wait_into_cold_and_warm, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_of_an_empty_run_is_complete_and_valid, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_has_the_clocks_object, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_has_utilization_over_the_load_window, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_clocks_are_null_where_unknown_without_sources,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_timeseries_has_a_header_and_one_row_per_second, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_markdown_contains_the_tables, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_markdown_says_when_clocks_were_not_estimated, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_markdown_has_the_clocks_table_and_warns_of_early_completions,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_markdown_leaves_long_timeseries_to_the_csv, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_writes_atomically_leaving_no_temporary_files, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_write_fails_cleanly_into_a_missing_directory, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_prepare_dir_creates_parents_like_mkdir_p, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_every_lost_event_has_the_runs_end_as_its_reason,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_has_mqtt_ingest_counts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_has_batch_means_intervals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_report_summary_ci95_is_null_with_one_batch, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_report_prints_a_short_summary,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
