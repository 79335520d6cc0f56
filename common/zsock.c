/* Socket helpers over libzmq's C API. */
#include "common/zsock.h"

#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void *
et_zsock_new(void *ctx, int type, int hwm)
{
    void *sock = zmq_socket(ctx, type);
    if (!sock)
        return NULL;
    int linger = ET_LINGER_MS;
    int one = 1;
    /* ZMTP heartbeats: a TCP peer that vanishes without a FIN (a host or
     * link gone) is noticed and its pipe closed. */
    int hb_ivl = ET_ZMTP_HEARTBEAT_MS, hb_timeout = 3 * ET_ZMTP_HEARTBEAT_MS;
    if (zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout,
                       sizeof hb_timeout) != 0)
        goto fail;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0)
        goto fail;
    if (type == ZMQ_ROUTER &&
        zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0)
        goto fail;
    if ((type == ZMQ_DEALER || type == ZMQ_PUSH) &&
        zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof one) != 0)
        goto fail;
    return sock;
fail:;
    int saved = errno;
    zmq_close(sock);
    errno = saved;
    return NULL;
}

void
et_zsock_close(void **sock_p)
{
    if (sock_p && *sock_p) {
        zmq_close(*sock_p);
        *sock_p = NULL;
    }
}

int
et_zsock_bind(void *sock, const char *endpoint)
{
    if (zmq_bind(sock, endpoint) != 0) {
        ET_LOG_ERROR("cannot bind %s: %s", endpoint, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

int
et_zsock_connect(void *sock, const char *endpoint)
{
    if (zmq_connect(sock, endpoint) != 0) {
        ET_LOG_ERROR("cannot connect %s: %s", endpoint, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

int
et_zsock_last_endpoint(void *sock, char *buf, size_t size)
{
    size_t len = size;
    if (!buf || size == 0 ||
        zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, buf, &len) != 0)
        return -1;
    buf[size - 1] = '\0';
    return 0;
}

int
et_zsock_write_endpoints(const char *path, const char *const *names,
                         const char *const *endpoints, size_t n)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        ET_LOG_ERROR("endpoints file %s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "we");
    if (!f) {
        ET_LOG_ERROR("cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= fprintf(f, "%s=%s\n", names[i], endpoints[i]) > 0;
    ok &= fflush(f) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        ET_LOG_ERROR("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

void
et_zsock_frames_close(zmq_msg_t *frames, int count)
{
    for (int i = 0; i < count; i++)
        zmq_msg_close(&frames[i]);
}

int
et_zsock_recv_monitor_event(void *monitor, uint16_t *event)
{
    zmq_msg_t frames[2];
    int too_many = 0;
    int n = et_zsock_recv(monitor, frames, 2, &too_many, ZMQ_DONTWAIT);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    *event = 0;
    if (zmq_msg_size(&frames[0]) >= sizeof *event)
        memcpy(event, zmq_msg_data(&frames[0]), sizeof *event);
    et_zsock_frames_close(frames, n);
    return 1;
}

void
et_zsock_monitor_close(void *sock, void **monitor_p)
{
    /* Safe when no monitor runs: NULL stops nothing. */
    if (sock)
        (void)zmq_socket_monitor(sock, NULL, 0);
    et_zsock_close(monitor_p);
}

int
et_zsock_recv(void *sock, zmq_msg_t *frames, int max, int *too_many, int flags)
{
    int count = 0;
    *too_many = 0;
    for (;;) {
        /* Straight into its place; a frame beyond 'max' is read (the
         * rest of the message must go) into 'extra' and closed. */
        zmq_msg_t extra;
        zmq_msg_t *part = count < max ? &frames[count] : &extra;
        zmq_msg_init(part);
        /* Only the first frame may be non-blocking: the rest of a
         * multipart message is already there when its first part is. */
        if (zmq_msg_recv(part, sock, count == 0 ? flags : 0) < 0) {
            int saved = errno;
            zmq_msg_close(part);
            et_zsock_frames_close(frames, count);
            errno = saved;
            return -1;
        }
        int more = zmq_msg_more(part);
        if (part == &extra) {
            *too_many = 1;
            zmq_msg_close(&extra);
        } else {
            count++;
        }
        if (!more)
            break;
    }
    return count;
}

static int
s_send_bytes(void *sock, const void *data, size_t size, int flags)
{
    return zmq_send(sock, data, size, flags) < 0 ? -1 : 0;
}

int
et_zsock_send_to(void *sock, const void *route, size_t route_len,
                 et_msg_type_t type, const msgpack_sbuffer *body,
                 zmq_msg_t *payload, int flags)
{
    /* The header is tiny and fixed per type: [version, type]. */
    uint8_t header[3] = {0x92, ET_PROTOCOL_VERSION, (uint8_t)type};
    int more_after_header = (body || payload) ? ZMQ_SNDMORE : 0;
    if (route && s_send_bytes(sock, route, route_len, flags | ZMQ_SNDMORE))
        return -1;
    /* After the first part, ZeroMQ accepts the rest of the message. */
    int rest = flags & ~ZMQ_DONTWAIT;
    if (s_send_bytes(sock, header, sizeof header,
                     (route ? rest : flags) | more_after_header) != 0)
        return -1;
    if (body && s_send_bytes(sock, body->data, body->size,
                             rest | (payload ? ZMQ_SNDMORE : 0)) != 0)
        return -1;
    if (payload && zmq_msg_send(payload, sock, rest) < 0)
        return -1;
    return 0;
}

int
et_zsock_send_parts(void *sock, const void *route, size_t route_len,
                    et_msg_type_t type, const msgpack_sbuffer *body,
                    zmq_msg_t *payloads, size_t count, int flags)
{
    uint8_t header[3] = {0x92, ET_PROTOCOL_VERSION, (uint8_t)type};
    if (route && s_send_bytes(sock, route, route_len, flags | ZMQ_SNDMORE))
        return -1;
    int rest = flags & ~ZMQ_DONTWAIT;
    if (s_send_bytes(sock, header, sizeof header,
                     (route ? rest : flags) | ZMQ_SNDMORE) != 0)
        return -1;
    if (s_send_bytes(sock, body->data, body->size,
                     rest | (count > 0 ? ZMQ_SNDMORE : 0)) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (zmq_msg_send(&payloads[i], sock,
                         rest | (i + 1 < count ? ZMQ_SNDMORE : 0)) < 0)
            return -1;
    return 0;
}

int
et_zsock_send(void *sock, const zmq_msg_t *route, et_msg_type_t type,
              const msgpack_sbuffer *body, zmq_msg_t *payload, int flags)
{
    if (!route)
        return et_zsock_send_to(sock, NULL, 0, type, body, payload, flags);
    /* zmq_msg_data is not const-correct; the route is only read. */
    zmq_msg_t *r = (zmq_msg_t *)route;
    return et_zsock_send_to(sock, zmq_msg_data(r), zmq_msg_size(r), type, body,
                            payload, flags);
}
