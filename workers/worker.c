/* Worker runtime: the main thread's socket loop (the broker, the collector,
 * the slots' results and the broker connection's monitor), registration
 * and leaving. The slot threads are workers/slots.c; the configuration is
 * workers/config.c. */
#include "workers/worker.h"

#include "common/clock.h"
#include "common/clockprobe.h"
#include "common/curve.h"
#include "common/pathtrace.h"
#include "common/rng.h"
#include "common/zsock.h"
#include "workers/slots.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert(ET_WORKER_SLOTS_MAX <= ET_SLOTS_MAX, "slots.c runs them all");

#define S_BROKER_HWM 1000
#define S_COLLECTOR_HWM 100
/* Where the broker socket's monitor publishes its connection events. */
#define S_MONITOR_ENDPOINT "inproc://broker-monitor"

/* Longest the main loop sleeps: bounds how late it notices the stop flag
 * in the rare case that a signal lands between its check and poll
 * (signals reach only the main thread, and interrupt its poll otherwise).
 * Not shorter: every idle worker wakes this often, and 500 of them woke
 * 5,000 times a second at 100 ms (bench/RESULTS.md, fan-out). */
#define S_POLL_MAX_MS 1000
/* READY is retried this often until the broker connection is up. */
#define S_READY_RETRY_MS 10
/* How long STARTING waits for the broker connection before the init goes
 * ahead without it (the broker then never sees this instance start). */
#define S_STARTING_WAIT_MS 1000
#define S_SLOT_START_TIMEOUT_NS (10 * ET_NS_PER_S)
#define S_FINAL_USAGE_TIMEOUT_NS (1 * ET_NS_PER_S)
/* Heartbeats to the broker, and how long its silence is tolerated before
 * we assume it lost us (its own timeout for us is 3 s by default). */
#define S_HEARTBEAT_NS (1 * ET_NS_PER_S)
#define S_BROKER_TIMEOUT_NS (5 * ET_NS_PER_S)
/* Messages handled per socket per pass, so neither side starves. */
#define S_BATCH 256

struct et_worker_t {
    et_worker_config_t cfg;
    const et_function_def_t *def;
    et_function_config_t fcfg; /* points into cfg */
    void *fn_state;
    int fn_ready;

    void *ctx;
    void *broker; /* DEALER to the broker's backend */
    /* The broker socket is shared with the slot threads, which answer a
     * lone task themselves (s_answer): every use of it after setup holds
     * 'broker_lock', and the main thread polls its ZMQ_FD instead of the
     * socket (zmq_poll would use the socket outside the lock). */
    pthread_mutex_t broker_lock;
    int broker_lock_made;
    int broker_fd;
    int answer_ok; /* slots may answer (written under broker_lock) */
    /* The main thread used the socket since it last saw it drained: its
     * ZMQ_FD may not signal a message already in (main thread only). */
    int broker_dirty;
    int monitor_fd;    /* the monitor's ZMQ_FD, polled as the broker's is */
    int monitor_dirty; /* not seen drained since the last poll */
    int slot_answered; /* a slot answered a task (main thread's view) */
    void *collector;   /* PUSH to the collector */
    void *monitor;     /* PAIR: the broker connection's events */
    et_curve_t *curve; /* NULL: no CURVE */
    et_slots_config_t slots_cfg;
    et_slots_t *slots;
    msgpack_sbuffer body;

    uint64_t spawned_mono_ns; /* cfg.spawned_at_ns on CLOCK_MONOTONIC */
    int64_t init_ns;
    int64_t cold_start_ns;
    int said_starting; /* STARTING went out: BYE even before READY */
    int ready;         /* READY went out */
    int reconnecting;  /* the broker connection broke after READY */
    int reregister;    /* say READY again once every slot is idle */
    uint64_t slots_deadline_ns;
    uint64_t broker_wait_warn_ns;

    int leaving;
    int bye_acked;
    uint64_t next_heartbeat_ns;
    uint64_t last_broker_ns; /* last message from the broker */
    int broker_silent;       /* silent past the timeout */
    uint64_t leave_deadline_ns;
    uint64_t next_usage_ns;
    /* Last TASK in, task done or READY out: the keep-alive clock for
     * --idle-timeout. */
    uint64_t last_active_ns;

    /* Usage: served counts tasks the function ran; errors counts tasks
     * answered ERROR, by the function or by the runtime. */
    int64_t busy_ns;
    uint64_t served;
    uint64_t errors;
    uint64_t bad_messages;
    uint64_t violations;
    uint64_t send_failures;
    /* TASK/TASKS messages taken and their tasks; RESULT/RESULTS messages
     * sent and their results (the batches' effect, in the last log). */
    uint64_t task_messages, tasks_taken;
    uint64_t result_messages, results_sent;
    /* The same for the tasks the slots answered themselves (each one
     * RESULT); under broker_lock. */
    struct {
        int64_t busy_ns;
        uint64_t served;
    } answered;
    /* Key states given to the broker (STATE_GET) and taken from it
     * (STATE_PUT), and those the function refused. */
    uint64_t states_out, states_in, states_refused;

    /* Probes of the broker's clock (started once READY went out: the broker
     * is there), reported to the collector; NULL with --clock-sync off. */
    et_clockprobe_t *probe;
    int probe_tried;
    char host[ET_NAME_MAX];
    int64_t spawned_at_ns; /* cfg.spawned_at_ns on the (skewed) clock */
};

#define S_BAD(w, ...)                                                          \
    do {                                                                       \
        (w)->bad_messages++;                                                   \
        ET_LOG_WARN_LIMITED(__VA_ARGS__);                                      \
    } while (0)

/* ---- the shared broker socket -------------------------------------------- */

static int
s_broker_send_parts(et_worker_t *w, et_msg_type_t type,
                    const msgpack_sbuffer *body, zmq_msg_t *payloads,
                    size_t count)
{
    w->broker_dirty = 1;
    pthread_mutex_lock(&w->broker_lock);
    int rc = count == 1 ? et_zsock_send(w->broker, NULL, type, body, payloads,
                                        ZMQ_DONTWAIT)
                        : et_zsock_send_parts(w->broker, NULL, 0, type, body,
                                              payloads, count, ZMQ_DONTWAIT);
    int saved = errno;
    pthread_mutex_unlock(&w->broker_lock);
    errno = saved;
    return rc;
}

static int
s_broker_send(et_worker_t *w, et_msg_type_t type, const msgpack_sbuffer *body,
              zmq_msg_t *payload)
{
    if (payload)
        return s_broker_send_parts(w, type, body, payload, 1);
    w->broker_dirty = 1;
    pthread_mutex_lock(&w->broker_lock);
    int rc = et_zsock_send(w->broker, NULL, type, body, NULL, ZMQ_DONTWAIT);
    int saved = errno;
    pthread_mutex_unlock(&w->broker_lock);
    errno = saved;
    return rc;
}

/* Whether a message waits on the broker socket. Its ZMQ_FD only signals
 * new activity, and any use of the socket may take that signal: so this
 * is asked before a poll that follows the main thread's own sends (a
 * slot that sends asks itself, and wakes the main thread). A receive
 * that found nothing leaves the signal armed: no need then. */
