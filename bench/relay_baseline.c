/* Raw ZeroMQ baseline for Eventide's benchmarks: the same topology shape as
 * the pipeline (sender DEALER -> relay ROUTER frontend, relay ROUTER backend
 * <- worker DEALER that echoes back), one process each, over ipc:// in a
 * private temp dir, with libzmq only. Measures the relay's streaming
 * throughput and the round trip, back to back or paced (one request every
 * --rtt-interval-us, as a light-load rate sends them, so every process
 * sleeps between requests as Eventide's do); prints key=value lines. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define PROG "eventide-bench-relay"
#define MAX_WORKERS 64
#define MIN_MSG_BYTES 16 /* sequence number + send time */
#define MAX_MSG_BYTES 65536
#define POLL_MS 100
#define STALL_NS (5 * 1000000000LL) /* no reply for this long: give up */
#define READY_TIMEOUT_NS (10 * 1000000000LL)
/* A relay pass drains at most this many messages per socket before it
 * polls again, so neither direction starves the other. */
#define RELAY_BATCH 256

typedef struct {
    uint64_t messages;    /* throughput: messages per run */
    uint64_t window;      /* throughput: most messages in flight */
    uint64_t runs;        /* throughput: repetitions, median reported */
    uint64_t rtt_n;       /* round trip: measured requests */
    uint64_t warmup;      /* round trip: unmeasured requests first */
    uint64_t interval_us; /* round trip: one request every this, 0: back to
                             back */
    uint64_t msg_bytes;   /* payload size */
    uint64_t workers;     /* echo worker processes */
    const char *dir;      /* endpoint dir; NULL = fresh mkdtemp */
} config_t;

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static int
s_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: EINTR wakes the loops */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    return sigaction(SIGPIPE, &ign, NULL);
}

static int64_t
s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [options]\n"
            "Raw libzmq relay baseline: sender -> relay (ROUTER/ROUTER) -> "
            "echo worker -> relay -> sender,\n"
            "one process each, over ipc:// endpoints in a temp dir.\n"
            "  --messages N     messages per throughput run (default "
            "500000)\n"
            "  --window N       most messages in flight (default 2000)\n"
            "  --runs N         throughput runs, median reported (default 3)\n"
            "  --rtt N          measured round trips (default 20000)\n"
            "  --warmup N       unmeasured round trips first (default 1000)\n"
            "  --rtt-interval-us N  one round trip every N us, as a light "
            "load paces them\n"
            "                   (default 0: back to back)\n"
            "  --msg-bytes N    message size, %d..%d (default 40)\n"
            "  --workers N      echo worker processes, 1..%d (default 1)\n"
            "  --dir DIR        directory for the ipc endpoints (default: "
            "a fresh /tmp dir)\n"
            "  --help           this text\n"
            "Prints key=value lines: relay_throughput_mps, rtt_p50_us, "
            "rtt_p99_us, ...\n",
            MIN_MSG_BYTES, MAX_MSG_BYTES, MAX_WORKERS);
}

static int
s_parse_u64(const char *flag, const char *text, uint64_t min, uint64_t max,
            uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        goto fail;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        goto fail;
    *out = value;
    return 0;
fail:
    fprintf(stderr,
            "%s: %s '%s': expected an integer in [%" PRIu64 ", %" PRIu64 "]\n",
            PROG, flag, text, min, max);
    return -1;
}

