/* The clock-probe thread: its own socket, its own loop, atomics to share
 * what it learns. See clockprobe.h. */
#include "common/clockprobe.h"

#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/zsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

/* Probes are a few per second at most; a small queue is plenty. */
#define S_HWM 100
/* Poll timeouts: short while the socket is not connected yet (a probe is
 * waiting to go), else until the next probe is due, at most S_POLL_MAX_MS.
 * Stopping does not wait for it: et_clockprobe_stop writes wake_fd. Every
 * process of a run has this thread, so an idle one must not wake often
 * (it woke every 100 ms, ten times a second in each of 500 workers). */
#define S_POLL_CONNECTING_MS 10
#define S_POLL_MAX_MS 5000

struct et_clockprobe_t {
    et_clockprobe_config_t cfg;
    char endpoint[ET_ENDPOINT_MAX];
    char name[ET_NAME_MAX];
    char host[ET_NAME_MAX];
    pthread_t thread;
    int wake_fd; /* eventfd: readable once stop is set */
    atomic_int stop;
    atomic_int first_done;
    _Atomic int64_t correction_ns;
};

/* A new estimate: take its correction, say so when it changes, and report
 * it to the broker. */
static void
s_estimated(et_clockprobe_t *self, const et_clocksync_t *cs, void *sock,
            msgpack_sbuffer *buf)
{
    const et_clock_estimate_t *e = &cs->current;
    int64_t correction = self->cfg.corrects ? et_clocksync_correction(cs) : 0;
    int64_t before = atomic_exchange(&self->correction_ns, correction);
    if (cs->estimates == 1 || correction != before)
        ET_LOG_INFO("clock offset to the broker %+.3f ms +/- %.3f ms (round "
                    "trip %.3f ms)%s",
                    (double)e->offset_ns / 1e6, (double)e->bound_ns / 1e6,
                    (double)e->rtt_ns / 1e6,
                    !self->cfg.corrects ? ""
                    : correction        ? ": times sent are corrected"
                                        : ": not corrected (may be zero)");
    et_clock_report_t report;
    et_clocksync_report(cs, self->cfg.role, self->name, self->host,
                        self->cfg.producer_id, &report);
    report.correction_ns = correction;
    msgpack_sbuffer_clear(buf);
    if (et_codec_encode_clock(buf, &report) != 0 ||
        et_zsock_send(sock, NULL, ET_MSG_CLOCK, buf, NULL, ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN("cannot send a clock report: %s", zmq_strerror(errno));
}

/* An answer from the broker, read at t4. */
static void
s_answer(et_clocksync_t *cs, zmq_msg_t *frames, int count, int too_many,
         int64_t t4)
{
    et_msg_type_t type;
    et_time_rep_t rep;
    if (too_many || count != 2 ||
        et_codec_decode_header(zmq_msg_data(&frames[0]),
                               zmq_msg_size(&frames[0]), &type) != 0 ||
        type != ET_MSG_TIME_REP ||
        et_codec_decode_time_rep(zmq_msg_data(&frames[1]),
                                 zmq_msg_size(&frames[1]), &rep) != 0) {
        cs->bad++;
        ET_LOG_DEBUG("clock probe socket: malformed or unexpected message");
        return;
    }
    /* A late answer to a probe already given up on is no fault. */
    if (et_clocksync_reply(cs, &rep, et_clock_mono_ns(), t4) != 0)
        ET_LOG_DEBUG("clock probe answer %u dropped (late or impossible)",
                     (unsigned)rep.seq);
}

/* How long the loop may sleep: until the next probe is due (rounded up,
 * so it does not wake just before), at most S_POLL_MAX_MS. */
static long
s_timeout_ms(const et_clocksync_t *cs, uint64_t now, int waiting)
{
    if (waiting)
        return S_POLL_CONNECTING_MS;
    uint64_t due = et_clocksync_next_due(cs);
    if (due <= now)
        return 0;
    uint64_t ms = (due - now + ET_NS_PER_MS - 1) / ET_NS_PER_MS;
    return ms > S_POLL_MAX_MS ? S_POLL_MAX_MS : (long)ms;
}

static void *
s_main(void *arg)
{
    et_clockprobe_t *self = arg;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    void *sock = et_zsock_new(self->cfg.ctx, ZMQ_DEALER, S_HWM);
    if (!sock || et_curve_connect(self->cfg.curve, sock, self->endpoint) != 0) {
        ET_LOG_ERROR("clock probes: cannot connect to %s: %s", self->endpoint,
                     zmq_strerror(errno));
        atomic_store(&self->first_done, 1);
        goto out;
    }
    et_clocksync_t cs;
    et_clocksync_init(&cs, self->cfg.mode, self->cfg.interval_ns,
                      et_clock_mono_ns());
    uint64_t first_sent = 0; /* CLOCK_MONOTONIC of the first probe out */
    while (!atomic_load(&self->stop)) {
        et_time_req_t req;
        int waiting = 0; /* a probe is due but the socket would not take it */
        uint64_t now = et_clock_mono_ns();
        if (et_clocksync_poll(&cs, now, et_clock_real_ns(), &req)) {
            msgpack_sbuffer_clear(&buf);
            if (et_codec_encode_time_req(&buf, &req) != 0 ||
                et_zsock_send(sock, NULL, ET_MSG_TIME_REQ, &buf, NULL,
                              ZMQ_DONTWAIT) != 0) {
                et_clocksync_unsend(&cs);
                waiting = 1;
            } else if (first_sent == 0) {
                first_sent = now;
            }
        }
        if (et_clocksync_fresh(&cs))
            s_estimated(self, &cs, sock, &buf);
        if (!atomic_load(&self->first_done) && first_sent != 0 &&
            (!et_clocksync_busy(&cs) ||
             now - first_sent >= (uint64_t)ET_CLOCKPROBE_FIRST_MAX_NS)) {
            if (!cs.have)
                ET_LOG_WARN("no clock estimate: the broker answered %u of the "
                            "first probes within %.3g s",
                            (unsigned)cs.samples,
                            (double)ET_CLOCKPROBE_FIRST_MAX_NS / 1e9);
            atomic_store(&self->first_done, 1);
        }
        zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLIN, 0},
                                   {NULL, self->wake_fd, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, s_timeout_ms(&cs, now, waiting));
        if (rc < 0 && errno != EINTR) {
            ET_LOG_ERROR("clock probes: poll: %s", zmq_strerror(errno));
            break;
        }
        while (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
            zmq_msg_t frames[ET_FRAMES_MAX];
            int too_many = 0;
            int count = et_zsock_recv(sock, frames, ET_FRAMES_MAX, &too_many,
                                      ZMQ_DONTWAIT);
            int64_t t4 = et_clock_real_ns();
            if (count < 0)
                break;
            s_answer(&cs, frames, count, too_many, t4);
            et_zsock_frames_close(frames, count);
        }
    }
    atomic_store(&self->first_done, 1);
out:
    et_zsock_close(&sock);
    msgpack_sbuffer_destroy(&buf);
    return NULL;
}

et_clockprobe_t *
et_clockprobe_start(const et_clockprobe_config_t *cfg)
{
    if (cfg->mode == ET_CLOCKSYNC_OFF) {
        errno = 0;
        return NULL;
    }
    et_clockprobe_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    snprintf(self->endpoint, sizeof self->endpoint, "%s", cfg->endpoint);
    snprintf(self->name, sizeof self->name, "%s", cfg->name);
    snprintf(self->host, sizeof self->host, "%s", cfg->host);
    self->cfg.endpoint = self->endpoint;
    self->cfg.name = self->name;
    self->cfg.host = self->host;
    atomic_init(&self->stop, 0);
    atomic_init(&self->first_done, 0);
    atomic_init(&self->correction_ns, 0);
    self->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (self->wake_fd < 0) {
        int saved_errno = errno;
        free(self);
        errno = saved_errno;
        return NULL;
    }
    /* The thread inherits a mask with every signal blocked: signals keep
     * interrupting the process's own loop. */
    sigset_t all, saved;
    sigfillset(&all);
    int rc = pthread_sigmask(SIG_BLOCK, &all, &saved);
    if (rc == 0) {
        rc = pthread_create(&self->thread, NULL, s_main, self);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
    }
    if (rc != 0) {
        close(self->wake_fd);
        free(self);
        errno = rc;
        return NULL;
    }
    return self;
}

int
et_clockprobe_wait_first(et_clockprobe_t *self, int64_t timeout_ns,
                         volatile sig_atomic_t *stop)
{
    uint64_t deadline = et_clock_mono_ns() + (uint64_t)timeout_ns;
    while (!atomic_load(&self->first_done)) {
        if ((stop && *stop) || et_clock_mono_ns() >= deadline)
            return 0;
        /* EINTR (a signal) just looks at the flags again sooner. */
        et_clock_sleep_until_mono(et_clock_mono_ns() + 5 * ET_NS_PER_MS);
    }
    return 1;
}

int64_t
et_clockprobe_correction(const et_clockprobe_t *self)
{
    return self ? atomic_load(&self->correction_ns) : 0;
}

void
et_clockprobe_stop(et_clockprobe_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_clockprobe_t *self = *self_p;
    atomic_store(&self->stop, 1);
    uint64_t one = 1;
    if (write(self->wake_fd, &one, sizeof one) < 0)
        ET_LOG_DEBUG("clock probes: cannot wake the thread: %s",
                     strerror(errno));
    pthread_join(self->thread, NULL);
    close(self->wake_fd);
    free(self);
    *self_p = NULL;
}
