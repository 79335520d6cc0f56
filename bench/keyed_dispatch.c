/* eventide-bench-keyed: the broker engine's dispatch cost per event, with
 * and without a keyed stage, driven in-process (no sockets) the way
 * tests/unit/test_engine.c drives it. W single-slot instances of one
 * function; Q events stay queued; each step one busy instance answers and
 * the engine dispatches to the free slot (keyed: to the owner of a
 * queued event's key, scanning past events whose owner is busy). Prints
 * ns per event and, keyed, queued events looked at per dispatch.
 *   eventide-bench-keyed [EVENTS] */
#include "broker/engine.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_WORKERS_MAX 16

static et_record_t s_rec;
static uint64_t s_in_flight[S_WORKERS_MAX]; /* event each instance holds */

static int
s_send(void *arg, const et_worker_rec_t *worker, et_job_t *job)
{
    (void)arg;
    s_in_flight[worker->route[0]] = job->event_id;
    return 0;
}

static et_record_t *
s_record(void *arg)
{
    (void)arg;
    memset(&s_rec, 0, sizeof s_rec);
    return &s_rec;
}

static void
s_run(int keyed, uint32_t workers, uint64_t keys, uint64_t queued,
      uint64_t events)
{
    et_workflow_t wf;
    et_workflow_single(&wf, "f");
    if (keyed)
        snprintf(wf.stages[0].key, sizeof wf.stages[0].key, "series");
    et_engine_config_t cfg = {.workflow = &wf,
                              .queue_cap = 1u << 20,
                              .max_payload = 1024,
                              .memory_cap = 1ULL << 34,
                              .worker_timeout_ns = 1ULL << 62};
    et_engine_io_t io = {.send_task = s_send, .record = s_record};
    et_engine_t *e = et_engine_new(&cfg, &io);
    if (!e)
        exit(1);
    uint64_t id = 1, now = 1;
    zmq_msg_t payload;
    /* One event's key: a pseudo-random one of 'keys' (0 would be none). */
    uint64_t rng = 88172645463325252ULL;
#define S_NEXT_KEY()                                                           \
    (rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17, 1 + rng % keys)
    for (; id <= queued + workers; id++) {
        et_event_t ev = {.event_id = id, .key = S_NEXT_KEY()};
        zmq_msg_init_size(&payload, 16);
        et_engine_admit(e, &ev, &payload, now);
        zmq_msg_close(&payload);
    }
    for (uint32_t w = 0; w < workers; w++) {
        uint8_t route[2] = {(uint8_t)w, 'w'};
        et_ready_t ready = {.slots = 1};
        snprintf(ready.function, sizeof ready.function, "f");
        snprintf(ready.instance, sizeof ready.instance, "f-%u", w + 1);
        et_engine_worker_ready(e, route, 2, &ready, now);
    }
    et_engine_counters_t before = et_engine_counters(e);
    int64_t t0 = et_clock_mono_ns();
    for (uint64_t i = 0; i < events; i++) {
        uint8_t route[2] = {(uint8_t)(i % workers), 'w'};
        et_worker_rec_t *w = et_engine_worker_heard(e, route, 2, now);
        et_result_t r = {.event_id = s_in_flight[route[0]]};
        zmq_msg_t out;
        zmq_msg_init_size(&out, 16);
        if (w && w->busy > 0)
            et_engine_result(e, w, &r, &out, ++now);
        zmq_msg_close(&out);
        et_event_t ev = {.event_id = id++, .key = S_NEXT_KEY()};
        zmq_msg_init_size(&payload, 16);
        et_engine_admit(e, &ev, &payload, now);
        zmq_msg_close(&payload);
    }
    int64_t dt = et_clock_mono_ns() - t0;
    et_engine_counters_t c = et_engine_counters(e);
    uint64_t done = c.completed - before.completed;
    char scanned[32] = "—";
    if (keyed && c.key_dispatches > before.key_dispatches)
        snprintf(scanned, sizeof scanned, "%.2f",
                 (double)(c.key_scanned - before.key_scanned) /
                     (double)(c.key_dispatches - before.key_dispatches));
    printf("| %s | %u | %llu | %llu | %.0f | %s |\n",
           keyed ? "keyed" : "any free slot", workers, (unsigned long long)keys,
           (unsigned long long)queued, done ? (double)dt / (double)done : 0.0,
           scanned);
    et_engine_destroy(&e);
}

int
main(int argc, char **argv)
{
    et_log_init("bench", ET_LOG_LEVEL_OFF);
    uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    printf("| dispatch | instances | keys | queued | ns per event | "
           "looked at per dispatch |\n|---|---:|---:|---:|---:|---:|\n");
    static const uint32_t workers[] = {1, 2, 4, 16};
    static const uint64_t queued[] = {0, 100, 5000};
    for (size_t q = 0; q < 3; q++)
        for (size_t w = 0; w < 4; w++) {
            s_run(0, workers[w], 1000, queued[q], events);
            s_run(1, workers[w], 1000, queued[q], events);
            if (workers[w] > 1)
                s_run(1, workers[w], 1, queued[q], events);
        }
    return 0;
}
