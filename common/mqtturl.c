/* MQTT URLs and client ids. Topics are held to printable ASCII, a subset
 * of the UTF-8 MQTT asks for that needs no decoder and no broker can
 * refuse. */
#include "common/mqtturl.h"

#include "common/cli.h"

#include <stdint.h>
#include <string.h>

static int
s_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* 0 when 'topic' is a valid topic (filter, with 'wildcards'). */
static int
s_topic_check(const char *topic, int wildcards)
{
    size_t len = strlen(topic);
    if (len == 0 || len > ET_MQTTURL_TOPIC_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = topic[i];
        if (c < 0x21 || c > 0x7e)
            return -1;
        if (c != '+' && c != '#')
            continue;
        if (!wildcards)
            return -1;
        /* A wildcard fills its level; '#' also ends the filter. */
        if ((i > 0 && topic[i - 1] != '/') ||
            (i + 1 < len && topic[i + 1] != '/') || (c == '#' && i + 1 != len))
            return -1;
    }
    return 0;
}

int
et_mqtturl_parse(const char *url, int wildcards, et_mqtturl_t *out, char *why,
                 size_t why_size)
{
    static const char prefix[] = "mqtt://";
    memset(out, 0, sizeof *out);
    if (strncmp(url, prefix, sizeof prefix - 1) != 0)
        return et_cli_why(why, why_size, "expected mqtt://HOST:PORT/TOPIC");
    const char *host = url + sizeof prefix - 1;
    const char *colon = strchr(host, ':');
    const char *slash = strchr(host, '/');
    if (!colon || !slash || colon > slash || colon == host)
        return et_cli_why(why, why_size, "expected mqtt://HOST:PORT/TOPIC");
    size_t host_len = (size_t)(colon - host);
    if (host_len > ET_MQTTURL_HOST_MAX)
        return et_cli_why(why, why_size, "host name longer than %d bytes",
                          ET_MQTTURL_HOST_MAX);
    for (size_t i = 0; i < host_len; i++) {
        if (!s_host_char(host[i]))
            return et_cli_why(why, why_size, "bad host name");
    }
    memcpy(out->host, host, host_len);
    char port[8];
    size_t port_len = (size_t)(slash - colon - 1);
    uint64_t number;
    if (port_len == 0 || port_len >= sizeof port)
        return et_cli_why(why, why_size, "expected a port from 1 to 65535");
    memcpy(port, colon + 1, port_len);
    port[port_len] = '\0';
    if (et_cli_parse_u64(port, 1, 65535, &number) != 0)
        return et_cli_why(why, why_size, "expected a port from 1 to 65535");
    out->port = (int)number;
    const char *topic = slash + 1;
    if (s_topic_check(topic, wildcards) != 0)
        return et_cli_why(why, why_size,
                          wildcards
                              ? "expected a topic filter of 1 to %d printable "
                                "ASCII bytes ('+' and '#' whole levels)"
                              : "expected a topic of 1 to %d printable ASCII "
                                "bytes, no '+' or '#'",
                          ET_MQTTURL_TOPIC_MAX);
    memcpy(out->topic, topic, strlen(topic) + 1);
    return 0;
}

int
et_mqtturl_client_id_check(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > ET_MQTTURL_CLIENT_ID_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!s_host_char(id[i]) && id[i] != '_')
            return -1;
    }
    return 0;
}
