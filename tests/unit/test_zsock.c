/* Unit tests for common/zsock's receive over an inproc PAIR: a multipart
 * message arrives whole and in order; one with more frames than asked for
 * keeps the first 'max', says so, and leaves the next message intact;
 * nothing waiting is EAGAIN without waiting. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/zsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    void *ctx;
    void *in, *out;
} s_pair_t;

static int
s_setup(void **state)
{
    static s_pair_t pair;
    static int serial;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://test-zsock-%d", serial++);
    pair.ctx = zmq_ctx_new();
    assert_non_null(pair.ctx);
    pair.in = et_zsock_new(pair.ctx, ZMQ_PAIR, 1000);
    pair.out = et_zsock_new(pair.ctx, ZMQ_PAIR, 1000);
    assert_non_null(pair.in);
    assert_non_null(pair.out);
    assert_int_equal(zmq_bind(pair.in, endpoint), 0);
    assert_int_equal(zmq_connect(pair.out, endpoint), 0);
    *state = &pair;
    return 0;
}

static int
s_teardown(void **state)
{
    s_pair_t *pair = *state;
    et_zsock_close(&pair->in);
    et_zsock_close(&pair->out);
    zmq_ctx_term(pair->ctx);
    return 0;
}

/* Send frames "f0", "f1", ... "f<n-1>" as one message. */
static void
s_send_frames(void *sock, int n)
{
    for (int i = 0; i < n; i++) {
        char text[16];
        int len = snprintf(text, sizeof text, "f%d", i);
        assert_int_equal(
            zmq_send(sock, text, (size_t)len, i + 1 < n ? ZMQ_SNDMORE : 0),
            len);
    }
}

static void
s_assert_frame(zmq_msg_t *frame, int i)
{
    char text[16];
    int len = snprintf(text, sizeof text, "f%d", i);
    assert_int_equal(zmq_msg_size(frame), (size_t)len);
    assert_memory_equal(zmq_msg_data(frame), text, (size_t)len);
}

static void
test_zsock_recv_takes_a_whole_message_in_order(void **state)
{
    s_pair_t *pair = *state;
    s_send_frames(pair->out, 3);
    zmq_msg_t frames[ET_FRAMES_MAX];
    int too_many = -1;
    int n = et_zsock_recv(pair->in, frames, ET_FRAMES_MAX, &too_many, 0);
    assert_int_equal(n, 3);
    assert_int_equal(too_many, 0);
    for (int i = 0; i < n; i++)
        s_assert_frame(&frames[i], i);
    et_zsock_frames_close(frames, n);
}

static void
test_zsock_recv_drops_frames_beyond_max_and_keeps_the_next_message(void **state)
{
    s_pair_t *pair = *state;
    s_send_frames(pair->out, ET_FRAMES_MAX + 3);
    s_send_frames(pair->out, 2);
    zmq_msg_t frames[ET_FRAMES_MAX];
    int too_many = 0;
    int n = et_zsock_recv(pair->in, frames, ET_FRAMES_MAX, &too_many, 0);
    assert_int_equal(n, ET_FRAMES_MAX);
    assert_int_equal(too_many, 1);
    for (int i = 0; i < n; i++)
        s_assert_frame(&frames[i], i);
    et_zsock_frames_close(frames, n);

    n = et_zsock_recv(pair->in, frames, ET_FRAMES_MAX, &too_many, 0);
    assert_int_equal(n, 2);
    assert_int_equal(too_many, 0);
    s_assert_frame(&frames[0], 0);
    s_assert_frame(&frames[1], 1);
    et_zsock_frames_close(frames, n);
}

static void
test_zsock_recv_without_waiting_says_eagain(void **state)
{
    s_pair_t *pair = *state;
    zmq_msg_t frames[ET_FRAMES_MAX];
    int too_many = -1;
    errno = 0;
    assert_int_equal(
        et_zsock_recv(pair->in, frames, ET_FRAMES_MAX, &too_many, ZMQ_DONTWAIT),
        -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(too_many, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_zsock_recv_takes_a_whole_message_in_order, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_zsock_recv_drops_frames_beyond_max_and_keeps_the_next_message,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_zsock_recv_without_waiting_says_eagain, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