static int
s_broker_readable(et_worker_t *w)
{
    int events = 0;
    size_t len = sizeof events;
    pthread_mutex_lock(&w->broker_lock);
    int rc = zmq_getsockopt(w->broker, ZMQ_EVENTS, &events, &len);
    pthread_mutex_unlock(&w->broker_lock);
    return rc == 0 && (events & ZMQ_POLLIN);
}

/* ---- messages to the broker and the collector ---------------------------- */

static int64_t
s_since_spawn_ns(const et_worker_t *w, uint64_t mono_ns)
{
    return mono_ns > w->spawned_mono_ns
               ? (int64_t)(mono_ns - w->spawned_mono_ns)
               : 0;
}

static void s_totals(et_worker_t *w, int64_t *busy_ns, uint64_t *served,
                     uint64_t *answered);

static int
s_send_usage(et_worker_t *w, int final)
{
    int64_t busy_ns;
    uint64_t served, answered;
    s_totals(w, &busy_ns, &served, &answered);
    et_usage_t usage = {
        .pid = (uint32_t)getpid(),
        .slots = w->cfg.slots,
        .started_ns = w->spawned_at_ns,
        .cold_start_ns = w->ready ? w->cold_start_ns : 0,
        .init_ns = w->init_ns,
        .lifetime_ns = s_since_spawn_ns(w, et_clock_mono_ns()),
        .busy_ns = busy_ns,
        .cpu_ns = (int64_t)et_clock_cpu_ns(),
        .served = served,
        .errors = w->errors,
        .final = (uint8_t)(final ? 1 : 0),
    };
    snprintf(usage.function, sizeof usage.function, "%s", w->def->name);
    snprintf(usage.instance, sizeof usage.instance, "%s", w->cfg.instance);
    msgpack_sbuffer_clear(&w->body);
    if (et_codec_encode_usage(&w->body, &usage) != 0)
        return -1;
    uint64_t give_up = et_clock_mono_ns() + S_FINAL_USAGE_TIMEOUT_NS;
    for (;;) {
        if (et_zsock_send(w->collector, NULL, ET_MSG_USAGE, &w->body, NULL,
                          ZMQ_DONTWAIT) == 0)
            return 0;
        /* A periodic report may be skipped (the next one is cumulative);
         * the final one is worth waiting a little for. */
        if (!final || errno != EAGAIN || et_clock_mono_ns() >= give_up)
            break;
        usleep(10000);
    }
    w->send_failures++;
    if (final)
        ET_LOG_WARN("cannot send the final USAGE to %s: %s", w->cfg.collector,
                    zmq_strerror(errno));
    else
        ET_LOG_WARN_LIMITED("cannot send USAGE to %s: %s", w->cfg.collector,
                            zmq_strerror(errno));
    return -1;
}

/* Send RESULT; 'payload' is consumed either way. */
static void
s_send_result(et_worker_t *w, const et_result_t *result, zmq_msg_t *payload)
{
    msgpack_sbuffer_clear(&w->body);
    et_path_mark(ET_PATH_RESULT_SENDING);
    if (et_codec_encode_result(&w->body, result) != 0 ||
        s_broker_send(w, ET_MSG_RESULT, &w->body, payload) != 0) {
        w->send_failures++;
        ET_LOG_WARN_LIMITED("cannot send RESULT for event %llu: %s",
                            (unsigned long long)result->event_id,
                            zmq_strerror(errno));
    } else {
        et_path_mark(ET_PATH_RESULT_SENT);
    }
    zmq_msg_close(payload);
}

/* Answer a task the runtime cannot run, so the event is not lost. */
static void
s_reply_error(et_worker_t *w, const et_task_t *task)
{
    et_result_t result = {
        .event_id = task->event_id,
        .stage = task->stage,
        .attempt = task->attempt,
        .status = ET_STATUS_ERROR,
        .outcome = ET_OUTCOME_NONE,
    };
    zmq_msg_t empty;
    zmq_msg_init(&empty);
    w->errors++;
    s_send_result(w, &result, &empty);
}

/* READY, the first time or again. Returns 0 (sent, or retry later) or -1
 * on a fatal socket error. */
static int
s_try_ready(et_worker_t *w)
{
    uint64_t now = et_clock_mono_ns();
    int again = w->ready;
    et_ready_t ready = {
        .pid = (uint32_t)getpid(),
        .slots = w->cfg.slots,
        .cold_start_ns = again ? w->cold_start_ns : s_since_spawn_ns(w, now),
        .init_ns = w->init_ns,
    };
    snprintf(ready.function, sizeof ready.function, "%s", w->def->name);
    snprintf(ready.instance, sizeof ready.instance, "%s", w->cfg.instance);
    msgpack_sbuffer_clear(&w->body);
    if (et_codec_encode_ready(&w->body, &ready) != 0) {
        ET_LOG_ERROR("cannot encode READY");
        return -1;
    }
    /* IMMEDIATE: until the connection is up the send fails with EAGAIN
     * and is retried; the first wait counts as cold start, since no event
     * could be served before. */
    if (s_broker_send(w, ET_MSG_READY, &w->body, NULL) != 0) {
        if (errno == EAGAIN || errno == EINTR) {
            if (now >= w->broker_wait_warn_ns) {
                ET_LOG_WARN("still waiting for the broker at %s",
                            w->cfg.broker);
                w->broker_wait_warn_ns = now + 10 * ET_NS_PER_S;
            }
            return 0;
        }
        ET_LOG_ERROR("cannot send READY: %s", zmq_strerror(errno));
        return -1;
    }
    w->ready = 1;
    w->reregister = 0;
    w->broker_silent = 0; /* a further silence says READY again */
    w->last_broker_ns = now;
    w->next_heartbeat_ns = now;
    w->last_active_ns = now;
    if (again) {
        ET_LOG_INFO("registered again with the broker");
        return 0;
    }
    w->cold_start_ns = ready.cold_start_ns;
    /* The collector learns of the instance now, not a usage interval
     * later: an instance started for the run's last events (scale from
     * zero) would otherwise be unknown to it when it decides that every
     * instance has reported, and its lifetime would go uncounted. */
    w->next_usage_ns = now;
    ET_LOG_INFO("ready: %s x%u slot%s as %s, cold start %.1f ms (init "
                "%.1f ms)",
                w->def->name, w->cfg.slots, w->cfg.slots == 1 ? "" : "s",
                w->cfg.instance, (double)w->cold_start_ns / 1e6,
                (double)w->init_ns / 1e6);
    return 0;
}

/* Start leaving: BYE to the broker, which answers BYE once every task it
 * sent us is on its way. */
