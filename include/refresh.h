/*
 * refresh.h - when the live configuration is built anew: on SIGUSR1,
 * every `refresh` seconds of its sources, a second after a source
 * announces a change (persist), and every few seconds while a source
 * serves its snapshot.
 *
 * Owns the reload thread and one watcher thread per `persist` source.  A
 * reload builds and validates a whole new configuration beside the live
 * one and swaps it in (live.h); one that fails changes nothing and says
 * why in one log line.  After every swap the sources' snapshots are
 * written.  Mail never waits for any of it.
 */
#ifndef HOSTED_MILTER_REFRESH_H
#define HOSTED_MILTER_REFRESH_H

#include <stdbool.h>

#include "config.h"
#include "diag.h"

struct refresh_options {
    const char *config_path;
    bool verbose; /* the log level stays debug whatever the configuration says */
    /* called with every new configuration before it goes live (e.g. to
     * warn of settings that need a restart); may be NULL */
    void (*on_load)(const struct config *cfg, void *arg);
    void *arg;
};

struct refresher;

/*
 * refresh_start - start the reload thread and the watchers of the persist
 * sources of cfg (the configuration that just went live; its source
 * definitions are copied).  SIGUSR1 and SIGUSR2 must be blocked in every
 * thread before (refresh_block_signals).  Returns NULL when a thread
 * cannot start (logged).
 */
struct refresher *refresh_start(const struct refresh_options *o, const struct config *cfg);

/* refresh_stop - stop and join every thread, release everything; NULL is safe. */
void refresh_stop(struct refresher *r);

/* refresh_block_signals - block the signals the reload thread waits for,
 * in the calling thread (call before any thread exists). */
void refresh_block_signals(void);

/* refresh_went_live - what follows a swap: the snapshots of the sources
 * read afresh, and a warning per snapshot that could not be written. */
void refresh_went_live(const struct config *cfg);

/* refresh_log_diag - every diagnostic of d as one log line, errors at
 * err and warnings at warning. */
void refresh_log_diag(const struct diag *d);

/* refresh_log_summary - the one notice line that says what is live:
 * "<what> <path>: N domains, ..." (tests and admins wait for it). */
void refresh_log_summary(const char *what, const struct config *cfg);

#endif
