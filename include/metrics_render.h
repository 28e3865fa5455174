/*
 * metrics_render.h - the Prometheus text exposition format (version
 * 0.0.4) of one view of the metrics: counters, the live table, the
 * sources, the process.
 *
 * Owns the metric names, their help texts, types and labels.  Pure: it
 * renders the view it is given (metrics_http.h gathers one per scrape),
 * so the tests check the text without a server.  Every label value comes
 * from a fixed set (actions, rules, causes) or from the configuration (a
 * source's title, the version), never from the wire.
 */
#ifndef HOSTED_MILTER_METRICS_RENDER_H
#define HOSTED_MILTER_METRICS_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"
#include "util.h"

/* One configured source: its title (borrowed) and what its reads came to. */
struct metrics_view_source {
    const char *title;
    struct metrics_source state;
};

struct metrics_view {
    struct metrics_counters counters;
    bool live;                                 /* a configuration is live: the table fields hold */
    size_t domains;                            /* hosted domains of the live table */
    size_t mailboxes, secondaries, aliases;    /* its addresses by kind */
    double loaded_at;                          /* when the live configuration was loaded (Unix s) */
    const struct metrics_view_source *sources; /* the live configuration's, in its order */
    size_t nsources;
    double start_time; /* of the process (Unix s) */
    const char *version;
};

/*
 * metrics_render - the exposition of v appended to out.  A recipient
 * series (action, rule) appears once it is not 0; every other labelled
 * family shows all its values.  Returns 0, or -1 when out of memory (out
 * then holds part of it).
 */
int metrics_render(const struct metrics_view *v, struct util_buf *out);

/* The Content-Type of that text. */
#define METRICS_RENDER_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
