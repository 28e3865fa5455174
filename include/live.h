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
 * live_install swaps the pointer, and the replaced configuration is freed once its last reference
 * goes -- not by the thread that drops it (a message's end must not pay for freeing a million
 * addresses) but by the next live_reap or live_install, which the reload thread calls.  Knows
 * nothing of libmilter: the glue (filter.c) and the daemon (daemon.c) both use it, and the unit
 * tests link it alone (test/check_live.c).
 */
#ifndef HOSTED_MILTER_LIVE_H
#define HOSTED_MILTER_LIVE_H

#include "config.h"

/* A counted reference to a configuration that is or was live. */
struct live_ref;

/*
 * live_install - make cfg the live configuration; cfg is taken over in
 * every case.  The previous one loses the reference the live pointer held
 * and is freed now if no message holds it, else by the first live_reap
 * (or install) after its last release.
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

/* live_release - drop a reference; NULL is safe.  Lock-free, and frees
 * nothing: a replaced configuration's last release only queues it for
 * live_reap. */
void live_release(struct live_ref *ref);

/* live_reap - free every replaced configuration whose last reference is
 * gone (each logged at debug); returns how many.  The reload thread's
 * work: any thread may call it, the freeing happens on the caller. */
size_t live_reap(void);

/* live_pending - how many replaced configurations are not freed yet (held
 * by messages, or released and waiting for live_reap). */
size_t live_pending(void);

#endif