static void
s_leave(et_worker_t *w, const char *why)
{
    w->leaving = 1;
    w->leave_deadline_ns = et_clock_mono_ns() + (uint64_t)w->cfg.bye_timeout_ns;
    if (!w->ready) {
        /* Nothing to wait for; a broker that counts us as starting is
         * told we are not. */
        if (w->said_starting)
            (void)s_broker_send(w, ET_MSG_BYE, NULL, NULL);
        w->bye_acked = 1;
        ET_LOG_INFO("leaving (%s) before READY", why);
        return;
    }
    if (s_broker_send(w, ET_MSG_BYE, NULL, NULL) != 0) {
        /* No connection to the broker: no task can arrive either. */
        ET_LOG_WARN("cannot send BYE: %s; leaving when idle",
                    zmq_strerror(errno));
        w->bye_acked = 1;
        return;
    }
    unsigned busy = et_slots_busy(w->slots);
    ET_LOG_INFO("leaving (%s): BYE sent, %u task%s in flight", why, busy,
                busy == 1 ? "" : "s");
}

/* ---- incoming messages --------------------------------------------------- */

/* One task and its payload (consumed on success) to a free slot, or
 * answered ERROR when the runtime cannot run it, so the event is not
 * lost. */
static void
s_run_task(et_worker_t *w, const et_task_t *task, zmq_msg_t *payload)
{
    size_t size = zmq_msg_size(payload);
    if (size > w->cfg.max_payload) {
        S_BAD(w,
              "TASK for event %llu: payload of %zu bytes exceeds "
              "--max-payload %zu; answered ERROR",
              (unsigned long long)task->event_id, size, w->cfg.max_payload);
        s_reply_error(w, task);
        return;
    }
    if (et_slots_dispatch(w->slots, task, payload) == 0)
        return;
    if (errno == EBUSY) {
        /* The broker only sends to a free slot: it and we disagree. */
        w->violations++;
        ET_LOG_WARN_LIMITED("TASK for event %llu while all %u slots are "
                            "busy (protocol violation); answered ERROR",
                            (unsigned long long)task->event_id, w->cfg.slots);
    } else {
        ET_LOG_ERROR("cannot hand event %llu to a slot: %s",
                     (unsigned long long)task->event_id, zmq_strerror(errno));
    }
    s_reply_error(w, task);
}

static void
s_on_task(et_worker_t *w, zmq_msg_t *frames, int n, int too_many)
{
    et_task_t task;
    if (n != 3 || too_many) {
        S_BAD(w, "TASK with %s%d frames dropped", too_many ? "> " : "", n);
        return;
    }
    if (et_codec_decode_task(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]),
                             &task) != 0) {
        S_BAD(w, "TASK with a bad body dropped: %s", strerror(errno));
        return;
    }
    et_path_mark_woke(ET_PATH_WORKER_WOKE);
    et_path_mark(ET_PATH_WORKER_TASK);
    w->last_active_ns = et_clock_mono_ns(); /* even one answered ERROR */
    w->task_messages++;
    w->tasks_taken++;
    s_run_task(w, &task, &frames[2]);
}

/* TASKS: [header, body, payload x N]. Nothing of a batch is used before
 * all of it is checked: its body, one payload frame per task, and its
 * bytes; a bad one is dropped whole (the broker times its tasks out). */
