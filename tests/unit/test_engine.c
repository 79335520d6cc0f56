/* Unit tests for broker/engine, driven through its API alone (no sockets):
 * FIFO and LRU dispatch, retries at the head of the queue, timeouts,
 * worker loss, drain, admission limits, cold flagging, stale results,
 * multi-stage progression, and the memory-failure paths. The engine's
 * calls into the in-flight table and the queues go through the __wrap_
 * functions below (linked with --wrap), which can fail them on demand.
 * One file, one concept (the engine's behaviour), hence its length. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/affinity.h"
#include "broker/engine.h"
#include "common/idmap.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S_SEC 1000000000ULL
#define T0 (100 * S_SEC)
#define S_RECORDS_MAX 4096
#define S_TASKS_MAX 4096

/* ---- failure injection ----------------------------------------------------
 */

static int s_fail_idmap_put;     /* fail the next N in-flight inserts */
static int s_idmap_put_skip;     /* ... after letting this many through */
static int s_fail_push_head;     /* fail the next N requeues */
static int s_fail_push_admitted; /* fail the next N next-stage pushes */
int __real_et_idmap_put(et_idmap_t *self, uint64_t key, void *value);
int __wrap_et_idmap_put(et_idmap_t *self, uint64_t key, void *value);
int __real_et_queue_push_head(et_queue_t *self, et_job_t *job);
int __wrap_et_queue_push_head(et_queue_t *self, et_job_t *job);
int __real_et_queue_push_admitted(et_queue_t *self, et_job_t *job);
int __wrap_et_queue_push_admitted(et_queue_t *self, et_job_t *job);
static int s_fail_push_tail; /* fail the next N admissions to a queue */
static int s_fail_job_new;   /* fail the next N new jobs */
int __real_et_queue_push_tail(et_queue_t *self, et_job_t *job);
int __wrap_et_queue_push_tail(et_queue_t *self, et_job_t *job);
et_job_t *__real_et_job_new(void);
et_job_t *__wrap_et_job_new(void);

int
__wrap_et_queue_push_tail(et_queue_t *self, et_job_t *job)
{
    if (s_fail_push_tail > 0) {
        s_fail_push_tail--;
        errno = ENOMEM;
        return -1;
    }
    return __real_et_queue_push_tail(self, job);
}

et_job_t *
__wrap_et_job_new(void)
{
    if (s_fail_job_new > 0) {
        s_fail_job_new--;
        errno = ENOMEM;
        return NULL;
    }
    return __real_et_job_new();
}

int
__wrap_et_idmap_put(et_idmap_t *self, uint64_t key, void *value)
{
    if (s_fail_idmap_put > 0 && s_idmap_put_skip > 0) {
        s_idmap_put_skip--;
    } else if (s_fail_idmap_put > 0) {
        s_fail_idmap_put--;
        errno = ENOMEM;
        return -1;
    }
    return __real_et_idmap_put(self, key, value);
}

int
__wrap_et_queue_push_head(et_queue_t *self, et_job_t *job)
{
    if (s_fail_push_head > 0) {
        s_fail_push_head--;
        errno = ENOMEM;
        return -1;
    }
    return __real_et_queue_push_head(self, job);
}

int
__wrap_et_queue_push_admitted(et_queue_t *self, et_job_t *job)
{
    if (s_fail_push_admitted > 0) {
        s_fail_push_admitted--;
        errno = ENOMEM;
        return -1;
    }
    return __real_et_queue_push_admitted(self, job);
}

/* ---- a fake I/O layer ------------------------------------------------------
 */

typedef struct {
    char route[16]; /* the worker it went to */
    uint64_t event_id;
    uint32_t stage;
    uint32_t attempt;
    size_t payload_size;
    uint8_t payload_byte; /* first byte, 0 when empty */
} s_task_t;

typedef struct {
    et_record_t records[S_RECORDS_MAX];
    size_t n_records;
    s_task_t tasks[S_TASKS_MAX];
    size_t n_tasks;
    /* Messages sent (TASK or TASKS) and the tasks each carried. */
    size_t batch_sizes[S_TASKS_MAX];
    size_t n_messages;
    char refuse_route[16]; /* sends to this worker fail (EHOSTUNREACH) */
    size_t refused;
    int send_no_memory; /* the next N sends fail with ENOMEM */
    et_workflow_t wf;
    et_engine_t *engine;
} s_fixture_t;

static s_fixture_t s_fx;

static int
s_send_task(void *arg, const et_worker_rec_t *worker, et_job_t *job)
{
    s_fixture_t *fx = arg;
    char route[16];
    snprintf(route, sizeof route, "%.*s", (int)worker->route_len,
             (const char *)worker->route);
    if (fx->send_no_memory > 0) {
        fx->send_no_memory--;
        errno = ENOMEM;
        return -1;
    }
    if (fx->refuse_route[0] && strcmp(route, fx->refuse_route) == 0) {
        fx->refused++;
        errno = EHOSTUNREACH;
        return -1;
    }
    assert_true(fx->n_tasks < S_TASKS_MAX);
    s_task_t *t = &fx->tasks[fx->n_tasks++];
    snprintf(t->route, sizeof t->route, "%s", route);
    t->event_id = job->event_id;
    t->stage = job->stage;
    t->attempt = job->attempt;
    t->payload_size = zmq_msg_size(&job->payload);
    t->payload_byte =
        t->payload_size ? *(uint8_t *)zmq_msg_data(&job->payload) : 0;
    fx->batch_sizes[fx->n_messages++] = 1;
    return 0;
}

/* TASKS: the same failures for the whole batch; each task is listed as a
 * TASK would be, and the message once with its size. */
static int
s_send_tasks(void *arg, const et_worker_rec_t *worker, et_job_t *const *jobs,
             size_t count)
{
    s_fixture_t *fx = arg;
    assert_true(count >= 2 && count <= ET_BATCH_MAX);
    uint64_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        assert_ptr_equal(jobs[i]->worker, worker);
        bytes += zmq_msg_size(&jobs[i]->payload);
    }
    assert_true(et_codec_batch_fits(count, bytes));
    if (fx->send_no_memory > 0) {
        fx->send_no_memory--;
        errno = ENOMEM;
        return -1;
    }
    char route[16];
    snprintf(route, sizeof route, "%.*s", (int)worker->route_len,
             (const char *)worker->route);
    if (fx->refuse_route[0] && strcmp(route, fx->refuse_route) == 0) {
        fx->refused++;
        errno = EHOSTUNREACH;
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(s_send_task(arg, worker, jobs[i]), 0);
        fx->n_messages--;
    }
    fx->batch_sizes[fx->n_messages++] = count;
    return 0;
}

static et_record_t *
s_record(void *arg)
{
    s_fixture_t *fx = arg;
    assert_true(fx->n_records < S_RECORDS_MAX);
    et_record_t *r = &fx->records[fx->n_records];
    memset(r, 0, sizeof *r);
    r->t_ns = (int64_t)++fx->n_records;
    return r;
}

/* ---- helpers ----------------------------------------------------------------
 */

/* A workflow of the given stage functions (NULL-terminated), each stage
 * with 'retries' and 'timeout_ns'. */
static const et_workflow_t *
s_workflow(uint32_t retries, uint64_t timeout_ns, const char *first, ...)
{
    et_workflow_t *wf = &s_fx.wf;
    memset(wf, 0, sizeof *wf);
    snprintf(wf->name, sizeof wf->name, "test");
    va_list ap;
    va_start(ap, first);
    for (const char *fn = first; fn; fn = va_arg(ap, const char *)) {
        uint32_t s = wf->n_stages++;
        et_stage_t *stage = &wf->stages[s];
        snprintf(stage->function, sizeof stage->function, "%s", fn);
        stage->retries = retries;
        stage->timeout_ns = timeout_ns;
        stage->slots = 1;
        int f = et_workflow_function_index(wf, fn);
        if (f < 0) {
            f = (int)wf->n_functions++;
            snprintf(wf->functions[f], sizeof wf->functions[f], "%s", fn);
        }
        wf->stage_function[s] = (uint32_t)f;
    }
    va_end(ap);
    return wf;
}

static et_engine_t *
s_engine(const et_workflow_t *wf, uint64_t queue_cap, uint64_t memory_cap)
{
    et_engine_config_t cfg = {.workflow = wf,
                              .queue_cap = queue_cap,
                              .max_payload = 4096,
                              .memory_cap = memory_cap,
                              .worker_timeout_ns = 3 * S_SEC};
    et_engine_io_t io = {
        .send_task = s_send_task, .record = s_record, .arg = &s_fx};
    s_fx.engine = et_engine_new(&cfg, &io);
    assert_non_null(s_fx.engine);
    return s_fx.engine;
}

/* An engine that sends TASKS of up to 'batch_max' tasks, with payloads up
 * to 'max_payload' bytes. */
static et_engine_t *
s_engine_batch(const et_workflow_t *wf, uint64_t queue_cap, uint32_t batch_max,
               uint64_t max_payload)
{
    et_engine_config_t cfg = {.workflow = wf,
                              .queue_cap = queue_cap,
                              .max_payload = max_payload,
                              .memory_cap = 1ULL << 30,
                              .worker_timeout_ns = 3 * S_SEC,
                              .batch_max = batch_max};
    et_engine_io_t io = {.send_task = s_send_task,
                         .send_tasks = s_send_tasks,
                         .record = s_record,
                         .arg = &s_fx};
    s_fx.engine = et_engine_new(&cfg, &io);
    assert_non_null(s_fx.engine);
    return s_fx.engine;
}

static void
s_ready(const char *route, const char *function, uint32_t slots, uint64_t now)
{
    et_ready_t ready;
    memset(&ready, 0, sizeof ready);
    snprintf(ready.function, sizeof ready.function, "%s", function);
    snprintf(ready.instance, sizeof ready.instance, "%s-inst", route);
    ready.slots = slots;
    assert_int_equal(
        et_engine_worker_ready(s_fx.engine, route, strlen(route), &ready, now),
        0);
}

static et_worker_rec_t *
s_worker(const char *route, uint64_t now)
{
    return et_engine_worker_heard(s_fx.engine, route, strlen(route), now);
}

/* Offer event 'id' with a payload of 'size' bytes (each 'id & 0xff'). */
static et_reason_t
s_event(uint64_t id, size_t size, uint64_t now)
{
    et_event_t event = {.event_id = id,
                        .producer_id = 1,
                        .intended_ns = (int64_t)id,
                        .label = ET_LABEL_NONE};
    zmq_msg_t payload;
    assert_int_equal(zmq_msg_init_size(&payload, size), 0);
    memset(zmq_msg_data(&payload), (int)(id & 0xff), size);
    et_reason_t reason = et_engine_admit(s_fx.engine, &event, &payload, now);
    if (reason == ET_REASON_NONE)
        assert_int_equal(zmq_msg_size(&payload), 0); /* moved */
    else
        assert_int_equal(zmq_msg_size(&payload), size); /* left */
    zmq_msg_close(&payload);
    return reason;
}

/* A RESULT from worker 'route'; the output is 'out_size' bytes of
 * 'out_byte'. Returns the engine's answer. */
static int
s_result_out(const char *route, uint64_t id, uint32_t stage, uint32_t attempt,
             et_status_t status, size_t out_size, uint8_t out_byte,
             uint64_t now)
{
    et_worker_rec_t *w = s_worker(route, now);
    assert_non_null(w);
    et_result_t result = {.event_id = id,
                          .stage = stage,
                          .attempt = attempt,
                          .status = (uint8_t)status,
                          .service_ns = 1000,
                          .outcome = ET_OUTCOME_NONE};
    zmq_msg_t output;
    assert_int_equal(zmq_msg_init_size(&output, out_size), 0);
    memset(zmq_msg_data(&output), out_byte, out_size);
    int rc = et_engine_result(s_fx.engine, w, &result, &output, now);
    zmq_msg_close(&output);
    return rc;
}

static int
s_result(const char *route, uint64_t id, uint32_t stage, uint32_t attempt,
         et_status_t status, uint64_t now)
{
    return s_result_out(route, id, stage, attempt, status, 8, 0x5a, now);
}

/* Every registered worker is heard from at 'now' (their heartbeats). */
static void
s_heard_all(uint64_t now)
{
    for (size_t i = 0; i < et_engine_worker_count(s_fx.engine); i++) {
        et_worker_rec_t *w = et_engine_worker_at(s_fx.engine, i);
        assert_ptr_equal(
            et_engine_worker_heard(s_fx.engine, w->route, w->route_len, now),
            w);
    }
}

static void
s_expect_task(size_t index, const char *route, uint64_t id, uint32_t stage,
              uint32_t attempt)
{
    assert_true(index < s_fx.n_tasks);
    const s_task_t *t = &s_fx.tasks[index];
    assert_string_equal(t->route, route);
    assert_true(t->event_id == id);
    assert_int_equal(t->stage, stage);
    assert_int_equal(t->attempt, attempt);
}