/* Returns 0, 1 for --help, or 2 on a usage error. */
static int
s_parse_args(int argc, char **argv, config_t *cfg)
{
    static const struct option options[] = {
        {"messages", required_argument, NULL, 'n'},
        {"window", required_argument, NULL, 'w'},
        {"runs", required_argument, NULL, 'r'},
        {"rtt", required_argument, NULL, 't'},
        {"warmup", required_argument, NULL, 'u'},
        {"rtt-interval-us", required_argument, NULL, 'i'},
        {"msg-bytes", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'k'},
        {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *cfg = (config_t){.messages = 500000,
                      .window = 2000,
                      .runs = 3,
                      .rtt_n = 20000,
                      .warmup = 1000,
                      .msg_bytes = 40,
                      .workers = 1,
                      .dir = NULL};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int rc = 0;
        switch (opt) {
        case 'n':
            rc = s_parse_u64("--messages", optarg, 1, 1000000000,
                             &cfg->messages);
            break;
        case 'w':
            rc = s_parse_u64("--window", optarg, 1, 50000, &cfg->window);
            break;
        case 'r':
            rc = s_parse_u64("--runs", optarg, 1, 100, &cfg->runs);
            break;
        case 't':
            rc = s_parse_u64("--rtt", optarg, 1, 10000000, &cfg->rtt_n);
            break;
        case 'u':
            rc = s_parse_u64("--warmup", optarg, 0, 10000000, &cfg->warmup);
            break;
        case 'i':
            rc = s_parse_u64("--rtt-interval-us", optarg, 0, 10000000,
                             &cfg->interval_us);
            break;
        case 'b':
            rc = s_parse_u64("--msg-bytes", optarg, MIN_MSG_BYTES,
                             MAX_MSG_BYTES, &cfg->msg_bytes);
            break;
        case 'k':
            rc =
                s_parse_u64("--workers", optarg, 1, MAX_WORKERS, &cfg->workers);
            break;
        case 'd':
            if (optarg[0] == '\0' || strlen(optarg) > 80) {
                fprintf(stderr,
                        "%s: --dir '%s': expected a path of 1..80 "
                        "characters\n",
                        PROG, optarg);
                return 2;
            }
            cfg->dir = optarg;
            break;
        case 'h':
            return 1;
        case ':':
            fprintf(stderr, "%s: %s '': needs a value\n", PROG,
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "%s: %s '%s': unknown option\n", PROG,
                    argv[optind - 1], optarg ? optarg : argv[optind - 1]);
            return 2;
        }
        if (rc != 0)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "%s: argument '%s': unexpected\n", PROG, argv[optind]);
        return 2;
    }
    return 0;
}

/* ---- sockets -------------------------------------------------------------
 */

/* HWMs well above the largest window: in-flight messages are bounded by
 * the sender, so no send ever meets a full pipe. */
static void *
s_socket(void *ctx, int type)
{
    void *sock = zmq_socket(ctx, type);
    if (!sock)
        return NULL;
    int hwm = 200000, linger = 0, one = 1;
    if (zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0)
        goto fail;
    if (type == ZMQ_ROUTER &&
        zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0)
        goto fail;
    return sock;
fail:;
    int saved = errno;
    zmq_close(sock);
    errno = saved;
    return NULL;
}

/* Receive one multipart message of at most 'max' frames, non-blocking.
 * Returns the frame count, 0 if nothing was waiting, -1 on error, or
 * max + 1 if it had too many frames (all frames closed). */
static int
s_recv_frames(void *sock, zmq_msg_t *frames, int max)
{
    int count = 0;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        int flags = count == 0 ? ZMQ_DONTWAIT : 0;
        if (zmq_msg_recv(&part, sock, flags) < 0) {
            int saved = errno;
            zmq_msg_close(&part);
            for (int i = 0; i < count && i < max; i++)
                zmq_msg_close(&frames[i]);
            if (count == 0 && saved == EAGAIN)
                return 0;
            errno = saved;
            return -1;
        }
        bool more = zmq_msg_more(&part);
        if (count < max)
            frames[count] = part; /* moves ownership */
        else
            zmq_msg_close(&part);
        count++;
        if (!more)
            break;
    }
    if (count > max) {
        for (int i = 0; i < max; i++)
            zmq_msg_close(&frames[i]);
        return max + 1;
    }
    return count;
}

/* Send frames [from, count) non-blocking; frames are consumed either way.
 * Returns 0 or -1. */
static int
s_send_frames(void *sock, zmq_msg_t *frames, int from, int count)
{
    int rc = 0;
    for (int i = from; i < count; i++) {
        if (rc == 0) {
            int flags = ZMQ_DONTWAIT | (i + 1 < count ? ZMQ_SNDMORE : 0);
            if (zmq_msg_send(&frames[i], sock, flags) < 0) {
                rc = -1;
                zmq_msg_close(&frames[i]);
            }
        } else {
            zmq_msg_close(&frames[i]);
        }
    }
    return rc;
}

