/*
 * socketmap.h - the socketmap server: Postfix's socketmap_table(5) client
 * asks it, over a unix socket, whether a domain is hosted (map "domains"),
 * and it answers from the live configuration at each request, so every
 * reload and source refresh applies at once.
 *
 * Owns the listening socket, its one thread (poll over every client) and
 * the clients: per client a bounded read buffer, a parser
 * (socketmap_proto.h) and a bounded reply buffer.  A malformed request is
 * answered PERM and the connection closed; a client that completes no
 * request for the idle time is closed; when the client limit is reached the
 * longest idle client makes room.  Knows nothing of libmilter.
 */
#ifndef HOSTED_MILTER_SOCKETMAP_H
#define HOSTED_MILTER_SOCKETMAP_H

#include <stddef.h>

#include "config.h"
#include "socketmap_proto.h"

/* A client that completes no request for this long is closed.  Longer than
 * the 10 s after which Postfix's socketmap client closes an idle
 * connection itself, so that normally the client closes first. */
#define SOCKETMAP_IDLE_MS 30000
/* Clients served at once (Postfix: one per smtpd and trivial-rewrite
 * process that has asked recently). */
#define SOCKETMAP_MAX_CLIENTS 256

struct socketmap_options {
    const char *path;     /* the unix socket's path */
    unsigned idle_ms;     /* 0: SOCKETMAP_IDLE_MS */
    unsigned max_clients; /* 0: SOCKETMAP_MAX_CLIENTS */
};

struct socketmap;

/*
 * socketmap_open - create the listening socket at o->path (copied).  A
 * stale socket left there is removed; a socket another process listens
 * on, or a file that is no socket, is an error.  Starts no thread (call
 * before daemon(3) forks, start after).  Returns NULL after logging why.
 */
struct socketmap *socketmap_open(const struct socketmap_options *o);

/* socketmap_start - start serving in a thread of its own, with every
 * signal blocked.  Returns 0, or -1 after logging why. */
int socketmap_start(struct socketmap *s);

/* socketmap_free - stop the thread (if started), close every connection
 * and the listening socket, and remove the socket file; NULL is safe. */
void socketmap_free(struct socketmap *s);

/*
 * socketmap_answer - the reply to one request under cfg (NULL: no
 * configuration is live) into out (outsz >= SOCKETMAP_REPLY_MAX bytes).
 * Map "domains": OK with the domain's canonical name when the key names a
 * hosted domain (hosted_domains_lookup: either IDN form, any case, a
 * trailing dot), NOTFOUND when not; TEMP when nothing is live or memory
 * ran out; PERM for any other map name.  Returns the reply's length;
 * *status is the reply's status word (static).  Logs a TEMP (warning) and
 * each lookup (debug); an unknown map name is the caller's to log.
 */
size_t socketmap_answer(const struct config *cfg, const struct socketmap_request *req, char *out,
                        size_t outsz, const char **status);

#endif
