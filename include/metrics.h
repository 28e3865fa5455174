/*
 * metrics.h - what the process counts for its metrics: recipients by
 * action and rule, messages, rewrites and edits, tempfails by cause,
 * reloads by result, and the outcome of each source's last read.
 *
 * Owns the counters and the sources' read state.  They are process-global
 * mutable state, the third kind besides live.h's pointer and the log
 * settings, for the same reason: libmilter callbacks and the configuration
 * loader carry no context of ours to hold them, and the counts must
 * outlive every configuration (a reload never resets them).  Nothing but
 * the metrics server (metrics_http.h) and the tests reads them.
 *
 * Counting is lock-free and cheap enough for the recipient path: each
 * thread adds with relaxed atomics to one of several cache-line-aligned
 * stripes, so threads on different cores rarely share a line; a reader
 * sums the stripes.  The sources' state is behind a mutex (it changes once
 * per read of a source, not per message).
 */
#ifndef HOSTED_MILTER_METRICS_H
#define HOSTED_MILTER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* A recipient edit made at end of message. */
enum metrics_edit {
    METRICS_EDIT_ADD,    /* smfi_addrcpt / smfi_addrcpt_par */
    METRICS_EDIT_DELETE, /* smfi_delrcpt */
    METRICS_EDIT_COUNT
};

/* Why the milter answered 4xx (a RCPT or a whole message). */
enum metrics_tempfail {
    METRICS_TEMPFAIL_POLICY,    /* the policy's answer: a bound, a bad target,
                                   unknown_recipient = tempfail */
    METRICS_TEMPFAIL_NO_CONFIG, /* no configuration live at the first RCPT */
    METRICS_TEMPFAIL_NO_MEMORY, /* allocation failed */
    METRICS_TEMPFAIL_EDIT,      /* the MTA refused a recipient edit */
    METRICS_TEMPFAIL_COUNT
};

enum metrics_reload {
    METRICS_RELOAD_SUCCESS, /* a new configuration went live */
    METRICS_RELOAD_FAILURE, /* the old one stays */
    METRICS_RELOAD_COUNT
};

/*
 * The counters, each only ever growing.  A recipient is counted once per
 * RCPT the policy resolved, by what was decided (also in dry-run mode and
 * when a refusal is not sent for an emulated RCPT); a message once at end
 * of message; rewrites and edits when applied.
 */
void metrics_recipient(enum policy_action action, enum policy_rule rule);
void metrics_message(void);
void metrics_rewrites(size_t n);
void metrics_edit(enum metrics_edit kind);
void metrics_tempfail(enum metrics_tempfail cause);
void metrics_reload(enum metrics_reload result);

/* The sum of every stripe at one moment (counts made while it is summed
 * may or may not be in it). */
struct metrics_counters {
    uint64_t recipients[POLICY_ACTION_COUNT][POLICY_RULE_COUNT];
    uint64_t messages;
    uint64_t rewrites;
    uint64_t edits[METRICS_EDIT_COUNT];
    uint64_t tempfails[METRICS_TEMPFAIL_COUNT];
    uint64_t reloads[METRICS_RELOAD_COUNT];
    bool last_reload_failed; /* the last reload's result (false before the first) */
};

/* metrics_counters_read - the counters now into *out. */
void metrics_counters_read(struct metrics_counters *out);

/* metrics_edit_name, metrics_tempfail_name, metrics_reload_name - the
 * label values: "addrcpt", "no_config", "success", ...  Static strings. */
const char *metrics_edit_name(enum metrics_edit kind);
const char *metrics_tempfail_name(enum metrics_tempfail cause);
const char *metrics_reload_name(enum metrics_reload result);

/* What the last reads of one source came to.  Times are Unix seconds;
 * 0 for never. */
struct metrics_source {
    bool up;           /* the last read succeeded */
    double last_ok;    /* the last successful read */
    double last_error; /* the last failed read */
    uint64_t entries;  /* records of the last successful read */
};

/*
 * metrics_source_read - record a read of the source titled title (the
 * `source` section's title; copied): ok with its number of records, or a
 * failure.  Any thread.  The state of at most METRICS_MAX_SOURCES titles
 * is kept; a new title beyond that replaces the one read longest ago.
 */
#define METRICS_MAX_SOURCES 256
void metrics_source_read(const char *title, bool ok, size_t entries);

/* metrics_source_get - the state of title into *out; false (and *out
 * zeroed) when no read of it was recorded. */
bool metrics_source_get(const char *title, struct metrics_source *out);

/* metrics_sources_clear - forget every source's state (the daemon's
 * cleanup; the counters stay). */
void metrics_sources_clear(void);

/* metrics_now - the wall clock in Unix seconds, for the timestamps. */
double metrics_now(void);

#endif