/* ---- relay process ---------------------------------------------------
 */

typedef struct {
    zmq_msg_t id;
} worker_ref_t;

/* Backend traffic: [worker_id, "READY"] or [worker_id, sender_id, payload]
 * which goes out on the frontend as [sender_id, payload]. */
static int
s_relay_backend(void *backend, void *frontend, worker_ref_t *workers,
                int *n_workers, uint64_t *dropped)
{
    for (int i = 0; i < RELAY_BATCH; i++) {
        zmq_msg_t frames[3];
        int count = s_recv_frames(backend, frames, 3);
        if (count <= 0)
            return count;
        if (count == 2 && *n_workers < MAX_WORKERS) {
            zmq_msg_init(&workers[*n_workers].id);
            zmq_msg_move(&workers[*n_workers].id, &frames[0]);
            (*n_workers)++;
            zmq_msg_close(&frames[0]);
            zmq_msg_close(&frames[1]);
        } else if (count == 3) {
            zmq_msg_close(&frames[0]);
            if (s_send_frames(frontend, frames, 1, 3) != 0)
                (*dropped)++;
        } else {
            if (count <= 3)
                for (int f = 0; f < count; f++)
                    zmq_msg_close(&frames[f]);
            (*dropped)++;
        }
    }
    return 0;
}

/* Frontend traffic: [sender_id, payload] goes to the next worker in
 * round-robin order as [worker_id, sender_id, payload]. */
static int
s_relay_frontend(void *frontend, void *backend, worker_ref_t *workers,
                 int n_workers, int *next, uint64_t *dropped)
{
    for (int i = 0; i < RELAY_BATCH; i++) {
        zmq_msg_t frames[3];
        int count = s_recv_frames(frontend, &frames[1], 2);
        if (count <= 0)
            return count;
        if (count != 2) {
            if (count < 2)
                for (int f = 1; f <= count; f++)
                    zmq_msg_close(&frames[f]);
            (*dropped)++;
            continue;
        }
        zmq_msg_init(&frames[0]);
        if (zmq_msg_copy(&frames[0], &workers[*next].id) != 0) {
            zmq_msg_close(&frames[0]);
            zmq_msg_close(&frames[1]);
            zmq_msg_close(&frames[2]);
            return -1;
        }
        *next = (*next + 1) % n_workers;
        if (s_send_frames(backend, frames, 0, 3) != 0)
            (*dropped)++;
    }
    return 0;
}