static void
s_on_tasks(et_worker_t *w, zmq_msg_t *frames, int n, int too_many)
{
    et_task_t tasks[ET_BATCH_MAX];
    size_t count = 0;
    if (too_many || n < 3) {
        S_BAD(w, "TASKS with %s%d frames dropped", too_many ? "> " : "", n);
        return;
    }
    if (et_codec_decode_tasks(zmq_msg_data(&frames[1]),
                              zmq_msg_size(&frames[1]), tasks, ET_BATCH_MAX,
                              &count) != 0) {
        S_BAD(w, "TASKS with a bad body dropped: %s", strerror(errno));
        return;
    }
    if ((size_t)n != 2 + count) {
        S_BAD(w, "TASKS of %zu tasks with %d payload frames dropped", count,
              n - 2);
        return;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += zmq_msg_size(&frames[2 + i]);
    if (!et_codec_batch_fits(count, bytes)) {
        S_BAD(w, "TASKS of %zu tasks with %llu payload bytes dropped", count,
              (unsigned long long)bytes);
        return;
    }
    w->last_active_ns = et_clock_mono_ns();
    w->task_messages++;
    w->tasks_taken += count;
    /* Those it can run go to the slots in one hand-off, in order. */
    et_task_t run[ET_BATCH_MAX];
    zmq_msg_t payloads[ET_BATCH_MAX];
    size_t ready = 0;
    for (size_t i = 0; i < count; i++) {
        if (zmq_msg_size(&frames[2 + i]) > w->cfg.max_payload) {
            s_run_task(w, &tasks[i], &frames[2 + i]); /* answered ERROR */
            continue;
        }
        run[ready] = tasks[i];
        zmq_msg_init(&payloads[ready]);
        zmq_msg_move(&payloads[ready], &frames[2 + i]);
        ready++;
    }
    size_t taken = et_slots_dispatch_many(w->slots, run, payloads, ready);
    for (size_t i = taken; i < ready; i++) {
        /* No free slot: s_run_task answers it ERROR, as for a TASK. */
        s_run_task(w, &run[i], &payloads[i]);
    }
    for (size_t i = 0; i < ready; i++)
        zmq_msg_close(&payloads[i]);
}

/* STATE_GET [header, body]: the broker moves a key to another instance
 * and has no event of it in flight here; answer STATE with what the
 * function keeps for it (nothing for a function without state, or when
 * the export fails or is too large: the new owner then starts afresh). */
static void
s_on_state_get(et_worker_t *w, zmq_msg_t *frames, int n, int too_many)
{
    et_state_msg_t msg;
    if (n != 2 || too_many ||
        et_codec_decode_state(zmq_msg_data(&frames[1]),
                              zmq_msg_size(&frames[1]), &msg) != 0) {
        S_BAD(w, "bad STATE_GET dropped");
        return;
    }
    msgpack_sbuffer state;
    msgpack_sbuffer_init(&state);
    if (w->def->state_export &&
        (w->def->state_export(w->fn_state, msg.key, &state) != 0 ||
         state.size > ET_STATE_MAX)) {
        ET_LOG_WARN_LIMITED("cannot export the state of key %016llx (%zu "
                            "bytes): handed over empty",
                            (unsigned long long)msg.key, state.size);
        w->states_refused++;
        msgpack_sbuffer_clear(&state);
    }
    zmq_msg_t bytes;
    msgpack_sbuffer_clear(&w->body);
    if (zmq_msg_init_size(&bytes, state.size) != 0) {
        ET_LOG_ERROR("no memory for a key's state: %s", zmq_strerror(errno));
        msgpack_sbuffer_destroy(&state);
        return; /* the broker times the handover out */
    }
    if (state.size > 0)
        memcpy(zmq_msg_data(&bytes), state.data, state.size);
    msgpack_sbuffer_destroy(&state);
    if (et_codec_encode_state(&w->body, &msg) != 0 ||
        s_broker_send(w, ET_MSG_STATE, &w->body, &bytes) != 0) {
        w->send_failures++;
        ET_LOG_WARN_LIMITED("cannot send STATE: %s", zmq_strerror(errno));
    } else {
        w->states_out++;
    }
    zmq_msg_close(&bytes);
}

/* STATE_PUT [header, body, state]: a key moves here; its state comes
 * before its next TASK (one pipe keeps their order). */
static void
s_on_state_put(et_worker_t *w, zmq_msg_t *frames, int n, int too_many)
{
    et_state_msg_t msg;
    if (n != 3 || too_many || zmq_msg_size(&frames[2]) > ET_STATE_MAX ||
        et_codec_decode_state(zmq_msg_data(&frames[1]),
                              zmq_msg_size(&frames[1]), &msg) != 0) {
        S_BAD(w, "bad STATE_PUT dropped");
        return;
    }
    w->states_in++;
    if (!w->def->state_import)
        return;
    if (w->def->state_import(w->fn_state, msg.key, zmq_msg_data(&frames[2]),
                             zmq_msg_size(&frames[2])) != 0) {
        w->states_refused++;
        S_BAD(w,
              "STATE_PUT for key %016llx refused by %s: the key starts "
              "afresh",
              (unsigned long long)msg.key, w->def->name);
    }
}

static void s_drain_slots(et_worker_t *w);

/* Tasks the main thread served itself (brief ones at light load) are
 * answered at once, not after one more turn of the loop and its poll.
 * The slots' eventfd, cleared here, may also have meant a message waits
 * on the broker socket: look before the next poll. */
static void
s_answer_served_here(et_worker_t *w)
{
    if (!et_slots_take_served_here(w->slots))
        return;
    w->broker_dirty = 1;
    s_drain_slots(w);
}

static void
s_on_broker_message(et_worker_t *w, zmq_msg_t *frames, int n, int too_many)
{
    et_msg_type_t type;
    if (et_codec_decode_header(zmq_msg_data(&frames[0]),
                               zmq_msg_size(&frames[0]), &type) != 0) {
        S_BAD(w, "message from the broker with a bad header dropped: %s",
              strerror(errno));
        return;
    }
    w->last_broker_ns = et_clock_mono_ns();
    if (w->broker_silent) {
        /* The broker may have declared us lost meanwhile (and retried our
         * events elsewhere): say READY again so it knows us. */
        w->broker_silent = 0;
        if (w->ready && !w->leaving) {
            ET_LOG_INFO("the broker is back: registering again once idle");
            w->reregister = 1;
        }
    }
    switch (type) {
    case ET_MSG_TASK:
        s_on_task(w, frames, n, too_many);
        s_answer_served_here(w);
        break;
    case ET_MSG_TASKS:
        s_on_tasks(w, frames, n, too_many);
        s_answer_served_here(w);
        break;
    case ET_MSG_DRAIN:
    case ET_MSG_BYE:
        if (n != 1 || too_many) {
            S_BAD(w, "%s with %d frames dropped", et_codec_type_name(type), n);
            break;
        }
        if (type == ET_MSG_DRAIN) {
            if (!w->leaving)
                s_leave(w, "broker sent DRAIN");
            /* The broker sends DRAIN only once it dispatches nothing more
             * to us: there is no answer to wait for. */
            w->bye_acked = 1;
        } else {
            if (!w->leaving) {
                /* The broker is letting us go first: no BYE owed. */
                ET_LOG_INFO("broker said BYE first: leaving");
                w->leaving = 1;
            } else {
                ET_LOG_DEBUG("broker answered BYE");
            }
            w->bye_acked = 1;
        }
        break;
    case ET_MSG_STATE_GET:
        s_on_state_get(w, frames, n, too_many);
        break;
    case ET_MSG_STATE_PUT:
        s_on_state_put(w, frames, n, too_many);
        break;
    case ET_MSG_HEARTBEAT:
        ET_LOG_DEBUG("heartbeat from the broker");
        break;
    case ET_MSG_REGISTER:
        if (n != 1 || too_many) {
            S_BAD(w, "REGISTER with %d frames dropped", n);
            break;
        }
        /* The broker does not know us (it restarted, or declared us lost):
         * READY again, once idle, as after a reconnection. */
        if (w->ready && !w->leaving && !w->reregister) {
            ET_LOG_INFO("the broker does not know us: registering again "
                        "once idle");
            w->reregister = 1;
        }
        break;
    default:
        S_BAD(w, "unexpected %s from the broker dropped",
              et_codec_type_name(type));
        break;
    }
}

/* Returns 0, or -1 on a fatal socket error. */
static int
s_drain_broker(et_worker_t *w)
{
    for (int i = 0; i < S_BATCH; i++) {
        /* Room for a TASKS: header, body and a payload per task. */
        zmq_msg_t frames[ET_FRAMES_BATCH_MAX - 1];
        int too_many;
        pthread_mutex_lock(&w->broker_lock);
        int n = et_zsock_recv(w->broker, frames, ET_FRAMES_BATCH_MAX - 1,
                              &too_many, ZMQ_DONTWAIT);
        int saved = errno;
        pthread_mutex_unlock(&w->broker_lock);
        errno = saved;
        if (n < 0) {
            if (errno == EAGAIN)
                w->broker_dirty = 0;
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            ET_LOG_ERROR("cannot receive from the broker: %s",
                         zmq_strerror(errno));
            return -1;
        }
        s_on_broker_message(w, frames, n, too_many);
        et_zsock_frames_close(frames, n);
    }
    return 0;
}

/* What a function reported besides its verdict, made fit for the wire
 * (et_function_clean_detail); what had to go is the function's mistake,
 * logged, and the event's own result stands. */
static void
s_clean_detail(const char *name, et_result_t *result, int keep_shadow)
{
    unsigned dropped = et_function_clean_detail(
        &result->detail, result->service_ns, keep_shadow);
    if (dropped > 0)
        ET_LOG_WARN_LIMITED("%s reported %u bad shadow verdict or timing%s "
                            "for event %llu: dropped",
                            name, dropped, dropped == 1 ? "" : "s",
                            (unsigned long long)result->event_id);
}

/* A finished task: check what the function gave and settle its result
 * (status, output) for the broker. */
static void
s_on_result(et_worker_t *w, et_slot_reply_t *reply, zmq_msg_t *output,
            unsigned slot)
{
    et_result_t *result = &reply->result;
    int status = reply->status;
    const char *name = w->def->name;
    unsigned long long id = (unsigned long long)result->event_id;
    if (status < 0 || status > ET_STATUS_MAX) {
        ET_LOG_WARN_LIMITED("%s returned status %d for event %llu", name,
                            status, id);
        status = ET_STATUS_ERROR;
    } else if (result->outcome < ET_OUTCOME_NONE || !isfinite(result->score)) {
        ET_LOG_WARN_LIMITED("%s gave outcome %d, score %g for event %llu", name,
                            (int)result->outcome, result->score, id);
        status = ET_STATUS_ERROR;
    } else if (reply->output_size > w->cfg.max_payload) {
        ET_LOG_WARN_LIMITED("%s output of %zu bytes for event %llu exceeds "
                            "--max-payload %zu",
                            name, reply->output_size, id, w->cfg.max_payload);
        status = ET_STATUS_ERROR;
    } else if (reply->output_failed) {
        ET_LOG_WARN_LIMITED("no memory for the output of event %llu", id);
        status = ET_STATUS_ERROR;
    }
    if (et_status_failed(status)) {
        /* A failure carries no output, outcome or score, and no shadow
         * verdict; the times it measured (a store that timed out) are
         * still its. */
        zmq_msg_close(output);
        zmq_msg_init(output);
        result->outcome = ET_OUTCOME_NONE;
        result->score = 0;
        w->errors++;
    }
    s_clean_detail(name, result, !et_status_failed(status));
    result->status = (uint8_t)status;
    w->busy_ns += result->service_ns;
    w->served++;
    ET_LOG_DEBUG("event %llu stage %u served by slot %u in %.3f ms: %s", id,
                 result->stage, slot, (double)result->service_ns / 1e6,
                 status == ET_STATUS_OK            ? "ok"
                 : status == ET_STATUS_ERROR       ? "error"
                 : status == ET_STATUS_UNAVAILABLE ? "dependency unavailable"
                                                   : "filtered");
}

/* A result that needs nothing from the main thread: no failure to count,
 * nothing to log. */
static int
s_reply_clean(const et_worker_t *w, const et_slot_reply_t *reply)
{
    return reply->status >= 0 && reply->status <= ET_STATUS_MAX &&
           !et_status_failed(reply->status) &&
           reply->result.outcome >= ET_OUTCOME_NONE &&
           isfinite(reply->result.score) &&
           reply->output_size <= w->cfg.max_payload && !reply->output_failed;
}

/* et_slots_answer_fn, on a slot thread: a lone task's RESULT straight to
 * the broker, without waking the main thread to send it. Anything that
 * is not plain (a failure, a send that fails) goes the usual way. */
static int
s_answer(void *arg, unsigned slot, et_slot_reply_t *reply, zmq_msg_t *output,
         msgpack_sbuffer *scratch, int *wake)
{
    et_worker_t *w = arg;
    (void)slot;
    if (!s_reply_clean(w, reply))
        return 0;
    et_result_t result = reply->result;
    result.status = (uint8_t)reply->status;
    /* A detail to drop is logged: the main thread's to do. */
    if (et_function_clean_detail(&result.detail, result.service_ns, 1) > 0)
        return 0;
    msgpack_sbuffer_clear(scratch);
    if (et_codec_encode_result(scratch, &result) != 0)
        return 0;
    /* Never wait for the lock: the main thread holds it only while awake,
     * and then takes the result at once; a slot asleep on the lock costs
     * a wake-up (strace: up to 0.9 ms for a noop task here). */
    et_path_mark(ET_PATH_RESULT_SENDING);
    if (pthread_mutex_trylock(&w->broker_lock) != 0)
        return 0;
    if (!w->answer_ok || et_zsock_send(w->broker, NULL, ET_MSG_RESULT, scratch,
                                       output, ZMQ_DONTWAIT) != 0) {
        pthread_mutex_unlock(&w->broker_lock);
        return 0;
    }
    et_path_mark(ET_PATH_RESULT_SENT);
    w->answered.busy_ns += result.service_ns;
    w->answered.served++;
    /* The send may have taken the socket's signal of a message come in
     * meanwhile: then the main thread, asleep on that signal, is woken. */
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(w->broker, ZMQ_EVENTS, &events, &len) != 0 ||
        (events & ZMQ_POLLIN))
        *wake = 1;
    pthread_mutex_unlock(&w->broker_lock);
    zmq_msg_close(output);
    return 1;
}

