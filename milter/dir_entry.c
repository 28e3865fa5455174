/*
 * dir_entry.c - lookups in one directory entry (see dir_entry.h).
 */
#include "dir_entry.h"

#include <strings.h>
#include <string.h>

/* Whether the attribute description desc names name: equal up to case,
 * with any ";option" of desc ignored. */
static bool names(const char *desc, const char *name)
{
    size_t n = strcspn(desc, ";");

    return strlen(name) == n && strncasecmp(desc, name, n) == 0;
}

const struct dir_attr *dir_entry_attr(const struct dir_entry *e, const char *name)
{
    for (size_t i = 0; i < e->nattrs; i++)
        if (e->attrs[i].name != NULL && names(e->attrs[i].name, name))
            return &e->attrs[i];
    return NULL;
}

bool dir_entry_has_value(const struct dir_entry *e, const char *name, const char *value)
{
    const struct dir_attr *a = dir_entry_attr(e, name);
    size_t n = strlen(value);

    if (a == NULL)
        return false;
    for (size_t i = 0; i < a->nvalues; i++)
        if (a->values[i].len == n && strncasecmp(a->values[i].p, value, n) == 0)
            return true;
    return false;
}
