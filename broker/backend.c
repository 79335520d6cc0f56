/* The broker's backend: what workers send (READY, RESULT, BYE, HEARTBEAT,
 * TIME_REQ, CLOCK) and what it sends them (TASK, BYE, HEARTBEAT, DRAIN,
 * REGISTER, TIME_REP). Which worker gets which job is the engine's decision;
 * this file validates, decodes and sends. */
#include "broker/broker_internal.h"

#include "common/log.h"
#include "common/pathtrace.h"
#include "common/zsock.h"

#include <errno.h>
#include <string.h>

int
et_broker_send_task(void *arg, const et_worker_rec_t *worker, et_job_t *job)
{
    et_broker_t *self = arg;
    et_task_t task = {.event_id = job->event_id,
                      .stage = job->stage,
                      .attempt = job->attempt,
                      .intended_ns = job->intended_ns,
                      .label = job->label};
    /* The job keeps its payload for a retry; the copy shares the buffer
     * (ZeroMQ reference-counts large messages). */
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    msgpack_sbuffer_clear(&self->scratch);
    self->backend_sends++;
    et_path_mark(ET_PATH_BROKER_TASK_SENDING);
    if (zmq_msg_copy(&copy, &job->payload) != 0 ||
        et_codec_encode_task(&self->scratch, &task) != 0 ||
        et_zsock_send_to(self->backend, worker->route, worker->route_len,
                         ET_MSG_TASK, &self->scratch, &copy,
                         ZMQ_DONTWAIT) != 0) {
        int err = errno;
        zmq_msg_close(&copy);
        errno = err;
        return -1;
    }
    et_path_mark(ET_PATH_BROKER_TASK_SENT);
    zmq_msg_close(&copy);
    self->task_messages++;
    self->tasks_sent++;
    return 0;
}

int
et_broker_send_tasks(void *arg, const et_worker_rec_t *worker,
                     et_job_t *const *jobs, size_t count)
{
    et_broker_t *self = arg;
    if (count == 0 || count > ET_BATCH_MAX) {
        errno = EINVAL;
        return -1;
    }
    et_task_t tasks[ET_BATCH_MAX];
    zmq_msg_t copies[ET_BATCH_MAX];
    size_t copied = 0;
    int rc = 0;
    for (; copied < count; copied++) {
        const et_job_t *job = jobs[copied];
        tasks[copied] = (et_task_t){.event_id = job->event_id,
                                    .stage = job->stage,
                                    .attempt = job->attempt,
                                    .intended_ns = job->intended_ns,
                                    .label = job->label};
        zmq_msg_init(&copies[copied]);
        if (zmq_msg_copy(&copies[copied], (zmq_msg_t *)&job->payload) != 0) {
            rc = -1;
            copied++; /* initialised: closed below */
            break;
        }
    }
    msgpack_sbuffer_clear(&self->scratch);
    self->backend_sends++;
    if (rc == 0 &&
        (et_codec_encode_tasks(&self->scratch, tasks, count) != 0 ||
         et_zsock_send_parts(self->backend, worker->route, worker->route_len,
                             ET_MSG_TASKS, &self->scratch, copies, count,
                             ZMQ_DONTWAIT) != 0))
        rc = -1;
    int err = errno;
    for (size_t i = 0; i < copied; i++)
        zmq_msg_close(&copies[i]);
    if (rc == 0) {
        self->task_messages++;
        self->tasks_sent += count;
    }
    errno = err;
    return rc;
}

int
et_broker_send_state_get(void *arg, const et_worker_rec_t *worker, uint64_t key)
{
    et_broker_t *self = arg;
    et_state_msg_t msg = {.key = key};
    msgpack_sbuffer_clear(&self->scratch);
    if (et_codec_encode_state(&self->scratch, &msg) != 0)
        return -1;
    self->backend_sends++;
    return et_zsock_send_to(self->backend, worker->route, worker->route_len,
                            ET_MSG_STATE_GET, &self->scratch, NULL,
                            ZMQ_DONTWAIT);
}

