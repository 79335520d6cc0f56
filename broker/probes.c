/* Clock probes, the same on both of the broker's sockets: TIME_REQ is
 * answered at once with this clock's instants (the broker's clock is the
 * reference), and CLOCK reports go on to the collector. */
#include "broker/broker_internal.h"

#include "common/log.h"
#include "common/zsock.h"

#include <errno.h>

/* t2 is when the probe was read, not when it arrived: time it waited in
 * the socket only widens the prober's bound, never biases it past that. */
int
et_broker_answer_time(et_broker_t *self, void *sock, zmq_msg_t *frames,
                      int count)
{
    int64_t t2 = et_clock_real_ns();
    et_time_req_t req;
    if (count != 3 ||
        et_codec_decode_time_req(zmq_msg_data(&frames[2]),
                                 zmq_msg_size(&frames[2]), &req) != 0)
        return -1;
    et_time_rep_t rep = {.seq = req.seq, .t1_ns = req.t1_ns, .t2_ns = t2};
    msgpack_sbuffer_clear(&self->scratch);
    rep.t3_ns = et_clock_real_ns();
    if (et_codec_encode_time_rep(&self->scratch, &rep) != 0 ||
        et_zsock_send(sock, &frames[0], ET_MSG_TIME_REP, &self->scratch, NULL,
                      ZMQ_DONTWAIT) != 0)
        ET_LOG_WARN_LIMITED("cannot answer a clock probe: %s",
                            zmq_strerror(errno));
    return 0;
}

int
et_broker_forward_clock(et_broker_t *self, zmq_msg_t *frames, int count,
                        et_clock_role_t role)
{
    et_clock_report_t clock;
    if (count != 3 ||
        et_codec_decode_clock(zmq_msg_data(&frames[2]),
                              zmq_msg_size(&frames[2]), &clock) != 0 ||
        clock.role != role)
        return -1;
    ET_LOG_DEBUG("%s on %s: clock offset %+.3f ms +/- %.3f ms", clock.name,
                 clock.host, (double)clock.offset_ns / 1e6,
                 (double)clock.bound_ns / 1e6);
    et_broker_forward(self, ET_MSG_CLOCK, &frames[2]);
    return 0;
}