/* How many records of 'kind' (with 'reason', unless negative) there are. */
static size_t
s_count(et_record_kind_t kind, int reason)
{
    size_t n = 0;
    for (size_t i = 0; i < s_fx.n_records; i++)
        n += s_fx.records[i].kind == kind &&
             (reason < 0 || s_fx.records[i].reason == reason);
    return n;
}

/* The last record of 'kind' for event 'id', or NULL. */
static const et_record_t *
s_last(et_record_kind_t kind, uint64_t id)
{
    for (size_t i = s_fx.n_records; i-- > 0;)
        if (s_fx.records[i].kind == kind && s_fx.records[i].event_id == id)
            return &s_fx.records[i];
    return NULL;
}

/* Every accepted event is completed, failed or still in the system. */
static void
s_check_accounting(void)
{
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_true(c.accepted == c.completed + c.failed + c.in_system);
    assert_true(c.accepted == s_count(ET_RECORD_ACCEPTED, -1));
    assert_true(c.completed == s_count(ET_RECORD_COMPLETED, -1));
    assert_true(c.failed == s_count(ET_RECORD_FAILED, -1));
    assert_true(c.rejected == s_count(ET_RECORD_REJECTED, -1));
    assert_true(c.retries == s_count(ET_RECORD_RETRY, -1));
}

static et_stats_function_t
s_function_stats(uint32_t function)
{
    et_stats_t stats;
    memset(&stats, 0, sizeof stats);
    et_engine_stats(s_fx.engine, &stats, 0); /* counts only: no time passes */
    assert_true(function < stats.n_functions);
    return stats.functions[function];
}

static int
s_setup(void **state)
{
    (void)state;
    memset(&s_fx, 0, sizeof s_fx);
    s_fail_idmap_put = s_fail_push_head = s_fail_push_admitted = 0;
    s_idmap_put_skip = 0;
    s_fail_push_tail = s_fail_job_new = 0;
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    et_engine_destroy(&s_fx.engine);
    assert_null(s_fx.engine);
    et_engine_destroy(&s_fx.engine); /* idempotent */
    return 0;
}

/* ---- tests ------------------------------------------------------------------
 */

static void
test_engine_new_rejects_bad_arguments(void **state)
{
    (void)state;
    const et_workflow_t *wf = s_workflow(0, S_SEC, "a", NULL);
    et_engine_io_t io = {.send_task = s_send_task, .record = s_record};
    et_engine_config_t cfg = {.workflow = wf, .queue_cap = 1};
    errno = 0;
    assert_null(et_engine_new(&cfg, NULL));
    assert_int_equal(errno, EINVAL);
    et_engine_io_t no_record = {.send_task = s_send_task};
    errno = 0;
    assert_null(et_engine_new(&cfg, &no_record));
    assert_int_equal(errno, EINVAL);
    cfg.queue_cap = 0;
    errno = 0;
    assert_null(et_engine_new(&cfg, &io));
    assert_int_equal(errno, EINVAL);
    cfg.queue_cap = 1;
    s_fx.wf.stage_function[0] = 1; /* no such function */
    errno = 0;
    assert_null(et_engine_new(&cfg, &io));
    assert_int_equal(errno, EINVAL);
    s_fx.wf.stage_function[0] = 0;
    et_engine_t *engine = et_engine_new(&cfg, &io);
    assert_non_null(engine);
    et_engine_destroy(&engine);
}

static void
test_engine_dispatches_fifo_within_a_function(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 10 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    for (uint64_t id = 1; id <= 4; id++)
        assert_int_equal(s_event(id, 16, T0 + id), ET_REASON_NONE);
    assert_int_equal(s_fx.n_tasks, 1);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 3);
    for (uint64_t id = 1; id <= 4; id++) {
        s_expect_task(id - 1, "A", id, 0, 0);
        assert_int_equal(s_result("A", id, 0, 0, ET_STATUS_OK, T0 + 10 + id),
                         0);
    }
    assert_int_equal(s_fx.n_tasks, 4);
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 4);
    // The queue wait of event 4: admitted at T0+4, sent when 3 finished.
    const et_record_t *r = s_last(ET_RECORD_STAGE, 4);
    assert_non_null(r);
    assert_int_equal(r->queue_ns, (T0 + 13) - (T0 + 4));
    s_check_accounting();
}

static void
test_engine_dispatches_to_least_recently_used_slot(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 10 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    s_ready("C", "a", 1, T0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(s_event(id, 16, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 1, 0, 0);
    s_expect_task(1, "B", 2, 0, 0);
    s_expect_task(2, "C", 3, 0, 0);
    // B frees first, then A: the next events go to B, then A.
    assert_int_equal(s_result("B", 2, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(s_event(4, 16, T0 + 3), ET_REASON_NONE);
    assert_int_equal(s_event(5, 16, T0 + 3), ET_REASON_NONE);
    s_expect_task(3, "B", 4, 0, 0);
    s_expect_task(4, "A", 5, 0, 0);
    assert_int_equal(s_function_stats(0).slots_busy, 3);
    s_check_accounting();
}

static void
test_engine_retry_goes_to_the_head_of_the_queue(void **state)
{
    (void)state;
    s_engine(s_workflow(2, 10 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(s_event(id, 16, T0), ET_REASON_NONE);
    // The function fails on event 1: it goes again before 2 and 3.
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_ERROR, T0 + 1), 0);
    const et_record_t *retry = s_last(ET_RECORD_RETRY, 1);
    assert_non_null(retry);
    assert_int_equal(retry->reason, ET_REASON_FUNCTION_ERROR);
    assert_int_equal(retry->attempt, 1);
    assert_int_equal(s_fx.n_tasks, 2);
    s_expect_task(1, "A", 1, 0, 1);
    assert_int_equal(s_result("A", 1, 0, 1, ET_STATUS_OK, T0 + 2), 0);
    s_expect_task(2, "A", 2, 0, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).retries, 1);
    s_check_accounting();
}

static void
test_engine_stage_records_hold_and_residence_across_retries(void **state)
{
    (void)state;
    s_engine(s_workflow(2, 1 * S_SEC, "a", "b", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "b", 1, T0);
    // Event 1 enters stage 0 at T0, waits 5 ms behind event 2.
    assert_int_equal(s_event(2, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    const uint64_t ms = S_SEC / 1000;
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 5 * ms), 0);
    s_expect_task(1, "B", 2, 1, 0);
    s_expect_task(2, "A", 1, 0, 0);
    assert_int_equal(s_result("B", 2, 1, 0, ET_STATUS_OK, T0 + 6 * ms), 0);
    // Attempt 0 (dispatched at T0 + 5 ms) fails at T0 + 12 ms: its STAGE
    // record says so, with a hold of 7 ms, and a RETRY without a hold
    // (its time is billed by the STAGE record).
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_ERROR, T0 + 12 * ms), 0);
    const et_record_t *failed_attempt = s_last(ET_RECORD_STAGE, 1);
    assert_non_null(failed_attempt);
    assert_int_equal(failed_attempt->reason, ET_REASON_FUNCTION_ERROR);
    assert_true(failed_attempt->queue_ns == (int64_t)(5 * ms));
    assert_true(failed_attempt->hold_ns == (int64_t)(7 * ms));
    assert_true(failed_attempt->residence_ns == (int64_t)(12 * ms));
    assert_true(s_last(ET_RECORD_RETRY, 1)->hold_ns == 0);
    // Attempt 1 is dispatched at once (T0 + 12 ms) and times out at
    // T0 + 1.012 s: a RETRY holding 1 s.
    s_expect_task(3, "A", 1, 0, 1);
    s_heard_all(T0 + S_SEC + 12 * ms);
    et_engine_expire(s_fx.engine, T0 + S_SEC + 12 * ms);
    const et_record_t *timed_out = s_last(ET_RECORD_RETRY, 1);
    assert_int_equal(timed_out->reason, ET_REASON_TIMEOUT);
    assert_true(timed_out->hold_ns == (int64_t)S_SEC);
    // A's only slot stays held by the abandoned attempt until it answers
    // (stale); then attempt 2 runs from T0 + 1.1 s to T0 + 1.13 s.
    assert_int_equal(
        s_result("A", 1, 0, 1, ET_STATUS_OK, T0 + S_SEC + 100 * ms), -1);
    s_expect_task(4, "A", 1, 0, 2);
    assert_int_equal(
        s_result("A", 1, 0, 2, ET_STATUS_OK, T0 + S_SEC + 130 * ms), 0);
    const et_record_t *done = s_last(ET_RECORD_STAGE, 1);
    assert_int_equal(done->reason, ET_REASON_NONE);
    assert_int_equal(done->attempt, 2);
    // Queue time restarts with each attempt; residence does not.
    assert_true(done->queue_ns == (int64_t)(88 * ms));
    assert_true(done->hold_ns == (int64_t)(30 * ms));
    assert_true(done->residence_ns == (int64_t)(S_SEC + 130 * ms));
    // Stage 1 starts its own residence at the hand-over.
    s_expect_task(5, "B", 1, 1, 0);
    assert_int_equal(
        s_result("B", 1, 1, 0, ET_STATUS_OK, T0 + S_SEC + 134 * ms), 0);
    const et_record_t *next = s_last(ET_RECORD_STAGE, 1);
    assert_int_equal(next->stage, 1);
    assert_true(next->hold_ns == (int64_t)(4 * ms));
    assert_true(next->residence_ns == (int64_t)(4 * ms));
    s_check_accounting();
}

static void
test_engine_timeout_retries_then_fails_with_reason_timeout(void **state)
{
    (void)state;
    s_engine(s_workflow(2, 1 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    s_ready("C", "a", 1, T0);
    assert_int_equal(s_event(7, 16, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 7, 0, 0);
    // Not yet: just under the stage's timeout.
    et_engine_expire(s_fx.engine, T0 + S_SEC - 1);
    assert_int_equal(s_fx.n_tasks, 1);
    uint64_t now = T0;
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        now += S_SEC;
        s_heard_all(now);
        et_engine_expire(s_fx.engine, now);
        assert_int_equal(s_fx.n_tasks, attempt + 1);
        s_expect_task(attempt, attempt == 1 ? "B" : "C", 7, 0, attempt);
    }
    now += S_SEC;
    s_heard_all(now);
    et_engine_expire(s_fx.engine, now);
    assert_int_equal(s_fx.n_tasks, 3);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 3);
    assert_int_equal(s_count(ET_RECORD_RETRY, ET_REASON_TIMEOUT), 2);
    // Each abandoned attempt held its slot from dispatch to the timeout.
    for (size_t i = 0; i < s_fx.n_records; i++)
        if (s_fx.records[i].kind == ET_RECORD_RETRY)
            assert_true(s_fx.records[i].hold_ns == (int64_t)S_SEC);
    const et_record_t *failed = s_last(ET_RECORD_FAILED, 7);
    assert_non_null(failed);
    assert_int_equal(failed->reason, ET_REASON_TIMEOUT);
    assert_int_equal(failed->attempt, 2);
    assert_true(failed->hold_ns == (int64_t)S_SEC);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.failed, 1);
    assert_int_equal(c.in_system, 0);
    assert_int_equal(c.in_flight, 0);
    // Each slot stays held: the function may still be running there.
    assert_int_equal(s_function_stats(0).slots_busy, 3);
    s_check_accounting();
}

static void
test_engine_stale_result_frees_the_held_slot(void **state)
{
    (void)state;
    s_engine(s_workflow(1, 1 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_event(2, 16, T0), ET_REASON_NONE);
    et_engine_expire(s_fx.engine, T0 + S_SEC);
    // Retried, but the only slot is held by the timed-out attempt.
    assert_int_equal(s_count(ET_RECORD_RETRY, ET_REASON_TIMEOUT), 1);
    assert_int_equal(s_fx.n_tasks, 1);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 2);
    // The late answer of attempt 0 is dropped and frees the slot, which
    // takes the retry (at the head) before event 2.
    errno = 0;
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2 * S_SEC), -1);
    assert_int_equal(errno, ESTALE);
    assert_int_equal(et_engine_counters(s_fx.engine).stale_results, 1);
    assert_int_equal(s_count(ET_RECORD_STAGE, -1), 0);
    assert_int_equal(s_fx.n_tasks, 2);
    s_expect_task(1, "A", 1, 0, 1);
    assert_int_equal(s_result("A", 1, 0, 1, ET_STATUS_OK, T0 + 3 * S_SEC), 0);
    s_expect_task(2, "A", 2, 0, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 1);
    // The held slot was busy all along: 4 s busy of 4 s. Two admissions
    // and one retry entered the queue; STATS carries the stale result.
    et_stats_t stats;
    memset(&stats, 0, sizeof stats);
    et_engine_stats(s_fx.engine, &stats, T0 + 4 * S_SEC);
    assert_true(stats.stale_results == 1);
    assert_true(stats.functions[0].busy_slot_ns == 4 * S_SEC);
    assert_true(stats.functions[0].serving_slot_ns == 4 * S_SEC);
    assert_true(stats.functions[0].arrived == 3);
    s_check_accounting();
}

