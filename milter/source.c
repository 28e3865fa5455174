/*
 * source.c - the dispatch from a `source` definition to its backend (see
 * source.h).
 */
#include "source.h"

#include <stdlib.h>
#include <string.h>

enum source_type source_type_from_name(const char *name)
{
    return strcmp(name, "ldap") == 0 ? SOURCE_TYPE_LDAP : 0;
}

const char *source_name(const struct source_def *s)
{
    return s->ldap.uri != NULL ? s->ldap.uri : s->title;
}

int source_fetch(const struct source_def *s, struct source_records *r, unsigned *data_errors,
                 struct diag *d)
{
    switch (s->type) {
    case SOURCE_TYPE_LDAP:
        return ldap_source_load(&s->ldap, r, data_errors, d);
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
    }
    return 1;
}

void source_def_free(struct source_def *s)
{
    char **strs[] = {
        &s->title,
        &s->where,
        (char **)&s->ldap.uri,
        (char **)&s->ldap.base,
        (char **)&s->ldap.bind_dn,
        (char **)&s->ldap.bind_password_file,
        (char **)&s->ldap.mailbox_filter,
        (char **)&s->ldap.alias_filter,
        (char **)&s->ldap.domain_filter,
        (char **)&s->ldap.custom.mailbox_attribute,
        (char **)&s->ldap.custom.secondary_attribute,
        (char **)&s->ldap.custom.alias_attribute,
        (char **)&s->ldap.custom.target_attribute,
        (char **)&s->ldap.custom.domain_attribute,
    };

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}
