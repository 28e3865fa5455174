/*
 * metrics_addr.h - the `metrics` setting: where the metrics server
 * listens, as "IPV4:PORT", "[IPV6]:PORT" or "unix:/PATH".
 *
 * Owns the syntax of that setting only; pure (no socket is opened here:
 * metrics_http.h does that), so the configuration checks a value at its
 * line and -t reports a bad one.  Addresses are numeric: a host name
 * would make the start depend on the resolver.
 */
#ifndef HOSTED_MILTER_METRICS_ADDR_H
#define HOSTED_MILTER_METRICS_ADDR_H

#include <stddef.h>

enum metrics_addr_kind {
    METRICS_ADDR_INET = 1,
    METRICS_ADDR_INET6,
    METRICS_ADDR_UNIX,
};

/* The longest unix socket path (sockaddr_un's sun_path, less its NUL). */
#define METRICS_ADDR_PATH_MAX 107
/* Room for the longest numeric IPv6 address (INET6_ADDRSTRLEN). */
#define METRICS_ADDR_HOST_MAX 46

struct metrics_addr {
    enum metrics_addr_kind kind;
    char host[METRICS_ADDR_HOST_MAX];     /* inet, inet6: numeric, without brackets */
    unsigned port;                        /* inet, inet6: 1 to 65535 */
    char path[METRICS_ADDR_PATH_MAX + 1]; /* unix: absolute */
};

/*
 * metrics_addr_parse - spec into *out.  Returns NULL, or a static English
 * text saying what is wrong (for "metrics \"SPEC\": TEXT"); *out is then
 * unspecified.
 */
const char *metrics_addr_parse(const char *spec, struct metrics_addr *out);

#endif