/* A worker lost to a silence (a broker stall, a TCP outage) is a stranger
 * afterwards: its late RESULT is stale (counted, never bad, nothing
 * changes), and once it says READY again it serves the retry. */
static void
test_engine_forgotten_worker_registers_again(void **state)
{
    (void)state;
    s_engine(s_workflow(2, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 1, 0, 0);
    et_engine_expire(s_fx.engine, T0 + 3 * S_SEC);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 0);
    assert_int_equal(s_count(ET_RECORD_RETRY, ET_REASON_WORKER_LOST), 1);
    assert_null(s_worker("A", T0 + 4 * S_SEC));
    size_t records = s_fx.n_records;
    et_result_t late = {.event_id = 1, .stage = 0, .attempt = 0};
    et_engine_result_unknown(s_fx.engine, &late);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.stale_results, 1);
    assert_int_equal(c.completed, 0);
    assert_int_equal(c.in_system, 1);
    assert_int_equal(s_fx.n_records, records);
    // READY again: the same route is a new worker, which takes the retry.
    s_ready("A", "a", 1, T0 + 5 * S_SEC);
    assert_int_equal(s_fx.n_tasks, 2);
    s_expect_task(1, "A", 1, 0, 1);
    assert_int_equal(s_result("A", 1, 0, 1, ET_STATUS_OK, T0 + 6 * S_SEC), 0);
    c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.completed, 1);
    assert_int_equal(c.stale_results, 1);
    s_check_accounting();
}

static void
test_engine_worker_loss_retries_its_in_flight_jobs(void **state)
{
    (void)state;
    s_engine(s_workflow(2, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 2, T0);
    s_ready("B", "a", 1, T0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(s_event(id, 16, T0), ET_REASON_NONE);
    // A's two slots come first in the LRU order (it registered first).
    s_expect_task(0, "A", 1, 0, 0);
    s_expect_task(1, "A", 2, 0, 0);
    s_expect_task(2, "B", 3, 0, 0);
    // B keeps talking; A goes silent past the worker timeout.
    assert_non_null(s_worker("B", T0 + 2 * S_SEC));
    et_engine_expire(s_fx.engine, T0 + 3 * S_SEC - 1);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 2);
    et_engine_expire(s_fx.engine, T0 + 3 * S_SEC);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
    assert_null(s_worker("A", T0 + 3 * S_SEC));
    assert_int_equal(s_count(ET_RECORD_RETRY, ET_REASON_WORKER_LOST), 2);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 2);
    assert_non_null(s_last(ET_RECORD_RETRY, 1));
    assert_non_null(s_last(ET_RECORD_RETRY, 2));
    // Lost attempts: dispatch (T0) to the broker's decision (T0 + 3 s).
    assert_true(s_last(ET_RECORD_RETRY, 1)->hold_ns == (int64_t)(3 * S_SEC));
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 1);
    // B serves both, one at a time, as their second attempt.
    assert_int_equal(s_result("B", 3, 0, 0, ET_STATUS_OK, T0 + 4 * S_SEC), 0);
    assert_int_equal(s_fx.n_tasks, 4);
    uint64_t next = s_fx.tasks[3].event_id;
    assert_true(next == 1 || next == 2);
    s_expect_task(3, "B", next, 0, 1);
    assert_int_equal(s_result("B", next, 0, 1, ET_STATUS_OK, T0 + 5 * S_SEC),
                     0);
    s_expect_task(4, "B", next == 1 ? 2 : 1, 0, 1);
    s_check_accounting();
}

static void
test_engine_drain_finishes_admitted_work_and_fails_the_rest(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(s_event(id, 16, T0), ET_REASON_NONE);
    et_engine_stop(s_fx.engine);
    // No more admission...
    assert_int_equal(s_event(4, 16, T0 + 1), ET_REASON_SHUTTING_DOWN);
    const et_record_t *rejected = s_last(ET_RECORD_REJECTED, 4);
    assert_non_null(rejected);
    assert_int_equal(rejected->reason, ET_REASON_SHUTTING_DOWN);
    // ...but admitted work goes on.
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    s_expect_task(1, "A", 2, 0, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 1);
    // What is left (2 in flight, 3 queued) fails as shutting_down.
    et_engine_fail_remaining(s_fx.engine, T0 + 9 * S_SEC);
    assert_int_equal(s_count(ET_RECORD_FAILED, ET_REASON_SHUTTING_DOWN), 2);
    // The in-flight attempt (dispatched at T0 + 2) held its slot until the
    // drain ended; the queued one was never dispatched.
    const et_record_t *in_flight = s_last(ET_RECORD_FAILED, 2);
    assert_non_null(in_flight);
    assert_true(in_flight->hold_ns == (int64_t)(9 * S_SEC - 2));
    const et_record_t *queued = s_last(ET_RECORD_FAILED, 3);
    assert_non_null(queued);
    assert_true(queued->hold_ns == 0);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.in_system, 0);
    assert_int_equal(c.in_system_bytes, 0);
    assert_int_equal(c.in_flight, 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 0);
    // The worker answers the failed one late, says BYE and is forgotten.
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 3), -1);
    et_engine_worker_bye(s_fx.engine, s_worker("A", T0 + 4), T0 + 4);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 0);
    s_check_accounting();
}

static void
test_engine_rejects_when_the_queue_is_full(void **state)
{
    (void)state;
    // Two functions: the bound on events in the system (2 x 2) is not
    // what refuses here, the first stage's queue is.
    s_engine(s_workflow(0, S_SEC, "a", "b", NULL), 2, 1 << 20);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_event(2, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_event(3, 16, T0), ET_REASON_QUEUE_FULL);
    const et_record_t *r = s_last(ET_RECORD_REJECTED, 3);
    assert_non_null(r);
    assert_int_equal(r->reason, ET_REASON_QUEUE_FULL);
    assert_true(r->intended_ns == 3);
    // A worker takes one: there is room again.
    s_ready("A", "a", 1, T0 + 1);
    assert_int_equal(s_event(4, 16, T0 + 2), ET_REASON_NONE);
    assert_int_equal(s_event(5, 16, T0 + 2), ET_REASON_QUEUE_FULL);
    // Later stages never refuse what the first admitted, but the events
    // in the system (1 at b, 2 at a) count against the bound of 4.
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 3), 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 1), 1);
    assert_int_equal(s_event(6, 16, T0 + 4), ET_REASON_NONE);
    assert_int_equal(s_event(7, 16, T0 + 4), ET_REASON_QUEUE_FULL);
    assert_int_equal(et_engine_counters(s_fx.engine).in_system, 4);
    assert_int_equal(et_engine_counters(s_fx.engine).rejected, 3);
    s_check_accounting();
}

// Events their producer refused under a pause (SHED) are counted like
// events refused here, against the entry function, take no room and
// leave no record: the SHED itself goes to the collector.
static void
test_engine_counts_events_refused_at_their_producer(void **state)
{
    (void)state;
    s_engine(s_workflow(0, S_SEC, "a", NULL), 1, 1 << 20);
    et_engine_count_shed(s_fx.engine, 3, ET_REASON_QUEUE_FULL);
    assert_int_equal(s_count(ET_RECORD_REJECTED, -1), 0);
    assert_int_equal(et_engine_counters(s_fx.engine).rejected, 3);
    assert_int_equal(et_engine_rejected_by(s_fx.engine, ET_REASON_QUEUE_FULL),
                     3);
    et_engine_function_metrics_t m;
    assert_int_equal(et_engine_function_metrics(s_fx.engine, 0, &m), 0);
    assert_int_equal(m.rejected, 3);
    assert_int_equal(et_engine_counters(s_fx.engine).in_system, 0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    assert_int_equal(et_engine_counters(s_fx.engine).accepted, 1);
}

/* The drain-rate tests' start: one slot of "a", 21 events admitted at
 * T0 (one dispatched, 20 queued). */
static void
s_queue_21(void)
{
    s_engine(s_workflow(0, 10 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    for (uint64_t id = 1; id <= 21; id++)
        assert_int_equal(s_event(id, 16, T0), ET_REASON_NONE);
}

/* 10 of them completed in the next 100 ms: 100 a second. */
static void
s_complete_10(void)
{
    for (uint64_t id = 1; id <= 10; id++)
        assert_int_equal(
            s_result("A", id, 0, 0, ET_STATUS_OK, T0 + id * 1000000), 0);
}

// A full queue pauses its producer for half the time the queue needs to
// drain at the function's recent completion rate, between the shortest
// pause given and 4 times it; before any rate is known, the shortest.
static void
test_engine_pause_follows_the_drain_rate(void **state)
{
    (void)state;
    s_queue_21();
    et_event_t e = {.event_id = 22, .producer_id = 1};
    const uint64_t ms = 1000000;
    assert_int_equal(et_engine_pause_ns(s_fx.engine, &e, 0, T0), 0);
    assert_int_equal(et_engine_pause_ns(s_fx.engine, &e, 10 * ms, T0), 10 * ms);
    // 10 completions in 100 ms: 100 a second, with 10 still queued.
    s_complete_10();
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 10);
    assert_int_equal(
        et_engine_pause_ns(s_fx.engine, &e, 20 * ms, T0 + 100 * ms), 50 * ms);
    assert_int_equal(
        et_engine_pause_ns(s_fx.engine, &e, 10 * ms, T0 + 100 * ms), 40 * ms);
    assert_int_equal(
        et_engine_pause_ns(s_fx.engine, &e, 60 * ms, T0 + 100 * ms), 60 * ms);
    assert_int_equal(et_engine_pause_ns(s_fx.engine, &e, 0, T0 + 100 * ms), 0);
}

// The rate a refused producer is held to after its pause: 1.25 times the
// completion rate the pause measured, shared by the producers refused in
// the last second; none before a rate is known.
static void
test_engine_admit_rate_follows_the_drain_rate(void **state)
{
    (void)state;
    s_queue_21();
    const uint64_t ms = 1000000;
    et_event_t e = {.event_id = 22, .producer_id = 1};
    et_event_t other = {.event_id = (2ULL << ET_EVENT_SEQ_BITS) | 1,
                        .producer_id = 2};
    (void)et_engine_pause_ns(s_fx.engine, &e, 10 * ms, T0);
    assert_int_equal(et_engine_admit_eps(s_fx.engine, &e, T0), 0);
    s_complete_10();
    (void)et_engine_pause_ns(s_fx.engine, &e, 10 * ms, T0 + 100 * ms);
    assert_int_equal(et_engine_admit_eps(s_fx.engine, &e, T0 + 100 * ms), 125);
    // A second producer refused: each gets half.
    assert_int_equal(et_engine_admit_eps(s_fx.engine, &other, T0 + 200 * ms),
                     62);
    assert_int_equal(et_engine_admit_eps(s_fx.engine, &e, T0 + 300 * ms), 62);
    // A second later without another refusal of producer 2: whole again.
    assert_int_equal(et_engine_admit_eps(s_fx.engine, &e, T0 + 1300 * ms), 125);
}

static void
test_engine_rejects_beyond_the_memory_cap(void **state)
{
    (void)state;
    s_engine(s_workflow(0, S_SEC, "a", NULL), 100, 1024);
    assert_int_equal(s_event(1, 600, T0), ET_REASON_NONE);
    assert_int_equal(s_event(2, 600, T0), ET_REASON_QUEUE_FULL);
    assert_int_equal(s_event(3, 424, T0), ET_REASON_NONE); /* exactly full */
    assert_int_equal(et_engine_counters(s_fx.engine).in_system_bytes, 1024);
    // Over max_payload is another reason.
    assert_int_equal(s_event(4, 4097, T0), ET_REASON_BAD_PAYLOAD);
    // Finished events give their bytes back.
    s_ready("A", "a", 1, T0);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    assert_int_equal(et_engine_counters(s_fx.engine).in_system_bytes, 424);
    assert_int_equal(s_event(5, 600, T0 + 2), ET_REASON_NONE);
    s_check_accounting();
}

static void
test_engine_flags_events_cold_without_an_instance(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    s_ready("A", "a", 1, T0 + S_SEC);
    assert_int_equal(s_event(2, 16, T0 + S_SEC), ET_REASON_NONE);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2 * S_SEC), 0);
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 3 * S_SEC), 0);
    assert_int_equal(s_last(ET_RECORD_STAGE, 1)->cold, ET_COLD_START);
    assert_int_equal(s_last(ET_RECORD_STAGE, 2)->cold, ET_COLD_NONE);
    s_check_accounting();
}

