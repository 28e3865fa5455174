/*
 * source.h - the sources of mailboxes besides the configuration file: one
 * interface, one definition per `source` section, any kind of backend.
 *
 * Owns struct source_def (what a `source` section says, copied out of the
 * parsed configuration) and the dispatch from a definition to its backend
 * (ldap_source.c; pg_source.c and mysql_source.c for SQL).  A backend reads the whole source
 * into source_records; everything then goes through the same builder and
 * validation as the configuration file (source_records_apply, validate).
 */
#ifndef HOSTED_MILTER_SOURCE_H
#define HOSTED_MILTER_SOURCE_H

#include <stdbool.h>

#include "diag.h"
#include "ldap_source.h"
#include "source_records.h"
#include "sql_source.h"

enum source_type {
    SOURCE_TYPE_LDAP = 1,
    SOURCE_TYPE_POSTGRESQL,
    SOURCE_TYPE_MYSQL,
};

struct source_def {
    char *title; /* the section's title: names the snapshot file */
    char *where; /* "file:line" of the section, for messages */
    enum source_type type;
    unsigned refresh;            /* seconds between full re-reads; 0: start and SIGUSR1 */
    bool persist;                /* follow the server's change notifications */
    struct ldap_source_cfg ldap; /* type ldap; its strings owned by the def */
    struct sql_source_cfg sql;   /* postgresql, mysql; its strings owned by the def */
};

/* source_type_from_name - "ldap", "postgresql", "mysql"; 0 for anything else. */
enum source_type source_type_from_name(const char *name);

/* source_precedence - the resolution order of the source's records:
 * Postfix's for the SQL sources (they replace Postfix maps), the configuration's (RESOLUTION) for
 * the others. */
enum source_precedence source_precedence(const struct source_def *s);

/* source_name - how messages name the source: the LDAP URI, or
 * "postgresql:TITLE" / "mysql:TITLE" (an SQL connect string is no name). */
const char *source_name(const struct source_def *s);

/*
 * source_fetch - read the source afresh into r.  Returns 0 when it was
 * read (problems in the data, naming the entry, are in d; *data_errors
 * counts the errors), or -1 when it could not be read (d says why).
 */
int source_fetch(const struct source_def *s, struct source_records *r, unsigned *data_errors,
                 struct diag *d);

/*
 * source_watch - follow the source's change notifications until *stop is
 * set; changed(arg) is called for every change.  Returns 0 when stopped,
 * -1 when the connection failed (retry later; d says why), 1 when the
 * backend or server cannot notify (do not retry).
 */
int source_watch(const struct source_def *s, volatile const bool *stop, void (*changed)(void *arg),
                 void *arg, struct diag *d);

/* source_def_copy - a deep copy of src into dst (for a thread that
 * outlives the configuration).  Returns 0, or -1 when out of memory (dst
 * then holds what was copied: source_def_free it). */
int source_def_copy(struct source_def *dst, const struct source_def *src);

/* source_def_free - release what a definition owns (not s itself). */
void source_def_free(struct source_def *s);

#endif
