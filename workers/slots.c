/* The slot threads and the main thread's side of their inproc ROUTER.
 * Internal messages: a slot says hello with one empty frame once its
 * socket is connected; the main thread sends [route][et_task_t][payload]
 * and a slot answers [et_slot_reply_t][output]; an empty frame tells a
 * slot to stop. */
#include "workers/slots.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/zsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_ENDPOINT "inproc://slots"
#define S_SLOT_HWM 16
#define S_STOP_WAIT_NS (2 * ET_NS_PER_S)
/* Outputs up to this size are copied (the sbuffer is reused); larger ones
 * are handed to ZeroMQ without a copy. */
#define S_COPY_MAX (64 * 1024)

typedef struct {
    /* Set before the thread starts, read-only afterwards. */
    unsigned index;
    const et_slots_config_t *cfg;
    char route[16]; /* "slot-<index>", its inproc routing id */
    /* Main thread only. */
    pthread_t thread;
    int hello; /* its socket is connected: it may be given tasks */
    int busy;
} s_slot_t;

struct et_slots_t {
    const et_slots_config_t *cfg;
    void *router;
    s_slot_t slots[ET_SLOTS_MAX];
    unsigned n_started, n_hello, n_busy;
};

/* ---- the slot threads ---------------------------------------------------- */

