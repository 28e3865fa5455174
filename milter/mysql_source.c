/*
 * mysql_source.c - a MariaDB or MySQL database read into source records
 * through libmariadb (see sql_source.h), and the parser of its `connect`
 * string.
 *
 * One load is one connection and one transaction, REPEATABLE READ WITH
 * CONSISTENT SNAPSHOT and READ ONLY, so that every query sees the same
 * snapshot.  Rows are fetched unbuffered (mysql_use_result) and handed to
 * sql_map one at a time.  MariaDB has no NOTIFY: such a source is read at
 * start, on SIGUSR1 and every `refresh`.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldap_source.h"
#include "sql_source.h"

/* Columns per row looked at; sql_map's sets have at most 3. */
#define MAX_COLS 8

/* One value of connect at *s into p->buf at *o (unquoted); the end of the
 * value in *s.  Returns 0, or -1 with err set. */
static int parse_value(const char **s, struct sql_mysql_params *p, size_t *o, char *err,
                       size_t errsz)
{
    const char *c = *s;
    bool quoted = *c == '\'';

    if (quoted)
        c++;
    for (; *c != '\0' && (quoted ? *c != '\'' : (*c != ' ' && *c != '\t')); c++) {
        if (quoted && *c == '\\' && (c[1] == '\'' || c[1] == '\\'))
            c++;
        if (*o + 1 >= sizeof(p->buf)) {
            snprintf(err, errsz, "%s", "connect is too long");
            return -1;
        }
        p->buf[(*o)++] = *c;
    }
    if (quoted && *c != '\'') {
        snprintf(err, errsz, "%s", "connect: a quote is not closed");
        return -1;
    }
    p->buf[(*o)++] = '\0';
    *s = quoted ? c + 1 : c;
    return 0;
}

/* The field of key in p, or NULL when key is not one of connect's. */
static const char **field_of(struct sql_mysql_params *p, const char *key, size_t n, bool *port)
{
    static const char *const keys[] = {"host", "socket", "database", "user", "port"};
    const char **fields[] = {&p->host, &p->socket, &p->database, &p->user, NULL};

    *port = false;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i]) == n && strncmp(keys[i], key, n) == 0) {
            *port = fields[i] == NULL;
            return fields[i] != NULL ? fields[i] : &p->host; /* port: any non-NULL */
        }
    return NULL;
}

int sql_mysql_parse(const char *connect, struct sql_mysql_params *p, char *err, size_t errsz)
{
    const char *s = connect;
    size_t o = 0;
    bool port_seen = false;

    memset(p, 0, sizeof(*p));
    while (*s != '\0') {
        const char *key = s, *eq, **field, *value;
        bool is_port;
        while (*s == ' ' || *s == '\t')
            key = ++s;
        if (*s == '\0')
            break;
        if ((eq = strchr(s, '=')) == NULL || eq == key || memchr(key, ' ', (size_t)(eq - key))) {
            snprintf(err, errsz, "connect: \"%.40s\" is not key=value", key);
            return -1;
        }
        if ((field = field_of(p, key, (size_t)(eq - key), &is_port)) == NULL) {
            snprintf(
                err, errsz, "connect: unknown key \"%.*s\" (host, port, socket, database, user%s)",
                (int)(eq - key > 40 ? 40 : eq - key), key,
                strncmp(key, "password", 8) == 0 ? "; the password goes in password_file" : "");
            return -1;
        }
        if ((is_port ? port_seen : *field != NULL)) {
            snprintf(err, errsz, "connect: \"%.*s\" given twice", (int)(eq - key), key);
            return -1;
        }
        s = eq + 1;
        value = p->buf + o;
        if (parse_value(&s, p, &o, err, errsz) != 0)
            return -1;
        if (is_port) {
            char *end;
            unsigned long v = strtoul(value, &end, 10);
            if (value[0] < '0' || value[0] > '9' || *end != '\0' || v == 0 || v > 65535) {
                snprintf(err, errsz, "connect: port \"%.20s\" is not 1 to 65535", value);
                return -1;
            }
            p->port = (unsigned)v;
            port_seen = true;
        } else {
            *field = value;
        }
    }
    return 0;
}

/* "NAME: what: the server's message". */
static void my_error(struct diag *d, const char *name, const char *what, MYSQL *m)
{
    diag_add(d, DIAG_ERROR, name, 0, "%s: %s (%u)", what, mysql_error(m), mysql_errno(m));
}