int
et_broker_send_state_put(void *arg, const et_worker_rec_t *worker, uint64_t key,
                         const void *state, size_t size)
{
    et_broker_t *self = arg;
    et_state_msg_t msg = {.key = key};
    zmq_msg_t bytes;
    if (zmq_msg_init_size(&bytes, size) != 0)
        return -1;
    if (size > 0)
        memcpy(zmq_msg_data(&bytes), state, size);
    msgpack_sbuffer_clear(&self->scratch);
    int rc = -1;
    self->backend_sends++;
    if (et_codec_encode_state(&self->scratch, &msg) == 0)
        rc = et_zsock_send_to(self->backend, worker->route, worker->route_len,
                              ET_MSG_STATE_PUT, &self->scratch, &bytes,
                              ZMQ_DONTWAIT);
    int err = errno;
    zmq_msg_close(&bytes);
    errno = err;
    return rc;
}

void
et_broker_send_bye(void *arg, const et_worker_rec_t *worker)
{
    et_broker_t *self = arg;
    self->backend_sends++;
    if (et_zsock_send_to(self->backend, worker->route, worker->route_len,
                         ET_MSG_BYE, NULL, NULL, ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot answer BYE: %s", zmq_strerror(errno));
    else
        ET_LOG_INFO("worker %s handed its keys over: BYE answered",
                    worker->instance);
}

void
et_broker_tell_workers(et_broker_t *self, et_msg_type_t type)
{
    self->backend_sends++;
    for (size_t i = 0; i < et_engine_worker_count(self->engine); i++) {
        et_worker_rec_t *w = et_engine_worker_at(self->engine, i);
        if (et_zsock_send_to(self->backend, w->route, w->route_len, type, NULL,
                             NULL, ZMQ_DONTWAIT) != 0)
            ET_LOG_DEBUG("%s to %s not sent: %s", et_codec_type_name(type),
                         w->instance, zmq_strerror(errno));
    }
}

/* The body of READY or STARTING ([route, header, body]) into *out. 0, or
 * -1 when malformed (counted and logged as 'what'). */
static int
s_decode_ready(et_broker_t *self, zmq_msg_t *frames, int count,
               const char *what, et_ready_t *out)
{
    if (count == 3 && et_codec_decode_ready(zmq_msg_data(&frames[2]),
                                            zmq_msg_size(&frames[2]), out) == 0)
        return 0;
    self->bad_messages++;
    ET_LOG_WARN_LIMITED("bad %s from a worker: dropped", what);
    return -1;
}

static void
s_on_ready(et_broker_t *self, zmq_msg_t *frames, int count, uint64_t now)
{
    et_ready_t ready;
    if (s_decode_ready(self, frames, count, "READY", &ready) != 0)
        return;
    if (et_engine_worker_ready(self->engine, zmq_msg_data(&frames[0]),
                               zmq_msg_size(&frames[0]), &ready, now) == 0) {
        ET_LOG_INFO("worker %s ready: %s, %u slot(s), cold start %.1f ms",
                    ready.instance, ready.function, ready.slots,
                    (double)ready.cold_start_ns / 1e6);
        return;
    }
    self->bad_messages++;
    if (errno != ENOENT) {
        ET_LOG_WARN("cannot register worker %s: %s", ready.instance,
                    strerror(errno));
        return;
    }
    ET_LOG_WARN("worker %s serves '%s', which workflow %s does not use: "
                "told to drain",
                ready.instance, ready.function, self->cfg.workflow.name);
    if (et_zsock_send(self->backend, &frames[0], ET_MSG_DRAIN, NULL, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot send DRAIN: %s", zmq_strerror(errno));
}

/* STARTING: a worker connected and began its init; it counts as a starting
 * replica until its READY. One for a function the workflow does not use is
 * left to its READY, which is told to drain. */
static void
s_on_starting(et_broker_t *self, zmq_msg_t *frames, int count, uint64_t now)
{
    et_ready_t hello;
    if (s_decode_ready(self, frames, count, "STARTING", &hello) != 0)
        return;
    if (et_engine_worker_starting(self->engine, zmq_msg_data(&frames[0]),
                                  zmq_msg_size(&frames[0]), &hello, now) == 0) {
        ET_LOG_DEBUG("worker %s starting: %s", hello.instance, hello.function);
        return;
    }
    if (errno == ENOENT)
        return;
    if (errno == EEXIST || errno == EINVAL)
        self->bad_messages++;
    ET_LOG_WARN_LIMITED("cannot count worker %s as starting: %s",
                        hello.instance, strerror(errno));
}

static int
s_on_result(et_broker_t *self, et_worker_rec_t *worker, zmq_msg_t *frames,
            int count, uint64_t now)
{
    et_result_t result;
    if (count != 4 ||
        et_codec_decode_result(zmq_msg_data(&frames[2]),
                               zmq_msg_size(&frames[2]), &result) != 0)
        return -1;
    /* A stale result (-1, ESTALE) is the engine's to count: not bad. */
    (void)et_engine_result(self->engine, worker, &result, &frames[3], now);
    self->result_messages++;
    self->results_taken++;
    return 0;
}

/* RESULTS: [route, header, body, output x N]. The whole batch is checked
 * (body, frame count, bytes) before any result of it is used. 0, or -1
 * when malformed. */
static int
s_decode_results(zmq_msg_t *frames, int count, et_result_t *results, size_t *n)
{
    if (count < 4 ||
        et_codec_decode_results(zmq_msg_data(&frames[2]),
                                zmq_msg_size(&frames[2]), results, ET_BATCH_MAX,
                                n) != 0 ||
        (size_t)count != 3 + *n)
        return -1;
    uint64_t bytes = 0;
    for (size_t i = 0; i < *n; i++)
        bytes += zmq_msg_size(&frames[3 + i]);
    return et_codec_batch_fits(*n, bytes) ? 0 : -1;
}

static int
s_on_results(et_broker_t *self, et_worker_rec_t *worker, zmq_msg_t *frames,
             int count, uint64_t now)
{
    et_result_t results[ET_BATCH_MAX];
    size_t n;
    if (s_decode_results(frames, count, results, &n) != 0)
        return -1;
    self->result_messages++;
    self->results_taken += n;
    if (worker) {
        et_engine_results(self->engine, worker, results, &frames[3], n, now);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        et_engine_result_unknown(self->engine, &results[i]);
    return 0;
}

/* A worker we do not know (forgotten after a silence, or one of a broker
 * before a restart) still heartbeats or answers: tell it to say READY
 * again, within the rate limit. */
static void
s_tell_register(et_broker_t *self, zmq_msg_t *route, uint64_t now)
{
    if (!et_strangers_answer(self->strangers, zmq_msg_data(route),
                             zmq_msg_size(route), now))
        return;
    ET_LOG_WARN_LIMITED("an unknown worker is heard from: told to register");
    if (et_zsock_send(self->backend, route, ET_MSG_REGISTER, NULL, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot send REGISTER: %s", zmq_strerror(errno));
}

/* A RESULT from a peer we do not know: the late answer of an attempt we
 * no longer know of (stale, not bad). 0, or -1 when malformed. */
static int
s_on_stranger_result(et_broker_t *self, zmq_msg_t *frames, int count,
                     uint64_t now)
{
    et_result_t result;
    if (count != 4 ||
        et_codec_decode_result(zmq_msg_data(&frames[2]),
                               zmq_msg_size(&frames[2]), &result) != 0)
        return -1;
    et_engine_result_unknown(self->engine, &result);
    s_tell_register(self, &frames[0], now);
    return 0;
}

/* Everything dispatched to the worker before this point is already in its
 * pipe ahead of the answer, so it can serve it all and then leave. A
 * worker that holds key states hands them over first: the engine answers
 * its BYE once they are in (et_broker_send_bye). */
static void
s_on_bye(et_broker_t *self, et_worker_rec_t *worker, zmq_msg_t *route,
         uint64_t now)
{
    if (!worker) {
        if (et_zsock_send(self->backend, route, ET_MSG_BYE, NULL, NULL,
                          ZMQ_DONTWAIT) != 0)
            ET_LOG_WARN_LIMITED("cannot answer BYE: %s", zmq_strerror(errno));
        /* Leaving before READY: no longer starting either. */
        et_engine_worker_left_starting(self->engine, zmq_msg_data(route),
                                       zmq_msg_size(route));
        return;
    }
    ET_LOG_INFO("worker %s leaving (%u in flight, %u key state(s) to hand "
                "over)",
                worker->instance, worker->busy, worker->keys_held);
    /* Answered before the engine may forget the worker and its route. */
    if (worker->keys_held == 0 &&
        et_zsock_send(self->backend, route, ET_MSG_BYE, NULL, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot answer BYE: %s", zmq_strerror(errno));
    et_engine_worker_bye(self->engine, worker, now);
}

/* STATE: [route, header, body, state], the answer to a STATE_GET. */
static int
s_on_state(et_broker_t *self, et_worker_rec_t *worker, zmq_msg_t *frames,
           int count, uint64_t now)
{
    et_state_msg_t msg;
    if (!worker || count != 4 || zmq_msg_size(&frames[3]) > ET_STATE_MAX ||
        et_codec_decode_state(zmq_msg_data(&frames[2]),
                              zmq_msg_size(&frames[2]), &msg) != 0)
        return -1;
    return et_engine_state(self->engine, worker, msg.key,
                           zmq_msg_data(&frames[3]), zmq_msg_size(&frames[3]),
                           now);
}

void
et_broker_on_backend(et_broker_t *self, zmq_msg_t *frames, int count)
{
    et_msg_type_t type;
    if (count < 2 ||
        et_codec_decode_header(zmq_msg_data(&frames[1]),
                               zmq_msg_size(&frames[1]), &type) != 0) {
        self->bad_messages++;
        ET_LOG_WARN_LIMITED("bad message on the backend: %s",
                            count < 2 ? "too few frames" : strerror(errno));
        return;
    }
    uint64_t now = et_clock_mono_ns();
    et_worker_rec_t *worker = et_engine_worker_heard(
        self->engine, zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), now);
    switch (type) {
    case ET_MSG_READY:
        if (worker) {
            /* A worker that lost sight of us says READY again; we still
             * know it, so it is just alive. */
            ET_LOG_DEBUG("READY again from %s", worker->instance);
            return;
        }
        s_on_ready(self, frames, count, now);
        return;
    case ET_MSG_STARTING:
        if (worker) {
            self->bad_messages++;
            ET_LOG_WARN_LIMITED("STARTING from %s, which is READY: dropped",
                                worker->instance);
            return;
        }
        s_on_starting(self, frames, count, now);
        return;
    case ET_MSG_RESULT:
        et_path_mark_woke(ET_PATH_BROKER_WOKE_RESULT);
        et_path_mark(ET_PATH_BROKER_RESULT);
        if (!worker) {
            if (s_on_stranger_result(self, frames, count, now) != 0)
                break;
            return;
        }
        if (s_on_result(self, worker, frames, count, now) != 0) {
            self->bad_messages++;
            ET_LOG_WARN_LIMITED("bad RESULT from %s: dropped",
                                worker->instance);
        }
        return;
    case ET_MSG_RESULTS:
        if (s_on_results(self, worker, frames, count, now) != 0) {
            self->bad_messages++;
            ET_LOG_WARN_LIMITED("bad RESULTS from %s: dropped",
                                worker ? worker->instance
                                       : "an unknown worker");
            return;
        }
        if (!worker)
            s_tell_register(self, &frames[0], now);
        return;
    case ET_MSG_BYE:
        if (count != 2)
            break;
        s_on_bye(self, worker, &frames[0], now);
        return;
    case ET_MSG_STATE:
        if (s_on_state(self, worker, frames, count, now) != 0) {
            self->bad_messages++;
            ET_LOG_WARN_LIMITED("bad or unasked-for STATE from %s: dropped",
                                worker ? worker->instance
                                       : "an unknown worker");
        }
        return;
    case ET_MSG_HEARTBEAT:
        if (count != 2)
            break;
        if (!worker)
            s_tell_register(self, &frames[0], now);
        return;
    case ET_MSG_TIME_REQ:
        if (et_broker_answer_time(self, self->backend, frames, count) != 0)
            break;
        return;
    case ET_MSG_CLOCK:
        if (et_broker_forward_clock(self, frames, count,
                                    ET_CLOCK_ROLE_WORKER) != 0)
            break;
        return;
    default:
        break;
    }
    self->bad_messages++;
    ET_LOG_WARN_LIMITED("unexpected %s on the backend%s: dropped",
                        et_codec_type_name(type),
                        worker ? "" : " from an unknown worker");
}
