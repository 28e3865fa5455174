/*
 * sql_map.c - SQL rows to source records (see sql_map.h): the shape of
 * each set's rows, the boolean flags, the goto list, and the origin that
 * names a row in every message.  Owns one reusable array of goto items;
 * the records belong to the set given to sql_map_new.
 */
#include "sql_map.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* Bytes of a row key shown in its origin; more is cut ("..."). */
#define KEY_SHOWN 256

/* How one set's rows look under one schema. */
struct set_shape {
    const char *table;  /* origin's first word: the table, or the option */
    const char *column; /* the key column, named in the origin */
    size_t ncols;
    int target;   /* column of the target(s); -1: none */
    int active;   /* column of the active flag; -1: none */
    int backupmx; /* column of the backupmx flag; -1: none */
};

static const struct set_shape pfa_shapes[SQL_SET_COUNT] = {
    [SQL_SET_DOMAIN] = {"domain", "domain", 3, -1, 2, 1},
    [SQL_SET_ALIAS_DOMAIN] = {"alias_domain", "alias_domain", 3, 1, 2, -1},
    [SQL_SET_MAILBOX] = {"mailbox", "username", 2, -1, 1, -1},
    [SQL_SET_ALIAS] = {"alias", "address", 3, 1, 2, -1},
    [SQL_SET_SECONDARY] = {NULL, NULL, 0, -1, -1, -1},
};

static const struct set_shape custom_shapes[SQL_SET_COUNT] = {
    [SQL_SET_DOMAIN] = {"domain_query", "domain", 1, -1, -1, -1},
    [SQL_SET_ALIAS_DOMAIN] = {"alias_domain_query", "alias_domain", 2, 1, -1, -1},
    [SQL_SET_MAILBOX] = {"mailbox_query", "address", 1, -1, -1, -1},
    [SQL_SET_ALIAS] = {"alias_query", "address", 2, 1, -1, -1},
    [SQL_SET_SECONDARY] = {"secondary_query", "address", 2, 1, -1, -1},
};

/* Postfix Admin's tables: active and backupmx are boolean in PostgreSQL
 * and tinyint(1) in MySQL; "= true" / "= false" compare right on both. */
static const char *const pfa_queries[SQL_SET_COUNT] = {
    [SQL_SET_DOMAIN] = "SELECT domain, backupmx, active FROM domain"
                       " WHERE backupmx = false AND active = true AND domain <> 'ALL'",
    [SQL_SET_ALIAS_DOMAIN] = "SELECT alias_domain, target_domain, active FROM alias_domain"
                             " WHERE active = true",
    [SQL_SET_MAILBOX] = "SELECT username, active FROM mailbox WHERE active = true",
    [SQL_SET_ALIAS] = "SELECT address, goto, active FROM alias WHERE active = true",
};

struct sql_map {
    enum sql_schema schema;
    struct source_records *r;
    struct source_text *items; /* the goto list of the row at hand */
    size_t cap;
    unsigned errors;
};

enum sql_schema sql_schema_from_name(const char *name)
{
    if (strcmp(name, "postfixadmin") == 0)
        return SQL_SCHEMA_POSTFIXADMIN;
    return strcmp(name, "custom") == 0 ? SQL_SCHEMA_CUSTOM : 0;
}

const char *sql_set_option(enum sql_set set)
{
    return set >= SQL_SET_DOMAIN && set < SQL_SET_COUNT ? custom_shapes[set].table : NULL;
}

static const struct set_shape *shape_of(enum sql_schema schema, enum sql_set set)
{
    if (set < SQL_SET_DOMAIN || set >= SQL_SET_COUNT)
        return NULL;
    if (schema == SQL_SCHEMA_POSTFIXADMIN)
        return pfa_shapes[set].table != NULL ? &pfa_shapes[set] : NULL;
    return schema == SQL_SCHEMA_CUSTOM ? &custom_shapes[set] : NULL;
}

const char *sql_map_query(enum sql_schema schema, enum sql_set set)
{
    if (schema != SQL_SCHEMA_POSTFIXADMIN || set < SQL_SET_DOMAIN || set >= SQL_SET_COUNT)
        return NULL;
    return pfa_queries[set];
}

size_t sql_map_columns(enum sql_schema schema, enum sql_set set)
{
    const struct set_shape *s = shape_of(schema, set);

    return s != NULL ? s->ncols : 0;
}

struct sql_map *sql_map_new(enum sql_schema schema, struct source_records *r)
{
    struct sql_map *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->schema = schema;
    m->r = r;
    return m;
}

void sql_map_free(struct sql_map *m)
{
    if (m == NULL)
        return;
    free(m->items);
    free(m);
}

unsigned sql_map_errors(const struct sql_map *m)
{
    return m->errors;
}

/* A flag column: 1 true, 0 false (NULL too: Postfix's "active = '1'" does
 * not match it), -1 for a value that is no boolean. */
static int flag(struct sql_value v)
{
    static const char *const yes[] = {"t", "true", "1", "y", "yes", "on"};
    static const char *const no[] = {"f", "false", "0", "n", "no", "off"};

    if (v.p == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (v.len == strlen(yes[i]) && strncasecmp(v.p, yes[i], v.len) == 0)
            return 1;
        if (v.len == strlen(no[i]) && strncasecmp(v.p, no[i], v.len) == 0)
            return 0;
    }
    return -1;
}

/* The origin of a row: "TABLE COLUMN=KEY", the key escaped when it holds
 * a control byte, cut after KEY_SHOWN bytes. */