static int
s_relay_main(const char *dir)
{
    int rc = 1, n_workers = 0, next = 0;
    uint64_t dropped = 0;
    worker_ref_t workers[MAX_WORKERS];
    void *frontend = NULL, *backend = NULL;
    char ep[256];
    void *ctx = zmq_ctx_new();
    if (!ctx)
        goto fail;
    frontend = s_socket(ctx, ZMQ_ROUTER);
    backend = s_socket(ctx, ZMQ_ROUTER);
    if (!frontend || !backend)
        goto fail;
    snprintf(ep, sizeof ep, "ipc://%s/frontend.ipc", dir);
    if (zmq_bind(frontend, ep) != 0)
        goto fail;
    snprintf(ep, sizeof ep, "ipc://%s/backend.ipc", dir);
    if (zmq_bind(backend, ep) != 0)
        goto fail;
    while (!s_stop) {
        /* The frontend is read only once a worker exists: until then the
         * sender's messages wait in its own pipe. */
        zmq_pollitem_t items[2] = {{backend, 0, ZMQ_POLLIN, 0},
                                   {frontend, 0, ZMQ_POLLIN, 0}};
        int n_items = n_workers > 0 ? 2 : 1;
        if (zmq_poll(items, n_items, POLL_MS) < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if ((items[0].revents & ZMQ_POLLIN) &&
            s_relay_backend(backend, frontend, workers, &n_workers, &dropped) <
                0 &&
            errno != EINTR)
            goto fail;
        if (n_items == 2 && (items[1].revents & ZMQ_POLLIN) &&
            s_relay_frontend(frontend, backend, workers, n_workers, &next,
                             &dropped) < 0 &&
            errno != EINTR)
            goto fail;
    }
    rc = 0;
fail:
    if (rc != 0 && !s_stop)
        fprintf(stderr, "%s: relay: %s\n", PROG, zmq_strerror(errno));
    if (dropped > 0)
        fprintf(stderr, "%s: relay dropped %" PRIu64 " messages\n", PROG,
                dropped);
    for (int i = 0; i < n_workers; i++)
        zmq_msg_close(&workers[i].id);
    if (backend)
        zmq_close(backend);
    if (frontend)
        zmq_close(frontend);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

/* ---- echo worker process ---------------------------------------------
 */

static int
s_worker_main(const char *dir)
{
    int rc = 1;
    uint64_t dropped = 0;
    void *sock = NULL;
    char ep[256];
    void *ctx = zmq_ctx_new();
    if (!ctx)
        goto fail;
    sock = s_socket(ctx, ZMQ_DEALER);
    if (!sock)
        goto fail;
    snprintf(ep, sizeof ep, "ipc://%s/backend.ipc", dir);
    if (zmq_connect(sock, ep) != 0)
        goto fail;
    /* Blocking send: queued until the connection is up. */
    if (zmq_send(sock, "READY", 5, 0) != 5)
        goto fail;
    while (!s_stop) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, POLL_MS) < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        for (int i = 0; i < RELAY_BATCH && !s_stop; i++) {
            zmq_msg_t frames[2];
            int count = s_recv_frames(sock, frames, 2);
            if (count == 0)
                break;
            if (count < 0) {
                if (errno == EINTR)
                    break;
                goto fail;
            }
            if (count != 2) {
                if (count < 2)
                    zmq_msg_close(&frames[0]);
                dropped++;
                continue;
            }
            if (s_send_frames(sock, frames, 0, 2) != 0)
                dropped++;
        }
    }
    rc = 0;
fail:
    if (rc != 0 && !s_stop)
        fprintf(stderr, "%s: worker: %s\n", PROG, zmq_strerror(errno));
    if (dropped > 0)
        fprintf(stderr, "%s: worker dropped %" PRIu64 " messages\n", PROG,
                dropped);
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

/* ---- sender (this process) -------------------------------------------
 */

typedef struct {
    void *ctx;
    void *sock;
    uint64_t msg_bytes;
    uint8_t *buf;
} sender_t;

static int
s_sender_open(sender_t *self, const char *dir, uint64_t msg_bytes)
{
    char ep[256];
    *self = (sender_t){.msg_bytes = msg_bytes};
    self->buf = calloc(1, msg_bytes);
    self->ctx = zmq_ctx_new();
    if (!self->buf || !self->ctx)
        return -1;
    self->sock = s_socket(self->ctx, ZMQ_DEALER);
    if (!self->sock)
        return -1;
    snprintf(ep, sizeof ep, "ipc://%s/frontend.ipc", dir);
    return zmq_connect(self->sock, ep);
}

static void
s_sender_close(sender_t *self)
{
    if (self->sock)
        zmq_close(self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self->buf);
    *self = (sender_t){0};
}

/* Send message 'seq'. Returns 0, or -1 (EAGAIN when the pipe is full). */
static int
s_sender_send(sender_t *self, uint64_t seq, int flags)
{
    int64_t now = s_now_ns();
    memcpy(self->buf, &seq, sizeof seq);
    memcpy(self->buf + 8, &now, sizeof now);
    int n = zmq_send(self->sock, self->buf, self->msg_bytes, flags);
    return n == (int)self->msg_bytes ? 0 : -1;
}

/* Receive one echo within 'timeout_ms'. Returns 1 and sets *seq, 0 on
 * timeout, -1 on error or a malformed echo. */
static int
s_sender_recv(sender_t *self, int timeout_ms, uint64_t *seq)
{
    if (timeout_ms > 0) {
        zmq_pollitem_t item = {self->sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, timeout_ms);
        if (n < 0)
            return errno == EINTR ? 0 : -1;
        if (n == 0)
            return 0;
    }
    zmq_msg_t frames[1];
    int count = s_recv_frames(self->sock, frames, 1);
    if (count <= 0)
        return count == 0 || errno == EINTR ? 0 : -1;
    if (count != 1 || zmq_msg_size(&frames[0]) != self->msg_bytes) {
        if (count == 1)
            zmq_msg_close(&frames[0]);
        errno = EPROTO;
        return -1;
    }
    memcpy(seq, zmq_msg_data(&frames[0]), sizeof *seq);
    zmq_msg_close(&frames[0]);
    return 1;
}

static int
s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static int64_t
s_percentile(const int64_t *sorted, uint64_t n, double p)
{
    uint64_t rank = (uint64_t)(p * (double)n + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Sleep until the monotonic time 'at' (ns); a signal ends it early. */
static void
s_sleep_until(int64_t at)
{
    struct timespec ts = {.tv_sec = at / 1000000000LL,
                          .tv_nsec = at % 1000000000LL};
    while (!s_stop &&
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* One request at a time: warmup (also waits for the path to be up), then
 * 'n' timed round trips, each sent 'interval_ns' after the one before
 * (0: as soon as its answer is in). Fills rtt_ns[0..n). Returns 0 or -1. */
static int
s_measure_rtt(sender_t *self, uint64_t warmup, uint64_t n, int64_t interval_ns,
              int64_t *rtt_ns)
{
    int64_t due = s_now_ns();
    for (uint64_t i = 0; i < warmup + n; i++) {
        if (interval_ns > 0 && i > warmup) {
            due += interval_ns;
            s_sleep_until(due);
        } else if (i == warmup) {
            due = s_now_ns();
        }
        int64_t start = s_now_ns();
        int64_t limit = i == 0 ? READY_TIMEOUT_NS : STALL_NS;
        /* Blocking send: the first one waits for the connection. */
        if (s_sender_send(self, i, 0) != 0)
            return -1;
        uint64_t seq = UINT64_MAX;
        for (;;) {
            int got = s_sender_recv(self, POLL_MS, &seq);
            if (got < 0)
                return -1;
            if (got == 1)
                break;
            if (s_stop || s_now_ns() - start > limit) {
                errno = s_stop ? EINTR : ETIMEDOUT;
                return -1;
            }
        }
        int64_t end = s_now_ns();
        if (seq != i) {
            errno = EPROTO;
            return -1;
        }
        if (i >= warmup)
            rtt_ns[i - warmup] = end - start;
    }
    return 0;
}

/* Stream 'messages' through the relay with at most 'window' in flight.
 * Returns messages per second, or -1. */
static double
s_measure_throughput(sender_t *self, uint64_t messages, uint64_t window)
{
    uint64_t sent = 0, received = 0;
    int64_t start = s_now_ns(), last_progress = start;
    while (received < messages) {
        if (s_stop) {
            errno = EINTR;
            return -1;
        }
        while (sent < messages && sent - received < window) {
            if (s_sender_send(self, sent, ZMQ_DONTWAIT) != 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                return -1;
            }
            sent++;
        }
        /* Block only when there is nothing more to send. */
        int wait_ms =
            (sent == messages || sent - received >= window) ? POLL_MS : 0;
        uint64_t seq;
        int got = s_sender_recv(self, wait_ms, &seq);
        if (got < 0)
            return -1;
        while (got == 1) {
            received++;
            last_progress = s_now_ns();
            if (received == messages)
                break;
            got = s_sender_recv(self, 0, &seq);
            if (got < 0)
                return -1;
        }
        if (s_now_ns() - last_progress > STALL_NS) {
            fprintf(stderr,
                    "%s: throughput run stalled: sent %" PRIu64
                    ", received %" PRIu64 "\n",
                    PROG, sent, received);
            errno = ETIMEDOUT;
            return -1;
        }
    }
    double secs = (double)(s_now_ns() - start) / 1e9;
    return (double)messages / secs;
}

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int
s_run_benchmarks(const config_t *cfg, const char *dir)
{
    int rc = 1;
    sender_t sender = {0};
    int64_t *rtt = calloc(cfg->rtt_n, sizeof *rtt);
    double *mps = calloc(cfg->runs, sizeof *mps);
    if (!rtt || !mps || s_sender_open(&sender, dir, cfg->msg_bytes) != 0)
        goto fail;
    if (s_measure_rtt(&sender, cfg->warmup, cfg->rtt_n,
                      (int64_t)cfg->interval_us * 1000, rtt) != 0)
        goto fail;
    for (uint64_t r = 0; r < cfg->runs; r++) {
        mps[r] = s_measure_throughput(&sender, cfg->messages, cfg->window);
        if (mps[r] < 0)
            goto fail;
    }
    double sum = 0;
    for (uint64_t i = 0; i < cfg->rtt_n; i++)
        sum += (double)rtt[i];
    qsort(rtt, cfg->rtt_n, sizeof *rtt, s_cmp_i64);
    printf("transport=ipc\nprocesses=sender,relay,%" PRIu64 "xworker\n",
           cfg->workers);
    printf("msg_bytes=%" PRIu64 "\n", cfg->msg_bytes);
    printf("relay_messages=%" PRIu64 "\nrelay_window=%" PRIu64 "\n",
           cfg->messages, cfg->window);
    printf("relay_throughput_mps_runs=");
    for (uint64_t r = 0; r < cfg->runs; r++)
        printf("%s%.0f", r ? "," : "", mps[r]);
    qsort(mps, cfg->runs, sizeof *mps, s_cmp_double);
    printf("\nrelay_throughput_mps=%.0f\n", mps[cfg->runs / 2]);
    printf("rtt_requests=%" PRIu64 "\n", cfg->rtt_n);
    printf("rtt_interval_us=%" PRIu64 "\n", cfg->interval_us);
    printf("rtt_mean_us=%.1f\n", sum / (double)cfg->rtt_n / 1e3);
    printf("rtt_p50_us=%.1f\n",
           (double)s_percentile(rtt, cfg->rtt_n, 0.50) / 1e3);
    printf("rtt_p90_us=%.1f\n",
           (double)s_percentile(rtt, cfg->rtt_n, 0.90) / 1e3);
    printf("rtt_p99_us=%.1f\n",
           (double)s_percentile(rtt, cfg->rtt_n, 0.99) / 1e3);
    printf("rtt_max_us=%.1f\n", (double)rtt[cfg->rtt_n - 1] / 1e3);
    rc = fflush(stdout) == 0 ? 0 : 1;
fail:
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", PROG, zmq_strerror(errno));
    s_sender_close(&sender);
    free(mps);
    free(rtt);
    return rc;
}

/* ---- processes -------------------------------------------------------
 */

/* Fork a child running role(dir); it dies with us. Returns its pid or -1.
 * Forking happens before this process creates any ZeroMQ context. */
static pid_t
s_spawn(int (*role)(const char *), const char *dir)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        _exit(1);
    _exit(role(dir));
}

static void
s_reap(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (int i = 0; i < n; i++)
        while (pids[i] > 0 && waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
            ;
}

int
main(int argc, char **argv)
{
    config_t cfg;
    int parsed = s_parse_args(argc, argv, &cfg);
    if (parsed != 0) {
        if (parsed == 1)
            s_usage(stdout);
        return parsed == 1 ? 0 : 2;
    }
    if (s_install_signals() != 0)
        return 1;
    char tmp[] = "/tmp/eventide-bench.XXXXXX";
    const char *dir = cfg.dir ? cfg.dir : mkdtemp(tmp);
    if (!dir) {
        perror(PROG ": mkdtemp");
        return 1;
    }
    pid_t pids[MAX_WORKERS + 1] = {0};
    int n_pids = 0, rc = 1;
    pids[n_pids++] = s_spawn(s_relay_main, dir);
    for (uint64_t i = 0; i < cfg.workers && pids[n_pids - 1] > 0; i++)
        pids[n_pids++] = s_spawn(s_worker_main, dir);
    if (pids[n_pids - 1] > 0)
        rc = s_run_benchmarks(&cfg, dir);
    else
        perror(PROG ": fork");
    s_reap(pids, n_pids);
    if (!cfg.dir) {
        char path[128];
        snprintf(path, sizeof path, "%s/frontend.ipc", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/backend.ipc", dir);
        unlink(path);
        rmdir(dir);
    }
    return rc;
}
