/*
 * metrics_http.c - the metrics server (see metrics_http.h): our own
 * listening socket handed to libmicrohttpd, one handler that answers
 * GET /metrics with metrics_render's text of a view gathered per scrape.
 *
 * The socket is opened by us, not by libmicrohttpd, so that an address in
 * use or a bad path fails the start with a clear message before the
 * daemon detaches, and so that unix sockets work the same way.
 */
#include "metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "config.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "metrics_addr.h"
#include "metrics_render.h"
#include "util.h"

#ifndef HOSTED_MILTER_VERSION
#define HOSTED_MILTER_VERSION "unknown"
#endif

struct metrics_http {
    int fd; /* listening; libmicrohttpd's once it started */
    struct MHD_Daemon *mhd;
    struct metrics_addr addr;
    bool unix_bound; /* we created addr.path */
    double start_time;
};

/* ------------------------------------------------------------------ */
/* a scrape */

/* The view's table and sources from the live configuration, if any.
 * *srcs is allocated (the caller frees it).  -1 when out of memory. */
static int view_live(const struct config *cfg, struct metrics_view *v,
                     struct metrics_view_source **srcs)
{
    size_t n = config_source_count(cfg);

    v->live = true;
    v->domains = table_domain_count(cfg->table);
    v->mailboxes = table_count_kind(cfg->table, TABLE_MAILBOX);
    v->secondaries = table_count_kind(cfg->table, TABLE_SECONDARY);
    v->aliases = table_count_kind(cfg->table, TABLE_ALIAS);
    v->loaded_at = (double)cfg->loaded_at;
    if (n == 0)
        return 0;
    if ((*srcs = calloc(n, sizeof(**srcs))) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        (*srcs)[i].title = config_source_at(cfg, i)->title;
        metrics_source_get((*srcs)[i].title, &(*srcs)[i].state);
    }
    v->sources = *srcs;
    v->nsources = n;
    return 0;
}

int metrics_http_scrape(double start_time, struct util_buf *out)
{
    struct metrics_view v = {.start_time = start_time, .version = HOSTED_MILTER_VERSION};
    struct metrics_view_source *srcs = NULL;
    /* held while rendering: the titles are the configuration's */
    struct live_ref *ref = live_acquire();
    int rc = 0;

    metrics_counters_read(&v.counters);
    if (ref != NULL)
        rc = view_live(live_get(ref), &v, &srcs);
    if (rc == 0)
        rc = metrics_render(&v, out);
    free(srcs);
    live_release(ref);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the handler */

/* A fixed answer: status, text, and an Allow header for 405. */
static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result answer_metrics(struct MHD_Connection *conn, double start_time)
{
    struct util_buf text = {0};
    struct MHD_Response *r;
    enum MHD_Result rc;

    if (metrics_http_scrape(start_time, &text) != 0) {
        util_buf_free(&text);
        log_warning("metrics: out of memory rendering a scrape");
        return answer_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    /* the response takes the text over (freed with free()) */
    r = MHD_create_response_from_buffer(text.len, text.p, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        util_buf_free(&text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_RENDER_CONTENT_TYPE);
    rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    const struct metrics_http *h = cls;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    /* a body (none is expected) is read and dropped; the answer goes at once */
    *upload_data_size = 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics is served\n");
    if (strcmp(url, "/metrics") != 0)
        return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
    return answer_metrics(conn, h->start_time);
}

/* libmicrohttpd's own messages (malformed requests, limits): debug, for
 * they are the clients' doing and must not flood the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_debug("metrics: %s", msg);
}

/* ------------------------------------------------------------------ */
/* the socket */

static void say(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* Binds h->fd to h->addr.  -1 with errno set on failure. */
static int bind_addr(struct metrics_http *h)
{
    const struct metrics_addr *a = &h->addr;
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int one = 1, rc;

    if (a->kind == METRICS_ADDR_UNIX) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
        mode_t old;
        if (util_unix_addr(sun, a->path) < 0)
            return -1;
        /* a socket nothing accepts on (left by a crash) is removed; what
         * else is there stays, and bind says why it cannot listen */
        (void)util_unix_clear_stale(a->path);
        /* umask, not chmod after bind: never a moment with wider access
         * (no other thread exists yet to be surprised by it) */
        old = umask(0117);
        rc = bind(h->fd, (struct sockaddr *)sun, sizeof(*sun));
        umask(old);
        h->unix_bound = rc == 0;
        return rc;
    }
    if (setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        return -1;
    if (a->kind == METRICS_ADDR_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)a->port);
        if (inet_pton(AF_INET, a->host, &sin->sin_addr) != 1)
            return errno = EINVAL, -1;
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)a->port);
        /* v6 only: "[::1]:PORT" must not take the IPv4 port too */
        if (inet_pton(AF_INET6, a->host, &sin6->sin6_addr) != 1)
            return errno = EINVAL, -1;
        if (setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
            return -1;
        len = sizeof(*sin6);
    }
    return bind(h->fd, (struct sockaddr *)&ss, len);
}

struct metrics_http *metrics_http_open(const char *spec, char *err, size_t errsz)
{
    struct metrics_http *h = calloc(1, sizeof(*h));
    const char *why;
    int family;

    if (h == NULL) {
        say(err, errsz, "out of memory");
        return NULL;
    }
    h->fd = -1;
    if ((why = metrics_addr_parse(spec, &h->addr)) != NULL) {
        say(err, errsz, "metrics \"%s\": %s", spec, why);
        goto fail;
    }
    family = h->addr.kind == METRICS_ADDR_UNIX    ? AF_UNIX
             : h->addr.kind == METRICS_ADDR_INET6 ? AF_INET6
                                                  : AF_INET;
    if ((h->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 || bind_addr(h) < 0 ||
        listen(h->fd, METRICS_HTTP_CONNECTIONS) < 0) {
        say(err, errsz, "metrics %s: cannot listen: %s", spec, strerror(errno));
        goto fail;
    }
    return h;
fail:
    metrics_http_free(h);
    return NULL;
}

int metrics_http_start(struct metrics_http *h, double start_time, char *err, size_t errsz)
{
    h->start_time = start_time;
    h->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle,
        h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_HTTP_MEMORY, MHD_OPTION_END);
    if (h->mhd == NULL) {
        say(err, errsz, "metrics: cannot start the HTTP server (libmicrohttpd)");
        return -1;
    }
    return 0;
}

void metrics_http_free(struct metrics_http *h)
{
    if (h == NULL)
        return;
    if (h->mhd != NULL)
        MHD_stop_daemon(h->mhd); /* joins its thread, closes the socket */
    else if (h->fd >= 0)
        close(h->fd);
    if (h->unix_bound && util_unix_remove(h->addr.path) < 0)
        log_debug("cannot remove socket %s: %s", h->addr.path, strerror(errno));
    free(h);
}
