/*
 * live.h - the live configuration: the one the next message will use, as
 * counted references, swapped whole by a reload.
 *
 * Owns the live configuration pointer.  It and the logging settings
 * (log.h) are the only process-global mutable state of the program, and
 * only because libmilter callbacks carry no user context to hold them
 * (the loader's lock around libconfuse's global lexer state is forced by
 * that library, not state of ours).  Add no other.  Each message takes one reference at MAIL FROM
 * and drops it at end of message or abort, so it finishes with the configuration it started with;
 * live_install swaps the pointer, and the replaced configuration is freed when its last reference
 * goes.  Knows nothing of libmilter: the glue (filter.c) and the daemon (daemon.c) both use it, and
 * the unit tests link it alone (test/check_live.c).
 */
#ifndef HOSTED_MILTER_LIVE_H
#define HOSTED_MILTER_LIVE_H

#include "config.h"

/* A counted reference to a configuration that is or was live. */
struct live_ref;

/*
 * live_install - make cfg the live configuration; cfg is taken over in
 * every case.  The previous one loses the reference the live pointer held
 * and is freed now if no message holds it, else with its last release.
 * cfg NULL: nothing is live afterwards (the daemon's shutdown).  Returns
 * 0, or -1 when out of memory: then cfg is freed and the previous
 * configuration stays live.  Any thread.  After a successful install the
 * caller may keep reading cfg only while no other install can replace it
 * (the daemon installs from one thread at a time).
 */
int live_install(struct config *cfg);

/*
 * live_acquire - take a reference to the live configuration (one short
 * mutex section; the only lock on the per-message path).  Returns NULL
 * only when no configuration is live (before the first install, after
 * live_install(NULL)).  Release it with live_release.
 */
struct live_ref *live_acquire(void);

/* live_get - the configuration behind a reference; borrowed, read-only,
 * valid until the reference is released. */
const struct config *live_get(const struct live_ref *ref);

/* live_release - drop a reference, freeing a replaced configuration with
 * its last one (logged at debug); NULL is safe.  Lock-free. */
void live_release(struct live_ref *ref);

#endif
