/* et-garbage: sends malformed traffic to one endpoint, for the tests that
 * check every bound socket survives bad input: random frames, valid
 * headers with bad bodies, wrong versions, unknown types, too many frames,
 * empty and oversized frames, batches (EVENTS, TASKS, RESULTS) whose frames
 * do not match their bodies or with one bad part. Test-only; never part of
 * a pipeline. */
#include "common/cli.h"
#include "common/codec.h"
#include "common/rng.h"
#include "common/zsock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_random_bytes(et_rng_t *rng, unsigned char *buf, size_t size)
{
    for (size_t i = 0; i < size; i++)
        buf[i] = (unsigned char)et_rng_next(rng);
}

/* One malformed message: 'kind' picks the flavour. */
static int
s_send_one(void *sock, et_rng_t *rng, unsigned kind, unsigned char *buf,
           size_t big)
{
    unsigned char header[3] = {0x92, ET_PROTOCOL_VERSION,
                               (unsigned char)(1 + et_rng_next(rng) % 29)};
    size_t size = et_rng_next(rng) % 200;
    s_random_bytes(rng, buf, size);
    int frames = 1 + (int)(et_rng_next(rng) % 6);
    switch (kind % 8) {
    case 0: /* random frames, random count */
        for (int i = 0; i < frames; i++) {
            size_t n = et_rng_next(rng) % 64;
            s_random_bytes(rng, buf, n);
            if (zmq_send(sock, buf, n, i + 1 < frames ? ZMQ_SNDMORE : 0) < 0)
                return -1;
        }
        return 0;
    case 1: /* valid header, random body */
        return zmq_send(sock, header, 3, ZMQ_SNDMORE) < 0 ||
                       zmq_send(sock, buf, size, 0) < 0
                   ? -1
                   : 0;
    case 2: /* wrong protocol version */
        header[1] = 77;
        return zmq_send(sock, header, 3, ZMQ_SNDMORE) < 0 ||
                       zmq_send(sock, buf, size, 0) < 0
                   ? -1
                   : 0;
    case 3: /* unknown type */
        header[2] = 99;
        return zmq_send(sock, header, 3, 0) < 0 ? -1 : 0;
    case 4: /* too many frames */
        for (int i = 0; i < 9; i++)
            if (zmq_send(sock, header, 3, i < 8 ? ZMQ_SNDMORE : 0) < 0)
                return -1;
        return 0;
    case 5: /* a valid header and an oversized body */
        return zmq_send(sock, header, 3, ZMQ_SNDMORE) < 0 ||
                       zmq_send(sock, buf, big, 0) < 0
                   ? -1
                   : 0;
    case 7: /* a batch: frames that do not match its body, or a bad event */
    {
        static const unsigned char types[] = {ET_MSG_EVENTS, ET_MSG_TASKS,
                                              ET_MSG_RESULTS};
        header[2] = types[et_rng_next(rng) % 3];
        et_event_t events[4];
        size_t n = 2 + et_rng_next(rng) % 3;
        for (size_t i = 0; i < n; i++)
            events[i] = (et_event_t){.event_id = et_rng_next(rng),
                                     .producer_id = 1,
                                     .intended_ns = 1,
                                     .sent_ns = 1,
                                     .label = ET_LABEL_NONE};
        /* Either one payload frame too many or too few, or the right
         * count and a label no event may have. */
        int mismatch = (int)(et_rng_next(rng) % 2);
        size_t payloads = mismatch ? n + 1 - 2 * (et_rng_next(rng) % 2) : n;
        if (!mismatch)
            events[et_rng_next(rng) % n].label = -5;
        msgpack_sbuffer body;
        msgpack_sbuffer_init(&body);
        int rc = et_codec_encode_events(&body, events, n) != 0 ||
                 zmq_send(sock, header, 3, ZMQ_SNDMORE) < 0 ||
                 zmq_send(sock, body.data, body.size, ZMQ_SNDMORE) < 0;
        for (size_t i = 0; i < payloads && rc == 0; i++)
            rc = zmq_send(sock, buf, 8, i + 1 < payloads ? ZMQ_SNDMORE : 0) < 0;
        msgpack_sbuffer_destroy(&body);
        return rc ? -1 : 0;
    }
    default: /* empty frames */
        return zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 ||
                       zmq_send(sock, "", 0, 0) < 0
                   ? -1
                   : 0;
    }
}

int
main(int argc, char **argv)
{
    uint64_t count, seed;
    if (argc != 5 || et_cli_check_endpoint(argv[1]) != 0 ||
        (strcmp(argv[2], "dealer") != 0 && strcmp(argv[2], "push") != 0) ||
        et_cli_parse_u64(argv[3], 1, 10000000, &count) != 0 ||
        et_cli_parse_u64(argv[4], 0, UINT64_MAX, &seed) != 0) {
        fprintf(stderr, "usage: et-garbage ENDPOINT dealer|push COUNT SEED\n");
        return 2;
    }
    size_t big = 2u << 20; /* beyond every size limit */
    unsigned char *buf = malloc(big);
    void *ctx = zmq_ctx_new();
    void *sock = et_zsock_new(
        ctx, strcmp(argv[2], "dealer") == 0 ? ZMQ_DEALER : ZMQ_PUSH, 100000);
    if (!buf || !sock || et_zsock_connect(sock, argv[1]) != 0) {
        fprintf(stderr, "et-garbage: cannot connect to %s\n", argv[1]);
        return 1;
    }
    /* Everything sent must arrive: wait for the queue to flush on close. */
    int timeout = 5000, linger = 10000;
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    et_rng_t rng;
    et_rng_seed(&rng, seed);
    uint64_t sent = 0;
    for (uint64_t i = 0; i < count; i++) {
        /* Oversized bodies are rare: they take memory on both sides. */
        unsigned kind = (unsigned)(et_rng_next(&rng) % 8);
        if (kind == 5 && i % 50 != 0)
            kind = 1;
        if (s_send_one(sock, &rng, kind, buf, big) != 0) {
            fprintf(stderr, "et-garbage: send failed after %llu: %s\n",
                    (unsigned long long)sent, zmq_strerror(zmq_errno()));
            break;
        }
        sent++;
    }
    printf("et-garbage: sent %llu malformed messages to %s\n",
           (unsigned long long)sent, argv[1]);
    et_zsock_close(&sock);
    zmq_ctx_term(ctx);
    free(buf);
    return sent == count ? 0 : 1;
}
