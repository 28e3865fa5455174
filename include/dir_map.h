/*
 * dir_map.h - directory entries to source records: what the `ad`,
 * `iredmail` and `custom` schemas of an LDAP source mean.
 *
 * Owns the rules (hosted-milter.conf(5), "LDAP SOURCES"):
 *   ad        a user/person (not a computer, not a contact) with an SMTP
 *             address is a mailbox: the proxyAddresses value with the
 *             upper-case "SMTP:" prefix is its primary address, every
 *             lower-case "smtp:" value a secondary one (other types, X500:,
 *             SIP:..., ignored); without "SMTP:", mail is the primary.  A
 *             contact is an alias of its SMTP addresses to its
 *             targetAddress (prefix stripped), else to its mail.  A group
 *             with SMTP addresses is an alias to the primary addresses of
 *             its members, nested groups followed (a loop is an error
 *             naming both DNs).
 *   iredmail  an active mailDomain declares domainName hosted and each
 *             domainAliasName an alias domain of it; an active mailUser is
 *             a mailbox (mail), each shadowAddress a secondary address, and
 *             mailForwardingAddress values make it an alias (with itself
 *             among the targets it keeps its mailbox); an active mailList
 *             or mailAlias is an alias from mail and shadowAddress to its
 *             mailForwardingAddress values and, for a list, the mail of
 *             every active mailUser whose memberOfGroup names it.
 *   custom    each entry comes with the role of the search that found it
 *             (struct dir_custom says which attributes to read).
 * Pure: no LDAP here, so that the mapping is unit-tested and fuzzed on
 * entries made up in memory.  Every problem is a diagnostic naming the DN.
 */
#ifndef HOSTED_MILTER_DIR_MAP_H
#define HOSTED_MILTER_DIR_MAP_H

#include "diag.h"
#include "dir_entry.h"
#include "source_records.h"

enum dir_schema {
    DIR_SCHEMA_AD = 1,
    DIR_SCHEMA_IREDMAIL,
    DIR_SCHEMA_CUSTOM,
};

/* What a custom search finds (the role its entries are mapped with). */
enum dir_role {
    DIR_ROLE_ANY = 0, /* ad and iredmail: the entry says what it is */
    DIR_ROLE_MAILBOX, /* primary address in mailbox_attribute, secondary
                         addresses in secondary_attribute */
    DIR_ROLE_ALIAS,   /* addresses in alias_attribute, targets in
                         target_attribute */
    DIR_ROLE_DOMAIN,  /* hosted domain names in domain_attribute */
};

/* The attribute names of the custom schema; NULL: that role is not used. */
struct dir_custom {
    const char *mailbox_attribute;
    const char *secondary_attribute;
    const char *alias_attribute;
    const char *target_attribute;
    const char *domain_attribute;
};

/* dir_schema_from_name - "ad", "iredmail", "custom"; 0 for anything else. */
enum dir_schema dir_schema_from_name(const char *name);

/*
 * dir_map_search - the LDAP filter and attributes to request for a schema
 * and role, copied into attrs as a NULL-terminated list (custom: built
 * from the names in c); attrs must hold DIR_MAP_ATTRS pointers.  Returns
 * the default filter of ad/iredmail, or NULL for custom (the configuration
 * names it).
 */
/* Room dir_map_search needs: the longest list (iredmail: 8 names) and its NULL. */
#define DIR_MAP_ATTRS 9
const char *dir_map_search(enum dir_schema schema, const struct dir_custom *c, const char **attrs);

struct dir_map;

/* dir_map_new - an empty mapping for schema (c: NULL unless custom; the
 * strings are borrowed and must outlive the map).  NULL when out of memory. */
struct dir_map *dir_map_new(enum dir_schema schema, const struct dir_custom *c);

/* dir_map_free - release the map; NULL is safe. */
void dir_map_free(struct dir_map *m);

/*
 * dir_map_add - take one entry (copied: what the mapping needs of it).
 * Returns 0, or -1 when out of memory.  Nothing is judged yet: groups and
 * lists need every entry first.
 */
int dir_map_add(struct dir_map *m, enum dir_role role, const struct dir_entry *e);

/*
 * dir_map_finish - map every entry taken into records r; problems (a bad
 * value, two primary addresses, a group loop, a member that is not there)
 * go to d naming the DN, and the entry or value at fault is left out.
 * Returns the number of errors added to d, or -1 when out of memory.
 */
int dir_map_finish(struct dir_map *m, struct source_records *r, struct diag *d);

#endif