/* What the slots answered themselves, added to the main thread's own
 * counts (for USAGE and the last log line). */
static void
s_totals(et_worker_t *w, int64_t *busy_ns, uint64_t *served, uint64_t *answered)
{
    pthread_mutex_lock(&w->broker_lock);
    *busy_ns = w->busy_ns + w->answered.busy_ns;
    *served = w->served + w->answered.served;
    *answered = w->answered.served;
    pthread_mutex_unlock(&w->broker_lock);
}

/* Send 'count' settled results: one RESULT, or one RESULTS for several.
 * The outputs are consumed either way. */
static void
s_send_results(et_worker_t *w, const et_result_t *results, zmq_msg_t *outputs,
               size_t count)
{
    w->result_messages++;
    w->results_sent += count;
    if (count == 1) {
        s_send_result(w, &results[0], &outputs[0]);
        return;
    }
    msgpack_sbuffer_clear(&w->body);
    if (et_codec_encode_results(&w->body, results, count) != 0 ||
        s_broker_send_parts(w, ET_MSG_RESULTS, &w->body, outputs, count) != 0) {
        w->send_failures += count;
        ET_LOG_WARN_LIMITED("cannot send RESULTS for %zu events (event "
                            "%llu first): %s",
                            count, (unsigned long long)results[0].event_id,
                            zmq_strerror(errno));
    }
    for (size_t i = 0; i < count; i++)
        zmq_msg_close(&outputs[i]);
}

/* Every finished task (at most one per slot), answered in as few messages
 * as the batch bounds allow: what is ready now goes now, none waits for
 * another. */
static void
s_drain_slots(et_worker_t *w)
{
    et_result_t results[ET_BATCH_MAX];
    zmq_msg_t outputs[ET_BATCH_MAX];
    size_t count = 0;
    uint64_t bytes = 0;
    et_slot_reply_t reply;
    zmq_msg_t output;
    unsigned slot;
    while (et_slots_recv(w->slots, &reply, &output, &slot) == 1) {
        s_on_result(w, &reply, &output, slot);
        size_t size = zmq_msg_size(&output);
        if (count > 0 && !et_codec_batch_fits(count + 1, bytes + size)) {
            s_send_results(w, results, outputs, count);
            count = 0;
            bytes = 0;
        }
        results[count] = reply.result;
        zmq_msg_init(&outputs[count]);
        zmq_msg_move(&outputs[count], &output);
        zmq_msg_close(&output);
        bytes += size;
        count++;
    }
    if (count > 0) {
        w->last_active_ns = et_clock_mono_ns();
        s_send_results(w, results, outputs, count);
    }
}

/* The broker socket's monitor. A lost connection comes back as a new
 * connection, which the broker's ROUTER knows under a new routing id: to
 * the broker we are a stranger until we say READY again. READY waits for
 * the new connection's handshake: sent just after the disconnection, it
 * could still go into the old connection's dying pipe and be lost. */
static int
s_drain_monitor(et_worker_t *w)
{
    for (int i = 0; i < S_BATCH; i++) {
        uint16_t event;
        int got = et_zsock_recv_monitor_event(w->monitor, &event);
        if (got <= 0) {
            if (got < 0)
                ET_LOG_ERROR("cannot read the broker connection's events: %s",
                             zmq_strerror(errno));
            else
                w->monitor_dirty = 0; /* drained: its ZMQ_FD is armed */
            return got;
        }
        if (event == ZMQ_EVENT_DISCONNECTED && w->ready && !w->leaving &&
            !w->reconnecting) {
            ET_LOG_WARN("lost the connection to the broker: registering "
                        "again once reconnected and idle");
            w->reconnecting = 1;
        } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && w->reconnecting) {
            w->reconnecting = 0;
            w->reregister = 1;
        }
    }
    return 0;
}

