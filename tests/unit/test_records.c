/* Unit tests for broker/records.c's side of collector acknowledgements,
 * through a real broker (--collector-acks) in a thread on private ipc://
 * endpoints, a fake collector (PULL) and a DEALER on the frontend sending
 * COLLECTED: every message carries [epoch, seq] from 1 in order; a resume
 * sends again, in order and with the same numbers, what it does not
 * cover; an acknowledgement drops what it covers (a later resume does not
 * send it again); a resume for another epoch gets everything kept; an
 * acknowledgement for another epoch or beyond what was sent is a bad
 * message. Waits are for messages, with generous timeouts. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/broker.h"
#include "broker/config.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/zsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 10000

typedef struct {
    char dir[64];
    char frontend[128], backend[128], collector[128];
    void *ctx;
    void *pull;   /* the fake collector */
    void *dealer; /* its acknowledgements */
    et_broker_config_t cfg;
    pthread_t thread;
    int rc;
} fixture_t;

static volatile sig_atomic_t s_stop;

static void *
s_broker_main(void *arg)
{
    fixture_t *f = arg;
    et_broker_t *broker = et_broker_new(&f->cfg);
    f->rc = broker ? et_broker_run(broker, &s_stop) : -1;
    et_broker_destroy(&broker);
    return NULL;
}

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/et-test-records-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->frontend, sizeof f->frontend, "ipc://%s/frontend", f->dir);
    snprintf(f->backend, sizeof f->backend, "ipc://%s/backend", f->dir);
    snprintf(f->collector, sizeof f->collector, "ipc://%s/collector", f->dir);
    f->ctx = zmq_ctx_new();
    f->pull = et_zsock_new(f->ctx, ZMQ_PULL, 10000);
    assert_non_null(f->pull);
    assert_int_equal(et_zsock_bind(f->pull, f->collector), 0);
    char *argv[] = {"eventide-broker",
                    "--frontend",
                    f->frontend,
                    "--backend",
                    f->backend,
                    "--collector",
                    f->collector,
                    "--workflow",
                    ET_SOURCE_DIR "/workflows/synthetic.json",
                    "--stats-interval",
                    "50ms",
                    "--drain-timeout",
                    "1",
                    "--collector-acks",
                    "--log-level",
                    "error"};
    assert_int_equal(et_broker_config_parse(
                         &f->cfg, (int)(sizeof argv / sizeof argv[0]), argv),
                     0);
    s_stop = 0;
    assert_int_equal(pthread_create(&f->thread, NULL, s_broker_main, f), 0);
    f->dealer = et_zsock_new(f->ctx, ZMQ_DEALER, 1000);
    assert_non_null(f->dealer);
    assert_int_equal(et_zsock_connect(f->dealer, f->frontend), 0);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    if (!s_stop) {
        s_stop = 1;
        pthread_join(f->thread, NULL);
    }
    et_zsock_close(&f->dealer);
    et_zsock_close(&f->pull);
    zmq_ctx_term(f->ctx);
    const char *names[] = {"frontend", "backend", "collector"};
    for (size_t i = 0; i < 3; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The next message to the collector: its type and [epoch, seq]; a STATS
 * body goes into *stats when not NULL. */
static void
s_next(fixture_t *f, et_msg_type_t *type, et_seq_t *seq, et_stats_t *stats)
{
    zmq_pollitem_t item = {.socket = f->pull, .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
    zmq_msg_t frames[ET_FRAMES_MAX];
    int too_many = 0;
    int n = et_zsock_recv(f->pull, frames, ET_FRAMES_MAX, &too_many, 0);
    assert_int_equal(n, 3);
    assert_int_equal(et_codec_decode_header(zmq_msg_data(&frames[0]),
                                            zmq_msg_size(&frames[0]), type),
                     0);
    assert_int_equal(et_codec_decode_seq(zmq_msg_data(&frames[2]),
                                         zmq_msg_size(&frames[2]), seq),
                     0);
    if (stats && *type == ET_MSG_STATS)
        assert_int_equal(et_codec_decode_stats(zmq_msg_data(&frames[1]),
                                               zmq_msg_size(&frames[1]), stats),
                         0);
    et_zsock_frames_close(frames, n);
}

static void
s_collected(fixture_t *f, uint64_t epoch, uint64_t seq, int resume)
{
    et_collected_t m = {.epoch = epoch, .seq = seq, .resume = (uint8_t)resume};
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(et_codec_encode_collected(&b, &m), 0);
    uint64_t give_up = et_clock_mono_ns() + (uint64_t)WAIT_MS * ET_NS_PER_MS;
    while (et_zsock_send(f->dealer, NULL, ET_MSG_COLLECTED, &b, NULL,
                         ZMQ_DONTWAIT) != 0) {
        assert_int_equal(errno, EAGAIN);
        assert_true(et_clock_mono_ns() < give_up);
        usleep(1000);
    }
    msgpack_sbuffer_destroy(&b);
}

/* Read until message 'seq' comes again after a resume; every message
 * before it must be a newer one (sent before the resume was read). */
static void
s_expect_again(fixture_t *f, uint64_t epoch, uint64_t seq, uint64_t newest)
{
    for (;;) {
        et_msg_type_t type;
        et_seq_t s;
        s_next(f, &type, &s, NULL);
        assert_true(s.epoch == epoch);
        if (s.seq == seq)
            return;
        assert_true(s.seq > newest);
    }
}

static void
test_records_numbers_resends_on_resume_and_drops_on_ack(void **state)
{
    fixture_t *f = *state;
    et_msg_type_t type;
    et_seq_t s;
    s_next(f, &type, &s, NULL);
    assert_int_equal(type, ET_MSG_WORKFLOW);
    assert_true(s.seq == 1);
    uint64_t epoch = s.epoch;
    /* In order, from 1. */
    for (uint64_t want = 2; want <= 6; want++) {
        s_next(f, &type, &s, NULL);
        assert_int_equal(type, ET_MSG_STATS);
        assert_true(s.epoch == epoch && s.seq == want);
    }
    /* A resume after 3: 4, 5, 6 again, before anything new. */
    s_collected(f, epoch, 3, 1);
    s_expect_again(f, epoch, 4, 6);
    s_next(f, &type, &s, NULL);
    assert_true(s.seq == 5);
    s_next(f, &type, &s, NULL);
    assert_true(s.seq == 6);
    s_next(f, &type, &s, NULL);
    assert_true(s.seq == 7);
    /* Acknowledged up to 7: a resume for another epoch (a collector that
     * never heard of this broker) gets everything kept, from 8. */
    s_collected(f, epoch, 7, 0);
    uint64_t newest = 7;
    while (newest < 10) {
        s_next(f, &type, &s, NULL);
        assert_true(s.seq == newest + 1);
        newest = s.seq;
    }
    s_collected(f, epoch ^ 1, 0, 1);
    s_expect_again(f, epoch, 8, newest);
    /* Beyond what was sent, and an acknowledgement for another epoch:
     * bad, ignored. */
    s_collected(f, epoch, 1000000, 0);
    s_collected(f, epoch ^ 1, 5, 0);
    /* The next STATS after the broker read them counts both. */
    uint64_t give_up = et_clock_mono_ns() + (uint64_t)WAIT_MS * ET_NS_PER_MS;
    et_stats_t last;
    memset(&last, 0, sizeof last);
    while (last.bad_messages < 2 && et_clock_mono_ns() < give_up) {
        et_stats_t stats;
        s_next(f, &type, &s, &stats);
        if (type == ET_MSG_STATS)
            last = stats;
    }
    s_stop = 1;
    assert_int_equal(pthread_join(f->thread, NULL), 0);
    assert_int_equal(f->rc, 0);
    assert_int_equal(last.bad_messages, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_records_numbers_resends_on_resume_and_drops_on_ack, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
