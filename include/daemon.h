/*
 * daemon.h - running the milter: socket, privileges, pidfile, signals, and
 * the SIGUSR1 reload that installs a new live configuration (live.h).
 *
 * The entry point's one call (main.c); nothing else in the program uses it.
 */
#ifndef HOSTED_MILTER_DAEMON_H
#define HOSTED_MILTER_DAEMON_H

#include <stdbool.h>

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

#endif
