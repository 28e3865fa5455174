/*
 * ldap_source.h - reading a directory (LDAP, Active Directory) into source
 * records, and watching it for changes.
 *
 * Owns the libldap side of an LDAP source: connect (ldap://, ldaps://,
 * ldapi://), bind (simple, with a password read from a file that must not
 * be world-readable; anonymous without bind_dn), paged subtree searches
 * (RFC 2696: servers cap result sizes), and the RFC 4533 refreshAndPersist
 * search that tells when something changed.  What entries mean is
 * dir_map's business.  Every failure is a diagnostic "URI: message";
 * nothing here logs or keeps state between calls.
 */
#ifndef HOSTED_MILTER_LDAP_SOURCE_H
#define HOSTED_MILTER_LDAP_SOURCE_H

#include <stdbool.h>

#include "diag.h"
#include "dir_map.h"
#include "source_records.h"

/* One configured directory; strings borrowed from the configuration. */
struct ldap_source_cfg {
    const char *uri;
    const char *base;
    enum dir_schema schema;
    const char *bind_dn;            /* NULL: anonymous */
    const char *bind_password_file; /* with bind_dn */
    unsigned timeout;               /* seconds, for connect, bind and each page */
    /* custom schema: a filter per role (NULL: role unused) and names */
    const char *mailbox_filter;
    const char *alias_filter;
    const char *domain_filter;
    struct dir_custom custom;
};

/*
 * ldap_source_load - read the directory into r (whose name prefixes every
 * diagnostic).  Returns 0 when every entry was read and mapped (errors in
 * the data, naming their DN, are in d and counted in *data_errors), or -1
 * when the directory could not be read (unreachable, bind refused, a
 * search failed, out of memory): d then says why, as "URI: message".
 */
int ldap_source_load(const struct ldap_source_cfg *cfg, struct source_records *r,
                     unsigned *data_errors, struct diag *d);

/*
 * ldap_source_watch - follow the directory with an RFC 4533
 * refreshAndPersist search (OpenLDAP syncprov) until *stop is set or the
 * connection fails; changed() is called (from this thread) for every
 * change announced after the initial refresh.  Returns 0 when stopped,
 * -1 when the server refused or the connection broke (d says why; the
 * caller retries later), 1 when the server does not offer RFC 4533.
 * Polls *stop at least once a second.
 */
int ldap_source_watch(const struct ldap_source_cfg *cfg, volatile const bool *stop,
                      void (*changed)(void *arg), void *arg, struct diag *d);

/*
 * ldap_source_read_secret - the password in path (first line, without its
 * line end) into a new string (the caller frees it, after zeroing).
 * Refuses a file that is world-readable or not a regular file.  Returns
 * NULL with a diagnostic at path on failure.
 */
char *ldap_source_read_secret(const char *path, struct diag *d);

#endif