static void wipe_free(char *s)
{
    if (s == NULL)
        return;
    for (volatile char *p = s; *p != '\0'; p++)
        *p = '\0';
    free(s);
}

/* Connect with the password from its file and the timeouts; NULL (d says
 * why). */
static MYSQL *my_open(const struct sql_source_cfg *cfg, struct diag *d)
{
    struct sql_mysql_params p;
    unsigned timeout = cfg->timeout;
    char err[256], *password = NULL;
    MYSQL *m;

    if (sql_mysql_parse(cfg->connect, &p, err, sizeof(err)) != 0) {
        diag_add(d, DIAG_ERROR, cfg->name, 0, "%s", err);
        return NULL;
    }
    if (cfg->password_file != NULL &&
        (password = ldap_source_read_secret(cfg->password_file, d)) == NULL)
        return NULL;
    if ((m = mysql_init(NULL)) == NULL) {
        wipe_free(password);
        diag_add(d, DIAG_ERROR, cfg->name, 0, "out of memory");
        return NULL;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (mysql_real_connect(m, p.host, p.user, password, p.database, p.port, p.socket, 0) == NULL) {
        my_error(d, cfg->name, "connect", m);
        mysql_close(m);
        m = NULL;
    }
    wipe_free(password);
    return m;
}

static int my_exec(MYSQL *m, const struct sql_source_cfg *cfg, const char *sql, struct diag *d)
{
    if (mysql_real_query(m, sql, strlen(sql)) != 0) {
        my_error(d, cfg->name, sql, m);
        return -1;
    }
    return 0;
}

/* One query of set, its rows streamed into map; -1 (d says why). */
static int my_query(MYSQL *m, const struct sql_source_cfg *cfg, const char *sql, enum sql_set set,
                    struct sql_map *map, struct diag *d)
{
    const char *what = cfg->schema == SQL_SCHEMA_CUSTOM ? sql_set_option(set) : sql;
    size_t ncols = sql_map_columns(cfg->schema, set);
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc = 0;

    if (mysql_real_query(m, sql, strlen(sql)) != 0 || (res = mysql_use_result(m)) == NULL) {
        my_error(d, cfg->name, what, m);
        return -1;
    }
    if (mysql_num_fields(res) != ncols) {
        diag_add(d, DIAG_ERROR, cfg->name, 0, "%s returns %u columns, not %zu", what,
                 mysql_num_fields(res), ncols);
        rc = -1;
    }
    /* every row is fetched, even after a failure, before the next query */
    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long *len = mysql_fetch_lengths(res);
        struct sql_value v[MAX_COLS];
        if (rc != 0)
            continue;
        for (size_t i = 0; i < ncols; i++)
            v[i] = (struct sql_value){row[i], row[i] != NULL ? (size_t)len[i] : 0};
        if (sql_map_row(map, set, v, ncols, d) < 0) {
            diag_add(d, DIAG_ERROR, cfg->name, 0, "out of memory");
            rc = -1;
        }
    }
    if (rc == 0 && mysql_errno(m) != 0) {
        my_error(d, cfg->name, what, m);
        rc = -1;
    }
    mysql_free_result(res);
    return rc;
}

int mysql_source_load(const struct sql_source_cfg *cfg, struct source_records *r,
                      unsigned *data_errors, struct diag *d)
{
    struct sql_map *map = sql_map_new(cfg->schema, r);
    MYSQL *m = NULL;
    int rc = -1;

    *data_errors = 0;
    if (map == NULL) {
        diag_add(d, DIAG_ERROR, cfg->name, 0, "out of memory");
        return -1;
    }
    if ((m = my_open(cfg, d)) == NULL)
        goto out;
    if (my_exec(m, cfg, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", d) != 0 ||
        my_exec(m, cfg, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", d) != 0)
        goto out;
    for (int s = 0; s < SQL_SET_COUNT; s++) {
        const char *sql =
            cfg->schema == SQL_SCHEMA_CUSTOM ? cfg->queries[s] : sql_map_query(cfg->schema, s);
        if (sql != NULL && my_query(m, cfg, sql, (enum sql_set)s, map, d) != 0)
            goto out;
    }
    if (my_exec(m, cfg, "COMMIT", d) != 0)
        goto out;
    *data_errors = sql_map_errors(map);
    rc = 0;
out:
    if (m != NULL)
        mysql_close(m);
    sql_map_free(map);
    return rc;
}