// The cold-start definition: an event is a cold start when it finds no
// instance serving and no start pending; events that come while that start
// is pending only wait behind it. Once READY, the next time the function
// has no instance its first event is a cold start again.
static void
test_engine_counts_one_cold_start_per_start_and_the_rest_as_waits(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(s_event(id, 16, T0 + id), ET_REASON_NONE);
    s_ready("A", "a", 1, T0 + S_SEC);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2 * S_SEC), 0);
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 3 * S_SEC), 0);
    assert_int_equal(s_result("A", 3, 0, 0, ET_STATUS_OK, T0 + 4 * S_SEC), 0);
    assert_int_equal(s_last(ET_RECORD_STAGE, 1)->cold, ET_COLD_START);
    assert_int_equal(s_last(ET_RECORD_STAGE, 2)->cold, ET_COLD_WAIT);
    assert_int_equal(s_last(ET_RECORD_STAGE, 3)->cold, ET_COLD_WAIT);
    // A is kept alive, busy or not: arrivals are warm.
    assert_int_equal(s_event(4, 16, T0 + 5 * S_SEC), ET_REASON_NONE);
    assert_int_equal(s_event(5, 16, T0 + 5 * S_SEC), ET_REASON_NONE);
    assert_int_equal(s_result("A", 4, 0, 0, ET_STATUS_OK, T0 + 6 * S_SEC), 0);
    assert_int_equal(s_result("A", 5, 0, 0, ET_STATUS_OK, T0 + 7 * S_SEC), 0);
    assert_int_equal(s_last(ET_RECORD_STAGE, 4)->cold, ET_COLD_NONE);
    assert_int_equal(s_last(ET_RECORD_STAGE, 5)->cold, ET_COLD_NONE);
    // A leaves idle (keep-alive over): the next event asks for a start.
    et_engine_worker_bye(s_fx.engine, s_worker("A", T0 + 8 * S_SEC),
                         T0 + 8 * S_SEC);
    assert_int_equal(s_event(6, 16, T0 + 9 * S_SEC), ET_REASON_NONE);
    assert_int_equal(s_event(7, 16, T0 + 9 * S_SEC), ET_REASON_NONE);
    s_ready("B", "a", 1, T0 + 10 * S_SEC);
    assert_int_equal(s_result("B", 6, 0, 0, ET_STATUS_OK, T0 + 11 * S_SEC), 0);
    assert_int_equal(s_result("B", 7, 0, 0, ET_STATUS_OK, T0 + 12 * S_SEC), 0);
    assert_int_equal(s_last(ET_RECORD_STAGE, 6)->cold, ET_COLD_START);
    assert_int_equal(s_last(ET_RECORD_STAGE, 7)->cold, ET_COLD_WAIT);
    s_check_accounting();
}

static void
test_engine_flags_the_backlog_cold_when_the_last_instance_leaves(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(s_event(id, 16, T0), ET_REASON_NONE);
    // A says BYE with event 1 in flight: it stays until that result.
    et_engine_worker_bye(s_fx.engine, s_worker("A", T0 + 1), T0 + 1);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 0);
    assert_int_equal(s_fx.n_tasks, 1); /* a leaving worker gets nothing */
    s_ready("B", "a", 1, T0 + S_SEC);
    assert_int_equal(s_result("B", 2, 0, 0, ET_STATUS_OK, T0 + S_SEC + 1), 0);
    assert_int_equal(s_result("B", 3, 0, 0, ET_STATUS_OK, T0 + S_SEC + 2), 0);
    // The backlog left behind: its head asks for the start, 3 waits.
    assert_int_equal(s_last(ET_RECORD_STAGE, 1)->cold, ET_COLD_NONE);
    assert_int_equal(s_last(ET_RECORD_STAGE, 2)->cold, ET_COLD_START);
    assert_int_equal(s_last(ET_RECORD_STAGE, 3)->cold, ET_COLD_WAIT);
    s_check_accounting();
}

static void
test_engine_stage_output_is_the_next_stage_input(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", "b", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "b", 1, T0);
    assert_int_equal(s_event(9, 16, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 9, 0, 0);
    assert_int_equal(s_fx.tasks[0].payload_size, 16);
    assert_int_equal(s_fx.tasks[0].payload_byte, 9);
    assert_int_equal(s_result_out("A", 9, 0, 0, ET_STATUS_OK, 40, 0xab, T0 + 5),
                     0);
    s_expect_task(1, "B", 9, 1, 0);
    assert_int_equal(s_fx.tasks[1].payload_size, 40);
    assert_int_equal(s_fx.tasks[1].payload_byte, 0xab);
    assert_int_equal(et_engine_counters(s_fx.engine).in_system_bytes, 40);
    assert_null(s_last(ET_RECORD_COMPLETED, 9));
    assert_int_equal(s_result("B", 9, 1, 0, ET_STATUS_OK, T0 + 9), 0);
    const et_record_t *stage1 = s_last(ET_RECORD_STAGE, 9);
    assert_int_equal(stage1->stage, 1);
    assert_int_equal(stage1->queue_ns, 0); /* sent as it was queued */
    assert_non_null(s_last(ET_RECORD_COMPLETED, 9));
    assert_int_equal(et_engine_counters(s_fx.engine).in_system_bytes, 0);
    s_check_accounting();
}

static void
test_engine_function_serving_two_stages_shares_one_queue(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", "b", "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "b", 1, T0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_event(2, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    s_expect_task(1, "B", 1, 1, 0);
    s_expect_task(2, "A", 2, 0, 0);
    assert_int_equal(s_result("B", 1, 1, 0, ET_STATUS_OK, T0 + 2), 0);
    // Stage 2 of event 1 waits behind stage 0 of event 2 in a's queue.
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 1);
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 3), 0);
    s_expect_task(3, "B", 2, 1, 0);
    s_expect_task(4, "A", 1, 2, 0);
    assert_int_equal(s_result("A", 1, 2, 0, ET_STATUS_OK, T0 + 4), 0);
    assert_non_null(s_last(ET_RECORD_COMPLETED, 1));
    assert_null(s_last(ET_RECORD_COMPLETED, 2));
    et_stats_t stats;
    memset(&stats, 0, sizeof stats);
    et_engine_stats(s_fx.engine, &stats, T0 + 4);
    assert_int_equal(stats.n_functions, 2);
    assert_string_equal(stats.functions[0].name, "a");
    assert_int_equal(stats.functions[0].completed, 3);
    assert_int_equal(stats.functions[1].completed, 1);
    s_check_accounting();
}

static void
test_engine_in_flight_insert_failure_sends_nothing_and_keeps_the_slot(
    void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    s_fail_idmap_put = 1;
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    // No TASK went out, the job waits at the head, no slot is lost.
    assert_int_equal(s_fx.n_tasks, 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 1);
    assert_int_equal(s_function_stats(0).slots_busy, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).no_memory, 1);
    // The next chance dispatches it, to the same (least recently used) slot.
    et_engine_expire(s_fx.engine, T0 + 1);
    assert_int_equal(s_fx.n_tasks, 1);
    s_expect_task(0, "A", 1, 0, 0);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 1);
    s_check_accounting();
}

// A job whose in-flight insert fails never left its queue: nothing has to
// be put back, so requeues failing too cannot lose it.
static void
test_engine_in_flight_insert_failure_needs_no_requeue(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_fail_idmap_put = 1;
    s_fail_push_head = 1;
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_fx.n_tasks, 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 1);
    assert_int_equal(s_function_stats(0).slots_busy, 0);
    s_fail_push_head = 0;
    et_engine_expire(s_fx.engine, T0 + 1);
    s_expect_task(0, "A", 1, 0, 0);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 1);
    assert_int_equal(et_engine_counters(s_fx.engine).in_system, 0);
    s_check_accounting();
}

// The same for a TASK that cannot be sent: the job waits at the head for
// another worker, whatever memory there is.
static void
test_engine_send_failure_needs_no_requeue(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    snprintf(s_fx.refuse_route, sizeof s_fx.refuse_route, "A");
    s_fail_push_head = 1;
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_fx.refused, 1);
    assert_null(s_worker("A", T0));
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 1);
    s_fail_push_head = 0;
    s_ready("B", "a", 1, T0 + 1);
    s_expect_task(0, "B", 1, 0, 0);
    assert_int_equal(s_result("B", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 1);
    assert_int_equal(et_engine_counters(s_fx.engine).in_system, 0);
    s_check_accounting();
}

// A TASK that cannot be built for want of memory is not the worker's
// fault: the worker keeps its running work and gets the job later.
static void
test_engine_send_without_memory_keeps_the_worker(void **state)
{
    (void)state;
    s_engine(s_workflow(2, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 2, T0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 1, 0, 0);
    s_fx.send_no_memory = 1;
    assert_int_equal(s_event(2, 16, T0 + 1), ET_REASON_NONE);
    assert_int_equal(s_fx.n_tasks, 1);
    assert_non_null(s_worker("A", T0 + 1));
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 1);
    assert_int_equal(s_function_stats(0).slots_busy, 1);
    assert_int_equal(s_count(ET_RECORD_RETRY, -1), 0);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.in_flight, 1);
    assert_int_equal(c.no_memory, 1);
    // The next pass sends it; both complete on A.
    et_engine_expire(s_fx.engine, T0 + 2);
    s_expect_task(1, "A", 2, 0, 0);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 3), 0);
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 3), 0);
    c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.completed, 2);
    assert_int_equal(c.stale_results, 0);
    s_check_accounting();
}

static void
test_engine_send_failure_requeues_and_forgets_the_worker(void **state)
{
    (void)state;
    s_engine(s_workflow(2, 60 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 2, T0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 1, 0, 0);
    s_ready("B", "a", 1, T0);
    // A stops taking sends: event 2 goes back and on to B; event 1, in
    // flight on A, gets another attempt.
    snprintf(s_fx.refuse_route, sizeof s_fx.refuse_route, "A");
    assert_int_equal(s_event(2, 16, T0 + 1), ET_REASON_NONE);
    assert_int_equal(s_fx.refused, 1);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
    assert_null(s_worker("A", T0 + 1));
    // Event 1's retry went to the head, ahead of event 2.
    s_expect_task(1, "B", 1, 0, 1);
    const et_record_t *retry = s_last(ET_RECORD_RETRY, 1);
    assert_non_null(retry);
    assert_int_equal(retry->reason, ET_REASON_WORKER_LOST);
    assert_null(s_last(ET_RECORD_RETRY, 2)); /* never sent: no attempt used */
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 1);
    assert_int_equal(s_result("B", 1, 0, 1, ET_STATUS_OK, T0 + 2), 0);
    s_expect_task(2, "B", 2, 0, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 1);
    s_check_accounting();
}

static void
test_engine_failed_requeue_fails_the_event_without_a_retry_record(void **state)
{
    (void)state;
    s_engine(s_workflow(2, 1 * S_SEC, "a", NULL), 100, 1 << 20);
    s_ready("A", "a", 2, T0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_event(2, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    // A timeout whose requeue fails: FAILED with its reason, never RETRY.
    s_fail_push_head = 1;
    et_engine_expire(s_fx.engine, T0 + S_SEC);
    const et_record_t *failed = s_last(ET_RECORD_FAILED, 1);
    assert_non_null(failed);
    assert_int_equal(failed->reason, ET_REASON_TIMEOUT);
    assert_int_equal(failed->attempt, 0);
    assert_int_equal(s_count(ET_RECORD_RETRY, -1), 0);
    // The same for a function error.
    assert_int_equal(s_event(3, 16, T0 + S_SEC), ET_REASON_NONE);
    s_fail_push_head = 1;
    assert_int_equal(s_result("A", 3, 0, 0, ET_STATUS_ERROR, T0 + S_SEC + 1),
                     0);
    failed = s_last(ET_RECORD_FAILED, 3);
    assert_non_null(failed);
    assert_int_equal(failed->reason, ET_REASON_FUNCTION_ERROR);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.retries, 0);
    assert_int_equal(c.failed, 2);
    assert_int_equal(c.no_memory, 2);
    assert_int_equal(c.in_system, 0);
    s_check_accounting();
}

static void
test_engine_failed_next_stage_push_fails_the_event(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", "b", NULL), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    s_fail_push_admitted = 1;
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    const et_record_t *failed = s_last(ET_RECORD_FAILED, 1);
    assert_non_null(failed);
    assert_int_equal(failed->reason, ET_REASON_QUEUE_FULL);
    assert_int_equal(failed->stage, 0);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.failed, 1);
    assert_int_equal(c.no_memory, 1);
    assert_int_equal(c.in_system, 0);
    assert_int_equal(c.in_system_bytes, 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 1), 0);
    s_check_accounting();
}