/* ---- main loop ----------------------------------------------------------- */

/* Before its first task an instance waits at least this long for work: the
 * broker reads READY and dispatches what waits, but under load it may read
 * a BYE sent a millisecond later in the same pass, and a keep-alive of ~0
 * would then leave, unused, every instance started for waiting work. */
#define S_FIRST_TASK_WAIT_NS (250 * ET_NS_PER_MS)

/* The keep-alive in force: --idle-timeout, at least S_FIRST_TASK_WAIT_NS
 * until the first task. */
static uint64_t
s_idle_timeout_ns(const et_worker_t *w)
{
    uint64_t t = w->cfg.idle_timeout_ns;
    return w->served == 0 && w->errors == 0 && !w->slot_answered &&
                   t < S_FIRST_TASK_WAIT_NS
               ? S_FIRST_TASK_WAIT_NS
               : t;
}

/* The keep-alive clock runs only while the instance is registered,
 * staying and has nothing to do. */
static int
s_idle_watch(const et_worker_t *w)
{
    return w->cfg.idle_timeout_ns > 0 && w->ready && !w->leaving &&
           et_slots_busy(w->slots) == 0;
}

/* READY is due: the first one once every slot has said hello, or again
 * once every slot is idle (the broker then counts them all as free). */
static int
s_ready_due(const et_worker_t *w)
{
    if (w->leaving)
        return 0;
    if (!w->ready)
        return et_slots_ready(w->slots) == w->cfg.slots;
    return w->reregister && et_slots_busy(w->slots) == 0;
}

static int
s_poll_timeout_ms(const et_worker_t *w, uint64_t now)
{
    uint64_t until = w->next_usage_ns;
    if (w->ready && w->next_heartbeat_ns < until)
        until = w->next_heartbeat_ns;
    if (w->leaving && !w->bye_acked && w->leave_deadline_ns < until)
        until = w->leave_deadline_ns;
    if (s_idle_watch(w) && w->last_active_ns + s_idle_timeout_ns(w) + 1 < until)
        until = w->last_active_ns + s_idle_timeout_ns(w) + 1;
    uint64_t ms =
        until > now ? (until - now + ET_NS_PER_MS - 1) / ET_NS_PER_MS : 0;
    if (s_ready_due(w) && ms > S_READY_RETRY_MS)
        ms = S_READY_RETRY_MS;
    return ms > S_POLL_MAX_MS ? S_POLL_MAX_MS : (int)ms;
}

/* Once READY went out (the broker is there), start the clock probes. A
 * worker only reports its offset: its own times never cross hosts. */
static void
s_start_probe(et_worker_t *w)
{
    w->probe_tried = 1;
    et_clockprobe_config_t probe = {.ctx = w->ctx,
                                    .endpoint = w->cfg.broker,
                                    .curve = w->curve,
                                    .mode = w->cfg.clock_sync,
                                    .interval_ns = w->cfg.clock_interval_ns,
                                    .role = ET_CLOCK_ROLE_WORKER,
                                    .name = w->cfg.instance,
                                    .host = w->host,
                                    .producer_id = 0,
                                    .corrects = 0};
    w->probe = et_clockprobe_start(&probe);
    if (!w->probe && errno != 0)
        ET_LOG_WARN("cannot start the clock probes: %s", strerror(errno));
}

/* Flags and timers of one pass. Returns 1 when the worker has left, 0 to
 * go on, -1 on a fatal error. */
static int
s_tick(et_worker_t *w, volatile sig_atomic_t *stop, uint64_t now)
{
    unsigned busy = et_slots_busy(w->slots);
    if (*stop && !w->leaving)
        s_leave(w, "signal");
    if (w->leaving && busy == 0 &&
        (w->bye_acked || now >= w->leave_deadline_ns)) {
        if (!w->bye_acked)
            ET_LOG_WARN("the broker did not answer BYE within %.0f s",
                        (double)w->cfg.bye_timeout_ns / 1e9);
        return 1;
    }
    if (s_idle_watch(w) && now > w->last_active_ns &&
        now - w->last_active_ns > s_idle_timeout_ns(w)) {
        /* Scale to zero on our own: exactly the SIGTERM path, so a task
         * already on its way is still served. */
        ET_LOG_INFO("idle for %g s: leaving",
                    (double)s_idle_timeout_ns(w) / 1e9);
        s_leave(w, "idle timeout");
    }
    if (s_ready_due(w) && s_try_ready(w) != 0)
        return -1;
    if (!w->ready && !w->leaving && et_slots_ready(w->slots) < w->cfg.slots &&
        now >= w->slots_deadline_ns) {
        ET_LOG_ERROR("only %u of %u slot threads started",
                     et_slots_ready(w->slots), w->cfg.slots);
        return -1;
    }
    if (w->ready && now >= w->next_heartbeat_ns) {
        /* From the main thread, so it flows while every slot is busy; and
         * while leaving, until we exit: the broker keeps a leaving worker
         * until its last result, and a long task on it must not be
         * declared lost and run again. */
        if (s_broker_send(w, ET_MSG_HEARTBEAT, NULL, NULL) != 0)
            ET_LOG_DEBUG("heartbeat not sent: %s", zmq_strerror(errno));
        w->next_heartbeat_ns = now + S_HEARTBEAT_NS;
    }
    if (w->ready && !w->broker_silent && now > w->last_broker_ns &&
        now - w->last_broker_ns > S_BROKER_TIMEOUT_NS) {
        w->broker_silent = 1;
        /* It may have forgotten us meanwhile (a restart, a stall or an
         * outage past its worker timeout): READY again once idle, and
         * again after every further timeout of silence. A broker that
         * still knows us takes it as proof of life. */
        if (!w->leaving)
            w->reregister = 1;
        ET_LOG_WARN("no word from the broker for %.1f s%s",
                    (double)(now - w->last_broker_ns) / 1e9,
                    w->leaving ? "" : ": registering again once idle");
    }
    if (w->ready && !w->probe_tried)
        s_start_probe(w);
    if (now >= w->next_usage_ns) {
        s_send_usage(w, 0);
        w->next_usage_ns += w->cfg.usage_interval_ns;
        if (w->next_usage_ns <= now) /* fell behind: do not burst */
            w->next_usage_ns = now + w->cfg.usage_interval_ns;
    }
    return 0;
}

/* Tasks the slots answered themselves: their slots are free, and they
 * count as activity for --idle-timeout. Returns 1 when there were any. */
static int
s_reap(et_worker_t *w)
{
    uint64_t last;
    if (!et_slots_reap(w->slots, &last))
        return 0;
    w->slot_answered = 1;
    if (last > w->last_active_ns)
        w->last_active_ns = last;
    return 1;
}

/* The slots answer lone tasks themselves only while nothing waits for
 * the slots to be idle (READY again, leaving): the main thread sees
 * every other result, so it wakes when the last one is in. */
