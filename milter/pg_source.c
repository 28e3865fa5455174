/*
 * pg_source.c - a PostgreSQL database read into source records through
 * libpq, and watched with LISTEN (see sql_source.h).
 *
 * One load is one connection and one transaction, REPEATABLE READ and
 * READ ONLY, so that every query sees the same snapshot: a refresh never
 * sees half of a change.  Each query runs in single-row mode, each row
 * handed to sql_map as borrowed bytes, so 100,000 rows never sit in
 * memory twice.  The watch is a second connection that only says
 * "something changed"; the caller re-reads everything.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldap_source.h"
#include "sql_source.h"

/* Columns per row looked at; sql_map's sets have at most 3. */
#define MAX_COLS 8

int pg_source_check(const char *conninfo, char *err, size_t errsz)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
    int rc = 0;

    if (opts == NULL) {
        snprintf(err, errsz, "connect: %s", msg != NULL ? msg : "out of memory");
        if (err[0] != '\0' && err[strlen(err) - 1] == '\n')
            err[strlen(err) - 1] = '\0';
        PQfreemem(msg);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (o->val != NULL && strcmp(o->keyword, "password") == 0) {
            snprintf(err, errsz, "%s", "connect holds a password: use password_file");
            rc = -1;
        }
    PQconninfoFree(opts);
    return rc;
}

/* libpq's message without its line end, as "NAME: what: message". */
static void pg_error(struct diag *d, const char *name, const char *what, const char *msg)
{
    size_t n = strlen(msg);

    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        n--;
    diag_add(d, DIAG_ERROR, name, 0, "%s: %.*s", what, (int)n, msg);
}

static void wipe_free(char *s)
{
    if (s == NULL)
        return;
    for (volatile char *p = s; *p != '\0'; p++)
        *p = '\0';
    free(s);
}

/* Connect with the password from its file and the timeout; NULL (d says
 * why).  The password is wiped as soon as libpq has it. */
