/*
 * metrics_addr.c - the syntax of the `metrics` setting (see
 * metrics_addr.h): a numeric host and a port, or a unix socket path.
 */
#include "metrics_addr.h"

#include <arpa/inet.h>
#include <string.h>

static const char *const form = "expected IPV4:PORT, [IPV6]:PORT or unix:/PATH";

/* "1" to "65535", digits only. */
static const char *parse_port(const char *s, unsigned *port)
{
    unsigned long v = 0;
    size_t n = strspn(s, "0123456789");

    if (n == 0 || s[n] != '\0')
        return "the port must be a number from 1 to 65535";
    for (size_t i = 0; i < n && v <= 65535; i++)
        v = v * 10 + (unsigned long)(s[i] - '0');
    if (v < 1 || v > 65535)
        return "the port must be a number from 1 to 65535";
    *port = (unsigned)v;
    return NULL;
}

static const char *parse_unix(const char *path, struct metrics_addr *out)
{
    size_t n = strlen(path);

    if (path[0] != '/')
        return "the unix socket path must be absolute";
    if (n > METRICS_ADDR_PATH_MAX)
        return "the unix socket path is longer than 107 bytes";
    out->kind = METRICS_ADDR_UNIX;
    memcpy(out->path, path, n + 1);
    return NULL;
}

/* host (n bytes, no brackets) as a numeric address of family af. */
static const char *copy_host(const char *host, size_t n, int af, struct metrics_addr *out)
{
    unsigned char bin[sizeof(struct in6_addr)];

    if (n == 0)
        return form;
    if (n >= sizeof(out->host))
        return af == AF_INET ? "not a numeric IPv4 address (a host name is not taken)"
                             : "not a numeric IPv6 address";
    memcpy(out->host, host, n);
    out->host[n] = '\0';
    if (inet_pton(af, out->host, bin) != 1)
        return af == AF_INET ? "not a numeric IPv4 address (a host name is not taken)"
                             : "not a numeric IPv6 address";
    out->kind = af == AF_INET ? METRICS_ADDR_INET : METRICS_ADDR_INET6;
    return NULL;
}

const char *metrics_addr_parse(const char *spec, struct metrics_addr *out)
{
    const char *colon, *why;

    memset(out, 0, sizeof(*out));
    if (strncmp(spec, "unix:", 5) == 0)
        return parse_unix(spec + 5, out);
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return form;
        if ((why = copy_host(spec + 1, (size_t)(close - spec - 1), AF_INET6, out)) != NULL)
            return why;
        return parse_port(close + 2, &out->port);
    }
    if ((colon = strrchr(spec, ':')) == NULL)
        return form;
    if (memchr(spec, ':', (size_t)(colon - spec)) != NULL)
        return copy_host(spec, (size_t)(colon - spec), AF_INET6, out) == NULL
                   ? "an IPv6 address goes in brackets: [IPV6]:PORT"
                   : form;
    if ((why = copy_host(spec, (size_t)(colon - spec), AF_INET, out)) != NULL)
        return why;
    return parse_port(colon + 1, &out->port);
}