// An event the broker has no memory to admit is refused as queue_full
// (the producer backs off), recorded and counted apart; a queue that is
// merely full is not a memory failure.
static void
test_engine_admission_without_memory_rejects_and_counts(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 60 * S_SEC, "a", "b", NULL), 1, 1 << 20);
    s_fail_job_new = 1;
    assert_int_equal(s_event(1, 16, T0), ET_REASON_QUEUE_FULL);
    s_fail_push_tail = 1;
    assert_int_equal(s_event(2, 16, T0), ET_REASON_QUEUE_FULL);
    for (uint64_t id = 1; id <= 2; id++) {
        const et_record_t *r = s_last(ET_RECORD_REJECTED, id);
        assert_non_null(r);
        assert_int_equal(r->reason, ET_REASON_QUEUE_FULL);
    }
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.rejected, 2);
    assert_int_equal(c.no_memory, 2);
    assert_int_equal(c.in_system, 0);
    assert_int_equal(c.in_system_bytes, 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 0);
    // Memory back: admitted; then the queue (cap 1) is full.
    assert_int_equal(s_event(3, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_event(4, 16, T0), ET_REASON_QUEUE_FULL);
    c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.no_memory, 2);
    assert_int_equal(c.rejected, 3);
    assert_int_equal(et_engine_rejected_by(s_fx.engine, ET_REASON_QUEUE_FULL),
                     3);
    s_check_accounting();
}

static void
test_engine_ready_for_an_unknown_function_is_refused(void **state)
{
    (void)state;
    s_engine(s_workflow(0, S_SEC, "a", NULL), 100, 1 << 20);
    et_ready_t ready = {.function = "zzz", .instance = "x", .slots = 1};
    errno = 0;
    assert_int_equal(et_engine_worker_ready(s_fx.engine, "X", 1, &ready, T0),
                     -1);
    assert_int_equal(errno, ENOENT);
    s_ready("A", "a", 1, T0);
    snprintf(ready.function, sizeof ready.function, "a");
    errno = 0;
    assert_int_equal(et_engine_worker_ready(s_fx.engine, "A", 1, &ready, T0),
                     -1);
    assert_int_equal(errno, EEXIST);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
    assert_null(s_worker("X", T0));
}

static void
test_engine_stats_integrate_slot_time_and_count_arrivals(void **state)
{
    (void)state;
    s_engine(s_workflow(1, 60 * S_SEC, "a", "b", NULL), 100, 1 << 20);
    // a: two single-slot workers from T0; b: one 2-slot worker from T0 + 1 s.
    s_ready("A1", "a", 1, T0);
    s_ready("A2", "a", 1, T0);
    s_ready("B", "b", 2, T0 + S_SEC);
    // Event 1 holds an a slot from T0 + 1 s to T0 + 4 s, then a b slot
    // until T0 + 6 s. Event 2 fails in a at T0 + 5 s, is retried and
    // holds a slot again from then on.
    assert_int_equal(s_event(1, 16, T0 + S_SEC), ET_REASON_NONE);
    assert_int_equal(s_event(2, 16, T0 + 2 * S_SEC), ET_REASON_NONE);
    assert_int_equal(s_result("A1", 1, 0, 0, ET_STATUS_OK, T0 + 4 * S_SEC), 0);
    assert_int_equal(s_result("A2", 2, 0, 0, ET_STATUS_ERROR, T0 + 5 * S_SEC),
                     0);
    assert_int_equal(s_result("B", 1, 1, 0, ET_STATUS_OK, T0 + 6 * S_SEC), 0);
    et_stats_t stats;
    memset(&stats, 0, sizeof stats);
    et_engine_stats(s_fx.engine, &stats, T0 + 10 * S_SEC);
    const et_stats_function_t *a = &stats.functions[0];
    const et_stats_function_t *b = &stats.functions[1];
    // a: 3 s (event 1) + 3 s (event 2, first try) + 5 s (its retry).
    assert_true(a->busy_slot_ns == 11 * S_SEC);
    assert_true(a->serving_slot_ns == 20 * S_SEC);
    assert_true(a->instance_ns == 20 * S_SEC);
    assert_true(a->arrived == 3); /* two admissions, one retry */
    // b: 2 s busy of 2 slots x 9 s.
    assert_true(b->busy_slot_ns == 2 * S_SEC);
    assert_true(b->serving_slot_ns == 18 * S_SEC);
    assert_true(b->instance_ns == 9 * S_SEC);
    assert_true(b->arrived == 1);
    // The snapshot advanced the integrals: a later one adds only the rest.
    et_engine_stats(s_fx.engine, &stats, T0 + 11 * S_SEC);
    assert_true(stats.functions[0].busy_slot_ns == 12 * S_SEC);
    assert_true(stats.functions[1].serving_slot_ns == 20 * S_SEC);
    s_check_accounting();
}

/* STARTING from 'route' for 'function'; returns the engine's answer. */
static int
s_starting(const char *route, const char *function, uint64_t now)
{
    et_ready_t hello;
    memset(&hello, 0, sizeof hello);
    snprintf(hello.function, sizeof hello.function, "%s", function);
    snprintf(hello.instance, sizeof hello.instance, "%s-inst", route);
    hello.slots = 1;
    return et_engine_worker_starting(s_fx.engine, route, strlen(route), &hello,
                                     now);
}

static et_engine_function_metrics_t
s_metrics(uint32_t function)
{
    et_engine_function_metrics_t m;
    assert_int_equal(et_engine_function_metrics(s_fx.engine, function, &m), 0);
    return m;
}

static void
test_engine_counts_starting_workers_until_ready_bye_or_timeout(void **state)
{
    (void)state;
    et_engine_config_t cfg = {.workflow = s_workflow(0, S_SEC, "a", "b", NULL),
                              .queue_cap = 4,
                              .max_payload = 4096,
                              .memory_cap = 1 << 20,
                              .worker_timeout_ns = 3 * S_SEC,
                              .start_timeout_ns = 60 * S_SEC};
    et_engine_io_t io = {
        .send_task = s_send_task, .record = s_record, .arg = &s_fx};
    s_fx.engine = et_engine_new(&cfg, &io);
    assert_non_null(s_fx.engine);

    assert_int_equal(s_starting("A1", "a", T0), 0);
    assert_int_equal(s_starting("A2", "a", T0), 0);
    assert_int_equal(s_starting("B1", "b", T0 + 30 * S_SEC), 0);
    assert_int_equal(s_metrics(0).starting, 2);
    assert_int_equal(s_metrics(1).starting, 1);
    assert_int_equal(s_metrics(0).idle, 0);

    /* READY: serving, no longer starting. */
    s_ready("A1", "a", 1, T0 + S_SEC);
    assert_int_equal(s_metrics(0).starting, 1);
    assert_int_equal(s_metrics(0).idle, 1);
    /* A serving worker cannot be starting; one of no function of the
     * workflow is left to its READY. */
    errno = 0;
    assert_int_equal(s_starting("A1", "a", T0 + S_SEC), -1);
    assert_int_equal(errno, EEXIST);
    assert_int_equal(s_starting("X", "nope", T0 + S_SEC), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(s_metrics(0).starting, 1);

    /* BYE before READY: left. A BYE from nobody starting changes nothing. */
    assert_int_equal(et_engine_worker_left_starting(s_fx.engine, "A2", 2), 1);
    assert_int_equal(et_engine_worker_left_starting(s_fx.engine, "A2", 2), 0);
    assert_int_equal(s_metrics(0).starting, 0);

    /* B1 never says READY: still starting just before the timeout, not
     * after, and counted. The registered A1 is heard from meanwhile. */
    et_worker_rec_t *a1 = s_worker("A1", T0 + 89 * S_SEC);
    assert_non_null(a1);
    et_engine_expire(s_fx.engine, T0 + 89 * S_SEC);
    assert_int_equal(s_metrics(1).starting, 1);
    assert_int_equal(et_engine_counters(s_fx.engine).starts_expired, 0);
    assert_non_null(s_worker("A1", T0 + 90 * S_SEC));
    et_engine_expire(s_fx.engine, T0 + 90 * S_SEC);
    assert_int_equal(s_metrics(1).starting, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).starts_expired, 1);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
}

static void
test_engine_response_time_and_rejections_per_function(void **state)
{
    (void)state;
    s_engine(s_workflow(1, 10 * S_SEC, "a", "b", NULL), 1, 1 << 20);
    /* Event 1: a queues it 2 s before A serves it; its first attempt
     * fails at +3 s and the retry succeeds at +4 s: a's response is 4 s.
     * b serves it at once in 1 s. */
    assert_int_equal(s_event(1, 8, T0), ET_REASON_NONE);
    /* Event 2 finds a's queue (cap 1) full: rejected, counted at a. */
    assert_int_equal(s_event(2, 8, T0 + S_SEC), ET_REASON_QUEUE_FULL);
    s_ready("A", "a", 1, T0 + 2 * S_SEC);
    s_ready("B", "b", 1, T0 + 2 * S_SEC);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_ERROR, T0 + 3 * S_SEC),
                     0);
    assert_int_equal(s_result("A", 1, 0, 1, ET_STATUS_OK, T0 + 4 * S_SEC), 0);
    assert_int_equal(s_result("B", 1, 1, 0, ET_STATUS_OK, T0 + 5 * S_SEC), 0);

    et_engine_function_metrics_t a = s_metrics(0), b = s_metrics(1);
    assert_int_equal(a.rejected, 1);
    assert_int_equal(b.rejected, 0);
    /* One response per stage passed, none for the failed attempt. */
    assert_int_equal(et_hist_count(a.response), 1);
    assert_int_equal(et_hist_count(b.response), 1);
    int64_t ra = et_hist_max(a.response), rb = et_hist_max(b.response);
    assert_true(ra >= (int64_t)(4 * S_SEC * 99 / 100) &&
                ra <= (int64_t)(4 * S_SEC * 101 / 100));
    assert_true(rb >= (int64_t)(S_SEC * 99 / 100) &&
                rb <= (int64_t)(S_SEC * 101 / 100));
    /* Service counts both attempts at a. */
    assert_int_equal(et_hist_count(a.service), 2);
    s_check_accounting();
}

/* ---- batches ----------------------------------------------------------------
 */

/* Admit events 'first'..'last' of 'size' bytes while dispatch is held,
 * then release it at 'now'. */
static void
s_burst(uint64_t first, uint64_t last, size_t size, uint64_t now)
{
    size_t sent = s_fx.n_messages;
    et_engine_hold(s_fx.engine);
    for (uint64_t id = first; id <= last; id++)
        assert_int_equal(s_event(id, size, now), ET_REASON_NONE);
    assert_int_equal(s_fx.n_messages, sent);
    et_engine_release(s_fx.engine, now);
}

/* A worker with several free slots gets the queued jobs in one message, in
 * queue order; the next worker (LRU) the rest. */
static void
test_engine_batch_fills_a_workers_free_slots_in_one_message(void **state)
{
    (void)state;
    s_engine_batch(s_workflow(0, 10 * S_SEC, "a", NULL), 100, 64, 4096);
    s_ready("A", "a", 4, T0);
    s_ready("B", "a", 4, T0);
    s_burst(1, 6, 16, T0);
    assert_int_equal(s_fx.n_messages, 2);
    assert_int_equal(s_fx.batch_sizes[0], 4);
    assert_int_equal(s_fx.batch_sizes[1], 2);
    for (uint64_t id = 1; id <= 6; id++)
        s_expect_task(id - 1, id <= 4 ? "A" : "B", id, 0, 0);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.in_flight, 6);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 0);
    assert_int_equal(s_function_stats(0).slots_busy, 6);
    // Results one by one: each frees one slot, each is in-flight exactly.
    for (uint64_t id = 1; id <= 6; id++) {
        assert_int_equal(
            s_result(id <= 4 ? "A" : "B", id, 0, 0, ET_STATUS_OK, T0 + id), 0);
        assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 6 - id);
    }
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 6);
    assert_int_equal(s_function_stats(0).slots_busy, 0);
    s_check_accounting();
}

/* Not held, an event arriving at a free slot goes at once, alone; and
 * batch_max bounds a batch, as ET_BATCH_BYTES_MAX does its bytes. */