static void
s_set_answer_ok(et_worker_t *w)
{
    int ok = w->ready && !w->leaving && !w->reregister && !w->reconnecting &&
             !w->broker_silent;
    if (ok == w->answer_ok)
        return;
    pthread_mutex_lock(&w->broker_lock);
    w->answer_ok = ok;
    pthread_mutex_unlock(&w->broker_lock);
}

/* One pass = flags and timers, then poll, then messages. Returns 0 when
 * the worker has left, -1 on a fatal error. */
static int
s_loop(et_worker_t *w, volatile sig_atomic_t *stop)
{
    for (;;) {
        uint64_t now = et_clock_mono_ns();
        s_reap(w);
        int rc = s_tick(w, stop, now);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
        s_set_answer_ok(w);
        /* A slot that answered before the flag went down: look again. */
        if (!w->answer_ok && s_reap(w))
            continue;
        int waiting = 0;
        if (w->broker_dirty) {
            waiting = s_broker_readable(w);
            w->broker_dirty = 0;
        }
        int timeout_ms =
            waiting || w->monitor_dirty ? 0 : s_poll_timeout_ms(w, now);
        /* The slots' backstop: tasks queued behind a call longer than
         * estimated get a sleeping slot once they wait past the bound, so
         * sleep no longer than that (only while such tasks wait). */
        uint64_t kick_ns =
            et_slots_busy(w->slots) > 0 ? et_slots_kick(w->slots, now) : 0;
        if (kick_ns > now) {
            uint64_t ms = (kick_ns - now + ET_NS_PER_MS - 1) / ET_NS_PER_MS;
            if (ms < (uint64_t)timeout_ms)
                timeout_ms = (int)ms;
        }
        /* Plain poll on descriptors: zmq_poll would add a first pass and
         * two ZMQ_EVENTS checks of the monitor, five system calls a pass. */
        struct pollfd items[3] = {
            {.fd = w->broker_fd, .events = POLLIN},
            {.fd = et_slots_fd(w->slots), .events = POLLIN},
            {.fd = w->monitor_fd, .events = POLLIN},
        };
        int polled = poll(items, 3, timeout_ms);
        et_path_woke();
        if (polled < 0) {
            if (errno == EINTR)
                continue;
            ET_LOG_ERROR("poll failed: %s", strerror(errno));
            return -1;
        }
        /* A receive cut short (EINTR) leaves the monitor's descriptor
         * unarmed: whenever the poll times out, read it anyway. */
        if (polled == 0)
            w->monitor_dirty = 1;
        /* Slots first: a finished task frees a slot for the next TASK. */
        int woken = items[1].revents & POLLIN;
        if (woken) {
            et_slots_clear_wake(w->slots);
            s_drain_slots(w);
        }
        /* The slots' eventfd also stands for a message a slot's send
         * found waiting on the broker socket. */
        if ((waiting || woken || (items[0].revents & POLLIN)) &&
            s_drain_broker(w) != 0)
            return -1;
        if ((w->monitor_dirty || (items[2].revents & POLLIN)) &&
            s_drain_monitor(w) != 0)
            return -1;
    }
}

/* ---- setup and teardown -------------------------------------------------- */

/* STARTING, before the init: the broker counts this instance as a starting
 * replica until its READY. IMMEDIATE refuses a send before the connection
 * is up, so wait for it a little. */
static void
s_say_starting(et_worker_t *w)
{
    et_ready_t hello = {.pid = (uint32_t)getpid(), .slots = w->cfg.slots};
    snprintf(hello.function, sizeof hello.function, "%s", w->def->name);
    snprintf(hello.instance, sizeof hello.instance, "%s", w->cfg.instance);
    msgpack_sbuffer_clear(&w->body);
    if (et_codec_encode_ready(&w->body, &hello) != 0)
        return;
    zmq_pollitem_t item = {.socket = w->broker, .events = ZMQ_POLLOUT};
    if (zmq_poll(&item, 1, S_STARTING_WAIT_MS) <= 0 ||
        et_zsock_send(w->broker, NULL, ET_MSG_STARTING, &w->body, NULL,
                      ZMQ_DONTWAIT) != 0) {
        ET_LOG_DEBUG("no broker connection yet: starting unannounced");
        return;
    }
    w->said_starting = 1;
}

/* The modelled rest of a cold start (--init-delay), in slices so that a
 * SIGTERM (blocked during setup) ends it early: the instance then leaves
 * at once. */
static void
s_init_delay(et_worker_t *w)
{
    et_rng_t rng;
    et_rng_seed(&rng, w->cfg.seed ^ 0x1d1e1a7ULL);
    uint64_t left = et_dist_sample_ns(&w->cfg.init_delay, &rng);
    ET_LOG_INFO("modelled init: waiting %.1f ms", (double)left / 1e6);
    sigset_t pending;
    while (left > 0) {
        if (sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) == 1 ||
                                          sigismember(&pending, SIGINT) == 1))
            return;
        uint64_t step = left < 50 * ET_NS_PER_MS ? left : 50 * ET_NS_PER_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step};
        nanosleep(&ts, NULL);
        left -= step;
    }
}