static PGconn *pg_open(const struct sql_source_cfg *cfg, struct diag *d)
{
    char timeout[16], *password = NULL;
    const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name", "password",
                          NULL};
    const char *values[] = {cfg->connect, timeout, "hosted-milter", NULL, NULL};
    PGconn *c;

    if (cfg->password_file != NULL &&
        (password = ldap_source_read_secret(cfg->password_file, d)) == NULL)
        return NULL;
    snprintf(timeout, sizeof(timeout), "%u", cfg->timeout);
    values[3] = password;
    if (password == NULL)
        keys[3] = NULL;
    c = PQconnectdbParams(keys, values, 1);
    wipe_free(password);
    if (c == NULL) {
        diag_add(d, DIAG_ERROR, cfg->name, 0, "connect: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        pg_error(d, cfg->name, "connect", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Run sql, expecting no rows; -1 (d says why) on failure. */
static int pg_exec(PGconn *c, const struct sql_source_cfg *cfg, const char *sql, struct diag *d)
{
    PGresult *res = PQexec(c, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_error(d, cfg->name, sql, PQerrorMessage(c));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* One single-row result to the map; -1 (d says why) on failure. */
static int pg_row(PGresult *res, struct sql_map *map, enum sql_set set, size_t ncols,
                  const struct sql_source_cfg *cfg, const char *what, struct diag *d)
{
    struct sql_value v[MAX_COLS];

    if ((size_t)PQnfields(res) != ncols) {
        diag_add(d, DIAG_ERROR, cfg->name, 0, "%s returns %d columns, not %zu", what,
                 PQnfields(res), ncols);
        return -1;
    }
    for (size_t i = 0; i < ncols; i++)
        v[i] = PQgetisnull(res, 0, (int)i)
                   ? (struct sql_value){NULL, 0}
                   : (struct sql_value){PQgetvalue(res, 0, (int)i),
                                        (size_t)PQgetlength(res, 0, (int)i)};
    if (sql_map_row(map, set, v, ncols, d) < 0) {
        diag_add(d, DIAG_ERROR, cfg->name, 0, "out of memory");
        return -1;
    }
    return 0;
}

/* One query of set, its rows streamed into map; -1 (d says why). */
static int pg_query(PGconn *c, const struct sql_source_cfg *cfg, const char *sql, enum sql_set set,
                    struct sql_map *map, struct diag *d)
{
    const char *what = cfg->schema == SQL_SCHEMA_CUSTOM ? sql_set_option(set) : sql;
    size_t ncols = sql_map_columns(cfg->schema, set);
    PGresult *res;
    int rc = 0;

    if (!PQsendQuery(c, sql) || !PQsetSingleRowMode(c)) {
        pg_error(d, cfg->name, what, PQerrorMessage(c));
        return -1;
    }
    /* every result must be taken, even after a failure, before the next query */
    while ((res = PQgetResult(c)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc == 0 && st == PGRES_SINGLE_TUPLE)
            rc = pg_row(res, map, set, ncols, cfg, what, d);
        else if (rc == 0 && st == PGRES_TUPLES_OK && (size_t)PQnfields(res) != ncols) {
            diag_add(d, DIAG_ERROR, cfg->name, 0, "%s returns %d columns, not %zu", what,
                     PQnfields(res), ncols);
            rc = -1;
        } else if (rc == 0 && st != PGRES_TUPLES_OK && st != PGRES_SINGLE_TUPLE) {
            pg_error(d, cfg->name, what, PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    return rc;
}

/* The query of each set the schema reads (NULL: none). */
static const char *query_of(const struct sql_source_cfg *cfg, enum sql_set set)
{
    return cfg->schema == SQL_SCHEMA_CUSTOM ? cfg->queries[set] : sql_map_query(cfg->schema, set);
}

int pg_source_load(const struct sql_source_cfg *cfg, struct source_records *r,
                   unsigned *data_errors, struct diag *d)
{
    struct sql_map *map = sql_map_new(cfg->schema, r);
    char timeout[64];
    PGconn *c = NULL;
    int rc = -1;

    *data_errors = 0;
    if (map == NULL) {
        diag_add(d, DIAG_ERROR, cfg->name, 0, "out of memory");
        return -1;
    }
    if ((c = pg_open(cfg, d)) == NULL)
        goto out;
    snprintf(timeout, sizeof(timeout), "SET statement_timeout = %u", cfg->timeout * 1000u);
    if (pg_exec(c, cfg, timeout, d) != 0 ||
        pg_exec(c, cfg, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", d) != 0)
        goto out;
    for (int s = 0; s < SQL_SET_COUNT; s++) {
        const char *sql = query_of(cfg, (enum sql_set)s);
        if (sql != NULL && pg_query(c, cfg, sql, (enum sql_set)s, map, d) != 0)
            goto out;
    }
    if (pg_exec(c, cfg, "COMMIT", d) != 0)
        goto out;
    *data_errors = sql_map_errors(map);
    rc = 0;
out:
    PQfinish(c);
    sql_map_free(map);
    return rc;
}

/* Wait up to a second for the server; 1 readable, 0 not, -1 failed. */
static int pg_wait(PGconn *c)
{
    struct pollfd p = {PQsocket(c), POLLIN, 0};
    int n;

    if (p.fd < 0)
        return -1;
    n = poll(&p, 1, 1000);
    return n < 0 ? 0 : n; /* EINTR: look at *stop again */
}

int pg_source_watch(const struct sql_source_cfg *cfg, volatile const bool *stop,
                    void (*changed)(void *arg), void *arg, struct diag *d)
{
    char *channel, sql[512];
    PGconn *c;
    int rc = 0;

    if (cfg->listen == NULL)
        return 1;
    if ((c = pg_open(cfg, d)) == NULL)
        return -1;
    if ((channel = PQescapeIdentifier(c, cfg->listen, strlen(cfg->listen))) == NULL) {
        pg_error(d, cfg->name, "LISTEN", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    snprintf(sql, sizeof(sql), "LISTEN %s", channel);
    PQfreemem(channel);
    if (pg_exec(c, cfg, sql, d) != 0)
        rc = -1;
    while (rc == 0 && !*stop) {
        PGnotify *n;
        int w = pg_wait(c);
        if (w < 0 || (w > 0 && !PQconsumeInput(c))) {
            pg_error(d, cfg->name, "LISTEN: connection lost", PQerrorMessage(c));
            rc = -1;
            break;
        }
        while ((n = PQnotifies(c)) != NULL) {
            PQfreemem(n);
            changed(arg);
        }
    }
    PQfinish(c);
    return rc;
}
