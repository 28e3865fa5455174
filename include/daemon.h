/*
 * daemon.h - running the milter: socket, privileges, pidfile, signals, and
 * the live configuration with its reference counting and SIGUSR1 reload.
 *
 * Owns the one live configuration pointer of the process (libmilter
 * callbacks carry no user context, so it is process-global; see also
 * log.h).  Each message takes one reference at MAIL FROM and drops it at
 * end of message or abort, so a message finishes with the table it started
 * with; a reload swaps the pointer and the old configuration is freed when
 * its last message lets go.
 */
#ifndef HOSTED_MILTER_DAEMON_H
#define HOSTED_MILTER_DAEMON_H

#include <stdbool.h>

#include "config.h"

struct daemon_options {
    const char *config_path; /* the file to load, and to reload on SIGUSR1 */
    const char *socket;      /* overrides the configuration's socket; NULL: no */
    const char *pidfile;     /* overrides the configuration's pidfile; NULL: no */
    bool foreground;         /* stay attached, log to stderr */
    bool verbose;            /* log at debug level, whatever the configuration says */
};

/*
 * daemon_run - load the configuration, open the socket, drop privileges,
 * detach (unless foreground), write the pidfile and serve until libmilter
 * stops (SIGTERM, SIGINT, SIGHUP).  Returns the process exit status: 0
 * after a clean stop, 1 when it could not start (the reason is logged, and
 * printed on stderr before detaching).  Call from main, before any thread
 * exists; frees everything it allocated before returning.
 */
int daemon_run(const struct daemon_options *opt);

/* A counted reference to the live configuration. */
struct daemon_config;

/*
 * daemon_config_acquire - take a reference to the live configuration (one
 * short mutex section; the only lock on the per-message path).  Returns
 * NULL only when no configuration is live (not running).
 */
struct daemon_config *daemon_config_acquire(void);

/* daemon_config_get - the configuration behind a reference; borrowed, valid
 * until the reference is released. */
const struct config *daemon_config_get(const struct daemon_config *ref);

/* daemon_config_release - drop a reference, freeing a replaced
 * configuration with its last one; NULL is safe.  Lock-free. */
void daemon_config_release(struct daemon_config *ref);

#endif