static int
s_setup(et_worker_t *w)
{
    w->ctx = zmq_ctx_new();
    if (!w->ctx) {
        ET_LOG_ERROR("cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        return -1;
    }
    w->broker = et_zsock_new(w->ctx, ZMQ_DEALER, S_BROKER_HWM);
    w->collector = et_zsock_new(w->ctx, ZMQ_PUSH, S_COLLECTOR_HWM);
    w->monitor = et_zsock_new(w->ctx, ZMQ_PAIR, S_BROKER_HWM);
    if (!w->broker || !w->collector || !w->monitor) {
        ET_LOG_ERROR("cannot create sockets: %s", zmq_strerror(errno));
        return -1;
    }
    if (zmq_socket_monitor(w->broker, S_MONITOR_ENDPOINT,
                           ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0 ||
        et_zsock_connect(w->monitor, S_MONITOR_ENDPOINT) != 0) {
        ET_LOG_ERROR("cannot monitor the broker connection: %s",
                     zmq_strerror(errno));
        return -1;
    }
    if (w->cfg.curve_dir[0] != '\0') {
        int tcp =
            et_curve_is_tcp(w->cfg.broker) || et_curve_is_tcp(w->cfg.collector);
        char why[PATH_MAX + 256];
        w->curve = et_curve_new(w->cfg.curve_dir, tcp ? ET_CURVE_CLIENT : 0,
                                why, sizeof why);
        if (!w->curve) {
            ET_LOG_ERROR("--curve: %s", why);
            return -1;
        }
    }
    /* Connect before init, so the connections come up while it runs. */
    if (et_curve_connect(w->curve, w->broker, w->cfg.broker) != 0 ||
        et_curve_connect(w->curve, w->collector, w->cfg.collector) != 0)
        return -1;
    s_say_starting(w);

    char why[256] = "unknown reason";
    uint64_t start = et_clock_mono_ns();
    if (w->def->init(&w->fn_state, &w->fcfg, why, sizeof why) != 0) {
        ET_LOG_ERROR("%s init failed: %s", w->def->name, why);
        if (w->said_starting) /* no longer starting */
            (void)et_zsock_send(w->broker, NULL, ET_MSG_BYE, NULL, NULL,
                                ZMQ_DONTWAIT);
        return -1;
    }
    if (w->cfg.has_init_delay)
        s_init_delay(w);
    w->init_ns = (int64_t)(et_clock_mono_ns() - start);
    w->fn_ready = 1;
    w->slots_cfg = (et_slots_config_t){
        .def = w->def,
        .fn_state = w->fn_state,
        .count = w->cfg.slots,
        .seed = w->cfg.seed,
        .io_delay = w->cfg.has_io_delay ? &w->cfg.io_delay : NULL,
        .spin_share = w->cfg.spin_budget_pct / 100.0,
        .max_payload = w->cfg.max_payload,
        .answer = s_answer,
        .answer_arg = w,
        .wake_when_idle = w->cfg.idle_timeout_ns > 0,
    };
    size_t fd_len = sizeof w->broker_fd;
    size_t monitor_fd_len = sizeof w->monitor_fd;
    w->monitor_dirty = 1;
    if (zmq_getsockopt(w->broker, ZMQ_FD, &w->broker_fd, &fd_len) != 0 ||
        zmq_getsockopt(w->monitor, ZMQ_FD, &w->monitor_fd, &monitor_fd_len) !=
            0) {
        ET_LOG_ERROR("cannot get the broker sockets' descriptors: %s",
                     zmq_strerror(errno));
        return -1;
    }
    w->slots = et_slots_new(&w->slots_cfg);
    return w->slots ? 0 : -1;
}

et_worker_t *
et_worker_new(const et_worker_config_t *cfg)
{
    et_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        ET_LOG_ERROR("out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    w->def = cfg->function;
    et_worker_function_config(&w->cfg, &w->fcfg);
    msgpack_sbuffer_init(&w->body);
    int made = pthread_mutex_init(&w->broker_lock, NULL);
    if (made != 0) {
        ET_LOG_ERROR("cannot create the broker socket's lock: %s",
                     strerror(made));
        msgpack_sbuffer_destroy(&w->body);
        free(w);
        return NULL;
    }
    w->broker_lock_made = 1;
    w->broker_dirty = 1;

    /* --spawned-at was read on this host's system clock: an emulated skew
     * applies to it as to every later reading. */
    et_clock_set_skew_ns(cfg->clock_skew_ns);
    w->spawned_at_ns = cfg->spawned_at_ns + cfg->clock_skew_ns;
    et_clocksync_host_name(cfg->host_name, w->host, sizeof w->host);

    /* Where spawned_at lies on the monotonic clock: lifetimes and the cold
     * start then survive realtime clock steps during the run. */
    uint64_t now = et_clock_mono_ns();
    int64_t age = et_clock_real_ns() - w->spawned_at_ns;
    if (age < 0)
        age = 0;
    w->spawned_mono_ns = (uint64_t)age < now ? now - (uint64_t)age : 0;

    if (cfg->service[0] && !w->def->uses_service)
        ET_LOG_WARN("--service %s is ignored: %s has no service model",
                    cfg->service, w->def->name);

    /* Every thread started from here on (ZeroMQ's I/O thread, the slots,
     * threads a function's init starts) inherits a mask without SIGINT
     * and SIGTERM, so those always interrupt the main thread's poll. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &block, &saved);
    if (rc != 0) {
        ET_LOG_ERROR("cannot block signals: %s", strerror(rc));
        goto fail;
    }
    rc = s_setup(w);
    int restored = pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (restored != 0)
        ET_LOG_ERROR("cannot unblock signals: %s", strerror(restored));
    if (rc != 0 || restored != 0)
        goto fail;
    return w;
fail:
    et_worker_destroy(&w);
    return NULL;
}

static void
s_log_left(et_worker_t *w)
{
    int64_t busy_ns;
    uint64_t served, answered;
    s_totals(w, &busy_ns, &served, &answered);
    double lifetime_s = (double)s_since_spawn_ns(w, et_clock_mono_ns()) / 1e9;
    double capacity_s = lifetime_s * w->cfg.slots;
    et_slots_stats_t woken;
    et_slots_stats(w->slots, &woken);
    ET_LOG_INFO(
        "left after %.1f s: served %llu (errors %llu), busy %.1f%% "
        "of %u slot%s; bad messages %llu, protocol violations %llu, "
        "send failures %llu; %llu task(s) in %llu message(s), %llu "
        "result(s) in %llu, %llu answered by their slot; %llu slot "
        "wake-up(s), %llu by the backstop; %llu served by the main thread",
        lifetime_s, (unsigned long long)served, (unsigned long long)w->errors,
        capacity_s > 0 ? 100.0 * ((double)busy_ns / 1e9) / capacity_s : 0.0,
        w->cfg.slots, w->cfg.slots == 1 ? "" : "s",
        (unsigned long long)w->bad_messages, (unsigned long long)w->violations,
        (unsigned long long)w->send_failures,
        (unsigned long long)w->tasks_taken,
        (unsigned long long)w->task_messages,
        (unsigned long long)w->results_sent,
        (unsigned long long)w->result_messages, (unsigned long long)answered,
        (unsigned long long)woken.signals,
        (unsigned long long)woken.backstop_signals,
        (unsigned long long)woken.served_here);
    if (w->states_out + w->states_in + w->states_refused > 0)
        ET_LOG_INFO("key states: %llu handed to the broker, %llu taken from "
                    "it, %llu refused",
                    (unsigned long long)w->states_out,
                    (unsigned long long)w->states_in,
                    (unsigned long long)w->states_refused);
}

int
et_worker_run(et_worker_t *w, volatile sig_atomic_t *stop)
{
    uint64_t now = et_clock_mono_ns();
    w->slots_deadline_ns = now + S_SLOT_START_TIMEOUT_NS;
    w->broker_wait_warn_ns = now + 5 * ET_NS_PER_S;
    w->next_usage_ns = now + w->cfg.usage_interval_ns;
    int rc = s_loop(w, stop);
    s_send_usage(w, 1);
    s_log_left(w);
    return rc;
}

void
et_worker_destroy(et_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_worker_t *w = *self_p;
    /* Reverse order of setup. */
    et_clockprobe_stop(&w->probe);
    et_slots_destroy(&w->slots);
    if (w->fn_ready)
        w->def->fini(&w->fn_state);
    et_zsock_monitor_close(w->broker, &w->monitor);
    et_zsock_close(&w->collector);
    et_zsock_close(&w->broker);
    if (w->ctx) {
        while (zmq_ctx_term(w->ctx) != 0 && errno == EINTR)
            ;
        w->ctx = NULL;
    }
    et_curve_destroy(&w->curve);
    msgpack_sbuffer_destroy(&w->body);
    if (w->broker_lock_made)
        pthread_mutex_destroy(&w->broker_lock);
    free(w);
    *self_p = NULL;
}
