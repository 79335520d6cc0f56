/* Stats client for `eventide status`. */
#include "broker/status.h"

#include "common/clock.h"
#include "common/curve.h"
#include "common/log.h"
#include "common/zsock.h"

#include <errno.h>
#include <limits.h>

uint32_t
et_status_instances(const et_stats_t *stats)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < stats->n_functions; i++)
        n += stats->functions[i].instances;
    return n;
}

int
et_status_fetch(const char *endpoint, long timeout_ms, uint32_t min_instances,
                et_stats_t *stats)
{
    return et_status_fetch_curve(endpoint, NULL, timeout_ms, min_instances,
                                 stats);
}

int
et_status_fetch_curve(const char *endpoint, const char *curve_dir,
                      long timeout_ms, uint32_t min_instances,
                      et_stats_t *stats)
{
    int rc = -1;
    int err = ETIMEDOUT;
    et_curve_t *curve = NULL;
    void *ctx = NULL, *sub = NULL;
    if (curve_dir) {
        char why[PATH_MAX + 256];
        curve = et_curve_new(curve_dir,
                             et_curve_is_tcp(endpoint) ? ET_CURVE_CLIENT : 0,
                             why, sizeof why);
        if (!curve) {
            ET_LOG_ERROR("--curve: %s", why);
            err = EACCES;
            goto done;
        }
    }
    ctx = zmq_ctx_new();
    sub = ctx ? et_zsock_new(ctx, ZMQ_SUB, 100) : NULL;
    if (!sub || zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) != 0 ||
        et_curve_connect(curve, sub, endpoint) != 0) {
        err = errno;
        goto done;
    }
    uint64_t deadline = et_clock_mono_ns() + (uint64_t)timeout_ms * 1000000;
    for (;;) {
        uint64_t now = et_clock_mono_ns();
        if (now >= deadline)
            break;
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)((deadline - now) / 1000000) + 1) < 0) {
            err = errno;
            break;
        }
        if (!(item.revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t frames[ET_FRAMES_MAX];
        int too_many;
        int count =
            et_zsock_recv(sub, frames, ET_FRAMES_MAX, &too_many, ZMQ_DONTWAIT);
        if (count < 0)
            continue;
        et_msg_type_t type;
        int ok = !too_many && count == 2 &&
                 et_codec_decode_header(zmq_msg_data(&frames[0]),
                                        zmq_msg_size(&frames[0]), &type) == 0 &&
                 type == ET_MSG_STATS &&
                 et_codec_decode_stats(zmq_msg_data(&frames[1]),
                                       zmq_msg_size(&frames[1]), stats) == 0;
        et_zsock_frames_close(frames, count);
        if (ok && et_status_instances(stats) >= min_instances) {
            rc = 0;
            break;
        }
    }
done:
    et_zsock_close(&sub);
    if (ctx)
        zmq_ctx_term(ctx);
    et_curve_destroy(&curve);
    if (rc != 0)
        errno = err;
    return rc;
}

json_t *
et_status_to_json(const et_stats_t *stats)
{
    char when[40];
    json_t *functions = json_array();
    for (uint32_t i = 0; i < stats->n_functions; i++) {
        const et_stats_function_t *f = &stats->functions[i];
        json_array_append_new(functions,
                              json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
                                        "name", f->name, "queue_depth",
                                        (json_int_t)f->queue_depth, "queue_cap",
                                        (json_int_t)f->queue_cap, "instances",
                                        (json_int_t)f->instances, "slots_total",
                                        (json_int_t)f->slots_total,
                                        "slots_busy", (json_int_t)f->slots_busy,
                                        "completed", (json_int_t)f->completed));
    }
    return json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "at",
        et_clock_iso8601(stats->t_ns, when, sizeof when), "workflow",
        stats->workflow, "accepted", (json_int_t)stats->accepted, "rejected",
        (json_int_t)stats->rejected, "completed", (json_int_t)stats->completed,
        "failed", (json_int_t)stats->failed, "retries",
        (json_int_t)stats->retries, "in_flight", (json_int_t)stats->in_flight,
        "bad_messages", (json_int_t)stats->bad_messages, "stale_results",
        (json_int_t)stats->stale_results, "records_dropped",
        (json_int_t)stats->records_dropped, "functions", functions);
}

void
et_status_print(const et_stats_t *stats, FILE *out)
{
    fprintf(out,
            "workflow %s: accepted %llu, rejected %llu, completed %llu, "
            "failed %llu, in flight %llu\n",
            stats->workflow, (unsigned long long)stats->accepted,
            (unsigned long long)stats->rejected,
            (unsigned long long)stats->completed,
            (unsigned long long)stats->failed,
            (unsigned long long)stats->in_flight);
    /* Counters that must stay 0 in a healthy run: shown, never hidden. */
    fprintf(out,
            "records dropped %llu, stale results %llu, bad messages %llu\n",
            (unsigned long long)stats->records_dropped,
            (unsigned long long)stats->stale_results,
            (unsigned long long)stats->bad_messages);
    fprintf(out, "%-16s %8s %10s %10s %10s\n", "function", "queue", "instances",
            "slots", "busy");
    for (uint32_t i = 0; i < stats->n_functions; i++) {
        const et_stats_function_t *f = &stats->functions[i];
        fprintf(out, "%-16s %8u %10u %10u %10u\n", f->name, f->queue_depth,
                f->instances, f->slots_total, f->slots_busy);
    }
}