static void origin_of(const struct set_shape *s, struct sql_value key, char *out, size_t outsz)
{
    char shown[UTIL_ESCAPE_SIZE(KEY_SHOWN) + 4];
    size_t n = key.len > KEY_SHOWN ? KEY_SHOWN : key.len;
    bool plain = key.len <= KEY_SHOWN;

    for (size_t i = 0; i < n && plain; i++)
        plain = (unsigned char)key.p[i] >= 0x20 && key.p[i] != 0x7f;
    if (key.p == NULL)
        snprintf(shown, sizeof(shown), "NULL");
    else if (plain)
        snprintf(shown, sizeof(shown), "%.*s", (int)n, key.p);
    else
        util_escape(shown, sizeof(shown), key.p, key.len);
    snprintf(out, outsz, "%s %s=%s", s->table, s->column, shown);
}

/* The goto list at v into m->items: split at commas, items trimmed of
 * blanks, empty ones dropped.  Returns the count, or -1 (out of memory). */
static long split_goto(struct sql_map *m, struct sql_value v)
{
    size_t n = 0, i = 0;

    while (i <= v.len) {
        size_t start = i, end;
        while (i < v.len && v.p[i] != ',')
            i++;
        end = i++;
        while (start < end && strchr(" \t\r\n", v.p[start]) != NULL && v.p[start] != '\0')
            start++;
        while (end > start && strchr(" \t\r\n", v.p[end - 1]) != NULL && v.p[end - 1] != '\0')
            end--;
        if (end == start)
            continue;
        if (util_grow((void **)&m->items, &m->cap, n + 1, sizeof(*m->items)) != 0)
            return -1;
        m->items[n++] = (struct source_text){v.p + start, end - start};
    }
    return (long)n;
}

/* refuse - an error about the row (at origin), counted; returns 1. */
static int refuse(struct sql_map *m, struct diag *d, const char *origin, const char *what)
{
    diag_add(d, DIAG_ERROR, source_records_name(m->r), 0, "%s: %s", origin, what);
    m->errors++;
    return 1;
}

/* The flags of a row: 1 when it counts, 0 when not, or refuse()'s 1 with
 * *bad set. */
static int row_counts(struct sql_map *m, const struct set_shape *s, const struct sql_value *cols,
                      const char *origin, bool *bad, struct diag *d)
{
    int active = s->active >= 0 ? flag(cols[s->active]) : 1;
    int backup = s->backupmx >= 0 ? flag(cols[s->backupmx]) : 0;

    *bad = active < 0 || backup < 0;
    if (*bad)
        return refuse(m, d, origin,
                      active < 0 ? "active is not a boolean" : "backupmx is not a boolean");
    return active == 1 && backup == 0;
}

/* The kind of record a row makes, and its key (an "@domain" alias is the
 * domain's catch-all). */
static enum source_kind kind_of(enum sql_set set, struct source_text *key)
{
    switch (set) {
    case SQL_SET_DOMAIN:
        return SOURCE_DOMAIN;
    case SQL_SET_ALIAS_DOMAIN:
        return SOURCE_ALIAS_DOMAIN;
    case SQL_SET_MAILBOX:
        return SOURCE_MAILBOX;
    case SQL_SET_SECONDARY:
        return SOURCE_SECONDARY;
    case SQL_SET_ALIAS:
    default:
        if (key->len > 0 && key->p[0] == '@') {
            key->p++;
            key->len--;
            return SOURCE_CATCH_ALL;
        }
        return SOURCE_ALIAS;
    }
}

int sql_map_row(struct sql_map *m, enum sql_set set, const struct sql_value *cols, size_t ncols,
                struct diag *d)
{
    const struct set_shape *s = shape_of(m->schema, set);
    char origin[UTIL_ESCAPE_SIZE(KEY_SHOWN) + 64];
    struct source_text key;
    enum source_kind kind;
    bool bad;
    long ntargets = 0;
    int rc;

    if (s == NULL || ncols != s->ncols) {
        diag_add(d, DIAG_ERROR, source_records_name(m->r), 0,
                 "a row of %zu columns where %zu are expected", ncols, s ? s->ncols : 0);
        m->errors++;
        return 1;
    }
    origin_of(s, cols[0], origin, sizeof(origin));
    if ((rc = row_counts(m, s, cols, origin, &bad, d)) != 1 || bad)
        return rc;
    if (cols[0].p == NULL)
        return refuse(m, d, origin, "the key is NULL");
    key = (struct source_text){cols[0].p, cols[0].len};
    if (set == SQL_SET_DOMAIN && m->schema == SQL_SCHEMA_POSTFIXADMIN && key.len == 3 &&
        strncasecmp(key.p, "ALL", 3) == 0)
        return 0; /* Postfix Admin's row for superadmins, not a domain */
    kind = kind_of(set, &key);
    if (s->target >= 0) {
        if (cols[s->target].p == NULL)
            return refuse(m, d, origin,
                          set == SQL_SET_ALIAS ? "goto is NULL" : "the target is NULL");
        if (set != SQL_SET_ALIAS) {
            if (util_grow((void **)&m->items, &m->cap, 1, sizeof(*m->items)) != 0)
                return -1;
            m->items[0] = (struct source_text){cols[s->target].p, cols[s->target].len};
            ntargets = 1;
        } else if ((ntargets = split_goto(m, cols[s->target])) < 0) {
            return -1;
        } else if (ntargets == 0) {
            return refuse(m, d, origin, "the goto list is empty");
        }
    }
    rc = source_records_add(m->r, kind, origin, key, m->items, (size_t)ntargets, d);
    if (rc == 1)
        m->errors++;
    return rc;
}
