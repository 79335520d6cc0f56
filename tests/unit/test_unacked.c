/* Unit tests for broker/unacked: an acknowledgement drops a prefix, a
 * resume drops a prefix and sends the rest again in order (stopping where
 * the sender does), the byte bound refuses without losing anything kept,
 * and a send that failed is forgotten. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "broker/unacked.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* What a resend delivered, and after how many sends it starts refusing. */
typedef struct {
    uint64_t seqs[64];
    char bodies[64][8];
    size_t n;
    size_t refuse_after;
} s_sink_t;

static int
s_send(void *arg, uint64_t seq, uint8_t type, const void *body, size_t size)
{
    s_sink_t *sink = arg;
    if (sink->n >= sink->refuse_after) {
        errno = EAGAIN;
        return -1;
    }
    assert_int_equal(type, 20);
    assert_true(size < sizeof sink->bodies[0]);
    memcpy(sink->bodies[sink->n], body, size);
    sink->bodies[sink->n][size] = '\0';
    sink->seqs[sink->n++] = seq;
    return 0;
}

static void
s_keep(et_unacked_t *u, uint64_t seq)
{
    char body[8];
    snprintf(body, sizeof body, "m%llu", (unsigned long long)seq);
    assert_int_equal(et_unacked_keep(u, seq, 20, body, strlen(body)), 0);
}

static void
test_unacked_ack_drops_up_to_the_sequence(void **state)
{
    (void)state;
    et_unacked_t *u = et_unacked_new(1 << 20);
    assert_non_null(u);
    for (uint64_t s = 1; s <= 5; s++)
        s_keep(u, s);
    assert_int_equal(et_unacked_stats(u).messages, 5);
    assert_int_equal(et_unacked_ack(u, 3), 3);
    assert_int_equal(et_unacked_stats(u).messages, 2);
    assert_int_equal(et_unacked_stats(u).first_seq, 4);
    /* An older or repeated acknowledgement changes nothing. */
    assert_int_equal(et_unacked_ack(u, 2), 0);
    assert_int_equal(et_unacked_ack(u, 5), 2);
    assert_int_equal(et_unacked_stats(u).messages, 0);
    assert_int_equal(et_unacked_stats(u).bytes, 0);
    assert_int_equal(et_unacked_stats(u).first_seq, 0);
    assert_false(et_unacked_resending(u));
    et_unacked_destroy(&u);
    assert_null(u);
    et_unacked_destroy(&u);
}

static void
test_unacked_resume_sends_the_rest_again_in_order(void **state)
{
    (void)state;
    et_unacked_t *u = et_unacked_new(1 << 20);
    for (uint64_t s = 1; s <= 6; s++)
        s_keep(u, s);
    et_unacked_rewind(u, 2);
    assert_true(et_unacked_resending(u));
    s_sink_t sink = {.refuse_after = 2};
    /* The socket takes two, then refuses: the rest waits, in order. */
    assert_int_equal(et_unacked_resend(u, s_send, &sink), 2);
    assert_true(et_unacked_resending(u));
    sink.refuse_after = 64;
    assert_int_equal(et_unacked_resend(u, s_send, &sink), 2);
    assert_false(et_unacked_resending(u));
    assert_int_equal(sink.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(sink.seqs[i] == 3 + i);
    assert_string_equal(sink.bodies[0], "m3");
    assert_string_equal(sink.bodies[3], "m6");
    /* Still kept until acknowledged. */
    assert_int_equal(et_unacked_stats(u).messages, 4);
    assert_int_equal(et_unacked_stats(u).resent, 4);
    et_unacked_destroy(&u);
}

/* A resume while a resend is under way starts it again from the new
 * point; an acknowledgement during it moves the cursor on. */
static void
test_unacked_resume_again_restarts_and_ack_moves_the_cursor(void **state)
{
    (void)state;
    et_unacked_t *u = et_unacked_new(1 << 20);
    for (uint64_t s = 1; s <= 6; s++)
        s_keep(u, s);
    et_unacked_rewind(u, 0);
    s_sink_t sink = {.refuse_after = 3};
    assert_int_equal(et_unacked_resend(u, s_send, &sink), 3);
    et_unacked_rewind(u, 1);
    sink.refuse_after = 4;
    assert_int_equal(et_unacked_resend(u, s_send, &sink), 1);
    assert_true(sink.seqs[3] == 2);
    /* Acknowledged past the cursor: the resend goes on after it. */
    assert_int_equal(et_unacked_ack(u, 4), 3);
    sink.refuse_after = 64;
    assert_int_equal(et_unacked_resend(u, s_send, &sink), 2);
    assert_true(sink.seqs[4] == 5 && sink.seqs[5] == 6);
    et_unacked_destroy(&u);
}

static void
test_unacked_bound_refuses_without_losing_what_is_kept(void **state)
{
    (void)state;
    et_unacked_t *probe = et_unacked_new(1 << 20);
    s_keep(probe, 1);
    uint64_t one = et_unacked_stats(probe).bytes;
    et_unacked_destroy(&probe);

    et_unacked_t *u = et_unacked_new(3 * one);
    for (uint64_t s = 1; s <= 3; s++)
        s_keep(u, s);
    errno = 0;
    assert_int_equal(et_unacked_keep(u, 4, 20, "m4", 2), -1);
    assert_int_equal(errno, ENOBUFS);
    assert_int_equal(et_unacked_stats(u).messages, 3);
    assert_int_equal(et_unacked_stats(u).no_memory, 0);
    /* An acknowledgement makes room again. */
    assert_int_equal(et_unacked_ack(u, 1), 1);
    s_keep(u, 4);
    et_unacked_rewind(u, 0);
    s_sink_t sink = {.refuse_after = 64};
    assert_int_equal(et_unacked_resend(u, s_send, &sink), 3);
    assert_true(sink.seqs[0] == 2 && sink.seqs[2] == 4);
    et_unacked_destroy(&u);
}

static void
test_unacked_forget_last_undoes_a_failed_send(void **state)
{
    (void)state;
    et_unacked_t *u = et_unacked_new(1 << 20);
    s_keep(u, 1);
    et_unacked_forget_last(u);
    assert_int_equal(et_unacked_stats(u).messages, 0);
    assert_int_equal(et_unacked_stats(u).bytes, 0);
    for (uint64_t s = 1; s <= 3; s++)
        s_keep(u, s);
    et_unacked_forget_last(u);
    assert_int_equal(et_unacked_stats(u).messages, 2);
    s_keep(u, 3);
    et_unacked_rewind(u, 0);
    s_sink_t sink = {.refuse_after = 64};
    assert_int_equal(et_unacked_resend(u, s_send, &sink), 3);
    assert_true(sink.seqs[2] == 3);
    et_unacked_destroy(&u);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unacked_ack_drops_up_to_the_sequence),
        cmocka_unit_test(test_unacked_resume_sends_the_rest_again_in_order),
        cmocka_unit_test(
            test_unacked_resume_again_restarts_and_ack_moves_the_cursor),
        cmocka_unit_test(
            test_unacked_bound_refuses_without_losing_what_is_kept),
        cmocka_unit_test(test_unacked_forget_last_undoes_a_failed_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
