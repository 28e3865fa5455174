/*
 * sql_source.h - reading an SQL database (PostgreSQL through libpq,
 * MariaDB/MySQL through libmariadb) into source records, and watching a
 * PostgreSQL database for NOTIFY.
 *
 * Owns the client side of an SQL source: connect with a timeout, the
 * password read from a file that must not be world-readable (never
 * logged), one read-only transaction per load (PostgreSQL: REPEATABLE
 * READ; MariaDB: WITH CONSISTENT SNAPSHOT) running every query of the
 * schema, rows streamed one at a time into sql_map (PQsetSingleRowMode;
 * mysql_use_result).  What rows mean is sql_map's business.  Every failure
 * is a diagnostic "NAME: message" (NAME: "postgresql:TITLE" or
 * "mysql:TITLE"); nothing here logs or keeps state between calls.
 */
#ifndef HOSTED_MILTER_SQL_SOURCE_H
#define HOSTED_MILTER_SQL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "source_records.h"
#include "sql_map.h"

/* One configured database; strings borrowed from the configuration. */
struct sql_source_cfg {
    const char *name;          /* "postgresql:TITLE": prefixes messages */
    const char *connect;       /* libpq conninfo, or the mysql key=value list */
    const char *password_file; /* NULL: no password (peer, unix_socket) */
    const char *listen;        /* postgresql: the NOTIFY channel; NULL: none */
    enum sql_schema schema;
    unsigned timeout;                   /* seconds: connect, and each statement */
    const char *queries[SQL_SET_COUNT]; /* custom: the query of each set, or NULL */
};

/* What mysql_real_connect takes, parsed from `connect`: each NULL/0 when
 * not given; the strings point into buf. */
struct sql_mysql_params {
    const char *host, *socket, *database, *user;
    unsigned port;
    char buf[1024];
};

/*
 * sql_mysql_parse - split connect ("host=... port=... socket=... database=...
 * user=...", blank-separated, each key at most once; values without
 * blanks, or in single quotes with \' and \\) into p.  Returns 0, or -1
 * with the reason in err (errsz bytes): an unknown key ("password" among
 * them: never inline), a bad port, an unterminated quote, too long.
 */
int sql_mysql_parse(const char *connect, struct sql_mysql_params *p, char *err, size_t errsz);

/*
 * pg_source_check - whether conninfo parses as libpq's and holds no
 * password.  Returns 0, or -1 with the reason in err (errsz bytes).
 */
int pg_source_check(const char *conninfo, char *err, size_t errsz);

/*
 * pg_source_load, mysql_source_load - read the database into r.  Returns 0
 * when every query ran (bad rows, naming their set and key, are errors in
 * d and counted in *data_errors), or -1 when the database could not be
 * read (unreachable, authentication, a query failed or returned the wrong
 * columns, out of memory): d says why, as "NAME: message".
 */
int pg_source_load(const struct sql_source_cfg *cfg, struct source_records *r,
                   unsigned *data_errors, struct diag *d);
int mysql_source_load(const struct sql_source_cfg *cfg, struct source_records *r,
                      unsigned *data_errors, struct diag *d);

/*
 * pg_source_watch - LISTEN on cfg->listen and call changed(arg) (from this
 * thread) for every NOTIFY, until *stop is set (polled at least once a
 * second) or the connection fails.  Returns 0 when stopped, -1 when the
 * connection failed (d says why; the caller retries later), 1 when there
 * is no channel to listen on.
 */
int pg_source_watch(const struct sql_source_cfg *cfg, volatile const bool *stop,
                    void (*changed)(void *arg), void *arg, struct diag *d);

#endif
