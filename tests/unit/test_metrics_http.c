/* Unit tests for common/metrics_http: a real server on 127.0.0.1 and a
 * free port, spoken to over plain sockets: the published snapshot on GET
 * /metrics, 503 before the first publish, 404 and 405, garbage, and the
 * address parser's refusals. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Send 'request' to the server and read the whole answer (the server
 * closes after it: HTTP/1.0) into 'buf'. Returns its length. */
static size_t
s_exchange(uint16_t port, const char *request, size_t request_len, char *buf,
           size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(send(fd, request, request_len, MSG_NOSIGNAL),
                     (ssize_t)request_len);
    size_t len = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        /* Generous: the server closes long before (its own timeout). */
        assert_true(poll(&pfd, 1, 30000) == 1);
        ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    buf[len] = '\0';
    close(fd);
    return len;
}

static size_t
s_get(uint16_t port, const char *method, const char *path, char *buf,
      size_t size)
{
    char request[256];
    int n = snprintf(request, sizeof request,
                     "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n", method, path);
    return s_exchange(port, request, (size_t)n, buf, size);
}

static void
test_metrics_http_serves_the_latest_snapshot(void **state)
{
    (void)state;
    et_metrics_http_t *http = et_metrics_http_new("127.0.0.1:0");
    assert_non_null(http);
    uint16_t port = et_metrics_http_port(http);
    assert_true(port > 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", port);
    assert_string_equal(et_metrics_http_url(http), url);

    char buf[8192];
    s_get(port, "GET", "/metrics", buf, sizeof buf);
    assert_non_null(strstr(buf, " 503 "));

    const char *first = "# TYPE a gauge\na 1\n";
    assert_int_equal(et_metrics_http_publish(http, first, strlen(first)), 0);
    s_get(port, "GET", "/metrics", buf, sizeof buf);
    assert_non_null(strstr(buf, " 200 "));
    assert_non_null(strstr(buf, "text/plain; version=0.0.4"));
    assert_non_null(strstr(buf, "\r\n\r\n# TYPE a gauge\na 1\n"));

    const char *second = "# TYPE a gauge\na 2\n";
    assert_int_equal(et_metrics_http_publish(http, second, strlen(second)), 0);
    s_get(port, "GET", "/metrics", buf, sizeof buf);
    assert_non_null(strstr(buf, "\r\n\r\n# TYPE a gauge\na 2\n"));
    assert_null(strstr(buf, "a 1\n"));
    assert_int_equal(et_metrics_http_served(http), 2);
    et_metrics_http_destroy(&http);
    assert_null(http);
    et_metrics_http_destroy(&http);
}

static void
test_metrics_http_refuses_other_paths_and_methods(void **state)
{
    (void)state;
    et_metrics_http_t *http = et_metrics_http_new("127.0.0.1:0");
    assert_non_null(http);
    uint16_t port = et_metrics_http_port(http);
    assert_int_equal(et_metrics_http_publish(http, "x 1\n", 4), 0);
    char buf[8192];
    s_get(port, "GET", "/", buf, sizeof buf);
    assert_non_null(strstr(buf, " 404 "));
    s_get(port, "GET", "/metrics/../etc", buf, sizeof buf);
    assert_non_null(strstr(buf, " 404 "));
    s_get(port, "POST", "/metrics", buf, sizeof buf);
    assert_non_null(strstr(buf, " 405 "));
    assert_non_null(strstr(buf, "Allow: GET, HEAD"));
    s_get(port, "DELETE", "/metrics", buf, sizeof buf);
    assert_non_null(strstr(buf, " 405 "));
    assert_int_equal(et_metrics_http_refused(http), 4);
    assert_int_equal(et_metrics_http_served(http), 0);

    /* Garbage: answered with an error or closed, never served; the server
     * still answers afterwards. */
    const char garbage[] = "\x01\x02\xff\xfe not http at all\r\n\r\n";
    size_t n = s_exchange(port, garbage, sizeof garbage - 1, buf, sizeof buf);
    assert_true(n == 0 || strstr(buf, " 400 ") != NULL);
    char big[40000];
    memset(big, 'A', sizeof big);
    memcpy(big, "GET /", 5);
    n = s_exchange(port, big, sizeof big, buf, sizeof buf);
    assert_null(strstr(buf, " 200 "));
    s_get(port, "GET", "/metrics", buf, sizeof buf);
    assert_non_null(strstr(buf, " 200 "));
    assert_non_null(strstr(buf, "\r\n\r\nx 1\n"));
    et_metrics_http_destroy(&http);
}

static void
test_metrics_http_refuses_bad_addresses(void **state)
{
    (void)state;
    const char *bad[] = {"",           "off",         "127.0.0.1",
                         ":80",        "localhost:0", "127.0.0.1:65536",
                         "1.2.3.4:-1", "1.2.3:80",    "127.0.0.1:8x",
                         "::1:80",     "127.0.0.1:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t addr;
        uint16_t port;
        char why[128] = "";
        assert_int_equal(
            et_metrics_http_parse_addr(bad[i], &addr, &port, why, sizeof why),
            -1);
        assert_int_equal(errno, EINVAL);
        assert_true(why[0] != '\0');
        errno = 0;
        assert_null(et_metrics_http_new(bad[i]));
        assert_int_equal(errno, EINVAL);
    }
    uint32_t addr;
    uint16_t port;
    assert_int_equal(
        et_metrics_http_parse_addr("10.1.2.3:9100", &addr, &port, NULL, 0), 0);
    assert_int_equal(port, 9100);
    assert_int_equal(ntohl(addr), 0x0a010203);

    /* The option parser: "off" is "", an address is kept as given. */
    char dest[ET_METRICS_ADDR_MAX] = "x";
    char why[128] = "";
    assert_int_equal(et_metrics_http_opt_addr("off", dest, why, sizeof why), 0);
    assert_string_equal(dest, "");
    assert_int_equal(
        et_metrics_http_opt_addr("127.0.0.1:0", dest, why, sizeof why), 0);
    assert_string_equal(dest, "127.0.0.1:0");
    assert_int_equal(et_metrics_http_opt_addr("127.0.0.1:00000000000000000000"
                                              "0000000000009",
                                              dest, why, sizeof why),
                     -1);
    assert_int_equal(et_metrics_http_opt_addr("on", dest, why, sizeof why), -1);
    assert_true(why[0] != '\0');
}

static void
test_metrics_http_port_in_use_is_an_error(void **state)
{
    (void)state;
    et_metrics_http_t *a = et_metrics_http_new("127.0.0.1:0");
    assert_non_null(a);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", et_metrics_http_port(a));
    et_metrics_http_t *b = et_metrics_http_new(addr);
    assert_null(b);
    et_metrics_http_destroy(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_http_serves_the_latest_snapshot),
        cmocka_unit_test(test_metrics_http_refuses_other_paths_and_methods),
        cmocka_unit_test(test_metrics_http_refuses_bad_addresses),
        cmocka_unit_test(test_metrics_http_port_in_use_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
