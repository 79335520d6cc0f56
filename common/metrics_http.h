/* A /metrics endpoint: an HTTP server (libmicrohttpd) in its own thread
 * that answers GET /metrics with the latest snapshot its owner published.
 * The owner's event loop renders the text (common/prom.h) and hands it
 * over with et_metrics_http_publish, about once a second; it never waits
 * for a client: a scrape holds its own reference to the snapshot it
 * serves, and the lock both sides take covers a pointer swap only.
 * Other paths get 404, other methods 405; connections are bounded in
 * number and time, so slow or many clients cannot stall the process. */
#ifndef ET_METRICS_HTTP_H
#define ET_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* At most this many connections at once (more are refused by the
 * server), and each is closed after this many seconds without progress. */
#define ET_METRICS_HTTP_CONNECTIONS 256
#define ET_METRICS_HTTP_TIMEOUT_S 5

/* "off", or IPV4:PORT with PORT 0..65535 (0: a free port). */
#define ET_METRICS_ADDR_MAX 32

typedef struct et_metrics_http_t et_metrics_http_t;

/* Parse 'text' ("A.B.C.D:PORT") into an IPv4 address and a port. 0, or -1
 * with errno EINVAL (and a reason in 'why' when it is not NULL). */
int et_metrics_http_parse_addr(const char *text, uint32_t *addr_be,
                               uint16_t *port, char *why, size_t why_size);

/* An option parser (common/opts.h et_opt_parse_fn) for --metrics
 * IPV4:PORT|off: 'dest' is char[ET_METRICS_ADDR_MAX], "" for off. */
int et_metrics_http_opt_addr(const char *value, void *dest, char *why,
                             size_t why_size);

/* Start serving on 'addr' (IPV4:PORT as above). Until the first publish,
 * /metrics answers 503. Returns NULL with errno EINVAL (bad address),
 * EADDRINUSE or another reason the server could not start (no more
 * detail: libmicrohttpd does not say). The caller owns the result. */
et_metrics_http_t *et_metrics_http_new(const char *addr);

/* The port the server listens on (the chosen one for port 0). */
uint16_t et_metrics_http_port(const et_metrics_http_t *self);

/* The URL to scrape: "http://A.B.C.D:PORT/metrics". */
const char *et_metrics_http_url(const et_metrics_http_t *self);

/* Replace the snapshot with a copy of 'text' ('len' bytes). 0, or -1 with
 * errno ENOMEM (the old snapshot stays). Thread-safe against the server;
 * one publisher at a time. */
int et_metrics_http_publish(et_metrics_http_t *self, const char *text,
                            size_t len);

/* Scrapes answered with 200 so far, and requests refused (404, 405, 503).
 * Thread-safe. */
uint64_t et_metrics_http_served(const et_metrics_http_t *self);
uint64_t et_metrics_http_refused(const et_metrics_http_t *self);

/* Stop the server (its thread closes every connection first), then free.
 * NULL-safe; sets *self_p to NULL. */
void et_metrics_http_destroy(et_metrics_http_t **self_p);

#endif