static void
test_engine_batch_is_bounded_by_count_and_bytes(void **state)
{
    (void)state;
    s_engine_batch(s_workflow(0, 10 * S_SEC, "a", NULL), 100, 3, 1 << 20);
    s_ready("A", "a", 8, T0);
    assert_int_equal(s_event(1, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_fx.n_messages, 1);
    assert_int_equal(s_fx.batch_sizes[0], 1);
    s_burst(2, 8, 16, T0); /* 7 jobs, 7 free slots, at most 3 a message */
    assert_int_equal(s_fx.n_messages, 4);
    assert_int_equal(s_fx.batch_sizes[1], 3);
    assert_int_equal(s_fx.batch_sizes[2], 3);
    assert_int_equal(s_fx.batch_sizes[3], 1);
    for (uint64_t id = 1; id <= 8; id++)
        assert_int_equal(s_result("A", id, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    // 600 KB each: two would pass ET_BATCH_BYTES_MAX, so each goes alone.
    s_fx.n_messages = 0;
    s_burst(9, 11, 600 * 1024, T0 + 2);
    assert_int_equal(s_fx.n_messages, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(s_fx.batch_sizes[i], 1);
    s_check_accounting();
}

/* A worker lost with a batch in flight: every task of it gets another
 * attempt (RETRY worker_lost), exactly as single tasks do, then goes to
 * the worker left, again in one message. */
static void
test_engine_batch_in_flight_on_a_lost_worker_is_retried_task_by_task(
    void **state)
{
    (void)state;
    s_engine_batch(s_workflow(1, 60 * S_SEC, "a", NULL), 100, 64, 4096);
    s_ready("A", "a", 3, T0);
    s_burst(1, 3, 16, T0);
    assert_int_equal(s_fx.n_messages, 1);
    assert_int_equal(s_fx.batch_sizes[0], 3);
    s_ready("B", "a", 4, T0 + S_SEC); /* idle: nothing queued */
    assert_int_equal(s_fx.n_messages, 1);
    // A goes silent; B keeps talking.
    assert_non_null(s_worker("B", T0 + 2 * S_SEC));
    et_engine_expire(s_fx.engine, T0 + 3 * S_SEC);
    assert_null(s_worker("A", T0 + 3 * S_SEC));
    assert_int_equal(s_count(ET_RECORD_RETRY, ET_REASON_WORKER_LOST), 3);
    for (uint64_t id = 1; id <= 3; id++) {
        const et_record_t *r = s_last(ET_RECORD_RETRY, id);
        assert_non_null(r);
        assert_true(r->hold_ns == (int64_t)(3 * S_SEC));
    }
    // The retries went to B, in one message, as attempt 1.
    assert_int_equal(s_fx.n_messages, 2);
    assert_int_equal(s_fx.batch_sizes[1], 3);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 3);
    for (size_t i = 3; i < 6; i++) {
        assert_string_equal(s_fx.tasks[i].route, "B");
        assert_int_equal(s_fx.tasks[i].attempt, 1);
    }
    // Lost again (B silent too): out of retries, each fails alone.
    et_engine_expire(s_fx.engine, T0 + 10 * S_SEC);
    assert_int_equal(s_count(ET_RECORD_FAILED, ET_REASON_WORKER_LOST), 3);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).in_system, 0);
    s_check_accounting();
}

/* Each task of a batch keeps its own timeout: the ones without a result
 * by then are retried, their slots held until their late answers. */
static void
test_engine_batch_tasks_time_out_one_by_one(void **state)
{
    (void)state;
    s_engine_batch(s_workflow(1, 1 * S_SEC, "a", NULL), 100, 64, 4096);
    s_ready("A", "a", 3, T0);
    s_burst(1, 3, 16, T0);
    assert_int_equal(s_fx.batch_sizes[0], 3);
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + S_SEC / 2), 0);
    s_heard_all(T0 + S_SEC);
    et_engine_expire(s_fx.engine, T0 + S_SEC);
    assert_int_equal(s_count(ET_RECORD_RETRY, ET_REASON_TIMEOUT), 2);
    assert_non_null(s_last(ET_RECORD_RETRY, 1));
    assert_non_null(s_last(ET_RECORD_RETRY, 3));
    assert_null(s_last(ET_RECORD_RETRY, 2));
    // One slot was free (event 2's): it takes the retry at the head.
    assert_int_equal(s_fx.n_tasks, 4);
    uint64_t first = s_fx.tasks[3].event_id;
    assert_true(first == 1 || first == 3);
    s_expect_task(3, "A", first, 0, 1);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 1);
    // Late answers of the timed-out attempts, together in one RESULTS:
    // stale, and each frees its held slot; the other retry goes out.
    et_result_t late[2] = {
        {.event_id = 1, .attempt = 0, .outcome = ET_OUTCOME_NONE},
        {.event_id = 3, .attempt = 0, .outcome = ET_OUTCOME_NONE}};
    zmq_msg_t outputs[2];
    zmq_msg_init(&outputs[0]);
    zmq_msg_init(&outputs[1]);
    et_engine_results(s_fx.engine, s_worker("A", T0 + 2 * S_SEC), late, outputs,
                      2, T0 + 2 * S_SEC);
    zmq_msg_close(&outputs[0]);
    zmq_msg_close(&outputs[1]);
    assert_int_equal(et_engine_counters(s_fx.engine).stale_results, 2);
    assert_int_equal(s_fx.n_tasks, 5);
    s_expect_task(4, "A", first == 1 ? 3 : 1, 0, 1);
    assert_int_equal(s_function_stats(0).slots_busy, 2);
    s_check_accounting();
}

/* RESULTS: each result as a RESULT would be, dispatch held to the end (the
 * freed slots refill in one message); a result that follows the last one
 * of a leaving worker is stale, and nothing touches the forgotten record
 * (ASan). */
static void
test_engine_results_batch_settles_each_and_refills_at_once(void **state)
{
    (void)state;
    s_engine_batch(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 64, 4096);
    s_ready("A", "a", 3, T0);
    s_burst(1, 6, 16, T0);
    assert_int_equal(s_fx.n_messages, 1);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 3);
    et_result_t results[3];
    zmq_msg_t outputs[3];
    for (uint64_t i = 0; i < 3; i++) {
        results[i] = (et_result_t){.event_id = i + 1,
                                   .status = ET_STATUS_OK,
                                   .service_ns = 10,
                                   .outcome = ET_OUTCOME_NONE};
        zmq_msg_init(&outputs[i]);
    }
    et_engine_results(s_fx.engine, s_worker("A", T0 + 1), results, outputs, 3,
                      T0 + 1);
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 3);
    assert_int_equal(s_fx.n_messages, 2);
    assert_int_equal(s_fx.batch_sizes[1], 3);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 3);
    // A leaves; its last three results come with a duplicate after them.
    et_engine_worker_bye(s_fx.engine, s_worker("A", T0 + 2), T0 + 2);
    et_result_t last[4];
    zmq_msg_t last_out[4];
    for (uint64_t i = 0; i < 4; i++) {
        last[i] = (et_result_t){.event_id = 4 + (i < 3 ? i : 0),
                                .status = ET_STATUS_OK,
                                .outcome = ET_OUTCOME_NONE};
        zmq_msg_init(&last_out[i]);
    }
    et_engine_results(s_fx.engine, s_worker("A", T0 + 3), last, last_out, 4,
                      T0 + 3);
    assert_null(s_worker("A", T0 + 4));
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.completed, 6);
    assert_int_equal(c.stale_results, 1);
    assert_int_equal(c.in_flight, 0);
    assert_int_equal(c.in_system, 0);
    s_check_accounting();
}

/* Held, a full queue is first served by the free slots, so a hold never
 * refuses what dispatch at arrival would have taken (two functions: room
 * for 4 events in the system, 2 in each queue). */
static void
test_engine_hold_never_refuses_what_a_free_slot_takes(void **state)
{
    (void)state;
    s_engine_batch(s_workflow(0, 60 * S_SEC, "a", "b", NULL), 2, 64, 4096);
    s_ready("A", "a", 3, T0);
    et_engine_hold(s_fx.engine);
    for (uint64_t id = 1; id <= 4; id++)
        assert_int_equal(s_event(id, 16, T0), ET_REASON_NONE);
    assert_int_equal(s_event(5, 16, T0), ET_REASON_QUEUE_FULL);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 2);
    et_engine_release(s_fx.engine, T0);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 3);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 1);
    assert_int_equal(et_engine_counters(s_fx.engine).rejected, 1);
    // Holds nest: dispatch waits for the outermost release. Event 1 moves
    // on to B; event 2 then waits in b's queue for B's only slot.
    s_ready("B", "b", 1, T0);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 1), 1);
    size_t sent = s_fx.n_tasks;
    et_engine_hold(s_fx.engine);
    et_engine_hold(s_fx.engine);
    assert_int_equal(s_result("B", 1, 1, 0, ET_STATUS_OK, T0 + 2), 0);
    et_engine_release(s_fx.engine, T0 + 2);
    assert_int_equal(s_fx.n_tasks, sent);
    et_engine_release(s_fx.engine, T0 + 2);
    assert_int_equal(s_fx.n_tasks, sent + 1);
    s_expect_task(sent, "B", 2, 1, 0);
    s_check_accounting();
}

/* A batch that cannot go (no memory to send, or the in-flight table cannot
 * grow part-way) leaves every job at the head in order and every slot
 * free; one refused by the peer forgets the worker and the batch goes to
 * the next. */
static void
test_engine_batch_send_failures_keep_every_job_queued(void **state)
{
    (void)state;
    s_engine_batch(s_workflow(0, 60 * S_SEC, "a", NULL), 100, 64, 4096);
    s_ready("A", "a", 3, T0);
    s_fx.send_no_memory = 1;
    s_burst(1, 3, 16, T0);
    assert_int_equal(s_fx.n_tasks, 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 3);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).no_memory, 1);
    assert_int_equal(s_function_stats(0).slots_busy, 0);
    // The third insert into the in-flight table fails.
    s_fail_idmap_put = 1;
    s_idmap_put_skip = 2;
    et_engine_expire(s_fx.engine, T0 + 1);
    assert_int_equal(s_fx.n_tasks, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).no_memory, 2);
    assert_int_equal(s_function_stats(0).slots_busy, 0);
    // A refuses: forgotten; B takes the batch, in queue order.
    snprintf(s_fx.refuse_route, sizeof s_fx.refuse_route, "A");
    s_ready("B", "a", 3, T0 + 2);
    assert_int_equal(s_fx.refused, 1);
    assert_null(s_worker("A", T0 + 2));
    assert_int_equal(s_fx.n_messages, 1);
    for (uint64_t id = 1; id <= 3; id++)
        s_expect_task(id - 1, "B", id, 0, 0);
    assert_int_equal(s_count(ET_RECORD_RETRY, -1), 0);
    assert_int_equal(et_engine_counters(s_fx.engine).in_flight, 3);
    s_check_accounting();
}

/* Offer event 'id' on 'route' with affinity key 'key' (16 bytes of
 * payload). */
static et_reason_t
s_event_full(uint64_t id, uint32_t route, uint64_t key, uint64_t now)
{
    et_event_t event = {.event_id = id,
                        .producer_id = 1,
                        .intended_ns = (int64_t)id,
                        .label = ET_LABEL_NONE,
                        .route = route,
                        .key = key};
    zmq_msg_t payload;
    assert_int_equal(zmq_msg_init_size(&payload, 16), 0);
    memset(zmq_msg_data(&payload), (int)(id & 0xff), 16);
    et_reason_t reason = et_engine_admit(s_fx.engine, &event, &payload, now);
    zmq_msg_close(&payload);
    return reason;
}

/* Offer event 'id' on 'route'. */
static et_reason_t
s_event_on(uint64_t id, uint32_t route, uint64_t now)
{
    return s_event_full(id, route, ET_KEY_NONE, now);
}

/* ---- keyed stages -----------------------------------------------------------
 */

/* Offer event 'id' with affinity key 'key'. */
static et_reason_t
s_event_key(uint64_t id, uint64_t key, uint64_t now)
{
    return s_event_full(id, 0, key, now);
}

/* A per-stage workflow (a trace replay's): each event runs the stage its
 * route names, on that function's instances, and completes there. */
static void
test_engine_per_stage_routes_each_event_to_its_stage(void **state)
{
    (void)state;
    et_workflow_t *wf =
        (et_workflow_t *)s_workflow(0, 10 * S_SEC, "fa", "fb", "fc", NULL);
    wf->routing = ET_WORKFLOW_PER_STAGE;
    s_engine(wf, 16, 1 << 20);
    s_ready("wa", "fa", 1, 0);
    s_ready("wb", "fb", 1, 0);
    s_ready("wc", "fc", 1, 0);
    assert_int_equal(s_event_on(1, 2, 1), ET_REASON_NONE);
    assert_int_equal(s_event_on(2, 0, 1), ET_REASON_NONE);
    assert_int_equal(s_event_on(3, 1, 1), ET_REASON_NONE);
    s_expect_task(0, "wc", 1, 2, 0);
    s_expect_task(1, "wa", 2, 0, 0);
    s_expect_task(2, "wb", 3, 1, 0);
    assert_int_equal(s_last(ET_RECORD_ACCEPTED, 1)->stage, 2);
    assert_int_equal(s_result("wc", 1, 2, 0, ET_STATUS_OK, 2), 0);
    assert_int_equal(s_result("wa", 2, 0, 0, ET_STATUS_OK, 2), 0);
    /* Stage 0 done does not move event 2 on to stage 1. */
    assert_int_equal(s_fx.n_tasks, 3);
    assert_non_null(s_last(ET_RECORD_COMPLETED, 1));
    assert_non_null(s_last(ET_RECORD_COMPLETED, 2));
    assert_null(s_last(ET_RECORD_COMPLETED, 3));
    assert_int_equal(s_result("wb", 3, 1, 0, ET_STATUS_OK, 2), 0);
    assert_int_equal(s_count(ET_RECORD_COMPLETED, -1), 3);
    /* A route beyond the stages cannot be served. */
    assert_int_equal(s_event_on(4, 3, 3), ET_REASON_BAD_PAYLOAD);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.accepted, 3);
    assert_int_equal(c.completed, 3);
    assert_int_equal(c.rejected, 1);
}