static void
s_free_output(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Run one task and turn its output into a message (empty when the output
 * is larger than max_payload). */
static void
s_serve(const s_slot_t *slot, et_rng_t *rng, const et_task_t *task,
        zmq_msg_t *input, msgpack_sbuffer *sbuf, et_slot_reply_t *reply,
        zmq_msg_t *output)
{
    const et_slots_config_t *cfg = slot->cfg;
    msgpack_sbuffer_clear(sbuf);
    et_function_output_t out = {
        .output = sbuf, .outcome = ET_OUTCOME_NONE, .score = 0};
    uint64_t start = et_clock_mono_ns();
    int status =
        cfg->def->handle(cfg->fn_state, slot->index, zmq_msg_data(input),
                         zmq_msg_size(input), &out);
    if (cfg->io_delay) {
        /* The function's downstream call (a feature store, a database),
         * modelled as a wait: I/O time inside the service time. */
        uint64_t until =
            et_clock_mono_ns() + et_dist_sample_ns(cfg->io_delay, rng);
        while (et_clock_sleep_until_mono(until) != 0)
            ;
    }
    uint64_t end = et_clock_mono_ns();

    memset(reply, 0, sizeof *reply);
    reply->result = (et_result_t){
        .event_id = task->event_id,
        .stage = task->stage,
        .attempt = task->attempt,
        .service_ns = (int64_t)(end - start),
        .outcome = out.outcome,
        .score = out.score,
    };
    reply->status = status;
    reply->output_size = sbuf->size;

    size_t size = sbuf->size;
    if (size == 0 || size > cfg->max_payload) {
        zmq_msg_init(output);
    } else if (size <= S_COPY_MAX) {
        if (zmq_msg_init_size(output, size) == 0) {
            memcpy(zmq_msg_data(output), sbuf->data, size);
        } else {
            zmq_msg_init(output);
            reply->output_failed = 1;
        }
    } else {
        char *data = msgpack_sbuffer_release(sbuf);
        /* ZeroMQ frees the buffer when the last reference goes. */
        if (zmq_msg_init_data(output, data, size, s_free_output, NULL) != 0) {
            free(data);
            zmq_msg_init(output);
            reply->output_failed = 1;
        }
    }
}

/* A slot thread: say hello, then serve [task][payload] messages until an
 * empty one (stop) or ETERM. Signals are blocked here (the creator's
 * mask), so they always reach the main thread. */
static void *
s_slot_main(void *arg)
{
    s_slot_t *slot = arg;
    const et_slots_config_t *cfg = slot->cfg;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    /* Each slot draws its own modelled delays: seeded, independent. */
    et_rng_t rng;
    et_rng_seed(&rng, cfg->seed + 0x9e3779b97f4a7c15ULL * getpid() +
                          0xbf58476d1ce4e5b9ULL * (slot->index + 1));
    void *sock = et_zsock_new(cfg->ctx, ZMQ_DEALER, S_SLOT_HWM);
    if (!sock ||
        zmq_setsockopt(sock, ZMQ_ROUTING_ID, slot->route,
                       strlen(slot->route)) != 0 ||
        et_zsock_connect(sock, S_ENDPOINT) != 0 ||
        zmq_send(sock, "", 0, 0) != 0) {
        ET_LOG_ERROR("slot %u cannot start: %s", slot->index,
                     zmq_strerror(errno));
        goto done;
    }
    for (;;) {
        zmq_msg_t frames[2];
        int too_many;
        int n = et_zsock_recv(sock, frames, 2, &too_many, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* ETERM: the context is going away */
        }
        if (n != 2 || too_many ||
            zmq_msg_size(&frames[0]) != sizeof(et_task_t)) {
            if (!(n == 1 && zmq_msg_size(&frames[0]) == 0))
                ET_LOG_ERROR("slot %u: unexpected internal message",
                             slot->index);
            et_zsock_frames_close(frames, n);
            break;
        }
        et_task_t task;
        memcpy(&task, zmq_msg_data(&frames[0]), sizeof task);
        et_slot_reply_t reply;
        zmq_msg_t output;
        s_serve(slot, &rng, &task, &frames[1], &sbuf, &reply, &output);
        et_zsock_frames_close(frames, n);
        if (zmq_send(sock, &reply, sizeof reply, ZMQ_SNDMORE) < 0 ||
            zmq_msg_send(&output, sock, 0) < 0) {
            zmq_msg_close(&output);
            break;
        }
        zmq_msg_close(&output);
    }
done:
    et_zsock_close(&sock);
    msgpack_sbuffer_destroy(&sbuf);
    return NULL;
}

/* ---- the main thread's side ---------------------------------------------- */

et_slots_t *
et_slots_new(const et_slots_config_t *cfg)
{
    if (cfg->count == 0 || cfg->count > ET_SLOTS_MAX) {
        ET_LOG_ERROR("cannot run %u slots (1..%d)", cfg->count, ET_SLOTS_MAX);
        return NULL;
    }
    et_slots_t *self = calloc(1, sizeof *self);
    if (!self) {
        ET_LOG_ERROR("out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->router =
        et_zsock_new(cfg->ctx, ZMQ_ROUTER, 4 * S_SLOT_HWM * ET_SLOTS_MAX);
    if (!self->router) {
        ET_LOG_ERROR("cannot create the slots' socket: %s",
                     zmq_strerror(errno));
        goto fail;
    }
    if (et_zsock_bind(self->router, S_ENDPOINT) != 0)
        goto fail;
    for (unsigned i = 0; i < cfg->count; i++) {
        s_slot_t *slot = &self->slots[i];
        slot->index = i;
        slot->cfg = cfg;
        snprintf(slot->route, sizeof slot->route, "slot-%u", i);
        int rc = pthread_create(&slot->thread, NULL, s_slot_main, slot);
        if (rc != 0) {
            ET_LOG_ERROR("cannot start slot thread %u: %s", i, strerror(rc));
            goto fail;
        }
        self->n_started++;
    }
    return self;
fail:
    et_slots_destroy(&self);
    return NULL;
}

void *
et_slots_socket(et_slots_t *self)
{
    return self->router;
}

unsigned
et_slots_ready(const et_slots_t *self)
{
    return self->n_hello;
}

unsigned
et_slots_busy(const et_slots_t *self)
{
    return self->n_busy;
}

int
et_slots_dispatch(et_slots_t *self, const et_task_t *task, zmq_msg_t *payload)
{
    s_slot_t *slot = NULL;
    for (unsigned i = 0; i < self->n_started && !slot; i++)
        if (self->slots[i].hello && !self->slots[i].busy)
            slot = &self->slots[i];
    if (!slot) {
        errno = EBUSY;
        return -1;
    }
    if (zmq_send(self->router, slot->route, strlen(slot->route),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->router, task, sizeof *task, ZMQ_SNDMORE) < 0 ||
        zmq_msg_send(payload, self->router, 0) < 0)
        return -1;
    slot->busy = 1;
    self->n_busy++;
    return 0;
}

static s_slot_t *
s_slot_by_route(et_slots_t *self, zmq_msg_t *route)
{
    for (unsigned i = 0; i < self->n_started; i++) {
        size_t len = strlen(self->slots[i].route);
        if (zmq_msg_size(route) == len &&
            memcmp(zmq_msg_data(route), self->slots[i].route, len) == 0)
            return &self->slots[i];
    }
    return NULL;
}

int
et_slots_recv(et_slots_t *self, et_slot_reply_t *reply, zmq_msg_t *output,
              unsigned *index)
{
    zmq_msg_t frames[3];
    int too_many;
    int n = et_zsock_recv(self->router, frames, 3, &too_many, ZMQ_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            ET_LOG_ERROR("cannot receive from the slots: %s",
                         zmq_strerror(errno));
        if (errno == EINTR)
            errno = EAGAIN;
        return -1;
    }
    int rc = 0;
    s_slot_t *slot = s_slot_by_route(self, &frames[0]);
    if (too_many) {
        ET_LOG_ERROR("oversized internal message from a slot dropped");
    } else if (slot && n == 2 && zmq_msg_size(&frames[1]) == 0) {
        if (!slot->hello) {
            slot->hello = 1;
            self->n_hello++;
        }
    } else if (!slot || n != 3 ||
               zmq_msg_size(&frames[1]) != sizeof(et_slot_reply_t) ||
               !slot->busy) {
        ET_LOG_ERROR("unexpected internal message from a slot dropped");
    } else {
        memcpy(reply, zmq_msg_data(&frames[1]), sizeof *reply);
        zmq_msg_init(output);
        zmq_msg_move(output, &frames[2]);
        *index = slot->index;
        slot->busy = 0;
        self->n_busy--;
        rc = 1;
    }
    et_zsock_frames_close(frames, n);
    return rc;
}

void
et_slots_destroy(et_slots_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_slots_t *self = *self_p;
    /* A slot that has not said hello yet cannot be addressed; they are
     * local threads, so this wait is short unless one failed to start. */
    uint64_t give_up = et_clock_mono_ns() + S_STOP_WAIT_NS;
    while (self->router && self->n_hello < self->n_started &&
           et_clock_mono_ns() < give_up) {
        zmq_pollitem_t item = {.socket = self->router, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, 10);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0) {
            /* Results still arriving are dropped: the worker is leaving. */
            et_slot_reply_t reply;
            zmq_msg_t output;
            unsigned index;
            int got = et_slots_recv(self, &reply, &output, &index);
            if (got == 1)
                zmq_msg_close(&output);
            else if (got < 0 && errno != EAGAIN)
                break;
        }
    }
    int shutdown = 0;
    for (unsigned i = 0; i < self->n_started; i++) {
        s_slot_t *slot = &self->slots[i];
        if (!self->router || !slot->hello ||
            zmq_send(self->router, slot->route, strlen(slot->route),
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(self->router, "", 0, 0) < 0)
            shutdown = 1;
    }
    /* A slot we cannot reach is woken by ETERM instead. */
    if (shutdown)
        zmq_ctx_shutdown(self->cfg->ctx);
    for (unsigned i = 0; i < self->n_started; i++) {
        int rc = pthread_join(self->slots[i].thread, NULL);
        if (rc != 0)
            ET_LOG_ERROR("cannot join slot %u: %s", i, strerror(rc));
    }
    et_zsock_close(&self->router);
    free(self);
    *self_p = NULL;
}
