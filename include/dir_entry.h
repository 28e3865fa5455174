/*
 * dir_entry.h - one directory entry as the LDAP source hands it on: a DN
 * and its attributes with their values, all borrowed bytes.
 *
 * Owns nothing: the strings belong to whoever read the entry (libldap's
 * result, a test, a fuzzer) and live for one call.  Values are counted
 * bytes, not C strings: a value from the wire may hold NULs or any 8-bit
 * byte, and whoever maps it must say so rather than trust it.
 */
#ifndef HOSTED_MILTER_DIR_ENTRY_H
#define HOSTED_MILTER_DIR_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

struct dir_value {
    const char *p;
    size_t len;
};

struct dir_attr {
    const char *name; /* attribute description as the server sent it */
    const struct dir_value *values;
    size_t nvalues;
};

struct dir_entry {
    const char *dn;
    const struct dir_attr *attrs;
    size_t nattrs;
};

/* dir_entry_attr - the attribute of e named name (ASCII case-insensitive,
 * options such as ";binary" ignored), or NULL. */
const struct dir_attr *dir_entry_attr(const struct dir_entry *e, const char *name);

/* dir_entry_has_value - whether attribute name of e has a value equal to
 * value (ASCII case-insensitive), e.g. objectClass "user". */
bool dir_entry_has_value(const struct dir_entry *e, const char *name, const char *value);

#endif
