/*
 * source.c - the dispatch from a `source` definition to its backend (see
 * source.h).
 */
#include "source.h"

#include <stdlib.h>
#include <string.h>

enum source_type source_type_from_name(const char *name)
{
    if (strcmp(name, "ldap") == 0)
        return SOURCE_TYPE_LDAP;
    if (strcmp(name, "postgresql") == 0)
        return SOURCE_TYPE_POSTGRESQL;
    return strcmp(name, "mysql") == 0 ? SOURCE_TYPE_MYSQL : 0;
}

enum source_precedence source_precedence(const struct source_def *s)
{
    return s->type == SOURCE_TYPE_LDAP ? SOURCE_PRECEDENCE_CONFIG : SOURCE_PRECEDENCE_POSTFIX;
}

const char *source_name(const struct source_def *s)
{
    if (s->type != SOURCE_TYPE_LDAP)
        return s->sql.name != NULL ? s->sql.name : s->title;
    return s->ldap.uri != NULL ? s->ldap.uri : s->title;
}

int source_fetch(const struct source_def *s, struct source_records *r, unsigned *data_errors,
                 struct diag *d)
{
    switch (s->type) {
    case SOURCE_TYPE_LDAP:
        return ldap_source_load(&s->ldap, r, data_errors, d);
    case SOURCE_TYPE_POSTGRESQL:
        return pg_source_load(&s->sql, r, data_errors, d);
    case SOURCE_TYPE_MYSQL:
        return mysql_source_load(&s->sql, r, data_errors, d);
    }
    diag_add(d, DIAG_ERROR, s->where, 0, "source %s: unknown type", s->title);
    return -1;
}

int source_watch(const struct source_def *s, volatile const bool *stop, void (*changed)(void *arg),
                 void *arg, struct diag *d)
{
    switch (s->type) {
    case SOURCE_TYPE_LDAP:
        return ldap_source_watch(&s->ldap, stop, changed, arg, d);
    case SOURCE_TYPE_POSTGRESQL:
        return pg_source_watch(&s->sql, stop, changed, arg, d);
    case SOURCE_TYPE_MYSQL:
        break;
    }
    return 1;
}

/* Every string field of a definition, for copy and free alike. */
_Static_assert(SQL_SET_COUNT == 5, "DEF_STRINGS lists sql.queries[0..4]");
#define DEF_STRINGS(s)                                                                             \
    {                                                                                              \
        &(s)->title, &(s)->where, (char **)&(s)->ldap.uri, (char **)&(s)->ldap.base,               \
            (char **)&(s)->ldap.bind_dn, (char **)&(s)->ldap.bind_password_file,                   \
            (char **)&(s)->ldap.mailbox_filter, (char **)&(s)->ldap.alias_filter,                  \
            (char **)&(s)->ldap.domain_filter, (char **)&(s)->ldap.custom.mailbox_attribute,       \
            (char **)&(s)->ldap.custom.secondary_attribute,                                        \
            (char **)&(s)->ldap.custom.alias_attribute,                                            \
            (char **)&(s)->ldap.custom.target_attribute,                                           \
            (char **)&(s)->ldap.custom.domain_attribute, (char **)&(s)->sql.name,                  \
            (char **)&(s)->sql.connect, (char **)&(s)->sql.password_file,                          \
            (char **)&(s)->sql.listen, (char **)&(s)->sql.queries[0],                              \
            (char **)&(s)->sql.queries[1], (char **)&(s)->sql.queries[2],                          \
            (char **)&(s)->sql.queries[3], (char **)&(s)->sql.queries[4]                           \
    }

int source_def_copy(struct source_def *dst, const struct source_def *src)
{
    struct source_def *from = (struct source_def *)src;
    char **to_fields[] = DEF_STRINGS(dst);
    char **from_fields[] = DEF_STRINGS(from);

    *dst = *src;
    for (size_t i = 0; i < sizeof(to_fields) / sizeof(to_fields[0]); i++)
        *to_fields[i] = NULL;
    for (size_t i = 0; i < sizeof(to_fields) / sizeof(to_fields[0]); i++)
        if (*from_fields[i] != NULL && (*to_fields[i] = strdup(*from_fields[i])) == NULL)
            return -1;
    return 0;
}

void source_def_free(struct source_def *s)
{
    char **fields[] = DEF_STRINGS(s);

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
}