static void
test_engine_chain_refuses_a_route(void **state)
{
    (void)state;
    s_engine(s_workflow(0, 10 * S_SEC, "fa", "fb", NULL), 16, 1 << 20);
    assert_int_equal(s_event_on(1, 1, 1), ET_REASON_BAD_PAYLOAD);
    assert_int_equal(s_event_on(2, 0, 1), ET_REASON_NONE);
    assert_int_equal(et_engine_counters(s_fx.engine).rejected, 1);
}

/* A key that rendezvous hashing gives to 'route' among the instances of
 * routes[0..n) (s_ready names an instance ROUTE-inst). */
static uint64_t
s_key_of(const char *route, const char *const *routes, size_t n)
{
    uint64_t ids[8];
    size_t mine = n;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s-inst", routes[i]);
        ids[i] = et_affinity_id(name);
        if (strcmp(routes[i], route) == 0)
            mine = i;
    }
    assert_true(mine < n);
    for (uint64_t key = 1;; key++)
        if (et_affinity_pick(key, ids, n) == mine)
            return key;
}

/* A one-stage workflow whose stage is keyed. */
static const et_workflow_t *
s_keyed_workflow(uint32_t retries)
{
    const et_workflow_t *wf = s_workflow(retries, 10 * S_SEC, "a", NULL);
    snprintf(s_fx.wf.stages[0].key, sizeof s_fx.wf.stages[0].key, "series");
    return wf;
}

/* Each key goes to its owner; an event whose owner is busy waits, and the
 * events of other keys behind it are served meanwhile; once the owner is
 * free it gets the waiting event, in the key's order. */
