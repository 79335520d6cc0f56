/* The /metrics server behind common/metrics_http.h. Snapshots are
 * reference counted: the server thread takes one under the lock and lets
 * libmicrohttpd drop it when the response is freed, so a slow client
 * holds memory (bounded by the connection limit), never the lock. */
#include "common/metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per connection: enough for a request line and the headers a scraper
 * sends; a request larger than this is answered with an error by the
 * server itself. */
#define S_CONNECTION_MEMORY (32 * 1024)
#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct {
    atomic_uint refs;
    size_t len;
    char text[];
} s_snapshot_t;

struct et_metrics_http_t {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    s_snapshot_t *snapshot; /* under 'lock'; NULL until the first publish */
    uint16_t port;
    char url[64];
    atomic_ullong served, refused;
};

static void
s_snapshot_unref(void *arg)
{
    s_snapshot_t *snap = arg;
    if (snap && atomic_fetch_sub(&snap->refs, 1) == 1)
        free(snap);
}

int
et_metrics_http_parse_addr(const char *text, uint32_t *addr_be, uint16_t *port,
                           char *why, size_t why_size)
{
    char host[INET_ADDRSTRLEN];
    const char *colon = text ? strrchr(text, ':') : NULL;
    const char *reason = NULL;
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof host) {
        reason = "expected IPV4:PORT";
        goto invalid;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    struct in_addr in;
    if (inet_pton(AF_INET, host, &in) != 1) {
        reason = "not an IPv4 address";
        goto invalid;
    }
    const char *digits = colon + 1;
    size_t n = strlen(digits);
    if (n == 0 || n > 5 || strspn(digits, "0123456789") != n ||
        atol(digits) > 65535) {
        reason = "the port must be 0..65535 (0: a free port)";
        goto invalid;
    }
    *addr_be = in.s_addr;
    *port = (uint16_t)atol(digits);
    return 0;
invalid:
    if (why && why_size > 0)
        snprintf(why, why_size, "%s", reason);
    errno = EINVAL;
    return -1;
}

int
et_metrics_http_opt_addr(const char *value, void *dest, char *why,
                         size_t why_size)
{
    char *out = dest;
    if (strcmp(value, "off") == 0) {
        out[0] = '\0';
        return 0;
    }
    uint32_t addr;
    uint16_t port;
    if (strlen(value) >= ET_METRICS_ADDR_MAX) {
        snprintf(why, why_size, "expected IPV4:PORT or off");
        return -1;
    }
    if (et_metrics_http_parse_addr(value, &addr, &port, why, why_size) != 0)
        return -1;
    snprintf(out, ET_METRICS_ADDR_MAX, "%s", value);
    return 0;
}

static enum MHD_Result
s_reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(
        strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    enum MHD_Result rc = MHD_YES;
    if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; charset=utf-8") != MHD_YES ||
        (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
         MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW,
                                 "GET, HEAD") != MHD_YES))
        rc = MHD_NO;
    if (rc == MHD_YES)
        rc = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return rc;
}

static enum MHD_Result
s_on_request(void *cls, struct MHD_Connection *conn, const char *url,
             const char *method, const char *version, const char *upload_data,
             size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    et_metrics_http_t *self = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        atomic_fetch_add(&self->refused, 1);
        return s_reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                            "method not allowed: GET /metrics\n");
    }
    if (strcmp(url, "/metrics") != 0) {
        atomic_fetch_add(&self->refused, 1);
        return s_reply_text(conn, MHD_HTTP_NOT_FOUND,
                            "not found: GET /metrics\n");
    }
    pthread_mutex_lock(&self->lock);
    s_snapshot_t *snap = self->snapshot;
    if (snap)
        atomic_fetch_add(&snap->refs, 1);
    pthread_mutex_unlock(&self->lock);
    if (!snap) {
        atomic_fetch_add(&self->refused, 1);
        return s_reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                            "no metrics yet\n");
    }
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback_cls(
            snap->len, snap->text, s_snapshot_unref, snap);
    if (!response) {
        s_snapshot_unref(snap);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_add_response_header(
        response, MHD_HTTP_HEADER_CONTENT_TYPE, S_CONTENT_TYPE);
    if (rc == MHD_YES)
        rc = MHD_queue_response(conn, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    if (rc == MHD_YES)
        atomic_fetch_add(&self->served, 1);
    return rc;
}

et_metrics_http_t *
et_metrics_http_new(const char *addr)
{
    uint32_t addr_be;
    uint16_t port;
    if (et_metrics_http_parse_addr(addr, &addr_be, &port, NULL, 0) != 0)
        return NULL;
    et_metrics_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        errno = ENOMEM;
        return NULL;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = addr_be};
    /* One polling thread (epoll where there is one): a scrape is a copy of
     * a ready buffer, so one thread serves them all; the limits keep a
     * flood or a slowloris client from holding more than bounded memory. */
    errno = 0;
    self->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD, port, NULL, NULL, s_on_request, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)ET_METRICS_HTTP_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ET_METRICS_HTTP_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)S_CONNECTION_MEMORY,
        MHD_OPTION_END);
    if (!self->daemon) {
        int err = errno ? errno : EADDRINUSE;
        pthread_mutex_destroy(&self->lock);
        free(self);
        errno = err;
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin.sin_addr, host, sizeof host);
    snprintf(self->url, sizeof self->url, "http://%s:%u/metrics", host,
             (unsigned)self->port);
    return self;
}

uint16_t
et_metrics_http_port(const et_metrics_http_t *self)
{
    return self->port;
}

const char *
et_metrics_http_url(const et_metrics_http_t *self)
{
    return self->url;
}

int
et_metrics_http_publish(et_metrics_http_t *self, const char *text, size_t len)
{
    s_snapshot_t *snap = malloc(sizeof *snap + len + 1);
    if (!snap) {
        errno = ENOMEM;
        return -1;
    }
    atomic_init(&snap->refs, 1);
    snap->len = len;
    memcpy(snap->text, text, len);
    snap->text[len] = '\0';
    pthread_mutex_lock(&self->lock);
    s_snapshot_t *old = self->snapshot;
    self->snapshot = snap;
    pthread_mutex_unlock(&self->lock);
    s_snapshot_unref(old);
    return 0;
}

uint64_t
et_metrics_http_served(const et_metrics_http_t *self)
{
    return atomic_load(&((et_metrics_http_t *)self)->served);
}

uint64_t
et_metrics_http_refused(const et_metrics_http_t *self)
{
    return atomic_load(&((et_metrics_http_t *)self)->refused);
}

void
et_metrics_http_destroy(et_metrics_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_metrics_http_t *self = *self_p;
    /* Joins the server thread: no request runs after this. */
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    s_snapshot_unref(self->snapshot);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}
