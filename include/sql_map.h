/*
 * sql_map.h - rows of SQL query results to source records: what the
 * `postfixadmin` and `custom` schemas of an SQL source mean.
 *
 * Owns the rules (hosted-milter.conf(5), "SQL SOURCES"); addresses are
 * compared case-insensitively, as everywhere:
 *   postfixadmin  (each set read with its own query, sql_map_query)
 *     domain        (domain, backupmx, active): an active row with backupmx
 *                   false is a hosted domain; the row `ALL` is not a domain
 *     alias_domain  (alias_domain, target_domain, active): an alias domain
 *     mailbox       (username, active): a mailbox
 *     alias         (address, goto, active): an alias to the comma-separated
 *                   goto list (items trimmed, empty ones ignored); with
 *                   itself among the targets a mailbox keeps its copy (the
 *                   self-alias Postfix Admin writes for every mailbox); an
 *                   `@domain` address is that domain's catch-all
 *   custom  the same sets without the active and backupmx columns (the
 *           queries select what counts), plus secondary (address, mailbox):
 *           a secondary address of a mailbox.
 * The records are applied with SOURCE_PRECEDENCE_POSTFIX: a catch-all
 * captures the mailboxes of its domain that have no alias row of their own,
 * as in Postfix.  Pure: no database here, so that the mapping is
 * unit-tested and fuzzed on rows made up in memory.  Every bad value is a
 * diagnostic naming the source, the set and the row key
 * ("NAME: alias address=x@y: alias x@y: invalid target "z": ..."); the row
 * is left out, never a crash.
 */
#ifndef HOSTED_MILTER_SQL_MAP_H
#define HOSTED_MILTER_SQL_MAP_H

#include <stddef.h>

#include "diag.h"
#include "source_records.h"

enum sql_schema {
    SQL_SCHEMA_POSTFIXADMIN = 1,
    SQL_SCHEMA_CUSTOM,
};

/* The sets a source reads, one query each, in this order. */
enum sql_set {
    SQL_SET_DOMAIN = 0,
    SQL_SET_ALIAS_DOMAIN,
    SQL_SET_MAILBOX,
    SQL_SET_ALIAS,
    SQL_SET_SECONDARY, /* custom only */
};
#define SQL_SET_COUNT 5

/* One column of a row as the client library gave it: counted bytes (any
 * byte, NUL too), or p NULL for SQL NULL. */
struct sql_value {
    const char *p;
    size_t len;
};

/* sql_schema_from_name - "postfixadmin", "custom"; 0 for anything else. */
enum sql_schema sql_schema_from_name(const char *name);

/* sql_set_option - the configuration option of a custom set's query:
 * "domain_query", "alias_domain_query", "mailbox_query", "alias_query",
 * "secondary_query"; NULL for another value. */
const char *sql_set_option(enum sql_set set);

/*
 * sql_map_query - the query of a postfixadmin set (static text that works
 * on PostgreSQL and on MariaDB/MySQL alike), NULL for a set the schema does
 * not read and for custom (the configuration gives the queries).
 */
const char *sql_map_query(enum sql_schema schema, enum sql_set set);

/* sql_map_columns - how many columns a set's rows have under schema. */
size_t sql_map_columns(enum sql_schema schema, enum sql_set set);

struct sql_map;

/* sql_map_new - a mapping of rows into r (borrowed: it must outlive the
 * map; its name prefixes every diagnostic).  NULL when out of memory. */
struct sql_map *sql_map_new(enum sql_schema schema, struct source_records *r);

/* sql_map_free - release the map (not the records); NULL is safe. */
void sql_map_free(struct sql_map *m);

/*
 * sql_map_row - map one row of set (ncols columns, borrowed for the call).
 * Returns 0 when the row became a record or does not count (inactive, a
 * backup MX, `ALL`); 1 when it was refused, with an error per bad value in
 * d (also counted by sql_map_errors); -1 when out of memory.
 */
int sql_map_row(struct sql_map *m, enum sql_set set, const struct sql_value *cols, size_t ncols,
                struct diag *d);

/* sql_map_errors - the rows refused so far. */
unsigned sql_map_errors(const struct sql_map *m);

#endif
