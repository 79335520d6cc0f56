/* Unit tests for broker/metrics: the families rendered from a real engine
 * driven through its API (no sockets): invocations by outcome, the
 * service and queue histograms, replicas by state, queue depth, in
 * flight, rejections by reason and the I/O layer's counters. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/metrics.h"
#include "prom_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SEC 1000000000ULL
#define S_MS 1000000ULL
#define T0 (100 * S_SEC)

static et_record_t s_records[64];
static size_t s_n_records;

static int
s_send_task(void *arg, const et_worker_rec_t *worker, et_job_t *job)
{
    (void)arg;
    (void)worker;
    (void)job;
    return 0;
}

static et_record_t *
s_record(void *arg)
{
    (void)arg;
    et_record_t *r = &s_records[s_n_records++ % 64];
    memset(r, 0, sizeof *r);
    return r;
}

static et_engine_t *
s_engine(et_workflow_t *wf, uint64_t queue_cap)
{
    memset(wf, 0, sizeof *wf);
    snprintf(wf->name, sizeof wf->name, "test");
    wf->n_stages = 1;
    wf->n_functions = 1;
    snprintf(wf->stages[0].function, sizeof wf->stages[0].function,
             "say \"hi\"");
    snprintf(wf->functions[0], sizeof wf->functions[0], "say \"hi\"");
    wf->stages[0].retries = 1;
    wf->stages[0].timeout_ns = 10 * S_SEC;
    wf->stages[0].slots = 1;
    et_engine_config_t cfg = {.workflow = wf,
                              .queue_cap = queue_cap,
                              .max_payload = 4096,
                              .memory_cap = 1 << 20,
                              .worker_timeout_ns = 3 * S_SEC};
    et_engine_io_t io = {.send_task = s_send_task, .record = s_record};
    et_engine_t *engine = et_engine_new(&cfg, &io);
    assert_non_null(engine);
    return engine;
}

static et_reason_t
s_event(et_engine_t *engine, uint64_t id, uint64_t now)
{
    et_event_t event = {.event_id = id, .producer_id = 1};
    zmq_msg_t payload;
    assert_int_equal(zmq_msg_init_size(&payload, 8), 0);
    memset(zmq_msg_data(&payload), 1, 8);
    et_reason_t reason = et_engine_admit(engine, &event, &payload, now);
    zmq_msg_close(&payload);
    return reason;
}

static void
s_result(et_engine_t *engine, const char *route, uint64_t id, uint32_t attempt,
         et_status_t status, int64_t service_ns, uint64_t now)
{
    et_worker_rec_t *w =
        et_engine_worker_heard(engine, route, strlen(route), now);
    assert_non_null(w);
    et_result_t result = {.event_id = id,
                          .attempt = attempt,
                          .status = (uint8_t)status,
                          .service_ns = service_ns};
    zmq_msg_t output;
    assert_int_equal(zmq_msg_init(&output), 0);
    assert_int_equal(et_engine_result(engine, w, &result, &output, now), 0);
    zmq_msg_close(&output);
}

#define F "function=\"say \\\"hi\\\"\""

static void
test_broker_metrics_follow_the_engine(void **state)
{
    (void)state;
    et_workflow_t wf;
    et_engine_t *engine = s_engine(&wf, 2);
    et_prom_t *prom = et_prom_new();
    assert_non_null(prom);
    et_broker_metrics_io_t io = {.bad_messages = 3, .records_dropped = 4};

    /* Nothing yet: every family is there, at zero. */
    assert_int_equal(et_broker_metrics_render(prom, engine, &io, T0), 0);
    const char *t = et_prom_text(prom);
    assert_int_equal(prom_value(t, "eventide_function_invocations_total{" F
                                   ",outcome=\"success\"}"),
                     0);
    assert_int_equal(prom_value(t, "eventide_queue_depth{" F "}"), 0);
    assert_int_equal(prom_value(t, "eventide_bad_messages_total"), 3);
    assert_int_equal(prom_value(t, "eventide_records_dropped_total"), 4);
    assert_int_equal(prom_value(t, "eventide_memory_failures_total"), 0);
    assert_int_equal(prom_value(t, "eventide_key_moves_total"), 0);
    assert_int_equal(prom_value(t, "eventide_keyed_dispatches_total"), 0);

    /* Two events wait (one cold), a third is refused: the queue holds 2. */
    assert_int_equal(s_event(engine, 1, T0), ET_REASON_NONE);
    assert_int_equal(s_event(engine, 2, T0), ET_REASON_NONE);
    assert_int_equal(s_event(engine, 3, T0), ET_REASON_QUEUE_FULL);
    assert_int_equal(et_broker_metrics_render(prom, engine, &io, T0), 0);
    t = et_prom_text(prom);
    assert_int_equal(prom_value(t, "eventide_queue_depth{" F "}"), 2);
    assert_int_equal(
        prom_value(t, "eventide_events_rejected_total{reason=\"queue_full\"}"),
        1);
    assert_int_equal(prom_value(t, "eventide_events_accepted_total"), 2);
    assert_int_equal(prom_value(t, "eventide_events_in_system"), 2);
    assert_int_equal(prom_value(t, "eventide_function_rejected_total{" F "}"),
                     1);

    /* A worker says STARTING: a starting replica until its READY. */
    et_ready_t ready = {.slots = 1};
    snprintf(ready.function, sizeof ready.function, "say \"hi\"");
    snprintf(ready.instance, sizeof ready.instance, "w1");
    assert_int_equal(et_engine_worker_starting(engine, "w1", 2, &ready, T0), 0);
    assert_int_equal(et_broker_metrics_render(prom, engine, &io, T0), 0);
    t = et_prom_text(prom);
    assert_int_equal(
        prom_value(t, "eventide_function_replicas{" F ",state=\"starting\"}"),
        1);

    /* Its READY comes 5 ms later: event 1 is dispatched. */
    assert_int_equal(
        et_engine_worker_ready(engine, "w1", 2, &ready, T0 + 5 * S_MS), 0);
    assert_int_equal(et_broker_metrics_render(prom, engine, &io, T0 + 5 * S_MS),
                     0);
    t = et_prom_text(prom);
    assert_int_equal(prom_value(t, "eventide_inflight{" F "}"), 1);
    assert_int_equal(prom_value(t, "eventide_queue_depth{" F "}"), 1);
    assert_int_equal(
        prom_value(t, "eventide_function_replicas{" F ",state=\"busy\"}"), 1);
    assert_int_equal(
        prom_value(t, "eventide_function_replicas{" F ",state=\"ready\"}"), 0);
    assert_int_equal(
        prom_value(t, "eventide_function_replicas{" F ",state=\"starting\"}"),
        0);
    assert_int_equal(
        prom_value(t, "eventide_function_slots{" F ",state=\"busy\"}"), 1);
    assert_int_equal(prom_value(t, "eventide_function_queue_seconds_bucket{" F
                                   ",le=\"0.0025\"}"),
                     0);
    assert_int_equal(prom_value(t, "eventide_function_queue_seconds_bucket{" F
                                   ",le=\"0.005\"}"),
                     1);

    /* Event 1 succeeds after 2 ms of service; event 2 fails once (error),
     * is retried and succeeds. */
    s_result(engine, "w1", 1, 0, ET_STATUS_OK, 2 * S_MS, T0 + 10 * S_MS);
    s_result(engine, "w1", 2, 0, ET_STATUS_ERROR, 300 * S_MS, T0 + 20 * S_MS);
    s_result(engine, "w1", 2, 1, ET_STATUS_OK, 2 * S_SEC, T0 + 30 * S_MS);
    assert_int_equal(
        et_broker_metrics_render(prom, engine, &io, T0 + 30 * S_MS), 0);
    t = et_prom_text(prom);
    assert_int_equal(prom_value(t, "eventide_function_invocations_total{" F
                                   ",outcome=\"success\"}"),
                     2);
    assert_int_equal(prom_value(t, "eventide_function_invocations_total{" F
                                   ",outcome=\"error\"}"),
                     1);
    assert_int_equal(prom_value(t, "eventide_retries_total"), 1);
    assert_int_equal(prom_value(t, "eventide_events_completed_total"), 2);
    /* Both events waited for the first worker; the retry of event 2 keeps
     * its flag, as its STAGE record does. */
    assert_int_equal(prom_value(t, "eventide_function_coldstarts_total{" F "}"),
                     3);
    assert_int_equal(prom_value(t,
                                "eventide_function_duration_seconds_bucket{" F
                                ",le=\"0.0025\"}"),
                     1);
    assert_int_equal(prom_value(t,
                                "eventide_function_duration_seconds_bucket{" F
                                ",le=\"0.5\"}"),
                     2);
    assert_int_equal(prom_value(t,
                                "eventide_function_duration_seconds_bucket{" F
                                ",le=\"+Inf\"}"),
                     3);
    assert_int_equal(
        prom_value(t, "eventide_function_duration_seconds_count{" F "}"), 3);
    /* Responses: event 1 in 10 ms (queued at T0), event 2 in 30 ms (its
     * failed attempt included). */
    assert_int_equal(
        prom_value(t, "eventide_function_response_seconds_count{" F "}"), 2);
    assert_int_equal(prom_value(t,
                                "eventide_function_response_seconds_bucket{" F
                                ",le=\"0.01\"}"),
                     1);
    assert_int_equal(prom_value(t,
                                "eventide_function_response_seconds_bucket{" F
                                ",le=\"0.05\"}"),
                     2);
    assert_int_equal(prom_value(t, "eventide_inflight{" F "}"), 0);
    assert_int_equal(
        prom_value(t, "eventide_function_replicas{" F ",state=\"ready\"}"), 1);

    /* The worker falls silent: lost. */
    et_engine_expire(engine, T0 + 10 * S_SEC);
    assert_int_equal(
        et_broker_metrics_render(prom, engine, &io, T0 + 10 * S_SEC), 0);
    t = et_prom_text(prom);
    assert_int_equal(prom_value(t, "eventide_workers_lost_total{" F "}"), 1);
    assert_int_equal(
        prom_value(t, "eventide_function_replicas{" F ",state=\"ready\"}"), 0);

    et_prom_destroy(&prom);
    et_engine_destroy(&engine);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_metrics_follow_the_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
