/*
 * metrics_http.h - the metrics server: GET /metrics over HTTP on the
 * address of the `metrics` setting, answered by libmicrohttpd in its own
 * thread.
 *
 * Owns the listening socket (and a unix socket's file), the libmicrohttpd
 * daemon, and the gathering of one view per scrape: the counters
 * (metrics.h), the live configuration's table and sources (live.h), the
 * process's start.  Only GET (and HEAD) of /metrics is answered; other
 * paths get 404, other methods 405.  Bounded: a few connections at once,
 * an idle timeout, a small per-connection memory (a longer request line or
 * header is refused by libmicrohttpd), so a misbehaving client costs the
 * mail path nothing and the server only its slot.
 */
#ifndef HOSTED_MILTER_METRICS_HTTP_H
#define HOSTED_MILTER_METRICS_HTTP_H

#include <stddef.h>

#include "util.h"

/* Connections served at once; more are closed as they come. */
#define METRICS_HTTP_CONNECTIONS 16
/* Seconds a connection may idle. */
#define METRICS_HTTP_TIMEOUT 10
/* Bytes of memory per connection: the request line and headers must fit
 * in part of it. */
#define METRICS_HTTP_MEMORY (16 * 1024)

struct metrics_http;

/*
 * metrics_http_open - parse spec (the `metrics` setting) and open its
 * listening socket, nothing more (no thread: call before detaching).  A
 * unix socket's stale file (nothing listening) is replaced; its mode is
 * 0660.  Returns the server, or NULL with a message in err (errsz bytes).
 */
struct metrics_http *metrics_http_open(const char *spec, char *err, size_t errsz);

/*
 * metrics_http_start - start serving in libmicrohttpd's thread, which
 * inherits the calling thread's signal mask.  start_time is the process's
 * (Unix seconds).  Returns 0, or -1 with a message in err.
 */
int metrics_http_start(struct metrics_http *h, double start_time, char *err, size_t errsz);

/* metrics_http_free - stop serving, close the socket, remove a unix
 * socket's file; NULL is safe. */
void metrics_http_free(struct metrics_http *h);

/*
 * metrics_http_scrape - what GET /metrics answers now, appended to out
 * (the server calls it; tests too).  Returns 0, or -1 when out of memory.
 */
int metrics_http_scrape(double start_time, struct util_buf *out);

#endif