static void
test_engine_keyed_owner_busy_other_keys_still_served(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine(s_keyed_workflow(2), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    uint64_t ka = s_key_of("A", routes, 2), kb = s_key_of("B", routes, 2);
    assert_int_equal(s_event_key(1, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_event_key(2, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_event_key(3, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_event_key(4, kb, T0), ET_REASON_NONE);
    // B was free, but 2 and 3 are A's: only 4 (behind them) goes to B.
    assert_int_equal(s_fx.n_tasks, 2);
    s_expect_task(0, "A", 1, 0, 0);
    s_expect_task(1, "B", 4, 0, 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 2);
    // B frees up first: nothing of A's key goes there.
    assert_int_equal(s_result("B", 4, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    assert_int_equal(s_fx.n_tasks, 2);
    // A frees up: 2, then 3, in order.
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    s_expect_task(2, "A", 2, 0, 0);
    assert_int_equal(s_result("A", 2, 0, 0, ET_STATUS_OK, T0 + 3), 0);
    s_expect_task(3, "A", 3, 0, 0);
    assert_int_equal(s_result("A", 3, 0, 0, ET_STATUS_OK, T0 + 4), 0);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.completed, 4);
    assert_int_equal(c.key_dispatches, 4);
    assert_int_equal(c.key_moved, 0);
    assert_true(c.key_waits >= 2);
    s_check_accounting();
}

/* Events without a key, in a keyed stage, go to any free slot. */
static void
test_engine_keyed_stage_serves_unkeyed_events_anywhere(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine(s_keyed_workflow(2), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    uint64_t ka = s_key_of("A", routes, 2);
    assert_int_equal(s_event_key(1, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_event_key(2, ET_KEY_NONE, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 1, 0, 0);
    s_expect_task(1, "B", 2, 0, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).key_dispatches, 1);
    s_check_accounting();
}

/* An owner that leaves (BYE) gives its keys to the others at once: what
 * waited for it goes to the key's new owner, counted as a key moved. */
static void
test_engine_keyed_owner_leaves_keys_move(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine(s_keyed_workflow(2), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    uint64_t ka = s_key_of("A", routes, 2);
    assert_int_equal(s_event_key(1, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_event_key(2, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_fx.n_tasks, 1);
    et_engine_worker_bye(s_fx.engine, s_worker("A", T0 + 1), T0 + 1);
    assert_int_equal(s_fx.n_tasks, 2);
    s_expect_task(1, "B", 2, 0, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).key_moved, 1);
    // A's last result still counts; then A is gone.
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(s_result("B", 2, 0, 0, ET_STATUS_OK, T0 + 3), 0);
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 2);
    s_check_accounting();
}

/* A new instance takes the keys it now wins: the next event of such a key
 * goes to it, not to the instance that served the key so far. */
static void
test_engine_keyed_joiner_takes_its_keys(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine(s_keyed_workflow(2), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    uint64_t kb = s_key_of("B", routes, 2);
    assert_int_equal(s_event_key(1, kb, T0), ET_REASON_NONE);
    assert_int_equal(s_event_key(2, kb, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 1, 0, 0); /* the only instance owns every key */
    s_ready("B", "a", 1, T0 + 1);
    s_expect_task(1, "B", 2, 0, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).key_moved, 1);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(s_result("B", 2, 0, 0, ET_STATUS_OK, T0 + 3), 0);
    s_check_accounting();
}

/* A retry after its owner was lost goes to the key's new owner, and so do
 * the key's later events. */
static void
test_engine_keyed_retry_goes_to_the_new_owner(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine(s_keyed_workflow(2), 100, 1 << 20);
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    uint64_t ka = s_key_of("A", routes, 2);
    assert_int_equal(s_event_key(1, ka, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 1, 0, 0);
    assert_non_null(s_worker("B", T0 + 2 * S_SEC));
    et_engine_expire(s_fx.engine, T0 + 3 * S_SEC); /* A is lost */
    assert_int_equal(s_count(ET_RECORD_RETRY, ET_REASON_WORKER_LOST), 1);
    s_expect_task(1, "B", 1, 0, 1);
    assert_int_equal(s_event_key(2, ka, T0 + 3 * S_SEC), ET_REASON_NONE);
    assert_int_equal(s_result("B", 1, 0, 1, ET_STATUS_OK, T0 + 4 * S_SEC), 0);
    s_expect_task(2, "B", 2, 0, 0);
    assert_int_equal(s_result("B", 2, 0, 0, ET_STATUS_OK, T0 + 5 * S_SEC), 0);
    assert_int_equal(et_engine_counters(s_fx.engine).key_moved, 1);
    s_check_accounting();
}

/* ---- key state handover ---------------------------------------------------
 */

/* What the handover callbacks were asked, in order: "GET A", "PUT B 3"
 * (route and state bytes), "BYE A"; and the task count at each. */
typedef struct {
    char calls[16][32];
    size_t tasks_at[16];
    size_t n;
    unsigned char last_put[8];
} s_handover_log_t;

static s_handover_log_t s_hl;

static void
s_hl_add(const et_worker_rec_t *worker, const char *what, size_t size,
         int with_size)
{
    assert_true(s_hl.n < 16);
    if (with_size)
        snprintf(s_hl.calls[s_hl.n], sizeof s_hl.calls[0], "%s %.*s %zu", what,
                 (int)worker->route_len, (const char *)worker->route, size);
    else
        snprintf(s_hl.calls[s_hl.n], sizeof s_hl.calls[0], "%s %.*s", what,
                 (int)worker->route_len, (const char *)worker->route);
    s_hl.tasks_at[s_hl.n++] = s_fx.n_tasks;
}

static int
s_state_get(void *arg, const et_worker_rec_t *worker, uint64_t key)
{
    (void)arg;
    (void)key;
    s_hl_add(worker, "GET", 0, 0);
    return 0;
}

static int
s_state_put(void *arg, const et_worker_rec_t *worker, uint64_t key,
            const void *state, size_t size)
{
    (void)arg;
    (void)key;
    s_hl_add(worker, "PUT", size, 1);
    if (size > 0)
        memcpy(s_hl.last_put, state, size < 8 ? size : 8);
    return 0;
}

static void
s_bye(void *arg, const et_worker_rec_t *worker)
{
    (void)arg;
    s_hl_add(worker, "BYE", 0, 0);
}

/* An engine for a keyed workflow that hands key states over. */
static et_engine_t *
s_engine_handover(void)
{
    memset(&s_hl, 0, sizeof s_hl);
    et_engine_config_t cfg = {.workflow = s_keyed_workflow(2),
                              .queue_cap = 100,
                              .max_payload = 4096,
                              .memory_cap = 1 << 20,
                              .worker_timeout_ns = 3 * S_SEC};
    et_engine_io_t io = {.send_task = s_send_task,
                         .send_state_get = s_state_get,
                         .send_state_put = s_state_put,
                         .send_bye = s_bye,
                         .record = s_record,
                         .arg = &s_fx};
    s_fx.engine = et_engine_new(&cfg, &io);
    assert_non_null(s_fx.engine);
    return s_fx.engine;
}

/* A joiner that wins a key gets its next event only once the old owner
 * has finished the key's events in flight and given up its state, and
 * that state reaches the joiner before the event. */
static void
test_engine_handover_joiner_gets_the_state_before_the_event(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine_handover();
    s_ready("A", "a", 1, T0);
    uint64_t kb = s_key_of("B", routes, 2);
    assert_int_equal(s_event_key(1, kb, T0), ET_REASON_NONE);
    s_expect_task(0, "A", 1, 0, 0);
    s_ready("B", "a", 1, T0 + 1);
    assert_int_equal(s_event_key(2, kb, T0 + 1), ET_REASON_NONE);
    // Event 1 still runs on A: nothing is asked yet, and 2 waits.
    assert_int_equal(s_hl.n, 0);
    assert_int_equal(s_fx.n_tasks, 1);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(s_hl.n, 1);
    assert_string_equal(s_hl.calls[0], "GET A");
    assert_int_equal(s_fx.n_tasks, 1);
    // Another key's event is not held up meanwhile.
    uint64_t ka = s_key_of("A", routes, 2);
    assert_int_equal(s_event_key(3, ka, T0 + 2), ET_REASON_NONE);
    s_expect_task(1, "A", 3, 0, 0);
    et_worker_rec_t *a = s_worker("A", T0 + 3);
    // A state nobody asked for (from B, or for another key) is refused.
    errno = 0;
    assert_int_equal(et_engine_state(s_fx.engine, s_worker("B", T0 + 3), kb,
                                     "xyz", 3, T0 + 3),
                     -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(et_engine_state(s_fx.engine, a, ka, "xyz", 3, T0 + 3), -1);
    assert_int_equal(et_engine_state(s_fx.engine, a, kb, "xyz", 3, T0 + 3), 0);
    assert_int_equal(s_hl.n, 2);
    assert_string_equal(s_hl.calls[1], "PUT B 3");
    assert_memory_equal(s_hl.last_put, "xyz", 3);
    assert_int_equal(s_hl.tasks_at[1], 2); /* before event 2's TASK */
    s_expect_task(2, "B", 2, 0, 0);
    // The key stays with B now: no more handover for its next event.
    assert_int_equal(s_result("B", 2, 0, 0, ET_STATUS_OK, T0 + 4), 0);
    assert_int_equal(s_event_key(4, kb, T0 + 4), ET_REASON_NONE);
    s_expect_task(3, "B", 4, 0, 0);
    assert_int_equal(s_hl.n, 2);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.key_moved, 1);
    assert_int_equal(c.key_handovers, 1);
    assert_int_equal(c.key_state_lost, 0);
    assert_true(c.key_state_waits >= 1);
    assert_int_equal(s_result("A", 3, 0, 0, ET_STATUS_OK, T0 + 5), 0);
    assert_int_equal(s_result("B", 4, 0, 0, ET_STATUS_OK, T0 + 5), 0);
    s_check_accounting();
}

/* An instance that says BYE hands every key it holds over before its BYE
 * is answered and it is forgotten; the key's next event then goes, with
 * the state, to the key's new owner. */
static void
test_engine_handover_leaver_hands_its_keys_over_before_bye(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine_handover();
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    uint64_t ka = s_key_of("A", routes, 2);
    assert_int_equal(s_event_key(1, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    assert_int_equal(
        et_engine_worker_bye(s_fx.engine, s_worker("A", T0 + 2), T0 + 2), 1);
    assert_int_equal(s_hl.n, 1);
    assert_string_equal(s_hl.calls[0], "GET A");
    assert_int_equal(et_engine_worker_count(s_fx.engine), 2); /* waits */
    assert_int_equal(s_event_key(2, ka, T0 + 2), ET_REASON_NONE);
    assert_int_equal(s_fx.n_tasks, 1); /* 2 waits for the state */
    assert_int_equal(et_engine_state(s_fx.engine, s_worker("A", T0 + 3), ka,
                                     "st", 2, T0 + 3),
                     0);
    assert_string_equal(s_hl.calls[1], "BYE A");
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
    assert_string_equal(s_hl.calls[2], "PUT B 2");
    s_expect_task(1, "B", 2, 0, 0);
    assert_int_equal(s_result("B", 2, 0, 0, ET_STATUS_OK, T0 + 4), 0);
    // An instance that holds no key is answered at once (by the caller).
    assert_int_equal(
        et_engine_worker_bye(s_fx.engine, s_worker("B", T0 + 5), T0 + 5), 1);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.key_handovers, 1);
    assert_int_equal(c.key_state_lost, 0);
    s_check_accounting();
}

/* A leaver with an event of its key still running is asked for the state
 * only after that event's result. */
static void
test_engine_handover_leaver_gives_the_state_after_its_last_result(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine_handover();
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    uint64_t ka = s_key_of("A", routes, 2);
    assert_int_equal(s_event_key(1, ka, T0), ET_REASON_NONE);
    assert_int_equal(
        et_engine_worker_bye(s_fx.engine, s_worker("A", T0 + 1), T0 + 1), 1);
    assert_int_equal(s_hl.n, 0);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 2), 0);
    assert_int_equal(s_hl.n, 1);
    assert_string_equal(s_hl.calls[0], "GET A");
    assert_int_equal(et_engine_worker_count(s_fx.engine), 2);
    assert_int_equal(et_engine_state(s_fx.engine, s_worker("A", T0 + 3), ka,
                                     NULL, 0, T0 + 3),
                     0);
    assert_string_equal(s_hl.calls[1], "BYE A");
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
    // An empty state is not counted as handed over.
    assert_int_equal(et_engine_counters(s_fx.engine).key_handovers, 0);
    s_check_accounting();
}

/* A holder that is lost takes the key's state with it: the new owner is
 * told to start the key afresh (an empty STATE_PUT) and the loss is
 * counted. */
static void
test_engine_handover_lost_holder_counts_the_state_lost(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine_handover();
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    uint64_t ka = s_key_of("A", routes, 2);
    assert_int_equal(s_event_key(1, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    assert_non_null(s_worker("B", T0 + 3 * S_SEC));
    et_engine_expire(s_fx.engine, T0 + 3 * S_SEC + 2); /* A is lost */
    assert_int_equal(et_engine_worker_count(s_fx.engine), 1);
    assert_int_equal(s_event_key(2, ka, T0 + 3 * S_SEC + 2), ET_REASON_NONE);
    assert_int_equal(s_hl.n, 1);
    assert_string_equal(s_hl.calls[0], "PUT B 0");
    s_expect_task(1, "B", 2, 0, 0);
    et_engine_counters_t c = et_engine_counters(s_fx.engine);
    assert_int_equal(c.key_state_lost, 1);
    assert_int_equal(c.key_handovers, 0);
    s_check_accounting();
}

/* A holder that never answers STATE_GET holds its key up for at most the
 * worker timeout: then the state counts as lost and the event goes on. */
static void
test_engine_handover_unanswered_request_times_out(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine_handover();
    s_ready("A", "a", 1, T0);
    uint64_t kb = s_key_of("B", routes, 2);
    assert_int_equal(s_event_key(1, kb, T0), ET_REASON_NONE);
    assert_int_equal(s_result("A", 1, 0, 0, ET_STATUS_OK, T0 + 1), 0);
    s_ready("B", "a", 1, T0 + 2);
    assert_int_equal(s_event_key(2, kb, T0 + 2), ET_REASON_NONE);
    assert_string_equal(s_hl.calls[0], "GET A");
    assert_int_equal(s_fx.n_tasks, 1);
    s_heard_all(T0 + 2 * S_SEC);
    et_engine_expire(s_fx.engine, T0 + 2 * S_SEC);
    assert_int_equal(s_fx.n_tasks, 1); /* still waiting */
    s_heard_all(T0 + 4 * S_SEC);
    et_engine_expire(s_fx.engine, T0 + 4 * S_SEC);
    assert_string_equal(s_hl.calls[1], "PUT B 0");
    s_expect_task(1, "B", 2, 0, 0);
    assert_int_equal(et_engine_counters(s_fx.engine).key_state_lost, 1);
    // Its late answer is refused: the key has moved on.
    assert_int_equal(et_engine_state(s_fx.engine, s_worker("A", T0 + 4 * S_SEC),
                                     kb, "x", 1, T0 + 4 * S_SEC),
                     -1);
    s_check_accounting();
}

/* With batches, each owner gets its keys' events in one TASKS, in queue
 * order, even when the keys are interleaved in the queue. */
static void
test_engine_keyed_batches_carry_one_owners_events(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine_batch(s_keyed_workflow(0), 100, 64, 4096);
    s_ready("A", "a", 4, T0);
    s_ready("B", "a", 4, T0);
    uint64_t ka = s_key_of("A", routes, 2), kb = s_key_of("B", routes, 2);
    et_engine_hold(s_fx.engine);
    for (uint64_t id = 1; id <= 8; id++)
        assert_int_equal(s_event_key(id, id % 2 ? ka : kb, T0), ET_REASON_NONE);
    et_engine_release(s_fx.engine, T0);
    assert_int_equal(s_fx.n_messages, 2);
    assert_int_equal(s_fx.batch_sizes[0], 4);
    assert_int_equal(s_fx.batch_sizes[1], 4);
    for (size_t i = 0; i < 8; i++) {
        const s_task_t *t = &s_fx.tasks[i];
        assert_string_equal(t->route, t->event_id % 2 ? "A" : "B");
    }
    s_expect_task(0, "A", 1, 0, 0);
    s_expect_task(3, "A", 7, 0, 0);
    s_expect_task(4, "B", 2, 0, 0);
    s_expect_task(7, "B", 8, 0, 0);
    assert_int_equal(et_engine_queued(s_fx.engine, 0), 0);
    s_check_accounting();
}

/* The scan for a free owner is bounded: one pass looks at no more than
 * ET_ENGINE_KEY_SCAN_MAX queued jobs, however many wait for a busy one. */
static void
test_engine_keyed_scan_is_bounded(void **state)
{
    (void)state;
    static const char *const routes[] = {"A", "B"};
    s_engine(s_keyed_workflow(0), 4 * ET_ENGINE_KEY_SCAN_MAX, 1 << 30);
    s_ready("A", "a", 1, T0);
    s_ready("B", "a", 1, T0);
    uint64_t ka = s_key_of("A", routes, 2), kb = s_key_of("B", routes, 2);
    uint64_t id = 1;
    for (; id <= 2 * ET_ENGINE_KEY_SCAN_MAX; id++)
        assert_int_equal(s_event_key(id, ka, T0), ET_REASON_NONE);
    assert_int_equal(s_event_key(id, kb, T0), ET_REASON_NONE);
    // B's event is not served by this admission: it is beyond the scan.
    s_expect_task(0, "A", 1, 0, 0);
    uint64_t scanned = et_engine_counters(s_fx.engine).key_scanned;
    et_engine_expire(s_fx.engine, T0 + 1);
    uint64_t pass = et_engine_counters(s_fx.engine).key_scanned - scanned;
    assert_true(pass <= ET_ENGINE_KEY_SCAN_MAX);
    assert_int_equal(s_fx.n_tasks, 1);
    s_check_accounting();
}

/* Two keyed stages of different functions: each stage's owner is chosen
 * among that function's instances (an owner remembered for the first
 * stage is not reused for the second). */
static void
test_engine_keyed_stages_choose_owners_per_function(void **state)
{
    (void)state;
    static const char *const routes_a[] = {"A1", "A2"};
    s_workflow(2, 10 * S_SEC, "p", "a", NULL);
    snprintf(s_fx.wf.stages[0].key, sizeof s_fx.wf.stages[0].key, "series");
    snprintf(s_fx.wf.stages[1].key, sizeof s_fx.wf.stages[1].key, "series");
    s_engine(&s_fx.wf, 100, 1 << 20);
    s_ready("P1", "p", 1, T0);
    s_ready("P2", "p", 1, T0);
    s_ready("A1", "a", 1, T0);
    s_ready("A2", "a", 1, T0);
    for (int owner = 0; owner < 2; owner++) {
        uint64_t key = s_key_of(routes_a[owner], routes_a, 2);
        uint64_t id = 10 + (uint64_t)owner;
        size_t first = s_fx.n_tasks;
        assert_int_equal(s_event_key(id, key, T0), ET_REASON_NONE);
        assert_int_equal(s_fx.n_tasks, first + 1);
        const char *p = s_fx.tasks[first].route;
        assert_true(p[0] == 'P');
        assert_int_equal(s_result(p, id, 0, 0, ET_STATUS_OK, T0 + 1), 0);
        s_expect_task(first + 1, routes_a[owner], id, 1, 0);
        assert_int_equal(
            s_result(routes_a[owner], id, 1, 0, ET_STATUS_OK, T0 + 2), 0);
    }
    assert_int_equal(et_engine_counters(s_fx.engine).completed, 2);
    assert_int_equal(et_engine_counters(s_fx.engine).key_moved, 0);
    s_check_accounting();
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_OFF);
    const struct CMUnitTest tests[] = {
#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
        S_TEST(test_engine_new_rejects_bad_arguments),
        S_TEST(test_engine_per_stage_routes_each_event_to_its_stage),
        S_TEST(test_engine_chain_refuses_a_route),
        S_TEST(test_engine_dispatches_fifo_within_a_function),
        S_TEST(test_engine_dispatches_to_least_recently_used_slot),
        S_TEST(test_engine_retry_goes_to_the_head_of_the_queue),
        S_TEST(test_engine_stage_records_hold_and_residence_across_retries),
        S_TEST(test_engine_timeout_retries_then_fails_with_reason_timeout),
        S_TEST(test_engine_stale_result_frees_the_held_slot),
        S_TEST(test_engine_forgotten_worker_registers_again),
        S_TEST(test_engine_worker_loss_retries_its_in_flight_jobs),
        S_TEST(test_engine_drain_finishes_admitted_work_and_fails_the_rest),
        S_TEST(test_engine_rejects_when_the_queue_is_full),
        S_TEST(test_engine_counts_events_refused_at_their_producer),
        S_TEST(test_engine_pause_follows_the_drain_rate),
        S_TEST(test_engine_admit_rate_follows_the_drain_rate),
        S_TEST(test_engine_rejects_beyond_the_memory_cap),
        S_TEST(test_engine_flags_events_cold_without_an_instance),
        S_TEST(
            test_engine_counts_one_cold_start_per_start_and_the_rest_as_waits),
        S_TEST(
            test_engine_flags_the_backlog_cold_when_the_last_instance_leaves),
        S_TEST(test_engine_stage_output_is_the_next_stage_input),
        S_TEST(test_engine_function_serving_two_stages_shares_one_queue),
        S_TEST(
            test_engine_in_flight_insert_failure_sends_nothing_and_keeps_the_slot),
        S_TEST(test_engine_in_flight_insert_failure_needs_no_requeue),
        S_TEST(test_engine_send_failure_needs_no_requeue),
        S_TEST(test_engine_send_without_memory_keeps_the_worker),
        S_TEST(test_engine_send_failure_requeues_and_forgets_the_worker),
        S_TEST(
            test_engine_failed_requeue_fails_the_event_without_a_retry_record),
        S_TEST(test_engine_failed_next_stage_push_fails_the_event),
        S_TEST(test_engine_admission_without_memory_rejects_and_counts),
        S_TEST(test_engine_ready_for_an_unknown_function_is_refused),
        S_TEST(test_engine_stats_integrate_slot_time_and_count_arrivals),
        S_TEST(test_engine_counts_starting_workers_until_ready_bye_or_timeout),
        S_TEST(test_engine_response_time_and_rejections_per_function),
        S_TEST(test_engine_batch_fills_a_workers_free_slots_in_one_message),
        S_TEST(test_engine_batch_is_bounded_by_count_and_bytes),
        S_TEST(
            test_engine_batch_in_flight_on_a_lost_worker_is_retried_task_by_task),
        S_TEST(test_engine_batch_tasks_time_out_one_by_one),
        S_TEST(test_engine_results_batch_settles_each_and_refills_at_once),
        S_TEST(test_engine_hold_never_refuses_what_a_free_slot_takes),
        S_TEST(test_engine_batch_send_failures_keep_every_job_queued),
        S_TEST(test_engine_keyed_owner_busy_other_keys_still_served),
        S_TEST(test_engine_keyed_stage_serves_unkeyed_events_anywhere),
        S_TEST(test_engine_keyed_owner_leaves_keys_move),
        S_TEST(test_engine_keyed_joiner_takes_its_keys),
        S_TEST(test_engine_handover_joiner_gets_the_state_before_the_event),
        S_TEST(test_engine_handover_leaver_hands_its_keys_over_before_bye),
        S_TEST(
            test_engine_handover_leaver_gives_the_state_after_its_last_result),
        S_TEST(test_engine_handover_lost_holder_counts_the_state_lost),
        S_TEST(test_engine_handover_unanswered_request_times_out),
        S_TEST(test_engine_keyed_retry_goes_to_the_new_owner),
        S_TEST(test_engine_keyed_batches_carry_one_owners_events),
        S_TEST(test_engine_keyed_scan_is_bounded),
        S_TEST(test_engine_keyed_stages_choose_owners_per_function),
#undef S_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
