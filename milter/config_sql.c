/*
 * config_sql.c - the options of `source` sections of type postgresql and
 * mysql (see config_sources.h), and the check that a section sets only
 * the options of its type.  Owns nothing beyond the strings it copies into
 * the definition (freed with source_def_free).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_sources.h"
#include "sql_map.h"
#include "sql_source.h"

/* PostgreSQL's NAMEDATALEN - 1: a longer channel name is cut by the server. */
#define CHANNEL_MAX 63

/* The string options only one kind of source takes. */
static const char *const ldap_only[] = {
    "uri",
    "base",
    "bind_dn",
    "bind_password_file",
    "mailbox_filter",
    "alias_filter",
    "domain_filter",
    "mailbox_attribute",
    "secondary_attribute",
    "alias_attribute",
    "target_attribute",
    "domain_attribute",
};
static const char *const sql_only[] = {
    "connect",       "password_file", "listen",          "domain_query", "alias_domain_query",
    "mailbox_query", "alias_query",   "secondary_query",
};

void config_sql_check_foreign(struct config_build *cb, cfg_t *sec, enum source_type type)
{
    const char *const *names = type == SOURCE_TYPE_LDAP ? sql_only : ldap_only;
    size_t n = type == SOURCE_TYPE_LDAP ? sizeof(sql_only) / sizeof(sql_only[0])
                                        : sizeof(ldap_only) / sizeof(ldap_only[0]);
    const char *type_name = cfg_getstr(sec, "type");

    for (size_t i = 0; i < n; i++)
        if (cfg_getstr(sec, names[i]) != NULL)
            config_source_error(cb, sec, "%s is not an option of a source of type %s", names[i],
                                type_name);
    if (type != SOURCE_TYPE_LDAP && cfg_getbool(sec, "persist") == cfg_true)
        config_source_error(cb, sec, "%s",
                            "persist is for ldap sources (postgresql follows changes with listen)");
}

/* A copy of sec's string option name into *out (NULL stays NULL); -1 when
 * out of memory. */
static int copy_str(cfg_t *sec, const char *name, const char **out)
{
    const char *v = cfg_getstr(sec, name);

    *out = NULL;
    return v != NULL && (*out = strdup(v)) == NULL ? -1 : 0;
}

/* "TYPE:TITLE", the name messages give the source. */
static char *make_name(cfg_t *sec)
{
    const char *type = cfg_getstr(sec, "type"), *title = cfg_title(sec);
    size_t n = strlen(type) + strlen(title) + 2;
    char *name = malloc(n);

    if (name != NULL)
        snprintf(name, n, "%s:%s", type, title);
    return name;
}

/* The connect string, checked by the client library's own rules. */
static void check_connect(struct config_build *cb, cfg_t *sec, const struct source_def *def)
{
    struct sql_mysql_params p;
    char err[256];

    if (def->sql.connect == NULL) {
        config_source_error(cb, sec, "%s", "connect is missing");
        return;
    }
    if (def->type == SOURCE_TYPE_POSTGRESQL) {
        if (pg_source_check(def->sql.connect, err, sizeof(err)) != 0)
            config_source_error(cb, sec, "%s", err);
    } else if (sql_mysql_parse(def->sql.connect, &p, err, sizeof(err)) != 0) {
        config_source_error(cb, sec, "%s", err);
    }
}

/* The schema and its queries: postfixadmin takes none, custom at least one. */
static void check_schema(struct config_build *cb, cfg_t *sec, const struct source_def *def)
{
    const char *schema = cfg_getstr(sec, "schema");
    size_t given = 0;

    for (int s = 0; s < SQL_SET_COUNT; s++)
        given += def->sql.queries[s] != NULL;
    if (schema == NULL || def->sql.schema == 0)
        config_source_error(cb, sec, "schema must be postfixadmin or custom%s",
                            schema ? "" : " (missing)");
    else if (def->sql.schema == SQL_SCHEMA_POSTFIXADMIN && given > 0)
        config_source_error(cb, sec, "%s", "the *_query options are for schema = custom");
    else if (def->sql.schema == SQL_SCHEMA_CUSTOM && given == 0)
        config_source_error(
            cb, sec, "%s",
            "a custom schema needs at least one of domain_query, alias_domain_query, "
            "mailbox_query, alias_query, secondary_query");
}

/* listen: PostgreSQL only, a channel name the server keeps whole. */
static void check_listen(struct config_build *cb, cfg_t *sec, const struct source_def *def)
{
    const char *l = def->sql.listen;

    if (l == NULL)
        return;
    if (def->type != SOURCE_TYPE_POSTGRESQL)
        config_source_error(cb, sec, "%s",
                            "listen is for postgresql (MariaDB and MySQL have no NOTIFY)");
    else if (l[0] == '\0' || strlen(l) > CHANNEL_MAX)
        config_source_error(cb, sec, "listen must be a channel name of 1 to %d bytes", CHANNEL_MAX);
}

int config_sql_read(struct config_build *cb, cfg_t *sec, struct source_def *def)
{
    struct sql_source_cfg *q = &def->sql;
    const char *schema = cfg_getstr(sec, "schema");
    long timeout = cfg_getint(sec, "timeout");

    if ((q->name = make_name(sec)) == NULL || copy_str(sec, "connect", &q->connect) != 0 ||
        copy_str(sec, "password_file", &q->password_file) != 0 ||
        copy_str(sec, "listen", &q->listen) != 0)
        return -1;
    for (int s = 0; s < SQL_SET_COUNT; s++)
        if (copy_str(sec, sql_set_option((enum sql_set)s), &q->queries[s]) != 0)
            return -1;
    q->schema = schema != NULL ? sql_schema_from_name(schema) : 0;
    q->timeout = timeout >= 1 && timeout <= 3600 ? (unsigned)timeout : 10;
    def->persist = q->listen != NULL && def->type == SOURCE_TYPE_POSTGRESQL;
    if (timeout < 1 || timeout > 3600)
        config_source_error(cb, sec, "%s", "timeout must be 1 to 3600 seconds");
    check_connect(cb, sec, def);
    check_schema(cb, sec, def);
    check_listen(cb, sec, def);
    return 0;
}
