/*
 * filter.h - the libmilter callbacks: translate milter events to the
 * resolution core and replay its decisions, nothing more.
 *
 * Owns the per-connection state (kept with smfi_setpriv only: libmilter
 * runs one connection's callbacks on different threads) and the reply
 * texts and log lines of RCPT and end of message.  Reads the live
 * configuration through live_acquire (live.h), one reference per message.
 */
#ifndef HOSTED_MILTER_FILTER_H
#define HOSTED_MILTER_FILTER_H

#include <stdbool.h> /* before mfapi.h, which otherwise typedefs bool */

#include <libmilter/mfapi.h>

/* The milter's name as registered with libmilter. */
#define FILTER_NAME "hosted-milter"

/* filter_description - the callback table for smfi_register. */
struct smfiDesc filter_description(void);

#endif
